"""Running an analysis over files, with a progress bar on a terminal only.

`analyse(func, files, settings)` is the analysis's Runner (fanout.run_each)
with a bar, so the CLI can count files as they finish. Results come back in
the order of `files`; worker processes are used only when they pay
(fanout.POOL_MIN_FILES).
"""

from __future__ import annotations

from typing import Callable, Iterable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ompilot.analysis.fanout import POOL_MIN_FILES, fan_out  # noqa: F401 (POOL_MIN_FILES: main's --jobs help)


def analyse(func: Callable, files: list, settings, *extra, console: Console | None = None, label: str = "analysing") -> list:
    return _collect(fan_out(func, files, settings, *extra), len(files), console, label)


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
