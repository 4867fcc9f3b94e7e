"""Building a program from its compile database, with no configuration.

When `compile_commands.json` lists the translation units of a program, ompilot
knows how to build it: each unit compiled with the flags the database
recorded plus ompilot's own (-O3, -fopenmp, the sanitizer flags ...) by
ompilot's compiler (clang-19 or gcc), then linked with -lm and the libraries
the database names. The program of a source file is the unit defining main()
together with every unit that defines none: the one main of the database, or
the file's own main when the database holds several programs (one kernel file
with main each, beside shared support files).

Nothing here runs unless a build is asked for; what cannot be built is said
in one line (`BuildProblem`), and `BuildFacts` keep what was found for the
`.ompilot.toml` printed to start from.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ompilot.analysis import compdb, sources

from .evidence import RunResult
from .runner import run_command

_MAIN = re.compile(r"^[ \t]*(?:(?:static|extern)\s+)?(?:int|void)\s+main\s*\(", re.MULTILINE)
COMPILERS = {("clang", "c"): "clang-19", ("clang", "cpp"): "clang++-19", ("gcc", "c"): "gcc", ("gcc", "cpp"): "g++"}
#: Launchers that run the compiler named after them; the compiler behind them decides.
WRAPPERS = frozenset({"ccache", "sccache", "distcc", "icecc"})
#: Compilers whose flags clang-19 and gcc understand: cc, gcc, g++, clang, clang++,
#: with a version (gcc-12, clang-19) or a target prefix (x86_64-linux-gnu-gcc).
_GCC_LIKE = re.compile(r"^(?:[\w.]+-)*?(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+)(?:-\d+(?:\.\d+)*)?$")
#: Recorded flags that ompilot chooses itself (serial, OpenMP or sanitizer builds) or that name outputs.
_OWN_PREFIXES = ("-fopenmp", "-fno-openmp", "-fsanitize", "-fno-sanitize", "-save-temps", "--serialize-diagnostics")
_OUTPUT_WITH_VALUE = {"-dumpdir", "-dumpbase", "-dumpbase-ext", "--serialize-diagnostics"}
_LINK_PREFIXES = ("-l", "-L", "-Wl,")
OBJECTS_DIR = ".ompilot-objects"


class BuildProblem(Exception):
    """Why a program cannot be built from the database; one line."""


class NotListed(BuildProblem):
    """The file is not one of the database's units."""


def defines_main(text: str) -> bool:
    """Does this C/C++ text define main()? (a line starting like `int main(`)"""
    return bool(_MAIN.search(text))


@dataclass(frozen=True)
class Unit:
    """One translation unit of a database program."""

    source: str  # path relative to the program's root (posix)
    directory: str  # where its compile ran, relative to the root ("." when outside it)
    flags: tuple[str, ...]  # the recorded flags, less outputs, actions and what ompilot sets
    language: str  # c | cpp


@dataclass(frozen=True)
class ProgramBuild:
    """A program ompilot builds itself from `compile_commands.json`."""

    root: Path  # resolved; the tree the sandbox copies
    units: tuple[Unit, ...]
    link_flags: tuple[str, ...]  # -L/-l/-Wl, named by the database, then -lm
    database: Path  # the directory holding compile_commands.json

    @property
    def language(self) -> str:
        return "cpp" if any(u.language == "cpp" for u in self.units) else "c"


@dataclass(frozen=True)
class BuildFacts:
    """What was found about a build, for the `.ompilot.toml` to start from."""

    root: Path  # where that file should be saved (commands run there)
    sources: tuple[str, ...]  # relative to root when inside it
    includes: tuple[str, ...] = ()  # -I directories
    defines: tuple[str, ...] = ()  # NAME or NAME=VALUE of the -D flags
    other: tuple[str, ...] = ()  # other flags, e.g. -std=c99
    libraries: tuple[str, ...] = ()  # -L/-l flags
    language: str = "c"


