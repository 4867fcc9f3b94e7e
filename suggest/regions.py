"""Adjacent parallel loops share one parallel region.

`#pragma omp parallel for` on each of two loops in a row starts and joins the
threads twice. One `#pragma omp parallel { #pragma omp for ... }` region
starts them once; `nowait` drops the barrier after a loop when the next loop
touches none of what it writes, and writes none of what it reads, through
objects no other name reaches.
"""

from __future__ import annotations

import re

from ompilot.analysis import loopfacts
from ompilot.analysis.hoisting import nowait_safe
from ompilot.analysis.policies import simd_pragma, simd_reduction_note
from ompilot.analysis.pragmas import Directive, logical_lines

from . import patch
from .proposals import Edit, Fallback, Proposal

_GAP = re.compile(rb"(?:\s|;|//[^\n]*\n|/\*.*?\*/)*", re.S)


def merge(path: str, data: bytes, pairs: list[tuple[loopfacts.Verdict, Proposal]]) -> list[Proposal]:
    """Proposals with each run of adjacent `parallel for` proposals replaced by
    one region proposal; `pairs` are (verdict, proposal) in any order."""
    runs = _runs(data, sorted(pairs, key=lambda vp: vp[0].loop.start_offset))
    merged: list[Proposal] = []
    for run in runs:
        if len(run) < 2:
            merged.extend(p for _, p in run)
            continue
        region = _region(path, data, [v for v, _ in run])
        if region is not None:
            for verdict, proposal in run:
                region.explanation.extend(f"line {verdict.loop.line}: {why}" for why in proposal.explanation)
            region.variants = _variants(region, [p for _, p in run])
            region.fallback = _fallback([p for _, p in run])
        merged.extend([region] if region else [p for _, p in run])
    return merged


_REGION_SCHEDULES = ("static", "guided", "dynamic, 8")


def _variants(region: Proposal, separate: list[Proposal]) -> list[tuple[str, list[Edit]]]:
    """For the tuner: the loops with their own `parallel for` each, and the
    region with one schedule on every loop."""
    variants = [("a separate #pragma omp parallel for on each loop", [e for p in separate for e in p.edits])]
    for schedule in _REGION_SCHEDULES:
        edits = [Edit(e.start, e.end, _with_schedule(e.text, schedule)) for e in region.edits]
        variants.append((f"{region.summary}, schedule({schedule}) on each loop", edits))
    return variants


def _fallback(proposals: list[Proposal]) -> Fallback | None:
    """The loops' own fallbacks together (`simd` on their floating-point reductions), if any."""
    found = [p.fallback for p in proposals if p.fallback]
    if not found:
        return None
    return Fallback(" / ".join(f.label for f in found), [e for f in found for e in f.edits],
                    [why for f in found for why in f.explanation])


def _with_schedule(text: str, schedule: str) -> str:
    """`text` with `schedule(...)` on each `#pragma omp for`, last but for `nowait`."""
    out = []
    for line in logical_lines(text):
        directive = Directive.parse_or_none(line)
        if directive is not None and directive.names[:1] == ("for",):
            directive = directive.without_clause("schedule")
            line = directive.with_clause(f"schedule({schedule})", at=directive.position("nowait")).text
        out.append(line)
    return "".join(out)


def _runs(data: bytes, pairs):
    runs: list[list] = []
    for verdict, proposal in pairs:
        if runs and _adjacent(data, runs[-1][-1][0].loop, verdict.loop):
            runs[-1].append((verdict, proposal))
        else:
            runs.append([(verdict, proposal)])
    return runs


def _adjacent(data: bytes, first: loopfacts.Loop, second: loopfacts.Loop) -> bool:
    if first.function != second.function or first.depth != second.depth or first.end_offset > second.start_offset:
        return False
    gap = data[first.end_offset : second.start_offset]
    return _GAP.fullmatch(gap) is not None


def _region(path: str, data: bytes, verdicts: list[loopfacts.Verdict]) -> Proposal | None:
    first, last = verdicts[0].loop, verdicts[-1].loop
    start = patch.line_start(data, first.start_offset)
    tail = patch.LINE_TAIL.match(data, last.end_offset)
    if tail is None:
        return None  # code after the last loop on its line: no room for the closing brace
    close_at = tail.end()
    indent = data[start : first.start_offset].decode("utf-8", errors="surrogateescape")
    newline = "\r\n" if data[start:].split(b"\n", 1)[0].endswith(b"\r") else "\n"
    prefix = newline if close_at == len(data) and not data.endswith(b"\n") else ""
    edits = [Edit(start, start, f"{indent}#pragma omp parallel{newline}{indent}{{{newline}")]
    explanation = [f"one parallel region for the {len(verdicts)} loops at lines "
                   f"{', '.join(str(v.loop.line) for v in verdicts)}: threads start once"]
    nowait = False
    for verdict, following in zip(verdicts, verdicts[1:] + [None]):
        clauses = verdict.clauses.render()
        # never two in a row: the loop after a nowait one must keep its barrier,
        # or a third loop could start while the first is still running
        nowait = following is not None and not nowait and _nowait_safe(verdict, following)
        if nowait:
            explanation.append(f"nowait after line {verdict.loop.line}: line {following.loop.line} "
                               "touches nothing it writes and writes nothing it reads")
        directive = " ".join(["#pragma omp for", *clauses, *(["nowait"] if nowait else [])])
        loop_start = patch.line_start(data, verdict.loop.start_offset)
        if data[loop_start : verdict.loop.start_offset].strip():
            return None
        edits.append(patch.insertion_above(data, loop_start, [directive, *([verdict.tile] if verdict.tile else [])]))
    edits.append(Edit(close_at, close_at, f"{prefix}{indent}}}{newline}"))
    summary = f"#pragma omp parallel region over lines {first.line}-{last.end_line}"
    return Proposal(file=path, line=first.line, kind="region", summary=summary, edits=edits,
                    explanation=explanation)


