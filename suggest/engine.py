"""The built-in suggestion engine: verdicts in, proposals (text edits) out.

Each proposal inserts the directive the analysis proved, above its loop, at
the loop's indentation. Like black, the engine checks its own output: the
patched text must parse, and scanning it again must find nothing new to
propose and no race in what was inserted. A file that fails the check gets
no proposals and an error line instead.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ompilot.analysis import fileerrors, loopfacts, sources
from ompilot.analysis.policies import simd_pragma, simd_reduction_note
from ompilot.analysis.pragmas import Directive
from ompilot.analysis.scan import ScanSettings, scan_source

from . import mirrorpairs, offload, patch, prefixscans, recurrence, regions, rtcheck, wavefront
from .proposals import Edit, Fallback, FileSuggestions, Proposal


def suggest_file(
    path: Path, settings: ScanSettings = ScanSettings(), target: str = "cpu", report: loopfacts.FileReport | None = None
) -> FileSuggestions:
    """Proposals for one file; `report` is its scan when the caller already has
    it (a whole-program scan), else the file is analysed alone."""
    try:
        text = sources.read_source(Path(path))
    except sources.SourceError as exc:
        return FileSuggestions(path=str(path), data=b"", errors=[str(exc)], analysed=False)
    if report is not None and report.program is not None:
        report = scan_source(str(path), text.data, settings, program_facts=report.program)
    else:
        report = None  # read again above: analyse exactly the text that gets patched
    return suggest_source(str(path), text.data, settings, target, report)


def suggest_source(
    path: str,
    data: bytes,
    settings: ScanSettings = ScanSettings(),
    target: str = "cpu",
    report: loopfacts.FileReport | None = None,
) -> FileSuggestions:
    """Proposals for one file's text.

    >>> src = b"void f(double *restrict a, int n) {\\n  for (int i = 0; i < n; i++)\\n    a[i] = 2 * a[i];\\n}\\n"
    >>> result = suggest_source("f.c", src)
    >>> print(result.patched.decode())
    void f(double *restrict a, int n) {
      #pragma omp parallel for
      for (int i = 0; i < n; i++)
        a[i] = 2 * a[i];
    }
    <BLANKLINE>
    """
    report = report or scan_source(path, data, settings)
    result = FileSuggestions(path=path, data=data, report=report, errors=list(report.errors),
                             flags=settings.flags, build_dir=settings.build_dir)
    result.proposals, result.skipped = _proposals(path, data, report, target, settings)
    if any(p.kind == "interchange" for p in result.proposals):
        _follow_rewrites(result, settings, target)
    if result.proposals:
        edits = [e for p in result.proposals for e in p.edits]
        proposed = {e.start for e in edits}
        left_alone = {
            v.loop.start_offset for v in report.verdicts
            if v.pragma and patch.line_start(data, v.loop.start_offset) not in proposed
        }
        problem = _self_check(
            path, result.patched, settings, report.program,
            races_before=sum(bool(v.races) for v in report.verdicts),
            left_alone=lambda offset: _written_here_or_left_alone(_original_offset_of(offset, edits), left_alone),
        )
        if problem:
            result.errors.append(f"{path}: suggestions withheld, the patched file fails ompilot's own check: {problem}")
            result.proposals = []
    return result


def _proposals(path: str, data: bytes, report: loopfacts.FileReport, target: str,
               settings: ScanSettings | None = None) -> tuple[list[Proposal], list[str]]:
    """The file's proposals and the loops skipped; with `settings`, rewrites
    whose regions are planned on the rewritten text (mirrored pairs) too."""
    proposals: list[Proposal] = []
    skipped: list[str] = []
    parallel_for: list[tuple[loopfacts.Verdict, Proposal]] = []
    offloaded: list[tuple[loopfacts.Verdict, Proposal]] = []
    hoisted, alone = _hoisted_regions(path, data, report, target, skipped)
    proposals.extend(hoisted)
    for verdict in report.verdicts:
        if verdict.hoisted_in is not None:
            if id(verdict) not in alone:
                continue  # a `#pragma omp for` of a region proposal above
            verdict = replace(verdict, pragma=verdict.pragma_alone, hoisted_in=None)
        if target == "gpu" and verdict.hoist:
            proposal = _insert_above(path, data, verdict, [offload.data_region(verdict.hoist)], "data-region")
            if not isinstance(proposal, str):
                proposal.explanation = [offload.hoist_reason(verdict)]
                proposals.append(proposal)
        if (verdict.recurrence or verdict.scan or verdict.wavefront) and target == "cpu":
            proposal, what = _serial_rewrite(path, data, verdict)
            if isinstance(proposal, str):
                skipped.append(f"{path}:{verdict.loop.line}: {what} not offered: {proposal}")
            else:
                proposals.append(proposal)
        if verdict.pragma is None:
            continue
        directive, notes = (offload.directive(verdict) if target == "gpu" else (verdict.pragma, []))
        kind = "simd" if _simd_only(directive) else "pragma"
        lines = [directive] + ([verdict.tile] if verdict.tile and target == "cpu" else [])
        proposal = _insert_above(path, data, verdict, lines, kind)
        if isinstance(proposal, str):
            skipped.append(f"{path}:{verdict.loop.line}: {proposal}")
            continue
        proposal.explanation = explain(verdict) + notes
        helpers = _helpers(data, verdict, directive)
        proposal.edits.extend(helpers)  # edits[0] stays the pragma, at the loop
        names = Directive.parse(directive).names
        is_parallel_for = names[:2] == ("parallel", "for")
        if is_parallel_for:
            proposal.variants = _variants(data, verdict, proposal, helpers)
            proposal.fallback = simd_fallback(data, verdict)
        if verdict.runtime_check is not None and is_parallel_for:
            proposals.append(proposal)  # its if() needs a parallel of its own: no shared region
        elif target == "cpu" and is_parallel_for:
            parallel_for.append((verdict, proposal))
        else:
            proposals.append(proposal)
            if target == "gpu" and names[:1] == ("target",) and not _inside_hoist(verdict, report):
                offloaded.append((verdict, proposal))
        for rewrite in verdict.rewrites:
            proposal = _interchange_proposal(path, data, rewrite)
            if isinstance(proposal, str):
                skipped.append(f"{path}:{rewrite.outer.line}: interchange not offered: {proposal}")
            else:
                proposals.append(proposal)
    proposals.extend(regions.merge(path, data, parallel_for))
    if target == "cpu" and settings is not None:
        _mirrored_regions(path, data, report, settings, proposals, skipped)
    # a region's opening line goes above its first loop's own directive
    proposals[:0] = regions.data_regions(path, data, offloaded)
    fix = _race_fix(path, data, report)
    if fix is not None:
        proposals.insert(0, fix)  # the verifier checks it first and keeps it under the others
    return proposals, skipped


def _mirrored_regions(path: str, data: bytes, report: loopfacts.FileReport, settings: ScanSettings,
                      proposals: list[Proposal], skipped: list[str]) -> None:
    """For each pair of loops the analysis can rewrite as one loop over
    mirrored pairs (suggest/mirrorpairs.py): the rewritten text analysed
    again, and the region hoisted above the serial loop around it there made
    one `mirror` proposal. It replaces the region proposal for the same loop,
    which becomes its variant (and lends it its fallback)."""
    for verdict in report.verdicts:
        pairs = verdict.mirror
        if pairs is None:
            continue
        rewrite = mirrorpairs.rewrite_edit(data, pairs)
        if isinstance(rewrite, str):
            skipped.append(f"{path}:{pairs.first_line}: mirrored-pair rewrite not offered: {rewrite}")
            continue
        rewritten = patch.apply_edits(data, [rewrite])
        again = scan_source(path, rewritten, settings, program_facts=report.program)
        outers = [v for v in again.verdicts if v.region is not None and v.loop.function == verdict.loop.function
                  and v.loop.start_offset < rewrite.start and rewrite.start < v.loop.end_offset]
        originals = {v.loop.line: v for v in report.verdicts if v.loop.function == verdict.loop.function}
        if not outers or outers[0].loop.line not in originals:
            continue  # no region pays around the rewritten loops
        outer = outers[0]
        inners = [v for v in again.verdicts if v.hoisted_in == outer.loop.line and v.loop.function == outer.loop.function]
        region = regions.hoisted(path, rewritten, outer, inners)
        if isinstance(region, str):
            continue
        original = originals[outer.loop.line].loop
        proposal = mirrorpairs.region_proposal(path, data, pairs, rewrite, original.start_offset, original.end_offset,
                                               region)
        if isinstance(proposal, str):
            skipped.append(f"{path}:{pairs.first_line}: mirrored-pair rewrite not offered: {proposal}")
            continue
        at = next((n for n, p in enumerate(proposals) if p.kind == "region" and p.line == outer.loop.line), None)
        if at is None:
            proposals.append(proposal)
            continue
        plain = proposals[at]
        proposal.variants = [("the region without the mirrored-pair rewrite", plain.edits), *plain.variants]
        proposal.fallback = plain.fallback
        proposals[at] = proposal


def _serial_rewrite(path: str, data: bytes, verdict: loopfacts.Verdict) -> tuple[Proposal | str, str]:
    """The rewrite that makes a serial loop parallel (jump-ahead of an LCG, a
    two-pass scan, a pipelined nest), or why it cannot be written here; with
    the rewrite's name."""
    if verdict.recurrence is not None:
        return recurrence.proposal(path, data, verdict, _body_open(data, verdict.loop.start_offset)), "jump-ahead rewrite"
    if verdict.scan is not None:
        return prefixscans.proposal(path, data, verdict, _header_span(data, verdict.loop.start_offset)), "two-pass scan"
    inner = _header_span(data, verdict.wavefront.inner_start_offset)
    return wavefront.proposal(path, data, verdict, inner), "pipelined rewrite"


