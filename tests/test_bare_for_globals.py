"""A worksharing `for` (no `parallel` of its own) in a `parallel` region of the same
function: a global or static every iteration updates or writes is shared by the
team whatever the region says about locals, so a missing reduction/private is
an error; threadprivate, privatising clauses, a team that may have one thread
and orphaned loops are not claimed. Programs compiled with clang-19 -Werror."""

from __future__ import annotations

import json
import subprocess

import pytest

from ompilot.cli.main import main

PROGRAM = """#include <stdio.h>

static long total;
static double last;
THREADPRIVATE

void orphan(int n)
{
#pragma omp for
    for (int i = 0; i < n; i++)
        total += i;
}

int main(void)
{
#pragma omp parallel PARALLEL
    {
#pragma omp for FOR
        for (int i = 0; i < 1000; i++)
            BODY
    }
    ORPHAN
    printf("%ld %f\\n", total, last);
    return 0;
}
"""
BODY_LINE = 20


def errors_of(tmp_path, capsys, **parts) -> list[dict]:
    source = PROGRAM
    for key in ("THREADPRIVATE", "PARALLEL", "FOR", "BODY", "ORPHAN"):
        source = source.replace(key, parts.get(key.lower(), ""))
    path = tmp_path / "bare.c"
    path.write_text(source)
    built = subprocess.run(["clang-19", "-std=c11", "-fopenmp", "-Wall", "-Wextra", "-Werror", str(path),
                            "-o", str(tmp_path / "bare")], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    capsys.readouterr()
    code = main(["check", str(path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    errors = [f for f in report["findings"] if f["level"] == "error"]
    assert code == (1 if errors else 0)
    return errors


@pytest.mark.parametrize("body, needs", [
    ("total += i;", "without reduction(+: total)"),
    ("last = i * 0.5;", "it needs lastprivate(last)"),
])
def test_global_in_bare_for_races(tmp_path, capsys, body, needs):
    errors = errors_of(tmp_path, capsys, body=body)
    assert [e["rule"] for e in errors] == ["RaceInPragma"] and needs in errors[0]["message"], errors
    assert errors[0]["accesses"][0][0] == BODY_LINE


@pytest.mark.parametrize("parts", [
    {"threadprivate": "#pragma omp threadprivate(total)", "parallel": "copyin(total)"},
    {"parallel": "private(total)"},
    {"parallel": "reduction(+: total)"},
    {"for": "reduction(+: total)"},
    {"parallel": "num_threads(1)"},
    {"parallel": "if(0)"},
    {"parallel": "default(firstprivate)"},
])
def test_global_not_shown_shared(tmp_path, capsys, parts):
    assert errors_of(tmp_path, capsys, body="total += i;", **parts) == []


def test_orphaned_for_is_not_claimed(tmp_path, capsys):
    """orphan() runs its `for` outside any region (a team of one thread): no race."""
    assert errors_of(tmp_path, capsys, body="last = 1.0 * i;", **{"for": "lastprivate(last)"}, orphan="orphan(10);") == []
