"""Recursive task trees deeper than the task walk's unrolling depth
(taskcalls.Summary): each (function, argument values) activation of a
recursive function is walked once and replayed at the other calls with the
same arguments, so a tree of height 16 costs 17 activations and its leaves are
reached. Every program compiles with clang-19 -fopenmp -Werror; racy ones
name the marked line, their twins report nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from programs import region_races

TREE = """\
#include <stdio.h>

static long leaves;
static long total;

static long fib(int n)
{
    if (n < 2) {
        LEAF                                    /*A*/
        return n;
    }
    long x, y;
#pragma omp task shared(x) firstprivate(n)
    x = fib(n - 1);
#pragma omp task shared(y) firstprivate(n)
    y = fib(n - 2);
#pragma omp taskwait
    AFTER
    return x + y;
}

int main(int argc, char **argv)
{
    long r = 0;
    (void)argv;
#pragma omp parallel
#pragma omp single
    r = fib(DEPTH);
    printf("%ld %ld %ld\\n", r, leaves, total);
    return 0;
}
"""


def program(leaf: str, after: str = "", depth: str = "18") -> str:
    return TREE.replace("LEAF", leaf).replace("AFTER", after).replace("DEPTH", depth)


def races(tmp_path: Path, source: str):
    return region_races(tmp_path, source, "tree.c")


def marked_line(source: str) -> int:
    return next(n for n, text in enumerate(source.splitlines(), 1) if "/*A*/" in text)


@pytest.mark.parametrize("source", [
    program("leaves += 1;"),                     # two sibling leaf tasks update the counter
    program("leaves = leaves + n;", depth="12"),
])
def test_leaf_update_deeper_than_the_unrolling_depth_is_found(tmp_path, source):
    found = races(tmp_path, source)
    line = marked_line(source)
    assert [race.lines for race in found] == [(line, line)], [str(r) for r in found]
    assert found[0].name == "leaves" and "may run at the same time" in found[0].meet


@pytest.mark.parametrize("source", [
    program("\n#pragma omp atomic\n        leaves += 1;"),
    program("\n#pragma omp critical\n        leaves += 1;"),
    program("(void)0;", after="if (n == 18) total = x + y;"),   # only the root, after its taskwait
    program("leaves += 1;", depth="argc"),       # the height is not known: the tree is not walked
    program("leaves += 1;", depth="1"),          # one leaf, no task
])
def test_protected_or_unknown_trees_report_nothing(tmp_path, source):
    assert races(tmp_path, source) == []


def test_summaries_stop_recursion_whose_arguments_do_not_shrink(tmp_path):
    source = program("leaves += 1;", depth="3").replace("fib(n - 1)", "fib(n + 1)").replace("n < 2", "n > 100000")
    assert races(tmp_path, source) == []
