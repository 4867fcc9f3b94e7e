"""The nest planner's policies: what one loop gets, one policy a function.

nest.py walks a function's loops outside in and, for each, tries `IN_ORDER`
until one settles the loop (returns True):

1. `existing_pragma`: the user's own loop pragma is kept, checked for races, fixed;
2. `macro_loop`: a loop written inside a macro gets nothing;
3. `serial`: a serial loop gets nothing, unless a rewrite in `SERIAL_REWRITES`
   (jump-ahead recurrence, two-pass scan, pipelined wavefront) makes it parallel;
4. `undecided`: an undecided loop gets nothing, unless a run-time alias check
   makes it parallel;
5. `inside_parallel`: a loop inside a parallel region gets `simd` at most;
6. `too_little_work`: a loop whose work does not pay for the threads gets nothing;
7. `parallel_for`: the rest get `parallel for`, with `collapse`, schedule and
   copies, the data it would move to a device, and a loop `interchange` (and tiling).

Each policy reads a `Planned` (the loop, its `Decision`, where it sits) and
writes the plan on its `Verdict`; `NestScope` is what the whole function shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from . import constructs, datamap, estimates, ir, loopfacts, oneteam, pragmas, prefixscans, recurrence, threadslots, wavefront
from .decide import Decision, FunctionContext, decide, distinct_object
from .loops import CanonicalLoop, names_in, to_affine, to_poly, trip_count, written_vars
from .pragmas import Clause, Directive

_COLLAPSE_WHEN_TRIPS_BELOW = 64
_MAX_COLLAPSE = 3
_MAX_TILE_DEPTH = 3
_TILE = 64  # measured on the corpus's 1536x1536 product: 2x over the untiled i-k-j
_CACHE_BYTES = 2 * 2**20  # a typical last-level cache share per core
_BYTE_TYPES = ("char", "int8_t", "bool", "_Bool", "std::byte")
_LOOP_KINDS = {ir.For: "for", ir.RangeFor: "range-for", ir.While: "while", ir.DoWhile: "do"}


@dataclass(eq=False)
class NestScope:
    """One function being planned: what every policy reads, and the two sets
    the policies fill as the planner walks its loops outside in."""

    path: str
    function: ir.Function
    ctx: FunctionContext
    lines: list[str]
    pragma_lines: dict[int, str]  # first line of each `#pragma omp` of the file: its text
    min_work: int
    collapsed: set[int] = field(default_factory=set)  # ids of loops in an outer collapse(n) or tiled band
    user_regions: set[int] = field(default_factory=set)  # lines of loops under the user's own pragmas
    _constructs: constructs.FileConstructs | None = field(default=None, repr=False)

    @property
    def constructs(self) -> constructs.FileConstructs:
        """The file's OpenMP constructs mapped onto its statements, built when a loop first needs them."""
        if self._constructs is None:
            functions = list(self.ctx.functions.values())
            if not any(f is self.function for f in functions):  # a second function of the same name
                functions.append(self.function)
            self._constructs = constructs.build(functions, self.pragma_lines, self.lines)
        return self._constructs

    def loop_model(self, loop: ir.LoopStmt, depth: int, var: str | None = None) -> loopfacts.Loop:
        info = loop.info
        return loopfacts.Loop(
            file=self.path, line=info.line, column=info.column, end_line=info.end_line, kind=_LOOP_KINDS[type(loop)],
            function=self.function.name, depth=depth, start_offset=info.start_offset,
            end_offset=info.end_offset, var=var,
        )


@dataclass(eq=False)
class Planned:
    """One loop, where it sits in its nest, and its plan so far (`verdict`)."""

    loop: ir.LoopStmt
    decision: Decision
    verdict: loopfacts.Verdict
    outer: list  # canonical forms of the enclosing loops, outermost first
    enclosing: list[ir.LoopStmt]
    parallel_above: int | None = None  # line of the loop whose parallel region this one runs in
    existing: loopfacts.ExistingPragma | None = None  # the user's loop pragma above it
    directive: Directive | None = None  # that pragma, parsed


def analyse(scope: NestScope, loop: ir.LoopStmt, outer, enclosing, parallel_above: int | None) -> Planned:
    """The loop decided (with what its own pragma already makes private or
    reduces), before any policy."""
    found = pragmas.pragma_above(scope.lines, loop.info.line, scope.pragma_lines)
    existing = directive = None
    presets = {}
    if found is not None:
        existing = pragmas.parse_pragma(found[1], found[0])
        directive = Directive.parse(existing.text)
        presets = dict(preset_private=pragmas.private_names(existing) | _associated_counters(scope, loop, directive)
                       | _region_private(scope, loop, directive),
                       preset_reductions=pragmas.reduction_names(existing),
                       guards=_guards(scope, directive, loop))
    decision = decide(loop, outer, enclosing, scope.ctx, **presets)
    if existing is not None:
        around = scope.constructs.around(scope.function, loop.info.line)
        refs = decision.facts.refs if decision.facts else ()
        spans = presets["guards"].one_thread
        decision.reasons = [r for r in decision.reasons if not wavefront.synchronised(r, scope.lines)
                            and not threadslots.owned_by_thread(r, refs, directive.names, around)
                            and not _one_thread_only(r, spans)]
    verdict = first_verdict(scope, loop, decision, enclosing)
    return Planned(loop, decision, verdict, list(outer), list(enclosing), parallel_above, existing, directive)


