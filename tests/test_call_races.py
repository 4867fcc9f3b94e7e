"""Races `ompilot check` shows through calls, static storage and index tables
(issue 13): a racy and a race-free variant of each pattern, every program built
with clang-19 -fopenmp, each racy finding asserted on its access lines, and the
exit codes of `check` (1 with an error, 0 without)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ompilot.cli.main import main

# --------------------------------------------------------------------- programs
# Each: (source, the access-line pairs of the race, or None when race-free).

STATIC_LOCAL = """#include <stdio.h>

static int tally(int v)
{
    static int seen = 0;
    %(guard)s
    seen += v;
    if (v < 0)
        return seen;
    return v;
}

static double weigh(double x)
{
    tally(1);
    return x * 0.5;
}

int main(void)
{
    static double a[1000];
    int i;
#pragma omp parallel for
    for (i = 0; i < 1000; i++)
        a[i] = weigh((double)i);
    printf("%%.1f %%d\\n", a[999], tally(0));
    return 0;
}
"""
STATIC_LOCAL_WRITE = 7

STATIC_MEMBER = """#include <cstdio>

struct Cell {
    double value = 0.0;
    static int touched;
    void bump(double by)
    {
        value += by;
%(guard)s
        { touched = touched + 1; }
    }
};

int Cell::touched = 0;

int main()
{
    static Cell cells[500];
#pragma omp parallel for
    for (int i = 0; i < 500; ++i)
        cells[i].bump(i * 0.25);
    std::printf("%%.2f %%d\\n", cells[499].value, Cell::touched);
    return 0;
}
"""
STATIC_MEMBER_WRITE = 10

SHARED_OBJECT = """#include <cstdio>
#include <omp.h>

class Meter {
public:
    Meter() { omp_init_lock(&guard_); }
    ~Meter() { omp_destroy_lock(&guard_); }
    void add(long v)
    {
        omp_set_lock(&guard_);
        sum_ += v;
        omp_unset_lock(&guard_);
    }
    long peek()
    {
%(peek)s
    }

private:
    omp_lock_t guard_;
    long sum_ = 0;
};

int main()
{
    Meter meter;
    long last = 0;
#pragma omp parallel for reduction(max: last)
    for (int k = 0; k < 800; ++k) {
        meter.add(k %% 5);
        long now = meter.peek();
        if (now > last)
            last = now;
    }
    std::printf("%%ld %%d\\n", meter.peek(), last > 0);
    return 0;
}
"""
PEEK_UNLOCKED = "        return sum_;"
PEEK_LOCKED = """        omp_set_lock(&guard_);
        long now = sum_;
        omp_unset_lock(&guard_);
        return now;"""

INDEX_TABLE = """#include <stdio.h>

#define LANES 6
#define FIRST 3

static void spread(double *out, const double *in)
{
    static const int lane_of[LANES] = {FIRST, 1, 4, 0, %(last_two)s};
    int k;

#pragma omp parallel for
    for (k = 0; k < LANES; k++)
        out[lane_of[k]] = in[k] + 1.0;
}

int main(void)
{
    double in[LANES], out[LANES];
    int k;

    for (k = 0; k < LANES; k++) {
        in[k] = k * 2.0;
        out[k] = 0.0;
    }
    spread(out, in);
    for (k = 0; k < LANES; k++)
        printf("%%.1f ", out[k]);
    printf("\\n");
    return 0;
}
"""
INDEX_TABLE_WRITE = 13

PRUNED_BRANCH = """#include <stdio.h>

static long events;

static long note(int mode)
{
    if (mode == 2) {
        events++;
        return 0;
    }
    return events;
}

int main(void)
{
    static long r[400];
    int i;
#pragma omp parallel for
    for (i = 0; i < 400; i++)
        r[i] = note(%(mode)s) + i;
    note(2);
    printf("%%ld %%ld\\n", r[399], events);
    return 0;
}
"""
PRUNED_WRITE = 8

UNKNOWN_CALLEE = """#include <stdio.h>

void enter_region(void);
void leave_region(void);
static long total;

static void add(long v)
{
    enter_region();
    total += v;
    leave_region();
}

void enter_region(void) { }
void leave_region(void) { }

int main(void)
{
    int i;
#pragma omp parallel for
    for (i = 0; i < 300; i++)
        add(i);
    printf("%ld\\n", total);
    return 0;
}
"""

PRIVATE_OBJECT = """#include <cstdio>

struct Bin {
    long n = 0;
    void put(long v) { n += v; }
};

