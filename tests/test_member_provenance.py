"""Field-sensitive allocation provenance across a program: a struct member
whose every store in the program is an allocation, against a parameter every
caller binds to another allocation (spmv's `y` vs `A->val`). Real
multi-file programs with a compile_commands.json, real libclang parses, and a
real build and run of the suggested pragmas."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ompilot.analysis import loopfacts
from ompilot.analysis.scan import ScanSettings, scan_paths

POOL_H = """\
#ifndef POOL_H
#define POOL_H
#include <stddef.h>
void *pool_alloc(size_t count, size_t size);
#define POOL_NEW(type, count) ((type *) pool_alloc((size_t) (count), sizeof(type)))
#endif
"""

POOL_C = """\
#include <stdio.h>
#include <stdlib.h>
#include "pool.h"

void *pool_alloc(size_t count, size_t size)
{
    void *p = malloc(count * size);
    if (p == NULL) {
        fprintf(stderr, "out of memory\\n");
        exit(1);
    }
    return p;
}
"""

CSR_H = """\
#ifndef CSR_H
#define CSR_H
struct csr { int nrows; int *rowptr; int *col; double *val; };
struct pair { double *a; double *b; };
void csr_build(struct csr *A, int n);
void spmv(const struct csr *A, const double *x, double *y);
void pair_build(struct pair *p, int n);
void pair_add(struct pair *p, int n);
#endif
"""

CSR_C = """\
#include "pool.h"
#include "csr.h"

void csr_build(struct csr *A, int n)
{
    int i, k;

    A->nrows = n;
    A->rowptr = POOL_NEW(int, n + 1);
    A->rowptr[0] = 0;
    for (i = 0; i < n; i++)
        A->rowptr[i + 1] = A->rowptr[i] + (i > 0) + 1 + (i < n - 1);
    A->col = POOL_NEW(int, A->rowptr[n]);
    A->val = POOL_NEW(double, A->rowptr[n]);
    k = 0;
    for (i = 0; i < n; i++) {
        if (i > 0) { A->col[k] = i - 1; A->val[k++] = -1.0; }
        A->col[k] = i; A->val[k++] = 2.0 + i % 3;
        if (i < n - 1) { A->col[k] = i + 1; A->val[k++] = -0.5; }
    }
}

void spmv(const struct csr *A, const double *x, double *y)
{
    int i, k;
    double s;

    for (i = 0; i < A->nrows; i++) {
        s = 0.0;
        for (k = A->rowptr[i]; k < A->rowptr[i + 1]; k++)
            s += A->val[k] * x[A->col[k]];
        y[i] = s;
    }
}

void pair_build(struct pair *p, int n)
{
    p->a = POOL_NEW(double, n);
    p->b = POOL_NEW(double, n);
}

void pair_add(struct pair *p, int n)
{
    int i;

    for (i = 0; i < n; i++)
        p->a[i] = p->a[i] + 2.0 * p->b[i];
}
"""

MAIN_C = """\
#include <stdio.h>
#include <stdlib.h>
#include "pool.h"
#include "csr.h"

