"""The two-pass blocked rewrite of a loop serial only through a running value.

For `run += in[i]; out[i] = run;` (analysis/prefixscans.py):

    {
        int ompilot_run_threads = ompilot_max_threads();
        double ompilot_run_one, *ompilot_run_part = (double *) malloc(...);
        ...
        #pragma omp parallel num_threads(ompilot_run_threads) firstprivate(run) private(i)
        {
            ...this thread's block [ompilot_lo, ompilot_hi) of the iterations...
            #pragma omp simd reduction(+: ompilot_sum)
            for (i = ompilot_lo; i < ompilot_hi; i++)      pass 1: the block's total, nothing written
                ompilot_sum += in[i];
            ompilot_run_part[ompilot_thread] = ompilot_sum;
            #pragma omp barrier
            #pragma omp single
            for (...)                                        running totals of the blocks
            if (ompilot_thread > 0)
                run += ompilot_run_part[ompilot_thread - 1];
            for (i = ompilot_lo; i < ompilot_hi; i++) {     pass 2: the loop as written, on the block
                run += in[i];
                out[i] = run;
            }
        }
    }

Blocks are contiguous ranges of the iterations computed from the thread's
number and the team's size, so both passes see the same block and pass one
can be vectorised. The block totals live in a malloc'd array of one slot per
thread (no buffer proportional to the trip count); if malloc fails the
region runs with one thread in a slot on the stack. For `x[i] = a * x[i - 1] + b`
pass 1 computes the block's value from a zero start and a to the power of its
length, and pass 2 carries the previous element in a local variable (reading
x[lo - 1] would race with the thread writing it). The OpenMP calls sit in two
helpers guarded by `#ifdef _OPENMP`, so the file builds with and without
OpenMP; C files get the three prototypes instead of <omp.h>, whose clang
version does not compile as C89.
"""

from __future__ import annotations

import re

from ompilot.analysis import loopfacts
from ompilot.analysis.prefixscans import threads_name

from . import patch, rtcheck
from .recurrence import loop_layout
from .proposals import Edit, Proposal

THREADS_HELPER = "ompilot_max_threads"
POWER_HELPER = "ompilot_power"

_THREADS = f"""#if defined(_OPENMP) && defined(__cplusplus)
#include <omp.h>
#elif defined(_OPENMP)
/* as <omp.h> declares them (clang's <omp.h> does not compile as C89) */
int omp_get_max_threads(void);
int omp_get_num_threads(void);
int omp_get_thread_num(void);
#endif

/* Added by ompilot for its two-pass scans: the most threads a parallel region
   started here may have, and the calling thread's number with its team's size
   in *team (1; 0 and 1 in a build without OpenMP). */
static int {THREADS_HELPER}(void)
{{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}}

static int ompilot_thread_number(int *team)
{{
#ifdef _OPENMP
    *team = omp_get_num_threads();
    return omp_get_thread_num();
#else
    *team = 1;
    return 0;
#endif
}}"""

_POWER = """/* Added by ompilot for its two-pass scans: a to the power n (n >= 0) by
   repeated squaring, O(log2 n) multiplications. */
static {ctype} {name}({ctype} a, long long n)
{{
    {ctype} result = 1;

    while (n > 0) {{
        if (n & 1)
            result *= a;
        a *= a;
        n >>= 1;
    }}
    return result;
}}"""



def power_name(ctype: str) -> str:
    return f"{POWER_HELPER}_{ctype.replace(' ', '_')}"