def first_verdict(scope: NestScope, loop: ir.LoopStmt, decision: Decision, enclosing) -> loopfacts.Verdict:
    """The decision as a verdict: no directive yet."""
    counter = decision.canonical.var.name if decision.canonical and decision.canonical.var else None
    return loopfacts.Verdict(
        loop=scope.loop_model(loop, len(enclosing), counter),
        parallel=decision.parallel,
        clauses=loopfacts.Clauses(
            private=tuple(decision.private),
            lastprivate=tuple(decision.lastprivate),
            reductions=tuple(decision.reductions),
        ),
        reasons=list(decision.reasons),
        notes=list(decision.notes),
        simd_reductions=float_reductions(loop, decision),
    )


# ------------------------------------------------------------------ policies


def existing_pragma(scope: NestScope, p: Planned) -> bool:
    """A loop under the user's own loop pragma keeps it: what makes the pragma
    wrong is reported, with the pragma made right (`fix`)."""
    if p.directive is None:
        return False
    verdict, decision = p.verdict, p.decision
    verdict.existing = p.existing
    checked = decision.parallel is None and _has_check(p.directive, decision.runtime_check)
    verdict.races, verdict.pragma_warnings = _races(p.directive, decision, decision.runtime_check if checked else None,
                                                    _always_shared(scope, p))
    verdict.race_fix = _fix(p.directive, decision) if verdict.races else None
    if checked:
        _behind_check(verdict, decision.runtime_check)  # the pragma's if() rules out the overlap
    _mark_collapsed(scope, p.loop, _collapse_of(p.directive))
    return True


def macro_loop(scope: NestScope, p: Planned) -> bool:
    """A loop written inside a macro gets no directive (there is no line to put it on)."""
    if not p.loop.info.in_macro:
        return False
    p.verdict.reasons.append(loopfacts.UnsupportedConstruct(what="a loop written inside a macro", line=p.loop.info.line))
    return True


def serial(scope: NestScope, p: Planned) -> bool:
    """A loop that is serial as written gets no directive; outside any parallel
    region, the first of `SERIAL_REWRITES` that applies makes it parallel."""
    if p.decision.parallel is not False:
        return False
    if p.parallel_above is None:
        for rewrite in SERIAL_REWRITES:
            if rewrite(scope, p):
                break
    return True


def undecided(scope: NestScope, p: Planned) -> bool:
    """A loop the analysis could not decide gets no directive, unless its only
    obstacle is possible aliasing: then, outside any parallel region, it is
    parallel behind an if() that tests the pointers' ranges (and planned on)."""
    if p.decision.parallel is not None:
        return False
    check = p.decision.runtime_check
    if check is None or p.parallel_above is not None:
        return True  # no run-time check inside a parallel loop
    _behind_check(p.verdict, check)
    return False


def inside_parallel(scope: NestScope, p: Planned) -> bool:
    """A parallel loop inside a parallel region opens no nested region; `simd` at most."""
    if p.parallel_above is None:
        return False
    p.verdict.reasons.append(loopfacts.InsideParallel(outer_line=p.parallel_above))
    simd(scope, p)
    return True


def simd(scope: NestScope, p: Planned) -> bool:
    """An innermost loop with independent iterations, inside a region ompilot
    opens (the user's own loops are theirs to tune) and in no collapsed or
    tiled band, is vectorised with `#pragma omp simd`."""
    if p.parallel_above in scope.user_regions or id(p.loop) in scope.collapsed:
        return False
    if not _simd_candidate(p.loop, p.decision):
        return False
    verdict = p.verdict
    verdict.clauses = replace(verdict.clauses, simd=True)
    verdict.pragma = " ".join(["#pragma omp simd", *verdict.clauses.render()])
    verdict.notes.append("innermost loop with independent iterations: vectorised with simd")
    floats = float_reductions(p.loop, p.decision)
    if floats:
        verdict.notes.append(simd_reduction_note(floats))
    return True


def too_little_work(scope: NestScope, p: Planned) -> bool:
    """A loop whose work per entry is below `min_work` gets no directive: the
    threads would cost more than they save. States its trip count and work."""
    decision, verdict = p.decision, p.verdict
    if decision.facts is not None and not decision.facts.refs and not decision.facts.calls:
        verdict.reasons.append(loopfacts.TooSmall(work=0))
        return True
    verdict.trip_count = trip_count(decision.canonical) if decision.canonical else None
    verdict.work = estimates.work(decision, p.outer, scope.ctx.canonical)
    if verdict.work is not None and verdict.work < scope.min_work:
        verdict.reasons.append(estimates.too_small(verdict.work, p.outer, p.enclosing))
        simd_reduction(scope, p)
        return True
    return False


def simd_reduction(scope: NestScope, p: Planned) -> bool:
    """A floating-point reduction loop that gets no threads (too little work
    per entry) is vectorised with `#pragma omp simd reduction(...)`: -O3
    keeps its additions in order and cannot vectorise it (see
    `float_reductions`)."""
    if not float_reductions(p.loop, p.decision) or id(p.loop) in scope.collapsed:
        return False
    verdict = p.verdict
    verdict.clauses = replace(verdict.clauses, simd=True)
    verdict.pragma = simd_pragma(verdict.clauses)
    verdict.notes.append(simd_reduction_note(float_reductions(p.loop, p.decision)))
    return True


