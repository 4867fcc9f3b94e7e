"""The verifier's plain data: how a program is built and run, and what a check found."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .compare import Tolerance


@dataclass(frozen=True)
class ProgramConfig:
    """How to build and run one program, from `[tool.ompilot]` / `.ompilot.toml`
    or, for a single file with main(), from defaults.

    `build` is a shell command run in the copy of the tree, with placeholders
    {cc} (compiler: clang-19, clang++-19, gcc or g++), {cflags} (ompilot's
    flags for this build: -O3 -fopenmp, -fsanitize=thread ...), {out} (the
    executable path ompilot wants). `run` commands use {exe}.
    """

    root: Path  # the directory the commands run in (the copy is made of it)
    build: str
    run: tuple[str, ...]  # each run's stdout (and `files`) is compared
    race_run: tuple[str, ...] = ()  # run commands for the race checker (default: `run`)
    files: tuple[str, ...] = ()  # output files to compare, relative to root
    compare: tuple[str, ...] = ("stdout", "stderr")  # what of each run is compared: stdout, stderr, files
    language: str = "c"  # c | cpp: picks the compiler
    tolerance: Tolerance = Tolerance()
    time_limit: float = 60.0  # seconds per build or run
    memory_limit_mb: int = 4096  # per build or run
    threads: tuple[int, ...] = (2, 4)  # thread counts of the checks
    race_runs: int = 1  # passes over every thread count x schedule under the race checker
    timing_runs: int = 5  # runs of the serial and of each parallel build
    tune_seconds: float = 60.0  # time the variant search may take per file
    compilers: tuple[str, ...] = ("clang",)  # gcc too when asked
    source: str = ""  # where the configuration came from, for messages
    race_defines: tuple[str, ...] = ()  # -D macros of the race-check build only (a smaller problem size)
    race_cflags: str = ""  # more flags of the race-check build only
    race_build: str = ""  # a whole build command for the race check (default: `build`)
    #: builds.ProgramBuild when ompilot builds the program from compile_commands.json (then `build` is "")
    program: object | None = None
    #: builds.BuildFacts of a configuration ompilot worked out itself: the starter file when its build fails
    found: object | None = None


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
