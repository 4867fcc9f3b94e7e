"""Compile a C program a test wrote and run it: the helpers the end-to-end
tests of rewrites and regions share (serial output against the patched
program's with clang-19 and gcc, at several thread counts, and under TSan+Archer)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

#: a run under the race checker: Archer loaded by its full path (Debian's libomp
#: does not find it by name), TSan's exit code 66 on a race, Archer's banner on stdout
RACE_ENV = {
    "OMP_TOOL_LIBRARIES": "/usr/lib/llvm-19/lib/libarcher.so",
    "TSAN_OPTIONS": "ignore_noninstrumented_modules=1 exitcode=66",
    "ARCHER_OPTIONS": "verbose=1",
}
#: the race checker's build (clang-19 with these, then RACE_ENV at run time)
TSAN_FLAGS = ["-fopenmp", "-fsanitize=thread", "-g", "-O1"]


def compile_source(tmp_path: Path, name: str, source: bytes | str, compiler: str, flags: list[str]) -> tuple[Path, str]:
    """Write NAME.c into tmp_path and build NAME from it with `compiler *flags`;
    the build must succeed. Returns the executable and the compiler's stderr
    (warnings, optimisation remarks)."""
    src = tmp_path / f"{name}.c"
    if isinstance(source, str):
        src.write_text(source)
    else:
        src.write_bytes(source)
    exe = tmp_path / name
    done = subprocess.run([compiler, *flags, str(src), "-o", str(exe)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{compiler} {' '.join(flags)} failed on {name}.c:\n{done.stderr[-2000:]}"
    return exe, done.stderr


def build(tmp_path: Path, name: str, source: bytes | str, compiler: str, flags: list[str], *,
          no_warnings: bool = False) -> Path:
    """compile_source's executable; with no_warnings, the compiler must not warn either."""
    exe, stderr = compile_source(tmp_path, name, source, compiler, flags)
    assert not no_warnings or "warning" not in stderr, stderr
    return exe


def run(exe: Path | str, *args: str, threads: int | None = None, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the program with ARGS, `env` over this process's environment and
    OMP_NUM_THREADS=threads when given; its stdout and stderr as text."""
    full = {**os.environ, **(env or {})}
    if threads:
        full["OMP_NUM_THREADS"] = str(threads)
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=full, timeout=timeout)


def output(exe: Path | str, *args: str, threads: int | None = None, env: dict[str, str] | None = None) -> str:
    """The program's stdout; it must exit 0."""
    done = run(exe, *args, threads=threads, env=env)
    assert done.returncode == 0, f"{exe} exited {done.returncode}:\n{done.stderr[-2000:]}"
    return done.stdout


def close(expected: str, actual: str, rtol: float = 1e-9) -> bool:
    """Same words, numbers equal within rtol relative (a reduction reorders additions)."""
    want, got = expected.split(), actual.split()
    if len(want) != len(got):
        return False
    for a, b in zip(want, got):
        try:
            x, y = float(a), float(b)
        except ValueError:
            if a != b:
                return False
            continue
        if abs(x - y) > rtol * max(abs(x), abs(y), 1e-300):
            return False
    return True


ARCHER_BANNER = "Archer detected OpenMP application with TSan"


def assert_clean_under_archer(done: subprocess.CompletedProcess) -> None:
    """A run of a TSan build with Archer loaded (its banner, on stdout) that
    exited 0 without a ThreadSanitizer report (exitcode=66 makes a report fail the run)."""
    assert ARCHER_BANNER in done.stdout + done.stderr, "Archer did not run"
    assert done.returncode == 0 and "ThreadSanitizer" not in done.stderr, done.stderr[-2000:]


def race_checked_outputs(tmp_path: Path, source: bytes | str, threads: tuple[int, ...] = (2, 4)) -> list[str]:
    """Build the program for the race checker (clang-19, TSAN_FLAGS) and run it
    under TSan+Archer with each thread count: Archer must have run, and the
    program exit 0 without a ThreadSanitizer report. Returns each run's stdout
    without Archer's banner."""
    exe = build(tmp_path, "race", source, "clang-19", TSAN_FLAGS)
    outputs = []
    for count in threads:
        checked = run(exe, threads=count, env=RACE_ENV)
        assert_clean_under_archer(checked)
        outputs.append("".join(line for line in checked.stdout.splitlines(keepends=True) if ARCHER_BANNER not in line))
    return outputs


def vectorised_lines(remarks: str) -> set[int]:
    """Lines clang's optimisation remarks (-Rpass=loop-vectorize) say it vectorised."""
    return {int(m) for m in re.findall(r":(\d+):\d+: remark: vectorized loop", remarks)}


def assert_parallel_output_matches(tmp_path: Path, source: bytes, patched: bytes, flags: list[str],
                                   threads: tuple[int, ...]) -> str:
    """The serial program (clang-19 FLAGS) prints something; the patched one,
    built with FLAGS and -fopenmp by clang-19 and by gcc, exits 0 and prints
    the same (`close`) with each thread count. Returns the serial output."""
    serial = output(build(tmp_path, "serial", source, "clang-19", flags))
    assert serial
    for compiler in ("clang-19", "gcc"):
        exe = build(tmp_path, f"par-{compiler}", patched, compiler, [*flags, "-fopenmp"])
        for count in threads:
            out = output(exe, threads=count)
            assert close(serial, out), (compiler, count, out[:200], serial[:200])
    return serial


def region_races(tmp_path: Path, source: str, name: str = "prog.c"):
    """The races ompilot's scan finds in and around the parallel regions of
    `source` (written as `name`), which clang-19 must accept without a warning."""
    from ompilot.analysis import scan

    path = tmp_path / name
    path.write_text(source)
    done = subprocess.run(["clang-19", "-fopenmp", "-Wall", "-Werror", "-fsyntax-only", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = scan.scan_file(path)
    assert not report.errors, report.errors
    return report.region_races
