"""End-to-end checks of `ompilot scan`: real files in tmp_path, real libclang, no mocks.

Most runs go through `ompilot.cli.main.main(argv)` in-process (output read with
capsys); a few run the installed console script as a subprocess, to check the
entry point, the exit status the shell sees and that nothing goes to a traceback.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ompilot.cli.main import main

from samples import GOOD_C, GOOD_DOALL_LINE, GOOD_REDUCTION_LINE, GOOD_SERIAL_LINE  # noqa: E402

OMPILOT = Path(sys.executable).with_name("ompilot")


SERIAL_ONLY_C = """\
void running(double *a, int n) {
    for (int i = 1; i < n; i++)
        a[i] = a[i-1] + 1;
}

int twice(int x) { return 2 * x; }
"""

NO_LOOPS_C = """\
#include <stdio.h>

static int square(int x) { return x * x; }

int main(void) {
    printf("%d\\n", square(7));
    return 0;
}
"""

RACY_C = """\
void running(double *a, int n) {
    int i;
#pragma omp parallel for
    for (i = 1; i < n; i++) a[i] = a[i-1] + 1;
}

double total(const double *a, int n) {
    double s = 0.0;
#pragma omp parallel for reduction(+:s)
    for (int i = 0; i < n; i++)
        s += a[i];
    return s;
}
"""


# --------------------------------------------------------------------------- helpers


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """ompilot in-process; returns (exit code, stdout, stderr)."""
    capsys.readouterr()  # drop anything printed before
    code = main(["scan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code, out, err = run(capsys, "--format", "json", *argv)
    try:
        data = json.loads(out)
    except json.JSONDecodeError:  # pragma: no cover - reported by the assertion
        pytest.fail(f"--format json printed invalid JSON (exit {code}):\n{out}\nstderr:\n{err}")
    return code, data


def loops_of(data: dict, name: str) -> list[dict]:
    return [r for r in data["loops"] if Path(r["file"]).name == name]


def errors_naming(data_or_text: dict | str, name: str) -> list[str]:
    lines = data_or_text["errors"] if isinstance(data_or_text, dict) else data_or_text.splitlines()
    return [e for e in lines if name in e]


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root with the hash of its bytes: catches edits and new files."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# --------------------------------------------------------------------------- verdicts


def test_good_file_json_records(tmp_path, capsys):
    good = write(tmp_path / "good.c", GOOD_C)
    code, data = run_json(capsys, str(good))
    assert code == 1
    assert data["errors"] == []
    by_line = {r["line"]: r for r in data["loops"]}
    assert sorted(by_line) == [GOOD_DOALL_LINE, GOOD_REDUCTION_LINE, GOOD_SERIAL_LINE]
    for record in data["loops"]:
        for key in ("file", "line", "parallel", "pragma", "clauses", "reasons", "status"):
            assert key in record, key
        assert record["file"] == str(good)
        assert isinstance(record["reasons"], list)
        assert isinstance(record["clauses"], dict)

    doall = by_line[GOOD_DOALL_LINE]
    assert GOOD_C.splitlines()[doall["line"] - 1].lstrip().startswith("for")
    assert doall["parallel"] is True and doall["status"] == "parallel"
    assert doall["pragma"].startswith("#pragma omp parallel for")
    assert doall["function"] == "scale"

    reduction = by_line[GOOD_REDUCTION_LINE]
    assert reduction["parallel"] is True
    assert "reduction(+: s)" in reduction["pragma"]
    assert reduction["clauses"]["reduction"] == ["+:s"]

    serial = by_line[GOOD_SERIAL_LINE]
    assert serial["parallel"] is False and serial["status"] == "serial"
    assert serial["pragma"] is None
    why = " ".join(serial["reasons"])
    assert "dependence" in why and "distance 1" in why and "a[i-1]" in why


def test_good_file_text(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "good.c", GOOD_C)
    code, out, _ = run(capsys, "good.c")
    assert code == 1
    assert f"good.c:{GOOD_DOALL_LINE}" in out
    assert "#pragma omp parallel for" in out
    assert "reduction(+: s)" in out
    # Subscripts must survive rich's markup ("[i]" is its italic tag).
    flat = " ".join(out.replace("│", " ").split())
    assert "a[i-1]" in flat and "distance 1" in flat
    assert "3 loops in 1 files" in flat


def test_text_piped_is_one_line_per_loop(tmp_path, capsys):
    deep = tmp_path / ("d" * 60) / ("e" * 60)  # longer than 80 columns: still one line each
    good = write(deep / "good.c", GOOD_C)
    code, out, _ = run(capsys, str(deep))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"{good}:{GOOD_DOALL_LINE}: parallel: #pragma omp parallel for"
    assert lines[1].startswith(f"{good}:{GOOD_REDUCTION_LINE}: parallel: #pragma omp parallel for reduction(+: s)")
    assert lines[2].startswith(f"{good}:{GOOD_SERIAL_LINE}: serial: ") and "a[i-1]" in lines[2]
    assert lines[2].endswith("distance 1")
    assert lines[3].startswith("3 loops in 1 files")


def test_text_on_a_terminal_long_paths_keep_every_column(tmp_path, capsys, monkeypatch):
    """On an 80-column terminal, a location too wide for the table is folded,
    not cropped together with the verdict, pragma and reason columns."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    write(deep / "good.c", GOOD_C)
    code, out, _ = run(capsys, str(deep))
    assert code == 1
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)
    table = [ln for ln in out.splitlines() if ln.startswith(("│", "┃"))]
    assert table and max(len(ln) for ln in table) <= 80
    flat = " ".join(out.replace("│", " ").split())
    assert flat.count("parallel for") >= 2
    assert "serial" in flat and "distance 1" in flat
    locations = "".join(ln.split("│")[1].strip() for ln in table if ln.startswith("│"))
    assert f"{deep}/good.c:{GOOD_SERIAL_LINE}" in locations


