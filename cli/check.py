"""`ompilot check FILES...`: the fast, static gate (pre-commit, CI).

No model, no builds, no runs: the analysis of `ompilot scan`, reported the
way compilers and ruff report, one line per finding:

    path:line:col: error: existing '#pragma omp parallel for' races: ... [RaceInPragma]
    path:line:col: note: loop can run in parallel: #pragma omp parallel for [parallel-opportunity]

A race in an existing pragma that the analysis can show (the two accesses and
why they meet: a dependence between iterations with its distance, a shared
variable every iteration writes) is an error (exit 1). An existing pragma it
cannot prove race-free (possible aliasing, calls it cannot see into,
subscripts it cannot analyse) and output written from several threads are
warnings; they fail the run only with --strict, as do new opportunities
(notes) and warnings about files Clang could not parse. Inputs that are not
C/C++ or cannot be read are errors; when no file at all could be read the
exit status is 2.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ompilot.analysis import loopfacts, sources
from ompilot.analysis.scan import scan_files
from ompilot.suggest.tree import suggest_files

from . import annotations, dynamic, findings as F, progress, render
from .contract import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, JSON_VERSION

_LEVEL_STYLE = {"error": "bold red", "warning": "bold magenta", "note": "bold cyan"}


@dataclass
class CheckOutcome:
    findings: list[F.Finding] = field(default_factory=list)  # races and opportunities, in file order
    problems: list[F.Finding] = field(default_factory=list)  # whole-file errors and warnings
    checked: int = 0  # files read and analysed
    results: list = field(default_factory=list)  # suggest results, when fixes were asked for
    dynamic: list = field(default_factory=list)  # verify.dynamic.ProgramRun of each program run (--dynamic)

    def count(self, level: str) -> int:
        return sum(f.level == level for f in self.findings + self.problems)

    def exit_code(self, strict: bool) -> int:
        if not self.checked:
            return EXIT_ERROR
        if self.count("error"):
            return EXIT_FINDINGS
        return EXIT_FINDINGS if strict and (self.count("note") or self.count("warning")) else EXIT_CLEAN


def is_checkable(path: Path) -> bool:
    """Every name in the suffix table: also those pre-commit's `types_or: [c, c++]` passes that scan does not walk."""
    return sources.source_kind(path) is not None


def run_check(paths: list[Path], settings, with_fixes: bool = False, console: Console | None = None) -> CheckOutcome:
    """Analyse the files; with_fixes also computes the insertions (suggest's
    engine, unverified) for SARIF fixes and diffs."""
    files, errors = sources.collect_sources(paths)
    wanted = []
    for path in files:
        if is_checkable(path):
            wanted.append(path)
        else:
            errors.append(f"{path}: not a C or C++ file (by its name), not checked")
    outcome = CheckOutcome()
    if with_fixes:
        run = functools.partial(progress.analyse, console=console, label="checking")
        outcome.results, program_errors = suggest_files(wanted, settings, "cpu", run)
        reports = [r.report or loopfacts.FileReport(path=r.path, errors=r.errors, analysed=False) for r in outcome.results]
    else:
        run = functools.partial(progress.analyse, console=console, label="checking")
        reports, program_errors = scan_files(wanted, settings, run)
    errors += program_errors
    known = {str(p).rstrip("/") for p in [*paths, *files]}
    index = F.SourceIndex({r.path: r.data for r in outcome.results if r.analysed})
    by_path = {r.path: r for r in outcome.results}
    outcome.problems = [F.file_finding(line, "error", known) for line in errors]
    for report in reports:
        if not report.analysed:
            outcome.problems.extend(F.file_finding(line, "error", known) for line in report.errors)
            continue
        outcome.checked += 1
        outcome.problems.extend(F.file_finding(line, "warning", known) for line in report.errors)
        opportunities = [v for v in report.verdicts if F.is_opportunity(v)]
        result = by_path.get(report.path)
        fixes = F.fixes_by_loop(result, index, opportunities) if result is not None else {}
        if result is not None:
            extra = [e for e in result.errors if e not in report.errors]
            outcome.problems.extend(F.file_finding(line, "warning", known) for line in extra)
        outcome.findings.extend(F.region_race_finding(report.path, race, index) for race in report.region_races)
        for v in report.verdicts:
            if v.races:
                outcome.findings.append(F.race_finding(v, index))
            elif v.existing is not None and v.pragma_warnings:
                outcome.findings.append(F.pragma_warning_finding(v, index))
            elif F.is_opportunity(v):
                outcome.findings.append(F.opportunity_finding(v, index, fixes.get(v.loop.line, ())))
    return outcome


