"""Array slots owned by one thread.

Inside a parallel region, `int me = omp_get_thread_num();` gives every thread
its own `me` (a local of the region is private) and no two threads of the team
the same value. So in a worksharing loop of that region, `scratch[me] += x`
reaches the same element in two iterations only when one thread runs both, one
after the other: the dependence the loop test finds on `scratch` is carried
by each thread's own serial chunk, not a race. Any other subscript
(`scratch[me % 2]`, a `me` assigned again, a `parallel for` of its own, where
the loop is a new team) is left to the dependence test.
"""

from __future__ import annotations

from . import constructs, ir, loopfacts, loops

THREAD_NUMBER_CALL = "omp_get_thread_num"


def thread_number_vars(region: constructs.Construct) -> frozenset[ir.Var]:
    """Locals declared in the region, set once to `omp_get_thread_num()` and never changed or
    passed by address: each thread's own number."""
    if region.stmt is None:
        return frozenset()
    declared: dict[ir.Var, ir.Expr | None] = {}
    changed: set[ir.Var] = set()
    for stmt in region.stmt.walk():
        if isinstance(stmt, ir.Decl) and stmt.var.kind == "local":
            declared[stmt.var] = stmt.init
        for expr in stmt.expressions():
            changed.update(loops.assignments_in_expr(expr))
            for e in expr.walk():
                if isinstance(e, ir.Unary) and e.op == "&" and isinstance(e.operand, ir.Name):
                    changed.add(e.operand.var)
    return frozenset(var for var, init in declared.items() if var not in changed and _is_thread_number_call(init))


def owned_by_thread(reason: loopfacts.Reason, refs, kind_names: tuple[str, ...], around: list[constructs.Construct]) -> bool:
    """The loop dependence `reason` joins accesses whose element has the thread's own
    number as one subscript, in every access of that array in the loop: threads never meet
    on it. `kind_names` are the words of the loop's own directive (a worksharing `for`,
    not a new team); `around` the constructs holding the loop, outermost first."""
    if not isinstance(reason, loopfacts.CarriedDependence):
        return False
    if "for" not in kind_names or {"parallel", "simd", "taskloop"} & set(kind_names):
        return False
    region = next((c for c in reversed(around) if "parallel" in c.directive.names), None)
    if region is None:
        return False
    own = thread_number_vars(region)
    same = [r for r in refs if str(r.key) == reason.array]
    if not same or any(r.subscripts is None or not r.exact for r in same):
        return False
    ranks = {len(r.subscripts) for r in same}
    if len(ranks) != 1:
        return False
    return any(all(_is_thread_number(r.subscripts[d], own) for r in same) for d in range(ranks.pop()))


def _is_thread_number(e: ir.Expr | None, own: frozenset[ir.Var]) -> bool:
    return (isinstance(e, ir.Name) and e.var in own) or _is_thread_number_call(e)


def _is_thread_number_call(e: ir.Expr | None) -> bool:
    return isinstance(e, ir.Call) and e.name == THREAD_NUMBER_CALL and not e.args
