"""Wall time of verifying a few corpus programs with the local executor and
with Slurm, side by side, in the same process.

Starts the tests' Slurm cluster on loopback (tests/slurm_cluster.py) with
two nodes (the machine's CPUs split between them), verifies the same files
with `--executor local` and `--executor slurm` (the library call the CLI
makes; no verification cache), prints each wall time, the ratio, how many
checks and timing jobs ran, and whether both kept the same proposals. On one machine the Slurm run cannot
be faster: it pays for submission, polling and a Python start per job, and
its two "nodes" share the same cores; on a real cluster each job has a node
of its own. This prints, it does not assert.

    .venv/bin/python benchmarks/executor_wall.py [FILE.c ...] [--no-tune] [--nodes 1|2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # slurm_cluster.py

from ompilot.analysis.scan import ScanSettings  # noqa: E402
from ompilot.verify.executor import LocalExecutor, SlurmExecutor  # noqa: E402
from ompilot.verify.pipeline import SuggestOptions, suggest_tree  # noqa: E402
from slurm_cluster import running_cluster  # noqa: E402

DEFAULT_FILES = [HERE.parent / "corpus" / name for name in ("argmax.c", "column_sums.c", "jacobi_1d.c", "matvec.c")]


def verify(files: list[Path], executor, tune: bool) -> tuple[float, list[str], dict[str, str]]:
    """Wall seconds of verifying `files` with `executor`, the kept proposals,
    and each proposal's verdict (its evidence's message)."""
    start = time.monotonic()
    with executor:
        run = suggest_tree(files, ScanSettings(jobs=os.cpu_count() or 1),
                           SuggestOptions(tune=tune, executor=executor))
    seconds = time.monotonic() - start
    kept = sorted(f"{Path(r.path).name}:{p.line} {p.summary}" for r in run.results for p in r.proposals)
    verdicts = {f"{Path(r.path).name}:{p.line} {p.summary}": p.evidence.message if p.evidence else ""
                for r in run.results for p in r.proposals + r.rejected}
    return seconds, kept, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    parser.add_argument("--no-tune", action="store_true")
    parser.add_argument("--nodes", type=int, choices=(1, 2), default=2,
                        help="slurmd daemons on loopback (2: the CPUs split between them; 1: one node with them all, "
                             "where a timing job has the machine to itself, as it does locally)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ompilot-executor-wall-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # nothing verified earlier counts
    try:
        copies = []
        for source in args.files:  # each program in a directory of its own: one job each
            directory = work / source.stem
            directory.mkdir()
            shutil.copy(source, directory / source.name)
            copies.append(directory / source.name)
        local_seconds, local_kept, local_verdicts = verify(copies, LocalExecutor(), not args.no_tune)
        with running_cluster(nodes=args.nodes) as cluster:
            os.environ["SLURM_CONF"] = str(cluster.conf)
            executor = SlurmExecutor(cluster.settings(work_dir=work / "slurm"))
            slurm_seconds, slurm_kept, slurm_verdicts = verify(copies, executor, not args.no_tune)
        print(f"{len(copies)} programs: {', '.join(c.name for c in copies)}")
        print(f"{'executor':<10} {'wall s':>8}  kept")
        print(f"{'local':<10} {local_seconds:>8.1f}  {len(local_kept)}")
        stages = [h.stage for h in executor.history]
        print(f"{'slurm':<10} {slurm_seconds:>8.1f}  {len(slurm_kept)}  ({args.nodes} node(s) on loopback, "
              f"{len(executor.submitted)} jobs: {stages.count('checks')} checks, {stages.count('timing')} timing)")
        print(f"slurm / local: {slurm_seconds / local_seconds:.2f}x; "
              f"same kept proposals: {'yes' if local_kept == slurm_kept else 'no'}")
        for line in sorted(set(local_kept) ^ set(slurm_kept)):  # with both verdicts: a marginal timing?
            print(f"  only {'local' if line in local_kept else 'slurm'}: {line}")
            print(f"    local: {local_verdicts.get(line, '?')[:160]}")
            print(f"    slurm: {slurm_verdicts.get(line, '?')[:160]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
