"""Canonical loop forms and affine expressions, read off the `ir` tree.

A loop is canonical (OpenMP's "canonical loop nest form", restricted to what
ompilot can reason about) when it is `for (init; var OP bound; var += step)`
with an integer counter, a loop-invariant bound and a constant step, and the
body never assigns the counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from . import ir
from .affine import Affine, LoopDim


class MemberSymbols(Protocol):
    """Names loop-invariant integer members (`g->ny`) for affine forms (invariants.py)."""

    def symbol(self, e: ir.Expr) -> str | None: ...

    def written(self, e: ir.Expr) -> bool: ...


@dataclass(eq=False)
class CanonicalLoop:
    stmt: ir.LoopStmt
    var: ir.Var | None  # None for a range-for's hidden counter
    counter: str  # name used in affine expressions
    start: ir.Expr | None
    bound: ir.Expr | None
    bound_op: str  # < <= > >= !=
    step: int
    dim: LoopDim
    #: the same loop with quasi-affine bounds kept (`j = 1 + (i + color) % 2`),
    #: for the dependence tester only; None when `dim` already says everything
    quasi_dim: LoopDim | None = None

    @property
    def dependence_dim(self) -> LoopDim:
        """The loop as the exact dependence test (depend.py) should see it."""
        return self.quasi_dim or self.dim


def written_vars(stmt: ir.Stmt) -> set[ir.Var]:
    """Variables assigned anywhere in a statement (targets of =, op=, ++, --)."""
    out: set[ir.Var] = set()
    for s in stmt.walk():
        if isinstance(s, ir.Decl):
            out.add(s.var)
        for e in s.expressions():
            out |= written_in_expr(e)
    return out


def written_in_expr(expr: ir.Expr) -> set[ir.Var]:
    return set(assignments_in_expr(expr))


def assignments_in_expr(expr: ir.Expr):
    """The variable of each assignment or ++/-- in the expression, once per place."""
    for e in expr.walk():
        target = None
        if isinstance(e, ir.Assign):
            target = e.target
        elif isinstance(e, ir.Unary) and e.op in ("++", "--", "post++", "post--"):
            target = e.operand
        if isinstance(target, ir.Name) and target.var is not None:
            yield target.var


def canonical_form(loop: ir.For, body_writes: set[ir.Var], symbols: MemberSymbols | None = None) -> CanonicalLoop | str:
    """The loop's canonical form, or a sentence saying why it has none.

    `symbols` lets bounds such as `g->nx - 1` be affine in the member."""
    var, start = _init_var(loop.init)
    if var is None:
        if isinstance(loop.init, ir.Block) and len(loop.init.stmts) > 1:
            return "the for header initialises more than one variable"
        return "the loop counter is not initialised in the for header"
    if not var.is_scalar_number or var.is_float:
        return f"the loop counter {var.name} is not an integer"
    if var in body_writes:
        return f"the loop counter {var.name} is assigned inside the loop body"
    step = _step(loop.inc, var)
    if step is None:
        return f"the increment of {var.name} is not a constant step"
    cond = _condition(loop.cond, var)
    if cond is None:
        return f"the condition does not compare {var.name} with a bound"
    op, bound = cond
    if op == "!=" and abs(step) != 1:
        return "a != condition needs a step of 1 or -1"
    if op in ("<", "<=") and step < 0 or op in (">", ">=") and step > 0:
        return f"the counter {var.name} moves away from its bound"
    if any(v in body_writes for v in names_in(bound)):
        return "the loop bound is changed inside the loop"
    if symbols is not None and any(isinstance(e, ir.Member) and symbols.written(e) for e in bound.walk()):
        return "the loop bound is changed inside the loop"
    dim = _dim(var.name, start, bound, op, step, symbols)
    quasi_dim = _dim(var.name, start, bound, op, step, symbols, quasi=True)
    return CanonicalLoop(loop, var, var.name, start, bound, op, step, dim, None if quasi_dim == dim else quasi_dim)


def range_for_form(loop: ir.RangeFor, counter: str) -> CanonicalLoop:
    """A range-for over a container, seen as a counter over [0, size)."""
    dim = LoopDim(counter, Affine.constant(0), None, 1)
    return CanonicalLoop(loop, None, counter, None, None, "<", 1, dim)


def _init_var(init: ir.Stmt | None) -> tuple[ir.Var | None, ir.Expr | None]:
    if isinstance(init, ir.Decl):
        return init.var, init.init
    if isinstance(init, ir.ExprStmt) and isinstance(init.expr, ir.Assign):
        a = init.expr
        if a.op == "=" and isinstance(a.target, ir.Name) and a.target.var is not None:
            return a.target.var, a.value
    if isinstance(init, ir.Block) and len(init.stmts) == 1:
        return _init_var(init.stmts[0])
    return None, None


def _is_var(e: ir.Expr | None, var: ir.Var) -> bool:
    return isinstance(e, ir.Name) and e.var is var


def _step(inc: ir.Expr | None, var: ir.Var) -> int | None:
    if isinstance(inc, ir.Unary) and _is_var(inc.operand, var):
        return {"++": 1, "post++": 1, "--": -1, "post--": -1}.get(inc.op)
    if isinstance(inc, ir.Assign) and _is_var(inc.target, var):
        if inc.op in ("+=", "-="):
            k = constant_value(inc.value)
            return None if not k else (k if inc.op == "+=" else -k)
        if inc.op == "=" and isinstance(inc.value, ir.Binary):
            b = inc.value
            if b.op == "+" and _is_var(b.lhs, var):
                return constant_value(b.rhs) or None
            if b.op == "+" and _is_var(b.rhs, var):
                return constant_value(b.lhs) or None
            if b.op == "-" and _is_var(b.lhs, var):
                k = constant_value(b.rhs)
                return -k if k else None
    return None


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "!=": "!="}


def _condition(cond: ir.Expr | None, var: ir.Var) -> tuple[str, ir.Expr] | None:
    if not isinstance(cond, ir.Binary) or cond.op not in _FLIP:
        return None
    if _is_var(cond.lhs, var) and var not in names_in(cond.rhs):
        return cond.op, cond.rhs
    if _is_var(cond.rhs, var) and var not in names_in(cond.lhs):
        return _FLIP[cond.op], cond.lhs
    return None


def _dim(name: str, start: ir.Expr | None, bound: ir.Expr, op: str, step: int, symbols=None,
         quasi: bool = False) -> LoopDim:
    first = to_affine(start, symbols=symbols, quasi=quasi) if start is not None else None
    limit = to_affine(bound, symbols=symbols, quasi=quasi)
    if limit is not None:
        if op == "<" or (op == "!=" and step > 0):
            limit = limit - Affine.constant(1)
        elif op == ">" or (op == "!=" and step < 0):
            limit = limit + Affine.constant(1)
    if step > 0:
        return LoopDim(name, first, limit, step)
    return LoopDim(name, limit, first, step)


def names_in(expr: ir.Expr | None) -> set[ir.Var]:
    if expr is None:
        return set()
    return {e.var for e in expr.walk() if isinstance(e, ir.Name) and e.var is not None}


def constant_value(expr: ir.Expr | None) -> int | None:
    a = to_affine(expr) if expr is not None else None
    return a.const if a is not None and a.is_constant else None


def to_affine(
    expr: ir.Expr, substitute: dict[ir.Var, Poly] | None = None, symbols: MemberSymbols | None = None,
    quasi: bool = False,
) -> Affine | None:
    """The expression as an affine form over variable names, or None.

    Variables map to their own name unless `substitute` gives their value
    (temporaries.py: `c = i * n + j;` read as `i*n + j`); integer members map
    to their C text (`g->ny`) when `symbols` says they are loop-invariant. The
    caller checks that every name left is a counter or loop-invariant.
    With `quasi`, `e / c` and `e % c` (signed, c a positive constant) become
    quasi-affine terms (`_quasi_term`); only depend.py understands those.
    """
    if isinstance(expr, ir.Const):
        return Affine.constant(expr.value) if isinstance(expr.value, int) else None
    if isinstance(expr, ir.Name):
        if expr.value is not None:
            return Affine.constant(expr.value)
        if expr.var is None or not expr.var.is_scalar_number or expr.var.is_float:
            return None
        if substitute and expr.var in substitute:
            return affine_of_poly(substitute[expr.var])
        return Affine.name(expr.var.name)
    if isinstance(expr, ir.Member):
        symbol = symbols.symbol(expr) if symbols is not None else None
        return Affine.name(symbol) if symbol is not None else None
    if isinstance(expr, ir.Unary):
        inner = to_affine(expr.operand, substitute, symbols, quasi)
        if inner is None:
            return None
        return {"-": -inner, "+": inner}.get(expr.op)
    if quasi and isinstance(expr, ir.Binary) and expr.op in ("/", "%"):
        return _quasi_term(expr, symbols)
    if isinstance(expr, ir.Binary) and expr.op in ("+", "-", "*"):
        lhs = to_affine(expr.lhs, substitute, symbols, quasi)
        rhs = to_affine(expr.rhs, substitute, symbols, quasi)
        if lhs is None or rhs is None:
            return None
        if expr.op == "+":
            return lhs + rhs
        if expr.op == "-":
            return lhs - rhs
        if lhs.is_constant:
            return rhs.scale(lhs.const)
        if rhs.is_constant:
            return lhs.scale(rhs.const)
    return None


#: result types of C's `/` and `%` whose truncating semantics `Quasi` models
#: (operands of smaller types are promoted to int first)
_SIGNED_RESULTS = {"int", "long", "long long", "__int128"}
_UNSIGNED_WORDS = {"unsigned", "bool", "_Bool", "char16_t", "char32_t", "char8_t"}


def _quasi_term(expr: ir.Binary, symbols: MemberSymbols | None) -> Affine | None:
    """`e / c` or `e % c` as a quasi-affine term, when C computes it on signed
    integers: the operation's type is a signed type of rank int or more, and
    no name, literal or operation inside is unsigned, so no step of e wraps
    modulo 2^N (a cast, which the front end drops, could otherwise hide one:
    `(long)((unsigned)i - 3) % 2`). e is read without temporaries' values:
    those were not checked for signedness."""
    if expr.ctype not in _SIGNED_RESULTS or not _signed_throughout(expr):
        return None
    divisor = constant_value(expr.rhs)
    if divisor is None or divisor <= 0:
        return None
    dividend = to_affine(expr.lhs, None, symbols, quasi=True)
    return None if dividend is None else Affine.quotient(expr.op, dividend, divisor)


def _signed_throughout(expr: ir.Expr) -> bool:
    """No part of `expr` has an unsigned type (names and members must have a
    known type; operations whose type the front end did not record pass)."""
    for e in expr.walk():
        if isinstance(e, (ir.Name, ir.Member)) and not e.ctype:
            return False
        if _UNSIGNED_WORDS & set(e.ctype.split()):
            return False
        if isinstance(e, ir.Const) and any(ch in e.text for ch in "uU"):
            return False
    return True


def trip_count(loop: CanonicalLoop) -> int | None:
    lo, hi = loop.dim.lower, loop.dim.upper
    if lo is None or hi is None or not lo.is_constant or not hi.is_constant:
        return None
    span = hi.const - lo.const
    return max(0, span // abs(loop.step) + 1)


# ------------------------------------------------------------ delinearizing

Poly = dict[tuple[str, ...], int]  # monomial (sorted names) -> coefficient


def to_poly(
    expr: ir.Expr, substitute: dict[ir.Var, Poly] | None = None, symbols: MemberSymbols | None = None
) -> Poly | None:
    """A polynomial over variable names, for `i * n + j` style subscripts
    (`substitute` and `symbols` as for `to_affine`)."""
    if isinstance(expr, ir.Const):
        return {(): expr.value} if isinstance(expr.value, int) else None
    if isinstance(expr, ir.Name):
        if expr.value is not None:
            return {(): expr.value}
        if expr.var is None or not expr.var.is_scalar_number or expr.var.is_float:
            return None
        if substitute and expr.var in substitute:
            return dict(substitute[expr.var])
        return {(expr.var.name,): 1}
    if isinstance(expr, ir.Member):
        symbol = symbols.symbol(expr) if symbols is not None else None
        return {(symbol,): 1} if symbol is not None else None
    if isinstance(expr, ir.Unary) and expr.op in ("-", "+"):
        inner = to_poly(expr.operand, substitute, symbols)
        return None if inner is None else {m: (-c if expr.op == "-" else c) for m, c in inner.items()}
    if isinstance(expr, ir.Binary) and expr.op in ("+", "-", "*"):
        lhs, rhs = to_poly(expr.lhs, substitute, symbols), to_poly(expr.rhs, substitute, symbols)
        if lhs is None or rhs is None:
            return None
        out: Poly = {}
        if expr.op == "*":
            for ma, ca in lhs.items():
                for mb, cb in rhs.items():
                    m = tuple(sorted(ma + mb))
                    out[m] = out.get(m, 0) + ca * cb
        else:
            sign = 1 if expr.op == "+" else -1
            out = dict(lhs)
            for m, c in rhs.items():
                out[m] = out.get(m, 0) + sign * c
        return {m: c for m, c in out.items() if c}
    return None


def affine_of_poly(poly: Poly) -> Affine | None:
    """The polynomial as an affine form, None when it has a product of names."""
    if any(len(m) > 1 for m in poly):
        return None
    return _affine_of(poly)


def split_linearized(poly: Poly, counters: set[str]) -> tuple[list[Affine], list[str]] | None:
    """`i*n*n + j*n + k` -> ([i, j, k], ["n", "n"]): the subscripts of the
    multi-dimensional array a linearised index stands for, and the row sizes.
    The caller must still prove each inner subscript lies in [0, size - 1]."""
    if all(len(m) <= 1 for m in poly):
        return [_affine_of(poly)], []
    candidates = sorted({n for m in poly if len(m) >= 2 for n in m if n not in counters})
    for size in candidates:
        rest = {m: c for m, c in poly.items() if size not in m}
        outer: Poly = {}
        for m, c in poly.items():
            if size in m:
                reduced = list(m)
                reduced.remove(size)
                key = tuple(reduced)
                outer[key] = outer.get(key, 0) + c
        if any(len(m) > 1 for m in rest):
            continue
        inner = split_linearized(outer, counters)
        if inner is None:
            continue
        subscripts, sizes = inner
        return [*subscripts, _affine_of(rest)], [*sizes, size]
    return None


def _affine_of(poly: Poly) -> Affine:
    return Affine.build({m[0]: c for m, c in poly.items() if len(m) == 1}, poly.get((), 0))
