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

from ompilot.analysis import sources
from ompilot.analysis.scan import ScanSettings
from ompilot.suggest.run import suggest_files
from ompilot.verify.cache import VerificationCache
from ompilot.verify.config import config_for
from ompilot.verify.runner import Sandbox
from ompilot.verify.stages import StageTimes
from ompilot.verify.verifier import FileJob, Program, VerifyError, verify_proposals

HERE = Path(__file__).resolve().parent
DEFAULT_TREES = [HERE / "latency" / "plain2d.c", HERE / "latency" / "reduction.c", HERE / "latency" / "mathcalls.c",
                 HERE.parent / "corpus" / "projects" / "spmv_csr"]


def run_tree(path: Path, tune: bool, cache: VerificationCache | None) -> tuple[StageTimes, float, list[str]]:
    """The stage times of `ompilot suggest path`, its wall seconds, and one line per proposal."""
    start = time.monotonic()
    stages = StageTimes()
    settings = ScanSettings(jobs=os.cpu_count() or 1)
    with stages.measure("analysis"):
        files, errors = sources.collect_sources([path])
        results, more = suggest_files(files, settings, "cpu")
    lines = [f"  error: {e}" for e in errors + more]
    programs: dict[Path, tuple] = {}
    for result in results:
        if result.proposals:
            config = config_for(Path(result.path).resolve())
            if config is None:
                lines.append(f"  {result.path}: no way to build it")
                continue
            programs.setdefault(config.root, (config, []))[1].append(result)
    for config, members in programs.values():
        with Sandbox(config.root) as sandbox:
            program = Program(config=config, sandbox=sandbox, stages=stages, cache=cache)
            relative = {id(r): Path(r.path).resolve().relative_to(config.root.resolve()).as_posix() for r in members}
            try:
                with stages.measure("reference"):
                    program.prepare({relative[id(r)]: r.data for r in members})
            except VerifyError as exc:
                lines.append(f"  cannot verify: {exc}")
                continue
            for result in members:
                job = FileJob(relative[id(result)], result.data, list(result.proposals))
                verify_proposals(program, job, tune=tune)
                for p in job.proposals:
                    verdict = "kept" if p.verified else "rejected"
                    lines.append(f"  {job.relative}:{p.line} {p.summary}: {verdict}: {p.evidence.get('message', '')}")
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
