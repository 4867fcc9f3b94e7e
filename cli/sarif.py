"""Findings as a SARIF 2.1.0 log, for code scanning (GitHub, GitLab, IDEs).

One run; tool.driver "ompilot" with its version and a rule for every reason
code the analysis has and every finding kind ompilot adds; results with the
rule, level, message, the place (uri relative to the current directory,
line and column counted in Unicode code points) and, for proposals, `fixes`
whose replacements carry the text to insert (an empty deleted region at the
insertion point). File problems are tool execution notifications.

The object model is sarif-pydantic's; it serialises with camelCase names.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import quote

from sarif_pydantic.sarif import (
    ArtifactChange,
    ArtifactContent,
    ArtifactLocation,
    Fix,
    Invocation,
    Level,
    Location,
    Message,
    Notification,
    PhysicalLocation,
    Region,
    Replacement,
    ReportingConfiguration,
    ReportingDescriptor,
    Result,
    Run,
    Sarif,
    Tool,
    ToolDriver,
)

from ompilot.analysis import loopfacts

from . import findings as F

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/OWNER/ompilot"
SRCROOT = "%SRCROOT%"

#: Rules besides the analysis's reason codes: (short description, default level).
_OMPILOT_RULES = {
    F.OPPORTUNITY: ("A loop proven parallel that has no OpenMP pragma yet", "note"),
    F.SIMD_OPPORTUNITY: ("An innermost loop proven independent: #pragma omp simd", "note"),
    "parallel-region": ("Adjacent parallel loops can share one parallel region", "note"),
    "loop-interchange": ("Swapping two loops makes the inner one walk memory contiguously", "note"),
    "target-data-region": ("A target data region moves the arrays to the device once", "note"),
    "loop-rewrite": ("A rewritten loop that can run in parallel", "note"),
    F.REJECTED: ("A proposal the verifier turned down", "note"),
    F.FILE_NOT_ANALYSED: ("A file Clang could not parse, so its loops were not analysed", "warning"),
    F.INPUT_ERROR: ("An input that could not be read", "error"),
}

_REASON_TEXT = {
    "CarriedDependence": "Two iterations touch the same array element, one of them writing",
    "UnanalyzableAccess": "Accesses ompilot cannot prove touch different elements",
    "ScalarDependence": "A scalar carries its value from one iteration to the next",
    "InductionVariable": "A variable stepped on every iteration (an induction variable)",
    "ConditionalLastValue": "A value written on some iterations only and read after the loop",
    "OpaqueCall": "A call whose effects ompilot cannot see",
    "SideEffectCall": "A call with side effects (I/O, global state)",
    "PossibleAlias": "Pointers that may point into the same memory",
    "EarlyExit": "A break, return or goto that leaves the loop early",
    "NonCanonicalLoop": "A loop OpenMP cannot divide among threads",
    "UnsupportedConstruct": "Code ompilot does not analyse",
    "ParseFailure": "Clang could not parse the file",
    "TooSmall": "Too little work to pay for starting threads",
    "InsideParallel": "Nested inside a loop that is already parallel",
    "RaceInPragma": "An existing OpenMP pragma whose loop is not safe with its clauses",
}


#: Doubts about an existing pragma: `check` reports them as warnings.
_WARNING_RULES = {"PragmaNotProven": "warning", "OutputMayInterleave": "warning"}


def rule_table() -> dict[str, tuple[str, str]]:
    """Every rule id with its short description and default level."""
    table = {}
    for cls in loopfacts.Reason.__subclasses__():
        code = cls.__name__
        text = _REASON_TEXT.get(code) or (cls.__doc__ or code).strip().splitlines()[0]
        table[code] = (text, "error" if code == "RaceInPragma" else _WARNING_RULES.get(code, "note"))
    table.update(_OMPILOT_RULES)
    return table


def tool_version() -> str:
    try:
        return version("ompilot")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def artifact_uri(path: str, base: Path | None = None) -> str:
    """The file's path relative to `base` (the current directory), as a URI reference."""
    base = base or Path.cwd()
    relative = os.path.relpath(Path(path).resolve(), base.resolve())
    return quote(Path(relative).as_posix(), safe="/!$&'()*+,;=:@-._~")


def _location(finding: F.Finding, base: Path) -> Location:
    region = None
    if finding.line is not None:
        region = Region(start_line=finding.line, start_column=finding.column or 1)
    return Location(physical_location=PhysicalLocation(
        artifact_location=ArtifactLocation(uri=artifact_uri(finding.file, base), uri_base_id=SRCROOT),
        region=region,
    ))


def _fix(fix: F.Fix, base: Path, index: F.SourceIndex) -> Fix:
    return Fix(
        description=Message(text=fix.description),
        artifact_changes=[ArtifactChange(
            artifact_location=ArtifactLocation(uri=artifact_uri(fix.file, base), uri_base_id=SRCROOT),
            replacements=[
                Replacement(
                    deleted_region=Region(start_line=start_line, start_column=start_column,
                                          end_line=end_line, end_column=end_column),
                    inserted_content=ArtifactContent(text=text) if text else None,
                )
                for start_line, start_column, end_line, end_column, text in
                (index.region(fix.file, edit) for edit in fix.edits)
            ],
        )],
    )


def to_sarif(findings: list[F.Finding], problems: list[F.Finding], successful: bool = True,
             base: Path | None = None, index: F.SourceIndex | None = None) -> str:
    """The SARIF log as JSON text. `problems` (files not read or not parsed)
    become tool execution notifications; `successful` is False when no file
    at all could be analysed. `index` holds the bytes the fixes' offsets
    count in (read from disk when not given)."""
    base = base or Path.cwd()
    index = index or F.SourceIndex()
    table = rule_table()
    ids = list(table)
    rules = [
        ReportingDescriptor(
            id=rule_id,
            short_description=Message(text=text),
            default_configuration=ReportingConfiguration(level=Level(level)),
        )
        for rule_id, (text, level) in table.items()
    ]
    results = []
    for f in findings:
        results.append(Result(
            rule_id=f.rule,
            rule_index=ids.index(f.rule) if f.rule in ids else None,
            level=Level(f.level),
            message=Message(text=f.message),
            locations=[_location(f, base)] if f.file else None,
            fixes=[_fix(x, base, index) for x in f.fixes] or None,
        ))
    notifications = [
        Notification(
            level=Level(p.level),
            message=Message(text=f"{p.file}: {p.message}" if p.file else p.message),
            locations=[_location(p, base)] if p.file else None,
        )
        for p in problems
    ]
    log = Sarif(
        version="2.1.0",
        schema_uri=SCHEMA_URI,
        runs=[Run(
            tool=Tool(driver=ToolDriver(name="ompilot", version=tool_version(),
                                        information_uri=INFORMATION_URI, rules=rules)),
            invocations=[Invocation(execution_successful=successful,
                                    toolExecutionNotifications=notifications or None)],
            original_uri_base_ids={SRCROOT: ArtifactLocation(uri=base.resolve().as_uri() + "/")},
            results=results,
            columnKind="unicodeCodePoints",
        )],
    )
    return log.model_dump_json(by_alias=True, exclude_none=True, indent=2)
