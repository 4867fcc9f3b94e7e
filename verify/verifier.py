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

import difflib
import hashlib
import os
import re
import shlex
import statistics
import time
from typing import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ompilot.analysis.pragmas import directives_in
from ompilot.analysis.syntax import find_omp_pragmas
from ompilot.suggest import patch
from ompilot.suggest.proposals import Edit, Proposal

from . import builds
from . import cache as verification_cache
from . import looptime, races, runfiles
from .compare import Output, Place, describe_places, outputs_difference, varying_numbers
from .config import ProgramConfig
from .evidence import CheckResult, Evidence, RaceReport, RunResult
from .runner import OUTPUT_LIMIT, Sandbox, run_command
from .stages import StageTimes

_COMPILERS = {("clang", "c"): "clang-19", ("clang", "cpp"): "clang++-19", ("gcc", "c"): "gcc", ("gcc", "cpp"): "g++"}
_PARALLEL_FLAGS = "-O3 -fopenmp"
_SERIAL_FLAGS = "-O3"
#: What the serial build adds when the program calls OpenMP's library
#: (omp_get_wtime() to time itself, omp_get_max_threads() to size buffers):
#: clang-19 without -fopenmp leaves the pragmas out, as it should, but does not
#: link libomp either. The library goes in as a file (a link-only input, hence
#: the unused-argument warning off for builds that also compile with {cflags}).
_OPENMP_RUNTIME_CALL = re.compile(r"undefined (?:reference to|symbol:) [`']?(omp_\w+)")
#: Runs of the serial program, per program, after the two of `prepare`: each
#: when a parallel output differs in a number those two printed alike
SERIAL_RERUNS = 3
#: A parallel build must beat serial by this much in the median of paired runs
MIN_GAIN = 0.05
#: ... and win this share of the pairs (see `speed_verdict`).
MIN_FASTER_SHARE = 0.8
#: Fewer pairs decide nothing: 3 of 3 wins happen by chance one time in 8.
MIN_PAIRS = 5
#: "Not faster" is said after this many pairs at the earliest: a loop that wins
#: 80% of its pairs loses the first three together one time in 125.
EARLY_PAIRS = 3
#: A tuning variant replaces the best so far only when this much faster.
TUNE_MARGIN = 1.03
#: Tuning stops when the best so far reaches this share of the ideal speedup
#: (the thread count): what is left is less than the timing noise on a busy machine.
IDEAL_SHARE = 0.9
#: ThreadSanitizer runs 5-15x slower; the output check (run first) catches hangs.
SANITIZER_SLOWDOWN = 15


class VerifyError(Exception):
    """The program itself cannot be built or run: nothing can be verified."""


@dataclass
class Baseline:
    outputs: list[Output]  # per run command: the compared streams and files (config.compare)
    seconds: list[float]
    #: numbers that differed between two serial runs (timings it prints): not compared
    varying: frozenset[Place] = frozenset()


@dataclass
class OutputVerdict:
    """How the output check of one build turned out when it failed (compile failures are not kept)."""

    message: str
    difference: str | None = None


