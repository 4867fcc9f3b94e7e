"""`ompilot check`: real files in tmp_path, the real analysis, in-process
through `main(argv)` (plus one run of the console script)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ompilot.cli import annotations
from ompilot.cli.findings import SourceIndex
from ompilot.cli.main import main

from samples import GOOD_C, GOOD_DOALL_LINE, GOOD_REDUCTION_LINE  # noqa: E402

OMPILOT = Path(sys.executable).with_name("ompilot")

# The racy pragma is on line 4, its loop on line 5.
RACY_C = """\
#include <stdio.h>
int main(void) {
    static int a[1000];
#pragma omp parallel for
    for (int i = 1; i < 1000; i++)
        a[i] = a[i-1] + 1;
    printf("%d\\n", a[999]);
    return 0;
}
"""

SERIAL_ONLY_C = """\
void running(double *a, int n) {
    for (int i = 1; i < n; i++)
        a[i] = a[i-1] + 1;
}
"""

LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<level>error|warning|note): (?P<msg>.*) \[(?P<rule>[\w-]+)\]$")


def check(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def findings(out: str) -> list[dict]:
    return [m.groupdict() for m in map(LINE.match, out.splitlines()) if m]


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_race_in_existing_pragma_is_an_error(here, capsys):
    (here / "racy.c").write_text(RACY_C)
    code, out, err = check(capsys, "racy.c")
    assert code == 1, out + err
    [race] = [f for f in findings(out) if f["level"] == "error"]
    assert (race["file"], race["line"], race["col"], race["rule"]) == ("racy.c", "4", "1", "RaceInPragma")
    assert race["msg"].startswith("existing '#pragma omp parallel for' races: flow dependence on a")
    assert "distance 1" in race["msg"]
    assert out.splitlines()[-1] == "1 file checked: 1 error"


def test_opportunities_are_notes_that_fail_only_with_strict(here, capsys):
    (here / "good.c").write_text(GOOD_C)
    code, out, _ = check(capsys, "good.c")
    assert code == 0
    notes = findings(out)
    assert [(n["line"], n["level"], n["rule"]) for n in notes] == [
        (str(GOOD_DOALL_LINE), "note", "parallel-opportunity"),
        (str(GOOD_REDUCTION_LINE), "note", "parallel-opportunity"),
    ]
    assert notes[0]["col"] == "5"  # the `for`, after four spaces
    assert notes[1]["msg"] == "loop can run in parallel: #pragma omp parallel for reduction(+: s)"
    code, out_strict, _ = check(capsys, "--strict", "good.c")
    assert code == 1
    assert findings(out_strict) == notes


def test_nothing_to_report(here, capsys):
    (here / "serial.c").write_text(SERIAL_ONLY_C)
    code, out, err = check(capsys, "--strict", "serial.c")
    assert code == 0, out + err
    assert findings(out) == []
    assert out.strip() == "1 file checked: no races in existing pragmas, no new parallel loops"


def test_inputs_that_cannot_be_checked(here, capsys):
    (here / "notes.txt").write_text("for (;;) {}\n")
    (here / "blob.c").write_bytes(b"\x00\x01\x02binary")
    code, out, _ = check(capsys, "notes.txt", "missing.c", "blob.c")
    assert code == 2  # nothing could be checked
    lines = out.splitlines()
    assert "notes.txt: error: not a C or C++ file (by its name), not checked [input-error]" in lines
    assert "missing.c: error: no such file or directory [input-error]" in lines
    assert any(l.startswith("blob.c: error: binary file") for l in lines)
    # with one good file beside them, the bad ones are findings: exit 1
    (here / "serial.c").write_text(SERIAL_ONLY_C)
    code, out, _ = check(capsys, "serial.c", "missing.c")
    assert code == 1
    assert out.splitlines()[-1] == "1 file checked: 1 error"


def test_unparsable_file_is_a_warning(here, capsys):
    (here / "broken.c").write_text("void f(int *a, int n) {\n  for (int i = 0; i < n; i++) a[i] = undeclared;\n}\n")
    code, out, _ = check(capsys, "broken.c")
    assert code == 0
    assert re.search(r"^broken\.c: warning: not analysed, Clang reports .* \[file-not-analysed\]$", out, re.M)
    code, _, _ = check(capsys, "--strict", "broken.c")
    assert code == 1


def test_json(here, capsys):
    (here / "racy.c").write_text(RACY_C)
    (here / "good.c").write_text(GOOD_C)
    code, out, _ = check(capsys, "--format", "json", "racy.c", "good.c")
    assert code == 1
    data = json.loads(out)
    assert data["version"] == 1 and data["errors"] == []
    assert data["summary"] == {"files": 2, "errors": 1, "warnings": 0, "notes": 2}
    race = data["findings"][0]
    assert race["file"] == "racy.c" and race["line"] == 4 and race["loop_line"] == 5
    assert race["level"] == "error" and race["rule"] == "RaceInPragma"
    assert race["existing_pragma"] == "#pragma omp parallel for"
    assert [f["pragma"] for f in data["findings"][1:]] == [
        "#pragma omp parallel for", "#pragma omp parallel for reduction(+: s)"]


def test_github_annotations(here, capsys):
    (here / "race, 1.c").write_text(RACY_C)
    code, out, _ = check(capsys, "--format", "github", "race, 1.c")
    assert code == 1
    [line] = out.splitlines()
    assert line.startswith("::error file=race%2C 1.c,line=4,col=1,title=ompilot RaceInPragma::existing ")
    assert "flow dependence on a" in line


def test_github_escaping():
    assert annotations.escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert annotations.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_diff_applies_and_races_go_to_stderr(here, capsys):
    (here / "racy.c").write_text(RACY_C)
    (here / "good.c").write_text(GOOD_C)
    code, out, err = check(capsys, "--format", "diff", "racy.c", "good.c")
    assert code == 1
    assert "racy.c:4:1: error: existing '#pragma omp parallel for' races" in err
    assert "note:" not in err  # the diff shows them
    # the racy pragma's fix comes first: the loop carries a dependence, so the pragma goes
    assert out.startswith("--- a/racy.c\n+++ b/racy.c\n") and "\n-#pragma omp parallel for\n" in out
    assert "--- a/good.c\n+++ b/good.c\n" in out
    (here / "fix.patch").write_text(out)
    subprocess.run(["git", "init", "-q"], cwd=here, check=True)
    result = subprocess.run(["git", "apply", "fix.patch"], cwd=here, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    patched = (here / "good.c").read_text().splitlines()
    assert patched[GOOD_DOALL_LINE - 1].strip() == "#pragma omp parallel for"
    code, out, _ = check(capsys, "--strict", "good.c")
    assert code == 0, out
    code, out, _ = check(capsys, "racy.c")
    assert code == 0 and "error" not in out, out


def test_suggest_diff_flag_is_format_diff(here, capsys):
    (here / "good.c").write_text(GOOD_C)
    capsys.readouterr()
    assert main(["suggest", "--no-verify", "--diff", "good.c"]) == 1
    flag = capsys.readouterr().out
    assert main(["suggest", "--no-verify", "--format", "diff", "good.c"]) == 1
    assert capsys.readouterr().out == flag and flag.startswith("--- a/good.c")


def test_columns_count_code_points():
    data = "int x; /* é */ for (;;) {}\n".encode()
    index = SourceIndex({"f.c": data})
    assert index.position("f.c", data.index(b"for")) == (1, 16)  # byte 17, character 16


def test_console_script_exit_status(here):
    (here / "racy.c").write_text(RACY_C)
    result = subprocess.run([str(OMPILOT), "check", "racy.c"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "racy.c:4:1: error:" in result.stdout
    assert result.stderr == ""  # no progress bar when not on a terminal