def simd_pragma(clauses: loopfacts.Clauses) -> str:
    """`#pragma omp simd` with the clauses `simd` takes of a loop's: private,
    lastprivate and reductions (no schedule, no firstprivate)."""
    kept = loopfacts.Clauses(private=clauses.private, lastprivate=clauses.lastprivate, reductions=clauses.reductions)
    return " ".join(["#pragma omp simd", *kept.render()])


def parallel_for(scope: NestScope, p: Planned) -> bool:
    """`#pragma omp parallel for` with its clauses, the data the loop would
    move to a device, and an interchange (and tiling) of the nest below it."""
    verdict, decision = p.verdict, p.decision
    collapsed, merged_private = collapse(scope, p)
    private = verdict.clauses.private
    if collapsed > 1:
        private = tuple(n for n in merged_private if n not in verdict.clauses.lastprivate)
    firstprivate = _pointer_copies(decision)
    if firstprivate:
        verdict.notes.append(
            f"firstprivate({', '.join(firstprivate)}): each thread keeps its own copy of the pointers and "
            "sizes, so byte-sized stores cannot make the compiler reload them (and stop vectorising)"
        )
    verdict.clauses = loopfacts.Clauses(
        private=private,
        firstprivate=firstprivate,
        lastprivate=verdict.clauses.lastprivate,
        reductions=verdict.clauses.reductions,
        collapse=collapsed,
        schedule=_schedule(scope, p),
    )
    checked = verdict.runtime_check
    verdict.pragma = " ".join(["#pragma omp parallel for", *verdict.clauses.render(),
                               *([checked.clause()] if checked else [])])
    offload_data(scope, verdict, decision)
    swap = interchange(scope, p)
    if swap is not None:
        verdict.rewrites.append(swap)
        if collapsed == 1:
            tile(scope, p)
    return True


#: The policies in the order the planner tries them; the first that returns
#: True settles the loop.
IN_ORDER = (existing_pragma, macro_loop, serial, undecided, inside_parallel, too_little_work, parallel_for)


# ------------------------------------------------------ parts of parallel for


def collapse(scope: NestScope, p: Planned) -> tuple[int, tuple[str, ...]]:
    """collapse(n) over the perfect band of parallel loops starting here, when
    the loop has too few iterations to share; n and the band's private names."""
    depth, private = _perfect_band(scope, p)
    verdict = p.verdict
    verdict.collapse_max = depth
    n = 1
    if depth > 1 and verdict.trip_count is not None and verdict.trip_count < _COLLAPSE_WHEN_TRIPS_BELOW:
        n = depth
        verdict.notes.append(f"only {verdict.trip_count} outer iterations: collapse({n}) gives threads more to share")
    _mark_collapsed(scope, p.loop, n)
    return n, private


def offload_data(scope: NestScope, verdict: loopfacts.Verdict, decision: Decision) -> None:
    """The arrays this loop would move to a device, with their sections."""
    forms = [decision.canonical] + [
        scope.ctx.canonical(l) for l in {id(l): l for r in decision.facts.refs for l in r.loops}.values()
        if isinstance(l, ir.For)
    ]
    dims = datamap.dims_of([f for f in forms if isinstance(f, CanonicalLoop)])
    uses = datamap.data_uses(
        decision.facts.refs, dims, lambda var: var.is_restrict or distinct_object(var, scope.ctx)
    )
    if isinstance(uses, str):
        verdict.data_problem = uses
    else:
        verdict.data = uses


def interchange(scope: NestScope, p: Planned) -> loopfacts.Rewrite | None:
    """Swap the innermost two loops of a perfect nest when the inner one then
    walks memory contiguously (matrix product i-j-k -> i-k-j).

    Legal when the loop moved inward carries no dependence: every dependence
    then has `=` at that level, and swapping keeps its direction positive.
    """
    chain = [p.loop]
    while isinstance(chain[-1], ir.For):
        inner = _sole_loop(chain[-1].body)
        if not isinstance(inner, ir.For):
            break
        chain.append(inner)
    if len(chain) < 3 or p.decision.facts is None:
        # with two loops the swap would move the parallel loop itself inward
        return None
    upper, lower = chain[-2], chain[-1]
    forms = [scope.ctx.canonical(l) for l in chain]
    if not all(isinstance(f, CanonicalLoop) for f in forms):
        return None
    upper_form, lower_form = forms[-2], forms[-1]
    if upper_form.var in names_in(lower_form.start) | names_in(lower_form.bound):
        return None  # not rectangular: the inner bounds depend on the outer counter
    refs = [r for r in p.decision.facts.refs if r.subscripts and lower in r.loops]
    now = sum(_unit_stride(r, lower_form.counter) for r in refs)
    swapped = sum(_unit_stride(r, upper_form.counter) for r in refs)
    if swapped <= now:
        return None
    chain_outer = list(p.outer) + [f for f in forms[:-2]]
    upper_decision = decide(upper, chain_outer, list(p.enclosing) + chain[:-2], scope.ctx)
    if upper_decision.parallel is not True or upper_decision.reductions:
        return None
    reason = (
        f"innermost loop over {upper_form.counter} walks memory contiguously in {swapped} of "
        f"{len(refs)} accesses (over {lower_form.counter}: {now}); the {upper_form.counter} loop "
        "carries no dependence, so the swap is legal"
    )
    depth = len(p.enclosing) + len(chain)
    return loopfacts.Rewrite("interchange", scope.loop_model(upper, depth - 2), scope.loop_model(lower, depth - 1), reason)