def proposal(path: str, data: bytes, verdict: loopfacts.Verdict, header: tuple[int, int] | None) -> Proposal | str:
    """The rewrite as edits: the block around the loop with both passes, the
    helpers after the includes. `header`: [start, end) of the loop's `for (...)`."""
    scan = verdict.scan
    loop = verdict.loop
    layout = loop_layout(data, loop)
    if isinstance(layout, str):
        return layout
    start, indent, nl = layout.start, layout.indent, layout.newline
    if header is None:
        return "the loop header could not be delimited"
    end = loop.end_offset + (data[loop.end_offset:loop.end_offset + 1] == b";")  # a body without braces
    lines = data[start:end].split(b"\n")
    if any(line.rstrip(b"\r").endswith(b"\\") for line in lines):
        return "a line of the loop is continued with a backslash"
    code = _Code(scan, indent)
    own_header = code.header()
    if scan.kind == "sum":
        # the loop as written becomes pass 2: a new header, every line two levels deeper
        edits = [Edit(start, start, nl.join(code.opening()) + nl + "        "), Edit(loop.start_offset, header[1], own_header)]
        offset = data.index(b"\n", start) + 1 if b"\n" in data[start:end] else end
        while offset < end and b'R"' not in data[start:end]:  # a C++ raw string keeps its lines as they are
            line_end = patch.line_end(data, offset)
            if data[offset:line_end].strip():
                edits.append(Edit(offset, offset, "        "))
            offset = line_end
        edits.append(Edit(end, end, nl + nl.join(code.closing())))
    else:
        edits = [Edit(start, end, nl.join(code.opening() + code.linear_pass2() + code.closing()))]
    edits += _helper_edits(data, loop.start_offset, scan)
    return Proposal(
        file=path, line=loop.line, kind="scan",
        summary=f"{scan.directive} around a two-pass scan of {scan.var}",
        edits=edits, explanation=explain(verdict),
    )


