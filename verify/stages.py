"""Where verification spends its time: wall seconds per stage.

The verifier fills one `StageTimes` (passed to `Program`) as it works, so a
benchmark or `--format json` can show which stage to make faster next. The
stages are disjoint: a race-check build counts under "builds", its runs
under "race checks"; a tuning variant's own builds and runs count under
their stages and under "tuning" as well (tuning is a span, not a leaf).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, fields

#: leaf stages, in the order they happen; `tuning` wraps some of them
STAGES = ("analysis", "reference", "builds", "race_checks", "output_checks", "timing", "tuning")


@dataclass
class StageTimes:
    """Wall seconds per stage, and how many runs each check made."""

    analysis: float = 0.0
    reference: float = 0.0  # the serial build and its runs (`Program.prepare`)
    builds: float = 0.0
    race_checks: float = 0.0
    output_checks: float = 0.0
    timing: float = 0.0
    tuning: float = 0.0  # variants tried (their builds, runs and timing are counted there too)
    build_count: int = 0
    race_runs: int = 0  # runs under ThreadSanitizer
    output_runs: int = 0
    timing_pairs: int = 0  # serial + parallel pairs
    cache_hits: int = 0  # checks answered by the verification cache

    @contextmanager
    def measure(self, stage: str):
        """Add the wall time of the `with` block to `stage`."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        start = time.monotonic()
        try:
            yield
        finally:
            setattr(self, stage, getattr(self, stage) + time.monotonic() - start)

    def add(self, other: "StageTimes") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def since(self, earlier: "StageTimes") -> "StageTimes":
        """What was added after the snapshot `earlier` (a copy taken with `snapshot`)."""
        return StageTimes(**{f.name: getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self)})

    def snapshot(self) -> "StageTimes":
        return StageTimes(**{f.name: getattr(self, f.name) for f in fields(self)})

    def as_dict(self) -> dict:
        """Seconds rounded to milliseconds, counts as they are (for JSON)."""
        return {f.name: round(v, 3) if isinstance(v := getattr(self, f.name), float) else v for f in fields(self)}

    def table(self) -> str:
        """One line per stage: seconds and, where there is one, the count."""
        counts = {"builds": self.build_count, "race_checks": self.race_runs, "output_checks": self.output_runs,
                  "timing": self.timing_pairs}
        units = {"builds": "builds", "race_checks": "runs", "output_checks": "runs", "timing": "pairs"}
        lines = []
        for stage in STAGES:
            extra = f"  ({counts[stage]} {units[stage]})" if stage in counts else ""
            lines.append(f"  {stage.replace('_', ' '):<14}{getattr(self, stage):8.2f} s{extra}")
        if self.cache_hits:
            lines.append(f"  {'cache hits':<14}{self.cache_hits:8d}")
        return "\n".join(lines)
