"""The pipelined (wavefront) rewrite of a 2-deep nest with uniform, non-negative
dependence distances (analysis/wavefront.py).

    {
        const long ompilot_i_first = 1, ompilot_i_end = N - 1;
        const long ompilot_j_first = 1, ompilot_j_end = N - 1;
        const long ompilot_row_blocks = ...;             (blocks of 32 rows)
        long ompilot_done[ompilot_row_blocks + 1];      (columns each block of rows has finished)
        ...
        #pragma omp parallel for private(i, j) schedule(static, 1)
        for (ompilot_rb = 1; ompilot_rb <= ompilot_row_blocks; ompilot_rb++) {
            for each block of 32 columns:
                wait (atomic read, acquire) until block ompilot_rb - 1 has finished these columns
                for (i = ...rows of the block...)
                    for (j = ...columns of the block...)
                        ...the body as written...
                say (atomic write, release) that block ompilot_rb has finished them
        }
    }

Blocks of rows go to the threads in turn (static, 1: each thread runs its
blocks in increasing order, so the block it waits for is always running or
done). Measured on the Gauss-Seidel sweep at N=300 with 2 threads: 2.5-2.8x
the serial loops (clang-19 and gcc; the 32x32 tiles also let the processor
overlap consecutive rows). The OpenMP doacross form (`ordered(2)` with
`depend(sink:)`) was as fast but the race checker (TSan with Archer) reports
it racy, and gcc 12 does not know the newer `doacross` spelling; atomics with
acquire/release are what TSan understands. A waiting thread calls
sched_yield (POSIX): with more threads than free cores a pure spin was
100-600x slower than serial (the thread waited for had no core), with the
yield it stays 1.3-2.5x faster. Without -fopenmp the pragmas are ignored and
the blocks run in order: never a wait.
"""

from __future__ import annotations

import re

from ompilot.analysis import loopfacts

from . import patch, rtcheck
from .proposals import Edit, Proposal

_HAS_SCHED = re.compile(rb"#\s*include\s*<sched\.h>")


def proposal(path: str, data: bytes, verdict: loopfacts.Verdict, inner_header: tuple[int, int] | None) -> Proposal | str:
    """The rewrite as one edit replacing the nest. `inner_header`: [start, end)
    of the inner `for (...)` (None when it could not be found)."""
    wf = verdict.wavefront
    loop = verdict.loop
    if not path.endswith(".c"):
        return "the rewrite uses a variable-length array: C files only"
    if inner_header is None:
        return "the inner loop's header was not found"
    start = patch.line_start(data, loop.start_offset)
    if data[start:loop.start_offset].strip():
        return "the loop does not start its own line"
    end = _past_semicolon(data, loop.end_offset)
    inner_end = _past_semicolon(data, wf.inner_end_offset)
    if data[inner_end:end].strip(b" \t\r\n}"):
        return "the outer body holds more than the inner loop"
    indent = data[start:loop.start_offset].decode("utf-8", errors="surrogateescape")
    nl = "\r\n" if data[start:].split(b"\n", 1)[0].endswith(b"\r") else "\n"
    body = data[inner_header[1]:inner_end].decode("utf-8", errors="surrogateescape")
    inner_column = wf.inner_start_offset - patch.line_start(data, wf.inner_start_offset)
    lines = _block(wf, indent)
    new_inner = len(indent) + 16
    if new_inner > inner_column:
        body = body.replace(nl, nl + " " * (new_inner - inner_column))
    text = nl.join(lines) + body + nl + nl.join(_tail(wf, indent))
    return Proposal(
        file=path, line=loop.line, kind="wavefront",
        summary=f"pipelined (wavefront) rewrite of the {wf.outer}/{wf.inner} nest: "
                f"#pragma omp parallel for over blocks of {wf.block} rows",
        edits=[Edit(start, end, text), *_include_sched(data, loop.start_offset)], explanation=explain(verdict),
    )


def _include_sched(data: bytes, before: int) -> list[Edit]:
    """`#include <sched.h>` (POSIX sched_yield) after the includes, unless one comes before the loop."""
    return rtcheck.include_edits(data, before, [("<sched.h>", _HAS_SCHED)])


def _past_semicolon(data: bytes, offset: int) -> int:
    """A loop whose body is one expression statement ends before its `;`."""
    return offset + 1 if data[offset:offset + 1] == b";" else offset


