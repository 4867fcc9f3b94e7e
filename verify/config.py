"""Where a program's build-and-run configuration comes from, and checking it.

ompilot can only verify a suggestion for a program it can build and run. A
project says how in `.ompilot.toml` (keys at the top level) or in the
`[tool.ompilot]` table of `pyproject.toml`; the nearest one above the source
file wins (`.ompilot.toml` before `pyproject.toml` in the same directory; the
search stops at the filesystem root or at a directory holding `.git`). The
commands run in a copy of the directory holding that file. No configuration
is needed for a single C/C++ file with main() (built with the flags given
after `--`, see `single_file_config`), nor for a program whose
compile_commands.json says how its units are built (`builds.program_for`);
a configuration without `build` uses that database build too.

Commands are filled in with str.format: write literal braces doubled
(`${{HOME}}`, `awk '{{print}}'`), or use `$HOME`.

Keys:

  build          str. Shell command producing the executable (default: ompilot builds
                 the program from compile_commands.json, see verify/builds.py). Must use
                 {out} (the executable path ompilot wants) and {cflags} (ompilot's
                 flags: -O3 -fopenmp, -fsanitize=thread ...); {cc} is the compiler
                 (clang-19 / clang++-19 / gcc / g++ by `language` and `compilers`).
  run            str or list of str, required with `build` (default "{exe}"). Each command must use {exe}; each
                 run's stdout (and `files`) is compared between serial and parallel.
  files          list of str: output files to compare, relative to the config's directory.
  language       "c" (default) or "cpp".
  tolerance      table {rel, abs}: float tolerance of the output comparison
                 (defaults from compare.Tolerance).
  time_limit     seconds per build or run (default 60).
  memory_limit_mb  int, MB per build or run (default 4096).
  threads        list of ints >= 2: thread counts of the checks (default [2, 4]).
  race_run       str or list of str: the run commands for the race checker (default: `run`);
                 give it a smaller input, ThreadSanitizer runs are 5-15x slower.
  race_runs      int >= 1: runs per thread count and schedule under the race checker.
  timing_runs    int >= 1: timed runs of the serial and of each parallel build.
  tune_seconds   seconds >= 0 the variant search may take per file.
  compilers      list from "clang", "gcc" (default ["clang"]).
  compare        list from "stdout", "stderr", "files": what of each run is compared
                 (default ["stdout", "stderr"], plus "files" when `files` is set; "files"
                 means the `files` listed and every file a run creates, changes or deletes).
  ignore_lines   list of str: regular expressions; the lines of any compared output
                 they find (re.search) are left out of the output check, e.g.
                 ["^Elapsed time", "Num threads"] (timings printed alike in every serial
                 run, lines only an OpenMP build prints).
  race_defines   list of str: macros defined for the race-check build only, e.g. ["MINI_DATASET"]
                 (a problem size chosen at compile time: the race check runs the small one).
  race_cflags    str: more flags for the race-check build only.
  race_build     str: a whole build command for the race check (placeholders as `build`).
  executor       "local" (default) or "slurm": where the checks run (see `run_settings`).
  slurm          table: partition, account, qos, time (per job, sbatch --time syntax),
                 constraint, sbatch_options (list), threads (list of ints >= 1: thread
                 counts to check and time with; default from the smallest node's CPUs),
                 check_cpus (CPUs of each checks job, which shares its node; default 4),
                 checks_per_job (proposals of one file per checks job; default 4),
                 workdir (shared by login and compute nodes; default .ompilot/slurm,
                 relative to the configuration's directory).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import os
import re
import shlex
import string
from pathlib import Path, PurePosixPath

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from ompilot.analysis import compdb, sources

from . import builds
from .compare import Tolerance

CONFIG_FILE = ".ompilot.toml"
PYPROJECT = "pyproject.toml"
KNOWN_KEYS = (
    "build", "run", "race_run", "files", "language", "tolerance", "time_limit", "memory_limit_mb",
    "threads", "race_runs", "timing_runs", "tune_seconds", "compilers", "compare", "race_defines", "race_cflags",
    "race_build", "executor", "slurm", "ignore_lines",
)  # fmt: skip
EXECUTORS = ("local", "slurm")
SLURM_KEYS = ("partition", "account", "qos", "time", "constraint", "sbatch_options", "threads", "check_cpus",
              "checks_per_job", "workdir")
DEFAULT_SLURM_WORKDIR = ".ompilot/slurm"
BUILD_PLACEHOLDERS = ("cc", "cflags", "out")
RUN_PLACEHOLDERS = ("exe",)
SINGLE_FILE = "default for a single file with main()"
_DEFINE = re.compile(r"^[A-Za-z_]\w*(?:=.*)?$", re.DOTALL)


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
    ignore_lines: tuple[str, ...] = ()  # regular expressions: lines of the outputs left out of the output check
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



class ConfigError(Exception):
    """A configuration ompilot cannot use; the message is one line naming the file."""


class CannotBuild(ConfigError):
    """No configuration and no facts to build from: the one-line reason, and
    the `.ompilot.toml` to start from (filled with what was found)."""

    def __init__(self, reason: str, starter: str, directory: Path) -> None:
        super().__init__(reason)
        self.starter = starter
        self.directory = directory

    def block(self, otherwise: str = " (or use --no-verify)") -> str:
        """The error line and the file to save, as printed."""
        return f"{self}; save this as {CONFIG_FILE} in {self.directory} and adapt it{otherwise}:\n{self.starter}"


def find_config(path: Path) -> ProgramConfig | None:
    """The configuration of the nearest `.ompilot.toml` / `pyproject.toml [tool.ompilot]` above `path`."""
    path = Path(path).absolute()
    directory = path if path.is_dir() else path.parent
    for folder in (directory, *directory.parents):
        own = folder / CONFIG_FILE
        if own.is_file():
            return parse_config(_load(own), folder, str(own))
        pyproject = folder / PYPROJECT
        if pyproject.is_file():
            table = _tool_table(pyproject)
            if table is not None:
                return parse_config(table, folder, str(pyproject))
        if (folder / ".git").exists():
            break
    return None


@dataclass(frozen=True)
class RunSettings:
    """Where a run verifies: `executor` and the Slurm settings (verify/slurm.py)."""

    executor: str = "local"
    slurm: object = None  # slurm.SlurmSettings
    source: str = ""  # the configuration file they came from, "" for the defaults


def _config_table(path: Path) -> tuple[dict, Path, str] | None:
    """The nearest configuration table above `path`: (table, its directory, its file)."""
    path = Path(path).absolute()
    directory = path if path.is_dir() else path.parent
    for folder in (directory, *directory.parents):
        own = folder / CONFIG_FILE
        if own.is_file():
            return _load(own), folder, str(own)
        pyproject = folder / PYPROJECT
        if pyproject.is_file():
            table = _tool_table(pyproject)
            if table is not None:
                return table, folder, str(pyproject)
        if (folder / ".git").exists():
            break
    return None


def run_settings(path: Path) -> RunSettings:
    """`executor` and the `slurm` table ([tool.ompilot.slurm] in pyproject.toml)
    of the configuration nearest `path` (a file or directory given to ompilot);
    the defaults (local, the work directory under the current directory) without one."""
    from .slurm import SlurmSettings

    try:
        found = _config_table(path)
    except ConfigError:
        found = None  # a file that cannot be read: the verifier reports it, for its program, as before
    if found is None:
        return RunSettings("local", SlurmSettings(work_dir=Path(DEFAULT_SLURM_WORKDIR).absolute()))
    table, folder, source = found

    def fail(problem: str) -> ConfigError:
        return ConfigError(f"{source}: {problem}")

    executor = table.get("executor", "local")
    if executor not in EXECUTORS:
        raise fail(f"'executor' must be \"local\" or \"slurm\", not {executor!r}")
    slurm_table = table.get("slurm", {})
    if not isinstance(slurm_table, dict):
        raise fail(f"'slurm' must be a table ([tool.ompilot.slurm] or [slurm]), not {_type(slurm_table)}")
    unknown = sorted(set(slurm_table) - set(SLURM_KEYS))
    if unknown:
        raise fail(f"unknown key(s) {', '.join(map(repr, unknown))} in the slurm table (known: {', '.join(SLURM_KEYS)})")
    values: dict = {}
    for key, name in (("partition", "partition"), ("account", "account"), ("qos", "qos"),
                      ("time", "time_limit"), ("constraint", "constraint")):
        if key in slurm_table:
            value = slurm_table[key]
            if isinstance(value, int) and key == "time":
                value = str(value)
            if not isinstance(value, str) or not value.strip():
                raise fail(f"'slurm.{key}' must be a non-empty string, not {value!r}")
            values[name] = value
    options = slurm_table.get("sbatch_options", [])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise fail(f"'slurm.sbatch_options' must be a list of strings like [\"--mem=8G\"], not {options!r}")
    values["sbatch_options"] = tuple(options)
    threads = slurm_table.get("threads", [])
    if not isinstance(threads, list) or not all(_is_int(t) and t >= 1 for t in threads):
        raise fail(f"'slurm.threads' must be a list of integers >= 1, e.g. [2, 8, 32, 64], not {threads!r}")
    values["threads"] = tuple(dict.fromkeys(threads))
    for key, what in (("check_cpus", "CPUs of a checks job"), ("checks_per_job", "proposals a checks job verifies")):
        if key in slurm_table:
            value = slurm_table[key]
            if not _is_int(value) or value < 1:
                raise fail(f"'slurm.{key}' must be an integer >= 1 ({what}), not {value!r}")
            values[key] = value
    workdir = slurm_table.get("workdir", DEFAULT_SLURM_WORKDIR)
    if not isinstance(workdir, str) or not workdir.strip():
        raise fail(f"'slurm.workdir' must be a directory path (string), not {workdir!r}")
    values["work_dir"] = (folder / workdir).absolute()
    return RunSettings(executor, SlurmSettings(**values), source)


def single_file_config(source: Path, flags: tuple[str, ...] | list[str] | None = None) -> ProgramConfig | None:
    """The default for one C/C++ file defining main(): compile it alone with
    `flags` (those given after `--`, or its compile_commands.json entry's),
    run it without arguments."""
    source = Path(source).absolute()
    language = sources.compiled_language(source)
    if language is None or not source.is_file():
        return None
    text = source.read_text(errors="replace")
    if not builds.defines_main(text):
        return None
    return ProgramConfig(
        root=source.parent,
        build=_single_file_build(source, flags),
        run=("{exe}",),
        language=language,
        source=SINGLE_FILE,
        found=builds.facts_from_flags(source, flags or ()) if flags else None,
    )


def config_for(source: Path, flags: tuple[str, ...] | None = None, build_dir: Path | None = None) -> ProgramConfig | None:
    """The project's configuration, else a build ompilot works out itself, else None."""
    try:
        return resolve_config(source, flags, build_dir)
    except CannotBuild:
        return None


def resolve_config(source: Path, flags: tuple[str, ...] | None = None, build_dir: Path | None = None) -> ProgramConfig:
    """How to build and run the program of `source`.

    A configuration with `build` wins. Else, with the flags given after `--`,
    the file alone with those flags (as it was analysed); else the program
    compile_commands.json makes of it; else a file with main() alone. A
    configuration without `build` lends its other keys to that build.
    CannotBuild (with a starter file) when none applies; ConfigError for a
    broken configuration.
    """
    source = Path(source).absolute()
    found = find_config(source)
    if found is not None and found.build:
        return found
    root = found.root if found is not None else None
    if flags is not None:
        single = single_file_config(source, flags)
        if single is not None:
            return _lend(found, single, source, flags)
    database = build_dir or compdb.find_compile_database(source)
    if database is not None:
        try:
            program = builds.program_for(source, Path(database), root)
        except builds.BuildProblem as problem:
            if not (isinstance(problem, builds.NotListed) and builds.defines_main(_text(source))):
                facts = builds.facts_from_database(Path(database), root or source.parent)
                starter = example_config(source, facts)
                raise CannotBuild(f"{source}: cannot verify: {problem}", starter,
                                  facts.root if facts else source.parent) from None
        else:
            config = ProgramConfig(
                root=program.root, build="", run=("{exe}",), language=program.language, program=program,
                source=f"{Path(database) / compdb.DATABASE_NAME} ({len(program.units)} translation units)",
                found=builds.facts_from_program(program),
            )
            return _lend(found, config, source)
    single = single_file_config(source)
    if single is None:
        raise CannotBuild(f"{source}: cannot verify: no main(), no {compdb.DATABASE_NAME} and no build "
                          "configuration", example_config(source), source.parent)
    return _lend(found, single, source)


def _lend(found: ProgramConfig | None, built: ProgramConfig, source: Path, flags=None) -> ProgramConfig:
    """`built` with the settings of a configuration that has no `build` of its own."""
    if found is None:
        return built
    if built.program is None:  # the single file's command runs in found.root
        relative = os.path.relpath(source, found.root)
        built = dataclasses.replace(built, build=_single_file_build(source, flags, relative))
    elif Path(os.path.realpath(found.root)) != built.program.root:
        raise ConfigError(f"{found.source}: its directory does not hold the whole program of {compdb.DATABASE_NAME}; "
                          "add build = \"...\" or move the file to the program's root")
    return dataclasses.replace(found, build=built.build, program=built.program, language=built.language,
                               found=built.found)


def starter_block(config: ProgramConfig, why: str = "") -> str:
    """For a build ompilot worked out itself that failed: the file to start
    from; "" otherwise, and when the user's own file is there and what failed
    is not the build (its `run` keys are what to change, not a new file)."""
    if config.found is None and config.source != SINGLE_FILE:
        return ""
    if config.source.endswith((CONFIG_FILE, PYPROJECT)) and not why.startswith("the serial build fails"):
        return ""
    facts = config.found
    directory = facts.root if facts is not None else config.root
    sample = Path(directory) / (facts.sources[0] if facts is not None and facts.sources else "main.c")
    return (f"\nsave this as {CONFIG_FILE} in {directory} and adapt it (or use --no-verify):\n"
            f"{example_config(sample, facts)}")


def example_config(source: Path, facts: builds.BuildFacts | None = None) -> str:
    """A commented `.ompilot.toml` for the directory of `source` (or of the
    facts found: sources, include paths, defines), to adapt and save."""
    source = Path(source)
    defaults = {f.name: f.default for f in dataclasses.fields(ProgramConfig)}
    tolerance: Tolerance = defaults["tolerance"]
    language = facts.language if facts is not None else (sources.compiled_language(source) or "c")
    build = builds.starter_build(facts) if facts is not None else _single_file_build(source)
    where = str(facts.root) if facts is not None else (str(source.parent) if str(source.parent) else ".")
    sizes = [d for d in (facts.defines if facts else ()) if d.split("=")[0].endswith("_DATASET")]
    threads = ", ".join(str(t) for t in defaults["threads"])
    compilers = ", ".join(_toml_string(c) for c in defaults["compilers"])
    return f"""\
# ompilot: how to build and run this program, so that each suggested pragma
# can be verified (serial vs parallel output, race check, timing).
# Save as {CONFIG_FILE} in {_comment(where)}.
# Commands run with /bin/sh in a copy of this directory.

# Shell command building the program. {{cc}}: the compiler ompilot picks;
# {{cflags}}: its flags (-O3 -fopenmp, -fsanitize=thread ...; required);
# {{out}}: where the executable must go (required). Add your other sources,
# include paths and libraries, e.g. "{{cc}} {{cflags}} -Iinclude src/*.c -o {{out}} -lm".
# Other braces must be doubled: ${{{{HOME}}}} (or write $HOME).
build = {_toml_string(build)}

# Command(s) running it; {{exe}} is the executable (required). Each run's
# stdout and stderr are compared between the serial and the parallel build.
# Add arguments and inputs, e.g. ["{{exe}} small.txt", "{{exe}} --n 1000"].
run = ["{{exe}}"]

# Output files the program writes (relative to this directory), compared too.
files = []

language = {_toml_string(language)}  # "c" or "cpp"

# Floating-point results may differ by abs + rel * max(|a|, |b|) (a parallel
# reduction adds in another order); text and integers must match exactly.
tolerance = {{ rel = {tolerance.rel!r}, abs = {tolerance.abs!r} }}

time_limit = {float(defaults["time_limit"])!r}  # seconds per build or run
threads = [{threads}]  # thread counts to check with (each >= 2)

# More settings, with their defaults:
# memory_limit_mb = {defaults["memory_limit_mb"]}  # per build or run
# race_runs = {defaults["race_runs"]}  # runs per thread count and schedule under the race checker
# timing_runs = {defaults["timing_runs"]}  # timed runs of the serial and each parallel build
# tune_seconds = {float(defaults["tune_seconds"])!r}  # time the variant search may take per file
# compilers = [{compilers}]  # "clang" and/or "gcc"
# race_defines = [{_toml_string("MINI_DATASET") if sizes else ""}]  # macros of the race-check build only: a small size
# race_cflags = ""  # more flags of the race-check build only
# compare = ["stdout", "stderr"]  # add "files" to compare the files a run writes
# ignore_lines = []  # regular expressions: output lines left out of the comparison
"""


def parse_config(table: dict, root: Path, source: str) -> ProgramConfig:
    """Check a configuration table and turn it into a ProgramConfig; ConfigError when it is wrong."""

    def fail(problem: str) -> ConfigError:
        return ConfigError(f"{source}: {problem}")

    if not isinstance(table, dict):
        raise fail("the ompilot configuration must be a table; see the keys in the ompilot README")
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        raise fail(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"remove or correct {'them' if len(unknown) > 1 else 'it'} (known keys: {', '.join(KNOWN_KEYS)})"
        )
    if "build" in table and "run" not in table:
        raise fail("missing required key 'run' (needed with 'build'); add e.g. run = \"{exe}\"")

    build = table.get("build", "")  # "": ompilot builds the program from compile_commands.json
    if "build" in table:
        _check_build(fail, "build", build)
    for key in ("race_build",):
        if key in table:
            _check_build(fail, key, table[key])

    run = table.get("run", "{exe}")
    runs = (run,) if isinstance(run, str) else run
    if not isinstance(runs, list | tuple) or not runs or not all(isinstance(r, str) and r.strip() for r in runs):
        raise fail(f"'run' must be a shell command (string) or a non-empty list of them, not {run!r}")
    for command in runs:
        if "exe" not in _placeholders(fail, "run", command, RUN_PLACEHOLDERS):
            raise fail(f"each 'run' command must contain {{exe}} (the executable); {command!r} does not")

    values: dict = {"root": Path(root), "build": build, "run": tuple(runs), "source": source}
    if "race_build" in table:
        values["race_build"] = table["race_build"]
    if "race_defines" in table:
        defines = table["race_defines"]
        if not isinstance(defines, list) or not all(isinstance(d, str) and _DEFINE.match(d) for d in defines):
            raise fail(f"'race_defines' must be a list of macro definitions like [\"MINI_DATASET\", \"N=100\"] "
                       f"(no -D), not {defines!r}")
        values["race_defines"] = tuple(defines)
    if "race_cflags" in table:
        race_cflags = table["race_cflags"]
        try:
            shlex.split(race_cflags) if isinstance(race_cflags, str) else None
        except ValueError:
            race_cflags = None
        if not isinstance(race_cflags, str):
            raise fail(f"'race_cflags' must be a string of compiler flags like \"-DMINI_DATASET\", not {table['race_cflags']!r}")
        values["race_cflags"] = race_cflags

    if "race_run" in table:  # a smaller input for the sanitizer runs, which are 5-15x slower
        race_run = table["race_run"]
        race_runs_list = (race_run,) if isinstance(race_run, str) else race_run
        if not isinstance(race_runs_list, list | tuple) or not race_runs_list or not all(
            isinstance(r, str) and "exe" in _placeholders(fail, "race_run", r, RUN_PLACEHOLDERS) for r in race_runs_list
        ):
            raise fail("'race_run' must be a command (or a list of them) containing {exe}, like 'run'")
        values["race_run"] = tuple(race_runs_list)

    if "files" in table:
        files = table["files"]
        if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
            raise fail(f"'files' must be a list of strings (paths relative to {Path(root)}), not {_type(files)}")
        for name in files:
            pure = PurePosixPath(name)
            if pure.is_absolute() or ".." in pure.parts:
                raise fail(f"'files' entry {name!r} must be a path inside {Path(root)}, relative to it")
        values["files"] = tuple(files)

    if "language" in table:
        language = table["language"]
        if language not in ("c", "cpp"):
            raise fail(f"'language' must be \"c\" or \"cpp\", not {language!r}")
        values["language"] = language

    if "tolerance" in table:
        tolerance = table["tolerance"]
        if not isinstance(tolerance, dict):
            raise fail(f"'tolerance' must be a table like {{ rel = 1e-9, abs = 1e-12 }}, not {_type(tolerance)}")
        extra = sorted(set(tolerance) - {"rel", "abs"})
        if extra:
            raise fail(f"unknown key(s) {', '.join(map(repr, extra))} in 'tolerance'; only rel and abs exist")
        default = Tolerance()
        bounds = {}
        for key in ("rel", "abs"):
            value = tolerance.get(key, getattr(default, key))
            if not _is_number(value) or value < 0:
                raise fail(f"'tolerance.{key}' must be a number >= 0, not {value!r}")
            bounds[key] = float(value)
        values["tolerance"] = Tolerance(**bounds)

    for key, zero_ok in (("time_limit", False), ("tune_seconds", True)):
        if key in table:
            value = table[key]
            if not _is_number(value) or value < 0 or (value == 0 and not zero_ok):
                raise fail(f"'{key}' must be a number of seconds {'>=' if zero_ok else '>'} 0, not {value!r}")
            values[key] = float(value)

    for key in ("memory_limit_mb", "race_runs", "timing_runs"):
        if key in table:
            value = table[key]
            if not _is_int(value) or value < 1:
                raise fail(f"'{key}' must be an integer >= 1, not {value!r}")
            values[key] = value

    if "threads" in table:
        threads = table["threads"]
        if not isinstance(threads, list) or not threads or not all(_is_int(t) and t >= 2 for t in threads):
            raise fail(f"'threads' must be a non-empty list of integers >= 2, e.g. [2, 4], not {threads!r}")
        values["threads"] = tuple(dict.fromkeys(threads))

    if "compilers" in table:
        compilers = table["compilers"]
        if not isinstance(compilers, list) or not compilers or not all(c in ("clang", "gcc") for c in compilers):
            raise fail(f"'compilers' must be a non-empty list from \"clang\", \"gcc\", not {compilers!r}")
        values["compilers"] = tuple(dict.fromkeys(compilers))

    values["compare"] = _compare(table, values, fail)
    if "ignore_lines" in table:
        patterns = table["ignore_lines"]
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            raise fail(f"'ignore_lines' must be a list of regular expressions, e.g. [\"^Elapsed time\"], not {patterns!r}")
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise fail(f"'ignore_lines': {pattern!r} is not a regular expression ({exc})") from None
        values["ignore_lines"] = tuple(patterns)
    return ProgramConfig(**values)


COMPARED = ("stdout", "stderr", "files")


def _compare(table: dict, values: dict, fail) -> tuple[str, ...]:
    """The `compare` key: what of each run is compared (see compare.py and runfiles.py)."""
    if "compare" not in table:
        return ("stdout", "stderr", "files") if values.get("files") else ("stdout", "stderr")
    compare = table["compare"]
    if not isinstance(compare, list) or not compare or not all(c in COMPARED for c in compare):
        raise fail(f"'compare' must be a non-empty list from \"stdout\", \"stderr\", \"files\", not {compare!r}")
    if values.get("files") and "files" not in compare:
        raise fail("'files' lists output files but 'compare' leaves out \"files\"; add it, or remove 'files'")
    return tuple(dict.fromkeys(compare))


def _load(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error}); fix the syntax") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror}); check its permissions") from None


