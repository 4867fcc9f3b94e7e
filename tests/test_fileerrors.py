"""File errors carry their kind as a class: the rule of a whole-file finding
comes from the class, never from the words of the line."""

from __future__ import annotations

import pickle

from ompilot.analysis import fileerrors
from ompilot.analysis.scan import ScanSettings, scan_source
from ompilot.cli import findings as F

BROKEN = b"void f(int *a, int n) {\n  for (int i = 0; i < n; i++) a[i] = undeclared;\n}\n"
BAD_PRAGMA = b"void f(int *a, int n) {\n#pragma omp parallel for reduction(?: a)\n  for (int i = 0; i < n; i++) a[i] = 0;\n}\n"


def test_scan_types_its_file_errors():
    [error] = scan_source("broken.c", BROKEN, ScanSettings()).errors
    assert isinstance(error, fileerrors.ClangErrors) and error.path == "broken.c"
    assert error == f"broken.c: {error.message}" and error.message.startswith("not analysed, Clang reports 1 error")
    rejected = [e for e in scan_source("bad.c", BAD_PRAGMA, ScanSettings()).errors
                if isinstance(e, fileerrors.PragmaRejected)]
    assert rejected and rejected[0].message.startswith("Clang rejects an OpenMP pragma: ")


def test_the_kind_survives_pickling():
    """The analysis hands reports back from a process pool."""
    error = fileerrors.PragmaRejected("x.c", "Clang rejects an OpenMP pragma: bad clause")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is fileerrors.PragmaRejected and (again.path, again.message) == (error.path, error.message)
    assert str(again) == "x.c: Clang rejects an OpenMP pragma: bad clause"


def test_finding_rule_comes_from_the_kind_not_the_words():
    typed = fileerrors.ClangErrors("x.c", "not analysed, Clang reports 1 error(s); first: oops")
    assert F.file_finding(typed, "warning", {"x.c"}).rule == F.FILE_NOT_ANALYSED
    assert F.file_finding(str(typed), "warning", {"x.c"}).rule == F.INPUT_ERROR  # the same words, no kind
    finding = F.file_finding(typed, "warning", {"x.c"})
    assert (finding.file, finding.message) == ("x.c", typed.message)
