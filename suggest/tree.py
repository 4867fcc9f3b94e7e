"""Running the engine over a tree, and writing its results back."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ompilot.analysis import sources
from ompilot.analysis.fanout import Runner, run_each
from ompilot.analysis.scan import ScanSettings, scan_files

from . import patch
from .engine import FileSuggestions, suggest_file


def suggest_paths(
    paths: list[Path], settings: ScanSettings, target: str = "cpu"
) -> tuple[list[FileSuggestions], list[str]]:
    files, errors = sources.collect_sources(paths)
    results, program_errors = suggest_files(files, settings, target)
    return results, errors + program_errors


def suggest_files(
    files: list[Path], settings: ScanSettings, target: str = "cpu", run: Runner | None = None
) -> tuple[list[FileSuggestions], list[str]]:
    """Proposals for `files`, analysed as the program they belong to (the
    compile database's translation units, or the files given together), so a
    kernel in one file is proven with the allocations and calls of the others.
    `run(func, items, settings, *extra)` maps over the files (a process pool
    or a progress bar); the default is fanout.run_each."""
    run = run or run_each
    reports, errors = scan_files(files, settings, run)
    pairs = list(zip(files, reports))
    return run(_suggest_pair, pairs, settings, target), errors


def _suggest_pair(pair: tuple[Path, object], settings: ScanSettings, target: str) -> FileSuggestions:
    path, report = pair
    return suggest_file(path, settings, target, report)


def apply_results(results: list[FileSuggestions]) -> list[str]:
    """Write every file's proposals; a file that changed since it was read,
    or that cannot be written, is left alone with an error line."""
    errors = []
    for result in results:
        edits = [e for p in result.proposals for e in p.edits]
        if not edits:
            continue
        read = patch.SourceSnapshot(
            path=Path(result.path), data=result.data, digest=hashlib.sha256(result.data).hexdigest()
        )
        try:
            patch.apply_to_file(read, edits)
        except patch.PatchError as exc:
            errors.append(str(exc))
            result.proposals = []
    return errors
