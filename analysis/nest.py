"""Loop nests of one function: which loop gets the pragma, with what clauses.

The outermost parallel loop with enough work gets `parallel for`; loops
inside it get none (no nested parallel regions); perfect rectangular nests
may be collapsed; triangular ones get cyclic chunks of 16. Loops under an
existing OpenMP pragma are checked for races instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import datamap, hoisting, ir, loopfacts, pragmas, recurrence, scans
from .affine import Affine
from .decide import Decision, FunctionContext, decide, distinct_object
from .loops import CanonicalLoop, names_in, to_affine, to_poly, trip_count, written_vars

_COLLAPSE_WHEN_TRIPS_BELOW = 64
_MAX_COLLAPSE = 3

# What threads cost, in the unit of `_work` (one reference, array element or
# scalar, of the loop body). Measured with benchmarks/fork_join_cost.py on the
# 2-core development machine (clang-19 -O3 -fopenmp, libomp, 2 threads): with
# the machine idle, an empty `parallel for` entered 200000 times in a row
# costs 1.26 us per entry, an `omp for` inside a running region 0.74 us (its
# barrier), an `omp single` 0.45 us; the serial kernels (a triad, a reversed
# dot product, an LU row update, a 5-point stencil) take 0.110 ns per
# estimated operation (the median; the kinds range from 0.027 to 0.33).
# Under load (3-5 other processes on the 2 cores) the three costs grew 4-5x.
# MIN_PARALLEL_WORK (analysis/scan.py, 20000) is about where a second thread,
# saving half the work, saves one fork/join.
FORK_JOIN_OPERATIONS = 11_500
BARRIER_OPERATIONS = 6_700
SINGLE_OPERATIONS = 4_100
#: the thread count the estimates assume (the machines ompilot is tuned on)
ESTIMATE_THREADS = 2


@dataclass(eq=False)
class _Planned:
    loop: ir.LoopStmt
    verdict: loopfacts.Verdict
    decision: Decision
    outer: list
    enclosing: list[ir.LoopStmt]


class NestPlanner:
    def __init__(self, path, function, ctx: FunctionContext, lines, pragma_lines, min_work):
        self.path = path
        self.function = function
        self.ctx = ctx
        self.lines = lines
        self.pragma_lines = pragma_lines
        self.min_work = min_work
        self.verdicts: list[loopfacts.Verdict] = []
        self.collapsed: set[int] = set()  # ids of loops folded into an outer collapse(n)
        self.user_regions: set[int] = set()  # lines of loops under the user's own pragmas

    def run(self) -> list[loopfacts.Verdict]:
        self.planned: list[_Planned] = []
        if self.function.body is not None:
            self._walk(self.function.body, [], [], None)
            self._hoist_regions()
            self._hoist_data()
        return self.verdicts

    def _walk(self, stmt: ir.Stmt, outer, enclosing, parallel_above: int | None) -> None:
        for loop in _direct_loops(stmt):
            verdict, decision = self._plan(loop, outer, enclosing, parallel_above)
            self.verdicts.append(verdict)
            self.planned.append(_Planned(loop, verdict, decision, list(outer), list(enclosing)))
            region = parallel_above
            if region is None and (verdict.pragma or verdict.recurrence or verdict.scan or _opens_region(verdict.existing)):
                region = loop.info.line
                if verdict.existing is not None:
                    self.user_regions.add(region)
            self._walk(loop.body, outer + [decision.canonical], enclosing + [loop], region)

    # ------------------------------------------------------------------ plan

    def _plan(self, loop, outer, enclosing, parallel_above) -> tuple[loopfacts.Verdict, Decision]:
        found = pragmas.pragma_above(self.lines, loop.info.line, self.pragma_lines)
        existing = pragmas.parse_pragma(found[1], found[0]) if found else None
        presets = {}
        if existing is not None:
            presets = dict(
                preset_private=pragmas.private_names(existing),
                preset_reductions=pragmas.reduction_names(existing),
            )
        decision = decide(loop, outer, enclosing, self.ctx, **presets)
        verdict = self._verdict(loop, decision, enclosing)
        if existing is not None:
            verdict.existing = existing
            verdict.races = _races(existing, decision)
            verdict.fix = _fix(existing, decision) if verdict.races else None
            if decision.parallel is None and _has_check(existing, decision.runtime_check):
                _behind_check(verdict, decision.runtime_check)  # the pragma's if() rules out the overlap
            self._mark_collapsed(loop, _collapse_of(existing))
            return verdict, decision
        if loop.info.in_macro:
            verdict.reasons.append(loopfacts.UnsupportedConstruct(what="a loop written inside a macro", line=loop.info.line))
            return verdict, decision
        checked = decision.runtime_check if decision.parallel is None else None
        if decision.parallel is False and parallel_above is None:
            self._recurrence(loop, decision, outer, enclosing, verdict)
        if decision.parallel is not True and (checked is None or parallel_above is not None):
            return verdict, decision  # no run-time check inside a parallel loop
        if checked is not None:
            _behind_check(verdict, checked)
        if parallel_above is not None:
            verdict.reasons.append(loopfacts.InsideParallel(outer_line=parallel_above))
            ours = parallel_above not in self.user_regions  # the user's own loops are theirs to tune
            if ours and id(loop) not in self.collapsed and _simd_candidate(loop, decision):
                verdict.clauses = loopfacts.Clauses(
                    private=verdict.clauses.private, lastprivate=verdict.clauses.lastprivate,
                    reductions=verdict.clauses.reductions, simd=True,
                )
                verdict.pragma = " ".join(["#pragma omp simd", *verdict.clauses.render()])
                verdict.notes.append("innermost loop with independent iterations: vectorised with simd")
            return verdict, decision
        if decision.facts is not None and not decision.facts.refs and not decision.facts.calls:
            verdict.reasons.append(loopfacts.TooSmall(work=0))
            return verdict, decision
        verdict.trip_count = trip_count(decision.canonical) if decision.canonical else None
        verdict.work = self._work(decision, outer)
        if verdict.work is not None and verdict.work < self.min_work:
            verdict.reasons.append(self._too_small(verdict.work, outer, enclosing))
            return verdict, decision
        self._finish(loop, decision, outer, enclosing, verdict)
        return verdict, decision

    def _recurrence(self, loop, decision: Decision, outer, enclosing, verdict: loopfacts.Verdict) -> None:
        """A loop serial only through an unsigned affine recurrence, or through a
        running sum or linear recurrence: parallel by the jump-ahead rewrite
        (recurrence.py) or the two-pass scan (scans.py), when it has enough work."""
        if decision.facts is None:
            return
        state = next((r.var for r in decision.reasons if isinstance(r, loopfacts.ScalarDependence)), None)
        var = next((k.var for k in {r.key for r in decision.facts.refs} if str(k) == state and not k.fields), None)
        live = var is not None and self.ctx.events.live_after(var, loop, enclosing)
        found = recurrence.affine_recurrence(loop, decision.canonical, decision.reasons,
                                             decision.facts.address_taken, live)
        scan = None if found else scans.scan_of(loop, decision.canonical, decision.reasons,
                                                decision.facts.address_taken, live, verdict.clauses)
        if found is None and scan is None:
            return
        work = self._work(decision, outer)
        if work is not None and work < self.min_work:
            return
        verdict.trip_count = trip_count(decision.canonical)
        verdict.work = work
        if scan is not None:
            verdict.scan = scan
            verdict.notes.append(scan.text())
            return
        verdict.recurrence = replace(found, directive=recurrence.directive(found, verdict.clauses))
        verdict.notes.append(found.text())

    def _too_small(self, work: int, outer, enclosing) -> loopfacts.TooSmall:
        if not enclosing:
            return loopfacts.TooSmall(work=work)
        return loopfacts.TooSmall(work=work, entries=_entries(outer), outer_line=enclosing[-1].info.line,
                              fork_join=FORK_JOIN_OPERATIONS)

    def _finish(self, loop, decision: Decision, outer, enclosing, verdict: loopfacts.Verdict) -> None:
        """Clauses, directive, data and rewrites of a loop that gets a directive."""
        collapse_max, merged_private = self._collapse(loop, decision, outer, enclosing)
        verdict.collapse_max = collapse_max
        collapse = 1
        if collapse_max > 1 and verdict.trip_count is not None and verdict.trip_count < _COLLAPSE_WHEN_TRIPS_BELOW:
            collapse = collapse_max
            verdict.notes.append(f"only {verdict.trip_count} outer iterations: collapse({collapse}) gives threads more to share")
        private = verdict.clauses.private
        self._mark_collapsed(loop, collapse)
        if collapse > 1:
            private = tuple(n for n in merged_private if n not in verdict.clauses.lastprivate)
        schedule = self._schedule(loop, decision)
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
            collapse=collapse,
            schedule=schedule,
        )
        checked = verdict.runtime_check
        verdict.pragma = " ".join(["#pragma omp parallel for", *verdict.clauses.render(),
                                   *([checked.clause()] if checked else [])])
        self._data(verdict, decision)
        rewrite = self._interchange(loop, decision, outer, enclosing)
        if rewrite is not None:
            verdict.rewrites.append(rewrite)
            if collapse == 1:
                self._tile(loop, decision, verdict)

    def _verdict(self, loop: ir.LoopStmt, decision: Decision, enclosing) -> loopfacts.Verdict:
        info = loop.info
        kind = {ir.For: "for", ir.RangeFor: "range-for", ir.While: "while", ir.DoWhile: "do"}[type(loop)]
        counter = decision.canonical.var.name if decision.canonical and decision.canonical.var else None
        model_loop = loopfacts.Loop(
            file=self.path, line=info.line, column=info.column, end_line=info.end_line, kind=kind,
            function=self.function.name, depth=len(enclosing), start_offset=info.start_offset,
            end_offset=info.end_offset, var=counter,
        )
        lastprivate = tuple(n for n in decision.lastprivate)
        return loopfacts.Verdict(
            loop=model_loop,
            parallel=decision.parallel,
            clauses=loopfacts.Clauses(
                private=tuple(decision.private),
                lastprivate=lastprivate,
                reductions=tuple(decision.reductions),
            ),
            reasons=list(decision.reasons),
            notes=list(decision.notes),
        )

    # ------------------------------------------------------------- estimates

    def _work(self, decision: Decision, outer) -> int | None:
        """Operations of one entry into the loop: trips x references per iteration.

        Bounds that move with an enclosing counter (triangular loops) are
        taken at that counter's midpoint, which gives the mean per entry for
        bounds linear in it.
        """
        if decision.facts is None or decision.canonical is None:
            return None
        values = _midpoints(outer)
        if values is None:
            values = {}
        trips = _trips(decision.canonical, values)
        if trips is None:
            return None
        middle = _midpoint(decision.canonical, values)
        if middle is not None:
            values[decision.canonical.counter] = middle
        per_iteration = 0.0
        for ref in decision.facts.refs:
            cost, inner_values = 1.0, dict(values)
            for inner in ref.loops:
                form = self.ctx.canonical(inner) if isinstance(inner, ir.For) else None
                n = _trips(form, inner_values) if isinstance(form, CanonicalLoop) else None
                if n is None:
                    return None
                cost *= max(n, 1)
                middle = _midpoint(form, inner_values)
                if middle is not None:
                    inner_values[form.counter] = middle
            per_iteration += cost
        per_iteration += 8 * len(decision.facts.calls)
        return int(round(trips * max(per_iteration, 1)))

    def _collapse(self, loop, decision: Decision, outer, enclosing) -> tuple[int, tuple[str, ...]]:
        """How many perfectly nested, rectangular, parallel loops start here."""
        depth = 1
        private = list(decision.private)
        counters = {decision.canonical.counter} if decision.canonical else set()
        current, current_decision = loop, decision
        chain_outer, chain_enclosing = list(outer), list(enclosing)
        while depth < _MAX_COLLAPSE and isinstance(current, ir.For):
            inner = _sole_loop(current.body)
            if not isinstance(inner, ir.For):
                break
            form = self.ctx.canonical(inner)
            if not isinstance(form, CanonicalLoop):
                break
            bound_names = {v.name for v in names_in(form.start) | names_in(form.bound)}
            if bound_names & (counters | {v.name for v in written_vars(loop.body)} - {form.counter}):
                break
            chain_outer = chain_outer + [current_decision.canonical]
            chain_enclosing = chain_enclosing + [current]
            inner_decision = decide(inner, chain_outer, chain_enclosing, self.ctx)
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

    def _tile(self, loop: ir.LoopStmt, decision: Decision, verdict: loopfacts.Verdict) -> None:
        """Tile the whole nest when its arrays outgrow the cache.

        Called only after a legal interchange: the parallel loop and the loop
        moved inward carry no dependence, so every dependence is `=` in all
        but one loop of the band, which makes the band fully permutable.
        """
        chain = [loop]
        while len(chain) < _MAX_TILE_DEPTH and isinstance(_sole_loop(chain[-1].body), ir.For):
            chain.append(_sole_loop(chain[-1].body))
        footprint = _footprint(decision)
        if footprint is not None and footprint < _CACHE_BYTES:
            return
        sizes = ", ".join(str(_TILE) for _ in chain)
        verdict.tile = f"#pragma omp tile sizes({sizes})"
        size = "unknown until run time" if footprint is None else f"about {footprint // 2**20} MiB"
        verdict.notes.append(
            f"tile sizes({sizes}): the arrays ({size}) outgrow the cache, and the nest is fully "
            "permutable (every dependence is = in all loops but one)"
        )
        for inner in chain[1:]:
            self.collapsed.add(id(inner))  # no simd inside the tiled band

    def _mark_collapsed(self, loop: ir.LoopStmt, collapse: int) -> None:
        """Loops folded into a collapse(n) take no pragma of their own."""
        inner = loop
        for _ in range(collapse - 1):
            inner = _sole_loop(inner.body) if isinstance(inner, ir.LoopStmt) else None
            if inner is None:
                return
            self.collapsed.add(id(inner))

    def _data(self, verdict: loopfacts.Verdict, decision: Decision) -> None:
        """The arrays this loop would move to a device, with their sections."""
        forms = [decision.canonical] + [
            self.ctx.canonical(l) for l in {id(l): l for r in decision.facts.refs for l in r.loops}.values()
            if isinstance(l, ir.For)
        ]
        dims = datamap.dims_of([f for f in forms if isinstance(f, CanonicalLoop)])
        uses = datamap.data_uses(
            decision.facts.refs, dims, lambda var: var.is_restrict or distinct_object(var, self.ctx)
        )
        if isinstance(uses, str):
            verdict.data_problem = uses
        else:
            verdict.data = uses

    # ------------------------------------------------------- hoisted regions

    def _hoist_regions(self) -> None:
        """A `#pragma omp parallel` region around each outermost serial loop
        whose body holds parallel loops, where it is safe (hoisting.py) and the
        estimate says its barriers cost less than forking on every iteration."""
        covered: set[int] = set()
        for p in list(self.planned):
            loop, verdict = p.loop, p.verdict
            if (verdict.pragma or verdict.existing or verdict.parallel is True or loop.info.in_macro
                    or any(id(e) in covered for e in p.enclosing) or p not in self.planned):
                continue
            if any(q.verdict.pragma or q.verdict.existing for q in self.planned if q.loop in p.enclosing):
                continue
            items = loop.body.stmts if isinstance(loop.body, ir.Block) else [loop.body]
            inners = {id(q.loop): hoisting.Inner(q.loop, q.verdict, q.decision) for q in self.planned
                      if any(q.loop is item for item in items) and self._shareable(q)}
            if not inners:
                continue
            if any(q.verdict.existing for q in self.planned if loop in q.enclosing):
                continue
            for inner in inners.values():
                if inner.verdict.data is None and inner.verdict.data_problem is None:
                    self._data(inner.verdict, inner.decision)  # what `nowait` is decided on
            with_pragma = {id(q.loop) for q in self.planned if q.verdict.pragma and id(q.loop) not in inners}
            plan = hoisting.plan_region(loop, p.decision, p.enclosing, inners, self.ctx, self.lines, with_pragma)
            if isinstance(plan, str):
                verdict.notes.append(f"no parallel region hoisted above this loop: {plan}")
                continue
            if self._hoist(p, plan, inners):
                covered.add(id(loop))

    def _shareable(self, q: _Planned) -> bool:
        """A parallel loop that may become a `#pragma omp for` of a hoisted region."""
        v = q.verdict
        if v.existing or q.decision.parallel is not True or q.loop.info.in_macro or id(q.loop) in self.collapsed:
            return False
        return all(isinstance(r, loopfacts.TooSmall) and r.work > 0 for r in v.reasons)

    def _hoist(self, p: _Planned, plan: hoisting.Plan, inners: dict[int, hoisting.Inner]) -> bool:
        """Cost the plan; when it pays, turn the inner loops into `omp for`."""
        fors = [s for s in plan.steps if s.role == "for"]
        singles = {s.group for s in plan.steps if s.role == "single"}
        barriers = len(fors) - len(plan.nowait) + sum(s.barrier_above for s in plan.steps)
        overhead = barriers * BARRIER_OPERATIONS + len(singles) * SINGLE_OPERATIONS
        alone = [i for i in inners.values() if i.verdict.pragma]
        overhead_alone = FORK_JOIN_OPERATIONS * len(alone)
        works = [i.verdict.work for i in inners.values()]
        work = None if None in works else sum(works)
        saved = 1 - 1 / ESTIMATE_THREADS
        if work is not None:
            gain = work * saved - overhead
            gain_alone = sum(i.verdict.work * saved - FORK_JOIN_OPERATIONS for i in alone)
            why = (f"the parallel loops do about {work} operations per iteration of this loop; barriers and "
                   f"singles in one region cost about {overhead}, a fork/join per loop about {overhead_alone}")
            if gain <= 0 or gain <= gain_alone:
                p.verdict.notes.append(f"no parallel region hoisted above this loop: {why}")
                return False
        else:
            why = (f"sizes known only at run time; barriers and singles in one region cost about {overhead} "
                   f"operations per iteration of this loop, a fork/join per loop about {overhead_alone}")
            if overhead >= overhead_alone:
                p.verdict.notes.append(f"no parallel region hoisted above this loop: {why}")
                return False
        directive = " ".join(["#pragma omp parallel", *([f"private({', '.join(plan.private)})"] if plan.private else [])])
        loop_lines = []
        for inner in sorted(inners.values(), key=lambda i: i.loop.info.line):
            q = next(q for q in self.planned if q.loop is inner.loop)
            v = q.verdict
            v.pragma_alone = v.pragma
            if v.pragma is None:
                v.reasons = [r for r in v.reasons if not isinstance(r, loopfacts.TooSmall)]
                self._finish(q.loop, q.decision, q.outer, q.enclosing, v)
                self._replan_inside(q)
            nowait = ["nowait"] if inner.loop.info.line in plan.nowait else []
            v.pragma = " ".join(["#pragma omp for", *v.clauses.render(), *nowait])
            v.hoisted_in = p.loop.info.line
            v.notes.append(f"shares the threads of the parallel region hoisted above the loop at line "
                           f"{p.loop.info.line}: no fork/join per entry")
            loop_lines.append(inner.loop.info.line)
        single_lines = [s.line for s in plan.steps if s.role == "single"]
        p.verdict.region = loopfacts.HoistedRegion(
            directive=directive, steps=tuple(plan.steps), work=work, overhead=overhead,
            overhead_alone=overhead_alone, notes=(why,),
        )
        p.verdict.reasons.append(loopfacts.RegionHoisted(
            directive=directive, forks=len(alone), loops=", ".join(map(str, loop_lines)),
            single_lines=", ".join(map(str, single_lines)),
        ))
        p.verdict.notes.append(why)
        if plan.private:
            p.verdict.notes.append(f"private({', '.join(plan.private)}): every thread runs the loop, each with its own")
        for step in plan.steps:
            if step.barrier_above:
                p.verdict.notes.append(f"a barrier above line {step.line}: statements every thread runs read "
                                       "what it writes")
        return True

    def _replan_inside(self, q: _Planned) -> None:
        """Plan the loops inside a loop that became a worksharing loop again:
        they now run inside its region (simd at most)."""
        inside = [r for r in self.planned if q.loop in r.enclosing]
        ids = {id(r.verdict) for r in inside}
        self.planned = [r for r in self.planned if id(r.verdict) not in ids]
        self.verdicts = [v for v in self.verdicts if id(v) not in ids]
        self._walk(q.loop.body, q.outer + [q.decision.canonical], q.enclosing + [q.loop], q.loop.info.line)

    def _hoist_data(self) -> None:
        """Mark the outermost serial loops around offloadable loops where one
        `target data` region can keep the arrays on the device throughout."""
        covered: set[int] = set()
        for p in self.planned:
            loop, verdict, enclosing = p.loop, p.verdict, p.enclosing
            if verdict.pragma or verdict.existing or any(id(e) in covered for e in enclosing):
                continue
            inside = [(q.loop, q.verdict) for q in self.planned
                      if q.verdict.pragma and any(e is loop for e in q.enclosing)]
            if not inside or any(v.data is None for _, v in inside):
                continue
            uses = datamap.hoistable(loop, [(l, v.data) for l, v in inside])
            if uses is not None:
                verdict.hoist = uses
                covered.add(id(loop))

    def _interchange(self, loop, decision: Decision, outer, enclosing) -> loopfacts.Rewrite | None:
        """Swap the innermost two loops of a perfect nest when the inner one then
        walks memory contiguously (matrix product i-j-k -> i-k-j).

        Legal when the loop moved inward carries no dependence: every dependence
        then has `=` at that level, and swapping keeps its direction positive.
        """
        chain = [loop]
        while isinstance(chain[-1], ir.For):
            inner = _sole_loop(chain[-1].body)
            if not isinstance(inner, ir.For):
                break
            chain.append(inner)
        if len(chain) < 3 or decision.facts is None:
            # with two loops the swap would move the parallel loop itself inward
            return None
        upper, lower = chain[-2], chain[-1]
        forms = [self.ctx.canonical(l) for l in chain]
        if not all(isinstance(f, CanonicalLoop) for f in forms):
            return None
        upper_form, lower_form = forms[-2], forms[-1]
        if upper_form.var in names_in(lower_form.start) | names_in(lower_form.bound):
            return None  # not rectangular: the inner bounds depend on the outer counter
        refs = [r for r in decision.facts.refs if r.subscripts and lower in r.loops]
        now = sum(_unit_stride(r, lower_form.counter) for r in refs)
        swapped = sum(_unit_stride(r, upper_form.counter) for r in refs)
        if swapped <= now:
            return None
        chain_outer = list(outer) + [f for f in forms[:-2]]
        upper_decision = decide(upper, chain_outer, list(enclosing) + chain[:-2], self.ctx)
        if upper_decision.parallel is not True or upper_decision.reductions:
            return None
        reason = (
            f"innermost loop over {upper_form.counter} walks memory contiguously in {swapped} of "
            f"{len(refs)} accesses (over {lower_form.counter}: {now}); the {upper_form.counter} loop "
            "carries no dependence, so the swap is legal"
        )
        return loopfacts.Rewrite("interchange", self._model_loop(upper, len(enclosing) + len(chain) - 2),
                             self._model_loop(lower, len(enclosing) + len(chain) - 1), reason)

    def _model_loop(self, loop: ir.LoopStmt, depth: int) -> loopfacts.Loop:
        info = loop.info
        return loopfacts.Loop(
            file=self.path, line=info.line, column=info.column, end_line=info.end_line, kind="for",
            function=self.function.name, depth=depth, start_offset=info.start_offset,
            end_offset=info.end_offset, var=None,
        )

    def _schedule(self, loop, decision: Decision) -> str | None:
        facts = decision.facts
        if facts is None or decision.canonical is None:
            return None
        counter = decision.canonical.var
        # chunk 1 is never used: on cheap iterations its dispatch cost and the
        # false sharing of neighbouring writes made loops 2-4x slower than serial
        if facts.irregular_loops:
            return "guided"
        for s in loop.body.walk():
            if isinstance(s, ir.For) and s is not loop:
                form = self.ctx.canonical(s)
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


def _evaluate(form: Affine | None, values: dict[str, float]) -> float | None:
    if form is None or any(name not in values for name, _ in form.terms):
        return None
    return form.const + sum(c * values[name] for name, c in form.terms)


def _trips(form: CanonicalLoop, values: dict[str, float]) -> float | None:
    """Iterations of one entry, with enclosing counters at the given values."""
    lo, hi = _evaluate(form.dim.lower, values), _evaluate(form.dim.upper, values)
    if lo is None or hi is None:
        return None
    return max(0.0, (hi - lo) / abs(form.step) + 1)


def _midpoint(form: CanonicalLoop, values: dict[str, float]) -> float | None:
    lo, hi = _evaluate(form.dim.lower, values), _evaluate(form.dim.upper, values)
    return None if lo is None or hi is None else (lo + hi) / 2


def _midpoints(outer) -> dict[str, float] | None:
    """Each enclosing counter at the middle of its range; None when one is unknown."""
    values: dict[str, float] = {}
    for form in outer:
        if not isinstance(form, CanonicalLoop):
            return None
        middle = _midpoint(form, values)
        if middle is None:
            return None
        values[form.counter] = middle
    return values


def _entries(outer) -> int | None:
    """How often a loop inside `outer` is entered: the enclosing trip counts' product."""
    values: dict[str, float] = {}
    total = 1.0
    for form in outer:
        if not isinstance(form, CanonicalLoop):
            return None
        n = _trips(form, values)
        middle = _midpoint(form, values)
        if n is None or middle is None:
            return None
        total *= n
        values[form.counter] = middle
    return int(round(total))