def _nowait_safe(verdict: loopfacts.Verdict, following: loopfacts.Verdict) -> bool:
    return nowait_safe(verdict, following)


def data_regions(path: str, data: bytes, pairs: list[tuple[loopfacts.Verdict, Proposal]]) -> list[Proposal]:
    """`target data` regions around runs of adjacent offloaded loops, so the
    arrays they share move once for the run; each loop keeps its own map
    clauses, which then find the data present and copy nothing."""
    from ompilot.analysis.datamap import union

    from .offload import data_region

    out = []
    for run in _runs(data, sorted(pairs, key=lambda vp: vp[0].loop.start_offset)):
        verdicts = [v for v, _ in run]
        if len(run) < 2 or any(v.data is None for v in verdicts):
            continue
        uses = union([v.data for v in verdicts])
        if uses is None:
            continue
        first, last = verdicts[0].loop, verdicts[-1].loop
        start = patch.line_start(data, first.start_offset)
        tail = patch.LINE_TAIL.match(data, last.end_offset)
        if tail is None or data[start : first.start_offset].strip():
            continue
        indent = data[start : first.start_offset].decode("utf-8", errors="surrogateescape")
        newline = "\r\n" if data[start:].split(b"\n", 1)[0].endswith(b"\r") else "\n"
        prefix = newline if tail.end() == len(data) and not data.endswith(b"\n") else ""
        directive = data_region(uses)
        edits = [
            Edit(start, start, f"{indent}{directive}{newline}{indent}{{{newline}"),
            Edit(tail.end(), tail.end(), f"{prefix}{indent}}}{newline}"),
        ]
        lines = ", ".join(str(v.loop.line) for v in verdicts)
        out.append(Proposal(
            file=path, line=first.line, kind="data-region", summary=directive, edits=edits,
            explanation=[f"the loops at lines {lines} share their arrays on the device: they move once, "
                         "not once per loop"],
        ))
    return out


# ----------------------------------------------------------- hoisted regions


