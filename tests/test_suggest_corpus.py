"""Every corpus program, patched by `suggest`, still gives the serial output.

Built with clang-19 and with gcc (-fopenmp), run with 2 and 3 threads, and
compared with the unpatched program's output within the truth's tolerance.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ompilot.suggest.engine import suggest_file, suggest_source
from ompilot.verify.compare import Tolerance, output_difference

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
PROGRAMS = sorted(p for p in CORPUS.iterdir() if p.suffix in (".c", ".cpp"))


def _truth(program: Path) -> dict:
    return json.loads((CORPUS / f"{program.stem}.truth.json").read_text())


#: clang's real offload runtime with the host as the device: separate device
#: memory, so a wrong or missing map clause shows up as a wrong result.
HOST_OFFLOAD = ["-fopenmp-targets=x86_64-pc-linux-gnu"]
OFFLOAD_ENV = {"LD_LIBRARY_PATH": "/usr/lib/llvm-19/lib", "OMP_TARGET_OFFLOAD": "MANDATORY"}


def _build(compiler: str, source: Path, exe: Path, openmp: bool, extra: list[str] = ()) -> None:
    cpp = source.suffix == ".cpp"
    driver = {"clang": "clang++-19" if cpp else "clang-19", "gcc": "g++" if cpp else "gcc"}[compiler]
    std = "-std=c++17" if cpp else "-std=c11"
    # clang checks the directives against OpenMP 6.0 itself
    openmp_flags = (["-fopenmp", "-fopenmp-version=60"] if compiler == "clang" else ["-fopenmp"]) if openmp else []
    flags = [std, "-O1", *openmp_flags, *extra, str(source), "-o", str(exe), "-lm"]
    result = subprocess.run([driver, *flags], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{driver} failed on {source.name}:\n{result.stderr[-2000:]}"


def _run(exe: Path, threads: int, extra_env: dict | None = None) -> str:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **(extra_env or {}))
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_patched_program_gives_serial_output(program: Path, tmp_path: Path):
    truth = _truth(program)
    result = suggest_file(program)
    assert not [e for e in result.errors if "withheld" in e], result.errors
    if any(loop.get("race") for loop in truth["loops"]):  # its own pragmas race: ompilot fixes them
        assert any(p.kind == "fix" for p in result.proposals)
    patched = tmp_path / program.name
    patched.write_bytes(result.patched)
    original = tmp_path / f"original{program.suffix}"
    original.write_bytes(program.read_bytes())
    _build("clang", original, tmp_path / "serial", openmp=False)
    expected = _run(tmp_path / "serial", 1)
    tolerance = Tolerance(**{k: float(v) for k, v in truth.get("tolerance", {}).items()})
    for compiler in ("clang", "gcc"):
        exe = tmp_path / f"parallel-{compiler}"
        _build(compiler, patched, exe, openmp=True)
        for threads in (2, 3):
            difference = output_difference(expected, _run(exe, threads), tolerance)
            assert difference is None, f"{compiler}, {threads} threads: {difference}"


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_offloaded_program_gives_serial_output(program: Path, tmp_path: Path):
    """--target gpu: built for clang's host offload device (real data maps) and
    with gcc (host fallback), the output is still the serial one."""
    truth = _truth(program)
    result = suggest_file(program, target="gpu")
    assert not [e for e in result.errors if "withheld" in e], result.errors
    patched = tmp_path / program.name
    patched.write_bytes(result.patched)
    original = tmp_path / f"original{program.suffix}"
    original.write_bytes(program.read_bytes())
    _build("clang", original, tmp_path / "serial", openmp=False)
    expected = _run(tmp_path / "serial", 1)
    tolerance = Tolerance(**{k: float(v) for k, v in truth.get("tolerance", {}).items()})
    _build("clang", patched, tmp_path / "offload", openmp=True, extra=HOST_OFFLOAD)
    difference = output_difference(expected, _run(tmp_path / "offload", 2, OFFLOAD_ENV), tolerance)
    assert difference is None, f"clang host offload: {difference}"
    _build("gcc", patched, tmp_path / "gcc", openmp=True)
    difference = output_difference(expected, _run(tmp_path / "gcc", 2), tolerance)
    assert difference is None, f"gcc: {difference}"


def test_corpus_gets_pragmas_where_the_truth_expects_them():
    proposed = expected = agree = 0
    for program in PROGRAMS:
        truth = _truth(program)
        lines = {p.line for p in suggest_file(program).proposals}
        for loop in truth["loops"]:
            expected += loop["pragma_expected"]
            proposed += loop["line"] in lines
            agree += loop["pragma_expected"] and loop["line"] in lines
    print(f"\npragmas proposed on {agree} of the {expected} loops the truth expects ({proposed} proposed in all)")
    assert agree >= 0.8 * expected


def test_suggest_is_idempotent_on_its_own_output():
    for name in ("jacobi_2d.c", "matmul_ijk.c", "histogram.c", "private_scalar.c"):
        first = suggest_file(CORPUS / name)
        assert first.proposals, name
        again = suggest_source(str(CORPUS / name), first.patched)
        assert again.proposals == [] and not again.errors, name