_MAX_TILE_DEPTH = 3
_TILE = 64  # measured on the corpus's 1536x1536 product: 2x over the untiled i-k-j
_CACHE_BYTES = 2 * 2**20  # a typical last-level cache share per core


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


_BYTE_TYPES = ("char", "int8_t", "bool", "_Bool", "std::byte")


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


def _has_check(existing: loopfacts.ExistingPragma, check: loopfacts.RuntimeAliasCheck | None) -> bool:
    """The pragma's if() is the test ompilot would put there."""
    return check is not None and "".join(check.clause().split()) in "".join(existing.text.split())


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


def _collapse_of(existing: loopfacts.ExistingPragma) -> int:
    values = existing.clauses.get("collapse", ())
    try:
        return int(values[0]) if values else 1
    except ValueError:
        return 1


def _opens_region(existing: loopfacts.ExistingPragma | None) -> bool:
    return existing is not None and pragmas.is_loop_directive(existing)


def _races(existing: loopfacts.ExistingPragma, decision: Decision) -> list[loopfacts.Reason]:
    """What makes an existing loop pragma wrong, proven from the analysis."""
    if not pragmas.is_loop_directive(existing):
        return []
    text = existing.text
    races: list[loopfacts.Reason] = [
        loopfacts.RaceInPragma(pragma=text, cause=r.text()) for r in decision.reasons if r.proven and not isinstance(r, loopfacts.EarlyExit)
    ]
    if "parallel" not in existing.directive.split():
        return races  # a bare `for`: what is private depends on the enclosing region
    counter = decision.canonical.var.name if decision.canonical and decision.canonical.var else None
    for name in decision.private:
        races.append(loopfacts.RaceInPragma(pragma=text, cause=f"{name} is shared, but every iteration writes it: it needs private({name})"))
    for name in decision.lastprivate:
        if name != counter:
            races.append(loopfacts.RaceInPragma(pragma=text, cause=f"{name} is shared, but every iteration writes it: it needs lastprivate({name})"))
    for r in decision.reductions:
        races.append(loopfacts.RaceInPragma(pragma=text, cause=f"{r.var} is updated by every iteration without reduction({r.op}: {r.var})"))
    return races


