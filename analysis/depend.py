"""Exact dependence tests between two array accesses, decided with isl.

Every question here is a Presburger formula over the loop counters of two
dynamic instances of accesses; isl answers it exactly (integer emptiness, not a
GCD/Banerjee approximation), so an affine answer is never a guess. Whatever
cannot be written as such a formula (a non-affine subscript, mismatched ranks,
an isl failure) yields "unknown", never "independent".

Iteration-space convention (all functions):

* ``LoopDim(var, lower, upper, step)``: ``lower`` is always the smaller bound and
  ``upper`` the larger, both inclusive, whatever the sign of ``step``.
* ``step > 0``: the iterations are ``lower, lower + step, ...`` up to ``upper``.
* ``step < 0``: the iterations are ``upper, upper + step, ...`` down to
  ``lower`` (the loop starts at ``upper``). An earlier iteration therefore
  has a LARGER counter value.
* A bound of None leaves that side open. If the start bound (``lower`` for
  ``step > 0``, ``upper`` for ``step < 0``) is None the stride is not anchored
  either: the counter may take any integer value on the open side. Both only
  add iterations, so they can only add dependences. (The tested loop of
  `carried` still counts whole iterations: both instances are in the same
  execution of it, so their counters differ by a multiple of the step.)
* Names in subscripts or bounds that are not counters of the access's own
  enclosing loops (the innermost loop of that name wins; a loop's bounds see
  only the loops outside it) are symbolic parameters, shared by both
  instances and otherwise unconstrained integers.
* A quasi-affine term `e / c` or `e % c` (C's truncating division by a
  positive constant) gets a fresh integer variable q, the quotient, tied to e
  by an exact constraint (`_quotient_definition`); `e % c` is then `e - c*q`.
  Quotients are existential: set dimensions of the pair set, `exists` in the
  element sets.

`carried` and `same_iteration_conflict` do not compare array names (the caller
decides which pairs may alias); `element_set_covers` ignores writes to another
array, since counting them could only over-state coverage.
"""

from __future__ import annotations

from functools import lru_cache

from dataclasses import dataclass, field

import islpy as isl

from .affine import AccessSite, Affine, DepTest, LoopDim

_CTX = isl.Context()

#: Prefix for parameters in isl text; every generated name has a prefix, so no
#: C identifier can collide with an isl keyword (and, mod, floor, exists, ...).
_PARAM_PREFIX = "p_"


# --------------------------------------------------------------------------
# Turning accesses into isl constraint text.
# --------------------------------------------------------------------------


@dataclass
class _Namer:
    """Collects the parameters met while renaming, so the caller can declare
    them, and the quotient variables of quasi-affine terms with the
    constraints that define them."""

    params: set[str] = field(default_factory=set)
    quotients: dict[tuple[str, int], str] = field(default_factory=dict)  # (dividend text, c) -> q
    definitions: list[str] = field(default_factory=list)
    made: int = 0

    def quotient(self, dividend: str, divisor: int) -> str:
        """The variable holding C's `dividend / divisor`, made once per dividend."""
        key = (dividend, divisor)
        if key not in self.quotients:
            self.quotients[key] = f"q{self.made}"
            self.made += 1
            self.definitions.append(_quotient_definition(self.quotients[key], dividend, divisor))
        return self.quotients[key]

    def take_quotients(self) -> tuple[list[str], list[str]]:
        """The quotient variables made since the last call and their
        definitions; terms met later get new variables."""
        taken = list(self.quotients.values()), self.definitions
        self.quotients, self.definitions = {}, []
        return taken

    def scope(self, loops: tuple[LoopDim, ...], isl_names: list[str], visible: int):
        """A renaming for an expression that sees the first `visible` loops."""
        counters = {}
        for loop, isl_name in zip(loops[:visible], isl_names[:visible]):
            counters[loop.var] = isl_name  # an inner loop shadows an outer one

        def rename(name: str) -> str:
            if name in counters:
                return counters[name]
            param = _PARAM_PREFIX + _isl_identifier(name)
            self.params.add(param)
            return param

        return rename


def _isl_identifier(name: str) -> str:
    """A member parameter `g->ny` or `s.n` as an isl identifier (injective)."""
    if "->" not in name and "." not in name:
        return name
    return name.replace("_", "_u").replace("->", "_a").replace(".", "_d")