int main(int argc, char **argv)
{
    struct csr A;
    struct pair P;
    double *x, *y;
    int n = argc > 1 ? atoi(argv[1]) : 2000, i, it;

    csr_build(&A, n);
    pair_build(&P, n);
    x = POOL_NEW(double, n);
    y = POOL_NEW(double, n);
    for (i = 0; i < n; i++) {
        x[i] = 1.0 + i % 7;
        P.a[i] = i;
        P.b[i] = 1.0 / (i + 1);
    }
    for (it = 0; it < 5; it++) {
        spmv(&A, x, y);
        for (i = 0; i < n; i++)
            x[i] = y[i] / 4.0;
    }
    pair_add(&P, n);
    printf("%.15e %.15e %.15e %.15e\\n", x[0], x[n / 2], x[n - 1], P.a[n / 3]);
    return 0;
}
"""

SPMV_LOOP = "for (i = 0; i < A->nrows; i++)"
PAIR_LOOP = "p->a[i] = p->a[i] + 2.0 * p->b[i];"
SOURCES = ["main.c", "csr.c", "pool.c"]


def write_program(root: Path, *, main_c: str = MAIN_C, extra: str | None = None, listed: list[str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    files = {"pool.h": POOL_H, "pool.c": POOL_C, "csr.h": CSR_H, "csr.c": CSR_C, "main.c": main_c}
    if extra is not None:
        files["extra.c"] = '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include "pool.h"\n#include "csr.h"\n' + extra
    for name, text in files.items():
        (root / name).write_text(text)
    sources = listed if listed is not None else SOURCES + (["extra.c"] if extra is not None else [])
    entries = [{"directory": str(root), "arguments": ["cc", "-I.", "-O2", "-c", name], "file": name} for name in sources]
    (root / "compile_commands.json").write_text(json.dumps(entries, indent=1))
    return root


def line_of(root: Path, name: str, text: str) -> int:
    lines = (root / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def scan(root: Path) -> tuple[dict[tuple[str, int], loopfacts.Verdict], list[str]]:
    reports, errors = scan_paths([root], ScanSettings(build_dir=root))
    return {(Path(r.path).name, v.loop.line): v for r in reports for v in r.verdicts}, errors


def spmv_verdict(root: Path) -> loopfacts.Verdict:
    found, errors = scan(root)
    assert errors == []
    return found[("csr.c", line_of(root, "csr.c", SPMV_LOOP))]


def missing(verdict: loopfacts.Verdict) -> str:
    """Why the pair is not proven apart: in the alias reason, or, when a run-time
    check covers the pair, in the note saying what the check stands in for."""
    said = [r.missing or "" for r in verdict.reasons if isinstance(r, loopfacts.PossibleAlias)]
    return " ".join(said + [n for n in verdict.notes if n.startswith("not proven without the check")])


def not_proven(verdict: loopfacts.Verdict) -> bool:
    """Not parallel, or parallel only behind a run-time check of y against A->val."""
    if verdict.parallel is not True:
        return True
    return verdict.runtime_check is not None and "ompilot_disjoint(y" in verdict.pragma and "A->val" in verdict.pragma


# ------------------------------------------------------------------ proven


def test_spmv_is_parallel_from_the_allocation_sites(tmp_path):
    root = write_program(tmp_path / "p")
    v = spmv_verdict(root)
    assert v.parallel is True and v.runtime_check is None
    y_line = line_of(root, "main.c", "y = POOL_NEW")
    val_line = line_of(root, "csr.c", "A->val = POOL_NEW")
    note = next(n for n in v.notes if n.startswith("y and A->val cannot overlap"))
    assert f"pool_alloc at {root}/main.c:{y_line}" in note and "(every caller of spmv)" in note
    assert f"pool_alloc at {root}/csr.c:{val_line}" in note
    assert "(the only stores to struct csr.val in the program)" in note


def test_two_members_set_in_another_function_are_distinct(tmp_path):
    """p->a and p->b (both double *) come from two allocation sites of
    pair_build: pair_add, another function, may run them in parallel."""
    root = write_program(tmp_path / "p")
    found, _ = scan(root)
    v = found[("csr.c", line_of(root, "csr.c", PAIR_LOOP) - 1)]
    assert v.parallel is True
    assert any(n.startswith("p->a and p->b cannot overlap") and "struct pair.b" in n for n in v.notes)


def test_realloc_of_the_member_itself_keeps_the_proof(tmp_path):
    extra = "void grow(struct csr *A, int nnz)\n{\n    A->val = realloc(A->val, nnz * sizeof *A->val);\n}\n"
    root = write_program(tmp_path / "p", extra=extra)
    v = spmv_verdict(root)
    assert v.parallel is True
    assert any("realloc at" in n and "A->val" in n for n in v.notes)


def test_the_same_allocation_site_keeps_two_structs_apart_from_nothing(tmp_path):
    """Two structs built by the same function: A->val and B->val share
    their allocation site, so they may be one buffer."""
    extra = (
        "void axpy_rows(struct csr *A, const struct csr *B)\n{\n    int k;\n"
        "    for (k = 0; k < A->rowptr[A->nrows]; k++)\n        A->val[k] += 2.0 * B->val[k];\n}\n"
    )
    root = write_program(tmp_path / "p", extra=extra)
    found, _ = scan(root)
    v = found[("extra.c", line_of(root, "extra.c", "for (k = 0;"))]
    assert v.parallel is None
    assert "may come from the same allocation" in missing(v) and "csr.c" in missing(v)


def test_copies_of_the_whole_struct_keep_the_proof(tmp_path):
    """`B = A`, `*dst = *src`, memcpy of a struct csr onto a struct csr,
    realloc of an array of them: members keep values stored to members."""
    extra = (
        "void copy(struct csr *dst, const struct csr *src)\n{\n    struct csr t = *src;\n    *dst = t;\n"
        "    memcpy(dst, src, sizeof *dst);\n}\n"
        "struct csr *grow(struct csr *all, int n)\n{\n    return realloc(all, n * sizeof *all);\n}\n"
    )
    root = write_program(tmp_path / "p", extra=extra)
    assert spmv_verdict(root).parallel is True


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("csr.h", "static inline void csr_point(struct csr *A, double *v) { A->val = v; }\n"),
        ("extra.c", "static double store[8];\nstruct csr fixed = { 0, 0, 0, store };\n"),
    ],
    ids=["inline-function-in-a-header", "global-initialiser"],
)
def test_stores_outside_function_bodies_of_the_file_count(tmp_path, where, text):
    root = write_program(tmp_path / "p", extra="" if where == "extra.c" else None)
    path = root / where
    body = path.read_text()
    path.write_text(body.replace("#endif", text + "#endif") if where == "csr.h" else body + text)
    v = spmv_verdict(root)
    assert not_proven(v), v.pragma
    assert "struct csr.val is also set at" in missing(v)


# ----------------------------------------------------- stays may-alias


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ("void set_val(struct csr *A, double *v)\n{\n    A->val = v;\n}\n", "A->val = v, not an allocation"),
        ("struct csr from(double *v)\n{\n    struct csr c = { .val = v };\n    return c;\n}\n", "val = v (an initialiser)"),
        ("struct csr from(int *r, double *v)\n{\n    struct csr c = { 1, r, r, v };\n    return c;\n}\n", "extra.c:8: val = v (an initialiser)"),
        ("void step(struct csr *A)\n{\n    A->val++;\n}\n", "pointer arithmetic"),
        ("double **where(struct csr *A)\n{\n    return &A->val;\n}\n", "its address is taken"),
        ("void fill(struct csr *A, const char *blob)\n{\n    memcpy(A, blob, sizeof *A);\n}\n", "converted to void *"),
        ("void load(struct csr *A, FILE *f)\n{\n    if (fread(A, sizeof *A, 1, f) != 1)\n        exit(1);\n}\n", "fread"),
        ("struct csr *view(char *bytes)\n{\n    return (struct csr *) bytes;\n}\n", "other memory viewed as a struct csr"),
        ("union pun { struct csr c; char bytes[40]; };\nunion pun u;\n", "a union"),
        ("void load_csr(struct csr *A);\nvoid fill(struct csr *A)\n{\n    load_csr(A);\n}\n",
         "load_csr (called in"),
    ],
    ids=["store-from-parameter", "designated-initialiser", "positional-initialiser", "pointer-arithmetic",
         "address-taken", "memcpy-from-unknown", "fread", "viewed-from-bytes", "union", "undefined-function"],
)
def test_one_write_the_proof_cannot_see_past_keeps_the_alias(tmp_path, extra, said):
    root = write_program(tmp_path / "p", extra=extra)
    v = spmv_verdict(root)
    assert not_proven(v), v.pragma
    assert said in missing(v), missing(v)


def test_a_file_missing_from_the_database_keeps_the_alias(tmp_path):
    root = write_program(tmp_path / "p", listed=["main.c", "csr.c"])
    v = spmv_verdict(root)
    assert not_proven(v), v.pragma
    assert "pool_alloc (called in" in missing(v) and "no file of it defines it" in missing(v)


def test_a_file_scanned_alone_keeps_the_alias(tmp_path):
    root = write_program(tmp_path / "p")
    reports, _ = scan_paths([root / "csr.c"], ScanSettings(flags=("-I" + str(root),)))
    v = next(v for r in reports for v in r.verdicts if v.loop.line == line_of(root, "csr.c", SPMV_LOOP))
    assert v.parallel is not True
    assert "not all in view" in missing(v)


def test_y_passed_from_the_member_itself_at_one_call(tmp_path):
    main_c = MAIN_C.replace("        spmv(&A, x, y);\n", "        spmv(&A, x, y);\n        spmv(&A, x, A.val);\n")
    root = write_program(tmp_path / "p", main_c=main_c)
    v = spmv_verdict(root)
    assert not_proven(v), v.pragma
    val_line = line_of(root, "csr.c", "A->val = POOL_NEW")
    assert f"may come from the same allocation (pool_alloc at {root}/csr.c:{val_line})" in missing(v)


# ------------------------------------------------------------ a real run


def _build_and_run(root: Path, out: Path, openmp: bool, threads: int = 1) -> str:
    flags = ["-fopenmp"] if openmp else []
    subprocess.run(["clang-19", "-O2", f"-I{root}", *flags, *[str(root / n) for n in SOURCES], "-o", str(out)], check=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    return subprocess.run([str(out), "3000"], check=True, capture_output=True, text=True, env=env).stdout


def test_the_suggested_pragmas_keep_the_output(tmp_path):
    root = write_program(tmp_path / "p")
    serial = _build_and_run(root, tmp_path / "serial", openmp=False)
    reports, errors = scan_paths([root], ScanSettings(build_dir=root, min_work=0))
    assert errors == []
    spmv_line = line_of(root, "csr.c", SPMV_LOOP)
    for report in reports:
        inserts = sorted(((v.loop.line, v.pragma) for v in report.verdicts
                          if v.parallel and v.pragma and v.runtime_check is None), reverse=True)
        lines = Path(report.path).read_text().splitlines(keepends=True)
        for line, pragma in inserts:
            lines.insert(line - 1, pragma + "\n")
        Path(report.path).write_text("".join(lines))
    patched = (root / "csr.c").read_text().splitlines()
    assert patched[spmv_line - 1].startswith("#pragma omp parallel for")
    for threads in (2, 4):
        assert _build_and_run(root, tmp_path / "parallel", openmp=True, threads=threads) == serial