@dataclass
class ObjectStore:
    """The objects compiled so far in one sandbox, so a patch to one file rebuilds only its object.

    Objects are kept per (compiler, flags): the serial reference, the parallel
    builds of each compiler and the race-check build alternate for every
    proposal, and each needs its own objects; sharing one set would recompile
    every unit at each switch, and could link a gcc object into a clang build.
    """

    #: (compiler, ompilot's flags, unit) -> digest of the text it was compiled from
    compiled: dict[tuple[str, str, str], str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)  # "compiler flags: unit", one per compile made


# ------------------------------------------------------------- discovery


def compiler_family(arguments: tuple[str, ...], where: str) -> str:
    """The compiler an entry names, past a ccache-like launcher; BuildProblem unless clang- or gcc-like."""
    words = list(arguments)
    while words and os.path.basename(words[0]) in WRAPPERS:
        words.pop(0)
    name = os.path.basename(words[0]) if words else "(none)"
    if not _GCC_LIKE.match(name):
        raise BuildProblem(
            f"{where} is compiled with {name}, not clang or gcc; ompilot builds with clang-19 and gcc only, whose "
            "flags may not match: write the build command in .ompilot.toml (build = \"...\")"
        )
    return name


def program_for(source: Path, database_dir: Path, root: Path | None = None) -> ProgramBuild:
    """The program `source` belongs to in the database; BuildProblem when there is not exactly one."""
    database_dir = Path(database_dir)
    database_json = database_dir / compdb.DATABASE_NAME
    try:
        entries = compdb.entries(database_dir)
    except compdb.CompileDatabaseError as exc:
        raise BuildProblem(str(exc)) from None
    if not entries:
        raise BuildProblem(f"{database_json} lists no translation unit")
    mine = _key(source)
    entry_of = {_key(e.file): e for e in entries}
    has_main = {e.file: defines_main(_read(Path(e.file))) for e in entries}
    mains = [e for e in entries if has_main[e.file]]
    own = entry_of.get(mine)
    if own is None and not sources.is_header_name(source):
        raise NotListed(f"{source} is not in {database_json}")
    if own is not None and has_main[own.file]:
        main = own
    elif len(mains) == 1:
        main = mains[0]
    elif not mains:
        raise BuildProblem(f"no translation unit in {database_json} defines main(), so there is no program to run")
    else:
        names = ", ".join(os.path.basename(e.file) for e in mains[:3]) + (", ..." if len(mains) > 3 else "")
        raise BuildProblem(
            f"{len(mains)} translation units in {database_json} define main() ({names}) and "
            f"{os.path.basename(str(source))} defines none: which program it belongs to is not known"
        )
    chosen = [main] + [e for e in entries if not has_main[e.file]]
    for entry in chosen:
        compiler_family(entry.arguments, f"{entry.file} (in {database_json})")
    if root is None:
        root = Path(os.path.commonpath([os.path.dirname(os.path.realpath(e.file)) for e in chosen]))
    root = Path(os.path.realpath(root))
    if own is None and os.path.commonpath([str(root), _key(source)]) != str(root):
        raise NotListed(f"{source} is not in {database_json}")
    units = []
    for entry in chosen:
        relative = os.path.relpath(os.path.realpath(entry.file), root)
        if relative.startswith(".."):
            raise BuildProblem(f"{entry.file} (in {database_json}) is outside {root}, the tree ompilot copies to build")
        directory = os.path.relpath(os.path.realpath(entry.directory), root)
        compile_flags, _ = split_flags(entry.flags())
        units.append(Unit(source=Path(relative).as_posix(), directory="." if directory.startswith("..") else directory,
                          flags=tuple(compile_flags), language=sources.compiled_language(entry.file) or "c"))
    link: list[str] = []
    for entry in chosen:
        for flag in split_flags(entry.flags())[1]:
            if flag not in link:
                link.append(flag)
    if "-lm" not in link:
        link.append("-lm")
    return ProgramBuild(root=root, units=tuple(units), link_flags=tuple(link), database=database_dir)


