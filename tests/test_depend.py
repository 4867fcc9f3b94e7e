"""Tests for ompilot.analysis.depend: hand-picked loops plus brute-force checks."""

from __future__ import annotations

import random
import re

import pytest

from ompilot.analysis.affine import AccessSite, Affine, LoopDim
from ompilot.analysis.depend import carried, element_set_covers, same_iteration_conflict

BIG = 1 << 20


# --------------------------------------------------------------------------
# Builders: tiny affine parser so cases read like the C they stand for.
# --------------------------------------------------------------------------


def aff(text: str | int | None) -> Affine | None:
    """Parse "2*i - n + 3" (terms: int, name, int*name) into an Affine."""
    if text is None:
        return None
    if isinstance(text, int):
        return Affine.constant(text)
    coeffs: dict[str, int] = {}
    const = 0
    for term in re.sub(r"\s+", "", text).replace("-", "+-").split("+"):
        if not term:
            continue
        sign = -1 if term.startswith("-") else 1
        term = term.lstrip("-")
        if "*" in term:
            number, name = term.split("*")
            coeffs[name] = coeffs.get(name, 0) + sign * int(number)
        elif term.isdigit():
            const += sign * int(term)
        else:
            coeffs[term] = coeffs.get(term, 0) + sign
    return Affine.build(coeffs, const)


def loop(var: str, lower, upper, step: int = 1) -> LoopDim:
    return LoopDim(var, aff(lower), aff(upper), step)


def access(array: str, subscripts, loops, write: bool = False, text: str = ""):
    subs = tuple(aff(s) for s in subscripts)
    label = text or f"{array}[{']['.join(str(s) for s in subscripts)}]"
    return AccessSite(array, subs, tuple(loops), write, label, 1)


def write(array, subscripts, loops):
    return access(array, subscripts, loops, write=True)


def read(array, subscripts, loops):
    return access(array, subscripts, loops, write=False)


def write_then_read(written: str, read_: str, loops):
    """carried() at level 0 from a write of a[written] to a later read of a[read_]."""
    return carried(write("a", [written], loops), read("a", [read_], loops), 1, 0)


I_N = loop("i", 0, "n - 1")
J_M = loop("j", 0, "m - 1")


# --------------------------------------------------------------------------
# carried: one loop.
# --------------------------------------------------------------------------


def test_same_element_same_iteration_is_not_carried():
    w, r = write("a", ["i"], [I_N]), read("a", ["i"], [I_N])
    assert carried(w, r, 1, 0).exists is False
    assert carried(r, w, 1, 0).exists is False
    assert carried(w, w, 1, 0).exists is False


def test_write_ahead_flow_distance_one():
    w, r = write("a", ["i + 1"], [I_N]), read("a", ["i"], [I_N])
    result = carried(w, r, 1, 0)
    assert result.exists is True and result.distance == 1
    # The other order would need the sink to run first.
    assert carried(r, w, 1, 0).exists is False


def test_read_ahead_anti_distance_one():
    w, r = write("a", ["i"], [I_N]), read("a", ["i + 1"], [I_N])
    result = carried(r, w, 1, 0)
    assert result.exists is True and result.distance == 1
    assert carried(w, r, 1, 0).exists is False


def test_even_and_odd_elements_never_meet():
    w, r = write("a", ["2*i"], [I_N]), read("a", ["2*i + 1"], [I_N])
    assert carried(w, r, 1, 0).exists is False
    assert carried(r, w, 1, 0).exists is False


def test_offset_by_trip_count_constant():
    loops = [loop("i", 0, 99)]
    w, r = write("a", ["i"], loops), read("a", ["i + 100"], loops)
    assert carried(w, r, 1, 0).exists is False
    assert carried(r, w, 1, 0).exists is False
    near = read("a", ["i + 99"], loops)
    # Read a[99] at i = 0, overwritten at i = 99: the only anti dependence.
    assert carried(w, near, 1, 0).exists is False
    assert carried(near, w, 1, 0).distance == 99


def test_offset_by_trip_count_parameter():
    w, r = write("a", ["i"], [I_N]), read("a", ["i + n"], [I_N])
    assert carried(w, r, 1, 0).exists is False
    assert carried(r, w, 1, 0).exists is False


def test_parameter_offset_without_bound_varies():
    loops = [loop("i", 0, None)]
    w, r = write("a", ["i + n"], loops), read("a", ["i"], loops)
    result = carried(w, r, 1, 0)
    assert result.exists is True and result.distance is None