def tile(scope: NestScope, p: Planned) -> None:
    """Tile the whole nest when its arrays outgrow the cache.

    Called only after a legal interchange: the parallel loop and the loop
    moved inward carry no dependence, so every dependence is `=` in all
    but one loop of the band, which makes the band fully permutable.
    """
    chain = [p.loop]
    while len(chain) < _MAX_TILE_DEPTH and isinstance(_sole_loop(chain[-1].body), ir.For):
        chain.append(_sole_loop(chain[-1].body))
    footprint = _footprint(p.decision)
    if footprint is not None and footprint < _CACHE_BYTES:
        return
    sizes = ", ".join(str(_TILE) for _ in chain)
    p.verdict.tile = f"#pragma omp tile sizes({sizes})"
    size = "unknown until run time" if footprint is None else f"about {footprint // 2**20} MiB"
    p.verdict.notes.append(
        f"tile sizes({sizes}): the arrays ({size}) outgrow the cache, and the nest is fully "
        "permutable (every dependence is = in all loops but one)"
    )
    for inner in chain[1:]:
        scope.collapsed.add(id(inner))  # no simd inside the tiled band


# ------------------------------------------------------------ serial rewrites


def recurrence_rewrite(scope: NestScope, p: Planned) -> bool:
    """A loop serial only through an unsigned affine recurrence: parallel by
    the jump-ahead rewrite (recurrence.py), when it has enough work."""
    decision = p.decision
    if decision.facts is None:
        return False
    found = recurrence.affine_recurrence(p.loop, decision.canonical, decision.reasons,
                                         decision.facts.address_taken, _state_live_after(scope, p))
    if found is None or not _enough_work(scope, p):
        return False
    p.verdict.recurrence = replace(found, directive=recurrence.directive(found, p.verdict.clauses))
    p.verdict.notes.append(found.text())
    return True


def scan_rewrite(scope: NestScope, p: Planned) -> bool:
    """A loop serial only through a running sum or a first-order linear
    recurrence: parallel by the two-pass scan (prefixscans.py), when it has enough work."""
    decision = p.decision
    if decision.facts is None:
        return False
    found = prefixscans.scan_of(p.loop, decision.canonical, decision.reasons, decision.facts.address_taken,
                          _state_live_after(scope, p), p.verdict.clauses)
    if found is None or not _enough_work(scope, p):
        return False
    p.verdict.scan = found
    p.verdict.notes.append(found.text())
    return True


def wavefront_rewrite(scope: NestScope, p: Planned) -> bool:
    """A 2-deep nest serial only through uniform, non-negative dependence
    distances: parallel by the pipelined rewrite (wavefront.py), when it has
    enough work. The loop's reasons stay: it is serial as written."""
    decision = p.decision
    inner = _sole_loop(p.loop.body)
    if decision.facts is None or decision.canonical is None or not isinstance(inner, ir.For):
        return False
    if not isinstance(scope.ctx.canonical(inner), CanonicalLoop):
        return False
    inner_decision = decide(inner, p.outer + [decision.canonical], p.enclosing + [p.loop], scope.ctx)
    found = wavefront.wavefront(decision, inner, inner_decision)
    if isinstance(found, str) or not _enough_work(scope, p):
        return False
    p.verdict.wavefront = found
    p.verdict.notes.append(found.text())
    return True


#: Rewrites that run a serial loop in parallel, tried in order outside any
#: parallel region; the first that applies is the loop's plan.
SERIAL_REWRITES = (recurrence_rewrite, scan_rewrite, wavefront_rewrite)


def _state_live_after(scope: NestScope, p: Planned) -> bool:
    """The scalar the loop carries (its ScalarDependence) is read after the loop."""
    state = next((r.var for r in p.decision.reasons if isinstance(r, loopfacts.ScalarDependence)), None)
    var = next((k.var for k in {r.key for r in p.decision.facts.refs} if str(k) == state and not k.fields), None)
    return var is not None and scope.ctx.events.live_after(var, p.loop, p.enclosing)


def _enough_work(scope: NestScope, p: Planned) -> bool:
    """The rewritten loop pays for its threads (or its work is not known);
    then its trip count and work go on the verdict."""
    work = estimates.work(p.decision, p.outer, scope.ctx.canonical)
    if work is not None and work < scope.min_work:
        return False
    p.verdict.trip_count = trip_count(p.decision.canonical)
    p.verdict.work = work
    return True


# ------------------------------------------------------------------ helpers


def _perfect_band(scope: NestScope, p: Planned) -> tuple[int, tuple[str, ...]]:
    """How many perfectly nested, rectangular, parallel loops start here, and their private names."""
    loop, decision = p.loop, p.decision
    depth = 1
    private = list(decision.private)
    counters = {decision.canonical.counter} if decision.canonical else set()
    current, current_decision = loop, decision
    chain_outer, chain_enclosing = list(p.outer), list(p.enclosing)
    while depth < _MAX_COLLAPSE and isinstance(current, ir.For):
        inner = _sole_loop(current.body)
        if not isinstance(inner, ir.For):
            break
        form = scope.ctx.canonical(inner)
        if not isinstance(form, CanonicalLoop):
            break
        bound_names = {v.name for v in names_in(form.start) | names_in(form.bound)}
        if bound_names & (counters | {v.name for v in written_vars(loop.body)} - {form.counter}):
            break
        chain_outer = chain_outer + [current_decision.canonical]
        chain_enclosing = chain_enclosing + [current]
        inner_decision = decide(inner, chain_outer, chain_enclosing, scope.ctx)
        # under the outer loop's run-time check, the inner loop's aliasing is checked too
        behind_check = decision.runtime_check is not None and inner_decision.only_aliasing
        if (inner_decision.parallel is not True and not behind_check) or set(inner_decision.reductions) != set(decision.reductions):
            break
        if inner_decision.lastprivate:
            break
        private.extend(n for n in inner_decision.private if n not in private)
        private = [n for n in private if n != form.counter]
        counters.add(form.counter)
        depth += 1
        current, current_decision = inner, inner_decision
    return depth, tuple(private)


