"""Writes through constant index tables: `dst[slot_of[c]] = ...`.

When an array's subscripts read a table whose contents the file fixes (a
`const` array, or a function's `static` array its function never changes
or lets escape) with the values Clang folded from its initialiser, the
element each iteration touches is known: evaluate the subscript for every
iteration of the loop's constant range. Different values everywhere mean
the iterations touch disjoint elements; two iterations reaching one element
(one of them writing) are a dependence the analysis can show, with the
iterations and the element.

Without a constant range, a table whose values are all distinct, read at an
index that is injective in the counter (`slot_of[c + 1]`, the same spelling
in every access) still gives disjoint elements.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir, loopfacts
from .loops import CanonicalLoop, to_affine

#: The most iterations enumerated (a table lives in the source: it is short).
MAX_ITERATIONS = 1 << 16


@dataclass(frozen=True)
class TableAccesses:
    """What the tables say about one array's accesses: `reasons` empty when
    the iterations touch disjoint elements."""

    reasons: tuple[loopfacts.Reason, ...]


def examine(array: str, refs, canonical: CanonicalLoop, function: ir.Function, excluded=None) -> TableAccesses | None:
    """None when the accesses do not go through fixed tables (the usual tests apply)."""
    subscripts = []
    for ref in refs:
        if ref.subscripts is None or len(ref.subscripts) != 1 or not ref.exact:
            return None
        subscripts.append(ref.subscripts[0])
    tables = {id(t): t for s in subscripts for t in _tables(s)}
    if not tables or not all(_fixed(t, function) for t in tables.values()):
        return None
    iterations = _iterations(canonical)
    if iterations is None:
        return _without_range(subscripts, canonical)
    elements = []
    for s in subscripts:
        values = {}
        for c in iterations:
            v = _value(s, canonical.counter, c)
            if v is None:
                return None
            values.setdefault(v, []).append(c)
        elements.append(values)
    for i, a in enumerate(refs):
        for j in range(i, len(refs)):
            b = refs[j]
            if not (a.is_write or b.is_write) or (excluded is not None and excluded(a, b)):
                continue
            meet = _meeting(elements[i], elements[j])
            if meet is not None:
                element, first, second = meet
                table = next(iter(_tables(subscripts[i]) or _tables(subscripts[j])))
                return TableAccesses((loopfacts.IndexCollision(
                    array=array, access=a.text, line=a.line, other=b.text, other_line=b.line,
                    counter=canonical.counter, first=first, second=second, element=element, table=table.name),))
    return TableAccesses(())


def _meeting(a: dict[int, list[int]], b: dict[int, list[int]]) -> tuple[int, int, int] | None:
    """An element two different iterations reach (the first by a, the second by b)."""
    for element, firsts in sorted(a.items()):
        for first in firsts:
            second = next((c for c in b.get(element, ()) if c != first), None)
            if second is not None:
                return element, min(first, second), max(first, second)
    return None


def _without_range(subscripts: list[ir.Expr], canonical: CanonicalLoop) -> TableAccesses | None:
    """Disjoint for any range: one spelling `T[e(c)]`, e injective, T without repeats."""
    first = subscripts[0]
    if not isinstance(first, ir.Index) or any(_squash(s.text) != _squash(first.text) for s in subscripts):
        return None
    table = first.base.var if isinstance(first.base, ir.Name) else None
    index = to_affine(first.index)
    if table is None or index is None or index.quasi or set(index.coeffs()) != {canonical.counter}:
        return None  # (terms never hold a zero coefficient: c's is not 0)
    values = table.initial_values
    return TableAccesses(()) if len(set(values)) == len(values) else None


def _iterations(canonical: CanonicalLoop) -> range | None:
    dim = canonical.dim
    lo, hi = dim.lower, dim.upper
    if lo is None or hi is None or not lo.is_constant or not hi.is_constant:
        return None
    steps = range(lo.const, hi.const + 1, dim.step) if dim.step > 0 else range(hi.const, lo.const - 1, dim.step)
    return steps if len(steps) <= MAX_ITERATIONS else None


def _tables(e: ir.Expr) -> list[ir.Var]:
    return [x.base.var for x in e.walk() if isinstance(x, ir.Index) and isinstance(x.base, ir.Name)
            and x.base.var is not None and x.base.var.initial_values is not None]


def _fixed(table: ir.Var, function: ir.Function) -> bool:
    """Its contents are the initialiser's: const elements, or a static local of this
    function that the function only ever reads by subscript."""
    if table.fixed_const:
        return True
    if table.kind != "static" or function.body is None:
        return False
    declared_here = any(isinstance(s, ir.Decl) and s.var is table for s in function.body.walk())
    if not declared_here:
        return False
    for stmt in function.body.walk():
        for expr in stmt.expressions():
            read_bases = set()
            for e in expr.walk():
                if isinstance(e, ir.Index) and isinstance(e.base, ir.Name):
                    read_bases.add(id(e.base))
                target = e.target if isinstance(e, ir.Assign) else (
                    e.operand if isinstance(e, ir.Unary) and e.op in ("++", "--", "post++", "post--", "&") else None)
                root = ir.root_name(target) if target is not None else None
                if root is not None and root.var is table:
                    return False
            if any(isinstance(e, ir.Name) and e.var is table and id(e) not in read_bases for e in expr.walk()):
                return False  # the array itself, not an element: it may escape
    return True


def _value(e: ir.Expr, counter: str, c: int) -> int | None:
    """The subscript's value in iteration `counter = c`; None when not constant."""
    if isinstance(e, ir.Const):
        return e.value if isinstance(e.value, int) else None
    if isinstance(e, ir.Name):
        if e.name == counter:
            return c
        return e.value
    if isinstance(e, ir.Unary) and e.op in ("-", "+"):
        v = _value(e.operand, counter, c)
        return None if v is None else (-v if e.op == "-" else v)
    if isinstance(e, ir.Binary):
        a, b = _value(e.lhs, counter, c), _value(e.rhs, counter, c)
        if a is None or b is None:
            return None
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "*":
            return a * b
        if e.op in ("/", "%") and b != 0:
            q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # C truncates toward zero
            return q if e.op == "/" else a - q * b
        return None
    if isinstance(e, ir.Index) and isinstance(e.base, ir.Name) and e.base.var is not None:
        values = e.base.var.initial_values
        i = _value(e.index, counter, c)
        if values is None or i is None or not 0 <= i < len(values):
            return None
        return values[i]
    return None


def _squash(text: str) -> str:
    return "".join(text.split())
