"""ompilot's suggestions against GCC's auto-parallelizer and Polly, on the whole corpus.

For every corpus program (default: all of them; --programs to choose), in one run:

  1. serial:  `clang-19 -O3` (`clang++-19` for C++) of the original, `-lm`;
  2. ompilot: its verified patch, as `ompilot suggest` makes it: the program is
     copied alone into a project whose .ompilot.toml runs it at the benchmark's
     scale (scale 1 for the race checker) with --threads threads, and only the
     proposals that pass every check (race, output, speed; tuned) are kept.
     The patched source (under the program's own file name) is built with
     `clang-19 -O3 -fopenmp`; when nothing is kept it is the original built with
     -fopenmp. --static uses the unverified static suggestions instead;
  3. gcc:     `gcc -O3 -ftree-parallelize-loops=2` (`g++` for C++) of the original;
  4. polly:   `clang-19 -O3 -mllvm -polly -mllvm -polly-parallel
     -mllvm -polly-omp-backend=LLVM` of the original. Polly's LLVM OpenMP backend
     calls libomp (`__kmpc_fork_call`, ...): without `-fopenmp` the link fails. The
     object is therefore compiled without `-fopenmp` and linked with it, so that
     the `#pragma omp` lines already in the three `omp_*` programs are ignored, as
     they are in the serial and gcc builds: the polly column measures Polly alone.
     (For pragma-free sources this is the same code as one `-fopenmp` command.)

The three parallel builds run with OMP_NUM_THREADS=--threads (default 2) and
OMP_PROC_BIND=close (`suggest_speedup.environments`); gcc's
`-ftree-parallelize-loops` takes --threads as well.

Scale (the programs' argv[1]): `suggest_speedup.SCALES` where it has the program;
otherwise calibrated on the serial build: the scale doubles until one serial run
takes at least 0.45 s (so that the median stays above 0.3 s), and when a doubling
jumps past 1.5 s (a cubic program) the scale is bisected back into 0.45-1.5 s; scales are capped at
`suggest_speedup.CALIBRATE_MAX_SCALE`. A program whose run time does not grow
with its argument (scale 1024 runs within 1.5x + 20 ms of scale 1) is run as it
is and shown as `fixed` (so is one that reaches 0.45 s without getting 1.5x
slower than at scale 1). --scale-factor multiplies every scale but the fixed ones.

Timing: each build runs once untimed (warm-up; the serial output is the
reference), then --repeat rounds (default 3) each run serial, ompilot, gcc and
polly one after the other (the order rotates from round to round), and the
median wall time of each build is taken. As in suggest_speedup.py, each round
first waits (up to --idle-wait s) for other processes to go quiet, and a round
in which they kept more than --max-others CPUs busy is run again (up to
--retries times; `redone` counts those; `others` is the median of the CPUs other
processes used during this program's timed runs).

Every run's output (warm-up and timed) is compared with the serial reference
within the truth file's tolerance (`ompilot.verify.compare.output_difference`).
A build whose output is wrong is printed with `WRONG` after its speedup and
listed under the table; its speedup is EXCLUDED from the geometric means and
from the "slower than 0.95x" counts (it is not a speedup of the same program).
A build that fails to compile, crashes, or runs longer than --timeout seconds
(default 60) is shown as `BUILD FAILED` / `CRASHED` / `TIMEOUT` in its cells and
also excluded; nothing of the kind stops the run.

Printed: one row per program (scale, serial seconds, then seconds and speedup
over serial for ompilot, gcc and polly), the geometric mean speedup of each
tool over the programs where its output was right (and once more over the
programs where all three were right), how many programs each tool made slower
than 0.95x, the programs where ompilot proposed nothing, and the programs where
ompilot is below 0.95x or behind gcc or Polly. --details adds, per program,
ompilot's proposals, the loops gcc reports parallelizing (-fopt-info-loop-optimized,
a diagnostic that does not change the code) and how many outlined parallel
functions Polly emitted (`*_polly_subfn*` symbols).

Exit status: 0, or 1 when a serial build failed or an ompilot build failed or
gave a wrong output.

    .venv/bin/python benchmarks/compare_autopar.py [--programs jacobi_1d,heat_3d]
        [--repeat 3] [--scale-factor 1] [--threads 2] [--timeout 60] [--keep]
        [--details] [--max-others 0.25] [--retries 2] [--idle-wait 10]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suggest_speedup as ss  # noqa: E402  (the colleague's benchmark: scales, quiet rounds, helpers)

from ompilot.suggest.engine import suggest_file  # noqa: E402
from ompilot.analysis.scan import ScanSettings  # noqa: E402
from ompilot.verify.pipeline import SuggestOptions, suggest_tree  # noqa: E402
from ompilot.verify.compare import Tolerance, output_difference  # noqa: E402

TOOLS = ("ompilot", "gcc", "polly")
WINDOW = (0.3, 1.5)  # seconds: the serial run's intended duration
AIM = (0.45, WINDOW[1])  # what calibration aims at: one run's time, so that the median stays above WINDOW[0]
CALIBRATION_TIMEOUT = 10.0  # a calibration run longer than this counts as "too big"
FIXED_PROBE = 1024  # scale at which a program that still runs as fast as at scale 1 is taken to ignore it
SLOWER = 0.95
POLLY_FLAGS = ["-mllvm", "-polly", "-mllvm", "-polly-parallel", "-mllvm", "-polly-omp-backend=LLVM"]
COMPILE_TIMEOUT = 300.0


class RunFailure(Exception):
    """A run that timed out or exited with a non-zero status; str() is the short cell text plus detail."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind  # TIMEOUT | CRASHED
        self.detail = detail


