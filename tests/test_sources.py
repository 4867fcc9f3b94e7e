"""Finding and reading inputs: directory walks, odd files, encodings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


from ompilot.analysis import sources
from ompilot.analysis.scan import scan_file
from ompilot.analysis.sources import (
    C_EXTENSIONS,
    CPP_EXTENSIONS,
    SourceError,
    collect_sources,
    read_source,
)
from ompilot.cli import check as cli_check, github


def make(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("int x;\n")


def test_extension_sets():
    assert {".c", ".h"} <= C_EXTENSIONS
    assert {".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".C"} <= CPP_EXTENSIONS


# The tables each module kept before the one in sources.py (commit 4392091).
OLD_WALKED_C = {".c", ".h"}  # analysis/sources.py
OLD_WALKED_CPP = {".cc", ".cpp", ".cxx", ".c++", ".C", ".hpp", ".hh", ".hxx", ".h++", ".H", ".ipp", ".tpp", ".txx"}
OLD_HEADERS = (".h", ".hh", ".hpp", ".hxx", ".h++", ".H", ".ipp", ".tpp", ".txx")  # scan.py, verify/builds.py
OLD_COMPILED = {".c": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".C": "cpp", ".c++": "cpp"}  # builds, config
OLD_CHECK_EXTRA = {".inl", ".ino", ".ipp", ".tpp", ".cppm", ".ixx", ".ccm", ".cxxm", ".c++m", ".mm"}  # cli/check.py
OLD_PULL_REQUEST = (".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".c++")  # cli/github.py
OLD_FRONTEND_HEADERS = {".h": "c-header", ".hpp": "c++-header", ".hh": "c++-header", ".hxx": "c++-header"}
OLD_FRONTEND_CPP = (".cpp", ".cc", ".cxx", ".C", ".hpp", ".hh", ".c++")
EVERY_OLD_SUFFIX = (OLD_WALKED_C | OLD_WALKED_CPP | set(OLD_HEADERS) | set(OLD_COMPILED) | OLD_CHECK_EXTRA
                    | set(OLD_PULL_REQUEST) | set(OLD_FRONTEND_HEADERS) | set(OLD_FRONTEND_CPP))


@pytest.mark.parametrize("suffix", sorted(EVERY_OLD_SUFFIX))
def test_suffix_table_classifies_like_the_old_tables(suffix):
    name = "kernel" + suffix
    kind = sources.source_kind(name)
    assert kind is not None
    assert sources.is_source_name(Path(name)) == (suffix in OLD_WALKED_C | OLD_WALKED_CPP)
    assert kind.language == ("c" if suffix in OLD_WALKED_C else "cpp")
    if suffix in OLD_HEADERS:
        assert sources.is_header_name(name)
    assert sources.compiled_language(name) == OLD_COMPILED.get(suffix)
    assert cli_check.is_checkable(Path(name))
    if suffix in OLD_PULL_REQUEST:
        assert name.endswith(github.C_SUFFIXES)
    if suffix in OLD_FRONTEND_HEADERS:
        assert kind.header and {"c": "c-header", "cpp": "c++-header"}[kind.language] == OLD_FRONTEND_HEADERS[suffix]
    if suffix in OLD_FRONTEND_CPP:
        assert kind.language == "cpp"


def test_suffix_table_case_and_strangers():
    assert sources.source_kind("a.C").language == "cpp" and sources.source_kind("a.c").language == "c"
    assert sources.source_kind("a.H").language == "cpp" and sources.source_kind("a.h").language == "c"
    assert sources.compiled_language("a.CPP") == "cpp"  # other suffixes in any case
    assert sources.is_header_name("a.HPP") and not sources.is_header_name("a.cpp")
    assert sources.source_kind("a.py") is None and sources.source_kind("Makefile") is None
    assert not cli_check.is_checkable(Path("notes.txt"))
    assert not sources.is_source_name(Path("a.inl"))  # pre-commit passes it to check; scan does not walk it
    assert sources.companion_suffixes("c") == (".c",)
    assert sources.companion_suffixes("cpp")[:3] == (".cc", ".cpp", ".cxx") and sources.companion_suffixes("cpp")[-1] == ".c"


@pytest.mark.parametrize("suffix", [".hxx", ".h++", ".ipp", ".tpp", ".inl"])
def test_headers_clang_does_not_name_are_parsed_as_cpp_headers(tmp_path, suffix):
    """Clang takes an unknown suffix for a linker input: the table's header kinds get `-x c++-header`."""
    path = tmp_path / ("kernel" + suffix)
    path.write_text("template <class T> void scale(T *a, int n) {\n"
                    "  for (int i = 0; i < n; i++) a[i] = 2 * a[i];\n}\n"
                    "void use(double *a) { scale(a, 100000); }\n")
    report = scan_file(path)
    assert report.errors == []
    assert [v.loop.line for v in report.verdicts] == [2]


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
