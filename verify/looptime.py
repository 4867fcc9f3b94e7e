"""Timing the loops a change touches, not only the whole program.

A loop that takes 5% of a run can be 2x faster with threads and still vanish
in the whole program's noise. So the timing check builds the serial and the
parallel program with a clock around each changed statement: the loop under
each inserted `#pragma omp parallel ...` / `target ...` directive, or the
block a `#pragma omp parallel` region covers (its braces are inserted too),
or the loop a model rewrote. Each becomes

    { double ompilot_t0_ = ompilot_now_();
    #pragma omp parallel for ...
    for (...) ...
    ompilot_seconds_[K] += ompilot_now_() - ompilot_t0_; }

A block is a statement, so this holds under an unbraced `if`/`else`, after a
label, and before C89 declarations (the declaration opens the new block). A
`return`, `goto` or `break` out of the loop skips the accumulation: such runs
count less time, in the serial and the parallel build alike.

Support code, per file: two declarations at the top (a static accumulator
array and the clock) and the definitions at the end, where they cannot
disturb the file's feature macros (`_POSIX_C_SOURCE` must come before the
first include). The clock is `clock_gettime(CLOCK_MONOTONIC)` declared under
a name of its own with an assembler label, because strict ISO modes
(`-std=c99`) hide it in <time.h>; no OpenMP is needed, so the serial build
works. A destructor appends `file:line seconds` lines to the file named by
OMPILOT_LOOP_TIMES; without that variable it writes nothing, so the
program's own output is untouched. In the parallel build a constructor
starts OpenMP's threads before main(): the runtime's start-up is paid once
per program, however many loops run in parallel, so it is left out of every
loop's seconds and counted in the whole program's (which must not get
slower). Timed spans are never nested (a loop
inside a timed region is not timed again: threads would race on the sum).

The race and output checks never see this: they build the real patched code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ompilot.analysis import syntax
from ompilot.analysis.pragmas import directives_in
from ompilot.suggest import patch
from ompilot.suggest.proposals import Edit

ENV = "OMPILOT_LOOP_TIMES"
_INCLUDED = {
    "stdio": re.compile(rb"^[ \t]*#[ \t]*include[ \t]*<(stdio\.h|cstdio)>", re.M),
    "stdlib": re.compile(rb"^[ \t]*#[ \t]*include[ \t]*<(stdlib\.h|cstdlib)>", re.M),
}
_NEWLINE = b"\n"
_CONDITIONAL = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b", re.M)


@dataclass(frozen=True)
class TimedBuild:
    """One check's two instrumented versions of a file, and what they time."""

    relative: str
    labels: tuple[str, ...]  # "kernels.c:8", one per timed statement, in file order
    serial: bytes  # the original file, instrumented
    parallel: bytes  # the patched file, instrumented


@dataclass(frozen=True)
class _Span:
    label: str
    start: int  # original offsets: the block opens here ...
    end: int  # ... and closes here
    opener: Edit  # the edit holding the directive
    closer: Edit | None  # the edit closing the braces the directive opened, if it opened any


def instrument(relative: str, original: bytes, edits: list[Edit], changes: list[Edit]) -> TimedBuild | str:
    """Instrumented serial and parallel versions of `relative` for the edits
    `changes` (part of `edits`, all of which make the parallel version); a
    sentence saying why not when no changed statement can be timed."""
    spans = _spans(relative, original, edits, changes)
    if isinstance(spans, str):
        return spans
    patched, placed = patch.place_edits(original, edits)
    serial_points = [(s.start, s.end) for s in spans]
    parallel_points = []
    for span in spans:
        start = placed[span.opener][0]
        if span.closer is not None:
            end = placed[span.closer][1]
        elif span.opener.start != span.opener.end:
            end = placed[span.opener][1]  # a rewritten loop: its new text
        else:
            end = _mapped(original, edits, span.end)
            if end is None:
                return f"the end of the loop at {span.label} lies inside another change"
        parallel_points.append((start, end))
    labels = tuple(s.label for s in spans)
    return TimedBuild(
        relative=relative,
        labels=labels,
        serial=_with_clocks(original, serial_points, labels),
        parallel=_with_clocks(patched, parallel_points, labels),
    )


