"""Every reason and fact class renders the same text and JSON as before the
template clean-up (issue 12): the expected strings were recorded from the
code before the change. A new Reason or Templated class must get a sample here."""

from __future__ import annotations

import json

import pytest

from ompilot.analysis import loopfacts as lf

SAMPLES = {
    "CarriedDependence": lf.CarriedDependence(
        array="a", kind="flow", source="a[i]", source_line=4, sink="a[i - 1]", sink_line=5, distance=1),
    "CarriedDependence-varies": lf.CarriedDependence(
        array="b", kind="anti", source="b[k]", source_line=7, sink="b[i]", sink_line=7, distance=None),
    "UnanalyzableAccess": lf.UnanalyzableAccess(
        access="a[idx[i]]", line=9, other="a[i]", other_line=10, why="the index is read from memory"),
    "ScalarDependence": lf.ScalarDependence(var="s", read_line=12),
    "InductionVariable": lf.InductionVariable(var="j", step="j += 2", line=14),
    "ConditionalLastValue": lf.ConditionalLastValue(var="last", line=16),
    "OpaqueCall": lf.OpaqueCall(name="f", line=18, why="its body is not in view"),
    "SideEffectCall": lf.SideEffectCall(name="printf", line=20, effect="writes to a stream"),
    "PossibleAlias": lf.PossibleAlias(written="x", other="y"),
    "PossibleAlias-missing": lf.PossibleAlias(
        written="x", other="y", missing="x and y are parameters of kernel, whose callers are not all in view"),
    "UnprovenSegmentOrder": lf.UnprovenSegmentOrder(
        writes="A->col[k], A->val[k]", span="A->rowptr[i] <= k < A->rowptr[i + 1]", counter="i",
        index_range="A->rowptr[0..nrows]"),
    "EarlyExit": lf.EarlyExit(statement="break", line=22),
    "NonCanonicalLoop": lf.NonCanonicalLoop(why="the counter is changed in the body"),
    "UnsupportedConstruct": lf.UnsupportedConstruct(what="inline assembly", line=24),
    "ParseFailure": lf.ParseFailure(message="x.c:3:1: error: expected ';'"),
    "TooSmall": lf.TooSmall(work=300),
    "TooSmall-per-entry": lf.TooSmall(work=800, entries=None, outer_line=26, fork_join=5000),
    "TooSmall-entries": lf.TooSmall(work=800, entries=40, outer_line=26, fork_join=5000),
    "RegionHoisted": lf.RegionHoisted(directive="#pragma omp parallel private(k)", forks=2, loops="12, 15"),
    "RegionHoisted-singles": lf.RegionHoisted(
        directive="#pragma omp parallel", forks=3, loops="12, 15, 18", single_lines="11, 14"),
    "InsideParallel": lf.InsideParallel(outer_line=28),
    "IndexCollision": lf.IndexCollision(
        array="dst", access="dst[slot[c]]", line=15, other="dst[slot[c]]", other_line=15, counter="c", first=0,
        second=7, element=5, table="slot"),
    "SharedStorageRace": lf.SharedStorageRace(
        name="calls", storage="a static local", meet="calls++ (line 10, in count, called at line 32) writes it in every iteration",
        first_line=10, second_line=10),
    "RegionRace": lf.RegionRace(
        region_line=11, name="scale", first_access="write of scale", first_line=14, second_access="read of scale",
        second_line=18, meet="single has nowait: another thread reads it before the single's thread writes it"),
    "RaceInPragma": lf.RaceInPragma(pragma="#pragma omp parallel for", cause="sum is shared and written"),
    "RaceInPragma-lines": lf.RaceInPragma(pragma="#pragma omp parallel for", cause="sum is shared and written",
                                          lines=(7, 9)),
    "PragmaNotProven": lf.PragmaNotProven(pragma="#pragma omp parallel for", cause="call to f (line 18): its body is not in view"),
    "OutputMayInterleave": lf.OutputMayInterleave(pragma="#pragma omp parallel for", name="fprintf", line=15),
    "DistinctByType": lf.DistinctByType(first="p", first_type="int", second="q", second_type="double"),
    "DistinctAllocations": lf.DistinctAllocations(
        first="b->x", first_source="malloc", first_line=30, second="b->y", second_how="from calloc (line 31)"),
    "DistinctProvenance": lf.DistinctProvenance(
        first="x", first_how="always an allocation from pool_alloc at main.c:23", second="y",
        second_how="always a fresh malloc"),
}