class _Code:
    """The C lines of the rewrite, at the loop's indentation."""

    def __init__(self, scan: loopfacts.Scan, indent: str):
        self.scan, self.indent = scan, indent
        self.outer = indent + "    "  # the block around everything
        self.inner = indent + "        "  # the parallel region
        v = scan.var
        self.part, self.one, self.threads = f"ompilot_{v}_part", f"ompilot_{v}_one", threads_name(scan)
        self.prev, self.before, self.last = f"ompilot_{v}_prev", f"ompilot_{v}_before", f"ompilot_{v}_last"
        self.slots = 1 if scan.kind == "sum" else 2  # a total, or a value and a power of a

    def header(self) -> str:
        s = self.scan
        init = f"{s.counter_type} {s.counter}" if s.counter_declared else s.counter
        return f"for ({init} = ompilot_lo; {s.counter} < ompilot_hi; {s.counter}++)"

    def opening(self) -> list[str]:
        s, o, i = self.scan, self.outer, self.inner
        slots = f"{self.slots} * " if self.slots > 1 else ""
        one = f"{self.one}[{self.slots}]" if self.slots > 1 else self.one
        store = f"{self.one}" if self.slots > 1 else f"&{self.one}"
        if s.kind == "sum":
            what = [f"{self.part}[t]: the total of thread t's block */"]
        else:
            what = [f"{self.part}[2 * t]: the value thread t's block ends with from a zero start,",
                    f"{self.part}[2 * t + 1]: "
                    + (f"{s.multiplier} to the power of the block's length */" if s.multiplier else "1 */")]
        out = [
            f"{self.indent}{{",
            f"{o}/* ompilot: a two-pass scan of {s.var} over blocks of the iterations, one per thread;",
            *(f"{o}   {line}" for line in what),
            f"{o}int {self.threads} = {THREADS_HELPER}();",
            f"{o}{s.ctype} {one}, *{self.part} = ({s.ctype} *) malloc({slots}{self.threads} * sizeof *{self.part});",
        ]
        if s.kind == "sum" and s.live_after:
            out.append(f"{o}{s.ctype} {self.last} = {s.var};")
        if s.kind == "linear":
            out.append(f"{o}{s.ctype} {self.before} = 0;")
        out += [
            f"{o}if ({self.part} == NULL) {{",
            f"{o}    {self.threads} = 1;",
            f"{o}    {self.part} = {store};",
            f"{o}}}",
            f"{o}{s.directive}",
            f"{o}{{",
            f"{i}int ompilot_team, ompilot_thread = ompilot_thread_number(&ompilot_team), ompilot_u;",
            f"{i}long long ompilot_trips = (long long) {_operand(s.bound)}"
            + ("" if s.start == "0" else f" - (long long) {_operand(s.start)}")
            + (" + 1;" if s.bound_op == "<=" else ";"),
            f"{i}{s.counter_type} ompilot_lo, ompilot_hi;",
        ]
        out += self._pass1()
        return out

    def _pass1(self) -> list[str]:
        s, i = self.scan, self.inner
        first = "" if s.start == "0" else f"{_operand(s.start)} + "
        out = []
        if s.kind == "sum":
            out.append(f"{i}{s.ctype} ompilot_sum = 0;")
        else:
            out.append(f"{i}{s.ctype} {self.prev} = 0;")
            if s.multiplier:
                a = _operand(s.multiplier)
                out.append(f"{i}{s.ctype} ompilot_term[4], ompilot_a2 = {a} * {a}, ompilot_a3 = ompilot_a2 * {a}, "
                           "ompilot_a4 = ompilot_a2 * ompilot_a2;")
                if s.counter_declared:
                    out.append(f"{i}{s.counter_type} {s.counter};")
        out += [
            f"{i}if (ompilot_trips < 0)",
            f"{i}    ompilot_trips = 0;",
            f"{i}/* this thread's block [ompilot_lo, ompilot_hi), rounded up: thread 0's is never empty */",
            f"{i}ompilot_lo = ({s.counter_type}) ({first}(ompilot_trips * ompilot_thread + ompilot_team - 1) / ompilot_team);",
            f"{i}ompilot_hi = ({s.counter_type}) ({first}(ompilot_trips * (ompilot_thread + 1) + ompilot_team - 1) / ompilot_team);",
        ]
        if s.kind == "sum":
            out += [
                f"{i}/* pass 1: this block's total, nothing written */",
                f"{i}#pragma omp simd reduction(+: ompilot_sum)",
                f"{i}{self.header()}",
                f"{i}    ompilot_sum {s.op}= {s.term};",
                f"{i}{self.part}[ompilot_thread] = ompilot_sum;",
                f"{i}#pragma omp barrier",
                f"{i}/* the blocks' running totals, then the value entering this block */",
                f"{i}#pragma omp single",
                f"{i}for (ompilot_u = 1; ompilot_u < ompilot_team; ompilot_u++)",
                f"{i}    {self.part}[ompilot_u] += {self.part}[ompilot_u - 1];",
                f"{i}if (ompilot_thread > 0)",
                f"{i}    {s.var} += {self.part}[ompilot_thread - 1];",
                f"{i}/* pass 2: the loop as written, on this block */",
            ]
            return out
        first = f"{s.base}[ompilot_lo - 1]"
        power = (f"{power_name(s.ctype)}({s.multiplier}, (long long) ompilot_hi - ompilot_lo)" if s.multiplier else "1")
        out += [
            f"{i}/* pass 1: this block's value from a zero start, nothing written */",
            f"{i}if (ompilot_thread == 0 && ompilot_lo < ompilot_hi)",
            f"{i}    {self.before} = {first};  /* the value before the loop */",
            *(self._unrolled() if s.multiplier else [
                f"{i}#pragma omp simd reduction(+: {self.prev})",
                f"{i}{self.header()}",
                f"{i}    {self.prev} += {_operand(s.term)};",
            ]),
            f"{i}{self.part}[2 * ompilot_thread] = {self.prev};",
            f"{i}{self.part}[2 * ompilot_thread + 1] = {power};",
            f"{i}#pragma omp barrier",
            f"{i}/* the blocks composed in order, then the value entering this block */",
            f"{i}#pragma omp single",
            f"{i}for (ompilot_u = 1; ompilot_u < ompilot_team; ompilot_u++) {{",
            f"{i}    {self.part}[2 * ompilot_u] += {self.part}[2 * ompilot_u + 1] * {self.part}[2 * ompilot_u - 2];",
            f"{i}    {self.part}[2 * ompilot_u + 1] *= {self.part}[2 * ompilot_u - 1];",
            f"{i}}}",
            f"{i}{self.prev} = {self.before};",
            f"{i}if (ompilot_thread > 0)",
            f"{i}    {self.prev} = {self.part}[2 * ompilot_thread - 1] * {self.prev} + {self.part}[2 * ompilot_thread - 2];",
        ]
        return out

    def _unrolled(self) -> list[str]:
        """Pass 1 of `y = a * y + b`, four elements a step: y = a^4 y + (a^3 t0 + a^2 t1) + (a t2 + t3)
        puts one multiply-add per four elements on the dependence chain instead of four."""
        s, i, c = self.scan, self.inner, self.scan.counter
        a = _operand(s.multiplier)
        return [
            f"{i}/* four elements a step, y = a^4 y + a^3 t0 + a^2 t1 + a t2 + t3: one multiply-add per four on the chain */",
            f"{i}for ({c} = ompilot_lo; {c} + 3 < ompilot_hi; ) {{",
            f"{i}    for (ompilot_u = 0; ompilot_u < 4; ompilot_u++, {c}++)",
            f"{i}        ompilot_term[ompilot_u] = {s.term};",
            f"{i}    {self.prev} = ompilot_a4 * {self.prev} + ((ompilot_a3 * ompilot_term[0] + ompilot_a2 * ompilot_term[1])",
            f"{i}        + ({a} * ompilot_term[2] + ompilot_term[3]));",
            f"{i}}}",
            f"{i}for (; {c} < ompilot_hi; {c}++)",
            f"{i}    {self.prev} = {self._step()};",
        ]

    def _step(self) -> str:
        s = self.scan
        scaled = f"{_operand(s.multiplier)} * {self.prev}" if s.multiplier else self.prev
        return f"{scaled} + {_operand(s.term)}"

    def linear_pass2(self) -> list[str]:
        s, i = self.scan, self.inner
        return [
            f"{i}/* pass 2: the recurrence on this block, the previous element in {self.prev} */",
            f"{i}{self.header()} {{",
            f"{i}    {self.prev} = {self._step()};",
            f"{i}    {s.target} = {self.prev};",
            f"{i}}}",
        ]

    def closing(self) -> list[str]:
        s, o, i = self.scan, self.outer, self.inner
        out = []
        if s.kind == "sum" and s.live_after:
            out += [f"{i}if (ompilot_thread == ompilot_team - 1)  /* the last block: the final value */",
                    f"{i}    {self.last} = {s.var};"]
        out.append(f"{o}}}")
        if s.kind == "sum" and s.live_after:
            out.append(f"{o}{s.var} = {self.last};")
        store = f"{self.one}" if self.slots > 1 else f"&{self.one}"
        out += [f"{o}if ({self.part} != {store})", f"{o}    free({self.part});", f"{self.indent}}}"]
        return out