@dataclass
class CheckMemo:
    """The checks already run for one program, by what they checked: the
    race check's runs by the race build's sources and schedule (a schedule
    variant's race build is the same: every pragma gets schedule(runtime), so
    it is not run again under ThreadSanitizer), the output check's verdict by
    the built sources and thread counts (None: the serial output). The Slurm
    executor hands it from the shared-node checks job to the exclusive timing
    job, which then only builds and times."""

    races: dict[bytes, races.RaceCheck | str] = field(default_factory=dict)
    outputs: dict[bytes, OutputVerdict | None] = field(default_factory=dict)

    def update(self, other: CheckMemo) -> None:
        self.races.update(other.races)
        self.outputs.update(other.outputs)


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
    #: wall seconds per stage, filled as the checks run (see `stages`)
    stages: StageTimes = field(default_factory=StageTimes)
    #: verified results of earlier runs (None: verify everything)
    cache: verification_cache.VerificationCache | None = None
    tree: str | None = None  # digest of the tree, for the cache keys (made once)
    #: race and output checks already run for this program (shared by its worker copies)
    memo: CheckMemo = field(default_factory=CheckMemo)
    #: run the builds, output and race checks and no timing (a race check for every
    #: variant too): the Slurm executor's shared-node checks job (verify/executor.py)
    checks_only: bool = False
    #: objects of a compile-database build, per (compiler, flags): a patch rebuilds only its file's
    objects: builds.ObjectStore = field(default_factory=builds.ObjectStore)
    #: runnable threads per core over the last minute (see `busy_share`); a test may pass its own
    machine_load: Callable[[], float] = field(default=lambda: busy_share())
    #: the serial builds' flags: _SERIAL_FLAGS, with libomp linked once `prepare` found the program calls it
    serial_flags: str = _SERIAL_FLAGS
    serial_reruns: int = 0  # of the serial program, to tell a varying number from a wrong one
    #: the unchanged program's races (`_race_key`s), once a candidate showed races; None before
    original_races: set[frozenset[str]] | None = None

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
        return self._counted_build(files, "clang", cflags, "race.exe", command=self.config.race_build)

    @property
    def race_build_label(self) -> str:
        """How the race-check build is named in a rejection."""
        if self.config.race_build:
            return "the race-check build (race_build)"
        given = [k for k in ("race_defines", "race_cflags") if getattr(self.config, k)]
        return f"the race-check build with {' and '.join(given)}" if given else "the race-check build"

    def run(self, exe: str, threads: int | None, env: dict[str, str] | None = None,
            sanitizer: bool = False) -> tuple[list[Output], float, RunResult | None]:
        """Every run command once; the compared outputs, the total seconds, and a failed run if any.

        A run whose compared stdout or stderr was larger than the runner keeps
        counts as failed (`_describe` says so). Each run starts from the same
        tree: what it created in the copy is removed and what it changed or
        deleted is put back (from the user's tree) once its outputs are read."""
        compare = self.config.compare
        outputs: list[Output] = []
        total = 0.0
        several = len(self.config.run) > 1
        for number, template in enumerate(self.config.run, 1):
            prefix = f"run {number} " if several else ""
            command = template.format(exe=shlex.quote(str(self.sandbox.path / exe)))
            full_env = dict(env or {})
            if threads is not None:
                full_env["OMP_NUM_THREADS"] = str(threads)
            before = runfiles.snapshot(self.sandbox.path)
            result = run_command(command, self.sandbox.path, env=full_env, time_limit=self.config.time_limit,
                                 memory_limit_mb=self.config.memory_limit_mb, limit_address_space=not sanitizer)
            total += result.seconds
            changed = runfiles.changes(self.sandbox.path, before)
            try:
                if not result.ok or _too_large(result, compare):
                    return outputs, total, result
                if "stdout" in compare:
                    outputs.append(Output(prefix + "stdout", result.stdout))
                if "stderr" in compare:
                    outputs.append(Output(prefix + "stderr", result.stderr))
                if "files" in compare:
                    outputs += runfiles.files(self.sandbox.path, self.config.files, changed, prefix)
            finally:
                runfiles.undo(self.sandbox.path, self.config.root, changed, keep=self.written)
        return outputs, total, None

    # ------------------------------------------------------------- reference

    def serial_flags_for(self, built: RunResult) -> str | None:
        """The serial build's flags with OpenMP's runtime library linked, when
        `built` failed only for want of it; else None."""
        runtime = races.llvm_library("libomp.so")
        if built.ok or runtime is None or not _OPENMP_RUNTIME_CALL.search(built.stderr + built.stdout):
            return None
        return f"{_SERIAL_FLAGS} -Wno-unused-command-line-argument {shlex.quote(runtime)}"

    def prepare(self, original: dict[str, bytes]) -> Baseline:
        self._say("building the serial reference")
        built = self.build(original, "clang", self.serial_flags, "serial.exe")
        with_runtime = self.serial_flags_for(built)
        if with_runtime is not None:  # the program calls omp_get_wtime() & co.: pragmas off, libomp linked
            self.serial_flags = with_runtime
            built = self.build(original, "clang", self.serial_flags, "serial.exe")
        if not built.ok:
            raise VerifyError(f"the serial build fails: {_first_error(built)}")
        outputs, _, failed = self.run("serial.exe", None)
        if failed is not None:
            raise VerifyError(f"the serial program fails: {_describe(failed)}")
        again, _, _ = self.run("serial.exe", None)
        varying = varying_numbers(outputs, again, self.config.ignore_lines)
        if varying is None:
            streams = [o.name for o, other in zip(outputs, again) if o != other] or ["its outputs"]
            hint = ""
            if set(streams) <= {"stdout", "stderr"} and len(streams) == 1:
                kept = "stderr" if streams == ["stdout"] else "stdout"
                hint = (f"; if {streams[0]} holds varying text, leave its lines out with ignore_lines = [\"...\"] "
                        f"or the stream with compare = [\"{kept}\"] in .ompilot.toml")
            raise VerifyError(f"the serial program's {', '.join(streams)} differs between two runs: it cannot be a "
                              f"reference{hint}")
        self.baseline = Baseline(outputs=outputs, seconds=[], varying=varying)
        return self.baseline

    # ---------------------------------------------------------------- checks

    def check(
        self, files: dict[str, bytes], race_files: dict[str, bytes], timing: bool = True, race: bool = True,
        timed: looptime.TimedBuild | str | None = None, abandon: Callable[[list, list, tuple], bool] | None = None,
    ) -> CheckResult:
        """All four checks of one candidate version of the program (the race
        check can wait, for variants timed before one is chosen). `timed`:
        the instrumented builds that time the changed loops, or why there are
        none (the whole program is timed then). `abandon(pairs)` may stop the
        timing early (a tuning variant clearly slower than the best so far):
        it gets the whole-program pairs, the loop pairs and the loop labels."""
        config = self.config
        for compiler in config.compilers:
            self._say(f"compiling with {compiler}")
            built = self._counted_build(files, compiler, _PARALLEL_FLAGS, f"parallel-{compiler}.exe")
            if not built.ok:
                return CheckResult(False, "compile", f"{compiler} rejects it: {_first_error(built)}")
        result = CheckResult(True, "accepted", "")
        checked = ("output", sorted(files.items()), config.compilers, config.threads)
        digest = hashlib.sha256(repr(checked).encode()).digest()
        if digest not in self.memo.outputs:
            self.memo.outputs[digest] = self._output_check()
        failed = self.memo.outputs[digest]
        result.output_not_compared = self._not_compared()
        if failed is not None:
            result.accepted, result.stage, result.message = False, "output", failed.message
            result.output_difference = failed.difference
            return result
        if race and not self._race_free(race_files, result):
            return result
        if self.checks_only:
            result.message = "the serial output and no race; timed on a node of its own next"
        elif timing:
            self._time(result, timed=timed, abandon=abandon)
        return result

    def _output_check(self) -> OutputVerdict | None:
        """Each compiler's parallel build (built by `check`) with each thread
        count against the serial outputs: the first difference or failure."""
        config = self.config
        self._say("output check")
        for compiler in config.compilers:
            for threads in config.threads:
                with self.stages.measure("output_checks"):
                    outputs, _, failed = self.run(f"parallel-{compiler}.exe", threads)
                self.stages.output_runs += 1
                if failed is not None:
                    return OutputVerdict(f"with {threads} threads ({compiler}): {_describe(failed)}")
                difference = self._difference_from_serial(outputs)
                if difference:
                    return OutputVerdict(f"with {threads} threads ({compiler}) the output differs: {difference}",
                                         difference)
        return None

    def _difference_from_serial(self, outputs: list[Output]) -> str | None:
        """How `outputs` differ from the serial ones, the varying numbers left
        out. A number two serial runs happened to print alike (a timing with
        few decimals) shows up here first: the serial program runs again, and
        if it prints that number differently too, it joins the varying ones
        (at most SERIAL_RERUNS times per program)."""
        while True:
            difference = outputs_difference(self.baseline.outputs, outputs, self.config.tolerance,
                                            self.baseline.varying, self.config.ignore_lines)
            if difference is None or not difference.number or self.serial_reruns >= SERIAL_RERUNS:
                return None if difference is None else str(difference)
            self.serial_reruns += 1
            again, _, failed = self.run("serial.exe", None)
            varying = None if failed is not None else varying_numbers(self.baseline.outputs, again,
                                                                      self.config.ignore_lines)
            if not varying or (difference.stream, difference.line, difference.number) not in varying:
                return str(difference)
            self.baseline.varying = self.baseline.varying | varying

    def _not_compared(self) -> str:
        """What of the outputs the output check leaves out, for the evidence ("" when nothing)."""
        parts = []
        if self.config.ignore_lines:
            parts.append("lines matching " + ", ".join(repr(p) for p in self.config.ignore_lines) + " (ignore_lines)")
        if self.baseline.varying:
            parts.append(f"{describe_places(self.baseline.varying)}, which varied between serial runs")
        return "; ".join(parts)

    def _counted_build(self, files: dict[str, bytes], compiler: str, cflags: str, name: str,
                       command: str = "") -> RunResult:
        with self.stages.measure("builds"):
            built = self.build(files, compiler, cflags, name, command=command)
        self.stages.build_count += 1
        return built

    def _race_free(self, race_files: dict[str, bytes], result: CheckResult) -> bool:
        """`race_files` (pragmas with schedule(runtime)) under ThreadSanitizer
        for every thread count (`race_thread_counts`) and schedule
        (RACE_SCHEDULES): one TSan build for the static schedules each, with
        the schedule written in (`races.pinned_schedule`: the same
        iterations on the same threads, without a runtime call per chunk),
        and the runtime build for the dynamic one. Sources checked before in
        this program are not run again."""
        race = races.RaceCheck(races=[], runs=0, archer_loaded=True)
        known: list[RaceReport] = []  # races the unchanged program shows too
        for schedule, files in races.race_builds(race_files):
            found = self._race_check_once(files, schedule)
            if isinstance(found, str):
                result.accepted, result.stage, result.message = False, "race", found
                return False
            new = found.races
            if new and not found.failures and found.archer_loaded:
                new, seen_before = self._split_known_races(race_files, new)
                listed = {(k.first, k.second) for k in known}  # the same pair seen with other threads: once
                known += [r for r in seen_before if (r.first, r.second) not in listed]
            race.runs += found.runs
            race.races += new
            race.failures += found.failures
            race.archer_loaded &= found.archer_loaded
            if new or found.failures or not found.archer_loaded:
                break
        result.race_runs, result.archer_loaded, result.races = race.runs, race.archer_loaded, race.races
        result.races_in_original = known
        if result.races:
            first = result.races[0]
            result.accepted, result.stage = False, "race"
            result.message = f"data race: {first.first} and {first.second} ({first.threads} threads, {first.schedule})"
            return False
        if not race.archer_loaded or race.failures:
            result.accepted, result.stage = False, "race"
            result.message = "the race check could not run: " + "; ".join(race.failures or ["Archer did not load"])
            return False
        return True

    def _split_known_races(self, race_files: dict[str, bytes],
                           found: list[RaceReport]) -> tuple[list[RaceReport], list[RaceReport]]:
        """`found` split into the races the change brought and those the
        unchanged program (the tree's files) shows too, with the same two
        accesses: their lines mapped back through the change's edits. The
        unchanged program is race-checked once, with every schedule."""
        original = {relative: (self.config.root / relative).read_bytes() for relative in race_files}
        unchanged = {relative: (data, races.runtime_schedules(data.decode("utf-8", errors="surrogateescape")).encode(
            "utf-8", errors="surrogateescape")) for relative, data in original.items()}
        if all(race_files[relative] in views for relative, views in unchanged.items()):
            return found, []  # it is the unchanged program (`ompilot verify` of its pragmas): every race is its own
        if self.original_races is None:
            self.original_races = set()
            for schedule, files in races.race_builds(original):
                checked = self._race_check_once(files, schedule)
                if not isinstance(checked, str):
                    self.original_races |= {_race_key(r, {}) for r in checked.races}
        maps = {relative: _line_map(data, original[relative]) for relative, data in race_files.items()}
        new = [r for r in found if _race_key(r, maps) not in self.original_races]
        return new, [r for r in found if r not in new]

    def _race_check_once(self, files: dict[str, bytes], schedule: str) -> races.RaceCheck | str:
        """`_run_race_check`, answered from the memo when these sources were checked before."""
        digest = hashlib.sha256(repr((schedule, sorted(files.items()))).encode()).digest()
        if digest not in self.memo.races:
            self.memo.races[digest] = self._run_race_check(files, schedule)
        return self.memo.races[digest]

    def _run_race_check(self, race_files: dict[str, bytes], schedule: str) -> races.RaceCheck | str:
        """The race check's runs with one schedule, or why its build fails."""
        config = self.config
        self._say(f"race check (ThreadSanitizer + Archer), schedule {schedule}")
        built = self.build_for_race(race_files)
        if not built.ok:
            return f"{self.race_build_label} fails: {_first_error(built)}"
        with self.stages.measure("race_checks"):
            race = races.check_races(
                self.sandbox.path / "race.exe", list(config.race_run or config.run), self.sandbox.path,
                threads=race_thread_counts(config), runs=config.race_runs,
                schedules=(schedule,), time_limit=config.time_limit * SANITIZER_SLOWDOWN,
                runner=self._race_runner, root=self.sandbox.path,
            )
        self.stages.race_runs += race.runs
        return race

    def _race_runner(self, command: str, cwd: Path, env: dict[str, str], time_limit: float) -> RunResult:
        return run_command(command, cwd, env=env, time_limit=time_limit,
                           memory_limit_mb=self.config.memory_limit_mb, limit_address_space=False)

    def _time(self, result: CheckResult, threads: int = 2, timed: looptime.TimedBuild | str | None = None,
              abandon: Callable[[list, list, tuple], bool] | None = None) -> None:
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
        pairs: list[tuple[float, float]] = []
        loop_runs: list[tuple[dict[str, float], dict[str, float]]] = []

        def measure(exe: str, run_threads: int | None) -> tuple[float, dict[str, float] | None]:
            with self.stages.measure("timing"):
                return self.time_run(exe, run_threads, labels)

        most = 3 * max(self.config.timing_runs, MIN_PAIRS)
        faster: bool | None = None
        while len(pairs) < most:
            if len(pairs) % 2:  # alternate which build runs first
                p, p_loops = measure(parallel_exe, threads)
                s, s_loops = measure(serial_exe, None)
            else:
                s, s_loops = measure(serial_exe, None)
                p, p_loops = measure(parallel_exe, threads)
            pairs.append((s, p))
            self.stages.timing_pairs += 1
            if labels and (s_loops is None or p_loops is None):
                labels = ()  # back to whole-program timing, with the runs made so far
                result.timing_note = ("loop timing unavailable, the whole program was timed: a run wrote no "
                                      "loop times (does it end without exit(), by _exit or a signal?)")
            elif labels:
                loop_runs.append((s_loops, p_loops))
            loop_pairs = [(sum(a.values()), sum(b.values())) for a, b in loop_runs]
            # stop as soon as the test is decided either way ("faster" needs MIN_PAIRS pairs,
            # "not faster" EARLY_PAIRS); the configured pairs are a least only for the "faster" side
            if len(pairs) >= EARLY_PAIRS:
                faster = speed_verdict(loop_pairs if labels else pairs)
                if faster is False or (faster and len(pairs) >= self.config.timing_runs):
                    break
            if abandon is not None and abandon(pairs, loop_pairs, labels):
                result.abandoned = True
                break
        serial, parallel = [s for s, _ in pairs], [p for _, p in pairs]
        result.serial_seconds, result.parallel_seconds, result.threads = serial, parallel, threads
        s, p = statistics.median(serial), statistics.median(parallel)
        result.program_speedup = s / p if p > 0 else None
        if result.abandoned:
            loop_pairs = [(sum(a.values()), sum(b.values())) for a, b in loop_runs] if labels else pairs
            result.speedup = statistics.median(a / b for a, b in loop_pairs if b > 0) if loop_pairs else None
            result.accepted, result.stage = False, "speed"
            result.message = (f"slower than the best variant so far in each of its first {len(pairs)} paired runs "
                              "(timing stopped)")
            return
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

    def time_run(self, exe: str, threads: int | None, labels: tuple[str, ...]) -> tuple[float, dict[str, float] | None]:
        """One timing run: the whole program's seconds and, with `labels`, each
        timed loop's seconds (None when the run wrote none). The one place the
        timing step reads a clock: tests feed known run times here."""
        if not labels:
            return self.run(exe, threads)[1], None
        times = self.sandbox.path.parent / "ompilot-loop-times.txt"
        times.unlink(missing_ok=True)
        seconds = self.run(exe, threads, env={looptime.ENV: str(times)})[1]
        return seconds, looptime.read_times(times, labels)

    def _build_timed(self, timed: looptime.TimedBuild) -> tuple[str, str] | str:
        """The instrumented serial and parallel executables, or why not."""
        serial_exe = self.timed_serial.get(timed.serial)
        if serial_exe is None:
            serial_exe = f"serial-timed-{len(self.timed_serial)}.exe"
            built = self._counted_build({timed.relative: timed.serial}, "clang", self.serial_flags, serial_exe)
            if not built.ok:
                return f"the instrumented serial build fails: {_first_error(built)}"
            self.timed_serial[timed.serial] = serial_exe
        compiler = self.config.compilers[0]
        built = self._counted_build({timed.relative: timed.parallel}, compiler, _PARALLEL_FLAGS, "parallel-timed.exe")
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


