"""compile_commands.json lookup and flag cleaning, with real libclang and clang-19."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ompilot.analysis import compdb
from ompilot.analysis.compdb import (
    CompileDatabaseError,
    ToolchainError,
    clean_arguments,
    find_compile_database,
    flags_for,
    toolchain_flags,
)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A small CMake-like tree: src/, include/, and build/compile_commands.json."""
    (tmp_path / "src").mkdir()
    (tmp_path / "include").mkdir()
    (tmp_path / "build").mkdir()
    (tmp_path / "include" / "config.h").write_text("#define SIZE 16\n")
    (tmp_path / "src" / "main.c").write_text('#include "config.h"\nint a[SIZE];\nint main(void) { return a[0]; }\n')
    (tmp_path / "src" / "util.cpp").write_text("int util() { return 1; }\n")
    (tmp_path / "src" / "orphan.c").write_text("int orphan;\n")
    entries = [
        {
            "directory": str(tmp_path / "build"),
            "command": "/usr/bin/cc -I../include -isystem ../third_party -iquote quoted "
            "-include ../include/config.h -DNDEBUG -UDEBUG -std=c11 -fopenmp -Wall -Werror -march=native "
            "-MD -MT main.o -MF main.o.d -o CMakeFiles/main.o -c ../src/main.c",
            "file": "../src/main.c",
        },
        {
            "directory": str(tmp_path / "build"),
            "arguments": ["c++", "-I", "../include", "-std=c++17", "-O2", "-outil.o", "-c", str(tmp_path / "src" / "util.cpp")],
            "file": str(tmp_path / "src" / "util.cpp"),
        },
    ]
    (tmp_path / "build" / "compile_commands.json").write_text(json.dumps(entries))
    return tmp_path


def test_find_database_walks_up_and_checks_build(project: Path):
    assert find_compile_database(project / "src" / "main.c") == project / "build"
    assert find_compile_database(project / "src") == project / "build"
    assert find_compile_database(project / "build") == project / "build"


def test_find_database_prefers_nearest(project: Path):
    (project / "src" / "compile_commands.json").write_text("[]")
    assert find_compile_database(project / "src" / "main.c") == project / "src"


def test_find_database_none(tmp_path: Path):
    (tmp_path / "a.c").write_text("int x;\n")
    # tmp_path's parents (/tmp, /) hold no database
    assert find_compile_database(tmp_path / "a.c") is None


def test_flags_from_command_string(project: Path):
    flags = flags_for(project / "src" / "main.c", project / "build")
    include = str(project / "include")
    assert flags == [
        f"-I{include}",
        "-isystem",
        str(project / "third_party"),
        "-iquote",
        str(project / "build" / "quoted"),
        "-include",
        str(project / "include" / "config.h"),
        "-DNDEBUG",
        "-UDEBUG",
        "-std=c11",
        "-fopenmp",
        "-Wall",
        "-march=native",
    ]


def test_flags_from_arguments_list(project: Path):
    flags = flags_for(project / "src" / "util.cpp", project / "build")
    assert flags is not None
    assert flags[-4:] == ["-I", str(project / "include"), "-std=c++17", "-O2"]
    assert not any(f.startswith("-o") or f == "-c" or f.endswith("util.cpp") for f in flags)


def test_relative_source_path_is_accepted(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(project)
    assert flags_for(Path("src/main.c"), Path("build")) == flags_for(project / "src" / "main.c", project / "build")


def test_file_not_in_database(project: Path):
    assert flags_for(project / "src" / "orphan.c", project / "build") is None
    assert flags_for(project / "include" / "config.h", project / "build") is None
    assert flags_for(project / "src" / "main.c", None) is None


def test_header_flags_can_be_inferred(project: Path):
    flags = flags_for(project / "include" / "config.h", project / "build", infer=True)
    assert flags is not None
    assert f"-I{project / 'include'}" in flags or str(project / "include") in flags
    assert not any(f.endswith("config.h") and not f.startswith("/") for f in flags)


def test_flags_let_clang_find_the_header(project: Path):
    """The cleaned flags work from another directory: clang finds include/config.h."""
    flags = flags_for(project / "src" / "main.c", project / "build")
    result = subprocess.run(
        ["clang-19", "-fsyntax-only", *flags, str(project / "src" / "main.c")],
        cwd="/",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_edited_database_is_reread(project: Path):
    database = project / "build" / "compile_commands.json"
    assert flags_for(project / "src" / "orphan.c", project / "build") is None
    entries = json.loads(database.read_text())
    entries.append({"directory": str(project), "command": "cc -DORPHAN -c src/orphan.c", "file": "src/orphan.c"})
    database.write_text(json.dumps(entries))
    stat = database.stat()
    os.utime(database, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert flags_for(project / "src" / "orphan.c", project / "build") == ["-DORPHAN"]


def test_malformed_database(tmp_path: Path):
    (tmp_path / "compile_commands.json").write_text('[{"directory": ')
    with pytest.raises(CompileDatabaseError, match="compile_commands.json"):
        flags_for(tmp_path / "a.c", tmp_path)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["-c", "-o", "x.o", "a.c"], []),
        (["-ox.o", "-MMD", "-MP", "-MFdeps.d", "-MT", "t", "-MQ", "q", "-M"], []),
        (["-Iinc", "-I", "inc2", "-isystem", "sys", "-isystemsys2"], ["-I/b/inc", "-I", "/b/inc2", "-isystem", "/b/sys", "-isystem/b/sys2"]),
        (["-I/abs", "-include", "/abs/h.h", "-includelocal.h"], ["-I/abs", "-include", "/abs/h.h", "-include/b/local.h"]),
        (["-Werror", "-Werror=format", "-Wno-error", "-Wextra", "-pedantic-errors"], ["-Wno-error", "-Wextra"]),
        (["-DX=1", "-UY", "-std=gnu99", "-fPIC", "-m64", "-pthread"], ["-DX=1", "-UY", "-std=gnu99", "-fPIC", "-m64", "-pthread"]),
        (["-fobjc-arc", "-objcmt-migrate-literals"], ["-fobjc-arc", "-objcmt-migrate-literals"]),
        (["--sysroot=root", "-include-pch", "pch.h.pch"], ["--sysroot=/b/root", "-include-pch", "/b/pch.h.pch"]),
    ],
)
def test_clean_arguments(arguments, expected):
    assert clean_arguments(arguments, "/b", {"/b/a.c", "a.c"}) == expected


def test_toolchain_flags():
    flags = toolchain_flags()
    assert flags[0] == "-resource-dir"
    assert Path(flags[1], "include", "omp.h").is_file()
    flags.append("mutated")
    assert toolchain_flags() == flags[:2]  # callers get a copy of the cached value


def test_toolchain_error_names_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(compdb, "_CLANG_FALLBACK", str(tmp_path / "no-clang"))
    compdb._resource_dir.cache_clear()
    try:
        with pytest.raises(ToolchainError, match="scripts/setup.sh"):
            toolchain_flags()
    finally:
        compdb._resource_dir.cache_clear()