def test_large_constants():
    loops = [loop("i", 0, "n - 1"), loop("j", 0, BIG - 1)]
    w = write("a", [f"{BIG}*i + j"], loops)
    r = read("a", [f"{BIG}*i + j - {BIG}"], loops)
    result = carried(w, r, 2, 0)
    assert result.exists is True and result.distance == 1
    assert carried(r, w, 2, 0).exists is False
    assert carried(w, r, 2, 1).exists is False
    apart = read("a", [f"{BIG}*i + j + {BIG * BIG}"], [loop("i", 0, BIG - 1), loops[1]])
    assert carried(apart, apart, 2, 0).exists is False


# --------------------------------------------------------------------------
# carried: nests.
# --------------------------------------------------------------------------


def test_diagonal_dependence_levels():
    loops = [I_N, J_M]
    w, r = write("a", ["i", "j"], loops), read("a", ["i - 1", "j + 1"], loops)
    outer = carried(w, r, 2, 0)
    assert outer.exists is True and outer.distance == 1
    assert carried(w, r, 2, 1).exists is False
    assert carried(r, w, 2, 0).exists is False


def test_wavefront():
    loops = [loop("i", 1, "n - 1"), loop("j", 1, "m - 1")]
    w = write("a", ["i", "j"], loops)
    north, west = read("a", ["i - 1", "j"], loops), read("a", ["i", "j - 1"], loops)
    assert carried(w, north, 2, 0).distance == 1
    assert carried(w, north, 2, 1).exists is False
    assert carried(w, west, 2, 0).exists is False
    assert carried(w, west, 2, 1).distance == 1
    assert carried(north, w, 2, 0).exists is False
    assert carried(west, w, 2, 1).exists is False


def test_triangular_transpose_has_no_carried_dependence():
    loops = [I_N, loop("j", 0, "i")]
    w, r = write("a", ["i", "j"], loops), read("a", ["j", "i"], loops)
    assert carried(w, r, 2, 0).exists is False
    assert carried(r, w, 2, 0).exists is False


def test_triangular_bound_limits_direction():
    loops = [I_N, loop("j", 0, "i")]
    w, r = write("a", ["j"], loops), read("a", ["i"], loops)
    assert carried(w, r, 2, 0).exists is False
    result = carried(r, w, 2, 0)
    assert result.exists is True and result.distance is None
    # Rectangular instead, the write reaches ahead of the read as well.
    rect = [I_N, J_M]
    assert carried(write("a", ["j"], rect), read("a", ["i"], rect), 2, 0).exists is True


def test_inner_loop_free_per_instance():
    loops = [I_N, J_M]
    w = write("a", ["j"], loops)
    result = carried(w, w, 2, 0)
    assert result.exists is True and result.distance is None
    assert carried(w, w, 2, 1).exists is False


def test_distinct_inner_loops_with_the_same_name_are_distinct():
    source = write("a", ["k"], [I_N, loop("k", 0, 9)])
    sink = read("a", ["k + 1"], [I_N, loop("k", 0, 9)])
    assert same_iteration_conflict(source, sink, 1).exists is True
    assert carried(source, sink, 1, 0).exists is True
    fixed = read("a", ["k + 20"], [I_N, loop("k", 0, 9)])
    assert carried(source, fixed, 1, 0).exists is False


def test_parameter_named_like_other_instances_counter():
    source = write("a", ["k"], [loop("i", 0, 9), loop("k", 0, 9)])
    sink = read("a", ["k + 10"], [loop("i", 0, 9)])  # k is a parameter here
    # Confusing the parameter with the source's counter would give k = k + 10.
    assert carried(source, sink, 1, 0).exists is True
    assert carried(sink, source, 1, 0).exists is True
    # A parameter on its own is the same in both instances, never a free counter.
    w, r = write("a", ["k"], [loop("i", 0, 9)]), read("a", ["k"], [loop("i", 0, 9)])
    assert carried(w, r, 1, 0).exists is True
    assert write_then_read("2*k", "2*k + 1", [I_N]).exists is False


ISL_WORDS = ["mod", "floor", "exists", "min", "max", "infty", "NaN", "rat", "and"]


@pytest.mark.parametrize("name", ISL_WORDS)
def test_isl_keywords_as_names(name):
    loops = [loop("i", 0, f"{name} - 1")]
    w, r = write("a", ["i"], loops), read("a", [f"i + {name}"], loops)
    assert carried(w, r, 1, 0).exists is False
    as_counter = [loop(name, 0, 9)]
    result = write_then_read(f"{name} + 1", name, as_counter)
    assert result.exists is True and result.distance == 1


