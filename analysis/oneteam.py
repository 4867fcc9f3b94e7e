"""Branches of a parallel loop's body that run only when its team has one thread.

`if (nthreads > 1) { own copy } else { shared scratch }` with `nthreads` read
from `omp_get_max_threads()` before the region: the else branch runs only when
the team has one thread, so its accesses cannot race with anything of the loop
(OpenMP 6.0: a team of one thread runs every iteration itself, in order).

What counts as the team's size (anything else is not trusted):
- `omp_get_num_threads()` evaluated inside the region (the loop body, or a
  local initialised from it inside the enclosing `parallel` before the loop);
- `omp_get_max_threads()` through a local initialised from it before the
  `parallel` region (in the same parallel nesting), when the region has no
  `num_threads` clause and no `omp_set_num_threads` call stands in between.
Such a local must be a non-static local with an initialiser and no other store
(no assignment, increment or address taken anywhere in the function).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from .constructs import FileConstructs, last_line

_NUM = "omp_get_num_threads"
_MAX = "omp_get_max_threads"
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class TeamSize:
    """Where the team's size can be read: the call inside the region, and the
    locals that hold it."""

    direct_num_threads: bool  # a bare omp_get_num_threads() call reads the team's size
    locals: frozenset[int]  # id() of the ir.Var locals that hold the team's size


def one_thread_spans(constructs: FileConstructs, function: ir.Function, loop: ir.LoopStmt,
                     directive) -> tuple[tuple[int, int], ...]:
    """Line spans (first, last) of the loop body's branches taken only when the team
    running the loop (under `directive`) has one thread; a span shares no line with
    other code of the body."""
    size = _team_size(constructs, function, loop, directive)
    if size is None:
        return ()
    spans = []
    for stmt in loop.body.walk():
        if not isinstance(stmt, ir.If):
            continue
        when_true, when_false = _implies_one(stmt.cond, size)
        for branch, taken in ((stmt.then, when_true), (stmt.orelse, when_false)):
            if taken and branch is not None:
                span = (branch.line, last_line(branch))
                if _alone(loop.body, branch, span):
                    spans.append(span)
    return tuple(spans)


def _team_size(constructs: FileConstructs, function: ir.Function, loop: ir.LoopStmt, directive) -> TeamSize | None:
    if function.body is None:
        return None
    loop_line = loop.info.line
    around = constructs.around(function, loop_line)
    regions = [c for c in around if c.kind.split()[:1] == ["parallel"] and c.stmt is not None and c.stmt is not loop]
    if "parallel" in directive.names:
        first, last, team, team_line = loop.body.line, last_line(loop.body), directive, loop_line
    elif regions:
        region = regions[-1]
        regions = regions[:-1]
        first, last, team, team_line = region.first_line, region.last_line, region.directive, region.line
    else:  # orphaned: only the call itself names the binding team
        return TeamSize(True, frozenset())
    held = set()
    for decl in (s for s in function.body.walk() if isinstance(s, ir.Decl)):
        var, call = decl.var, _call(decl.init)
        if var.kind != "local" or call is None or not _never_stored(function, var):
            continue
        if call == _NUM and first <= decl.line <= last and decl.line < _first_use(loop, var):
            held.add(id(var))
        elif (call == _MAX and decl.line < team_line and team.clause("num_threads") is None
              and not _sets_threads_between(function, decl.line, team_line)
              and all(c.covers(decl.line) for c in regions)):  # not the size of an outer team
            held.add(id(var))
    return TeamSize(True, frozenset(held))


def _bare(e: ir.Expr | None) -> ir.Expr | None:
    """`e` without parentheses and implicit conversions (never an explicit cast:
    `(bool)n == 1` holds for any team)."""
    while isinstance(e, ir.OtherExpr) and len(e.parts) == 1 and e.kind in ("paren_expr", "unexposed_expr"):
        e = e.parts[0]
    return e


def _call(e: ir.Expr | None) -> str | None:
    """The name of the argument-less call `e` is (through casts and parentheses)."""
    e = _bare(e)
    return e.name if isinstance(e, ir.Call) and not e.args and e.name in (_NUM, _MAX) else None


def _never_stored(function: ir.Function, var: ir.Var) -> bool:
    for stmt in function.body.walk():
        for expr in stmt.expressions():
            for e in expr.walk():
                if isinstance(e, ir.Assign) and _names(e.target, var):
                    return False
                if isinstance(e, ir.Unary) and e.op in ("++", "--", "post++", "post--", "&") and _names(e.operand, var):
                    return False
    return True


def _names(e: ir.Expr, var: ir.Var) -> bool:
    e = _bare(e)
    return isinstance(e, ir.Name) and e.var is var


def _first_use(loop: ir.LoopStmt, var: ir.Var) -> int:
    return min((e.line for s in loop.body.walk() for x in s.expressions() for e in x.walk()
                if isinstance(e, ir.Name) and e.var is var), default=loop.info.end_line + 1)


def _sets_threads_between(function: ir.Function, first: int, last: int) -> bool:
    return any(isinstance(e, ir.Call) and e.name == "omp_set_num_threads" and first <= e.line <= last
               for s in function.body.walk() for x in s.expressions() for e in x.walk())


def _implies_one(cond: ir.Expr, size: TeamSize) -> tuple[bool, bool]:
    """(true implies one thread, false implies one thread) for an if's condition."""
    cond = _bare(cond)
    if isinstance(cond, ir.Unary) and cond.op == "!":
        when_true, when_false = _implies_one(cond.operand, size)
        return when_false, when_true
    if not isinstance(cond, ir.Binary):
        return False, False
    if cond.op in ("&&", "||"):
        lhs, rhs = _implies_one(cond.lhs, size), _implies_one(cond.rhs, size)
        if cond.op == "&&":  # true: both true
            return lhs[0] or rhs[0], False
        return False, lhs[1] or rhs[1]  # false: both false
    op, lhs, rhs = cond.op, cond.lhs, cond.rhs
    if _constant(lhs) is not None and _is_size(rhs, size):
        op, lhs, rhs = _FLIP.get(op, ""), rhs, lhs
    k = _constant(rhs)
    if k is None or not _is_size(lhs, size):
        return False, False
    # size op k true implies size <= 1; false (the negated comparison) implies size <= 1
    true_side = {"==": k <= 1, "<=": k <= 1, "<": k <= 2}.get(op, False)
    false_side = {"!=": k <= 1, ">": k <= 1, ">=": k <= 2}.get(op, False)
    return true_side, false_side


def _is_size(e: ir.Expr, size: TeamSize) -> bool:
    e = _bare(e)
    if isinstance(e, ir.Call):
        return size.direct_num_threads and e.name == _NUM and not e.args
    return isinstance(e, ir.Name) and e.var is not None and id(e.var) in size.locals


def _constant(e: ir.Expr) -> int | None:
    e = _bare(e)
    if isinstance(e, ir.Const) and isinstance(e.value, int):
        return e.value
    if isinstance(e, ir.Name) and e.var is None and e.value is not None:
        return e.value
    return None


def _alone(body: ir.Stmt, branch: ir.Stmt, span: tuple[int, int]) -> bool:
    """No statement or expression of the body outside the branch has a line in the span."""
    inside = {id(s) for s in branch.walk()}
    for stmt in body.walk():
        if id(stmt) in inside:
            continue
        if span[0] <= stmt.line <= span[1] and not isinstance(stmt, ir.Block):
            return False
        for expr in stmt.expressions():
            if any(span[0] <= e.line <= span[1] for e in expr.walk()):
                return False
    return True
