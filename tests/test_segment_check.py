"""Run-time segment checks: a loop whose iterations write the segments an
index array delimits (compressed rows, `for (k = X[i]; k < X[i + 1]; k++)`)
is parallel when X is non-decreasing, tested in the pragma's
`if(ompilot_nondecreasing_int(X, first, last))`; not proposed for scatters,
a written X, or overlapping bounds.

The end-to-end test builds the suggested patch with clang-19 and gcc, runs it
with 2 and 4 threads on an ordered index (the parallel path, seen by a probe)
and on a decreasing one whose segments overlap (the serial path: the probe
sees no parallel region, the output is the serial one, and Archer finds no
race, while the same loop without the guard races).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from ompilot.analysis.loopfacts import UnprovenSegmentOrder
from ompilot.analysis.scan import scan_source
from ompilot.cli.main import main
from ompilot.suggest.engine import suggest_source

ARCHER = "/usr/lib/llvm-19/lib/libarcher.so"

KERNEL = """\
void fill(int n, const int *restrict rowptr, int *restrict col, double *restrict val)
{
    int i, k;
    for (i = 0; i < n; i++) {
        for (k = rowptr[i]; k < rowptr[i + 1]; k++) {
            col[k] = i + (k - rowptr[i]);
            val[k] = 1.0 / (1.0 + (double) i + (double) k);
        }
    }
}
"""


def _verdict(source: str, line: int = 4):
    report = scan_source("seg.c", source.encode())
    assert not report.errors, report.errors
    return next(v for v in report.verdicts if v.loop.line == line)


def _codes(v) -> set[str]:
    return {r.code for r in v.reasons}


# --------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------


def test_csr_fill_is_parallel_behind_an_order_check():
    v = _verdict(KERNEL)
    assert v.status == "parallel-if-disjoint" and v.parallel is True
    check = v.runtime_check
    assert check.condition() == "ompilot_nondecreasing_int(rowptr, 0, n)"
    assert check.pairs == () and [o.index_range for o in check.orders] == ["rowptr[0..n]"]
    assert v.pragma.startswith("#pragma omp parallel for") and v.pragma.endswith(
        "if(ompilot_nondecreasing_int(rowptr, 0, n))")
    assert check.text() == ("parallel when rowptr[0..n] is non-decreasing (each i writes only col[k] and val[k] "
                            "for rowptr[i] <= k < rowptr[i + 1]); checked at run time")
    assert check.text() in v.notes and not v.reasons


def test_without_restrict_the_order_and_overlap_checks_combine():
    source = KERNEL.replace(" *restrict ", " *")
    v = _verdict(source)
    assert v.status == "parallel-if-disjoint"
    # col and rowptr are both int: they may overlap; val (double) cannot, by C's strict-aliasing rule
    assert v.runtime_check.condition() == (
        "ompilot_nondecreasing_int(rowptr, 0, n) && rowptr[0] >= 0 && "
        "ompilot_disjoint(col, (size_t)(rowptr[n]) * sizeof *col, rowptr, (size_t)(n + 1) * sizeof *rowptr)")
    assert "and col[0:rowptr[n]] and rowptr[0:n + 1] do not overlap" in v.runtime_check.text()


def test_struct_members_and_a_shifted_one_based_index():
    source = """\
struct csr { int n; long *start; float *w; };
void scale(struct csr *restrict m, int first)
{
    int i;
    long k;
    for (i = first; i <= m->n; i++)
        for (k = m->start[i - 1] - 1; k <= m->start[i] - 2; k++)
            m->w[k + 1] = 2.0f * m->w[k + 1];
}
"""
    v = _verdict(source, line=6)
    assert v.status == "parallel-if-disjoint", [r.text() for r in v.reasons]
    assert v.runtime_check.condition() == "ompilot_nondecreasing_long(m->start, first - 1, m->n)"


@pytest.mark.parametrize("name,body", [
    ("scatter", "y[col[k]] += val[k];"),
    ("index written", "col[k] = i; rowptr[i] = k;"),
    ("two segments apart", None),
    ("offset varies", "col[k + i] = i;"),
    ("neighbour read", "col[k] = col[k + 1];"),
    ("outside the segment", "col[k] = i; col[rowptr[i]] = 0;"),
])
def test_no_check_when_segments_are_not_the_whole_story(name, body):
    source = """\
