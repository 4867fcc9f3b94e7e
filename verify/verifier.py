"""Proving suggestions on the machine in front of us.

For a program (its configuration says how to build and run it) the serial
build is the reference: its outputs and its run time. Each proposal is then
applied alone to a copy of the tree and must

  1. compile (clang-19, and gcc when the configuration asks);
  2. print the serial outputs (exact text and integers, floats within the
     tolerance) with every thread count (this also catches hangs early);
  3. show no race under ThreadSanitizer with LLVM's Archer, over several
     thread counts and schedules (the pragmas are built with
     schedule(runtime) so OMP_SCHEDULE can vary them);
  4. run faster than serial beyond the noise (paired runs, `speed_verdict`):
     the changed loops themselves are timed (`looptime` puts a clock around
     each one in separate serial and parallel builds), and the whole program
     must not be slower; the whole program is timed instead when the change
     has no parallel directive (an interchange, a simd) or the clocks cannot
     be built.

Accepted proposals are tuned (schedule, collapse, tile sizes: the fastest
verified variant wins, within a time budget) and finally checked all
together. Nothing is written outside a temporary copy of the tree.
"""

from __future__ import annotations

import os
import shlex
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ompilot.suggest import patch
from ompilot.suggest.model import Edit, Proposal

from . import builds, looptime, races
from .compare import output_difference
from .model import CheckResult, ProgramConfig, RunResult
from .runner import Sandbox, run_command

_COMPILERS = {("clang", "c"): "clang-19", ("clang", "cpp"): "clang++-19", ("gcc", "c"): "gcc", ("gcc", "cpp"): "g++"}
_PARALLEL_FLAGS = "-O3 -fopenmp"
_SERIAL_FLAGS = "-O3"
#: A parallel build must beat serial by this much in the median of paired runs
MIN_GAIN = 0.05
#: ... and win this share of the pairs (see `speed_verdict`).
MIN_FASTER_SHARE = 0.8
#: Fewer pairs decide nothing: 3 of 3 wins happen by chance one time in 8.
MIN_PAIRS = 5
#: ThreadSanitizer runs 5-15x slower; the output check (run first) catches hangs.
SANITIZER_SLOWDOWN = 15


class VerifyError(Exception):
    """The program itself cannot be built or run: nothing can be verified."""


@dataclass
class Baseline:
    outputs: list[str]  # per run command: stdout, then each output file
    seconds: list[float]


