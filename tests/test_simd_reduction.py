"""Floating-point reductions in vector lanes: `simd reduction(...)`.

Without -ffast-math, -O3 adds a floating-point sum in the written order, one
latency-bound addition after the other, and does not vectorise it (integer
sums it vectorises itself). So an innermost floating-point `+`/`*` reduction
that gets no threads (too little work per entry, inside a serial loop) gets
`#pragma omp simd reduction(...)`; inside a hoisted region it gets `#pragma
omp for simd`; a `parallel for` or a region the verifier turns down as not
faster falls back to the simd version when that is faster. Each program is
analysed, patched, built with clang-19 and gcc, and run against the serial
output (within a relative tolerance: simd reassociates); the compilers' own
vectorisation reports show what the pragma changes.
"""

from __future__ import annotations

import pytest
from programs import assert_parallel_output_matches, compile_source, vectorised_lines
from samples import durbin_program

from ompilot.analysis.scan import scan_source
from ompilot.suggest.engine import suggest_source
from ompilot.verify.config import single_file_config
from ompilot.verify.runner import Sandbox
from ompilot.verify.verifier import FileJob, Program, verify_proposals

# a dot product inside a time loop that writes what the next step reads
# (serial); each entry is too small to pay for threads
SERIAL_SUM = b"""#include <stdio.h>
#define N 600
#define STEPS 400
static double a[N], b[N];
int main(void)
{
    int i, t;
    double s, total = 0.0;
    for (i = 0; i < N; i++) {
        a[i] = 1.0 / (i + 1);
        b[i] = (double) (i % 7) + 0.25;
    }
    for (t = 0; t < STEPS; t++) {
        s = 0.0;
        for (i = 0; i < N; i++)
            s += a[i] * b[i];
        total += s * 1e-3;
        a[t % N] += 1e-9 * s;
        printf("%d %.12e\\n", t, s);
    }
    printf("%.12e\\n", total);
    return 0;
}
"""

INTEGER_SUM = SERIAL_SUM.replace(b"static double a[N], b[N];", b"static long a[N], b[N];").replace(
    b"double s, total = 0.0;", b"long s; double total = 0.0;").replace(
    b"a[i] = 1.0 / (i + 1);", b"a[i] = i % 13;").replace(b"(double) (i % 7) + 0.25", b"i % 7").replace(
    b"a[t % N] += 1e-9 * s;", b"a[t % N] += s % 3;").replace(b"printf(\"%d %.12e\\n\", t, s);", b"printf(\"%d %ld\\n\", t, s);")

PRODUCT = SERIAL_SUM.replace(b"s = 0.0;", b"s = 1.0;").replace(b"s += a[i] * b[i];", b"s *= 1.0 + 1e-4 * a[i] * b[i];")

# the Levinson-Durbin recursion: a region hoisted above the serial k loop
DURBIN = durbin_program(400, """    printf("%.12e %.12e %.12e\\n", y[0], y[N / 2], y[N - 1]);""")

# a large dot product: `parallel for reduction(+: s)`, with `simd` as its fallback
BIG_DOT = b"""#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    int i, n = 4000000;
    double *a = malloc(sizeof(double) * n), *b = malloc(sizeof(double) * n);
    double s = 0.0;
    if (!a || !b)
        return 2;
    for (i = 0; i < n; i++) {
        a[i] = 1.0 / (i + 1);
        b[i] = (double) (i % 5);
    }
    printf("%.3f\\n", a[n - 1]);
    for (i = 0; i < n; i++)
        s += a[i] * b[i];
    printf("%.12e\\n", s);
    free(a);
    free(b);
    return 0;
}
"""


def _line(source: bytes, text: str) -> int:
    return source.decode().splitlines().index(next(l for l in source.decode().splitlines() if text in l)) + 1


def _inner(name: str, source: bytes, body: str):
    """The verdict of the loop on the line above the one holding `body`."""
    line = _line(source, body) - 1
    return next(v for v in scan_source(name, source).verdicts if v.loop.line == line)


# ------------------------------------------------------------------ analysis


def test_a_float_sum_inside_a_serial_loop_gets_simd_reduction_and_says_why():
    inner = _inner("sum.c", SERIAL_SUM, "s += a")
    assert inner.pragma == "#pragma omp simd reduction(+: s)"
    assert [(r.op, r.var) for r in inner.simd_reductions] == [("+", "s")]
    why = next(n for n in inner.notes if n.startswith("a floating-point reduction"))
    assert "-O3 keeps its operations in the written order" in why and "last digits" in why
    result = suggest_source("sum.c", SERIAL_SUM)
    assert result.errors == []
    [proposal] = [p for p in result.proposals if p.line == inner.loop.line]
    assert proposal.kind == "simd" and proposal.summary == "#pragma omp simd reduction(+: s)"
    assert any("floating-point reduction" in e for e in proposal.explanation)
    assert not any("enough work for threads" in e for e in proposal.explanation)


def test_an_integer_sum_gets_no_simd_clang_vectorises_it_already():
    inner = _inner("isum.c", INTEGER_SUM, "s += a")
    assert inner.parallel and inner.pragma is None and inner.simd_reductions == ()


def test_a_float_product_gets_simd_reduction_of_its_operator():
    inner = _inner("prod.c", PRODUCT, "s *= 1.0")
    assert inner.pragma == "#pragma omp simd reduction(*: s)"


