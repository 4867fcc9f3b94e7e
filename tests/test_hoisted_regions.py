"""A parallel region hoisted above a serial loop: the plan, and that it runs right.

A time step, a pivot sweep or a recurrence keeps its outer loop serial; the
parallel loops inside it share one `#pragma omp parallel` region instead of
forking on every iteration. Each program is scanned (the plan), patched by
`suggest`, built with clang-19 and gcc, run with 2 and 4 threads against the
serial output, and race-checked once with ThreadSanitizer and Archer.
"""

from __future__ import annotations

import re

import pytest
from programs import assert_parallel_output_matches, close, race_checked_outputs

from ompilot.analysis import loopfacts
from ompilot.analysis.scan import MIN_PARALLEL_WORK, scan_source
from ompilot.suggest.engine import suggest_source

JACOBI = b"""#include <stdio.h>

#define N 32
#define STEPS 20

static void jacobi(int steps, double a[N][N], double b[N][N]) {
  int t, i, j;
  for (t = 0; t < steps; t++) {
    for (i = 1; i < N - 1; i++)
      for (j = 1; j < N - 1; j++)
        b[i][j] = 0.2 * (a[i][j] + a[i - 1][j] + a[i + 1][j] + a[i][j - 1] + a[i][j + 1]);
    for (i = 1; i < N - 1; i++)
      for (j = 1; j < N - 1; j++)
        a[i][j] = 0.2 * (b[i][j] + b[i - 1][j] + b[i + 1][j] + b[i][j - 1] + b[i][j + 1]);
  }
}

int main(void) {
  static double a[N][N], b[N][N];
  int i, j;
  for (i = 0; i < N; i++)
    for (j = 0; j < N; j++) {
      a[i][j] = (i * 7 + j * 3) % 11;
      b[i][j] = 0;
    }
  jacobi(STEPS, a, b);
  double s = 0;
  for (i = 0; i < N; i++)
    for (j = 0; j < N; j++)
      s += a[i][j] * (i + 1);
  printf("%.10e\\n", s);
  return 0;
}
"""

LU = b"""#include <stdio.h>

#define N 90

static void lu(int n, double a[N][N]) {
  int i, j, k;
  double pivot;
  for (k = 0; k < n; k++) {
    pivot = a[k][k];
    for (i = k + 1; i < n; i++)
      for (j = k + 1; j < n; j++)
        a[i][j] -= a[i][k] * a[k][j] / pivot;
    for (i = k + 1; i < n; i++)
      a[i][k] /= pivot;
  }
}

int main(void) {
  static double a[N][N];
  int i, j;
  for (i = 0; i < N; i++)
    for (j = 0; j < N; j++)
      a[i][j] = (i == j) ? N + 1.0 : 1.0 / (i + j + 1);
  lu(N, a);
  double s = 0;
  for (i = 0; i < N; i++)
    s += a[i][i] + 0.5 * a[i][N - 1 - i];
  printf("%.12e\\n", s);
  return 0;
}
"""

DURBIN = b"""#include <stdio.h>

#define N 300

static void durbin(int n, double r[N], double y[N], double z[N]) {
  int i, k;
  double alpha, beta, sum;
  y[0] = -r[0];
  beta = 1.0;
  alpha = -r[0];
  for (k = 1; k < n; k++) {
    beta = (1 - alpha * alpha) * beta;
    sum = 0.0;
    for (i = 0; i < k; i++)
      sum += r[k - i - 1] * y[i];
    alpha = -(r[k] + sum) / beta;
    for (i = 0; i < k; i++)
      z[i] = y[i] + alpha * y[k - i - 1];
    for (i = 0; i < k; i++)
      y[i] = z[i];
    y[k] = alpha;
  }
}

int main(void) {
  static double r[N], y[N], z[N];
  int i;
  for (i = 0; i < N; i++)
    r[i] = 1.0 / (i + 2.0) / (i + 2.0);
  durbin(N, r, y, z);
  double s = 0;
  for (i = 0; i < N; i++)
    s += y[i] * (i % 5 + 1);
  printf("%.12e\\n", s);
  return 0;
}
"""

# the outer body prints between its parallel loops: no region may be hoisted
PRINTING = b"""#include <stdio.h>

#define N 40
#define STEPS 30

static void relax(double u[N], double v[N]) {
  int t, i;
  for (t = 0; t < STEPS; t++) {
    for (i = 1; i < N - 1; i++)
      v[i] = 0.5 * (u[i - 1] + u[i + 1]);
    printf("step %d: %.6f\\n", t, v[N / 2]);
    for (i = 1; i < N - 1; i++)
      u[i] = v[i];
  }
}

int main(void) {
  static double u[N], v[N];
  int i;
  for (i = 0; i < N; i++)
    u[i] = i % 3;
  relax(u, v);
  return 0;
}
"""


def _line(source: bytes, text: str) -> int:
    return next(n for n, line in enumerate(source.decode().splitlines(), 1) if text in line)


def _verdicts(name: str, source: bytes) -> dict[int, loopfacts.Verdict]:
    report = scan_source(name, source)
    assert report.errors == []
    return {v.loop.line: v for v in report.verdicts}


