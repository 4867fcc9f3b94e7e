"""Finding and reading inputs: directory walks, odd files, encodings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ompilot.analysis.sources import (
    C_EXTENSIONS,
    CPP_EXTENSIONS,
    SourceError,
    collect_sources,
    read_source,
)


def make(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("int x;\n")


def test_extension_sets():
    assert {".c", ".h"} <= C_EXTENSIONS
    assert {".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".C"} <= CPP_EXTENSIONS


def test_directory_walk_is_sorted_and_skips_hidden(tmp_path: Path):
    make(
        tmp_path,
        "b.c",
        "a.cpp",
        "sub/z.h",
        "sub/deeper/k.cc",
        "A.C",
        "notes.txt",
        "Makefile",
        ".git/hooks/x.c",
        ".venv/lib/y.c",
        "node_modules/pkg/w.c",
        ".hidden.c",
    )
    files, errors = collect_sources([tmp_path])
    assert errors == []
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "A.C",
        "a.cpp",
        "b.c",
        "sub/deeper/k.cc",
        "sub/z.h",
    ]


def test_explicit_files_kept_whatever_extension(tmp_path: Path):
    make(tmp_path, "kernel.inc", "main.c")
    files, errors = collect_sources([tmp_path / "kernel.inc", tmp_path / "main.c"])
    assert files == [tmp_path / "kernel.inc", tmp_path / "main.c"]
    assert errors == []


def test_errors_are_one_line_each(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    make(tmp_path, "empty/readme.md", "ok.c")
    files, errors = collect_sources([tmp_path / "missing.c", tmp_path / "empty", tmp_path / "ok.c"])
    assert files == [tmp_path / "ok.c"]
    assert errors == [
        f"{tmp_path / 'missing.c'}: no such file or directory",
        f"{tmp_path / 'empty'}/: no C or C++ files found",
    ]
    assert all("\n" not in e for e in errors)


def test_relative_paths_stay_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make(tmp_path, "src/a.c", "src/b.h")
    monkeypatch.chdir(tmp_path)
    files, errors = collect_sources([Path("src/")])
    assert files == [Path("src/a.c"), Path("src/b.h")]
    assert errors == []
    assert collect_sources([Path("nope/")])[1] == ["nope: no such file or directory"]


def test_duplicates_are_listed_once(tmp_path: Path):
    make(tmp_path, "a.c", "b.c")
    files, _ = collect_sources([tmp_path / "b.c", tmp_path, tmp_path / "b.c"])
    assert files == [tmp_path / "b.c", tmp_path / "a.c"]


def test_broken_symlink_is_reported(tmp_path: Path):
    (tmp_path / "dangling.c").symlink_to(tmp_path / "nowhere.c")
    files, errors = collect_sources([tmp_path / "dangling.c"])
    assert files == []
    assert errors == [f"{tmp_path / 'dangling.c'}: broken symbolic link"]


def test_read_plain_and_empty(tmp_path: Path):
    path = tmp_path / "a.c"
    path.write_bytes(b"int main(void) { return 0; }\n")
    source = read_source(path)
    assert source.path == path
    assert source.data == path.read_bytes()
    assert source.text == "int main(void) { return 0; }\n"
    assert source.warning is None
    empty = tmp_path / "empty.c"
    empty.write_bytes(b"")
    assert read_source(empty).text == ""
    assert read_source(empty).warning is None


def test_binary_file_is_rejected(tmp_path: Path):
    path = tmp_path / "a.c"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 4)
    with pytest.raises(SourceError) as info:
        read_source(path)
    assert str(info.value) == f"{path}: binary file, not C or C++ source"


def test_binary_without_nul_is_rejected(tmp_path: Path):
    path = tmp_path / "noise.c"
    path.write_bytes(bytes(b for b in range(1, 256)) * 20)
    with pytest.raises(SourceError, match="binary file"):
        read_source(path)


def test_non_utf8_is_read_with_warning(tmp_path: Path):
    path = tmp_path / "latin1.c"
    data = b"/* Copyright \xa9 Jos\xe9 */\nint x;\n"
    path.write_bytes(data)
    source = read_source(path)
    assert source.warning == f"{path}: not valid UTF-8 at byte 13; analysed anyway"
    assert source.data == data
    assert source.text.encode("utf-8", "surrogateescape") == data
    assert "int x;" in source.text


def test_utf8_text_is_fine(tmp_path: Path):
    path = tmp_path / "u.c"
    path.write_text("/* héllo wörld ✓ */\nint x;\n", encoding="utf-8")
    assert read_source(path).warning is None


def test_unreadable_and_directory(tmp_path: Path):
    with pytest.raises(SourceError, match="no such file"):
        read_source(tmp_path / "missing.c")
    with pytest.raises(SourceError, match="is a directory"):
        read_source(tmp_path)
    locked = tmp_path / "locked.c"
    locked.write_text("int x;\n")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            # root reads any mode; a symlink loop is unreadable for everyone
            locked.chmod(0o644)
            locked.unlink()
            locked.symlink_to(locked.name)
        with pytest.raises(SourceError, match="cannot read"):
            read_source(locked)
    finally:
        if not locked.is_symlink():
            locked.chmod(0o644)