def _hoisted_regions(path: str, data: bytes, report: loopfacts.FileReport, target: str,
                     skipped: list[str]) -> tuple[list[Proposal], set[int]]:
    """Proposals for the parallel regions hoisted above serial loops (CPU only),
    and the ids of inner-loop verdicts that fall back to a `parallel for` of
    their own (GPU target, or a region the text does not allow)."""
    proposals: list[Proposal] = []
    alone: set[int] = set()
    for outer in report.verdicts:
        if outer.region is None:
            continue
        inners = [v for v in report.verdicts if v.hoisted_in == outer.loop.line and v.loop.function == outer.loop.function]
        proposal = regions.hoisted(path, data, outer, inners) if target == "cpu" else "offloading"
        if isinstance(proposal, str):
            if target == "cpu":
                skipped.append(f"{path}:{outer.loop.line}: parallel region not hoisted: {proposal}")
            alone.update(id(v) for v in inners)
        else:
            proposals.append(proposal)
    return proposals, alone


def _race_fix(path: str, data: bytes, report: loopfacts.FileReport) -> Proposal | None:
    """One proposal that corrects every racy existing pragma of the file whose
    fix is known: missing clauses added, or the pragma removed where the loop
    carries a proven dependence. One, because a program with two racy pragmas
    gives wrong output until both are fixed."""
    edits, explanation, lines = [], [], []
    for verdict in report.verdicts:
        if not verdict.races or verdict.race_fix is None or verdict.existing is None:
            continue
        start = patch.line_offset(data, verdict.existing.line)
        end = patch.line_end(data, start)
        text = data[start:end].decode("utf-8", errors="surrogateescape")
        if text.rstrip().endswith("\\") or verdict.existing.text.strip() not in " ".join(text.split()):
            continue  # continued over several lines, or not where the analysis says: leave it
        indent = text[: len(text) - len(text.lstrip())]
        ending = text[len(text.rstrip("\r\n")):]
        edits.append(Edit(start, end, f"{indent}{verdict.race_fix}{ending}" if verdict.race_fix else ""))
        lines.append(verdict.existing.line)
        what = f"'{verdict.race_fix}'" if verdict.race_fix else "removed"
        explanation.append(f"line {verdict.existing.line}: '{verdict.existing.text}' races ({verdict.races[0].text()}): {what}")
    if not edits:
        return None
    summary = f"fix the racy pragma{'s' if len(edits) > 1 else ''} at line{'s' if len(edits) > 1 else ''} " + \
        ", ".join(map(str, lines))
    return Proposal(file=path, line=lines[0], kind="fix", summary=summary, edits=edits, explanation=explanation)


