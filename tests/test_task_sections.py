"""Tasks in taskraces.py: array sections of `depend` clauses (taskvalues.Section)
and `taskloop`. Each program builds warning-free with clang-19 -fopenmp, then
`ompilot check` is asserted: an error (RegionRace naming the lines) only where
the race is shown, nothing where the tasks are ordered or where the number of
tasks is not known."""

from __future__ import annotations

import json
import subprocess

import pytest

from ompilot.analysis.taskvalues import parse_section, sections_disjoint
from ompilot.cli.main import main

DEPEND = """#include <stdio.h>

#define N 64

static double a[2 * N];

static void produce(double *p, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (double)i;
}

static double consume(const double *p, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += p[i];
    return s;
}

int main(int argc, char **argv)
{
    (void)argv;
    int k = argc - 1;
    double *q = a + 4;
    double total = 0.0;
#pragma omp parallel
#pragma omp single
    {
#pragma omp task depend(out: OUT)
        produce(a, N);
#pragma omp task depend(in: IN) shared(total)
        total = consume(a, N);
#pragma omp taskwait
    }
    printf("%.3f %d %p\\n", total, k, (void *)q);
    return 0;
}
"""
WRITE_LINE, READ_LINE = 10, 17


@pytest.mark.parametrize("out, in_, racy", [
    ("a[0:N]", "a[N:N]", True),  # the consumer's section does not overlap the producer's
    ("a[0:N]", "a[N - 1:N]", False),  # one element in common: ordered
    ("a[0:N]", "a[0:N]", False),
    ("a[0:N]", "a[k:N]", False),  # k is not known: the whole array, ordered
    ("q[0:4]", "a[0:4]", True),  # q is a + 4: q[0:4] is a[4:4]
    ("q[0:4]", "a[4:4]", False),
    ("a", "a[N:N]", False),  # the whole array
])
def test_depend_sections(tmp_path, capsys, out, in_, racy):
    errors = check(tmp_path, capsys, DEPEND.replace("OUT", out).replace("IN", in_))
    if racy:
        assert [(e["rule"], sorted(e["accesses"][0])) for e in errors] == [("RegionRace", [WRITE_LINE, READ_LINE])], errors
    else:
        assert errors == []


TASKLOOP = """#include <stdio.h>

static int v[64];

int main(void)
{
    for (int i = 0; i < 64; i++)
        v[i] = i % 5;
    long sum = 0;
#pragma omp parallel
#pragma omp single
    {
#pragma omp taskloop CLAUSES
        for (int i = 0; i < 64; i++)
            BODY
    }
    printf("%ld\\n", sum);
    return 0;
}
"""
SUM_LINE = 15


@pytest.mark.parametrize("clauses, body, racy", [
    ("grainsize(8)", "sum += v[i];", True),
    ("grainsize(32)", "sum += v[i];", True),  # tasks of 32 to 63 iterations: two at least
    ("grainsize(33)", "sum += v[i];", False),  # one task of 64 iterations is allowed
    ("num_tasks(4)", "sum += v[i];", True),
    ("num_tasks(1)", "sum += v[i];", False),
    ("", "sum += v[i];", False),  # the number of tasks is the implementation's
    ("grainsize(8) reduction(+: sum)", "sum += v[i];", False),
    ("grainsize(8)", "v[i] = v[i] * 2;", False),  # each element in one iteration
    ("grainsize(8) if(sum == 0)", "sum += v[i];", False),  # not modelled
])
def test_taskloop(tmp_path, capsys, clauses, body, racy):
    errors = check(tmp_path, capsys, TASKLOOP.replace("CLAUSES", clauses).replace("BODY", body))
    if racy:
        assert [(e["rule"], e["accesses"][0]) for e in errors] == [("RegionRace", [SUM_LINE, SUM_LINE])], errors
        assert "taskloop at line 13 makes two tasks or more" in errors[0]["message"]
    else:
        assert errors == []


def test_taskloop_nogroup_meets_the_code_after_it(tmp_path, capsys):
    """Without nogroup the taskloop waits for its tasks; with it, the read after the loop meets them."""
    after = TASKLOOP.replace("            BODY\n    }", "            BODY\n        sum = sum * 2;\n    }")
    assert check(tmp_path, capsys, after.replace("CLAUSES", "num_tasks(2)").replace("BODY", "v[i] += 1;")) == []
    errors = check(tmp_path, capsys, after.replace("CLAUSES", "num_tasks(2) nogroup").replace("BODY", "sum += 1;"))
    assert any(sorted(e["accesses"][0]) == [SUM_LINE, SUM_LINE + 1] for e in errors), errors