def _fix(existing: loopfacts.ExistingPragma, decision: Decision) -> str | None:
    """The racy pragma made right: its missing clauses added, or "" (remove
    it) when the loop carries a proven dependence."""
    if any(r.proven and not isinstance(r, loopfacts.EarlyExit) for r in decision.reasons):
        return ""
    if "parallel" not in existing.directive.split() or decision.parallel is not True or "\\" in existing.text:
        return None
    counter = decision.canonical.var.name if decision.canonical and decision.canonical.var else None
    added = []
    if decision.private:
        added.append(f"private({', '.join(decision.private)})")
    lastprivate = [name for name in decision.lastprivate if name != counter]
    if lastprivate:
        added.append(f"lastprivate({', '.join(lastprivate)})")
    added += [r.render() for r in decision.reductions]
    return " ".join([existing.text.strip(), *added]) if added else None


def _direct_loops(stmt: ir.Stmt):
    """Loops in `stmt` (itself included) that are not inside another of them."""
    if isinstance(stmt, ir.LoopStmt):
        yield stmt
        return
    for sub in stmt.substatements():
        yield from _direct_loops(sub)


def _sole_loop(body: ir.Stmt) -> ir.Stmt | None:
    while isinstance(body, ir.Block) and len(body.stmts) == 1:
        body = body.stmts[0]
    return body if isinstance(body, ir.LoopStmt) else None