def _quotient_definition(q: str, dividend: str, divisor: int) -> str:
    """The constraint making `q` exactly C's `dividend / divisor` (divisor > 0).

    C99 6.5.5 truncates toward zero: for e >= 0, q = floor(e / c), that is
    c*q <= e <= c*q + c - 1; for e < 0, q = ceil(e / c), that is
    c*q - (c - 1) <= e <= c*q. The two cases together have exactly one
    solution q for every integer e, so the remainder e - c*q is C's `e % c`
    (0..c-1 for e >= 0, -(c-1)..0 for e < 0) and nothing is lost or added: a
    dependence found with q is a real one, and a dependence through `%` on a
    negative dividend (a negative colour parameter) is never missed. isl
    keeps the disjunction exact (a union of two basic sets per quotient).
    """
    e, c = f"({dividend})", divisor
    return (
        f"(({e} >= 0 and {c}*{q} <= {e} <= {c}*{q} + {c - 1}) or "
        f"({e} <= -1 and {c}*{q} - {c - 1} <= {e} <= {c}*{q}))"
    )


def _affine_text(expr: Affine, rename, namer: _Namer) -> str:
    """isl text for `expr`, with every name passed through `rename` and each
    quasi-affine term replaced by its quotient variable (made in `namer`)."""
    parts = [f"{coeff}*{rename(name)}" for name, coeff in expr.terms]
    for term, coeff in expr.quasi:
        dividend = _affine_text(term.dividend, rename, namer)
        q = namer.quotient(dividend, term.divisor)
        value = q if term.op == "/" else f"(({dividend}) - {term.divisor}*{q})"
        parts.append(f"{coeff}*{value}")
    parts.append(str(expr.const))
    return " + ".join(parts)


def _loop_constraints(loop: LoopDim, counter: str, rename, namer: _Namer) -> list[str]:
    """Constraints placing `counter` on an iteration of `loop` (see module doc).

    With a step other than 1 the counter is start + step*t for some t >= 0; a
    quasi-affine start (`1 + (i + color) % 2`) is a function of the outer
    counters, so both instances of one execution share it."""
    lower = None if loop.lower is None else _affine_text(loop.lower, rename, namer)
    upper = None if loop.upper is None else _affine_text(loop.upper, rename, namer)
    out = []
    if lower is not None:
        out.append(f"{counter} >= {lower}")
    if upper is not None:
        out.append(f"{counter} <= {upper}")
    start = lower if loop.step > 0 else upper
    if abs(loop.step) > 1 and start is not None:
        out.append(f"({counter} - ({start})) mod {abs(loop.step)} = 0")
    return out


def _domain_constraints(
    access: AccessSite, isl_names: list[str], first: int, namer: _Namer
) -> list[str]:
    """Domain constraints of loops `first..` of `access`, counters named `isl_names`."""
    out = []
    for position in range(first, len(access.loops)):
        rename = namer.scope(access.loops, isl_names, position)
        out += _loop_constraints(access.loops[position], isl_names[position], rename, namer)
    return out


def _subscript_texts(access: AccessSite, isl_names: list[str], dims, namer: _Namer):
    rename = namer.scope(access.loops, isl_names, len(access.loops))
    return [_affine_text(access.subscripts[d], rename, namer) for d in dims]


def _instance_names(access: AccessSite, shared: int, tag: str) -> list[str]:
    """isl counter names: `c<k>` for loops both instances share, `<tag><k>` else."""
    return [f"c{k}" if k < shared else f"{tag}{k}" for k in range(len(access.loops))]


# --------------------------------------------------------------------------
# The pair problem shared by `carried` and `same_iteration_conflict`.
# --------------------------------------------------------------------------


