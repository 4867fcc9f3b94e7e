"""What regions.py reads off one directive or statement of a parallel region.

A worksharing loop's canonical form and the counters of its associated loops
(private to each thread), the thread a `masked` construct runs on, the
values set once in the region or just before it (`slot = omp_get_thread_num()`,
`int slots = 2;`: which threads touch which element), and the function a call
statement calls. Small readers, apart from the builder of parts and phases.
"""

from __future__ import annotations

from . import constructs, ir, loops


def called(s: ir.Stmt, functions) -> ir.Function | None:
    """The function a call statement `f(args);` calls, when defined in the file."""
    if isinstance(s, ir.ExprStmt) and isinstance(s.expr, ir.Call):
        callee = s.expr.function or functions.get(s.expr.name)
        if callee is not None and callee.body is not None:
            return callee
    return None


def loop_form(s: ir.Stmt, depth: int) -> tuple[loops.CanonicalLoop | None, set]:
    """The canonical form of a worksharing loop and the counters of its associated loops (private)."""
    counters: set = set()
    form = None
    loop = s
    for level in range(max(depth, 1)):
        if not isinstance(loop, ir.For):
            break
        found = loops.canonical_form(loop, loops.written_vars(loop.body))
        if isinstance(found, str):
            break
        if level == 0:
            form = found
        if found.var is not None:
            counters.add(found.var)
        loop = loop.body.stmts[0] if isinstance(loop.body, ir.Block) and len(loop.body.stmts) == 1 else loop.body
    return form, counters


def filter_thread(c: constructs.Construct) -> int | None:
    found = c.directive.clause("filter")
    if found is None:
        return 0
    try:
        return int(found.items()[0]) if found.items() else None
    except ValueError:
        return None


def thread_values(region: constructs.Construct) -> dict[ir.Var, ir.Expr]:
    """Variables declared in the region and set once there (`int slot = omp_get_thread_num() / 2;`),
    and locals of the function set once to an integer constant before it: their value, for
    telling which threads touch which element."""
    body = region.stmt
    counts: dict[ir.Var, int] = {}
    for s in body.walk():
        for e in s.expressions():
            for var in loops.assignments_in_expr(e):
                counts[var] = counts.get(var, 0) + 1
    values = {}
    for s in body.walk():
        if isinstance(s, ir.Decl) and s.init is not None and s.var not in counts and s.var.kind == "local":
            values[s.var] = s.init
    function = region.function
    if function is not None:  # locals of the function set once to a constant before the region (`int slots = 2;`)
        changed = {var for s in function.body.walk() for e in s.expressions() for var in loops.assignments_in_expr(e)}
        changed |= {x.operand.var for s in function.body.walk() for e in s.expressions() for x in e.walk()
                    if isinstance(x, ir.Unary) and x.op == "&" and isinstance(x.operand, ir.Name)}
        for s in function.body.walk():
            if isinstance(s, ir.Decl) and s.line < region.line and s.var.kind == "local" and s.var not in changed \
                    and isinstance(s.init, ir.Const) and isinstance(s.init.value, int):
                values.setdefault(s.var, s.init)
    top = body.stmts if isinstance(body, ir.Block) else []
    for s in top:
        if isinstance(s, ir.ExprStmt) and isinstance(s.expr, ir.Assign) and s.expr.op == "=":
            target = s.expr.target
            if isinstance(target, ir.Name) and target.var is not None and counts.get(target.var) == 1 \
                    and target.var.kind == "local" and region.first_line <= target.var.line <= region.last_line:
                values[target.var] = s.expr.value
    return values
