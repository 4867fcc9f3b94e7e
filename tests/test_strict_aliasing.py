"""Aliasing ruled out by C's effective-type rule and by struct members that
hold their own allocations, with real libclang parses, real compile
databases and a real parallel build compared with the serial one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ompilot.analysis import loopfacts
from ompilot.analysis.scan import ScanSettings, scan_paths, scan_source

HEAD = "#include <stdlib.h>\n#include <stdio.h>\n"


def verdict(body: str, marker: str = "/*L*/") -> loopfacts.Verdict:
    source = HEAD + body
    report = scan_source("case.c", source.encode())
    assert not report.errors, report.errors
    lines = source.splitlines()
    found = [v for v in report.verdicts if marker in lines[v.loop.line - 1]]
    assert len(found) == 1
    return found[0]


def codes(v: loopfacts.Verdict) -> list[str]:
    return [r.code for r in v.reasons]


def may_alias(v: loopfacts.Verdict) -> bool:
    """Not proven parallel because of possible aliasing (maybe behind a run-time check)."""
    if v.status == "parallel-if-disjoint":
        return v.runtime_check is not None
    return v.status == "unknown" and "PossibleAlias" in codes(v)


KERNEL = "void f({y} *y, const {x} *x, int n) {{\n  for (int i = 0; i < n; i++) /*L*/ y[i] = ({y}) x[i];\n}}\n"


@pytest.mark.parametrize(
    "y, x",
    [("double", "int"), ("float", "double"), ("int", "long"), ("long", "long long"), ("double", "short")],
)
def test_incompatible_types_cannot_alias(y, x):
    v = verdict(KERNEL.format(y=y, x=x))
    assert v.status == "parallel", v.reasons
    assert v.pragma == "#pragma omp parallel for"
    assert any("strict-aliasing rule" in n and f"y ({y})" in n for n in v.notes), v.notes


@pytest.mark.parametrize(
    "y, x",
    [
        ("double", "char"),  # a character type may alias anything
        ("double", "unsigned char"),
        ("signed char", "double"),
        ("int", "unsigned int"),  # signed and unsigned variants of one type
        ("unsigned long", "long"),
        ("double", "double"),
        ("double *", "int *"),  # every two pointer types, conservatively
        ("enum e", "int"),  # an enum's compatible integer type is the implementation's choice
    ],
)
def test_compatible_types_may_alias(y, x):
    v = verdict("enum e { A, B };\n" + KERNEL.format(y=y, x=x))
    assert may_alias(v), (v.status, v.reasons)


def test_typedefs_and_qualifiers_are_seen_through():
    v = verdict("typedef double real; typedef const int cidx;\n" + KERNEL.format(y="real", x="cidx"))
    assert v.status == "parallel"
    v = verdict("typedef unsigned int word;\n" + KERNEL.format(y="int", x="word"))
    assert may_alias(v)


STRUCT_WRITE = """\
struct s {{ int n; double v; }};
void f(struct s *p, const {x} *d, int n) {{
  for (int i = 0; i < n; i++) /*L*/ {{ struct s t = {{ i, (double) d[i] }}; p[i] = t; }}
}}
"""


def test_struct_containing_the_other_type_may_alias():
    v = verdict(STRUCT_WRITE.format(x="double"))
    assert may_alias(v), (v.status, v.reasons)
    nested = STRUCT_WRITE.format(x="double").replace("void f(", "struct o { struct s inner; };\nvoid f(").replace(
        "const double *d", "const struct o *d").replace("(double) d[i]", "d[i].inner.v")
    v = verdict(nested)
    assert may_alias(v), (v.status, v.reasons)


def test_struct_without_the_other_type_cannot_alias():
    v = verdict(STRUCT_WRITE.format(x="float"))
    assert v.status == "parallel", v.reasons


def test_pointer_stores_may_move_pointers():
    # q[i] stores pointers: one of them could be x itself (a pointer loaded to reach x[i])
    v = verdict("void f(double **q, double *x, int n) {\n"
                "  for (int i = 0; i < n; i++) /*L*/ { q[i] = 0; x[i] = 1.0; }\n}\n")
    assert may_alias(v)


def _project(tmp_path: Path, flags: list[str]) -> Path:
    (tmp_path / "k.c").write_text(HEAD + KERNEL.format(y="double", x="int"))
    entry = {"directory": str(tmp_path), "file": "k.c", "arguments": ["clang-19", "-O2", *flags, "-c", "k.c"]}
    (tmp_path / "compile_commands.json").write_text(json.dumps([entry]))
    return tmp_path / "k.c"


@pytest.mark.parametrize(
    "flags, status",
    [
        ([], "parallel"),
        (["-fno-strict-aliasing"], "parallel-if-disjoint"),
        (["-fstrict-aliasing", "-fno-strict-aliasing"], "parallel-if-disjoint"),
        (["-fno-strict-aliasing", "-fstrict-aliasing"], "parallel"),  # the last one wins
    ],
)
def test_compile_database_flags_switch_the_rule(tmp_path: Path, flags, status):
    path = _project(tmp_path, flags)
    reports, errors = scan_paths([path], ScanSettings())
    assert not errors
    (v,) = reports[0].verdicts
    assert v.status == status


def test_flags_after_double_dash_switch_the_rule(tmp_path: Path):
    path = tmp_path / "k.c"
    path.write_text(HEAD + KERNEL.format(y="double", x="int"))
    for flags, status in (((), "parallel"), (("-fno-strict-aliasing",), "parallel-if-disjoint")):
        reports, _ = scan_paths([path], ScanSettings(flags=flags))
        assert reports[0].verdicts[0].status == status


# --------------------------------------------------- members from allocations

MEMBERS = """\
struct vec {{ int n; double *a; double *b; }};

