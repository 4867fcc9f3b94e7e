"""Whole-program facts: the program's own allocators and call sites across
translation units, with real libclang parses, a real build and real runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ompilot.analysis import fanout, loopfacts
from ompilot.analysis.scan import ScanSettings, scan_file, scan_paths
from ompilot.cli.main import main

ALLOC_H = """\
#ifndef ALLOC_H
#define ALLOC_H
#include <stddef.h>
void *xmalloc(size_t n);
double *alloc_vector(size_t n);
#endif
"""

# alloc_vector -> xmalloc -> malloc: a wrapper of a wrapper, with error checks.
ALLOC_C = """\
#include <stdio.h>
#include <stdlib.h>
#include "alloc.h"

void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        perror("xmalloc");
        exit(1);
    }
    return p;
}

double *alloc_vector(size_t n)
{
    if (n == 0)
        return NULL;
    double *v = (double *)xmalloc(n * sizeof *v);
    return v;
}
"""

KERNELS_H = """\
#ifndef KERNELS_H
#define KERNELS_H
void scale_add(double *y, const double *x, double a, int n);
void smooth(double *out, const double *in, int n);
#endif
"""

KERNELS_C = """\
#include "kernels.h"

void scale_add(double *y, const double *x, double a, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = y[i] + a * x[i];
}

