"""The C helper behind run-time alias checks, added once per file.

A loop that is parallel unless its pointers overlap gets
`#pragma omp parallel for if(ompilot_disjoint(y, ..., x, ...))`; the helper
compares the byte ranges as integer addresses (`uintptr_t`), so unrelated
pointers are never compared with `<`, which C leaves undefined. It goes after
the file's includes, with `<stddef.h>` and `<stdint.h>` when they are missing.
"""

from __future__ import annotations

import re

from ompilot.analysis.model import DISJOINT_HELPER

from .model import Edit

HELPER = f"""/* Added by ompilot for its run-time alias checks: nonzero when the byte ranges
   [a, a + a_bytes) and [b, b + b_bytes) do not overlap. The addresses are
   compared as integers, never as unrelated pointers. */
static inline int {DISJOINT_HELPER}(const void *a, size_t a_bytes, const void *b, size_t b_bytes)
{{
    uintptr_t a_start = (uintptr_t)a, b_start = (uintptr_t)b;
    return a_start + a_bytes <= b_start || b_start + b_bytes <= a_start;
}}"""

_DEFINED = re.compile(rb"\bint\s+" + DISJOINT_HELPER.encode() + rb"\s*\(")
_INCLUDE = re.compile(rb"[ \t]*#[ \t]*include\b")
_OPENS = re.compile(rb"[ \t]*#[ \t]*if(n?def)?\b")
_CLOSES = re.compile(rb"[ \t]*#[ \t]*endif\b")
_HAS_SIZE_T = re.compile(rb"#[ \t]*include[ \t]*<(stddef\.h|cstddef|stdlib\.h|cstdlib|stdio\.h|cstdio|string\.h|cstring)>")
_HAS_UINTPTR_T = re.compile(rb"#[ \t]*include[ \t]*<(stdint\.h|cstdint|inttypes\.h|cinttypes)>")


def helper_edit(data: bytes, before: int) -> Edit | None:
    """The insertion of the helper after the includes that come before offset
    `before` (the first checked loop); None when the file already has it."""
    if _DEFINED.search(data):
        return None
    at = _after_includes(data, before)
    newline = "\r\n" if b"\r\n" in data[:max(at, 1)] or (at == 0 and b"\r\n" in data) else "\n"
    lines = []
    if not _HAS_SIZE_T.search(data, 0, before):
        lines.append("#include <stddef.h>")
    if not _HAS_UINTPTR_T.search(data, 0, before):
        lines.append("#include <stdint.h>")
    text = newline.join([*lines, "", *HELPER.splitlines(), ""])
    if not data[at:].lstrip(b" \t").startswith((b"\n", b"\r\n")):
        text += newline  # a blank line after the helper, unless the file has one there
    if at > 0 and not data[:at].endswith(b"\n"):
        text = newline + text  # the last include line has no line break (only at the end of a file)
    return Edit(at, at, text)


def _after_includes(data: bytes, before: int) -> int:
    """Offset just past the last top-level #include (or the #endif closing a
    conditional block with includes in it) before `before`; 0 when none."""
    at = offset = 0
    depth = 0
    block_includes = False
    for line in data[:before].splitlines(keepends=True):
        offset += len(line)
        if _OPENS.match(line):
            depth += 1
        elif _CLOSES.match(line) and depth:
            depth -= 1
            if depth == 0 and block_includes:
                at, block_includes = offset, False
        elif _INCLUDE.match(line):
            if depth == 0:
                at = offset
            else:
                block_includes = True
    return at or _after_leading_comments(data)


def _after_leading_comments(data: bytes) -> int:
    """Offset past the comment lines a file starts with (its header comment)."""
    offset = 0
    in_block = False
    for line in data.splitlines(keepends=True):
        text = line.strip()
        if in_block:
            in_block = b"*/" not in text
        elif text.startswith(b"/*"):
            in_block = b"*/" not in text[2:]
            if not in_block and not text.endswith(b"*/"):
                return offset  # code after the comment on the same line
        elif not text.startswith(b"//") and text:
            return offset
        offset += len(line)
    return offset
