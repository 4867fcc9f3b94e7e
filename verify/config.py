"""Where a program's build-and-run configuration comes from, and checking it.

ompilot can only verify a suggestion for a program it can build and run. A
project says how in `.ompilot.toml` (keys at the top level) or in the
`[tool.ompilot]` table of `pyproject.toml`; the nearest one above the source
file wins (`.ompilot.toml` before `pyproject.toml` in the same directory; the
search stops at the filesystem root or at a directory holding `.git`). The
commands run in a copy of the directory holding that file. A single C/C++
file with main() needs no configuration (see `single_file_config`).

Commands are filled in with str.format: write literal braces doubled
(`${{HOME}}`, `awk '{{print}}'`), or use `$HOME`.

Keys:

  build          str, required. Shell command producing the executable. Must use
                 {out} (the executable path ompilot wants) and {cflags} (ompilot's
                 flags: -O3 -fopenmp, -fsanitize=thread ...); {cc} is the compiler
                 (clang-19 / clang++-19 / gcc / g++ by `language` and `compilers`).
  run            str or list of str, required. Each command must use {exe}; each
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
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import string
from pathlib import Path, PurePosixPath

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from .compare import Tolerance
from .model import ProgramConfig

CONFIG_FILE = ".ompilot.toml"
PYPROJECT = "pyproject.toml"
C_SUFFIXES = {".c": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".C": "cpp", ".c++": "cpp"}
KNOWN_KEYS = (
    "build", "run", "race_run", "files", "language", "tolerance", "time_limit", "memory_limit_mb",
    "threads", "race_runs", "timing_runs", "tune_seconds", "compilers", "compare",
)  # fmt: skip
BUILD_PLACEHOLDERS = ("cc", "cflags", "out")
RUN_PLACEHOLDERS = ("exe",)
_MAIN = re.compile(r"^[ \t]*(?:(?:static|extern)\s+)?(?:int|void)\s+main\s*\(", re.MULTILINE)


class ConfigError(Exception):
    """A configuration ompilot cannot use; the message is one line naming the file."""


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


def single_file_config(source: Path) -> ProgramConfig | None:
    """The default for one C/C++ file defining main(): compile it alone, run it without arguments."""
    source = Path(source).absolute()
    language = C_SUFFIXES.get(source.suffix)
    if language is None or not source.is_file():
        return None
    text = source.read_text(errors="replace")
    if not _MAIN.search(text):
        return None
    return ProgramConfig(
        root=source.parent,
        build=_single_file_build(source),
        run=("{exe}",),
        language=language,
        source="default for a single file with main()",
    )


def config_for(source: Path) -> ProgramConfig | None:
    """The project's configuration, else the single-file default, else None."""
    return find_config(source) or single_file_config(source)


def example_config(source: Path) -> str:
    """A commented `.ompilot.toml` for the directory of `source`, for the user to adapt and save."""
    source = Path(source)
    defaults = {f.name: f.default for f in dataclasses.fields(ProgramConfig)}
    tolerance: Tolerance = defaults["tolerance"]
    language = C_SUFFIXES.get(source.suffix, "c")
    threads = ", ".join(str(t) for t in defaults["threads"])
    compilers = ", ".join(_toml_string(c) for c in defaults["compilers"])
    return f"""\
# ompilot: how to build and run this program, so that each suggested pragma
# can be verified (serial vs parallel output, race check, timing).
# Save as {CONFIG_FILE} in {_comment(str(source.parent) if str(source.parent) else ".")}.
# Commands run with /bin/sh in a copy of this directory.

# Shell command building the program. {{cc}}: the compiler ompilot picks;
# {{cflags}}: its flags (-O3 -fopenmp, -fsanitize=thread ...; required);
# {{out}}: where the executable must go (required). Add your other sources,
# include paths and libraries, e.g. "{{cc}} {{cflags}} -Iinclude src/*.c -o {{out}} -lm".
# Other braces must be doubled: ${{{{HOME}}}} (or write $HOME).
build = {_toml_string(_single_file_build(source))}

# Command(s) running it; {{exe}} is the executable (required). Each run's
# stdout is compared between the serial and the parallel build.
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
    for key, example in (("build", "{cc} {cflags} main.c -o {out}"), ("run", "{exe}")):
        if key not in table:
            raise fail(f"missing required key '{key}'; add e.g. {key} = \"{example}\"")

    build = table["build"]
    if not isinstance(build, str) or not build.strip():
        raise fail(f"'build' must be a non-empty string (a shell command), not {_type(build)}")
    used = _placeholders(fail, "build", build, BUILD_PLACEHOLDERS)
    for needed in ("out", "cflags"):
        if needed not in used:
            raise fail(f"'build' must contain {{{needed}}}; e.g. build = \"{{cc}} {{cflags}} main.c -o {{out}}\"")

    run = table["run"]
    runs = (run,) if isinstance(run, str) else run
    if not isinstance(runs, list | tuple) or not runs or not all(isinstance(r, str) and r.strip() for r in runs):
        raise fail(f"'run' must be a shell command (string) or a non-empty list of them, not {run!r}")
    for command in runs:
        if "exe" not in _placeholders(fail, "run", command, RUN_PLACEHOLDERS):
            raise fail(f"each 'run' command must contain {{exe}} (the executable); {command!r} does not")

    values: dict = {"root": Path(root), "build": build, "run": tuple(runs), "source": source}

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


def _single_file_build(source: Path) -> str:
    name = shlex.quote(source.name).replace("{", "{{").replace("}", "}}")  # the verifier uses str.format
    return f"{{cc}} {{cflags}} {name} -o {{out}} -lm"


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
