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


def _build(compiler: str, source: Path, exe: Path, openmp: bool) -> None:
    cpp = source.suffix == ".cpp"
    driver = {"clang": "clang++-19" if cpp else "clang-19", "gcc": "g++" if cpp else "gcc"}[compiler]
    std = "-std=c++17" if cpp else "-std=c11"
    flags = [std, "-O1", *(["-fopenmp"] if openmp else []), str(source), "-o", str(exe), "-lm"]
    result = subprocess.run([driver, *flags], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{driver} failed on {source.name}:\n{result.stderr[-2000:]}"


def _run(exe: Path, threads: int) -> str:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_patched_program_gives_serial_output(program: Path, tmp_path: Path):
    truth = _truth(program)
    result = suggest_file(program)
    assert not [e for e in result.errors if "withheld" in e], result.errors
    racy = any(loop.get("race") for loop in truth["loops"])
    patched = tmp_path / program.name
    patched.write_bytes(result.patched)
    original = tmp_path / f"original{program.suffix}"
    original.write_bytes(program.read_bytes())
    _build("clang", original, tmp_path / "serial", openmp=False)
    expected = _run(tmp_path / "serial", 1)
    tolerance = Tolerance(**{k: float(v) for k, v in truth.get("tolerance", {}).items()})
    for compiler in ("clang", "gcc"):
        exe = tmp_path / f"parallel-{compiler}"
        _build(compiler, patched, exe, openmp=not racy)
        for threads in (2, 3):
            difference = output_difference(expected, _run(exe, threads), tolerance)
            assert difference is None, f"{compiler}, {threads} threads: {difference}"


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