void f(int n, int *restrict rowptr, int *restrict col, const double *restrict val, double *restrict y)
{
    int i, k;
    for (i = 0; i < n; i++) {
        for (k = rowptr[i]; k < rowptr[i + 1]; k++) {
            BODY
        }
    }
}
"""
    if body is None:  # segments [X[i], X[i + 2]) of neighbouring rows overlap
        source = source.replace("rowptr[i + 1]", "rowptr[i + 2]").replace("BODY", "col[k] = i;")
    else:
        source = source.replace("BODY", body)
    v = _verdict(source)
    assert v.runtime_check is None and v.parallel is not True, (name, v.pragma)
    assert v.pragma is None or "if(" not in v.pragma
    if name == "scatter":
        assert "UnprovenSegmentOrder" not in _codes(v)
        assert "ompilot_nondecreasing" not in " ".join(v.notes)


def test_a_proven_dependence_keeps_the_loop_serial():
    source = """\
void f(int n, const int *restrict rowptr, int *restrict col, double *restrict total)
{
    int i, k;
    for (i = 0; i < n; i++) {
        total[0] = total[0] + 1.0;
        for (k = rowptr[i]; k < rowptr[i + 1]; k++)
            col[k] = i;
    }
}
"""
    v = _verdict(source)
    assert v.status == "serial" and v.runtime_check is None
    assert "UnprovenSegmentOrder" in _codes(v)  # still said, beside the real obstacle


def test_unknown_reason_is_a_small_class_in_every_format(tmp_path: Path, capsys):
    source = KERNEL.replace("for (i = 0; i < n; i++)", "for (i = 0; i < n; i += 2)")
    v = _verdict(source)
    assert v.status == "unknown" and v.runtime_check is None  # step 2: the check could read past the loop's reads
    serial = _verdict(KERNEL.replace("col[k] = i + (k - rowptr[i]);", "col[k] = i + (k - rowptr[i]);\n"
                                     "            col[0] = 0;"))
    [reason] = [r for r in serial.reasons if isinstance(r, UnprovenSegmentOrder)]
    assert reason.writes == "val[k]" and serial.runtime_check is None  # col[0] is outside any segment
    assert serial.status == "unknown" and "UnanalyzableAccess" in _codes(serial)
    unknown = _verdict("void g(void);\n" + KERNEL.replace("for (i = 0; i < n; i++) {", "for (i = 0; i < n; i++) {\n        g();"), 5)
    [reason] = [r for r in unknown.reasons if isinstance(r, UnprovenSegmentOrder)]
    assert reason.index_range == "rowptr[0..n]" and not reason.proven and unknown.status == "unknown"
    assert reason.to_json()["message"] == reason.text() and "rowptr[0..n] is non-decreasing" in reason.text()
    path = tmp_path / "kernel.c"
    path.write_text(KERNEL)
    assert main(["scan", "--format", "json", str(path)]) == 1
    [loop] = [lp for lp in json.loads(capsys.readouterr().out)["loops"] if lp["line"] == 4]
    assert loop["status"] == "parallel-if-disjoint"
    assert loop["runtime_check"]["orders"] == [{
        "index": "rowptr", "first": "0", "last": "n", "type": "int", "helper": "ompilot_nondecreasing_int",
        "message": "rowptr[0..n] is non-decreasing (each i writes only col[k] and val[k] for rowptr[i] <= k < rowptr[i + 1])"}]
    assert loop["runtime_check"]["pairs"] == [] and loop["runtime_check"]["guards"] == []


def test_corpus_csr_build_loop_is_checked():
    from ompilot.analysis.scan import ScanSettings, scan_paths
    project = Path(__file__).resolve().parent.parent / "corpus" / "projects" / "spmv_csr"
    reports, errors = scan_paths([project], ScanSettings(build_dir=project))
    assert not errors
    [v] = [v for r in reports if r.path.endswith("csr.c") for v in r.verdicts if v.loop.line == 32]
    assert v.status == "parallel-if-disjoint"
    assert v.pragma.endswith("if(ompilot_nondecreasing_int(A->rowptr, 0, nrows))")
    assert ("parallel when A->rowptr[0..nrows] is non-decreasing (each i writes only A->col[k] and A->val[k] "
            "for A->rowptr[i] <= k < A->rowptr[i + 1]); checked at run time") in v.notes


# --------------------------------------------------------------------------
# Built and run: the parallel path on ordered rows, the serial one on overlapping rows
# --------------------------------------------------------------------------

PROGRAM = """\
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fill(int n, const int *rowptr, int *col, double *val)
{
    int i, k;
    for (i = 0; i < n; i++) {
        for (k = rowptr[i]; k < rowptr[i + 1]; k++) {
            col[k] = i + (k - rowptr[i]);
            val[k] = 1.0 / (1.0 + (double) i + (double) k);
        }
    }
}

