"""Thread-owned array slots (analysis/threadslots.py): `scratch[me]` with
`me = omp_get_thread_num()` a local of the parallel region is no race in a
worksharing loop of that region; the shapes around it still are (or stay
doubts). Each program is compiled with clang-19 -fopenmp -Werror, then checked."""

from __future__ import annotations

import json
import subprocess

import pytest

from ompilot.cli.main import main

PROGRAM = """#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define N 4000

int main(void)
{
    int slots = omp_get_max_threads();
    long *scratch = calloc((size_t)slots, sizeof *scratch);
    if (!scratch)
        return 1;
#pragma omp parallel
    {
        DECLARE
#pragma omp LOOP
        for (int i = 0; i < N; i++)
            BODY
    }
    long total = 0;
    for (int t = 0; t < slots; t++)
        total += scratch[t];
    printf("%ld\\n", total);
    free(scratch);
    return 0;
}
"""

LOOP_LINE = 16  # the directive above the loop
BODY_LINE = 18


def program(declare: str, body: str, loop: str = "for schedule(static)") -> str:
    text = PROGRAM.replace("DECLARE", declare).replace("BODY", body).replace("LOOP", loop)
    assert text.splitlines()[LOOP_LINE - 1].startswith("#pragma omp") and "for (int i" in text.splitlines()[BODY_LINE - 2]
    return text


def findings(tmp_path, capsys, source: str) -> tuple[int, list[dict]]:
    """check's exit code and its errors and warnings, for a program that builds warning-free."""
    path = tmp_path / "slots.c"
    path.write_text(source)
    built = subprocess.run(["clang-19", "-std=c11", "-fopenmp", "-Wall", "-Wextra", "-Werror", str(path),
                            "-o", str(tmp_path / "slots")], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    capsys.readouterr()
    code = main(["check", str(path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [f for f in report["findings"] if f["level"] in ("error", "warning")]


@pytest.mark.parametrize("declare, body", [
    ("int me = omp_get_thread_num();", "scratch[me] += i % 7;"),
    ("const int me = omp_get_thread_num();", "scratch[me] = scratch[me] + i % 7;"),
])
def test_thread_owned_slot_is_not_a_race(tmp_path, capsys, declare, body):
    code, found = findings(tmp_path, capsys, program(declare, body))
    assert code == 0 and not found, found


def test_thread_number_call_in_subscript_stays_a_doubt(tmp_path, capsys):
    """scratch[omp_get_thread_num()]: the subscript is not analysed, a warning, never an error."""
    code, found = findings(tmp_path, capsys, program("", "scratch[omp_get_thread_num()] += i % 7;"))
    assert code == 0 and [f["rule"] for f in found] == ["PragmaNotProven"], found


@pytest.mark.parametrize("declare, body, loop", [
    # the same array also reached at a fixed slot every thread writes
    ("int me = omp_get_thread_num();", "{ scratch[me] += i % 7; scratch[0] += 1; }", "for schedule(static)"),
    # threads 0 and 2 share a slot
    ("int me = omp_get_thread_num();", "scratch[me % 2] += i % 7;", "for schedule(static)"),
    # not the thread's number at all
    ("int me = slots - 1;", "scratch[me] += i % 7;", "for schedule(static)"),
    # a parallel for of its own is a new team: all its threads share the outer me
    ("int me = omp_get_thread_num();", "scratch[me] += i % 7;", "parallel for schedule(static)"),
])
def test_other_shapes_still_race(tmp_path, capsys, declare, body, loop):
    code, found = findings(tmp_path, capsys, program(declare, body, loop))
    errors = [f for f in found if f["level"] == "error"]
    assert code == 1 and "RaceInPragma" in {f["rule"] for f in errors}, found


FIXED_SLOTS = """#include <omp.h>
#include <stdio.h>

static long scratch[8];

int main(void)
{
    int slots = 2;
    CHANGE
#pragma omp parallel
    {
        int me = omp_get_thread_num();
#pragma omp for schedule(static)
        for (int i = 0; i < 4000; i++)
            scratch[me % slots] += i % 7;
    }
    printf("%ld %ld\\n", scratch[0], scratch[1]);
    return 0;
}
"""


def test_constant_local_before_the_region_is_evaluated(tmp_path, capsys):
    """slots = 2, never changed: threads 0 and 2 update one slot (RegionRace names them)."""
    code, found = findings(tmp_path, capsys, FIXED_SLOTS.replace("CHANGE", ""))
    races = [f for f in found if f["rule"] == "RegionRace"]
    assert code == 1 and len(races) == 1 and "threads 0 and 2 compute the same index 0" in races[0]["message"], found


def test_local_changed_later_is_not_evaluated(tmp_path, capsys):
    code, found = findings(tmp_path, capsys, FIXED_SLOTS.replace("CHANGE", "slots += omp_get_max_threads() > 8;"))
    assert not [f for f in found if f["rule"] == "RegionRace"], found


def test_a_changed_region_local_is_still_private(tmp_path, capsys):
    """me changes inside the loop, so scratch[me] is no longer the thread's own
    slot (a race on scratch[0] the analysis does not show), but me itself is
    declared in the region: each thread has its own, and no finding may call it shared."""
    code, found = findings(tmp_path, capsys, program("int me = omp_get_thread_num();",
                                                     "{ scratch[me] += i % 7; me = 0; }", "for schedule(static)"))
    assert not any("me is shared" in f["message"] for f in found), found
