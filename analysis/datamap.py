"""What an offloaded loop must move to and from a device, and where data can
stay on the device across loops.

For each array a parallel loop touches: read, written, and the section it
spans over the loop's iterations (`a[lo:len]`, from the affine subscripts and
the loop bounds), or the whole array when its size is fixed. A `target data`
region can be hoisted above a serial loop (a time-step loop) when every
offloaded loop inside has sections that do not change in it, and nothing
else in its body touches those arrays' elements.
"""

from __future__ import annotations

import re

from . import ir, loopfacts, members
from .accesses import Ref
from .affine import LoopDim
from .loops import CanonicalLoop, Poly, to_poly, written_vars


def data_uses(refs: list[Ref], dims: dict[str, LoopDim], is_distinct=lambda var: False) -> list[loopfacts.DataUse] | str:
    """The arrays of a loop with their sections, or why they cannot be stated."""
    by_name: dict[str, list[Ref]] = {}
    for ref in refs:
        if ref.subscripts is not None:
            if ref.key.fields:
                return f"{ref.key} is a member of a structure: map it by hand"
            by_name.setdefault(ref.key.var.name, []).append(ref)
    uses = []
    for name, group in sorted(by_name.items()):
        var = group[0].key.var
        if var.is_container:
            return f"{name} is a C++ container: map its data() pointer by hand"
        read = any(r.is_read for r in group)
        written = any(r.is_write for r in group)
        if var.is_array and var.kind != "param" and all(d is not None for d in var.array_dims or (None,)):
            uses.append(loopfacts.DataUse(name, read, written, name, distinct=is_distinct(var)))
            continue
        span = _span(group, dims)
        if span is None:
            return f"the range of {name} the loop touches is not affine in its bounds"
        if row_sizes(var):
            read = read or written  # whole rows move: copy them in too, or the columns left alone come back as garbage
        uses.append(loopfacts.DataUse(name, read, written, _section_text(name, *span), _freeze(span), is_distinct(var)))
    return uses


def _section_text(name: str, low: Poly, high: Poly) -> str:
    return f"{name}[{poly_text(low)}:{poly_text(_add(_sub(high, low), {(): 1}))}]"


def _freeze(span: tuple[Poly, Poly]) -> tuple:
    return tuple(tuple(sorted(p.items())) for p in span)


def _span(
    refs: list[Ref], dims, rows: list[str] | None = None, subscripts_of=None, poly_of=to_poly,
    positive: dict[str, int] | None = None,
) -> tuple[Poly, Poly] | None:
    """Lowest and highest element (a row, for arrays of rows) of one array the
    refs touch. `dims` maps counters to their loops, or is a function giving
    that map for one ref (the loops around it). `rows`, `subscripts_of` and
    `poly_of` default to the ref's variable's row sizes, its subscripts and
    `to_poly`; a pointer field (`b->x[i]`) passes its own."""
    dims_for = dims if callable(dims) else (lambda ref: dims)
    subscripts_of = subscripts_of or (lambda ref: ref.subscripts)
    if rows is None:
        rows = row_sizes(refs[0].key.var)
    if rows is None:
        return None
    lows, highs = [], []
    for ref in refs:
        subscripts = subscripts_of(ref)
        if subscripts is None or len(subscripts) != 1 + len(rows) or not ref.exact:
            return None
        around = dims_for(ref)
        if not _within_rows(subscripts[1:], rows, around):
            return None
        poly = poly_of(subscripts[0])
        if poly is None:
            return None
        low, high = _extreme(poly, around, lowest=True), _extreme(poly, around, lowest=False)
        if low is None or high is None:
            return None
        lows.append(low)
        highs.append(high)
    low, high = _pick(lows, lowest=True, positive=positive), _pick(highs, lowest=False, positive=positive)
    if low is None or high is None:
        return None
    return low, high


_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
_SIZE = re.compile(r"\s*(\d+|[A-Za-z_]\w*)\s*")


