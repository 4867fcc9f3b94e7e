"""What runs the verifications: this machine's threads, or Slurm jobs.

`verify/session.py` groups the files by program and hands the groups to an
executor (`VerifyOptions.executor`); it does not know which one runs them:

    LocalExecutor()   today's behaviour: worker threads on this machine, the
                      timing phases alone (session.TimingGate)
    SlurmExecutor(s)  Slurm jobs on compute nodes, each running
                      `python -m ompilot.verify.worker JOB_DIR` (the same
                      Python and project, on the directory the login and
                      compute nodes share) and writing its verifications as
                      JSON into the job directory; this process polls, reads
                      them back and combines them, program by program:

      checks jobs  `checks_per_job` proposals of one file each (a file with a
                   race fix whole): builds, output checks and race checks of
                   every proposal and tuning variant, no timing; they share
                   nodes (`check_cpus` CPUs each), so many run at once. What
                   they found (verifier.CheckMemo, pickled) is merged for
      timing jobs  one per file with proposals that passed, each on a node of
                   its own (`--exclusive`): builds and times them, tunes them
                   and checks them together as the local executor does, the
                   output and race checks read from the memo (only a
                   combination the checks jobs did not see is race-checked
                   here).

Both use the same thread counts: the configured ones, else those of the
partition's smallest node. A job that Slurm (or someone) cancelled,
pre-empted or lost with its node is submitted once more; one whose own
command failed, or that ran over its time limit, is not. Ctrl-C
(KeyboardInterrupt) cancels every job submitted and removes their
directories.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable, Protocol

from ompilot.suggest.proposals import Edit

from . import slurm
from .evidence import Evidence, LoopTiming, RaceEvidence, RaceReport, Timing, Where
from .runner import SANDBOX_MARK
from .session import ProgramGroup, VerifyOptions, VerifyProgress, VerifySummary, _Run, budget_message, combine
from .verifier import CheckMemo, Verification

#: Slurm states after which the same job is worth submitting again: it was
#: stopped from outside, not by its own command or its time limit
RETRIED_STATES = frozenset({"CANCELLED", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL", "REVOKED", "REQUEUED"})
INPUT, RESULT, MEMO = "input.pickle", "result.json", "memo.pickle"


class Executor(Protocol):
    """Runs the verification of program groups into a summary (see session.verify_tree)."""

    def verify_groups(self, groups: list[ProgramGroup], options: VerifyOptions, summary: VerifySummary,
                      progress: Callable[[str], None] | None,
                      on_progress: Callable[[VerifyProgress], None] | None) -> None: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Worker threads on this machine (`options.jobs`); evidence records this host."""

    def verify_groups(self, groups, options, summary, progress=None, on_progress=None) -> None:
        def here(config) -> Where:
            return Where.this_machine("local", threads=tuple(config.threads))

        _Run(options, progress, on_progress, summary, where=here).verify(groups)

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- the verifications as JSON -------------------------------------------------------

_TYPES = {cls.__name__: cls for cls in (Verification, Evidence, RaceEvidence, RaceReport, Timing, LoopTiming,
                                          Where, Edit)}


def to_plain(value):
    """A verification (its evidence, edits) as JSON-ready data: dataclasses
    tagged with their class name, tuples as lists."""
    if type(value).__name__ in _TYPES and type(value) is _TYPES[type(value).__name__]:
        return {"__type__": type(value).__name__,
                **{f.name: to_plain(getattr(value, f.name)) for f in fields(value)}}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


