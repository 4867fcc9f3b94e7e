"""False alarms of `ompilot check` found on public OpenMP codes (issue 13:
"a false alarm found later is a bug with its own regression program").

Each race-free program below is written in the shape of code that check
called racy; its racy twin differs only where the race is. Every program is
compiled with clang-19 -fopenmp and gcc -fopenmp first, so the OpenMP in it is
real; then check must report no error on the race-free one and an error
naming the marked line (`/*R*/`) on the racy one.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ompilot.cli.main import main

HEADER = "#include <math.h>\n#include <stdio.h>\n#include <omp.h>\n"

# An array declared in the loop body: each iteration has its own (was: "needs private").
BODY_ARRAY = HEADER + """\
void window_sums(const double *src, double *dst, int n)
{
    DECL_OUTSIDE
#pragma omp parallel for
    for (int k = 0; k < n; ++k) {
        DECL_INSIDE
        for (int j = 0; j < 8; ++j)
            window[j] = src[8 * k + j];   /*R*/
        double s = 0.0;
        for (int j = 0; j < 8; ++j)
            s += window[j];
        dst[k] = s;
    }
}
"""

# Scalars declared inside the parallel region around a worksharing loop: private
# to each thread (was: "scalar best is read before it is written ... shared").
REGION_SCALARS = HEADER + """\
void smallest(const double *v, int n, double *best_of, int *where_of)
{
    OUTSIDE
#pragma omp parallel
    {
        INSIDE
        int tid = omp_get_thread_num();
#pragma omp for
        for (int i = 0; i < n; i++) {
            if (v[i] < best) {
                best = v[i];              /*R*/
                where = i;
            }
        }
        best_of[tid] = best;
        where_of[tid] = where;
    }
}
"""

# A thread-local running value named in the region's private clauses.
REGION_CLAUSE = HEADER + """\
void damped(const double *v, int n, double *best_of)
{
    double best = 1e300;
    int tid;
#pragma omp parallel CLAUSE
    {
        tid = omp_get_thread_num();
#pragma omp for
        for (int i = 0; i < n; i++)
            best = 0.5 * best + v[i];     /*R*/
        best_of[tid] = best;
    }
}
"""

# An orphaned worksharing loop: the function's locals are on each calling thread's stack.
ORPHANED = HEADER + """\
static double carry_out;
void running(const double *v, double *out, int n)
{
    DECL
#pragma omp for
    for (int i = 0; i < n; i++) {
        carry = carry * 0.5 + v[i];       /*R*/
        out[i] = carry;
    }
}
"""

# A temporary written and then read on one branch of the body of a simd loop
# (was: "scale is read before it is written in the same iteration").
BRANCH_TEMPORARY = HEADER + """\
void limit(const double (*field)[64], double (*out)[64], int rows)
{
    double slope, scale = 1.0;
#pragma omp parallel for private(slope, scale)
    for (int r = 0; r < rows; r++) {
#pragma omp simd
        for (int c = 1; c < 64; c++) {
            slope = field[r][c] - field[r][c - 1];
            if (fabs(slope) < 1.0) {
                out[r][c] = slope;
            } else {
                BRANCH
                out[r][c] = slope * scale;      /*R*/
            }
        }
    }
}
"""


def compile_both(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "program.c"
    path.write_text(source)
    for cc in ("clang-19", "gcc"):
        done = subprocess.run([cc, "-std=c11", "-fopenmp", "-Wall", "-Wextra", "-c", str(path), "-o", str(tmp_path / "p.o")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return path


def check_errors(capsys, path: Path) -> tuple[int, list[dict]]:
    capsys.readouterr()
    code = main(["check", str(path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [f for f in report["findings"] if f["level"] == "error"]


def marked_line(source: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if "/*R*/" in line)


def assert_race_free(capsys, tmp_path, source):
    code, errors = check_errors(capsys, compile_both(tmp_path, source))
    assert errors == [] and code == 0, errors


def assert_racy(capsys, tmp_path, source):
    code, errors = check_errors(capsys, compile_both(tmp_path, source))
    assert code == 1 and errors
    lines = {line for e in errors for pair in e.get("accesses") or () for line in pair} | {e["line"] for e in errors}
    assert marked_line(source) in lines, errors


def test_array_declared_in_loop_body_is_private(capsys, tmp_path):
    assert_race_free(capsys, tmp_path, BODY_ARRAY.replace("DECL_OUTSIDE", "").replace("DECL_INSIDE", "double window[8];"))


def test_array_declared_before_parallel_loop_races(capsys, tmp_path):
    assert_racy(capsys, tmp_path, BODY_ARRAY.replace("DECL_OUTSIDE", "double window[8];").replace("DECL_INSIDE", ""))


def test_scalars_declared_inside_parallel_region_are_private_to_the_worksharing_loop(capsys, tmp_path):
    inside = "double best = 1e300;\n        int where = -1;"
    assert_race_free(capsys, tmp_path, REGION_SCALARS.replace("OUTSIDE", "").replace("INSIDE", inside))


def test_scalars_declared_before_parallel_region_race_in_the_worksharing_loop(capsys, tmp_path):
    outside = "double best = 1e300;\n    int where = -1;"
    assert_racy(capsys, tmp_path, REGION_SCALARS.replace("OUTSIDE", outside).replace("INSIDE", ""))


@pytest.mark.parametrize("clause", ["private(best, tid)", "firstprivate(best) private(tid)"])
def test_region_private_clauses_reach_the_worksharing_loop(capsys, tmp_path, clause):
    assert_race_free(capsys, tmp_path, REGION_CLAUSE.replace("CLAUSE", clause))


def test_region_without_private_clause_shares_the_scalar(capsys, tmp_path):
    assert_racy(capsys, tmp_path, REGION_CLAUSE.replace("CLAUSE", "private(tid)"))


def test_orphaned_worksharing_loop_locals_belong_to_each_thread(capsys, tmp_path):
    assert_race_free(capsys, tmp_path, ORPHANED.replace("DECL", "double carry = 0.0;").replace("carry_out", "unused_out"))


def test_orphaned_worksharing_loop_on_a_global_races(capsys, tmp_path):
    assert_racy(capsys, tmp_path, ORPHANED.replace("DECL", "").replace("carry_out", "carry"))


def test_temporary_written_then_read_on_one_branch_is_not_carried(capsys, tmp_path):
    assert_race_free(capsys, tmp_path, BRANCH_TEMPORARY.replace("BRANCH", "scale = 1.0 / fabs(slope);"))


def test_temporary_read_before_its_write_on_the_branch_is_carried(capsys, tmp_path):
    source = BRANCH_TEMPORARY.replace("BRANCH", "scale = 0.5 * scale + 1.0 / fabs(slope);")
    code, errors = check_errors(capsys, compile_both(tmp_path, source))
    assert code == 1 and any("scale" in e["message"] for e in errors), errors


# An inner loop's counter declared before the region: shared by the team of the
# worksharing loop (C and C++ have no rule making it private), so every thread writes it.
INNER_COUNTER = HEADER + """\
void paint(double *grid, int n)
{
    int k, kt;
#pragma omp parallel
    {
#pragma omp for PRIVATE
        for (k = 0; k < n - 1; k++) {
            if (grid[k] > 0.0) {
                for (kt = k; kt <= k + 1; kt++)   /*R*/
                    grid[n + k + kt] = 1.0;
            }
        }
    }
}
"""


def test_inner_counter_shared_by_the_team_races(capsys, tmp_path):
    assert_racy(capsys, tmp_path, INNER_COUNTER.replace("PRIVATE", ""))


def test_inner_counter_made_private_by_the_loop_directive(capsys, tmp_path):
    assert_race_free(capsys, tmp_path, INNER_COUNTER.replace("PRIVATE", "private(kt)"))


# A branch taken only when the team has one thread (LULESH's IntegrateStressForElems
# shape): with several threads each element writes its own slice; with one, the loop
# adds through a shared scratch array. Was: "scalar local is read before it is written".
ONE_THREAD = HEADER + """\
static void spread(const double *w, double *out)
{
    for (int j = 0; j < 4; j++)
        out[j] = w[j] * 0.25;
}

