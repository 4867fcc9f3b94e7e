"""Races OpenMP tasks take part in (analysis/taskraces.py), on small programs of
our own: each a racy / race-free pair differing in one place. Every program is
compiled with clang-19 -fopenmp first (it must be valid OpenMP); the racy one
must give a task race whose two access lines are the marked ones, the race-free
one none; `ompilot check` exits 1 and 0 on them.

Markers: a line holding `/*name*/` is the line `name`; EXPECTED pairs are
(task access, other access) by marker.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ompilot.analysis import constructs, taskorder, taskraces
from ompilot.analysis.scan import scan_source
from ompilot.cli.main import main

TASKWAIT_RESULT = """\
#include <stdio.h>

static int square(int v) { return v * v; }

int main(void)
{
    int result = 0;
#pragma omp parallel
#pragma omp single
    {
#pragma omp task shared(result)
        result = square(7); /*write*/
        @WAIT@
        printf("%d\\n", result); /*read*/
    }
    return 0;
}
"""

GRANDCHILDREN = """\
#include <stdio.h>
#define N 64
static double cells[N];

static void spread(int lo, int hi)
{
#pragma omp task firstprivate(lo, hi)
    {
        int k;
        for (k = lo; k < hi; k++)
            cells[k] = k * 0.5; /*grandchild*/
    }
    @CHILD_WAITS@
}

int main(void)
{
    double total = 0.0;
    int k;
#pragma omp parallel
#pragma omp single
    {
        @OPEN@
#pragma omp task
        spread(0, N);
        @CLOSE@
        for (k = 0; k < N; k++)
            total += cells[k]; /*sum*/
    }
    printf("%f\\n", total);
    return 0;
}
"""

DEPEND_CHAIN = """\
#include <stdio.h>

int main(void)
{
    int a = 0, b = 0, c = 0, x = 0;
#pragma omp parallel
#pragma omp single
    {
#pragma omp task depend(out: a) shared(a, x)
        {
            a = 3;
            x = 7; /*first*/
        }
#pragma omp task depend(in: a) depend(out: b) shared(a, b)
        b = a + 1; /*wb*/
#pragma omp task depend(in: @DEP@) shared(b, c, x)
        c = b * 2 + x; /*rb*/
#pragma omp taskwait
    }
    printf("%d %d %d\\n", a, b, c);
    return 0;
}
"""

IN_AFTER_IN = """\
#include <stdio.h>

int main(void)
{
    int key = 1, total = 0;
#pragma omp parallel
#pragma omp single
    {
#pragma omp task depend(@FIRST@: key) shared(total, key)
        total += key; /*one*/
#pragma omp task depend(in: key) shared(total, key)
        total += 2 * key; /*two*/
#pragma omp taskwait
    }
    printf("%d\\n", total);
    return 0;
}
"""

LOOP_COUNT = """\
#include <stdio.h>
#define M 16
static const int data[M] = {4, 7, 2, 9, 12, 5, 6, 1, 8, 3, 10, 11, 14, 13, 0, 15};

int main(void)
{
    int evens = 0;
#pragma omp parallel
#pragma omp single
    for (int i = 0; i < M; i++) {
#pragma omp task firstprivate(i) shared(evens)
        {
            int even = data[i] % 2 == 0;
            @GUARD@
            evens += even; /*count*/
        }
    }
    printf("%d\\n", evens);
    return 0;
}
"""

LOOP_ELEMENTS = """\
#include <stdio.h>

int main(void)
{
    static double out[8];
    double third = 0.0;
#pragma omp parallel
#pragma omp single
    {
        for (int i = 0; i < 8; i++) {
#pragma omp task firstprivate(i)
            out[i] = i * 1.5; /*fill*/
        }
        @WAIT@
        third = out[3]; /*peek*/
    }
    printf("%f\\n", third);
    return 0;
}
"""

EVERY_THREAD = """\
#include <stdio.h>

int main(void)
{
    int hits = 0;
#pragma omp parallel
    {
        @SINGLE@
        {
#pragma omp task shared(hits)
            hits += 1; /*hit*/
        }
    }
    printf("%d\\n", hits > 0);
    return 0;
}
"""

FIRSTPRIVATE_LOCAL = """\
#include <stdio.h>

