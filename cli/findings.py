"""Findings: what `check`, `scan` and `suggest` report, in one small shape.

The analysis hands over verdicts (scan, check) and proposals (suggest); this
module turns them into `Finding`s (a place, a level, a rule, a message and
optionally fixes) that every machine format renders the same way: SARIF,
GitHub annotations, check's JSON and its compiler-style text lines.

Positions are computed from the file's bytes: lines count `\\n`, columns
count Unicode code points from 1 (not bytes), so a line with `é` before the
loop still points at the `for`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ompilot.analysis import fileerrors, loopfacts
from ompilot.suggest.proposals import Edit

# Rule ids ompilot adds to the reason codes of the analysis.
OPPORTUNITY = "parallel-opportunity"
SIMD_OPPORTUNITY = "simd-opportunity"
FILE_NOT_ANALYSED = "file-not-analysed"
INPUT_ERROR = "input-error"
REJECTED = "rejected-proposal"
PROPOSAL_RULES = {
    "pragma": OPPORTUNITY,
    "simd": SIMD_OPPORTUNITY,
    "region": "parallel-region",
    "interchange": "loop-interchange",
    "data-region": "target-data-region",
    "rewrite": "loop-rewrite",
}


@dataclass(frozen=True)
class Fix:
    """A proposal's edits offered with a finding; each format places them in
    its own coordinates (SARIF: line and column regions, via SourceIndex.region)."""

    description: str
    file: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None  # None: about the whole file
    column: int | None
    level: str  # error | warning | note
    rule: str
    message: str
    fixes: tuple[Fix, ...] = ()
    data: dict = field(default_factory=dict, compare=False)  # extra fields for JSON


class SourceIndex:
    """The bytes of each reported file, read once, to turn offsets into positions."""

    def __init__(self, texts: dict[str, bytes] | None = None):
        self._data: dict[str, bytes | None] = dict(texts or {})

    def data(self, path: str) -> bytes | None:
        if path not in self._data:
            try:
                self._data[path] = Path(path).read_bytes()
            except OSError:
                self._data[path] = None
        return self._data[path]

    def position(self, path: str, offset: int) -> tuple[int, int]:
        """(line, column) of a byte offset."""
        data = self.data(path) or b""
        offset = max(0, min(offset, len(data)))
        start = data.rfind(b"\n", 0, offset) + 1
        column = len(data[start:offset].decode("utf-8", "replace")) + 1
        return data.count(b"\n", 0, offset) + 1, column

    def first_column(self, path: str, line: int) -> int:
        """Column of the first non-blank character of a line (1 if unknown)."""
        data = self.data(path)
        if data is None:
            return 1
        lines = data.split(b"\n")
        if not 1 <= line <= len(lines):
            return 1
        text = lines[line - 1].decode("utf-8", "replace")
        return len(text) - len(text.lstrip(" \t\f\v")) + 1

    def region(self, path: str, edit: Edit) -> tuple[int, int, int, int, str]:
        """The edit as (start line, start column, end line, end column, text):
        1-based positions of the bytes it replaces, and its text as valid UTF-8."""
        start_line, start_column = self.position(path, edit.start)
        end_line, end_column = self.position(path, edit.end)
        clean = edit.text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return start_line, start_column, end_line, end_column, clean


# ----------------------------------------------------------------- verdicts


def race_finding(v: loopfacts.Verdict, index: SourceIndex) -> Finding:
    """An existing pragma that races, a race the analysis can show: an error on
    the pragma's line; `accesses` holds the lines of each race's two accesses."""
    line = v.existing.line if v.existing else v.loop.line
    column = index.first_column(v.loop.file, line)
    message = "; ".join(r.text() for r in v.races)
    accesses = [list(r.lines) for r in v.races if getattr(r, "lines", ())]
    return Finding(v.loop.file, line, column, "error", v.races[0].code, message,
                   data={"loop_line": v.loop.line, "existing_pragma": v.existing.text if v.existing else None,
                         "accesses": accesses})


def region_race_finding(path: str, race: loopfacts.RegionRace, index: SourceIndex) -> Finding:
    """A race between statements of an OpenMP region: an error on the first
    access's line; `accesses` holds both lines, as for a loop's race."""
    column = index.first_column(path, race.first_line)
    return Finding(path, race.first_line, column, "error", race.code, race.text(),
                   data={"region_line": race.region_line, "accesses": [list(race.lines)]})


def pragma_warning_finding(v: loopfacts.Verdict, index: SourceIndex) -> Finding:
    """An existing pragma the analysis cannot prove race-free, or whose loop
    writes output from several threads: a warning on the pragma's line."""
    line = v.existing.line if v.existing else v.loop.line
    column = index.first_column(v.loop.file, line)
    message = "; ".join(r.text() for r in v.pragma_warnings)
    return Finding(v.loop.file, line, column, "warning", v.pragma_warnings[0].code, message,
                   data={"loop_line": v.loop.line, "existing_pragma": v.existing.text if v.existing else None})


