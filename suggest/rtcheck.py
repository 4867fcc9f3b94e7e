"""The C helpers behind run-time checks, added once per file.

A loop that is parallel unless its pointers overlap gets
`#pragma omp parallel for if(ompilot_disjoint(y, ..., x, ...))`; the helper
compares the byte ranges as integer addresses (`uintptr_t`), so unrelated
pointers are never compared with `<`, which C leaves undefined.

A loop whose iterations write the segments an index array delimits (CSR
rows) gets `if(ompilot_nondecreasing_int(A->rowptr, 0, nrows))`: one helper
per index type, reading X[first..last] once by index (no pointer is formed
outside the range, and nothing is read when the loop would not run).

Each helper is its own edit after the file's includes, with `<stddef.h>` and
`<stdint.h>` when they are missing, so proposals that need the same helper
share one insertion (patch.py makes identical edits once).
"""

from __future__ import annotations

import re

from ompilot.analysis.loopfacts import DISJOINT_HELPER, NONDECREASING_HELPER, RuntimeAliasCheck

from .proposals import Edit

HELPER = f"""/* Added by ompilot for its run-time alias checks: nonzero when the byte ranges
   [a, a + a_bytes) and [b, b + b_bytes) do not overlap. The addresses are
   compared as integers, never as unrelated pointers. */
static inline int {DISJOINT_HELPER}(const void *a, size_t a_bytes, const void *b, size_t b_bytes)
{{
    uintptr_t a_start = (uintptr_t)a, b_start = (uintptr_t)b;
    return a_start + a_bytes <= b_start || b_start + b_bytes <= a_start;
}}"""


def nondecreasing_helper(ctype: str) -> str:
    """The definition of the order test for index elements of type `ctype`."""
    name = f"{NONDECREASING_HELPER}_{ctype.replace(' ', '_')}"
    return f"""/* Added by ompilot for its run-time segment checks: nonzero when
   x[first] <= x[first + 1] <= ... <= x[last] (always when last <= first).
   Reads each element once; then the segments x[i]..x[i + 1] are disjoint. */
static inline int {name}(const {ctype} *x, ptrdiff_t first, ptrdiff_t last)
{{
    ptrdiff_t k;
    for (k = first; k < last; k++)
        if (x[k] > x[k + 1])
            return 0;
    return 1;
}}"""


_INCLUDE = re.compile(rb"[ \t]*#[ \t]*include\b")
_OPENS = re.compile(rb"[ \t]*#[ \t]*if(n?def)?\b")
_CLOSES = re.compile(rb"[ \t]*#[ \t]*endif\b")
_HAS_SIZE_T = re.compile(rb"#[ \t]*include[ \t]*<(stddef\.h|cstddef|stdlib\.h|cstdlib|stdio\.h|cstdio|string\.h|cstring)>")
_HAS_PTRDIFF_T = re.compile(rb"#[ \t]*include[ \t]*<(stddef\.h|cstddef)>")
HAS_STDLIB = re.compile(rb"#[ \t]*include[ \t]*<(stdlib\.h|cstdlib)>")
_HAS_UINTPTR_T = re.compile(rb"#[ \t]*include[ \t]*<(stdint\.h|cstdint|inttypes\.h|cinttypes)>")


def helper_edits(data: bytes, before: int, check: RuntimeAliasCheck) -> list[Edit]:
    """The insertions of the helpers `check` calls, after the includes that
    come before offset `before` (the checked loop); none for helpers the
    file already defines."""
    out: list[Edit] = []
    for name in check.helpers():
        if name == DISJOINT_HELPER:
            out += helper_edit(data, before)
        else:
            ctype = next(o.ctype for o in check.orders if o.helper == name)
            out += insertion(data, before, name, nondecreasing_helper(ctype), [("<stddef.h>", _HAS_PTRDIFF_T)])
    return out


def explanations(check: RuntimeAliasCheck) -> list[str]:
    """What the pragma's if() tests and what it costs, one sentence per kind of test."""
    out = []
    for order in check.orders:
        out.append(f"if({order.helper}({order.index}, {order.first}, {order.last})): reads {order.index_range} "
                   f"once when the loop starts, {order.last} - {order.first} comparisons (the loop reads those "
                   "elements too); an index that decreases anywhere runs the loop serially, as written")
    if check.pairs:
        out.append(f"if({DISJOINT_HELPER}(...)): the pointers' byte ranges are compared as integer addresses "
                   "when the loop starts; overlapping arguments run it serially, as written")
    return out


def helper_edit(data: bytes, before: int) -> list[Edit]:
    """The insertions of the overlap helper after the includes that come before offset
    `before` (the first checked loop); none when the file already has it."""
    return insertion(data, before, DISJOINT_HELPER, HELPER, [("<stddef.h>", _HAS_SIZE_T), ("<stdint.h>", _HAS_UINTPTR_T)])


def include_edits(data: bytes, before: int, includes) -> list[Edit]:
    """An `#include HEADER` after the includes that come before offset `before`,
    for each (HEADER, pattern) whose pattern finds no include of it there."""
    at = _after_includes(data, before)
    newline = _newline(data, at)
    lead = newline if at > 0 and not data[:at].endswith(b"\n") else ""  # the last include ends the file
    return [Edit(at, at, f"{lead}#include {header}{newline}")
            for header, present in includes if not present.search(data, 0, before)]


def _newline(data: bytes, at: int) -> str:
    return "\r\n" if b"\r\n" in data[:max(at, 1)] or (at == 0 and b"\r\n" in data) else "\n"


def insertion(data: bytes, before: int, name: str, definition: str, includes) -> list[Edit]:
    """The definition of helper `name` after the includes, each missing header
    its own insertion before it (so two helpers needing one header share it)."""
    if re.search(rb"\bint\s+" + name.encode() + rb"\s*\(", data):
        return []
    at = _after_includes(data, before)
    newline = _newline(data, at)
    lead = newline if at > 0 and not data[:at].endswith(b"\n") else ""  # the last include ends the file
    edits = include_edits(data, before, includes)
    text = newline.join(["", *definition.splitlines(), ""])
    if not data[at:].lstrip(b" \t").startswith((b"\n", b"\r\n")):
        text += newline  # a blank line after the helper, unless the file has one there
    return [*edits, Edit(at, at, (lead if not edits else "") + text)]


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