@dataclass
class Program:
    """One program's reference build and the checks of candidate versions of it."""

    config: ProgramConfig
    sandbox: Sandbox
    progress: object | None = None  # callable(str) for a terminal, or None
    baseline: Baseline | None = None
    written: set[str] = field(default_factory=set)  # files of the copy that differ from the tree
    label: str = ""  # what is being checked, for the progress line
    #: instrumented serial builds already made: their source -> executable
    timed_serial: dict[bytes, str] = field(default_factory=dict)
    #: objects of a compile-database build, per (compiler, flags): a patch rebuilds only its file's
    objects: builds.ObjectStore = field(default_factory=builds.ObjectStore)

    # ------------------------------------------------------------- building

    def _say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(f"{self.label}: {text}" if self.label else text)

    def build(self, files: dict[str, bytes], compiler: str, cflags: str, name: str, command: str = "") -> RunResult:
        """Write `files` into the copy (restoring files an earlier build changed) and build:
        with `command` (a build template) if given, else the configured `build`, else
        (no `build`) the compile database's units, recompiling only what changed."""
        for relative in self.written - set(files):
            self.sandbox.write(relative, (self.config.root / relative).read_bytes())
        for relative, data in files.items():
            self.sandbox.write(relative, data)
        self.written = set(files)
        out = self.sandbox.path / name
        template = command or self.config.build
        if not template and isinstance(self.config.program, builds.ProgramBuild):
            return builds.build_program(
                self.config.program, self.sandbox.path, compiler, cflags, out, files, self.objects,
                time_limit=self.config.time_limit, memory_limit_mb=self.config.memory_limit_mb,
            )
        cc = _COMPILERS[(compiler, self.config.language)]
        command = template.format(cc=cc, cflags=cflags, out=shlex.quote(str(out)))
        return run_command(command, self.sandbox.path, time_limit=self.config.time_limit,
                           memory_limit_mb=self.config.memory_limit_mb)

    def build_for_race(self, files: dict[str, bytes]) -> RunResult:
        """The race-check build: the sanitizer flags, plus `race_defines`/`race_cflags`
        (a smaller problem size chosen at compile time), with `race_build` if given."""
        extra = [f"-D{d}" for d in self.config.race_defines] + shlex.split(self.config.race_cflags)
        cflags = " ".join([*races.SANITIZER_FLAGS, *(shlex.quote(f) for f in extra)])
        return self.build(files, "clang", cflags, "race.exe", command=self.config.race_build)

    @property
    def race_build_label(self) -> str:
        """How the race-check build is named in a rejection."""
        if self.config.race_build:
            return "the race-check build (race_build)"
        given = [k for k in ("race_defines", "race_cflags") if getattr(self.config, k)]
        return f"the race-check build with {' and '.join(given)}" if given else "the race-check build"

    def run(self, exe: str, threads: int | None, env: dict[str, str] | None = None,
            sanitizer: bool = False) -> tuple[list[str], float, RunResult | None]:
        """Every run command once; the outputs, the total seconds, and a failed run if any."""
        outputs: list[str] = []
        total = 0.0
        for template in self.config.run:
            command = template.format(exe=shlex.quote(str(self.sandbox.path / exe)))
            full_env = dict(env or {})
            if threads is not None:
                full_env["OMP_NUM_THREADS"] = str(threads)
            result = run_command(command, self.sandbox.path, env=full_env, time_limit=self.config.time_limit,
                                 memory_limit_mb=self.config.memory_limit_mb, limit_address_space=not sanitizer)
            total += result.seconds
            if not result.ok:
                return outputs, total, result
            outputs.append(result.stdout)
            for name in self.config.files:
                path = self.sandbox.path / name
                outputs.append(path.read_text(errors="replace") if path.exists() else "<missing>")
        return outputs, total, None

    # ------------------------------------------------------------- reference

    def prepare(self, original: dict[str, bytes]) -> Baseline:
        self._say("building the serial reference")
        built = self.build(original, "clang", _SERIAL_FLAGS, "serial.exe")
        if not built.ok:
            raise VerifyError(f"the serial build fails: {_first_error(built)}")
        outputs, _, failed = self.run("serial.exe", None)
        if failed is not None:
            raise VerifyError(f"the serial program fails: {_describe(failed)}")
        again, _, _ = self.run("serial.exe", None)
        if again != outputs:
            raise VerifyError("the serial program's output differs between two runs: it cannot be a reference")
        self.baseline = Baseline(outputs=outputs, seconds=[])
        return self.baseline

    # ---------------------------------------------------------------- checks

    def check(
        self, files: dict[str, bytes], race_files: dict[str, bytes], timing: bool = True, race: bool = True,
        timed: looptime.TimedBuild | str | None = None,
    ) -> CheckResult:
        """All four checks of one candidate version of the program (the race
        check can wait, for variants timed before one is chosen). `timed`:
        the instrumented builds that time the changed loops, or why there are
        none (the whole program is timed then)."""
        config = self.config
        for compiler in config.compilers:
            self._say(f"compiling with {compiler}")
            built = self.build(files, compiler, _PARALLEL_FLAGS, f"parallel-{compiler}.exe")
            if not built.ok:
                return CheckResult(False, "compile", f"{compiler} rejects it: {_first_error(built)}")
        result = CheckResult(True, "accepted", "")
        self._say("output check")
        for compiler in config.compilers:  # the executables built in step 1
            for threads in config.threads:
                outputs, _, failed = self.run(f"parallel-{compiler}.exe", threads)
                if failed is not None:
                    result.accepted, result.stage = False, "output"
                    result.message = f"with {threads} threads ({compiler}): {_describe(failed)}"
                    return result
                difference = _difference(self.baseline.outputs, outputs, config)
                if difference:
                    result.accepted, result.stage, result.output_difference = False, "output", difference
                    result.message = f"with {threads} threads ({compiler}) the output differs: {difference}"
                    return result
        if race and not self._race_free(race_files, result):
            return result
        if timing:
            self._time(result, timed=timed)
        return result

    def _race_free(self, race_files: dict[str, bytes], result: CheckResult) -> bool:
        config = self.config
        self._say("race check (ThreadSanitizer + Archer)")
        built = self.build_for_race(race_files)
        if not built.ok:
            result.accepted, result.stage = False, "race"
            result.message = f"{self.race_build_label} fails: {_first_error(built)}"
            return False
        race = races.check_races(
            self.sandbox.path / "race.exe", list(config.race_run or config.run), self.sandbox.path,
            threads=tuple(sorted(set(config.threads) | {8})), runs=config.race_runs,
            schedules=races.RACE_SCHEDULES, time_limit=config.time_limit * SANITIZER_SLOWDOWN, runner=self._race_runner,
            root=self.sandbox.path,
        )
        result.race_runs, result.archer_loaded, result.races = race.runs, race.archer_loaded, race.races
        if race.races:
            first = race.races[0]
            result.accepted, result.stage = False, "race"
            result.message = f"data race: {first.first} and {first.second} ({first.threads} threads, {first.schedule})"
            return False
        if not race.archer_loaded or race.failures:
            result.accepted, result.stage = False, "race"
            result.message = "the race check could not run: " + "; ".join(race.failures or ["Archer did not load"])
            return False
        return True

    def _race_runner(self, command: str, cwd: Path, env: dict[str, str], time_limit: float) -> RunResult:
        return run_command(command, cwd, env=env, time_limit=time_limit,
                           memory_limit_mb=self.config.memory_limit_mb, limit_address_space=False)

    def _time(self, result: CheckResult, threads: int = 2, timed: looptime.TimedBuild | str | None = None) -> None:
        """Serial and parallel runs in pairs, so a load change hits both alike;
        more pairs while the verdict is open (see `speed_verdict`). With
        `timed` builds, the verdict is on the changed loops' own seconds, and
        the whole program must not be slower beyond the noise."""
        self._say("timing serial and parallel builds")
        serial_exe, parallel_exe = "serial.exe", f"parallel-{self.config.compilers[0]}.exe"
        labels: tuple[str, ...] = ()
        if isinstance(timed, looptime.TimedBuild):
            built = self._build_timed(timed)
            if isinstance(built, str):
                result.timing_note = f"loop timing unavailable, the whole program was timed: {built}"
            else:
                (serial_exe, parallel_exe), labels = built, timed.labels
        elif timed:
            result.timing_note = f"the whole program was timed: {timed}"
        times = self.sandbox.path.parent / "ompilot-loop-times.txt"
        pairs: list[tuple[float, float]] = []
        loop_runs: list[tuple[dict[str, float], dict[str, float]]] = []

        def measure(exe: str, run_threads: int | None) -> tuple[float, dict[str, float] | None]:
            if not labels:
                return self.run(exe, run_threads)[1], None
            times.unlink(missing_ok=True)
            seconds = self.run(exe, run_threads, env={looptime.ENV: str(times)})[1]
            return seconds, looptime.read_times(times, labels)

        wanted = self.config.timing_runs
        while True:
            while len(pairs) < wanted:
                if len(pairs) % 2:  # alternate which build runs first
                    p, p_loops = measure(parallel_exe, threads)
                    s, s_loops = measure(serial_exe, None)
                else:
                    s, s_loops = measure(serial_exe, None)
                    p, p_loops = measure(parallel_exe, threads)
                pairs.append((s, p))
                if labels and (s_loops is None or p_loops is None):
                    labels = ()  # back to whole-program timing, with the runs made so far
                    result.timing_note = ("loop timing unavailable, the whole program was timed: a run wrote no "
                                          "loop times (does it end without exit(), by _exit or a signal?)")
                elif labels:
                    loop_runs.append((s_loops, p_loops))
            loop_pairs = [(sum(a.values()), sum(b.values())) for a, b in loop_runs]
            faster = speed_verdict(loop_pairs if labels else pairs)
            if faster is not None or wanted >= 3 * max(self.config.timing_runs, MIN_PAIRS):
                break
            wanted += 2
        serial, parallel = [s for s, _ in pairs], [p for _, p in pairs]
        result.serial_seconds, result.parallel_seconds, result.threads = serial, parallel, threads
        s, p = statistics.median(serial), statistics.median(parallel)
        result.program_speedup = s / p if p > 0 else None
        if labels:
            self._judge_loops(result, labels, loop_runs, pairs, faster, threads)
            return
        result.speedup = result.program_speedup
        note = f" ({result.timing_note})" if isinstance(timed, looptime.TimedBuild) else ""
        if faster:
            result.message = f"{result.speedup:.2f}x faster with {threads} threads ({s:.3f} s -> {p:.3f} s){note}"
        else:
            ahead = sum(b < a for a, b in pairs)
            result.accepted, result.stage = False, "speed"
            result.message = (f"not faster than serial beyond the noise: {s:.3f} s serial, {p:.3f} s with "
                              f"{threads} threads (faster in {ahead} of {len(pairs)} paired runs; needs "
                              f"{MIN_FASTER_SHARE:.0%} of them and a median gain of {MIN_GAIN:.0%}){note}")

    def _build_timed(self, timed: looptime.TimedBuild) -> tuple[str, str] | str:
        """The instrumented serial and parallel executables, or why not."""
        serial_exe = self.timed_serial.get(timed.serial)
        if serial_exe is None:
            serial_exe = f"serial-timed-{len(self.timed_serial)}.exe"
            built = self.build({timed.relative: timed.serial}, "clang", _SERIAL_FLAGS, serial_exe)
            if not built.ok:
                return f"the instrumented serial build fails: {_first_error(built)}"
            self.timed_serial[timed.serial] = serial_exe
        compiler = self.config.compilers[0]
        built = self.build({timed.relative: timed.parallel}, compiler, _PARALLEL_FLAGS, "parallel-timed.exe")
        if not built.ok:
            return f"the instrumented parallel build fails ({compiler}): {_first_error(built)}"
        return serial_exe, "parallel-timed.exe"

    def _judge_loops(self, result: CheckResult, labels: tuple[str, ...], loop_runs, pairs, faster: bool | None,
                     threads: int) -> None:
        """The verdict on the loops' own seconds, guarded by the whole program's."""
        loop_pairs = [(sum(a.values()), sum(b.values())) for a, b in loop_runs]
        result.timed = "loops"
        result.loop_serial_seconds = [s for s, _ in loop_pairs]
        result.loop_parallel_seconds = [p for _, p in loop_pairs]
        result.loops = [
            {"loop": label,
             "serial_seconds": statistics.median(a[label] for a, _ in loop_runs),
             "parallel_seconds": statistics.median(b[label] for _, b in loop_runs)}
            for label in labels
        ]
        ls, lp = statistics.median(result.loop_serial_seconds), statistics.median(result.loop_parallel_seconds)
        result.speedup = ls / lp if lp > 0 else None
        s, p = statistics.median(result.serial_seconds), statistics.median(result.parallel_seconds)
        where = f"loop{'s' if len(labels) > 1 else ''} {', '.join(labels)}"
        whole = f"whole program {_secs(s)} s -> {_secs(p)} s"
        slower = speed_verdict([(b, a) for a, b in pairs])  # the same test, the other way round
        if faster and not slower:
            result.message = (f"{where}: {result.speedup:.1f}x faster with {threads} threads "
                              f"({_secs(ls)} s -> {_secs(lp)} s per run); {whole}")
            return
        result.accepted, result.stage = False, "speed"
        if faster:
            behind = sum(b > a for a, b in pairs)
            result.message = (f"not faster as a whole: {where} {'are' if len(labels) > 1 else 'is'} "
                              f"{result.speedup:.1f}x faster with {threads} threads, but the whole program is slower "
                              f"beyond the noise: {_secs(s)} s -> {_secs(p)} s (slower in {behind} of {len(pairs)} "
                              "paired runs)")
            return
        ahead = sum(b < a for a, b in loop_pairs)
        result.message = (f"not faster than serial beyond the noise: {where}: {_secs(ls)} s serial, {_secs(lp)} s "
                          f"with {threads} threads per run (faster in {ahead} of {len(loop_pairs)} paired runs; "
                          f"needs {MIN_FASTER_SHARE:.0%} of them and a median gain of {MIN_GAIN:.0%}); {whole}")


