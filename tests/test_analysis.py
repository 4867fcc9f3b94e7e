"""Verdicts on small programs: each case is real C parsed by Clang.

Cases are data: the source, the loop (by the text on its line) and what
must come back. Status, clauses and reason codes are asserted, not wording.
"""

from __future__ import annotations

import pytest

from ompilot.analysis.scan import scan_source

HEAD = "#include <stdio.h>\n#include <stdlib.h>\n#include <math.h>\n"


def verdicts(body: str):
    source = HEAD + body
    report = scan_source("case.c", source.encode())
    assert not report.errors, report.errors
    lines = source.splitlines()
    return {lines[v.loop.line - 1].strip(): v for v in report.verdicts}


def one(body: str, marker: str):
    found = [v for text, v in verdicts(body).items() if marker in text]
    assert len(found) == 1, f"no single loop line contains {marker!r}"
    return found[0]


CASES = [
    # (name, body, loop marker, status, clauses in the pragma, reason codes)
    (
        "do-all over a runtime size",
        "void f(double *restrict a, double *restrict b, int n) {\n"
        "  for (int i = 0; i < n; i++) /*L*/ a[i] = 2 * b[i];\n}\n",
        "/*L*/", "parallel", [], [],
    ),
    (
        "flow dependence with its distance",
        "void f(double *a, int n) {\n  for (int i = 2; i < n; i++) /*L*/ a[i] = a[i-2] + 1;\n}\n",
        "/*L*/", "serial", None, ["CarriedDependence"],
    ),
    (
        "sum reduction",
        "double f(const double *a, int n) {\n  double s = 0;\n"
        "  for (int i = 0; i < n; i++) /*L*/ s += a[i];\n  return s;\n}\n",
        "/*L*/", "parallel", ["reduction(+: s)"], [],
    ),
    (
        "max by if",
        "double f(const double *a, int n) {\n  double m = a[0];\n"
        "  for (int i = 0; i < n; i++) /*L*/ if (a[i] > m) m = a[i];\n  return m;\n}\n",
        "/*L*/", "parallel", ["reduction(max: m)"], [],
    ),
    (
        "argmax is not a reduction",
        "int f(const double *a, int n) {\n  double m = a[0]; int k = 0;\n"
        "  for (int i = 0; i < n; i++) /*L*/ if (a[i] > m) { m = a[i]; k = i; }\n  return k;\n}\n",
        "/*L*/", "serial", None, ["ScalarDependence"],
    ),
    (
        "private temporary, dead after the loop",
        "void f(double *restrict a, const double *restrict b, int n) {\n  double t;\n"
        "  for (int i = 0; i < n; i++) /*L*/ { t = b[i] * 2; a[i] = t * t; }\n  t = 0;\n}\n",
        "/*L*/", "parallel", ["private(t)"], [],
    ),
    (
        "lastprivate when read after the loop",
        "double f(double *restrict a, const double *restrict b, int n) {\n  double t = 0;\n"
        "  for (int i = 0; i < n; i++) /*L*/ { t = b[i] * 2; a[i] = t; }\n  return t;\n}\n",
        "/*L*/", "parallel", ["lastprivate(t)"], [],
    ),
    (
        "conditional write read after the loop",
        "double f(double *restrict a, int n) {\n  double t = 0;\n"
        "  for (int i = 0; i < n; i++) /*L*/ { if (a[i] > 0) t = a[i]; a[i] = 1; }\n  return t;\n}\n",
        "/*L*/", "serial", None, ["ConditionalLastValue"],
    ),
    (
        "induction variable",
        "void f(double *restrict a, const double *restrict b, int n) {\n  int k = 0;\n"
        "  for (int i = 0; i < n; i++) /*L*/ { a[k] = b[i]; k += 2; }\n}\n",
        "/*L*/", "serial", None, ["InductionVariable"],
    ),
    (
        "early exit",
        "int f(const int *a, int n) {\n  int i;\n"
        "  for (i = 0; i < n; i++) /*L*/ if (a[i] == 7) break;\n  return i;\n}\n",
        "/*L*/", "serial", None, ["EarlyExit"],
    ),
    (
        "printf in the loop",
        "void f(const int *a, int n) {\n  for (int i = 0; i < n; i++) /*L*/ printf(\"%d\\n\", a[i]);\n}\n",
        "/*L*/", "serial", None, ["SideEffectCall"],
    ),
    (
        "while loop",
        "int f(int n) {\n  int i = 0;\n  while (i < n) /*L*/ i++;\n  return i;\n}\n",
        "/*L*/", "serial", None, ["NonCanonicalLoop"],
    ),
    (
        "pointer parameters that may alias: parallel behind a run-time check",
        "void f(double *a, double *b, int n) {\n  for (int i = 0; i < n; i++) /*L*/ a[i] = b[i];\n}\n",
        "/*L*/", "parallel-if-disjoint", [], [],
    ),
    (
        "pointer parameters that may alias, offset of unknown sign",
        "void f(double *a, double *b, int n, int d) {\n  for (int i = 0; i < n; i++) /*L*/ a[i] = b[i + d];\n}\n",
        "/*L*/", "unknown", None, ["PossibleAlias"],
    ),
    (
        "call to a function defined elsewhere",
        "double g(double);\nvoid f(double *restrict a, int n) {\n"
        "  for (int i = 0; i < n; i++) /*L*/ a[i] = g(a[i]);\n}\n",
        "/*L*/", "unknown", None, ["OpaqueCall"],
    ),
    (
        "pure function of the same file",
        "static double sq(double x) { return x * x; }\nvoid f(double *restrict a, int n) {\n"
        "  for (int i = 0; i < n; i++) /*L*/ a[i] = sq(a[i]) + sqrt(a[i]);\n}\n",
        "/*L*/", "parallel", [], [],
    ),
    (
        "impure function of the same file",
        "static int calls;\nstatic double cnt(double x) { calls++; return x; }\n"
        "void f(double *restrict a, int n) {\n  for (int i = 0; i < n; i++) /*L*/ a[i] = cnt(a[i]);\n}\n",
        "/*L*/", "serial", None, ["SideEffectCall"],
    ),
    (
        "linearised 2-D array, inner loop counter declared outside",
        "void f(double *restrict c, const double *restrict a, int n) {\n  int j;\n"
        "  for (int i = 0; i < n; i++) /*L*/\n    for (j = 0; j < n; j++) c[i * n + j] = a[j * n + i];\n}\n",
        "/*L*/", "parallel", ["private(j)"], [],
    ),
    (
        "wavefront",
        "#define N 64\ndouble g[N][N];\nvoid f(void) {\n"
        "  for (int i = 1; i < N; i++) /*L*/\n    for (int j = 1; j < N; j++) g[i][j] = g[i-1][j] + g[i][j-1];\n}\n",
        "/*L*/", "serial", None, ["CarriedDependence"],
    ),
    (
        "histogram on a small fixed-size array",
        "int hist[16];\nvoid f(const int *restrict k, int n) {\n"
        "  for (int i = 0; i < n; i++) /*L*/ hist[k[i] & 15]++;\n}\n",
        "/*L*/", "parallel", ["reduction(+: hist)"], [],
    ),
    (
        "too small to pay for threads",
        "double a[8];\nvoid f(void) {\n  for (int i = 0; i < 8; i++) /*L*/ a[i] = i;\n}\n",
        "/*L*/", "parallel", None, ["TooSmall"],
    ),
    (
        "b->n is b[0].n: a write to b[i].n reaches it",
        "struct s { int n; double v; };\nvoid f(struct s *b, int m) {\n"
        "  for (int i = 0; i < m; i++) /*L*/ b[i].n = b->n + 1;\n}\n",
        "/*L*/", "serial", None, ["CarriedDependence"],
    ),
]


