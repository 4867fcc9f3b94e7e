"""Finding and reading the C/C++ files the user points ompilot at.

Problems with inputs become one-line messages naming the file, so the CLI can
report them next to its results instead of stopping at the first bad file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceKind:
    """What a file name says about a C/C++ file."""

    language: str  # "c" or "cpp" (a `.h` is C unless its text says otherwise: syntax.language_for)
    header: bool  # included by others, never compiled on its own
    walked: bool  # found in directories by scan/suggest; False: only `check` takes it (pre-commit's c/c++ types)


#: Every suffix ompilot knows, the one table. `.C`/`.H` are C++, as with GCC; other
#: suffixes match in any case. Order matters where a list is derived (companion_suffixes).
SOURCE_KINDS: dict[str, SourceKind] = {
    ".c": SourceKind("c", header=False, walked=True),
    ".h": SourceKind("c", header=True, walked=True),
    **{s: SourceKind("cpp", header=False, walked=True) for s in (".cc", ".cpp", ".cxx", ".c++", ".C")},
    **{s: SourceKind("cpp", header=True, walked=True) for s in (".hpp", ".hh", ".hxx", ".h++", ".H", ".ipp", ".tpp", ".txx")},
    ".inl": SourceKind("cpp", header=True, walked=False),
    # Arduino sketches, C++20 module units, Objective-C++
    **{s: SourceKind("cpp", header=False, walked=False) for s in (".ino", ".cppm", ".ixx", ".ccm", ".cxxm", ".c++m", ".mm")},
}  # fmt: skip
#: The suffixes scan and suggest walk, spelled as in the table (for str.endswith).
SOURCE_SUFFIXES = tuple(s for s, k in SOURCE_KINDS.items() if k.walked)
C_EXTENSIONS = {s for s in SOURCE_SUFFIXES if SOURCE_KINDS[s].language == "c"}
CPP_EXTENSIONS = {s for s in SOURCE_SUFFIXES if SOURCE_KINDS[s].language == "cpp"}
SKIPPED_DIRS = {"node_modules"}  # besides hidden directories (.git, .venv, ...)

_SNIFF_BYTES = 8192
_TEXTLIKE = bytes([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B, *range(0x20, 0x7F), *range(0x80, 0x100)])
_HIGH = bytes(range(0x80, 0x100))


class SourceError(Exception):
    """An input that cannot be analysed; str() is a one-line message naming the file."""


@dataclass(frozen=True)
class SourceText:
    path: Path
    data: bytes  # the exact bytes: tree-sitter and libclang offsets index these
    text: str  # decoded with surrogateescape, so text.encode("utf-8", "surrogateescape") == data
    warning: str | None  # e.g. "x.c: not valid UTF-8 at byte 12; analysed anyway"


def source_kind(path: str | Path) -> SourceKind | None:
    """The table's entry for the file's suffix, None for a name that is not C/C++."""
    suffix = Path(path).suffix
    return SOURCE_KINDS.get(suffix) or SOURCE_KINDS.get(suffix.lower())


def is_source_name(path: str | Path) -> bool:
    """True for a C/C++ source or header name that scan and suggest walk."""
    kind = source_kind(path)
    return kind is not None and kind.walked


def is_header_name(path: str | Path) -> bool:
    kind = source_kind(path)
    return kind is not None and kind.header


def compiled_language(path: str | Path) -> str | None:
    """"c" or "cpp" for a source ompilot compiles on its own, None for a header or another name."""
    kind = source_kind(path)
    return kind.language if kind is not None and kind.walked and not kind.header else None


def companion_suffixes(language: str) -> tuple[str, ...]:
    """The sources that may implement a header, in the order they are looked for:
    C sources for C; C++ sources, then C ones, for C++."""
    wanted = ("c",) if language == "c" else ("cpp", "c")
    return tuple(s for lang in wanted for s, k in SOURCE_KINDS.items() if k.language == lang and k.walked and not k.header)


def collect_sources(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Expand the command line's paths into source files, plus one error line per bad path.

    Files named explicitly are kept whatever their extension; directories are
    walked recursively in sorted order, skipping hidden dirs and node_modules.
    A file reached twice is listed once, at its first position.
    """
    files: list[Path] = []
    errors: list[str] = []
    seen: set[Path] = set()
    for path in paths:
        found, error = _expand(Path(path))
        if error:
            errors.append(error)
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, errors


def _expand(path: Path) -> tuple[list[Path], str | None]:
    if path.is_dir():
        found, unreadable = _walk(path)
        if unreadable:
            return found, f"{_dir_label(unreadable)}: cannot read directory"
        if not found:
            return [], f"{_dir_label(path)}: no C or C++ files found"
        return found, None
    if path.is_file():
        return [path], None
    if path.exists() or path.is_symlink():
        reason = "broken symbolic link" if not path.exists() else "not a regular file or directory"
        return [], f"{path}: {reason}"
    return [], f"{path}: no such file or directory"


def _dir_label(path: Path) -> str:
    text = str(path)
    return text if text.endswith(os.sep) else text + os.sep


def _walk(root: Path) -> tuple[list[Path], Path | None]:
    """Source files under `root` in a stable order, and the first unreadable dir if any."""
    found: list[Path] = []
    failed: list[Path] = []

    def on_error(error: OSError) -> None:
        failed.append(Path(error.filename))

    for directory, dirnames, filenames in os.walk(root, onerror=on_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        base = Path(directory)
        for name in sorted(filenames):
            candidate = base / name
            if not name.startswith(".") and is_source_name(candidate) and candidate.is_file():
                found.append(candidate)
    found.sort(key=lambda p: p.parts)
    return found, (failed[0] if failed else None)


def read_source(path: Path) -> SourceText:
    """Read one input; raises SourceError for unreadable or binary files.

    An empty file is fine (it simply has no loops). Invalid UTF-8 is decoded
    anyway, with a warning, because legacy sources in Latin-1 are common.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory") from None
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file or directory") from None
    except OSError as error:
        raise SourceError(f"{path}: cannot read ({error.strerror or error})") from None
    if _looks_binary(data[:_SNIFF_BYTES]):
        raise SourceError(f"{path}: binary file, not C or C++ source")
    try:
        return SourceText(path, data, data.decode("utf-8"), None)
    except UnicodeDecodeError as error:
        warning = f"{path}: not valid UTF-8 at byte {error.start}; analysed anyway"
        return SourceText(path, data, data.decode("utf-8", "surrogateescape"), warning)


def _looks_binary(sample: bytes) -> bool:
    """NUL bytes, >5% control characters that never occur in source text, or a
    sample that is not UTF-8 and mostly high bytes (compressed or object data)."""
    if not sample:
        return False
    if b"\0" in sample:
        return True
    if len(sample.translate(None, _TEXTLIKE)) * 20 > len(sample):
        return True
    high = len(sample) - len(sample.translate(None, _HIGH))
    return high * 10 > len(sample) * 3 and not _utf8_prefix(sample)


def _utf8_prefix(sample: bytes) -> bool:
    """True when `sample` is UTF-8 apart from a sequence cut at its end."""
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(sample) - 3 and error.reason == "unexpected end of data"
    return True
