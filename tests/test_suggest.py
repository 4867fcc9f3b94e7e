"""suggest on small programs: what is proposed, and that the result runs right."""

from __future__ import annotations

from programs import build, output

from ompilot.suggest.engine import suggest_source

MATMUL = b"""#include <stdio.h>
#define N 96
double A[N][N], B[N][N], C[N][N];
int main(void) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) { A[i][j] = (i * j) % 7 - 3; B[i][j] = (i + 2 * j) % 5; }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++)
      for (int k = 0; k < N; k++)
        C[i][j] += A[i][k] * B[k][j];
  double s = 0;
  for (int i = 0; i < N; i++) s += C[i][i] + C[i][N - 1 - i];
  printf("%.17g\\n", s);
  return 0;
}
"""


def _run(source: bytes, tmp_path, name: str, openmp: bool, compiler: str = "clang-19") -> str:
    """The program's output, built at -O1 (with OpenMP when asked) and run with 2 threads."""
    return output(build(tmp_path, name, source, compiler, ["-O1", *(["-fopenmp"] if openmp else [])]), threads=2)


def test_matrix_product_gets_interchanged_and_keeps_its_result(tmp_path):
    result = suggest_source("mm.c", MATMUL)
    kinds = [p.kind for p in result.proposals]
    assert "interchange" in kinds, result.skipped
    assert "simd" in kinds  # the new innermost loop, found by analysing the rewritten nest
    patched = result.patched.decode()
    assert patched.index("for (int k = 0; k < N; k++)") < patched.index("for (int j = 0; j < N; j++)\n        C")
    serial = _run(MATMUL, tmp_path, "serial", openmp=False)
    for compiler in ("clang-19", "gcc"):
        assert _run(result.patched, tmp_path, f"par-{compiler}", openmp=True, compiler=compiler) == serial
    again = suggest_source("mm.c", result.patched)
    assert again.proposals == []


def test_no_interchange_when_the_loop_moved_inward_carries_a_dependence():
    # j-k order would make the innermost access contiguous, but the write of
    # A[i][k][j] is read at (j+1, k-1): direction (<, >), which a swap reverses.
    source = b"""#define N 32
double A[N][N][N];
void f(void) {
  for (int i = 0; i < N; i++)
    for (int j = 1; j < N; j++)
      for (int k = 0; k < N - 1; k++)
        A[i][k][j] = A[i][k + 1][j - 1] * 0.5;
}
"""
    result = suggest_source("dep.c", source)
    assert "interchange" not in [p.kind for p in result.proposals]
    assert "pragma" in [p.kind for p in result.proposals]
    legal = source.replace(b"A[i][k + 1][j - 1]", b"A[i][k][j]")
    assert "interchange" in [p.kind for p in suggest_source("ok.c", legal).proposals]


def test_existing_pragma_is_kept_and_not_duplicated():
    source = b"""void f(double *restrict a, int n) {
  #pragma omp parallel for
  for (int i = 0; i < n; i++)
    a[i] = 2 * a[i];
}
"""
    result = suggest_source("kept.c", source)
    assert result.proposals == [] and result.patched == source


def test_the_parallel_loop_itself_is_never_swapped_inward():
    # a column sweep: j-inner walks b by columns, but swapping would put the
    # pragma on the j loop, whose iterations depend on each other
    source = b"""#define N 256
double b[N][N];
void f(void) {
  for (int i = 0; i < N; i++)
    for (int j = 1; j < N; j++)
      b[j][i] = b[j - 1][i] + 1;
}
"""
    result = suggest_source("col.c", source)
    assert not result.errors  # not withheld by the self-check either
    assert [p.kind for p in result.proposals] == ["pragma"]
    assert result.patched.decode().index("for (int i") < result.patched.decode().index("for (int j")


def test_a_large_interchanged_nest_is_tiled_and_keeps_its_result(tmp_path):
    big = MATMUL.replace(b"#define N 96", b"#define N 320")  # 2.3 MiB of arrays
    result = suggest_source("mm.c", big)
    patched = result.patched.decode()
    assert "#pragma omp tile sizes(64, 64, 64)" in patched, patched
    tile_at = patched.index("#pragma omp tile")
    band = patched[tile_at:patched.index("double s = 0")]
    assert "#pragma omp simd" not in band  # nothing may sit inside the tiled band
    serial = _run(big, tmp_path, "serial", openmp=False)
    assert _run(result.patched, tmp_path, "tiled", openmp=True) == serial
    assert _run(result.patched, tmp_path, "gcc", openmp=True, compiler="gcc") == serial


def test_a_small_nest_is_not_tiled():
    assert b"tile" not in suggest_source("mm.c", MATMUL).patched


SEQUENCE = b"""#include <stdio.h>
#include <stdlib.h>
int main(void) {
  int n = 200000;
  double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
  for (int i = 0; i < n; i++) { a[i] = i % 11; b[i] = i % 5; }
  for (int i = 0; i < n; i++)
    c[i] = a[i] + b[i];
  for (int i = 1; i < n; i++)
    a[i] = c[i] * 2 - c[i - 1];
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i];
  printf("%.10g\\n", s);
  return 0;
}
"""


def test_adjacent_offloaded_loops_share_one_data_region(tmp_path):
    result = suggest_source("seq.c", SEQUENCE, target="gpu")
    patched = result.patched.decode()
    assert patched.count("#pragma omp target data") == 1
    assert patched.count("#pragma omp target teams distribute parallel for") == 4
    serial = _run(SEQUENCE, tmp_path, "serial", openmp=False)
    exe = build(tmp_path, "offload", result.patched, "clang-19",
                ["-fopenmp", "-fopenmp-targets=x86_64-pc-linux-gnu", "-O1"])
    env = {"LD_LIBRARY_PATH": "/usr/lib/llvm-19/lib", "OMP_TARGET_OFFLOAD": "MANDATORY"}
    assert output(exe, env=env) == serial


def test_a_region_comes_with_variants_for_the_tuner():
    from ompilot.suggest import patch

    source = b"""void f(double *restrict a, double *restrict b, int n) {
    for (int i = 0; i < n; i++)
        a[i] = 2.0 * i;
    for (int i = 0; i < n; i++)
        b[i] = 3.0 * i;
}
"""
    result = suggest_source("f.c", source)
    [region] = [p for p in result.proposals if p.kind == "region"]
    variants = dict(region.variants)
    separate = patch.apply_edits(source, variants["a separate #pragma omp parallel for on each loop"]).decode()
    assert separate.count("#pragma omp parallel for") == 2 and "{" not in separate.split("\n", 1)[1][:40]
    guided = patch.apply_edits(source, variants[f"{region.summary}, schedule(guided) on each loop"]).decode()
    assert "#pragma omp for schedule(guided) nowait" in guided
    assert guided.count("#pragma omp for schedule(guided)") == 2 and guided.count("#pragma omp parallel\n") == 1