def race_thread_counts(config: ProgramConfig) -> tuple[int, ...]:
    """The race check's thread counts: the configured ones and 8 (more
    threads than cores interleave differently)."""
    return tuple(sorted(set(config.threads) | {8}))


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


_ACCESS_PLACE = re.compile(r"^(?P<file>.+):(?P<line>\d+) (?P<kind>\(.*\))$")


def _line_map(changed: bytes, original: bytes) -> dict[int, int]:
    """Line numbers of `changed` -> the same lines' numbers in `original`,
    for the lines the change left as they were (1-based)."""
    matcher = difflib.SequenceMatcher(None, original.splitlines(), changed.splitlines(), autojunk=False)
    return {j + k + 1: i + k + 1 for i, j, size in matcher.get_matching_blocks() for k in range(size)}


def _race_key(report: RaceReport, maps: dict[str, dict[int, int]]) -> frozenset[str]:
    """The race's two accesses as places of the unchanged files ("f.c:12 (write)"):
    a line of a changed file is mapped back through `maps`; a line the change
    wrote has no place there and keeps a mark that matches nothing."""
    places = []
    for access in (report.first, report.second):
        match = _ACCESS_PLACE.match(access)
        if match is None or match["file"] not in maps:
            places.append(access)
            continue
        line = maps[match["file"]].get(int(match["line"]))
        places.append(f"{match['file']}:{line} {match['kind']}" if line else f"changed: {access}")
    return frozenset(places)


