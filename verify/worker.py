"""The Slurm job's side of `SlurmExecutor`: `python -m ompilot.verify.worker JOB_DIR`.

Reads JOB_DIR/input.pickle (one program's files, `executor.WorkerInput`),
verifies them on this node as the local executor would (its CPUs as
workers, the timing phases alone), with the thread counts of the settings or
of this node's CPUs, and writes JOB_DIR/result.json: each file's
verifications by proposal position, the positions kept, the errors. The
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
from .executor import INPUT, RESULT, WorkerInput, to_plain
from .session import VerifyOptions, VerifySummary, _Run, located
from .slurm import NodeFacts, SlurmSettings, timing_threads
from .verifier import Verification


def node_threads(configured: tuple[int, ...], cores: int, fallback: tuple[int, ...]) -> tuple[int, ...]:
    """The thread counts to check and time with here: the configured ones,
    else the node's (powers of two up to its cores, and its cores), else the
    program's own when the node has a single CPU."""
    counts = timing_threads(NodeFacts(name="", cpus=cores), SlurmSettings(threads=configured))
    counts = tuple(t for t in counts if t >= 2)
    return counts or tuple(fallback)


def run(job_dir: Path) -> dict:
    data: WorkerInput = pickle.loads((job_dir / INPUT).read_bytes())
    cores = len(os.sched_getaffinity(0))
    threads = node_threads(data.threads, cores, data.config.threads)
    config = replace(data.config, threads=threads)
    where = Where.this_machine("slurm", threads=threads, node=os.environ.get("SLURMD_NODENAME"),
                               job_ids=tuple(filter(None, [os.environ.get("SLURM_JOB_ID")])))
    options = VerifyOptions(tune=data.tune, jobs=cores, budget_minutes=data.budget_minutes,
                            cache=VerificationCache.default() if data.use_cache else None)
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
    return {"files": out, "errors": summary.errors, "left_unverified": summary.left_unverified}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ompilot.verify.worker JOB_DIR", file=sys.stderr)
        return 2
    job_dir = Path(args[0])
    result = run(job_dir)
    partial = job_dir / (RESULT + ".tmp")
    partial.write_text(json.dumps(result))
    partial.replace(job_dir / RESULT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