# --------------------------------------------------------------------------
# carried: steps.
# --------------------------------------------------------------------------


def test_step_two():
    loops = [loop("i", 0, 99, 2)]
    assert write_then_read("i + 1", "i", loops).exists is False
    two_ahead = write_then_read("i + 2", "i", loops)
    assert two_ahead.exists is True and two_ahead.distance == 1
    four_ahead = write_then_read("i + 4", "i", loops)
    assert four_ahead.distance == 2


def test_step_two_from_odd_start_with_parameter_bound():
    loops = [loop("i", 1, "n", 2)]
    assert write_then_read("i + 1", "i", loops).exists is False
    assert write_then_read("i + 2", "i", loops).distance == 1


def test_step_with_parameter_start():
    loops = [loop("i", "s", "n", 3)]
    assert write_then_read("i + 1", "i", loops).exists is False
    assert write_then_read("i + 6", "i", loops).distance == 2


def test_step_with_unknown_start_still_counts_iterations():
    loops = [loop("i", None, 100, 2)]
    assert write_then_read("i + 1", "i", loops).exists is False
    assert write_then_read("i + 4", "i", loops).distance == 2


def test_negative_step_runs_from_upper_down():
    loops = [loop("i", 0, "n - 1", -1)]
    # for (i = n-1; i >= 0; i--) a[i] = a[i+1];   a[i+1] was written one iteration ago.
    w, r = write("a", ["i"], loops), read("a", ["i + 1"], loops)
    flow = carried(w, r, 1, 0)
    assert flow.exists is True and flow.distance == 1
    assert carried(r, w, 1, 0).exists is False
    # for (i = n-1; i >= 0; i--) a[i] = a[i-1];   a[i-1] is overwritten next iteration.
    back = read("a", ["i - 1"], loops)
    assert carried(w, back, 1, 0).exists is False
    anti = carried(back, w, 1, 0)
    assert anti.exists is True and anti.distance == 1


def test_negative_step_two_starts_at_upper():
    loops = [loop("i", 0, 9, -2)]  # 9, 7, 5, 3, 1
    w = write("a", ["i"], loops)
    assert carried(w, read("a", ["i + 1"], loops), 1, 0).exists is False
    result = carried(w, read("a", ["i + 2"], loops), 1, 0)
    assert result.exists is True and result.distance == 1
    fixed = carried(w, read("a", ["5"], loops), 1, 0)  # written at 5, read at 3 and 1
    assert fixed.exists is True and fixed.distance is None
    assert carried(w, read("a", ["4"], loops), 1, 0).exists is False


# --------------------------------------------------------------------------
# carried: unknowns.
# --------------------------------------------------------------------------


def test_non_affine_subscript_is_unknown():
    w, r = write("a", [None], [I_N]), read("a", ["i"], [I_N])
    result = carried(w, r, 1, 0)
    assert result.exists is None and "not affine" in result.why


def test_affine_dimension_proves_independence_despite_non_affine_one():
    loops = [I_N]
    w, r = write("a", ["2*i", None], loops), read("a", ["2*i + 1", "i"], loops)
    assert carried(w, r, 1, 0).exists is False
    assert same_iteration_conflict(w, r, 1).exists is False
    meets = read("a", ["2*i + 2", "i"], loops)
    assert carried(w, meets, 1, 0).exists is False  # a[2*i] is gone before i - 1
    assert carried(meets, w, 1, 0).exists is None


def test_different_ranks_are_unknown():
    w, r = write("a", ["i"], [I_N]), read("a", ["i", "0"], [I_N])
    assert carried(w, r, 1, 0).exists is None


def test_unknown_bounds_stay_open():
    loops = [loop("i", 0, None)]
    w, r = write("a", ["i"], loops), read("a", ["i + 1000"], loops)
    assert carried(r, w, 1, 0).distance == 1000
    assert carried(w, r, 1, 0).exists is False


def test_bad_level_or_common_is_rejected():
    w = write("a", ["i"], [I_N])
    with pytest.raises(ValueError):
        carried(w, w, 1, 1)
    with pytest.raises(ValueError):
        carried(w, w, 2, 0)
    with pytest.raises(ValueError):
        carried(w, write("a", ["i"], [loop("i", 0, 5)]), 1, 0)


# --------------------------------------------------------------------------
# same_iteration_conflict
# --------------------------------------------------------------------------