void build(struct vec *v, {extra}int n)
{{
    v->n = n;
    v->a = malloc(n * sizeof(double));
    {between}
    v->b = {source};
    for (int i = 0; i < n; i++) /*B*/
        v->b[i] = 1.0 + i % 7;
    for (int i = 0; i < v->n; i++) /*A*/
        v->a[i] = 2.0 * v->b[i] + v->b[n - 1 - i];
}}
"""


def members(source="malloc(n * sizeof(double))", between="", extra="") -> dict[str, loopfacts.Verdict]:
    body = MEMBERS.format(source=source, between=between, extra=extra)
    return {m: verdict(body, m) for m in ("/*A*/", "/*B*/")}


def test_members_from_distinct_allocations_do_not_alias():
    found = members()
    assert found["/*A*/"].status == "parallel", found["/*A*/"].reasons
    assert any("v->a and v->b cannot overlap" in n for n in found["/*A*/"].notes)
    assert found["/*B*/"].status == "parallel"


@pytest.mark.parametrize(
    "source, between, extra",
    [
        ("p", "", "double *p, "),  # a member set from a parameter
        ("malloc(n * sizeof(double))", "v->a = p;", "double *p, "),  # reassigned from a parameter
        ("malloc(n * sizeof(double))", "reset(v);", ""),  # the struct is passed on
        ("malloc(n * sizeof(double))", "touch();", ""),  # a call that may change anything
        ("malloc(n * sizeof(double))", "if (n > 4) v->a = malloc(8);", ""),  # set twice
        ("malloc(n * sizeof(double))", "double **pa = &v->a; (void) pa;", ""),  # its address is taken
    ],
)
def test_members_stay_may_alias_without_the_proof(source, between, extra):
    body = "void reset(struct vec *v);\nvoid touch(void);\n" + MEMBERS.format(source=source, between=between, extra=extra)
    v = verdict(body, "/*A*/")
    assert may_alias(v), (v.status, v.reasons)


def test_member_store_of_pointer_type_in_between_spoils_the_proof():
    # under -fno-strict-aliasing any store through a parameter could land on v->a
    between = "*q = 0.5;"
    v = verdict("void reset(struct vec *v);\n" + MEMBERS.format(source="malloc(8)", between=between, extra="double *q, "), "/*A*/")
    assert v.status == "parallel"  # a double store cannot change the pointer v->a
    between = "*r = 0;"
    v = verdict(MEMBERS.format(source="malloc(8)", between=between, extra="double **r, "), "/*A*/")
    assert may_alias(v)  # a pointer store may


PROGRAM = """\
#include <stdio.h>
#include <stdlib.h>

struct csr { int nrows; int *rowptr; int *col; double *val; };

static void *xalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        exit(1);
    return p;
}

static double build_and_sum(struct csr *A, int n, double *y)
{
    int i, k;
    double s, total = 0.0;

    A->nrows = n;
    A->rowptr = xalloc((n + 1) * sizeof(int));
    A->col = xalloc(3 * n * sizeof(int));
    A->val = xalloc(3 * n * sizeof(double));
    for (i = 0; i <= n; i++)
        A->rowptr[i] = 3 * i;
    for (k = 0; k < 3 * n; k++) {
        A->col[k] = (k / 3 + k % 3) % n;
        A->val[k] = 1.0 / (1 + k % 5);
    }
    for (i = 0; i < A->nrows; i++) {
        s = 0.0;
        for (k = A->rowptr[i]; k < A->rowptr[i + 1]; k++)
            s += A->val[k] * (double) A->col[k];
        y[i] = s;
    }
    for (i = 0; i < n; i++)
        total += y[i] * (1 + i % 3);
    return total;
}

int main(void)
{
    struct csr A;
    int n = 200000;
    double *y = xalloc(n * sizeof(double));
    printf("%.10e\\n", build_and_sum(&A, n, y));
    free(y);
    return 0;
}
"""


def test_parallel_build_matches_serial(tmp_path: Path):
    report = scan_source("csr.c", PROGRAM.encode())
    assert not report.errors
    lines = PROGRAM.splitlines()
    pragmas = {v.loop.line: v.pragma for v in report.verdicts if v.status == "parallel" and v.pragma}
    text = {lines[line - 1].strip() for line in pragmas}
    # the fill (A->col vs A->val: int and double), the row-pointer loop and the product
    assert "for (k = 0; k < 3 * n; k++) {" in text
    assert "for (i = 0; i <= n; i++)" in text
    product = next(v for v in report.verdicts if lines[v.loop.line - 1].strip() == "for (i = 0; i < A->nrows; i++) {")
    assert product.status == "parallel", product.reasons  # y is a parameter: the type rule keeps it off rowptr/col,
    # and A->val ... y needs the program's call sites: here both are this function's own data
    patched = list(lines)
    for line in sorted(pragmas, reverse=True):
        patched.insert(line - 1, pragmas[line])
    (tmp_path / "serial.c").write_text(PROGRAM)
    (tmp_path / "parallel.c").write_text("\n".join(patched) + "\n")
    outputs = []
    for name, flags in (("serial", []), ("parallel", ["-fopenmp"])):
        exe = tmp_path / name
        subprocess.run(["clang-19", "-O2", *flags, str(tmp_path / f"{name}.c"), "-o", str(exe)], check=True)
        for threads in ("2", "4") if flags else ("1",):
            run = subprocess.run([str(exe)], capture_output=True, text=True, check=True,
                                 env={"OMP_NUM_THREADS": threads, "PATH": "/usr/bin:/bin"})
            outputs.append(float(run.stdout))
    assert all(abs(o - outputs[0]) <= 1e-9 * abs(outputs[0]) for o in outputs), outputs
