"""SARIF and GitHub annotations for `scan` and `suggest` (check has its own, in check.py).

scan: races are errors, loops that can take a pragma and loops left serial
(with the first reason's code as the rule) are notes; files that could not be
read or parsed are notifications (SARIF) or warnings (GitHub).
suggest: each proposal is a note with its insertions as a fix; proposals the
verifier rejected are notes without a fix.
"""

from __future__ import annotations

import sys

from . import annotations, findings as F


def _problems(errors: list[str], file_errors: list[str], known: set[str]) -> list[F.Finding]:
    return ([F.file_finding(e, "error", known) for e in errors]
            + [F.file_finding(e, "warning", known) for e in file_errors])


def _emit(found: list[F.Finding], problems: list[F.Finding], fmt: str, successful: bool,
          index: F.SourceIndex) -> None:
    if fmt == "sarif":
        from . import sarif

        print(sarif.to_sarif(found, problems, successful=successful, index=index))
    else:
        sys.stdout.write(annotations.annotations(problems + found))


def emit_scan(reports, errors: list[str], fmt: str) -> None:
    known = {r.path for r in reports}
    unread = [e for r in reports if not r.analysed for e in r.errors]
    warnings = [e for r in reports if r.analysed for e in r.errors]
    index = F.SourceIndex()
    found = F.scan_findings(reports, index)
    _emit(found, _problems(errors + unread, warnings, known), fmt, any(r.analysed for r in reports), index)


def emit_suggest(results, errors: list[str], fmt: str) -> None:
    known = {r.path for r in results}
    index = F.SourceIndex({r.path: r.data for r in results if r.analysed})
    unread = [e for r in results if not r.analysed for e in r.errors]
    warnings = [e for r in results if r.analysed for e in r.errors] + [s for r in results for s in r.skipped]
    found = F.suggest_findings(results, index)
    _emit(found, _problems(errors + unread, warnings, known), fmt, any(r.analysed for r in results), index)
