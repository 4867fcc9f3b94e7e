"""Loops serial only through a running value: prefix sums and first-order
linear recurrences.

`s += in[i]; out[i] = s;` needs, at iteration i, the sum of all earlier
terms: a scan. `x[i] = a * x[i - 1] + b[i]` needs the previous element: a
first-order linear recurrence, whose map y -> a * y + b composes into
another such map. Both run in parallel in two passes over contiguous blocks:
each thread totals its block from the input (for the recurrence: the block's
value from a zero start, and a to the power of its length), then forms the
value entering its block from the earlier blocks' totals and runs its block
(suggest/prefixscans.py writes the code).

Recognised only where that is the loop's single obstacle: one unconditional
top-level update per iteration, a term that varies with the iteration (a
constant one makes a progression, a closed form of the counter) and reads
nothing the loop writes,
a counter stepping by 1 up to a bound, and every other statement independent
across iterations (the exact dependence test found nothing else). Integer
arithmetic gives the serial result exactly (unsigned wraps; signed as exactly
as a reduction, overflow aside; a signed recurrence with a multiplier is
refused, since a to the power of a block's length may overflow where the
serial loop does not); floating point is reassociated and left to the
output check with the project's tolerance.
"""

from __future__ import annotations

from dataclasses import replace

from . import ir, loopfacts
from .loops import CanonicalLoop, written_vars
from .recurrence import _jumps

#: types a running value may have: ones whose arithmetic is not promoted
NUMBER_TYPES = ("int", "long", "long long", "unsigned int", "unsigned long", "unsigned long long",
                "float", "double", "long double")
FLOAT_TYPES = ("float", "double", "long double")


def scan_of(loop: ir.LoopStmt, canonical: CanonicalLoop | None, reasons: list[loopfacts.Reason],
            address_taken: set, live_after: bool, clauses: loopfacts.Clauses) -> loopfacts.Scan | None:
    """The scan that is the loop's only obstacle, with its directive, or None.
    `clauses`: what the rest of the body needs (private temporaries, reductions)."""
    if not isinstance(loop, ir.For) or canonical is None or canonical.var is None or clauses.lastprivate:
        return None  # a value read after the loop other than the scan's own: the blocks do not keep it
    if canonical.start is None or canonical.bound is None or canonical.step != 1 or canonical.bound_op not in ("<", "<="):
        return None
    if not reasons or _jumps(loop.body):
        return None
    stmts = loop.body.stmts if isinstance(loop.body, ir.Block) else [loop.body]
    if len(reasons) == 1 and isinstance(reasons[0], loopfacts.ScalarDependence):
        found = _running_sum(stmts, reasons[0].var, loop.body, address_taken, canonical.var)
    elif all(isinstance(r, loopfacts.CarriedDependence) and r.kind == "flow" and r.distance == 1
             and r.array == reasons[0].array for r in reasons):
        found = _linear(stmts, reasons[0].array, canonical.var)
    else:
        return None
    if found is None:
        return None
    scan = loopfacts.Scan(
        **found, live_after=live_after and found["kind"] == "sum", counter=canonical.var.name,
        counter_type=canonical.var.type, counter_declared=isinstance(loop.init, ir.Decl),
        start=canonical.start.text, bound=canonical.bound.text, bound_op=canonical.bound_op,
    )
    return replace(scan, directive=directive(scan, clauses))


def threads_name(scan: loopfacts.Scan) -> str:
    """The variable holding the team size the region asks for."""
    return f"ompilot_{scan.var}_threads"


def directive(scan: loopfacts.Scan, clauses: loopfacts.Clauses) -> str:
    """`parallel` of the rewritten loop: as many threads as there are slots for
    block totals; a running scalar starts as its value before the loop in
    every thread (firstprivate); the counter and the body's temporaries
    private; the body's other reductions as they were."""
    parts = ["#pragma omp parallel", f"num_threads({threads_name(scan)})"]
    if scan.kind == "sum":
        parts.append(f"firstprivate({scan.var})")
    private = ([] if scan.counter_declared else [scan.counter]) + [n for n in clauses.private if n != scan.counter]
    if private:
        parts.append(f"private({', '.join(private)})")
    parts.extend(r.render() for r in clauses.reductions)
    return " ".join(parts)


def _running_sum(stmts: list[ir.Stmt], name: str, body: ir.Stmt, address_taken: set, counter: ir.Var) -> dict | None:
    """`s += e`, `s -= e`, `s = s + e`, `s = e + s` or `s = s - e`, once, at the top level."""
    written = written_vars(body) | _stored_to(body)
    updates = [(stmt, _sum_update(stmt)) for stmt in stmts]
    updates = [(stmt, u) for stmt, u in updates if u is not None and u[0].name == name]
    if len(updates) != 1:
        return None
    stmt, (var, op, term) = updates[0]
    if var in address_taken or var.is_volatile or var.is_pointer or not var.is_scalar_number:
        return None
    if any(var in written_vars(s) for s in stmts if s is not stmt):
        return None  # written some other way too (under an if, in an inner loop)
    ctype = stmt.expr.target.ctype
    if ctype not in NUMBER_TYPES or not _read_only(term, written | {var}) or not _varies(term, counter):
        return None
    exact = ctype not in FLOAT_TYPES
    if exact and (term.ctype in FLOAT_TYPES or stmt.expr.value.ctype in FLOAT_TYPES):
        return None  # int s += 0.5 truncates on every step: not a sum of the terms
    return dict(kind="sum", var=var.name, ctype=ctype, op=op, term=term.text, multiplier="",
                line=stmt.line, exact=exact)


