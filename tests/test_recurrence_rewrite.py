"""The jump-ahead rewrite of loops serial only through an unsigned affine
recurrence (a linear congruential generator): recognised where it is exact,
refused where it is not, and the rewritten program built with clang-19 and
gcc, run with 1-4 threads, prints the serial output bit for bit and is clean
under TSan + Archer."""

from __future__ import annotations

import pytest
from programs import TSAN_FLAGS, assert_clean_under_archer, build, run

from ompilot.analysis.scan import ScanSettings, scan_source
from ompilot.suggest.engine import suggest_source
from ompilot.verify.races import race_environment

N = 100_003  # not a multiple of 2, 3 or 4: blocks of unequal size

HEAD = "#include <stdio.h>\n#include <stdlib.h>\n\nstatic double x[200000];\nstatic unsigned int z[200000];\n\n"

ONE = """unsigned int gen(int n, unsigned int seed)
{
    unsigned int state = seed;
    int i;
    for (i = 0; i < n; i++) {
        state = state * 1103515245u + 12345u;
        z[i] = state ^ (state >> 7);
    }
    return state;
}
"""

TWO = """void gen(int n, unsigned int seed)
{
    int i;
    unsigned int state;
    double u, v;

    state = seed;
    for (i = 0; i < n; i++) {
        state = state * 1664525u + 1013904223u;
        u = (double) (state >> 8) / 16777216.0;
        state = state * 1664525u + 1013904223u;
        v = (double) (state >> 8) / 16777216.0;
        x[i] = u + v;
    }
}
"""

WIDE = """unsigned long long gen(int n, unsigned long long seed, unsigned long long a)
{
    unsigned long long s = seed;
    for (int i = 2; i < n + 2; i++) {
        s = 1442695040888963407ull + a * s;
        z[i - 2] = (unsigned int) (s >> 33);
    }
    return s;
}
"""

DOWN = """unsigned long gen(int n, unsigned long seed)
{
    unsigned long s = seed;
    for (int i = n - 1; i >= 0; i -= 3) {
        z[i] = (unsigned int) (s >> 5);
        s = s * 6364136223846793005ul + 1ul;
    }
    return s;
}
"""

MAINS = {
    ONE: 'int main(void)\n{\n    unsigned int last = gen(%d, 7u);\n    unsigned long long h = 0;\n'
         '    for (int i = 0; i < %d; i++) h = h * 31u + z[i];\n    printf("%%u %%llu\\n", last, h);\n    return 0;\n}\n',
    TWO: 'int main(void)\n{\n    gen(%d, 12345u);\n    double s = 0;\n'
         '    for (int i = 0; i < %d; i++) s = s * 0.5 + x[i];\n    printf("%%.17g %%.17g\\n", s, x[%d - 1]);\n    return 0;\n}\n',
    WIDE: 'int main(void)\n{\n    unsigned long long last = gen(%d, 99u, 6364136223846793005ull);\n    unsigned long long h = 0;\n'
          '    for (int i = 0; i < %d; i++) h = h * 31u + z[i];\n    printf("%%llu %%llu\\n", last, h);\n    return 0;\n}\n',
    DOWN: 'int main(void)\n{\n    unsigned long last = gen(%d, 5u);\n    unsigned long long h = 0;\n'
          '    for (int i = 0; i < %d; i++) h = h * 31u + z[i];\n    printf("%%lu %%llu\\n", last, h);\n    return 0;\n}\n',
}


def _program(kernel: str) -> bytes:
    main = MAINS[kernel]
    return (HEAD + kernel + "\n" + (main % ((N,) * main.count("%d")))).encode()


def _verdict(source: str, line_of: str):
    data = (HEAD + source).encode()
    report = scan_source("t.c", data, ScanSettings())
    line = (HEAD + source).splitlines().index(line_of) + 1
    return next(v for v in report.verdicts if v.loop.line == line)


# ---------------------------------------------------------------- recognition


@pytest.mark.parametrize("kernel,updates,live", [(ONE, 1, True), (TWO, 2, False), (WIDE, 1, True),
                                                   (DOWN, 1, True)])
def test_recognised(kernel, updates, live):
    header = next(line for line in kernel.splitlines() if line.strip().startswith("for"))
    v = _verdict(kernel, header)
    assert v.status == "serial" and v.recurrence is not None
    assert v.recurrence.updates == updates
    assert v.recurrence.live_after is live
    assert ("lastprivate" in v.recurrence.directive) is live


