"""Race checker: real TSan + Archer builds and runs of small programs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ompilot.verify.evidence import RaceReport
from ompilot.verify.races import (
    RACE_SCHEDULES,
    SANITIZER_FLAGS,
    archer_library,
    archer_loaded,
    check_races,
    parse_tsan_reports,
    race_environment,
    run_commands,
    run_subprocess,
    runtime_schedule,
)

CLANG = "clang-19"


PRAGMA = "#pragma omp parallel for"


def build(tmp_path: Path, name: str, source: str, pragma: str = PRAGMA) -> tuple[Path, Path, int]:
    """Write `source` with {pragma} replaced, build it with TSan; (exe, source path, line of /*BODY*/)."""
    text = source.replace("{pragma}", runtime_schedule(pragma))
    src = tmp_path / f"{name}.c"
    src.write_text(text)
    exe = tmp_path / name
    subprocess.run([CLANG, *SANITIZER_FLAGS, str(src), "-o", str(exe)], check=True, timeout=120)
    body = next(n for n, line in enumerate(text.splitlines(), 1) if "/*BODY*/" in line)
    return exe, src, body


CHAIN = r"""
#include <stdio.h>
#define N 4000
int a[N];
int main(void) {
    for (int i = 0; i < N; i++) a[i] = 0;
    {pragma}
    for (int i = 1; i < N; i++)
        a[i] = a[i - 1] + 1; /*BODY*/
    printf("%d\n", a[N - 1]);
    return 0;
}
"""

SHARED_TEMP = r"""
#include <stdio.h>
#define N 4000
double x[N], y[N];
int main(void) {
    double t;
    for (int i = 0; i < N; i++) x[i] = i;
    {pragma}
    for (int i = 0; i < N; i++) {
        t = x[i] * 2.0; /*BODY*/
        y[i] = t + 1.0;
    }
    printf("%f\n", y[N - 1]);
    return 0;
}
"""

HISTOGRAM = r"""
#include <stdio.h>
#define N 4000
#define BINS 8
int k[N], hist[BINS];
int main(void) {
    for (int i = 0; i < N; i++) k[i] = (i * 7) % BINS;
    {pragma}
    for (int i = 0; i < N; i++)
        hist[k[i]]++; /*BODY*/
    for (int b = 0; b < BINS; b++) printf("%d ", hist[b]);
    printf("\n");
    return 0;
}
"""

REDUCTION = r"""
#include <stdio.h>
#define N 20000
double x[N];
int main(void) {
    double s = 0.0;
    for (int i = 0; i < N; i++) x[i] = i * 0.5;
    {pragma}
    for (int i = 0; i < N; i++)
        s += x[i]; /*BODY*/
    printf("%f\n", s);
    return 0;
}
"""


def assert_race_at(check, src: Path, line: int) -> None:
    assert check.races, check
    where = f"{src}:{line} ("
    assert any(r.first.startswith(where) and r.second.startswith(where) for r in check.races), check.races
    report = check.races[0]
    assert report.summary.startswith("SUMMARY: ThreadSanitizer: data race")
    assert report.threads in (2, 4)
    assert report.schedule in ("static,1", "dynamic,1")


# --------------------------------------------------------------------------- finding races


def test_loop_carried_dependence_is_found(tmp_path):
    exe, src, body = build(tmp_path, "chain", CHAIN)
    check = check_races(exe, [], tmp_path, threads=(2, 4), runs=2,
                        schedules=("static,1", "dynamic,1"), time_limit=60)
    assert_race_at(check, src, body)
    assert check.archer_loaded
    assert check.runs == 1  # stops at the first racy run
    kinds = {check.races[0].first.rsplit("(", 1)[1], check.races[0].second.rsplit("(", 1)[1]}
    assert kinds == {"read)", "write)"}
    assert check.failures == []


def test_paths_relative_to_root(tmp_path):
    exe, src, body = build(tmp_path, "chain", CHAIN)
    check = check_races(exe, [], tmp_path, threads=(2,), runs=1, schedules=("static,1",),
                        time_limit=60, root=tmp_path)
    assert check.races
    assert check.races[0].first.startswith(f"chain.c:{body} (")


def test_shared_temporary_is_found(tmp_path):
    exe, src, body = build(tmp_path, "temp", SHARED_TEMP)
    check = check_races(exe, [], tmp_path, threads=(2, 4), runs=2,
                        schedules=("static,1", "dynamic,1"), time_limit=60)
    assert check.races
    # the write of t races with the write (or read) of t in another thread
    assert any(r.first.startswith(f"{src}:{body} (") or r.second.startswith(f"{src}:{body} (")
               for r in check.races), check.races
    assert check.archer_loaded


def test_histogram_without_reduction_is_found(tmp_path):
    exe, src, body = build(tmp_path, "hist", HISTOGRAM)
    check = check_races(exe, [], tmp_path, threads=(2, 4), runs=2,
                        schedules=("static,1", "dynamic,1"), time_limit=60)
    assert_race_at(check, src, body)


# --------------------------------------------------------------------------- no false positives


def test_reduction_is_clean_with_archer(tmp_path):
    exe, _, _ = build(tmp_path, "red", REDUCTION, "#pragma omp parallel for reduction(+:s)")
    check = check_races(exe, [], tmp_path, threads=(2, 4), runs=1,
                        schedules=RACE_SCHEDULES, time_limit=60)
    assert check.races == []
    assert check.runs == 2 * len(RACE_SCHEDULES)
    assert check.archer_loaded  # every run: libomp's synchronization was visible to TSan
    assert check.failures == []
    assert check.trustworthy


def test_without_archer_the_flag_is_false(tmp_path):
    exe, _, _ = build(tmp_path, "red", REDUCTION, "#pragma omp parallel for reduction(+:s)")
    seen_envs = []

    def no_tool_runner(command, cwd, env, time_limit):
        env = {k: v for k, v in env.items() if k != "OMP_TOOL_LIBRARIES"}
        seen_envs.append(env)
        return run_subprocess(command, cwd, env=env, time_limit=time_limit)

    check = check_races(exe, [], tmp_path, threads=(2,), runs=1, schedules=("static,1",),
                        time_limit=60, runner=no_tool_runner)
    assert check.runs == 1 and len(seen_envs) == 1
    assert seen_envs[0]["OMP_NUM_THREADS"] == "2" and seen_envs[0]["OMP_SCHEDULE"] == "static,1"
    assert check.archer_loaded is False
    assert any("Archer did not load" in f for f in check.failures), check.failures
    assert not check.trustworthy


def test_run_commands_like_program_config(tmp_path):
    # ProgramConfig.run: shell commands with {exe}, each run in every pass; and the real runner
    exe, src, body = build(tmp_path, "chain", CHAIN)
    try:
        from ompilot.verify.runner import run_command
    except ImportError:  # the sibling module is not there yet
        run_command = None

    def limited_runner(command, cwd, env, time_limit):  # as the verifier does it
        return run_command(command, cwd, env=env, time_limit=time_limit, memory_limit_mb=4096,
                           limit_address_space=False)

    calls = []

    def counting_runner(command, cwd, env, time_limit):
        calls.append(command)
        return (limited_runner if run_command else run_subprocess)(command, cwd, env=env, time_limit=time_limit)

    check = check_races(exe, ["echo first", "{exe} > out.txt; cat out.txt"], tmp_path, threads=(2, 4),
                        runs=1, schedules=("static",), time_limit=60, runner=counting_runner)
    # "echo first" has no {exe}: the list is taken as arguments of exe
    assert calls[0].startswith(str(exe)) and "'echo first'" in calls[0]
    calls.clear()
    check = check_races(exe, ["{exe} a", "{exe} b > out.txt; cat out.txt"], tmp_path, threads=(2, 4),
                        runs=1, schedules=("static", "static,1"), time_limit=60, runner=counting_runner)
    assert check.races and check.races[0].first.startswith(f"{src}:{body} (")
    assert check.archer_loaded
    assert calls[:2] == [f"{exe} a", f"{exe} b > out.txt; cat out.txt"]
    assert check.runs == len(calls) // 2


def test_run_commands():
    exe = Path("/t m/p")
    assert run_commands(exe, "{exe} in.txt") == ["'/t m/p' in.txt"]
    assert run_commands(exe, ["{exe} 1", "{exe} 2 > o"]) == ["'/t m/p' 1", "'/t m/p' 2 > o"]
    assert run_commands(exe, "{exe} | awk '{{print $1}}'") == ["'/t m/p' | awk '{print $1}'"]
    assert run_commands(exe, ["-n", "3"]) == ["'/t m/p' -n 3"]
    assert run_commands(exe, "-n 'a b'") == ["'/t m/p' -n 'a b'"]
    assert run_commands(exe, []) == ["'/t m/p'"]


# --------------------------------------------------------------------------- failures


def test_timeout_is_a_failure_and_stops(tmp_path):
    src = tmp_path / "slow.c"
    src.write_text("#include <unistd.h>\nint main(void){\n#pragma omp parallel\n{ sleep(30); }\nreturn 0;}\n")
    exe = tmp_path / "slow"
    subprocess.run([CLANG, *SANITIZER_FLAGS, str(src), "-o", str(exe)], check=True, timeout=120)
    check = check_races(exe, [], tmp_path, threads=(2, 4), runs=2, schedules=("static",), time_limit=1.0)
    assert check.runs == 1
    assert check.races == []
    assert any("timed out" in f for f in check.failures), check.failures


def test_crash_is_a_failure_not_a_race(tmp_path):
    # a TSan build that crashes also exits with 66
    src = tmp_path / "seg.c"
    src.write_text(
        "#include <stdio.h>\nint main(int argc, char **argv) {\n  int * volatile p = 0; int s = 0;\n"
        "  #pragma omp parallel for reduction(+:s)\n  for (int i = 0; i < 10; i++) s += i;\n"
        "  if (argc > 1) *p = s;\n  printf(\"%d\\n\", s);\n  return 0;\n}\n"
    )
    exe = tmp_path / "seg"
    subprocess.run([CLANG, *SANITIZER_FLAGS, str(src), "-o", str(exe)], check=True, timeout=120)
    check = check_races(exe, ["crash"], tmp_path, threads=(2,), runs=1, schedules=("static",), time_limit=60)
    assert check.races == []
    assert check.archer_loaded
    assert any("SEGV" in f for f in check.failures), check.failures
    clean = check_races(exe, [], tmp_path, threads=(2,), runs=1, schedules=("static",), time_limit=60)
    assert clean.failures == [] and clean.trustworthy


def test_tsan_that_cannot_start_is_a_failure_not_a_race(tmp_path):
    # TSan exits with its race status (66) when a memory limit stops it mapping its shadow
    exe, _, _ = build(tmp_path, "red", REDUCTION, "#pragma omp parallel for reduction(+:s)")
    check = check_races(exe, "ulimit -d 1048576; {exe}", tmp_path, threads=(2,), runs=1,
                        schedules=("static",), time_limit=60)
    assert check.races == []
    assert any("ThreadSanitizer" in f and "shadow" in f or "ThreadSanitizer failed" in f
               for f in check.failures), check.failures
    assert not check.trustworthy


# --------------------------------------------------------------------------- parsing


def test_parse_captured_report_and_dedup(tmp_path):
    exe, src, body = build(tmp_path, "chain", CHAIN)
    env = dict(race_environment(4, "dynamic,1"))
    env["PATH"] = "/usr/bin:/bin"
    result = run_subprocess(str(exe), tmp_path, env=env, time_limit=60)
    assert result.returncode == 66, result.stderr[-2000:]
    assert "WARNING: ThreadSanitizer: data race" in result.stderr
    # the banner goes to stdout, not stderr
    assert archer_loaded(result.stdout) and not archer_loaded(result.stderr)
    assert "Archer detected OpenMP application with TSan" in result.stdout

    reports = parse_tsan_reports(result.stderr, 4, "dynamic,1")
    assert reports and all(isinstance(r, RaceReport) for r in reports)
    r = reports[0]
    assert r.first.startswith(f"{src}:{body} (") and r.second.startswith(f"{src}:{body} (")
    assert (r.threads, r.schedule) == (4, "dynamic,1")
    assert "libomp" not in r.first + r.second and "omp_outlined" not in r.first
    # the same report twice, and the two accesses given in the other order: one report each
    twice = parse_tsan_reports(result.stderr + "\n" + result.stderr, 4, "dynamic,1")
    assert twice == reports
    swapped = (result.stderr.replace("  Read of size", "  XREAD").replace("  Write of size", "  Read of size")
               .replace("  XREAD", "  Write of size").replace("Previous write", "PREVW")
               .replace("Previous read", "Previous write").replace("PREVW", "Previous read"))
    assert len(parse_tsan_reports(result.stderr + swapped, 4, "dynamic,1")) == len(reports)
    assert parse_tsan_reports("no reports here\n", 2, "static") == []


def test_archer_loaded_text():
    assert archer_loaded("Archer detected OpenMP application with TSan, supplying OpenMP synchronization semantics\n")
    assert not archer_loaded("Archer detected OpenMP application without TSan; stopping operation\n")
    assert not archer_loaded("")


def test_race_environment():
    env = race_environment(4, "dynamic,1")
    assert env["OMP_NUM_THREADS"] == "4"
    assert env["OMP_SCHEDULE"] == "dynamic,1"
    assert "exitcode=66" in env["TSAN_OPTIONS"] and "ignore_noninstrumented_modules=1" in env["TSAN_OPTIONS"]
    assert env["ARCHER_OPTIONS"] == "verbose=1"
    if archer_library():
        assert Path(env["OMP_TOOL_LIBRARIES"]).is_absolute()
        assert Path(env["OMP_TOOL_LIBRARIES"]).name == "libarcher.so"
    assert "OMP_SCHEDULE" not in race_environment(2, None)


# --------------------------------------------------------------------------- runtime_schedule


@pytest.mark.parametrize("pragma, expected", [
    ("#pragma omp parallel for", "#pragma omp parallel for schedule(runtime)"),
    ("#pragma omp parallel for schedule(static)", "#pragma omp parallel for schedule(runtime)"),
    ("#pragma omp parallel for schedule(dynamic, 4) collapse(2)",
     "#pragma omp parallel for schedule(runtime) collapse(2)"),
    ("#pragma omp parallel for collapse(2) private(j)",
     "#pragma omp parallel for schedule(runtime) collapse(2) private(j)"),
    ("#pragma omp parallel for simd reduction(+:s)",
     "#pragma omp parallel for simd schedule(runtime) reduction(+:s)"),
    ("#pragma omp for simd schedule(simd: static, 8)", "#pragma omp for simd schedule(runtime)"),
    ("#pragma omp for nowait", "#pragma omp for schedule(runtime) nowait"),
    ("  #  pragma  omp parallel for schedule(monotonic:dynamic,2) // note",
     "  #  pragma  omp parallel for schedule(runtime) // note"),
    ("#pragma omp parallel for private(schedule)", "#pragma omp parallel for schedule(runtime) private(schedule)"),
    ("#pragma omp target teams distribute parallel for",
     "#pragma omp target teams distribute parallel for schedule(runtime)"),
    ("#pragma omp parallel for schedule(runtime)", "#pragma omp parallel for schedule(runtime)"),
    # one source line at a time, as the verifier passes them
    ("    #pragma omp parallel for\n", "    #pragma omp parallel for schedule(runtime)\n"),
    ("#pragma omp parallel for private(t) /* why */\n",
     "#pragma omp parallel for schedule(runtime) private(t) /* why */\n"),
    # not `for` worksharing: untouched
    ("#pragma omp simd", "#pragma omp simd"),
    ("#pragma omp simd reduction(+:s)", "#pragma omp simd reduction(+:s)"),
    ("#pragma omp parallel", "#pragma omp parallel"),
    ("#pragma omp taskloop grainsize(4)", "#pragma omp taskloop grainsize(4)"),
    ("#pragma omp teams distribute", "#pragma omp teams distribute"),
    ("#pragma omp cancel for", "#pragma omp cancel for"),
])
def test_runtime_schedule(pragma, expected):
    assert runtime_schedule(pragma) == expected


def test_runtime_schedule_output_compiles(tmp_path):
    src = tmp_path / "c.c"
    src.write_text(
        "int a[8][8];\nint main(void){\n"
        + runtime_schedule("#pragma omp parallel for simd collapse(2) schedule(static)")
        + "\nfor(int i=0;i<8;i++) for(int j=0;j<8;j++) a[i][j]=i+j;\nreturn a[7][7]-14;}\n"
    )
    subprocess.run([CLANG, "-fopenmp", "-Werror", "-c", str(src), "-o", str(tmp_path / "c.o")],
                   check=True, timeout=120)


# --------------------------------------------------------------------------- the runtime's own memory

TASK_TREE = r"""
#include <stdio.h>
#define N 4096
static long out[N];
static void leaf(int lo, int hi) { for (int k = lo; k < hi + OVERLAP; k++) out[k] = (long)k * k % 97; }
static void split(int lo, int hi)
{
    if (hi - lo <= 4) { leaf(lo, hi); return; }
    int mid = lo + (hi - lo) / 2;
#pragma omp task firstprivate(mid, hi)
    split(mid, hi);
    split(lo, mid);
}
int main(void)
{
    long sum = 0;
    for (int rep = 0; rep < 20; rep++) {
#pragma omp parallel
#pragma omp single
        {
#pragma omp taskgroup
            {
#pragma omp task
                split(0, N - 1);
            }
        }
    }
    for (int k = 0; k < N; k++) sum += out[k];
    printf("sum %ld\n", sum);
    return 0;
}
"""


def _task_tree(tmp_path: Path, overlap: int) -> Path:
    """TASK_TREE built for the race check."""
    src = tmp_path / f"tree{overlap}.c"
    src.write_text(TASK_TREE.replace("OVERLAP", str(overlap)))
    exe = tmp_path / f"tree{overlap}"
    subprocess.run([CLANG, *SANITIZER_FLAGS, str(src), "-o", str(exe)], check=True, timeout=120)
    return exe


def _task_tree_runs(tmp_path: Path, overlap: int, runs: int) -> list[str]:
    """TSan + Archer stderr of `runs` runs of TASK_TREE with 4 threads."""
    exe = _task_tree(tmp_path, overlap)
    env = dict(race_environment(4, None))
    env["PATH"] = "/usr/bin:/bin"
    return [run_subprocess(str(exe), tmp_path, env=env, time_limit=120).stderr for _ in range(runs)]


def test_task_descriptors_reused_by_libomp_are_not_races(tmp_path):
    """Thousands of small tasks: libomp hands a finished task's descriptor to
    the next task created, which TSan sees as a race between the creation
    (the task pragma's line) and the earlier task reading its captured values,
    on a heap block libomp allocated. Measured here in every run with 4 threads
    (and in corpus/races/taskgroup_safe.cpp about once in 60 runs under load).
    Those reports are not the program's races: none is kept, while the raw
    output shows they happened."""
    outputs = []
    for stderr in _task_tree_runs(tmp_path, overlap=0, runs=6):
        outputs.append(stderr)
        assert parse_tsan_reports(stderr, 4, "default") == [], stderr[-3000:]
        if "Location is heap block" in stderr and ".omp_task_entry" in stderr:
            break
    assert any("WARNING: ThreadSanitizer: data race" in s and "(libomp.so" in s for s in outputs), \
        "the runtime's descriptor reuse did not show in 6 runs: the test no longer exercises the filter"


def test_the_race_check_of_a_task_tree_is_clean_and_trustworthy(tmp_path):
    """The whole race check on that program: TSan's exit status after the
    left-out reports is not a failure either (a run that failed would make
    the check untrustworthy: check --dynamic's 'not run' warning, a rejected
    proposal)."""
    check = check_races(_task_tree(tmp_path, 0), [], tmp_path, threads=(4,), runs=3, schedules=("static",),
                        time_limit=120)
    assert check.races == [] and check.failures == [] and check.trustworthy, check


def test_a_race_between_tasks_on_the_programs_memory_is_still_reported(tmp_path):
    """The same task tree with neighbouring leaves both writing out[hi]: a real race on a global."""
    (stderr,) = _task_tree_runs(tmp_path, overlap=1, runs=1)
    reports = parse_tsan_reports(stderr, 4, "default")
    assert any("tree1.c:5 (write)" in r.first and "tree1.c:5 (write)" in r.second for r in reports), reports
