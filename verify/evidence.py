"""The verifier's plain data: what a build, a run or a check found."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace


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
    """What the checks of one candidate version found, as they run (the cache
    stores it); `Evidence.of` makes the record the output formats render."""

    accepted: bool
    stage: str  # compile | race | output | speed | accepted
    message: str  # one line: why rejected, or the speedup
    races: list[RaceReport] = field(default_factory=list)
    races_in_original: list[RaceReport] = field(default_factory=list)  # seen, but the unchanged program has them too
    race_runs: int = 0  # runs under the race checker, all clean when accepted
    archer_loaded: bool = False
    output_difference: str | None = None
    #: numbers of the output the check left out, as they varied between two serial runs
    output_not_compared: str = ""
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


@dataclass(frozen=True)
class RaceEvidence:
    """The race check: runs under ThreadSanitizer with Archer, and what they reported."""

    runs: int
    archer_loaded: bool
    races: tuple[RaceReport, ...] = ()
    #: races the candidate showed that the unchanged program shows too (same accesses): not the change's
    in_original: tuple[RaceReport, ...] = ()

    def to_json(self) -> dict:
        return {"runs": self.runs, "archer_loaded": self.archer_loaded, "races": [asdict(r) for r in self.races],
                "in_original": [asdict(r) for r in self.in_original]}


@dataclass(frozen=True)
class LoopTiming:
    """One timed loop: its label (file:line) and median seconds per run."""

    loop: str
    serial_seconds: float
    parallel_seconds: float

    def to_json(self) -> dict:
        return {"loop": self.loop, "serial_seconds": self.serial_seconds, "parallel_seconds": self.parallel_seconds}


@dataclass(frozen=True)
class Timing:
    """The paired serial and parallel runs, and what the speed verdict rests on."""

    threads: int
    speedup: float | None  # of the timed loops when `timed` is "loops", else of the whole program
    serial_seconds: tuple[float, ...] = ()  # whole program, per run
    parallel_seconds: tuple[float, ...] = ()
    timed: str = "program"  # "loops" (the changed loops' own seconds) or "program"
    note: str = ""  # why the whole program was timed, when it was
    loops: tuple[LoopTiming, ...] = ()
    loop_serial_seconds: tuple[float, ...] = ()  # per run, the timed loops together
    loop_parallel_seconds: tuple[float, ...] = ()
    program_speedup: float | None = None  # median serial / median parallel whole-program seconds


@dataclass(frozen=True)
class Where:
    """Where the checks ran: the machine (a Slurm compute node or this host),
    its CPU, the thread counts the checks used, and the Slurm jobs."""

    executor: str  # "local" or "slurm"
    node: str
    cpu_model: str | None = None
    cores: int | None = None  # CPUs the checks could use there
    threads: tuple[int, ...] = ()  # the thread counts checked and timed with
    job_ids: tuple[str, ...] = ()  # Slurm jobs, in submission order (a retried job adds one)
    notes: tuple[str, ...] = ()  # what happened to the jobs before the one that ran (cancelled, retried)

    def describe(self) -> str:
        """One line: `on n1 (Intel Xeon ..., 64 cores), threads 2, 8, Slurm job 12`."""
        machine = ", ".join(x for x in (self.cpu_model, f"{self.cores} cores" if self.cores else None) if x)
        text = f"measured on {self.node}" + (f" ({machine})" if machine else "")
        if self.threads:
            text += f", threads {', '.join(map(str, self.threads))}"
        if self.job_ids:
            text += f", Slurm job{'s' if len(self.job_ids) > 1 else ''} {', '.join(self.job_ids)}"
        if self.notes:
            text += "; " + "; ".join(self.notes)
        return text

    def to_json(self) -> dict:
        return {"executor": self.executor, "node": self.node, "cpu_model": self.cpu_model, "cores": self.cores,
                "threads": list(self.threads), "job_ids": list(self.job_ids), "notes": list(self.notes)}

    @classmethod
    def this_machine(cls, executor: str = "local", threads: tuple[int, ...] = (), **slurm) -> Where:
        """This host as the checks see it: name, /proc/cpuinfo's model name, usable CPUs."""
        import os
        import socket

        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count()
        return cls(executor=executor, node=slurm.pop("node", None) or socket.gethostname(),
                   cpu_model=cpu_model(), cores=cores, threads=tuple(threads), **slurm)


