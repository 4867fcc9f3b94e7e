"""Kinds of file error: what went wrong with a file, as a class, not as words.

A file error is still the one line every format prints (`path: message`),
so it is a `str` (FileReport.errors stays a list of lines, JSON writes it as
it always did); code that needs to know *what* went wrong tests the class
(`isinstance(line, CLANG_REJECTS)`), never the text.
"""

from __future__ import annotations


class FileError(str):
    """One line about one file: str() is `path: message`."""

    path: str
    message: str

    def __new__(cls, path: str, message: str) -> "FileError":
        line = super().__new__(cls, f"{path}: {message}")
        line.path, line.message = path, message
        return line

    def __getnewargs__(self) -> tuple[str, str]:  # pickled across the analysis's process pool
        return self.path, self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, {self.message!r})"


class ClangErrors(FileError):
    """Clang reports errors in the file: its loops are not analysed."""


class PragmaRejected(FileError):
    """Clang rejects an OpenMP pragma of the file (its loops are analysed, but
    it does not compile with -fopenmp as it is)."""


#: the kinds where Clang rejects the file: reported as not analysed, and a
#: patched file of either kind fails ompilot's own check
CLANG_REJECTS = (ClangErrors, PragmaRejected)