def row_sizes(var: ir.Var) -> list[str] | None:
    """The sizes of the dimensions after the first, as C text, for a pointer
    to rows (`double (*A)[M]`, the VLA parameter `double A[n][m]`, a fixed
    array); [] for a plain pointer; None when a size is not a name or number."""
    if var.is_array and var.kind != "param":
        rest = var.array_dims[1:]
        return None if any(d is None for d in rest) else [str(d) for d in rest]
    groups = _BRACKETS.findall(var.type)
    if var.is_array:  # a parameter `T a[n][m]` is `T (*a)[m]`
        groups = groups[1:]
    elif "(*" not in var.type:
        groups = []
    sizes = []
    for group in groups:
        match = _SIZE.fullmatch(group)
        if match is None:
            return None
        sizes.append(match.group(1))
    return sizes


def _within_rows(subscripts, sizes: list[str], dims) -> bool:
    """0 <= subscript <= size - 1 for each subscript after the first."""
    for expr, size in zip(subscripts, sizes):
        poly = to_poly(expr)
        if poly is None:
            return False
        low, high = _extreme(poly, dims, lowest=True), _extreme(poly, dims, lowest=False)
        if low is None or high is None:
            return False
        size_poly = {(): int(size)} if size.isdigit() else {(size,): 1}
        below = _sub(_add(high, {(): 1}), size_poly)  # high + 1 - size <= 0
        if not _constant_at_most(below, 0) or not _nonnegative(low):
            return False
    return True


def _constant_at_most(poly: Poly, limit: int) -> bool:
    return all(not m for m in poly) and poly.get((), 0) <= limit


def _nonnegative(poly: Poly, positive_names: frozenset[str] = frozenset()) -> bool:
    """Provably >= 0: non-negative coefficients over names known to be >= 0."""
    return all(c >= 0 and all(n in positive_names for n in m) for m, c in poly.items())


# ------------------------------------------------------------ run-time checks


def alias_range(refs: list[Ref], dims_for, variant: set[str], substitute=None, symbols=None) -> loopfacts.AliasRange | str:
    """The elements of one pointer (or array) base a loop may touch, as
    loop-invariant C text from the base pointer up to the highest element,
    for a run-time overlap test; or why that range cannot be stated.

    `dims_for(ref)` gives the loops around a ref (the analysed loop and the
    inner ones), `variant` the names the loop writes. A pointer field of a
    structure (`b->x`, `s.x`) is a base too, indexed by one subscript; the
    caller keeps the structure itself in the check (members.py). `substitute`
    and `symbols` read temporaries and invariant members as the dependence
    test does (decide._SiteBuilder)."""
    var = refs[0].key.var
    name = str(refs[0].key)
    subscripts_of, rows = None, None
    poly_of = lambda e: to_poly(members.fields_as_names(e, variant), substitute, symbols)  # noqa: E731
    if refs[0].key.fields:
        struct = members.pointer_member(refs[0].key)
        if isinstance(struct, str):
            return struct
        if var.name in variant:
            return f"the structure {struct.text} changes in the loop"
        subscripts_of, rows = members.element_subscripts, []
        if any(subscripts_of(r) is None for r in refs):
            return f"{name} is indexed with more than one subscript"
    elif var.is_array and var.kind != "param":
        if any(d is None for d in var.array_dims):
            return f"the size of {name} is not fixed"
        return loopfacts.AliasRange(name, "0", str(var.array_dims[0]))
    elif not var.is_pointer or var.is_reference or var.is_container:
        return f"{name} is not a plain pointer"
    elif name in variant:
        return f"the pointer {name} itself changes in the loop"
    positive = _minimums(refs, dims_for)
    span = _span(refs, dims_for, rows, subscripts_of, poly_of, positive)
    if span is None:
        return f"the range of {name} the loop touches is not affine in its bounds"
    low, high = span
    if any(n in variant for m in (*low, *high) for n in m):
        return f"the range of {name} depends on values the loop changes"
    if not _at_least_zero(low, positive):
        return f"{name} may be indexed below {name}[0]"
    for ref in refs:
        around = dims_for(ref)
        for expr in (subscripts_of or (lambda r: r.subscripts))(ref):
            unsure = _unsigned_factors(poly_of(expr) or {}, around)
            if unsure:
                return f"the sign of {unsure} in {ref.text} is not known"
    return loopfacts.AliasRange(name, "0", poly_text(_add(high, {(): 1})))


