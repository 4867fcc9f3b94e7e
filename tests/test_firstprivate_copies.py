"""Read-only pointers and sizes become firstprivate when a loop stores bytes.

A byte store may alias any object, and a shared variable is reached through
a pointer inside the outlined parallel region, so clang reloads every shared
pointer and size after each byte store (measured: a clamped 3x3 blur over an
unsigned char VLA ran 0.38 s with only the pointers private against 0.20 s
with the sizes private too, 0.35 s serial). Private copies cannot be aliased.
"""

from __future__ import annotations

from programs import build, output

from ompilot.analysis.scan import ScanSettings, scan_source
from ompilot.suggest.engine import suggest_source

EVERY_LOOP = ScanSettings(min_work=0)

BLUR = """#include <stdio.h>
#include <stdlib.h>
static int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }
static void blur(int h, int w, unsigned char in[h][w], unsigned char out[h][w])
{
    int y, x, ym, yp, sum;
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            ym = clampi(y - 1, 0, h - 1);
            yp = clampi(y + 1, 0, h - 1);
            sum = in[ym][x] + in[y][x] + in[yp][x];
            out[y][x] = (unsigned char) (sum / 3);
        }
}
static void scale(int n, double f, double *restrict a, const double *restrict b)
{
    int i;
    for (i = 0; i < n; i++)
        a[i] = f * b[i];
}
int main(void)
{
    int h = 300, w = 200, y, x;
    unsigned char (*a)[w] = malloc(sizeof(unsigned char) * h * w);
    unsigned char (*b)[w] = malloc(sizeof(unsigned char) * h * w);
    double *p = malloc(1000 * sizeof *p), *q = malloc(1000 * sizeof *q);
    long total = 0;
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
            a[y][x] = (unsigned char) ((x * x + 3 * y) % 256);
    blur(h, w, a, b);
    for (x = 0; x < 1000; x++)
        q[x] = x * 0.5;
    scale(1000, 3.0, p, q);
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
            total += b[y][x];
    printf("%ld %.2f\\n", total, p[999]);
    free(a); free(b); free(p); free(q);
    return 0;
}
"""


def _verdict(report, line_text: str):
    line = next(n for n, text in enumerate(BLUR.splitlines(), 1) if line_text in text)
    return next(v for v in report.verdicts if v.loop.line == line)


def test_byte_stores_make_pointers_and_sizes_firstprivate():
    report = scan_source("blur.c", BLUR.encode(), EVERY_LOOP)
    blur = _verdict(report, "for (y = 0; y < h; y++)")
    assert blur.parallel is True
    assert "firstprivate(h, in, out, w)" in blur.pragma, blur.pragma
    assert any("pointers and sizes" in note for note in blur.notes), blur.notes


def test_no_copies_without_byte_stores():
    report = scan_source("blur.c", BLUR.encode(), EVERY_LOOP)
    scale = _verdict(report, "for (i = 0; i < n; i++)")
    assert scale.parallel is True
    assert "firstprivate" not in scale.pragma, scale.pragma


def _run(source: bytes, tmp_path, name: str, openmp: bool) -> str:
    """The program's output, built by clang-19 -O2 -std=c99 (with OpenMP when asked), run with 2 threads."""
    flags = ["-O2", "-std=c99", *(["-fopenmp"] if openmp else [])]
    return output(build(tmp_path, name, source, "clang-19", flags), threads=2)


def test_patched_blur_with_copies_gives_the_serial_output(tmp_path):
    result = suggest_source("blur.c", BLUR.encode(), EVERY_LOOP)
    assert b"firstprivate(h, in, out, w)" in result.patched
    assert _run(result.patched, tmp_path, "par", openmp=True) == _run(BLUR.encode(), tmp_path, "ser", openmp=False)
