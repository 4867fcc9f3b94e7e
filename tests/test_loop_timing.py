"""The timing check times the loops a change touches (verify/looptime.py).

Instrumented sources are compiled with clang-19 and gcc (C) or clang++-19
and g++ (C++) and run: without OMPILOT_LOOP_TIMES they print exactly what
the uninstrumented program prints and write nothing; with it they append one
`file:line seconds` line per timed loop. The verdict is tested with loop
timings injected into the real timing loop, and once end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ompilot.suggest import patch
from ompilot.suggest.engine import suggest_source
from ompilot.verify import looptime
from ompilot.verify.config import ProgramConfig
from ompilot.verify.evidence import CheckResult
from ompilot.verify.verifier import Program

PARALLEL_FOR = ["#pragma omp parallel for"]


def _above(source: bytes, *lines: int) -> list:
    return [patch.insertion_above(source, patch.line_offset(source, n), PARALLEL_FOR) for n in lines]


def _build_and_run(tmp_path: Path, name: str, source: bytes, compiler: str, flags: list[str],
                   times: Path | None) -> str:
    path = tmp_path / name
    path.write_bytes(source)
    exe = tmp_path / (name + f"-{compiler}.exe")
    built = subprocess.run([compiler, *flags, str(path), "-o", str(exe), "-lm"], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    env = {k: v for k, v in os.environ.items() if k != looptime.ENV}
    if times is not None:
        env[looptime.ENV] = str(times)
    env["OMP_NUM_THREADS"] = "2"
    cwd = tmp_path / f"run-{exe.name}"
    cwd.mkdir(exist_ok=True)
    done = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=60, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert not any(cwd.iterdir())  # nothing written where it runs
    return done.stdout


def _check_builds(tmp_path: Path, name: str, original: bytes, timed: looptime.TimedBuild,
                  compilers: tuple[str, str], flags: list[str]) -> None:
    """Both instrumented versions build with both compilers, print what the
    original prints, and report every label only when asked."""
    for compiler in compilers:
        expected = _build_and_run(tmp_path, "orig-" + name, original, compiler, flags, None)
        for kind, source, extra in (("serial", timed.serial, []), ("parallel", timed.parallel, ["-fopenmp"])):
            times = tmp_path / f"times-{kind}-{compiler}.txt"
            out = _build_and_run(tmp_path, f"{kind}-{name}", source, compiler, flags + extra, None)
            assert out == expected and not times.exists()  # no variable: no times, the same output
            out = _build_and_run(tmp_path, f"{kind}-{name}", source, compiler, flags + extra, times)
            assert out == expected
            seconds = looptime.read_times(times, timed.labels)
            assert seconds is not None and set(seconds) == set(timed.labels), times.read_text()
            assert all(0 <= s < 10 for s in seconds.values())


C_AWKWARD = rb"""/* C89, with the loops where a block must still be a statement */
#include <stdio.h>
#define N 4000
#define SET(a, i) ((a)[i] = 0.5 * (i))
#define CLEAR_ALL(a) do { int k_; for (k_ = 0; k_ < N; k_++) (a)[k_] = 0; } while (0)
static double a[N], b[N];

static int fill(int n)
{
    int i;
    if (n > N)
        return -1;
    for (i = 0; i < n; i++)
        SET(a, i);
    return n;
}