@pytest.mark.parametrize("name,body,marker,status,clauses,codes", CASES, ids=[c[0] for c in CASES])
def test_verdict(name, body, marker, status, clauses, codes):
    verdict = one(body, marker)
    assert verdict.status == status, [r.text() for r in verdict.reasons]
    if clauses is not None:
        assert verdict.pragma is not None
        assert verdict.pragma.startswith("#pragma omp parallel for")
        assert sorted(verdict.clauses.render()) == sorted(clauses)
    for code in codes:
        assert code in {r.code for r in verdict.reasons}


def test_dependence_reason_names_access_and_distance():
    v = one("void f(double *a, int n) {\n  for (int i = 3; i < n; i++) /*L*/ a[i] = a[i-3] * 2;\n}\n", "/*L*/")
    dep = next(r for r in v.reasons if r.code == "CarriedDependence")
    assert dep.distance == 3 and dep.kind == "flow" and dep.array == "a"
    assert "a[i-3]" in dep.text()


def test_inner_loop_of_a_parallel_loop_gets_simd_not_parallel_for():
    found = verdicts(
        "void f(double *restrict c, int n) {\n"
        "  for (int i = 0; i < n; i++) /*O*/\n    for (int j = 0; j < n; j++) /*I*/ c[i * n + j] = i + j;\n}\n"
    )
    outer = next(v for t, v in found.items() if "/*O*/" in t)
    inner = next(v for t, v in found.items() if "/*I*/" in t)
    assert outer.pragma.startswith("#pragma omp parallel for") and inner.parallel
    assert inner.pragma == "#pragma omp simd"  # vectorised, not a nested parallel region
    assert "InsideParallel" in {r.code for r in inner.reasons}