int main(void)
{
    int seen = 0;
    @OUTSIDE@
#pragma omp parallel
#pragma omp single
    {
        @INSIDE@
#pragma omp task shared(seen)
        seen = local * 2; /*use*/
        local = 9; /*change*/
#pragma omp taskwait
    }
    printf("%d\\n", seen);
    return 0;
}
"""

ORPHANED_REFERENCE = """\
#include <cstdio>

static void bump(int &x)
{
#pragma omp task @SHARING@
    x += 1; /*bump*/
}

int main()
{
    int n = 0;
#pragma omp parallel
#pragma omp single
    {
        bump(n);
        n = 5; /*reset*/
    }
    std::printf("%d\\n", n);
    return 0;
}
"""

POINTER_HALVES = """\
#include <stdio.h>

static void twice(double *p, int n)
{
    for (int k = 0; k < n; k++)
        p[k] *= 2.0; /*scale*/
}

int main(void)
{
    static double data[64];
#pragma omp parallel
#pragma omp single
    {
#pragma omp task
        twice(data, 32);
#pragma omp task
        twice(data + @SECOND@, 32);
#pragma omp taskwait
        printf("%f\\n", data[40]);
    }
    return 0;
}
"""

SINGLE_NOWAIT = """\
#include <stdio.h>

int main(void)
{
    int v = 0, u = 0;
#pragma omp parallel
    {
#pragma omp single nowait
        {
#pragma omp task shared(v)
            v = 5; /*set*/
        }
        @SYNC@
#pragma omp critical
        u += v; /*get*/
    }
    printf("%d %d\\n", v, u > 0);
    return 0;
}
"""

WORKSHARING_TASKS = """\
#include <stdio.h>

int main(void)
{
    double a[100];
    int i;
#pragma omp parallel
    {
#pragma omp for @NOWAIT@
        for (i = 0; i < 100; i++) {
#pragma omp task
            a[i] = i * 2.0; /*fill*/
        }
#pragma omp single
        printf("%f\\n", a[3]); /*show*/
    }
    return 0;
}
"""

TRANSITIVE = """\
#include <stdio.h>

int main(void)
{
    int a = 0, b = 0, x = 0, y = 0;
#pragma omp parallel
#pragma omp single
    {
#pragma omp task depend(out: a) shared(x)
        x = 1;
#pragma omp task depend(in: a) depend(out: b) shared(y)
        y = 2; /*sety*/
#pragma omp task depend(in: @LAST@) shared(x, y)
        printf("%d %d\\n", x, y); /*both*/
    }
    return 0;
}
"""

# name: (template, racy fills, race-free fills, expected (task access, other access) marker pairs, suffix)
CASES = {
    "taskwait": (TASKWAIT_RESULT, {"WAIT": ""}, {"WAIT": "#pragma omp taskwait"}, [("write", "read")], ".c"),
    "taskgroup-grandchildren": (
        GRANDCHILDREN, {"OPEN": "", "CLOSE": "#pragma omp taskwait", "CHILD_WAITS": ""},
        {"OPEN": "#pragma omp taskgroup\n        {", "CLOSE": "}", "CHILD_WAITS": ""},
        [("grandchild", "sum")], ".c"),
    "child-waits-for-its-own": (
        GRANDCHILDREN, {"OPEN": "", "CLOSE": "#pragma omp taskwait", "CHILD_WAITS": ""},
        {"OPEN": "", "CLOSE": "#pragma omp taskwait", "CHILD_WAITS": "#pragma omp taskwait"},
        [("grandchild", "sum")], ".c"),
    "depend-chain": (DEPEND_CHAIN, {"DEP": "a"}, {"DEP": "b"}, [("wb", "rb")], ".c"),
    "in-after-in": (IN_AFTER_IN, {"FIRST": "in"}, {"FIRST": "inout"}, [("one", "two")], ".c"),
    "loop-atomic": (LOOP_COUNT, {"GUARD": ""}, {"GUARD": "#pragma omp atomic"}, [("count", "count")], ".c"),
    "loop-critical": (LOOP_COUNT, {"GUARD": ""}, {"GUARD": "#pragma omp critical"}, [("count", "count")], ".c"),
    "loop-elements": (LOOP_ELEMENTS, {"WAIT": ""}, {"WAIT": "#pragma omp taskwait"}, [("fill", "peek")], ".c"),
    "every-thread": (EVERY_THREAD, {"SINGLE": ""}, {"SINGLE": "#pragma omp single"}, [("hit", "hit")], ".c"),
    "firstprivate-local": (
        FIRSTPRIVATE_LOCAL, {"OUTSIDE": "int local = 5;", "INSIDE": ""}, {"OUTSIDE": "", "INSIDE": "int local = 5;"},
        [("use", "change")], ".c"),
    "orphaned-reference": (
        ORPHANED_REFERENCE, {"SHARING": "shared(x)"}, {"SHARING": ""}, [("bump", "reset")], ".cpp"),
    "pointer-halves": (POINTER_HALVES, {"SECOND": "16"}, {"SECOND": "32"}, [("scale", "scale")], ".c"),
    "single-nowait": (SINGLE_NOWAIT, {"SYNC": ""}, {"SYNC": "#pragma omp barrier"}, [("set", "get")], ".c"),
    "worksharing-nowait": (WORKSHARING_TASKS, {"NOWAIT": "nowait"}, {"NOWAIT": ""}, [("fill", "show")], ".c"),
    "transitive-depend": (TRANSITIVE, {"LAST": "a"}, {"LAST": "b"}, [("sety", "both")], ".c"),
}

# Race-free programs with no racy twin: what the walk must not mistake for a race.
RACE_FREE = {
    "fibonacci": """\