_SCHEDULES = ("static", "guided", "dynamic, 8", "dynamic, 64", "static, 16")
_TILE_SIZES = (32, 128)


def _helpers(data: bytes, verdict: loopfacts.Verdict, directive: str) -> list[Edit]:
    """The definitions of the functions a run-time check calls, once per file."""
    if verdict.runtime_check is None or verdict.runtime_check.clause() not in directive:
        return []
    return rtcheck.helper_edits(data, verdict.loop.start_offset, verdict.runtime_check)


def _variants(data: bytes, verdict: loopfacts.Verdict, proposal: Proposal,
              helpers: list[Edit] = ()) -> list[tuple[str, list[Edit]]]:
    """Versions of a parallel-for proposal that differ in schedule, collapse
    depth or tile sizes; the verifier times them and keeps the fastest one
    that still passes every check."""
    clauses = verdict.clauses
    options: list[tuple[loopfacts.Clauses, str | None]] = []
    for schedule in _SCHEDULES:
        if schedule != clauses.schedule:
            options.append((replace(clauses, schedule=schedule), verdict.tile))
    for depth in range(1, verdict.collapse_max + 1):
        if depth != clauses.collapse:
            options.append((replace(clauses, collapse=depth), None if depth > 1 else verdict.tile))
    if verdict.tile:
        depth = verdict.tile.count(",") + 1
        for size in _TILE_SIZES:
            options.append((clauses, f"#pragma omp tile sizes({', '.join([str(size)] * depth)})"))
        options.append((clauses, None))
    start = patch.line_start(data, verdict.loop.start_offset)
    out = []
    for variant, tile in options:
        check = [verdict.runtime_check.clause()] if verdict.runtime_check else []
        directive = " ".join(["#pragma omp parallel for", *variant.render(), *check])
        lines = [directive] + ([tile] if tile else [])
        out.append((" / ".join(lines), [*helpers, patch.insertion_above(data, start, lines)]))
    if verdict.simd_reductions:  # each thread's share of a floating-point reduction in vector lanes
        check = [verdict.runtime_check.clause()] if verdict.runtime_check else []
        directive = " ".join(["#pragma omp parallel for simd", *clauses.render(), *check])
        lines = [directive] + ([verdict.tile] if verdict.tile else [])
        out.append((" / ".join(lines), [*helpers, patch.insertion_above(data, start, lines)]))
    return out