def test_existing_pragma_missing_private_is_a_race():
    found = verdicts(
        "void f(double *restrict a, const double *restrict b, int n) {\n  double t;\n"
        "  #pragma omp parallel for\n  for (int i = 0; i < n; i++) /*L*/ { t = b[i]; a[i] = t * t; }\n}\n"
    )
    v = next(v for t, v in found.items() if "/*L*/" in t)
    assert v.status == "race" and v.pragma is None
    assert any("private(t)" in r.text() for r in v.races)


def test_existing_pragma_on_carried_dependence_is_a_race():
    found = verdicts(
        "void f(int *a, int n) {\n#pragma omp parallel for\n  for (int i = 1; i < n; i++) /*L*/ a[i] = a[i-1] + 1;\n}\n"
    )
    v = next(v for t, v in found.items() if "/*L*/" in t)
    assert v.status == "race"


def test_correct_existing_pragma_is_not_a_race():
    found = verdicts(
        "double f(const double *a, int n) {\n  double s = 0;\n"
        "#pragma omp parallel for reduction(+: s)\n  for (int i = 0; i < n; i++) /*L*/ s += a[i];\n  return s;\n}\n"
    )
    v = next(v for t, v in found.items() if "/*L*/" in t)
    assert v.status == "parallel" and not v.races and v.pragma is None and v.existing is not None


def test_swapped_fresh_buffers_do_not_alias():
    found = verdicts(
        "int main(void) {\n  int n = 1000; double *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);\n"
        "  for (int t = 0; t < 10; t++) {\n    for (int i = 1; i < n - 1; i++) /*L*/ v[i] = u[i-1] + u[i+1];\n"
        "    double *tmp = u; u = v; v = tmp;\n  }\n  return (int)u[1];\n}\n"
    )
    v = next(v for t, v in found.items() if "/*L*/" in t)
    assert v.status == "parallel", [r.text() for r in v.reasons]


def test_parse_error_keeps_loops_as_unknown():
    report = scan_source("bad.c", b"int f(int n) {\n  int s = 0;\n  for (int i = 0; i < n; i++) s += i\n  return s;\n}\n")
    assert report.errors and "bad.c" in report.errors[0]
    assert [v.status for v in report.verdicts] == ["unknown"]
    assert report.verdicts[0].reasons[0].code == "ParseFailure"


def test_malformed_pragma_is_reported():
    report = scan_source(
        "p.c", b"void f(double *a, int n) {\n#pragma omp parallel for private(\n  for (int i = 0; i < n; i++) a[i] = 0;\n}\n"
    )
    assert any("OpenMP pragma" in e and "p.c" in e for e in report.errors)


def test_loop_outside_analysed_functions_is_listed():
    source = b"#include <vector>\nauto f = [](std::vector<int> &v) {\n  for (auto &x : v) x = 0;\n};\n"
    report = scan_source("lambda.cpp", source)
    assert [(v.loop.line, v.status) for v in report.verdicts] == [(3, "unknown")]


def test_empty_body_gets_no_pragma():
    v = one("void f(int n) {\n  for (int i = 0; i < n; i++) /*L*/ ;\n}\n", "/*L*/")
    assert v.pragma is None and "TooSmall" in {r.code for r in v.reasons}


def test_rows_reached_through_pointers_may_overlap():
    v = one("void f(double **m, int n) {\n  for (int i = 0; i < n; i++) /*L*/\n"
            "    for (int j = 0; j < n; j++) m[i][j] = 2 * m[i][j];\n}\n", "/*L*/")
    assert v.parallel is not True
    assert any("rows of m" in r.text() for r in v.reasons)


def test_two_pointer_members_may_point_at_one_buffer():
    found = verdicts(
        "struct S { double *a, *b; };\nvoid g(struct S *s, int n) {\n"
        "  for (int i = 0; i < n; i++) /*A*/ s->a[i] = s->b[i] + 1;\n"
        "  for (int i = 0; i < n; i++) /*B*/ s->a[i] = 2 * s->a[i];\n}\n"
    )
    first = next(v for t, v in found.items() if "/*A*/" in t)
    second = next(v for t, v in found.items() if "/*B*/" in t)
    # parallel only behind a run-time check that also keeps s->a away from *s itself
    assert first.status == "parallel-if-disjoint" and first.runtime_check is not None
    assert first.runtime_check.pairs == (("s->a", "s->b"), ("s->a", "*s"))
    assert second.status == "parallel"


def test_row_by_row_divmod_subscripts_are_one_element_each():
    v = one("#define W 64\nvoid f(unsigned char (*img)[W], long n) {\n"
            "  for (long p = 0; p < n * W; p++) /*L*/ img[p / W][p % W] = p & 255;\n}\n", "/*L*/")
    assert v.status == "parallel"