def _sum_update(stmt: ir.Stmt) -> tuple[ir.Var, str, ir.Expr] | None:
    if not isinstance(stmt, ir.ExprStmt) or not isinstance(stmt.expr, ir.Assign):
        return None
    target, value, op = stmt.expr.target, stmt.expr.value, stmt.expr.op
    if not isinstance(target, ir.Name) or target.var is None:
        return None
    var = target.var
    if op in ("+=", "-="):
        return var, op[0], value
    if op != "=" or not isinstance(value, ir.Binary) or value.op not in ("+", "-"):
        return None
    if _is(value.lhs, var):
        return var, value.op, value.rhs
    if value.op == "+" and _is(value.rhs, var):
        return var, "+", value.lhs
    return None


def _linear(stmts: list[ir.Stmt], array: str, counter: ir.Var) -> dict | None:
    """The body is `x[i] = a * x[i - 1] + b` (either order of the operands) or `x[i] = x[i - 1] + b`."""
    if len(stmts) != 1 or not isinstance(stmts[0], ir.ExprStmt):
        return None
    assign = stmts[0].expr
    if not isinstance(assign, ir.Assign) or assign.op != "=" or not isinstance(assign.target, ir.Index):
        return None
    target, value = assign.target, assign.value
    base = target.base
    if not isinstance(base, ir.Name) or base.var is None or base.name != array or not _is(target.index, counter):
        return None
    x = base.var
    if x.is_volatile or (x.array_dims is not None and len(x.array_dims) != 1) or x.rows_are_pointers:
        return None
    if not isinstance(value, ir.Binary) or value.op != "+":
        return None
    for carried, term in ((value.lhs, value.rhs), (value.rhs, value.lhs)):
        multiplier = None
        if isinstance(carried, ir.Binary) and carried.op == "*":
            if _previous(carried.lhs, x, counter):
                multiplier = carried.rhs
            elif _previous(carried.rhs, x, counter):
                multiplier = carried.lhs
            else:
                continue
        elif not _previous(carried, x, counter):
            continue
        if not _read_only(term, {x}) or not _varies(term, counter):
            return None
        if multiplier is not None and not _read_only(multiplier, {x, counter}):
            return None
        ctype = target.ctype
        exact = ctype not in FLOAT_TYPES
        if ctype not in NUMBER_TYPES or exact and (term.ctype in FLOAT_TYPES or value.ctype in FLOAT_TYPES):
            return None
        if exact and multiplier is not None and not ctype.startswith("unsigned"):
            return None  # a ** (block length) may overflow a signed type where the serial loop does not
        return dict(kind="linear", var=x.name, ctype=ctype, op="+", term=term.text,
                    multiplier=multiplier.text if multiplier is not None else "", line=stmts[0].line,
                    exact=exact, target=target.text, base=base.text)
    return None


def _previous(e: ir.Expr, x: ir.Var, counter: ir.Var) -> bool:
    """`x[i - 1]`."""
    return (isinstance(e, ir.Index) and _is(e.base, x) and isinstance(e.index, ir.Binary) and e.index.op == "-"
            and _is(e.index.lhs, counter) and isinstance(e.index.rhs, ir.Const) and e.index.rhs.value == 1)


def _stored_to(body: ir.Stmt) -> set[ir.Var]:
    """The variables behind every element or member the body stores to (`out` of `out[i] = ...`)."""
    out: set[ir.Var] = set()
    for stmt in body.walk():
        for e in stmt.expressions():
            for x in e.walk():
                target = x.target if isinstance(x, ir.Assign) else (
                    x.operand if isinstance(x, ir.Unary) and x.op in ("++", "--", "post++", "post--") else None)
                while isinstance(target, (ir.Index, ir.Member, ir.Unary)):
                    target = target.base if isinstance(target, (ir.Index, ir.Member)) else target.operand
                if isinstance(target, ir.Name) and target.var is not None:
                    out.add(target.var)
    return out


def _varies(term: ir.Expr, counter: ir.Var) -> bool:
    """The term depends on the iteration (reads the counter). A constant term
    makes an arithmetic or geometric progression: a closed form of the
    counter (an induction), not a scan over data."""
    return any(_is(x, counter) for x in term.walk())


def _is(e: ir.Expr, var: ir.Var) -> bool:
    return isinstance(e, ir.Name) and e.var is var


def _read_only(e: ir.Expr, excluded: set) -> bool:
    """An expression without effects or calls that reads none of `excluded`
    (what the loop writes): pass one evaluates it before any of the writes."""
    for x in e.walk():
        if isinstance(x, (ir.Assign, ir.Call, ir.OtherExpr)):
            return False
        if isinstance(x, ir.Unary) and x.op in ("++", "--", "post++", "post--"):
            return False
        if isinstance(x, ir.Name):
            if x.var is None and x.value is None:
                return False
            if x.var is not None and (x.var in excluded or x.var.is_volatile):
                return False
        if isinstance(x, ir.Const) and x.value is None:
            return False
    return True
