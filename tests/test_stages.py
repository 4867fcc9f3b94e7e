"""Stage times: what the verifier records while it works, and the benchmark that prints them."""

from __future__ import annotations

import time

import pytest

from ompilot.verify.stages import STAGES, StageTimes


def test_measure_adds_wall_time_to_one_stage():
    stages = StageTimes()
    with stages.measure("race_checks"):
        time.sleep(0.02)
    with stages.measure("race_checks"):
        time.sleep(0.02)
    assert stages.race_checks >= 0.04
    assert stages.builds == stages.timing == 0.0


def test_an_unknown_stage_is_refused():
    with pytest.raises(ValueError):
        with StageTimes().measure("linking"):
            pass


def test_since_and_table():
    stages = StageTimes(builds=1.0, build_count=2)
    before = stages.snapshot()
    stages.builds += 0.5
    stages.build_count += 1
    added = stages.since(before)
    assert added.builds == pytest.approx(0.5) and added.build_count == 1 and added.timing == 0
    table = stages.table()
    assert all(stage.replace("_", " ") in table for stage in STAGES)
    assert "(3 builds)" in table
    assert added.as_dict()["build_count"] == 1
