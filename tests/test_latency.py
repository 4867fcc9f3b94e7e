"""Verification does only the work its verdicts need: timing stops when the
sign test is decided, tuning stops at the ideal speedup, the race check runs
every thread count and schedule but not twice on the same build. These
tests count runs and builds; speed itself is measured by
benchmarks/pipeline_stages.py, never here."""

from __future__ import annotations

from pathlib import Path

from ompilot.suggest.proposals import Edit, Proposal
from ompilot.verify import races
from ompilot.verify.config import single_file_config
from ompilot.verify.evidence import CheckResult
from ompilot.verify.runner import Sandbox
from ompilot.verify.verifier import (EARLY_PAIRS, FileJob, Program, _check_edits, _tune, race_thread_counts,
                                     verify_proposals)

SOURCE = """#include <stdio.h>
#define N 4000
static double a[N];
int main(void) {
    for (int i = 0; i < N; i++)
        a[i] = 0.5 * i + 1.0;
    double s = 0.0;
    for (int i = 0; i < N; i++) s += a[i];
    printf("%.3f\\n", s);
    return 0;
}
"""
PRAGMA = "#pragma omp parallel for schedule(static)\n"


def _loop_offset() -> int:
    return SOURCE.index("    for (int i = 0; i < N; i++)\n        a[i]")


def _edit(pragma: str = PRAGMA) -> Edit:
    return Edit(_loop_offset(), _loop_offset(), pragma)


class ScriptedTimes(Program):
    """A program whose timing runs report scripted seconds (the control flow
    of the timing loop is what is tested); every run is counted."""

    def __init__(self, *args, parallel_seconds: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.parallel_seconds = parallel_seconds
        self.runs: list[str] = []

    def run(self, exe, threads, env=None, sanitizer=False):
        self.runs.append(exe)
        return [], 1.0 if exe == "serial.exe" else self.parallel_seconds, None


def _program(tmp_path: Path, sandbox: Sandbox, cls=Program, **kwargs) -> Program:
    config = single_file_config(tmp_path / "prog.c")
    return cls(config=config, sandbox=sandbox, **kwargs)


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "prog.c").write_text(SOURCE)
    return tmp_path


def test_timing_stops_after_the_pairs_a_clear_win_needs(tmp_path):
    with Sandbox(_tree(tmp_path)) as sandbox:
        program = _program(tmp_path, sandbox, ScriptedTimes, parallel_seconds=0.5)
        result = CheckResult(True, "accepted", "")
        program._time(result)
    assert result.accepted
    assert program.stages.timing_pairs == program.config.timing_runs == len(program.runs) // 2


def test_timing_stops_early_when_the_parallel_build_loses_every_pair(tmp_path):
    with Sandbox(_tree(tmp_path)) as sandbox:
        program = _program(tmp_path, sandbox, ScriptedTimes, parallel_seconds=1.5)
        result = CheckResult(True, "accepted", "")
        program._time(result)
    assert not result.accepted and result.stage == "speed"
    assert program.stages.timing_pairs == EARLY_PAIRS < program.config.timing_runs


def test_a_variant_clearly_slower_than_the_best_stops_timing_and_is_not_cached(tmp_path):
    with Sandbox(_tree(tmp_path)) as sandbox:
        program = _program(tmp_path, sandbox, ScriptedTimes, parallel_seconds=0.7)  # 1.4x: faster than serial
        result = CheckResult(True, "accepted", "")
        program._time(result, abandon=lambda pairs, loop_pairs, labels: len(pairs) >= EARLY_PAIRS)
    assert result.abandoned and not result.accepted and "best variant" in result.message
    assert program.stages.timing_pairs == EARLY_PAIRS


def test_tuning_stops_when_the_loop_already_runs_at_the_ideal_speedup(tmp_path):
    with Sandbox(_tree(tmp_path)) as sandbox:
        program = _program(tmp_path, sandbox)
        proposal = Proposal(file="prog.c", line=5, kind="parallel", summary=PRAGMA.strip(), edits=[_edit()],
                            variants=[("dynamic", [_edit("#pragma omp parallel for schedule(dynamic)\n")])])
        job = FileJob("prog.c", SOURCE.encode(), [proposal])
        best = CheckResult(True, "accepted", "1.95x", speedup=1.95, threads=2, parallel_seconds=[0.5])
        tuned, edits = _tune(program, job, proposal, best)
    assert tuned is best and "not tuned" in tuned.tried[-1]
    assert edits is proposal.edits
    assert program.stages.build_count == 0 and program.stages.timing_pairs == 0


def test_race_check_covers_every_thread_count_and_schedule_once_per_build(tmp_path):
    seen: list[tuple[str, str]] = []
    built: list[bytes] = []

    class Recording(Program):
        def _race_runner(self, command, cwd, env, time_limit):
            seen.append((env["OMP_NUM_THREADS"], env["OMP_SCHEDULE"]))
            return super()._race_runner(command, cwd, env, time_limit)

        def build(self, files, compiler, cflags, name, **kwargs):
            if name == "race.exe":
                built.append(files["prog.c"])
            return super().build(files, compiler, cflags, name, **kwargs)

    with Sandbox(_tree(tmp_path)) as sandbox:
        program = _program(tmp_path, sandbox, Recording)
        program.prepare({"prog.c": SOURCE.encode()})
        job = FileJob("prog.c", SOURCE.encode(), [])
        first = _check_edits(program, job, [_edit()])
        assert first.race_runs == 9 and first.archer_loaded, first.message
        expected = {(str(t), s) for t in race_thread_counts(program.config) for s in races.RACE_SCHEDULES}
        assert set(seen) == expected and len(seen) == len(expected) == 9
        assert race_thread_counts(program.config) == (2, 4, 8)
        # the static schedules are written into their builds; dynamic stays runtime-driven
        assert len(built) == 3
        assert any(b"schedule(static)" in b for b in built)
        assert any(b"schedule(static, 1)" in b for b in built)
        assert any(b"schedule(runtime)" in b for b in built)
        # a schedule variant's race build is the same: confirming it runs nothing under TSan again
        runs = program.stages.race_runs
        again = _check_edits(program, job, [_edit("#pragma omp parallel for schedule(dynamic)\n")], race_only=True)
        assert again.accepted and again.race_runs == 9
        assert program.stages.race_runs == runs and len(seen) == 9


def test_a_racy_loop_is_still_caught(tmp_path):
    racy = SOURCE.replace("a[i] = 0.5 * i + 1.0;", "a[i] = 0.5 * i + (i ? a[i - 1] : 1.0);")
    (tmp_path / "prog.c").write_text(racy)
    with Sandbox(tmp_path) as sandbox:
        program = _program(tmp_path, sandbox)
        program.prepare({"prog.c": racy.encode()})
        offset = racy.index("    for (int i = 0; i < N; i++)\n        a[i]")
        proposal = Proposal(file="prog.c", line=5, kind="parallel", summary="parallel for",
                            edits=[Edit(offset, offset, PRAGMA)])
        [outcome] = verify_proposals(program, FileJob("prog.c", racy.encode(), [proposal]))
    assert outcome.accepted is False
    assert outcome.evidence.stage in ("race", "output"), outcome.evidence