def simd_fallback(data: bytes, verdict: loopfacts.Verdict) -> Fallback | None:
    """For a loop of floating-point reductions: `#pragma omp simd reduction(...)`
    alone, without threads, for the verifier to try when the threads are not
    faster (None for other loops)."""
    if not verdict.simd_reductions or verdict.runtime_check is not None:
        return None
    directive = simd_pragma(verdict.clauses)
    start = patch.line_start(data, verdict.loop.start_offset)
    try:
        edit = patch.insertion_above(data, start, [directive])
    except patch.PatchError:
        return None
    return Fallback(directive, [edit], [f"line {verdict.loop.line}: {simd_reduction_note(verdict.simd_reductions)}"])


def _simd_only(directive: str) -> bool:
    """`#pragma omp simd ...`: vector lanes, no threads."""
    parsed = Directive.parse_or_none(directive)
    return parsed is not None and parsed.names[:1] == ("simd",)


def _inside_hoist(verdict: loopfacts.Verdict, report: loopfacts.FileReport) -> bool:
    """Inside a loop that already gets a `target data` region."""
    loop = verdict.loop
    return any(
        v.hoist and v.loop.start_offset < loop.start_offset and loop.end_offset <= v.loop.end_offset
        for v in report.verdicts
    )


def _follow_rewrites(result: FileSuggestions, settings: ScanSettings, target: str) -> None:
    """After an interchange the new innermost loop may take simd: analyse the
    rewritten text once more and carry its new directives back to offsets in
    the original file (insertions at line starts never fall inside a swapped
    header)."""
    swaps = [e for p in result.proposals if p.kind == "interchange" for e in p.edits]
    rewritten = patch.apply_edits(result.data, swaps)
    again = scan_source(result.path, rewritten, settings, program_facts=result.report.program)
    more, _ = _proposals(result.path, rewritten, again, target)
    have = {(e.start, e.text) for p in result.proposals for e in p.edits}
    tiled = [(v.loop.start_offset, v.loop.end_offset) for v in result.report.verdicts if v.tile]
    for proposal in more:
        if proposal.kind != "simd":
            continue
        mapped = [_original_offset(e, swaps) for e in proposal.edits]
        if None in mapped or any(a <= e.start <= b for e in mapped for a, b in tiled):
            continue  # a simd inside a tiled band would break the band
        if not any((e.start, e.text) in have for e in mapped):
            proposal.edits = mapped
            result.proposals.append(proposal)


