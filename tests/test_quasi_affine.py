"""Quasi-affine dependence testing: `e / c` and `e % c` in bounds and subscripts.

Three layers, each against an independent ground truth:

* the model of C's division against what clang-19 computes;
* depend.py on random nests with quasi-affine bounds and subscripts, against
  brute-force enumeration with C's truncating semantics (negative dividends
  included);
* whole verdicts on real C (red-black sweeps and near misses), with the
  parallel programs built and run: a loop called parallel must give the
  serial output and run race-free under Archer, and each counterexample the
  analysis keeps serial must really change its output (or race) when forced
  parallel.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from ompilot.analysis.affine import AccessSite, Affine, LoopDim, Quasi
from ompilot.analysis.depend import carried, element_set_covers, same_iteration_conflict
from ompilot.analysis.scan import scan_source

ARCHER = "/usr/lib/llvm-19/lib/libarcher.so"


# --------------------------------------------------------------------------
# C's division, as the model states it and as the compiler computes it.
# --------------------------------------------------------------------------


def _c_quotient(e: int, c: int) -> int:
    """C99: truncation toward zero (independent of the code under test)."""
    return int(e / c)


def test_model_matches_clang_on_negative_and_positive_dividends(tmp_path: Path):
    source = tmp_path / "div.c"
    source.write_text(
        "#include <stdio.h>\nint main(void) {\n"
        "  for (int c = 1; c <= 4; c++)\n    for (int e = -9; e <= 9; e++)\n"
        '      printf("%d %d %d %d\\n", e, c, e / c, e % c);\n  return 0;\n}\n'
    )
    exe = tmp_path / "div"
    subprocess.run(["clang-19", "-O1", str(source), "-o", str(exe)], check=True)
    rows = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split("\n")
    checked = 0
    for row in filter(None, rows):
        e, c, quotient, remainder = map(int, row.split())
        assert Quasi("/", Affine.name("x"), c).value(e) == quotient == _c_quotient(e, c)
        assert Quasi("%", Affine.name("x"), c).value(e) == remainder
        checked += 1
    assert checked == 4 * 19


def test_quotient_folds_constants_and_keeps_names():
    assert Affine.quotient("%", Affine.constant(-7), 2) == Affine.constant(-1)
    assert Affine.quotient("/", Affine.constant(-7), 2) == Affine.constant(-3)
    assert Affine.quotient("/", Affine.name("i"), 1) == Affine.name("i")
    parity = Affine.quotient("%", Affine.build({"i": 1, "color": 1}, 0), 2)
    start = Affine.constant(1) + parity
    assert not start.is_constant and start.names() == {"i", "color"}
    assert str(start) == "(color + i) % 2 + 1"
    assert start - parity == Affine.constant(1)  # terms cancel exactly
    with pytest.raises(ValueError):
        Affine.quotient("%", Affine.name("i"), 0)


# --------------------------------------------------------------------------
# depend.py against brute force.
# --------------------------------------------------------------------------


def _value(expr: Affine, env: dict[str, int]) -> int:
    total = expr.const + sum(c * env[n] for n, c in expr.terms)
    for term, coeff in expr.quasi:
        e = _value(term.dividend, env)
        q = _c_quotient(e, term.divisor)
        total += coeff * (q if term.op == "/" else e - term.divisor * q)
    return total


def _iterations(loops, env=None):
    env = dict(env or {})
    if not loops:
        yield ()
        return
    first, rest = loops[0], loops[1:]
    lo, hi = _value(first.lower, env), _value(first.upper, env)
    counters = range(lo, hi + 1, first.step) if first.step > 0 else range(hi, lo - 1, first.step)
    for value in counters:
        for tail in _iterations(rest, {**env, first.var: value}):
            yield (value,) + tail


def _elements(site: AccessSite, counters) -> tuple[int, ...]:
    env = {dim.var: value for dim, value in zip(site.loops, counters)}
    return tuple(_value(s, env) for s in site.subscripts)


def _brute_carried(source, sink, level):
    step = source.loops[level].step
    sink_points = [(c, _elements(sink, c)) for c in _iterations(sink.loops)]
    distances = set()
    for s in _iterations(source.loops):
        element = _elements(source, s)
        for t, other in sink_points:
            if s[:level] == t[:level] and other == element and (t[level] - s[level]) * step > 0:
                distances.add((t[level] - s[level]) // step)
    return distances


def _brute_same_iteration(a, b, common):
    b_points = [(c, _elements(b, c)) for c in _iterations(b.loops)]
    return any(s[:common] == t[:common] and _elements(a, s) == other
               for s in _iterations(a.loops) for t, other in b_points)


NAMES = ["i", "j", "k"]


def _random_quasi(rng: random.Random, names: list[str]) -> Affine:
    """`(a*x + b) % c` or `/ c`, often with a negative dividend."""
    dividend = Affine.build({n: rng.choice([-1, 1, 1, 2]) for n in rng.sample(names, 1)}, rng.randint(-5, 3))
    return Affine.quotient(rng.choice("/%"), dividend, rng.choice([2, 2, 3]))


def _random_loops(rng: random.Random, outer: tuple[LoopDim, ...], count: int):
    loops = list(outer)
    for _ in range(count):
        var = NAMES[len(loops)]
        base = rng.randint(-4, 2)
        step = rng.choice([1, 1, 2, 2, 3, -1, -2])
        width = rng.choice([-1, 0]) if rng.random() < 0.1 else rng.randint(1, 4) * abs(step)
        lower, upper = Affine.constant(base), Affine.constant(base + width)
        if loops and rng.random() < 0.6:  # a red-black style start: parity of the outer counters
            start = _random_quasi(rng, [l.var for l in loops])
            if step > 0:
                lower = lower + start
            else:
                upper = upper + start
        loops.append(LoopDim(var, lower, upper, step))
    return tuple(loops)


def _random_subscript(rng: random.Random, loops) -> Affine:
    names = [l.var for l in loops]
    plain = Affine.build({n: rng.randint(-2, 2) for n in names}, rng.randint(-3, 3))
    if rng.random() < 0.6:
        plain = plain + _random_quasi(rng, names).scale(rng.choice([1, 1, 2, -1]))
    return plain


def _random_pair(rng: random.Random):
    common = rng.randint(1, 2)
    shared = _random_loops(rng, (), common)
    src_loops = _random_loops(rng, shared, rng.randint(0, 1))
    snk_loops = _random_loops(rng, shared, rng.randint(0, 1))
    rank = rng.randint(1, 2)
    src = tuple(_random_subscript(rng, src_loops) for _ in range(rank))
    snk = tuple(_random_subscript(rng, snk_loops) for _ in range(rank))
    return (AccessSite("a", src, src_loops, True, "src", 1),
            AccessSite("a", snk, snk_loops, False, "snk", 2), common)


def test_carried_with_quasi_affine_terms_matches_brute_force():
    rng = random.Random(1310)
    seen = {"dependence": 0, "none": 0, "distance": 0}
    for case in range(400):
        source, sink, common = _random_pair(rng)
        level = rng.randrange(common)
        expected = _brute_carried(source, sink, level)
        result = carried(source, sink, common, level)
        context = f"case {case}: {source.subscripts} {source.loops} / {sink.subscripts} {sink.loops} level {level}"
        assert result.exists is bool(expected), context
        if expected:
            want = next(iter(expected)) if len(expected) == 1 else None
            assert result.distance == want, context
            seen["dependence"] += 1
            seen["distance"] += want is not None
        else:
            seen["none"] += 1
    assert min(seen.values()) > 30, seen


def test_same_iteration_with_quasi_affine_terms_matches_brute_force():
    rng = random.Random(77)
    for case in range(250):
        a, b, common = _random_pair(rng)
        assert same_iteration_conflict(a, b, common).exists is _brute_same_iteration(a, b, common), f"case {case}"


def test_covers_with_a_parity_start_matches_brute_force():
    """A write loop `for (j = (i + s) % 2; ...; j += 2)` covers the reads of one parity only."""
    rng = random.Random(5)
    hits = misses = 0
    for case in range(150):
        shared = _random_loops(rng, (), 1)
        write_loops = _random_loops(rng, shared, 1)
        read_loops = _random_loops(rng, shared, 1)
        writes = [AccessSite("t", (_random_subscript(rng, write_loops),), write_loops, True, "w", 1)]
        read_site = AccessSite("t", (_random_subscript(rng, read_loops),), read_loops, False, "r", 2)
        written: dict[tuple, set] = {}
        for c in _iterations(write_loops):
            written.setdefault(c[:1], set()).add(_elements(writes[0], c))
        expected = all(_elements(read_site, c) in written.get(c[:1], set()) for c in _iterations(read_loops))
        assert element_set_covers(writes, read_site, 1) is expected, f"case {case}"
        hits += expected
        misses += not expected
    assert hits > 10 and misses > 10


def _red_black(read_row: int, read_col: int):
    """u[i][j] written in `for (j = 1 + (i + color) % 2; j <= n - 2; j += 2)`,
    u[i + read_row][j + read_col] read; color is a parameter of any sign."""
    i = LoopDim("i", Affine.constant(1), Affine.build({"n": 1}, -2), 1)
    start = Affine.constant(1) + Affine.quotient("%", Affine.build({"i": 1, "color": 1}, 0), 2)
    j = LoopDim("j", start, Affine.build({"n": 1}, -2), 2)
    w = AccessSite("u", (Affine.name("i"), Affine.name("j")), (i, j), True, "u[i][j]", 1)
    r = AccessSite("u", (Affine.build({"i": 1}, read_row), Affine.build({"j": 1}, read_col)), (i, j),
                   False, "u[i+r][j+c]", 1)
    return w, r


@pytest.mark.parametrize("row,col", [(-1, 0), (1, 0), (0, -1), (0, 1)])
def test_red_black_neighbours_are_never_written_in_the_sweep(row, col):
    w, r = _red_black(row, col)
    for level in (0, 1):
        assert carried(w, r, 2, level).exists is False
        assert carried(r, w, 2, level).exists is False
    assert carried(w, w, 2, 0).exists is False and carried(w, w, 2, 1).exists is False


def test_red_black_diagonal_neighbour_has_the_same_colour():
    w, r = _red_black(-1, 1)  # u[i-1][j+1]: row i-1 wrote that column in the previous iteration
    result = carried(w, r, 2, 0)
    assert result.exists is True and result.distance == 1
    assert carried(w, r, 2, 1).exists is False  # never within one row


def test_remainder_sign_follows_the_dividend():
    """a[2i + (i + k) % 2] = a[2i + 1]: with i + k < 0 the remainder is -1,
    so iteration i + 1 writes a[2i + 1], which iteration i read. A model
    with a remainder in 0..c-1 would miss it; with the dividend i + 3 >= 3 it
    is truly independent."""
    i = LoopDim("i", Affine.constant(0), Affine.build({"n": 1}, -1), 1)
    read_ = AccessSite("a", (Affine.build({"i": 2}, 1),), (i,), False, "a[2i+1]", 1)
    for offset, exists in ((Affine.name("k"), True), (Affine.constant(3), False)):
        dividend = Affine.name("i") + offset
        written = AccessSite("a", (Affine.build({"i": 2}, 0) + Affine.quotient("%", dividend, 2),), (i,),
                             True, "a[...]", 1)
        assert carried(read_, written, 1, 0).exists is exists


# --------------------------------------------------------------------------
# Verdicts on real C.
# --------------------------------------------------------------------------

RED_BLACK = (
    "void rb(int n, double (*restrict u)[n], const double (*restrict f)[n], int color) {\n"
    "  for (int i = 1; i < n - 1; i++) /*O*/\n"
    "    for (int j = 1 + (i + color) % 2; j < n - 1; j += 2) /*I*/\n"
    "      u[i][j] = 0.25 * (u[i - 1][j] + u[i + 1][j] + u[i][j - 1] + u[i][j + 1] + f[i][j]);\n}\n"
)


def _verdicts(source: str) -> dict[str, object]:
    report = scan_source("case.c", source.encode())
    assert not report.errors, report.errors
    lines = source.splitlines()
    return {lines[v.loop.line - 1].split("/*")[-1].strip("*/ "): v for v in report.verdicts}


CASES = [
    # (name, source, {marker: status}, reason codes expected on the serial loop)
    ("red-black sweep", RED_BLACK, {"O": "parallel", "I": "parallel"}, []),
    ("red-black, j = j + 2 and a C89 counter",
     RED_BLACK.replace("for (int j = 1 + (i + color) % 2; j < n - 1; j += 2)",
                       "for (j = 1 + (i + color) % 2; j < n - 1; j = j + 2)")
     .replace("int color) {\n", "int color) {\n  int j;\n"),
     {"O": "parallel", "I": "parallel"}, []),
    ("red-black counting down",
     RED_BLACK.replace("for (int j = 1 + (i + color) % 2; j < n - 1; j += 2)",
                       "for (int j = n - 2 - (i + color) % 2; j >= 1; j -= 2)"),
     {"O": "parallel", "I": "parallel"}, []),
    ("parity start but step 1: row i reads row i-1's new values",
     "void f(int n, double (*restrict u)[n]) {\n"
     "  for (int i = 1; i < n - 1; i++) /*O*/\n"
     "    for (int j = 1 + i % 2; j < n - 1; j += 1) /*I*/\n      u[i][j] = u[i - 1][j] + 1;\n}\n",
     {"O": "serial", "I": "parallel"}, ["CarriedDependence"]),
    ("the diagonal neighbour has the writer's colour",
     "void f(int n, double (*restrict u)[n], int color) {\n"
     "  for (int i = 1; i < n - 1; i++) /*O*/\n"
     "    for (int j = 1 + (i + color) % 2; j < n - 2; j += 2) /*I*/\n      u[i][j] = u[i - 1][j + 1] + 1;\n}\n",
     {"O": "serial", "I": "parallel"}, ["CarriedDependence"]),
    ("a[i / 2]: two iterations write one element",
     "void f(int n, int *restrict a) {\n  for (int i = 0; i < n; i++) /*L*/\n    a[i / 2] = i;\n}\n",
     {"L": "serial"}, ["CarriedDependence"]),
    ("a[2*i + i % 2] is one element per iteration",
     "void f(int n, int *restrict a) {\n  for (int i = 0; i < n; i++) /*L*/\n    a[2 * i + i % 2] = i;\n}\n",
     {"L": "parallel"}, []),
    ("a[i + i % 2] hits a[2] at i = 1 and i = 2",
     "void f(int n, int *restrict a) {\n  for (int i = 0; i < n; i++) /*L*/\n    a[i + i % 2] = i;\n}\n",
     {"L": "serial"}, ["CarriedDependence"]),
    ("negative dividend: the remainder can be -1",
     "void f(int n, int k, int *restrict a) {\n  for (int i = 0; i < n; i++) /*L*/\n"
     "    a[2 * i + (i + k) % 2] = a[2 * i + 1] + 1;\n}\n",
     {"L": "serial"}, ["CarriedDependence"]),
    ("non-negative dividend: the remainder is 0 or 1",
     "void f(int n, int *restrict a) {\n  for (int i = 0; i < n; i++) /*L*/\n"
     "    a[2 * i + (i + 3) % 2] = a[2 * i + 1] + 1;\n}\n",
     {"L": "parallel"}, []),
    ("unsigned modulus wraps: not modelled",
     "void f(int n, int *restrict a) {\n  for (int i = 0; i < n; i++) /*L*/\n"
     "    a[2 * i + (i + 3) % 2u] = a[2 * i + 1] + 1;\n}\n",
     {"L": "unknown"}, ["UnanalyzableAccess"]),
    ("a cast through unsigned inside the dividend: not modelled",
     "void f(int n, int *restrict a) {\n  for (int i = 0; i < n; i++) /*L*/\n"
     "    a[2 * i + (long) ((unsigned) i - 3) % 2] = a[2 * i + 1] + 1;\n}\n",
     {"L": "unknown"}, ["UnanalyzableAccess"]),
]


@pytest.mark.parametrize("name,source,statuses,codes", CASES, ids=[c[0] for c in CASES])
def test_verdict(name, source, statuses, codes):
    found = _verdicts(source)
    for marker, status in statuses.items():
        verdict = found[marker]
        assert verdict.status == status, (marker, [r.text() for r in verdict.reasons])
        if status == "parallel" and marker in ("O", "L"):
            assert verdict.pragma.startswith("#pragma omp parallel for")
    serial = [v for v in found.values() if v.status != "parallel"]
    for code in codes:
        assert any(code in {r.code for r in v.reasons} for v in serial), code


def test_parity_start_gets_no_triangular_schedule():
    """A start that moves with i only through `% 2` leaves every row with the
    same trips, so the default static schedule stays; a start that grows
    with i (`i / 2`) is triangular and gets small cyclic chunks."""
    balanced = _verdicts(RED_BLACK)["O"]
    assert balanced.status == "parallel" and "schedule" not in balanced.pragma, balanced.pragma
    triangular = RED_BLACK.replace("1 + (i + color) % 2; j < n - 1; j += 2", "1 + i / 2; j < n - 1; j++")
    growing = _verdicts(triangular.replace("0.25 * (u[i - 1][j] + u[i + 1][j] + u[i][j - 1] + u[i][j + 1] + f[i][j])",
                                           "2.0 * f[i][j]"))["O"]
    assert "schedule(static, 16)" in (growing.pragma or ""), (growing.status, growing.pragma, growing.reasons)


def test_quasi_affine_distance_is_reported():
    found = _verdicts("void f(int n, int *a) {\n  for (int i = 2; i < n; i += 2) /*L*/\n"
                      "    a[i / 2] = a[i / 2 - 1] + 1;\n}\n")
    dependence = next(r for r in found["L"].reasons if r.code == "CarriedDependence")
    assert dependence.kind == "flow" and dependence.distance == 1


def test_refusal_names_the_unmodelled_subscript():
    found = _verdicts("void f(int n, int *restrict a, int m) {\n  for (int i = 0; i < n; i++) /*L*/\n"
                      "    a[i % m] = i;\n}\n")
    reasons = [r for r in found["L"].reasons if r.code == "UnanalyzableAccess"]
    assert reasons and "a[i % m]" in reasons[0].text() and "not affine" in reasons[0].text()


# --------------------------------------------------------------------------
# Built and run.
# --------------------------------------------------------------------------

PROGRAM = r"""#include <stdio.h>
#include <stdlib.h>
#define N 96
static double u[N][N], f[N][N];

