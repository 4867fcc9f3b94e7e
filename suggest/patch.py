"""Turn edits on a source file into bytes, a `git apply`-able diff, or a safe in-place write.

Everything works on bytes: a source file may mix line endings or hold bytes that are
not UTF-8, and whatever ompilot did not mean to change must come out byte for byte.
Offsets in an `Edit` always refer to the file as it was read (a `SourceSnapshot`).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ompilot.suggest.proposals import Edit

CONTEXT_LINES = 3
_INDENT = b" \t"
_NO_NEWLINE = b"\\ No newline at end of file\n"


class PatchError(Exception):
    """An edit could not be made; the message names the file and what to do."""


class StaleFileError(PatchError):
    """The file changed after it was analysed, so the edit offsets no longer hold."""


@dataclass(frozen=True)
class SourceSnapshot:
    """The exact bytes a proposal was computed from, so a later write can detect changes."""

    path: Path
    data: bytes
    digest: str


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes:
    """Read bytes, turning OS errors into a PatchError that names the file."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise PatchError(f"{path}: file not found; run ompilot again on the current tree") from None
    except OSError as exc:
        raise PatchError(f"{path}: cannot read ({exc.strerror}); check the path and permissions") from None


def snapshot(path: Path) -> SourceSnapshot:
    """Record the bytes analysis saw, so `apply_to_file` can refuse a file changed since."""
    data = _read(path)
    return SourceSnapshot(path=Path(path), data=data, digest=_digest(data))


# --------------------------------------------------------------------------- lines


def _check_offset(data: bytes, offset: int) -> None:
    if not 0 <= offset <= len(data):
        raise PatchError(f"offset {offset} is outside the file (0..{len(data)}); run ompilot again")


#: what may follow a statement on its last line before a rewrite can close a block
#: after it: an optional `;`, a comment, blanks, then the line's end
LINE_TAIL = re.compile(rb"[ \t]*;?[ \t]*(?://[^\n]*|/\*.*?\*/)?[ \t]*(\r?\n|$)", re.S)


def line_start(data: bytes, offset: int) -> int:
    """Offset of the first byte of the line holding `offset` (a line ends after its b"\\n")."""
    _check_offset(data, offset)
    return data.rfind(b"\n", 0, offset) + 1


def _line_ending_at(data: bytes, start: int) -> bytes | None:
    """The ending (b"\\r\\n" or b"\\n") of the line starting at `start`; None if it has none."""
    newline = data.find(b"\n", start)
    if newline == -1:
        return None
    return b"\r\n" if newline > start and data[newline - 1 : newline] == b"\r" else b"\n"


def _ending_for_insertion(data: bytes, start: int) -> bytes:
    """Use the target line's ending; a last line without one borrows the previous line's."""
    ending = _line_ending_at(data, start)
    if ending is not None:
        return ending
    if start > 0:
        return _line_ending_at(data, line_start(data, start - 1)) or b"\n"
    return b"\n"


def line_number(data: bytes, offset: int) -> int:
    """1-based number of the line holding `offset`."""
    return data.count(b"\n", 0, offset) + 1


def line_offset(data: bytes, number: int) -> int:
    """Offset of the first byte of line `number` (1-based)."""
    offset = 0
    for _ in range(number - 1):
        offset = data.index(b"\n", offset) + 1
    return offset


def line_end(data: bytes, offset: int) -> int:
    """Offset just past the line holding `offset`, its newline included."""
    newline = data.find(b"\n", offset)
    return len(data) if newline == -1 else newline + 1


def _previous_line_continues(data: bytes, start: int) -> bool:
    """True when the line before `start` ends in a backslash, i.e. the target is a continuation."""
    if start == 0:
        return False
    body = data[line_start(data, start - 1) : start].rstrip(b"\r\n")
    return body.endswith(b"\\")


def insertion_above(data: bytes, line_start_offset: int, text_lines: list[str]) -> Edit:
    """An Edit inserting `text_lines` as whole lines above the line at `line_start_offset`.

    Each line gets the target line's exact indentation and line ending, so the
    result looks hand-written and a CRLF (or mixed) file stays consistent.
    """
    start = line_start_offset
    _check_offset(data, start)
    if start != line_start(data, start):
        raise PatchError(f"offset {start} is not the start of a line; pass line_start(data, offset)")
    if _previous_line_continues(data, start):
        raise PatchError(
            f"line {line_number(data, start)} continues the line above it (backslash, e.g. a macro);"
            " add the pragma by hand, e.g. as _Pragma(...)"
        )
    for line in text_lines:
        if "\n" in line or "\r" in line:
            raise PatchError(f"inserted line {line!r} holds a line break; pass one string per line")
    end = start
    while end < len(data) and data[end] in _INDENT:
        end += 1
    indent = data[start:end].decode("ascii")
    ending = _ending_for_insertion(data, start).decode("ascii")
    text = "".join((indent + line if line else "") + ending for line in text_lines)
    return Edit(start, start, text)


