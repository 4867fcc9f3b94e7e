"""Loops that write the segments of an array an index array delimits.

The compressed-row (CSR) pattern of sparse and graph code:

    for (i = 0; i < n; i++)
        for (k = X[i]; k < X[i + 1]; k++)
            col[k] = ...;

Iteration i touches col[k] only for X[i] <= k < X[i + 1]. When X is
non-decreasing over X[0..n], those half-open segments are disjoint (and in
order: X[i + 1] <= X[j] for i < j), so two iterations never touch one
element of an array that is only ever indexed by k plus one fixed offset.
That is a property of the data: the analysis states it as a run-time
condition (`loopfacts.OrderedIndex`) instead of a proof.

Accepted shapes (the segment loop anywhere inside the analysed loop):
`for (k = X[e] + s; k < X[e + 1] + s; k++)` or `k <= X[e + 1] + s - 1`,
with X a pointer, array or pointer member (`A->rowptr`) that the loop never
writes, e the analysed loop's counter (coefficient 1) plus loop-invariant
names, s a constant, and the analysed loop stepping by 1 or -1 with
loop-invariant bounds (so the check reads exactly the elements the loop
reads: X[first .. last]).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import ir, loopfacts
from .accesses import BodyFacts, Key, Ref
from .affine import Affine
from .loops import CanonicalLoop, MemberSymbols, constant_value, to_affine

#: Index element types the run-time check has a helper for (Clang's canonical spelling).
INDEX_TYPES = frozenset({
    "int", "long", "long long", "short", "signed char",
    "unsigned int", "unsigned long", "unsigned long long", "unsigned short", "unsigned char",
})


@dataclass(frozen=True)
class Segment:
    """`for (k = X[e] + s; k < X[e + 1] + s; k++)`: one inner segment loop."""

    loop: ir.For
    counter: ir.Var
    index: str  # C text of X: "A->rowptr"
    index_key: Key
    position: Affine  # e
    shift: int  # s
    ctype: str  # X's element type, "int"
    span: str  # "A->rowptr[i] <= k < A->rowptr[i + 1]"


@dataclass(frozen=True)
class SegmentWrite:
    """An array whose every access in the analysed loop is `a[... k + c ...]`
    inside one segment loop (dimension `dim` of its subscripts)."""

    segment: Segment
    offset: Affine  # c, loop-invariant
    order: loopfacts.OrderedIndex
    text: str  # one access as written, "A->col[k]"
    dim: int  # which subscript is k + c
    rank: int  # how many subscripts the accesses have

    def alias_range(self, key: Key) -> tuple[loopfacts.AliasRange, str] | None:
        """The elements the whole loop touches, base[0] up to X[last] + s + c
        (exclusive), and the C condition that they start at base[0] or above
        (X[first] + s + c >= 0); valid once X[first..last] is ordered. None
        unless k + c is the only subscript of the pointed-to array."""
        pointer_member = bool(key.fields) and key.fields[0].startswith("->")
        if self.dim != self.rank - 1 or self.rank != (2 if pointer_member else 1):
            return None
        if key.fields and not key.fields[-1].endswith("*"):
            return None
        shift = self.offset + Affine.constant(self.segment.shift)
        tail = "" if shift == Affine.constant(0) else f" + {shift}".replace("+ -", "- ")
        index = self.order.index
        count = f"{index}[{self.order.last}]{tail}"
        return loopfacts.AliasRange(str(key), "0", count), f"{index}[{self.order.first}]{tail} >= 0"


@dataclass(eq=False)
class SegmentFinder:
    """Finds segment loops in one analysed loop and the arrays they own."""

    canonical: CanonicalLoop
    facts: BodyFacts
    canonical_of: Callable
    variant: set[str]
    substitute: dict  # variable -> the polynomial it holds (single assignments)
    symbols: MemberSymbols | None
    _segments: dict[int, Segment | None] = field(default_factory=dict, init=False, repr=False)

    # ---------------------------------------------------------------- arrays

    def owner(self, refs: list[Ref]) -> SegmentWrite | None:
        """The segment write covering every ref of one array, or None."""
        if not isinstance(self.canonical.stmt, ir.For) or self.canonical.var is None:
            return None
        found: set[tuple] = set()
        segment = offset = None
        dim = 0
        for ref in refs:
            if not ref.exact or not ref.subscripts:
                return None
            var = ref.key.var
            if (var.name in self.variant and var.is_pointer) or (var.rows_are_pointers and len(ref.subscripts) > 1):
                return None
            hit = self._segment_subscript(ref)
            if hit is None:
                return None
            found.add((id(hit[0].loop), hit[1], hit[2], len(ref.subscripts)))
            segment, dim, offset = hit
        if len(found) != 1:
            return None
        order = self._order(segment, offset)
        if order is None:
            return None
        writes = [r for r in refs if r.is_write]
        return SegmentWrite(segment, offset, order, (writes or refs)[0].text, dim, len(refs[0].subscripts))

    def _segment_subscript(self, ref: Ref) -> tuple[Segment, int, Affine] | None:
        """(segment loop, dimension, c) for a subscript `k + c` of a segment loop around ref."""
        segments = [s for s in (self.segment(loop) for loop in ref.loops) if s is not None]
        for segment in segments:
            for dim, expr in enumerate(ref.subscripts):
                value = to_affine(expr, self.substitute, self.symbols)
                if value is None or value.coeff(segment.counter.name) != 1:
                    continue
                if not _names_are(expr, segment.counter.name, segment.counter):
                    continue
                rest = value - Affine.name(segment.counter.name)
                if any(n in self.variant or n == self.canonical.counter for n in rest.names()):
                    continue  # c must be the same in every iteration
                return segment, dim, rest
        return None

    # ------------------------------------------------------------- the loops

    def segment(self, loop: ir.LoopStmt) -> Segment | None:
        key = id(loop)
        if key not in self._segments:
            self._segments[key] = self._segment(loop) if isinstance(loop, ir.For) else None
        return self._segments[key]

    def _segment(self, loop: ir.For) -> Segment | None:
        form = self.canonical_of(loop)
        if not isinstance(form, CanonicalLoop) or form.var is None or form.step != 1 or form.start is None:
            return None
        start, end = _indexed(form.start), _indexed(form.bound)
        if start is None or end is None:
            return None
        (first, s), (second, t) = start, end
        if form.bound_op == "<=":
            t += 1
        elif form.bound_op not in ("<", "!="):
            return None
        if s != t or _squash(first.base.text) != _squash(second.base.text):
            return None
        e, e_next = self._position(first.index), self._position(second.index)
        if e is None or e_next is None or e_next - e != Affine.constant(1):
            return None
        if e.coeff(self.canonical.counter) != 1 or e.quasi:
            return None
        key = self._index_key(first)
        ctype = _plain_type(first.ctype)
        if key is None or ctype not in INDEX_TYPES:
            return None
        op = "<" if form.bound_op == "!=" else form.bound_op
        span = f"{form.start.text} <= {form.var.name} {op} {form.bound.text}"
        return Segment(loop, form.var, first.base.text, key, e, s, ctype, span)

    def _position(self, expr: ir.Expr) -> Affine | None:
        """e in X[e]: the analysed counter plus loop-invariant names."""
        value = to_affine(expr, None, self.symbols)
        if value is None:
            return None
        counter = self.canonical.counter
        if any(n in self.variant and n != counter for n in value.names()):
            return None
        return value

    def _index_key(self, index: ir.Index) -> Key | None:
        """X's key, when X is a name or a member chain of one the loop does not write."""
        base = index.base
        while isinstance(base, ir.Member) and base.base is not None:
            base = base.base
        if not isinstance(base, ir.Name) or base.var is None or base.var.name in self.variant:
            return None
        if not all(isinstance(x, (ir.Name, ir.Member)) for x in index.base.walk()):
            return None
        text = _squash(index.text)
        key = next((r.key for r in self.facts.refs if r.subscripts is not None and _squash(r.text) == text), None)
        if key is None:
            return None
        path = _field_path(key)
        for ref in self.facts.refs:
            if ref.is_write and ref.key.var is key.var and (_field_path(ref.key) == path or not ref.key.fields):
                return None  # X's elements, the pointer X or its structure change in the loop
        return key

    # -------------------------------------------------------------- the check

    def _order(self, segment: Segment, offset: Affine) -> loopfacts.OrderedIndex | None:
        """X[first..last] must be non-decreasing: the elements X[e] and X[e + 1]
        that the analysed loop reads over its whole range."""
        dim = self.canonical.dim
        if abs(dim.step) != 1 or dim.lower is None or dim.upper is None:
            return None
        bounds = (dim.lower, dim.upper)
        if any(b.quasi or any(n in self.variant for n in b.names()) for b in bounds):
            return None
        if any(n in self.variant for n in offset.names()):
            return None
        shift = segment.position - Affine.name(self.canonical.counter)
        first = dim.lower + shift
        last = dim.upper + shift + Affine.constant(1)
        return loopfacts.OrderedIndex(
            index=segment.index, first=str(first), last=str(last), ctype=segment.ctype,
            counter=self.canonical.counter, span=segment.span,
        )


