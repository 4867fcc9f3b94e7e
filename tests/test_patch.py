"""Patches on real files: edits as bytes, diffs checked with the real `git apply`, atomic writes.

Every diff is applied by git in a throwaway repository holding the `before` file,
and the result must equal `after` byte for byte (CRLF, missing final newline and
non-UTF-8 bytes included).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from ompilot.suggest.proposals import Edit
from ompilot.suggest.patch import (
    PatchError,
    SourceSnapshot,
    StaleFileError,
    apply_edits,
    apply_to_file,
    insertion_above,
    line_start,
    snapshot,
    unified_diff,
    unified_diff_bytes,
    write_atomically,
)

PRAGMA = "#pragma omp parallel for"



def pragma_above(data: bytes, marker: bytes, lines: list[str] | None = None) -> bytes:
    """Insert the pragma above the (single) line containing `marker`, the way callers will."""
    assert data.count(marker) == 1, marker
    edit = insertion_above(data, line_start(data, data.index(marker)), lines or [PRAGMA])
    return apply_edits(data, [edit])


# --------------------------------------------------------------------------- insertion_above


def test_line_start_finds_the_first_byte_of_the_line():
    data = b"ab\r\ncd\nef"
    assert [line_start(data, i) for i in range(len(data) + 1)] == [0, 0, 0, 0, 4, 4, 4, 7, 7, 7]


def test_insertion_copies_space_indentation():
    data = b"void f(void) {\n    for (i = 0; i < n; i++)\n        a[i] = 0;\n}\n"
    assert pragma_above(data, b"for (") == (
        b"void f(void) {\n    #pragma omp parallel for\n    for (i = 0; i < n; i++)\n        a[i] = 0;\n}\n"
    )


def test_insertion_copies_tab_indentation_exactly():
    data = b"void f(void) {\n\t \tfor (;;)\n\t\tx();\n}\n"
    assert pragma_above(data, b"for (") == b"void f(void) {\n\t \t#pragma omp parallel for\n\t \tfor (;;)\n\t\tx();\n}\n"


def test_insertion_in_crlf_file_ends_with_crlf():
    data = b"int f() {\r\n  for (;;)\r\n    x();\r\n}\r\n"
    edit = insertion_above(data, data.index(b"  for"), [PRAGMA])
    assert edit == Edit(11, 11, "  #pragma omp parallel for\r\n")
    assert apply_edits(data, [edit]) == b"int f() {\r\n  #pragma omp parallel for\r\n  for (;;)\r\n    x();\r\n}\r\n"


def test_insertion_in_mixed_file_uses_the_target_lines_ending():
    data = b"a\r\nfor (;;)\n  x;\r\nfor (;;)\r\n  y;\n"
    first = insertion_above(data, 3, [PRAGMA])
    second = insertion_above(data, data.rindex(b"for"), [PRAGMA])
    assert first.text == PRAGMA + "\n"
    assert second.text == PRAGMA + "\r\n"


def test_insertion_at_the_first_line():
    data = b"for (;;)\n  x();\n"
    assert pragma_above(data, b"for") == b"#pragma omp parallel for\nfor (;;)\n  x();\n"


def test_insertion_above_last_line_without_newline_borrows_previous_ending():
    lf = b"int a;\n  for (;;) x();"
    crlf = b"int a;\r\n  for (;;) x();"
    assert pragma_above(lf, b"for") == b"int a;\n  #pragma omp parallel for\n  for (;;) x();"
    assert pragma_above(crlf, b"for") == b"int a;\r\n  #pragma omp parallel for\r\n  for (;;) x();"


def test_insertion_in_single_line_file_without_newline_uses_lf():
    assert pragma_above(b"for (;;) x();", b"for") == b"#pragma omp parallel for\nfor (;;) x();"


def test_insertion_of_several_lines_keeps_them_in_order_and_blank_lines_unindented():
    data = b"  for (;;)\n"
    edit = insertion_above(data, 0, ["// ompilot", "", PRAGMA])
    assert edit.text == "  // ompilot\n\n  #pragma omp parallel for\n"


def test_insertion_refuses_an_offset_inside_a_line():
    with pytest.raises(PatchError, match="not the start of a line"):
        insertion_above(b"int a;\nfor (;;);\n", 9, [PRAGMA])


def test_insertion_refuses_an_offset_out_of_range():
    with pytest.raises(PatchError, match="outside the file"):
        insertion_above(b"int a;\n", 99, [PRAGMA])


def test_insertion_refuses_a_backslash_continued_line():
    data = b"#define LOOP \\\n  for (;;) \\\n    x();\n"
    with pytest.raises(PatchError, match="continues the line above"):
        insertion_above(data, data.index(b"  for"), [PRAGMA])


def test_insertion_refuses_text_with_line_breaks():
    with pytest.raises(PatchError, match="line break"):
        insertion_above(b"for (;;);\n", 0, ["#pragma omp\nparallel"])


# --------------------------------------------------------------------------- apply_edits


def test_apply_edits_at_several_offsets_refer_to_the_original():
    data = b"0123456789"
    edits = [Edit(8, 9, "EIGHT"), Edit(0, 0, "<"), Edit(3, 5, ""), Edit(10, 10, ">")]
    assert apply_edits(data, edits) == b"<012567EIGHT9>"


def test_apply_edits_keeps_the_given_order_of_insertions_at_one_offset():
    data = b"ab"
    assert apply_edits(data, [Edit(1, 1, "X"), Edit(1, 1, "Y")]) == b"aXYb"
    assert apply_edits(data, [Edit(1, 1, "Y"), Edit(1, 1, "X")]) == b"aYXb"


def test_apply_edits_insertion_next_to_a_replacement_is_not_an_overlap():
    data = b"abcdef"
    assert apply_edits(data, [Edit(2, 4, "--"), Edit(2, 2, "<"), Edit(4, 4, ">")]) == b"ab<-->ef"


@pytest.mark.parametrize(
    "edits",
    [
        [Edit(2, 5, "x"), Edit(4, 6, "y")],
        [Edit(2, 5, "x"), Edit(2, 5, "y")],
        [Edit(2, 5, "x"), Edit(3, 3, "inside")],
    ],
)
def test_apply_edits_refuses_overlaps(edits):
    with pytest.raises(PatchError, match="overlap"):
        apply_edits(b"abcdefgh", edits)


@pytest.mark.parametrize("edit", [Edit(0, 9, ""), Edit(-1, 0, ""), Edit(5, 3, "")])
def test_apply_edits_refuses_offsets_out_of_range(edit):
    with pytest.raises(PatchError, match="outside the file"):
        apply_edits(b"abcdefgh", [edit])


def test_apply_edits_preserves_non_utf8_bytes_and_encodes_text_as_utf8():
    data = b"/* caf\xe9 \xff\xfe */\nfor (;;);\n"
    out = apply_edits(data, [Edit(data.index(b"for"), data.index(b"for"), "/* \u00e9t\u00e9 */\n")])
    assert out == b"/* caf\xe9 \xff\xfe */\n/* \xc3\xa9t\xc3\xa9 */\nfor (;;);\n"


def test_apply_edits_without_edits_returns_the_same_bytes():
    assert apply_edits(b"x\r\ny", []) == b"x\r\ny"


# --------------------------------------------------------------------------- unified_diff + git apply

LONG = b"".join(b"int v%d;\n" % i for i in range(20))

DIFF_CASES = {
    "spaces": (b"void f(void) {\n    for (;;)\n        x();\n}\n", b"for"),
    "tabs": (b"void f(void) {\n\tfor (;;)\n\t\tx();\n}\n", b"for"),
    "crlf": (b"void f(void) {\r\n  for (;;)\r\n    x();\r\n}\r\n", b"for"),
    "crlf_no_final_newline": (b"void f(void) {\r\n  for (;;)\r\n    x();\r\n}", b"for"),
    "mixed": (b"a;\r\nb;\n  for (;;)\r\n    x();\n}\r\n", b"for"),
    "first_line": (b"for (;;)\n  x();\n", b"for"),
    "last_line_no_newline": (b"int a;\n  for (;;) x();", b"for"),
    "only_line_no_newline": (b"for (;;) x();", b"for"),
    "no_newline_far_away": (LONG + b"for (;;)\n  x();\n" + LONG + b"}", b"for"),
    "lone_cr_inside_a_line": (b"/* old\r mac */\n  for (;;)\n    x();\n", b"for"),
    "non_utf8": (b"/* caf\xe9 \xff */\n\tfor (;;)\n\t\tx(\"\x80\");\n/* \xc0 */", b"for"),
}


def git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False)


def git_repo_with(tmp_path: Path, name: str, before: bytes) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (
        ["init", "-q"],
        ["config", "user.email", "test@example.com"],
        ["config", "user.name", "Test"],
        ["config", "core.autocrlf", "false"],
    ):
        assert git(repo, *args).returncode == 0
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_bytes(before)
    assert git(repo, "add", "--", name).returncode == 0
    assert git(repo, "commit", "-q", "-m", "before").returncode == 0
    return repo


def assert_git_applies(tmp_path: Path, name: str, before: bytes, after: bytes) -> str:
    """Apply our diff with the real git and demand `after`, byte for byte."""
    diff = unified_diff(name, before, after)
    assert diff.encode("utf-8", "surrogateescape") == unified_diff_bytes(name, before, after)
    repo = git_repo_with(tmp_path, name, before)
    patch = tmp_path / "change.patch"
    patch.write_bytes(diff.encode("utf-8", "surrogateescape"))
    check = git(repo, "apply", "--check", str(patch))
    assert check.returncode == 0, check.stderr
    applied = git(repo, "apply", str(patch))
    assert applied.returncode == 0, applied.stderr
    assert (repo / name).read_bytes() == after
    reverse = git(repo, "apply", "-R", "--check", str(patch))
    assert reverse.returncode == 0, reverse.stderr
    return diff


@pytest.mark.parametrize("case", sorted(DIFF_CASES))
def test_git_apply_reproduces_pragma_insertion(tmp_path, case):
    before, marker = DIFF_CASES[case]
    after = pragma_above(before, marker)
    assert_git_applies(tmp_path, "src/kernel.c", before, after)


def test_git_apply_reproduces_several_edits_in_separate_and_merged_hunks(tmp_path):
    before = LONG + b"  for (;;)\n" + LONG + b"  for (;;)\n" + b"int w;\n  for (;;)\n" + LONG
    starts = [i for i in range(len(before)) if before.startswith(b"  for", i)]
    edits = [insertion_above(before, start, [PRAGMA]) for start in starts]
    after = apply_edits(before, edits)
    diff = assert_git_applies(tmp_path, "kernel.c", before, after)
    assert diff.count("\n@@ ") == 2  # the last two insertions share context: one hunk


@pytest.mark.parametrize(
    "before, after",
    [
        (b"a\nb\nc", b"a\nb\nc\n"),  # final newline added
        (b"a\nb\nc\n", b"a\nb\nc"),  # final newline removed
        (b"a\r\nb\r\nc", b"a\r\nB\r\nc"),  # change next to a last line without newline
        (b"", b"#pragma once\n"),  # empty file
        (b"x\n", b""),  # emptied file
    ],
)
def test_git_apply_handles_missing_final_newlines(tmp_path, before, after):
    assert_git_applies(tmp_path, "f.c", before, after)


@pytest.mark.parametrize("name", ["dir with space/a b.c", 'odd"name.c', "tab\tname.c", "caf\u00e9.c"])
def test_git_apply_understands_the_header_for_unusual_names(tmp_path, name):
    before = b"int a;\nfor (;;);\n"
    assert_git_applies(tmp_path, name, before, pragma_above(before, b"for"))


def test_unified_diff_format():
    before = b"int a;\r\nfor (;;);"
    diff = unified_diff("./src/x.c", before, pragma_above(before, b"for"))
    assert diff == (
        "--- a/src/x.c\n"
        "+++ b/src/x.c\n"
        "@@ -1,2 +1,3 @@\n"
        " int a;\r\n"
        "+#pragma omp parallel for\r\n"
        " for (;;);\n"
        "\\ No newline at end of file\n"
    )


def test_unified_diff_of_identical_bytes_is_empty():
    assert unified_diff("x.c", b"a\r\n\xff", b"a\r\n\xff") == ""


@pytest.mark.parametrize("path", ["/abs/x.c", "../x.c", "a/../../x.c", ""])
def test_unified_diff_wants_a_relative_path(path):
    with pytest.raises(PatchError, match="relative"):
        unified_diff(path, b"a\n", b"b\n")


# --------------------------------------------------------------------------- write_atomically


def test_write_atomically_replaces_content_and_keeps_mode_bits(tmp_path):
    for mode in (0o640, 0o755, 0o600):
        path = tmp_path / f"m{mode:o}.c"
        path.write_bytes(b"old\n")
        path.chmod(mode)
        write_atomically(path, b"new\r\n\xff")
        assert path.read_bytes() == b"new\r\n\xff"
        assert stat.S_IMODE(path.stat().st_mode) == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m600.c", "m640.c", "m755.c"]


def test_write_atomically_refuses_a_read_only_file_even_as_root(tmp_path):
    path = tmp_path / "ro.c"
    path.write_bytes(b"old\n")
    path.chmod(0o444)
    with pytest.raises(PatchError, match=r"ro\.c: file is read-only") as caught:
        write_atomically(path, b"new\n")
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == b"old\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert [p.name for p in tmp_path.iterdir()] == ["ro.c"]


def test_write_atomically_through_a_symlink_keeps_the_link(tmp_path):
    real = tmp_path / "real.c"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.c"
    link.symlink_to(real.name)
    write_atomically(link, b"new\n")
    assert link.is_symlink()
    assert real.read_bytes() == b"new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.c", "real.c"]


def test_write_atomically_refuses_a_missing_file_and_a_directory(tmp_path):
    with pytest.raises(PatchError, match="not found"):
        write_atomically(tmp_path / "missing.c", b"x")
    with pytest.raises(PatchError, match="not a regular file"):
        write_atomically(tmp_path, b"x")
    assert list(tmp_path.iterdir()) == []


def test_write_atomically_failure_leaves_original_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "k.c"
    path.write_bytes(b"old\n")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(PatchError, match="k.c: write failed"):
        write_atomically(path, b"new\n")
    assert path.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["k.c"]


# --------------------------------------------------------------------------- snapshot / apply_to_file

SOURCE = b"void f(double *a, int n) {\r\n\tfor (int i = 0; i < n; i++)\r\n\t\ta[i] = 0; /* \xff */\r\n}"


def pragma_edit(data: bytes) -> Edit:
    return insertion_above(data, line_start(data, data.index(b"for")), [PRAGMA])


def test_snapshot_records_bytes_and_digest(tmp_path):
    path = tmp_path / "k.c"
    path.write_bytes(SOURCE)
    snap = snapshot(path)
    assert snap == SourceSnapshot(path, SOURCE, hashlib.sha256(SOURCE).hexdigest())


def test_snapshot_of_missing_file_names_it(tmp_path):
    with pytest.raises(PatchError, match="nope.c: file not found"):
        snapshot(tmp_path / "nope.c")


def test_apply_to_file_writes_and_returns_new_bytes(tmp_path):
    path = tmp_path / "k.c"
    path.write_bytes(SOURCE)
    path.chmod(0o640)
    snap = snapshot(path)
    new = apply_to_file(snap, [pragma_edit(snap.data)])
    assert new == SOURCE.replace(b"\tfor", b"\t#pragma omp parallel for\r\n\tfor")
    assert path.read_bytes() == new
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["k.c"]


def test_apply_to_file_refuses_a_file_changed_after_the_snapshot(tmp_path):
    path = tmp_path / "k.c"
    path.write_bytes(SOURCE)
    snap = snapshot(path)
    edited = SOURCE.replace(b"a[i] = 0", b"a[i] = 1")
    path.write_bytes(edited)
    with pytest.raises(StaleFileError, match=r"k\.c: changed since it was analysed; run ompilot again"):
        apply_to_file(snap, [pragma_edit(snap.data)])
    assert path.read_bytes() == edited
    assert [p.name for p in tmp_path.iterdir()] == ["k.c"]


def test_apply_to_file_refuses_a_file_deleted_after_the_snapshot(tmp_path):
    path = tmp_path / "k.c"
    path.write_bytes(SOURCE)
    snap = snapshot(path)
    path.unlink()
    with pytest.raises(StaleFileError, match="changed since it was analysed"):
        apply_to_file(snap, [pragma_edit(snap.data)])
    assert not path.exists()


def test_apply_to_file_names_the_file_when_edits_are_bad(tmp_path):
    path = tmp_path / "k.c"
    path.write_bytes(SOURCE)
    snap = snapshot(path)
    with pytest.raises(PatchError, match=r"k\.c: edits .* overlap"):
        apply_to_file(snap, [Edit(1, 5, "x"), Edit(3, 7, "y")])
    assert path.read_bytes() == SOURCE


def test_apply_to_file_refuses_read_only_file(tmp_path):
    path = tmp_path / "k.c"
    path.write_bytes(SOURCE)
    path.chmod(0o444)
    snap = snapshot(path)
    with pytest.raises(PatchError, match="read-only"):
        apply_to_file(snap, [pragma_edit(snap.data)])
    assert path.read_bytes() == SOURCE