def _pair_set(
    source: AccessSite, sink: AccessSite, shared: int, level: int | None, dims
) -> isl.Set:
    """All pairs of instances touching one element (subscript dims `dims` only).

    Loops `0..shared-1` are at the same iteration (one isl variable each). When
    `level` is given, loop `level` is where the source runs `d >= 1` iterations
    before the sink, and `d` is the first set dimension. Parameters become set
    dimensions too: every question asked of this set is "for some values".
    """
    namer = _Namer()
    source_names = _instance_names(source, shared, "s")
    sink_names = _instance_names(sink, shared, "t")
    constraints = _domain_constraints(source, source_names, 0, namer)
    constraints += _domain_constraints(sink, sink_names, shared, namer)
    for left, right in zip(
        _subscript_texts(source, source_names, dims, namer),
        _subscript_texts(sink, sink_names, dims, namer),
    ):
        constraints.append(f"{left} = {right}")
    variables = sorted(set(source_names) | set(sink_names))
    if level is not None:
        step = source.loops[level].step
        # Same start value for both instances, so the counter difference is an
        # exact multiple of the step; d counts iterations, positive = later.
        constraints.append(f"{step}*d = {sink_names[level]} - {source_names[level]}")
        constraints.append("d >= 1")
        variables = ["d"] + variables
    quotients, definitions = namer.take_quotients()
    constraints += definitions
    variables += sorted(namer.params) + quotients
    text = "{ [%s] : %s }" % (", ".join(variables), " and ".join(constraints) or "true")
    return isl.Set.read_from_str(_CTX, text)


def _undecidable(source: AccessSite, sink: AccessSite) -> str | None:
    """Why the pair cannot be tested at all, or None when it can."""
    if len(source.subscripts) != len(sink.subscripts):
        return (
            f"{source.text} and {sink.text} use different numbers of subscripts "
            f"({len(source.subscripts)} and {len(sink.subscripts)})"
        )
    for access in (source, sink):
        for loop in access.loops:
            if loop.step == 0:
                return f"loop over {loop.var} has step 0"
    return None


def _non_affine(source: AccessSite, sink: AccessSite) -> str | None:
    """A description of the first non-affine subscript, or None if all are affine."""
    for access in (source, sink):
        for d, subscript in enumerate(access.subscripts):
            if subscript is None:
                return f"subscript {d + 1} of {access.text} is not affine"
    return None


def _check_shared(source: AccessSite, sink: AccessSite, common: int) -> None:
    if not 0 <= common <= min(len(source.loops), len(sink.loops)):
        raise ValueError(f"common={common} exceeds the loops around the accesses")
    if source.loops[:common] != sink.loops[:common]:
        raise ValueError(f"the first {common} loops of the two accesses differ")


def _constant_distance(pairs: isl.Set) -> int | None:
    """The value of set dimension 0 when it is the same in every point, else None."""
    sample = pairs.sample_point()
    value = sample.get_coordinate_val(isl.dim_type.set, 0).to_python()
    above = pairs.lower_bound_val(isl.dim_type.set, 0, value + 1)
    below = pairs.upper_bound_val(isl.dim_type.set, 0, value - 1)
    return value if above.is_empty() and below.is_empty() else None


def _decide(
    source: AccessSite, sink: AccessSite, shared: int, level: int | None
) -> DepTest:
    """Common driver; the answer depends only on subscripts and loops, so the
    same question asked again (a[i] against a[i], loop after loop) is cached."""
    result = _decide_shape(_shape(source), _shape(sink), shared, level)
    if result.exists is None:  # name the real accesses, not the cached shapes
        why = _undecidable(source, sink) or _non_affine(source, sink) or result.why
        return DepTest(exists=None, why=why)
    return result


def _shape(site: AccessSite) -> AccessSite:
    return AccessSite("", site.subscripts, site.loops, site.is_write, "", 0, 0)


@lru_cache(maxsize=4096)
def _decide_shape(
    source: AccessSite, sink: AccessSite, shared: int, level: int | None
) -> DepTest:
    why = _undecidable(source, sink)
    if why:
        return DepTest(exists=None, why=why)
    affine_dims = [
        d
        for d in range(len(source.subscripts))
        if source.subscripts[d] is not None and sink.subscripts[d] is not None
    ]
    non_affine = _non_affine(source, sink)
    try:
        pairs = _pair_set(source, sink, shared, level, affine_dims)
        if pairs.is_empty():
            proof = "the affine subscripts never meet" if non_affine else ""
            return DepTest(exists=False, why=proof)
        if non_affine:
            return DepTest(exists=None, why=non_affine)
        distance = _constant_distance(pairs) if level is not None else None
    except isl.Error as error:
        return DepTest(exists=None, why=f"isl could not decide: {error}")
    return DepTest(exists=True, distance=distance)


# --------------------------------------------------------------------------
# Public tests.
# --------------------------------------------------------------------------


