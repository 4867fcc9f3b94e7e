"""Rendering scan results: a rich table for people, JSON for programs.

The JSON shape is documented in the README and kept stable: one record per
loop, with file, line, parallel, pragma, clauses and reasons.
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ompilot.analysis import loopfacts
from ompilot.verify.evidence import Evidence

from .findings import why_rejected

from .contract import JSON_VERSION


def verdict_record(v: loopfacts.Verdict) -> dict:
    c = v.clauses
    return {
        "file": v.loop.file,
        "line": v.loop.line,
        "column": v.loop.column,
        "function": v.loop.function,
        "kind": v.loop.kind,
        "status": v.status,
        "parallel": v.parallel is True,
        "pragma": v.pragma,
        "clauses": {
            "private": list(c.private),
            "firstprivate": list(c.firstprivate),
            "lastprivate": list(c.lastprivate),
            "reduction": [f"{r.op}:{r.var}{r.section or ''}" for r in c.reductions],
            "collapse": c.collapse,
            "schedule": c.schedule,
        },
        "collapse_max": v.collapse_max,
        "reasons": [r.text() for r in v.reasons],
        "reason_codes": [r.code for r in v.reasons],
        "existing_pragma": v.existing.text if v.existing else None,
        "races": [r.text() for r in v.races],
        "notes": list(v.notes),
        "runtime_check": v.runtime_check.to_json() if v.runtime_check else None,
        "trip_count": v.trip_count,
        "work": v.work,
    }


def to_json(reports: list[loopfacts.FileReport], errors: list[str]) -> str:
    loops = [verdict_record(v) for r in reports for v in r.verdicts]
    file_errors = errors + [e for r in reports for e in r.errors]
    return json.dumps({"version": JSON_VERSION, "loops": loops, "errors": file_errors}, indent=2)


_OTHER_COLUMNS = 45  # cells kept for verdict, pragma and why beside a long location

_STYLE = {"parallel": "green", "parallel-if-disjoint": "cyan", "serial": "yellow", "unknown": "magenta", "race": "bold red"}


def print_text(reports: list[loopfacts.FileReport], errors: list[str], console: Console) -> None:
    if not console.is_terminal:
        _print_lines(reports, errors, console)
        return
    table = Table(show_lines=False, header_style="bold")
    # The location is what people copy and grep for: never wrap it.
    # Only a location wider than the terminal less room for the other columns
    # is folded: cropped, it would push verdict, pragma and why off the screen.
    widest = max((len(f"{v.loop.file}:{v.loop.line}") for r in reports for v in r.verdicts), default=8)
    room = max(console.width - _OTHER_COLUMNS, 12)
    table.add_column("location", no_wrap=widest <= room, overflow="fold", max_width=room)
    for column in ("verdict", "pragma / clauses", "why"):
        table.add_column(column, overflow="fold")
    rows = 0
    for report in reports:
        for v in report.verdicts:
            rows += 1
            status = v.status
            what = v.pragma or (" ".join(v.clauses.render()) if v.parallel else "")
            if v.existing:
                what = f"existing: {v.existing.text}"
            why = v.races or v.reasons
            why_text = "; ".join(r.text() for r in why) or "; ".join(v.notes)
            rewrite = v.recurrence or v.scan
            if rewrite is not None:
                why_text += f"; {rewrite.text()}"
            if v.wavefront is not None:
                why_text += f"; {v.wavefront.text()}"
            table.add_row(
                escape(f"{v.loop.file}:{v.loop.line}"),
                f"[{_STYLE[status]}]{status}[/]",
                escape(what),
                escape(why_text),
            )
    if rows:
        console.print(table)
    for line in errors + [e for r in reports for e in r.errors]:
        console.print(f"[red]error[/]: {escape(line)}", highlight=False, markup=True, soft_wrap=True)
    counts = _counts(reports)
    console.print(
        _summary(reports, counts),
        highlight=False,
        soft_wrap=True,
    )


def _counts(reports: list[loopfacts.FileReport]) -> dict[str, int]:
    counts = {"loops": 0, "pragma": 0, "checked": 0, "race": 0, "serial": 0, "unknown": 0, "parallel": 0,
              "parallel-if-disjoint": 0}
    for r in reports:
        for v in r.verdicts:
            counts["loops"] += 1
            counts[v.status] += 1
            counts["pragma"] += v.pragma is not None
            counts["checked"] += v.pragma is not None and v.runtime_check is not None
    return counts


def _summary(reports: list[loopfacts.FileReport], counts: dict[str, int]) -> str:
    checked = f" ({counts['checked']} behind a run-time check)" if counts["checked"] else ""
    return (f"{counts['loops']} loops in {len(reports)} files: {counts['pragma']} to parallelize{checked}, "
            f"{counts['race']} races in existing pragmas, {counts['serial']} serial, {counts['unknown']} undecided")


def has_findings(reports: list[loopfacts.FileReport], errors: list[str]) -> bool:
    counts = _counts(reports)
    return bool(counts["pragma"] or counts["race"] or errors or any(r.errors for r in reports))


def _print_lines(reports, errors, console: Console) -> None:
    """One unwrapped line per loop when piped: `file:line: status: pragma; why`."""
    for report in reports:
        for v in report.verdicts:
            what = f"existing: {v.existing.text}" if v.existing else (v.pragma or "")
            why = "; ".join(r.text() for r in (v.races or v.reasons)) or "; ".join(v.notes)
            rewrite = v.recurrence or v.scan
            parts = [p for p in (what, why, rewrite and rewrite.directive) if p]
            if rewrite is not None:
                parts[-1] = f"{rewrite.text()}: {rewrite.directive}"
            if v.wavefront is not None:
                parts.append(v.wavefront.text())
            console.print(f"{v.loop.file}:{v.loop.line}: {v.status}: " + " | ".join(parts), markup=False, highlight=False, soft_wrap=True)
    for line in errors + [e for r in reports for e in r.errors]:
        console.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
    counts = _counts(reports)
    console.print(
        _summary(reports, counts),
        markup=False, highlight=False, soft_wrap=True,
    )


# ----------------------------------------------------------------- suggest


def diffs(results) -> tuple[bytes, list[str]]:
    """All files' changes as one unified diff, and an error line for each file
    it cannot name. Paths are relative to the current directory when every
    file is inside it, else to the git work tree around it (one base for the
    whole diff, so `git apply` takes it in one place). Bytes, so files with
    non-UTF-8 bytes come out unchanged."""
    from ompilot.suggest import patch

    changed = [r for r in results if r.proposals]
    base = _diff_base([Path(r.path).resolve() for r in changed])
    out, errors = [], []
    for result in changed:
        path = Path(result.path).resolve()
        if base is None or not path.is_relative_to(base):
            errors.append(f"{result.path}: outside the current directory and its git work tree; "
                          "run ompilot from a directory that contains it")
            continue
        out.append(patch.unified_diff_bytes(path.relative_to(base).as_posix(), result.data, result.patched))
    return b"".join(out), errors


def _diff_base(paths: list[Path]) -> Path | None:
    """The current directory if it holds every file, else a git work tree that
    does (the current directory's, or the files' own)."""
    here = Path.cwd().resolve()
    candidates = [here, _git_root(here), *(_git_root(p.parent) for p in paths)]
    for base in candidates:
        if base is not None and all(p.is_relative_to(base) for p in paths):
            return base
    return _git_root(here) or here


def _git_root(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def proposal_record(p) -> dict:
    return {
        "file": p.file,
        "line": p.line,
        "kind": p.kind,
        "directive": p.summary,
        "explanation": list(p.explanation),
        "origin": p.origin,
        "verified": p.verified,
        "evidence": p.evidence.to_json() if p.evidence is not None else {},
        "edits": [{"start": e.start, "end": e.end, "text": e.text} for e in p.edits],
    }


def suggestions_json(results, errors: list[str]) -> str:
    return json.dumps(
        {
            "version": JSON_VERSION,
            "proposals": [proposal_record(p) for r in results for p in r.proposals],
            "rejected": [proposal_record(p) for r in results for p in r.rejected],
            "skipped": [s for r in results for s in r.skipped],
            "errors": errors + [e for r in results for e in r.errors],
        },
        indent=2,
    )


def print_suggestions(results, errors: list[str], console: Console, applied: bool = False) -> None:
    count = 0
    for result in results:
        for p in result.proposals:
            count += 1
            state = "unverified" if p.verified is None else ("verified" if p.verified else "rejected")
            console.print(f"{p.file}:{p.line}: {p.summary}  ({p.origin}, {state})", markup=False, highlight=False, soft_wrap=True)
            for line in p.explanation:
                console.print(f"    - {line}", markup=False, highlight=False, soft_wrap=True)
            for line in _evidence_lines(p.evidence):
                console.print(f"    = {line}", markup=False, highlight=False, soft_wrap=True)
        for p in result.rejected:
            console.print(f"{p.file}:{p.line}: rejected: {p.summary}: {why_rejected(p)}", markup=False, highlight=False, soft_wrap=True)
        for line in result.skipped:
            console.print(f"{line} (skipped)", markup=False, highlight=False, soft_wrap=True)
    for line in errors + [e for r in results for e in r.errors]:
        console.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
    files = sum(1 for r in results if r.proposals)
    verb = "applied" if applied else "proposed"
    left = sum(1 for r in results for p in r.rejected if p.evidence is not None and p.evidence.stage == "budget")
    budget = f"; {left} left unverified: the --budget was spent" if left else ""
    console.print(f"{count} changes {verb} in {files} of {len(results)} files{budget}", markup=False, highlight=False,
                  soft_wrap=True)


def _spread(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds):.3f} s ({min(seconds):.3f}-{max(seconds):.3f})"


def diff_report(results) -> str:
    """What was proved for each change in the diff, and what was dropped."""
    lines = []
    for result in results:
        for p in result.proposals:
            if p.verified is None:
                continue  # --no-verify: nothing was proved beyond the analysis
            lines.append(f"ompilot: {p.file}:{p.line}: {p.summary} ({p.origin}, verified)")
            lines += [f"    {line}" for line in _evidence_lines(p.evidence)]
        for p in result.rejected:
            lines.append(f"ompilot: {p.file}:{p.line}: dropped: {p.summary}: {why_rejected(p)}")
    return "".join(f"{line}\n" for line in lines)


def _evidence_lines(evidence: Evidence | None) -> list[str]:
    """The verifier's evidence in a few lines: speedup, races, output."""
    if evidence is None:
        return []
    lines = [evidence.message]
    race = evidence.race_check
    if race is not None and race.runs:
        archer = "Archer loaded" if race.archer_loaded else "Archer NOT loaded"
        known = "; ".join(f"{r.first} and {r.second}" for r in race.in_original)
        lines.append(f"race check: {race.runs} runs under ThreadSanitizer ({archer}), {len(race.races)} races"
                     + (f" (not counted, as the unchanged program has them too: {known})" if known else ""))
    if evidence.checked:
        skipped = evidence.output_not_compared
        lines.append(f"output check: {evidence.output_difference or 'same'}"
                     + (f" (not compared: {skipped})" if skipped else ""))
        serial, parallel = evidence.timing.serial_seconds, evidence.timing.parallel_seconds
        if serial and parallel:
            lines.append(f"timing: serial {_spread(serial)}, parallel {_spread(parallel)} with "
                         f"{evidence.timing.threads} threads, {len(serial)} runs each")
    if evidence.tried:
        lines.append("tried: " + "; ".join(evidence.tried))
    if evidence.where is not None:
        lines.append(evidence.where.describe())
    return [l for l in lines if l]


def verify_json(outcomes) -> str:
    return json.dumps({
        "version": JSON_VERSION,
        "results": [
            {"file": o.file, "error": o.error, "evidence": Evidence.of(o.result).to_json() if o.result else None}
            for o in outcomes
        ],
    }, indent=2)


def print_verify(outcomes, console: Console) -> None:
    if not outcomes:
        console.print("no OpenMP pragmas to check", markup=False, highlight=False)
    for o in outcomes:
        if o.error:
            console.print(f"error: {o.file}: {o.error}", markup=False, highlight=False, soft_wrap=True)
            continue
        verdict = "verified" if o.result.accepted else f"rejected at the {o.result.stage} check"
        console.print(f"{o.file}: {verdict}", markup=False, highlight=False, soft_wrap=True)
        for line in _evidence_lines(Evidence.of(o.result)):
            console.print(f"    = {line}", markup=False, highlight=False, soft_wrap=True)
