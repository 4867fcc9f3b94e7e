"""Adjacent parallel loops share one parallel region.

`#pragma omp parallel for` on each of two loops in a row starts and joins the
threads twice. One `#pragma omp parallel { #pragma omp for ... }` region
starts them once; `nowait` drops the barrier after a loop when the next loop
touches none of what it writes, and writes none of what it reads, through
objects no other name reaches.
"""

from __future__ import annotations

import re

from ompilot.analysis import model

from . import patch
from .model import Edit, Proposal

_GAP = re.compile(rb"(?:\s|;|//[^\n]*\n|/\*.*?\*/)*", re.S)
_TAIL = re.compile(rb"[ \t]*;?[ \t]*(?://[^\n]*|/\*.*?\*/)?[ \t]*(\r?\n|$)", re.S)


def merge(path: str, data: bytes, pairs: list[tuple[model.Verdict, Proposal]]) -> list[Proposal]:
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
        merged.extend([region] if region else [p for _, p in run])
    return merged


_REGION_SCHEDULES = ("static", "guided", "dynamic, 8")
_SCHEDULE = re.compile(r" schedule\([^)]*\)")


def _variants(region: Proposal, separate: list[Proposal]) -> list[tuple[str, list[Edit]]]:
    """For the tuner: the loops with their own `parallel for` each, and the
    region with one schedule on every loop."""
    variants = [("a separate #pragma omp parallel for on each loop", [e for p in separate for e in p.edits])]
    for schedule in _REGION_SCHEDULES:
        edits = [Edit(e.start, e.end, _with_schedule(e.text, schedule)) for e in region.edits]
        variants.append((f"{region.summary}, schedule({schedule}) on each loop", edits))
    return variants


def _with_schedule(text: str, schedule: str) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        if "#pragma omp for" in line:
            body = line.rstrip("\r\n")
            ending = line[len(body):]
            body = _SCHEDULE.sub("", body)
            if body.endswith(" nowait"):
                body = body[: -len(" nowait")] + f" schedule({schedule}) nowait"
            else:
                body += f" schedule({schedule})"
            line = body + ending
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


def _adjacent(data: bytes, first: model.Loop, second: model.Loop) -> bool:
    if first.function != second.function or first.depth != second.depth or first.end_offset > second.start_offset:
        return False
    gap = data[first.end_offset : second.start_offset]
    return _GAP.fullmatch(gap) is not None


def _region(path: str, data: bytes, verdicts: list[model.Verdict]) -> Proposal | None:
    first, last = verdicts[0].loop, verdicts[-1].loop
    start = patch.line_start(data, first.start_offset)
    tail = _TAIL.match(data, last.end_offset)
    if tail is None:
        return None  # code after the last loop on its line: no room for the closing brace
    close_at = tail.end()
    indent = data[start : first.start_offset].decode("utf-8", errors="surrogateescape")
    newline = "\r\n" if data[start:].split(b"\n", 1)[0].endswith(b"\r") else "\n"
    prefix = newline if close_at == len(data) and not data.endswith(b"\n") else ""
    edits = [Edit(start, start, f"{indent}#pragma omp parallel{newline}{indent}{{{newline}")]
    explanation = [f"one parallel region for the {len(verdicts)} loops at lines "
                   f"{', '.join(str(v.loop.line) for v in verdicts)}: threads start once"]
    for verdict, following in zip(verdicts, verdicts[1:] + [None]):
        clauses = verdict.clauses.render()
        nowait = following is not None and _nowait_safe(verdict, following)
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


def _nowait_safe(verdict: model.Verdict, following: model.Verdict) -> bool:
    if verdict.clauses.reductions or verdict.clauses.lastprivate:
        return False  # their values are complete only after the barrier
    if verdict.data is None or following.data is None:
        return False
    if not all(d.distinct for d in verdict.data + following.data):
        return False
    written = {d.name for d in verdict.data if d.written}
    read = {d.name for d in verdict.data if d.read}
    touched_next = {d.name for d in following.data}
    written_next = {d.name for d in following.data if d.written}
    return not (written & touched_next) and not (read & written_next)


def data_regions(path: str, data: bytes, pairs: list[tuple[model.Verdict, Proposal]]) -> list[Proposal]:
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
        tail = _TAIL.match(data, last.end_offset)
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
