"""How much faster ompilot's suggestions make the corpus's matrix and stencil programs.

For every corpus program named in SCALES below, and every other corpus program
whose truth `categories` include "stencil", "matmul" or "matrix", in one run:

  1. build the original with `clang-19 -O3` (serial, no -fopenmp);
  2. build ompilot's patched version (`suggest_file(...).patched`, written to a
     temporary directory) with `clang-19 -O3 -fopenmp`;
  3. run each once untimed (warm caches, page cache, binary loaded), then
     --repeat rounds of serial, parallel (OMP_NUM_THREADS=--threads,
     OMP_PROC_BIND=close) and parallel with one thread in turn, and take the
     median wall time of each;
  4. check every parallel output against the serial one within the truth's
     tolerance (`ompilot.verify.compare.output_difference`).

Each round also runs the patched build with one thread, which separates what
the threads gain (`scaling`: one thread over --threads threads) from what the
patch changes in the code itself (an interchange, `simd`, or the loss of
vectorisation in an outlined OpenMP region: compare `1 thr s` with `serial s`).

It prints one row per program (scale, median seconds of the serial, one-thread
and parallel runs, speedup = serial / parallel, scaling, how many CPUs the
parallel run kept busy, output check), the geometric mean of the speedups,
and which programs reach TARGET_SPEEDUP. The
load average is printed before and after: other processes on a 2-core machine
take cores away from the parallel run. The `cpu` column (user+sys seconds over
wall seconds of the parallel run) shows how many cores it kept busy, and
`others` how many cores other processes used meanwhile (from /proc/stat,
median over all runs): a speedup measured with `others` well above 0 is low
because of the machine, not the program. So that a shared machine still gives
usable numbers, each round first waits (up to --idle-wait s) until other
processes are quiet, and a round they disturbed anyway (more than --max-others
CPUs) is run again, up to --retries times; `redone` counts those.

The scale argument (the programs' argv[1]) is chosen per program in SCALES so
that the serial run takes about 0.5-2 s on the 2-core dev machine;
--scale-factor multiplies it. A program matched by category but missing from
SCALES is calibrated: its scale doubles until the serial run takes 0.5 s (a
program whose run time does not grow with the argument is run as it is and
shown as `fixed`).

This prints; it does not assert. Exit status: 0, or 1 when a build failed or a
parallel output differs from the serial one.

    .venv/bin/python benchmarks/suggest_speedup.py [--repeat 5] [--scale-factor 1]
        [--threads 2] [--programs jacobi_1d,heat_3d] [--show-pragmas] [--keep]
        [--max-others 0.25] [--retries 3] [--idle-wait 30]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ompilot.suggest.engine import suggest_file
from ompilot.verify.compare import Tolerance, output_difference

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
TARGET_SPEEDUP = 1.6
CATEGORIES = {"stencil", "matmul", "matrix"}
ALWAYS = ("matmul_ijk.c", "matmul_ikj.c", "jacobi_1d.c", "jacobi_2d.c", "heat_3d.c")

# argv[1] per program: the serial -O3 build takes about 0.5-2 s on the dev machine
# (2-core Xeon). What the scale means is read off each program's source.
SCALES = {
    "matmul_ijk.c": 8,     # n = 120*8 = 960: three 7 MiB matrices, 0.9 G multiply-adds (~1.5 s)
    "matmul_ikj.c": 2000,  # 2000 repetitions of a 128^3 product on 128 KiB global matrices (~1 s)
    "jacobi_1d.c": 200,    # n = 20 M points (2 x 160 MiB), 20 sweeps (~0.9 s)
    "jacobi_2d.c": 3000,   # N = 256 fixed (2 x 512 KiB grids), 30 000 sweeps (~0.8 s)
    "heat_3d.c": 8,        # n = 320: 2 x 250 MiB cubes, 8 steps (~1.3 s)
    "image_blur.c": 1500,  # h = 576 000 rows of 512 pixels (2 x 280 MiB) (~1 s)
    "wave_1d.c": 1500,     # NX = 100 000 fixed (3 x 780 KiB), 15 000 steps (~1 s)
}

CALIBRATE_SECONDS = 0.5
CALIBRATE_MAX_SCALE = 1 << 16
WINDOW = (0.5, 2.0)  # the serial run's intended duration, seconds


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # user+sys seconds of the program (all its threads)
    others: float | None  # CPUs kept busy by other processes meanwhile, on average
    stdout: str


@dataclass
class Program:
    source: Path
    tolerance: Tolerance
    scale: int
    calibrated: bool = False  # not in SCALES: the scale was found in this run
    fixed: bool = False  # the program ignores its scale argument
    pragmas: list[str] = field(default_factory=list)  # "line: directive"
    serial: list[Run] = field(default_factory=list)  # original, -O3, no OpenMP
    one: list[Run] = field(default_factory=list)  # patched, OMP_NUM_THREADS=1
    parallel: list[Run] = field(default_factory=list)  # patched, OMP_NUM_THREADS=--threads
    problem: str | None = None  # build failure, crash or output mismatch
    notes: list[str] = field(default_factory=list)
    discarded: int = 0  # rounds run again because other processes were busy

    @property
    def name(self) -> str:
        return self.source.name

    def median(self, which: str) -> float:
        return statistics.median(r.wall for r in getattr(self, which))

    def speedup(self) -> float | None:
        if not self.serial or not self.parallel:
            return None
        return self.median("serial") / self.median("parallel")


def select_programs(names: list[str] | None) -> list[tuple[Path, dict]]:
    """The corpus programs to measure: ALWAYS, SCALES and every stencil/matmul/matrix program."""
    chosen = []
    for truth_path in sorted(CORPUS.glob("*.truth.json")):
        truth = json.loads(truth_path.read_text())
        source = CORPUS / truth["program"]
        wanted = (
            source.name in ALWAYS
            or source.name in SCALES
            or CATEGORIES & set(truth.get("categories", []))
        )
        if names is not None:
            wanted = source.stem in names or source.name in names
        if wanted:
            chosen.append((source, truth))
    if names is not None:
        found = {s.stem for s, _ in chosen} | {s.name for s, _ in chosen}
        missing = [n for n in names if n not in found]
        if missing:
            raise SystemExit(f"suggest_speedup: no corpus program named {', '.join(missing)}")
    return chosen


def compiler_for(source: Path) -> str:
    return "clang++-19" if source.suffix in (".cpp", ".cc", ".cxx") else "clang-19"


def build(source: Path, output: Path, openmp: bool) -> str | None:
    """Compile; None on success, else the compiler's first error lines."""
    command = [compiler_for(source), "-O3", *(["-fopenmp"] if openmp else []), str(source), "-o", str(output), "-lm"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return f"{' '.join(command)} failed: " + " | ".join(done.stderr.strip().splitlines()[:3])
    return None


def busy_seconds() -> float | None:
    """CPU seconds all processes on the machine have used since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run(binary: Path, scale: int, env: dict[str, str]) -> Run:
    before, busy_before = resource.getrusage(resource.RUSAGE_CHILDREN), busy_seconds()
    start = time.perf_counter()
    done = subprocess.run([str(binary), str(scale)], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after, busy_after = resource.getrusage(resource.RUSAGE_CHILDREN), busy_seconds()
    if done.returncode != 0:
        raise RuntimeError(f"{binary.name} {scale} exited with {done.returncode}: {done.stderr.strip()[:200]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    others = None
    if busy_before is not None and busy_after is not None:
        others = max(0.0, (busy_after - busy_before - cpu) / wall)
    return Run(wall, cpu, others, done.stdout)


def calibrate(binary: Path, env: dict[str, str]) -> tuple[int, bool]:
    """(the smallest power-of-two scale whose serial run takes CALIBRATE_SECONDS,
    whether the program ignores its scale argument)."""
    first = run(binary, 1, env).wall
    if first >= CALIBRATE_SECONDS:
        return 1, False
    if run(binary, 16, env).wall < 1.5 * first + 0.01:
        return 1, True
    scale = 2
    while scale < CALIBRATE_MAX_SCALE and run(binary, scale, env).wall < CALIBRATE_SECONDS:
        scale *= 2
    return scale, False


def environments(threads: int) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Serial, one-thread and parallel environments, without the caller's OMP_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "KMP_", "GOMP_"))}
    one = dict(base, OMP_NUM_THREADS="1", OMP_PROC_BIND="close")
    parallel = dict(base, OMP_NUM_THREADS=str(threads), OMP_PROC_BIND="close")
    return base, one, parallel


@dataclass
class Quiet:
    """How hard to try for rounds that no other process disturbs."""

    repeat: int
    max_others: float  # a round where other processes used more CPUs than this is run again...
    retries: int  # ...at most this many times
    idle_wait: float  # before each round, wait up to this many seconds for an idle machine

    def wait(self) -> None:
        """Until other processes used at most max_others CPUs over half a second, or idle_wait passed."""
        deadline = time.monotonic() + self.idle_wait
        while time.monotonic() < deadline:
            before = busy_seconds()
            time.sleep(0.5)
            after = busy_seconds()
            if before is None or after is None or (after - before) / 0.5 <= self.max_others:
                return


def measure(program: Program, workdir: Path, quiet: Quiet, threads: int, scale_factor: float) -> None:
    serial_env, one_env, parallel_env = environments(threads)
    result = suggest_file(program.source)
    program.pragmas = [f"{p.line}: {p.summary}" for p in result.proposals]
    if result.errors:
        program.notes.append("ompilot: " + "; ".join(result.errors))
    if not result.proposals:
        program.notes.append("ompilot proposed nothing: the 'parallel' build is the original")
    patched = workdir / f"patched_{program.name}"
    patched.write_bytes(result.patched)
    serial_bin, parallel_bin = workdir / f"{program.source.stem}.serial", workdir / f"{program.source.stem}.omp"
    for problem in (build(program.source, serial_bin, False), build(patched, parallel_bin, True)):
        if problem:
            program.problem = problem
            return
    if program.calibrated:
        program.scale, program.fixed = calibrate(serial_bin, serial_env)
    if not program.fixed:
        program.scale = max(1, round(program.scale * scale_factor))

    # untimed warm-up: the serial output is the reference
    expected = run(serial_bin, program.scale, serial_env).stdout
    outputs = [run(parallel_bin, program.scale, parallel_env).stdout]
    for _ in range(quiet.repeat):
        for attempt in range(quiet.retries + 1):
            quiet.wait()
            serial = run(serial_bin, program.scale, serial_env)
            parallel = run(parallel_bin, program.scale, parallel_env)
            one = run(parallel_bin, program.scale, one_env)
            outputs += [parallel.stdout, one.stdout]
            if serial.stdout != expected:
                program.problem = "the serial program's output changes between runs"
            busiest = max((r.others for r in (serial, parallel, one) if r.others is not None), default=0.0)
            if busiest <= quiet.max_others or attempt == quiet.retries:
                break
            program.discarded += 1
        program.serial.append(serial)
        program.parallel.append(parallel)
        program.one.append(one)
    for out in outputs:
        difference = output_difference(expected, out, program.tolerance)
        if difference:
            program.problem = program.problem or f"parallel output differs from serial: {difference}"
            break
    if not WINDOW[0] <= program.median("serial") <= WINDOW[1]:
        program.notes.append(
            f"serial run {program.median('serial'):.2f} s, outside {WINDOW[0]}-{WINDOW[1]} s"
            + (": the program ignores its scale argument" if program.fixed else "")
        )


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def print_table(programs: list[Program], threads: int) -> None:
    header = (f"{'program':<16} {'scale':>6} {'serial s':>9} {'1 thr s':>8} {f'{threads} thr s':>8}"
              f" {'speedup':>8} {'scaling':>8} {'cpu':>5} {'others':>6} {'redone':>6}  output")
    print(header)
    print("-" * len(header))
    for p in programs:
        scale = "fixed" if p.fixed else f"{p.scale}{'*' if p.calibrated else ''}"
        speedup = p.speedup()
        if speedup is None:
            print(f"{p.name:<16} {scale:>6} " + " ".join(f"{'-':>{w}}" for w in (9, 8, 8, 8, 8, 5, 6, 6))
                  + f"  FAILED: {p.problem}")
            continue
        cpu = statistics.median(r.cpu / r.wall for r in p.parallel)
        loads = [r.others for r in p.serial + p.one + p.parallel if r.others is not None]
        others = f"{statistics.median(loads):.2f}" if loads else "n/a"
        scaling = p.median("one") / p.median("parallel")
        check = "ok" if p.problem is None else p.problem
        print(f"{p.name:<16} {scale:>6} {p.median('serial'):>9.3f} {p.median('one'):>8.3f}"
              f" {p.median('parallel'):>8.3f} {speedup:>7.2f}x {scaling:>7.2f}x {cpu:>5.2f} {others:>6}"
              f" {p.discarded:>6}  {check}")
    speedups = [s for s in (p.speedup() for p in programs) if s is not None]
    if speedups:
        print("-" * len(header))
        print(f"geometric mean speedup with {threads} threads: {geometric_mean(speedups):.2f}x over {len(speedups)} programs")
    if any(p.calibrated and not p.fixed for p in programs):
        print("* scale calibrated in this run (the program is not in SCALES)")
    for p in programs:
        for note in p.notes:
            print(f"note: {p.name}: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed serial/parallel rounds (default 5)")
    parser.add_argument("--scale-factor", type=float, default=1.0, help="multiply every program's scale (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS of the parallel runs (default 2)")
    parser.add_argument("--programs", help="comma-separated corpus programs (default: all matrix and stencil ones)")
    parser.add_argument("--show-pragmas", action="store_true", help="list the pragmas ompilot inserted in each program")
    parser.add_argument("--keep", action="store_true", help="keep the build directory and print where it is")
    parser.add_argument("--max-others", type=float, default=0.25,
                        help="run a round again when other processes kept more CPUs than this busy (default 0.25)")
    parser.add_argument("--retries", type=int, default=3, help="times a disturbed round is run again (default 3)")
    parser.add_argument("--idle-wait", type=float, default=30.0,
                        help="seconds to wait before each round for other processes to go quiet (default 30; 0: no wait)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.threads < 1 or args.scale_factor <= 0:
        parser.error("--repeat and --threads must be at least 1, --scale-factor positive")
    quiet = Quiet(args.repeat, args.max_others, max(0, args.retries), max(0.0, args.idle_wait))
    for tool in ("clang-19",):
        if shutil.which(tool) is None:
            print(f"suggest_speedup: {tool} not found; run scripts/setup.sh", file=sys.stderr)
            return 2

    names = [n.strip() for n in args.programs.split(",") if n.strip()] if args.programs else None
    programs = []
    for source, truth in select_programs(names):
        tolerance = Tolerance(**truth.get("tolerance", {})) if truth.get("tolerance") else Tolerance()
        known = source.name in SCALES
        programs.append(Program(source, tolerance, SCALES.get(source.name, 1), calibrated=not known))

    print(f"{len(programs)} programs, {args.repeat} rounds, {args.threads} threads, "
          f"{os.cpu_count()} CPUs; load average before: {load_average()}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="ompilot-speedup-"))
    try:
        for program in programs:
            try:
                measure(program, workdir, quiet, args.threads, args.scale_factor)
            except RuntimeError as exc:
                program.problem = str(exc)
            print(f"  measured {program.name}", file=sys.stderr, flush=True)
    finally:
        if args.keep:
            print(f"builds and patched sources kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average after: {load_average()}")
    print()
    print_table(programs, args.threads)
    if args.show_pragmas:
        print()
        for p in programs:
            print(f"{p.name}: " + ("; ".join(p.pragmas) or "no pragmas"))
    measured = [p for p in programs if p.speedup() is not None]
    meets = [p.name for p in measured if p.speedup() >= TARGET_SPEEDUP]
    below = [f"{p.name} ({p.speedup():.2f}x)" for p in measured if p.speedup() < TARGET_SPEEDUP]
    print()
    print(f"target {TARGET_SPEEDUP}x with {args.threads} threads: met by {len(meets)} of {len(measured)}: {', '.join(meets) or 'none'}")
    if below:
        print(f"below target: {', '.join(below)}")
    return 1 if any(p.problem for p in programs) else 0


if __name__ == "__main__":
    sys.exit(main())