def _too_large(result: RunResult, compare: tuple[str, ...]) -> bool:
    """A compared stream was cut by the runner: it cannot be compared."""
    return (("stdout" in compare and result.stdout_bytes > OUTPUT_LIMIT)
            or ("stderr" in compare and result.stderr_bytes > OUTPUT_LIMIT))


def _first_error(result: RunResult) -> str:
    if result.timed_out:
        return "timed out"
    lines = [l for l in result.stderr.splitlines()  # the linker's own words, not the driver's summary of them
             if ("error" in l and "linker command failed" not in l and "ld returned" not in l)
             or "undefined reference" in l] or result.stderr.splitlines() or ["no output"]
    return lines[0].strip()[:300]


def _describe(result: RunResult) -> str:
    if result.ok:  # failed only for its size (`_too_large`)
        stream, size = max((("stdout", result.stdout_bytes), ("stderr", result.stderr_bytes)), key=lambda s: s[1])
        return (f"output larger than {OUTPUT_LIMIT // (1024 * 1024)} MB: it wrote {size / 1e6:.1f} MB to {stream}, "
                f"more than ompilot compares; print less, or leave \"{stream}\" out of 'compare' in the configuration")
    if result.timed_out:
        return "it did not finish within the time limit (hangs?)"
    if result.out_of_memory:
        return "it ran out of memory"
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()] or [""]
    tail = lines[-1][:200]
    if _SHELL_SIGNAL_LINE.match(tail) and len(lines) > 1:  # the shell's "Aborted" says less than the program's last words
        tail = f"{tail}; before it: {lines[-2][:200]}"
    printed = [line.strip() for line in result.stdout.splitlines() if any(c.isalpha() for c in line)]
    if not tail and printed:  # nothing on stderr: the last words it printed on stdout may say why
        tail = f"nothing on stderr; stdout ends with {printed[-1][:200]!r}"
    return f"exit status {result.returncode}" + (f": {tail}" if tail else "")