def read_times(path: Path, labels: tuple[str, ...]) -> dict[str, float] | None:
    """Seconds per label summed over the lines of the times file (one line per
    label and process); None when the file is missing or lacks a label."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    seconds: dict[str, float] = {}
    for line in text.splitlines():
        label, _, value = line.rpartition(" ")
        try:
            seconds[label] = seconds.get(label, 0.0) + float(value)
        except ValueError:
            return None
    if any(label not in seconds for label in labels):
        return None
    return {label: seconds[label] for label in labels}


# ------------------------------------------------------------------ spans


def _starts_threads(text: str) -> bool:
    """An inserted `parallel ...` or `target ...` directive: threads start there."""
    return any(d.names[:1] in (("parallel",), ("target",)) for d in directives_in(text))


def _spans(relative: str, original: bytes, edits: list[Edit], changes: list[Edit]) -> list[_Span] | str:
    ordered = patch.ordered_edits(original, edits)
    openers = [e for e in ordered if e in changes and _starts_threads(e.text)]
    if not openers:
        return "the change inserts no parallel directive"
    loops = None
    spans: list[_Span] = []
    for opener in openers:
        first = _first_code(original, opener.start)
        label = f"{relative}:{original.count(_NEWLINE, 0, first) + 1}"
        if opener.start != opener.end:  # a rewritten loop replaces [start, end)
            spans.append(_Span(label, opener.start, opener.end, opener, None))
            continue
        if _net_braces(opener.text) > 0:
            closer = _closer(ordered, opener)
            if closer is None:
                return f"the braces the directive at {label} opens are not closed by the change"
            spans.append(_Span(label, opener.start, closer.start, opener, closer))
            continue
        if loops is None:
            loops = {loop.start_byte: loop for loop in syntax.find_loops(original, syntax.language_for(relative, original))}
        loop = loops.get(first)
        if loop is None or loop.in_macro:
            return f"no loop found in the text under the directive at {label} (a macro?)"
        spans.append(_Span(label, opener.start, loop.end_byte, opener, None))
    outer = [s for s in spans if not any(o is not s and o.start <= s.start and s.end <= o.end for o in spans)]
    for a, b in zip(outer, outer[1:]):
        if b.start < a.end:
            return f"the changed statements at {a.label} and {b.label} overlap"
    return outer


def _first_code(data: bytes, offset: int) -> int:
    while offset < len(data) and data[offset : offset + 1] in b" \t\r\n":
        offset += 1
    return offset


def _net_braces(text: str) -> int:
    lines = [line.strip() for line in text.splitlines()]
    return lines.count("{") - lines.count("}")


def _closer(ordered: list[Edit], opener: Edit) -> Edit | None:
    depth = 0
    for edit in ordered[ordered.index(opener):]:
        depth += _net_braces(edit.text)
        if depth <= 0:
            return edit
    return None


def _mapped(data: bytes, edits: list[Edit], offset: int) -> int | None:
    """Where original `offset` lands in the patched bytes, before any text
    inserted at it; None inside a replaced range."""
    shift = 0
    for edit in patch.ordered_edits(data, edits):
        if edit.start < offset < edit.end:
            return None
        if edit.end < offset or (edit.end == offset and edit.start < offset):
            shift += len(edit.text.encode("utf-8", "surrogateescape")) - (edit.end - edit.start)
    return offset + shift


# ------------------------------------------------------------------ text


def _with_clocks(data: bytes, points: list[tuple[int, int]], labels: tuple[str, ...]) -> bytes:
    inserts: list[tuple[int, int, bytes]] = []  # (offset, closing first, text)
    for number, (start, end) in enumerate(points):
        indent = data[start : _first_code(data, start)].split(b"\n")[-1].strip(b"\r")
        inserts.append((start, 1, indent + b"{ double ompilot_t0_ = ompilot_now_();\n"))
        close = b"ompilot_seconds_[%d] += ompilot_now_() - ompilot_t0_; }" % number
        at_line_start = end == 0 or data[end - 1 : end] == b"\n"
        inserts.append((end, 0, indent + close + b"\n" if at_line_start else b"\n" + indent + close))
    out = bytearray(data)
    for offset, _, text in sorted(inserts, key=lambda i: (i[0], i[1]), reverse=True):
        out[offset:offset] = text
    return _prologue(len(labels)) + bytes(out) + _epilogue(data, labels)


def _prologue(count: int) -> bytes:
    return (b"static double ompilot_now_(void);\n"
            b"static double ompilot_seconds_[%d];\n" % count)


def _epilogue(data: bytes, labels: tuple[str, ...]) -> bytes:
    includes = "".join(f"#include <{name}.h>\n" for name, pattern in _INCLUDED.items()
                       if not _included_unconditionally(data, pattern))
    reports = "".join(f'    fprintf(out, "%s %.9f\\n", {_c_string(label)}, ompilot_seconds_[{number}]);\n'
                      for number, label in enumerate(labels))
    text = f"""
/* ompilot loop timing (verifier builds only) */
{includes}struct ompilot_timespec_ {{ long tv_sec; long tv_nsec; }};
extern int ompilot_clock_gettime_(int, struct ompilot_timespec_ *) __asm__("clock_gettime");
static double ompilot_now_(void)
{{
    struct ompilot_timespec_ now;
    ompilot_clock_gettime_(1 /* CLOCK_MONOTONIC */, &now);
    return (double) now.tv_sec + 1e-9 * (double) now.tv_nsec;
}}
#ifdef _OPENMP
__attribute__((constructor)) static void ompilot_start_threads_(void)
{{
    int k, sum = 0; /* not an empty region: the compiler may drop that */
#pragma omp parallel for reduction(+: sum)
    for (k = 0; k < 64; k++)
        sum += k;
    ompilot_seconds_[0] += 0 * sum;
}}
#endif
__attribute__((destructor)) static void ompilot_report_(void)
{{
    const char *path = getenv("{ENV}");
    FILE *out;
    if (path == 0 || path[0] == 0)
        return;
    out = fopen(path, "a");
    if (out == 0)
        return;
{reports}    fclose(out);
}}
"""
    prefix = b"" if not data or data.endswith(b"\n") else b"\n"
    return prefix + text.encode()


def _included_unconditionally(data: bytes, pattern: re.Pattern) -> bool:
    """The header is included outside any #if block (so it is surely there)."""
    depth = 0
    events = sorted([(m.start(), "include") for m in pattern.finditer(data)] +
                    [(m.start(), m.group(1).decode()) for m in _CONDITIONAL.finditer(data)])
    for _, what in events:
        if what in ("if", "ifdef", "ifndef"):
            depth += 1
        elif what == "endif":
            depth = max(depth - 1, 0)
        elif what == "include" and depth == 0:
            return True
    return False


def _c_string(text: str) -> str:
    out = []
    for byte in text.encode("utf-8", "surrogateescape"):
        char = chr(byte)
        out.append("\\" + char if char in '"\\' else char if 32 <= byte < 127 and char != "?" else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'