int main()
{
    long all = 0;
#pragma omp parallel reduction(+: all)
    {
        Bin mine;
#pragma omp for
        for (int i = 0; i < 600; ++i)
            mine.put(i);
        all += mine.n;
    }
    std::printf("%ld\\n", all);
    return 0;
}
"""


def _program(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    compiler = ["clang++-19", "-std=c++17"] if name.endswith(".cpp") else ["clang-19", "-std=c11"]
    built = subprocess.run([*compiler, "-fopenmp", "-O1", "-Wall", "-Wextra", "-Werror", str(path),
                            "-o", str(tmp_path / (name + ".out"))], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    return path


def _check(capsys, path: Path) -> tuple[int, list[dict]]:
    """check's exit code and its error findings."""
    capsys.readouterr()
    code = main(["check", str(path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [f for f in report["findings"] if f["level"] == "error"]


def _race_lines(capsys, path: Path) -> list[list[int]] | None:
    code, errors = _check(capsys, path)
    assert code == (1 if errors else 0), (code, errors)
    if not errors:
        return None
    assert len(errors) == 1, errors
    return [list(pair) for pair in errors[0]["accesses"]]


# ------------------------------------------------------------------------ tests


@pytest.mark.parametrize("guard,expected", [
    ("", [[STATIC_LOCAL_WRITE, STATIC_LOCAL_WRITE]]),
    ("#pragma omp atomic", None),
    ("#pragma omp critical(tally)", None),
])
def test_static_local_written_in_a_callee(tmp_path, capsys, guard, expected):
    path = _program(tmp_path, "static_local.c", STATIC_LOCAL % {"guard": guard})
    assert _race_lines(capsys, path) == expected


def test_static_local_race_names_the_write_and_the_calls(tmp_path, capsys):
    path = _program(tmp_path, "static_local.c", STATIC_LOCAL % {"guard": ""})
    _, errors = _check(capsys, path)
    assert "seen is a static local" in errors[0]["message"]
    assert "in weigh, called at line 25, which calls tally at line 15" in errors[0]["message"]


@pytest.mark.parametrize("guard,expected", [
    ("", [[STATIC_MEMBER_WRITE, STATIC_MEMBER_WRITE]]),
    ("#pragma omp critical", None),
])
def test_static_data_member(tmp_path, capsys, guard, expected):
    path = _program(tmp_path, "static_member.cpp", STATIC_MEMBER % {"guard": guard})
    assert _race_lines(capsys, path) == expected


def test_field_of_one_shared_object(tmp_path, capsys):
    racy = _program(tmp_path, "meter_racy.cpp", SHARED_OBJECT % {"peek": PEEK_UNLOCKED})
    assert _race_lines(capsys, racy) == [[11, 16]]  # sum_ += v under the lock, return sum_ without it
    safe = _program(tmp_path, "meter_safe.cpp", SHARED_OBJECT % {"peek": PEEK_LOCKED})
    code, errors = _check(capsys, safe)
    assert (code, errors) == (0, [])


def test_object_declared_in_the_region_is_private(tmp_path, capsys):
    path = _program(tmp_path, "private_object.cpp", PRIVATE_OBJECT)
    assert _race_lines(capsys, path) is None


@pytest.mark.parametrize("last_two,expected", [
    ("5, 2", None),  # a permutation of 0..5: every iteration its own element
    ("FIRST, 2", [[INDEX_TABLE_WRITE, INDEX_TABLE_WRITE]]),  # lanes 0 and 4 both go to 3
])
def test_constant_index_table(tmp_path, capsys, last_two, expected):
    path = _program(tmp_path, "index_table.c", INDEX_TABLE % {"last_two": last_two})
    assert _race_lines(capsys, path) == expected
    if expected:
        _, errors = _check(capsys, path)
        assert "out[3], in iterations k = 0 and k = 4" in errors[0]["message"]


def test_index_table_without_a_constant_range(tmp_path, capsys):
    """Distinct values read at an injective index are disjoint for any trip count."""
    text = (INDEX_TABLE % {"last_two": "5, 2"}).replace(
        "static void spread(double *out, const double *in)", "static void spread(double *out, const double *in, int n)"
    ).replace("for (k = 0; k < LANES; k++)\n        out", "for (k = 0; k < n; k++)\n        out").replace(
        "spread(out, in);", "spread(out, in, LANES);")
    path = _program(tmp_path, "index_table_n.c", text)
    code, findings = _check(capsys, path)
    assert (code, findings) == (0, [])


@pytest.mark.parametrize("mode,expected", [("2", [[PRUNED_WRITE, PRUNED_WRITE]]), ("1", None)])
def test_constant_argument_decides_the_branch(tmp_path, capsys, mode, expected):
    """note(1) never reaches events++, and reads events while no iteration writes it."""
    path = _program(tmp_path, "pruned.c", PRUNED_BRANCH % {"mode": mode})
    assert _race_lines(capsys, path) == expected


def test_no_claim_past_a_call_that_may_synchronise(tmp_path, capsys):
    """enter_region/leave_region could be a lock: the write is a doubt, not an error."""
    text = UNKNOWN_CALLEE.replace("void enter_region(void) { }\nvoid leave_region(void) { }\n", "")
    path = tmp_path / "unknown.c"
    path.write_text(text)
    subprocess.run(["clang-19", "-fopenmp", "-c", str(path), "-o", str(tmp_path / "unknown.o")], check=True)
    code, errors = _check(capsys, path)
    assert (code, errors) == (0, [])
    # with the two functions defined (and empty) the walk sees everything: a race
    defined = _program(tmp_path, "defined.c", UNKNOWN_CALLEE)
    assert _race_lines(capsys, defined) == [[10, 10]]
