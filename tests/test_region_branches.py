"""Region races behind a `?:` subscript and a barrier under an `if`
(analysis/piecewise.py, regionraces._loops_meet, regions._decided_if).

Each racy program has a race-free twin; every program compiles with
clang-19 -fopenmp -Werror, and the finding names the marked lines
(`/*A*/`, `/*B*/`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from programs import region_races

STENCIL = """\
#include <stdio.h>
#define N 1000
static double u[N], v[N], w[N];

void smooth(int n)
{
#pragma omp parallel
    {
#pragma omp for schedule(static) nowait
        for (int i = 0; i < n; i++)
            v[i] = 0.5 * u[i];                      /*A*/
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            int lo = LOWER;
            int hi = lo + 0;
            w[i] = READ[hi] + v[i];                 /*B*/
        }
    }
}

int main(void)
{
    smooth(N);
    printf("%f\\n", w[N / 2]);
    return 0;
}
"""

BRANCH = """\
#include <stdio.h>
#define N 1000
static double a[N], b[N];

static void settle(int sync)
{
    if (sync != 0) {
#pragma omp barrier
    }
}

static void two_phase(int n, int sync)
{
#pragma omp parallel
    {
#pragma omp for schedule(static) nowait
        for (int i = 0; i < n; i++)
            a[i] = i * 0.5;                         /*A*/
        if (sync > LIMIT) {
#pragma omp barrier
        } else {
            double t = 1.0;
            (void)t;
        }
        settle(INNER);
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++)
            b[i] = a[n - 1 - i];                    /*B*/
    }
}

int main(void)
{
    two_phase(N, 1);
    CALL2
    printf("%f\\n", b[3]);
    return 0;
}
"""


def marked(source: str) -> tuple[int, int]:
    lines = source.splitlines()
    a = next(n for n, text in enumerate(lines, 1) if "/*A*/" in text)
    b = next(n for n, text in enumerate(lines, 1) if "/*B*/" in text)
    return min(a, b), max(a, b)


def races(tmp_path: Path, source: str):
    return region_races(tmp_path, source, "prog.c")


@pytest.mark.parametrize("lower, read", [
    ("i > 0 ? i - 1 : i", "v"),          # the neighbour written by another iteration of the nowait loop
    ("i < n - 1 ? i + 1 : 0", "v"),      # either piece meets another iteration
    ("i >= 0 ? (i <= n - 2 ? i + 1 : i) : i", "v"),  # nested pieces
])
def test_conditional_neighbour_index_races_with_the_nowait_loop(tmp_path, lower, read):
    source = STENCIL.replace("LOWER", lower).replace("READ", read)
    found = races(tmp_path, source)
    assert [race.lines for race in found] == [marked(source)], [str(r) for r in found]
    assert found[0].name == "v" and "nowait" in found[0].meet


@pytest.mark.parametrize("lower, read", [
    ("i > 0 ? i - 1 : i", "u"),          # the neighbour of an array no loop writes
    ("i > n ? i - 1 : i", "v"),          # the shifted piece's condition never holds: always its own element
    ("i < 0 ? 0 : i", "v"),
])
def test_conditional_index_that_never_meets_another_iteration_is_not_reported(tmp_path, lower, read):
    assert races(tmp_path, STENCIL.replace("LOWER", lower).replace("READ", read)) == []


def test_conditional_index_with_a_condition_not_affine_is_not_reported(tmp_path):
    source = STENCIL.replace("LOWER", "i * i > 0 ? i - 1 : i").replace("READ", "v")
    assert races(tmp_path, source) == []


def branch(limit: str, inner: str, call2: str = "") -> str:
    return BRANCH.replace("LIMIT", limit).replace("INNER", inner).replace("CALL2", call2)


@pytest.mark.parametrize("source", [
    branch("1", "0"),                    # sync is 1 at the only call: 1 > 1 is false, neither barrier is met
    branch("1 || 0", "sync - 1"),        # the argument folds to 0 in the called function too
])
def test_barrier_in_a_branch_no_thread_takes_does_not_separate_the_loops(tmp_path, source):
    found = races(tmp_path, source)
    assert [race.lines for race in found] == [marked(source)], [str(r) for r in found]
    assert "nowait" in found[0].meet


@pytest.mark.parametrize("source", [
    branch("0", "0"),                    # 1 > 0: every thread meets the barrier
    branch("1", "1"),                    # the barrier in the called function is met
    branch("1", "sync"),                 # sync is 1 in step too
    branch("1", "0", "two_phase(N, 2);"),  # sync differs between calls: not decided, the barrier is assumed
])
def test_barrier_in_a_branch_every_thread_takes_separates_the_loops(tmp_path, source):
    assert races(tmp_path, source) == []


NESTED = """\
#include <stdio.h>
#define N 1000
static double a[N], b[N], c[N];

int main(void)
{
    int n = N;
#pragma omp parallel
    {
        {
#pragma omp for nowait
            for (int i = 0; i < n; i++)
                a[i] = i;
        }
#pragma omp for nowait
        for (int i = 0; i < n; i++)
            b[i] = i;                               /*A*/
BARRIER
#pragma omp for
        for (int i = 0; i < n; i++)
            c[i] = b[n - 1 - i];                    /*B*/
    }
    printf("%f %f\\n", a[3], c[3]);
    return 0;
}
"""


def test_barrier_after_a_nested_block_stays_where_it_stands(tmp_path):
    assert races(tmp_path, NESTED.replace("BARRIER", "#pragma omp barrier")) == []
    racy = NESTED.replace("BARRIER", "")
    assert [race.lines for race in races(tmp_path, racy)] == [marked(racy)]


UNIFORM = """\
#include <stdio.h>
#define N 1000
static double a[N], b[N];
static long steps;

void two_phase(int n, int sync)
{
#pragma omp parallel
    {
#pragma omp for schedule(static) nowait
        for (int i = 0; i < n; i++)
            a[i] = i * 0.5;
        if (COND) {
            BODY
#pragma omp barrier
        }
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++)
            b[i] = a[n - 1 - i];
    }
}

int main(int argc, char **argv)
{
    (void)argv;
    two_phase(N, argc);
    printf("%f %ld\\n", b[3], steps);
    return 0;
}
"""


def test_barrier_under_a_condition_every_thread_computes_alike_is_met_by_all(tmp_path):
    # sync is not known (an exported function), but shared and never changed: every thread
    # takes the branch or none does, so the barrier is read as met and the loops do not meet
    assert races(tmp_path, UNIFORM.replace("COND", "sync > 1").replace("BODY", "")) == []
    racy = UNIFORM.replace("COND", "sync > 1 && n > 2").replace("BODY", "steps += 1;  /*A*/ /*B*/")
    found = races(tmp_path, racy)
    assert [(race.name, race.lines) for race in found] == [("steps", marked(racy))], [str(r) for r in found]


def test_barrier_under_a_condition_threads_compute_apart_is_left_alone(tmp_path):
    source = UNIFORM.replace("COND", "omp_get_thread_num() >= 0").replace("BODY", "steps += 1;")
    source = "#include <omp.h>\n" + source
    assert races(tmp_path, source) == []
