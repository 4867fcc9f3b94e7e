"""Races between the statements of OpenMP regions (analysis/regionraces.py,
regions.py, regionaccess.py): small programs of each construct, a racy one
whose finding names both lines and a race-free twin with no finding. Every
program is first compiled with clang-19 -fopenmp (and gcc -fopenmp), so the
OpenMP in it is real; `ompilot check` exits 1 on a racy file and 0 on its twin.

Lines are marked in the sources with `/*A*/` and `/*B*/` comments: a racy
program's expected finding is the pair of marked lines.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ompilot.analysis import scan
from ompilot.cli.main import main

HEADER = "#include <stdio.h>\n#include <omp.h>\n"

NOWAIT = HEADER + """\
void shift(double *a, double *b, int n)
{
    int i;
#pragma omp parallel
    {
#pragma omp for NOWAIT
        for (i = 0; i < n; i++)
            a[i] = i * 0.5;            /*A*/
#pragma omp for
        for (i = 0; i < n - 1; i++)
            b[i] = a[i + 1] - a[i];    /*B*/
    }
}
"""

# The same loops, each reading only what its own iteration wrote: with the same
# static schedule on both loops the iteration runs on the same thread.
NOWAIT_SAME_ELEMENT = HEADER + """\
void twice(double *a, double *b, int n)
{
    int i;
#pragma omp parallel
    {
#pragma omp for schedule(static) nowait
        for (i = 0; i < n; i++)
            a[i] = i * 0.5;
#pragma omp for schedule(static)
        for (i = 0; i < n; i++)
            b[i] = 2.0 * a[i];
    }
}
"""

SINGLE = HEADER + """\
double scale_all(double *v, int n)
{
    double norm = 0.0;
#pragma omp parallel
    {
#pragma omp single NOWAIT
        norm = v[0] * v[0] + 1.0;      /*A*/
#pragma omp for
        for (int i = 0; i < n; i++)
            v[i] = v[i] / norm;        /*B*/
    }
    return norm;
}
"""

MASKED = HEADER + """\
static double limit;
static void clamp(double *v, int n)
{
#pragma omp for
    for (int i = 0; i < n; i++)
        v[i] = v[i] > limit ? limit : v[i];   /*B*/
}
void run(double *v, int n)
{
#pragma omp parallel
    {
#pragma omp masked
        limit = 10.0;                  /*A*/
BARRIER
        clamp(v, n);
    }
}
"""

SECTIONS = HEADER + """\
struct stats { double lo, hi; };
void both(const double *v, int n, struct stats *s)
{
#pragma omp parallel sections
    {
#pragma omp section
        {
            double low = v[0];
            for (int k = 1; k < n; k++)
                if (v[k] < low) low = v[k];
            s->lo = low;               /*A*/
        }
#pragma omp section
        {
            double top = v[0];
            for (int k = 1; k < n; k++)
                if (v[k] > top) top = v[k];
            s->hi = top - READ;        /*B*/
        }
    }
}
"""

FLAG = HEADER + """\
static int data, flag;
int handoff(void)
{
    int got = 0;
#pragma omp parallel sections
    {
#pragma omp section
        {
            data = 7;
WRITE
            flag = 1;                  /*A*/
        }
#pragma omp section
        {
            int ok = 0;
            do {
READ
                ok = flag;             /*B*/
            } while (!ok);
            got = data;
        }
    }
    return got;
}
"""

TEAM_CRITICAL = HEADER + """\
static long hits;
void count(const int *v, int n)
{
#pragma omp parallel
    {
        int mine = 0;
        for (int k = 0; k < n; k++)
            mine += v[k] > 0;
GUARD
        hits += mine;                  /*A*/ /*B*/
    }
}
"""

TEAM_BY_THREAD_ZERO = HEADER + """\
static long hits;
void count(void)
{
#pragma omp parallel
    {
        if (omp_get_thread_num() == 0)
            hits = 1;
    }
}
"""

LOCKED = HEADER + """\
static omp_lock_t guard;
static double total;
static void add(double x)
{
    omp_set_lock(&guard);
    total += x;                        /*A*/
    omp_unset_lock(&guard);
}
void sum(const double *v, int n)
{
#pragma omp parallel
    {
#pragma omp for nowait
        for (int i = 0; i < n; i++)
            add(v[i]);
#pragma omp single
        total = total * 2.0;           /*B*/
LOCKED_END
    }
}
"""

THREAD_INDEX = HEADER + """\
#define SLOTS 32
long tally(const int *v, int n)
{
    long per[SLOTS] = {0};
    long all = 0;
#pragma omp parallel
    {
        int me = WHO;
#pragma omp for
        for (int i = 0; i < n; i++)
            per[me] += v[i];           /*A*/ /*B*/
    }
    for (int t = 0; t < SLOTS; t++)
        all += per[t];
    return all;
}
"""

CASES = {
    # name: (racy source, race-free twin)
    "nowait": (NOWAIT.replace("NOWAIT", "nowait"), NOWAIT.replace(" NOWAIT", "")),
    "single-nowait": (SINGLE.replace("NOWAIT", "nowait"), SINGLE.replace(" NOWAIT", "")),
    "masked-no-barrier": (MASKED.replace("BARRIER", ""), MASKED.replace("BARRIER", "#pragma omp barrier")),
    "sections": (SECTIONS.replace("READ", "s->lo"), SECTIONS.replace("READ", "0.0")),
    "flush-flag": (
        FLAG.replace("WRITE", "#pragma omp flush").replace("READ", "#pragma omp flush"),
        FLAG.replace("WRITE", "#pragma omp atomic write seq_cst").replace("READ", "#pragma omp atomic read seq_cst"),
    ),
    "team-update": (TEAM_CRITICAL.replace("GUARD", ""), TEAM_CRITICAL.replace("GUARD", "#pragma omp atomic")),
    "lock-partial": (LOCKED.replace("LOCKED_END", ""), None),
    "thread-index": (THREAD_INDEX.replace("WHO", "omp_get_thread_num() % 4"),
                     THREAD_INDEX.replace("WHO", "omp_get_thread_num() % SLOTS")),
}


def marked(source: str) -> tuple[int, int]:
    lines = source.splitlines()
    a = next(n for n, text in enumerate(lines, 1) if "/*A*/" in text)
    b = next(n for n, text in enumerate(lines, 1) if "/*B*/" in text)
    return min(a, b), max(a, b)


def compiles(path: Path) -> None:
    for compiler in ("clang-19", "gcc"):
        done = subprocess.run([compiler, "-fopenmp", "-fsyntax-only", "-Wall", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, f"{compiler}: {done.stderr}"


def races(tmp_path: Path, name: str, source: str):
    path = tmp_path / f"{name}.c"
    path.write_text(source)
    compiles(path)
    report = scan.scan_file(path)
    assert not report.errors, report.errors
    return report.region_races


@pytest.mark.parametrize("name", sorted(CASES))
def test_racy_program_reports_both_lines(tmp_path, name):
    racy, _ = CASES[name]
    found = races(tmp_path, name, racy)
    assert [race.lines for race in found] == [marked(racy)], [str(race) for race in found]
    assert found[0].meet and found[0].proven


@pytest.mark.parametrize("name", sorted(n for n, (_, safe) in CASES.items() if safe is not None))
def test_race_free_twin_reports_nothing(tmp_path, name):
    _, safe = CASES[name]
    assert races(tmp_path, name, safe) == []


def test_nowait_meet_names_the_schedule(tmp_path):
    (race,) = races(tmp_path, "nowait", CASES["nowait"][0])
    assert "nowait" in race.meet and race.name == "a"
    assert (race.first_access, race.second_access) == ("write of a[i]", "read of a[i + 1]")


def test_nowait_loops_touching_only_their_own_iteration_are_not_reported(tmp_path):
    assert races(tmp_path, "same", NOWAIT_SAME_ELEMENT) == []


def test_masked_race_is_found_in_the_orphaned_loop_of_a_called_function(tmp_path):
    (race,) = races(tmp_path, "masked", CASES["masked-no-barrier"][0])
    assert race.name == "limit" and "masked has no barrier" in race.meet


def test_flag_race_is_the_flag_only_and_flush_is_named(tmp_path):
    (race,) = races(tmp_path, "flag", CASES["flush-flag"][0])
    assert race.name == "flag" and "flush" in race.meet  # data is ordered by the spin on flag


def test_thread_index_names_the_colliding_threads(tmp_path):
    (race,) = races(tmp_path, "slots", CASES["thread-index"][0])
    assert "threads 0 and 4" in race.meet


def test_write_on_one_chosen_thread_is_not_reported(tmp_path):
    assert races(tmp_path, "chosen", TEAM_BY_THREAD_ZERO) == []


def test_check_exit_codes(tmp_path, capsys):
    racy, safe = CASES["single-nowait"]
    (tmp_path / "racy.c").write_text(racy)
    (tmp_path / "safe.c").write_text(safe)
    capsys.readouterr()
    assert main(["check", str(tmp_path / "racy.c")]) == 1
    out = capsys.readouterr().out
    line = marked(racy)[0]
    assert f"racy.c:{line}:" in out and "[RegionRace]" in out
    assert main(["check", str(tmp_path / "safe.c")]) == 0
    assert "RegionRace" not in capsys.readouterr().out


PRIVATE_TID = HEADER + """\
static long first;
void mark(int n)
{
    int tid;
#pragma omp parallel private(tid)
    {
        tid = omp_get_thread_num();
        if (tid == 0)
            first = n;
    }
}
"""

FIRST_ITERATION = HEADER + """\
#define SLOTS 16
void note(const int *v, int n)
{
    static long seen[SLOTS];
#pragma omp parallel
    {
        int me = omp_get_thread_num() / 2;
#pragma omp for
        for (int i = 0; i < n; i++)
            if (i == 0)
                seen[me] = v[i];
    }
}
"""


@pytest.mark.parametrize("source", [PRIVATE_TID, FIRST_ITERATION], ids=["private-tid", "first-iteration"])
def test_accesses_only_some_threads_reach_are_not_reported(tmp_path, source):
    assert races(tmp_path, "some", source) == []
