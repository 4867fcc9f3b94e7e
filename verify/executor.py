"""What runs the verifications: this machine's threads, or Slurm jobs.

`verify/session.py` groups the files by program and hands the groups to an
executor (`VerifyOptions.executor`); it does not know which one runs them:

    LocalExecutor()   today's behaviour: worker threads on this machine, the
                      timing phases alone (session.TimingGate)
    SlurmExecutor(s)  one Slurm job per program: the job runs
                      `python -m ompilot.verify.worker JOB_DIR` on a compute
                      node (the same Python and project, on the directory the
                      login and compute nodes share), which verifies the
                      program's files there exactly as LocalExecutor would and
                      writes the verifications as JSON into the job directory;
                      this process polls, reads them back and combines them.

Every job times, so every job asks for its node alone (`--exclusive`). A
job that Slurm (or someone) cancelled, pre-empted or lost with its node is
submitted once more; one whose own command failed, or that ran over its
time limit, is not. Ctrl-C (KeyboardInterrupt) cancels every job submitted
and removes their directories.
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
from .verifier import Verification

#: Slurm states after which the same job is worth submitting again: it was
#: stopped from outside, not by its own command or its time limit
RETRIED_STATES = frozenset({"CANCELLED", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL", "REVOKED", "REQUEUED"})
INPUT, RESULT = "input.pickle", "result.json"


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


@dataclass(frozen=True)
class WorkerInput:
    """What a job verifies: one program's files, as the engine made them (pickled: same Python, same code)."""

    config: object  # ProgramConfig
    results: list  # FileSuggestions, the group's files in order
    tune: bool
    budget_minutes: float | None
    use_cache: bool
    threads: tuple[int, ...]  # the settings' thread counts; () = from the node's CPUs


@dataclass
class _GroupJob:
    """One program's job and its attempts."""

    group: ProgramGroup
    records: list[slurm.JobRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what became of the attempts before the last
    finished: bool = False

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


class SlurmExecutor:
    """One Slurm job per program (see the module's docstring)."""

    def __init__(self, settings: slurm.SlurmSettings, *, job_timeout: float = 24 * 3600,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.job_timeout = job_timeout  # seconds the lead waits for all jobs at most
        self.sleep = sleep
        self.submitted: list[slurm.JobRecord] = []  # every job, for cancelling
        self._directories: list[Path] = []

    def __enter__(self) -> SlurmExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check(self) -> None:
        """SlurmError (one line) unless Slurm's commands are here and the controller answers."""
        slurm.node_facts(settings=self.settings, probe=False)

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

    def _submit(self, job: _GroupJob, options: VerifyOptions) -> None:
        directory = Path(tempfile.mkdtemp(prefix="verify-", dir=self._work_dir() / "jobs"))
        self._directories.append(directory)
        config, members = job.group
        data = WorkerInput(config=config, results=[r for _, r in members], tune=options.tune,
                           budget_minutes=options.budget_minutes, use_cache=options.cache is not None,
                           threads=tuple(self.settings.threads))
        (directory / INPUT).write_bytes(pickle.dumps(data))
        (directory / "tmp").mkdir()
        pythonpath = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH", "")) if p)
        spec = slurm.JobSpec(
            commands=(f"{sys.executable} -m ompilot.verify.worker {directory}",), name="ompilot-verify",
            cwd=directory, env={"PYTHONPATH": pythonpath, "TMPDIR": str(directory / "tmp")}, exclusive=True)
        record = slurm.submit(spec, settings=self.settings, directory=directory)
        job.records.append(record)
        self.submitted.append(record)

    # -- following --

    def verify_groups(self, groups, options, summary, progress=None, on_progress=None) -> None:
        self.check()
        jobs = [_GroupJob(group) for group in groups]
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
                self._submit(job, options)
            while not all(j.finished for j in jobs):
                active = [j for j in jobs if not j.finished]
                outcomes = slurm.poll([j.record for j in active], settings=self.settings)
                for job in active:
                    outcome = outcomes[job.record.job_id]
                    if outcome.finished:
                        self._finished(job, outcome, options, summary)
                        if job.finished:
                            state["files"] += len(job.group[1])
                            state["proposals"] += job.proposals
                done = sum(j.finished for j in jobs)
                tally = slurm.counts(outcomes[j.record.job_id] for j in jobs if not j.finished and
                                     j.record.job_id in outcomes)
                report({"queued": tally["queued"], "running": tally["running"], "done": done})
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
                  summary: VerifySummary) -> None:
        """Reads a finished job's result into the summary, or submits it again, or withholds its files."""
        result_file = job.record.directory / RESULT
        if outcome.ok and result_file.is_file():
            job.finished = True
            self._read_result(job, json.loads(result_file.read_text()), summary)
            return
        what = outcome.describe()
        if outcome.state in RETRIED_STATES and len(job.records) < 2:
            job.notes.append(f"{what}; submitted again")
            self._submit(job, options)
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

    def _read_result(self, job: _GroupJob, data: dict, summary: VerifySummary) -> None:
        ids = tuple(r.job_id for r in job.records)
        summary.errors.extend(data["errors"])
        summary.left_unverified += data["left_unverified"]
        for (index, result), done in zip(job.group[1], data["files"]):
            outcomes = {}
            for n, plain in enumerate(done["outcomes"]):
                verification: Verification = from_plain(plain)
                where = verification.evidence.where
                if where is not None:
                    where = replace(where, job_ids=ids, notes=tuple(job.notes))
                    verification = replace(verification, evidence=replace(verification.evidence, where=where))
                outcomes[n] = verification
            summary.results[index] = combine(result, outcomes, list(done["kept"]))

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
