"""The mirrored-pair rewrite (analysis/mirrorpairs.py), and the region hoisted over it.

    for (i = 0; i < K; i++) T[i] = E(S[i], S[K - 1 - i]);
    for (i = 0; i < K; i++) S[i] = T[i];

becomes

    for (i = 0; i < (K) / 2; i++) {
        double ompilot_lo = S[i], ompilot_hi = S[(K) - 1 - i];
        T[i] = E(ompilot_lo, ompilot_hi);
        T[(K) - 1 - i] = E(ompilot_hi, ompilot_lo);
        S[i] = T[i];
        S[(K) - 1 - i] = T[(K) - 1 - i];
    }
    if ((K) > 0 && (K) % 2) {
        T[(K) / 2] = E(S[(K) / 2], S[(K) / 2]);
        S[(K) / 2] = T[(K) / 2];
    }

The same operations on the same values: serial, the result is bit for bit
the original's. The analysis then runs again on the rewritten text, and the
region it hoists above the serial loop around the pair (with `#pragma omp
for` on the pair loop and the middle element in a `single`) makes one
proposal of kind `mirror`: one edit replacing the serial loop.
"""

from __future__ import annotations

from ompilot.analysis import loopfacts
from ompilot.analysis.pragmas import Directive

from . import patch
from .proposals import Edit, Proposal


def rewrite_edit(data: bytes, pairs: loopfacts.MirrorPairs) -> Edit | str:
    """The edit replacing the two loops with the pair loop, or why it cannot be written."""
    start = patch.line_start(data, pairs.start_offset)
    if data[start:pairs.start_offset].strip():
        return "the first loop does not start its own line"
    tail = patch.LINE_TAIL.match(data, pairs.end_offset)
    if tail is None:
        return "code follows the second loop on its last line"
    indent = data[start:pairs.start_offset].decode("utf-8", errors="surrogateescape")
    newline = "\r\n" if data[start:].split(b"\n", 1)[0].endswith(b"\r") else "\n"
    return Edit(start, tail.end(), "".join(line + newline for line in rewritten_lines(pairs, indent)))


def rewritten_lines(p: loopfacts.MirrorPairs, indent: str) -> list[str]:
    i, k, s, t = p.counter, f"({p.bound})", p.source, p.target
    init = f"{p.counter_type} {i} = 0" if p.counter_type else f"{i} = 0"
    high = f"{k} - 1 - {i}"
    inner = indent + "    "
    return [
        f"{indent}for ({init}; {i} < {k} / 2; {i}++) {{",
        f"{inner}{p.ctype} ompilot_lo = {s}[{i}], ompilot_hi = {s}[{high}];",
        f"{inner}{t}[{i}] = {p.value_lo};",
        f"{inner}{t}[{high}] = {p.value_hi};",
        f"{inner}{s}[{i}] = {t}[{i}];",
        f"{inner}{s}[{high}] = {t}[{high}];",
        f"{indent}}}",
        f"{indent}if ({k} > 0 && {k} % 2) {{",
        f"{inner}{t}[{k} / 2] = {p.value_mid};",
        f"{inner}{s}[{k} / 2] = {t}[{k} / 2];",
        f"{indent}}}",
    ]


def region_proposal(path: str, data: bytes, pairs: loopfacts.MirrorPairs, rewrite: Edit,
                    outer_start: int, outer_end: int, region: Proposal) -> Proposal | str:
    """One proposal: the serial loop at [outer_start, outer_end) of `data`
    replaced by its rewritten text with `region` (a hoisted region proposal
    made on the rewritten text) applied."""
    if not outer_start <= rewrite.start < rewrite.end <= outer_end:
        return "the pair loops are not inside the serial loop"
    tail = patch.LINE_TAIL.match(data, outer_end)
    if tail is None:
        return "code follows the serial loop on its last line"
    start, end = patch.line_start(data, outer_start), tail.end()
    rewritten = patch.apply_edits(data, [rewrite])
    final = patch.apply_edits(rewritten, region.edits)
    text = final[start:len(final) - (len(data) - end)].decode("utf-8", errors="surrogateescape")
    text, vector = _pair_loop_simd(text, rewritten_lines(pairs, "")[0])
    summary = (f"#pragma omp parallel region hoisted above the serial loop at line {region.line}, over the "
               f"mirrored pairs of the loops at lines {pairs.first_line} and {pairs.second_line}")
    explanation = [pairs.text(), *region.explanation]
    if vector:
        explanation.append("'#pragma omp for simd' on the pair loop: the pairs are disjoint, so vector lanes are as "
                           "independent as threads; without it clang cannot tell the stores at both ends apart "
                           "and does not vectorise the loop")
    return Proposal(file=path, line=region.line, kind="mirror", summary=summary, edits=[Edit(start, end, text)],
                    explanation=explanation)


def _pair_loop_simd(text: str, header: str) -> tuple[str, bool]:
    """`text` with the `#pragma omp for` right above the pair loop's header
    made `#pragma omp for simd`; whether it was."""
    lines = text.splitlines(keepends=True)
    for n, line in enumerate(lines[1:], 1):
        above = lines[n - 1]
        if line.strip() == header.strip() and above.lstrip().startswith("#pragma omp for") \
                and Directive.parse_or_none(above.strip()) is not None \
                and Directive.parse(above.strip()).names == ("for",):
            lines[n - 1] = above.replace("#pragma omp for", "#pragma omp for simd", 1)
            return "".join(lines), True
    return text, False
