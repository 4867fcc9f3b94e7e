"""private or lastprivate: is a variable's value after a loop ever read?

Each case is a small program; a comment `/* L:name */` on a loop's line names
the loop, and the expectation says which variables that loop's clauses must
make lastprivate (the value after the loop is read), which must be private
(the value is dead), or which reason must refuse the loop. The liveness is
the real analysis of analysis/liveness.py, through `scan_source`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from programs import build, output

from ompilot.analysis import ir
from ompilot.analysis.liveness import FunctionEvents
from ompilot.analysis.scan import ScanSettings, scan_source
from ompilot.suggest.engine import suggest_source

EVERY_LOOP = ScanSettings(min_work=0)  # pragmas even on the tiny loops of these cases


@dataclass
class Expect:
    lastprivate: set[str] = field(default_factory=set)  # exactly these
    private: set[str] = field(default_factory=set)  # at least these (and not lastprivate)
    refused: str | None = None  # a reason code the loop must carry instead


@dataclass
class Case:
    name: str
    source: str
    loops: dict[str, Expect]
    path: str = "case.c"


ISSUE_KERNEL = """#include <stdio.h>
#define N 300
static double A[N][N], x[N], y[N];
void kernel(int n, double (*a)[N], double *xx, double *yy)
{
    int r, s;
    double t;
    for (r = 0; r < n; r++) {      /* L:outer */
        t = 0.0;
        for (s = 0; s < n; s++)    /* L:inner */
            t += a[r][s] * xx[s];
        yy[r] = t;
    }
    for (r = 0; r < n; r++)        /* L:second */
        for (s = 0; s < n; s++)    /* L:second_inner */
            a[r][s] = a[r][s] * 0.5;
}
int main(void)
{
    int i, j;
    for (i = 0; i < N; i++) {
        x[i] = i % 7;
        for (j = 0; j < N; j++)
            A[i][j] = (i + 2 * j) % 11;
    }
    kernel(N, A, x, y);
    double sum = 0;
    for (i = 0; i < N; i++)
        sum += y[i] + A[i][3];
    printf("%.6f\\n", sum);
    return 0;
}
"""

CASES = [
    Case("issue example: C89 counters and temporary", ISSUE_KERNEL, {
        "outer": Expect(private={"s", "t"}),
        "inner": Expect(),
        "second": Expect(private={"s"}),
        "second_inner": Expect(),
    }),
    Case("counter and temporary reset by the next loop", """
void f(double *restrict a, double *restrict b, int n)
{
    int i;
    double t;
    for (i = 0; i < n; i++) {   /* L:first */
        t = a[i] * 2.0;
        a[i] = t + 1.0;
    }
    for (i = 0; i < n; i++) {   /* L:second */
        t = b[i] * 3.0;
        b[i] = t;
    }
}
""", {"first": Expect(private={"t"}), "second": Expect(private={"t"})}),
    Case("counter printed after the loop", """
