"""The mirrored-pair rewrite: two loops that update an array from mirrored
pairs of its old elements through a second array become one loop over the
pairs (analysis/mirrorpairs.py, suggest/mirrorpairs.py).

The analysis recognises the form and refuses its look-alikes; the rewritten
text, serial, prints the original's output bit for bit (clang-19 and gcc);
the region hoisted over it on the Levinson-Durbin recursion prints the serial
output within the tolerance (its sum is `for simd`) with 1 to 4 threads and
is clean under ThreadSanitizer with Archer.
"""

from __future__ import annotations

import pytest
from programs import assert_parallel_output_matches, build, compile_source, race_checked_outputs, run, vectorised_lines
from samples import durbin_program

from ompilot.analysis.scan import scan_source
from ompilot.suggest import mirrorpairs, patch
from ompilot.suggest.engine import suggest_source

KERNEL = b"""#include <stdio.h>
#define N 301
static double s_[N], t_[N];
static void step(int n, double *s, double *t, double a)
{
    int i;
    for (i = 0; i < n; i++)
        t[i] = s[i] + a * s[n - i - 1];
    for (i = 0; i < n; i++)
        s[i] = t[i];
}
int main(void)
{
    int i, n;
    for (i = 0; i < N; i++)
        s_[i] = 1.0 / (i + 3);
    for (n = 1; n <= N; n++)
        step(n, s_, t_, 0.5 / n);
    for (i = 0; i < N; i += 30)
        printf("%d %.17e %.17e\\n", i, s_[i], t_[i]);
    return 0;
}
"""

DURBIN = durbin_program(500, """    for (i = 0; i < N; i += 50)
        printf("%.12e\\n", y[i]);""")


def _mirror(source: bytes):
    found = [v.mirror for v in scan_source("k.c", source).verdicts if v.mirror is not None]
    return found[0] if found else None


def test_the_mirrored_update_and_its_copy_back_are_recognised():
    pairs = _mirror(KERNEL)
    assert pairs is not None
    assert (pairs.first_line, pairs.second_line) == (7, 9)
    assert (pairs.counter, pairs.bound, pairs.target, pairs.source, pairs.ctype) == ("i", "n", "t", "s", "double")
    assert pairs.value_lo == "ompilot_lo + a * ompilot_hi"
    assert pairs.value_hi == "ompilot_hi + a * ompilot_lo"
    assert pairs.value_mid == "s[(n) / 2] + a * s[(n) / 2]"
    assert "bit-identical" in pairs.text()


@pytest.mark.parametrize("change", [
    (b"t[i] = s[i] + a * s[n - i - 1];", b"t[i] = s[i] + a * s[n - i - 2];"),  # not the mirror of i
    (b"t[i] = s[i] + a * s[n - i - 1];", b"t[i] = s[i] + a * s[n - i - 1] + i;"),  # the counter outside S
    (b"t[i] = s[i] + a * s[n - i - 1];", b"t[i] = s[i] + a * t[n - i - 1];"),  # reads T
    (b"s[i] = t[i];", b"s[i] = 2 * t[i];"),  # not a copy back
    (b"for (i = 0; i < n; i++)\n        s[i]", b"for (i = 1; i < n; i++)\n        s[i]"),  # other bounds
    (b"        s[i] = t[i];\n}", b"        s[i] = t[i];\n    s[0] += i;\n}"),  # the counter read after
])
def test_look_alikes_are_refused(change):
    old, new = change
    assert old in KERNEL
    assert _mirror(KERNEL.replace(old, new)) is None


@pytest.mark.parametrize("compiler", ["clang-19", "gcc"])
def test_the_rewritten_loop_computes_the_same_values_bit_for_bit(tmp_path, compiler):
    pairs = _mirror(KERNEL)
    edit = mirrorpairs.rewrite_edit(KERNEL, pairs)
    rewritten = patch.apply_edits(KERNEL, [edit])
    assert b"for (i = 0; i < (n) / 2; i++) {" in rewritten and b"if ((n) > 0 && (n) % 2) {" in rewritten
    original = run(build(tmp_path, "original", KERNEL, compiler, ["-O2"])).stdout
    again = run(build(tmp_path, "rewritten", rewritten, compiler, ["-O2"])).stdout
    assert original and again == original  # every length from 1 to N: odd and even, the middle element


def test_the_region_over_the_pairs_replaces_the_plain_region_and_keeps_it_as_a_variant():
    result = suggest_source("durbin.c", DURBIN)
    assert result.errors == []
    [mirror] = [p for p in result.proposals if p.kind == "mirror"]
    assert not [p for p in result.proposals if p.kind == "region"]
    labels = [label for label, _ in mirror.variants]
    assert labels[0] == "the region without the mirrored-pair rewrite"
    assert mirror.fallback is not None and "#pragma omp simd reduction(+: sum)" in mirror.fallback.label
    text = mirror.edits[0].text
    assert "#pragma omp for simd\n        for (i = 0; i < (k) / 2; i++) {" in text  # lanes, as threads: disjoint pairs
    assert any("'#pragma omp for simd' on the pair loop" in e for e in mirror.explanation)
    assert "#pragma omp for simd reduction(+: sum)" in text
    assert "mirrored" in mirror.explanation[0]


def test_the_region_over_the_pairs_prints_the_serial_output_without_races(tmp_path):
    patched = suggest_source("durbin.c", DURBIN).patched
    assert_parallel_output_matches(tmp_path, DURBIN, patched, ["-O2"], threads=(1, 2, 3, 4))
    race_checked_outputs(tmp_path, patched, threads=(2, 4))


def test_clang_vectorises_the_pair_loop_under_for_simd(tmp_path):
    patched = suggest_source("durbin.c", DURBIN).patched
    lines = patched.decode().splitlines()
    pair = next(n for n, line in enumerate(lines, 1) if "i < (k) / 2" in line)
    assert lines[pair - 2].strip() == "#pragma omp for simd"
    flags = ["-O3", "-fopenmp", "-Rpass=loop-vectorize", "-c"]  # remarks only: an object file is enough
    _, remarks = compile_source(tmp_path, "durbin", patched, "clang-19", flags)
    assert {pair, pair - 1} & vectorised_lines(remarks), remarks  # clang names the loop or its pragma
