"""Running an analysis over files, with a progress bar on a terminal only.

`analyse(scan_file, files, settings)` is `scan_paths` without the source
collection, so the CLI can count files as they finish. Results come back in
the order of `files`. Worker processes are used only when they pay: a pool
takes 0.3 s or more to start and warm up while a typical C file is analysed
in 0.01-0.05 s, so fewer than POOL_MIN_FILES files are analysed in this
process (measured on 2 cores: 8 files 0.9 s in-process, 1.05 s with 2
workers; 16 files about even).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

#: Fewer files than this are analysed in-process (see `analyse`).
POOL_MIN_FILES = 16


def analyse(func: Callable, files: list, settings, *extra, console: Console | None = None, label: str = "analysing") -> list:
    jobs = settings.jobs
    count = len(files)
    if jobs > 1 and count >= POOL_MIN_FILES:
        with ProcessPoolExecutor(max_workers=min(jobs, count)) as pool:
            repeated = [[value] * count for value in (settings, *extra)]
            return _collect(pool.map(func, files, *repeated, chunksize=2), count, console, label)
    return _collect((func(f, settings, *extra) for f in files), count, console, label)


def _collect(results: Iterable, total: int, console: Console | None, label: str) -> list:
    if console is None or not console.is_terminal or total < 2:
        return list(results)
    out = []
    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, transient=True)
    with progress:
        task = progress.add_task(label, total=total)
        for result in results:
            out.append(result)
            progress.advance(task)
    return out


class SuggestProgress:
    """The progress bar of `suggest`: files and proposals verified, the time
    left, and what is being checked; on a terminal only (the console is
    stderr's, so stdout stays clean). Use as a context manager and pass
    `update` as the pipeline's on_progress."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bar: Progress | None = None
        self._task = None
        self._status = None

    def __enter__(self) -> "SuggestProgress":
        return self

    def __exit__(self, *exc) -> None:
        self._stop_status()
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def update(self, event) -> None:
        """`event`: a verify.pipeline.PipelineProgress."""
        if not self.console.is_terminal:
            return
        if event.stage == "model":
            self._stop_status()
            self._status = self.console.status(event.text)
            self._status.start()
            return
        if event.stage != "verify":
            return
        self._stop_status()
        if self._bar is None:
            self._bar = Progress(
                TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TextColumn("proposals"),
                TextColumn("{task.fields[files]}"), TextColumn("{task.fields[left]}"),
                TextColumn("{task.fields[current]}"), console=self.console, transient=True,
            )
            self._task = self._bar.add_task("verifying", total=None, files="", left="", current="")
            self._bar.start()
        remaining = self._bar.tasks[0].time_remaining if self._bar.tasks else None
        self._bar.update(
            self._task, completed=event.proposals_done, total=event.proposals_total or None,
            files=f"files {event.files_done}/{event.files_total}",
            left=f"about {_duration(remaining)} left" if remaining else "",
            current=event.text[:48],
        )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