void smooth(double *out, const double *in, int n)
{
    for (int i = 1; i < n - 1; i++)
        out[i] = (in[i - 1] + in[i] + in[i + 1]) / 3.0;
}
"""

MAIN_C = """\
#include <stdio.h>
#include <stdlib.h>
#include "alloc.h"
#include "kernels.h"

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    double *x = alloc_vector(n);
    double *y = xmalloc(n * sizeof *y);
    double *z = (double *)xmalloc(n * sizeof(double));
    for (int i = 0; i < n; i++) {
        x[i] = i % 7;
        y[i] = i % 5;
        z[i] = 0;
    }
    for (int t = 0; t < 5; t++) {
        scale_add(y, x, 0.5, n);
        smooth(z, y, n);
    }
    double s = 0;
    for (int i = 0; i < n; i++)
        s += z[i] * (i % 3);
    printf("%.6f\\n", s);
    free(x);
    free(y);
    free(z);
    return 0;
}
"""

KERNEL_LINES = {"kernels.c": {5, 11}}
PROOF = "every caller passes distinct allocations from"


def write_project(root: Path, *, relative: bool, main_c: str = MAIN_C, alloc_c: str = ALLOC_C) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    files = {"alloc.h": ALLOC_H, "alloc.c": alloc_c, "kernels.h": KERNELS_H, "kernels.c": KERNELS_C, "main.c": main_c}
    for name, text in files.items():
        (root / name).write_text(text)
    write_database(root, ["main.c", "kernels.c", "alloc.c"], relative=relative)
    return root


def write_database(root: Path, sources: list[str], *, relative: bool, include: str = ".") -> None:
    directory = "." if relative else str(root)
    entries = []
    for name in sources:
        if name == "alloc.c":  # one entry in the "command" form
            entries.append({"directory": directory, "command": f"cc -I{include} -O2 -c {name} -o x.o", "file": name})
        else:
            entries.append({"directory": directory, "arguments": ["cc", f"-I{include}", "-O2", "-c", name], "file": name})
    (root / "compile_commands.json").write_text(json.dumps(entries, indent=1))


def verdicts(reports, name: str) -> dict[int, loopfacts.Verdict]:
    return {v.loop.line: v for r in reports if Path(r.path).name == name for v in r.verdicts}


def alias_reasons(verdict: loopfacts.Verdict) -> list[loopfacts.PossibleAlias]:
    return [r for r in verdict.reasons if isinstance(r, loopfacts.PossibleAlias)]


def not_proven(verdict: loopfacts.Verdict) -> bool:
    """No static proof that the pointers are distinct: unknown, or parallel
    only behind a run-time check of their ranges."""
    return verdict.status in ("unknown", "parallel-if-disjoint") and (
        bool(alias_reasons(verdict)) or verdict.runtime_check is not None
    )


def missing(verdict: loopfacts.Verdict) -> str:
    """What the program would have to show, from the reason or, behind a run-time check, the notes."""
    return " ".join([r.missing or "" for r in alias_reasons(verdict)] + verdict.notes)


@pytest.mark.parametrize("relative", [False, True], ids=["absolute-directory", "relative-directory"])
def test_kernels_in_their_own_file_are_parallel(tmp_path, relative):
    root = write_project(tmp_path / "proj", relative=relative)
    reports, errors = scan_paths([root], ScanSettings(build_dir=root))
    assert errors == []
    kernels = verdicts(reports, "kernels.c")
    assert set(kernels) == KERNEL_LINES["kernels.c"]
    for verdict in kernels.values():
        assert verdict.parallel is True, verdict.reasons
        assert verdict.pragma == "#pragma omp parallel for"
        assert any(PROOF in n and "xmalloc" in n and "main.c" in n for n in verdict.notes), verdict.notes
    # x comes from alloc_vector, a wrapper of xmalloc, itself a wrapper of malloc
    assert any("alloc_vector" in n for n in kernels[5].notes)
    assert verdicts(reports, "main.c")[12].parallel is True  # x, y, z: fresh through xmalloc


def test_workers_give_the_same_verdicts(tmp_path, monkeypatch):
    root = write_project(tmp_path / "proj", relative=True)
    serial, _ = scan_paths([root], ScanSettings(build_dir=root))
    monkeypatch.setattr(fanout, "POOL_MIN_FILES", 2)  # a pool for these few files
    pooled, errors = scan_paths([root], ScanSettings(build_dir=root, jobs=2))
    assert errors == []
    shape = lambda reports: [(r.path, v.loop.line, v.status, v.pragma, v.notes) for r in reports for v in r.verdicts]  # noqa: E731
    assert shape(pooled) == shape(serial)
    assert all(v.parallel for v in verdicts(pooled, "kernels.c").values())


def test_cli_directory_with_relative_database(tmp_path, capsys, monkeypatch):
    root = write_project(tmp_path / "proj", relative=True)
    monkeypatch.chdir(tmp_path)  # the database's "." is its own folder, not the current directory
    capsys.readouterr()
    code = main(["scan", "--format", "json", "proj"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["errors"] == []
    kernels = [loop for loop in data["loops"] if loop["file"].endswith("kernels.c")]
    assert [loop["status"] for loop in kernels] == ["parallel", "parallel"]
    assert all(any(PROOF in n for n in loop["notes"]) for loop in kernels)


def test_cli_sources_given_together(tmp_path, capsys, monkeypatch):
    root = write_project(tmp_path / "proj", relative=False)
    (root / "compile_commands.json").unlink()
    monkeypatch.chdir(root)
    capsys.readouterr()
    code = main(["scan", "--format", "json", "main.c", "kernels.c", "alloc.c", "--", "-I."])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    kernels = [loop for loop in data["loops"] if loop["file"] == "kernels.c"]
    assert [loop["status"] for loop in kernels] == ["parallel", "parallel"]
    assert all(any(PROOF in n and "xmalloc" in n for n in loop["notes"]) for loop in kernels)


def test_kernels_alone_say_what_is_missing(tmp_path, capsys, monkeypatch):
    root = write_project(tmp_path / "proj", relative=True)
    report = scan_file(root / "kernels.c", ScanSettings(build_dir=root))
    for verdict in report.verdicts:
        assert not_proven(verdict)
        assert "an external function whose callers are not all in view" in missing(verdict)
        assert "compile_commands.json or all its sources" in missing(verdict)
    monkeypatch.chdir(root)
    capsys.readouterr()
    main(["scan", "kernels.c", "--", "-I."])
    out = capsys.readouterr().out
    assert "y and x are parameters of scale_add, an external function whose callers are not all in view" in " ".join(out.split())


def _scan_kernels(root: Path) -> dict[int, loopfacts.Verdict]:
    reports, errors = scan_paths([root], ScanSettings(build_dir=root))
    return verdicts(reports, "kernels.c"), errors


def test_one_call_with_the_same_array_twice_keeps_the_alias(tmp_path):
    main_c = MAIN_C.replace("smooth(z, y, n);", "smooth(z, y, n);\n        smooth(y, y, n);")
    root = write_project(tmp_path / "proj", relative=True, main_c=main_c)
    kernels, errors = _scan_kernels(root)
    assert errors == []
    assert kernels[5].parallel is True  # scale_add's calls are all distinct
    assert not_proven(kernels[11])
    assert "passes y for both" in missing(kernels[11]) and "main.c:20" in missing(kernels[11])


def test_offset_pointer_keeps_the_alias(tmp_path):
    main_c = MAIN_C.replace("smooth(z, y, n);", "smooth(z, z + 1, n - 1);")
    kernels, _ = _scan_kernels(write_project(tmp_path / "proj", relative=True, main_c=main_c))
    assert not_proven(kernels[11])
    assert "z + 1" in missing(kernels[11])


def test_address_taken_kernel_keeps_the_alias(tmp_path):
    main_c = MAIN_C.replace(
        "int main(", "typedef void (*kernel_fn)(double *, const double *, int);\nkernel_fn chosen = smooth;\n\nint main("
    )
    kernels, _ = _scan_kernels(write_project(tmp_path / "proj", relative=True, main_c=main_c))
    assert kernels[5].parallel is True
    assert not_proven(kernels[11])
    assert "address is taken" in missing(kernels[11])


def test_allocator_that_may_return_a_global_array(tmp_path):
    alloc_c = ALLOC_C.replace(
        "double *alloc_vector(size_t n)\n{\n    if (n == 0)\n        return NULL;",
        "static double spare[16];\n\ndouble *alloc_vector(size_t n)\n{\n    if (n <= 16)\n        return spare;",
    )
    main_c = MAIN_C.replace("double *y = xmalloc(n * sizeof *y);", "double *y = alloc_vector(n);")
    kernels, _ = _scan_kernels(write_project(tmp_path / "proj", relative=True, alloc_c=alloc_c, main_c=main_c))
    assert not_proven(kernels[5])  # x and y may both be `spare`
    assert "alloc_vector, not known to return fresh memory" in missing(kernels[5])
    assert not_proven(kernels[11])  # smooth(z, y): y may be `spare` too, a global named elsewhere


SAME_FILE = """\
#include <stdlib.h>
#include <stdio.h>