#: what /bin/sh prints when the program it ran died of a signal
_SHELL_SIGNAL_LINE = re.compile(r"^(?:.*: \d+: )?(?:Aborted|Segmentation fault|Killed|Bus error|Illegal instruction|"
                                r"Floating point exception)(?: \(core dumped\))?$")


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


@dataclass(frozen=True)
class Verification:
    """What verifying one proposal found. The proposal stays as the engine
    made it; the caller combines the two (`applied_to`)."""

    accepted: bool
    evidence: Evidence
    #: tuning's winner: its edits and summary replace the proposal's (None: unchanged)
    edits: tuple[Edit, ...] | None = None
    summary: str | None = None
    #: the proposal's fallback was kept: its kind ("simd") and explanation replace the proposal's
    kind: str | None = None
    explanation: tuple[str, ...] | None = None

    def edits_of(self, proposal: Proposal) -> list[Edit]:
        """The edits verified: the tuned ones, or the proposal's own."""
        return list(self.edits) if self.edits is not None else proposal.edits

    def applied_to(self, proposal: Proposal) -> Proposal:
        """A new Proposal: `proposal` with this verification's outcome."""
        return replace(proposal, verified=self.accepted, evidence=self.evidence, edits=self.edits_of(proposal),
                       summary=self.summary or proposal.summary, kind=self.kind or proposal.kind,
                       explanation=list(self.explanation) if self.explanation is not None else proposal.explanation)


