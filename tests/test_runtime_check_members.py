"""Run-time alias checks on arrays reached through structure members:
`b->x[i]`, `s.x[i]`. The check compares the pointed-to ranges and keeps every
written range away from the structure itself (`*b`, `s`), whose fields the
loop re-reads in every iteration.

The scan cases are data files (tests/cases/runtime_check/members.c and
refused_members.c, run by tests/test_runtime_check.py). Here: the formats,
the patched cases compiled by both compilers, and one program written like
real code, built with clang-19 and gcc, compared with its serial run and
race-checked with ThreadSanitizer and Archer.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from ompilot.analysis.scan import ScanSettings, scan_file
from ompilot.cli.main import main
from ompilot.suggest.engine import suggest_source
from ompilot.suggest.tree import suggest_files

sys.path.insert(0, str(Path(__file__).parent))
from test_runtime_check import _build, _output, _run, assert_check_matters  # noqa: E402

CASES = Path(__file__).parent / "cases" / "runtime_check"


def test_json_and_text_name_the_structure(capsys):
    path = CASES / "members.c"
    assert main(["scan", "--format", "json", str(path)]) == 1
    loops = {r["line"]: r for r in json.loads(capsys.readouterr().out)["loops"]}
    text = path.read_text().splitlines()
    [accel] = [line for line, r in loops.items() if "b->ax[i] = 2.0 * b->x[i];" in text[line]]
    check = loops[accel]["runtime_check"]
    assert loops[accel]["status"] == "parallel-if-disjoint"
    assert check["message"] == "parallel when b->ax[0:b->n] overlaps none of b->x[0:b->n] and *b; checked at run time"
    assert {"base": "*b", "first": "0", "count": "1", "whole_object": True} in check["ranges"]
    assert {"base": "b->x", "first": "0", "count": "b->n", "whole_object": False} in check["ranges"]
    assert check["pairs"] == [["b->ax", "b->x"], ["b->ax", "*b"]]

    assert main(["scan", str(path)]) == 1
    out = capsys.readouterr().out
    assert f":{accel}: parallel-if-disjoint: #pragma omp parallel for if(ompilot_disjoint(b->ax, " in out
    assert "ompilot_disjoint(b->ax, (size_t)(b->n) * sizeof *b->ax, b, sizeof *b)" in out

    # the refusals keep PossibleAlias and say why
    report = scan_file(CASES / "refused_members.c")
    notes = [n for v in report.verdicts for n in v.notes if n.startswith("no run-time alias check")]
    assert any("c->p->out is reached through more than one pointer" in n for n in notes)
    assert any("the loop writes s->buf, inside *s" in n for n in notes)
    # only bound_written's inner loop is checked: s->n does not change while it runs,
    # and its range spans every outer iteration (i*100 + j up to 9900 + s->n)
    checked = [v.loop.line for v in report.verdicts if v.runtime_check]
    assert checked == [81]


def test_patched_cases_compile_cleanly(tmp_path: Path):
    """The if() clauses (`sizeof *b->x`, `&s`, `sizeof s`) are valid C and C++."""
    result = suggest_source("members.c", (CASES / "members.c").read_bytes())
    assert not result.errors
    patched = result.patched.decode()
    assert patched.count("if(ompilot_disjoint(") == 8
    assert "ompilot_disjoint(x.data, (size_t)(n) * sizeof *x.data, &x, sizeof x)" in patched
    c_file, cpp_file = tmp_path / "members.c", tmp_path / "members.cpp"
    c_file.write_text(patched)
    cpp_file.write_text(patched.replace("double *restrict y", "double *__restrict y"))
    for compiler, file in (("clang-19", c_file), ("gcc", c_file), ("clang++-19", cpp_file), ("g++", cpp_file)):
        done = subprocess.run([compiler, "-fopenmp", "-Wall", "-Wextra", "-c", str(file), "-o", str(tmp_path / "m.o")],
                              capture_output=True, text=True)
        assert done.returncode == 0 and "warning" not in done.stderr, (compiler, done.stderr)
    again = suggest_source("members.c", result.patched)
    assert again.proposals == [] and not again.errors  # the checked pragmas are understood as right


# ----------------------------------------------------------------- end to end

SOA_H = """\
#ifndef SOA_H
#define SOA_H

#include <stddef.h>

/* a structure of arrays: one buffer per field, n elements each */
struct soa {
    int n;
    double *x, *y, *z;
};

void *soa_alloc(size_t bytes);
struct soa *soa_new(int n);
void soa_free(struct soa *s);
void soa_update(struct soa *s, double a);

#endif
"""

SOA_C = """\
#include <stdio.h>
#include <stdlib.h>
#include "soa.h"

void *soa_alloc(size_t bytes)
{
    void *p = malloc(bytes);

    if (!p) {
        fprintf(stderr, "soa_alloc: out of memory\\n");
        exit(EXIT_FAILURE);
    }
    return p;
}

struct soa *soa_new(int n)
{
    struct soa *s = soa_alloc(sizeof *s);

    s->n = n;
    s->x = soa_alloc((size_t) n * sizeof *s->x);
    s->y = soa_alloc((size_t) n * sizeof *s->y);
    s->z = soa_alloc((size_t) n * sizeof *s->z);
    return s;
}

void soa_free(struct soa *s)
{
    free(s->x);
    free(s->y);
    free(s->z);
    free(s);
}
"""

KERNEL_C = """\
#include "soa.h"

/* y += a x, then z from both: element-wise when the three buffers are separate */
void soa_update(struct soa *s, double a)
{
    int i;

    for (i = 0; i < s->n; i++) {
        s->y[i] = s->y[i] + a * s->x[i];
        s->z[i] = s->y[i] - 0.5 * s->x[i];
    }
}
"""

MAIN_C = """\
#include <stdio.h>
#include "soa.h"

