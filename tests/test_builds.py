"""Builds without a configuration: the flags after `--`, a compile database
linked into one program (per-object rebuilds), the starter .ompilot.toml when
nothing says how to build, per-check builds (race_defines / race_cflags /
race_build) and bad input. Real compiles and runs of tests/cases/realproj:
three kernels in three files, a support file with an allocation wrapper,
sizes by -D macros, results on stderr with %.2f."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from ompilot.cli.main import main
from ompilot.verify import builds
from ompilot.verify.config import CannotBuild, ConfigError, resolve_config
from ompilot.verify.runner import Sandbox
from ompilot.verify.verifier import Program

PROJECT = Path(__file__).parent / "cases" / "realproj"
SOURCES = ["main.c", "gemm.c", "jacobi.c", "waves.c", "support.c"]
KERNEL_LOOPS = {("gemm.c", 5), ("jacobi.c", 5), ("waves.c", 6)}
CORRECTNESS_STAGES = {"setup", "compile", "output", "race"}


def write_project(root: Path, *, relative: bool = True, compiler: tuple[str, ...] = ("cc",),
                  sources: list[str] = SOURCES) -> Path:
    """A copy of realproj with a compile_commands.json as a build would record it (outputs, dependency files)."""
    shutil.copytree(PROJECT, root)
    (root / ".git").mkdir()  # the configuration search stops here
    directory = "." if relative else str(root)
    entries = [
        {"directory": directory, "file": name,
         "arguments": [*compiler, "-I.", "-DLARGE_DATASET", "-O2", "-MD", "-MF", f"{name}.d", "-c", name,
                       "-o", f"obj/{name[:-2]}.o"]}
        for name in sources
    ]
    (root / "compile_commands.json").write_text(json.dumps(entries, indent=1))
    return root


def run_cli(args: list[str], cwd: Path, capsys) -> tuple[int, str, str]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = main(args)
    finally:
        os.chdir(old)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def stderr_numbers(root: Path, flags: list[str]) -> list[float]:
    """Build the tree's sources with `flags`, run it, and read the numbers it prints on stderr."""
    exe = root / "check.exe"
    subprocess.run(["clang-19", *flags, "-I.", "-DLARGE_DATASET", *SOURCES, "-o", str(exe), "-lm"], cwd=root,
                   check=True)
    run = subprocess.run([str(exe)], cwd=root, capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "2"})
    exe.unlink()
    assert run.stdout == ""
    return [float(x) for x in re.findall(r"-?\d+\.\d\d\b", run.stderr)]


# ------------------------------------------------------------- the database program


@pytest.mark.parametrize("relative", [True, False])
def test_database_program_without_configuration(tmp_path, relative):
    root = write_project(tmp_path / "proj", relative=relative)
    config = resolve_config(root / "gemm.c")
    program = config.program
    assert isinstance(program, builds.ProgramBuild) and config.build == ""
    assert config.root == program.root == root.resolve()
    assert [u.source for u in program.units] == SOURCES  # the one main first, then every other unit
    for unit in program.units:  # recorded flags less the outputs, the action, the dependency file and the source
        assert unit.flags == ("-I" + str(root.resolve()), "-DLARGE_DATASET", "-O2")
    assert program.link_flags == ("-lm",)
    assert resolve_config(root / "support.c") == config  # the same program: verified in one sandbox