def speed_verdict(pairs: list[tuple[float, float]]) -> bool | None:
    """Is the parallel build faster? True, False, or None while undecided.

    Each pair is one serial and one parallel run made back to back. Faster
    means: the median of parallel/serial is at most 1 - MIN_GAIN and the
    parallel run won at least MIN_FASTER_SHARE of the pairs (a sign test,
    which one disturbed run cannot sway the way a mean or a spread can).
    Clearly not faster: the median ratio is above 1 - MIN_GAIN / 2, or the
    parallel run won at most half of the pairs. "Faster" needs MIN_PAIRS
    pairs at least; "not faster" may be said sooner.
    """
    ratios = [p / s for s, p in pairs if s > 0]
    if not ratios:
        return False
    median = statistics.median(ratios)
    share = sum(r < 1 for r in ratios) / len(ratios)
    if median > 1 - MIN_GAIN / 2 or share <= 0.5:
        return False
    if median <= 1 - MIN_GAIN and share >= MIN_FASTER_SHARE and len(ratios) >= MIN_PAIRS:
        return True
    return None


def _secs(seconds: float) -> str:
    """Two significant digits below a second (0.0063), two decimals above."""
    return f"{seconds:.2f}" if seconds >= 1 else f"{seconds:.2g}"


def _difference(expected: list[str], actual: list[str], config: ProgramConfig) -> str | None:
    if len(expected) != len(actual):
        return f"{len(actual)} outputs instead of {len(expected)}"
    for index, (want, got) in enumerate(zip(expected, actual)):
        problem = output_difference(want, got, config.tolerance)
        if problem:
            return f"output {index + 1}: {problem}"
    return None


