"""Compile flags for a source file, from compile_commands.json and the toolchain.

libclang parses a file the way the project builds it only with the same -I/-D/
-std flags; the database gives those. Flags that make the compiler write
files or choose an action (-c, -o, -M*) are dropped, relative paths are made
absolute so the flags work from any directory.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Collection, Iterator

import clang.cindex as ci

DATABASE_NAME = "compile_commands.json"
CLANG = "clang-19"
_CLANG_FALLBACK = "/usr/lib/llvm-19/bin/clang"

# Flags whose value is a path (separate "-I dir" or joined "-Idir"), longest first
# so "-include-pch" is not read as "-include" + "-pch".
_PATH_FLAGS = (
    "-include-pch",
    "-idirafter",
    "-isysroot",
    "-isystem",
    "-imacros",
    "-include",
    "-iquote",
    "-I",
)
_DROPPED_WITH_VALUE = {"-o", "-MF", "-MT", "-MQ", "-MJ"}
_DROPPED = {"-c", "-S", "-E", "--", "-Werror", "-pedantic-errors"}


class ToolchainError(RuntimeError):
    """clang-19 is missing or broken; the message tells the user how to fix it."""


class CompileDatabaseError(RuntimeError):
    """compile_commands.json exists but cannot be read as a compilation database."""


def find_compile_database(start: Path) -> Path | None:
    """Directory holding compile_commands.json, searching upwards like clang-tidy.

    Starts at `start` (its parent when it is a file) and at each level also
    looks in `build/`, where CMake users usually generate the database.
    """
    here = Path(os.path.abspath(start))
    if not here.is_dir():
        here = here.parent
    for level in (here, *here.parents):
        for candidate in (level, level / "build"):
            if (candidate / DATABASE_NAME).is_file():
                return candidate
    return None


def flags_for(source: Path, database_dir: Path | None, *, infer: bool = False) -> list[str] | None:
    """Flags to parse `source` as its build does, or None when it is not in the database.

    With infer=True a file missing from the database (typically a header) gets
    the flags libclang interpolates from the most similar entry instead of None.
    """
    if database_dir is None:
        return None
    database = _Database.load(Path(database_dir))
    path = Path(os.path.abspath(source))
    entry = database.entry(path)
    if entry is not None:
        return entry.flags()
    if not infer:
        return None
    commands = database.db.getCompileCommands(str(path)) if database.db is not None else None
    if commands is None or len(commands) == 0:
        return None
    command = commands[0]
    directory = _absolute(command.directory, database.directory)
    arguments = list(command.arguments)
    filename = os.path.normpath(os.path.join(directory, command.filename))
    return clean_arguments(arguments[1:], directory, {filename, str(path), command.filename})


@dataclass(frozen=True)
class Entry:
    """One compile command, its "directory" made absolute (a relative one is
    relative to the database's own folder, so a database can move with its tree)."""

    file: str  # normalised absolute path of the source
    directory: str
    arguments: tuple[str, ...]  # the compiler first, as in the database

    def flags(self) -> list[str]:
        raw = os.path.join(self.directory, self.file)
        return clean_arguments(list(self.arguments[1:]), self.directory, {self.file, raw, os.path.basename(self.file)})


def entries(database_dir: Path) -> list[Entry]:
    """The database's entries, in its order, each source once (its first command)."""
    return list(_Database.load(Path(database_dir)).entries)


def with_values(arguments: list[str], taking_value: Collection[str]) -> Iterator[tuple[str, str | None]]:
    """Each argument, paired with the next one when it is in `taking_value` (a
    separate value, as in `-o out`; None when the list ends first), else with None."""
    rest = iter(arguments)
    for arg in rest:
        yield arg, (next(rest, None) if arg in taking_value else None)


def clean_arguments(arguments: list[str], directory: str, sources: set[str]) -> list[str]:
    """Drop output/action/dependency flags and the sources; absolutise path flags."""
    out: list[str] = []
    for arg, value in with_values(arguments, _DROPPED_WITH_VALUE | set(_PATH_FLAGS)):
        if arg in _DROPPED_WITH_VALUE or arg in _DROPPED or _is_dropped_joined(arg):
            continue
        elif arg in sources or os.path.normpath(os.path.join(directory, arg)) in sources:
            continue
        elif arg in _PATH_FLAGS:
            if value is not None:
                out += [arg, _absolute(value, directory)]
        else:
            out.append(_absolute_joined(arg, directory))
    return out


def _is_dropped_joined(arg: str) -> bool:
    """-MD/-MMD/-MFfile..., -ofile (not -objc*), -Werror=x: build-only or fatal flags."""
    if arg.startswith("-M"):
        return True
    if arg.startswith("-o") and not arg.startswith("-objc"):
        return True
    return arg.startswith("-Werror=")


def _absolute_joined(arg: str, directory: str) -> str:
    if arg.startswith("--sysroot="):
        return "--sysroot=" + _absolute(arg[len("--sysroot=") :], directory)
    for flag in _PATH_FLAGS:
        if arg.startswith(flag) and len(arg) > len(flag):
            if flag == "-include" and arg.startswith("-include-pch"):
                return arg  # joined -include-pch has no sensible form; keep as written
            return flag + _absolute(arg[len(flag) :], directory)
    return arg


def _absolute(path: str, directory: str) -> str:
    if path == "-" or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(directory, path))