def _negative(body_line: str, decl: str = "unsigned int state = seed;", extra: str = "") -> str:
    return f"""void gen(int n, unsigned int seed, unsigned int *a, unsigned int *w)
{{
    {decl}
    for (int i = 0; i < n; i++) {{
        {body_line}
        z[i] = state;{extra}
    }}
}}
"""


@pytest.mark.parametrize("kernel", [
    _negative("state = state * 1103515245 + 12345;", decl="int state = (int) seed;"),  # signed: overflow is UB
    _negative("if (z[i] & 1) state = state * 1103515245u + 12345u;"),  # under an if
    _negative("state = state * a[i] + 12345u;"),  # multiplier not loop-invariant
    _negative("state = state * 1103515245u + w[i];"),  # increment not loop-invariant
    _negative("state = state * 1103515245u + z[i > 0 ? i - 1 : 0];"),  # reads what an earlier iteration wrote
    _negative("state = state * 1103515245u + 12345u;", extra="\n        if (state == 0) break;"),  # a break
    _negative("state = state * 1103515245u + 12345u;", extra="\n        state ^= 1u;"),  # another kind of update
    _negative("state = state * 1103515245u + 12345u;", decl="unsigned short state = (unsigned short) seed;"),
], ids=["signed", "conditional", "multiplier-varies", "increment-varies", "carried-array", "break",
        "other-update", "promoted-short"])
def test_refused(kernel):
    v = _verdict(kernel, "    for (int i = 0; i < n; i++) {")
    assert v.parallel is not True
    assert v.recurrence is None


# ------------------------------------------------------------------ real runs


@pytest.mark.parametrize("kernel", [ONE, TWO, WIDE, DOWN], ids=["one-update", "two-updates", "64-bit", "downward-step-3"])
def test_rewritten_program_matches_serial(kernel, tmp_path):
    program = _program(kernel)
    result = suggest_source("t.c", program)
    assert not result.errors
    kinds = [p.kind for p in result.proposals]
    assert "recurrence" in kinds
    patched = patch_only(program, result, "recurrence")
    serial = run(build(tmp_path, "serial", program, "clang-19", ["-O2"])).stdout
    assert serial.strip()
    for compiler in ("clang-19", "gcc"):
        exe = build(tmp_path, f"par-{compiler}", patched, compiler, ["-O2", "-fopenmp"])
        for threads in (1, 2, 3, 4):
            for schedule in ("static", "dynamic,7"):  # the jump works for any schedule
                out = run(exe, threads=threads, env={"OMP_SCHEDULE": schedule}).stdout
                assert out == serial, (compiler, threads)


def patch_only(program: bytes, result, kind: str) -> bytes:
    from ompilot.suggest.patch import apply_edits
    return apply_edits(program, [e for p in result.proposals if p.kind == kind for e in p.edits])


def test_rewrite_is_race_free_under_archer(tmp_path):
    program = _program(TWO)
    patched = patch_only(program, suggest_source("t.c", program), "recurrence")
    exe = build(tmp_path, "tsan", patched, "clang-19", ["-O2", *TSAN_FLAGS])
    for threads in (2, 3):
        assert_clean_under_archer(run(exe, env=race_environment(threads, None)))  # TSan exits 66 on a report


def test_scan_names_the_rewrite():
    v = _verdict(TWO, "    for (i = 0; i < n; i++) {")
    assert any("jump-ahead" in n for n in v.notes)
    result = suggest_source("t.c", _program(TWO))
    proposal = next(p for p in result.proposals if p.kind == "recurrence")
    assert any("jump-ahead" in line and "bit for bit" in line for line in proposal.explanation)


def test_corpus_projects():
    """histogram_lcg's generator loop is parallel by the rewrite (the truth
    keeps it serial: no plain pragma is right there); prefix_recur's double
    recurrences are not unsigned, so they get none."""
    from pathlib import Path

    projects = Path(__file__).resolve().parent.parent / "corpus" / "projects"
    lcg = projects / "histogram_lcg" / "sample.c"
    report = scan_source(str(lcg), lcg.read_bytes(), ScanSettings())
    by_line = {v.loop.line: v for v in report.verdicts}
    assert by_line[13].parallel is False and by_line[13].recurrence is not None
    assert by_line[13].recurrence.updates == 2
    assert [line for line, v in by_line.items() if v.recurrence] == [13]
    seq = projects / "prefix_recur" / "seq.c"
    report = scan_source(str(seq), seq.read_bytes(), ScanSettings())
    assert not any(v.recurrence for v in report.verdicts)