def _operand(text: str) -> str:
    """`text` as an operand of * or +: parenthesised unless it is a name, element, member or number."""
    return text if re.fullmatch(r"[\w.\[\]>-]+", text) and "--" not in text else f"({text})"


def _helper_edits(data: bytes, before: int, scan: loopfacts.Scan) -> list[Edit]:
    out = rtcheck.insertion(data, before, THREADS_HELPER, _THREADS, [("<stdlib.h>", rtcheck.HAS_STDLIB)])
    if scan.kind == "linear" and scan.multiplier:
        name = power_name(scan.ctype)
        if not re.search(rb"\b" + name.encode() + rb"\s*\(", data):
            out += rtcheck.insertion(data, before, name, _POWER.format(ctype=scan.ctype, name=name), [])
    return out


def explain(verdict: loopfacts.Verdict) -> list[str]:
    s = verdict.scan
    if s.kind == "sum":
        what = (f"{s.var} {s.op}= {s.term} (line {s.line}) is the only value carried from one iteration to the "
                f"next, a prefix sum: each thread first totals its block of the iterations (pass 1, vectorised, "
                f"nothing written), then starts from {s.var} plus the totals of the blocks before it and runs its "
                "block as written (pass 2)")
    else:
        what = (f"{s.update_text()} (line {s.line}) is the only dependence, a first-order linear recurrence: each "
                "thread first computes its block's value from a zero start"
                + (f" and {s.multiplier} to the power of the block's length" if s.multiplier else "")
                + " (pass 1, nothing written), then composes the earlier blocks with the value before the loop "
                "and runs its block from there (pass 2)")
    out = [what]
    if s.exact:
        out.append(f"{s.ctype} arithmetic: the same values as the serial loop"
                   + (", bit for bit (unsigned arithmetic wraps)" if s.ctype.startswith("unsigned") else
                      " (as exact as a reduction: overflow aside)"))
    else:
        changed = "the sum" if s.kind == "sum" else "the recurrence's arithmetic"
        out.append(f"parallel by a two-pass scan; {changed} is reassociated, so results agree with the serial ones "
                   "within the output tolerance")
    out.append("the block totals take one slot per thread (malloc'd; one thread if that fails); the input is read "
               "twice, so the gain is bounded by memory bandwidth")
    if s.live_after:
        out.append(f"{s.var} is read after the loop: it gets the value the last block ends with")
    out.extend(n for n in verdict.notes if not n.startswith("parallel by a two-pass scan"))
    if verdict.work is not None:
        out.append(f"about {verdict.work} operations in all: enough work for threads")
    return out