@dataclass(frozen=True)
class _Database:
    directory: str
    entries: tuple[Entry, ...]
    by_file: dict[str, Entry]  # normalised and real paths of the sources
    db: ci.CompilationDatabase | None  # libclang's, only to infer flags for headers

    @staticmethod
    def load(directory: Path) -> _Database:
        json_path = directory / DATABASE_NAME
        try:
            stamp = json_path.stat().st_mtime_ns
        except OSError:
            raise CompileDatabaseError(f"{json_path}: no such file") from None
        return _load_database(str(directory.absolute()), stamp)

    def entry(self, path: Path) -> Entry | None:
        return self.by_file.get(str(path)) or self.by_file.get(os.path.realpath(path))


@lru_cache(maxsize=16)
def _load_database(directory: str, _stamp: int) -> _Database:
    """Cached per directory and modification time, so an edited database is reread."""
    json_path = os.path.join(directory, DATABASE_NAME)
    try:
        with open(json_path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CompileDatabaseError(f"{json_path}: not a valid compilation database ({error})") from None
    if not isinstance(raw, list):
        raise CompileDatabaseError(f"{json_path}: not a valid compilation database (expected a JSON list)")
    found: list[Entry] = []
    by_file: dict[str, Entry] = {}
    for index, item in enumerate(raw):
        entry = _entry(item, directory)
        if entry is None:
            raise CompileDatabaseError(
                f"{json_path}: not a valid compilation database (entry {index + 1} needs "
                '"directory", "file" and "arguments" or "command")'
            )
        if entry.file in by_file:
            continue
        found.append(entry)
        by_file[entry.file] = entry
        by_file.setdefault(os.path.realpath(entry.file), entry)
    try:
        db = ci.CompilationDatabase.fromDirectory(directory)
    except ci.CompilationDatabaseError:
        db = None
    return _Database(directory, tuple(found), by_file, db)


def _entry(item, database_dir: str) -> Entry | None:
    if not isinstance(item, dict) or not isinstance(item.get("file"), str) or not isinstance(item.get("directory"), str):
        return None
    arguments = item.get("arguments")
    if isinstance(arguments, list) and all(isinstance(a, str) for a in arguments) and arguments:
        args = tuple(arguments)
    elif isinstance(item.get("command"), str):
        try:
            args = tuple(shlex.split(item["command"]))
        except ValueError:
            return None
        if not args:
            return None
    else:
        return None
    directory = _absolute(item["directory"], database_dir)
    return Entry(file=_absolute(item["file"], directory), directory=directory, arguments=args)


def toolchain_flags() -> list[str]:
    """["-resource-dir", DIR] of clang-19, so libclang finds the builtin headers (omp.h,
    stddef.h) that match the toolchain used to compile and run the checks."""
    return ["-resource-dir", _resource_dir()]


@cache
def _resource_dir() -> str:
    """clang-19's resource directory, asked once per process."""
    clang = shutil.which(CLANG) or (_CLANG_FALLBACK if os.access(_CLANG_FALLBACK, os.X_OK) else None)
    if clang is None:
        raise ToolchainError(f"{CLANG} not found on PATH; run scripts/setup.sh to install the toolchain")
    try:
        result = subprocess.run(
            [clang, "-print-resource-dir"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolchainError(f"{clang} -print-resource-dir failed ({error}); run scripts/setup.sh") from None
    resource_dir = result.stdout.strip()
    if result.returncode != 0 or not resource_dir or not os.path.isdir(resource_dir):
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no resource directory"
        raise ToolchainError(f"{clang} -print-resource-dir failed ({detail}); run scripts/setup.sh")
    return resource_dir