def split_flags(flags: list[str]) -> tuple[list[str], list[str]]:
    """(compile flags, link flags) of a cleaned entry: what ompilot sets itself
    (-fopenmp, -fsanitize) and what names outputs (-dumpdir, -save-temps) dropped."""
    compile_flags: list[str] = []
    link_flags: list[str] = []
    for flag, value in compdb.with_values(flags, _OUTPUT_WITH_VALUE | {"-l", "-L"}):
        if flag in _OUTPUT_WITH_VALUE or flag.startswith(_OWN_PREFIXES):
            continue
        elif flag in ("-l", "-L"):
            link_flags += [flag] if value is None else [flag, value]
        elif flag.startswith(_LINK_PREFIXES) or flag in ("-pthread", "-static"):
            link_flags.append(flag)
            if flag == "-pthread":
                compile_flags.append(flag)
        else:
            compile_flags.append(flag)
    return compile_flags, link_flags


def facts_from_program(program: ProgramBuild) -> BuildFacts:
    flags = [f for u in program.units for f in u.flags]
    return _facts(program.root, [u.source for u in program.units], flags, program.link_flags, program.language)


def facts_from_database(database_dir: Path, near: Path) -> BuildFacts | None:
    """Every unit of the database, for a starter when no one program could be picked."""
    try:
        entries = compdb.entries(Path(database_dir))
    except compdb.CompileDatabaseError:
        return None
    if not entries:
        return None
    folders = [os.path.dirname(os.path.realpath(e.file)) for e in entries]
    root = Path(os.path.commonpath(folders + [os.path.realpath(near)]))
    flags: list[str] = []
    link: list[str] = []
    for entry in entries:
        compile_flags, link_flags = split_flags(entry.flags())
        flags += compile_flags
        link += link_flags
    units = [os.path.relpath(os.path.realpath(e.file), root) for e in entries]
    language = "cpp" if any(sources.compiled_language(e.file) == "cpp" for e in entries) else "c"
    return _facts(root, units, flags, link, language)


_QUOTED_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.MULTILINE)


def companion_sources(source: Path, compile_flags: list[str]) -> list[Path]:
    """The sources a single file needs linked in: for each `#include "x.h"`
    it makes (found beside it or in a -I directory), the x.c (x.cc, x.cpp
    for C++) lying next to that header, unless it defines main(). A support
    file like a benchmark suite's utilities/timer.c comes with its header,
    so `ompilot suggest kernel.c -- -I ../utilities` builds without a config."""
    source = Path(source).absolute()
    directories = [source.parent]
    for index, flag in enumerate(compile_flags):
        value = compile_flags[index + 1] if flag == "-I" and index + 1 < len(compile_flags) else (
            flag[2:] if flag.startswith("-I") and len(flag) > 2 else None)
        if value:
            directories.append(Path(value) if Path(value).is_absolute() else Path.cwd() / value)
    suffixes = sources.companion_suffixes("c" if sources.compiled_language(source) == "c" else "cpp")
    found: list[Path] = []
    for name in _QUOTED_INCLUDE.findall(_read(source)):
        header = next((d / name for d in directories if (d / name).is_file()), None)
        if header is None or not sources.is_header_name(header):
            continue
        for suffix in suffixes:
            candidate = header.with_suffix(suffix).resolve()
            if candidate.is_file() and candidate != source.resolve() and candidate not in found:
                if not defines_main(_read(candidate)):
                    found.append(candidate)
                break
    return found


def facts_from_flags(source: Path, flags: tuple[str, ...] | list[str]) -> BuildFacts:
    """The one file and the flags given after `--`."""
    source = Path(source).absolute()
    cleaned = compdb.clean_arguments(list(flags), str(source.parent), {str(source), source.name})
    compile_flags, link_flags = split_flags(cleaned)
    return _facts(source.parent, [source.name], compile_flags, link_flags, sources.compiled_language(source) or "c")