void *pool_alloc(size_t n) __attribute__((malloc));  /* defined in a library */

static void *xalloc(size_t n)
{
    void *p = calloc(n, 1);
    if (p == NULL)
        abort();
    return p;
}

static void *aligned(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n) != 0)
        return NULL;
    return p;
}

static double *grow(double *old, size_t n)
{
    double *p = realloc(old, n * sizeof *p);
    if (!p)
        exit(2);
    return p;
}

void add(double *c, const double *a, const double *b, int n)
{
    for (int i = 0; i < n; i++)
        c[i] = a[i] + b[i];
}

int main(void)
{
    int n = 1000;
    double *a = xalloc(n * sizeof *a);
    double *b = aligned(n * sizeof *b);
    double *c = grow(NULL, n);
    double *d = pool_alloc(n * sizeof *d);
    add(c, a, b, n);
    add(d, c, a, n);
    printf("%f\\n", c[0] + d[0]);
    return 0;
}
"""


def test_same_file_wrappers_attribute_posix_memalign_and_realloc(tmp_path):
    path = tmp_path / "same.c"
    path.write_text(SAME_FILE)
    report = scan_file(path)
    (verdict,) = [v for v in report.verdicts if v.loop.function == "add"]
    assert verdict.parallel is True, verdict.reasons
    (note,) = [n for n in verdict.notes if PROOF in n]
    for allocator in ("xalloc", "aligned", "grow", "pool_alloc"):
        assert allocator in note


def test_same_file_wrapper_returning_a_static_is_not_an_allocator(tmp_path):
    source = SAME_FILE.replace("    return p;\n}\n\nstatic void *aligned", "    static double keep[8];\n    return n > 8 ? p : keep;\n}\n\nstatic void *aligned")
    path = tmp_path / "same.c"
    path.write_text(source)
    (verdict,) = [v for v in scan_file(path).verdicts if v.loop.function == "add"]
    assert not_proven(verdict)
    assert "xalloc, not known to return fresh memory" in missing(verdict)


# ------------------------------------------------------------------ bad input


def test_function_defined_twice(tmp_path):
    root = write_project(tmp_path / "proj", relative=True)
    (root / "other.c").write_text(
        '#include "kernels.h"\nvoid smooth(double *out, const double *in, int n)\n{\n    out[0] = in[0] * n;\n}\n'
    )
    write_database(root, ["main.c", "kernels.c", "alloc.c", "other.c"], relative=True)
    kernels, errors = _scan_kernels(root)
    assert any(e.startswith(str(root / "other.c")) and "smooth is also defined in" in e for e in errors), errors
    assert kernels[5].parallel is True
    assert not_proven(kernels[11])
    assert "defined more than once" in missing(kernels[11])


def _project_with_a_header_missing_for_main(tmp_path: Path) -> Path:
    """main.c includes <config.h>, which its entry's -I does not reach."""
    root = write_project(tmp_path / "proj", relative=True, main_c="#include <config.h>\n" + MAIN_C.replace("100000", "SIZE"))
    (root / "config.h").write_text("#define SIZE 1000\n")
    entries = json.loads((root / "compile_commands.json").read_text())
    entries[0]["arguments"] = ["cc", "-Ino-such-dir", "-c", "main.c"]
    (root / "compile_commands.json").write_text(json.dumps(entries))
    return root