def test_the_hoisted_region_shares_the_float_sum_with_for_simd():
    report = scan_source("durbin.c", DURBIN)
    by_line = {v.loop.line: v for v in report.verdicts}
    outer = by_line[_line(DURBIN, "for (k = 1")]
    assert outer.region is not None
    total = by_line[_line(DURBIN, "sum += r") - 1]
    assert total.pragma == "#pragma omp for simd reduction(+: sum)"
    assert by_line[_line(DURBIN, "z[i] = y[i]") - 1].pragma == "#pragma omp for"  # not a reduction
    # (over the z and y loops rewritten as mirrored pairs: tests/test_mirror_pairs.py)
    [region] = [p for p in suggest_source("durbin.c", DURBIN).proposals if p.kind == "mirror"]
    assert any("'#pragma omp for simd reduction(+: sum)'" in e and "last digits" in e for e in region.explanation)
    fallback = region.fallback
    assert fallback.label == f"line {total.loop.line}: #pragma omp simd reduction(+: sum)"  # the region without threads
    assert [e.text.strip() for e in fallback.edits] == ["#pragma omp simd reduction(+: sum)"]
    assert fallback.kind == "simd" and "last digits" in fallback.explanation[0]


def test_a_parallel_float_reduction_offers_for_simd_to_the_tuner_and_simd_as_its_fallback():
    result = suggest_source("dot.c", BIG_DOT)
    [proposal] = [p for p in result.proposals if p.line == _line(BIG_DOT, "s += a[i]") - 1]
    assert proposal.summary == "#pragma omp parallel for reduction(+: s)"
    assert "#pragma omp parallel for simd reduction(+: s)" in [label for label, _ in proposal.variants]
    fallback = proposal.fallback
    assert fallback.label == "#pragma omp simd reduction(+: s)" and fallback.edits[0].text.strip() == fallback.label
    assert "-O3 keeps its operations in the written order" in fallback.explanation[0]
    # the initialisation loop reduces nothing: no fallback
    [init] = [p for p in result.proposals if p.line == _line(BIG_DOT, "a[i] = 1.0") - 1]
    assert init.fallback is None
    # adjacent, the two loops share one region, whose fallback is the sum's simd
    adjacent = BIG_DOT.replace(b'    printf("%.3f\\n", a[n - 1]);\n', b"")
    [region] = [p for p in suggest_source("dot.c", adjacent).proposals if p.kind == "region"]
    assert region.fallback.label == "#pragma omp simd reduction(+: s)"


# ------------------------------------------------------------- compiling


def test_clang_vectorises_the_float_sum_only_with_simd(tmp_path):
    # (gcc vectorises the products and adds them in order, a fold-left reduction, with or without)
    compiler, report = "clang-19", "-Rpass=loop-vectorize"
    patched = suggest_source("sum.c", SERIAL_SUM).patched
    loop = _line(SERIAL_SUM, "s += a") - 1
    _, plain = compile_source(tmp_path, "plain", SERIAL_SUM, compiler, ["-O3", report])
    _, vector = compile_source(tmp_path, "vector", patched, compiler, ["-O3", "-fopenmp", report])
    assert loop not in vectorised_lines(plain)
    # in the patched file the pragma is on the loop's old line and the loop below it (clang names the pragma)
    assert {loop, loop + 1} & vectorised_lines(vector)


@pytest.mark.parametrize("name,source", [("sum", SERIAL_SUM), ("prod", PRODUCT), ("durbin", DURBIN)])
def test_patched_programs_print_the_serial_output_within_the_tolerance(tmp_path, name, source):
    patched = suggest_source(f"{name}.c", source).patched
    assert b"simd" in patched
    assert_parallel_output_matches(tmp_path, source, patched, ["-O3"], threads=(1, 2, 4))


# ------------------------------------------------------------- verifying


class _RegionSlower:
    """Timing runs answered with known seconds: the serial program 0.4 s; the
    hoisted region (its loops timed) twice as slow; the simd version (no
    threads: the whole program timed) 1.5x faster."""

    def __init__(self):
        self.runs: list[tuple[str, int | None, tuple[str, ...]]] = []

    def __call__(self, program, exe, threads, labels):
        self.runs.append((exe, threads, labels))
        serial = exe.startswith("serial")
        if labels:
            share = 0.2 / len(labels)
            return 0.2 + (0.2 if serial else 0.4), {label: share if serial else 2 * share for label in labels}
        return (0.4 if serial else 0.4 / 1.5), None


# the copy back is no plain copy: no mirrored-pair rewrite, the plain region
PLAIN_REGION = DURBIN.replace(b"y[i] = z[i];", b"y[i] = 1.0 * z[i];")


def test_the_verifier_keeps_the_simd_fallback_when_the_region_is_not_faster(tmp_path, monkeypatch):
    (tmp_path / "durbin.c").write_bytes(PLAIN_REGION)
    [region] = [p for p in suggest_source("durbin.c", PLAIN_REGION).proposals if p.kind == "region"]
    timings = _RegionSlower()
    monkeypatch.setattr(Program, "time_run", lambda program, *args: timings(program, *args))
    with Sandbox(tmp_path) as sandbox:
        program = Program(config=single_file_config(tmp_path / "durbin.c"), sandbox=sandbox)
        program.prepare({"durbin.c": PLAIN_REGION})
        [outcome] = verify_proposals(program, FileJob("durbin.c", PLAIN_REGION, [region]), tune=False)
    assert outcome.accepted and outcome.kind == "simd"
    assert outcome.summary == region.fallback.label
    assert list(outcome.edits) == region.fallback.edits
    assert outcome.evidence.tried[0].startswith(region.summary) and "not faster" in outcome.evidence.tried[0]
    assert "no threads" in outcome.evidence.message or "nothing to race" in outcome.evidence.message
    kept = outcome.applied_to(region)
    assert kept.kind == "simd" and kept.verified and kept.summary == region.fallback.label
    assert "last digits" in kept.explanation[0] and "which was not faster" in kept.explanation[-1]
    assert any(labels for _, _, labels in timings.runs) and any(not labels for _, _, labels in timings.runs)
