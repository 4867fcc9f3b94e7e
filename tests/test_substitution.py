"""Integer temporaries and loop-invariant struct members in subscripts.

The scan cases are data: tests/cases/substitution/*.c state the expected
status of every loop in `// expect LINE: STATUS` comments, with `// reasons
LINE: CODE ...` (codes that must be among the loop's reasons), `// private
LINE: NAMES` and `// pragma LINE: TEXT`; a `// flags FLAGS` line starts the
expectations for a second scan with those compiler flags. The end-to-end test
scans a two-file heat program, inserts the pragmas of the loops found
parallel, builds it with clang-19 -fopenmp and compares the output of 2 and 4
threads with the serial build.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from ompilot.analysis.frontend import strict_aliasing
from ompilot.analysis.invariants import store_may_modify
from ompilot.analysis.scan import ScanSettings, scan_file, scan_files

CASES = sorted((Path(__file__).parent / "cases" / "substitution").glob("*.c"))
_LINE = re.compile(r"^// (expect|reasons|private|pragma) (\d+): ?(.*)$")


def _expectations(text: str) -> dict[tuple[str, ...], dict[int, dict[str, str]]]:
    """Expectations per flag set: {(): {...}, ("-fno-strict-aliasing",): {...}}."""
    out: dict[tuple[str, ...], dict[int, dict[str, str]]] = {(): {}}
    flags: tuple[str, ...] = ()
    for line in text.splitlines():
        if line.startswith("// flags "):
            flags = tuple(line.removeprefix("// flags ").split())
            out[flags] = {}
            continue
        m = _LINE.match(line)
        if m:
            out[flags].setdefault(int(m[2]), {})[m[1]] = m[3].strip()
    return out


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_scan_cases(path: Path):
    for flags, expected in _expectations(path.read_text()).items():
        report = scan_file(path, ScanSettings(flags=flags or None))
        assert not report.errors, report.errors
        by_line = {v.loop.line: v for v in report.verdicts}
        assert set(by_line) == set(expected), (flags, "every loop of a case file states its expected status")
        for line, want in expected.items():
            v = by_line[line]
            where = (path.name, line, flags)
            codes = {r.code for r in v.reasons}
            assert v.status == want["expect"], (where, [r.text() for r in v.reasons])
            if "reasons" in want:
                assert set(want["reasons"].split()) <= codes, (where, codes)
            if "private" in want:
                assert set(v.clauses.private) == set(want["private"].split()), (where, v.clauses.private)
            if "pragma" in want:
                assert v.pragma == want["pragma"], (where, v.pragma)


def test_strict_aliasing_follows_the_last_flag():
    assert strict_aliasing([]) is True
    assert strict_aliasing(["-O2", "-fno-strict-aliasing"]) is False
    assert strict_aliasing(["-fno-strict-aliasing", "-fstrict-aliasing"]) is True


@pytest.mark.parametrize(
    "stored, target, strict, expected",
    [
        ("double", "int", True, False),
        ("const double", "const int", True, False),
        ("double *", "int", True, False),
        ("unsigned int", "int", True, True),  # signed and unsigned variants alias
        ("int", "int", True, True),
        ("char", "int", True, True),  # character stores may change anything
        ("struct grid", "int", True, True),  # an aggregate may contain the member
        ("", "int", True, True),  # unknown type
        ("double", "int", False, True),  # -fno-strict-aliasing
        ("long long", "long", True, False),
    ],
)
def test_effective_type_rule(stored, target, strict, expected):
    assert store_may_modify(stored, target, strict) is expected


# ---------------------------------------------------------------- end to end

_HEADER = """\
#ifndef HEAT_H
#define HEAT_H
struct grid { int nx, ny; double *u, *unew, *kappa; };
void heat_step(const struct grid *g, double *restrict unew, const double *restrict u, const double *restrict kappa);
void heat_plain(int nx, int ny, double *restrict unew, const double *restrict u, const double *restrict kappa);
void heat_struct(struct grid *g);
#endif
"""

_KERNEL = """\
#include "heat.h"

void heat_step(const struct grid *g, double *restrict unew, const double *restrict u, const double *restrict kappa)
{
    int i, j, c;

    for (i = 1; i < g->nx - 1; i++)
        for (j = 1; j < g->ny - 1; j++) {
            c = i * g->ny + j;
            unew[c] = u[c] + kappa[c] * (u[c - 1] + u[c + 1] + u[c - g->ny] + u[c + g->ny] - 4 * u[c]);
        }
}