int main(int argc, char **argv)
{
    int i;
    CLEAR_ALL(b);
    if (argc > 0)
        for (i = 0; i < N; i++)
            b[i] = 2.0 * i;
    else
        b[0] = 1.0;
again:
    for (i = 0; i < N; i++)
        a[i] += b[i]; /* a comment after the loop */
    {
        double total = 0;
        for (i = 0; i < N; i++)
            total += a[i];
        if (total < 0)
            goto again;
        printf("%d %d %.3f %s\n", fill(N), fill(N + 1), total, argv[0] ? "ok" : "");
    }
    return 0;
}
"""


def test_c_loops_under_if_after_label_and_in_an_early_returning_function(tmp_path):
    # line 13: in a function that may return before it, after a declaration (C89 forbids one after a
    # statement: the clock's own declaration opens a block); 23: unbraced if body; 28: after a label
    edits = _above(C_AWKWARD, 13, 23, 28)
    timed = looptime.instrument("awk.c", C_AWKWARD, edits, edits)
    assert isinstance(timed, looptime.TimedBuild), timed
    assert timed.labels == ("awk.c:13", "awk.c:23", "awk.c:28")
    assert timed.serial.count(b"ompilot_now_() - ompilot_t0_") == 3
    serial_code, parallel_code = (t.split(b"/* ompilot loop timing")[0] for t in (timed.serial, timed.parallel))
    assert b"#pragma omp" not in serial_code and parallel_code.count(b"#pragma omp parallel for") == 3
    # every directive still stands right above its loop
    lines = parallel_code.decode().splitlines()
    for i, line in enumerate(lines):
        if "#pragma omp parallel for" in line:
            assert lines[i + 1].lstrip().startswith("for (")
    assert timed.parallel.count(b"#include <stdio.h>") == 1  # the file has it already
    _check_builds(tmp_path, "awk.c", C_AWKWARD, timed, ("clang-19", "gcc"),
                  ["-O2", "-std=c89", "-pedantic-errors", "-Wall", "-Werror"])


STRICT_C99 = rb"""#include <stdio.h>
#include <time.h>
int main(void) {
  static double x[100000];
  for (int i = 0; i < 100000; i++)
    x[i] = i * 0.5;
  printf("%.1f\n", x[99999]);
  return 0;
}
"""


def test_strict_iso_c_without_clock_gettime_in_time_h_still_builds(tmp_path):
    # -std=c99 hides clock_gettime in <time.h>; the clock is declared by ompilot itself
    edits = _above(STRICT_C99, 5)
    timed = looptime.instrument("strict.c", STRICT_C99, edits, edits)
    assert isinstance(timed, looptime.TimedBuild), timed
    _check_builds(tmp_path, "strict.c", STRICT_C99, timed, ("clang-19", "gcc"),
                  ["-O2", "-std=c99", "-pedantic-errors", "-Werror"])


CPP = rb"""#include <cstdio>
#include <vector>
struct Grid {
  std::vector<double> v;
  explicit Grid(int n) : v(n) {}
  double scale(double f) {
    if (v.empty()) return 0;
    for (std::size_t i = 0; i < v.size(); i++)
      v[i] = f * static_cast<double>(i);
    return v.back();
  }
};
int main() {
  Grid g(50000);
  std::printf("%.2f\n", g.scale(1.5));
  return 0;
}
"""


def test_cpp_member_function_builds_with_clang_and_gcc(tmp_path):
    edits = _above(CPP, 8)
    timed = looptime.instrument("grid.cpp", CPP, edits, edits)
    assert isinstance(timed, looptime.TimedBuild), timed
    assert b"#include <stdio.h>" not in timed.parallel  # <cstdio> is there
    assert b"#include <stdlib.h>" in timed.parallel  # getenv's header is not
    _check_builds(tmp_path, "grid.cpp", CPP, timed, ("clang++-19", "g++"), ["-O2", "-std=c++17", "-Wall", "-Werror"])


REGION = rb"""#include <stdio.h>
#define N 100000
static double a[N], b[N];
int main(void) {
  for (int i = 0; i < N; i++)
    a[i] = i * 0.25;
  for (int i = 0; i < N; i++)
    b[i] = a[i] + 1.0;
  printf("%.2f\n", b[N - 1]);
  return 0;
}
"""


def test_a_region_is_timed_as_the_block_its_parallel_directive_covers(tmp_path):
    result = suggest_source("region.c", REGION)
    [region] = [p for p in result.proposals if p.kind == "region"]
    timed = looptime.instrument("region.c", REGION, region.edits, region.edits)
    assert isinstance(timed, looptime.TimedBuild), timed
    assert timed.labels == ("region.c:5",)  # one block: the inner `omp for` loops are not timed again
    text = timed.parallel.decode()
    opening = text.index("{ double ompilot_t0_")
    assert text[opening:].split("\n")[1].strip() == "#pragma omp parallel"
    closing = text.index("ompilot_seconds_[0] +=")
    assert text[:closing].rstrip().endswith("}")  # after the region's own closing brace
    _check_builds(tmp_path, "region.c", REGION, timed, ("clang-19", "gcc"), ["-O2"])


def test_no_timing_without_a_parallel_directive_or_where_no_loop_is_in_the_text():
    source = b"#define EACH(i, n) for (i = 0; i < n; i++)\nvoid f(double *a, int n) {\n  int i;\n  EACH(i, n)\n    a[i] = 0;\n}\n"
    edits = _above(source, 4)
    why = looptime.instrument("m.c", source, edits, edits)
    assert isinstance(why, str) and "no loop found" in why
    simd = [patch.insertion_above(source, patch.line_offset(source, 4), ["#pragma omp simd"])]
    assert looptime.instrument("m.c", source, simd, simd) == "the change inserts no parallel directive"


def test_times_file_parsing(tmp_path):
    times = tmp_path / "t.txt"
    assert looptime.read_times(times, ("a.c:3",)) is None  # no file: the run wrote none
    times.write_text("a.c:3 0.5\nsrc dir/b.c:7 0.25\na.c:3 0.25\n")  # two processes, a path with a space
    assert looptime.read_times(times, ("a.c:3", "src dir/b.c:7")) == {"a.c:3": 0.75, "src dir/b.c:7": 0.25}
    assert looptime.read_times(times, ("a.c:9",)) is None


# --------------------------------------------------------- the verdict


class _Timings(Program):
    """A Program whose runs report given seconds: (whole, loop) per build, in
    turn; the instrumented builds are not really built."""

    def __init__(self, tmp_path: Path, serial: list[tuple[float, float]], parallel: list[tuple[float, float]]):
        (tmp_path / "tree").mkdir()
        config = ProgramConfig(root=tmp_path, build="true", run=("{exe}",), timing_runs=5)
        box = type("Box", (), {"path": tmp_path / "tree"})()
        super().__init__(config=config, sandbox=box)
        self.queue = {"serial": list(serial), "parallel": list(parallel)}

    def _build_timed(self, timed):
        return "serial-timed.exe", "parallel-timed.exe"

    def run(self, exe, threads, env=None, sanitizer=False):
        whole, loop = self.queue["parallel" if threads else "serial"].pop(0)
        Path(env[looptime.ENV]).write_text(f"k.c:8 {loop * 0.75}\nk.c:20 {loop * 0.25}\n")
        return [], whole, None


def _timed_check(tmp_path, serial, parallel) -> CheckResult:
    program = _Timings(tmp_path, serial, parallel)
    result = CheckResult(True, "accepted", "")
    build = looptime.TimedBuild("k.c", ("k.c:8", "k.c:20"), b"", b"")
    program._time(result, timed=build)
    return result


def test_kept_when_the_loops_are_clearly_faster_and_the_program_is_not_slower(tmp_path):
    jitter = [1.0, 1.02, 0.99, 1.01, 0.98] * 3
    serial = [(0.53 * j, 0.012 * j) for j in jitter]
    parallel = [(0.526 * j, 0.0063) for j in jitter[::-1]]  # 1% of the whole run: lost in its noise
    result = _timed_check(tmp_path, serial, parallel)
    assert result.accepted and result.timed == "loops", result.message
    assert result.message.startswith("loops k.c:8, k.c:20: 1.9x faster with 2 threads (0.012 s -> 0.0063 s per run)")
    assert "whole program 0.53 s -> 0.53 s" in result.message
    assert [l["loop"] for l in result.loops] == ["k.c:8", "k.c:20"]
    assert result.loops[0]["serial_seconds"] == pytest.approx(0.009, rel=0.05)
    assert len(result.loop_serial_seconds) == len(result.serial_seconds) == 5


def test_rejected_when_the_loops_are_not_faster(tmp_path):
    serial = [(0.5, 0.012)] * 15
    parallel = [(0.45, 0.0119)] * 15  # the program got faster by chance; the loops did not
    result = _timed_check(tmp_path, serial, parallel)
    assert not result.accepted and result.stage == "speed"
    assert "not faster than serial beyond the noise" in result.message and "per run" in result.message


def test_rejected_when_the_whole_program_is_slower(tmp_path):
    serial = [(0.5, 0.012)] * 15
    parallel = [(0.6, 0.006)] * 15  # the loops gain, the program pays more elsewhere (thread start-up)
    result = _timed_check(tmp_path, serial, parallel)
    assert not result.accepted and result.stage == "speed"
    assert "2.0x faster" in result.message and "whole program is slower beyond the noise" in result.message


def test_a_run_without_loop_times_falls_back_to_whole_program_timing(tmp_path):
    program = _Timings(tmp_path, [(1.0, 0.01)] * 15, [(0.5, 0.005)] * 15)
    program.run = lambda exe, threads, env=None, sanitizer=False: ([], 1.0 if threads is None else 0.5, None)
    result = CheckResult(True, "accepted", "")
    program._time(result, timed=looptime.TimedBuild("k.c", ("k.c:8",), b"", b""))
    assert result.accepted and result.timed == "program" and result.speedup == 2.0
    assert "wrote no loop times" in result.timing_note and "wrote no loop times" in result.message


# --------------------------------------------------------- end to end

INIT = rb"""#include <math.h>
#include "work.h"