def test_per_object_rebuild(tmp_path):
    root = write_project(tmp_path / "proj")
    config = resolve_config(root / "gemm.c")
    original = (root / "gemm.c").read_bytes()
    patched = original.replace(b"    for (int i = 0; i < N; i++)\n        for (int j",
                               b"    #pragma omp parallel for\n    for (int i = 0; i < N; i++)\n        for (int j")
    assert patched != original
    with Sandbox(config.root) as sandbox:
        program = Program(config=config, sandbox=sandbox)
        baseline = program.prepare({"gemm.c": original})
        assert baseline.outputs  # the serial reference built and ran
        objects = {p.name: p for p in (sandbox.path / builds.OBJECTS_DIR).rglob("*.o")}
        assert sorted(objects) == ["0-main.o", "1-gemm.o", "2-jacobi.o", "3-waves.o", "4-support.o"]
        assert len(program.objects.log) == 5
        built = program.build({"gemm.c": patched}, "clang", "-O3 -fopenmp", "parallel.exe")
        assert built.ok, built.stderr
        assert len(program.objects.log) == 10  # another (compiler, flags): its own objects
        stamps = {p: p.stat().st_mtime_ns for p in (sandbox.path / builds.OBJECTS_DIR).rglob("*.o")}
        patched_again = patched.replace(b"parallel for\n", b"parallel for schedule(static)\n")
        built = program.build({"gemm.c": patched_again}, "clang", "-O3 -fopenmp", "parallel.exe")
        assert built.ok, built.stderr
        assert program.objects.log[10:] == ["clang-19 -O3 -fopenmp: gemm.c"]  # only the patched file
        changed = {p.name for p, stamp in stamps.items() if p.stat().st_mtime_ns != stamp}
        assert changed == {"1-gemm.o"}
        # back to the serial build of the original text: its objects are still there, only gemm.c is new
        built = program.build({"gemm.c": original}, "clang", "-O3", "serial.exe")
        assert built.ok and program.objects.log[11:] == []
        run = subprocess.run([str(sandbox.path / "parallel.exe")], capture_output=True, text=True, check=True)
        assert run.stderr.startswith("gemm ")
    assert (root / "gemm.c").read_bytes() == original


def test_ccache_gcc_is_accepted_and_icx_is_not(tmp_path, capsys):
    root = write_project(tmp_path / "cached", compiler=("ccache", "x86_64-linux-gnu-gcc-12"))
    assert resolve_config(root / "waves.c").program is not None
    root = write_project(tmp_path / "intel", compiler=("icx",))
    with pytest.raises(CannotBuild) as info:
        resolve_config(root / "waves.c")
    assert "is compiled with icx, not clang or gcc" in str(info.value) and "\n" not in str(info.value)
    code, out, err = run_cli(["suggest", "waves.c", "--no-tune"], root, capsys)
    assert code == 1 and "Traceback" not in out + err
    lines = [l for l in (out + err).splitlines() if "icx, not clang or gcc" in l]
    assert lines and all("waves.c" in l for l in lines)


# ------------------------------------------------------------- the starter file


def _starter(text: str) -> dict:
    """The .ompilot.toml block after the error line, parsed."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# ompilot: how to build"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("# race_cflags"))
    return tomllib.loads("\n".join(l.removeprefix("error: ") for l in lines[start:end + 1]))


def test_starter_toml_when_no_unit_defines_main(tmp_path, capsys):
    root = write_project(tmp_path / "proj", sources=["gemm.c", "jacobi.c", "waves.c", "support.c"])
    (root / "main.c").unlink()
    code, out, err = run_cli(["suggest", "gemm.c", "--no-tune"], root, capsys)
    assert code == 1 and "Traceback" not in out + err
    assert "defines main(), so there is no program to run; save this as .ompilot.toml" in out
    starter = _starter(out)
    build = starter["build"]
    for word in ("-I.", "-DLARGE_DATASET", "gemm.c", "jacobi.c", "waves.c", "support.c", "{out}", "{cflags}"):
        assert word in build.split(), build
    assert "-MD" not in build and "obj/" not in build


def test_starter_toml_when_several_mains_and_the_file_has_none(tmp_path):
    root = write_project(tmp_path / "proj", sources=SOURCES + ["other.c"])
    (root / "other.c").write_text("int main(void) { return 0; }\n")
    with pytest.raises(CannotBuild) as info:
        resolve_config(root / "jacobi.c")
    assert "2 translation units" in str(info.value) and "main.c, other.c" in str(info.value)
    assert "-DLARGE_DATASET" in info.value.starter
    # a file with its own main is built with the units that define none (one kernel with main per file)
    assert [u.source for u in resolve_config(root / "other.c").program.units] == ["other.c", *SOURCES[1:]]


def test_starter_toml_when_the_derived_build_fails(tmp_path, capsys):
    root = write_project(tmp_path / "proj", sources=["main.c", "gemm.c", "jacobi.c", "waves.c"])  # no support.c
    code, out, err = run_cli(["suggest", "gemm.c", "--no-tune"], root, capsys)
    assert code == 1 and "Traceback" not in out + err
    assert "cannot verify: the serial build fails" in out and "undefined reference" in out
    assert "alloc_data" in out
    assert "save this as .ompilot.toml in" in out
    assert "gemm.c" in _starter(out)["build"]


def test_no_main_no_database(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "k.c").write_text("void k(double *a, int n) { for (int i = 0; i < n; i++) a[i] = 0; }\n")
    with pytest.raises(CannotBuild) as info:
        resolve_config(tmp_path / "k.c")
    assert "no main(), no compile_commands.json" in str(info.value)
    assert "k.c" in tomllib.loads(info.value.starter)["build"]


# ------------------------------------------------------------- flags after `--`

KERNEL_WITH_SIZES = """\
#include <stdio.h>
#include "sizes.h"

