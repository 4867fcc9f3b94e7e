"""Findings as GitHub Actions workflow commands (annotations on the diff).

`::error file=PATH,line=N,col=C,title=TITLE::MESSAGE`, one line each, with
the escaping of GitHub's toolkit (@actions/core): in the message `%`, CR and
LF become %25, %0D, %0A; in property values `:` and `,` also become %3A and
%2C. Paths are relative to the current directory (the workspace in a job).

github-action-utils has these two escapes, but it prints the commands itself
and needs Python 3.11, and ompilot supports 3.10: the two functions are here.
"""

from __future__ import annotations

import os
from pathlib import Path

from .findings import Finding

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _relative(path: str) -> str:
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path.cwd().resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return Path(path).as_posix()


def annotation(finding: Finding) -> str:
    props = []
    if finding.file:
        props.append(("file", _relative(finding.file)))
        if finding.line is not None:
            props.append(("line", str(finding.line)))
            if finding.column is not None:
                props.append(("col", str(finding.column)))
    props.append(("title", f"ompilot {finding.rule}"))
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{_COMMAND[finding.level]} {rendered}::{escape_data(finding.message)}"


def annotations(findings: list[Finding]) -> str:
    return "".join(annotation(f) + "\n" for f in findings)