#include <stdio.h>
void f(double *a, int n)
{
    int i;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    printf("%d\\n", i);
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("counter copied after the loop", """
int f(double *a, int n)
{
    int i, last;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    last = i;
    return last;
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("temporary read after the loop on one path only", """
#include <stdio.h>
void f(double *restrict a, double *restrict b, int n, int verbose)
{
    int i;
    double t;
    for (i = 0; i < n; i++) {   /* L:loop */
        t = a[i] * 0.5;
        b[i] = t;
    }
    if (verbose)
        printf("%f\\n", t);
    for (i = 0; i < n; i++)     /* L:after */
        b[i] += 1.0;
}
""", {"loop": Expect(lastprivate={"t"}), "after": Expect()}),
    Case("reset inside an if only", """
#include <stdio.h>
void f(double *restrict a, double *restrict b, int n, int reset)
{
    int i;
    double t;
    for (i = 0; i < n; i++) {   /* L:loop */
        t = a[i] * 0.5;
        b[i] = t;
    }
    if (reset) {
        t = 0.0;
        i = 0;
    }
    printf("%f %d\\n", t, i);
}
""", {"loop": Expect(lastprivate={"i", "t"})}),
    Case("reset on every path of an if-else", """
#include <stdio.h>
void f(double *restrict a, double *restrict b, int n, int reset)
{
    int i;
    double t;
    for (i = 0; i < n; i++) {   /* L:loop */
        t = a[i] * 0.5;
        b[i] = t;
    }
    if (reset) {
        t = 0.0;
        i = 0;
    } else {
        t = 1.0;
        i = n > 0 ? 1 : 2;
    }
    printf("%f %d\\n", t, i);
}
""", {"loop": Expect(private={"t"})}),
    Case("inner counter read by the next iteration of the outer loop", """
void f(double (*restrict a)[64], double *restrict out, int n)
{
    int r, s;
    for (r = 0; r < n; r++) {       /* L:outer */
        out[r] = s;
        for (s = 0; s < 64; s++)    /* L:inner */
            a[r][s] = a[r][s] + 1.0;
    }
}
""", {"outer": Expect(refused="ScalarDependence"), "inner": Expect(lastprivate={"s"})}),
    Case("inner temporary read by the next iteration of the outer loop", """
void f(double (*restrict a)[64], double *restrict out, int n)
{
    int r, s;
    double t = 0.0;
    for (r = 0; r < n; r++) {       /* L:outer */
        out[r] = t;
        for (s = 0; s < 64; s++) {  /* L:inner */
            t = a[r][s] * 2.0;
            a[r][s] = t;
        }
    }
}
""", {"outer": Expect(refused="ScalarDependence"), "inner": Expect(lastprivate={"t"})}),
    Case("a later loop that may run zero times does not kill", """
#include <stdio.h>
void f(double *a, int n, int m)
{
    int i, j;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    for (j = 0; j < m; j++)
        i = j;
    printf("%d\\n", i);
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("a later loop's condition reads the counter", """
void f(double *restrict a, double *restrict b, int n, int m)
{
    int i;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    for (; i < m; i++)
        b[i] = 0.0;
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("goto to a label that reads the counter", """
#include <stdio.h>
void f(double *restrict a, double *restrict b, int n)
{
    int i;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    if (a[0] < 0.0)
        goto report;
    for (i = 0; i < n; i++)
        b[i] = a[i];
    return;
report:
    printf("%d\\n", i);
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("early return on the path that reads nothing", """
#include <stdio.h>
int f(double *restrict a, int n, int quiet)
{
    int i;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    if (quiet)
        return 0;
    i = 7;
    printf("%d\\n", i);
    return 1;
}
""", {"loop": Expect()}),
    Case("early return, then a read on the other path", """
#include <stdio.h>
int f(double *restrict a, int n, int quiet)
{
    int i;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    if (quiet)
        return 0;
    printf("%d\\n", i);
    return 1;
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("the loop inside a while, counter dead after it", """
void f(double *restrict a, int n, int steps)
{
    int i, it = 0;
    while (it < steps) {
        for (i = 0; i < n; i++)   /* L:loop */
            a[i] = a[i] * 0.5;
        it++;
    }
}
""", {"loop": Expect()}),
    Case("the loop inside a while, counter read after the while", """
#include <stdio.h>
void f(double *restrict a, int n, int steps)
{
    int i, it = 0;
    while (it < steps) {
        for (i = 0; i < n; i++)   /* L:loop */
            a[i] = a[i] * 0.5;
        it++;
    }
    printf("%d\\n", i);
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("the loop inside a while, counter read later in the while body", """
void f(double *restrict a, int n, int steps)
{
    int i, it = 0, total = 0;
    while (it < steps) {
        for (i = 0; i < n; i++)   /* L:loop */
            a[i] = a[i] * 0.5;
        total += i;
        it++;
    }
    a[0] = total;
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("switch: one case reads the counter", """
#include <stdio.h>
void f(double *restrict a, int n, int mode)
{
    int i;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    switch (mode) {
    case 0:
        i = 0;
        break;
    default:
        printf("%d\\n", i);
    }
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("switch: every case resets the counter", """
#include <stdio.h>
void f(double *restrict a, int n, int mode)
{
    int i;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    switch (mode) {
    case 0:
        i = 0;
        break;
    default:
        i = 1;
    }
    printf("%d\\n", i);
}
""", {"loop": Expect()}),
    Case("a break out of a later loop skips its reset", """
#include <stdio.h>
void f(double *restrict a, int n)
{
    int i, k;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    for (k = 0; k < 4; k++) {
        if (a[k] > 1.0)
            break;
        i = k;
    }
    printf("%d\\n", i);
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("a write under && is not certain", """
#include <stdio.h>
void f(double *restrict a, int n, int c)
{
    int i;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    if (c && (i = 0))
        a[0] = 1.0;
    printf("%d\\n", i);
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("counter whose address was taken is read through the pointer", """
#include <stdio.h>
void f(double *restrict a, int n)
{
    int i;
    int *p = &i;
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    printf("%d\\n", *p);
}
""", {"loop": Expect(lastprivate={"i"})}),
    Case("a global counter stays live", """
int g;
void f(double *restrict a, int n)
{
    for (g = 0; g < n; g++)     /* L:loop */
        a[g] = 2.0 * a[g];
    for (g = 0; g < n; g++)
        a[g] += 1.0;
}
""", {"loop": Expect(lastprivate={"g"})}),
    Case("a scratch array read through a pointer after the loop is not private", """
#include <stdio.h>
void f(const double *restrict x, double *restrict y, int n)
{
    double tmp[4];
    double *view = tmp;
    for (int i = 0; i < n; i++) {   /* L:loop */
        for (int k = 0; k < 4; k++)
            tmp[k] = x[i] * (k + 1);
        y[i] = tmp[0] + tmp[3];
    }
    printf("%f\\n", view[2]);
}
""", {"loop": Expect(refused="CarriedDependence")}),
    Case("a scratch array handed to a function that only reads it stays private", """
static double first(const double *w) { return w[0] + w[1]; }
void f(const double *restrict x, double *restrict y, int n)
{
    double w[2];
    for (int i = 1; i < n; i++) {   /* L:loop */
        w[0] = x[i - 1];
        w[1] = x[i];
        y[i] = first(w);
    }
}
""", {"loop": Expect(private={"w"})}),
    Case("a scratch array handed earlier to a function that keeps it", """
#include <stdio.h>
static const double *kept;
static void remember(const double *w) { kept = w; }
void f(const double *restrict x, double *restrict y, int n)
{
    double w[2];
    remember(w);
    for (int i = 1; i < n; i++) {   /* L:loop */
        w[0] = x[i - 1];
        w[1] = x[i];
        y[i] = w[0] * w[1];
    }
    printf("%f\\n", kept[1]);
}
""", {"loop": Expect(refused="CarriedDependence")}),
    Case("do-while around the loop, counter read after it", """
#include <stdio.h>
void f(double *restrict a, int n)
{
    int k;
    do {
        for (k = 0; k < n; k++)     /* L:loop */
            a[k] += 1.0;
    } while (a[0] < 3.0);
    printf("%d\\n", k);
}
""", {"loop": Expect(lastprivate={"k"})}),
    Case("a backward goto re-runs the loops, which reset both counters", """
void f(double *restrict a, int n)
{
    int i, j;
again:
    for (i = 0; i < n; i++)         /* L:first */
        a[i] *= 0.5;
    for (j = 0; j < n; j++)         /* L:second */
        a[j] += 1.0;
    if (a[0] > 2.0)
        goto again;
}
""", {"first": Expect(), "second": Expect()}),
    Case("C++: an exception may skip the reset before the handler reads", """
#include <cstdio>
#include <stdexcept>
static void check(int v) { if (v > 1000000) throw std::runtime_error("too big"); }
void f(double *__restrict a, int n)
{
    int i = 0;
    try {
        for (i = 0; i < n; i++)     /* L:loop */
            a[i] = 2.0 * a[i];
        check(n);
        i = 5;
    } catch (const std::exception &) {
        std::printf("%d\\n", i);
    }
}
""", {"loop": Expect(lastprivate={"i"})}, path="case.cpp"),
    Case("C++: a reference parameter that is only read does not keep the counter", """
#include <cstdio>
static void show(const int &v) { std::printf("%d\\n", v); }
void f(double *__restrict a, int n)
{
    int i = 0;
    show(i);
    for (i = 0; i < n; i++)         /* L:loop */
        a[i] = 2.0 * a[i];
}
""", {"loop": Expect()}, path="case.cpp"),
    Case("C++: a counter bound to a kept reference is read after the loop", """
#include <cstdio>
static const int *watched;
static void watch(const int &v) { watched = &v; }
void f(double *__restrict a, int n)
{
    int i = 0;
    watch(i);
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    std::printf("%d\\n", *watched);
}
""", {"loop": Expect(lastprivate={"i"})}, path="case.cpp"),
    Case("C++: a counter passed by value to a function defined here is dead", """
#include <cstdio>
static int twice(int v) { return 2 * v; }
void f(double *__restrict a, int n)
{
    int i = 0;
    std::printf("%d\\n", twice(i));
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
}
""", {"loop": Expect()}, path="case.cpp"),
    Case("C++: a lambda capturing by reference keeps every variable live", """
#include <cstdio>
void f(double *__restrict a, int n)
{
    int i = 0;
    auto show = [&] { std::printf("%d\\n", i); };
    for (i = 0; i < n; i++)     /* L:loop */
        a[i] = 2.0 * a[i];
    show();
}
""", {"loop": Expect(lastprivate={"i"})}, path="case.cpp"),
]


def _marked_lines(source: str) -> dict[str, int]:
    return {m.group(1): source.count("\n", 0, m.start()) + 1 for m in re.finditer(r"/\* L:(\w+) \*/", source)}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_liveness_decides_private_or_lastprivate(case: Case):
    report = scan_source(case.path, case.source.encode(), EVERY_LOOP)
    assert not report.errors, report.errors
    by_line = {v.loop.line: v for v in report.verdicts}
    for label, expect in case.loops.items():
        verdict = by_line[_marked_lines(case.source)[label]]
        codes = [r.code for r in verdict.reasons]
        if expect.refused is not None:
            assert expect.refused in codes, (label, codes)
            assert not verdict.pragma
        else:
            assert verdict.parallel is True, (label, [str(r) for r in verdict.reasons])
            assert "ConditionalLastValue" not in codes
        clauses = verdict.clauses
        if expect.refused is None or expect.lastprivate:
            assert set(clauses.lastprivate) == expect.lastprivate, (label, clauses)
        assert expect.private <= set(clauses.private), (label, clauses)
        if verdict.pragma and expect.lastprivate:
            assert f"lastprivate({', '.join(clauses.lastprivate)})" in verdict.pragma
        if verdict.pragma and not expect.lastprivate:
            assert "lastprivate" not in verdict.pragma, (label, verdict.pragma)


def test_unknown_loop_and_unmentioned_variable():
    """A loop the graph does not hold is live (the safe answer); a variable
    never mentioned in the function is not."""
    report_source = "void f(double *a, int n) { int i; for (i = 0; i < n; i++) a[i] = 0; }\n"
    from ompilot.analysis import frontend

    tu = frontend.parse("u.c", [], report_source.encode())
    function = tu.function("f")
    events = FunctionEvents(function, is_cpp=False)
    loop = next(s for s in function.body.walk() if isinstance(s, ir.For))
    counter = next(s.var for s in function.body.walk() if isinstance(s, ir.Decl))
    stranger = ir.Var(name="zz", kind="local", type="int", line=1, is_scalar_number=True)
    other_loop = ir.For(line=1, info=loop.info, body=ir.Block(line=1, stmts=[]))
    assert events.live_after(counter, loop, []) is False
    assert events.live_after(stranger, loop, []) is False
    assert events.live_after(counter, other_loop, []) is True


# ------------------------------------------------------------------ runs


def _build_and_run(source: bytes, tmp_path, name: str, openmp: bool, threads: int = 1) -> str:
    flags = ["-O1", "-Wall", *(["-fopenmp"] if openmp else [])]
    return output(build(tmp_path, name, source, "clang-19", flags), threads=threads)


COUNTER_PROGRAM = """#include <stdio.h>
#define N 4000
static double a[N], b[N];
int main(void)
{
    int i, j;
    double t;
    for (i = 0; i < N; i++)
        a[i] = (i % 13) * 0.25;
    for (i = 0; i < N; i++) {
        t = a[i] * 3.0;
        b[i] = t - 1.0;
    }
    printf("i=%d t=%.3f\\n", i, t);
    for (j = 0; j < N; j++)
        b[j] = b[j] + a[j];
    for (j = 0; j < N; j++)
        b[j] = b[j] * 0.5;
    double s = 0;
    for (i = 0; i < N; i++)
        s += b[i];
    printf("%.6f %d\\n", s, j);
    return 0;
}
"""


POINTER_PROGRAM = """#include <stdio.h>
#define N 4000
static double a[N];
int main(void)
{
    int i;
    const int *seen = &i;
    for (i = 0; i < N; i++)
        a[i] = (i % 13) * 0.25;
    printf("%d %.3f\\n", *seen, a[N - 1]);
    return 0;
}
"""


@pytest.mark.parametrize("program,expected,lastprivates", [
    (ISSUE_KERNEL, ["private(t, s)", "#pragma omp simd reduction(+: t)"], 0),
    (COUNTER_PROGRAM, ["lastprivate(i, t)", "lastprivate(j)"], 2),
    (POINTER_PROGRAM, ["lastprivate(i)"], 1),
], ids=["issue-kernel", "counters-read-after", "counter-read-through-pointer"])
def test_suggested_pragmas_build_and_match_serial_output(program, expected, lastprivates, tmp_path):
    result = suggest_source("prog.c", program.encode(), EVERY_LOOP)
    patched = result.patched.decode()
    for text in expected:
        assert text in patched, patched
    assert patched.count("lastprivate") == lastprivates, patched
    serial = _build_and_run(program.encode(), tmp_path, "serial", openmp=False)
    for threads in (2, 4):
        assert _build_and_run(result.patched, tmp_path, f"par{threads}", openmp=True, threads=threads) == serial