def verify_proposals(program: Program, job: FileJob, tune: bool = True) -> list[Verification]:
    """Check each proposal alone, tune the accepted ones, check them together.

    Returns each proposal's verification, in the job's order (those accepted
    are kept). `verify/session.py` runs the same two steps (`verify_alone`,
    `verify_together`) with proposals of many files on several workers.
    """
    outcomes = [verify_alone(program, job, p, number, tune) for number, p in enumerate(job.proposals, 1)]
    accepted = [(p, v) for p, v in zip(job.proposals, outcomes) if v.accepted]
    together = iter(verify_together(program, job, accepted))
    return [next(together) if v.accepted else v for v in outcomes]


def verify_alone(program: Program, job: FileJob, proposal: Proposal, number: int, tune: bool = True) -> Verification:
    """Check one proposal on its own (then tune it). An accepted race fix
    becomes part of every later check of the file (job.base)."""
    program.label = f"{job.relative}:{proposal.line} {proposal.summary} ({number}/{len(job.proposals)})"
    result = _check_edits(program, job, proposal.edits, fix=proposal.kind == "fix")
    if proposal.kind == "fix" and result.stage == "speed":  # a race fix need not be faster
        result.accepted, result.stage = True, "accepted"
        result.message = f"race-free and the serial output, where the original pragmas were not ({result.message})"
    edits, summary = proposal.edits, None
    # correct but not faster: another schedule or shape may still pay off
    if tune and proposal.variants and (result.accepted or result.stage == "speed"):
        result, edits = _tune(program, job, proposal, result)
        summary = result.chosen or None
    fallback = proposal.fallback
    kept_fallback = False
    # the threads are not faster: a fallback without them (vector lanes) may still be, unless tuning tried it
    tuned_it = tune and fallback is not None and any(v == fallback.edits for _, v in proposal.variants)
    if fallback is not None and not result.accepted and result.stage == "speed" and not tuned_it:
        result, kept_fallback = _fall_back(program, job, proposal, result)
        if kept_fallback:
            edits, summary = fallback.edits, fallback.label
    outcome = Verification(result.accepted, Evidence.of(result),
                           edits=None if edits is proposal.edits else tuple(edits), summary=summary,
                           kind=fallback.kind if kept_fallback else None,
                           explanation=(*fallback.explanation, _not_faster(proposal, result)) if kept_fallback else None)
    if result.accepted and proposal.kind == "fix":
        job.base = list(edits)
    return outcome


def _fall_back(program: Program, job: FileJob, proposal: Proposal, result: CheckResult) -> tuple[CheckResult, bool]:
    """The change was correct but not faster: check its fallback (vector lanes
    without threads) with every check. Returns the result to keep (the
    fallback's when it passes) and whether it is the fallback's."""
    fallback = proposal.fallback
    program.label = f"{job.relative}:{proposal.line} fallback: {fallback.label}"
    checked = _check_edits(program, job, fallback.edits)
    tried = [*(result.tried or [f"{proposal.summary}: {result.message}"]), f"{fallback.label}: {checked.message}"]
    if not checked.accepted:
        result.tried = tried
        return result, False
    checked.tried, checked.chosen = tried, fallback.label
    return checked, True


