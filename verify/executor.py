"""What runs the verifications: this machine's threads, or Slurm jobs.

`verify/session.py` groups the files by program and hands the groups to an
executor (`VerifyOptions.executor`); it does not know which one runs them:

    LocalExecutor()   today's behaviour: worker threads on this machine, the
                      timing phases alone (session.TimingGate)
    SlurmExecutor(s)  two Slurm jobs per program, each running
                      `python -m ompilot.verify.worker JOB_DIR` on a compute
                      node (the same Python and project, on the directory the
                      login and compute nodes share) and writing its
                      verifications as JSON into the job directory; this
                      process polls, reads them back and combines them:

      checks job   builds, output checks and race checks of every proposal
                   and tuning variant, no timing; it shares its node
                   (`check_cpus` CPUs), so many run at once. It hands what
                   it found (verifier.CheckMemo, pickled) to
      timing job   the proposals that passed, on a node of its own
                   (`--exclusive`): builds and times them, tunes and checks
                   them together as the local executor does, the output and
                   race checks read from the memo (only a combination the
                   checks job did not see is race-checked here).

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
from .session import ProgramGroup, VerifyOptions, VerifyProgress, VerifySummary, _Run, combine, withheld
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
class _GroupJob:
    """One program's jobs: its checks job, then (if anything passed) its timing job, each tried at most twice."""

    group: ProgramGroup
    threads: tuple[int, ...]
    stage: str = CHECKS
    records: list[slurm.JobRecord] = field(default_factory=list)  # every attempt of both stages
    attempts: int = 0  # of the current stage
    notes: list[str] = field(default_factory=list)  # what became of the attempts Slurm stopped
    finished: bool = False
    #: per member of the group: each proposal's verification so far, by position
    outcomes: list[dict[int, Verification]] = field(default_factory=list)
    timed: list[list[int]] = field(default_factory=list)  # per member: the positions sent to the timing job
    memo: CheckMemo | None = None

    @property
    def record(self) -> slurm.JobRecord:
        return self.records[-1]

    @property
    def proposals(self) -> int:
        return sum(len(r.proposals) for _, r in self.group[1])


def _package_root() -> str:
    """The directory the running `ompilot` package is imported from, for the job's PYTHONPATH."""
    import ompilot

    return os.path.dirname(os.path.abspath(list(ompilot.__path__)[0]))


