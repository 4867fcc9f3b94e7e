"""Forking on every time step, or once: per-loop `parallel for` against a hoisted region.

For an LU-like pivot sweep and a jacobi-like time-step stencil (the serial
outer loop holds the parallel loops), in one run:

  1. calibrate the size so that the serial build (`clang-19 -O3`) takes about
     --seconds (LU: the matrix order; jacobi: the number of time steps on a
     32 x 32 grid, where one entry into a loop is too little work for a
     fork/join; jacobi-l: the same on a 200 x 200 grid, where it is enough);
  2. scan the program at that size (the sizes are macros passed to both the
     analysis and the compiler) and build three versions with
     `clang-19 -O3 -fopenmp`: the original (serial, no -fopenmp), today's
     plan (`#pragma omp parallel for` with the proven clauses on each parallel
     inner loop: threads fork and join on every outer iteration), and the
     region ompilot now suggests (`suggest_source` ... the proposal that
     hoists `#pragma omp parallel` above the serial loop);
  3. run them --repeat times in turn (OMP_NUM_THREADS=--threads,
     OMP_PROC_BIND=close), check each output against the serial one, and
     print the median seconds and serial / parallel ratios.

It prints; it asserts nothing. Exit 1 when a build fails or an output differs.

    .venv/bin/python benchmarks/hoisted_regions.py [--repeat 5] [--threads 2] [--seconds 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ompilot.analysis.scan import ScanSettings, scan_source
from ompilot.suggest import patch
from ompilot.suggest.engine import suggest_source

LU = r"""#include <stdio.h>

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
  printf("%.12e\n", s);
  return 0;
}
"""

JACOBI = r"""#include <stdio.h>

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
  printf("%.10e\n", s);
  return 0;
}
"""

#: name -> (source, sizes at the start of calibration, the size that grows, its power in the run time)
PROGRAMS = {
    "lu": (LU, {"N": 300}, "N", 3),
    "jacobi": (JACOBI, {"N": 32, "STEPS": 20000}, "STEPS", 1),
    "jacobi-l": (JACOBI, {"N": 200, "STEPS": 200}, "STEPS", 1),  # one entry: about 0.8M operations
}


def _defines(sizes: dict[str, int]) -> list[str]:
    return [f"-D{k}={v}" for k, v in sizes.items()]


def _build(tmp: Path, name: str, source: bytes, flags: list[str]) -> Path:
    src = tmp / f"{name}.c"
    src.write_bytes(source)
    exe = tmp / name
    subprocess.run(["clang-19", *flags, str(src), "-o", str(exe)], check=True, capture_output=True, text=True)
    return exe


def _run(exe: Path, threads: int | None) -> tuple[float, str]:
    env = dict(os.environ, OMP_PROC_BIND="close")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True, env=env).stdout
    return time.perf_counter() - start, out


def _calibrate(tmp: Path, name: str, seconds: float) -> dict[str, int]:
    source, sizes, grows, power = PROGRAMS[name]
    sizes = dict(sizes)
    for _ in range(4):
        exe = _build(tmp, f"{name}-calibrate", source.encode(), ["-O3", *_defines(sizes)])
        took, _ = _run(exe, None)
        factor = (seconds / max(took, 1e-3)) ** (1 / power)
        if 0.8 < factor < 1.25:
            break
        sizes[grows] = max(1, int(sizes[grows] * factor))
    return sizes


def _versions(name: str, sizes: dict[str, int]) -> tuple[bytes, bytes, bytes] | str:
    """(serial, a `parallel for` on each inner loop, the hoisted region)."""
    source = PROGRAMS[name][0].encode()
    settings = ScanSettings(flags=tuple(_defines(sizes)))
    report = scan_source(f"{name}.c", source, settings)
    inner = [v for v in report.verdicts if v.hoisted_in is not None]
    if not inner:
        return "ompilot hoists no region at this size: " + "; ".join(
            n for v in report.verdicts for n in v.notes if "no parallel region" in n)
    per_loop = []
    for v in inner:
        directive = " ".join(["#pragma omp parallel for", *v.clauses.render()])
        per_loop.append(patch.insertion_above(source, patch.line_start(source, v.loop.start_offset), [directive]))
    result = suggest_source(f"{name}.c", source, settings)
    [region] = [p for p in result.proposals if p.summary.startswith("#pragma omp parallel region hoisted")]
    return source, patch.apply_edits(source, per_loop), patch.apply_edits(source, region.edits)


def _same(a: str, b: str) -> bool:
    x, y = float(a.split()[0]), float(b.split()[0])
    return abs(x - y) <= 1e-9 * max(abs(x), abs(y))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    status = 0
    print(f"clang-19 -O3, {args.threads} threads, median of {args.repeat} runs each, "
          f"load average {os.getloadavg()[0]:.2f} before")
    print(f"{'program':8} {'size':22} {'serial s':>9} {'per-loop s':>11} {'region s':>9} "
          f"{'per-loop x':>11} {'region x':>9}  output")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name in PROGRAMS:
            sizes = _calibrate(tmp, name, args.seconds)
            versions = _versions(name, sizes)
            size = ", ".join(f"{k}={v}" for k, v in sizes.items())
            if isinstance(versions, str):
                print(f"{name:8} {size:22} {versions}")
                continue
            flags = _defines(sizes)
            exes = [_build(tmp, f"{name}-serial", versions[0], ["-O3", *flags]),
                    _build(tmp, f"{name}-per-loop", versions[1], ["-O3", "-fopenmp", *flags]),
                    _build(tmp, f"{name}-region", versions[2], ["-O3", "-fopenmp", *flags])]
            times: list[list[float]] = [[], [], []]
            outputs: list[str] = ["", "", ""]
            for _ in range(args.repeat):
                for index, exe in enumerate(exes):
                    took, outputs[index] = _run(exe, args.threads if index else None)
                    times[index].append(took)
            serial, per_loop, region = (statistics.median(t) for t in times)
            same = all(_same(outputs[0], o) for o in outputs[1:])
            status |= 0 if same else 1
            print(f"{name:8} {size:22} {serial:9.3f} {per_loop:11.3f} {region:9.3f} "
                  f"{serial / per_loop:10.2f}x {serial / region:8.2f}x  {'same' if same else 'DIFFERS'}")
    print(f"load average {os.getloadavg()[0]:.2f} after")
    return status


if __name__ == "__main__":
    sys.exit(main())