def hoisted(path: str, data: bytes, outer: loopfacts.Verdict, inners: list[loopfacts.Verdict]) -> Proposal | str:
    """The edits of a region the analysis hoisted above a serial loop
    (`outer.region`): `#pragma omp parallel` and braces around the loop,
    `#pragma omp for` above its parallel loops, `#pragma omp single` (with
    `nowait` where the plan says) around the statements that write shared
    state, barriers where the plan says.
    A sentence instead when the text does not allow it."""
    from ompilot.analysis import syntax

    region = outer.region
    loop = outer.loop
    by_line = {v.loop.line: v for v in inners}
    start = patch.line_start(data, loop.start_offset)
    if data[start : loop.start_offset].strip():
        return "the serial loop does not start its own line"
    tail = patch.LINE_TAIL.match(data, loop.end_offset)
    if tail is None:
        return "code follows the serial loop on its last line: no room for the region's closing brace"
    statements = _body_statements(syntax.parse(data, syntax.language_for(path, data)), loop.start_offset)
    if statements is None:
        return "the serial loop's body could not be found in the text"
    newline = "\r\n" if data[start:].split(b"\n", 1)[0].endswith(b"\r") else "\n"
    indent = data[start : loop.start_offset].decode("utf-8", errors="surrogateescape")
    prefix = newline if tail.end() == len(data) and not data.endswith(b"\n") else ""
    edits = [Edit(start, start, f"{indent}{region.directive}{newline}{indent}{{{newline}"),
             Edit(tail.end(), tail.end(), f"{prefix}{indent}}}{newline}")]
    try:
        for group in _groups(region.steps):
            first = group[0]
            barrier = ["#pragma omp barrier"] if first.barrier_above else []
            if first.role == "for":
                verdict = by_line.get(first.line)
                if verdict is None:
                    return f"the loop at line {first.line} has no directive"
                at = patch.line_start(data, verdict.loop.start_offset)
                if data[at : verdict.loop.start_offset].strip():
                    return f"the loop at line {first.line} does not start its own line"
                lines = [*barrier, verdict.pragma, *([verdict.tile] if verdict.tile else [])]
                edits.append(patch.insertion_above(data, at, lines))
                continue
            nodes = [statements.get(step.line) for step in group]
            if None in nodes:
                return f"the statement at line {first.line} could not be found in the text"
            begin, end = nodes[0][0], nodes[-1][1]
            at = patch.line_start(data, begin)
            after = patch.LINE_TAIL.match(data, end)
            if data[at:begin].strip() or after is None:
                return f"the statements at lines {first.line}-{group[-1].line} do not stand on lines of their own"
            single = "#pragma omp single nowait" if group[-1].nowait else "#pragma omp single"
            if len(group) == 1:
                edits.append(patch.insertion_above(data, at, [*barrier, single]))
            else:
                edits.append(patch.insertion_above(data, at, [*barrier, single, "{"]))
                own = data[at:begin].decode("utf-8", errors="surrogateescape")
                edits.append(Edit(after.end(), after.end(), f"{own}}}{newline}"))
    except patch.PatchError as exc:
        return str(exc)
    fors = [s.line for s in region.steps if s.role == "for"]
    singles = [s.line for s in region.steps if s.role == "single"]
    explanation = [
        f"one parallel region around the serial loop at line {loop.line}: every thread runs it, and the "
        f"threads start once, not on every iteration; the loops at lines {', '.join(map(str, fors))} are shared "
        "out with '#pragma omp for', whose barriers keep the serial order",
        *region.notes,
    ]
    if singles:
        explanation.append(f"'#pragma omp single' around the statements at lines {', '.join(map(str, singles))}: "
                           "they write shared state, so one thread runs them and a barrier publishes it before "
                           "anyone reads it")
    explanation.extend(n for n in outer.notes if n not in region.notes)
    for v in inners:
        if v.simd_reductions and v.pragma and v.pragma.startswith("#pragma omp for simd"):
            why = next((n for n in v.notes if n.startswith("a floating-point reduction")), "")
            explanation.append(f"'{v.pragma}' at line {v.loop.line}: {why}")
    for step in region.steps:
        if step.nowait and step.role == "for":
            explanation.append(f"nowait after line {step.line}: the next loop touches nothing it writes and "
                               "writes nothing it reads")
    summary = f"#pragma omp parallel region hoisted above the serial loop at line {loop.line}"
    proposal = Proposal(file=path, line=loop.line, kind="region", summary=summary, edits=edits,
                        explanation=explanation)
    alone = [v for v in inners if v.pragma_alone]
    if alone:
        separate = [patch.insertion_above(data, patch.line_start(data, v.loop.start_offset),
                                          [v.pragma_alone, *([v.tile] if v.tile else [])]) for v in alone]
        label = ("a separate #pragma omp parallel for on each loop" if all("parallel" in v.pragma_alone for v in alone)
                 else "no region: " + "; ".join(f"line {v.loop.line}: {v.pragma_alone}" for v in alone))
        proposal.variants = [(label, separate)]
    proposal.fallback = _simd_fallback(data, inners)
    return proposal


def _simd_fallback(data: bytes, inners: list[loopfacts.Verdict]) -> Fallback | None:
    """The region without threads: `#pragma omp simd reduction(...)` on its
    floating-point reductions only (None when it has none)."""
    vector = [(v, simd_pragma(v.clauses)) for v in inners if v.simd_reductions]
    if not vector:
        return None
    edits = [patch.insertion_above(data, patch.line_start(data, v.loop.start_offset), [pragma]) for v, pragma in vector]
    return Fallback("; ".join(f"line {v.loop.line}: {pragma}" for v, pragma in vector), edits,
                    [f"line {v.loop.line}: {simd_reduction_note(v.simd_reductions)}" for v, _ in vector])


def _groups(steps) -> list[list[loopfacts.RegionStep]]:
    """The steps that take directives: each `for` alone, each `single` group together."""
    out: list[list[loopfacts.RegionStep]] = []
    for step in steps:
        if step.role == "for":
            out.append([step])
        elif step.role == "single":
            if out and out[-1][0].role == "single" and out[-1][0].group == step.group:
                out[-1].append(step)
            else:
                out.append([step])
    return out


def _body_statements(tree, loop_start: int) -> dict[int, tuple[int, int]] | None:
    """Start line -> (start, end) bytes of each statement in the body of the
    `for` that begins at `loop_start` (comments left out)."""
    node = tree.root_node.descendant_for_byte_range(loop_start, loop_start + 3)
    while node is not None and not (node.type == "for_statement" and node.start_byte == loop_start):
        node = node.parent
    if node is None:
        return None
    body = node.child_by_field_name("body")
    if body is None:
        return None
    children = body.named_children if body.type == "compound_statement" else [body]
    out: dict[int, tuple[int, int]] = {}
    for child in children:
        if child.type != "comment":
            out.setdefault(child.start_point[0] + 1, (child.start_byte, child.end_byte))
    return out