#include <stdio.h>

static int fib(int n)
{
    int x, y;
    if (n < 2)
        return n;
#pragma omp task shared(x)
    x = fib(n - 1);
#pragma omp task shared(y)
    y = fib(n - 2);
#pragma omp taskwait
    return x + y;
}

int main(void)
{
    int r = 0;
#pragma omp parallel
#pragma omp single
    r = fib(20);
    printf("%d\\n", r);
    return 0;
}
""",
    "inout-chain-in-a-loop": """\
#include <stdio.h>

int main(void)
{
    int acc = 0;
#pragma omp parallel
#pragma omp single
    {
        for (int i = 0; i < 10; i++) {
#pragma omp task depend(inout: acc) shared(acc)
            acc += i;
        }
#pragma omp task depend(in: acc) shared(acc)
        printf("%d\\n", acc);
    }
    return 0;
}
""",
    "one-thread-creates-it": """\
#include <stdio.h>
#include <omp.h>

int main(void)
{
    int hits = 0;
#pragma omp parallel
    {
        if (omp_get_thread_num() == 0) {
#pragma omp task shared(hits)
            hits += 1;
        }
    }
    printf("%d\\n", hits);
    return 0;
}
""",
    "one-iteration-writes": """\
#include <stdio.h>

int main(void)
{
    int picked = 0;
#pragma omp parallel
#pragma omp single
    for (int i = 0; i < 8; i++) {
#pragma omp task firstprivate(i) shared(picked)
        if (i == 3)
            picked += i;
    }
    printf("%d\\n", picked);
    return 0;
}
""",
    "lock-in-tasks": """\
#include <stdio.h>
#include <omp.h>

int main(void)
{
    int total = 0;
    omp_lock_t guard;
    omp_init_lock(&guard);
#pragma omp parallel
#pragma omp single
    for (int i = 0; i < 8; i++) {
#pragma omp task shared(total, guard) firstprivate(i)
        {
            omp_set_lock(&guard);
            total += i;
            omp_unset_lock(&guard);
        }
    }
    omp_destroy_lock(&guard);
    printf("%d\\n", total);
    return 0;
}
""",
    "taskwait-in-each-iteration": """\
#include <stdio.h>

int main(void)
{
    int v = 0, w = 0;
#pragma omp parallel
#pragma omp single
    for (int i = 0; i < 8; i++) {
#pragma omp task shared(v) firstprivate(i)
        v += i;
#pragma omp taskwait
        w += v;
    }
    printf("%d %d\\n", v, w);
    return 0;
}
""",
}


def program(template: str, fills: dict[str, str]) -> str:
    text = template
    for key, value in fills.items():
        text = text.replace(f"@{key}@", value)
    assert "@" not in text.replace('"%', "")
    return text


def marker_line(text: str, name: str) -> int:
    found = [n for n, line in enumerate(text.splitlines(), 1) if f"/*{name}*/" in line]
    assert len(found) == 1, name
    return found[0]


def task_races(text: str, suffix: str) -> list:
    """What taskraces.find reports, through the scan's own parse of the file."""
    report = scan_source("case" + suffix, text.encode())
    assert not report.errors, report.errors
    return [r for r in report.region_races if r.code == "RegionRace"]