EXPECTED: dict[str, tuple[str, str | None]] = {
    'CarriedDependence': (
        'flow dependence on a: a[i] (line 4) and a[i - 1] (line 5), distance 1',
        '{"code": "CarriedDependence", "message": "flow dependence on a: a[i] (line 4) and a[i - 1] (line 5), distance 1", "proven": true, "array": "a", "kind": "flow", "source": "a[i]", "source_line": 4, "sink": "a[i - 1]", "sink_line": 5, "distance": 1}',
    ),
    'CarriedDependence-varies': (
        'anti dependence on b: b[k] (line 7) and b[i] (line 7), distance varies',
        '{"code": "CarriedDependence", "message": "anti dependence on b: b[k] (line 7) and b[i] (line 7), distance varies", "proven": true, "array": "b", "kind": "anti", "source": "b[k]", "source_line": 7, "sink": "b[i]", "sink_line": 7, "distance": null}',
    ),
    'ConditionalLastValue': (
        'last is written only on some iterations (line 16) and read after the loop: lastprivate would not give the serial value',
        '{"code": "ConditionalLastValue", "message": "last is written only on some iterations (line 16) and read after the loop: lastprivate would not give the serial value", "proven": true, "var": "last", "line": 16}',
    ),
    'DistinctAllocations': (
        'b->x and b->y cannot overlap: b->x is set from malloc (line 30) and b->y from calloc (line 31), and nothing changes them before the loop',
        None,
    ),
    'DistinctByType': (
        "p (int) and q (double) cannot overlap: C's strict-aliasing rule (the build does not pass -fno-strict-aliasing)",
        None,
    ),
    'DistinctProvenance': (
        'x and y cannot overlap: x is always an allocation from pool_alloc at main.c:23, y always a fresh malloc',
        None,
    ),
    'EarlyExit': (
        'break at line 22 leaves the loop early',
        '{"code": "EarlyExit", "message": "break at line 22 leaves the loop early", "proven": true, "statement": "break", "line": 22}',
    ),
    'InductionVariable': (
        'j is updated by j += 2 on every iteration (line 14), an induction variable: rewrite it as a function of the loop counter first',
        '{"code": "InductionVariable", "message": "j is updated by j += 2 on every iteration (line 14), an induction variable: rewrite it as a function of the loop counter first", "proven": true, "var": "j", "step": "j += 2", "line": 14}',
    ),
    'InsideParallel': (
        'nested inside the parallel loop at line 28',
        '{"code": "InsideParallel", "message": "nested inside the parallel loop at line 28", "proven": false, "outer_line": 28}',
    ),
    'NonCanonicalLoop': (
        'not a canonical OpenMP loop: the counter is changed in the body',
        '{"code": "NonCanonicalLoop", "message": "not a canonical OpenMP loop: the counter is changed in the body", "proven": true, "why": "the counter is changed in the body"}',
    ),
    'OpaqueCall': (
        'call to f (line 18): its body is not in view',
        '{"code": "OpaqueCall", "message": "call to f (line 18): its body is not in view", "proven": false, "name": "f", "line": 18, "why": "its body is not in view"}',
    ),
    'ParseFailure': (
        "Clang could not parse this file: x.c:3:1: error: expected ';'",
        '{"code": "ParseFailure", "message": "x.c:3:1: error: expected \';\'", "proven": false}',
    ),
    'PossibleAlias': (
        'x is written and y is accessed through pointers that may alias (declare them restrict if they never overlap)',
        '{"code": "PossibleAlias", "message": "x is written and y is accessed through pointers that may alias (declare them restrict if they never overlap)", "proven": false, "written": "x", "other": "y", "missing": null}',
    ),
    'PossibleAlias-missing': (
        'x is written and y is accessed through pointers that may alias (declare them restrict if they never overlap); x and y are parameters of kernel, whose callers are not all in view',
        '{"code": "PossibleAlias", "message": "x is written and y is accessed through pointers that may alias (declare them restrict if they never overlap); x and y are parameters of kernel, whose callers are not all in view", "proven": false, "written": "x", "other": "y", "missing": "x and y are parameters of kernel, whose callers are not all in view"}',
    ),
    'IndexCollision': (
        'dst[slot[c]] (line 15) and dst[slot[c]] (line 15) both reach dst[5], in iterations c = 0 and c = 7: slot sends both to 5',
        '{"code": "IndexCollision", "message": "dst[slot[c]] (line 15) and dst[slot[c]] (line 15) both reach dst[5], in iterations c = 0 and c = 7: slot sends both to 5", "proven": true, "array": "dst", "access": "dst[slot[c]]", "line": 15, "other": "dst[slot[c]]", "other_line": 15, "counter": "c", "first": 0, "second": 7, "element": 5, "table": "slot"}',
    ),
    'SharedStorageRace': (
        'calls is a static local: calls++ (line 10, in count, called at line 32) writes it in every iteration',
        '{"code": "SharedStorageRace", "message": "calls is a static local: calls++ (line 10, in count, called at line 32) writes it in every iteration", "proven": true, "name": "calls", "storage": "a static local", "meet": "calls++ (line 10, in count, called at line 32) writes it in every iteration", "first_line": 10, "second_line": 10}',
    ),
    'RegionRace': (
        "race on scale: write of scale (line 14) and read of scale (line 18): single has nowait: another thread reads it before the single's thread writes it",
        '{"code": "RegionRace", "message": "race on scale: write of scale (line 14) and read of scale (line 18): single has nowait: another thread reads it before the single\'s thread writes it", "proven": true, "region_line": 11, "name": "scale", "first_access": "write of scale", "first_line": 14, "second_access": "read of scale", "second_line": 18, "meet": "single has nowait: another thread reads it before the single\'s thread writes it"}',
    ),
    'RaceInPragma': (
        "existing '#pragma omp parallel for' races: sum is shared and written",
        '{"code": "RaceInPragma", "message": "existing \'#pragma omp parallel for\' races: sum is shared and written", "proven": true, "pragma": "#pragma omp parallel for", "cause": "sum is shared and written", "lines": []}',
    ),
    'RaceInPragma-lines': (
        "existing '#pragma omp parallel for' races: sum is shared and written",
        '{"code": "RaceInPragma", "message": "existing \'#pragma omp parallel for\' races: sum is shared and written", "proven": true, "pragma": "#pragma omp parallel for", "cause": "sum is shared and written", "lines": [7, 9]}',
    ),
    'PragmaNotProven': (
        "existing '#pragma omp parallel for' is not proven race-free: call to f (line 18): its body is not in view",
        '{"code": "PragmaNotProven", "message": "existing \'#pragma omp parallel for\' is not proven race-free: call to f (line 18): its body is not in view", "proven": false, "pragma": "#pragma omp parallel for", "cause": "call to f (line 18): its body is not in view"}',
    ),
    'OutputMayInterleave': (
        "existing '#pragma omp parallel for': call to fprintf (line 15) writes output from several threads, which may interleave in any order",
        '{"code": "OutputMayInterleave", "message": "existing \'#pragma omp parallel for\': call to fprintf (line 15) writes output from several threads, which may interleave in any order", "proven": false, "pragma": "#pragma omp parallel for", "name": "fprintf", "line": 15}',
    ),
    'RegionHoisted': (
        "the loop stays serial, but '#pragma omp parallel private(k)' is hoisted above it: every thread runs it, the threads start once instead of 2 per iteration, and the loops at lines 12, 15 share them with '#pragma omp for'",
        '{"code": "RegionHoisted", "message": "the loop stays serial, but \'#pragma omp parallel private(k)\' is hoisted above it: every thread runs it, the threads start once instead of 2 per iteration, and the loops at lines 12, 15 share them with \'#pragma omp for\'", "proven": false, "directive": "#pragma omp parallel private(k)", "forks": 2, "loops": "12, 15", "single_lines": ""}',
    ),
    'RegionHoisted-singles': (
        "the loop stays serial, but '#pragma omp parallel' is hoisted above it: every thread runs it, the threads start once instead of 3 per iteration, and the loops at lines 12, 15, 18 share them with '#pragma omp for'; the statements at lines 11, 14 run in '#pragma omp single'",
        '{"code": "RegionHoisted", "message": "the loop stays serial, but \'#pragma omp parallel\' is hoisted above it: every thread runs it, the threads start once instead of 3 per iteration, and the loops at lines 12, 15, 18 share them with \'#pragma omp for\'; the statements at lines 11, 14 run in \'#pragma omp single\'", "proven": false, "directive": "#pragma omp parallel", "forks": 3, "loops": "12, 15, 18", "single_lines": "11, 14"}',
    ),
    'ScalarDependence': (
        "scalar s is read (line 12) before it is written in the same iteration, so each iteration uses the previous one's value",
        '{"code": "ScalarDependence", "message": "scalar s is read (line 12) before it is written in the same iteration, so each iteration uses the previous one\'s value", "proven": true, "var": "s", "read_line": 12, "storage": "scalar"}',
    ),
    'SideEffectCall': (
        'call to printf (line 20) writes to a stream',
        '{"code": "SideEffectCall", "message": "call to printf (line 20) writes to a stream", "proven": true, "name": "printf", "line": 20, "effect": "writes to a stream"}',
    ),
    'TooSmall': (
        'about 300 operations in all: too little work to pay for starting threads',
        '{"code": "TooSmall", "message": "about 300 operations in all: too little work to pay for starting threads", "proven": false, "work": 300, "entries": null, "outer_line": null, "fork_join": null}',
    ),
    'TooSmall-entries': (
        'about 800 operations per entry, entered 40 times: each entry starts and joins the threads (about 5000 operations), more than a second thread saves',
        '{"code": "TooSmall", "message": "about 800 operations per entry, entered 40 times: each entry starts and joins the threads (about 5000 operations), more than a second thread saves", "proven": false, "work": 800, "entries": 40, "outer_line": 26, "fork_join": 5000}',
    ),
    'TooSmall-per-entry': (
        'about 800 operations per entry, entered once per iteration of the loop at line 26: each entry starts and joins the threads (about 5000 operations), more than a second thread saves',
        '{"code": "TooSmall", "message": "about 800 operations per entry, entered once per iteration of the loop at line 26: each entry starts and joins the threads (about 5000 operations), more than a second thread saves", "proven": false, "work": 800, "entries": null, "outer_line": 26, "fork_join": 5000}',
    ),
    'UnanalyzableAccess': (
        'cannot prove a[idx[i]] (line 9) and a[i] (line 10) touch different elements: the index is read from memory',
        '{"code": "UnanalyzableAccess", "message": "cannot prove a[idx[i]] (line 9) and a[i] (line 10) touch different elements: the index is read from memory", "proven": false, "access": "a[idx[i]]", "line": 9, "other": "a[i]", "other_line": 10, "why": "the index is read from memory"}',
    ),
    'UnprovenSegmentOrder': (
        'A->col[k], A->val[k] stay within A->rowptr[i] <= k < A->rowptr[i + 1]: different iterations of i write different elements only if A->rowptr[0..nrows] is non-decreasing, a property of the data',
        '{"code": "UnprovenSegmentOrder", "message": "A->col[k], A->val[k] stay within A->rowptr[i] <= k < A->rowptr[i + 1]: different iterations of i write different elements only if A->rowptr[0..nrows] is non-decreasing, a property of the data", "proven": false, "writes": "A->col[k], A->val[k]", "span": "A->rowptr[i] <= k < A->rowptr[i + 1]", "counter": "i", "index_range": "A->rowptr[0..nrows]"}',
    ),
    'UnsupportedConstruct': (
        'inline assembly (line 24) is not analysed',
        '{"code": "UnsupportedConstruct", "message": "inline assembly (line 24) is not analysed", "proven": false, "what": "inline assembly", "line": 24}',
    ),
}


def _subclasses_of(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses_of(sub))]


def render(sample: lf.Templated) -> tuple[str, str | None]:
    """The text, and for a reason its JSON in key order (str() is the text)."""
    if isinstance(sample, lf.Reason):
        assert str(sample) == sample.text()
        return sample.text(), json.dumps(sample.to_json())
    return sample.text(), None


def test_every_class_has_a_sample():
    classes = {c.__name__ for c in _subclasses_of(lf.Templated)} - {"Reason"}
    sampled = {type(s).__name__ for s in SAMPLES.values()}
    assert classes == sampled


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_rendering_unchanged(name):
    assert render(SAMPLES[name]) == EXPECTED[name]