int main(int argc, char **argv)
{
    int n = 3000, i, nnz = 5 * n / 2 + 20;
    int overlap = argc > 1 && strcmp(argv[1], "overlap") == 0;
    int *rowptr = calloc((size_t) (n + 1 + nnz), sizeof *rowptr); /* col shares the allocation */
    int *col = rowptr + n + 1;
    double *val = calloc((size_t) nnz, sizeof *val);
    long sum = 0;
    double weight = 0.0;

    rowptr[0] = 0;
    for (i = 0; i < n; i++)
        rowptr[i + 1] = overlap ? 5 * ((i + 1) / 2) + 10 * ((i + 1) % 2) : rowptr[i] + 1 + i % 4;
    fill(n, rowptr, col, val);
    for (i = 0; i < nnz; i++) {
        sum += (long) col[i] * (i % 13 + 1);
        weight += val[i] * (double) (i % 7);
    }
    printf("%ld %.15e\\n", sum, weight);
    free(rowptr);
    free(val);
    return 0;
}
"""

PROBE = "#pragma omp atomic write\nompilot_probe_parallel = omp_in_parallel();\n"


def _patched_fill() -> str:
    """The program with ompilot's proposal for the fill loop (helpers included)."""
    result = suggest_source("seg.c", PROGRAM.encode())
    assert not result.errors, result.errors
    [proposal] = [p for p in result.proposals if p.line == 8]
    from ompilot.suggest import patch
    text = patch.apply_edits(result.data, proposal.edits).decode()
    assert "#pragma omp parallel for" in text and "if(ompilot_nondecreasing_int(rowptr, 0, n) && rowptr[0] >= 0 && " \
        "ompilot_disjoint(col, " in text
    assert any("reads rowptr[0..n] once when the loop starts" in e for e in proposal.explanation)
    return text


def _with_probe(text: str) -> str:
    """Record omp_in_parallel() inside the checked loop and print it at exit."""
    text = text.replace("#include <stdio.h>", "#include <stdio.h>\n#include <omp.h>\nint ompilot_probe_parallel = -1;", 1)
    text = text.replace("        for (k = rowptr[i];", PROBE + "        for (k = rowptr[i];", 1)
    return text.replace('    printf("%ld %.15e\\n", sum, weight);',
                        '    printf("%ld %.15e\\n", sum, weight);\n    fprintf(stderr, "parallel=%d\\n", ompilot_probe_parallel);', 1)