def test_header_missing_in_one_entry(tmp_path):
    root = _project_with_a_header_missing_for_main(tmp_path)
    reports, errors = scan_paths([root], ScanSettings(build_dir=root))
    main_report = next(r for r in reports if r.path.endswith("main.c"))
    assert any("main.c" in e and "not analysed" in e for e in main_report.errors)
    kernels = verdicts(reports, "kernels.c")
    assert set(kernels) == {5, 11}
    for verdict in kernels.values():
        assert not_proven(verdict)
        assert "could not be analysed" in missing(verdict)


def test_header_missing_in_an_entry_not_scanned(tmp_path):
    root = _project_with_a_header_missing_for_main(tmp_path)
    reports, errors = scan_paths([root / "kernels.c"], ScanSettings(build_dir=root))
    (line,) = errors
    assert line.startswith(str(root / "main.c")) and "error" in line and "calls from it are not known" in line
    assert all(not_proven(v) for v in reports[0].verdicts)


def test_entry_for_a_file_that_no_longer_exists(tmp_path):
    root = write_project(tmp_path / "proj", relative=True)
    write_database(root, ["main.c", "kernels.c", "alloc.c", "gone.c"], relative=True)
    reports, errors = scan_paths([root], ScanSettings(build_dir=root))
    (line,) = errors
    assert line.startswith(str(root / "gone.c")) and "does not exist" in line
    assert all(not_proven(v) for v in verdicts(reports, "kernels.c").values())
    assert verdicts(reports, "main.c")[22].parallel is True  # the rest is still analysed


