"""Code written the way existing C is written must parse and be understood:
files that include <omp.h> (and call the OpenMP API), and `restrict` in
every form Clang accepts, read from the types Clang gives, not the spelling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ompilot.analysis.scan import scan_source
from ompilot.cli.main import main

OMPILOT = Path(sys.executable).with_name("ompilot")

OMP_API_C = """\
#include <stdio.h>
#include <omp.h>
#include "support.h"

static double a[100000];

int main(void)
{
    int i;
    omp_lock_t lock;
    omp_init_lock(&lock);
    for (i = 0; i < 100000; i++)
        a[i] = 0.5 * i;
    omp_set_lock(&lock);
    printf("%d %d %f\\n", omp_get_thread_num(), omp_is_initial_device(), a[99999]);
    omp_unset_lock(&lock);
    omp_destroy_lock(&lock);
    return 0;
}
"""

SUPPORT_H = """\
#ifndef SUPPORT_H
#define SUPPORT_H
#include <omp.h>
static inline double wall(void) { return omp_get_wtime(); }
#endif
"""

RACY_WITH_OMP_H = """\
#include <stdio.h>
#include <omp.h>
int main(void) {
    static int a[1000];
#pragma omp parallel for
    for (int i = 1; i < 1000; i++)
        a[i] = a[i-1] + omp_get_num_threads();
    printf("%d\\n", a[999]);
    return 0;
}
"""


@pytest.mark.parametrize("suffix", [".c", ".cpp"])
def test_files_including_omp_h_parse_and_their_loops_are_analysed(tmp_path: Path, suffix: str):
    (tmp_path / "support.h").write_text(SUPPORT_H)
    path = tmp_path / f"prog{suffix}"
    report = scan_source(str(path), OMP_API_C.encode(), _settings(tmp_path))
    assert not report.errors, report.errors
    (verdict,) = report.verdicts
    assert verdict.status == "parallel", [r.text() for r in verdict.reasons]


def test_check_finds_the_race_in_a_file_that_includes_omp_h(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("racy.c").write_text(RACY_WITH_OMP_H)
    code = main(["check", "racy.c"])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert "racy.c:5:" in out and "RaceInPragma" in out  # the pragma line
    assert "not analysed" not in out + err


def test_openmp_syntax_errors_are_still_reported_with_omp_h(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("bad.c").write_text(
        "#include <omp.h>\nvoid f(double *a, int n) {\n#pragma omp parallel for schedule(sometimes)\n"
        "    for (int i = 0; i < n; i++)\n        a[i] = omp_get_thread_num();\n}\n"
    )
    completed = subprocess.run([str(OMPILOT), "scan", "bad.c"], capture_output=True, text=True, check=False)
    assert "Clang rejects an OpenMP pragma" in completed.stderr + completed.stdout
    assert "omp_is_initial_device" not in completed.stderr + completed.stdout


def _settings(directory: Path):
    from ompilot.analysis.scan import ScanSettings

    return ScanSettings(flags=(f"-I{directory}",))


KERNEL = """\
#define RESTRICT restrict
#define N 100
typedef double real;
typedef double *restrict real_ptr;
void kernel(int n, {params})
{{
    int i, j;
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++)
            {body};
}}
"""

RESTRICT_FORMS = [
    # (parameters, loop body): each pair is restrict in a different spelling
    ("double A[restrict n][n], double B[restrict n][n]", "A[i][j] = B[i][j] + 1"),
    ("double A[restrict N][N], double B[restrict N][N]", "A[i][j] = B[i][j] + 1"),
    ("real A[RESTRICT n][n], real B[RESTRICT N][N]", "A[i][j] = B[i][j] + 1"),
    ("double A[static restrict N][N], double B[const restrict N][N]", "A[i][j] = B[i][j] + 1"),
    ("double *restrict a, const double *restrict b", "a[i * n + j] = b[i * n + j] + 1"),
    ("double *__restrict a, const double *__restrict__ b", "a[i * n + j] = b[i * n + j] + 1"),
    ("real_ptr a, real_ptr b", "a[i * n + j] = b[i * n + j] + 1"),
    ("double (*restrict A)[N], double (*restrict B)[N]", "A[i][j] = B[i][j] + 1"),
]


@pytest.mark.parametrize("params,body", RESTRICT_FORMS)
def test_restrict_in_every_form_proves_no_alias(params: str, body: str):
    source = KERNEL.format(params=params, body=body)
    report = scan_source("kernel.c", source.encode())
    assert not report.errors, report.errors
    outer = min(report.verdicts, key=lambda v: v.loop.line)
    assert outer.status == "parallel", [r.text() for r in outer.reasons]
    assert outer.pragma and outer.pragma.startswith("#pragma omp parallel for")


@pytest.mark.parametrize(
    "params",
    [
        "double A[n][n], double B[n][n]",  # VLA parameters without restrict
        "double (*A)[N], double (*B)[N]",  # pointers to rows
        "double A[static N][N], double B[const N][N]",  # qualifiers, but no restrict
    ],
)
def test_array_parameters_without_restrict_may_alias(params: str):
    source = KERNEL.format(params=params, body="A[i][j] = B[i][j] + 1")
    report = scan_source("kernel.c", source.encode())
    outer = min(report.verdicts, key=lambda v: v.loop.line)
    assert outer.status != "parallel"  # no static proof: unknown, or behind a run-time check
    assert "PossibleAlias" in {r.code for r in outer.reasons} or outer.runtime_check is not None
