"""End-to-end checks of `ompilot suggest`: real files in tmp_path, real libclang, real git and compilers.

These check the static suggestions (--no-verify); tests/test_verify_*.py run the verifier.

Most runs go through `ompilot.cli.main.main(argv)` in-process (output read with
capsys); one runs the installed console script as a subprocess and pipes its
diff into the real `git apply`. Nothing is mocked: a file that "changes between
analysis and write" is really rewritten between `suggest_paths` and
`apply_results`.

A known bug gets a test marked xfail(strict=True) until it is fixed; it then
fails until the marker is removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ompilot.analysis.scan import ScanSettings
from ompilot.cli.main import main
from ompilot.suggest.tree import apply_results, suggest_paths

OMPILOT = Path(sys.executable).with_name("ompilot")
PRAGMA = "#pragma omp parallel for"



def line_of(text: str, marker: str) -> int:
    """1-based line of the single line holding `marker`."""
    [number] = [n for n, line in enumerate(text.splitlines(), 1) if marker in line]
    return number


from samples import GOOD_C, GOOD_DOALL_LINE, GOOD_REDUCTION_LINE, GOOD_SERIAL_LINE  # noqa: E402
GOOD_DIRECTIVES = {GOOD_DOALL_LINE: PRAGMA, GOOD_REDUCTION_LINE: f"{PRAGMA} reduction(+: s)"}

SERIAL_ONLY_C = """\
void running(double *a, int n) {
    for (int i = 1; i < n; i++)
        a[i] = a[i - 1] + 1;
}

int twice(int x) { return 2 * x; }
"""

# One kernel ending its loop lines in CRLF, the other in LF, with the lines
# around them ending the other way: each inserted line must take the ending of
# the loop line it is inserted above.
MIXED_C = (
    b"void f(double *restrict a, int n) {\n"
    b"    for (int i = 0; i < n; i++)\r\n"
    b"        a[i] = 2.0 * a[i];\n"
    b"}\r\n"
    b"\r\n"
    b"void g(double *restrict b, int n) {\r\n"
    b"    for (int i = 0; i < n; i++)\n"
    b"        b[i] = 3.0 * b[i];\r\n"
    b"}\n"
)

# Two adjacent parallel loops: ompilot may join them in one parallel region,
# inserting `#pragma omp parallel`, `{`, `#pragma omp for`, `}` lines.
REGION_C = """\
void two(double *restrict a, double *restrict b, int n) {
    for (int i = 0; i < n; i++)
        a[i] = 2.0 * a[i];
    for (int i = 0; i < n; i++)
        b[i] = 3.0 * b[i];
}
"""
MIXED_REGION_C = (
    b"void two(double *restrict a, double *restrict b, int n) {\n"
    b"    for (int i = 0; i < n; i++)\r\n"
    b"        a[i] = 2.0 * a[i];\n"
    b"    for (int i = 0; i < n; i++)\n"
    b"        b[i] = 3.0 * b[i];\r\n"
    b"}\n"
)

MACRO_C = """\
#define ZERO(a, n) for (int i = 0; i < n; i++) a[i] = 0

void zero_then_double(double *restrict a, double *restrict b, int n) {
    ZERO(a, n);
    for (int i = 0; i < n; i++)
        b[i] = 2.0 * b[i];
}
"""
MACRO_USE_LINE, MACRO_OTHER_LOOP_LINE = 4, 5

SHARED_LINE_C = """\
double f(double *restrict a, double *restrict b, int n) {
    double x; x = 0; for (int i = 0; i < n; i++) a[i] = 2.0 * a[i];
    for (int i = 0; i < n; i++)
        b[i] += 1.0;
    return x;
}
"""
SHARED_LOOP_LINE, SHARED_OTHER_LOOP_LINE = 2, 3

SHARED_LINE_ONLY_C = """\
double f(double *restrict a, int n) {
    double x; x = 0; for (int i = 0; i < n; i++) a[i] = 2.0 * a[i];
    return x;
}
"""

# Loops already under a pragma, in the spellings people write; the last loop has none.
EXISTING_C = """\
void plain(double *restrict a, int n) {
    #pragma omp parallel for
    for (int i = 0; i < n; i++)
        a[i] = 2.0 * a[i];
}