def test_several_programs_use_no_cross_file_facts(tmp_path):
    root = write_project(tmp_path / "proj", relative=True)
    (root / "tool.c").write_text('int main(void) { return 0; }\n')
    write_database(root, ["main.c", "kernels.c", "alloc.c", "tool.c"], relative=True)
    kernels, errors = _scan_kernels(root)
    assert errors == []
    for verdict in kernels.values():
        assert not_proven(verdict)
        assert "define main 2 times" in missing(verdict)


# ------------------------------------------------------- the proof, run for real


def _insert_pragmas(root: Path, reports) -> None:
    for report in reports:
        inserts = sorted(((v.loop.line, v.pragma) for v in report.verdicts if v.parallel and v.pragma), reverse=True)
        lines = Path(report.path).read_text().splitlines(keepends=True)
        for line, pragma in inserts:
            lines.insert(line - 1, pragma + "\n")
        Path(report.path).write_text("".join(lines))


def _build_and_run(root: Path, out: Path, openmp: bool, threads: int | None = None) -> str:
    flags = ["-fopenmp"] if openmp else []
    sources = [str(root / n) for n in ("main.c", "kernels.c", "alloc.c")]
    subprocess.run(["clang-19", "-O2", f"-I{root}", *flags, *sources, "-o", str(out)], check=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads or 1))
    return subprocess.run([str(out), "50000"], check=True, capture_output=True, text=True, env=env).stdout


def test_pragmas_from_the_whole_program_keep_the_output(tmp_path):
    root = write_project(tmp_path / "proj", relative=True)
    serial = _build_and_run(root, tmp_path / "serial", openmp=False)
    reports, errors = scan_paths([root], ScanSettings(build_dir=root))
    assert errors == []
    _insert_pragmas(root, reports)
    assert (root / "kernels.c").read_text().count("#pragma omp parallel for") == 2
    for threads in (2, 4):
        assert _build_and_run(root, tmp_path / "parallel", openmp=True, threads=threads) == serial


def test_cpp_new_wrapper_in_another_file(tmp_path, capsys, monkeypatch):
    (tmp_path / "pool.cpp").write_text(
        "#include <cstddef>\n"
        "double *make(std::size_t n) { double *p = new double[n]; return p; }\n"
    )
    (tmp_path / "ops.cpp").write_text(
        "void mul(double *c, const double *a, int n) {\n"
        "    for (int i = 0; i < n; i++)\n"
        "        c[i] = 2.0 * a[i];\n"
        "}\n"
    )
    (tmp_path / "main.cpp").write_text(
        "#include <cstddef>\n"
        "double *make(std::size_t n);\n"
        "void mul(double *c, const double *a, int n);\n"
        "int main() { double *a = make(10); double *c = make(10); mul(c, a, 10); return c[0] > 0; }\n"
    )
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    main(["scan", "--format", "json", "main.cpp", "ops.cpp", "pool.cpp", "--", "-std=c++17"])
    (loop,) = [loop for loop in json.loads(capsys.readouterr().out)["loops"] if loop["file"] == "ops.cpp"]
    assert loop["status"] == "parallel"
    assert any("distinct allocations from make" in n for n in loop["notes"])


def test_suggest_diff_uses_the_whole_program(tmp_path, capsys, monkeypatch):
    """`ompilot suggest . --diff --no-verify` proposes the kernels' pragmas from
    the program's facts, and the diff applies and keeps the output."""
    root = write_project(tmp_path / "proj", relative=True)
    serial = _build_and_run(root, tmp_path / "serial", openmp=False)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    monkeypatch.chdir(root)
    capsys.readouterr()
    code = main(["suggest", ".", "--diff", "--no-verify"])
    diff = capsys.readouterr().out
    assert code == 1
    kernel_part = diff.split("--- a/kernels.c", 1)[1].split("--- a/", 1)[0]
    added = [line for line in kernel_part.splitlines() if line.startswith("+") and "#pragma omp parallel for" in line]
    assert len(added) == 2, diff
    subprocess.run(["git", "apply", "-"], cwd=root, input=diff, text=True, check=True)
    for threads in (2, 4):
        assert _build_and_run(root, tmp_path / "parallel", openmp=True, threads=threads) == serial