def test_sections_apart_whatever_the_symbols():
    def value_of(name):
        return {"k": 3}.get(name, "symbol") if name != "x" else None

    section = lambda text: parse_section(text, value_of)  # noqa: E731
    assert sections_disjoint(section("0:N"), section("N:N"))
    assert sections_disjoint(section("2*N + k:1"), section("2 * N:3"))  # k is 3
    assert not sections_disjoint(section("0:N"), section("N - 1:N"))
    assert not sections_disjoint(section("0:N"), section("M:1"))  # M may be anything
    assert section("x:1") is None and section("(N):1") is None and section("N*N:1") is None and section("1:") is None


def check(tmp_path, capsys, source: str) -> list[dict]:
    """check's errors for a program that builds warning-free with clang-19."""
    path = tmp_path / "tasks.c"
    path.write_text(source)
    built = subprocess.run(["clang-19", "-std=c11", "-fopenmp", "-Wall", "-Wextra", "-Werror", str(path),
                            "-o", str(tmp_path / "tasks")], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    capsys.readouterr()
    code = main(["check", str(path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    errors = [f for f in report["findings"] if f["level"] == "error"]
    assert code == (1 if errors else 0)
    return errors


BLOCKS = """#include <stdio.h>

#define N 64
#define B 16

static double cur[2 * N], nxt[2 * N];

static void relax(int lo)
{
    for (int i = lo; i < lo + B; i++)
        nxt[i] = 0.5 * cur[i];
}

int main(void)
{
#pragma omp parallel
#pragma omp single
    {
        for (int lo = 0; lo < N; lo += B) {
#pragma omp task firstprivate(lo)
            relax(lo);
        }
        WAIT
        for (int i = FIRST; i < FIRST + N; i++)
            cur[i] = 1.0;
    }
    printf("%f\\n", nxt[3] + cur[3]);
    return 0;
}
"""


@pytest.mark.parametrize("wait, first, racy", [
    ("", "0", True),  # the copy writes every element the blocks read, while they may run
    ("#pragma omp taskwait", "0", False),
    ("", "N", False),  # the copy writes cur[N..2N), the blocks read cur[0..N)
])
def test_block_of_a_known_width_at_an_unknown_start(tmp_path, capsys, wait, first, racy):
    """`for (i = lo; i < lo + B; i++)`: i lies in the blocks' range, a value the copy loop writes."""
    errors = check(tmp_path, capsys, BLOCKS.replace("WAIT", wait).replace("FIRST", first))
    if racy:
        assert [(e["rule"], e["accesses"][0]) for e in errors] == [("RegionRace", [11, 25])], errors
    else:
        assert errors == []


SECTIONS = """#include <stdio.h>

#define N 100

static int img[N];

static void fill(int lo, int hi, int value)
{
    for (int i = lo; i < hi; i++)
        img[i] = value;
}

int main(void)
{
    int half = N / 2;
#pragma omp parallel sections CLAUSES
    {
#pragma omp section
        fill(0, FIRST_END, 1);
#pragma omp section
        SECOND
    }
    printf("%d %d\\n", img[half - 1], img[half]);
    return 0;
}
"""


@pytest.mark.parametrize("clauses, first_end, second, racy", [
    ("", "half + 1", "fill(half, N, 2);", True),  # both write img[half]
    ("", "half", "fill(half, N, 2);", False),
    ("num_threads(1)", "half + 1", "fill(half, N, 2);", False),  # a team of one thread
    ("if(half > 100)", "half + 1", "fill(half, N, 2);", False),  # false: a team of one thread
])
def test_sections_are_sibling_tasks(tmp_path, capsys, clauses, first_end, second, racy):
    source = SECTIONS.replace("CLAUSES", clauses).replace("FIRST_END", first_end).replace("SECOND", second)
    errors = check(tmp_path, capsys, source)
    if racy:
        assert [(e["rule"], e["accesses"][0]) for e in errors] == [("RegionRace", [10, 10])], errors
        assert "the sections at lines 18 and 20 may run at the same time" in errors[0]["message"]
    else:
        assert errors == []