# --------------------------------------------------------------------------- edits


def _encode(text: str) -> bytes:
    """UTF-8, letting surrogate-escaped bytes (from a surrogateescape decode) round-trip."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise PatchError(f"edit text {text!r} cannot be encoded as UTF-8; fix the proposal") from None


def _ordered(data: bytes, edits: list[Edit]) -> list[Edit]:
    """Edits by position (insertions at one offset keep their order), checked for range and overlap.
    An insertion that several proposals share (the helper a run-time alias check calls) is made once."""
    edits = list(dict.fromkeys(edits))
    for edit in edits:
        if not 0 <= edit.start <= edit.end <= len(data):
            raise PatchError(
                f"edit [{edit.start}, {edit.end}) is outside the file (0..{len(data)}); run ompilot again"
            )
    ordered = sorted(edits, key=lambda e: (e.start, e.end))  # stable: same-offset order kept
    for before, after in zip(ordered, ordered[1:]):
        if before.end > after.start:
            raise PatchError(
                f"edits [{before.start}, {before.end}) and [{after.start}, {after.end}) overlap;"
                " apply one proposal at a time"
            )
    return ordered


def apply_edits(data: bytes, edits: list[Edit]) -> bytes:
    """Apply non-overlapping edits whose offsets all refer to the original `data`.

    Assembled front to back from the original bytes (equivalent to applying in
    reverse offset order); bytes outside the edits are copied unchanged.
    """
    return place_edits(data, edits)[0]


def place_edits(data: bytes, edits: list[Edit]) -> tuple[bytes, dict[Edit, tuple[int, int]]]:
    """`apply_edits`, and where each edit's text landed: [start, end) in the result."""
    pieces: list[bytes] = []
    placed: dict[Edit, tuple[int, int]] = {}
    copied = size = 0
    for edit in _ordered(data, edits):
        pieces.append(data[copied : edit.start])
        size += edit.start - copied
        text = _encode(edit.text)
        placed[edit] = (size, size + len(text))
        pieces.append(text)
        size += len(text)
        copied = edit.end
    pieces.append(data[copied:])
    return b"".join(pieces), placed


def ordered_edits(data: bytes, edits: list[Edit]) -> list[Edit]:
    """The edits in the order `apply_edits` applies them (checked as it checks them)."""
    return _ordered(data, edits)


# --------------------------------------------------------------------------- diff


def _split_lines(data: bytes) -> list[bytes]:
    """Lines as git sees them: split after b"\\n" only, so b"\\r" stays part of the line."""
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _header_path(path_for_header: str) -> bytes:
    """A relative, forward-slash path, C-quoted the way git quotes names it must escape."""
    path = os.fspath(path_for_header).replace(os.sep, "/")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if path.startswith("/") or not parts or ".." in parts:
        raise PatchError(f"{path_for_header}: diff header needs a path relative to the tree root")
    return "/".join(parts).encode("utf-8", "surrogateescape")


def _quoted(prefix: bytes, path: bytes) -> bytes:
    name = prefix + path
    if not any(byte < 0x20 or byte in b'"\\\x7f' for byte in name):
        return name
    escapes = {ord("\t"): b"\\t", ord("\n"): b"\\n", ord('"'): b'\\"', ord("\\"): b"\\\\"}
    body = b"".join(
        escapes.get(byte) or (b"\\%03o" % byte if byte < 0x20 or byte == 0x7F else bytes([byte]))
        for byte in name
    )
    return b'"' + body + b'"'


def _hunk_range(start: int, stop: int) -> bytes:
    """`start,count` with 1-based start; an empty range names the line before it (as diff does)."""
    count = stop - start
    first = start + 1 if count else start
    return b"%d" % first if count == 1 else b"%d,%d" % (first, count)


def _diff_line(marker: bytes, line: bytes) -> bytes:
    return marker + line if line.endswith(b"\n") else marker + line + b"\n" + _NO_NEWLINE