def _mark_collapsed(scope: NestScope, loop: ir.LoopStmt, collapse: int) -> None:
    """Loops folded into a collapse(n) take no pragma of their own."""
    inner = loop
    for _ in range(collapse - 1):
        inner = _sole_loop(inner.body) if isinstance(inner, ir.LoopStmt) else None
        if inner is None:
            return
        scope.collapsed.add(id(inner))


def _schedule(scope: NestScope, p: Planned) -> str | None:
    facts, canonical = p.decision.facts, p.decision.canonical
    if facts is None or canonical is None:
        return None
    counter = canonical.var
    # chunk 1 is never used: on cheap iterations its dispatch cost and the
    # false sharing of neighbouring writes made loops 2-4x slower than serial
    if facts.irregular_loops:
        return "guided"
    for s in p.loop.body.walk():
        if isinstance(s, ir.For) and s is not p.loop:
            form = scope.ctx.canonical(s)
            if isinstance(form, CanonicalLoop) and counter in names_in(form.start) | names_in(form.bound):
                if _only_remainders(form, counter.name):
                    continue  # `j = 1 + (i + c) % 2`: every row has nearly the same trips
                # triangular: small cyclic chunks balance it; bounds read
                # from data (CSR row pointers) vary unpredictably
                affine = all(to_affine(end, quasi=True) is not None for end in (form.start, form.bound))
                return "static, 16" if affine else "guided"
    return None


def _only_remainders(form: CanonicalLoop, counter: str) -> bool:
    """The inner loop's start and bound depend on `counter` only through
    `e % c` terms, which stay within (-c, c): the trip count does not grow
    or shrink with the counter (a red-black sweep), so rows are balanced."""
    for end in (form.start, form.bound):
        value = to_affine(end, quasi=True)
        if value is None or counter in value.coeffs():
            return False
        if any(term.op != "%" and counter in term.dividend.coeffs() for term, _ in value.quasi):
            return False
    return True


def _footprint(decision: Decision) -> int | None:
    """Bytes of the fixed-size arrays the loop touches; None if any is not fixed."""
    total = 0
    seen = set()
    for ref in decision.facts.refs if decision.facts else ():
        var = ref.key.var
        if ref.subscripts is None or var in seen:
            continue
        seen.add(var)
        if not var.array_dims or any(d is None for d in var.array_dims) or var.kind == "param":
            return None
        elements = 1
        for d in var.array_dims:
            elements *= d
        total += elements * 8
    return total


def _pointer_copies(decision: Decision) -> tuple[str, ...]:
    """Read-only pointer variables used as array bases and read-only numeric
    scalars (sizes, bounds), when the loop stores bytes: a byte store may alias
    any object, the shared variables included, so clang reloads them on every
    iteration and stops vectorising; a private copy cannot be aliased."""
    facts = decision.facts
    if facts is None:
        return ()
    written = [r.key.var for r in facts.refs if r.is_write and r.subscripts is not None]
    if not any(any(t in var.type for t in _BYTE_TYPES) for var in written):
        return ()
    read_only = [r.key.var for r in facts.refs if not r.key.fields and r.key.var not in facts.writes
                 and r.key.var not in facts.declared and r.key.var not in facts.address_taken]
    counter = decision.canonical.var if decision.canonical else None
    bases = {r.key.var.name for r in facts.refs if r.subscripts is not None and not r.key.fields
             and r.key.var.is_pointer and r.key.var in read_only}
    sizes = {var.name for var in read_only if var.is_scalar_number and var.kind in ("param", "local")
             and var is not counter and not var.is_volatile}
    return tuple(sorted(bases | sizes))


def _behind_check(verdict: loopfacts.Verdict, check: loopfacts.RuntimeAliasCheck) -> None:
    """A loop whose only obstacle is possible aliasing, parallel behind an
    if() that tests the pointers' ranges when it starts."""
    verdict.parallel = True
    verdict.runtime_check = check
    covered = [r for r in verdict.reasons if check.covers(r)]
    verdict.reasons = [r for r in verdict.reasons if not check.covers(r)]
    verdict.notes.append(check.text())
    for reason in covered:  # what the program would have to show to need no check
        if isinstance(reason, loopfacts.PossibleAlias) and reason.missing:
            verdict.notes.append(f"not proven without the check: {reason.written} and {reason.other}: {reason.missing}")


#: reductions -O3 keeps in order on floating-point values (integer ones it vectorises itself)
_REASSOCIATED_OPS = ("+", "-", "*")


