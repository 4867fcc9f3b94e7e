"""A subscript of a worksharing loop read as affine pieces under affine conditions.

`v[lo]` with `int lo = i > 0 ? i - 1 : i;` declared in the loop body is `v[i - 1]`
where `i > 0` and `v[i]` where `i <= 0`: each piece is an affine form over the
loop counter and names that do not change in the region, with the conditions
(also affine) under which it is the subscript. regionraces compares two
worksharing loops piece by piece with islpy.

A local of the loop body is replaced by its initialiser when it is declared
once there, never assigned again and its address is never taken (its value at
every use in the iteration is the initialiser's, whose own names are checked
the same way). Anything else (a call, a division, `&&` in a condition) gives no
pieces: the caller then treats the subscript as not affine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import ir, loops
from .affine import Affine

_MAX_PIECES = 16
_MAX_DEPTH = 6
#: a comparison and the one that holds when it does not
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Condition:
    """`lhs op rhs`, both sides affine."""

    op: str
    lhs: Affine
    rhs: Affine

    def negated(self) -> Condition:
        return Condition(_NEGATED[self.op], self.lhs, self.rhs)


@dataclass(frozen=True)
class Piece:
    value: Affine
    conditions: tuple[Condition, ...] = ()


class LoopLocals:
    """The locals of a loop body that hold one value per iteration: declared once
    with an initialiser, never assigned again, address never taken."""

    def __init__(self, body: ir.Stmt):
        declared: dict[ir.Var, list[ir.Decl]] = {}
        assigned: set[ir.Var] = set()
        for s in body.walk():
            if isinstance(s, ir.Decl):
                declared.setdefault(s.var, []).append(s)
            for e in s.expressions():
                assigned.update(loops.assignments_in_expr(e))
                for x in e.walk():
                    if isinstance(x, ir.Unary) and x.op == "&" and isinstance(x.operand, ir.Name):
                        assigned.add(x.operand.var)
        self.values = {var: decls[0].init for var, decls in declared.items()
                       if len(decls) == 1 and decls[0].init is not None and var not in assigned
                       and var.kind == "local" and var.is_scalar_number and not var.is_float}


def pieces(e: ir.Expr, locals_: LoopLocals, allowed: Callable[[ir.Var], bool], depth: int = 0) -> list[Piece] | None:
    """The expression as affine pieces; `allowed(var)` says which variables may stay
    as names (the counter, names unchanged in the region). None when it has no such form."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(e, ir.Name) and e.value is None and e.var is not None and e.var in locals_.values:
        return pieces(locals_.values[e.var], locals_, allowed, depth + 1)
    if isinstance(e, ir.Conditional):
        condition = _condition(e.cond, locals_, allowed, depth + 1)
        then = pieces(e.then, locals_, allowed, depth + 1)
        orelse = pieces(e.orelse, locals_, allowed, depth + 1)
        if condition is None or then is None or orelse is None:
            return None
        found = [Piece(p.value, (condition, *p.conditions)) for p in then]
        found += [Piece(p.value, (condition.negated(), *p.conditions)) for p in orelse]
        return found if len(found) <= _MAX_PIECES else None
    if isinstance(e, ir.Binary) and e.op in ("+", "-", "*"):
        lhs = pieces(e.lhs, locals_, allowed, depth + 1)
        rhs = pieces(e.rhs, locals_, allowed, depth + 1)
        if lhs is None or rhs is None or len(lhs) * len(rhs) > _MAX_PIECES:
            return None
        found = []
        for x in lhs:
            for y in rhs:
                value = _combine(e.op, x.value, y.value)
                if value is None:
                    return None
                found.append(Piece(value, x.conditions + y.conditions))
        return found
    if isinstance(e, ir.Unary) and e.op in ("-", "+"):
        inner = pieces(e.operand, locals_, allowed, depth + 1)
        if inner is None:
            return None
        return [Piece(-p.value if e.op == "-" else p.value, p.conditions) for p in inner]
    if isinstance(e, ir.Name) and e.value is None and (e.var is None or not allowed(e.var)):
        return None
    if not isinstance(e, (ir.Name, ir.Const)):
        return None
    value = loops.to_affine(e)
    return None if value is None else [Piece(value)]


def _combine(op: str, x: Affine, y: Affine) -> Affine | None:
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if x.is_constant:
        return y.scale(x.const)
    if y.is_constant:
        return x.scale(y.const)
    return None


def _condition(e: ir.Expr, locals_: LoopLocals, allowed, depth: int) -> Condition | None:
    if not isinstance(e, ir.Binary) or e.op not in _NEGATED:
        return None
    lhs = pieces(e.lhs, locals_, allowed, depth)
    rhs = pieces(e.rhs, locals_, allowed, depth)
    if lhs is None or rhs is None or len(lhs) != 1 or len(rhs) != 1 or lhs[0].conditions or rhs[0].conditions:
        return None
    return Condition(e.op, lhs[0].value, rhs[0].value)
