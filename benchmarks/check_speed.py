"""How long `ompilot check` (static, no --dynamic) takes per file, next to Clang parsing the same file.

Issue 13 asks that the static check stay well under a second per typical
file. This measures, in one process, for every program of the given trees
(default: corpus/races/ and the single-file corpus corpus/*.c, *.cpp), each
checked alone as pre-commit checks it:

  (a) clang-19 -fsyntax-only -fopenmp on the file;
  (b) cli.check.run_check on the file, one worker (jobs=1).

Every file is run once untimed (libclang loaded, headers in the page cache),
then --repeat rounds; the table shows each file's fastest (b) and the ratio
(b)/(a), then the median and the slowest file. It prints, it does not assert.

    .venv/bin/python benchmarks/check_speed.py [--repeat 3] [paths ...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ompilot.analysis import compdb, sources
from ompilot.analysis.scan import ScanSettings
from ompilot.cli.check import run_check

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TREES = (ROOT / "corpus" / "races", ROOT / "corpus")
TYPICAL_LIMIT_S = 1.0


def programs(trees: list[Path]) -> list[Path]:
    """The C/C++ files directly in each tree (not subfolders: the projects are multi-file programs)."""
    found = []
    for tree in trees:
        paths = [tree] if tree.is_file() else sorted(p for p in tree.iterdir() if p.is_file())
        found += [p for p in paths if sources.source_kind(p) is not None and p.suffix in (".c", ".cpp", ".cc")]
    return found


def clang_parse_seconds(path: Path) -> float:
    compiler = "clang++-19" if path.suffix != ".c" else "clang-19"
    start = time.perf_counter()
    subprocess.run([compiler, "-fsyntax-only", "-fopenmp", "-w", str(path)], capture_output=True, check=False)
    return time.perf_counter() - start


def check_seconds(path: Path, settings: ScanSettings) -> tuple[float, int]:
    start = time.perf_counter()
    outcome = run_check([path], settings)
    return time.perf_counter() - start, len(outcome.findings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    compdb.toolchain_flags()
    files = programs([p.resolve() for p in args.paths] or list(DEFAULT_TREES))
    settings = ScanSettings(jobs=1)
    rows = []
    for path in files:
        check_seconds(path, settings)  # warm
        clang = min(clang_parse_seconds(path) for _ in range(args.repeat))
        ours = min(check_seconds(path, settings)[0] for _ in range(args.repeat))
        rows.append((path, ours, clang))
    width = max(len(str(p.relative_to(ROOT))) for p, _, _ in rows)
    print(f"{'file':<{width}} {'check s':>8} {'clang s':>8} {'ratio':>6}")
    for path, ours, clang in sorted(rows, key=lambda r: -r[1]):
        print(f"{str(path.relative_to(ROOT)):<{width}} {ours:>8.3f} {clang:>8.3f} {ours / clang:>6.1f}")
    times = [ours for _, ours, _ in rows]
    ratios = [ours / clang for _, ours, clang in rows]
    slowest = max(rows, key=lambda r: r[1])
    print(f"\n{len(rows)} files: median {statistics.median(times):.3f} s per file "
          f"({statistics.median(ratios):.1f}x clang -fsyntax-only), slowest {slowest[1]:.3f} s "
          f"({slowest[0].relative_to(ROOT)}); {sum(t < TYPICAL_LIMIT_S for t in times)} of {len(rows)} "
          f"under {TYPICAL_LIMIT_S:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