void heat_plain(int nx, int ny, double *restrict unew, const double *restrict u, const double *restrict kappa)
{
    for (int i = 1; i < nx - 1; i++)
        for (int j = 1; j < ny - 1; j++) {
            int c = i * ny + j;
            unew[c] = u[c] + kappa[c] * (u[c - 1] + u[c + 1] + u[c - ny] + u[c + ny] - 4 * u[c]);
        }
}

void heat_struct(struct grid *g)
{
    int i, j, c;

    for (i = 1; i < g->nx - 1; i++)
        for (j = 1; j < g->ny - 1; j++) {
            c = i * g->ny + j;
            g->unew[c] = g->u[c] + g->kappa[c] * (g->u[c - 1] + g->u[c + 1] + g->u[c - g->ny] + g->u[c + g->ny] - 4 * g->u[c]);
        }
}
"""

_MAIN = """\
#include <stdio.h>
#include <stdlib.h>
#include "heat.h"

int main(void)
{
    struct grid g;
    int t, c, n;
    double *swap, sum = 0.0;

    g.nx = 150;
    g.ny = 97;
    n = g.nx * g.ny;
    g.u = malloc(n * sizeof *g.u);
    g.unew = malloc(n * sizeof *g.unew);
    g.kappa = malloc(n * sizeof *g.kappa);
    for (c = 0; c < n; c++) {
        g.u[c] = g.unew[c] = (c % g.ny == 0 || c < g.ny) ? 100.0 : 20.0 + (c % 7);
        g.kappa[c] = 0.05 + 0.01 * (c % 5);
    }
    for (t = 0; t < 60; t++) {
        if (t % 3 == 0)
            heat_step(&g, g.unew, g.u, g.kappa);
        else if (t % 3 == 1)
            heat_plain(g.nx, g.ny, g.unew, g.u, g.kappa);
        else
            heat_struct(&g);
        swap = g.u;
        g.u = g.unew;
        g.unew = swap;
    }
    for (c = 0; c < n; c++)
        sum += g.u[c] * (1 + c % 11);
    printf("%.17g %.17g %.17g\\n", sum, g.u[20 * g.ny + 20], g.u[n / 2]);
    free(g.u);
    free(g.unew);
    free(g.kappa);
    return 0;
}
"""


def _lines_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_heat_program_with_scan_pragmas_runs_like_serial(tmp_path: Path):
    (tmp_path / "heat.h").write_text(_HEADER)
    kernel, main = tmp_path / "heat.c", tmp_path / "main.c"
    kernel.write_text(_KERNEL)
    main.write_text(_MAIN)
    reports, errors = scan_files([kernel, main], ScanSettings(flags=("-std=c99", "-O2", f"-I{tmp_path}")))
    assert not errors
    verdicts = {v.loop.line: v for v in reports[0].verdicts}

    step = _lines_of(_KERNEL, "for (i = 1; i < g->nx - 1; i++)")
    plain = _lines_of(_KERNEL, "for (int i = 1; i < nx - 1; i++)")
    struct = [i for i, line in enumerate(_KERNEL.splitlines(), 1) if "for (i = 1; i < g->nx - 1; i++)" in line][1]
    assert verdicts[step].status == "parallel", [r.text() for r in verdicts[step].reasons]
    assert verdicts[step].pragma == "#pragma omp parallel for private(j, c)"
    assert verdicts[step + 1].status == "parallel"
    assert verdicts[plain].status == "parallel", [r.text() for r in verdicts[plain].reasons]
    assert verdicts[plain].pragma == "#pragma omp parallel for"
    # through struct members: the subscripts are exact, only the members' aliasing is left
    for line in (struct, struct + 1):
        v = verdicts[line]
        assert v.status in ("unknown", "parallel-if-disjoint"), v.status
        assert {r.code for r in v.reasons} <= {"PossibleAlias", "InsideParallel"}, [r.text() for r in v.reasons]

    lines = _KERNEL.splitlines()
    for v in sorted(verdicts.values(), key=lambda v: -v.loop.line):
        if v.status == "parallel" and v.pragma:
            lines.insert(v.loop.line - 1, v.pragma)
    patched = tmp_path / "heat_omp.c"
    patched.write_text("\n".join(lines) + "\n")

    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    common = ["clang-19", "-std=c99", "-O2", f"-I{tmp_path}", str(main)]
    subprocess.run([*common, str(kernel), "-o", str(serial)], check=True)
    subprocess.run([*common, "-fopenmp", str(patched), "-o", str(parallel)], check=True)
    want = subprocess.run([str(serial)], check=True, capture_output=True, text=True).stdout
    assert want.strip()
    for threads in ("2", "4"):
        env = {**os.environ, "OMP_NUM_THREADS": threads}
        got = subprocess.run([str(parallel)], check=True, capture_output=True, text=True, env=env).stdout
        assert got == want, threads
