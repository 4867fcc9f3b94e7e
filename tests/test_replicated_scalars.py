"""Replicated scalars in a hoisted region: fewer barriers per serial iteration.

A scalar the serial loop carries from one iteration to the next (durbin's
`alpha` and `beta`), dead after the loop and written only by statements that
write nothing shared, is computed by every thread on its own copy
(`firstprivate`) instead of in a `#pragma omp single` and its barrier; a
trailing `single` takes `nowait` when a barrier comes before anything touches
what it wrote. Each program is planned (the directives), patched by
`suggest`, built with clang-19 and gcc, run with 1 to 4 threads against the
serial output, and race-checked with ThreadSanitizer and Archer.
"""

from __future__ import annotations

import pytest
from programs import assert_parallel_output_matches, race_checked_outputs
from test_hoisted_regions import _line, _verdicts

from ompilot.analysis import loopfacts
from ompilot.suggest.engine import suggest_source

_MAIN = b"""
int main(void) {
  static double r[N], y[N], z[N];
  int i;
  for (i = 0; i < N; i++)
    r[i] = 1.0 / (i + 2.0) / (i + 2.0);
  double last = durbin(N, r, y, z);
  double s = 0;
  for (i = 0; i < N; i++)
    s += y[i] * (i % 5 + 1);
  printf("%.17e %.17e\\n", s, last);
  return 0;
}
"""


def _durbin(beta: bytes = b"beta = (1 - alpha * alpha) * beta;",
            alpha: bytes = b"alpha = -(r[k] + sum) / beta;",
            last: bytes = b"y[k] = alpha;", result: bytes = b"y[n - 1]") -> bytes:
    return b"""#include <stdio.h>

#define N 300

static double durbin(int n, double r[N], double y[N], double z[N]) {
  int i, k;
  double alpha, beta, sum;
  y[0] = -r[0];
  beta = 1.0;
  alpha = -r[0];
  for (k = 1; k < n; k++) {
    %s
    sum = 0.0;
    for (i = 0; i < k; i++)
      sum += r[k - i - 1] * y[i];
    %s
    for (i = 0; i < k; i++)
      z[i] = y[i] + alpha * y[k - i - 1];
    for (i = 0; i < k; i++)
      y[i] = z[i];
    %s
  }
  return %s;
}
""" % (beta, alpha, last, result) + _MAIN


DURBIN = _durbin()
# beta is returned: its copies would be lost at the end of the region
BETA_LIVE = _durbin(result=b"beta")
# the statement computing alpha also writes y[k]: one thread runs it
ALPHA_WRITES_SHARED = _durbin(alpha=b"y[k] = alpha = -(r[k] + sum) / beta;", last=b"")
# beta reads y[k - 1] (= alpha): the single writing y[k] must keep its barrier
BETA_READS_Y = _durbin(beta=b"beta = (1 - alpha * y[k - 1]) * beta;")
# every thread reads a[N - 1] for its scale, which the next loop writes: a barrier above that loop
SCALE_READS_A = b"""#include <stdio.h>

#define N 8000
#define STEPS 40

static void relax(double a[N], double b[N]) {
  int t, i;
  double scale = 1.0;
  for (t = 0; t < STEPS; t++) {
    scale = 0.5 * scale + 0.25 / (1.0 + a[N - 1] * a[N - 1]);
    for (i = 0; i < N; i++)
      a[i] = a[i] * scale + b[i];
    for (i = 0; i < N; i++)
      b[i] = 0.5 * a[N - 1 - i];
  }
}

int main(void) {
  static double a[N], b[N];
  int i;
  for (i = 0; i < N; i++) {
    a[i] = i % 13;
    b[i] = i % 5;
  }
  relax(a, b);
  double s = 0;
  for (i = 0; i < N; i++)
    s += a[i] + b[i] * (i % 3);
  printf("%.17e\\n", s);
  return 0;
}
"""

# `s` is read by every thread; the first loop writes b and the second a:
# the two loops need no barrier between them, but `s = a[0]` does
NOWAIT_CHAIN = b"""#include <stdio.h>

#define N 4000
#define STEPS 40

static double a[N], b[N];

static void sweep(void) {
  int t, i;
  double s;
  for (t = 0; t < STEPS; t++) {
    s = a[0] * 0.5;
    for (i = 0; i < N; i++)
      b[i] = b[i] * 0.25 + s + i;
    for (i = 0; i < N; i++)
      a[i] = a[i] * 0.5 + (i % 7);
  }
}

int main(void) {
  int i;
  for (i = 0; i < N; i++)
    a[i] = i % 13;
  sweep();
  double s = 0;
  for (i = 0; i < N; i++)
    s += a[i] + b[i] * (i % 3);
  printf("%.17e\\n", s);
  return 0;
}
"""


def _region(source: bytes, name: str = "durbin.c") -> loopfacts.HoistedRegion:
    verdicts = _verdicts(name, source)
    outer = verdicts[_line(source, "for (k = 1") if b"for (k = 1" in source else _line(source, "for (t = 0")]
    assert outer.region is not None, outer.notes
    return outer.region


def _roles(source: bytes, region: loopfacts.HoistedRegion) -> dict[str, loopfacts.RegionStep]:
    """The steps by the text of their first line."""
    lines = source.decode().splitlines()
    return {lines[s.line - 1].strip(): s for s in region.steps}