def _not_faster(proposal: Proposal, result: CheckResult) -> str:
    """Why the proposal's fallback is what was kept."""
    return f"kept instead of '{proposal.summary}', which was not faster: {result.tried[0].split(': ', 1)[-1]}"


def verify_together(program: Program, job: FileJob,
                    accepted: list[tuple[Proposal, Verification]]) -> list[Verification]:
    """The accepted proposals of one file (with their verification alone)
    checked all together (one at a time when together they fail); returns
    their verifications in the same order, those turned down here no longer
    accepted. Fixes are in job.base already: part of every check."""
    final = [v for _, v in accepted]
    changes = [n for n, (p, _) in enumerate(accepted) if p.kind != "fix"]
    if len(changes) <= 1:
        return final
    pairs = [accepted[n] for n in changes]
    program.label = f"{job.relative}: all {len(changes)} accepted proposals together"
    together = _check_edits(program, job, [e for p, v in pairs for e in v.edits_of(p)])
    if together.accepted:
        note = Evidence.of(together)
        checked = [replace(v, evidence=v.evidence.with_together(note)) for _, v in pairs]
    else:
        checked = _greedy(program, job, pairs)
    for n, verification in zip(changes, checked):
        final[n] = verification
    return final


def _check_edits(program: Program, job: FileJob, edits: list[Edit], race: bool = True, fix: bool = False,
                 abandon: Callable[[list, list, tuple], bool] | None = None, race_only: bool = False) -> CheckResult:
    """The checks of the file patched with `edits` (after the job's base
    fixes): all of them, or without the race check, or (`race_only`) the race
    check alone. A result verified earlier on the same tree, patch, flags and
    compilers comes from the program's cache."""
    edits = job.base + [e for e in edits if e not in job.base]
    key = _cache_key(program, job, edits, race, fix, race_only)
    if key is not None:
        found = program.cache.load(key)
        if found is not None:
            result, created = found
            program.stages.cache_hits += 1
            result.cached_from = created
            result.message += f" (verified earlier: cached result from {created.replace('T', ' ')})"
            return result
    before = program.stages.snapshot()
    result = _run_checks(program, job, edits, race, fix, abandon, race_only)
    result.stage_seconds = program.stages.since(before).as_dict()
    if key is not None and not program.checks_only and worth_keeping(result, program.machine_load()):
        program.cache.store(key, result)
    return result


#: Above this many runnable threads per core, a "not faster" verdict says more
#: about the machine than about the change (ompilot's own 2-thread timing runs
#: count for one per core on 2 cores).
BUSY_SHARE = 1.5