def _minimums(refs: list[Ref], dims_for) -> dict[str, int]:
    """Least values of the names that bound a loop around the accesses (see
    `_running_minimum`); where such a loop does not run nothing is accessed."""
    out: dict[str, int] = {}
    for ref in refs:
        for dim in dims_for(ref).values():
            found = _running_minimum(dim)
            if found is not None:
                name, least = found
                out[name] = max(out.get(name, least), least)
    return out


def _running_minimum(dim: LoopDim) -> tuple[str, int] | None:
    """A loop from a constant L up to `name + c` runs only when name >= L - c:
    (name, L - c), or None for a loop of another shape."""
    lower, upper = dim.lower, dim.upper
    if lower is None or upper is None or not lower.is_constant or dim.step <= 0 or len(upper.terms) != 1:
        return None
    (name, coeff), = upper.terms
    return (name, lower.const - upper.const) if coeff == 1 else None


def _at_least_zero(poly: Poly, minimums: dict[str, int]) -> bool:
    """Provably >= 0 when each name is at least its minimum (and >= 0):
    every name n is written m_n + n' with n' >= 0 and the expansion checked."""
    expanded: Poly = {}
    for monomial, coeff in poly.items():
        if any(n not in minimums or minimums[n] < 0 for n in monomial):
            return False
        terms: Poly = {(): coeff}
        for name in monomial:  # multiply by (m + name')
            nxt: Poly = {}
            for m, c in terms.items():
                nxt[m] = nxt.get(m, 0) + c * minimums[name]
                grown = tuple(sorted((*m, name)))
                nxt[grown] = nxt.get(grown, 0) + c
            terms = nxt
        expanded = _add(expanded, terms)
    return all(c >= 0 for c in expanded.values())


def _unsigned_factors(poly: Poly, dims: dict[str, LoopDim]) -> str | None:
    """A name multiplying a loop counter that may be negative where the access
    runs. The extremes above take such factors to be >= 0; a loop around the
    access whose bound it is (`j < m` from `j = 0`) proves it."""
    for monomial in poly:
        if len(monomial) < 2 or not any(n in dims for n in monomial):
            continue
        for n in monomial:
            if n not in dims and not _bound_of_running_loop(n, dims):
                return n
    return None


def _bound_of_running_loop(name: str, dims: dict[str, LoopDim]) -> bool:
    """A loop from a constant L >= 0 up to `name + c` runs only when name >= L - c >= 0."""
    for dim in dims.values():
        found = _running_minimum(dim)
        if found is not None and found[0] == name and dim.lower.const >= 0 and found[1] >= 0:
            return True
    return False


def _extreme(poly: Poly, dims: dict[str, LoopDim], lowest: bool) -> Poly | None:
    """Least or greatest value over the loop domain, as a polynomial in the
    loop-invariant names (row sizes like n are taken to be positive)."""
    for _ in range(2 * len(dims) + 2):
        counter = next((v for m in poly for v in m if v in dims), None)
        if counter is None:
            return poly
        terms = {m: c for m, c in poly.items() if counter in m}
        if any(m.count(counter) > 1 for m in terms):
            return None
        positive = all(c > 0 for c in terms.values())
        if not positive and not all(c < 0 for c in terms.values()):
            return None
        dim = dims[counter]
        bound = dim.lower if positive == lowest else dim.upper
        if bound is None:
            return None
        bound_poly = {tuple(sorted((n,))): c for n, c in bound.terms}
        if bound.const:
            bound_poly[()] = bound_poly.get((), 0) + bound.const
        rest = {m: c for m, c in poly.items() if counter not in m}
        for m, c in terms.items():
            cofactor = tuple(v for v in m if v != counter)
            for bm, bc in bound_poly.items():
                key = tuple(sorted(cofactor + bm))
                rest[key] = rest.get(key, 0) + c * bc
        poly = {m: c for m, c in rest.items() if c}
    return None


def _pick(values: list[Poly], lowest: bool, positive: dict[str, int] | None = None) -> Poly | None:
    """The least (greatest) of polynomials that differ by constants, or whose
    difference has a known sign given the least values of its names
    (`positive`: name -> minimum, see `_minimums`), else None."""
    positive = positive or {}
    best = values[0]
    for value in values[1:]:
        difference = _sub(value, best)
        if not any(m for m in difference):
            if (difference.get((), 0) < 0) == lowest and difference.get((), 0) != 0:
                best = value
        elif _at_least_zero(difference, positive):  # value >= best
            best = best if lowest else value
        elif _at_least_zero(_sub(best, value), positive):  # value <= best
            best = value if lowest else best
        else:
            return None
    return best