@dataclass
class Build:
    tool: str  # serial | ompilot | gcc | polly
    binary: Path
    failure: str | None = None  # "BUILD FAILED" | "CRASHED" | "TIMEOUT": no time
    failure_detail: str = ""
    wrong: str | None = None  # the first output difference from the serial reference
    runs: list[ss.Run] = field(default_factory=list)
    #: True when ompilot's verified patch is empty and the source has no pragma:
    #: the program a user gets is the serial one, so its runs are the serial runs
    unchanged: bool = False

    def seconds(self) -> float | None:
        return statistics.median(r.wall for r in self.runs) if self.runs and not self.failure else None


@dataclass
class Program:
    source: Path
    truth: dict
    tolerance: Tolerance
    scale: int = 1
    calibrated: bool = False
    fixed: bool = False
    builds: dict[str, Build] = field(default_factory=dict)
    proposals: list[str] = field(default_factory=list)
    suggest_errors: list[str] = field(default_factory=list)
    verify_errors: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # proposals the verifier dropped, with why
    problem: str | None = None  # the serial build or run failed: no row
    notes: list[str] = field(default_factory=list)
    discarded: int = 0
    gcc_parallel: list[str] = field(default_factory=list)  # gcc's "parallelizing ..." remarks
    polly_subfns: int | None = None

    @property
    def name(self) -> str:
        return self.source.name

    def speedup(self, tool: str) -> float | None:
        """serial / tool, None when either has no time."""
        serial, build = self.builds.get("serial"), self.builds.get(tool)
        if serial is None or build is None or serial.seconds() is None or build.seconds() is None:
            return None
        return serial.seconds() / build.seconds()

    def right_speedup(self, tool: str) -> float | None:
        """The speedup when the build ran and its output was right, else None."""
        build = self.builds.get(tool)
        if build is None or build.wrong:
            return None
        return self.speedup(tool)

    def others(self) -> float | None:
        loads = [r.others for b in self.builds.values() for r in b.runs if r.others is not None]
        return statistics.median(loads) if loads else None


# ---------------------------------------------------------------- building


def gcc_for(source: Path) -> str:
    return "g++" if ss.compiler_for(source).startswith("clang++") else "gcc"