def float_reductions(loop: ir.LoopStmt, decision: Decision) -> tuple[loopfacts.Reduction, ...]:
    """The floating-point `+`/`*` scalar reductions of an innermost parallel
    loop that `simd` could vectorise (`_simd_candidate`); () when there are
    none. Without -ffast-math, -O3 adds them in the written order, one
    latency-bound operation after the other; `simd reduction(...)` lets the
    compiler keep one partial result per vector lane."""
    if decision.parallel is not True or not decision.reductions or not _simd_candidate(loop, decision):
        return ()
    scalars = {str(r.key): r.key.var for r in decision.facts.refs if r.subscripts is None and not r.key.fields}
    return tuple(r for r in decision.reductions
                 if r.section is None and r.op in _REASSOCIATED_OPS and getattr(scalars.get(r.var), "is_float", False))


def simd_reduction_note(reductions: tuple[loopfacts.Reduction, ...]) -> str:
    """Why a floating-point reduction gets `simd`, and what that changes."""
    names = ", ".join(f"{r.var} ({r.op})" for r in reductions)
    return (f"a floating-point reduction ({names}): -O3 keeps its operations in the written order and does not "
            "vectorise it; simd reassociates them into vector lanes, so results may differ in the last digits "
            "(checked within the output tolerance)")


def _simd_candidate(loop: ir.LoopStmt, decision: Decision) -> bool:
    """An innermost canonical loop, iterations independent, only pure calls,
    more than a handful of iterations."""
    if not isinstance(loop, ir.For) or decision.canonical is None or decision.facts is None:
        return False
    if any(isinstance(s, ir.LoopStmt) for s in loop.body.walk()):
        return False
    if any(call.kind != "pure" for call in decision.facts.calls):
        return False
    trips = trip_count(decision.canonical)
    return trips is None or trips >= 8


def _unit_stride(ref, counter: str) -> bool:
    """The counter moves the access by one element of its last dimension."""
    *leading, last = ref.subscripts
    poly = to_poly(last)
    if poly is None or any(counter in m for e in leading for m in (to_poly(e) or {(counter,): 1})):
        return False
    return poly.get((counter,), 0) == 1 and not any(counter in m and len(m) > 1 for m in poly)


def _sole_loop(body: ir.Stmt) -> ir.Stmt | None:
    while isinstance(body, ir.Block) and len(body.stmts) == 1:
        body = body.stmts[0]
    return body if isinstance(body, ir.LoopStmt) else None


# ---------------------------------------------------------- existing pragmas


def _has_check(directive: Directive, check: loopfacts.RuntimeAliasCheck | None) -> bool:
    """The pragma's if() is the test ompilot would put there (blanks aside)."""
    if check is None:
        return False
    wanted = "".join(check.clause().split())
    return any("".join(c.render().split()) == wanted for c in directive.clauses if c.name == "if")


def _collapse_of(directive: Directive) -> int:
    found = directive.clause("collapse")
    values = found.items() if found else ()
    try:
        return int(values[0]) if values else 1
    except ValueError:
        return 1


def _associated_counters(scope: NestScope, loop: ir.LoopStmt, directive: Directive) -> frozenset[str]:
    """The counters of the loops a `collapse(n)` or `ordered(n)` associates with the
    directive besides the first: predetermined private in OpenMP."""
    depth = max(_collapse_of(directive), _clause_number(directive, "ordered"))
    names = set()
    inner: ir.Stmt | None = loop
    for _ in range(depth - 1):
        inner = _sole_loop(inner.body) if isinstance(inner, ir.LoopStmt) else None
        if not isinstance(inner, ir.For):
            break
        form = scope.ctx.canonical(inner)
        if isinstance(form, CanonicalLoop):
            names.add(form.counter)
    return frozenset(names)


#: Clauses of a `parallel` directive that give each thread its own copy of the names they list.
_REGION_PRIVATE_CLAUSES = ("private", "firstprivate", "reduction", "copyin")


def _worksharing_loop(directive: Directive) -> bool:
    """`for` or `loop` alone: the team of an enclosing region (or of the caller) shares its iterations."""
    names = set(directive.names)
    return bool(names & {"for", "loop"}) and not names & {"parallel", "simd", "taskloop", "distribute", "teams", "target"}


def _region_private(scope: NestScope, loop: ir.LoopStmt, directive: Directive) -> frozenset[str]:
    """What each thread of the team running a worksharing loop (`for`, `loop`,
    without `parallel` or `simd`) has its own copy of (OpenMP 6.0, 7.1.1): the
    non-static locals declared inside the innermost enclosing `parallel` region
    of the function and the names its private clauses list; when no `parallel`
    of the function encloses the loop (an orphaned loop), every non-static local
    and parameter of the function, since each thread that calls it has its own
    frame. A conflict on those is no race between threads."""
    if not _worksharing_loop(directive):
        return frozenset()
    regions = [c for c in scope.constructs.around(scope.function, loop.info.line)
               if c.kind.split()[:1] == ["parallel"] and c.stmt is not None]
    if not regions:
        body = scope.function.body
        declared = [s.var for s in body.walk() if isinstance(s, ir.Decl)] if body is not None else []
        return frozenset(v.name for v in [*scope.function.params, *declared] if v.kind in ("local", "param"))
    region = regions[-1]
    private = {name for clause in _REGION_PRIVATE_CLAUSES for name in region.directive.names_in(clause)}
    private |= {s.var.name for s in region.stmt.walk() if isinstance(s, ir.Decl) and s.var.kind == "local"}
    return frozenset(private)


