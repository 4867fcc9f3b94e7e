"""The one fan-out helper: in this process below the threshold, in workers above it, same results."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from ompilot.analysis import fanout


@dataclass(frozen=True)
class Jobs:
    jobs: int


def where(item, settings, offset):
    return item + offset, os.getpid()


@pytest.mark.parametrize("jobs, count, pooled", [(1, 40, False), (2, fanout.POOL_MIN_FILES - 1, False),
                                                 (2, fanout.POOL_MIN_FILES, True)])
def test_pool_only_when_it_pays(jobs, count, pooled):
    assert fanout.worth_a_pool(jobs, count) == pooled
    results = fanout.run_each(where, list(range(count)), Jobs(jobs), 100)
    assert [value for value, _ in results] == [i + 100 for i in range(count)]  # in order, extra arguments passed
    in_workers = {pid for _, pid in results} != {os.getpid()}
    assert in_workers == pooled


def test_fan_out_yields_as_results_come():
    seen = []
    for value in fanout.fan_out(lambda item, settings: seen.append(item) or item * 2, [1, 2, 3], Jobs(1)):
        assert seen[-1] * 2 == value  # the next item is not computed before this one is taken
    assert seen == [1, 2, 3]