def compile_ok(text: str, suffix: str, tmp_path: Path) -> None:
    source = tmp_path / ("program" + suffix)
    source.write_text(text)
    compiler = ["clang++-19", "-std=c++17"] if suffix == ".cpp" else ["clang-19", "-std=c11"]
    done = subprocess.run([*compiler, "-fopenmp", "-Wall", "-Werror", "-c", str(source), "-o", str(tmp_path / "p.o")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_racy_program_reports_the_marked_lines(name, tmp_path):
    template, racy, _, pairs, suffix = CASES[name]
    text = program(template, racy)
    compile_ok(text, suffix, tmp_path)
    found = {r.lines for r in task_races(text, suffix)}
    expected = {(marker_line(text, a), marker_line(text, b)) for a, b in pairs}
    assert found == expected, [r.text() for r in task_races(text, suffix)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_race_free_twin_reports_nothing(name, tmp_path):
    template, _, safe, _, suffix = CASES[name]
    text = program(template, safe)
    compile_ok(text, suffix, tmp_path)
    assert [r.text() for r in task_races(text, suffix)] == []


def line_of(text: str, words: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.strip() == words)


@pytest.mark.parametrize("name", sorted(RACE_FREE))
def test_race_free_program_reports_nothing(name, tmp_path):
    text = RACE_FREE[name]
    compile_ok(text, ".c", tmp_path)
    assert [r.text() for r in task_races(text, ".c")] == []


def test_messages_say_how_the_accesses_meet():
    text = program(GRANDCHILDREN, CASES["taskgroup-grandchildren"][1])
    (race,) = task_races(text, ".c")
    assert (race.name, race.first_access, race.second_access) == ("cells", "write of cells[k]", "read of cells[k]")
    assert f"taskwait at line {line_of(text, '#pragma omp taskwait')}" in race.meet
    assert f"task at line {line_of(text, '#pragma omp task firstprivate(lo, hi)')}" in race.meet
    text = program(LOOP_COUNT, {"GUARD": ""})
    (race,) = task_races(text, ".c")
    assert "every iteration of the loop" in race.meet
    assert race.region_line == line_of(text, "#pragma omp task firstprivate(i) shared(evens)")


@pytest.mark.parametrize("name", ["taskwait", "loop-elements", "orphaned-reference"])
def test_check_exit_codes(name, tmp_path, capsys):
    template, racy, safe, pairs, suffix = CASES[name]
    for fills, code in ((racy, 1), (safe, 0)):
        path = tmp_path / (("racy" if code else "safe") + suffix)
        text = program(template, fills)
        path.write_text(text)
        capsys.readouterr()
        assert main(["check", str(path), "--format", "json"]) == code
        report = json.loads(capsys.readouterr().out)
        errors = [f for f in report["findings"] if f["level"] == "error"]
        if code:
            a, b = pairs[0]
            assert [f["accesses"] for f in errors] == [[[marker_line(text, a), marker_line(text, b)]]]
        else:
            assert errors == []


def test_standalone_directives_stand_in_their_block():
    """A taskwait closing a loop body waits in every iteration; one after the loop does not."""
    text = (
        "void f(double *v, int n) {\n"
        "  for (int i = 0; i < n; i++) {\n"
        "    v[i] = 1;\n"
        "#pragma omp taskwait\n"
        "  }\n"
        "#pragma omp barrier\n"
        "}\n")
    report = scan_source("case.c", text.encode())
    assert not report.errors
    from ompilot.analysis import frontend, scan
    tu = frontend.parse("case.c", scan._flags("case.c", "c", scan.ScanSettings()), text.encode())
    functions = {f.name: f for f in tu.functions if f.body is not None}
    fc = constructs.build(list(functions.values()), {4: "#pragma omp taskwait", 6: "#pragma omp barrier"},
                          text.splitlines())
    placed = taskorder.standalone_by_block(functions, fc)
    body = functions["f"].body
    loop_body = body.stmts[0].body
    assert [c.line for c in placed[id(loop_body)]] == [4]
    assert [c.line for c in placed[id(body)]] == [6]