def _synchronisations(region: loopfacts.HoistedRegion) -> int:
    """Barriers per iteration of the serial loop: those of the constructs and the explicit ones."""
    steps = region.steps
    ends = [s for i, s in enumerate(steps) if s.role == "for" or (
        s.role == "single" and (i == len(steps) - 1 or steps[i + 1].role != "single" or steps[i + 1].group != s.group))]
    return sum(not s.nowait for s in ends) + sum(s.barrier_above for s in steps)


def test_durbin_computes_alpha_and_beta_in_every_thread_with_four_barriers():
    region = _region(DURBIN)
    assert region.directive == "#pragma omp parallel private(k) firstprivate(alpha, beta)"
    steps = _roles(DURBIN, region)
    assert [(s.role, s.nowait, s.barrier_above) for s in region.steps] == [
        ("all", False, False), ("single", False, False), ("for", False, False), ("all", False, False),
        ("for", False, False), ("for", False, False), ("single", True, False)]
    assert steps["beta = (1 - alpha * alpha) * beta;"].role == "all"
    assert steps["alpha = -(r[k] + sum) / beta;"].role == "all"
    # y[k] = alpha needs no barrier: the next iteration's single{sum = 0} has one before y is read
    assert steps["y[k] = alpha;"].nowait
    assert _synchronisations(region) == 4
    assert any("firstprivate(alpha, beta)" in n for n in region.notes)

    patched = suggest_source("durbin.c", DURBIN).patched.decode()
    directives = [line.strip() for line in patched.splitlines() if line.strip().startswith("#pragma omp")]
    assert directives == [
        "#pragma omp parallel private(k) firstprivate(alpha, beta)", "#pragma omp single",
        # the z and y loops as one loop over mirrored pairs (tests/test_mirror_pairs.py), its middle element
        # in the last single
        "#pragma omp for simd reduction(+: sum)", "#pragma omp for simd", "#pragma omp single nowait",
        "#pragma omp simd reduction(+: s)"]  # main's checksum: a floating-point sum too small for threads


def test_a_scalar_read_after_the_loop_stays_in_single():
    region = _region(BETA_LIVE)
    assert region.directive == "#pragma omp parallel private(k) firstprivate(alpha)"
    steps = _roles(BETA_LIVE, region)
    beta, zero = steps["beta = (1 - alpha * alpha) * beta;"], steps["sum = 0.0;"]
    assert beta.role == zero.role == "single" and beta.group == zero.group
    assert steps["alpha = -(r[k] + sum) / beta;"].role == "all"


def test_a_statement_that_also_writes_shared_memory_stays_in_single():
    region = _region(ALPHA_WRITES_SHARED)
    assert region.directive == "#pragma omp parallel private(k) firstprivate(beta)"
    steps = _roles(ALPHA_WRITES_SHARED, region)
    assert steps["y[k] = alpha = -(r[k] + sum) / beta;"].role == "single"
    assert steps["beta = (1 - alpha * alpha) * beta;"].role == "all"  # reads the shared alpha after its barrier


def test_a_read_of_what_a_single_nowait_would_still_be_writing_keeps_the_barrier():
    region = _region(BETA_READS_Y)
    assert region.directive == "#pragma omp parallel private(k) firstprivate(alpha, beta)"
    steps = _roles(BETA_READS_Y, region)
    assert steps["beta = (1 - alpha * y[k - 1]) * beta;"].role == "all"
    assert steps["y[k] = alpha;"].role == "single" and not steps["y[k] = alpha;"].nowait
    assert _synchronisations(region) == 5


def test_a_read_of_what_the_next_loop_writes_puts_a_barrier_above_it():
    region = _region(SCALE_READS_A, "scale.c")
    assert region.directive == "#pragma omp parallel private(t) firstprivate(scale)"
    assert [(s.role, s.barrier_above) for s in region.steps] == [("all", False), ("for", True), ("for", False)]
    assert _synchronisations(region) == 3


def test_a_loop_after_a_statement_every_thread_runs_keeps_its_barrier_when_the_loop_after_writes_what_it_read():
    region = _region(NOWAIT_CHAIN, "chain.c")
    assert [(s.role, s.nowait) for s in region.steps] == [("all", False), ("for", False), ("for", False)]


@pytest.mark.parametrize("name,source", [
    ("durbin", DURBIN), ("beta_live", BETA_LIVE), ("alpha_writes_shared", ALPHA_WRITES_SHARED),
    ("beta_reads_y", BETA_READS_Y), ("scale", SCALE_READS_A), ("chain", NOWAIT_CHAIN)])
def test_patched_program_prints_the_serial_output_without_races(tmp_path, name, source):
    result = suggest_source(f"{name}.c", source)
    assert result.errors == []
    assert [p for p in result.proposals if p.summary.startswith("#pragma omp parallel region hoisted")]
    patched = result.patched
    # the reductions add in another order (simd lanes, even with one thread; threads): outputs are close
    assert_parallel_output_matches(tmp_path, source, patched, ["-O2"], threads=(1, 2, 3, 4))
    race_checked_outputs(tmp_path, patched, threads=(2, 4))
