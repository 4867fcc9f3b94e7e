"""`ompilot check`'s levels, and OpenMP's synchronisation and data-sharing
rules inside an existing parallel loop (issue 13).

An error is a race the analysis can show (both accesses, and why they meet);
"cannot prove race-free" and output from several threads are warnings, which
fail the run only with --strict. Each false-alarm pattern of the race corpus
has a small program here that must give no error, beside its racy twin that
must still give one. Real files, the real analysis, in-process `main(argv)`.
"""

from __future__ import annotations

import json

import pytest

from ompilot.cli.main import main


def check(tmp_path, capsys, source: str, *flags: str, name: str = "t.c") -> tuple[int, dict]:
    path = tmp_path / name
    path.write_text(source)
    capsys.readouterr()
    code = main(["check", str(path), "--format", "json", *flags])
    return code, json.loads(capsys.readouterr().out)


def at_level(report: dict, level: str) -> list[dict]:
    return [f for f in report["findings"] if f["level"] == level]


def errors(tmp_path, capsys, source: str, name: str = "t.c") -> list[dict]:
    code, report = check(tmp_path, capsys, source, name=name)
    found = at_level(report, "error")
    assert code == (1 if found else 0), report
    assert not report["errors"], report["errors"]  # the file itself was analysed
    return found


# ------------------------------------------------------------------ the levels

PROVEN_RACE = """\
static double v[500];
void shift(void) {
#pragma omp parallel for
    for (int i = 1; i < 500; i++)
        v[i] = v[i - 1] * 0.5;
}
"""

# y and x may overlap (no caller in view): not proven race-free, no race shown
MAYBE_ALIASED = """\
void axpy(double *y, const double *x, double a, int n) {
#pragma omp parallel for
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}
"""

OPAQUE_CALL = """\
extern double lookup(int k);
static double out[300];
void fill(void) {
#pragma omp parallel for
    for (int i = 0; i < 300; i++)
        out[i] = lookup(i);
}
"""


def test_a_race_the_analysis_shows_is_an_error_with_both_accesses(tmp_path, capsys):
    code, report = check(tmp_path, capsys, PROVEN_RACE)
    assert code == 1
    [race] = at_level(report, "error")
    assert (race["line"], race["rule"]) == (3, "RaceInPragma")
    assert "distance 1" in race["message"] and "(line 5)" in race["message"]
    assert race["accesses"] == [[5, 5]]
    assert report["summary"]["errors"] == 1


@pytest.mark.parametrize("source, cause", [(MAYBE_ALIASED, "may alias"), (OPAQUE_CALL, "lookup")])
def test_an_unproven_pragma_is_a_warning_that_fails_only_with_strict(tmp_path, capsys, source, cause):
    code, report = check(tmp_path, capsys, source)
    assert code == 0, report
    assert at_level(report, "error") == []
    [warning] = at_level(report, "warning")
    assert warning["rule"] == "PragmaNotProven" and cause in warning["message"]
    assert warning["line"] == (2 if source is MAYBE_ALIASED else 4)
    assert report["summary"]["warnings"] == 1
    code, _ = check(tmp_path, capsys, source, "--strict")
    assert code == 1


def test_warning_in_text_output(tmp_path, capsys):
    (tmp_path / "t.c").write_text(MAYBE_ALIASED)
    capsys.readouterr()
    code = main(["check", str(tmp_path / "t.c")])
    out = capsys.readouterr().out
    assert code == 0
    assert f"{tmp_path / 't.c'}:2:1: warning: existing '#pragma omp parallel for' is not proven race-free" in out
    assert out.rstrip().endswith("1 file checked: 1 warning")


# ----------------------------------------------------------- output in a loop

PROGRESS = """\
#include <stdio.h>
static double sq[1000];
void squares(void) {
#pragma omp parallel for
    for (int i = 0; i < 1000; i++) {
        sq[i] = (double)i * i;
        if (i % 100 == 0)
            printf("row %d\\n", i);
    }
}
"""

PROGRESS_COUNTED = PROGRESS.replace('printf("row %d\\n", i);', '{ printf("row %d\\n", i); shown = shown + 1; }').replace(
    "static double sq[1000];", "static double sq[1000];\nstatic int shown;")


def test_output_from_a_parallel_loop_is_a_warning_naming_the_call(tmp_path, capsys):
    code, report = check(tmp_path, capsys, PROGRESS)
    assert code == 0 and at_level(report, "error") == []
    [warning] = at_level(report, "warning")
    assert warning["rule"] == "OutputMayInterleave"
    assert "call to printf (line 8)" in warning["message"] and "interleave" in warning["message"]
    assert check(tmp_path, capsys, PROGRESS, "--strict")[0] == 1


