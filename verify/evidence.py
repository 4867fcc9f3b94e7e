"""The verifier's plain data: what a build, a run or a check found."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunResult:
    command: str
    returncode: int | None  # None when killed
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    out_of_memory: bool = False
    #: bytes the command wrote to each stream; more than runner.OUTPUT_LIMIT means
    #: stdout/stderr above hold only the head and the tail, with a note between
    stdout_bytes: int = 0
    stderr_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.out_of_memory


@dataclass(frozen=True)
class RaceReport:
    """One data race TSan/Archer reported: where the two accesses are."""

    first: str  # "file.c:12 (write)"
    second: str  # "file.c:12 (read)"
    summary: str  # TSan's SUMMARY line
    threads: int
    schedule: str


@dataclass
class CheckResult:
    """The evidence for one proposal (or for all accepted ones together)."""

    accepted: bool
    stage: str  # compile | race | output | speed | accepted
    message: str  # one line: why rejected, or the speedup
    races: list[RaceReport] = field(default_factory=list)
    race_runs: int = 0  # runs under the race checker, all clean when accepted
    archer_loaded: bool = False
    output_difference: str | None = None
    serial_seconds: list[float] = field(default_factory=list)
    parallel_seconds: list[float] = field(default_factory=list)
    threads: int = 0
    speedup: float | None = None  # of the timed loops when `timed` is "loops", else of the whole program
    #: what the speed verdict rests on: "loops" (the changed loops' own seconds) or "program"
    timed: str = "program"
    timing_note: str = ""  # why the whole program was timed, when it was
    loops: list[dict] = field(default_factory=list)  # per timed loop: label and median seconds
    loop_serial_seconds: list[float] = field(default_factory=list)  # per run, the timed loops together
    loop_parallel_seconds: list[float] = field(default_factory=list)
    program_speedup: float | None = None  # median serial / median parallel whole-program seconds
    tried: list[str] = field(default_factory=list)  # variants tried while tuning, with their times
    chosen: str | None = None  # the directive that won the tuning
    stage_seconds: dict = field(default_factory=dict)  # wall seconds per verification stage (StageTimes)
    abandoned: bool = False  # a tuning variant's timing stopped early: clearly slower than the best so far
    cached_from: str | None = None  # when the result comes from the verification cache: the date it was made

    def evidence(self) -> dict:
        return {
            "accepted": self.accepted,
            "stage": self.stage,
            "message": self.message,
            "speedup": self.speedup,
            "threads": self.threads,
            "race_check": {
                "runs": self.race_runs,
                "archer_loaded": self.archer_loaded,
                "races": [r.__dict__ for r in self.races],
            },
            "output_check": "same" if self.output_difference is None else self.output_difference,
            "serial_seconds": self.serial_seconds,
            "parallel_seconds": self.parallel_seconds,
            "tried": self.tried,
            "chosen": self.chosen,
            "timed": self.timed,
            "timing_note": self.timing_note,
            "loops": self.loops,
            "loop_serial_seconds": self.loop_serial_seconds,
            "loop_parallel_seconds": self.loop_parallel_seconds,
            "program_speedup": self.program_speedup,
            "stage_seconds": self.stage_seconds,
            "cached_from": self.cached_from,
        }
