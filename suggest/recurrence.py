"""The jump-ahead rewrite of a loop serial only through an affine recurrence.

    {
        const unsigned int ompilot_state_0 = state;
        long long ompilot_state_next = -1;
        #pragma omp parallel for private(u) firstprivate(state, ompilot_state_next) schedule(static)
        for (i = 0; i < n; i++) {
            long long ompilot_state_k = (long long) ((i - (0)) / 1);
            if (ompilot_state_k != ompilot_state_next)
                state = ompilot_affine_jump_unsigned_int(ompilot_state_0, 1664525u, 1013904223u,
                                                         (unsigned long long) ompilot_state_k * 2);
            ompilot_state_next = ompilot_state_k + 1;
            ...the body as written...
        }
    }

A thread jumps when its iteration is not the one after its previous one: once
per contiguous block, so any schedule gives the serial values (the verifier's
race check runs other schedules). The helper composes the map by repeated
squaring in the state's own unsigned type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ompilot.analysis import loopfacts
from ompilot.analysis.recurrence import next_iteration, state_copy

from . import patch, rtcheck
from .proposals import Edit, Proposal

HELPER_PREFIX = "ompilot_affine_jump"

_HELPER = """\
/* ompilot: {ctype} s after n steps of s = s * a + c (unsigned, so modulo 2^w):
   the map composed n times by repeated squaring, O(log2 n) multiplications */
static {ctype} {name}({ctype} s, {ctype} a, {ctype} c, unsigned long long n)
{{
    {ctype} mul = 1, add = 0;

    while (n != 0) {{
        if (n & 1) {{
            mul = a * mul;
            add = a * add + c;
        }}
        c = a * c + c;
        a = a * a;
        n >>= 1;
    }}
    return mul * s + add;
}}"""


def helper_name(ctype: str) -> str:
    return f"{HELPER_PREFIX}_{ctype.replace(' ', '_')}"


def helper_source(ctype: str) -> str:
    return _HELPER.format(ctype=ctype, name=helper_name(ctype))


@dataclass(frozen=True)
class LoopLayout:
    """Where a loop's line starts, its indentation and its line ending: what a
    rewrite that wraps the loop in a block needs."""

    start: int
    indent: str
    newline: str


def loop_layout(data: bytes, loop: loopfacts.Loop) -> LoopLayout | str:
    """The loop's layout, or why a rewrite cannot wrap it (it shares its line)."""
    start = patch.line_start(data, loop.start_offset)
    if data[start:loop.start_offset].strip():
        return "the loop does not start its own line"
    indent = data[start:loop.start_offset].decode("utf-8", errors="surrogateescape")
    newline = "\r\n" if data[start:].split(b"\n", 1)[0].endswith(b"\r") else "\n"
    return LoopLayout(start, indent, newline)


def proposal(path: str, data: bytes, verdict: loopfacts.Verdict, body_open: int | None) -> Proposal | str:
    """The rewrite as edits: a block with the state's copy around the loop, the
    directive above it, the jump at the top of its body, the helper after the
    includes. `body_open`: offset of the body's `{` (None: not a compound body)."""
    rec = verdict.recurrence
    loop = verdict.loop
    layout = loop_layout(data, loop)
    if isinstance(layout, str):
        return layout
    if body_open is None:
        return "the loop body is not a { } block"
    start, indent, nl = layout.start, layout.indent, layout.newline
    inner = indent + "    "
    copy, nxt, k = state_copy(rec), next_iteration(rec), f"ompilot_{rec.var}_k"
    head = [f"{indent}{{", f"{inner}const {rec.ctype} {copy} = {rec.var};", f"{inner}long long {nxt} = -1;",
            f"{inner}{rec.directive}"]
    opened = Edit(start, start, nl.join(head) + nl)
    if rec.step > 0:
        distance = rec.counter if rec.start == "0" else f"{rec.counter} - ({rec.start})"
    else:
        distance = f"({rec.start}) - {rec.counter}"
    number = distance if abs(rec.step) == 1 else f"({distance}) / {abs(rec.step)}"
    steps = f"(unsigned long long) {k}" + (f" * {rec.updates}" if rec.updates != 1 else "")
    body_indent = indent + "    "
    jump = [
        f"{body_indent}long long {k} = (long long) ({number});",
        f"{body_indent}if ({k} != {nxt})",
        f"{body_indent}    {rec.var} = {helper_name(rec.ctype)}({copy}, {rec.multiplier}, {rec.increment}, {steps});",
        f"{body_indent}{nxt} = {k} + 1;",
    ]
    entry = Edit(body_open + 1, body_open + 1, nl + nl.join(jump))
    closed = Edit(loop.end_offset, loop.end_offset, f"{nl}{indent}}}")
    helper = _helper_edits(data, loop.start_offset, rec.ctype)
    return Proposal(
        file=path, line=loop.line, kind="recurrence",
        summary=f"{rec.directive} with {rec.var} jumped ahead to each thread's first iteration",
        edits=[opened, entry, closed, *helper], explanation=explain(verdict),
    )


def _helper_edits(data: bytes, before: int, ctype: str) -> list[Edit]:
    name = helper_name(ctype)
    if re.search(rb"\b" + name.encode() + rb"\s*\(", data):
        return []
    return rtcheck.insertion(data, before, name, helper_source(ctype), [])


def explain(verdict: loopfacts.Verdict) -> list[str]:
    rec = verdict.recurrence
    lines = ", ".join(map(str, rec.lines))
    out = [
        f"{rec.var} = {rec.var} * {rec.multiplier} + {rec.increment} (line{'s' if len(rec.lines) > 1 else ''} {lines}) "
        f"is the only value carried from one iteration to the next: an affine map in {rec.ctype} arithmetic, "
        "which wraps modulo 2^w, so composing it is exact",
        f"{rec.var} at the start of each thread's block is computed by jump-ahead (the map composed "
        f"{rec.updates} x (first iteration) times by repeated squaring, about 4 log2(n) multiplications): "
        "the same values as the serial loop, bit for bit",
        "the rest of the body is independent across iterations given that value (exact dependence test)",
    ]
    if rec.live_after:
        out.append(f"lastprivate({rec.var}): read after the loop; the thread running the last iteration "
                   "leaves the serial final value")
    out.extend(n for n in verdict.notes if not n.startswith("parallel by rewrite"))
    if verdict.work is not None:
        out.append(f"about {verdict.work} operations in all: enough work for threads")
    return out
