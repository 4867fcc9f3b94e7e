"""What starting threads costs, in the analysis's unit of work.

ompilot's work estimate (analysis/estimates.py `work`) counts references (array
elements and scalars alike): trips x references per iteration. A `#pragma omp parallel for` pays one fork
and one join each time the loop is entered; a `#pragma omp for` inside a
region that is already running pays one barrier. This builds one small C
program with clang-19 -O3 -fopenmp (libomp) and prints, in one run:

  - fork/join: microseconds per entry of an empty `parallel for` (2 iterations,
    entered 200000 times in a row, as a loop inside a serial time step is);
  - barrier: microseconds per `omp for` over 2 iterations inside one
    `parallel` region (its implied barrier), entered 200000 times;
  - single: microseconds per `omp single` (one statement) inside the region;
  - nanoseconds per estimated operation of three serial loops like the
    kernels the estimate is meant for (a vectorisable triad, a reversed dot
    product, an LU row update, a 5-point stencil), over arrays that fit the
    cache: their time divided by the work ompilot's own analysis estimates
    for them (the kinds differ up to 20-fold: vectorised code does many
    counted references per nanosecond, a reduction chain few);
  - the costs above divided by the median nanoseconds per operation: the
    constants FORK_JOIN_OPERATIONS, BARRIER_OPERATIONS and SINGLE_OPERATIONS
    in analysis/estimates.py.

Run on an otherwise idle machine (the threads must not wait for a core):

    .venv/bin/python benchmarks/fork_join_cost.py [--threads 2] [--repeat 5]

It prints; it asserts nothing. Each figure is the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

KERNELS_C = r"""
#define N 2048
#define ROWS 64
#define REPS 2000

static double a[N], b[N], c[N], m[ROWS][N], c2[ROWS][N];
static volatile double sink;

static void triad(void) {
  for (int i = 0; i < N; i++) /*triad*/
    a[i] = b[i] * 1.0001 + c[i];
}

static double reversed_dot(void) {
  double s = 0.0;
  for (int i = 0; i < N; i++) /*dot*/
    s += a[N - 1 - i] * b[i];
  return s;
}

static void stencil(void) {
  for (int i = 1; i < ROWS - 1; i++) /*stencil*/
    for (int j = 1; j < N - 1; j++)
      c2[i][j] = 0.2 * (m[i][j] + m[i - 1][j] + m[i + 1][j] + m[i][j - 1] + m[i][j + 1]);
}

static void row_update(void) {
  for (int i = 1; i < ROWS; i++) /*rows*/
    for (int j = 0; j < N; j++)
      m[i][j] -= m[i][0] * m[0][j] * 1e-9;
}
"""
# the driver; omp.h stays out of what the analysis reads
PROGRAM = "#include <omp.h>\n#include <stdio.h>\n#define ENTRIES 200000\n" + KERNELS_C + r"""
int main(void) {
  for (int i = 0; i < N; i++) { a[i] = i * 0.5; b[i] = 1.0 / (i + 1); c[i] = i % 7; }
  for (int r = 0; r < ROWS; r++) for (int j = 0; j < N; j++) m[r][j] = (r + j) % 11 + 1.0;
  double t;

  #pragma omp parallel
  { sink = omp_get_thread_num(); }  /* start the thread pool */

  t = omp_get_wtime();
  for (int e = 0; e < ENTRIES; e++) {
    #pragma omp parallel for
    for (int i = 0; i < 2; i++) a[i] += 0.0;
  }
  double fork_join = (omp_get_wtime() - t) / ENTRIES;

  t = omp_get_wtime();
  #pragma omp parallel
  for (int e = 0; e < ENTRIES; e++) {
    #pragma omp for
    for (int i = 0; i < 2; i++) a[i] += 0.0;
  }
  double barrier = (omp_get_wtime() - t) / ENTRIES;

  t = omp_get_wtime();
  #pragma omp parallel
  for (int e = 0; e < ENTRIES; e++) {
    #pragma omp single
    a[0] += 0.0;
  }
  double single = (omp_get_wtime() - t) / ENTRIES;

  t = omp_get_wtime();
  for (int r = 0; r < REPS; r++) { triad(); sink = a[r % N]; }
  double triad_s = (omp_get_wtime() - t) / REPS;
  t = omp_get_wtime();
  for (int r = 0; r < REPS; r++) sink = reversed_dot();
  double dot_s = (omp_get_wtime() - t) / REPS;
  t = omp_get_wtime();
  for (int r = 0; r < REPS / 8; r++) { row_update(); sink = m[r % ROWS][0]; }
  double rows_s = (omp_get_wtime() - t) / (REPS / 8);
  t = omp_get_wtime();
  for (int r = 0; r < REPS / 8; r++) { stencil(); sink = c2[r % ROWS][1]; }
  double stencil_s = (omp_get_wtime() - t) / (REPS / 8);
  printf("%.9g %.9g %.9g %.9g %.9g %.9g %.9g\n", fork_join, barrier, single, triad_s, dot_s, rows_s, stencil_s);
  return 0;
}
"""
KERNELS = ("triad", "dot", "rows", "stencil")  # the marked loops, in the order their times are printed


def _estimated_work(source: bytes) -> dict[str, int]:
    """ompilot's own estimate (`Verdict.work`) for each marked kernel loop."""
    from ompilot.analysis.scan import ScanSettings, scan_source

    report = scan_source("fork_join.c", source, ScanSettings(min_work=0))
    lines = source.decode().splitlines()
    out = {}
    for verdict in report.verdicts:
        for name in KERNELS:
            if f"/*{name}*/" in lines[verdict.loop.line - 1]:
                out[name] = verdict.work
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    work = _estimated_work(KERNELS_C.encode())
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "fork_join.c"
        source.write_text(PROGRAM)
        exe = Path(tmp) / "fork_join"
        subprocess.run(["clang-19", "-O3", "-fopenmp", str(source), "-o", str(exe)], check=True)
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OMP_PROC_BIND="close")
        rows = []
        for _ in range(args.repeat):
            out = subprocess.run([str(exe)], check=True, capture_output=True, text=True, env=env).stdout
            rows.append([float(x) for x in out.split()])
    fork_join, barrier, single, *kernels = (statistics.median(col) for col in zip(*rows))
    per_op = {name: seconds / work[name] for name, seconds in zip(KERNELS, kernels)}
    mean = statistics.median(per_op.values())  # the kinds differ 20-fold: the middle one
    print(f"clang-19 -O3 -fopenmp, libomp, {args.threads} threads, median of {args.repeat} runs, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"  fork/join of an empty parallel for : {fork_join * 1e6:8.3f} us")
    print(f"  omp for (its barrier) in a region   : {barrier * 1e6:8.3f} us")
    print(f"  omp single in a region              : {single * 1e6:8.3f} us")
    for name, seconds in zip(KERNELS, kernels):
        print(f"  serial {name:6}: {seconds * 1e6:9.2f} us for {work[name]} estimated operations, "
              f"{per_op[name] * 1e9:.3f} ns each")
    print(f"  median ns per estimated operation: {mean * 1e9:.3f}")
    print(f"  in operations: fork/join {fork_join / mean:,.0f}, barrier {barrier / mean:,.0f}, "
          f"single {single / mean:,.0f}  (analysis/estimates.py FORK_JOIN_OPERATIONS, BARRIER_OPERATIONS, "
          "SINGLE_OPERATIONS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