/* about 5% of the run: independent iterations, worth two threads */
void init(double *a, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = sin(0.001 * i) * cos(0.002 * i) + sqrt(1.0 + i);
}
"""

MAIN = rb"""#include <stdio.h>
#include <stdlib.h>
#include "work.h"

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int steps = argc > 2 ? atoi(argv[2]) : 1;
    double *a = malloc(n * sizeof *a);
    double s = 0;
    init(a, n);
    /* the rest of the run: a recurrence, serial by nature */
    for (int t = 0; t < steps; t++)
        for (int i = 0; i < 4096; i++)
            s = s * 0.999999 + a[i];
    printf("%.6e\n", s);
    free(a);
    return 0;
}
"""


def test_suggest_keeps_an_init_loop_that_is_a_small_share_of_the_run(tmp_path, capsys):
    from ompilot.cli.main import main

    (tmp_path / "init.c").write_bytes(INIT)
    (tmp_path / "main.c").write_bytes(MAIN)
    (tmp_path / "work.h").write_text("void init(double *a, int n);\n")
    # serial: the init loop about 45 ms of about 0.7 s
    (tmp_path / ".ompilot.toml").write_text(
        'build = "{cc} {cflags} main.c init.c -o {out} -lm"\n'
        'run = ["{exe} 2000000 80000"]\nrace_run = ["{exe} 20000 10"]\n'
        "threads = [2]\ntiming_runs = 5\ntune_seconds = 0\n"
    )
    code = main(["suggest", "--format", "json", "-j", "1", str(tmp_path / "init.c"), str(tmp_path / "main.c")])
    out = json.loads(capsys.readouterr().out)
    init = [p for p in out["proposals"] + out["rejected"] if p["file"].endswith("init.c")]
    assert len(init) == 1, out
    [kept] = init
    evidence = kept["evidence"]
    assert evidence["timed"] == "loops" and evidence["output_check"] == "same", evidence["message"]
    assert evidence["race_check"]["races"] == [] and evidence["race_check"]["archer_loaded"]
    [loop] = evidence["loops"]
    assert loop["loop"] == "init.c:7" and 0.01 < loop["serial_seconds"] < 0.2
    # a small share of the run: the whole program's seconds are many times the loop's
    assert min(evidence["serial_seconds"]) > 5 * loop["serial_seconds"]
    if not kept["verified"]:  # two threads need two free cores; say so when other work holds one
        load = os.getloadavg()[0]
        print(f"\nnot faster on a loaded machine (load average {load:.2f}): {evidence['message']}")
        assert evidence["stage"] == "speed" and load > 1.5, evidence["message"]
        return
    assert evidence["message"].startswith("loop init.c:7: ") and "x faster with 2 threads" in evidence["message"]
    assert "per run); whole program " in evidence["message"]
    assert loop["parallel_seconds"] < 0.95 * loop["serial_seconds"]
    assert code == 1


def test_tuning_compares_loop_speedups_only_between_variants_that_time_the_same_loops():
    from ompilot.verify.verifier import _faster_than

    def timed(speedup, program, loops):
        return CheckResult(True, "accepted", "", speedup=speedup, program_speedup=program, timed="loops",
                           loops=[{"loop": l} for l in loops])

    schedule_variant, original = timed(1.9, 1.01, ["k.c:8"]), timed(1.5, 1.02, ["k.c:8"])
    assert _faster_than(schedule_variant, original, 1.03)  # the same loop: its own speedup decides
    # a region (one block) against separate loops: different statements, so the whole program decides
    separate, region = timed(1.9, 1.01, ["k.c:8", "k.c:12"]), timed(1.5, 1.10, ["k.c:8"])
    assert not _faster_than(separate, region, 1.03) and _faster_than(region, separate, 1.03)