def compile_command(command: list[str]) -> str | None:
    """Run one compiler command; None on success, else a one-line reason."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"{' '.join(command)} took over {COMPILE_TIMEOUT:.0f} s"
    if done.returncode != 0:
        return f"{' '.join(command)} failed: " + " | ".join(done.stderr.strip().splitlines()[:3])
    return None


def build_gcc(source: Path, output: Path, threads: int) -> str | None:
    remarks = output.with_suffix(".gcc-opt-info.txt")
    return compile_command([gcc_for(source), "-O3", f"-ftree-parallelize-loops={threads}",
                            f"-fopt-info-loop-optimized={remarks}", str(source), "-o", str(output), "-lm"])


def build_polly(source: Path, output: Path) -> str | None:
    obj = output.with_suffix(".o")
    compiler = ss.compiler_for(source)
    return (compile_command([compiler, "-O3", *POLLY_FLAGS, "-c", str(source), "-o", str(obj)])
            or compile_command([compiler, "-fopenmp", str(obj), "-o", str(output), "-lm"]))


def gcc_remarks(binary: Path) -> list[str]:
    path = binary.with_suffix(".gcc-opt-info.txt")
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    return sorted({line.split(": optimized: ")[0].rsplit("/", 1)[-1]
                   for line in lines if "parallelizing" in line},
                  key=lambda loc: [int(x) if x.isdigit() else x for x in re.split(r"[:.]", loc)])


def polly_subfunctions(binary: Path) -> int | None:
    try:
        done = subprocess.run(["nm", str(binary)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return sum(1 for line in done.stdout.splitlines() if "_polly_subfn" in line) if done.returncode == 0 else None


# ---------------------------------------------------------------- running


def execute(binary: Path, scale: int, env: dict[str, str], timeout: float) -> ss.Run:
    """suggest_speedup.run with a time limit: the Run, or RunFailure."""
    before, busy_before = resource.getrusage(resource.RUSAGE_CHILDREN), ss.busy_seconds()
    start = time.perf_counter()
    try:
        done = subprocess.run([str(binary), str(scale)], capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunFailure("TIMEOUT", f"{binary.name} {scale} ran over {timeout:g} s and was killed") from None
    wall = time.perf_counter() - start
    after, busy_after = resource.getrusage(resource.RUSAGE_CHILDREN), ss.busy_seconds()
    if done.returncode != 0:
        raise RunFailure("CRASHED", f"{binary.name} {scale} exited with {done.returncode}: "
                         + " | ".join(done.stderr.strip().splitlines()[:2])[:200])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    others = None
    if busy_before is not None and busy_after is not None:
        others = max(0.0, (busy_after - busy_before - cpu) / wall)
    return ss.Run(wall, cpu, others, done.stdout)


def calibrate(binary: Path, env: dict[str, str]) -> tuple[int, bool]:
    """(a scale whose serial run takes AIM[0]-AIM[1] s, whether the program ignores the scale).

    Doubles from 1; a run past AIM[1] s (or past CALIBRATION_TIMEOUT, or one that
    crashes, e.g. out of memory) sends it back to bisect between the last two scales.
    """

    def seconds(scale: int) -> float:
        try:
            return execute(binary, scale, env, CALIBRATION_TIMEOUT).wall
        except RunFailure:
            if scale == 1:
                raise
            return float("inf")

    seconds(1)  # untimed: page cache, loader
    first = seconds(1)
    if first >= AIM[0]:
        return 1, False
    low = 1
    while low < ss.CALIBRATE_MAX_SCALE:
        high = low * 2
        wall = seconds(high)
        if AIM[0] <= wall <= AIM[1]:
            # a program that ignores its scale and takes about AIM[0] s lands here by noise
            return (1, True) if wall < 1.5 * first + 0.02 else (high, False)
        if wall > AIM[1]:
            while high - low > 1:
                middle = (low + high) // 2
                wall = seconds(middle)
                if wall < AIM[0]:
                    low = middle
                elif wall > AIM[1]:
                    high = middle
                else:
                    return middle, False
            return low, False
        if high >= FIXED_PROBE and wall < 1.5 * first + 0.02:
            return 1, True
        low = high
    return low, False


# ---------------------------------------------------------------- one program


def prepare(program: Program, workdir: Path, threads: int) -> None:
    """Suggest, write the patched source and build the four binaries."""
    stem = program.source.stem
    dirs = {tool: workdir / tool for tool in ("serial", *TOOLS)}
    for d in dirs.values():
        d.mkdir(exist_ok=True)
    builds = {tool: Build(tool, dirs[tool] / stem) for tool in dirs}
    program.builds = builds

    problem = ss.build(program.source, builds["serial"].binary, openmp=False)
    if problem:
        program.problem = f"serial build failed: {problem}"
        return

    for tool, problem in (("gcc", build_gcc(program.source, builds["gcc"].binary, threads)),
                          ("polly", build_polly(program.source, builds["polly"].binary))):
        if problem:
            builds[tool].failure, builds[tool].failure_detail = "BUILD FAILED", problem
    if not builds["gcc"].failure:
        program.gcc_parallel = gcc_remarks(builds["gcc"].binary)
    if not builds["polly"].failure:
        program.polly_subfns = polly_subfunctions(builds["polly"].binary)


def prepare_ompilot(program: Program, workdir: Path, threads: int, verified: bool) -> None:
    """ompilot's patch, built. Verified (the default): the program is copied
    alone into a project whose .ompilot.toml runs it at the calibrated scale,
    with scale 1 for the race checker (ThreadSanitizer is 5-15x slower), and
    only the proposals the verifier accepts are kept, as `ompilot suggest` does."""
    build = program.builds["ompilot"]
    try:
        if verified:
            project = workdir / "ompilot-project"
            project.mkdir(exist_ok=True)
            source = project / program.name
            shutil.copyfile(program.source, source)
            (project / ".ompilot.toml").write_text(verify_config(program, threads))
            # the pipeline `ompilot suggest` runs; one worker, as the timings compare tools one at a time
            run = suggest_tree([source], ScanSettings(jobs=1), SuggestOptions(tune=True, jobs=1))
            result, program.verify_errors = run.results[0], run.errors
            program.rejected = [f"{p.line}: {p.summary}: {p.evidence.message if p.evidence else None}" for p in result.rejected]
        else:
            result = suggest_file(program.source)
        program.proposals = [f"{p.line}: {p.summary}" + _speedup_note(p) for p in result.proposals]
        program.suggest_errors = list(result.errors)
        patched = workdir / "ompilot" / program.name  # same file name: same language, same messages
        patched.write_bytes(result.patched)
        if result.patched == result.data and b"#pragma omp" not in result.data:
            build.unchanged = True  # nothing passed the checks: the user keeps the serial program
            return
        problem = ss.build(patched, build.binary, openmp=True)
    except Exception as exc:  # ompilot itself failed: report it in the ompilot cells
        problem = f"ompilot raised {type(exc).__name__}: {exc}"
    if problem:
        build.failure, build.failure_detail = "BUILD FAILED", problem


def verify_config(program: Program, threads: int) -> str:
    language = "cpp" if program.source.suffix != ".c" else "c"
    return "\n".join([
        f'build = "{{cc}} {{cflags}} {program.name} -o {{out}} -lm"',
        f'run = "{{exe}} {program.scale}"',
        'race_run = "{exe} 1"',
        f'language = "{language}"',
        f"threads = [{threads}]",
        "timing_runs = 3",
        "tune_seconds = 20",
        "time_limit = 120",
        f"tolerance = {{ rel = {program.tolerance.rel!r}, abs = {program.tolerance.abs!r} }}",
        "",
    ])


def _speedup_note(proposal) -> str:
    evidence = proposal.evidence
    speedup = evidence.timing.speedup if evidence is not None and evidence.checked else None
    return f" (verified {speedup:.2f}x)" if speedup else ""


def check(program: Program, build: Build, expected: str, actual: str) -> None:
    if build.wrong is None:
        build.wrong = output_difference(expected, actual, program.tolerance)


def measure(program: Program, workdir: Path, quiet: ss.Quiet, threads: int, scale_factor: float,
            timeout: float, verified: bool = True) -> None:
    prepare(program, workdir, threads)
    if program.problem:
        return
    serial_env, _, parallel_env = ss.environments(threads)
    envs = {"serial": serial_env, **{tool: parallel_env for tool in TOOLS}}
    builds = program.builds
    serial = builds["serial"]

    if program.calibrated:
        try:
            program.scale, program.fixed = calibrate(serial.binary, serial_env)
        except RunFailure as exc:
            program.problem = f"serial run at scale 1 {exc}"
            return
    if not program.fixed:
        program.scale = max(1, round(program.scale * scale_factor))
    prepare_ompilot(program, workdir, threads, verified)

    def attempt(build: Build) -> ss.Run | None:
        """One run; a failure is recorded on the build (which then runs no more)."""
        try:
            return execute(build.binary, program.scale, envs[build.tool], timeout)
        except RunFailure as exc:
            build.failure, build.failure_detail = exc.kind, exc.detail
            build.runs.clear()
            return None

    # untimed warm-up; the serial output is the reference
    first = attempt(serial)
    if first is None:
        program.problem = f"serial run {serial.failure}: {serial.failure_detail}"
        return
    expected = first.stdout
    for tool in TOOLS:
        if not builds[tool].failure and not builds[tool].unchanged:
            run = attempt(builds[tool])
            if run is not None:
                check(program, builds[tool], expected, run.stdout)

    order = ["serial", *TOOLS]
    for round_number in range(quiet.repeat):
        shift = round_number % len(order)
        rotation = order[shift:] + order[:shift]
        for retry in range(quiet.retries + 1):
            quiet.wait()
            runs: dict[str, ss.Run] = {}
            for tool in rotation:
                build = builds[tool]
                if build.failure or build.unchanged:
                    continue
                run = attempt(build)
                if run is None:
                    if tool == "serial":
                        program.problem = f"serial run {build.failure}: {build.failure_detail}"
                        return
                    continue
                runs[tool] = run
                if tool == "serial":
                    if run.stdout != expected:
                        program.notes.append("the serial program's output changes between runs")
                else:
                    check(program, build, expected, run.stdout)
            busiest = max((r.others for r in runs.values() if r.others is not None), default=0.0)
            if busiest <= quiet.max_others or retry == quiet.retries:
                break
            program.discarded += 1
        for tool, run in runs.items():
            if not builds[tool].failure:
                builds[tool].runs.append(run)
    if builds["ompilot"].unchanged:
        builds["ompilot"].runs = list(serial.runs)

    seconds = serial.seconds()
    if seconds is not None and not WINDOW[0] <= seconds <= WINDOW[1]:
        why = ""
        if program.fixed:
            why = ": the program ignores its scale argument"
        elif program.calibrated and program.scale >= ss.CALIBRATE_MAX_SCALE:
            why = ": scale capped"
        elif not program.calibrated:
            why = f" (scale from suggest_speedup.SCALES{'' if scale_factor == 1 else ' x --scale-factor'})"
        program.notes.append(f"serial run {seconds:.2f} s, outside {WINDOW[0]}-{WINDOW[1]} s{why}")


# ---------------------------------------------------------------- report


def cell(program: Program, tool: str) -> str:
    """'  0.123  1.23x' or the failure, 17 characters wide (+ ' WRONG')."""
    build = program.builds.get(tool)
    if build is None:
        return f"{'-':>16}"
    if build.failure:
        return f"{build.failure:>16}"
    speedup = program.speedup(tool)
    if speedup is None:
        return f"{'-':>16}"
    text = f"{build.seconds():>8.3f} {speedup:>6.2f}x"
    return text + (" WRONG" if build.wrong else " same " if build.unchanged else "      ")


def print_report(programs: list[Program], threads: int) -> None:
    width = 17 + 6
    header = (f"{'program':<26} {'scale':>7} {'serial s':>9} |"
              + "|".join(f"{tool + ' s':>10} {'speedup':>7}{'':6}" for tool in TOOLS)
              + f"| {'others':>6} {'redone':>6}")
    print(header)
    print("-" * len(header))
    for p in programs:
        scale = "fixed" if p.fixed else f"{p.scale}{'*' if p.calibrated else ''}"
        if p.problem:
            print(f"{p.name:<26} {scale:>7} {'FAILED':>9} |  {p.problem}")
            continue
        others = p.others()
        print(f"{p.name:<26} {scale:>7} {p.builds['serial'].seconds():>9.3f} |"
              + "|".join(f"{cell(p, tool):<{width}}" for tool in TOOLS)
              + f"| {'n/a' if others is None else f'{others:.2f}':>6} {p.discarded:>6}")
    print("-" * len(header))
    print("* scale calibrated in this run (program not in suggest_speedup.SCALES); "
          "fixed: the program ignores its scale argument")
    print(f"speedup = serial s / tool s (medians); {threads} threads; same = ompilot kept no change, so its "
          "program is the serial one; WRONG = output differs from serial "
          "beyond the truth's tolerance: excluded from the means and counts below")
    print()

    measured = [p for p in programs if not p.problem]
    all_right = [p for p in measured if all(p.right_speedup(t) is not None for t in TOOLS)]
    for tool in TOOLS:
        right = [(p.name, p.right_speedup(tool)) for p in measured if p.right_speedup(tool) is not None]
        wrong = [p.name for p in measured if p.builds[tool].wrong]
        failed = [f"{p.name} ({p.builds[tool].failure})" for p in measured if p.builds[tool].failure]
        slower = [f"{name} {s:.2f}x" for name, s in right if s < SLOWER]
        mean = f"{ss.geometric_mean([s for _, s in right]):.2f}x" if right else "n/a"
        common = f"{ss.geometric_mean([p.right_speedup(tool) for p in all_right]):.2f}x" if all_right else "n/a"
        print(f"{tool:<8} geometric mean {mean} over {len(right)} programs with the right output "
              f"({common} over the {len(all_right)} where all three were right); "
              f"slower than {SLOWER}x: {len(slower)}; wrong output: {len(wrong)}; failed: {len(failed)}")
    print()
    for tool in TOOLS:
        wrong = [p for p in measured if p.builds[tool].wrong]
        for p in wrong:
            print(f"WRONG OUTPUT  {tool} on {p.name}: {p.builds[tool].wrong}")
        for p in measured:
            if p.builds[tool].failure:
                print(f"{p.builds[tool].failure:<13} {tool} on {p.name}: {p.builds[tool].failure_detail}")
    for p in programs:
        if p.problem:
            print(f"FAILED        {p.name}: {p.problem}")
    for tool in TOOLS:
        slower = [f"{p.name} ({p.right_speedup(tool):.2f}x)" for p in measured
                  if p.right_speedup(tool) is not None and p.right_speedup(tool) < SLOWER]
        print(f"slower than {SLOWER}x with {tool}: {', '.join(slower) or 'none'}")
    print()
    nothing = [p.name for p in measured if not p.proposals and not p.builds["ompilot"].failure]
    print(f"ompilot kept no change for {len(nothing)} programs (the serial program itself, 1.00x; the original "
          f"built with -fopenmp where it has pragmas of its own): "
          + (", ".join(nothing) or "none"))
    behind = []
    for p in measured:
        mine = p.right_speedup("ompilot")
        if mine is None:
            continue
        reasons = [f"below {SLOWER}x"] if mine < SLOWER else []
        for tool in ("gcc", "polly"):
            theirs = p.right_speedup(tool)
            if theirs is not None and theirs > mine * 1.05:
                reasons.append(f"behind {tool} ({theirs:.2f}x)")
        if reasons:
            behind.append(f"{p.name} {mine:.2f}x: {', '.join(reasons)}")
    print("ompilot below 0.95x or more than 5% behind gcc/Polly:" + ("" if behind else " none"))
    for line in behind:
        print(f"  {line}")
    for p in programs:
        for error in p.suggest_errors + p.verify_errors:
            print(f"note: {p.name}: ompilot: {error.splitlines()[0]}")
        for note in p.notes:
            print(f"note: {p.name}: {note}")


def print_details(programs: list[Program]) -> None:
    for p in programs:
        print(f"{p.name}:")
        print(f"  ompilot: {'; '.join(p.proposals) or 'no proposal'}")
        for line in p.rejected:
            print(f"  ompilot rejected {line}")
        print(f"  gcc parallelized loops at: {', '.join(p.gcc_parallel) or 'none'}")
        print(f"  polly parallel subfunctions: {'n/a' if p.polly_subfns is None else p.polly_subfns}")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", help="comma-separated corpus programs (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per program (default 3)")
    parser.add_argument("--scale-factor", type=float, default=1.0, help="multiply every scale (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="threads of the parallel builds (default 2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per run (default 60)")
    parser.add_argument("--static", action="store_true",
                        help="use ompilot's static suggestions, unverified (default: the verified patch)")
    parser.add_argument("--keep", action="store_true", help="keep the builds, patched sources and gcc remarks")
    parser.add_argument("--details", action="store_true",
                        help="print ompilot's proposals, gcc's parallelized loops and Polly's subfunction count")
    parser.add_argument("--max-others", type=float, default=0.25,
                        help="run a round again when other processes kept more CPUs than this busy (default 0.25)")
    parser.add_argument("--retries", type=int, default=2, help="times a disturbed round is run again (default 2)")
    parser.add_argument("--idle-wait", type=float, default=10.0,
                        help="seconds to wait before each round for other processes to go quiet (default 10)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.threads < 1 or args.scale_factor <= 0 or args.timeout <= 0:
        parser.error("--repeat and --threads must be at least 1, --scale-factor and --timeout positive")
    for tool in ("clang-19", "clang++-19", "gcc", "g++"):
        if shutil.which(tool) is None:
            print(f"compare_autopar: {tool} not found; run scripts/setup.sh", file=sys.stderr)
            return 2
    quiet = ss.Quiet(args.repeat, args.max_others, max(0, args.retries), max(0.0, args.idle_wait))

    names = [n.strip() for n in args.programs.split(",") if n.strip()] if args.programs else None
    if names is None:  # every program in the corpus
        names = [json.loads(t.read_text())["program"] for t in sorted(ss.CORPUS.glob("*.truth.json"))]
    programs = []
    for source, truth in ss.select_programs(names):
        tolerance = Tolerance(**truth["tolerance"]) if truth.get("tolerance") else Tolerance()
        known = source.name in ss.SCALES
        programs.append(Program(source, truth, tolerance, ss.SCALES.get(source.name, 1), calibrated=not known))

    print(f"{len(programs)} programs, {args.repeat} rounds, {args.threads} threads, timeout {args.timeout:g} s; "
          f"load average before: {ss.load_average()}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="ompilot-autopar-"))
    started = time.monotonic()
    try:
        for number, program in enumerate(programs, 1):
            try:
                measure(program, workdir, quiet, args.threads, args.scale_factor, args.timeout,
                        verified=not args.static)
            except Exception as exc:  # keep going: one program's surprise is one row
                program.problem = program.problem or f"{type(exc).__name__}: {exc}"
            print(f"  [{number}/{len(programs)}] {program.name} "
                  f"({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    finally:
        if args.keep:
            print(f"builds, patched sources (ompilot/) and gcc remarks (gcc/*.gcc-opt-info.txt) kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average after: {ss.load_average()}; {time.monotonic() - started:.0f} s")
    print()
    print_report(programs, args.threads)
    if args.details:
        print()
        print_details(programs)
    bad = any(p.problem or ("ompilot" in p.builds and (p.builds["ompilot"].failure or p.builds["ompilot"].wrong))
              for p in programs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
