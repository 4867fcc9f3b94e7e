"""Each policy of the nest planner alone, on small C functions analysed for real.

A case is scanned as usual while the planner is recorded; the loop under test
is then taken back to its decision (a fresh verdict, no policy applied) and
given to one policy, with the planner's position (`parallel_above`) set as
the case needs. Asserted: whether the policy settles the loop, and what it
writes on the verdict; every policy also has a case it leaves alone.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ompilot.analysis import loopfacts, nest, policies, scan
from ompilot.analysis.scan import scan_source

HEAD = "#include <stdio.h>\n#include <stdlib.h>\n\n"

RACY = """void f(double *restrict a, const double *restrict b, int n) {
  double t;
  #pragma omp parallel for%s
  for (int i = 0; i < n; i++) { /*L*/
    t = b[i] * 2;
    a[i] = t * t;
  }
}
"""

ALIASING = """void f(double *a, const double *b, int n) {
  for (int i = 0; i < n; i++) /*L*/
    a[i] = b[i] * 2;
}
"""

LCG = """void f(unsigned long *a, int n, unsigned long s) {
  for (int i = 0; i < n; i++) { /*L*/
    s = s * 6364136223846793005ul + 1442695040888963407ul;
    a[i] = s >> 11;
  }
}
"""

SWEEP = """#define N 600
static double u[N][N];
void f(void) {
  for (int i = 1; i < N - 1; i++) /*L*/
    for (int j = 1; j < N - 1; j++)
      u[i][j] = 0.25 * (u[i - 1][j] + u[i + 1][j] + u[i][j - 1] + u[i][j + 1]);
}
"""

GRID = """#define ROWS %d
#define COLS 2000
static double g[ROWS][COLS], h[ROWS][COLS];
void f(void) {
  for (int i = 0; i < ROWS; i++) /*L*/
    for (int j = 0; j < COLS; j++) /*J*/
      g[i][j] = 2 * h[i][j] + %s;
}
"""

MATMUL = """#define N %d
static double A[N][N], B[N][N], C[N][N];
void f(void) {
  for (int i = 0; i < N; i++) /*L*/
    for (int j = 0; j < N; j++)
      for (int k = 0; k < N; k++)
        C[i][j] += A[i][k] * B[k][j];
}
"""


@pytest.fixture
def planned(monkeypatch):
    """planned(body, marker) -> (scope, p): the loop on the line holding
    `marker`, back at its decision, in a fresh scope (no collapsed loops, no
    user regions), after a real scan of `body`."""
    planners: list[nest.NestPlanner] = []

    class Recording(nest.NestPlanner):
        def run(self):
            planners.append(self)
            return super().run()

    monkeypatch.setattr(scan, "NestPlanner", Recording)

    def find(body: str, marker: str, parallel_above: int | None = None):
        planners.clear()
        source = HEAD + body
        report = scan_source("case.c", source.encode())
        assert not report.errors, report.errors
        lines = source.splitlines()
        found = [(pl.scope, p) for pl in planners for p in pl.planned if marker in lines[p.loop.info.line - 1]]
        assert len(found) == 1, f"no single loop line holds {marker!r}"
        scope, p = found[0]
        scope = replace(scope, collapsed=set(), user_regions=set())
        verdict = policies.first_verdict(scope, p.loop, p.decision, p.enclosing)
        return scope, replace(p, verdict=verdict, parallel_above=parallel_above)

    return find


def _kinds(verdict: loopfacts.Verdict) -> list[type]:
    return [type(r) for r in verdict.reasons]


def _untouched(scope, p) -> loopfacts.Verdict:
    return policies.first_verdict(scope, p.loop, p.decision, p.enclosing)


# ------------------------------------------------------------ existing pragma


def test_existing_pragma_reports_the_race_and_adds_the_missing_clause(planned):
    scope, p = planned(RACY % "", "/*L*/")
    assert policies.existing_pragma(scope, p) is True
    v = p.verdict
    assert v.existing is not None and v.existing.text == "#pragma omp parallel for"
    assert [type(r) for r in v.races] == [loopfacts.RaceInPragma] and "private(t)" in v.races[0].text()
    assert v.fix == "#pragma omp parallel for private(t)"
    assert v.pragma is None  # the user's pragma stays: no second one


def test_existing_pragma_fix_keeps_a_trailing_comment_last(planned):
    """The fix is the directive edited through pragmas.Directive: the clause
    goes before the comment, not into it."""
    scope, p = planned(RACY % " // hot loop", "/*L*/")
    policies.existing_pragma(scope, p)
    assert p.verdict.fix == "#pragma omp parallel for private(t) // hot loop"


def test_existing_pragma_that_is_right_has_no_race(planned):
    scope, p = planned(RACY % " private(t)", "/*L*/")
    assert policies.existing_pragma(scope, p) is True
    assert p.verdict.races == [] and p.verdict.fix is None


def test_existing_collapse_takes_the_inner_loop_out_of_planning(planned):
    body = (GRID % (1000, "1")).replace("  for (int i", "  #pragma omp parallel for collapse(2)\n  for (int i")
    scope, p = planned(body, "/*L*/")
    assert policies.existing_pragma(scope, p) is True
    inner = policies._sole_loop(p.loop.body)
    assert scope.collapsed == {id(inner)}


def test_existing_if_clause_written_as_ompilot_would_is_the_check(planned):
    scope, p = planned(ALIASING, "/*L*/")
    check = p.decision.runtime_check
    assert p.decision.parallel is None and check is not None
    spaced = check.clause().replace("(", " ( ", 1).replace(", ", " ,  ")  # other blanks, same clause
    declared = f"int {loopfacts.DISJOINT_HELPER}(const void *, size_t, const void *, size_t);\n"
    body = declared + ALIASING.replace("  for", f"  #pragma omp parallel for {spaced}\n  for")
    scope, p = planned(body, "/*L*/")
    assert policies.existing_pragma(scope, p) is True
    assert p.verdict.parallel is True and p.verdict.runtime_check == check and p.verdict.races == []


def test_no_existing_pragma_is_left_to_the_other_policies(planned):
    scope, p = planned(RACY.replace("  #pragma omp parallel for%s\n", ""), "/*L*/")
    assert policies.existing_pragma(scope, p) is False
    assert p.verdict == _untouched(scope, p) and not scope.collapsed


# ------------------------------------------------------------------ macro loop


def test_loop_written_in_a_macro_gets_nothing(planned):
    body = ("#define CLEAR(a, n) for (int i = 0; i < (n); i++) a[i] = 0\n"
            "void f(double *a, int n) {\n  CLEAR(a, n); /*L*/\n}\n")
    scope, p = planned(body, "/*L*/")
    assert policies.macro_loop(scope, p) is True
    assert _kinds(p.verdict)[-1] is loopfacts.UnsupportedConstruct


def test_loop_written_out_is_not_a_macro_loop(planned):
    scope, p = planned(ALIASING, "/*L*/")
    assert policies.macro_loop(scope, p) is False and p.verdict == _untouched(scope, p)


# ---------------------------------------------------------------------- serial


def test_serial_recurrence_is_rewritten_by_jump_ahead(planned):
    scope, p = planned(LCG, "/*L*/")
    assert p.decision.parallel is False
    assert policies.serial(scope, p) is True
    v = p.verdict
    assert v.recurrence is not None and v.recurrence.directive.startswith("#pragma omp parallel")
    assert v.wavefront is None and v.pragma is None and v.work is None  # unknown n: work unknown, taken


def test_serial_nest_with_uniform_distances_is_pipelined(planned):
    scope, p = planned(SWEEP, "/*L*/")
    assert policies.serial(scope, p) is True
    v = p.verdict
    assert v.wavefront is not None and v.recurrence is None
    assert v.work is not None and v.work >= scope.min_work
    assert loopfacts.CarriedDependence in _kinds(v)  # serial as written: the reasons stay


def test_serial_rewrite_needs_enough_work(planned):
    scope, p = planned(SWEEP.replace("#define N 600", "#define N 12"), "/*L*/")
    assert policies.serial(scope, p) is True
    assert p.verdict.wavefront is None and p.verdict.work is None


def test_serial_loop_inside_a_parallel_region_is_not_rewritten(planned):
    scope, p = planned(LCG, "/*L*/", parallel_above=1)
    assert policies.serial(scope, p) is True
    assert p.verdict.recurrence is None and p.verdict == _untouched(scope, p)


def test_each_serial_rewrite_alone(planned):
    scope, p = planned(LCG, "/*L*/")
    assert policies.wavefront_rewrite(scope, p) is False
    assert policies.recurrence_rewrite(scope, p) is True
    scope, p = planned(SWEEP, "/*L*/")
    assert policies.recurrence_rewrite(scope, p) is False
    assert policies.wavefront_rewrite(scope, p) is True


def test_parallel_loop_is_not_serial(planned):
    scope, p = planned(GRID % (1000, "1"), "/*L*/")
    assert policies.serial(scope, p) is False and p.verdict == _untouched(scope, p)


# ------------------------------------------------------------------- undecided


def test_undecided_loop_runs_behind_a_run_time_check(planned):
    scope, p = planned(ALIASING, "/*L*/")
    assert policies.undecided(scope, p) is False  # planned on: it is parallel now
    v = p.verdict
    assert v.parallel is True and v.runtime_check == p.decision.runtime_check
    assert loopfacts.PossibleAlias not in _kinds(v)


def test_no_run_time_check_inside_a_parallel_region(planned):
    scope, p = planned(ALIASING, "/*L*/", parallel_above=1)
    assert policies.undecided(scope, p) is True
    assert p.verdict.parallel is None and p.verdict.runtime_check is None


def test_decided_loop_is_not_undecided(planned):
    scope, p = planned(LCG, "/*L*/")
    assert policies.undecided(scope, p) is False and p.verdict == _untouched(scope, p)


# ------------------------------------------------------------- inside parallel


def test_inner_loop_inside_a_parallel_region_gets_simd(planned):
    scope, p = planned(GRID % (1000, "1"), "/*J*/", parallel_above=5)
    assert policies.inside_parallel(scope, p) is True
    v = p.verdict
    assert _kinds(v) == [loopfacts.InsideParallel]
    assert v.pragma == "#pragma omp simd" and v.clauses.simd


def test_inside_the_users_region_no_simd(planned):
    scope, p = planned(GRID % (1000, "1"), "/*J*/", parallel_above=5)
    scope.user_regions.add(5)
    assert policies.inside_parallel(scope, p) is True
    assert _kinds(p.verdict) == [loopfacts.InsideParallel] and p.verdict.pragma is None


def test_outside_any_region_inside_parallel_passes(planned):
    scope, p = planned(GRID % (1000, "1"), "/*J*/")
    assert policies.inside_parallel(scope, p) is False and p.verdict == _untouched(scope, p)


# ------------------------------------------------------------------------ simd


def test_simd_refuses_a_collapsed_loop_an_impure_call_and_a_short_loop(planned):
    scope, p = planned(GRID % (1000, "1"), "/*J*/", parallel_above=5)
    scope.collapsed.add(id(p.loop))
    assert policies.simd(scope, p) is False and p.verdict.pragma is None
    scope, p = planned(GRID % (1000, "rand()"), "/*J*/", parallel_above=5)
    assert policies.simd(scope, p) is False and p.verdict.pragma is None
    scope, p = planned((GRID % (1000, "1")).replace("j < COLS", "j < 4"), "/*J*/", parallel_above=5)
    assert policies.simd(scope, p) is False and p.verdict.pragma is None


# ------------------------------------------------------------- too little work


def test_too_little_work_states_the_work(planned):
    scope, p = planned((GRID % (10, "1")).replace("j < COLS", "j < 10"), "/*L*/")
    assert policies.too_little_work(scope, p) is True
    v = p.verdict
    assert v.trip_count == 10 and 0 < v.work < scope.min_work
    assert _kinds(v) == [loopfacts.TooSmall] and v.reasons[0].work == v.work and v.reasons[0].entries is None


def test_too_little_work_inside_a_loop_counts_the_entries(planned):
    body = ("#define N 10\nstatic double a[N];\nvoid f(int steps) {\n"
            "  for (int t = 0; t < 1000; t++)\n    for (int i = 0; i < N; i++) /*L*/\n      a[i] = a[i] + t;\n}\n")
    scope, p = planned(body, "/*L*/")
    assert policies.too_little_work(scope, p) is True
    reason = p.verdict.reasons[-1]
    assert isinstance(reason, loopfacts.TooSmall) and reason.entries == 1000
    assert reason.outer_line == p.enclosing[-1].info.line and reason.fork_join > 0


def test_enough_work_passes_with_its_estimate(planned):
    scope, p = planned(GRID % (1000, "1"), "/*L*/")
    assert policies.too_little_work(scope, p) is False
    assert p.verdict.work >= 1000 * 2000 and p.verdict.trip_count == 1000 and p.verdict.reasons == []


# ---------------------------------------------------------------- parallel for


def _ready(scope, p):
    """The loop as parallel_for receives it: its work and trip count stated."""
    assert policies.too_little_work(scope, p) is False
    return scope, p


def test_parallel_for_collapses_a_short_outer_loop(planned):
    scope, p = _ready(*planned(GRID % (16, "1"), "/*L*/"))
    assert policies.parallel_for(scope, p) is True
    v = p.verdict
    assert v.pragma == "#pragma omp parallel for collapse(2)" and v.collapse_max == 2
    assert scope.collapsed == {id(policies._sole_loop(p.loop.body))}


def test_parallel_for_keeps_a_long_outer_loop_alone(planned):
    scope, p = _ready(*planned(GRID % (1000, "1"), "/*L*/"))
    assert policies.collapse(scope, p) == (1, ())
    assert p.verdict.collapse_max == 2 and not scope.collapsed


def test_parallel_for_schedules_a_triangular_nest_in_small_chunks(planned):
    scope, p = _ready(*planned((GRID % (1000, "1")).replace("j = 0; j < COLS", "j = 0; j <= i"), "/*L*/"))
    policies.parallel_for(scope, p)
    assert p.verdict.clauses.schedule == "static, 16" and p.verdict.collapse_max == 1


def test_parallel_for_states_the_data_it_would_offload(planned):
    scope, p = _ready(*planned(GRID % (1000, "1"), "/*L*/"))
    policies.offload_data(scope, p.verdict, p.decision)
    assert p.verdict.data_problem is None
    assert {(d.name, d.read, d.written) for d in p.verdict.data} == {("g", False, True), ("h", True, False)}


def test_parallel_for_interchanges_and_tiles_a_large_matrix_product(planned):
    scope, p = _ready(*planned(MATMUL % 1024, "/*L*/"))
    assert policies.parallel_for(scope, p) is True
    v = p.verdict
    assert [(r.kind, r.outer.var, r.inner.line - r.outer.line) for r in v.rewrites] == [("interchange", None, 1)]
    assert v.tile == "#pragma omp tile sizes(64, 64, 64)" and len(scope.collapsed) == 2


def test_small_matrix_product_is_interchanged_not_tiled(planned):
    scope, p = _ready(*planned(MATMUL % 200, "/*L*/"))
    policies.parallel_for(scope, p)
    assert [r.kind for r in p.verdict.rewrites] == ["interchange"] and p.verdict.tile is None


def test_no_interchange_when_the_inner_loop_already_walks_memory(planned):
    scope, p = _ready(*planned((MATMUL % 200).replace("A[i][k] * B[k][j]", "A[i][k] * B[j][k]"), "/*L*/"))
    assert policies.interchange(scope, p) is None