def test_output_beside_a_shared_counter_is_still_an_error(tmp_path, capsys):
    [race] = errors(tmp_path, capsys, PROGRESS_COUNTED)
    assert "shown" in race["message"]


# ------------------------------------------------------ collapse and ordered

COLLAPSED = """\
void halve(double m[40][40]) {
    int r, c;
#pragma omp parallel for collapse(2)
    for (r = 0; r < 40; r++)
        for (c = 0; c < 40; c++)
            m[r][c] = m[r][c] * 0.5;
}
"""


def test_counters_of_collapsed_loops_are_private(tmp_path, capsys):
    assert errors(tmp_path, capsys, COLLAPSED) == []
    [race] = errors(tmp_path, capsys, COLLAPSED.replace(" collapse(2)", ""))
    assert "c is shared" in race["message"] and "private(c)" in race["message"]


ORDERED_LEDGER = """\
#include <stdio.h>
static double cost(int k) { return (k % 7) * 0.25; }
int main(void) {
    static double after[200];
    double total = 0.0;
    int n = 0;
#pragma omp parallel for ordered
    for (int k = 0; k < 200; k++) {
        double c = cost(k);
#pragma omp ordered
        {
            total += c;
            after[n++] = total;
        }
    }
    printf("%f %d %f\\n", total, n, after[7]);
    return 0;
}
"""

ORDERED_LEDGER_RACY = ORDERED_LEDGER.replace("""        double c = cost(k);
#pragma omp ordered
        {
            total += c;""", """        double c = cost(k);
        total += c;
#pragma omp ordered
        {""")


def test_an_ordered_region_runs_in_iteration_order(tmp_path, capsys):
    assert errors(tmp_path, capsys, ORDERED_LEDGER) == []
    [race] = errors(tmp_path, capsys, ORDERED_LEDGER_RACY)
    assert "total" in race["message"]


ORDERED_SCAN = """\
static double cum[129], w[128];
void running(void) {
#pragma omp parallel for ordered
    for (int b = 0; b < 128; b++) {
        double x = w[b] * 2.0;
#pragma omp ordered
        cum[b + 1] = cum[b] + x;
    }
}
"""


def test_a_dependence_inside_the_ordered_region_is_no_race(tmp_path, capsys):
    assert errors(tmp_path, capsys, ORDERED_SCAN) == []
    without = ORDERED_SCAN.replace("#pragma omp ordered\n        cum", "        cum")
    [race] = errors(tmp_path, capsys, without)
    assert "dependence on cum" in race["message"]


# ------------------------------------------------ threadprivate, critical, atomic, locks

THREADPRIVATE = """\
static int visits;
#pragma omp threadprivate(visits)
static void visit(void) { visits++; }
int main(void) {
    int i;
#pragma omp parallel for
    for (i = 0; i < 100; i++)
        visit();
    return 0;
}
"""


def test_threadprivate_variables_are_per_thread(tmp_path, capsys):
    assert errors(tmp_path, capsys, THREADPRIVATE) == []
    [race] = errors(tmp_path, capsys, THREADPRIVATE.replace("#pragma omp threadprivate(visits)\n", ""))
    assert "visits" in race["message"]


CRITICAL_CALLEES = """\
#include <stdio.h>
static long level = 1000;
static void add(int u)
{
#pragma omp critical(level)
    level += u;
}
static void take(int u)
{
#pragma omp critical(level)
    level -= u;
}
int main(void) {
    int k;
#pragma omp parallel for
    for (k = 0; k < 600; k++) {
        if (k % 2)
            add(k % 9);
        else
            take(k % 4);
    }
    printf("%ld\\n", level);
    return 0;
}
"""


def test_critical_sections_of_one_name_exclude_each_other(tmp_path, capsys):
    assert errors(tmp_path, capsys, CRITICAL_CALLEES) == []
    other_name = CRITICAL_CALLEES.replace("critical(level)\n    level -= u;", "critical(other)\n    level -= u;")
    [race] = errors(tmp_path, capsys, other_name)
    assert "level" in race["message"]


CRITICAL_MIN = """\
#include <stdio.h>
static double d[400];
int main(void) {
    double low = 1e9;
    int at = -1;
    for (int k = 0; k < 400; k++)
        d[k] = (k * 37) % 101;
#pragma omp parallel for
    for (int k = 0; k < 400; k++) {
#pragma omp critical
        {
            if (d[k] < low || (d[k] == low && k < at)) {
                low = d[k];
                at = k;
            }
        }
    }
    printf("%d %f\\n", at, low);
    return 0;
}
"""