def _written_here_or_left_alone(original: int | None, left_alone: set[int]) -> bool:
    """A loop of the patched file that the engine wrote itself (a rewrite's
    own loops: no original offset) has the parallelism the rewrite chose; a
    loop of the original that got no proposal was left alone on purpose."""
    return original is None or original in left_alone


def _original_offset_of(offset: int, earlier: list[Edit]) -> int | None:
    mapped = _original_offset(Edit(offset, offset, ""), earlier)
    return None if mapped is None else mapped.start


def _original_offset(edit: Edit, earlier: list[Edit]) -> Edit | None:
    """An insertion in the rewritten text, placed in the original text."""
    if edit.start != edit.end:
        return None
    shift = 0
    for e in sorted(earlier):
        new_start = e.start + shift
        new_end = new_start + len(e.text.encode("utf-8", errors="surrogateescape"))
        if edit.start <= new_start:
            break
        if edit.start < new_end:
            return None  # inside a rewritten span
        shift += new_end - new_start - (e.end - e.start)
    return Edit(edit.start - shift, edit.start - shift, edit.text)


def _insert_above(path: str, data: bytes, verdict: loopfacts.Verdict, lines: list[str], kind: str) -> Proposal | str:
    loop = verdict.loop
    start = patch.line_start(data, loop.start_offset)
    before_loop = data[start : loop.start_offset]
    if before_loop.strip():
        return "the loop does not start its own line, so a pragma cannot go above it"
    try:
        edit = patch.insertion_above(data, start, lines)
    except patch.PatchError as exc:
        return str(exc)
    return Proposal(file=path, line=loop.line, kind=kind, summary=" / ".join(lines), edits=[edit])