# ----------------------------------------------------------------- output


def text_line(f: F.Finding) -> tuple[str, str]:
    """(plain, rich markup) forms of one finding's line."""
    where = f.file if f.line is None else f"{f.file}:{f.line}:{f.column}"
    where = where or "ompilot"
    plain = f"{where}: {f.level}: {f.message} [{f.rule}]"
    markup = (f"[bold]{escape(where)}[/]: [{_LEVEL_STYLE[f.level]}]{f.level}[/]: "
              f"{escape(f.message)} [dim]\\[{escape(f.rule)}][/]")
    return plain, markup


def summary(outcome: CheckOutcome) -> str:
    errors, warnings, notes = outcome.count("error"), outcome.count("warning"), outcome.count("note")
    files = f"{outcome.checked} file{'s' * (outcome.checked != 1)} checked" + dynamic.summary(outcome.dynamic)
    if not (errors or warnings or notes):
        return f"{files}: no races in existing pragmas, no new parallel loops"
    parts = [f"{n} {word}{'s' * (n != 1)}" for n, word in ((errors, "error"), (warnings, "warning"), (notes, "note")) if n]
    return f"{files}: " + ", ".join(parts)


def print_text(outcome: CheckOutcome, console: Console, levels: tuple[str, ...] = ("error", "warning", "note")) -> None:
    for f in outcome.problems + outcome.findings:
        if f.level not in levels:
            continue
        plain, markup = text_line(f)
        if console.is_terminal:
            console.print(markup, highlight=False, soft_wrap=True)
        else:
            console.print(plain, markup=False, highlight=False, soft_wrap=True)
    console.print(summary(outcome), markup=False, highlight=False, soft_wrap=True)


def finding_record(f: F.Finding) -> dict:
    return {"file": f.file, "line": f.line, "column": f.column, "level": f.level, "rule": f.rule,
            "message": f.message, **f.data}


def to_json(outcome: CheckOutcome) -> str:
    return json.dumps({
        "version": JSON_VERSION,
        "findings": [finding_record(f) for f in outcome.findings],
        "errors": [finding_record(f) for f in outcome.problems],
        "summary": {"files": outcome.checked, "errors": outcome.count("error"),
                    "warnings": outcome.count("warning"), "notes": outcome.count("note")},
        **({"dynamic": [run.to_json() for run in outcome.dynamic]} if outcome.dynamic else {}),
    }, indent=2)


def emit(outcome: CheckOutcome, fmt: str) -> None:
    """Print the outcome in `fmt` (text, json, sarif, github, diff) on stdout."""
    if fmt == "json":
        print(to_json(outcome))
    elif fmt == "sarif":
        from . import sarif

        index = F.SourceIndex({r.path: r.data for r in outcome.results if r.analysed})
        print(sarif.to_sarif(outcome.findings, outcome.problems, successful=outcome.checked > 0, index=index))
    elif fmt == "github":
        sys.stdout.write(annotations.annotations(outcome.problems + outcome.findings))
    elif fmt == "diff":
        text, path_errors = render.diffs([r for r in outcome.results if r.analysed])
        sys.stdout.flush()
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
        outcome.problems.extend(F.Finding("", None, None, "warning", F.INPUT_ERROR, e) for e in path_errors)
        # the diff is the notes; what it cannot show goes to stderr
        print_text(outcome, Console(stderr=True, highlight=False), levels=("error", "warning"))
    else:
        print_text(outcome, Console(highlight=False))
