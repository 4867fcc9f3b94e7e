"""Running the engine over a tree, and writing its results back."""

from __future__ import annotations

import hashlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ompilot.analysis import sources
from ompilot.analysis.scan import ScanSettings

from . import patch
from .engine import FileSuggestions, suggest_file


def suggest_paths(
    paths: list[Path], settings: ScanSettings, target: str = "cpu"
) -> tuple[list[FileSuggestions], list[str]]:
    files, errors = sources.collect_sources(paths)
    if settings.jobs > 1 and len(files) > 1:
        with ProcessPoolExecutor(max_workers=settings.jobs) as pool:
            n = len(files)
            results = list(pool.map(suggest_file, files, [settings] * n, [target] * n, chunksize=2))
    else:
        results = [suggest_file(f, settings, target) for f in files]
    return results, errors


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