def _interchange_proposal(path: str, data: bytes, rewrite: loopfacts.Rewrite) -> Proposal | str:
    """Swap the two loop headers' text; bodies, comments and layout stay."""
    spans = [_header_span(data, loop.start_offset) for loop in (rewrite.outer, rewrite.inner)]
    if None in spans:
        return "a loop header could not be found in the text (a macro?)"
    (a_start, a_end), (b_start, b_end) = spans
    outer_text = data[a_start:a_end].decode("utf-8", errors="surrogateescape")
    inner_text = data[b_start:b_end].decode("utf-8", errors="surrogateescape")
    return Proposal(
        file=path,
        line=rewrite.outer.line,
        kind="interchange",
        summary=f"swap the loops at lines {rewrite.outer.line} and {rewrite.inner.line}",
        edits=[Edit(a_start, a_end, inner_text), Edit(b_start, b_end, outer_text)],
        explanation=[rewrite.reason],
    )


def _body_open(data: bytes, start: int) -> int | None:
    """Offset of the `{` opening the body of the `for` at `start`; None when the body is not a block."""
    span = _header_span(data, start)
    if span is None:
        return None
    rest = data[span[1]:]
    at = span[1] + len(rest) - len(rest.lstrip())
    return at if data[at:at + 1] == b"{" else None


def _header_span(data: bytes, start: int) -> tuple[int, int] | None:
    """[start, end) of `for (...)` beginning at `start`, skipping strings and comments."""
    if not data.startswith(b"for", start):
        return None
    i, depth, n = start + 3, 0, len(data)
    while i < n:
        ch = data[i : i + 1]
        if data.startswith(b"//", i):
            i = data.find(b"\n", i)
            if i < 0:
                return None
            continue
        if data.startswith(b"/*", i):
            i = data.find(b"*/", i)
            if i < 0:
                return None
            i += 2
            continue
        if ch in (b'"', b"'"):
            i += 1
            while i < n and data[i : i + 1] != ch:
                i += 2 if data[i : i + 1] == b"\\" else 1
        elif ch == b"(":
            depth += 1
        elif ch == b")":
            depth -= 1
            if depth == 0:
                return start, i + 1
        elif depth == 0 and not ch.isspace():
            return None
        i += 1
    return None


def explain(verdict: loopfacts.Verdict) -> list[str]:
    """Why this loop, why these clauses, what was proved."""
    c = verdict.clauses
    apart = " other than through the reductions below" if c.reductions else ""
    out = [f"no two iterations touch the same memory with a write{apart} (exact dependence test)"]
    if c.private:
        out.append(f"private({', '.join(c.private)}): written before read in every iteration")
    if c.lastprivate:
        out.append(f"lastprivate({', '.join(c.lastprivate)}): read after the loop, written in every iteration")
    out.extend(verdict.notes)
    if verdict.runtime_check is not None:
        out.extend(rtcheck.explanations(verdict.runtime_check))
    if c.collapse > 1:
        out.append(f"collapse({c.collapse}): a perfect rectangular nest, every level parallel")
    if c.schedule:
        out.append(f"schedule({c.schedule}): iterations do unequal amounts of work")
    if c.simd or (verdict.pragma and _simd_only(verdict.pragma)):
        pass  # an inner loop (the threads come from the loop around it), or vector lanes without threads
    elif verdict.work is not None:
        out.append(f"about {verdict.work} operations in all: enough work for threads")
    else:
        out.append("trip count known only at run time: assumed large enough for threads")
    return out


def _self_check(path: str, patched: bytes, settings: ScanSettings, facts, races_before: int, left_alone) -> str | None:
    again = scan_source(path, patched, settings, program_facts=facts)
    rejected = [e for e in again.errors if isinstance(e, fileerrors.CLANG_REJECTS)]
    if rejected:
        return rejected[0]
    races = [v for v in again.verdicts if v.races]
    if len(races) > races_before:
        return f"line {races[0].loop.line}: {races[0].races[0].text()}"
    fresh = [v for v in again.verdicts if v.pragma is not None and not left_alone(v.loop.start_offset)]
    if fresh:
        return f"line {fresh[0].loop.line} would get another pragma"
    return None


__all__ = ["FileSuggestions", "suggest_file", "suggest_source", "explain", "Edit"]
