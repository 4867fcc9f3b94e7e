"""Wall time per stage of `ompilot suggest` on a tree: where verification goes.

Runs the whole pipeline the way `ompilot suggest PATH` does (analysis, then
for each program: the serial reference, and every proposal's builds, output
check, race check, timing and tuning) and prints the seconds per stage and
the runs each stage made, so the next bottleneck is visible. By default it
runs on the bundled 13-line programs in benchmarks/latency/ (one parallel
loop of about 90 million operations each) and on one small multi-file
corpus project. This prints, it does not assert.

    .venv/bin/python benchmarks/pipeline_stages.py [PATH ...] [--no-tune] [--cache]

`--cache` uses the user's verification cache (a second run then shows the
cached time); without it every check runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ompilot.analysis.scan import ScanSettings
from ompilot.verify.cache import VerificationCache
from ompilot.verify.pipeline import SuggestOptions, suggest_tree
from ompilot.verify.stages import StageTimes

HERE = Path(__file__).resolve().parent
DEFAULT_TREES = [HERE / "latency" / "plain2d.c", HERE / "latency" / "reduction.c", HERE / "latency" / "mathcalls.c",
                 HERE.parent / "corpus" / "projects" / "spmv_csr"]


def run_tree(path: Path, tune: bool, cache: VerificationCache | None) -> tuple[StageTimes, float, list[str]]:
    """The stage times of `ompilot suggest path` (the library entry the CLI
    calls), its wall seconds, and one line per proposal."""
    stages = StageTimes()
    settings = ScanSettings(jobs=os.cpu_count() or 1)
    start = time.monotonic()
    run = suggest_tree([path], settings, SuggestOptions(tune=tune, cache=cache, stages=stages))
    lines = [f"  error: {e.splitlines()[0]}" for e in run.errors]
    for result in run.results:
        for p in result.proposals + result.rejected:
            verdict = "kept" if p.verified else "rejected"
            lines.append(f"  {Path(result.path).name}:{p.line} {p.summary}: {verdict}: {p.evidence.message if p.evidence else ''}")
    return stages, time.monotonic() - start, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files or trees (default: the bundled ones)")
    parser.add_argument("--no-tune", action="store_true", help="skip the variant search, as --no-tune does")
    parser.add_argument("--cache", action="store_true", help="use the user's verification cache")
    args = parser.parse_args(argv)
    cache = VerificationCache.default() if args.cache else None
    total = StageTimes()
    for path in args.paths or DEFAULT_TREES:
        stages, wall, lines = run_tree(path, tune=not args.no_tune, cache=cache)
        total.add(stages)
        print(f"{path}: {wall:.1f} s wall")
        print("\n".join(lines))
        print(stages.table())
        sys.stdout.flush()
    if len(args.paths or DEFAULT_TREES) > 1:
        print("all trees:")
        print(total.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