static void sweep(int color)
{
    for (int i = 1; i < N - 1; i++)
        for (int j = 1 + (i + color) % 2; j < N - 1; j += 2)
            u[i][j] = BODY;
}

int main(int argc, char **argv)
{
    int color = argc > 1 ? atoi(argv[1]) : 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            f[i][j] = (double) ((i * 7 + j * 13) % 17) / 17.0;
            u[i][j] = 0.0;
        }
    for (int s = 0; s < 30; s++) {
        sweep(color);
        sweep(color + 1);
    }
    double check = 0.0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            check += u[i][j] * (i + 1) * (2 * j + 1);
    printf("%.17g %.17g\n", check, u[N / 2][N / 3]);
    return 0;
}
"""
RED_BLACK_BODY = "0.25 * (u[i - 1][j] + u[i + 1][j] + u[i][j - 1] + u[i][j + 1] + 0.01 * f[i][j])"
SAME_COLOUR_BODY = "0.5 * u[i - 1][j + 1] + f[i][j]"


SWEEP_LOOP = "    for (int i = 1; i < N - 1; i++)"

NEGATIVE_REMAINDER = r"""#include <stdio.h>
#include <stdlib.h>
#define N 4000
static int a[2 * N + 2];

int main(int argc, char **argv)
{
    int k = argc > 1 ? atoi(argv[1]) : 0;
    for (int i = 0; i < 2 * N + 2; i++)
        a[i] = i;
    for (int i = 1; i < N - 1; i++)
        a[2 * i + (i + k) % 2] = a[2 * i + 1] + 1;
    long s = 0;
    for (int i = 0; i < 2 * N + 2; i++)
        s += (long) a[i] * (i % 7 + 1);
    printf("%ld\n", s);
    return 0;
}
"""


def _with_pragma(source: str, pragma: str) -> str:
    marker = SWEEP_LOOP + "\n"
    assert source.count(marker) == 1
    return source.replace(marker, f"    {pragma}\n{marker}")


def _build(tmp_path: Path, name: str, source: str, *flags: str) -> Path:
    path = tmp_path / f"{name}.c"
    path.write_text(source)
    exe = tmp_path / name
    result = subprocess.run(["clang-19", "-O1", "-Wall", "-Werror", *flags, str(path), "-o", str(exe)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return exe


def _run(exe: Path, *args: str, **env: str):
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **env))


def _sweep_verdict(source: str):
    report = scan_source("rb.c", source.encode())
    assert not report.errors, report.errors
    line = source.splitlines().index(SWEEP_LOOP) + 1
    return next(v for v in report.verdicts if v.loop.line == line)


def test_red_black_pragma_keeps_the_output_for_every_colour(tmp_path: Path):
    """The pragma ompilot proposes, built with OpenMP, gives the serial output
    bit for bit (each point reads only the other colour), for negative colours
    too (there `(i + color) % 2` is 0 or -1), and Archer finds no race."""
    source = PROGRAM.replace("BODY", RED_BLACK_BODY)
    verdict = _sweep_verdict(source)
    assert verdict.status == "parallel" and verdict.pragma.startswith("#pragma omp parallel for")
    serial = _build(tmp_path, "serial", source)
    parallel = _build(tmp_path, "parallel", _with_pragma(source, verdict.pragma), "-fopenmp")
    for color in ("0", "1", "-3", "-4"):
        want = _run(serial, color).stdout
        for threads in ("2", "4"):
            got = _run(parallel, color, OMP_NUM_THREADS=threads)
            assert got.returncode == 0 and got.stdout == want, (color, threads)
    checked = _build(tmp_path, "tsan", _with_pragma(source, verdict.pragma), "-fopenmp", "-fsanitize=thread", "-g")
    run = _run(checked, "-3", OMP_NUM_THREADS="4", OMP_TOOL_LIBRARIES=ARCHER, ARCHER_OPTIONS="verbose=1",
               TSAN_OPTIONS="ignore_noninstrumented_modules=1 exitcode=66")
    assert "Archer detected OpenMP application with TSan" in run.stdout  # Archer prints it there
    assert run.returncode == 0 and "data race" not in run.stderr
    assert run.stdout.splitlines()[-1] == _run(serial, "-3").stdout.strip()


COUNTEREXAMPLES = [
    # (name, program, argument): the analysis must keep the loop serial, and it really is
    # one sweep: repeated sweeps converge to a fixed point whatever the order
    ("same-colour neighbour u[i-1][j+1]",
     PROGRAM.replace("BODY", SAME_COLOUR_BODY).replace("j < N - 1; j += 2", "j < N - 2; j += 2")
     .replace("s < 30", "s < 1"), "-3"),
    ("negative remainder: (i + k) % 2 is -1 for k = -9000", NEGATIVE_REMAINDER, "-9000"),
]


@pytest.mark.parametrize("name,source,argument", COUNTEREXAMPLES, ids=[c[0] for c in COUNTEREXAMPLES])
def test_serial_counterexample_really_races(name, source, argument, tmp_path: Path):
    """Forced parallel anyway, the loop the analysis keeps serial changes the
    output, or (if the schedule happened to hide it) Archer reports the race."""
    verdict = _sweep_verdict(source)
    assert verdict.status == "serial" and "CarriedDependence" in {r.code for r in verdict.reasons}
    forced = _with_pragma(source, "#pragma omp parallel for schedule(static, 1)")
    want = _run(_build(tmp_path, "serial", source), argument).stdout
    parallel = _build(tmp_path, "parallel", forced, "-fopenmp")
    outputs = {_run(parallel, argument, OMP_NUM_THREADS="4").stdout for _ in range(5)}
    if outputs == {want}:
        checked = _build(tmp_path, "tsan", forced, "-fopenmp", "-fsanitize=thread", "-g")
        run = _run(checked, argument, OMP_NUM_THREADS="4", OMP_TOOL_LIBRARIES=ARCHER,
                   TSAN_OPTIONS="ignore_noninstrumented_modules=1 exitcode=66")
        assert "data race" in run.stderr, "the forced pragma neither changed the output nor raced"