def opportunity_finding(v: loopfacts.Verdict, index: SourceIndex, fixes: tuple[Fix, ...] = ()) -> Finding:
    line, column = index.position(v.loop.file, v.loop.start_offset)
    if v.clauses.simd:
        rule, message = SIMD_OPPORTUNITY, f"loop can be vectorised: {v.pragma}"
    elif v.runtime_check is not None:
        rule, message = OPPORTUNITY, f"loop can run in parallel, {v.runtime_check.text()}: {v.pragma}"
    else:
        rule, message = OPPORTUNITY, f"loop can run in parallel: {v.pragma}"
    return Finding(v.loop.file, line, column, "note", rule, message,
                   fixes=fixes, data={"loop_line": v.loop.line, "pragma": v.pragma})


def refusal_finding(v: loopfacts.Verdict, index: SourceIndex) -> Finding:
    """A loop left serial, with the first reason's code as its rule."""
    line, column = index.position(v.loop.file, v.loop.start_offset)
    why = "; ".join(r.text() for r in v.reasons)
    lead = {
        "serial": "loop cannot run in parallel",
        "unknown": "loop not proven safe to run in parallel",
        "parallel": "loop is parallel but gets no pragma",
        "parallel-if-disjoint": "loop is parallel when its arrays do not overlap, but gets no pragma",
    }[v.status]
    return Finding(v.loop.file, line, column, "note", v.reasons[0].code, f"{lead}: {why}",
                   data={"loop_line": v.loop.line, "status": v.status})


def is_opportunity(v: loopfacts.Verdict) -> bool:
    return v.pragma is not None and v.existing is None and not v.races


_LEADING_PATH = re.compile(r"^(?P<path>.+?): (?P<rest>.*)$", re.S)


def file_finding(line: str, level: str, known: set[str]) -> Finding:
    """A one-line file error ("x.c: not analysed, ...") as a whole-file finding;
    its kind (fileerrors) picks the rule."""
    match = _LEADING_PATH.match(line)
    if match and match["path"].rstrip("/") in known:
        path, message = match["path"].rstrip("/"), match["rest"]
    else:
        path, message = "", line
    rule = FILE_NOT_ANALYSED if isinstance(line, fileerrors.CLANG_REJECTS) else INPUT_ERROR
    return Finding(path, None, None, level, rule, message)


def scan_findings(reports: list[loopfacts.FileReport], index: SourceIndex) -> list[Finding]:
    """Every loop worth a line: races (error), opportunities and refusals (note)."""
    out: list[Finding] = []
    for report in reports:
        for v in report.verdicts:
            if v.races:
                out.append(race_finding(v, index))
            elif is_opportunity(v):
                out.append(opportunity_finding(v, index))
            elif v.reasons:
                out.append(refusal_finding(v, index))
    return out


# ----------------------------------------------------------------- proposals


def proposal_fix(p) -> Fix:
    return Fix(description=p.summary, file=p.file, edits=tuple(p.edits))


def why_rejected(p) -> str:
    """The one line saying why the verifier (or the model check) turned a proposal down."""
    return p.evidence.message if p.evidence is not None else "rejected"


def proposal_finding(p, index: SourceIndex, rejected: bool = False) -> Finding:
    column = index.first_column(p.file, p.line)
    state = "unverified" if p.verified is None else ("verified" if p.verified else "rejected")
    why = "; ".join(p.explanation)
    if rejected:
        return Finding(p.file, p.line, column, "note", REJECTED, f"rejected: {p.summary}: {why_rejected(p)}",
                       data={"kind": p.kind, "origin": p.origin})
    message = f"{p.summary} ({p.origin}, {state})" + (f": {why}" if why else "")
    return Finding(p.file, p.line, column, "note", PROPOSAL_RULES.get(p.kind, OPPORTUNITY), message,
                   fixes=(proposal_fix(p),), data={"kind": p.kind, "origin": p.origin})


def suggest_findings(results, index: SourceIndex) -> list[Finding]:
    out = []
    for result in results:
        out.extend(proposal_finding(p, index) for p in result.proposals)
        out.extend(proposal_finding(p, index, rejected=True) for p in result.rejected)
    return out


def fixes_by_loop(result, index: SourceIndex, opportunities: list[loopfacts.Verdict]) -> dict[int, tuple[Fix, ...]]:
    """The suggest engine's proposals for one file, as fixes of the opportunity
    findings: a proposal goes to the loop on its line, else to the nearest
    opportunity above it (a region starts at its first loop)."""
    lines = sorted(v.loop.line for v in opportunities)
    out: dict[int, list[Fix]] = {}
    for p in result.proposals:
        if not lines:
            break
        above = [l for l in lines if l <= p.line]
        target = above[-1] if above else lines[0]
        out.setdefault(target, []).append(proposal_fix(p))
    return {line: tuple(fixes) for line, fixes in out.items()}