def test_same_iteration_conflict_through_inner_loops():
    inner_w, inner_r = [I_N, loop("k", 0, "m - 1")], [I_N, loop("k", 0, "m - 1")]
    w, r = write("t", ["k"], inner_w), read("t", ["k"], inner_r)
    assert same_iteration_conflict(w, r, 1).exists is True
    other_half = read("t", ["k + m"], inner_r)
    assert same_iteration_conflict(w, other_half, 1).exists is False


def test_same_iteration_conflict_on_outer_subscript():
    w, r = write("a", ["i"], [I_N]), read("a", ["i + 1"], [I_N])
    assert same_iteration_conflict(w, r, 1).exists is False
    assert same_iteration_conflict(w, read("a", ["i"], [I_N]), 1).exists is True
    assert same_iteration_conflict(w, r, 0).exists is True  # no shared loop fixed


# --------------------------------------------------------------------------
# element_set_covers
# --------------------------------------------------------------------------


def _inner(var="k", lower=0, upper="m - 1", step=1):
    return [I_N, loop(var, lower, upper, step)]


def test_covers_full_range():
    full = write("t", ["k"], _inner())
    assert element_set_covers([full], read("t", ["k"], _inner()), 1)


def test_covers_short_range_is_false():
    short = write("t", ["k"], _inner(upper="m - 2"))
    assert not element_set_covers([short], read("t", ["k"], _inner()), 1)


def test_covers_by_union_of_writes():
    evens = write("t", ["2*k"], _inner(upper="m - 1"))
    odds = write("t", ["2*k + 1"], _inner(upper="m - 1"))
    whole = read("t", ["k"], _inner(upper="2*m - 1"))
    assert element_set_covers([evens, odds], whole, 1)
    assert not element_set_covers([evens], whole, 1)
    strided = write("t", ["k"], _inner(upper="2*m - 1", step=2))
    assert element_set_covers([strided, odds], whole, 1)


def test_covers_with_shared_counter_in_subscript():
    w = write("t", ["i", "k"], _inner())
    assert element_set_covers([w], read("t", ["i", "k"], _inner()), 1)
    assert not element_set_covers([w], read("t", ["i + 1", "k"], _inner()), 1)
    assert not element_set_covers([w], read("t", ["i", "k"], _inner(upper="m")), 1)


def test_covers_refuses_when_unsure():
    r = read("t", ["k"], _inner())
    assert not element_set_covers([], r, 1)
    assert not element_set_covers([write("u", ["k"], _inner())], r, 1)
    assert not element_set_covers([write("t", ["k"], _inner(upper=None))], r, 1)
    assert not element_set_covers([write("t", [None], _inner())], r, 1)
    full = write("t", ["k"], _inner())
    assert not element_set_covers([full], read("t", [None], _inner()), 1)
    assert not element_set_covers([full], read("t", ["k"], _inner(upper=None)), 1)


def test_covers_shared_scalar_element():
    w = write("t", ["0"], [I_N])
    assert element_set_covers([w], read("t", ["0"], [I_N]), 1)
    assert not element_set_covers([w], read("t", ["1"], [I_N]), 1)


# --------------------------------------------------------------------------
# Brute force: random small nests with constant (possibly triangular) bounds.
# --------------------------------------------------------------------------


def _value(expr: Affine, env: dict[str, int]) -> int:
    return expr.const + sum(c * env[n] for n, c in expr.terms)


def _iterations(loops, env=None):
    """Every counter tuple of `loops`, in execution order."""
    env = dict(env or {})
    if not loops:
        yield ()
        return
    first, rest = loops[0], loops[1:]
    lo, hi = _value(first.lower, env), _value(first.upper, env)
    if first.step > 0:
        counters = range(lo, hi + 1, first.step)
    else:
        counters = range(hi, lo - 1, first.step)
    for value in counters:
        for tail in _iterations(rest, {**env, first.var: value}):
            yield (value,) + tail


def _elements(site: AccessSite, counters) -> tuple[int, ...]:
    env = {}
    for loop_dim, value in zip(site.loops, counters):
        env[loop_dim.var] = value
    return tuple(_value(s, env) for s in site.subscripts)