@pytest.mark.parametrize("text", [SERIAL_ONLY_C, NO_LOOPS_C], ids=["serial-only", "no-loops"])
def test_nothing_to_report_exits_0(tmp_path, capsys, text):
    path = write(tmp_path / "quiet.c", text)
    code, data = run_json(capsys, str(path))
    assert code == 0
    assert data["errors"] == []
    assert all(r["pragma"] is None and r["status"] != "race" for r in data["loops"])
    code, _, _ = run(capsys, str(path))
    assert code == 0


def test_existing_pragmas_race_and_correct_reduction(tmp_path, capsys):
    path = write(tmp_path / "racy.c", RACY_C)
    code, data = run_json(capsys, str(path))
    assert code == 1
    by_line = {r["line"]: r for r in data["loops"]}
    racy = by_line[4]
    assert racy["status"] == "race"
    assert racy["races"], racy
    assert racy["existing_pragma"] == "#pragma omp parallel for"
    fine = by_line[10]
    assert fine["status"] != "race"
    assert fine["races"] == []
    assert "reduction" in fine["existing_pragma"]


# --------------------------------------------------------------------------- bad input

BAD_INPUTS = {
    # name: (file name, contents, words the error line must contain or None for no error)
    "syntax-error": (
        "broken.c",
        "int f(int *a, int n) {\n    for (int i = 0; i < n; i++) {\n        a[i] = \n    }\n    return 0\n}\n",
        ["expected expression"],
    ),
    "missing-include": (
        "needs.c",
        '#include "nothere.h"\nvoid g(double *a, int n) {\n    for (int i = 0; i < n; i++) a[i] = 0;\n}\n',
        ["nothere.h"],
    ),
    "not-utf8": (
        "latin.c",
        b"/* caf\xe9 cr\xe8me */\nvoid h(double *restrict a, int n) {\n"
        b"    for (int i = 0; i < n; i++) a[i] = 1;\n}\n",
        ["UTF-8"],
    ),
    "empty": ("empty.c", "", None),
    "binary": ("x.c", bytes(range(256)) * 16 + b"\x7fELF\0\0\0" * 100, ["binary"]),
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_input_beside_good_file(tmp_path, capsys, kind):
    name, contents, words = BAD_INPUTS[kind]
    tree = tmp_path / "tree"
    write(tree / "good.c", GOOD_C)
    write(tree / "sub" / name, contents)
    before = tree_digest(tmp_path)

    code, data = run_json(capsys, str(tree))
    assert code == 1  # good.c has loops to parallelize
    good_loops = loops_of(data, "good.c")
    assert sorted(r["line"] for r in good_loops) == [GOOD_DOALL_LINE, GOOD_REDUCTION_LINE, GOOD_SERIAL_LINE]
    assert any(r["parallel"] for r in good_loops)
    bad_loops = loops_of(data, name)
    mentions = errors_naming(data, name)
    if words is None:
        assert data["errors"] == []
        assert bad_loops == []
    else:
        assert len(mentions) == 1, data["errors"]
        line = mentions[0]
        assert "\n" not in line
        assert str(tree / "sub" / name) in line
        for word in words:
            assert word in line, line

    if kind == "syntax-error":
        assert [r["status"] for r in bad_loops] == ["unknown"]
        assert bad_loops[0]["line"] == 2
        assert "expected expression" in " ".join(bad_loops[0]["reasons"])
    elif kind == "missing-include":
        assert [r["status"] for r in bad_loops] == ["unknown"]
        assert "nothere.h" in " ".join(bad_loops[0]["reasons"])
    elif kind == "not-utf8":  # a warning, and analysed anyway
        assert [r["status"] for r in bad_loops] == ["parallel"]
    elif kind == "binary":
        assert bad_loops == []

    # The same in text: one line per error, naming the file and the problem.
    code, out, _ = run(capsys, "-j", "1", str(tree))
    assert code == 1
    assert f"good.c:{GOOD_DOALL_LINE}" in out
    error_lines = [ln for ln in out.splitlines() if ln.startswith("error:")]
    if words is None:
        assert error_lines == []
    else:
        assert len(error_lines) == 1, out
        assert str(tree / "sub" / name) in error_lines[0]
        for word in words:
            assert word in error_lines[0], out

    assert tree_digest(tmp_path) == before


def test_directory_without_sources(tmp_path, capsys):
    empty_dir = tmp_path / "docs"
    write(empty_dir / "README.txt", "no code here\n")
    write(empty_dir / "data.csv", "1,2,3\n")
    before = tree_digest(tmp_path)

    code, data = run_json(capsys, str(empty_dir))
    assert code == 2
    assert data["loops"] == []
    assert len(errors_naming(data, "docs")) == 1
    assert "no C or C++ files" in data["errors"][0]

    code, out, _ = run(capsys, str(empty_dir))
    assert code == 2
    assert any(ln.startswith("error:") and "docs" in ln for ln in out.splitlines())

    good = write(tmp_path / "good.c", GOOD_C)
    code, data = run_json(capsys, str(empty_dir), str(good))
    assert code == 1
    assert len(loops_of(data, "good.c")) == 3
    assert len(errors_naming(data, "docs")) == 1
    assert tree_digest(tmp_path) == before | {"good.c": hashlib.sha256(GOOD_C.encode()).hexdigest()}


def test_missing_path(tmp_path, capsys):
    missing = tmp_path / "nowhere.c"
    code, data = run_json(capsys, str(missing))
    assert code == 2
    assert errors_naming(data, "nowhere.c") == [f"{missing}: no such file or directory"]

    code, out, _ = run(capsys, str(missing))
    assert code == 2
    assert f"error: {missing}: no such file or directory" in out

    good = write(tmp_path / "good.c", GOOD_C)
    code, data = run_json(capsys, str(missing), str(good))
    assert code == 1
    assert len(loops_of(data, "good.c")) == 3
    assert len(errors_naming(data, "nowhere.c")) == 1


def test_large_generated_file(tmp_path, capsys):
    """50,000 lines: 2,500 documented functions, each with a loop. Must give a
    result for every loop, not crash or give up."""
    functions = 2500
    lines: list[str] = ["#include <stddef.h>", ""]
    for k in range(functions):
        lines += [f"/* kernel_{k}: scales b into a.", *[f" * detail line {j}" for j in range(11)], " */"]
        lines += [
            f"void kernel_{k}(double *restrict a, const double *restrict b, size_t n) {{",
            "    for (size_t i = 0; i < n; i++) {",
            f"        a[i] = b[i] * {k}.5;",
            "    }",
            "}",
            "",
        ]
    while len(lines) < 50_000:
        lines.append("")
    assert len(lines) == 50_000
    path = write(tmp_path / "big.c", "\n".join(lines) + "\n")

    code, data = run_json(capsys, str(path))
    assert code == 1
    assert data["errors"] == []
    assert len(data["loops"]) == functions
    assert {r["status"] for r in data["loops"]} == {"parallel"}
    assert data["loops"][-1]["function"] == f"kernel_{functions - 1}"


# --------------------------------------------------------------------------- flags and builds

FLAGGED_C = """\
#include "consts.h"

void fill(double *restrict a, int n) {
    for (int i = 0; i < n; i++)
        a[i] = N * SCALE;
}
"""


def test_flags_after_double_dash(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "inc" / "consts.h", "#define SCALE 2.5\n")
    write(tmp_path / "src" / "fill.c", FLAGGED_C)

    code, data = run_json(capsys, "src/fill.c")  # neither N nor consts.h: no analysis
    assert [r["status"] for r in data["loops"]] == ["unknown"]
    assert len(errors_naming(data, "fill.c")) == 1

    code, data = run_json(capsys, "src/fill.c", "--", "-Iinc")  # consts.h found, N still missing
    assert [r["status"] for r in data["loops"]] == ["unknown"]
    assert "N" in data["errors"][0]

    code, data = run_json(capsys, "src/fill.c", "--", "-DN=100", "-Iinc")
    assert data["errors"] == []
    assert code == 1
    assert [r["status"] for r in data["loops"]] == ["parallel"]


def _project_with_database(tmp_path: Path) -> tuple[Path, Path]:
    """proj/src/fill.c needing proj/inc, and out/compile_commands.json (not
    found by the upward search from the source) with a relative -I and -D."""
    write(tmp_path / "proj" / "inc" / "consts.h", "#define SCALE 2.5\n")
    source = write(tmp_path / "proj" / "src" / "fill.c", FLAGGED_C)
    build = tmp_path / "out"
    entry = {
        "directory": str(build),
        "arguments": ["cc", "-I../proj/inc", "-DN=100", "-O2", "-c", "../proj/src/fill.c", "-o", "fill.o"],
        "file": "../proj/src/fill.c",
    }
    write(build / "compile_commands.json", json.dumps([entry]))
    return source, build


def test_build_dir_database(tmp_path, capsys):
    source, build = _project_with_database(tmp_path)
    before = tree_digest(tmp_path)

    code, data = run_json(capsys, str(source))
    assert [r["status"] for r in data["loops"]] == ["unknown"]

    code, data = run_json(capsys, "-p", str(build), str(source))
    assert data["errors"] == []
    assert code == 1
    assert [r["status"] for r in data["loops"]] == ["parallel"]
    assert tree_digest(tmp_path) == before


def test_build_dir_without_database(tmp_path, capsys):
    source, build = _project_with_database(tmp_path)
    not_build = tmp_path / "proj"
    code, out, err = run(capsys, "-p", str(not_build), str(source))
    assert code == 2
    assert out == ""
    assert str(not_build) in err and "compile_commands.json" in err
    assert "Traceback" not in err


def test_build_dir_with_broken_database(tmp_path, capsys):
    source, build = _project_with_database(tmp_path)
    write(build / "compile_commands.json", "[{not json")
    code, out, err = run(capsys, "-p", str(build), str(source))
    assert code == 2
    assert str(build / "compile_commands.json") in err
    assert "not a valid compilation database" in err


# --------------------------------------------------------------------------- JSON and jobs


def _four_file_tree(root: Path) -> Path:
    write(root / "a" / "good.c", GOOD_C)
    write(root / "a" / "racy.c", RACY_C)
    write(root / "b" / "serial.c", SERIAL_ONLY_C)
    write(root / "b" / "broken.c", BAD_INPUTS["syntax-error"][1])
    return root


def test_json_shape(tmp_path, capsys):
    root = _four_file_tree(tmp_path / "tree")
    code, data = run_json(capsys, str(root))
    assert code == 1
    assert set(data) == {"version", "loops", "errors"}
    assert isinstance(data["version"], int)
    assert isinstance(data["loops"], list) and isinstance(data["errors"], list)
    assert {Path(r["file"]).name for r in data["loops"]} == {"good.c", "racy.c", "serial.c", "broken.c"}
    assert len(data["errors"]) == 1


def test_jobs_do_not_change_the_result(tmp_path, capsys):
    root = _four_file_tree(tmp_path / "tree")
    code1, out1, _ = run(capsys, "--format", "json", "-j", "1", str(root))
    code2, out2, _ = run(capsys, "--format", "json", "-j", "2", str(root))
    assert code1 == code2 == 1
    assert out1 == out2
    code_text1, text1, _ = run(capsys, "-j", "1", str(root))
    code_text2, text2, _ = run(capsys, "-j", "2", str(root))
    assert text1 == text2


# --------------------------------------------------------------------------- the real command


def test_console_script_json(tmp_path):
    write(tmp_path / "good.c", GOOD_C)
    write(tmp_path / "docs" / "notes.txt", "nothing\n")
    result = subprocess.run(
        [str(OMPILOT), "scan", "--format", "json", "good.c", "docs", "missing.c"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert [r["line"] for r in data["loops"]] == [GOOD_DOALL_LINE, GOOD_REDUCTION_LINE, GOOD_SERIAL_LINE]
    assert data["errors"] == ["docs/: no C or C++ files found", "missing.c: no such file or directory"]
    assert "Traceback" not in result.stderr


def test_console_script_usage_errors(tmp_path):
    write(tmp_path / "docs" / "notes.txt", "nothing\n")
    result = subprocess.run(
        [str(OMPILOT), "scan", "docs"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "error: docs/: no C or C++ files found" in result.stdout
    result = subprocess.run(
        [str(OMPILOT), "scan", "--format", "yaml", "docs"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "--format" in result.stderr and "Traceback" not in result.stderr


def test_binary_file_alone_is_an_error(tmp_path, capsys):
    binary = tmp_path / "x.c"
    binary.write_bytes(b"\x7fELF\0\0\0" * 200)
    code, data = run_json(capsys, str(binary))
    assert code == 2
    assert data["loops"] == [] and len(errors_naming(data, "x.c")) == 1
