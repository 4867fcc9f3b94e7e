"""The Slurm job's side of `SlurmExecutor`: `python -m ompilot.verify.worker JOB_DIR`.

Reads JOB_DIR/input.pickle (one program's files, `executor.WorkerInput`),
verifies them on this node as the local executor would, with the thread
counts the lead chose and this job's CPUs as workers: the checks job
(stage "checks") builds and runs the output and race checks only and
pickles what they found to JOB_DIR/memo.pickle; the timing job (stage
"timing") starts from that memo and builds and times. Writes
JOB_DIR/result.json: each file's verifications by proposal position, the
positions kept, the errors, and how many builds and runs the job made. The
working copies go to TMPDIR, which the executor puts in JOB_DIR.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from dataclasses import replace
from pathlib import Path

from .cache import VerificationCache
from .evidence import Where
from .executor import CHECKS, INPUT, MEMO, RESULT, WorkerInput, to_plain
from .session import VerifyOptions, VerifySummary, _Run, located
from .stages import StageTimes
from .verifier import CheckMemo, Verification


def job_cpus() -> int:
    """The CPUs Slurm gave this job (all of the node's for an exclusive one)."""
    given = os.environ.get("SLURM_CPUS_ON_NODE", "")
    return int(given) if given.isdigit() else len(os.sched_getaffinity(0))


def run(job_dir: Path) -> tuple[dict, CheckMemo]:
    data: WorkerInput = pickle.loads((job_dir / INPUT).read_bytes())
    config = replace(data.config, threads=data.threads)
    where = Where.this_machine("slurm", threads=data.threads, node=os.environ.get("SLURMD_NODENAME"),
                               job_ids=tuple(filter(None, [os.environ.get("SLURM_JOB_ID")])))
    memo = data.memo if data.memo is not None else CheckMemo()
    stages = StageTimes()
    options = VerifyOptions(tune=data.tune, jobs=job_cpus(), budget_minutes=data.budget_minutes,
                            cache=VerificationCache.default() if data.use_cache else None, stages=stages,
                            checks_only=data.stage == CHECKS, memo=memo)
    summary = VerifySummary(results=list(data.results))
    files = _Run(options, None, None, summary, where=lambda _config: where).verify(
        [(config, list(enumerate(data.results)))])
    checked = {work.index: work for work in files}
    out = []
    for index, result in enumerate(data.results):
        work = checked.get(index)
        if work is not None:
            outcomes = [located(work.outcomes[n], where) for n in range(len(result.proposals))]
            kept = work.kept
        else:  # not checked (its program could not be prepared): what the summary says instead
            turned_down = summary.results[index].rejected[len(result.rejected):]
            outcomes = [Verification(False, p.evidence) for p in turned_down]
            kept = []
        out.append({"kept": kept, "outcomes": [to_plain(v) for v in outcomes]})
    runs = {"builds": stages.build_count, "output": stages.output_runs, "race": stages.race_runs}
    return {"files": out, "errors": summary.errors, "left_unverified": summary.left_unverified, "runs": runs}, memo


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_bytes(data)
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ompilot.verify.worker JOB_DIR", file=sys.stderr)
        return 2
    job_dir = Path(args[0])
    result, memo = run(job_dir)
    _write(job_dir / MEMO, pickle.dumps(memo))  # before the result: the lead reads it once the result is there
    _write(job_dir / RESULT, json.dumps(result).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