def _brute_carried(source, sink, level):
    step = source.loops[level].step
    distances = set()
    sink_points = [(c, _elements(sink, c)) for c in _iterations(sink.loops)]
    for s in _iterations(source.loops):
        elem = _elements(source, s)
        for t, other in sink_points:
            later = (t[level] - s[level]) * step > 0
            if s[:level] == t[:level] and other == elem and later:
                distances.add((t[level] - s[level]) // step)
    return distances


def _brute_same_iteration(a, b, common):
    b_points = [(c, _elements(b, c)) for c in _iterations(b.loops)]
    return any(
        s[:common] == t[:common] and _elements(a, s) == other
        for s in _iterations(a.loops)
        for t, other in b_points
    )


def _brute_covers(writes, read_site, common):
    written: dict[tuple, set] = {}
    for w in writes:
        for c in _iterations(w.loops):
            written.setdefault(c[:common], set()).add(_elements(w, c))
    return all(
        _elements(read_site, c) in written.get(c[:common], set())
        for c in _iterations(read_site.loops)
    )


NAMES = ["i", "j", "k"]


def _random_loops(rng: random.Random, outer: tuple[LoopDim, ...], count: int):
    loops = list(outer)
    for _ in range(count):
        var = NAMES[len(loops)]
        lower = rng.randint(-3, 3)
        step = rng.choice([1, 1, 1, 2, 3, -1, -1, -2])
        # Mostly a few iterations; sometimes one or none, to test empty loops.
        if rng.random() < 0.1:
            width = rng.choice([-1, 0])
        else:
            width = rng.randint(1, 4) * abs(step)
        upper_terms = {}
        if loops and rng.random() < 0.3:
            upper_terms[rng.choice(loops).var] = rng.choice([-1, 1, 1])
        loops.append(LoopDim(var, Affine.constant(lower),
                             Affine.build(upper_terms, lower + width), step))
    return tuple(loops)


def _random_subscripts(rng: random.Random, loops, rank: int):
    return tuple(
        Affine.build({l.var: rng.randint(-2, 2) for l in loops}, rng.randint(-3, 3))
        for _ in range(rank)
    )


def _random_pair(rng: random.Random):
    common = rng.randint(1, 2)
    shared = _random_loops(rng, (), common)
    src_loops = _random_loops(rng, shared, rng.randint(0, 1))
    snk_loops = _random_loops(rng, shared, rng.randint(0, 1))
    rank = rng.randint(1, 2)
    src_subs = _random_subscripts(rng, src_loops, rank)
    snk_subs = tuple(
        _shifted(rng, sub, snk_loops) if rng.random() < 0.5 else fresh
        for sub, fresh in zip(src_subs, _random_subscripts(rng, snk_loops, rank))
    )
    src = AccessSite("a", src_subs, src_loops, True, "src", 1)
    snk = AccessSite("a", snk_subs, snk_loops, False, "snk", 2)
    return src, snk, common


def _shifted(rng: random.Random, sub: Affine, loops) -> Affine:
    """`sub` moved by a small constant, kept to names of `loops`: likely to meet."""
    names = {l.var for l in loops}
    kept = {n: c for n, c in sub.terms if n in names}
    return Affine.build(kept, sub.const + rng.randint(-2, 2))


def test_carried_matches_brute_force():
    rng = random.Random(20240611)
    seen_true = seen_false = seen_distance = 0
    for case in range(400):
        source, sink, common = _random_pair(rng)
        level = rng.randrange(common)
        expected = _brute_carried(source, sink, level)
        result = carried(source, sink, common, level)
        context = f"case {case}: {source} / {sink} level {level}"
        assert result.exists is bool(expected), context
        if expected:
            want = next(iter(expected)) if len(expected) == 1 else None
            assert result.distance == want, context
            seen_true += 1
            seen_distance += want is not None
        else:
            seen_false += 1
    assert seen_true > 40 and seen_false > 40 and seen_distance > 10


def test_same_iteration_conflict_matches_brute_force():
    rng = random.Random(7)
    for case in range(300):
        a, b, common = _random_pair(rng)
        result = same_iteration_conflict(a, b, common)
        assert result.exists is _brute_same_iteration(a, b, common), f"case {case}"


def test_element_set_covers_matches_brute_force():
    rng = random.Random(99)
    hits = 0
    for case in range(300):
        shared = _random_loops(rng, (), 1)
        read_loops = _random_loops(rng, shared, 1)
        element = Affine.build({"j": rng.choice([1, 1, 2])}, rng.randint(0, 2))
        read_site = AccessSite("t", (element,), read_loops, False, "r", 1)
        writes = []
        for _ in range(rng.randint(1, 2)):
            loops = _random_loops(rng, shared, 1)
            subs = _random_subscripts(rng, loops, 1)
            writes.append(AccessSite("t", subs, loops, True, "w", 1))
        expected = _brute_covers(writes, read_site, 1)
        assert element_set_covers(writes, read_site, 1) is expected, f"case {case}"
        hits += expected
    assert hits > 10
