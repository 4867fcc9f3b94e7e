"""Calls every thread of a team makes at once, and the races on the static
locals of the functions they reach (calleffects summaries, program-wide).

A call that every iteration of a combined `parallel` loop makes, with nothing
around it (no condition, no directive or lock call in the loop body), runs on
every thread of the team at the same time: a `static` local of the callee is
one object for all of them (OpenMP 6.0, static storage is shared), so its
write with no lock in common with another access of it is a race. It is
reported in the callee's file, at the callee's lines (the access, or the call
there that leads to it). Calls under an equality test (`if (i == 7)`) are
`pinned_calls`: perhaps one iteration only.
"""

from __future__ import annotations

from . import ir
from .calleffects import Touch
from .constructs import SYNC_CALLS
from .loops import canonical_form, constant_value, written_vars


def concurrent_calls(tu: ir.TranslationUnit, pragma_lines, callee_key) -> tuple[tuple[str, str], ...]:
    """(callee key, "main.c:15") of the calls every iteration of a worksharing
    loop makes with nothing around them: the loop's directive (a `for` of a
    parallel region, no `if` or `ordered` clause) is the line before it, its body
    holds no other directive and no lock call, and the call is not under a
    condition. Every thread of the team runs such a call at the same time."""
    found = []
    for function in tu.functions:
        if function.body is None:
            continue
        for loop in function.body.walk():
            if not isinstance(loop, ir.LoopStmt):
                continue
            directive = pragma_lines.get(loop.line - 1, "")
            words = directive.replace("(", " ( ").split()
            if "parallel" not in words or "for" not in words or {"if", "ordered", "num_threads"} & set(words):
                continue  # an orphaned `for` may run in a team of one thread
            if isinstance(loop, ir.For):
                form = canonical_form(loop, written_vars(loop.body))
                if isinstance(form, str) or _trips(form) is not None and _trips(form) < 2:
                    continue
            last = max(s.line for s in loop.body.walk())
            if any(loop.line <= line <= last for line in pragma_lines):
                continue
            calls = unconditional_calls(loop.body)
            if calls is None:
                continue
            found += [(callee_key(c), f"{tu.path.rsplit('/', 1)[-1]}:{c.line}") for c in calls]
    return tuple(found)


def _trips(form) -> int | None:
    """The trip count of a canonical loop with constant bounds, else None."""
    start, bound = constant_value(form.start), constant_value(form.bound)
    if start is None or bound is None or form.step == 0:
        return None
    span = {"<": bound - start, "<=": bound - start + 1, ">": start - bound, ">=": start - bound + 1}.get(form.bound_op)
    return None if span is None else max(0, -(-span // abs(form.step)))


def unconditional_calls(body: ir.Stmt) -> list[ir.Call] | None:
    """The calls a loop body makes in every iteration (statements of the body
    itself, outside `?:`, `&&` and `||`); None when it calls a lock function."""
    out: list[ir.Call] = []
    for s in body.walk():
        for top in s.expressions():
            for e in top.walk():
                if isinstance(e, ir.Call) and e.name.split("::")[-1] in SYNC_CALLS:
                    return None
    stmts = body.stmts if isinstance(body, ir.Block) else [body]
    for s in stmts:  # statements of the body itself: not under an if, a loop or a switch
        if isinstance(s, (ir.ExprStmt, ir.Decl)):
            for top in s.expressions():
                out += [e for e in _plain_walk(top) if isinstance(e, ir.Call)]
    return out


def pinned_calls(body: ir.Stmt) -> set[int]:
    """id() of the calls under an equality test (`if (i == 7)`, `k == 0 ? f() : 0`):
    perhaps made by one iteration only."""
    out: set[int] = set()

    def calls(node) -> None:
        for x in node.walk():
            if isinstance(x, ir.Call):
                out.add(id(x))

    def pinned(cond: ir.Expr | None) -> bool:
        return cond is not None and any(isinstance(x, ir.Binary) and x.op == "==" for x in cond.walk())

    for s in body.walk():
        if isinstance(s, ir.If) and pinned(s.cond):
            calls(s.then)
            if s.orelse is not None:
                calls(s.orelse)
        for top in s.expressions():
            for e in top.walk():
                if isinstance(e, ir.Conditional) and pinned(e.cond):
                    calls(e.then)
                    calls(e.orelse)
                elif isinstance(e, ir.Binary) and e.op in ("&&", "||") and pinned(e.lhs):
                    calls(e.rhs)
    return out


def _plain_walk(e: ir.Expr):
    """An expression's nodes, not entering `?:`, `&&` or `||` (evaluated on a condition)."""
    yield e
    if isinstance(e, ir.Conditional) or isinstance(e, ir.Binary) and e.op in ("&&", "||"):
        return
    for child in e.children():
        yield from _plain_walk(child)


def static_local_races(functions: list[ir.Function], facts, path: str):
    """Races on the static locals of this file's functions that every thread of a
    worksharing loop calls at once (`ProgramFacts.concurrent`): a write of one
    element and another access of it, with no lock in common. Lines are this
    file's: the access, or the call that leads to it."""
    from .loopfacts import RegionRace

    file = path.rsplit("/", 1)[-1]
    races = []
    for function in functions:
        key = function.usr or function.name
        caller = facts.concurrent.get(key)
        summary = facts.effects.get(key)
        if caller is None or summary is None or not summary.known or summary.changes_locks:
            continue
        mine = f"static:{file}:{function.name}:"
        by_object: dict[tuple, list[Touch]] = {}
        for t in summary.touches:
            if t.root.startswith(mine):
                by_object.setdefault((t.root, () if t.indexed else t.path), []).append(t)
        reported = set()
        for (root, path_), touches in sorted(by_object.items()):
            if root in reported or any(t.indexed for t in by_object.get((root, ()), ()) if t.indexed):
                continue  # one race a static local; an element not known: no claim
            race = _static_pair(touches, file)
            if race is None:
                continue
            a, b = race
            reported.add(root)
            name = root.rsplit(":", 1)[1] + "".join(path_)
            line_a, line_b = _line_in(a, file), _line_in(b, file)
            meet = (f"{function.name} is called by every thread of the worksharing loop at the same time "
                    f"(its call at {caller}), and {name} is a static local, one object shared by every thread: "
                    f"{a.text} ({a.where}{_via_call(a)}) writes it while another thread "
                    f"{'writes' if b.is_write else 'reads'} {b.text} ({b.where}{_via_call(b)}), with no lock in common")
            races.append(RegionRace(region_line=function.line, name=name,
                                    first_access=f"{'write' if a.is_write else 'read'} of {name}", first_line=line_a,
                                    second_access=f"{'write' if b.is_write else 'read'} of {name}",
                                    second_line=line_b, meet=meet))
    return races


def _static_pair(touches: list[Touch], file: str) -> tuple[Touch, Touch] | None:
    """A write and another access (reads preferred, the write itself last) with no lock in common."""
    writes = [t for t in touches if t.is_write]
    for a in writes:
        others = sorted(touches, key=lambda t: (t is a, t.is_write))
        for b in others:
            if not a.labels & b.labels:
                return a, b
    return None


def _line_in(t: Touch, file: str) -> int:
    where = t.reached or t.where
    return int(where.rsplit(":", 1)[1]) if where.rsplit(":", 1)[0] == file else int(t.where.rsplit(":", 1)[1])


def _via_call(t: Touch) -> str:
    return f", through the call at {t.reached}" if t.reached else ""