def _tool_table(pyproject: Path) -> dict | None:
    """The [tool.ompilot] table of a pyproject.toml, None when it has none."""
    try:
        text = pyproject.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if "ompilot" not in text:
        return None  # not ours: do not fail on someone else's broken pyproject.toml
    data = _load(pyproject)
    tool = data.get("tool")
    if not isinstance(tool, dict) or "ompilot" not in tool:
        return None
    table = tool["ompilot"]
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: 'tool.ompilot' must be a table ([tool.ompilot]), not {_type(table)}")
    return table


def _check_build(fail, key: str, build) -> None:
    if not isinstance(build, str) or not build.strip():
        raise fail(f"'{key}' must be a non-empty string (a shell command), not {_type(build)}")
    used = _placeholders(fail, key, build, BUILD_PLACEHOLDERS)
    for needed in ("out", "cflags"):
        if needed not in used:
            raise fail(f"'{key}' must contain {{{needed}}}; e.g. {key} = \"{{cc}} {{cflags}} main.c -o {{out}}\"")


def _single_file_build(source: Path, flags=None, name: str | None = None) -> str:
    """`{cc} {cflags} FLAGS FILE -o {out} -lm`: FLAGS are those given after `--`
    (relative paths in them are relative to the current directory, as for the
    analysis), in their order, less outputs and what ompilot sets itself."""
    source = Path(source)
    compile_flags: list[str] = []
    link_flags: list[str] = []
    if flags:
        cleaned = compdb.clean_arguments(list(flags), os.getcwd(), {str(source.absolute()), source.name})
        compile_flags, link_flags = builds.split_flags(cleaned)

    def quoted(words) -> str:  # the verifier fills the command in with str.format
        return " ".join(shlex.quote(w) for w in words).replace("{", "{{").replace("}", "}}")

    libraries = [w for w in link_flags if w != "-lm"]
    companions = [_relative_to(c, source.parent) for c in builds.companion_sources(source, compile_flags)] if flags else []
    return ("{cc} {cflags} " + quoted([*compile_flags, name or source.name, *companions]) + " -o {out}"
            + (" " + quoted(libraries) if libraries else "") + " -lm")


def _relative_to(path: Path, root: Path) -> str:
    """`path` relative to `root` when inside it (the build runs in a copy of root), else absolute."""
    try:
        return Path(path).relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


def _text(path: Path) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _placeholders(fail, key: str, command: str, known: tuple[str, ...]) -> set[str]:
    """The placeholders `command` uses; ConfigError unless str.format (what the verifier uses) accepts it."""
    allowed = " ".join("{" + k + "}" for k in known)
    used: set[str] = set()
    try:
        for _, name, spec, conversion in string.Formatter().parse(command):
            if name is None:
                continue
            if name not in known or spec or conversion:
                raise KeyError(name)
            used.add(name)
    except KeyError as error:
        raise fail(
            f"unknown placeholder {{{error.args[0]}}} in '{key}' (it may use {allowed}; "
            f"write other braces doubled, e.g. ${{{{HOME}}}} or plain $HOME)"
        ) from None
    except ValueError:
        raise fail(f"unbalanced braces in '{key}': {command!r}; write literal braces doubled, {{{{ and }}}}") from None
    return used


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type(value) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _toml_string(text: str) -> str:
    """A TOML basic string holding `text`."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    return text.replace("\n", " ").replace("\r", " ")