def busy_share() -> float:
    """The 1-minute load average per core."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return 0.0


def worth_keeping(result: CheckResult, load: float) -> bool:
    """Should the cache keep this result for the next run? Not an abandoned
    variant (judged against this run's best), and not a "not faster" verdict
    measured on a busy machine: kept, it would turn the change down on every
    later run, however quiet (measured: projects verified beside four other
    jobs, load 4-11 on 2 cores, kept none of their loops on the next run)."""
    if result.abandoned:
        return False
    return not (result.stage == "speed" and load > BUSY_SHARE)


def _cache_key(program: Program, job: FileJob, edits: list[Edit], race: bool, fix: bool,
               race_only: bool) -> str | None:
    if program.cache is None:
        return None
    if program.tree is None:
        program.tree = verification_cache.tree_digest(program.config.root)
    check = verification_cache.CheckKey(
        relative=job.relative, original=job.original, edits=tuple((e.start, e.end, e.text) for e in edits),
        race=race, fix=fix, race_only=race_only, verifier_settings=(_PARALLEL_FLAGS, _SERIAL_FLAGS, tuple(races.SANITIZER_FLAGS),
                                               races.RACE_SCHEDULES, MIN_GAIN, MIN_FASTER_SHARE, MIN_PAIRS),
    )
    return program.cache.key(program.config, program.tree, check)


def _run_checks(program: Program, job: FileJob, edits: list[Edit], race: bool, fix: bool,
                abandon: Callable[[list, list, tuple], bool] | None, race_only: bool) -> CheckResult:
    patched = patch.apply_edits(job.original, edits)
    racy_view = patch.apply_edits(job.original, [replace(e, text=races.runtime_schedules(e.text)) for e in edits])
    # a fix that removes a pragma leaves the file's other pragmas running, if it has any
    threads = _starts_threads(edits) or (fix and bool(find_omp_pragmas(patched)))
    if race_only:
        result = CheckResult(True, "accepted", "race-free")
        if threads:
            program._race_free({job.relative: racy_view}, result)
        return result
    changes = [e for e in edits if e not in job.base]
    timed = "a race fix" if fix else looptime.instrument(job.relative, job.original, edits, changes)
    # a checks-only run checks every variant for races now: the timing job picks among them later
    race = (race or program.checks_only) and threads
    result = program.check({job.relative: patched}, {job.relative: racy_view}, race=race, timed=timed,
                           abandon=abandon)
    if not threads and result.accepted:
        result.message += "; it starts no threads, so there is nothing to race"
    return result


#: constructs that run code on more than one thread (`task...`, `taskloop...` included)
_THREADED = ("parallel", "target", "task", "taskloop", "teams")


def _starts_threads(edits: list[Edit]) -> bool:
    """A change without parallel, target or task constructs (an interchange, a
    lone simd) runs on one thread: ThreadSanitizer has nothing to check."""
    return any(d.names[0] in _THREADED for e in edits for d in directives_in(e.text))


def _tune(program: Program, job: FileJob, proposal: Proposal, best: CheckResult) -> tuple[CheckResult, list[Edit]]:
    """Try the proposal's variants; keep the fastest one that passes every
    check. Returns its result and edits (the proposal's own if none won)."""
    with program.stages.measure("tuning"):
        return _tune_variants(program, job, proposal, best)


def _tune_variants(program: Program, job: FileJob, proposal: Proposal,
                   best: CheckResult) -> tuple[CheckResult, list[Edit]]:
    deadline = time.monotonic() + program.config.tune_seconds
    original, best_edits = best, proposal.edits
    tried = [f"{proposal.summary}: {_seconds(best)}"]
    if _near_ideal(best):
        best.tried = tried + [f"(not tuned: {best.speedup:.2f}x with {best.threads} threads is within "
                              f"{1 - IDEAL_SHARE:.0%} of the ideal {best.threads}x; no variant can be measurably faster)"]
        return best, best_edits
    for label, edits in proposal.variants:
        if time.monotonic() > deadline:
            tried.append("(tuning time used up)")
            break
        if _near_ideal(best):
            tried.append(f"(stopped: {best.chosen} reaches {best.speedup:.2f}x with {best.threads} threads)")
            break
        program.label = f"{job.relative}:{proposal.line} tuning: {label}"
        result = _check_edits(program, job, edits, race=False, abandon=_slower_than(best))
        tried.append(f"{label}: {_seconds(result) if result.accepted else result.message}")
        if result.accepted and result.speedup and (
            not best.accepted or not best.speedup or _faster_than(result, best, TUNE_MARGIN)
        ):
            best, best_edits = result, edits
            best.chosen = label
    if best is not original:  # the winner gets its own race check before it replaces the original
        # (it passed the other checks as a variant; a schedule variant's race build is the
        # original's, whose race check is not run twice)
        confirmed = _check_edits(program, job, best_edits, race_only=True)
        if confirmed.accepted:
            best.race_runs, best.archer_loaded, best.races = (confirmed.race_runs, confirmed.archer_loaded,
                                                              confirmed.races)
        else:
            tried.append(f"{best.chosen}: dropped, {confirmed.message}")
            best, best_edits = original, proposal.edits
    best.tried = tried
    return best, best_edits


def _near_ideal(best: CheckResult) -> bool:
    """The accepted loop already runs at about the thread count's ideal speedup."""
    return bool(best.accepted and best.speedup and best.threads and best.speedup >= IDEAL_SHARE * best.threads)


def _slower_than(best: CheckResult) -> Callable[[list, list, tuple], bool] | None:
    """A variant's timing stops when each of its first EARLY_PAIRS pairs
    shows a lower speedup than `best` (on the loops when both time the same
    loops, else on the whole program): to win it would need to beat best's
    speedup by TUNE_MARGIN in the median of its pairs."""
    if not best.accepted or not best.speedup:
        return None
    best_loops = [l["loop"] for l in best.loops] if best.timed == "loops" else None

    def clearly_slower(pairs: list, loop_pairs: list, labels: tuple) -> bool:
        if labels and best_loops == list(labels):
            ratios, target = [s / p for s, p in loop_pairs if p > 0], best.speedup
        elif best.program_speedup:
            ratios, target = [s / p for s, p in pairs if p > 0], best.program_speedup
        else:
            return False
        return len(ratios) >= EARLY_PAIRS and all(r < target for r in ratios)

    return clearly_slower


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


def _greedy(program: Program, job: FileJob,
            changes: list[tuple[Proposal, Verification]]) -> list[Verification]:
    """Together they failed: add them one at a time, keeping each that still
    passes. Returns their verifications in the same order."""
    kept: list[Edit] = []
    checked: list[Verification] = []
    for proposal, verification in changes:
        edits = verification.edits_of(proposal)
        if _check_edits(program, job, kept + edits).accepted:
            kept += edits
            checked.append(replace(verification, evidence=verification.evidence.with_together("checked one by one")))
        else:
            checked.append(replace(verification, accepted=False, evidence=verification.evidence.with_together(
                "fails together with the proposals before it")))
    return checked


def environment_ready() -> str | None:
    """None when the race checker can run here, else what is missing."""
    library = races.race_environment(2, None).get("OMP_TOOL_LIBRARIES", "")
    if not library or not os.path.exists(library):
        return "LLVM's Archer (libarcher.so from libomp-19-dev) is missing; run scripts/setup.sh"
    return None
