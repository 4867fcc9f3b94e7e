"""Verifying the suggestions of a whole run, program by program.

Files are grouped by the program that builds them (one configuration, one
serial reference); a file with no way to build and run it gets an error line
that shows the configuration it needs, and keeps no proposals (the caller may
pass --no-verify to keep them unverified).

Several workers (`jobs`) verify proposals at once, best first (`rank`): each
worker checks in its own copy of the program's tree (a copy of the reference
copy, so the serial build is there), its builds, output runs and race runs
sharing the machine, while a timing phase has the machine to itself
(`TimingGate`): no other build or run overlaps it, so its paired runs measure
the program and not its neighbours. A time budget stops new verifications
from starting; the proposals left are withheld with the reason.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable, Iterator

from ompilot.suggest.proposals import FileSuggestions, Proposal

from .cache import VerificationCache
from .evidence import Evidence, Where
from .config import CannotBuild, ConfigError, resolve_config, starter_block
from .runner import Sandbox
from .stages import StageTimes
from .verifier import CheckMemo, FileJob, Program, Verification, VerifyError, verify_alone, verify_together

#: (kind, start, end) of each gated command: kind "check" (a build or run of a
#: check, sharing the machine) or "timing" (a whole timing phase, alone).
CommandObserver = Callable[[str, float, float], None]


@dataclass(frozen=True)
class VerifyOptions:
    tune: bool = True
    jobs: int = 1  # proposals verified at once (timing phases still run alone)
    budget_minutes: float | None = None  # no new verification starts after this
    #: called with each gated command's kind, start and end (time.monotonic): for tests and benchmarks
    observe: CommandObserver | None = None
    clock: Callable[[], float] = time.monotonic  # what the budget is measured with
    #: results of earlier runs (verify/cache.py), or None to verify everything again
    cache: VerificationCache | None = None
    #: wall seconds per stage, summed over the workers (None: each program keeps its own)
    stages: StageTimes | None = None
    #: what runs the verifications (verify/executor.py): None = LocalExecutor, this machine's threads
    executor: object | None = None
    #: builds, output and race checks only, no timing (the Slurm executor's shared-node jobs)
    checks_only: bool = False
    #: checks run before for the (one) program verified, filled with the checks run now;
    #: None: each program starts its own (verifier.CheckMemo)
    memo: CheckMemo | None = None


@dataclass
class VerifyProgress:
    """How far verification is, for a progress bar."""

    files_done: int
    files_total: int
    proposals_done: int
    proposals_total: int
    current: str = ""  # what a worker is checking now
    #: Slurm jobs "queued", "running", "done" (verify/executor.py's SlurmExecutor); empty when local
    jobs: dict[str, int] = field(default_factory=dict)


@dataclass
class VerifySummary:
    #: the files given, in their order, each a new FileSuggestions with the
    #: verification combined in (kept proposals, the rest in `rejected`)
    results: list[FileSuggestions] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    left_unverified: int = 0  # proposals the budget left unverified


def budget_message(minutes: float) -> str:
    return f"not verified: the --budget of {minutes:g} minutes was spent"


class TimingGate:
    """A readers-writer lock: checks' commands share it, a timing phase holds
    it alone (and waiting timing phases go before new checks). The thread
    that holds it alone may run its own commands inside."""

    def __init__(self, observe: CommandObserver | None = None) -> None:
        self._condition = threading.Condition()
        self._sharing = 0
        self._timing_owner: int | None = None
        self._timing_waiting = 0
        self._observe = observe

    @contextmanager
    def check(self) -> Iterator[None]:
        if self._timing_owner == threading.get_ident():
            yield
            return
        with self._condition:
            while self._timing_owner is not None or self._timing_waiting:
                self._condition.wait()
            self._sharing += 1
        with self._held("check", self._end_sharing):
            yield

    @contextmanager
    def timing(self) -> Iterator[None]:
        with self._condition:
            self._timing_waiting += 1
            while self._timing_owner is not None or self._sharing:
                self._condition.wait()
            self._timing_waiting -= 1
            self._timing_owner = threading.get_ident()
        with self._held("timing", self._end_timing):
            yield

    def _end_sharing(self) -> None:
        self._sharing -= 1

    def _end_timing(self) -> None:
        self._timing_owner = None

    @contextmanager
    def _held(self, kind: str, release: Callable[[], None]) -> Iterator[None]:
        """The holder's commands run inside; then `release` (under the lock)
        frees the gate, the waiters wake, and the span is reported as `kind`."""
        start = time.monotonic()
        try:
            yield
        finally:
            end = time.monotonic()
            with self._condition:
                release()
                self._condition.notify_all()
            if self._observe is not None:
                self._observe(kind, start, end)


@dataclass
class GatedProgram(Program):
    """A Program whose commands pass the gate: builds and runs shared, timing alone."""

    gate: TimingGate | None = None

    def build(self, *args, **kwargs):
        return self._shared(Program.build, *args, **kwargs)

    def run(self, *args, **kwargs):
        return self._shared(Program.run, *args, **kwargs)

    def _race_runner(self, *args, **kwargs):
        return self._shared(Program._race_runner, *args, **kwargs)

    def _shared(self, method, *args, **kwargs):
        """`method` of Program, run while sharing the machine with other checks."""
        with self.gate.check():
            return method(self, *args, **kwargs)

    def _time(self, *args, **kwargs):
        with self.gate.timing():
            return super()._time(*args, **kwargs)


class _Workers:
    """The worker copies of one program, each used by one worker at a time:
    the reference, and copies of its tree made right after the serial build
    (so each has the serial executable and no candidate's files)."""

    def __init__(self, programs: list[GatedProgram]) -> None:
        self._free = list(programs)
        self._lock = threading.Lock()

    @contextmanager
    def program(self) -> Iterator[GatedProgram]:
        with self._lock:
            program = self._free.pop()  # never empty: no more copies are in use than workers
        try:
            yield program
        finally:
            with self._lock:
                self._free.append(program)


def _copy(reference: GatedProgram, stack: ExitStack) -> GatedProgram:
    sandbox = stack.enter_context(Sandbox(reference.sandbox.path))
    values = {f.name: getattr(reference, f.name) for f in fields(reference) if f.init}
    # the memo (a CheckMemo) stays shared: a race check one worker ran is not run by another
    values = {name: (value.copy() if isinstance(value, (dict, set, list)) else value)
              for name, value in values.items()}
    return GatedProgram(**{**values, "sandbox": sandbox, "label": ""})


@dataclass
class _FileWork:
    """One file being verified: its proposals are the job's, by position."""

    index: int  # of the file in verify_tree's `results`
    result: FileSuggestions  # as the engine made it: read, never changed
    job: FileJob
    workers: _Workers
    config: object  # the program's ProgramConfig
    outcomes: dict[int, Verification] = field(default_factory=dict)  # position -> what verification found
    kept: list[int] = field(default_factory=list)  # positions kept after the check together, fixes first
    left: int = 0  # proposals the budget left unverified

    def combined(self, where: Where | None = None) -> FileSuggestions:
        """A new FileSuggestions: the kept proposals, the others after the file's earlier rejections."""
        return combine(self.result, self.outcomes, self.kept, where)


def combine(result: FileSuggestions, outcomes: dict[int, Verification], kept: list[int],
            where: Where | None = None) -> FileSuggestions:
    """A new FileSuggestions from the engine's `result`: the proposals at the
    positions `kept` (in that order), the others after its earlier
    rejections, each with its verification; checked evidence records `where`."""
    checked = [located(outcomes[n], where).applied_to(p) for n, p in enumerate(result.proposals)]
    rejected = [p for n, p in enumerate(checked) if n not in kept]
    return replace(result, proposals=[checked[n] for n in kept], rejected=list(result.rejected) + rejected)


def located(outcome: Verification, where: Where | None) -> Verification:
    """`outcome` with `where` in its evidence, when its checks ran and it has none yet."""
    if where is None or not outcome.evidence.checked or outcome.evidence.where is not None:
        return outcome
    return replace(outcome, evidence=replace(outcome.evidence, where=where))


def expected_gain(result: FileSuggestions, proposal: Proposal) -> int:
    """The analysis's work estimate of the proposal's loop (operations of one
    entry), 0 when there is none: what running it in parallel can save."""
    verdicts = result.report.verdicts if result.report is not None else []
    return max((v.work or 0 for v in verdicts if v.loop.line == proposal.line), default=0)


def rank(results: list[FileSuggestions]) -> list[tuple[FileSuggestions, Proposal]]:
    """Every proposal, best expected gain first (ties in the files' order)."""
    pairs = [(r, p) for r in results for p in r.proposals]
    return sorted(pairs, key=lambda pair: -expected_gain(*pair))


def verify_results(results: list[FileSuggestions], progress=None, tune: bool = True, jobs: int = 1,
                   budget_minutes: float | None = None, cache: VerificationCache | None = None) -> VerifySummary:
    """`verify_tree` with the options as keywords."""
    options = VerifyOptions(tune=tune, jobs=jobs, budget_minutes=budget_minutes, cache=cache)
    return verify_tree(results, options, progress)


def verify_tree(results: list[FileSuggestions], options: VerifyOptions, progress: Callable[[str], None] | None = None,
                on_progress: Callable[[VerifyProgress], None] | None = None) -> VerifySummary:
    """Verify every file's proposals. The files given are left as they are:
    the summary's `results` are new ones with the verification combined in.
    `progress(text)` gets each check's current step; `on_progress` the
    counts after each proposal."""
    summary = VerifySummary(results=list(results))
    groups: dict[object, tuple[object, list[tuple[int, FileSuggestions]]]] = {}
    for index, result in enumerate(results):
        if not result.proposals:
            continue
        try:  # the flags after `--` and -p reach the build as they reached the analysis
            config = resolve_config(Path(result.path).resolve(), result.flags, result.build_dir)
        except CannotBuild as exc:
            summary.results[index] = withheld(result, str(exc))
            summary.errors.append(exc.block())
            continue
        except ConfigError as exc:
            summary.results[index] = withheld(result, str(exc))
            summary.errors.append(str(exc))
            continue
        # one program per build, not per directory
        groups.setdefault(config, (config, []))[1].append((index, result))
    if groups:
        executor = options.executor
        if executor is None:
            from .executor import LocalExecutor  # executor.py builds on this module

            executor = LocalExecutor()
        executor.verify_groups(list(groups.values()), options, summary, progress, on_progress)
    return summary


#: files of one program: its configuration, and (index in verify_tree's results, the file's suggestions)
ProgramGroup = tuple[object, list[tuple[int, FileSuggestions]]]


class _Run:
    """One verification of many programs on `options.jobs` workers."""

    def __init__(self, options: VerifyOptions, progress, on_progress, summary: VerifySummary,
                 where: Callable[[object], Where] | None = None) -> None:
        self.options = options
        self.where = where  # a program's configuration -> where its checks ran, recorded in their evidence
        self.progress = progress
        self.on_progress = on_progress
        self.summary = summary
        self.gate = TimingGate(options.observe)
        self.lock = threading.Lock()
        self.started = options.clock()
        self.done = 0
        self.total = 0
        self.files_done = 0
        self.files_total = 0
        self.current = ""

    def _spent(self) -> bool:
        minutes = self.options.budget_minutes
        return minutes is not None and self.options.clock() - self.started >= minutes * 60

    def _say(self, text: str) -> None:
        with self.lock:
            self.current = text
        if self.progress is not None:
            self.progress(text)
        self._report()

    def _report(self) -> None:
        if self.on_progress is not None:
            with self.lock:
                state = VerifyProgress(self.files_done, self.files_total, self.done, self.total, self.current)
            self.on_progress(state)

    def verify(self, groups: list[ProgramGroup]) -> list[_FileWork]:
        """Verifies the groups into the summary; returns the files that were checked."""
        jobs = max(1, self.options.jobs)
        with ExitStack() as stack, ThreadPoolExecutor(max_workers=jobs) as pool:
            files: list[_FileWork] = []
            self.total = sum(len(r.proposals) for _, members in groups for _, r in members)
            self.files_total = sum(len(members) for _, members in groups)
            self._report()
            prepared = list(pool.map(lambda group: self._prepare(group, stack, jobs), groups))
            for (config, members), workers in zip(groups, prepared):
                if isinstance(workers, str):
                    with self.lock:
                        self.done += sum(len(r.proposals) for _, r in members)
                        self.files_done += len(members)
                    for index, result in members:
                        self.summary.results[index] = withheld(result, workers)
                    self.summary.errors.append(f"{config.source or config.root}: cannot verify: {workers}{starter_block(config, workers)}")
                    continue
                for index, result in members:
                    relative = _relative(result.path, config.root)
                    job = FileJob(relative, result.data, list(result.proposals))
                    files.append(_FileWork(index, result, job, workers, config))
            self._report()
            # a file with a race fix goes in one piece: the fix is part of every later check of that file
            units: list[tuple[int, _FileWork, list[int]]] = []
            for work in files:
                gains = [expected_gain(work.result, p) for p in work.job.proposals]
                if any(p.kind == "fix" for p in work.job.proposals):
                    units.append((max(gains), work, list(range(len(gains)))))
                else:
                    units += [(gain, work, [n]) for n, gain in enumerate(gains)]
            units.sort(key=lambda unit: -unit[0])  # stable: ties keep the files' order
            list(pool.map(lambda unit: self._alone(unit[1], unit[2]), units))
            list(pool.map(self._together, files))
        for work in files:
            where = self.where(work.config) if self.where is not None else None
            self.summary.results[work.index] = work.combined(where)
        self.summary.left_unverified += sum(f.left for f in files)
        return files

    def _prepare(self, group, stack: ExitStack, jobs: int) -> _Workers | str:
        config, members = group
        with self.lock:  # ExitStack is not thread-safe
            sandbox = stack.enter_context(Sandbox(config.root))
        memo = self.options.memo if self.options.memo is not None else CheckMemo()
        program = GatedProgram(config=config, sandbox=sandbox, progress=self._say, gate=self.gate,
                               cache=self.options.cache, stages=self.options.stages or StageTimes(), memo=memo,
                               checks_only=self.options.checks_only)
        originals = {_relative(r.path, config.root): r.data for _, r in members}
        try:
            with program.stages.measure("reference"):
                program.prepare(originals)
        except VerifyError as exc:
            return str(exc)
        wanted = min(jobs, sum(len(r.proposals) for _, r in members))
        with self.lock:
            copies = [_copy(program, stack) for _ in range(wanted - 1)]
        return _Workers([program] + copies)

    def _alone(self, work: _FileWork, positions: list[int]) -> None:
        job = work.job
        for n in positions:
            if self._spent():
                outcome = Verification(False, Evidence.not_checked("budget", budget_message(self.options.budget_minutes)))
                with self.lock:
                    work.left += 1
            else:
                with work.workers.program() as program:
                    outcome = verify_alone(program, job, job.proposals[n], n + 1, self.options.tune)
            with self.lock:
                work.outcomes[n] = outcome
                self.done += 1
            self._report()

    def _together(self, work: _FileWork) -> None:
        job = work.job
        accepted = [n for n in range(len(job.proposals)) if work.outcomes[n].accepted]  # in the file's order
        if sum(job.proposals[n].kind != "fix" for n in accepted) > 1:
            with work.workers.program() as program:
                together = verify_together(program, job, [(job.proposals[n], work.outcomes[n]) for n in accepted])
            work.outcomes.update(zip(accepted, together))
            accepted = [n for n in accepted if work.outcomes[n].accepted]
        fixes = [n for n in accepted if job.proposals[n].kind == "fix"]
        work.kept = fixes + [n for n in accepted if n not in fixes]
        with self.lock:
            self.files_done += 1
        self._report()


def _relative(path: str, root: Path) -> str:
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def withheld(result: FileSuggestions, why: str,
             which: Callable[[Proposal], bool] = lambda proposal: True) -> FileSuggestions:
    """A new FileSuggestions in which the proposals of `result` that `which`
    selects (all by default) are turned down, unchecked, for `why` (no way
    to build the program; a model's proposals under --no-verify)."""
    evidence = Evidence.not_checked("setup", why)
    held = [replace(p, verified=False, evidence=evidence) for p in result.proposals if which(p)]
    return replace(result, proposals=[p for p in result.proposals if not which(p)],
                   rejected=list(result.rejected) + held)