def test_time_steps_share_one_region_when_each_entry_is_too_small():
    verdicts = _verdicts("jacobi.c", JACOBI)
    outer = verdicts[_line(JACOBI, "for (t = 0")]
    assert outer.status == "serial" and outer.region is not None
    assert outer.region.directive == "#pragma omp parallel private(t)"
    assert "RegionHoisted" in {r.code for r in outer.reasons}
    first, second = (verdicts[n] for n in (9, 12))
    for inner in (first, second):
        assert inner.pragma.startswith("#pragma omp for") and inner.hoisted_in == outer.loop.line
        # alone, one entry would not pay for a fork/join: only the region makes it pay
        assert inner.pragma_alone is None and inner.work < MIN_PARALLEL_WORK
    assert [s.role for s in outer.region.steps] == ["for", "for"]
    assert not any(s.nowait for s in outer.region.steps)  # the second loop reads what the first writes


def test_pivot_sweep_plan_keeps_the_pivot_private_and_waits_before_writing():
    verdicts = _verdicts("lu.c", LU)
    outer = verdicts[_line(LU, "for (k = 0")]
    region = outer.region
    assert region is not None and region.directive == "#pragma omp parallel private(k, pivot)"
    roles = [(s.line, s.role, s.barrier_above) for s in region.steps]
    pivot, update, scale = _line(LU, "pivot = a"), _line(LU, "for (i = k + 1"), _line(LU, "a[i][k] /= pivot") - 1
    # every thread reads its pivot; the update writes a, so it waits until all have read it
    assert roles == [(pivot, "all", False), (update, "for", True), (scale, "for", False)]
    assert verdicts[update].pragma.startswith("#pragma omp for") and "private(j)" in verdicts[update].pragma


def test_recurrence_replicates_its_scalars_and_puts_the_shared_writes_in_single():
    verdicts = _verdicts("durbin.c", DURBIN)
    outer = verdicts[_line(DURBIN, "for (k = 1")]
    region = outer.region
    # alpha and beta: carried, dead after the loop, computed by every thread (tests/test_replicated_scalars.py)
    assert region is not None and region.directive == "#pragma omp parallel private(k) firstprivate(alpha, beta)"
    singles = [s.line for s in region.steps if s.role == "single"]
    assert singles == [_line(DURBIN, "sum = 0.0"), _line(DURBIN, "y[k] = alpha")]
    groups = [s.group for s in region.steps if s.role == "single"]
    assert groups[0] != groups[1]
    reduction = verdicts[_line(DURBIN, "sum += r") - 1]
    # sum stays shared in the region; a floating-point sum: vector lanes in each thread
    assert reduction.pragma == "#pragma omp for simd reduction(+: sum)"


def test_io_in_the_serial_loop_stops_the_region_and_small_loops_stay_serial():
    verdicts = _verdicts("printing.c", PRINTING)
    outer = verdicts[_line(PRINTING, "for (t = 0")]
    assert outer.region is None
    assert any("no parallel region hoisted" in n and "printf" in n for n in outer.notes)
    for line in (9, 12):
        inner = verdicts[line]
        assert inner.status == "parallel" and inner.pragma is None
        [small] = [r for r in inner.reasons if isinstance(r, loopfacts.TooSmall)]
        assert small.entries == 30 and small.outer_line == outer.loop.line
        assert re.search(r"about \d+ operations per entry, entered 30 times", small.text())
    result = suggest_source("printing.c", PRINTING)
    assert not [p for p in result.proposals if "#pragma omp parallel\n" in "".join(e.text for e in p.edits)]


# ------------------------------------------------------------------ running


@pytest.mark.parametrize("name,source", [("jacobi", JACOBI), ("lu", LU), ("durbin", DURBIN), ("printing", PRINTING)])
def test_patched_program_prints_the_serial_output_without_races(tmp_path, name, source):
    result = suggest_source(f"{name}.c", source)
    assert result.errors == []
    hoisted = [p for p in result.proposals if p.summary.startswith("#pragma omp parallel region hoisted")]
    assert len(hoisted) == (0 if name == "printing" else 1)
    patched = result.patched
    serial = assert_parallel_output_matches(tmp_path, source, patched, ["-O1"], threads=(2, 4))
    if name == "printing":
        return
    [checked] = race_checked_outputs(tmp_path, patched, threads=(2,))
    assert close(serial, checked)


def test_adjacent_loops_never_drop_two_barriers_in_a_row():
    # 1 writes a, 2 writes b, 3 reads a: each pair alone needs no barrier, but
    # without the second one, loop 3 could read a while loop 1 still writes it
    source = b"""#define N 100000
double a[N], b[N], c[N];
void f(void) {
  for (int i = 0; i < N; i++)
    a[i] = i;
  for (int i = 0; i < N; i++)
    b[i] = 2.0 * i;
  for (int i = 0; i < N; i++)
    c[i] = a[N - 1 - i];
}
"""
    result = suggest_source("three.c", source)
    [region] = [p for p in result.proposals if p.kind == "region"]
    directives = [line.strip() for line in result.patched.decode().splitlines() if "#pragma omp for" in line]
    assert directives == ["#pragma omp for nowait", "#pragma omp for", "#pragma omp for"]