def _one_thread_only(reason: loopfacts.Reason, spans: tuple[tuple[int, int], ...]) -> bool:
    """Every line the reason names lies in a branch taken only when the team has one
    thread (oneteam.py): nothing there meets another thread. An early exit stays."""
    if isinstance(reason, loopfacts.EarlyExit):
        return False
    lines = [getattr(reason, f.name) for f in fields(reason) if f.name.endswith("line")]
    lines = [line for line in lines if isinstance(line, int)]
    return bool(spans and lines) and all(any(a <= line <= b for a, b in spans) for line in lines)


def _guards(scope: NestScope, directive: Directive, loop: ir.LoopStmt) -> constructs.AccessGuards:
    """What protects the accesses of a loop under the user's directive."""
    ordered = "ordered" in directive.names or directive.clause("ordered") is not None
    default = directive.clause("default")
    private_default = default is not None and "".join((default.arguments or "").split()) in ("private", "firstprivate")
    return constructs.AccessGuards(scope.constructs, scope.function, ordered,
                                   shares_outer_locals="parallel" in directive.names and not private_default,
                                   private_default=private_default,
                                   one_thread=oneteam.one_thread_spans(scope.constructs, scope.function, loop, directive))


def _clause_number(directive: Directive, name: str) -> int:
    found = directive.clause(name)
    values = found.items() if found else ()
    try:
        return int(values[0]) if values else 1
    except ValueError:
        return 1


#: I/O calls that read or open streams rather than write output: doubts, not interleaved output.
_INPUT_CALLS = frozenset({"scanf", "fscanf", "sscanf", "fread", "fgets", "getchar", "fgetc", "getc", "read",
                          "fopen", "fclose", "operator>>"})


def _simd_only(directive: Directive) -> bool:
    """`simd` without a part that shares iterations between threads."""
    return "simd" in directive.names and not {"for", "distribute", "taskloop", "loop", "parallel"} & set(directive.names)


def _is_race(reason: loopfacts.Reason, directive: Directive, calls: dict) -> bool:
    """A proven obstacle that is a race the analysis can show (two accesses, and
    why they meet), as opposed to a doubt: output, hidden library state and a
    non-canonical loop are not data races the pragma causes."""
    if not reason.proven or isinstance(reason, (loopfacts.EarlyExit, loopfacts.NonCanonicalLoop)):
        return False
    if isinstance(reason, loopfacts.SideEffectCall):
        effect = calls.get((reason.name, reason.line))
        return effect is None or effect.kind not in ("io", "hidden-state", "unknown")
    if isinstance(reason, loopfacts.CarriedDependence) and _simd_only(directive):
        safelen = directive.clause("safelen")
        # at most safelen consecutive iterations run together: farther ones are ordered
        return not (safelen and reason.distance is not None and abs(reason.distance) >= _clause_number(directive, "safelen"))
    return True


def _access_lines(decision: Decision, name: str) -> tuple[int, ...]:
    """A write of `name` and another access of it (the write again when it is the only one)."""
    refs = [r for r in (decision.facts.refs if decision.facts else ()) if str(r.key) == name]
    writes = [r.line for r in refs if r.is_write]
    if not writes:
        return ()
    others = [r.line for r in refs if r.line != writes[0]]
    return (writes[0], others[0] if others else writes[0])


def _lines_of(reason: loopfacts.Reason, decision: Decision) -> tuple[int, ...]:
    if isinstance(reason, loopfacts.CarriedDependence):
        return (reason.source_line, reason.sink_line)
    if isinstance(reason, loopfacts.IndexCollision):
        return (reason.line, reason.other_line)
    if isinstance(reason, loopfacts.SharedStorageRace):
        return (reason.first_line, reason.second_line)
    if isinstance(reason, loopfacts.ScalarDependence):
        return _access_lines(decision, reason.var) or (reason.read_line, reason.read_line)
    if isinstance(reason, (loopfacts.InductionVariable, loopfacts.ConditionalLastValue)):
        return _access_lines(decision, reason.var) or (reason.line, reason.line)
    if isinstance(reason, loopfacts.SideEffectCall):
        return (reason.line, reason.line)
    return ()


def _cause(reason: loopfacts.Reason, lines: tuple[int, ...]) -> str:
    """The reason as a race: a shared scalar says where threads meet on it."""
    var = getattr(reason, "var", None)
    if var is None or not lines or not isinstance(
            reason, (loopfacts.ScalarDependence, loopfacts.InductionVariable, loopfacts.ConditionalLastValue)):
        return reason.text()
    first, second = lines[0], lines[-1]
    meet = (f"threads write it at line {first} at the same time" if first == second
            else f"one thread writes it at line {first} while another reads or writes it at line {second}")
    return f"{reason.text()}; {var} is shared: {meet}"


def _always_shared(scope: NestScope, p: Planned) -> frozenset[str]:
    """Objects of the loop every thread of the enclosing `parallel` region (in the same
    function, with more than one thread) shares: globals and statics that are not
    threadprivate and that no enclosing construct privatises."""
    around = scope.constructs.around(scope.function, p.loop.info.line)
    team = [c for c in around if "parallel" in c.directive.names]
    if not team or any(c.directive.clause("if") is not None or c.directive.clause("num_threads") is not None
                       for c in team):
        return frozenset()  # an orphaned `for` may run in a team of one thread
    if any("".join((c.directive.clause("default").arguments or "").split()) in ("private", "firstprivate")
           for c in around if c.directive.clause("default") is not None):
        return frozenset()
    privatised = {name for c in around for clause in ("private", "firstprivate", "lastprivate", "reduction", "linear",
                                                       "copyin") for name in c.directive.names_in(clause)}
    refs = p.decision.facts.refs if p.decision.facts else ()
    return frozenset(str(r.key) for r in refs if r.key.var.kind in ("global", "static")
                     and r.key.var.name not in scope.constructs.threadprivate and r.key.var.name not in privatised)