def _hunks(old: list[bytes], new: list[bytes]):
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT_LINES):
        (_, i1, _, j1, _), (_, _, i2, _, j2) = group[0], group[-1]
        yield b"@@ -" + _hunk_range(i1, i2) + b" +" + _hunk_range(j1, j2) + b" @@\n"
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                yield from (_diff_line(b" ", line) for line in old[a1:a2])
                continue
            yield from (_diff_line(b"-", line) for line in old[a1:a2])
            yield from (_diff_line(b"+", line) for line in new[b1:b2])


def unified_diff_bytes(path_for_header: str, before: bytes, after: bytes) -> bytes:
    """The diff as exact bytes: write these to a .patch file and `git apply` reproduces `after`."""
    if before == after:
        return b""
    path = _header_path(path_for_header)
    head = [b"--- " + _quoted(b"a/", path) + b"\n", b"+++ " + _quoted(b"b/", path) + b"\n"]
    return b"".join(head + list(_hunks(_split_lines(before), _split_lines(after))))


def unified_diff(path_for_header: str, before: bytes, after: bytes) -> str:
    """`unified_diff_bytes` as str; non-UTF-8 bytes are surrogate-escaped, so encode the
    result with ("utf-8", "surrogateescape") to get the exact patch bytes back."""
    return unified_diff_bytes(path_for_header, before, after).decode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- writing


def _is_read_only(path: str, mode: int) -> bool:
    """Read-only for us, judged by the mode bits too: root may write anything, but a file
    with no write bit was marked read-only on purpose and ompilot must leave it alone."""
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return True
    effective = os.access in os.supports_effective_ids
    return not os.access(path, os.W_OK, effective_ids=effective)


def _target(path: Path) -> tuple[str, os.stat_result]:
    """The real file behind `path` (a symlink stays a symlink) and its stat, checked for writing."""
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except FileNotFoundError:
        raise PatchError(f"{path}: file not found; run ompilot again on the current tree") from None
    except OSError as exc:
        raise PatchError(f"{path}: cannot stat ({exc.strerror}); check the path and permissions") from None
    if not stat.S_ISREG(info.st_mode):
        raise PatchError(f"{path}: not a regular file; only regular source files can be patched")
    if _is_read_only(real, info.st_mode):
        raise PatchError(
            f"{path}: file is read-only; make it writable (chmod u+w) or apply the diff yourself"
        )
    return real, info


def _fill_temp(fd: int, data: bytes, info: os.stat_result) -> None:
    """Write, give the temp file the original owner and mode bits, and fsync it."""
    with os.fdopen(fd, "wb", closefd=False) as handle:
        handle.write(data)
        handle.flush()
    try:
        os.fchown(fd, info.st_uid, info.st_gid)  # only succeeds as root or for own groups
    except OSError:
        pass
    os.fchmod(fd, stat.S_IMODE(info.st_mode))
    os.fsync(fd)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; best effort, some file systems refuse fsync on a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace an existing file's content so readers see the old or the new bytes, never half.

    Temp file in the same directory (so os.replace is a rename), fsync'd, with the
    original mode bits (and owner when permitted); a read-only file is refused.
    """
    real, info = _target(path)
    directory, name = os.path.split(real)
    try:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".ompilot-tmp")
    except OSError as exc:
        raise PatchError(
            f"{path}: cannot create a temporary file next to it ({exc.strerror}); check the directory permissions"
        ) from None
    try:
        try:
            _fill_temp(fd, data, info)
        finally:
            os.close(fd)
        os.replace(temp, real)
    except BaseException as exc:
        _remove_quietly(temp)
        if isinstance(exc, OSError):
            message = f"{path}: write failed ({exc.strerror or exc}); the file was left unchanged"
            raise PatchError(message) from None
        raise
    _fsync_directory(directory)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def apply_to_file(snapshot: SourceSnapshot, edits: list[Edit]) -> bytes:
    """Apply edits computed from `snapshot` to the file on disk, unless it changed since.

    Returns the new bytes. Nothing is written when there are no edits or on any error.
    """
    path = snapshot.path
    if not os.path.lexists(path):
        raise StaleFileError(f"{path}: changed since it was analysed (it is gone); run ompilot again")
    current = _read(path)
    if _digest(current) != snapshot.digest:
        raise StaleFileError(f"{path}: changed since it was analysed; run ompilot again")
    try:
        new = apply_edits(current, edits)
    except PatchError as exc:
        raise PatchError(f"{path}: {exc}") from None
    if new != current:
        write_atomically(path, new)
    return new
