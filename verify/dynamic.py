"""`ompilot check --dynamic`: the checked files' programs run under ThreadSanitizer + Archer.

For each program the verifier can build (`config.resolve_config`: a
`.ompilot.toml`, a compile database, or a single file with main() built with
the flags after `--`) the race-check build is made as the verifier makes it
(`Program.build_for_race`: SANITIZER_FLAGS, `race_defines`, `race_cflags`,
`race_build`) and run with `race_run` (else `run`) for every thread count,
through `races.check_races`. The directives of the user's `for` loops that
name no schedule get `schedule(runtime)`, and `races.race_builds` then makes
one build per schedule of the race check (an explicit schedule is kept: a
program may rely on two `schedule(static)` loops giving each thread the same
iterations). No output comparison, no timing: only the races TSan shows.

Each race keeps both accesses with the top frames of their stacks in user
code, at the paths the user gave (the runs happen in a sandbox copy).
A file whose program cannot be built is a `NotRun` with the reason and the
`.ompilot.toml` to start from.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ompilot.analysis.pragmas import Directive, logical_lines
from ompilot.analysis.syntax import find_omp_pragmas

from . import races
from .builds import ProgramBuild
from .config import CONFIG_FILE, SINGLE_FILE, CannotBuild, ConfigError, ProgramConfig, resolve_config
from .evidence import RunResult
from .runner import Sandbox, run_command
from .verifier import SANITIZER_SLOWDOWN, Program

#: Thread counts of `check --dynamic` when neither --threads nor the configuration names them.
DEFAULT_THREADS = (2, 4)
#: Passes over every thread count and schedule, at least (the configuration's
#: race_runs may ask more), until a race shows: TSan sees only the interleavings
#: that happen, and some races show in one run of two (measured here: two
#: differently named critical sections around one counter, 6 of 20 runs with
#: 2 threads, 10 of 20 with 4). A pass of a small program takes a tenth of a second.
DYNAMIC_PASSES = 3
#: Frames of each stack kept for the report (innermost first, user code only).
STACK_FRAMES = 3


@dataclass(frozen=True)
class Frame:
    """One frame of a race's stack in the user's code."""

    function: str
    file: str
    line: int

    def text(self) -> str:
        return f"{self.function} {self.file}:{self.line}"


@dataclass(frozen=True)
class RaceAccess:
    """One of the two accesses of a race: where, what kind, and its stack's top frames."""

    file: str  # "" when TSan could not restore the stack into the user's code
    line: int | None
    kind: str  # read | write | atomic read | atomic write
    stack: tuple[Frame, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "unknown place (stack not restored)"

    def to_json(self) -> dict:
        return {"file": self.file or None, "line": self.line, "kind": self.kind,
                "stack": [f.text() for f in self.stack]}


@dataclass(frozen=True)
class DynamicRace:
    """A data race TSan + Archer showed in one run: its two accesses and the run's settings."""

    first: RaceAccess  # the access TSan caught
    second: RaceAccess  # the earlier access it raced with
    threads: int
    schedule: str  # OMP_SCHEDULE of the run, or "default"

    @property
    def key(self) -> frozenset:
        """The same pair of accesses, whichever run saw it and in which order."""
        return frozenset({(a.file, a.line) for a in (self.first, self.second)})

    @property
    def lines(self) -> dict[str, set[int]]:
        """The accessed lines per file."""
        out: dict[str, set[int]] = {}
        for access in (self.first, self.second):
            if access.file and access.line is not None:
                out.setdefault(access.file, set()).add(access.line)
        return out

    def to_json(self) -> dict:
        return {"accesses": [self.first.to_json(), self.second.to_json()], "threads": self.threads,
                "schedule": self.schedule}


@dataclass(frozen=True)
class NotRun:
    """A checked file whose program could not be run under the race checker."""

    file: str
    reason: str  # one line
    starter: str = ""  # the `.ompilot.toml` to start from (when ompilot could not work out a build)
    directory: str = ""  # where to save it

    def message(self) -> str:
        """The reason, and the starter file as the verifier gives it."""
        text = f"not run under ThreadSanitizer (--dynamic): {self.reason}"
        if self.starter:
            text += f"; save this as {CONFIG_FILE} in {self.directory} and adapt it:\n{self.starter.rstrip()}"
        return text


@dataclass
class ProgramRun:
    """What running one program under TSan + Archer showed."""

    program: str  # the checked file, or the configuration it was built from
    files: tuple[str, ...]  # the checked files of this program
    threads: tuple[int, ...]
    schedules: tuple[str, ...]  # of the race builds; ("default",) without a schedule(runtime) loop
    runs: int = 0
    races: list[DynamicRace] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # build failures, crashes, Archer missing, ...
    archer_loaded: bool = False
    skipped: str = ""  # why it was not run although it can be built (no OpenMP directive)

    def to_json(self) -> dict:
        return {"program": self.program, "files": list(self.files), "threads": list(self.threads),
                "schedules": list(self.schedules), "runs": self.runs, "races": len(self.races),
                "archer_loaded": self.archer_loaded, "failures": self.failures,
                **({"skipped": self.skipped} if self.skipped else {})}


@dataclass
class DynamicReport:
    runs: list[ProgramRun] = field(default_factory=list)
    not_run: list[NotRun] = field(default_factory=list)

    @property
    def races(self) -> list[DynamicRace]:
        return [race for run in self.runs for race in run.races]


@dataclass
class _Plan:
    """One program to run, with the checked files that belong to it."""

    config: ProgramConfig
    files: list[Path]


# --------------------------------------------------------------------------- planning


def plan_programs(paths: list[Path], flags: tuple[str, ...] | None = None,
                  build_dir: Path | None = None) -> tuple[list[_Plan], list[NotRun]]:
    """The programs of `paths` (files of one compile-database program or one
    configuration together), and the files none can be built for."""
    plans: dict[tuple, _Plan] = {}
    not_run: list[NotRun] = []
    for path in paths:
        try:
            config = resolve_config(Path(path), flags, build_dir)
        except CannotBuild as exc:
            reason = str(exc).removeprefix(f"{Path(path).absolute()}: ").removeprefix("cannot verify: ")
            not_run.append(NotRun(str(path), reason, exc.starter, str(exc.directory)))
            continue
        except ConfigError as exc:
            not_run.append(NotRun(str(path), str(exc)))
            continue
        units = tuple(u.source for u in config.program.units) if isinstance(config.program, ProgramBuild) else ()
        key = (os.path.realpath(config.root), config.build, config.race_build, units)
        plans.setdefault(key, _Plan(config, [])).files.append(Path(path))
    return list(plans.values()), not_run


def _program_sources(plan: _Plan) -> dict[str, Path]:
    """Sources of the program inside its root, by path relative to it: the
    checked files and the compile database's units."""
    root = Path(os.path.realpath(plan.config.root))
    found: dict[str, Path] = {}
    candidates = [Path(os.path.realpath(p)) for p in plan.files]
    if isinstance(plan.config.program, ProgramBuild):
        candidates += [root / u.source for u in plan.config.program.units]
    for path in candidates:
        try:
            found.setdefault(path.relative_to(root).as_posix(), path)
        except ValueError:  # outside the tree the sandbox copies: left as it is
            continue
    return found


def runtime_default_schedules(text: str) -> str:
    """`text` with `schedule(runtime)` added to every `for` directive that names
    no schedule (the default schedule is the implementation's choice, so any
    schedule is a legal run of the program); written schedules stay. Lines
    are not moved, so reported lines are the user's."""

    def runtime(line: str) -> str:
        directive = Directive.parse_or_none(line)
        if directive is None or directive.spelling != "#pragma" or directive.clause("schedule") is not None:
            return line
        return races.runtime_schedule(line)  # the race check's rule: `for` directives only

    return "".join(map(runtime, logical_lines(text)))


# --------------------------------------------------------------------------- running


@dataclass
class _RecordingRunner:
    """The race check's runner that keeps every run's settings and result, to read the stacks."""

    config: ProgramConfig
    seen: list[tuple[dict[str, str], RunResult]] = field(default_factory=list)

    def __call__(self, command: str, cwd: Path, env: dict[str, str], time_limit: float) -> RunResult:
        result = run_command(command, cwd, env=env, time_limit=time_limit,
                             memory_limit_mb=self.config.memory_limit_mb, limit_address_space=False)
        self.seen.append((env, result))
        return result


@dataclass
class _Places:
    """Turns a frame's path in the sandbox back into the path the user knows."""

    sandbox: Path
    root: Path  # the user's tree the sandbox copies
    named: dict[str, str]  # realpath of each checked file -> the path as the user gave it

    def user_path(self, file: str) -> str:
        path = Path(file) if os.path.isabs(file) else self.sandbox / file
        for copy in {str(self.sandbox), os.path.realpath(self.sandbox)}:
            try:
                relative = Path(os.path.normpath(path)).relative_to(copy)
            except ValueError:
                continue
            path = self.root / relative
            break
        real = os.path.realpath(path)
        if real in self.named:
            return self.named[real]
        relative = os.path.relpath(real, os.getcwd())
        return real if relative.startswith("..") else relative


def _access(kind: str, frames, places: _Places) -> RaceAccess:
    user = [f for f in frames if races.is_user_frame(f)][:STACK_FRAMES]
    stack = tuple(Frame(f.function, places.user_path(f.file), f.line) for f in user)
    if not stack:
        return RaceAccess("", None, kind)
    return RaceAccess(stack[0].file, stack[0].line, kind, stack)


def races_in(stderr: str, threads: int, schedule: str, places: _Places) -> list[DynamicRace]:
    """Every data race of one run's TSan output, with both stacks' top user frames."""
    found = []
    for accesses, _ in races.data_race_blocks(stderr):
        pair = [_access(k, frames, places) for k, frames in accesses[:2]]
        while len(pair) < 2:
            pair.append(RaceAccess("", None, "unknown"))
        found.append(DynamicRace(pair[0], pair[1], threads, schedule))
    return found


def _first_error(result: RunResult) -> str:
    if result.timed_out:
        return "timed out"
    lines = [line for line in result.stderr.splitlines() if "error" in line] or result.stderr.splitlines()
    return (lines or ["no output"])[0].strip()[:300]


def run_program(plan: _Plan, threads: tuple[int, ...] | None = None,
                say: Callable[[str], None] | None = None) -> ProgramRun:
    """Build the program for the race check (one build per schedule) and run
    it under TSan + Archer with every thread count; all races of all builds."""
    config = plan.config
    threads = tuple(threads or config.threads or DEFAULT_THREADS)
    name = str(plan.files[0]) if config.source == SINGLE_FILE else config.source
    sources = _program_sources(plan)
    texts = {rel: path.read_bytes() for rel, path in sources.items()}
    run = ProgramRun(program=name, files=tuple(map(str, plan.files)), threads=threads, schedules=())
    if not any(find_omp_pragmas(data) for data in texts.values()):
        run.skipped = "no OpenMP directive in its sources"
        return run
    race_files = {rel: runtime_default_schedules(data.decode("utf-8", "surrogateescape"))
                  .encode("utf-8", "surrogateescape") for rel, data in texts.items()}
    builds: list[tuple[str, dict[str, bytes]]] = []
    for schedule, files in races.race_builds(race_files):
        if all(files != other for _, other in builds):
            builds.append((schedule, files))
    varied = len(builds) > 1  # else no schedule(runtime) loop: OMP_SCHEDULE changes nothing
    run.schedules = tuple(schedule for schedule, _ in builds) if varied else (races.DEFAULT_SCHEDULE_LABEL,)
    seen: set[frozenset] = set()
    loaded = True
    named = {os.path.realpath(p): str(p) for p in plan.files}
    with Sandbox(config.root) as sandbox:
        program = Program(config=config, sandbox=sandbox)
        places = _Places(sandbox.path, Path(os.path.realpath(config.root)), named)
        for schedule, files in builds:
            if say is not None:
                say(f"{name}: race check (ThreadSanitizer + Archer), schedule {schedule if varied else 'default'}")
            built = program.build_for_race(files)
            if not built.ok:
                run.failures.append(f"{program.race_build_label} fails: {_first_error(built)}")
                loaded = False
                break
            recorder = _RecordingRunner(config)
            check = races.check_races(
                sandbox.path / "race.exe", list(config.race_run or config.run), sandbox.path,
                threads=threads, runs=max(config.race_runs, DYNAMIC_PASSES), schedules=(schedule,) if varied else (),
                time_limit=config.time_limit * SANITIZER_SLOWDOWN, runner=recorder, root=sandbox.path,
            )
            run.runs += check.runs
            run.failures += check.failures
            loaded &= check.archer_loaded
            for env, result in recorder.seen:
                for race in races_in(result.stderr, int(env.get("OMP_NUM_THREADS", "0")),
                                     env.get("OMP_SCHEDULE", races.DEFAULT_SCHEDULE_LABEL), places):
                    if race.key not in seen:
                        seen.add(race.key)
                        run.races.append(race)
    run.archer_loaded = loaded and run.runs > 0
    return run


def dynamic_check(paths: list[Path], *, flags: tuple[str, ...] | None = None, build_dir: Path | None = None,
                  threads: tuple[int, ...] | None = None, jobs: int = 1,
                  say: Callable[[str], None] | None = None) -> DynamicReport:
    """Run the programs of `paths` under TSan + Archer (`jobs` programs at once).

    `flags`: the compiler flags given after `--` (the single-file build uses
    them); `build_dir`: the directory of compile_commands.json (default:
    searched upwards); `threads`: the thread counts (default: the
    configuration's, 2 and 4)."""
    plans, not_run = plan_programs(list(paths), flags, build_dir)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs = list(pool.map(lambda plan: run_program(plan, threads, say), plans))
    return DynamicReport(runs=runs, not_run=not_run)


def dynamic_races(paths: list[Path], **options) -> list[DynamicRace]:
    """The races of `dynamic_check` alone (the library call without the CLI)."""
    return dynamic_check(paths, **options).races


def parse_thread_counts(text: str) -> tuple[int, ...]:
    """"2,4" -> (2, 4); ValueError with the reason for anything else (each count >= 2)."""
    try:
        counts = tuple(int(part) for part in text.replace(" ", "").split(","))
    except ValueError:
        raise ValueError(f"--threads takes thread counts like 2,4, not {text!r}") from None
    if not counts or any(n < 2 for n in counts):
        raise ValueError(f"--threads: every thread count must be 2 or more (one thread cannot race), not {text!r}")
    return tuple(dict.fromkeys(counts))


def describe(run: ProgramRun) -> str:
    """"2, 4 threads, schedules static, static,1, guided": how a program was run, for messages."""
    threads = ", ".join(map(str, run.threads))
    schedules = ", ".join(run.schedules)
    return f"{threads} threads, schedule{'s' * (len(run.schedules) != 1)} {schedules}"