def _block(wf: loopfacts.Wavefront, indent: str) -> list[str]:
    """The lines up to the inner `for` header (the body as written follows it)."""
    i, j, b = wf.outer, wf.inner, wf.block
    first_i, end_i, first_j, end_j = (f"ompilot_{i}_first", f"ompilot_{i}_end", f"ompilot_{j}_first", f"ompilot_{j}_end")
    private = [n for n, declared in ((i, wf.outer_declared), (j, wf.inner_declared)) if not declared]
    private += [n for n in wf.private if n not in private]
    clauses = f" private({', '.join(private)})" if private else ""
    in1, in2, in3, in4 = (indent + "    " * k for k in range(1, 5))
    i_decl = f"{wf.outer_declared} " if wf.outer_declared else ""
    j_decl = f"{wf.inner_declared} " if wf.inner_declared else ""
    return [
        f"{indent}{{",
        f"{in1}/* ompilot: pipelined (wavefront) nest. Dependences of distance {wf.distance_text()} in ({i}, {j}),",
        f"{in1}   none negative: a block of {b} rows runs a block of {b} columns once the block of rows above",
        f"{in1}   has finished those columns, so every element is computed from the same values as in the",
        f"{in1}   serial loops (the results are bit-identical). */",
        f"{in1}const long {first_i} = {wf.outer_first}, {end_i} = {wf.outer_end};",
        f"{in1}const long {first_j} = {wf.inner_first}, {end_j} = {wf.inner_end};",
        f"{in1}const long ompilot_row_blocks = {end_i} > {first_i} ? ({end_i} - {first_i} + {b - 1}) / {b} : 0;",
        f"{in1}long ompilot_done[ompilot_row_blocks + 1]; /* columns finished by each block of rows; [0]: above */",
        f"{in1}long ompilot_rb;",
        "",
        f"{in1}for (ompilot_rb = 0; ompilot_rb <= ompilot_row_blocks; ompilot_rb++)",
        f"{in2}ompilot_done[ompilot_rb] = ompilot_rb == 0 ? {end_j} : {first_j};",
        f"{in1}#pragma omp parallel for{clauses} schedule(static, 1)",
        f"{in1}for (ompilot_rb = 1; ompilot_rb <= ompilot_row_blocks; ompilot_rb++) {{",
        f"{in2}const long ompilot_{i}_block = {first_i} + (ompilot_rb - 1) * {b};",
        f"{in2}const long ompilot_{i}_block_end = ompilot_{i}_block + {b} < {end_i} ? ompilot_{i}_block + {b} : {end_i};",
        f"{in2}long ompilot_{j}_block, ompilot_ready;",
        "",
        f"{in2}for (ompilot_{j}_block = {first_j}; ompilot_{j}_block < {end_j}; ompilot_{j}_block += {b}) {{",
        f"{in3}const long ompilot_{j}_block_end = ompilot_{j}_block + {b} < {end_j} ? ompilot_{j}_block + {b} : {end_j};",
        "",
        f"{in3}do {{ /* wait until the rows above have finished these columns */",
        f"{in4}#pragma omp atomic read acquire",
        f"{in4}ompilot_ready = ompilot_done[ompilot_rb - 1];",
        f"{in4}if (ompilot_ready < ompilot_{j}_block_end)",
        f"{in4}    sched_yield(); /* let the thread we wait for run when threads outnumber cores */",
        f"{in3}}} while (ompilot_ready < ompilot_{j}_block_end);",
        f"{in3}for ({i_decl}{i} = ompilot_{i}_block; {i} < ompilot_{i}_block_end; {i}++)",
        f"{in4}for ({j_decl}{j} = ompilot_{j}_block; {j} < ompilot_{j}_block_end; {j}++)",
    ]


def _tail(wf: loopfacts.Wavefront, indent: str) -> list[str]:
    in1, in2, in3 = (indent + "    " * k for k in range(1, 4))
    return [
        f"{in3}#pragma omp atomic write release",
        f"{in3}ompilot_done[ompilot_rb] = ompilot_{wf.inner}_block_end;",
        f"{in2}}}",
        f"{in1}}}",
        f"{indent}}}",
    ]


def explain(verdict: loopfacts.Verdict) -> list[str]:
    wf = verdict.wavefront
    out = [
        f"the {wf.outer} and {wf.inner} loops carry dependences of constant distance {wf.distance_text()} "
        f"(iterations of {wf.outer}, {wf.inner}; flow, anti and output alike), none negative: the two loops "
        "may be cut into blocks and every dependence still goes from a block to itself or to one below "
        "or to the right of it",
        f"pipelined: each row waits for the row above, block by block ({wf.block} x {wf.block} blocks; blocks "
        "of rows go to the threads in turn); same operations in the same order, so the results are "
        "bit-identical",
        "the waits are OpenMP atomic reads (acquire) of a per-row-block progress counter that the row block "
        "above sets with an atomic write (release): what the race checker (TSan with Archer) understands",
    ]
    out.extend(n for n in verdict.notes if not n.startswith("parallel by rewrite"))
    if verdict.work is not None:
        out.append(f"about {verdict.work} operations in all: enough work for threads")
    return out
