"""Loops serial only through an affine recurrence of an unsigned scalar.

A linear congruential generator, `s = s * A + C` in unsigned arithmetic, is
an affine map modulo 2^w: composing it n times is again such a map, found in
O(log n) steps by repeated squaring. So a loop whose only carried value is
`s`, updated by that map k times per iteration as top-level statements of its
body, runs in parallel when each thread first jumps `s` ahead by k times its
first iteration's number: the same values as the serial loop, bit for bit
(unsigned arithmetic wraps exactly; signed overflow is undefined, so signed
state is refused).
"""

from __future__ import annotations

from . import ir, loopfacts
from .loops import CanonicalLoop, written_vars

#: unsigned types whose arithmetic is not promoted to (signed) int
UNSIGNED_TYPES = ("unsigned int", "unsigned long", "unsigned long long")


def affine_recurrence(loop: ir.LoopStmt, canonical: CanonicalLoop | None, reasons: list[loopfacts.Reason],
                      address_taken: set, live_after: bool) -> loopfacts.AffineRecurrence | None:
    """The recurrence that is the loop's only obstacle, or None."""
    if not isinstance(loop, ir.For) or canonical is None or canonical.var is None or canonical.start is None:
        return None
    if len(reasons) != 1 or not isinstance(reasons[0], loopfacts.ScalarDependence):
        return None
    body = loop.body
    if not isinstance(body, ir.Block) or _jumps(body):
        return None
    written = written_vars(body)
    state = None
    updates: list[tuple[int, str, str]] = []
    others: list[ir.Stmt] = []
    for stmt in body.stmts:
        found = _update(stmt, written)
        if found is None:
            others.append(stmt)
            continue
        var, ctype, a, c = found
        if state is not None and var is not state:
            return None
        state = var
        updates.append((stmt.line, a, c))
    if state is not None and any(state in written_vars(s) for s in others):
        return None  # written some other way too (under an if, in an inner loop)
    if state is None or state.name != reasons[0].var or state in address_taken or state.is_volatile:
        return None
    if len({(a, c) for _, a, c in updates}) != 1:
        return None
    _, a, c = updates[0]
    return loopfacts.AffineRecurrence(
        var=state.name, ctype=ctype, multiplier=a, increment=c, updates=len(updates),
        lines=tuple(line for line, _, _ in updates), live_after=live_after,
        counter=canonical.var.name, start=canonical.start.text, step=canonical.step,
    )


def _update(stmt: ir.Stmt, written: set) -> tuple[ir.Var, str, str, str] | None:
    """`s = s * A + C` (or A * s, C + ...) with A, C loop-invariant: (s, type, A, C)."""
    if not isinstance(stmt, ir.ExprStmt) or not isinstance(stmt.expr, ir.Assign) or stmt.expr.op != "=":
        return None
    target, value = stmt.expr.target, stmt.expr.value
    if not isinstance(target, ir.Name) or target.var is None or target.var.is_pointer:
        return None
    var, ctype = target.var, target.ctype
    if ctype not in UNSIGNED_TYPES or not isinstance(value, ir.Binary) or value.op != "+" or value.ctype != ctype:
        return None
    for product, increment in ((value.lhs, value.rhs), (value.rhs, value.lhs)):
        if not isinstance(product, ir.Binary) or product.op != "*" or product.ctype != ctype:
            continue
        for s, a in ((product.lhs, product.rhs), (product.rhs, product.lhs)):
            if isinstance(s, ir.Name) and s.var is var and _invariant(a, written, var) and _invariant(increment, written, var):
                return var, ctype, a.text, increment.text
    return None


def _invariant(e: ir.Expr, written: set, state: ir.Var) -> bool:
    """Integer constants and variables the loop does not write."""
    for x in e.walk():
        if isinstance(x, ir.Const):
            if not isinstance(x.value, int):
                return False
        elif isinstance(x, ir.Name):
            if x.var is not None and (x.var in written or x.var is state or x.var.is_volatile
                                      or not x.var.is_scalar_number or x.var.is_float):
                return False
            if x.var is None and x.value is None:
                return False
        elif not isinstance(x, (ir.Binary, ir.Unary)) or (isinstance(x, ir.Unary) and x.op in ("*", "&", "++", "--", "post++", "post--")):
            return False
    return True


def _jumps(body: ir.Stmt) -> bool:
    """continue, goto or a label: the updates might not run k times every iteration."""
    return any(isinstance(s, (ir.Jump, ir.Labeled)) and getattr(s, "kind", "case") in ("continue", "goto", "break", "return")
               or isinstance(s, ir.Labeled) and s.label not in ("case", "default")
               for s in body.walk())


def state_copy(rec: loopfacts.AffineRecurrence) -> str:
    """The shared, read-only copy of the state when the loop starts."""
    return f"ompilot_{rec.var}_0"


def next_iteration(rec: loopfacts.AffineRecurrence) -> str:
    """Each thread's number of the iteration its state is ready for."""
    return f"ompilot_{rec.var}_next"


def directive(rec: loopfacts.AffineRecurrence, clauses: loopfacts.Clauses) -> str:
    """`parallel for` of the rewritten loop: the state and the next-iteration
    number private to each thread (firstprivate: the values before the loop),
    the state's last value kept when it is read after the loop."""
    lastprivate = [n for n in clauses.lastprivate if n != rec.var]
    if rec.live_after:
        lastprivate.append(rec.var)
    parts = ["#pragma omp parallel for"]
    if clauses.private:
        parts.append(f"private({', '.join(clauses.private)})")
    parts.append(f"firstprivate({rec.var}, {next_iteration(rec)})")
    if lastprivate:
        parts.append(f"lastprivate({', '.join(lastprivate)})")
    parts.extend(r.render() for r in clauses.reductions)
    parts.append("schedule(static)")
    return " ".join(parts)