void scatter(const double *w, double *own, double *node, const int *nodes, int n)
{
    int team = omp_get_max_threads();
    double local[4];
    STORE
#pragma omp parallel for CLAUSE
    for (int e = 0; e < n; e++) {
        if (COND) {
            spread(&w[4 * e], &own[4 * e]);
        } else {
            spread(&w[4 * e], local);     /*R*/
            for (int j = 0; j < 4; j++)
                node[nodes[4 * e + j]] += local[j];
        }
    }
}
"""


def one_thread(cond: str, clause: str = "", store: str = "") -> str:
    return ONE_THREAD.replace("COND", cond).replace("CLAUSE", clause).replace("STORE", store)


@pytest.mark.parametrize("cond", ["team > 1", "1 < team", "team != 1", "!(team <= 1)", "omp_get_num_threads() >= 2"])
def test_shared_writes_only_on_the_one_thread_branch_cannot_race(capsys, tmp_path, cond):
    assert_race_free(capsys, tmp_path, one_thread(cond))


def test_shared_writes_on_the_many_threads_branch_race(capsys, tmp_path):
    source = one_thread("team == 1")
    assert_racy(capsys, tmp_path, source)
    _, errors = check_errors(capsys, tmp_path / "program.c")
    assert any("array local" in e["message"] for e in errors), errors  # not "scalar local"


@pytest.mark.parametrize("cond, clause, store", [
    ("team > 2", "", ""),                          # two threads take the else branch too
    ("omp_get_max_threads() > 1", "", ""),         # inside the region: the next level's count, not this team's
    ("team > 1", "num_threads(4)", ""),            # the clause sets the team, whatever team says
    ("team > 1", "", "team = team - 1;"),          # stored again after the call
    ("team > 1", "", "omp_set_num_threads(4);"),   # the count changed between the call and the region
])
def test_conditions_not_implying_one_thread_still_race(capsys, tmp_path, cond, clause, store):
    assert_racy(capsys, tmp_path, one_thread(cond, clause, store))