def _first_error(result: RunResult) -> str:
    if result.timed_out:
        return "timed out"
    lines = [l for l in result.stderr.splitlines()  # the linker's own words, not the driver's summary of them
             if ("error" in l and "linker command failed" not in l and "ld returned" not in l)
             or "undefined reference" in l] or result.stderr.splitlines() or ["no output"]
    return lines[0].strip()[:300]


def _describe(result: RunResult) -> str:
    if result.timed_out:
        return "it did not finish within the time limit (hangs?)"
    if result.out_of_memory:
        return "it ran out of memory"
    tail = (result.stderr.strip().splitlines() or [""])[-1][:200]
    return f"exit status {result.returncode}" + (f": {tail}" if tail else "")


# --------------------------------------------------------------- proposals


@dataclass
class FileJob:
    """The proposals of one source file inside a program's tree."""

    relative: str  # path of the file inside config.root
    original: bytes
    proposals: list[Proposal]
    #: edits every check includes: an accepted fix of the file's racy pragmas,
    #: without which no other change could show the serial output
    base: list[Edit] = field(default_factory=list)


def verify_proposals(program: Program, job: FileJob, tune: bool = True) -> list[Proposal]:
    """Check each proposal alone, tune the accepted ones, check them together.

    Returns the accepted proposals (with their evidence); every proposal's
    `verified` and `evidence` are set.
    """
    accepted: list[Proposal] = []
    for number, proposal in enumerate(job.proposals, 1):
        program.label = f"{job.relative}:{proposal.line} {proposal.summary} ({number}/{len(job.proposals)})"
        result = _check_edits(program, job, proposal.edits, fix=proposal.kind == "fix")
        if proposal.kind == "fix" and result.stage == "speed":  # a race fix need not be faster
            result.accepted, result.stage = True, "accepted"
            result.message = f"race-free and the serial output, where the original pragmas were not ({result.message})"
        # correct but not faster: another schedule or shape may still pay off
        if tune and proposal.variants and (result.accepted or result.stage == "speed"):
            result = _tune(program, job, proposal, result)
        proposal.verified = result.accepted
        proposal.evidence = result.evidence()
        if result.accepted:
            accepted.append(proposal)
            if proposal.kind == "fix":
                job.base = list(proposal.edits)
    fixes = [p for p in accepted if p.kind == "fix"]  # in job.base: part of every check below
    changes = [p for p in accepted if p.kind != "fix"]
    if len(changes) > 1:
        program.label = f"{job.relative}: all {len(changes)} accepted proposals together"
        together = _check_edits(program, job, [e for p in changes for e in p.edits])
        if not together.accepted:
            changes = _greedy(program, job, changes)
        for p in changes:
            p.evidence["together"] = together.evidence() if together.accepted else "checked one by one"
    return fixes + changes