def _add(a: Poly, b: Poly) -> Poly:
    out = dict(a)
    for m, c in b.items():
        out[m] = out.get(m, 0) + c
    return {m: c for m, c in out.items() if c}


def _sub(a: Poly, b: Poly) -> Poly:
    return _add(a, {m: -c for m, c in b.items()})


def poly_text(poly: Poly) -> str:
    """C text of a polynomial: `n * m - 1`."""
    parts = []
    for monomial, coeff in sorted(poly.items(), key=lambda mc: (-len(mc[0]), mc[0])):
        factors = list(monomial)
        if abs(coeff) != 1 or not factors:
            factors.insert(0, str(abs(coeff)))
        term = " * ".join(factors)
        parts.append(("- " if coeff < 0 else "+ ") + term)
    if not parts:
        return "0"
    text = " ".join(parts)
    return text[2:] if text.startswith("+ ") else "-" + text[2:]


def dims_of(forms: list[CanonicalLoop | None]) -> dict[str, LoopDim]:
    return {f.counter: f.dim for f in forms if f is not None}


def hoistable(loop: ir.LoopStmt, offloaded: list[tuple[ir.LoopStmt, list[loopfacts.DataUse]]]) -> list[loopfacts.DataUse] | None:
    """The union of the offloaded loops' data, when a `target data` region can
    enclose `loop`: the sections do not depend on anything `loop` changes, and
    no other statement in its body touches those arrays' elements."""
    if not offloaded:
        return None
    changed = {v.name for v in written_vars(loop.body)} | {v.name for v in written_vars(loop)}
    for _, uses in offloaded:
        if any(set(_names_in_text(use.section)) & changed for use in uses):
            return None  # a section that moves, or a pointer swapped between steps
    merged = union([uses for _, uses in offloaded])
    inner = {id(l) for l, _ in offloaded}
    if merged is None or _touches_outside(loop.body, {u.name for u in merged}, inner):
        return None
    return merged


def union(use_lists: list[list[loopfacts.DataUse]]) -> list[loopfacts.DataUse] | None:
    """One map list covering several loops' data: sections widened to cover
    each other (when their bounds differ by constants), read/written merged."""
    merged: dict[str, loopfacts.DataUse] = {}
    for uses in use_lists:
        for use in uses:
            old = merged.get(use.name)
            section, span = use.section, use.span
            if old is not None and old.section != use.section:
                if old.span is None or use.span is None:
                    return None
                lows = [dict(old.span[0]), dict(use.span[0])]
                highs = [dict(old.span[1]), dict(use.span[1])]
                low, high = _pick(lows, lowest=True), _pick(highs, lowest=False)
                if low is None or high is None:
                    return None
                section, span = _section_text(use.name, low, high), _freeze((low, high))
            merged[use.name] = loopfacts.DataUse(
                use.name, use.read or (old.read if old else False),
                use.written or (old.written if old else False), section, span,
            )
    return [merged[n] for n in sorted(merged)]


def _names_in_text(text: str) -> list[str]:
    import re

    return re.findall(r"[A-Za-z_]\w*", text)


def _touches_outside(stmt: ir.Stmt, arrays: set[str], skip: set[int]) -> bool:
    if id(stmt) in skip:
        return False
    for e in stmt.expressions():
        for x in e.walk():
            if isinstance(x, ir.Index) and _base_name(x) in arrays:
                return True
            if isinstance(x, ir.Unary) and x.op == "*" and _base_name(x.operand) in arrays:
                return True
            if isinstance(x, ir.Call) and any(_base_name(a) in arrays for a in x.args):
                return True
    return any(_touches_outside(s, arrays, skip) for s in stmt.substatements())


def _base_name(e: ir.Expr) -> str | None:
    while isinstance(e, (ir.Index, ir.Member)) and getattr(e, "base", None) is not None:
        e = e.base
    if isinstance(e, ir.Binary) and e.op in ("+", "-"):
        e = e.lhs
    return e.name if isinstance(e, ir.Name) else None
