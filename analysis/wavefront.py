"""2-deep nests serial only through uniform dependences: pipelined (wavefront).

A lexicographic Gauss-Seidel sweep, `u[i][j] = f(u[i-1][j], u[i][j-1],
u[i+1][j], u[i][j+1])`, carries dependences at both levels, so neither loop
is parallel. But every dependence has a constant distance vector whose
components are both >= 0 ((1, 0) and (0, 1) here, flow and anti): the two
loops are fully permutable. Cut the nest into blocks of rows and columns;
every dependence then goes from a tile to itself or to a tile at or below
and at or to the right of it. So a block of rows may run a block of columns
as soon as the block of rows above has finished those columns (and its own
earlier columns, which it ran itself): each element is computed once, from
the same values, with the same expression as in the serial loops, and the
results are bit-identical.

Distances are read from the subscripts, which must all be `counter +
constant` for every array the nest writes: write `A[i+a][j+b]` and access
`A[i+c][j+d]` meet exactly when the later iteration is (a-c, b-d) after the
earlier one (or the reverse). A pair that never meets in the bounds only
adds a (harmless) wait or a refusal, never a missed dependence. The
dependence analysis (decide.py) must have found nothing but carried
dependences at both levels: no possible aliasing, scalars or calls.
"""

from __future__ import annotations

from . import ir, loopfacts
from .decide import Decision
from .loops import CanonicalLoop, names_in, to_affine

#: rows and columns per tile: measured on the Gauss-Seidel sweep (N=300 and
#: 1000, 2 threads): 16 and 64 were 10-20% slower than 32 with clang-19 and gcc
BLOCK = 32


def wavefront(outer: Decision, inner_loop: ir.Stmt | None, inner: Decision | None) -> loopfacts.Wavefront | str:
    """The pipelined execution of the nest at `outer`, or why there is none."""
    if not isinstance(outer.loop, ir.For) or not isinstance(inner_loop, ir.For) or inner is None:
        return "not a perfect nest of two for loops"
    if outer.facts is None or outer.canonical is None or inner.canonical is None:
        return "the loops are not in canonical form"
    for decision in (outer, inner):
        if not decision.reasons or not all(isinstance(r, loopfacts.CarriedDependence) for r in decision.reasons):
            return "not serial only through array dependences"
        if decision.lastprivate or decision.reductions:
            return "a scalar is read after the loop or accumulated"
    if any(isinstance(s, ir.LoopStmt) for s in inner_loop.body.walk()) or _jumps(outer.loop.body):
        return "the inner body holds a loop or a jump"
    forms = (outer.canonical, inner.canonical)
    for form in forms:
        if form.var is None or form.step != 1 or form.bound_op not in ("<", "<=") or form.start is None:
            return f"the loop over {form.counter} does not count up by one"
    if outer.canonical.var in names_in(inner.canonical.start) | names_in(inner.canonical.bound):
        return "the inner bounds depend on the outer counter"
    if any(call.kind != "pure" for call in outer.facts.calls):
        return "the body calls a function with side effects"
    private = set(outer.private) | {outer.canonical.counter, inner.canonical.counter}
    shared_scalar = next((r for r in outer.facts.refs if r.is_write and r.subscripts is None
                          and not (str(r.key) in private and not r.key.fields) and r.key.var not in outer.facts.declared), None)
    if shared_scalar is not None:
        return f"{shared_scalar.key} is written by every iteration and not private"
    distances = _distances(outer.facts.refs, outer.canonical.counter, inner.canonical.counter)
    if isinstance(distances, str):
        return distances
    if not distances or not any(d[0] > 0 for d in distances) or not any(d[0] == 0 and d[1] > 0 for d in distances):
        return "no dependence carried at both levels"
    negative = next((d for d in distances if d[1] < 0), None)
    if negative is not None:
        return f"distance {_vector(negative)} goes back in {inner.canonical.counter}: the blocks would reorder it"
    private = tuple(n for n in outer.private if n != inner.canonical.counter)
    return loopfacts.Wavefront(
        outer=outer.canonical.counter, inner=inner.canonical.counter,
        distances=tuple(sorted(distances)), block=BLOCK,
        outer_first=outer.canonical.start.text, outer_end=_end(outer.canonical),
        inner_first=inner.canonical.start.text, inner_end=_end(inner.canonical),
        outer_declared=_declared_type(outer.loop), inner_declared=_declared_type(inner_loop),
        inner_start_offset=inner_loop.info.start_offset, inner_end_offset=inner_loop.info.end_offset,
        private=private,
    )


def _distances(refs, outer: str, inner: str) -> set[tuple[int, int]] | str:
    """Distance vectors (later minus earlier iteration) of every pair of
    accesses to a written array, at least one of them a write."""
    written = {r.key for r in refs if r.is_write and r.subscripts is not None}
    sites: dict = {}
    for ref in refs:
        if ref.key not in written:
            continue
        if ref.key.fields or ref.subscripts is None:
            return f"{ref.key} is written as an array and also used whole"
        if not ref.exact or len(ref.subscripts) != 2:
            return f"{ref.text} (line {ref.line}) is not a two-dimensional access"
        offsets = []
        for subscript, counter in zip(ref.subscripts, (outer, inner)):
            form = to_affine(subscript)
            if form is None or form.quasi or form.coeffs() != {counter: 1}:
                return f"{ref.text} (line {ref.line}) is not indexed by {outer} + c and {inner} + c"
            offsets.append(form.const)
        sites.setdefault(ref.key, []).append((tuple(offsets), ref.is_write))
    out: set[tuple[int, int]] = set()
    for accesses in sites.values():
        for a, a_writes in accesses:
            for b, b_writes in accesses:
                if not (a_writes or b_writes):
                    continue
                d = (a[0] - b[0], a[1] - b[1])  # b's iteration minus a's, where they meet
                if d > (0, 0):
                    out.add(d)
    return out


def _end(form: CanonicalLoop) -> str:
    """C text of the first counter value past the loop."""
    return form.bound.text if form.bound_op == "<" else f"({form.bound.text}) + 1"


def _declared_type(loop: ir.For) -> str:
    """The counter's type when the `for` declares it, else ""."""
    init = loop.init
    return init.var.type if isinstance(init, ir.Decl) else ""


def _vector(d: tuple[int, int]) -> str:
    return f"({d[0]}, {d[1]})"


def _jumps(body: ir.Stmt) -> bool:
    return any(isinstance(s, (ir.Jump, ir.Labeled)) for s in body.walk())


#: the rewrite's per-row-block progress counters (suggest/wavefront.py)
PROGRESS_COUNTERS = "ompilot_done"


def synchronised(reason: loopfacts.Reason, lines: list[str]) -> bool:
    """A dependence on the rewrite's own progress counters whose two accesses
    are each the statement right under `#pragma omp atomic`: that is the
    pipeline's synchronisation (acquire/release), not a race. Re-analysing a
    patched file must not call its own pipeline racy."""
    if not isinstance(reason, loopfacts.CarriedDependence) or reason.array != PROGRESS_COUNTERS:
        return False
    return all(1 < n <= len(lines) and lines[n - 2].split()[:3] == ["#pragma", "omp", "atomic"]
               for n in (reason.source_line, reason.sink_line))