def test_suggest_on_the_kernel_file_alone_checks_the_pointers_at_run_time(tmp_path, capsys, monkeypatch):
    """Without the callers, no static proof: each kernel's pragma is guarded
    by a run-time test that its pointers' ranges do not overlap."""
    root = write_project(tmp_path / "proj", relative=True)
    (root / "compile_commands.json").unlink()
    monkeypatch.chdir(root)
    capsys.readouterr()
    main(["suggest", "kernels.c", "--diff", "--no-verify", "--", "-I."])
    pragmas = [line for line in capsys.readouterr().out.splitlines() if line.startswith("+") and "#pragma omp" in line]
    assert len(pragmas) == 2 and all("if(ompilot_disjoint(" in line for line in pragmas)


def test_check_uses_the_whole_program(tmp_path, capsys, monkeypatch):
    root = write_project(tmp_path / "proj", relative=True)
    monkeypatch.chdir(root)
    capsys.readouterr()
    main(["check", "--format", "json", "kernels.c"])
    out = capsys.readouterr().out
    assert "parallel-opportunity" in out or "parallel for" in out


# Allocation through functions that hand back the memory they are given:
# memset() returns its first argument, checked() is the project's own.
CHECKED_ALLOC_C = ALLOC_C.replace(
    "double *alloc_vector(size_t n)",
    "void *checked(void *p, size_t n)\n{\n    if (!p && n) {\n        perror(\"checked\");\n        exit(1);\n    }\n"
    "    return p;\n}\n\nvoid *zeroed(size_t n)\n{\n    return memset(checked(malloc(n), n), 0, n);\n}\n\n"
    "double *alloc_vector(size_t n)",
).replace("#include <stdlib.h>", "#include <stdlib.h>\n#include <string.h>")
CHECKED_ALLOC_H = ALLOC_H.replace("double *alloc_vector", "void *checked(void *p, size_t n);\nvoid *zeroed(size_t n);\ndouble *alloc_vector")


def test_memory_passed_through_a_checking_function_is_fresh(tmp_path):
    main_c = MAIN_C.replace("double *y = xmalloc(n * sizeof *y);", "double *y = checked(malloc(n * sizeof *y), n);").replace(
        "double *z = (double *)xmalloc(n * sizeof(double));", "double *z = zeroed(n * sizeof(double));"
    )
    root = write_project(tmp_path / "proj", relative=True, main_c=main_c, alloc_c=CHECKED_ALLOC_C)
    (root / "alloc.h").write_text(CHECKED_ALLOC_H)
    kernels, errors = _scan_kernels(root)
    assert errors == []
    assert all(v.status == "parallel" for v in kernels.values()), [v.notes for v in kernels.values()]
    assert any("checked(malloc)" in n for n in kernels[5].notes), kernels[5].notes
    assert any("zeroed" in n for n in kernels[11].notes), kernels[11].notes


def test_a_function_returning_another_pointer_is_no_pass_through(tmp_path):
    """`pick(p, n)` may return a global buffer instead of p: not fresh."""
    alloc_c = CHECKED_ALLOC_C.replace(
        "void *checked(void *p, size_t n)\n{", "static double spare[8];\n\nvoid *checked(void *p, size_t n)\n{\n    if (n < 8)\n        return spare;"
    )
    main_c = MAIN_C.replace("double *y = xmalloc(n * sizeof *y);", "double *y = checked(malloc(n * sizeof *y), n);")
    root = write_project(tmp_path / "proj", relative=True, main_c=main_c, alloc_c=alloc_c)
    (root / "alloc.h").write_text(CHECKED_ALLOC_H)
    kernels, _ = _scan_kernels(root)
    assert not_proven(kernels[5])
    assert "checked(malloc), not known to return fresh memory" in missing(kernels[5])