def _check_edits(program: Program, job: FileJob, edits: list[Edit], race: bool = True, fix: bool = False) -> CheckResult:
    edits = job.base + [e for e in edits if e not in job.base]
    patched = patch.apply_edits(job.original, edits)
    racy_view = patch.apply_edits(job.original, [replace(e, text=_runtime_schedules(e.text)) for e in edits])
    # a fix that removes a pragma leaves the file's other pragmas running, if it has any
    threads = _starts_threads(edits) or (fix and b"#pragma omp" in patched)
    changes = [e for e in edits if e not in job.base]
    timed = "a race fix" if fix else looptime.instrument(job.relative, job.original, edits, changes)
    result = program.check({job.relative: patched}, {job.relative: racy_view}, race=race and threads, timed=timed)
    if not threads and result.accepted:
        result.message += "; it starts no threads, so there is nothing to race"
    return result


def _starts_threads(edits: list[Edit]) -> bool:
    """A change without parallel, target or task constructs (an interchange, a
    lone simd) runs on one thread: ThreadSanitizer has nothing to check."""
    return any(f"omp {word}" in e.text for e in edits for word in ("parallel", "target", "task"))


def _runtime_schedules(text: str) -> str:
    return "".join(
        races.runtime_schedule(line) if "#pragma omp" in line else line for line in text.splitlines(keepends=True)
    )


