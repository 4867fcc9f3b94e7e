"""Loop nests of one function: which loop gets the pragma, with what clauses.

The planner walks a function's loops outside in and plans each with the
policies of policies.py, tried in order (`policies.IN_ORDER`). The outermost
parallel loop with enough work gets `parallel for`; loops inside it get none
(no nested parallel regions), `simd` at most; loops under an existing OpenMP
pragma are checked for races instead. Then, over the whole function: a
`parallel` region hoisted above a serial loop whose parallel loops would fork
on every iteration, and `target data` regions around offloadable loops.
"""

from __future__ import annotations

from . import datamap, hoisting, ir, loopfacts, mirrorpairs, policies
from .estimates import BARRIER_OPERATIONS, ESTIMATE_THREADS, FORK_JOIN_OPERATIONS, SINGLE_OPERATIONS
from .policies import NestScope, Planned


class NestPlanner:
    def __init__(self, path, function, ctx, lines, pragma_lines, min_work, file_constructs=None):
        """`file_constructs`: the file's constructs.FileConstructs when the caller
        already built them (one build per file); else built when a loop needs them."""
        self.scope = NestScope(path, function, ctx, lines, pragma_lines, min_work, _constructs=file_constructs)
        self.verdicts: list[loopfacts.Verdict] = []
        self.planned: list[Planned] = []

    def run(self) -> list[loopfacts.Verdict]:
        if self.scope.function.body is not None:
            self._walk(self.scope.function.body, [], [], None)
            self._mirror_pairs()
            self._hoist_regions()
            self._hoist_data()
        return self.verdicts

    def _walk(self, stmt: ir.Stmt, outer, enclosing, parallel_above: int | None) -> None:
        for loop in _direct_loops(stmt):
            p = self._plan(loop, outer, enclosing, parallel_above)
            self.verdicts.append(p.verdict)
            self.planned.append(p)
            region = parallel_above
            if region is None and _runs_in_parallel(p.verdict):
                region = loop.info.line
                if p.verdict.existing is not None:
                    self.scope.user_regions.add(region)
            self._walk(loop.body, outer + [p.decision.canonical], enclosing + [loop], region)

    def _plan(self, loop: ir.LoopStmt, outer, enclosing, parallel_above: int | None) -> Planned:
        """The loop analysed, then planned by the first policy that settles it."""
        p = policies.analyse(self.scope, loop, outer, enclosing, parallel_above)
        for policy in policies.IN_ORDER:
            if policy(self.scope, p):
                break
        return p

    def _mirror_pairs(self) -> None:
        """Consecutive loops that update an array from mirrored pairs of its
        elements (mirrorpairs.py): the rewrite, on the first loop's verdict."""
        planned = {id(p.loop): p for p in self.planned}
        ctx = self.scope.ctx
        for block in self.scope.function.body.walk():
            if not isinstance(block, ir.Block):
                continue
            for first, second in zip(block.stmts, block.stmts[1:]):
                p, q = planned.get(id(first)), planned.get(id(second))
                if p is None or q is None or p.verdict.existing or q.verdict.existing or first.info.in_macro:
                    continue
                found = mirrorpairs.mirror_pairs(
                    first, second, ctx.canonical, lambda loop: planned[id(loop)].decision.parallel,
                    lambda var, loop: ctx.events.live_after(var, loop, planned[id(loop)].enclosing))
                if found is not None:
                    p.verdict.mirror = found

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
            if any(q.verdict.wavefront for q in self.planned if loop in q.enclosing):
                continue  # the pipelined rewrite opens its own parallel region
            items = loop.body.stmts if isinstance(loop.body, ir.Block) else [loop.body]
            inners = {id(q.loop): hoisting.Inner(q.loop, q.verdict, q.decision) for q in self.planned
                      if any(q.loop is item for item in items) and self._shareable(q)}
            if not inners:
                continue
            if any(q.verdict.existing for q in self.planned if loop in q.enclosing):
                continue
            for inner in inners.values():
                if inner.verdict.data is None and inner.verdict.data_problem is None:
                    policies.offload_data(self.scope, inner.verdict, inner.decision)  # what `nowait` is decided on
            with_pragma = {id(q.loop) for q in self.planned
                           if q.verdict.pragma and not q.verdict.clauses.simd and id(q.loop) not in inners}
            plan = hoisting.plan_region(loop, p.decision, p.enclosing, inners, self.scope.ctx, self.scope.lines,
                                        with_pragma)
            if isinstance(plan, str):
                verdict.notes.append(f"no parallel region hoisted above this loop: {plan}")
                continue
            if self._hoist(p, plan, inners):
                covered.add(id(loop))

    def _shareable(self, q: Planned) -> bool:
        """A parallel loop that may become a `#pragma omp for` of a hoisted region."""
        v = q.verdict
        if v.existing or q.decision.parallel is not True or q.loop.info.in_macro or id(q.loop) in self.scope.collapsed:
            return False
        return all(isinstance(r, loopfacts.TooSmall) and r.work > 0 for r in v.reasons)

    def _hoist(self, p: Planned, plan: hoisting.Plan, inners: dict[int, hoisting.Inner]) -> bool:
        """Cost the plan; when it pays, turn the inner loops into `omp for`."""
        fors = [s for s in plan.steps if s.role == "for"]
        singles = {s.group for s in plan.steps if s.role == "single"}
        barriers = len(fors) - len(plan.nowait) + sum(s.barrier_above for s in plan.steps)
        overhead = barriers * BARRIER_OPERATIONS + len(singles) * SINGLE_OPERATIONS
        alone = [i for i in inners.values() if i.verdict.pragma and not i.verdict.clauses.simd]  # simd: no threads
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
        directive = plan.directive
        loop_lines = []
        for inner in sorted(inners.values(), key=lambda i: i.loop.info.line):
            q = next(q for q in self.planned if q.loop is inner.loop)
            v = q.verdict
            v.pragma_alone = v.pragma
            if v.pragma is None or v.clauses.simd:
                v.reasons = [r for r in v.reasons if not isinstance(r, loopfacts.TooSmall)]
                v.notes = [n for n in v.notes if not n.startswith("a floating-point reduction")]  # added below
                policies.parallel_for(self.scope, q)
                self._replan_inside(q)
            nowait = ["nowait"] if inner.loop.info.line in plan.nowait else []
            floats = policies.float_reductions(q.loop, q.decision)
            worksharing = "#pragma omp for simd" if floats else "#pragma omp for"
            v.pragma = " ".join([worksharing, *v.clauses.render(), *nowait])
            if floats:
                v.notes.append(policies.simd_reduction_note(floats))
            v.hoisted_in = p.loop.info.line
            v.notes.append(f"shares the threads of the parallel region hoisted above the loop at line "
                           f"{p.loop.info.line}: no fork/join per entry")
            loop_lines.append(inner.loop.info.line)
        single_lines = [s.line for s in plan.steps if s.role == "single"]
        p.verdict.region = loopfacts.HoistedRegion(
            directive=directive, steps=tuple(plan.steps), work=work, overhead=overhead,
            overhead_alone=overhead_alone, notes=(why, *plan.notes),
        )
        p.verdict.reasons.append(loopfacts.RegionHoisted(
            directive=directive, forks=len(alone), loops=", ".join(map(str, loop_lines)),
            single_lines=", ".join(map(str, single_lines)),
        ))
        p.verdict.notes.append(why)
        if plan.private:
            p.verdict.notes.append(f"private({', '.join(plan.private)}): every thread runs the loop, each with its own")
        p.verdict.notes.extend(plan.notes)
        for step in plan.steps:
            if step.barrier_above:
                p.verdict.notes.append(f"a barrier above line {step.line}: statements every thread runs read "
                                       "what it writes")
        return True

    def _replan_inside(self, q: Planned) -> None:
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


def _runs_in_parallel(verdict: loopfacts.Verdict) -> bool:
    """The loop opens a parallel region (the loops inside it run in it): its
    directive, a serial rewrite's, or the user's own loop pragma (pragma_above
    finds loop directives only)."""
    return bool(verdict.pragma or verdict.recurrence or verdict.scan or verdict.wavefront
                or verdict.existing is not None)


def _direct_loops(stmt: ir.Stmt):
    """Loops in `stmt` (itself included) that are not inside another of them."""
    if isinstance(stmt, ir.LoopStmt):
        yield stmt
        return
    for sub in stmt.substatements():
        yield from _direct_loops(sub)