def carried(source: AccessSite, sink: AccessSite, common: int, level: int) -> DepTest:
    """Can `source` touch an element that `sink` touches in a later `level` iteration?

    Loops `0..level-1` are at the same iteration for both instances, loop
    `level` (one of the `common` shared loops) is at an earlier iteration for
    the source than for the sink (earlier in execution order, see the module
    doc for negative steps), and all deeper loops, shared or not, are free
    for each instance. `distance` is sink minus source in iterations of loop
    `level` (always >= 1) when it is the same for every solution and every
    parameter value, else None. exists=True means "for some parameter values".
    """
    _check_shared(source, sink, common)
    if not 0 <= level < common:
        raise ValueError(f"level={level} is not one of the {common} shared loops")
    return _decide(source, sink, level, level)


def same_iteration_conflict(a: AccessSite, b: AccessSite, common: int) -> DepTest:
    """Can `a` and `b` touch one element with all `common` shared loops equal?

    Deeper loops are free for each access (so passing the same access twice
    finds its own instance unless `common` covers all its loops and the
    caller excludes that). `distance` is always None.
    """
    _check_shared(a, b, common)
    return _decide(a, b, common, None)


# --------------------------------------------------------------------------
# Coverage of a read by writes within one iteration of the shared loops.
# --------------------------------------------------------------------------


def _element_set_text(
    access: AccessSite, common: int, tag: str, namer: _Namer, with_shared_domain: bool
) -> str:
    """Constraint text of { [c.., e..] : the access touches element e at c }."""
    names = _instance_names(access, common, tag)
    first = 0 if with_shared_domain else common
    namer.take_quotients()  # none are pending; each body quantifies its own
    constraints = _domain_constraints(access, names, first, namer)
    subscripts = _subscript_texts(access, names, range(len(access.subscripts)), namer)
    constraints += [f"e{d} = {text}" for d, text in enumerate(subscripts)]
    quotients, definitions = namer.take_quotients()
    constraints += definitions
    body = " and ".join(constraints) or "true"
    deeper = names[common:] + quotients
    if deeper:
        body = "exists (%s : %s)" % (", ".join(deeper), body)
    return body


def _usable_write(write: AccessSite, read: AccessSite, common: int) -> bool:
    """A write can count as covering only if its own element set is exact.

    Open bounds or unanchored strides in its private loops would over-state
    what it writes, and a non-affine subscript says nothing usable.
    """
    if write.array != read.array or len(write.subscripts) != len(read.subscripts):
        return False
    if any(subscript is None for subscript in write.subscripts):
        return False
    for loop in write.loops[common:]:
        if loop.lower is None or loop.upper is None or loop.step == 0:
            return False
    return True


def element_set_covers(writes: list[AccessSite], read: AccessSite, common: int) -> bool:
    """True only if, in every iteration of the `common` shared loops, the writes
    (over their own deeper loops) touch every element `read` touches.

    The shared counters are fixed per iteration; parameters are universally
    quantified (it must hold for every value). Order inside the iteration and
    conditions around the writes are the caller's business: a write is
    assumed to execute whenever its loops reach it. Writes to another array,
    of another rank, or whose element set is not exactly known (non-affine
    subscript, open bound in a deeper loop) are ignored; any doubt gives False.
    """
    for write in writes:
        _check_shared(write, read, common)
    if any(subscript is None for subscript in read.subscripts):
        return False
    if any(loop.step == 0 for loop in read.loops):
        return False
    usable = [w for w in writes if _usable_write(w, read, common)]
    namer = _Namer()
    read_body = _element_set_text(read, common, "r", namer, with_shared_domain=True)
    write_bodies = [
        _element_set_text(w, common, "w", namer, with_shared_domain=False)
        for w in usable
    ]
    shared = [f"c{k}" for k in range(common)]
    elements = [f"e{d}" for d in range(len(read.subscripts))]
    params = ", ".join(sorted(namer.params))
    space = "[%s] -> { [%s] : " % (params, ", ".join(shared + elements))
    written = " or ".join(f"({body})" for body in write_bodies) or "false"
    try:
        read_set = isl.Set.read_from_str(_CTX, space + read_body + " }")
        write_set = isl.Set.read_from_str(_CTX, space + written + " }")
        return bool(read_set.is_subset(write_set))
    except isl.Error:
        return False