def _build(tmp_path: Path, text: str, compiler: str, name: str, *extra: str, quiet: bool = True) -> Path:
    source = tmp_path / f"{name}.c"
    source.write_text(text)
    exe = tmp_path / name
    done = subprocess.run([compiler, "-O1", "-Wall", "-Wextra", *extra, str(source), "-o", str(exe)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and ("warning" not in done.stderr or not quiet), (compiler, done.stderr)
    return exe


def _program_output(stdout: str) -> str:
    """stdout without Archer's own lines (its verbose=1 banner)."""
    return "".join(line for line in stdout.splitlines(keepends=True) if not line.startswith("Archer"))


def _run(exe: Path, mode: str, threads: int | None = None, env: dict | None = None):
    environ = dict(os.environ, **(env or {}))
    if threads:
        environ["OMP_NUM_THREADS"] = str(threads)
    return subprocess.run([str(exe), mode], capture_output=True, text=True, timeout=60, env=environ)


@pytest.mark.parametrize("compiler", ["clang-19", "gcc"])
def test_checked_loop_runs_parallel_only_on_ordered_rows(tmp_path: Path, compiler: str):
    patched = _patched_fill()
    serial = _build(tmp_path, PROGRAM, compiler, "serial")
    probed = _build(tmp_path, _with_probe(patched), compiler, "probed", "-fopenmp")
    plain = _build(tmp_path, patched, compiler, "plain", "-fopenmp")
    for mode, path_taken in (("ordered", "parallel=1"), ("overlap", "parallel=0")):
        expected = _run(serial, mode)
        assert expected.returncode == 0 and expected.stdout
        for threads in (2, 4):
            probe = _run(probed, mode, threads)
            assert probe.returncode == 0 and path_taken in probe.stderr, (mode, threads, probe.stderr)
            assert probe.stdout == expected.stdout, (mode, threads)
            got = _run(plain, mode, threads)
            assert got.returncode == 0 and got.stdout == expected.stdout, (mode, threads)


def test_overlapping_rows_take_the_serial_path_race_free_under_archer(tmp_path: Path):
    patched = _patched_fill()
    env = {"OMP_TOOL_LIBRARIES": ARCHER, "ARCHER_OPTIONS": "verbose=1",
           "TSAN_OPTIONS": "ignore_noninstrumented_modules=1 exitcode=66"}
    flags = ("-fopenmp", "-fsanitize=thread", "-g")
    checked = _build(tmp_path, patched, "clang-19", "checked", *flags)
    serial = _run(_build(tmp_path, PROGRAM, "clang-19", "serial"), "overlap")
    for threads in (2, 4):
        res = _run(checked, "overlap", threads, env)
        assert "Archer detected OpenMP application with TSan" in res.stdout + res.stderr, res.stderr[-2000:]
        assert res.returncode == 0 and "data race" not in res.stderr, res.stderr[-3000:]
        assert _program_output(res.stdout) == serial.stdout
    # the same loop without its guard races on these rows: the clean run above means something
    unguarded = re.sub(r" if\(ompilot_nondecreasing_int\(.*\)\)\n", " schedule(static, 1)\n", patched)
    unguarded = re.sub(r"schedule\([a-z]+\) ", "", unguarded)
    assert "if(ompilot_nondecreasing" not in unguarded and "schedule(static, 1)" in unguarded
    racy = _build(tmp_path, unguarded, "clang-19", "racy", *flags, quiet=False)  # the helpers are unused
    res = _run(racy, "overlap", 4, env)
    assert "Archer detected OpenMP application with TSan" in res.stdout + res.stderr
    assert "WARNING: ThreadSanitizer: data race" in res.stderr


def test_patched_file_is_stable_and_compiles_as_cpp(tmp_path: Path):
    result = suggest_source("seg.c", PROGRAM.encode())
    again = suggest_source("seg.c", result.patched)
    assert again.proposals == [] and not again.errors
    assert result.patched.count(b"static inline int ompilot_nondecreasing_int(") == 1
    report = scan_source("seg.c", result.patched)
    assert not any(v.races for v in report.verdicts)
    cpp = tmp_path / "seg.cpp"
    cpp.write_bytes(result.patched.replace(b"int *rowptr = calloc", b"int *rowptr = (int *) calloc")
                    .replace(b"double *val = calloc", b"double *val = (double *) calloc"))
    for compiler in ("clang++-19", "g++"):
        done = subprocess.run([compiler, "-fopenmp", "-Wall", "-Wextra", "-c", str(cpp), "-o", str(tmp_path / "s.o")],
                              capture_output=True, text=True)
        assert done.returncode == 0 and "warning" not in done.stderr, (compiler, done.stderr)