def _facts(root: Path, sources, flags, link, language: str) -> BuildFacts:
    includes: list[str] = []
    defines: list[str] = []
    other: list[str] = []
    for flag, value in compdb.with_values(flags, ("-I", "-D")):
        if flag.startswith(("-I", "-D")):
            value = flag[2:] if value is None else value
        else:
            if flag not in other and not flag.startswith("-O"):
                other.append(flag)
            continue
        target = includes if flag.startswith("-I") else defines
        if flag.startswith("-I"):
            value = _relative_if_inside(value, root)
        if value not in target:
            target.append(value)
    return BuildFacts(root=Path(root), sources=tuple(sources), includes=tuple(includes), defines=tuple(defines),
                      other=tuple(other), libraries=tuple(f for f in link if f != "-lm"), language=language)


def starter_build(facts: BuildFacts) -> str:
    """A `build` command for the starter file (a str.format template, braces doubled)."""
    words = [*(f"-I{i}" for i in facts.includes), *(f"-D{d}" for d in facts.defines), *facts.other,
             *facts.sources]
    quoted = " ".join(shlex.quote(w) for w in words).replace("{", "{{").replace("}", "}}")
    libraries = " ".join(shlex.quote(w) for w in facts.libraries).replace("{", "{{").replace("}", "}}")
    return f"{{cc}} {{cflags}} {quoted} -o {{out}} {libraries + ' ' if libraries else ''}-lm"


# ------------------------------------------------------------- building


def build_program(
    program: ProgramBuild, sandbox: Path, compiler: str, cflags: str, out: Path, written: dict[str, bytes],
    store: ObjectStore, *, time_limit: float, memory_limit_mb: int,
) -> RunResult:
    """Compile the units whose object is missing or stale for (compiler, cflags), then link.

    An object is stale when its unit's text changed, or when a written file
    that is not a unit (a patched header) changed: then every unit of that
    set is compiled again. Returns the failing compile's result, else the link's.
    """
    sandbox = Path(sandbox)
    objects = sandbox / OBJECTS_DIR / hashlib.sha256(f"{compiler}\0{cflags}".encode()).hexdigest()[:16]
    objects.mkdir(parents=True, exist_ok=True)
    sources = {u.source for u in program.units}
    others = hashlib.sha256(b"".join(
        name.encode() + b"\0" + hashlib.sha256(data).digest() for name, data in sorted(written.items())
        if name not in sources
    )).hexdigest()
    paths: list[str] = []
    for number, unit in enumerate(program.units):
        cc = COMPILERS[(compiler, unit.language)]
        path = sandbox / unit.source
        obj = objects / f"{number}-{Path(unit.source).stem}.o"
        paths.append(str(obj))
        digest = hashlib.sha256(path.read_bytes() + others.encode()).hexdigest() if path.exists() else ""
        key = (compiler, cflags, unit.source)
        if digest and store.compiled.get(key) == digest and obj.exists():
            continue
        store.compiled.pop(key, None)
        flags = [relocate(f, program.root, sandbox) for f in unit.flags]
        command = shlex.join([cc, *flags, *shlex.split(cflags), "-c", str(path), "-o", str(obj)])
        result = run_command(command, sandbox / unit.directory, time_limit=time_limit, memory_limit_mb=memory_limit_mb)
        if not result.ok:
            return result
        store.compiled[key] = digest
        store.log.append(f"{cc} {cflags}: {unit.source}")
    link = [COMPILERS[(compiler, program.language)], *shlex.split(cflags), *paths, "-o", str(out),
            *(relocate(f, program.root, sandbox) for f in program.link_flags)]
    return run_command(shlex.join(link), sandbox, time_limit=time_limit, memory_limit_mb=memory_limit_mb)


def relocate(flag: str, root: Path, sandbox: Path) -> str:
    """A flag naming a path inside the user's tree names the same path in the sandbox copy."""
    for prefix in dict.fromkeys((str(root), os.path.realpath(root))):
        flag = re.sub(re.escape(prefix) + r"(?=/|$)", lambda _: str(sandbox), flag)
    return flag


def _relative_if_inside(path: str, root: Path) -> str:
    if not os.path.isabs(path):
        return path
    relative = os.path.relpath(os.path.realpath(path), os.path.realpath(root))
    return path if relative.startswith("..") else Path(relative).as_posix()


def _key(path) -> str:
    return os.path.realpath(os.path.abspath(str(path)))


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