static double a[SIZE], b[SIZE];

int main(void)
{
    for (int i = 0; i < SIZE; i++)
        b[i] = i % 13;
    for (int r = 0; r < REPEAT; r++)
        for (int i = 0; i < SIZE; i++)
            a[i] = a[i] * 0.5 + b[i] * b[i] / (1.0 + b[i]);
    double s = 0;
    for (int i = 0; i < SIZE; i++)
        s += a[i];
    fprintf(stderr, "%.2f\\n", s);
    return 0;
}
"""
SIZES_H = "#ifdef LARGE\n#define SIZE 400000\n#define REPEAT 40\n#else\n#define SIZE 100\n#define REPEAT 2\n#endif\n"


def test_single_file_builds_with_the_flags_after_dashes(tmp_path, capsys):
    (tmp_path / ".git").mkdir()
    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "sizes.h").write_text(SIZES_H)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "kernel.c").write_text(KERNEL_WITH_SIZES)
    flags = ("-I", "include", "-DLARGE", "-o", "x.o", "-MD")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        config = resolve_config(tmp_path / "src" / "kernel.c", flags)
    finally:
        os.chdir(old)
    assert config.build == "{cc} {cflags} -I " + str(tmp_path / "include") + " -DLARGE kernel.c -o {out} -lm"
    report = tmp_path / "report.json"
    code, out, err = run_cli(["suggest", "src/kernel.c", "--no-tune", "--report", str(report), "--",
                              "-I", "include", "-DLARGE"], tmp_path, capsys)
    assert "Traceback" not in out + err and "not found" not in out
    records = json.loads(report.read_text())
    verdicts = records["proposals"] + records["rejected"]
    assert verdicts
    assert all(r["evidence"]["stage"] not in ("setup", "compile") for r in verdicts), verdicts


UTIL_H = "#ifndef UTIL_H\n#define UTIL_H\nvoid dump_sum(const char *name, int n, const double *a);\n#endif\n"
UTIL_C = """\
#include <stdio.h>
#include "util.h"