void clauses_at_column_0(double *restrict a, int n) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        a[i] = 3.0 * a[i];
}

void spaced(double *restrict a, int n) {
#  pragma   omp parallel for
    for (int i = 0; i < n; i++)
        a[i] = 4.0 * a[i];
}

void comment_between(double *restrict a, int n) {
    #pragma omp parallel for
    /* scale in place */
    for (int i = 0; i < n; i++)
        a[i] = 5.0 * a[i];
}

void worksharing_in_region(double *restrict a, int n) {
#pragma omp parallel
    {
#pragma omp for
        for (int i = 0; i < n; i++)
            a[i] = 6.0 * a[i];
    }
}

void outer_only(double *restrict a, int n, int m) {
    #pragma omp parallel for
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            a[i * m + j] = 7.0 * a[i * m + j];
}

void simd(double *restrict a, int n) {
    #pragma omp simd
    for (int i = 0; i < n; i++)
        a[i] = 8.0 * a[i];
}

void bare(double *restrict a, int n) {
    for (int i = 0; i < n; i++)
        a[i] = 9.0 * a[i];
}
"""


EXISTING_BARE_LINE = line_of(EXISTING_C, "9.0 * a[i]") - 1

UNDERSCORE_PRAGMA_C = """\
void operator_form(double *restrict a, int n) {
    _Pragma("omp parallel for")
    for (int i = 0; i < n; i++)
        a[i] = 2.0 * a[i];
}

void bare(double *restrict a, int n) {
    for (int i = 0; i < n; i++)
        a[i] = 3.0 * a[i];
}
"""
UNDERSCORE_BARE_LINE = line_of(UNDERSCORE_PRAGMA_C, "3.0 * a[i]") - 1


# --------------------------------------------------------------------------- helpers


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["suggest", "--no-verify", "--format", "json", "-j", "1", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def proposals_by_line(report: dict) -> dict[int, dict]:
    by_line = {p["line"]: p for p in report["proposals"]}
    assert len(by_line) == len(report["proposals"]), "two proposals for one loop"
    return by_line


def _split_lf(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    return [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def ending(line: bytes) -> bytes:
    return b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""


def is_pragma_line(line: bytes) -> bool:
    return line.strip().startswith(b"#pragma omp")


def assert_only_pragma_lines_inserted(before: bytes, after: bytes) -> list[int]:
    """`after` is `before` plus whole inserted lines, every original line byte for byte.

    Inserted lines are pragmas (with the indentation and line ending of the line
    below them, as written above a loop) or the braces of a parallel region (the
    closing brace, written after a loop, may take the ending of the line above it).
    Returns the 0-based indexes (in `after`) of the inserted lines.
    """
    old, new = _split_lf(before), _split_lf(after)
    inserted, o = [], 0
    for n, line in enumerate(new):
        if o < len(old) and line == old[o]:
            o += 1
            continue
        assert is_pragma_line(line) or line.strip() in (b"{", b"}"), (
            f"line {n + 1} of the result is neither original nor inserted by ompilot: {line!r}"
        )
        inserted.append(n)
    assert o == len(old), "an original line was changed or removed"
    for n in inserted:
        assert 0 < n + 1 < len(new), "a line was inserted as the last line"
        below, above = ending(new[n + 1]), ending(new[n - 1]) if n else None
        if new[n].strip() == b"}":
            assert ending(new[n]) in (below, above), f"inserted line {n + 1} ends unlike both neighbours"
            continue
        assert ending(new[n]) == below, (
            f"inserted line {n + 1} ends in {ending(new[n])!r}, the line below it in {below!r}"
        )
        indent = new[n + 1][: len(new[n + 1]) - len(new[n + 1].lstrip(b" \t"))]
        assert new[n].startswith(indent + new[n].strip()[:1]), (
            f"inserted line {n + 1} does not copy the indentation of the line below it"
        )
    return inserted


def git(repo: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=repo, env=env, input=stdin, capture_output=True, check=False)


def git_repo(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """A repository in tmp_path/repo with `files` committed (local identity, no CRLF conversion)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (
        ["init", "-q"],
        ["config", "user.email", "test@example.com"],
        ["config", "user.name", "ompilot test"],
        ["config", "core.autocrlf", "false"],
        ["config", "core.safecrlf", "false"],
    ):
        assert git(repo, *args).returncode == 0
    for name, data in files.items():
        write(repo, name, data)
    assert git(repo, "add", "--", *files).returncode == 0
    done = git(repo, "commit", "-q", "-m", "before ompilot")
    assert done.returncode == 0, done.stderr
    return repo