def _races(directive: Directive, decision: Decision,
           check: loopfacts.RuntimeAliasCheck | None = None,
           always_shared: frozenset[str] = frozenset()) -> tuple[list[loopfacts.Reason], list[loopfacts.Reason]]:
    """What makes an existing loop pragma wrong (races the analysis can show:
    errors), and what it only cannot prove safe (warnings). Reasons the
    pragma's own if() rules out (`check`) are neither. Under a bare `for`,
    a missing private/reduction is shown only for what the team shares
    (`_team_shared`: scalars; of globals and statics, `always_shared` ones)."""
    text = directive.text
    calls = {(c.name, c.line): c for c in decision.facts.calls} if decision.facts else {}
    races: list[loopfacts.Reason] = []
    doubts: list[loopfacts.Reason] = []
    for r in decision.reasons:
        if isinstance(r, loopfacts.EarlyExit) or (check is not None and check.covers(r)):
            continue
        if _is_race(r, directive, calls):
            lines = _lines_of(r, decision)
            races.append(loopfacts.RaceInPragma(pragma=text, cause=_cause(r, lines), lines=lines))
        elif (isinstance(r, loopfacts.SideEffectCall) and getattr(calls.get((r.name, r.line)), "kind", "") == "io"
              and r.name.split("::")[-1] not in _INPUT_CALLS):
            doubts.append(loopfacts.OutputMayInterleave(pragma=text, name=r.name, line=r.line))
        elif not (r.proven and _simd_only(directive) and isinstance(r, loopfacts.CarriedDependence)):
            doubts.append(loopfacts.PragmaNotProven(pragma=text, cause=r.text()))
    if "parallel" not in directive.names and not _worksharing_loop(directive):
        return races, doubts  # simd: lanes of one thread, not a team sharing the variable
    counter = decision.canonical.var.name if decision.canonical and decision.canonical.var else None
    shared = _team_shared(directive, decision, always_shared)
    for name in filter(shared, decision.private):
        races.append(loopfacts.RaceInPragma(
            pragma=text, cause=f"{name} is shared, but every iteration writes it{_at(decision, name)}: it needs private({name})",
            lines=_access_lines(decision, name)))
    for name in filter(shared, decision.lastprivate):
        if name != counter:
            races.append(loopfacts.RaceInPragma(
                pragma=text,
                cause=f"{name} is shared, but every iteration writes it{_at(decision, name)}: it needs lastprivate({name})",
                lines=_access_lines(decision, name)))
    for r in (r for r in decision.reductions if shared(r.var)):
        races.append(loopfacts.RaceInPragma(
            pragma=text, cause=f"{r.var} is updated by every iteration{_at(decision, r.var)} without reduction({r.op}: {r.var})",
            lines=_access_lines(decision, r.var)))
    return races, doubts


def _team_shared(directive: Directive, decision: Decision, always_shared: frozenset[str] = frozenset()):
    """Which of the loop's private, lastprivate and reduction candidates the
    threads really share: all under a combined `parallel` loop; under a bare
    worksharing loop only scalars, since an array's element may be chosen by
    a per-thread value of the region (`partial[slot]` with slot set from the
    thread number), and of the globals and statics only `always_shared` ones
    (an orphaned `for`, or a region with if/num_threads, may run in a team of one)."""
    if "parallel" in directive.names:
        return lambda name: True
    refs = decision.facts.refs if decision.facts else ()
    arrays = {str(r.key) for r in refs if r.subscripts is not None}
    statics = {str(r.key) for r in refs if r.key.var.kind in ("global", "static")}
    return lambda name: name not in arrays and (name not in statics or name in always_shared)


def _at(decision: Decision, name: str) -> str:
    """" (line 19)" or " (lines 19 and 20)": where the accesses that meet are."""
    lines = sorted(set(_access_lines(decision, name)))
    if not lines:
        return ""
    return f" (line {lines[0]})" if len(lines) == 1 else f" (lines {lines[0]} and {lines[1]})"


def _fix(directive: Directive, decision: Decision) -> str | None:
    """The racy pragma made right: its missing clauses added, or "" (remove
    it) when the loop carries a proven dependence."""
    calls = {(c.name, c.line): c for c in decision.facts.calls} if decision.facts else {}
    if any(_is_race(r, directive, calls) for r in decision.reasons):
        return ""
    worksharing = _worksharing_loop(directive)  # a `for` of an enclosing region's team
    if not ("parallel" in directive.names or worksharing) or decision.parallel is not True or "\\" in directive.text:
        return None
    if worksharing and decision.reductions:
        return None  # a reduction's variable must be shared in the enclosing region, which this does not check
    counter = decision.canonical.var.name if decision.canonical and decision.canonical.var else None
    added = []
    if decision.private:
        added.append(Clause("private", ", ".join(decision.private)))
    lastprivate = [name for name in decision.lastprivate if name != counter]
    if lastprivate:
        added.append(Clause("lastprivate", ", ".join(lastprivate)))
    added += [Clause.parse(r.render()) for r in decision.reductions]
    if not added:
        return None
    return replace(directive, clauses=directive.clauses + tuple(added)).text