def from_plain(value):
    """The inverse of to_plain (every list a tuple, as the frozen types hold them)."""
    if isinstance(value, dict):
        if "__type__" in value:
            cls = _TYPES[value["__type__"]]
            return cls(**{k: from_plain(v) for k, v in value.items() if k != "__type__"})
        return {k: from_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(from_plain(v) for v in value)
    return value


# --- Slurm -----------------------------------------------------------------------------

CHECKS, TIMING = "checks", "timing"


@dataclass(frozen=True)
class WorkerInput:
    """What a job verifies: one program's files, as the engine made them (pickled: same Python, same code)."""

    config: object  # ProgramConfig
    results: list  # FileSuggestions, the group's files in order
    tune: bool
    budget_minutes: float | None
    use_cache: bool
    threads: tuple[int, ...]  # to check and time with, as the lead chose them for the partition's nodes
    stage: str = CHECKS  # CHECKS: builds, output and race checks; TIMING: builds and timing, the checks from `memo`
    memo: CheckMemo | None = None  # the checks job's, for the timing job


@dataclass(frozen=True)
class JobHistory:
    """A finished job of the executor: what it ran and how many runs of each kind it made."""

    job_id: str
    stage: str
    exclusive: bool
    state: str
    reason: str  # Slurm's (TimeLimit, ...), "" when it has none
    node: str
    seconds: float | None  # how long it ran, when Slurm or its status file says
    runs: dict = field(default_factory=dict)  # "builds", "output", "race": counts (empty if it wrote no result)


@dataclass
class _Program:
    """One program's verification through Slurm: its checks jobs, then its timing jobs."""

    group: ProgramGroup
    threads: tuple[int, ...]
    memo: CheckMemo = field(default_factory=CheckMemo)  # every checks job's, merged
    #: per member of the group: each proposal's verification so far, by position
    outcomes: list[dict[int, Verification]] = field(default_factory=list)
    kept: list[list[int]] = field(default_factory=list)  # per member: positions kept
    #: (member, position) -> the checks job that checked it: its attempts' ids and notes, for the evidence
    checked_by: dict[tuple[int, int], tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    units: list[_Unit] = field(default_factory=list)  # of the current stage
    failed: list[str] = field(default_factory=list)  # why units could not verify
    finished: bool = False

    def __post_init__(self) -> None:
        members = self.group[1]
        self.outcomes = [{} for _ in members]
        self.kept = [[] for _ in members]

    @property
    def proposals(self) -> int:
        return sum(len(r.proposals) for _, r in self.group[1])


@dataclass
class _Unit:
    """One job's share of a program at one stage: some proposals of some of its files."""

    program: _Program
    stage: str
    shares: list[tuple[int, list[int]]]  # (member of the group, positions of its proposals)
    records: list[slurm.JobRecord] = field(default_factory=list)  # its attempts
    notes: list[str] = field(default_factory=list)  # what became of the attempts Slurm stopped
    finished: bool = False

    @property
    def record(self) -> slurm.JobRecord:
        return self.records[-1]


def check_shares(group: ProgramGroup, per_job: int) -> list[list[tuple[int, list[int]]]]:
    """How a program's proposals split into checks jobs: `per_job` of one
    file's proposals each; a file with a race fix stays whole (the fix is part
    of every later check of its file)."""
    shares = []
    for member, (_, result) in enumerate(group[1]):
        positions = list(range(len(result.proposals)))
        if any(p.kind == "fix" for p in result.proposals):
            shares.append([(member, positions)])
            continue
        shares += [[(member, positions[k:k + per_job])] for k in range(0, len(positions), per_job)]
    return shares


def _package_root() -> str:
    """The directory the running `ompilot` package is imported from, for the job's PYTHONPATH."""
    import ompilot

    return os.path.dirname(os.path.abspath(list(ompilot.__path__)[0]))


def node_threads(configured: tuple[int, ...], node: slurm.NodeFacts | None,
                 fallback: tuple[int, ...]) -> tuple[int, ...]:
    """The thread counts to check and time with: the configured ones, else
    the node's (powers of two up to its cores, and its cores), else the
    program's own when the node has a single CPU."""
    if configured:
        return tuple(configured)
    if node is None:
        return tuple(fallback)
    counts = tuple(t for t in slurm.timing_threads(node, slurm.SlurmSettings()) if t >= 2)
    return counts or tuple(fallback)


class SlurmExecutor:
    """Each program's checks in jobs that share nodes, then its files' timing
    in jobs with a node each (see the module's docstring)."""

    def __init__(self, settings: slurm.SlurmSettings, *, job_timeout: float = 24 * 3600,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.job_timeout = job_timeout  # seconds the lead waits for all jobs at most
        self.sleep = sleep
        self.submitted: list[slurm.JobRecord] = []  # every job, for cancelling
        self.history: list[JobHistory] = []  # every job that finished, in the order seen
        self._directories: list[Path] = []
        self._started = time.monotonic()  # of verify_groups, for --budget
        self._cancelled: list[slurm.JobRecord] = []  # queued jobs the budget cancelled

    def __enter__(self) -> SlurmExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check(self) -> list[slurm.NodeFacts]:
        """The partition's nodes; SlurmError (one line) unless Slurm's commands are here and the controller answers."""
        return slurm.node_facts(settings=self.settings, probe=False)

    def close(self) -> None:
        """Removes the jobs' directories (their working copies)."""
        for directory in self._directories:
            shutil.rmtree(directory, ignore_errors=True)
        self._directories.clear()

    # -- submitting --

    def _work_dir(self) -> Path:
        work = Path(self.settings.work_dir).absolute()
        (work / "jobs").mkdir(parents=True, exist_ok=True)
        # a sandbox's copy of a project skips directories with this mark: jobs never copy each other
        (work / SANDBOX_MARK).write_text("jobs")
        return work

    def _submit(self, unit: _Unit, options: VerifyOptions, check_cpus: int) -> None:
        """Submits the unit: a checks job shares a node (`check_cpus` CPUs), a
        timing job has a node to itself."""
        directory = Path(tempfile.mkdtemp(prefix=f"{unit.stage}-", dir=self._work_dir() / "jobs"))
        self._directories.append(directory)
        program = unit.program
        config, members = program.group
        # absolute paths: the job runs in its own directory, not in the directory ompilot was started in
        results = [replace(members[m][1], path=os.path.abspath(members[m][1].path),
                           proposals=[members[m][1].proposals[n] for n in positions])
                   for m, positions in unit.shares]
        timing = unit.stage == TIMING
        data = WorkerInput(config=config, results=results, tune=options.tune,
                           budget_minutes=self._budget_left(options), use_cache=options.cache is not None,
                           threads=program.threads, stage=unit.stage, memo=program.memo if timing else None)
        (directory / INPUT).write_bytes(pickle.dumps(data))
        (directory / "tmp").mkdir()
        pythonpath = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH", "")) if p)
        spec = slurm.JobSpec(
            commands=(f"{sys.executable} -m ompilot.verify.worker {directory}",), name=f"ompilot-{unit.stage}",
            cwd=directory, env={"PYTHONPATH": pythonpath, "TMPDIR": str(directory / "tmp")},
            cpus=1 if timing else check_cpus, exclusive=timing)
        record = slurm.submit(spec, settings=self.settings, directory=directory)
        unit.records.append(record)
        self.submitted.append(record)

    # -- following --

    def verify_groups(self, groups, options, summary, progress=None, on_progress=None) -> None:
        nodes = self.check()
        self._started = options.clock()
        smallest = min(nodes, key=lambda n: n.cores or n.cpus, default=None)
        check_cpus = max(1, min(self.settings.check_cpus, smallest.cpus if smallest else 1))
        programs = [_Program(group, node_threads(self.settings.threads, smallest, group[0].threads))
                    for group in groups]
        total = sum(p.proposals for p in programs)
        files_total = sum(len(members) for _, members in groups)
        state = {"files": 0, "proposals": 0}

        def report(tally: dict[str, int]) -> None:
            if on_progress is not None:
                text = f"Slurm jobs: {tally['queued']} queued, {tally['running']} running, {tally['done']} done"
                on_progress(VerifyProgress(state["files"], files_total, state["proposals"], total, text, dict(tally)))

        deadline = time.monotonic() + self.job_timeout
        try:
            for program in programs:
                program.units = [_Unit(program, CHECKS, shares)
                                 for shares in check_shares(program.group, self.settings.checks_per_job)]
                for unit in program.units:
                    self._submit(unit, options, check_cpus)
            while True:
                active = [u for p in programs for u in p.units if not u.finished]
                outcomes = slurm.poll([u.record for u in active], settings=self.settings)
                for unit in active:
                    outcome = outcomes[unit.record.job_id]
                    if outcome.finished:
                        self._unit_finished(unit, outcome, options, summary, check_cpus)
                if self._budget_spent(options):
                    self._cancel_queued(programs, outcomes, options, summary)
                for program in programs:
                    if not program.finished and all(u.finished for u in program.units):
                        self._stage_finished(program, options, summary, check_cpus)
                        if program.finished:
                            state["files"] += len(program.group[1])
                            state["proposals"] += program.proposals
                live = [outcomes.get(u.record.job_id) for p in programs for u in p.units if not u.finished]
                tally = slurm.counts(o for o in live if o is not None and not o.finished)
                waiting = sum(1 for p in programs for u in p.units if not u.finished)
                report({"queued": tally["queued"], "running": tally["running"],
                        "done": len(self.submitted) - waiting})
                if all(p.finished for p in programs):
                    break
                if time.monotonic() > deadline:
                    raise slurm.SlurmError(f"Slurm jobs not finished within {self.job_timeout:.0f} s; cancelled")
                self.sleep(self.settings.poll_seconds)
        except BaseException:
            try:
                self.cancel_all()
            except slurm.SlurmError:
                pass  # the controller is gone too: the first error is the one to report
            finally:
                self.close()
            raise
        self._wait_gone(self._cancelled)
        self.close()

    def _unit_finished(self, unit: _Unit, outcome: slurm.JobOutcome, options: VerifyOptions,
                       summary: VerifySummary, check_cpus: int) -> None:
        """A unit's job ended: reads its result into its program, or submits
        it again, or withholds its proposals with Slurm's reason."""
        program, record = unit.program, unit.record
        result_file = record.directory / RESULT
        data = json.loads(result_file.read_text()) if outcome.ok and result_file.is_file() else None
        self.history.append(JobHistory(record.job_id, unit.stage, record.spec.exclusive, outcome.state, outcome.reason,
                                       outcome.node, outcome.elapsed, dict(data["runs"]) if data else {}))
        if data is None and outcome.state in RETRIED_STATES and len(unit.records) < 2:
            unit.notes.append(f"{outcome.describe()}; submitted again")
            self._submit(unit, options, check_cpus)
            return
        unit.finished = True
        if data is None:
            what = outcome.describe()
            if outcome.failed_command is not None or outcome.state == "FAILED":
                what += f": {_last_line(outcome.stderr)}"
            what = "; then ".join(["; ".join(unit.notes), what]) if unit.notes else what
            program.failed.append(what)
            evidence = Evidence.not_checked("setup", f"not verified: {what}")
            for member, positions in unit.shares:
                for n in positions:
                    program.outcomes[member][n] = Verification(False, evidence)
            return
        summary.errors.extend(data["errors"])
        summary.left_unverified += data["left_unverified"]
        jobs = (tuple(r.job_id for r in unit.records), tuple(unit.notes))
        if unit.stage == CHECKS:
            program.memo.update(pickle.loads((record.directory / MEMO).read_bytes()))
        for (member, positions), done in zip(unit.shares, data["files"]):
            for n, plain in zip(positions, done["outcomes"]):
                if unit.stage == CHECKS:
                    program.checked_by[(member, n)] = jobs
                    ids, notes = jobs
                else:
                    checked_ids, checked_notes = program.checked_by.get((member, n), ((), ()))
                    ids, notes = checked_ids + jobs[0], checked_notes + jobs[1]
                program.outcomes[member][n] = self._located(plain, ids, notes)
            if unit.stage == TIMING:
                program.kept[member] = [positions[k] for k in done["kept"]]

    def _stage_finished(self, program: _Program, options: VerifyOptions, summary: VerifySummary,
                        check_cpus: int) -> None:
        """Every unit of the program's stage ended: after the checks, a timing
        job per file for the proposals that passed them; after the timing (or
        when nothing passed), the program's results into the summary."""
        if program.units and program.units[0].stage == CHECKS:
            shares = []
            for member, outcomes in enumerate(program.outcomes):
                # passed alone (together with proposals the timing may still drop, it may not have), or
                # turned down on a speed verdict the cache held (its fallback may still pass)
                passed = [n for n, v in sorted(outcomes.items())
                          if v.accepted or v.evidence.accepted or v.evidence.stage == "speed"]
                if passed:
                    shares.append((member, passed))
            if shares and self._budget_spent(options):  # no timing job starts after the budget
                self._withhold_spent(program, shares, options, summary)
            elif shares:
                program.units = [_Unit(program, TIMING, [share]) for share in shares]
                for unit in program.units:
                    self._submit(unit, options, check_cpus)
                return
        program.finished = True
        config, members = program.group
        for member, (index, result) in enumerate(members):
            summary.results[index] = combine(result, program.outcomes[member], program.kept[member])
        for what in program.failed:
            summary.errors.append(f"{config.source or config.root}: cannot verify on Slurm: {what}")

    # -- the --budget: no job starts after it; those still queued are cancelled --

    def _budget_left(self, options: VerifyOptions) -> float | None:
        """Minutes of --budget left (a job gets what is left when it is submitted), None without one."""
        if options.budget_minutes is None:
            return None
        return max(options.budget_minutes - (options.clock() - self._started) / 60, 0.0)

    def _budget_spent(self, options: VerifyOptions) -> bool:
        return options.budget_minutes is not None and self._budget_left(options) <= 0

    def _cancel_queued(self, programs: list[_Program], outcomes: dict[str, slurm.JobOutcome],
                       options: VerifyOptions, summary: VerifySummary) -> None:
        """Cancels the units whose job still waits in the queue; their proposals are left unverified."""
        for program in programs:
            for unit in program.units:
                outcome = outcomes.get(unit.record.job_id)
                if unit.finished or outcome is None or outcome.state != "PENDING":
                    continue
                slurm.cancel([unit.record], settings=self.settings)
                self._cancelled.append(unit.record)
                unit.finished = True
                self._withhold_spent(program, unit.shares, options, summary)

    def _withhold_spent(self, program: _Program, shares: list[tuple[int, list[int]]], options: VerifyOptions,
                        summary: VerifySummary) -> None:
        evidence = Evidence.not_checked("budget", budget_message(options.budget_minutes))
        for member, positions in shares:
            for n in positions:
                program.outcomes[member][n] = Verification(False, evidence)
            summary.left_unverified += len(positions)

    @staticmethod
    def _located(plain, job_ids: tuple[str, ...], notes: tuple[str, ...]) -> Verification:
        """A verification from a job's JSON, its evidence naming the jobs that checked it."""
        verification: Verification = from_plain(plain)
        where = verification.evidence.where
        if where is None:
            return verification
        where = replace(where, job_ids=job_ids, notes=notes)
        return replace(verification, evidence=replace(verification.evidence, where=where))

    def cancel_all(self, grace: float = 30.0) -> None:
        """scancel every job this executor submitted; wait until Slurm runs none of them."""
        records = list(self.submitted)
        if not records:
            return
        slurm.cancel(records, settings=self.settings)
        self._wait_gone(records, grace)

    def _wait_gone(self, records: list[slurm.JobRecord], grace: float = 30.0) -> None:
        """Waits (at most `grace` seconds) until Slurm runs none of `records`."""
        if not records:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            outcomes = slurm.poll(records, settings=self.settings)
            if all(o.finished for o in outcomes.values()):
                return
            time.sleep(min(self.settings.poll_seconds, 0.5))


def _last_line(path: Path | None) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except (OSError, AttributeError):
        return "(no output)"
    return lines[-1].strip() if lines else "(no output)"