def _indexed(expr: ir.Expr | None) -> tuple[ir.Index, int] | None:
    """`X[e]`, `X[e] + c`, `X[e] - c`, `c + X[e]` as (the Index, c)."""
    if isinstance(expr, ir.Index):
        return expr, 0
    if isinstance(expr, ir.Binary) and expr.op in ("+", "-"):
        left, right = _indexed(expr.lhs), constant_value(expr.rhs)
        if left is not None and right is not None:
            return left[0], left[1] + (right if expr.op == "+" else -right)
        if expr.op == "+":
            left, right = constant_value(expr.lhs), _indexed(expr.rhs)
            if left is not None and right is not None:
                return right[0], right[1] + left
    return None


def _names_are(expr: ir.Expr, name: str, var: ir.Var) -> bool:
    """Every use of `name` in expr is the segment counter itself (no shadowing)."""
    return all(x.var is var for x in expr.walk() if isinstance(x, ir.Name) and x.name == name)


def _field_path(key: Key) -> tuple[str, ...]:
    return tuple(f.lstrip("-.>").rstrip("*") for f in key.fields)


def _plain_type(ctype: str) -> str:
    words = [w for w in ctype.replace("signed char", "signed_char").split() if w not in ("const", "volatile")]
    text = " ".join(words).replace("signed_char", "signed char")
    return "" if "volatile" in ctype else text


def _squash(text: str) -> str:
    return "".join(text.split())