static double checksum(const double *v, int n)
{
    double s = 0.0;
    int i;

    for (i = 0; i < n; i++)
        s += v[i] * (i % 5 + 1);
    return s;
}

int main(void)
{
    int n = 200000, i;
    struct soa *s = soa_new(n);
    struct soa shifted;

    for (i = 0; i < n; i++) {
        s->x[i] = (i % 7) * 0.5;
        s->y[i] = (i % 13) * 0.25;
        s->z[i] = 0.0;
    }
    soa_update(s, 2.0);
    printf("disjoint: %.17g %.17g\\n", checksum(s->y, n), checksum(s->z, n));

    /* x is y one element on: y[i] reads y[i + 1] before iteration i + 1 changes it */
    shifted.n = n - 1;
    shifted.y = s->y;
    shifted.x = s->y + 1;
    shifted.z = s->z;
    soa_update(&shifted, 2.0);
    printf("overlapping: %.17g %.17g\\n", checksum(s->y, n), checksum(s->z, n));
    for (i = 1; i < 8; i++)
        printf("y[%d] = %.17g\\n", i * n / 8 - 1, s->y[i * n / 8 - 1]);
    soa_free(s);
    return 0;
}
"""


def test_structure_of_arrays_end_to_end(tmp_path: Path):
    files = {"soa.h": SOA_H, "soa.c": SOA_C, "kernel.c": KERNEL_C, "main.c": MAIN_C}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    sources = [tmp_path / "soa.c", tmp_path / "kernel.c", tmp_path / "main.c"]
    results, errors = suggest_files(sources, ScanSettings())
    assert not errors
    [kernel] = [r for r in results if r.path.endswith("kernel.c")]
    [proposal] = kernel.proposals
    prefix = "#pragma omp parallel for if("
    assert proposal.summary.startswith(prefix) and proposal.summary.endswith(")")
    # each written member against every other base and against the structure itself,
    # but y against z: every store of those members in the program is its own allocation
    assert set(proposal.summary[len(prefix):-1].split(" && ")) == {
        "ompilot_disjoint(s->y, (size_t)(s->n) * sizeof *s->y, s->x, (size_t)(s->n) * sizeof *s->x)",
        "ompilot_disjoint(s->y, (size_t)(s->n) * sizeof *s->y, s, sizeof *s)",
        "ompilot_disjoint(s->z, (size_t)(s->n) * sizeof *s->z, s->x, (size_t)(s->n) * sizeof *s->x)",
        "ompilot_disjoint(s->z, (size_t)(s->n) * sizeof *s->z, s, sizeof *s)",
    }
    assert any("overlaps none of" in e and "*s" in e for e in proposal.explanation)
    assert any(e.startswith("s->y and s->z cannot overlap") for e in proposal.explanation), proposal.explanation
    patched = tmp_path / "kernel_patched.c"
    patched.write_bytes(kernel.patched)
    unchecked = tmp_path / "kernel_unchecked.c"  # the same pragma without its if()
    unchecked.write_text(re.sub(r" if\(ompilot_disjoint\(.*\)\)$", "", kernel.patched.decode(), flags=re.M))
    assert "#pragma omp parallel for\n" in unchecked.read_text()
    others = [tmp_path / "soa.c", tmp_path / "main.c"]
    include = [f"-I{tmp_path}"]

    serial = _output(_run(_build("clang-19", ["-O2", *include], [*others, tmp_path / "kernel.c"], tmp_path / "serial"), 1))
    assert serial.startswith("disjoint: ") and "overlapping: " in serial
    for compiler in ("clang-19", "gcc"):
        exe = _build(compiler, ["-O2", "-fopenmp", *include], [*others, patched], tmp_path / f"par-{compiler}")
        for threads in (2, 4):
            done = _run(exe, threads)
            assert done.returncode == 0 and _output(done) == serial, (compiler, threads, done.stdout)

    tsan = ["-fopenmp", "-fsanitize=thread", "-g", "-O1", *include]
    checked = _build("clang-19", tsan, [*others, patched], tmp_path / "tsan")
    racy = _build("clang-19", tsan, [*others, unchecked], tmp_path / "tsan-racy")
    assert_check_matters(checked, racy, serial)


HEAT_LIKE = """\
struct grid { int nx, ny; double *u, *unew; };
void heat_step(struct grid *g, double dt)
{
    int i, j, c;
    for (i = 1; i < g->nx - 1; i++)
        for (j = 1; j < g->ny - 1; j++) {
            c = i * g->ny + j;
            g->unew[c] = g->u[c] + dt * (g->u[c - g->ny] + g->u[c + g->ny] + g->u[c - 1] + g->u[c + 1] - 4 * g->u[c]);
        }
}
"""


def test_range_through_a_temporary_and_member_sizes(tmp_path):
    """`c = i*g->ny + j` reaches g->u[c - g->ny] .. g->u[c + g->ny]: the
    lowest element is u[1] and the highest u[nx*ny - 2] once the loops run
    (g->ny >= 3, g->nx >= 3), so the range is stated from the base pointer."""
    path = tmp_path / "heat.c"
    path.write_text(HEAT_LIKE)
    outer = min(scan_file(path).verdicts, key=lambda v: v.loop.line)
    assert outer.status == "parallel-if-disjoint", [r.text() for r in outer.reasons] + outer.notes
    ranges = {r.base: r.count for r in outer.runtime_check.ranges}
    assert ranges["g->u"] == "g->nx * g->ny - 1"
    assert ranges["g->unew"] == "g->nx * g->ny - g->ny - 1"
