"""The race check's policies, one at a time, with injected runs (the real
TSan + Archer runs are in tests/test_verify_races.py): which builds, which
thread counts and schedules, how to read one run, when to stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from ompilot.verify.evidence import RunResult
from ompilot.verify.races import (
    ARCHER_BANNER,
    RACE_SCHEDULES,
    TSAN_EXITCODE,
    RaceRun,
    RunReading,
    check_races,
    pinned_schedule,
    race_builds,
    race_plan,
    read_run,
    runtime_schedules,
    stops_after,
)

BANNER = ARCHER_BANNER + ", supplying OpenMP synchronization semantics\n"
RACE = """WARNING: ThreadSanitizer: data race (pid=1)
  Write of size 4 at 0x1 by thread T1:
    #0 .omp_outlined. /src/chain.c:9:14 (chain+0x10)
  Previous read of size 4 at 0x1 by main thread:
    #0 .omp_outlined. /src/chain.c:9:16 (chain+0x20)
SUMMARY: ThreadSanitizer: data race /src/chain.c:9:14 in .omp_outlined.
"""
RUN = RaceRun(threads=2, schedule="static,1", number=1)


def result(returncode: int | None = 0, stderr: str = "", stdout: str = BANNER, **flags) -> RunResult:
    return RunResult("p", returncode, stdout, stderr, 0.1, **flags)


# --------------------------------------------------------------------------- which builds


def test_race_builds_pin_static_schedules_and_keep_runtime_for_the_others():
    source = runtime_schedules("int a;\n#pragma omp parallel for private(t)\nfor (;;) {}\n").encode()
    builds = race_builds({"a.c": source})
    assert [schedule for schedule, _ in builds] == list(RACE_SCHEDULES)
    pragmas = {schedule: files["a.c"].decode().splitlines()[1] for schedule, files in builds}
    assert pragmas == {
        "static": "#pragma omp parallel for schedule(static) private(t)",
        "static,1": "#pragma omp parallel for schedule(static, 1) private(t)",
        "guided": "#pragma omp parallel for schedule(runtime) private(t)",
    }


def test_pinned_schedule_touches_only_runtime_schedule_clauses():
    source = (b"#pragma omp parallel for schedule( runtime ) \\\n  private(t)\r\n"
              b"#pragma omp for schedule(dynamic)\n"
              b"int schedule_runtime = 0; /* schedule(runtime) */\n")
    assert pinned_schedule(source, "static,1") == (
        b"#pragma omp parallel for schedule(static, 1) \\\n  private(t)\r\n"
        b"#pragma omp for schedule(dynamic)\n"
        b"int schedule_runtime = 0; /* schedule(runtime) */\n")
    assert pinned_schedule(source, "guided") == source


def test_runtime_schedules_reads_continued_pragmas_whole():
    # the schedule clause on the continuation line is the one replaced: never two schedule clauses
    text = "  #pragma omp parallel for \\\n    schedule(static)\n  for (;;) {}\n"
    assert runtime_schedules(text) == "  #pragma omp parallel for \\\n    schedule(runtime)\n  for (;;) {}\n"


# --------------------------------------------------------------------------- which thread counts and schedules


def test_race_plan_is_pass_major():
    plan = race_plan((2, 4), ("static", "static,1"), runs=2)
    assert [(r.number, r.threads, r.schedule) for r in plan] == [
        (1, 2, "static"), (1, 2, "static,1"), (1, 4, "static"), (1, 4, "static,1"),
        (2, 2, "static"), (2, 2, "static,1"), (2, 4, "static"), (2, 4, "static,1"),
    ]
    assert plan[0].label == "threads=2 schedule=static run 1"


def test_race_plan_without_schedules_runs_once_per_thread_count_unset():
    plan = race_plan((2, 8), (), runs=1)
    assert [(r.threads, r.schedule) for r in plan] == [(2, None), (8, None)]
    assert plan[0].label == "threads=2 schedule=default run 1"
    assert race_plan((2,), ("static",), runs=0) == []


# --------------------------------------------------------------------------- how to read a run


def test_a_clean_run():
    reading = read_run(result(0), "w", RUN, 10.0)
    assert reading == RunReading("w", [], [], archer_loaded=True, halts=False)


def test_a_race_is_read_with_its_run_settings():
    reading = read_run(result(TSAN_EXITCODE, RACE), "w", RUN, 10.0, root=Path("/src"))
    [race] = reading.races
    assert (race.first, race.second) == ("chain.c:9 (write)", "chain.c:9 (read)")
    assert (race.threads, race.schedule) == (2, "static,1")
    assert reading.failures == [] and not reading.halts  # exit status 66 is the race's


@pytest.mark.parametrize("run, failure, halts", [
    (result(None, timed_out=True), "w: timed out after 10 s", True),
    (result(None, out_of_memory=True), "w: out of memory", True),
    (result(TSAN_EXITCODE, "FATAL: ThreadSanitizer can not mmap the shadow memory\n"),
     "w: FATAL: ThreadSanitizer can not mmap the shadow memory", False),
    (result(TSAN_EXITCODE, "==7==ERROR: ThreadSanitizer: SEGV on unknown address 0x0\n"),
     "w: ==7==ERROR: ThreadSanitizer: SEGV on unknown address 0x0", False),
    (result(3, "bad input\n"), "w: exit status 3 bad input", False),
    (result(-11, ""), "w: killed by signal 11", False),
    (result(TSAN_EXITCODE, "WARNING: ThreadSanitizer: thread leak (pid=1)\nSUMMARY: ThreadSanitizer: thread leak\n"),
     "w: ThreadSanitizer also reported: thread leak", False),
])
def test_failures_are_read_never_races(run, failure, halts):
    reading = read_run(run, "w", RUN, 10.0)
    assert reading.races == [] and reading.failures == [failure] and reading.halts is halts


def test_archer_banner_is_looked_for_in_both_streams():
    assert read_run(result(0, stdout="", stderr=BANNER), "w", RUN, 1.0).archer_loaded
    assert not read_run(result(0, stdout=""), "w", RUN, 1.0).archer_loaded
    assert not read_run(result(None, stdout="", timed_out=True), "w", RUN, 1.0).archer_loaded


# --------------------------------------------------------------------------- when to stop


def test_stops_after_a_race_or_a_halt_not_after_failures():
    clean = RunReading("w", [], [], True)
    raced = read_run(result(TSAN_EXITCODE, RACE), "w", RUN, 1.0)
    crashed = RunReading("w", [], ["w: exit status 3"], True)
    timed_out = RunReading("w", [], ["w: timed out"], True, halts=True)
    assert not stops_after([clean, crashed])
    assert stops_after([clean, raced]) and stops_after([timed_out])
    assert not stops_after([])


# --------------------------------------------------------------------------- the whole check, with injected runs


class Runs:
    """A runner that answers from a function of (command, env) and records the calls."""

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def __call__(self, command: str, cwd: Path, env: dict[str, str], time_limit: float) -> RunResult:
        self.calls.append((command, env["OMP_NUM_THREADS"], env.get("OMP_SCHEDULE")))
        return self.answer(command, env)


def check(runner: Runs, run_args="", threads=(2, 4), runs=2, schedules=("static", "static,1")):
    return check_races(Path("/x/p"), run_args, Path("/x"), threads=threads, runs=runs, schedules=schedules,
                       time_limit=5.0, runner=runner, root=Path("/src"))


def test_clean_runs_go_through_the_whole_plan():
    runner = Runs(lambda command, env: result(0))
    found = check(runner)
    assert found.runs == 8 and len(runner.calls) == 8 and found.trustworthy and found.races == []
    assert runner.calls[:2] == [("/x/p", "2", "static"), ("/x/p", "2", "static,1")]


def test_the_first_run_with_a_race_ends_the_check_after_its_commands():
    runner = Runs(lambda command, env: result(TSAN_EXITCODE, RACE) if env["OMP_NUM_THREADS"] == "4" else result(0))
    found = check(runner, run_args=["{exe} a", "{exe} b"])
    assert found.runs == 3  # threads=2 twice, then threads=4 static: both its commands ran
    assert [c[0] for c in runner.calls[-2:]] == ["/x/p a", "/x/p b"]
    assert len(found.races) == 1 and found.races[0].threads == 4  # the same pair of accesses once


def test_a_timeout_skips_the_run_s_other_commands_and_ends_the_check():
    runner = Runs(lambda command, env: result(None, timed_out=True) if command.endswith("a") else result(0))
    found = check(runner, run_args=["{exe} a", "{exe} b"])
    assert found.runs == 1 and [c[0] for c in runner.calls] == ["/x/p a"]
    assert found.failures == ["threads=2 schedule=static run 1 (/x/p a): timed out after 5 s"]
    assert not found.trustworthy


def test_runs_without_archer_are_counted_into_one_failure():
    runner = Runs(lambda command, env: result(0, stdout="") if env.get("OMP_SCHEDULE") == "static,1" else result(0))
    found = check(runner, runs=1)
    assert found.runs == 4 and not found.archer_loaded and not found.trustworthy
    [failure] = found.failures
    assert failure.startswith("Archer did not load in 2 run(s) (threads=2 schedule=static,1 run 1, ...)")


def test_no_runs_is_not_a_trustworthy_result():
    found = check(Runs(lambda command, env: result(0)), runs=0)
    assert found.runs == 0 and not found.archer_loaded and not found.trustworthy