def cpu_model() -> str | None:
    """The first "model name" of /proc/cpuinfo, None where there is none."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return None


@dataclass(frozen=True)
class Evidence:
    """What verification found for one proposal, built once by the verifier and
    rendered by every format: the text report (cli/render.py), JSON (`to_json`),
    SARIF and annotations (cli/findings.py), the review comment (cli/github.py).

    A proposal that was never checked (no configuration, the --budget spent,
    a model's proposal under --no-verify) has only `accepted`, `stage` and
    `message`; a checked one has `race_check` and `timing` too (empty when the
    checks stopped before them)."""

    accepted: bool
    stage: str  # compile | race | output | speed | accepted, or setup | budget when nothing ran
    message: str  # one line: why rejected, or the speedup
    race_check: RaceEvidence | None = None
    output_difference: str | None = None  # None: the same output as the serial build
    output_not_compared: str = ""  # numbers left out of the output check (they vary between serial runs)
    timing: Timing | None = None
    tried: tuple[str, ...] = ()  # variants tried while tuning, with their times
    chosen: str | None = None  # the variant that won the tuning
    stage_seconds: tuple[tuple[str, float], ...] = ()  # wall seconds per verification stage
    cached_from: str | None = None  # from the verification cache: the date the result was made
    #: the file's accepted proposals checked together: that check's evidence, or what happened instead
    together: Evidence | str | None = None
    where: Where | None = None  # the machine and the jobs the checks ran on

    @classmethod
    def not_checked(cls, stage: str, message: str) -> Evidence:
        return cls(False, stage, message)

    @classmethod
    def of(cls, result: CheckResult) -> Evidence:
        timing = Timing(
            threads=result.threads, speedup=result.speedup, serial_seconds=tuple(result.serial_seconds),
            parallel_seconds=tuple(result.parallel_seconds), timed=result.timed, note=result.timing_note,
            loops=tuple(LoopTiming(**loop) for loop in result.loops),
            loop_serial_seconds=tuple(result.loop_serial_seconds),
            loop_parallel_seconds=tuple(result.loop_parallel_seconds), program_speedup=result.program_speedup,
        )
        return cls(
            result.accepted, result.stage, result.message,
            race_check=RaceEvidence(result.race_runs, result.archer_loaded, tuple(result.races),
                                    tuple(result.races_in_original)),
            output_difference=result.output_difference, output_not_compared=result.output_not_compared,
            timing=timing, tried=tuple(result.tried),
            chosen=result.chosen, stage_seconds=tuple(result.stage_seconds.items()), cached_from=result.cached_from,
        )

    @property
    def checked(self) -> bool:
        """The checks ran (else only accepted, stage and message are known)."""
        return self.timing is not None

    def with_together(self, together: Evidence | str) -> Evidence:
        return replace(self, together=together)

    def to_json(self) -> dict:
        """The JSON record of --format json and --report (its shape is documented in the README)."""
        out: dict = {"accepted": self.accepted, "stage": self.stage, "message": self.message}
        if self.checked:
            timing, race = self.timing, self.race_check
            out.update({
                "speedup": timing.speedup,
                "threads": timing.threads,
                "race_check": race.to_json(),
                "output_check": "same" if self.output_difference is None else self.output_difference,
                "output_not_compared": self.output_not_compared,
                "serial_seconds": list(timing.serial_seconds),
                "parallel_seconds": list(timing.parallel_seconds),
                "tried": list(self.tried),
                "chosen": self.chosen,
                "timed": timing.timed,
                "timing_note": timing.note,
                "loops": [loop.to_json() for loop in timing.loops],
                "loop_serial_seconds": list(timing.loop_serial_seconds),
                "loop_parallel_seconds": list(timing.loop_parallel_seconds),
                "program_speedup": timing.program_speedup,
                "stage_seconds": dict(self.stage_seconds),
                "cached_from": self.cached_from,
            })
        if self.where is not None:
            out["where"] = self.where.to_json()
        if self.together is not None:
            out["together"] = self.together if isinstance(self.together, str) else self.together.to_json()
        return out