def node_threads(configured: tuple[int, ...], node: slurm.NodeFacts | None, fallback: tuple[int, ...]) -> tuple[int, ...]:
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
    """Each program's checks in a shared-node job, then its timing in a whole-node job (see the module's docstring)."""

    def __init__(self, settings: slurm.SlurmSettings, *, job_timeout: float = 24 * 3600,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.job_timeout = job_timeout  # seconds the lead waits for all jobs at most
        self.sleep = sleep
        self.submitted: list[slurm.JobRecord] = []  # every job, for cancelling
        self.history: list[JobHistory] = []  # every job that finished, in the order seen
        self._directories: list[Path] = []

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

    def _submit(self, job: _GroupJob, options: VerifyOptions, check_cpus: int) -> None:
        """Submits the job's current stage: the checks share a node (`check_cpus`
        CPUs), the timing has a node to itself."""
        directory = Path(tempfile.mkdtemp(prefix=f"{job.stage}-", dir=self._work_dir() / "jobs"))
        self._directories.append(directory)
        config, members = job.group
        if job.stage == CHECKS:
            results = [r for _, r in members]
        else:  # only the proposals that passed the checks, of the files that have any
            results = [replace(r, proposals=[r.proposals[n] for n in timed])
                       for (_, r), timed in zip(members, job.timed) if timed]
        data = WorkerInput(config=config, results=results, tune=options.tune,
                           budget_minutes=options.budget_minutes, use_cache=options.cache is not None,
                           threads=job.threads, stage=job.stage, memo=job.memo)
        (directory / INPUT).write_bytes(pickle.dumps(data))
        (directory / "tmp").mkdir()
        pythonpath = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH", "")) if p)
        timing = job.stage == TIMING
        spec = slurm.JobSpec(
            commands=(f"{sys.executable} -m ompilot.verify.worker {directory}",), name=f"ompilot-{job.stage}",
            cwd=directory, env={"PYTHONPATH": pythonpath, "TMPDIR": str(directory / "tmp")},
            cpus=1 if timing else check_cpus, exclusive=timing)
        record = slurm.submit(spec, settings=self.settings, directory=directory)
        job.records.append(record)
        job.attempts += 1
        self.submitted.append(record)

    # -- following --

    def verify_groups(self, groups, options, summary, progress=None, on_progress=None) -> None:
        nodes = self.check()
        smallest = min(nodes, key=lambda n: n.cores or n.cpus, default=None)
        check_cpus = max(1, min(self.settings.check_cpus, smallest.cpus if smallest else 1))
        jobs = [_GroupJob(group, node_threads(self.settings.threads, smallest, group[0].threads)) for group in groups]
        total = sum(j.proposals for j in jobs)
        files_total = sum(len(members) for _, members in groups)
        state = {"files": 0, "proposals": 0}

        def report(tally: dict[str, int]) -> None:
            if on_progress is not None:
                text = f"Slurm jobs: {tally['queued']} queued, {tally['running']} running, {tally['done']} done"
                on_progress(VerifyProgress(state["files"], files_total, state["proposals"], total, text, dict(tally)))

        deadline = time.monotonic() + self.job_timeout
        try:
            for job in jobs:
                self._submit(job, options, check_cpus)
            while True:
                active = [j for j in jobs if not j.finished]
                outcomes = slurm.poll([j.record for j in active], settings=self.settings)
                for job in active:
                    outcome = outcomes[job.record.job_id]
                    if outcome.finished:
                        self._finished(job, outcome, options, summary, check_cpus)
                        if job.finished:
                            state["files"] += len(job.group[1])
                            state["proposals"] += job.proposals
                live = [outcomes.get(j.record.job_id) for j in jobs if not j.finished]
                tally = slurm.counts(o for o in live if o is not None and not o.finished)
                running = sum(1 for j in jobs if not j.finished)
                report({"queued": tally["queued"], "running": tally["running"],
                        "done": len(self.submitted) - running})
                if all(j.finished for j in jobs):
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
        self.close()

    def _finished(self, job: _GroupJob, outcome: slurm.JobOutcome, options: VerifyOptions,
                  summary: VerifySummary, check_cpus: int) -> None:
        """A job of `job` ended: reads its result (and submits the timing job
        after the checks job), or submits it again, or withholds the program's files."""
        record = job.record
        result_file = record.directory / RESULT
        data = json.loads(result_file.read_text()) if outcome.ok and result_file.is_file() else None
        self.history.append(JobHistory(record.job_id, job.stage, record.spec.exclusive, outcome.state, outcome.reason,
                                       outcome.node, outcome.elapsed, dict(data["runs"]) if data else {}))
        if data is not None:
            summary.errors.extend(data["errors"])
            summary.left_unverified += data["left_unverified"]
            if job.stage == CHECKS:
                self._read_checks(job, data)
                if any(job.timed):
                    job.stage, job.attempts = TIMING, 0
                    job.memo = pickle.loads((record.directory / MEMO).read_bytes())
                    self._submit(job, options, check_cpus)
                    return
                self._combine(job, summary, kept=[[] for _ in job.group[1]])
            else:
                self._combine(job, summary, kept=self._read_timing(job, data))
            job.finished = True
            return
        what = outcome.describe()
        if outcome.state in RETRIED_STATES and job.attempts < 2:
            job.notes.append(f"{what}; submitted again")
            self._submit(job, options, check_cpus)
            return
        job.finished = True
        if outcome.failed_command is not None or outcome.state == "FAILED":
            what += f": {_last_line(outcome.stderr)}"
        if job.notes:
            what = "; ".join(job.notes) + "; then " + what
        config, members = job.group
        for index, result in members:
            summary.results[index] = withheld(result, f"not verified: {what}")
        summary.errors.append(f"{config.source or config.root}: cannot verify on Slurm: {what}")

    def _located(self, job: _GroupJob, plain) -> Verification:
        """A verification from a job's JSON, its evidence naming every job of the program so far."""
        verification: Verification = from_plain(plain)
        where = verification.evidence.where
        if where is None:
            return verification
        where = replace(where, job_ids=tuple(r.job_id for r in job.records), notes=tuple(job.notes))
        return replace(verification, evidence=replace(verification.evidence, where=where))

    def _read_checks(self, job: _GroupJob, data: dict) -> None:
        """Each proposal's verdict from the checks job: those that passed go on to the timing job."""
        job.outcomes, job.timed = [], []
        for done in data["files"]:
            outcomes = {n: self._located(job, plain) for n, plain in enumerate(done["outcomes"])}
            job.outcomes.append(outcomes)
            # passed alone (together with proposals the timing may still drop, it may not have), or
            # turned down on a speed verdict the cache held (its fallback may still pass)
            job.timed.append([n for n, v in outcomes.items()
                              if v.accepted or v.evidence.accepted or v.evidence.stage == "speed"])

    def _read_timing(self, job: _GroupJob, data: dict) -> list[list[int]]:
        """The timing job's verdicts in place of the checks job's; the positions kept, per member."""
        kept: list[list[int]] = []
        files = iter(data["files"])
        for outcomes, timed in zip(job.outcomes, job.timed):
            if not timed:
                kept.append([])
                continue
            done = next(files)
            for n, plain in zip(timed, done["outcomes"]):
                outcomes[n] = self._located(job, plain)
            kept.append([timed[k] for k in done["kept"]])
        return kept

    def _combine(self, job: _GroupJob, summary: VerifySummary, kept: list[list[int]]) -> None:
        for (index, result), outcomes, positions in zip(job.group[1], job.outcomes, kept):
            summary.results[index] = combine(result, outcomes, positions)

    def cancel_all(self, grace: float = 30.0) -> None:
        """scancel every job this executor submitted; wait until Slurm runs none of them."""
        records = list(self.submitted)
        if not records:
            return
        slurm.cancel(records, settings=self.settings)
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
