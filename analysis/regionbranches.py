"""Which `if`s around the structure of a parallel region every thread decides alike (regions.py).

A barrier is met by every thread of the team or by none (OpenMP 6.0, 17.3.1),
so an `if` holding one (or a worksharing construct) can only be read when its
condition has one value on every thread. `Branches` knows the block each
standalone directive stands in (taskorder.standalone_by_block), and folds a
condition to an integer from constants, enumerators and the parameters the
call being read binds to a constant, or that every call of a `static`
function in the file passes one constant to. Where no value is found,
regions.py decides the `if` another way or reads it as a barrier on both
sides: less is reported, never a race that is not there.
"""

from __future__ import annotations

from . import constructs, ir, loops
from .regionaccess import Context
from .taskorder import standalone_by_block


class Branches:
    """What decides an `if` around region structure: the blocks standalone
    directives stand in, and the integer values of conditions every thread
    computes alike (constants, enumerators, parameters bound to a constant)."""

    def __init__(self, functions: dict[str, ir.Function], file_constructs: constructs.FileConstructs):
        self._block_of: dict[int, int] = {}  # id(standalone construct) -> id(block it stands in)
        for block, found in standalone_by_block(functions, file_constructs).items():
            for c in found:
                self._block_of[id(c)] = block
        self._functions = functions
        self._owner = {id(b): f for f in functions.values() if f.body is not None
                       for b in f.body.walk() if isinstance(b, ir.Block)}
        self._bound: dict[int, dict[ir.Var, int]] = {}  # context ident -> parameter values
        self._callers: dict[int, dict[ir.Var, int]] = {}  # id(function) -> parameter values of every call

    def function_of(self, c: constructs.Construct) -> ir.Function | None:
        """The function whose body holds a standalone directive."""
        block = self._block_of.get(id(c))
        return self._owner.get(block) if block is not None else None

    def standalones_in(self, branch: ir.Stmt, pending: list[constructs.Construct]) -> list[constructs.Construct]:
        """The directives of `pending` that stand in a block of the statement."""
        blocks = {id(b) for b in branch.walk() if isinstance(b, ir.Block)}
        return [c for c in pending if self._block_of.get(id(c)) in blocks]

    def bind(self, call: ir.Call, callee: ir.Function, outer: Context, inner: Context) -> None:
        """The callee's parameters that the call gives a known value and the body never changes."""
        changed = changed_vars(callee)
        values = {}
        for param, arg in zip(callee.params, call.args):
            value = self.value(arg, outer)
            if value is not None and param not in changed:
                values[param] = value
        self._bound[inner.ident] = values

    def value(self, e: ir.Expr, ctx: Context) -> int | None:
        if ctx.depth == 0:
            known = self._every_call(ctx.function)
        else:
            known = self._bound.get(ctx.ident, {})
        return _fold(e, known)

    def _every_call(self, function: ir.Function) -> dict[ir.Var, int]:
        """Parameters of a `static` function that every call in the file passes one
        constant to (a static function is called from its own file only), when
        the function's address is never taken and the body never changes them."""
        if id(function) in self._callers:
            return self._callers[id(function)]
        values: dict[ir.Var, int] = {}
        calls = []
        escapes = False
        for f in {id(f): f for f in self._functions.values()}.values():
            if f.body is None:
                continue
            for s in f.body.walk():
                for e in s.expressions():
                    for x in e.walk():
                        if isinstance(x, ir.Call) and (x.function is function or (x.function is None and x.name == function.name)):
                            calls.append(x)
                        elif isinstance(x, ir.Name) and x.var is None and x.name == function.name:
                            escapes = True
        if function.is_static and not escapes and calls:
            changed = changed_vars(function)
            for position, param in enumerate(function.params):
                found = {_fold(c.args[position], {}) if position < len(c.args) else None for c in calls}
                if len(found) == 1 and None not in found and param not in changed:
                    values[param] = found.pop()
        self._callers[id(function)] = values
        return values


def changed_vars(function: ir.Function) -> set[ir.Var]:
    """Variables the function assigns or takes the address of."""
    found = loops.written_vars(function.body) if function.body is not None else set()
    for s in function.body.walk() if function.body is not None else ():
        for e in s.expressions():
            for x in e.walk():
                if isinstance(x, ir.Unary) and x.op == "&" and isinstance(x.operand, ir.Name) and x.operand.var is not None:
                    found.add(x.operand.var)
    return found


_FOLD = {
    "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
    "<": lambda x, y: int(x < y), "<=": lambda x, y: int(x <= y), ">": lambda x, y: int(x > y),
    ">=": lambda x, y: int(x >= y), "==": lambda x, y: int(x == y), "!=": lambda x, y: int(x != y),
    "&&": lambda x, y: int(bool(x and y)), "||": lambda x, y: int(bool(x or y)),
}  # fmt: skip


def _fold(e: ir.Expr, known: dict[ir.Var, int]) -> int | None:
    """The integer value of an expression of constants and known variables, or None."""
    if isinstance(e, ir.Const):
        return e.value if isinstance(e.value, int) and not isinstance(e.value, bool) else None
    if isinstance(e, ir.Name):
        if e.value is not None:
            return e.value
        return known.get(e.var) if e.var is not None else None
    if isinstance(e, ir.Unary) and e.op in ("-", "+", "!"):
        inner = _fold(e.operand, known)
        if inner is None:
            return None
        return {"-": -inner, "+": inner, "!": int(not inner)}[e.op]
    if isinstance(e, ir.Binary) and e.op in _FOLD:
        lhs, rhs = _fold(e.lhs, known), _fold(e.rhs, known)
        return None if lhs is None or rhs is None else _FOLD[e.op](lhs, rhs)
    return None