void dump_sum(const char *name, int n, const double *a)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i];
    fprintf(stderr, "%s %.2f\\n", name, s);
}
"""
KERNEL_WITH_SUPPORT = KERNEL_WITH_SIZES.replace('#include "sizes.h"\n', '#include "sizes.h"\n#include "util.h"\n').replace(
    '    double s = 0;\n    for (int i = 0; i < SIZE; i++)\n        s += a[i];\n    fprintf(stderr, "%.2f\\n", s);\n',
    '    dump_sum("a", SIZE, a);\n')


def test_single_file_links_the_support_source_beside_its_header(tmp_path, capsys):
    """A benchmark-suite layout: kernels/kernel.c includes "util.h" from
    ../utilities, whose util.c must be linked in; nothing else says so."""
    assert "dump_sum" in KERNEL_WITH_SUPPORT
    (tmp_path / ".git").mkdir()
    (tmp_path / "utilities").mkdir()
    (tmp_path / "utilities" / "util.h").write_text(UTIL_H)
    (tmp_path / "utilities" / "util.c").write_text(UTIL_C)
    (tmp_path / "utilities" / "sizes.h").write_text(SIZES_H)
    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "kernel.c").write_text(KERNEL_WITH_SUPPORT)
    old = os.getcwd()
    os.chdir(tmp_path / "kernels")
    try:
        config = resolve_config(tmp_path / "kernels" / "kernel.c", ("-I", "../utilities", "-DLARGE"))
    finally:
        os.chdir(old)
    assert str(tmp_path / "utilities" / "util.c") in config.build, config.build
    report = tmp_path / "report.json"
    code, out, err = run_cli(["suggest", "kernel.c", "--no-tune", "--report", str(report), "--",
                              "-I", "../utilities", "-DLARGE"], tmp_path / "kernels", capsys)
    assert "Traceback" not in out + err and "undefined reference" not in out + err
    records = json.loads(report.read_text())
    verdicts = records["proposals"] + records["rejected"]
    assert verdicts
    assert all(r["evidence"]["stage"] not in ("setup", "compile") for r in verdicts), verdicts


# ------------------------------------------------------------- per-check builds and the whole project


def test_race_cflags_that_break_the_build(tmp_path, capsys):
    root = write_project(tmp_path / "proj")
    (root / ".ompilot.toml").write_text('race_cflags = "-DN=-1 -Werror"\n')  # N redefined: an error
    before = tree_bytes(root)
    report = tmp_path / "report.json"
    code, out, err = run_cli(["suggest", "gemm.c", "--no-tune", "--report", str(report)], root, capsys)
    assert "Traceback" not in out + err
    rejected = json.loads(report.read_text())["rejected"]
    raced = [r for r in rejected if r["evidence"]["stage"] == "race"]
    assert raced, rejected
    for record in raced:
        assert record["evidence"]["message"].startswith("the race-check build with race_cflags fails: ")
    assert tree_bytes(root) == before


@pytest.mark.parametrize("configured", [False, True])
def test_real_project_is_verified_and_kept(tmp_path, capsys, configured):
    """(a) no configuration at all; (b) three lines: the race check on the small size."""
    root = write_project(tmp_path / "proj")
    if configured:
        (root / ".ompilot.toml").write_text(
            '# sizes are compile-time macros: the race check builds the small one\n'
            'race_defines = ["MINI_DATASET"]\n'
            "threads = [2, 4]\n"
        )
    serial = stderr_numbers(root, ["-O3"])
    report = tmp_path / "report.json"
    code, out, err = run_cli(["suggest", ".", "--no-tune", "--apply", "--report", str(report)], root, capsys)
    assert "Traceback" not in out + err
    records = json.loads(report.read_text())
    assert not [e for e in records["errors"] if "cannot verify" in e], records["errors"]
    by_line = {(r["file"].split("/")[-1], r["line"]): r for r in records["proposals"] + records["rejected"]}
    for key in KERNEL_LOOPS:
        evidence = by_line[key]["evidence"]
        # it built from the database, ran, matched and was race-free; only the timing on a shared
        # machine may still say "not faster"
        assert evidence["stage"] not in CORRECTNESS_STAGES, (key, evidence)
        assert evidence["race_check"]["runs"] > 0 and evidence["race_check"]["archer_loaded"], evidence
    kept = {(r["file"].split("/")[-1], r["line"]) for r in records["proposals"]}
    if kept:  # --apply wrote them: the patched program prints the same numbers on stderr
        parallel = stderr_numbers(root, ["-O3", "-fopenmp"])
        assert len(parallel) == len(serial) == 3
        assert all(abs(a - b) <= 0.01 + 1e-9 * abs(a) for a, b in zip(serial, parallel)), (serial, parallel)
    print("kept:", sorted(kept))


def test_verify_command_shows_the_starter_file_when_nothing_builds(tmp_path):
    """`ompilot verify` on a file it cannot build says so once, naming no path
    twice, with the same filled-in starter file as `suggest`."""
    from ompilot.verify.existing import check_target

    (tmp_path / ".git").mkdir()
    (tmp_path / "k.c").write_text("void k(double *a, int n)\n{\n#pragma omp parallel for\n"
                                  "    for (int i = 0; i < n; i++)\n        a[i] = 0;\n}\n")
    [outcome] = check_target(tmp_path / "k.c")
    first, _, starter = outcome.error.partition("\n")
    assert first.startswith("cannot verify: no main(), no compile_commands.json") and str(tmp_path / "k.c") not in first
    assert "k.c" in tomllib.loads(starter)["build"]


def test_a_project_timing_itself_with_openmp_calls_is_verified(tmp_path, capsys):
    """Real code times itself: main.c calls omp_get_wtime() and prints the
    seconds on stderr beside its results, built with -fopenmp -Werror from the
    database. The serial reference links libomp (its pragmas still off; no
    unused-argument error on the objects' compiles), the seconds are left out
    of the output check and said so, the sums still compared."""
    root = write_project(tmp_path / "proj")
    entries = json.loads((root / "compile_commands.json").read_text())
    for entry in entries:
        entry["arguments"][1:1] = ["-fopenmp", "-Werror"]
    (root / "compile_commands.json").write_text(json.dumps(entries, indent=1))
    main_c = (root / "main.c").read_text()
    main_c = main_c.replace('#include <stdio.h>\n', '#include <omp.h>\n#include <stdio.h>\n', 1)
    main_c = main_c.replace("    kernel_gemm(C, A, B);\n", "    double started = omp_get_wtime();\n    kernel_gemm(C, A, B);\n", 1)
    main_c = main_c.replace("    return 0;\n", '    fprintf(stderr, "took %.6f s\\n", omp_get_wtime() - started);\n'
                                              "    return 0;\n", 1)
    assert main_c.count("omp_get_wtime") == 2
    (root / "main.c").write_text(main_c)
    report = tmp_path / "report.json"
    code, out, err = run_cli(["suggest", "gemm.c", "--no-tune", "--report", str(report)], root, capsys)
    assert "Traceback" not in out + err
    records = json.loads(report.read_text())
    assert not [e for e in records["errors"] if "cannot verify" in e], records["errors"]
    [gemm] = [r for r in records["proposals"] + records["rejected"] if (r["file"].split("/")[-1], r["line"]) == ("gemm.c", 5)]
    evidence = gemm["evidence"]
    assert evidence["stage"] not in CORRECTNESS_STAGES, evidence
    assert evidence["output_check"] == "same" and evidence["output_not_compared"] == (
        "stderr line 4, number 1, which varied between serial runs")
    if gemm in records["proposals"]:  # the text prints a kept proposal's evidence (tests/test_evidence.py: always)
        assert "output check: same (not compared: stderr line 4, number 1, which varied between serial runs)" in out


def test_a_users_run_that_fails_gets_no_starter_file(tmp_path, capsys):
    """The user's .ompilot.toml is there and its run fails: the line names the
    file and the program's last words; no starter file to replace theirs."""
    root = write_project(tmp_path / "proj")
    (root / ".ompilot.toml").write_text('run = ["{exe} 2>/dev/null && echo checksum invalid && false"]\n')
    code, out, err = run_cli(["suggest", "gemm.c", "--no-tune"], root, capsys)
    assert code == 1 and "Traceback" not in out + err
    [line] = [l for l in out.splitlines() if "cannot verify" in l]
    assert line == (f"error: {root / '.ompilot.toml'}: cannot verify: the serial program fails: exit status 1: "
                    "nothing on stderr; stdout ends with 'checksum invalid'"), line
    assert "save this as" not in out
