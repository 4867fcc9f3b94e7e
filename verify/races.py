"""Race checking: run a ThreadSanitizer build under Archer and read its reports.

The program is built with `SANITIZER_FLAGS` (clang only: GCC's libgomp is not
instrumented and gives false races) and run with `race_environment(...)`:
libomp loads Archer through OMP_TOOL_LIBRARIES (full path: Debian's libomp
looks for the bare name and /usr/lib/llvm-19/lib is not on the loader path),
and Archer tells TSan about OpenMP's synchronization. Without Archer, TSan
does not see libomp's barriers and reports race-free programs as racy, so a
run counts only if Archer's banner shows it loaded.

TSan only sees races that happen in the run it watches: `check_races` runs
the program for several thread counts and, for a build whose pragmas use
`schedule(runtime)` (see `runtime_schedule`), several schedules set through
OMP_SCHEDULE. A clean result is evidence, not proof.

Things measured on this machine (clang 19.1.7, libomp 19):
- Archer's banner ("Archer detected OpenMP application with TSan, supplying
  OpenMP synchronization semantics") goes to *stdout*, not stderr; check
  both streams. A run command that redirects stdout hides it, and the check
  then says it cannot be trusted (it fails closed).
- TSan cannot start under RLIMIT_AS or RLIMIT_DATA limits (it maps ~32 TiB
  of shadow memory): it prints "FATAL: ThreadSanitizer can not mmap the
  shadow memory" and exits with the `exitcode` (66), the same status as a
  race. Such runs are failures here, never races and never clean.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ompilot.analysis.pragmas import PRAGMA_LINE, Directive, logical_lines

from .evidence import RaceReport, RunResult

SANITIZER_FLAGS = ["-fsanitize=thread", "-fopenmp", "-g", "-O1", "-fno-omit-frame-pointer"]

# Schedules the race checker tries on a schedule(runtime) build. static with
# 2 threads hides races at the single chunk boundary; chunk size 1 puts
# neighbouring iterations on different threads; guided hands chunks out in
# the order threads ask for them (an order no static schedule gives), ending
# with chunks of one iteration. guided replaced dynamic,1, which called the
# runtime once per iteration: 25 s per 9 million iterations under TSan, for
# no dependence distance the two static schedules do not already split.
RACE_SCHEDULES = ("static", "static,1", "guided")

TSAN_EXITCODE = 66
ARCHER_BANNER = "Archer detected OpenMP application with TSan"
ARCHER_WITHOUT_TSAN = "Archer detected OpenMP application without TSan"
DEFAULT_SCHEDULE_LABEL = "default"  # RaceReport.schedule when OMP_SCHEDULE was not set

_LLVM_LIB = Path("/usr/lib/llvm-19/lib")
_CLANG = "clang-19"

# A runner runs one shell command: runner(command: str, cwd: Path, env=dict, time_limit=float) -> RunResult.
# `env` is the complete environment for the child (a runner that merges it onto
# os.environ, like verify.runner.run_command, gets the same but for inherited OMP_* variables).
Runner = Callable[..., RunResult]


# --------------------------------------------------------------------------- environment


_SYMBOLIZER = _LLVM_LIB.parent / "bin" / "llvm-symbolizer"  # from Debian's llvm-19


@functools.lru_cache(maxsize=None)
def llvm_library(name: str) -> str | None:
    """Full path of one of clang-19's libraries (libarcher.so, libomp.so), or None when it is not installed."""
    candidate = _LLVM_LIB / name
    if candidate.is_file():
        return str(candidate)
    try:
        out = subprocess.run(
            [_CLANG, f"-print-file-name={name}"],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    # clang prints the bare name back when it does not find the file
    if out and os.path.isabs(out) and os.path.isfile(out):
        return os.path.realpath(out)
    return None


def archer_library() -> str | None:
    """Full path of libarcher.so, or None when it is not installed."""
    return llvm_library("libarcher.so")


def race_environment(threads: int, schedule: str | None) -> dict[str, str]:
    """The variables a race-checking run needs (to put over the inherited environment)."""
    env = {
        "OMP_NUM_THREADS": str(threads),
        "OMP_DYNAMIC": "false",  # the runtime must not hand out fewer threads
        # idle threads sleep instead of spinning: with 8 threads on 2 cores a spinning
        # thread takes the core a working one needs, and TSan makes every spin slow.
        # Archer takes the synchronization from OpenMP's events, not from how threads wait.
        "OMP_WAIT_POLICY": "passive",
        # bare name when not installed: the run then shows Archer did not load
        "OMP_TOOL_LIBRARIES": archer_library() or "libarcher.so",
        "TSAN_OPTIONS": (
            f"ignore_noninstrumented_modules=1 exitcode={TSAN_EXITCODE} halt_on_error=0 "
            # more remembered accesses: fewer "[failed to restore the stack]"
            "report_signal_unsafe=0 history_size=4"
            # /usr/bin/llvm-symbolizer may be an older LLVM's that cannot read
            # clang-19's DWARF 5: reports then lose their file:line
            + (f" external_symbolizer_path={_SYMBOLIZER}" if _SYMBOLIZER.is_file() else "")
        ),
        "ARCHER_OPTIONS": "verbose=1",
    }
    if schedule:
        env["OMP_SCHEDULE"] = schedule
    return env


# Inherited variables that could change what the run does (OMP_THREAD_LIMIT=1,
# a user's TSAN_OPTIONS=report_bugs=0, ...): dropped before race_environment is applied.
_DROPPED_PREFIXES = ("OMP_", "KMP_", "GOMP_", "TSAN_", "ARCHER_")


def _child_environment(threads: int, schedule: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    env.update(race_environment(threads, schedule))
    return env


# --------------------------------------------------------------------------- reports

_WARNING_RE = re.compile(r"^WARNING: ThreadSanitizer: (.+?)(?: \(pid=\d+\))?\s*$")
_ACCESS_RE = re.compile(
    r"^\s*(?P<previous>Previous )?(?P<atomic>atomic )?(?P<kind>read|write)\b.*? of size \d+",
    re.IGNORECASE,
)
_FRAME_RE = re.compile(r"^\s*#\d+\s+(?P<rest>.*)$")
_TRAILING_PARENS_RE = re.compile(r"\s*\((?:BuildId: [0-9a-fA-F]+|[^()]*\+0x[0-9a-fA-F]+)\)\s*$")
_LOCATION_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::\d+)?$")

# Frames in these files or modules are not the user's code.
_RUNTIME_MODULES = ("libomp", "libarcher", "libtsan", "libclang_rt", "libc.so", "libc++", "libstdc++",
                    "ld-linux", "libpthread")
_RUNTIME_PATH_PARTS = ("/compiler-rt/", "/openmp/runtime/", "/openmp/tools/", "/sanitizer_common/")
_SYSTEM_PREFIXES = ("/usr/include/", "/usr/lib/", "/usr/local/include/", "/lib/", "/usr/src/")


@dataclass(frozen=True)
class StackFrame:
    function: str
    file: str | None
    line: int | None
    module: str | None


def _parse_frame(text: str) -> StackFrame | None:
    m = _FRAME_RE.match(text)
    if not m:
        return None
    rest = m.group("rest").rstrip()
    module = None
    # strip "(BuildId: ...)" and "(module+0xoff)" from the right
    while True:
        t = _TRAILING_PARENS_RE.search(rest)
        if not t:
            break
        inner = t.group(0).strip()[1:-1]
        if "+0x" in inner and module is None:
            module = inner.split("+0x", 1)[0]
        rest = rest[: t.start()]
    function, _, location = rest.rpartition(" ")
    if not function:  # only one token: a function name without location
        function, location = location, "<null>"
    loc = _LOCATION_RE.match(location)
    if loc:
        return StackFrame(function.strip(), loc.group("file"), int(loc.group("line")), module)
    return StackFrame(function.strip(), None, None, module)


def is_user_frame(frame: StackFrame) -> bool:
    if frame.file is None or frame.line is None or frame.line == 0:
        return False
    if frame.module and any(frame.module.startswith(m) for m in _RUNTIME_MODULES):
        return False
    path = os.path.normpath(frame.file)
    if any(part in path for part in _RUNTIME_PATH_PARTS):
        return False
    if path.startswith(_SYSTEM_PREFIXES):
        return False
    if frame.function.startswith(("__tsan", "__kmp", "__kmpc", "ompt_", "__interceptor")):
        return False
    return True


def _display_path(path: str, root: Path | None) -> str:
    if root is not None:
        try:
            return str(Path(path).resolve().relative_to(Path(root).resolve()))
        except (ValueError, OSError):
            pass
    return path


def _access_text(kind: str, frames: list[StackFrame], root: Path | None) -> str:
    for frame in frames:
        if is_user_frame(frame):
            return f"{_display_path(frame.file, root)}:{frame.line} ({kind})"
    # no user frame: say the first thing we have, so the report is still readable
    for frame in frames:
        if frame.file is not None:
            return f"{_display_path(frame.file, root)}:{frame.line} ({kind}, not user code)"
    if frames:
        where = frames[0].function or "?"
        if frames[0].module:
            where += f" in {frames[0].module}"
        return f"{where} ({kind}, no source location)"
    return f"unknown ({kind}, stack not restored)"


def _split_blocks(stderr: str) -> list[tuple[str, list[str]]]:
    """(warning kind, lines) for every "WARNING: ThreadSanitizer: ..." block."""
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    kind = ""
    for line in stderr.splitlines():
        m = _WARNING_RE.match(line.strip())
        if m:
            if current is not None:
                blocks.append((kind, current))
            kind, current = m.group(1), []
            continue
        if current is None:
            continue
        current.append(line)
        if line.startswith("SUMMARY: ThreadSanitizer"):
            blocks.append((kind, current))
            current = None
    if current is not None:
        blocks.append((kind, current))
    return blocks


def _parse_race_block(lines: list[str]) -> tuple[list[tuple[str, list[StackFrame]]], str]:
    """The (access kind, stack) of each access in a data-race block, and its SUMMARY."""
    accesses: list[tuple[str, list[StackFrame]]] = []
    summary = ""
    stack: list[StackFrame] | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("SUMMARY:"):
            summary = stripped
            stack = None
            continue
        m = _ACCESS_RE.match(line)
        if m and not stripped.startswith("#"):
            kind = m.group("kind").lower()
            if m.group("atomic"):
                kind = "atomic " + kind
            stack = []
            accesses.append((kind, stack))
            continue
        if stack is not None:
            frame = _parse_frame(line)
            if frame is not None:
                stack.append(frame)
            elif stripped:  # "Location is ...", "Thread T1 ...", "Mutex ..." end the stack
                stack = None
    return accesses, summary


_ALLOCATION_RE = re.compile(r"^\s*Location is heap block .* allocated by .*:\s*$")
_ALLOCATOR_FUNCTIONS = ("malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign", "operator new")


def _allocated_by_runtime(lines: list[str]) -> bool:
    """Whether the block's memory is a heap block libomp allocated for itself
    (its allocation stack's first frame past malloc & co. is in libomp)."""
    start = next((i for i, line in enumerate(lines) if _ALLOCATION_RE.match(line)), None)
    if start is None:
        return False
    for line in lines[start + 1:]:
        frame = _parse_frame(line)
        if frame is None:
            return False
        if not frame.function.startswith(_ALLOCATOR_FUNCTIONS):
            return bool(frame.module and frame.module.startswith("libomp"))
    return False


def _on_task_descriptor(lines: list[str], accesses: list[tuple[str, list[StackFrame]]]) -> bool:
    """A report on a task's descriptor, not on the program's memory.

    libomp keeps the values a task captures in a descriptor from its own
    memory pool, and hands a finished task's descriptor to the next task
    created, through synchronisation TSan cannot see (libomp is not
    instrumented). A task body reading its captured values then "races" with
    the creation of a later task writing into the same bytes: measured on
    corpus/races/taskgroup_safe.cpp, about 1 run in 60 under load, and in every
    run of a program creating thousands of small tasks (tests/test_verify_races.py).
    The program's own storage is never in that pool.
    """
    in_task = any(frame.function.startswith(".omp_task_entry") for _, stack in accesses for frame in stack)
    return in_task and _allocated_by_runtime(lines)


def data_race_blocks(stderr: str) -> list[tuple[list[tuple[str, list[StackFrame]]], str]]:
    """Each data race TSan reported in `stderr` on the program's memory: the
    (access kind, whole stack) of each of its accesses, and its SUMMARY line.
    Reports on the OpenMP runtime's task descriptors are left out (see
    _on_task_descriptor)."""
    found = []
    for kind, lines in _split_blocks(stderr):
        if kind.startswith("data race"):
            accesses, summary = _parse_race_block(lines)
            if not _on_task_descriptor(lines, accesses):
                found.append((accesses, summary))
    return found


def parse_tsan_reports(stderr: str, threads: int, schedule: str, root: Path | None = None) -> list[RaceReport]:
    """Every data race TSan reported in `stderr`, each pair of accesses once.

    `first` is the access TSan caught ("Write of size"/"Read of size"),
    `second` the earlier one it raced with ("Previous write/read"), each as
    "file:line (kind)" of the first stack frame in user code (libomp, Archer,
    the TSan runtime and system headers skipped). File paths are as the
    debug information has them, or relative to `root` when under it. Pairs
    are deduplicated regardless of order (the same race shows up as
    write/previous read in one run and read/previous write in another).
    """
    reports: list[RaceReport] = []
    seen: set[frozenset[str]] = set()
    for accesses, summary in data_race_blocks(stderr):
        texts = [_access_text(k, frames, root) for k, frames in accesses[:2]]
        while len(texts) < 2:
            texts.append("unknown (stack not restored)")
        key = frozenset(texts)
        if key in seen:
            continue
        seen.add(key)
        reports.append(RaceReport(first=texts[0], second=texts[1], summary=summary,
                                  threads=threads, schedule=schedule))
    return reports


def tsan_warning_kinds(stderr: str) -> list[str]:
    """The kinds of all TSan warnings in `stderr` ("data race", "thread leak", ...)."""
    return [kind for kind, _ in _split_blocks(stderr)]


def archer_loaded(output: str) -> bool:
    """Whether Archer started with TSan in this run.

    Pass the run's stdout and stderr together: Archer prints its banner
    ("Archer detected OpenMP application with TSan, supplying OpenMP
    synchronization semantics", with ARCHER_OPTIONS=verbose=1) to stdout.
    """
    return ARCHER_BANNER in output


# --------------------------------------------------------------------------- runtime schedule


def runtime_schedule(pragma: str) -> str:
    """The pragma with its schedule clause replaced by schedule(runtime).

    Only for directives with a `for` worksharing part (for, parallel for,
    for simd, parallel for simd, target teams distribute parallel for, ...);
    others (simd, taskloop, distribute, loop, parallel) and text that is no
    directive are returned as they are. A missing clause is added right
    after the directive name; the rest of the text is kept as written.
    """
    directive = Directive.parse_or_none(pragma)
    if directive is None or not directive.shares_for_loop:
        return pragma
    return directive.with_clause("schedule(runtime)", at=0).text


def runtime_schedules(text: str) -> str:
    """`runtime_schedule` on every directive line of `text` (continuations read on)."""
    return "".join(runtime_schedule(line) for line in logical_lines(text))


def pinned_schedule(data: bytes, schedule: str) -> bytes:
    """A schedule(runtime) build's source with the static `schedule` written
    into its pragmas instead ("static" or "static,1").

    The assignment of iterations to threads is the one OMP_SCHEDULE would
    give, but the compiled loop takes its chunks without a call into the
    runtime for each: under ThreadSanitizer `schedule(runtime)` with
    static,1 dispatches every iteration through libomp (measured here: 30 s
    instead of 0.3 s for 9 million iterations). dynamic schedules stay
    runtime-driven: their point is the runtime's hand-out order.
    """
    kind, _, chunk = schedule.partition(",")
    if kind.strip() != "static" or not PRAGMA_LINE.search(data):
        return data
    clause = f"schedule(static{', ' + chunk.strip() if chunk.strip() else ''})"

    def pinned(line: str) -> str:
        directive = Directive.parse_or_none(line) if "runtime" in line else None
        found = directive.clause("schedule") if directive else None
        if found is None or found.items() != ("runtime",):
            return line
        return directive.with_clause(clause).text

    text = data.decode("utf-8", errors="surrogateescape")
    return "".join(map(pinned, logical_lines(text))).encode("utf-8", errors="surrogateescape")


def race_builds(race_files: dict[str, bytes]) -> list[tuple[str, dict[str, bytes]]]:
    """Which builds the race check makes: one per schedule of RACE_SCHEDULES,
    (schedule, sources). Static schedules are written into the pragmas
    (`pinned_schedule`), the others stay schedule(runtime), set through
    OMP_SCHEDULE."""
    return [(schedule, {name: pinned_schedule(data, schedule) for name, data in race_files.items()})
            for schedule in RACE_SCHEDULES]


# --------------------------------------------------------------------------- running


def run_subprocess(command: str, cwd: Path, *, env: dict[str, str], time_limit: float) -> RunResult:
    """Default runner: `/bin/sh -c command` in its own process group, killed whole on timeout.

    Same calling convention as verify.runner.run_command (without its memory
    limit: TSan cannot run under RLIMIT_AS or RLIMIT_DATA).
    """
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
    except OSError as exc:
        return RunResult(command, 127, "", f"cannot start: {exc}", time.monotonic() - start)
    try:
        out, err = proc.communicate(timeout=time_limit)
        timed_out = False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        out, err = proc.communicate()
        timed_out = True
    return RunResult(
        command=command,
        returncode=None if timed_out else proc.returncode,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        seconds=time.monotonic() - start,
        timed_out=timed_out,
    )


def _fill(template: str, exe: Path) -> str:
    quoted = shlex.quote(str(exe))
    try:  # the same expansion as the verifier's plain runs ("{{" is a literal brace)
        return template.format(exe=quoted)
    except (KeyError, IndexError, ValueError):
        return template.replace("{exe}", quoted)


def run_commands(exe: Path, run_args: list[str] | str) -> list[str]:
    """The shell commands of one run of `exe`.

    - a str with {exe}: one command ("{exe} input.txt > out.txt");
    - a list whose items all contain {exe}: several commands (ProgramConfig.run),
      run one after the other;
    - anything else: arguments of `exe` (a list as argv, a str shell-split).
    """
    if isinstance(run_args, str):
        if "{exe}" in run_args:
            return [_fill(run_args, exe)]
        return [shlex.join([str(exe), *shlex.split(run_args)])]
    items = list(run_args)
    if items and all("{exe}" in item for item in items):
        return [_fill(item, exe) for item in items]
    return [shlex.join([str(exe), *items])]


@dataclass
class RaceCheck:
    races: list[RaceReport]
    runs: int
    archer_loaded: bool  # True only if every run showed Archer's banner
    failures: list[str] = field(default_factory=list)  # crashes, timeouts, Archer missing ...

    @property
    def trustworthy(self) -> bool:
        """Clean result that means something: Archer in every run, no failure."""
        return self.archer_loaded and not self.failures and self.runs > 0


# "==123==ERROR: ThreadSanitizer: SEGV on unknown address ...", "FATAL: ThreadSanitizer can not mmap
# the shadow memory", "ThreadSanitizer: CHECK failed: ...": all exit with TSAN_EXITCODE too.
_TSAN_FATAL_RE = re.compile(
    r"^(?:==\d+==)?(?:(?:FATAL|ERROR): ThreadSanitizer|ThreadSanitizer: CHECK failed).*$",
    re.MULTILINE,
)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


@dataclass(frozen=True)
class RaceRun:
    """One run of the race check: every command once, with these settings."""

    threads: int
    schedule: str | None  # OMP_SCHEDULE, None: not set
    number: int  # 1 for the first pass over the thread counts and schedules

    @property
    def label(self) -> str:
        return f"threads={self.threads} schedule={self.schedule or DEFAULT_SCHEDULE_LABEL} run {self.number}"


def race_plan(threads: tuple[int, ...], schedules: tuple[str, ...], runs: int) -> list[RaceRun]:
    """The runs to make, pass-major (every thread count and schedule once,
    then again) so that different interleavings come early. No schedules:
    one run per thread count and pass without OMP_SCHEDULE."""
    return [RaceRun(t, s, n + 1) for n in range(max(runs, 0)) for t in threads for s in (tuple(schedules) or (None,))]


@dataclass
class RunReading:
    """What one command's run under TSan says."""

    where: str  # "threads=2 schedule=static run 1", with the command when there are several
    races: list[RaceReport]
    failures: list[str]  # crashes, timeouts, TSan that could not start, other TSan warnings
    archer_loaded: bool
    halts: bool = False  # a timeout or out-of-memory: the remaining runs would most likely do the same


def read_run(result: RunResult, where: str, race_run: RaceRun, time_limit: float,
             root: Path | None = None) -> RunReading:
    """How to read one run: its races, what went wrong, whether Archer ran.

    TSan exits with TSAN_EXITCODE after a race, and also when it cannot
    start or the program crashes; the exit status counts as a failure only
    when no race or warning explains it."""
    loaded = archer_loaded(result.stdout + "\n" + result.stderr)
    if result.timed_out:
        return RunReading(where, [], [f"{where}: timed out after {time_limit:g} s"], loaded, halts=True)
    if result.out_of_memory:
        return RunReading(where, [], [f"{where}: out of memory"], loaded, halts=True)
    found = parse_tsan_reports(result.stderr, race_run.threads, race_run.schedule or DEFAULT_SCHEDULE_LABEL, root=root)
    failures: list[str] = []
    fatal = _TSAN_FATAL_RE.search(result.stderr)
    if fatal:  # TSan could not start, or the program crashed (both exit with TSAN_EXITCODE)
        failures.append(f"{where}: {fatal.group(0).strip()[:200]}")
    kinds = tsan_warning_kinds(result.stderr)
    other = sorted({k for k in kinds if not k.startswith("data race")})
    if other:
        failures.append(f"{where}: ThreadSanitizer also reported: {', '.join(other)}")
    # a data race report left out (the runtime's own memory, see data_race_blocks) still sets TSan's exit status
    reported = found or other or any(k.startswith("data race") for k in kinds)
    rc = result.returncode
    if rc not in (0, None) and not fatal and not (rc == TSAN_EXITCODE and reported):
        how = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
        failures.append(f"{where}: {how} {_last_line(result.stderr)}".rstrip())
    return RunReading(where, found, failures, loaded)


def stops_after(readings: list[RunReading]) -> bool:
    """When to stop: after the first run with a race (one is enough to turn
    the change down), a timeout or out-of-memory."""
    return any(reading.races or reading.halts for reading in readings)


def _run_once(race_run: RaceRun, commands: list[str], run: Runner, cwd: Path, time_limit: float,
              root: Path | None) -> list[RunReading]:
    """Every command of one run in order; none after one that halts."""
    readings: list[RunReading] = []
    for command in commands:
        where = race_run.label + (f" ({command})" if len(commands) > 1 else "")
        result = run(command, Path(cwd), env=_child_environment(race_run.threads, race_run.schedule),
                     time_limit=time_limit)
        readings.append(read_run(result, where, race_run, time_limit, root))
        if readings[-1].halts:
            break
    return readings


def _without_archer(where: list[str]) -> str:
    return (
        f"Archer did not load in {len(where)} run(s) ({where[0]}" + (", ..." if len(where) > 1 else "")
        + "): TSan does not see OpenMP synchronization there, so its reports may be false"
        " and a clean run proves nothing (is the binary built with -fsanitize=thread, "
        "does the program reach an OpenMP region, does the run command hide stdout?)"
    )


def check_races(
    exe: Path,
    run_args: list[str] | str,
    cwd: Path,
    threads: tuple[int, ...],
    runs: int,
    schedules: tuple[str, ...],
    time_limit: float,
    runner: Runner | None = None,
    root: Path | None = None,
) -> RaceCheck:
    """Run the TSan build `runs` times for every thread count x schedule
    (`race_plan`), reading each run with `read_run`, until `stops_after`.

    `run_args`: see `run_commands` (ProgramConfig.run, a "{exe} ..." command,
    or arguments of `exe`); one run executes every command once.
    `schedules` are OMP_SCHEDULE values (they matter only for a
    schedule(runtime) build); empty means one pass without OMP_SCHEDULE,
    reported as schedule "default". `time_limit` is per command (TSan is
    5-15x slower than the plain build). `runner(command, cwd, env=...,
    time_limit=...)` returns a RunResult (default: `run_subprocess`); `env`
    is the child's complete environment. `root` makes the reported file
    paths relative to it. `runs` in the result counts the runs made.
    """
    commands = run_commands(Path(exe), run_args)
    check = RaceCheck(races=[], runs=0, archer_loaded=False)
    if archer_library() is None:
        check.failures.append("libarcher.so not found (install libomp-19-dev): TSan cannot see OpenMP synchronization")
    seen: set[frozenset[str]] = set()
    without_archer: list[str] = []
    for race_run in race_plan(threads, schedules, runs):
        readings = _run_once(race_run, commands, runner or run_subprocess, cwd, time_limit, root)
        check.runs += 1
        for reading in readings:
            for report in reading.races:  # the same pair of accesses once, whichever run saw it
                if frozenset((report.first, report.second)) not in seen:
                    seen.add(frozenset((report.first, report.second)))
                    check.races.append(report)
            check.failures += reading.failures
            if not reading.archer_loaded:
                without_archer.append(reading.where)
        if stops_after(readings):
            break
    check.archer_loaded = check.runs > 0 and not without_archer
    if without_archer:
        check.failures.append(_without_archer(without_archer))
    return check