def suggest_diff(capsys, monkeypatch, cwd: Path, *names: str) -> bytes:
    """`ompilot suggest --diff` run in directory `cwd`; the diff as bytes."""
    monkeypatch.chdir(cwd)
    code = main(["suggest", "--no-verify", "--diff", "-j", "1", *names])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert captured.err == "", captured.err  # --no-verify: no evidence to report
    # the CLI writes bytes to sys.stdout.buffer; capsys decodes them (ASCII sources here)
    return captured.out.encode("utf-8", "surrogateescape")


def git_apply(repo: Path, diff: bytes) -> None:
    patch = repo.parent / "suggest.patch"
    patch.write_bytes(diff)
    check = git(repo, "apply", "--check", str(patch))
    assert check.returncode == 0, check.stderr.decode(errors="replace")
    applied = git(repo, "apply", str(patch))
    assert applied.returncode == 0, applied.stderr.decode(errors="replace")


def compile_with_openmp(compiler: str, source: Path) -> None:
    """Compile as an object with OpenMP on; a pragma the compiler ignores or rejects fails."""
    obj = source.with_suffix(f".{compiler}.o")
    done = subprocess.run(
        [compiler, "-std=c11", "-fopenmp", "-Wall", "-Wextra", "-Werror", "-c", str(source), "-o", str(obj)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, f"{compiler} rejects the patched file:\n{done.stderr}"


# --------------------------------------------------------------------------- text and JSON


def test_text_lists_each_proposal_with_directive_and_explanation_and_writes_nothing(tmp_path, capsys):
    path = write(tmp_path, "good.c", GOOD_C)
    before = digest(path)
    _, report = run_json(capsys, str(path))

    code = main(["suggest", "--no-verify", "-j", "1", str(path)])
    out = capsys.readouterr().out.splitlines()

    assert code == 1
    assert digest(path) == before
    assert sorted(p["line"] for p in report["proposals"]) == sorted(GOOD_DIRECTIVES)
    for proposal in report["proposals"]:
        head = f"{path}:{proposal['line']}: {proposal['directive']}"
        starts = [n for n, line in enumerate(out) if line.startswith(head)]
        assert len(starts) == 1, f"{head!r} not listed once in:\n" + "\n".join(out)
        assert proposal["directive"] == GOOD_DIRECTIVES[proposal["line"]]
        assert proposal["explanation"], "a proposal without an explanation"
        following = out[starts[0] + 1 : starts[0] + 1 + len(proposal["explanation"])]
        assert following == [f"    - {line}" for line in proposal["explanation"]]
    # the reduction's explanation says it is one; the serial loop is not proposed
    assert any("reduction" in line for line in proposals_by_line(report)[GOOD_REDUCTION_LINE]["explanation"])
    assert not any(line.startswith(f"{path}:{GOOD_SERIAL_LINE}:") for line in out)
    assert out[-1] == "2 changes proposed in 1 of 1 files"


def test_json_shape(tmp_path, capsys):
    path = write(tmp_path, "good.c", GOOD_C)
    before = digest(path)

    code, report = run_json(capsys, str(path))

    assert code == 1
    assert digest(path) == before
    assert report["version"] == 1
    assert report["skipped"] == [] and report["errors"] == []
    by_line = proposals_by_line(report)
    assert sorted(by_line) == sorted(GOOD_DIRECTIVES)
    data = path.read_bytes()
    for line, proposal in by_line.items():
        assert proposal["file"] == str(path)
        assert proposal["kind"] == "pragma"
        assert proposal["directive"] == GOOD_DIRECTIVES[line]
        assert proposal["origin"] == "analysis"
        assert proposal["verified"] is None
        assert isinstance(proposal["explanation"], list) and all(isinstance(x, str) for x in proposal["explanation"])
        [edit] = proposal["edits"]
        assert set(edit) == {"start", "end", "text"}
        # an insertion at the start of the loop's line, of the directive as a whole line
        assert edit["start"] == edit["end"]
        assert data.count(b"\n", 0, edit["start"]) + 1 == line
        assert edit["start"] == 0 or data[edit["start"] - 1 : edit["start"]] == b"\n"
        assert edit["text"] == f"    {proposal['directive']}\n"


def test_json_for_a_file_with_nothing_to_propose(tmp_path, capsys):
    path = write(tmp_path, "serial.c", SERIAL_ONLY_C)
    code, report = run_json(capsys, str(path))
    assert code == 0
    assert report == {"version": 1, "proposals": [], "rejected": [], "skipped": [], "errors": []}


# --------------------------------------------------------------------------- --diff with git


def test_diff_applies_with_git_and_compiles_with_both_compilers(tmp_path, capsys, monkeypatch):
    repo = git_repo(tmp_path, {"src/good.c": GOOD_C.encode(), "src/other file.c": GOOD_C.encode()})

    diff = suggest_diff(capsys, monkeypatch, repo, "src/good.c", "src/other file.c")

    assert diff.startswith(b"--- a/src/good.c\n+++ b/src/good.c\n")
    assert not any(line.startswith(b"-") and not line.startswith(b"---") for line in diff.splitlines())
    git_apply(repo, diff)
    for name in ("src/good.c", "src/other file.c"):
        patched = (repo / name).read_bytes()
        inserted = assert_only_pragma_lines_inserted(GOOD_C.encode(), patched)
        lines = _split_lf(patched)
        assert [lines[n].strip().decode() for n in inserted] == [GOOD_DIRECTIVES[k] for k in sorted(GOOD_DIRECTIVES)]
        for compiler in ("clang-19", "gcc"):
            compile_with_openmp(compiler, repo / name)
    # git sees exactly the inserted lines as the change
    stat_out = git(repo, "diff", "--numstat").stdout.decode()
    assert sorted(stat_out.split("\n")[:-1]) == sorted(["2\t0\tsrc/good.c", "2\t0\tsrc/other file.c"])


def test_diff_in_a_subdirectory_is_relative_to_it(tmp_path, capsys, monkeypatch):
    repo = git_repo(tmp_path, {"src/good.c": GOOD_C.encode()})
    diff = suggest_diff(capsys, monkeypatch, repo / "src", "good.c")
    assert diff.startswith(b"--- a/good.c\n")
    git_apply(repo / "src", diff)
    assert_only_pragma_lines_inserted(GOOD_C.encode(), (repo / "src/good.c").read_bytes())


@pytest.mark.parametrize(
    "data, endings",
    [
        pytest.param(GOOD_C.replace("\n", "\r\n").encode(), [b"\r\n"] * 2, id="crlf"),
        pytest.param(MIXED_C, [b"\r\n", b"\n"], id="mixed"),
        pytest.param(REGION_C.replace("\n", "\r\n").encode(), b"\r\n", id="crlf-region"),
        pytest.param(MIXED_REGION_C, None, id="mixed-region"),
    ],
)
def test_diff_keeps_each_lines_ending(tmp_path, capsys, monkeypatch, data, endings):
    repo = git_repo(tmp_path, {"kernel.c": data})

    diff = suggest_diff(capsys, monkeypatch, repo, "kernel.c")
    git_apply(repo, diff)

    patched = (repo / "kernel.c").read_bytes()
    inserted = assert_only_pragma_lines_inserted(data, patched)  # checks every ending
    lines = _split_lf(patched)
    if isinstance(endings, bytes):  # every inserted line, however many
        assert inserted and {ending(lines[n]) for n in inserted} == {endings}
    elif endings is not None:
        assert [ending(lines[n]) for n in inserted] == endings
    # --apply writes the very same bytes
    copy = write(tmp_path, "copy/kernel.c", data)
    assert main(["suggest", "--no-verify", "--apply", "-j", "1", str(copy)]) == 1
    capsys.readouterr()
    assert copy.read_bytes() == patched
    for compiler in ("clang-19", "gcc"):
        compile_with_openmp(compiler, repo / "kernel.c")


def test_console_script_diff_pipes_into_git_apply(tmp_path):
    repo = git_repo(tmp_path, {"good.c": GOOD_C.encode()})
    done = subprocess.run(
        [str(OMPILOT), "suggest", "--no-verify", "--diff", "good.c"], cwd=repo, capture_output=True, timeout=300, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 1, done.stderr.decode()
    assert done.stderr == b""
    assert done.stdout.startswith(b"--- a/good.c\n+++ b/good.c\n@@ ")
    applied = git(repo, "apply", stdin=done.stdout)
    assert applied.returncode == 0, applied.stderr.decode()
    assert_only_pragma_lines_inserted(GOOD_C.encode(), (repo / "good.c").read_bytes())
    assert git(repo, "diff", "--numstat").stdout == b"2\t0\tgood.c\n"


# --------------------------------------------------------------------------- --apply


def test_apply_writes_in_place_and_a_second_run_finds_nothing(tmp_path, capsys):
    path = write(tmp_path, "good.c", GOOD_C)
    mode = stat.S_IMODE(path.stat().st_mode)

    code = main(["suggest", "--no-verify", "--apply", "-j", "1", str(path)])
    out = capsys.readouterr().out

    assert code == 1
    assert "2 changes applied in 1 of 1 files" in out
    patched = path.read_bytes()
    inserted = assert_only_pragma_lines_inserted(GOOD_C.encode(), patched)
    assert [_split_lf(patched)[n].strip().decode() for n in inserted] == [
        GOOD_DIRECTIVES[k] for k in sorted(GOOD_DIRECTIVES)
    ]
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.c"], "a temporary file was left behind"

    code, report = run_json(capsys, str(path))
    assert code == 0
    assert report["proposals"] == [] and report["errors"] == []
    assert main(["suggest", "--no-verify", "-j", "1", str(path)]) == 0
    assert "0 changes proposed in 0 of 1 files" in capsys.readouterr().out
    assert path.read_bytes() == patched


def test_apply_refuses_a_read_only_file(tmp_path, capsys):
    path = write(tmp_path, "locked.c", GOOD_C)
    path.chmod(0o444)
    before = digest(path)

    code = main(["suggest", "--no-verify", "--apply", "-j", "1", str(path)])
    captured = capsys.readouterr()

    assert code != 0
    assert digest(path) == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    complaints = [line for line in (captured.out + captured.err).splitlines() if "read-only" in line]
    assert len(complaints) == 1, captured.out + captured.err
    assert str(path) in complaints[0]
    assert "Traceback" not in captured.out + captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked.c"]


def test_apply_writes_the_writable_file_beside_a_read_only_one(tmp_path, capsys):
    locked = write(tmp_path, "locked.c", GOOD_C)
    locked.chmod(0o444)
    free = write(tmp_path, "free.c", GOOD_C)

    code = main(["suggest", "--no-verify", "--apply", "-j", "1", str(locked), str(free)])
    out = capsys.readouterr().out

    assert code != 0
    assert locked.read_text() == GOOD_C
    assert len(assert_only_pragma_lines_inserted(GOOD_C.encode(), free.read_bytes())) == 2
    assert any(str(locked) in line and "read-only" in line for line in out.splitlines())


def test_apply_on_a_file_without_parallel_loops_exits_0_and_leaves_it(tmp_path, capsys):
    path = write(tmp_path, "serial.c", SERIAL_ONLY_C)
    before, mtime = digest(path), path.stat().st_mtime_ns

    code = main(["suggest", "--no-verify", "--apply", "-j", "1", str(path)])
    out = capsys.readouterr().out

    assert code == 0
    assert "0 changes applied in 0 of 1 files" in out
    assert digest(path) == before
    assert path.stat().st_mtime_ns == mtime


# --------------------------------------------------------------------------- stale files


def test_apply_results_refuses_a_file_changed_after_analysis(tmp_path):
    path = write(tmp_path, "good.c", GOOD_C)
    results, errors = suggest_paths([path], ScanSettings(jobs=1))
    assert errors == [] and len(results[0].proposals) == 2

    changed = GOOD_C.replace("2.0 * b[i]", "3.0 * b[i]")  # same length, same offsets
    path.write_text(changed)
    problems = apply_results(results)

    assert len(problems) == 1
    assert str(path) in problems[0] and "changed" in problems[0]
    assert path.read_text() == changed
    assert results[0].proposals == []


def test_apply_results_refuses_a_file_deleted_after_analysis(tmp_path):
    path = write(tmp_path, "good.c", GOOD_C)
    results, _ = suggest_paths([path], ScanSettings(jobs=1))
    path.unlink()

    problems = apply_results(results)

    assert len(problems) == 1 and str(path) in problems[0]
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_apply_results_writes_the_unchanged_file_and_refuses_only_the_changed_one(tmp_path):
    kept = write(tmp_path, "kept.c", GOOD_C)
    touched = write(tmp_path, "touched.c", GOOD_C)
    results, _ = suggest_paths([kept, touched], ScanSettings(jobs=1))
    touched.write_text(GOOD_C + "/* edited meanwhile */\n")

    problems = apply_results(results)

    assert len(problems) == 1 and str(touched) in problems[0]
    assert touched.read_text() == GOOD_C + "/* edited meanwhile */\n"
    assert len(assert_only_pragma_lines_inserted(GOOD_C.encode(), kept.read_bytes())) == 2


# --------------------------------------------------------------------------- loops ompilot must not touch


def test_loop_inside_a_macro_gets_no_edit(tmp_path, capsys):
    path = write(tmp_path, "macro.c", MACRO_C)

    code, report = run_json(capsys, str(path))

    assert code == 1
    assert report["errors"] == []
    by_line = proposals_by_line(report)
    assert sorted(by_line) == [MACRO_OTHER_LOOP_LINE]
    assert main(["suggest", "--no-verify", "--apply", "-j", "1", str(path)]) == 1
    capsys.readouterr()
    patched = path.read_bytes()
    inserted = assert_only_pragma_lines_inserted(MACRO_C.encode(), patched)
    assert [n + 1 for n in inserted] == [MACRO_OTHER_LOOP_LINE]  # above `for`, not above ZERO(a, n) nor in the #define
    for compiler in ("clang-19", "gcc"):
        compile_with_openmp(compiler, path)


def test_loop_sharing_its_line_is_skipped_with_a_reason(tmp_path, capsys):
    path = write(tmp_path, "shared.c", SHARED_LINE_ONLY_C)

    code, report = run_json(capsys, str(path))

    assert report["proposals"] == []
    [reason] = report["skipped"]
    assert reason.startswith(f"{path}:{SHARED_LOOP_LINE}: ")
    assert "own line" in reason
    assert main(["suggest", "--no-verify", "--apply", "-j", "1", str(path)]) == code
    out = capsys.readouterr().out
    assert f"{path}:{SHARED_LOOP_LINE}: " in out and "(skipped)" in out
    assert path.read_text() == SHARED_LINE_ONLY_C


def test_loop_sharing_its_line_does_not_cost_the_other_loops_their_pragmas(tmp_path, capsys):
    path = write(tmp_path, "shared.c", SHARED_LINE_C)

    code, report = run_json(capsys, str(path))

    assert [s.split(": ")[0] for s in report["skipped"]] == [f"{path}:{SHARED_LOOP_LINE}"]
    assert report["errors"] == []
    assert sorted(proposals_by_line(report)) == [SHARED_OTHER_LOOP_LINE]
    assert code == 1


# --------------------------------------------------------------------------- existing pragmas


def test_existing_pragmas_are_kept_and_never_duplicated(tmp_path, capsys):
    path = write(tmp_path, "existing.c", EXISTING_C)

    code, report = run_json(capsys, str(path))

    assert code == 1
    assert report["errors"] == []
    assert sorted(proposals_by_line(report)) == [EXISTING_BARE_LINE]
    assert main(["suggest", "--no-verify", "--apply", "-j", "1", str(path)]) == 1
    capsys.readouterr()
    patched = path.read_bytes()
    inserted = assert_only_pragma_lines_inserted(EXISTING_C.encode(), patched)  # nothing removed or changed
    assert [n + 1 for n in inserted] == [EXISTING_BARE_LINE]
    lines = _split_lf(patched)
    for n, line in enumerate(lines[:-1]):
        if is_pragma_line(line):
            assert not is_pragma_line(lines[n + 1]), f"two pragmas in a row at line {n + 1}"
    for compiler in ("clang-19", "gcc"):
        compile_with_openmp(compiler, path)
    assert main(["suggest", "--no-verify", "-j", "1", str(path)]) == 0
    capsys.readouterr()


def test_existing_pragma_operator_is_not_duplicated(tmp_path, capsys):
    path = write(tmp_path, "operator.c", UNDERSCORE_PRAGMA_C)

    code, report = run_json(capsys, str(path))

    assert report["errors"] == []
    assert sorted(proposals_by_line(report)) == [UNDERSCORE_BARE_LINE]
    assert code == 1


def test_existing_pragma_operator_is_never_duplicated_in_the_output(tmp_path, capsys):
    """What holds today despite the bug above: the self-check keeps a duplicate out of the file."""
    path = write(tmp_path, "operator.c", UNDERSCORE_PRAGMA_C)

    main(["suggest", "--no-verify", "--apply", "-j", "1", str(path)])
    capsys.readouterr()

    text = path.read_text()
    assert text.count('_Pragma("omp parallel for")') == 1
    assert not re.search(r"#\s*pragma omp parallel for\s*\n\s*_Pragma", text)


# --------------------------------------------------------------------------- --diff outside the current directory


def test_diff_of_a_file_outside_the_current_directory_and_any_git_tree_is_refused(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, "src/good.c", GOOD_C)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")

    code = main(["suggest", "--no-verify", "--diff", "-j", "1", str(path)])  # must not raise
    captured = capsys.readouterr()

    assert code != 0
    assert captured.out == ""
    [complaint] = captured.err.splitlines()
    assert str(path) in complaint and "Traceback" not in captured.err
    assert path.read_text() == GOOD_C


def test_diff_of_a_file_outside_the_current_directory_is_relative_to_its_git_tree(tmp_path, capsys, monkeypatch):
    repo = git_repo(tmp_path, {"lib/good.c": GOOD_C.encode()})
    (tmp_path / "elsewhere").mkdir()

    diff = suggest_diff(capsys, monkeypatch, tmp_path / "elsewhere", str(repo / "lib/good.c"))

    assert diff.startswith(b"--- a/lib/good.c\n+++ b/lib/good.c\n")
    git_apply(repo, diff)
    assert len(assert_only_pragma_lines_inserted(GOOD_C.encode(), (repo / "lib/good.c").read_bytes())) == 2


def test_diff_of_files_inside_and_outside_the_current_directory_applies_somewhere(tmp_path, capsys, monkeypatch):
    repo = git_repo(tmp_path, {"src/a.c": GOOD_C.encode(), "lib/b.c": GOOD_C.encode()})

    diff = suggest_diff(capsys, monkeypatch, repo / "src", "a.c", "../lib/b.c")

    patch = tmp_path / "both.patch"
    patch.write_bytes(diff)
    accepted = [where for where in (repo / "src", repo) if git(where, "apply", "--check", str(patch)).returncode == 0]
    assert accepted, "neither the current directory nor the work tree root accepts the diff:\n" + diff.decode()


def test_diff_of_a_file_whose_name_starts_with_two_dots(tmp_path, capsys, monkeypatch):
    write(tmp_path, "..hidden.c", GOOD_C)
    monkeypatch.chdir(tmp_path)

    code = main(["suggest", "--no-verify", "--diff", "-j", "1", "..hidden.c"])
    captured = capsys.readouterr()

    assert captured.err == ""
    assert code == 1
    assert captured.out.startswith("--- a/..hidden.c\n+++ b/..hidden.c\n")


def test_a_verified_diff_comes_with_its_evidence_on_stderr_and_in_the_report(tmp_path, capsys, monkeypatch,
                                                                              injected_timings):
    """Real builds, race and output checks; known loop times (tests/conftest.py):
    the loop at line 7 twice as fast in parallel, the sum at line 10 no faster,
    so one is kept and one dropped, each with its evidence."""
    injected_timings.loop_speedups = {"prog.c:7": 2.0, "prog.c:10": 1.0}
    injected_timings.speedup = 1.0  # the whole program (how the sum's simd fallback is timed) no faster
    source = write(tmp_path, "prog.c", """#include <stdio.h>
#include <stdlib.h>
#include <math.h>
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    double *a = malloc(n * sizeof *a);
    for (int i = 0; i < n; i++)
        a[i] = sin(i * 0.001) * cos(i * 0.002) + sqrt(i + 1.0);
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += a[i];
    printf("%.10e\\n", s);
    free(a);
    return 0;
}
""")
    (tmp_path / ".ompilot.toml").write_text('build = "{cc} {cflags} prog.c -o {out} -lm"\nrun = "{exe} 400000"\n'
                                            'race_run = "{exe} 20000"\nthreads = [2]\ntiming_runs = 3\ntune_seconds = 0\n')
    monkeypatch.chdir(tmp_path)
    code = main(["suggest", "prog.c", "--diff", "--report", "report.json"])
    captured = capsys.readouterr()
    report = json.loads((tmp_path / "report.json").read_text())
    [kept], [dropped] = report["proposals"], report["rejected"]
    assert (kept["line"], kept["verified"], kept["evidence"]["stage"]) == (7, True, "accepted"), kept["evidence"]
    assert kept["evidence"]["message"].startswith("loop prog.c:7: 2.0x faster with 2 threads (0.2 s -> 0.1 s per run)")
    assert (dropped["line"], dropped["verified"], dropped["evidence"]["stage"]) == (10, False, "speed")
    assert dropped["evidence"]["message"].startswith(
        "not faster than serial beyond the noise: loop prog.c:10: 0.2 s serial, 0.2 s with 2 threads per run "
        "(faster in 0 of 3 paired runs; needs 80% of them and a median gain of 5%)"), dropped["evidence"]["message"]
    for p in (kept, dropped):
        assert p["evidence"]["output_check"] == "same" and p["evidence"]["race_check"]["races"] == []
        assert p["evidence"]["timed"] == "loops"
    # each appears on stderr with its evidence: kept with timing and race check, or dropped and why
    assert f"prog.c:7: {kept['directive']} (analysis, verified)" in captured.err
    assert f"prog.c:10: dropped: {dropped['directive']}: not faster than serial beyond the noise" in captured.err
    assert code == 1 and captured.out.startswith("--- a/prog.c")
    assert "timing: serial median" in captured.err and "race check:" in captured.err


def test_a_verified_diff_of_a_certain_gain_keeps_it_faster(certain_gain, assert_kept_faster, capsys, monkeypatch):
    """End to end with real timing, on the shared program whose one loop
    gains for certain on 2 free cores (tests/cases/speedup/certain_gain.c)."""
    monkeypatch.chdir(certain_gain.parent)
    code = main(["suggest", "prog.c", "--diff", "--report", "report.json"])
    captured = capsys.readouterr()
    report = json.loads((certain_gain.parent / "report.json").read_text())
    [checked] = report["proposals"] + report["rejected"]
    evidence = checked["evidence"]
    assert evidence["output_check"] == "same" and evidence["race_check"]["races"] == []
    assert evidence["race_check"]["archer_loaded"] and evidence["timed"] == "loops"
    assert_kept_faster(evidence)
    if checked["verified"]:
        assert f"prog.c:{checked['line']}: {checked['directive']} (analysis, verified)" in captured.err
        assert code == 1 and captured.out.startswith("--- a/prog.c")
        assert "timing: serial median" in captured.err and "race check:" in captured.err
    else:
        assert f"prog.c:{checked['line']}: dropped: {checked['directive']}: not faster" in captured.err
