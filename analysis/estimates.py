"""What threads cost and how much work a loop does, in one unit.

The unit is one reference (array element or scalar) of a loop body. The
planner (nest.py) and its policies (policies.py) weigh a loop's work against
the fork/join, barrier and single costs below.
"""

from __future__ import annotations

from typing import Callable

from . import ir, loopfacts
from .affine import Affine
from .decide import Decision
from .loops import CanonicalLoop

# What threads cost, in the unit of `work` (one reference, array element or
# scalar, of the loop body). Measured with benchmarks/fork_join_cost.py on the
# 2-core development machine (clang-19 -O3 -fopenmp, libomp, 2 threads): with
# the machine idle, an empty `parallel for` entered 200000 times in a row
# costs 1.26 us per entry, an `omp for` inside a running region 0.74 us (its
# barrier), an `omp single` 0.45 us; the serial kernels (a triad, a reversed
# dot product, an LU row update, a 5-point stencil) take 0.110 ns per
# estimated operation (the median; the kinds range from 0.027 to 0.33).
# Under load (3-5 other processes on the 2 cores) the three costs grew 4-5x.
# MIN_PARALLEL_WORK (analysis/scan.py, 20000) is about where a second thread,
# saving half the work, saves one fork/join.
FORK_JOIN_OPERATIONS = 11_500
BARRIER_OPERATIONS = 6_700
SINGLE_OPERATIONS = 4_100
#: the thread count the estimates assume (the machines ompilot is tuned on)
ESTIMATE_THREADS = 2


def work(decision: Decision, outer, canonical_of: Callable) -> int | None:
    """Operations of one entry into the loop: trips x references per iteration.

    Bounds that move with an enclosing counter (triangular loops) are
    taken at that counter's midpoint, which gives the mean per entry for
    bounds linear in it. `outer`: the enclosing loops' canonical forms,
    outermost first; `canonical_of`: the canonical form of a loop inside.
    """
    if decision.facts is None or decision.canonical is None:
        return None
    values = _midpoints(outer)
    if values is None:
        values = {}
    trips = _trips(decision.canonical, values)
    if trips is None:
        return None
    middle = _midpoint(decision.canonical, values)
    if middle is not None:
        values[decision.canonical.counter] = middle
    per_iteration = 0.0
    for ref in decision.facts.refs:
        cost, inner_values = 1.0, dict(values)
        for inner in ref.loops:
            form = canonical_of(inner) if isinstance(inner, ir.For) else None
            n = _trips(form, inner_values) if isinstance(form, CanonicalLoop) else None
            if n is None:
                return None
            cost *= max(n, 1)
            middle = _midpoint(form, inner_values)
            if middle is not None:
                inner_values[form.counter] = middle
        per_iteration += cost
    per_iteration += 8 * len(decision.facts.calls)
    return int(round(trips * max(per_iteration, 1)))


def too_small(work: int, outer, enclosing: list[ir.LoopStmt]) -> loopfacts.TooSmall:
    """The reason for a loop with too little work per entry; inside other
    loops, how often it is entered and what each entry's fork/join costs."""
    if not enclosing:
        return loopfacts.TooSmall(work=work)
    return loopfacts.TooSmall(work=work, entries=entries(outer), outer_line=enclosing[-1].info.line,
                              fork_join=FORK_JOIN_OPERATIONS)


def entries(outer) -> int | None:
    """How often a loop inside `outer` is entered: the enclosing trip counts' product."""
    values: dict[str, float] = {}
    total = 1.0
    for form in outer:
        if not isinstance(form, CanonicalLoop):
            return None
        n = _trips(form, values)
        middle = _midpoint(form, values)
        if n is None or middle is None:
            return None
        total *= n
        values[form.counter] = middle
    return int(round(total))


def _evaluate(form: Affine | None, values: dict[str, float]) -> float | None:
    if form is None or any(name not in values for name, _ in form.terms):
        return None
    return form.const + sum(c * values[name] for name, c in form.terms)


def _trips(form: CanonicalLoop, values: dict[str, float]) -> float | None:
    """Iterations of one entry, with enclosing counters at the given values."""
    lo, hi = _evaluate(form.dim.lower, values), _evaluate(form.dim.upper, values)
    if lo is None or hi is None:
        return None
    return max(0.0, (hi - lo) / abs(form.step) + 1)


def _midpoint(form: CanonicalLoop, values: dict[str, float]) -> float | None:
    lo, hi = _evaluate(form.dim.lower, values), _evaluate(form.dim.upper, values)
    return None if lo is None or hi is None else (lo + hi) / 2


def _midpoints(outer) -> dict[str, float] | None:
    """Each enclosing counter at the middle of its range; None when one is unknown."""
    values: dict[str, float] = {}
    for form in outer:
        if not isinstance(form, CanonicalLoop):
            return None
        middle = _midpoint(form, values)
        if middle is None:
            return None
        values[form.counter] = middle
    return values