CRITICAL_MIN_RACY = CRITICAL_MIN.replace("""#pragma omp critical
        {
            if""", """        if (d[k] <= low)
#pragma omp critical
        {
            if""")


def test_a_critical_section_protects_only_what_is_inside(tmp_path, capsys):
    assert errors(tmp_path, capsys, CRITICAL_MIN) == []
    [race] = errors(tmp_path, capsys, CRITICAL_MIN_RACY)
    # the write inside the critical section meets the test outside it
    assert "low is shared: one thread writes it at line 14 while another reads or writes it at line 10" in race["message"]
    assert race["accesses"] == [[14, 10]]


ATOMIC = """\
#include <stdio.h>
static int taken, full;
int main(void) {
    int i;
#pragma omp parallel for
    for (i = 0; i < 3000; i++) {
        if (i % 3 == 0) {
            int now;
#pragma omp atomic capture
            now = ++taken;
            if (now > 500) {
#pragma omp atomic write
                full = 1;
            }
        }
    }
    printf("%d %d\\n", taken, full);
    return 0;
}
"""

ATOMIC_RACY = ATOMIC.replace("""            int now;
#pragma omp atomic capture
            now = ++taken;
            if (now > 500) {""", """#pragma omp atomic
            taken++;
            if (taken > 500) {""")


def test_atomic_accesses_do_not_race_with_each_other(tmp_path, capsys):
    assert errors(tmp_path, capsys, ATOMIC) == []
    [race] = errors(tmp_path, capsys, ATOMIC_RACY)
    assert "taken" in race["message"]


LOCKED = """\
#include <stdio.h>
#include <omp.h>
static int counts[8];
static long sum;
static void tally(const int *v, int n, omp_lock_t *lock) {
    int i;
#pragma omp parallel for
    for (i = 0; i < n; i++) {
        int b = v[i] % 8;
        omp_set_lock(lock);
        counts[b]++;
        sum += v[i];
        omp_unset_lock(lock);
    }
}
int main(void) {
    static int v[1000];
    omp_lock_t lock;
    for (int i = 0; i < 1000; i++)
        v[i] = i * 3;
    omp_init_lock(&lock);
    tally(v, 1000, &lock);
    omp_destroy_lock(&lock);
    printf("%d %ld\\n", counts[2], sum);
    return 0;
}
"""

LOCKED_RACY = LOCKED.replace("""        sum += v[i];
        omp_unset_lock(lock);""", """        omp_unset_lock(lock);
        sum += v[i];""")


def test_accesses_between_set_and_unset_of_one_lock_are_protected(tmp_path, capsys):
    assert errors(tmp_path, capsys, LOCKED) == []
    [race] = errors(tmp_path, capsys, LOCKED_RACY)
    assert "sum" in race["message"] and "counts" not in race["message"]


# ------------------------------------------------------------- simd and target

SAFELEN = """\
static float a[512];
void lag(void) {
    int i;
#pragma omp simd safelen(3)
    for (i = 0; i < 509; i++)
        a[i + 3] = a[i] * 0.5f;
}
"""


def test_simd_safelen_at_most_the_dependence_distance_is_safe(tmp_path, capsys):
    assert errors(tmp_path, capsys, SAFELEN) == []
    [race] = errors(tmp_path, capsys, SAFELEN.replace("safelen(3)", "safelen(6)"))
    assert "distance 3" in race["message"]
    # without safelen any number of iterations may run together
    assert errors(tmp_path, capsys, SAFELEN.replace(" safelen(3)", ""))


TARGET_FLAG = """\
static int any_negative(const int *v, int n) {
    int flag = 0;
    int i;
#pragma omp target teams distribute parallel for map(to: v[0:n]) map(tofrom: flag)
    for (i = 0; i < n; i++)
        if (v[i] < 0) {
#pragma omp atomic write
            flag = 1;
        }
    return flag;
}
int main(void) {
    static int v[100];
    v[40] = -2;
    return any_negative(v, 100) ? 0 : 1;
}
"""


def test_an_atomic_write_in_a_target_loop_is_no_race(tmp_path, capsys):
    assert errors(tmp_path, capsys, TARGET_FLAG) == []
    racy = TARGET_FLAG.replace("#pragma omp atomic write\n", "").replace(" map(tofrom: flag)", "")
    [race] = errors(tmp_path, capsys, racy)
    assert "flag" in race["message"]