def _tune(program: Program, job: FileJob, proposal: Proposal, best: CheckResult) -> CheckResult:
    """Try the proposal's variants; keep the fastest one that passes every check."""
    deadline = time.monotonic() + program.config.tune_seconds
    original, best_edits = best, proposal.edits
    tried = [f"{proposal.summary}: {_seconds(best)}"]
    for label, edits in proposal.variants:
        if time.monotonic() > deadline:
            tried.append("(tuning time used up)")
            break
        program.label = f"{job.relative}:{proposal.line} tuning: {label}"
        result = _check_edits(program, job, edits, race=False)
        tried.append(f"{label}: {_seconds(result) if result.accepted else result.message}")
        if result.accepted and result.speedup and (
            not best.accepted or not best.speedup or _faster_than(result, best, 1.03)
        ):
            best, best_edits = result, edits
            best.chosen = label
    if best is not original:  # the winner gets its own race check before it replaces the original
        confirmed = _check_edits(program, job, best_edits)
        if confirmed.accepted:
            confirmed.chosen, best = best.chosen, confirmed
        else:
            tried.append(f"{best.chosen}: dropped, {confirmed.message}")
            best, best_edits = original, proposal.edits
    best.tried = tried
    proposal.edits = best_edits
    if best.chosen:
        proposal.summary = best.chosen
    return best


def _faster_than(result: CheckResult, best: CheckResult, margin: float) -> bool:
    """Compares loop speedups when both timed the same loops (a schedule or
    collapse variant), else the whole program's (a region against separate
    loops times different statements)."""
    if result.timed == best.timed == "loops" and [l["loop"] for l in result.loops] == [l["loop"] for l in best.loops]:
        return result.speedup > best.speedup * margin
    if result.program_speedup is None or best.program_speedup is None:
        return False
    return result.program_speedup > best.program_speedup * margin


def _seconds(result: CheckResult) -> str:
    if result.speedup is None:
        return result.message
    if result.timed == "loops":
        return f"{_secs(statistics.median(result.loop_parallel_seconds))} s in the loops ({result.speedup:.2f}x)"
    return f"{statistics.median(result.parallel_seconds):.3f} s ({result.speedup:.2f}x)"


def _greedy(program: Program, job: FileJob, accepted: list[Proposal]) -> list[Proposal]:
    """Together they failed: add them one at a time, keeping each that still passes."""
    kept: list[Proposal] = []
    for proposal in accepted:
        edits = [e for p in kept + [proposal] for e in p.edits]
        if _check_edits(program, job, edits).accepted:
            kept.append(proposal)
        else:
            proposal.verified = False
            proposal.evidence["together"] = "fails together with the proposals before it"
    return kept


def environment_ready() -> str | None:
    """None when the race checker can run here, else what is missing."""
    library = races.race_environment(2, None).get("OMP_TOOL_LIBRARIES", "")
    if not library or not os.path.exists(library):
        return "LLVM's Archer (libarcher.so from libomp-19-dev) is missing; run scripts/setup.sh"
    return None
