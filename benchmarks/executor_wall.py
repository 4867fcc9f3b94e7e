"""Wall time of verifying a few corpus programs with the local executor and
with Slurm, side by side, in the same process.

Starts the tests' Slurm cluster on loopback (tests/slurm_cluster.py) with
two nodes (the machine's CPUs split between them), verifies the same files
with `--executor local` and `--executor slurm` (the library call the CLI
makes; no verification cache), prints each wall time, the ratio, how many
checks and timing jobs ran, on how many proposals the checks that do not
time (compile, output, race) decided differently (they must not), and the
proposals only one run kept, with both timing verdicts. With --control the
local executor runs twice: the kept proposals of two local runs differ too
where a gain is marginal, which is the yardstick for the Slurm run's. On one machine the Slurm run cannot
be faster: it pays for submission, polling and a Python start per job, and
its two "nodes" share the same cores; on a real cluster each job has a node
of its own. This prints, it does not assert.

    .venv/bin/python benchmarks/executor_wall.py [FILE.c ...] [--no-tune] [--nodes 1|2] [--control]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # slurm_cluster.py

from ompilot.analysis.scan import ScanSettings  # noqa: E402
from ompilot.verify.executor import LocalExecutor, SlurmExecutor  # noqa: E402
from ompilot.verify.pipeline import SuggestOptions, suggest_tree  # noqa: E402
from slurm_cluster import running_cluster  # noqa: E402

DEFAULT_FILES = [HERE.parent / "corpus" / name for name in ("argmax.c", "column_sums.c", "jacobi_1d.c", "matvec.c")]


@dataclass
class Run:
    """One executor's verification of the files."""

    seconds: float
    kept: set[str]  # "file:line summary" of each kept proposal
    #: "file:line kind" -> what the checks that do not time decided (the stage it stopped at,
    #: "timed" once it reached the timing), and the verdict's message
    verdicts: dict[str, tuple[str, str]] = field(default_factory=dict)


def verify(files: list[Path], executor, tune: bool) -> Run:
    start = time.monotonic()
    with executor:
        run = suggest_tree(files, ScanSettings(jobs=os.cpu_count() or 1),
                           SuggestOptions(tune=tune, executor=executor))
    seconds = time.monotonic() - start
    kept = {f"{Path(r.path).name}:{p.line} {p.summary}" for r in run.results for p in r.proposals}
    verdicts = {}
    for result in run.results:
        for p in result.proposals + result.rejected:
            stage = p.evidence.stage if p.evidence else "none"
            verdicts[f"{Path(result.path).name}:{p.line} {p.kind}"] = (
                "timed" if stage in ("speed", "accepted") else stage, p.evidence.message if p.evidence else "")
    return Run(seconds, kept, verdicts)


def compare(name: str, first: Run, second: Run) -> None:
    """Prints what differs between two runs: the checks' verdicts (which must
    not), then the kept proposals with both timing verdicts (noise when marginal)."""
    checks = sorted(k for k in first.verdicts.keys() | second.verdicts.keys()
                    if first.verdicts.get(k, ("?",))[0] != second.verdicts.get(k, ("?",))[0])
    print(f"{name}: checks' verdicts differ on {len(checks)} of {len(first.verdicts)} proposals; "
          f"kept differ on {len(first.kept ^ second.kept)} ({len(first.kept)} and {len(second.kept)} kept)")
    for key in checks:
        print(f"  checks differ: {key}: {first.verdicts.get(key, ('?',))[0]} / {second.verdicts.get(key, ('?',))[0]}")
    for line in sorted(first.kept ^ second.kept):
        loop = line.split(" ", 1)[0]
        print(f"  only {'first' if line in first.kept else 'second'}: {line}")
        for label, run in (("first", first), ("second", second)):
            messages = [m for k, (_, m) in run.verdicts.items() if k.split(" ", 1)[0] == loop]
            print(f"    {label}: {' | '.join(m[:110] for m in messages)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    parser.add_argument("--no-tune", action="store_true")
    parser.add_argument("--nodes", type=int, choices=(1, 2), default=2,
                        help="slurmd daemons on loopback (2: the CPUs split between them; 1: one node with them all, "
                             "where a timing job has the machine to itself, as it does locally)")
    parser.add_argument("--control", action="store_true",
                        help="verify locally a second time: how much the kept proposals differ from run to run "
                             "on this machine whatever the executor")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ompilot-executor-wall-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # nothing verified earlier counts
    try:
        copies = []
        for source in args.files:  # each program in a directory of its own
            directory = work / source.stem
            directory.mkdir()
            shutil.copy(source, directory / source.name)
            copies.append(directory / source.name)
        local = verify(copies, LocalExecutor(), not args.no_tune)
        again = verify(copies, LocalExecutor(), not args.no_tune) if args.control else None
        with running_cluster(nodes=args.nodes) as cluster:
            os.environ["SLURM_CONF"] = str(cluster.conf)
            executor = SlurmExecutor(cluster.settings(work_dir=work / "slurm"))
            on_slurm = verify(copies, executor, not args.no_tune)
        print(f"{len(copies)} programs: {', '.join(c.name for c in copies)}")
        print(f"{'executor':<10} {'wall s':>8}  kept")
        print(f"{'local':<10} {local.seconds:>8.1f}  {len(local.kept)}")
        if again is not None:
            print(f"{'local':<10} {again.seconds:>8.1f}  {len(again.kept)}  (again)")
        stages = [h.stage for h in executor.history]
        print(f"{'slurm':<10} {on_slurm.seconds:>8.1f}  {len(on_slurm.kept)}  ({args.nodes} node(s) on loopback, "
              f"{len(executor.submitted)} jobs: {stages.count('checks')} checks, {stages.count('timing')} timing)")
        print(f"slurm / local: {on_slurm.seconds / local.seconds:.2f}x")
        compare("local, then slurm", local, on_slurm)
        if again is not None:
            compare("local, then local again (the control)", local, again)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
