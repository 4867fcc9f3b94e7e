"""The verdict for one loop: can its iterations run in parallel, with which clauses.

Inputs: the loop, the canonical loops around it, and the facts of its body
(accesses.py). Array pairs go to the exact dependence test (depend.py);
scalars are classified as private, lastprivate, reduction or carried.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from . import aliasfacts, callaccesses, datamap, depend, indextables, ir, loopfacts, members, program, segments
from .accesses import BodyFacts, BodyWalker, Key, Ref
from .affine import AccessSite, Affine, LoopDim
from .constructs import SYNC_CALLS, AccessGuards
from .invariants import MemberInvariance
from .liveness import FunctionEvents
from .loops import CanonicalLoop, Poly, canonical_form, range_for_form, split_linearized, to_affine, to_poly, written_vars
from .temporaries import single_assignments

_BITWISE = {"&", "|", "^"}
#: An array reduction gives every thread a private copy: only for small arrays.
MAX_REDUCTION_ELEMENTS = 4096
_MAX_PAIR_REASONS = 3


@dataclass
class FunctionContext:
    function: ir.Function
    functions: dict[str, ir.Function]
    events: FunctionEvents
    fresh_pointers: set[ir.Var]  # local pointers only ever set to a new allocation
    #: pairs of parameter names every call in the program binds to distinct objects
    distinct_pairs: frozenset[frozenset[str]] = frozenset()
    forms: dict[int, CanonicalLoop | str] = field(default_factory=dict)
    #: C's effective-type rule holds (the build has no -fno-strict-aliasing)
    strict_aliasing: bool = True
    #: the class of each expression type under that rule (TranslationUnit.alias_types)
    alias_types: dict[str, ir.AliasType] = field(default_factory=dict)
    #: keys of the functions that return fresh memory (ProgramFacts.allocators)
    allocators: frozenset[str] = frozenset(program.BUILTIN_ALLOCATORS)
    #: the program's facts (ProgramFacts): where parameters and struct members point
    program: program.ProgramFacts | None = None
    _fresh_members: program.FreshMembers | None = field(default=None, repr=False)

    def fresh_members_at(self, loop: ir.LoopStmt) -> list[program.FreshMember]:
        """Struct members set from their own allocator call before this loop
        and unchanged until it runs (program.fresh_members)."""
        if self._fresh_members is None:
            self._fresh_members = program.fresh_members(
                self.function, self.functions, self.allocators, self.fresh_pointers, self.strict_aliasing, self.alias_types
            )
        return self._fresh_members.valid_at(loop)

    def canonical(self, loop: ir.For) -> CanonicalLoop | str:
        """canonical_form of a loop of this function, computed once; bounds
        may use integer members the body cannot change (`i < g->nx - 1`)."""
        form = self.forms.get(id(loop))
        if form is None:
            symbols = None
            if any(isinstance(e, ir.Member) for part in (loop.init, loop.cond) if part is not None
                   for x in (part.expressions() if isinstance(part, ir.Stmt) else (part,)) for e in x.walk()):
                symbols = self.member_invariance(BodyWalker(self.functions).run(loop.body, None))
            form = self.forms[id(loop)] = canonical_form(loop, written_vars(loop.body), symbols)
        return form

    def member_invariance(self, facts: BodyFacts) -> MemberInvariance:
        return MemberInvariance(facts, self.function, self.strict_aliasing, self.events.is_cpp)


@dataclass
class Decision:
    loop: ir.LoopStmt
    canonical: CanonicalLoop | None
    reasons: list[loopfacts.Reason] = field(default_factory=list)
    private: list[str] = field(default_factory=list)
    lastprivate: list[str] = field(default_factory=list)
    reductions: list[loopfacts.Reduction] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: BodyFacts | None = None
    #: (written, other) arrays reached through pointers that may alias
    alias_pairs: list[tuple[Key, Key]] = field(default_factory=list)
    #: set when aliasing and unordered segments are the only obstacles and a
    #: run-time test can rule them out
    runtime_check: loopfacts.RuntimeAliasCheck | None = None
    #: arrays confined to segments of an index array (segments.py), by key
    segment_writes: dict[Key, segments.SegmentWrite] = field(default_factory=dict)

    @property
    def parallel(self) -> bool | None:
        if any(r.proven for r in self.reasons):
            return False
        return None if self.reasons else True

    @property
    def only_aliasing(self) -> bool:
        """Parallel but for arrays reached through pointers that may alias."""
        return bool(self.alias_pairs) and all(isinstance(r, loopfacts.PossibleAlias) for r in self.reasons)

    @property
    def only_runtime_conditions(self) -> bool:
        """Parallel but for possible aliasing and index arrays not known to be ordered."""
        return bool(self.alias_pairs or self.segment_writes) and all(
            isinstance(r, (loopfacts.PossibleAlias, loopfacts.UnprovenSegmentOrder)) for r in self.reasons)


def decide(
    loop: ir.LoopStmt,
    outer: list[CanonicalLoop | None],
    enclosing: list[ir.LoopStmt],
    ctx: FunctionContext,
    preset_private: frozenset[str] = frozenset(),
    preset_reductions: dict[str, str] | None = None,
    guards: AccessGuards | None = None,
) -> Decision:
    """Decide one loop. `preset_*` are the clauses of an existing pragma;
    `guards`, under an existing pragma, what protects the body's accesses
    from each other (critical, atomic, ordered, locks, threadprivate):
    a conflict counts only between accesses that share no protection."""
    canonical = _canonical(loop, ctx)
    decision = Decision(loop=loop, canonical=canonical if isinstance(canonical, CanonicalLoop) else None)
    if isinstance(canonical, str):
        decision.reasons.append(loopfacts.NonCanonicalLoop(why=canonical))
        return decision
    counter_var = canonical.var if isinstance(loop, ir.For) else None
    walker = BodyWalker(ctx.functions)
    facts = walker.run(loop.body, counter_var)
    decision.facts = facts
    if isinstance(loop, ir.RangeFor):
        _range_for_refs(loop, canonical, facts)
    shared = None
    if guards is not None:
        guards = replace(guards, calls=_calls_by_line(facts))
        shared = callaccesses.examine(loop.body, facts, guards, preset_private | frozenset(preset_reductions or ()),
                                      ctx.program)
    quiet = _synchronised_keys(facts, guards)
    if shared is not None:  # storage whose every access the call walk saw: its races are shared.races
        quiet |= {r.key for r in facts.refs if r.key.var in shared.settled}
    _control(facts, decision)
    _calls(facts, decision, guards, quiet, shared.known_calls if shared is not None else frozenset())
    if shared is not None:
        decision.reasons.extend(shared.races)
    if counter_var is not None and ctx.events.live_after(counter_var, loop, enclosing):
        decision.lastprivate.append(counter_var.name)
    _scalars(facts, decision, loop, enclosing, ctx, counter_var, preset_private, preset_reductions or {}, quiet)
    sites = _arrays(facts, decision, canonical, outer, ctx, preset_reductions or {}, enclosing, preset_private,
                    guards)
    if decision.only_runtime_conditions and sites is not None:
        decision.runtime_check = _runtime_alias_check(decision, canonical, ctx, sites)
    return decision


def _canonical(loop: ir.LoopStmt, ctx: FunctionContext) -> CanonicalLoop | str:
    if isinstance(loop, ir.While):
        return "a while loop: its trip count is not known when it starts"
    if isinstance(loop, ir.DoWhile):
        return "a do-while loop: its trip count is not known when it starts"
    if isinstance(loop, ir.RangeFor):
        if not isinstance(loop.range, ir.Name) or loop.range.var is None or not loop.range.var.is_container:
            return "a range-for over something other than a named vector or array"
        return range_for_form(loop, "__ompilot_it")
    return ctx.canonical(loop)


def _range_for_refs(loop: ir.RangeFor, canonical: CanonicalLoop, facts: BodyFacts) -> None:
    """In `for (auto &x : v)`, x is v[it]: rewrite x's refs as element refs of v."""
    if loop.var is None or loop.range is None or not loop.var.is_reference:
        return
    container = Key(loop.range.var)
    counter = ir.Name(line=loop.line, text=canonical.counter, name=canonical.counter)
    for ref in facts.refs:
        if ref.key.var is loop.var and ref.subscripts is None:
            ref.key = container
            ref.subscripts = (counter,)


def _control(facts: BodyFacts, decision: Decision) -> None:
    for statement, line in facts.exits:
        decision.reasons.append(loopfacts.EarlyExit(statement=statement, line=line))
    for what, line in facts.unsupported:
        decision.reasons.append(loopfacts.UnsupportedConstruct(what=what, line=line))


def _calls_by_line(facts: BodyFacts) -> dict[int, tuple[str, ...]]:
    out: dict[int, tuple[str, ...]] = {}
    for call in facts.calls:
        out[call.line] = out.get(call.line, ()) + (call.name,)
    return out


def _synchronised_keys(facts: BodyFacts, guards: AccessGuards | None) -> set[Key]:
    """Objects whose accesses cannot conflict across threads: every thread has its
    own copy (threadprivate), or every pair of accesses with a write shares a protection."""
    if guards is None:
        return set()
    by_key: dict[Key, list[Ref]] = {}
    for ref in facts.refs:
        by_key.setdefault(ref.key, []).append(ref)
    return {key for key, refs in by_key.items() if guards.per_thread(key.var) or guards.synchronised(refs)}


def _calls(facts: BodyFacts, decision: Decision, guards: AccessGuards | None = None, quiet: set[Key] = frozenset(),
           known: frozenset[tuple[str, int]] | set = frozenset()) -> None:
    """Reasons for the calls of the body; `known` calls (name, line) are those whose
    every effect the call walk saw (callaccesses.py): they add none."""
    seen: set[tuple[str, str]] = set()
    quiet_vars = {key.var for key in quiet if not key.fields}
    for call in facts.calls:
        if guards is not None and call.name in SYNC_CALLS:
            continue  # lock calls synchronise; they are what `guards` reads
        if (call.name, call.line) in known:
            continue
        if (call.name, call.kind) in seen:
            continue
        seen.add((call.name, call.kind))
        if call.kind in ("io", "hidden-state", "mutates"):
            decision.reasons.append(loopfacts.SideEffectCall(name=call.name, line=call.line, effect=call.why))
        elif call.kind == "exit":
            decision.reasons.append(loopfacts.EarlyExit(statement=f"call to {call.name}", line=call.line))
        elif call.kind == "unknown":
            decision.reasons.append(loopfacts.OpaqueCall(name=call.name, line=call.line, why=call.why))
        scalar_globals = [g for g in call.written_globals if not (g.is_array or g.is_pointer) and g not in quiet_vars]
        if scalar_globals:
            names = ", ".join(g.name for g in scalar_globals)
            decision.reasons.append(
                loopfacts.SideEffectCall(name=call.name, line=call.line, effect=f"writes the global {names}")
            )


# ------------------------------------------------------------------ scalars


def _scalars(facts, decision, loop, enclosing, ctx, counter_var, preset_private, preset_reductions, quiet=frozenset()):
    by_key: dict[Key, list[Ref]] = {}
    for ref in facts.refs:
        if ref.subscripts is None:
            by_key.setdefault(ref.key, []).append(ref)
    for key, refs in by_key.items():
        var = key.var
        if var is counter_var or var in facts.declared or not any(r.is_write for r in refs) or key in quiet:
            continue
        name = str(key)
        if var in facts.address_taken:
            decision.reasons.append(
                loopfacts.UnsupportedConstruct(what=f"the address of {name} is taken", line=refs[0].line)
            )
            continue
        if name in preset_private:
            continue
        if name in preset_reductions:
            continue
        _classify_scalar(key, refs, facts, decision, loop, enclosing, ctx)


def _classify_scalar(key, refs, facts, decision, loop, enclosing, ctx) -> None:
    var, name = key.var, str(key)
    ops = {r.update_op for r in refs}
    if len(ops) == 1 and None not in ops and all(r.is_write for r in refs):
        op = ops.pop()
        if op in _BITWISE and var.is_float:
            op = None
        if op is not None and not key.fields and not var.is_pointer:
            decision.reductions.append(loopfacts.Reduction(op=op, var=name))
            shape = f"a running {op}" if op in ("min", "max") else f"`{name} {op}= ...`"
            decision.notes.append(f"{name} is only updated as {shape}: a {op} reduction")
            return
    exposed = [r for r in refs if r.exposed]
    if not exposed:
        if key.fields:
            decision.reasons.append(
                loopfacts.UnsupportedConstruct(what=f"member {name}, written every iteration,", line=refs[0].line)
            )
            return
        decision.private.append(name)
        if ctx.events.live_after(var, loop, enclosing):
            if key in facts.assigned_at_end:
                decision.lastprivate.append(name)
                decision.private.remove(name)
            else:
                line = next(r.line for r in refs if r.is_write)
                decision.reasons.append(loopfacts.ConditionalLastValue(var=name, line=line))
        return
    writes = [r for r in refs if r.is_write]
    if len(writes) == 1 and writes[0].induction_step is not None and not writes[0].conditional and not writes[0].loops:
        step = writes[0].induction_step
        decision.reasons.append(
            loopfacts.InductionVariable(var=name, step=f"{step:+d}", line=writes[0].line)
        )
        return
    storage = "array" if var.array_dims is not None or var.is_container else "scalar"
    decision.reasons.append(loopfacts.ScalarDependence(var=name, read_line=exposed[0].line, storage=storage))


# ------------------------------------------------------------------- arrays


def _arrays(facts, decision, canonical, outer, ctx, preset_reductions, enclosing, preset_private=frozenset(),
            guards: AccessGuards | None = None):
    """Dependences of the arrays the loop writes; returns the site builder
    (the loop's substitutions and member symbols), None when nothing is written."""
    by_key: dict[Key, list[Ref]] = {}
    for ref in facts.refs:
        if ref.subscripts is not None:
            by_key.setdefault(ref.key, []).append(ref)
    written = [k for k, refs in by_key.items() if any(r.is_write for r in refs)]
    if not written:
        return None
    builder = _SiteBuilder(canonical, outer, facts, ctx)
    finder = builder.segments
    same_memory: dict[tuple, list[Ref]] = {}
    for key, refs in by_key.items():
        same_memory.setdefault(_element_key(key), []).extend(refs)
    reported = 0
    for key in written:
        if str(key) in preset_private:
            continue  # the pragma makes it private: each thread has its own copy
        if key.var in facts.declared and key.var.kind != "static":
            continue  # declared in the body: every iteration has its own (OpenMP 6.0, 7.1.1)
        refs = same_memory[_element_key(key)]
        segment = finder.owner(refs)
        if segment is not None:  # disjoint across iterations when its index is ordered
            decision.segment_writes[key] = segment
            continue
        if guards is not None and guards.per_thread(key.var):
            continue
        tables = indextables.examine(str(key), refs, canonical, ctx.function, guards.excluded if guards else None)
        problems = list(tables.reasons) if tables is not None else _key_dependences(key, refs, builder, guards)
        if problems and _array_reduction(key, refs, decision, preset_reductions):
            continue
        if problems and _privatizable_array(key, refs, builder, decision, ctx, enclosing):
            continue
        for p in problems:
            if reported < _MAX_PAIR_REASONS:
                decision.reasons.append(p)
            reported += 1
    _segment_orders(decision)
    _aliases(by_key, written, decision, ctx)
    return builder


def _segment_orders(decision: Decision) -> None:
    """One UnprovenSegmentOrder per index range the segment writes rely on."""
    by_order: dict[loopfacts.OrderedIndex, list[str]] = {}
    for write in decision.segment_writes.values():
        by_order.setdefault(write.order, []).append(write.text)
    for order, writes in by_order.items():
        decision.reasons.append(replace(order, writes=tuple(writes)).reason())


def _element_key(key: Key) -> tuple:
    """`b->n` is `b[0].n`: both spellings of one field of a pointed-to struct
    array must meet in the dependence test."""
    fields = key.fields
    if fields and fields[0].startswith("->"):
        fields = ("." + fields[0][2:], *fields[1:])
    return key.var, fields


def _key_dependences(key: Key, refs: list[Ref], builder: _SiteBuilder,
                     guards: AccessGuards | None = None) -> list[loopfacts.Reason]:
    problems: list[loopfacts.Reason] = []
    sites = {id(r): replace(builder.site(r), array=str(key)) for r in refs}
    if len({builder.shapes.get(id(r)) for r in refs}) > 1:
        # mixed row sizes or mixed linear/delinearised views of one array: compare nothing
        sites = {k: replace(v, subscripts=tuple(None for _ in v.subscripts)) for k, v in sites.items()}
    for i, a in enumerate(refs):
        for b in refs[i:]:
            if not (a.is_write or b.is_write):
                continue
            if guards is not None and guards.excluded(a, b):
                continue  # both protected by one critical name, lock, atomic or ordered region
            for src, snk in ((a, b), (b, a)) if a is not b else ((a, a),):
                result = depend.carried(sites[id(src)], sites[id(snk)], builder.common, builder.level)
                if result.exists is None:
                    why = builder.why.get(id(src)) or builder.why.get(id(snk)) or result.why
                    problems.append(
                        loopfacts.UnanalyzableAccess(
                            access=src.text, line=src.line, other=snk.text, other_line=snk.line, why=why
                        )
                    )
                elif result.exists and _open_inner_loop(sites[id(src)], sites[id(snk)], builder.common):
                    # an inner loop with a bound that is not affine was left open: the
                    # element the test found may lie outside the range it really runs
                    problems.append(
                        loopfacts.UnanalyzableAccess(
                            access=src.text, line=src.line, other=snk.text, other_line=snk.line,
                            why="an inner loop's bounds are not affine, so the elements it reaches are not known",
                        )
                    )
                elif result.exists:
                    kind = "output" if src.is_write and snk.is_write and not (src.is_read or snk.is_read) else (
                        "flow" if src.is_write else "anti"
                    )
                    problems.append(
                        loopfacts.CarriedDependence(
                            array=str(key), kind=kind, source=src.text, source_line=src.line,
                            sink=snk.text, sink_line=snk.line, distance=result.distance,
                        )
                    )
                if problems and len(problems) >= _MAX_PAIR_REASONS:
                    return problems
    return problems


def _open_inner_loop(a: AccessSite, b: AccessSite, common: int) -> bool:
    """A loop inside the tested one (past the `common` outer dimensions) whose
    subscripts use its counter and whose bounds are unknown."""
    for site in (a, b):
        for dim in site.loops[common:]:
            if (dim.lower is None or dim.upper is None) and any(
                s is None or dim.var in s.names() for s in site.subscripts
            ):
                return True
    return False


def _array_reduction(key, refs, decision, preset_reductions) -> bool:
    ops = {r.update_op for r in refs}
    if len(ops) != 1 or None in ops or not all(r.is_write and r.exact for r in refs):
        return False
    op = ops.pop()
    name = str(key)
    if name in preset_reductions:
        return True
    dims = key.var.array_dims
    if key.fields or not dims or any(d is None for d in dims) or (op in _BITWISE and key.var.is_float):
        return False
    if key.var.kind == "param":  # an array parameter is a pointer: no whole-array reduction
        return False
    if math.prod(dims) > MAX_REDUCTION_ELEMENTS:
        decision.notes.append(f"{name} is updated like a reduction, but a private copy per thread is too big")
        return False
    decision.reductions.append(loopfacts.Reduction(op=op, var=name))
    decision.notes.append(f"{name}[...] is only updated with {op}=: an array reduction")
    return True


def _privatizable_array(key, refs, builder, decision, ctx, enclosing) -> bool:
    """A temporary array fully written before it is read in every iteration."""
    var = key.var
    if key.fields or not var.is_array or any(d is None for d in var.array_dims or (None,)):
        return False
    if var.kind in ("global", "static", "param"):
        return False
    counter = builder.counter
    for r in refs:
        if any(counter in _names(s) for s in r.subscripts or ()):
            return False
    writes = [r for r in refs if r.is_write and not r.is_read and not r.conditional and r.exact]
    reads = [r for r in refs if r.is_read]
    if not writes:
        return False
    for read in reads:
        earlier = [builder.site(w) for w in writes if w.order < read.order]
        if not earlier or not depend.element_set_covers(earlier, builder.site(read), builder.common):
            return False
    if ctx.events.live_after(var, decision.loop, enclosing):
        return False
    decision.private.append(var.name)
    decision.notes.append(f"{var.name} is written before it is read in every iteration: private")
    return True


def _names(e: ir.Expr) -> set[str]:
    return {x.name for x in e.walk() if isinstance(x, ir.Name)}


def _aliases(by_key, written, decision, ctx) -> None:
    """One PossibleAlias reason for the first pair of arrays that may overlap;
    every such pair is kept for a run-time check."""
    keys = list(by_key)
    explained: set[frozenset[Key]] = set()
    for w in written:
        for other in keys:
            if other == w:
                continue
            through_member = _via_pointer_member(w) or _via_pointer_member(other)
            if not through_member and (other.var is w.var or not _may_alias(w.var, other.var, ctx)):
                continue
            fact, missing = _alias_fact(w, other, by_key, decision, ctx)
            if fact is not None:
                if frozenset((w, other)) not in explained:
                    explained.add(frozenset((w, other)))
                    decision.notes.append(fact.text())
                continue
            if not decision.alias_pairs:
                decision.reasons.append(loopfacts.PossibleAlias(written=str(w), other=str(other), missing=missing))
            decision.alias_pairs.append((w, other))


def _alias_fact(w: Key, other: Key, by_key, decision: Decision, ctx: FunctionContext):
    """(a fact that keeps two arrays apart although their pointers may alias,
    None) -- distinct allocations in members of one struct, C's effective-type
    rule, or allocation sites across the program -- else (None, what fact is
    missing, when that is worth saying)."""
    members = ctx.fresh_members_at(decision.loop)
    fact = aliasfacts.distinct_members(w, other, members, ctx, by_key) if members else None
    fact = fact or aliasfacts.distinct_by_type(w, other, by_key, ctx.alias_types, ctx.strict_aliasing)
    if fact is not None:
        return fact, None
    return aliasfacts.distinct_provenance(w, other, ctx, decision.loop)


def _runtime_alias_check(
    decision: Decision, canonical: CanonicalLoop, ctx: FunctionContext, sites: _SiteBuilder
) -> loopfacts.RuntimeAliasCheck | None:
    """The overlap test that makes the loop safe, when every other check
    passed: each base's range over the whole loop must be stated from
    loop-invariant values, starting at the base pointer. A structure whose
    fields the loop reads (`b->x[i]`, `i < b->n`) is kept away from every
    written range, so the fields stay what the check read (members.py)."""
    facts = decision.facts
    variant = {v.name for v in facts.writes} | {v.name for v in facts.declared}
    by_key: dict[Key, list[Ref]] = {}
    for ref in facts.refs:
        if ref.subscripts is not None:
            by_key.setdefault(ref.key, []).append(ref)

    def dims_for(ref: Ref) -> dict[str, LoopDim]:
        forms = [ctx.canonical(loop) if isinstance(loop, ir.For) else None for loop in ref.loops]
        if not all(isinstance(f, CanonicalLoop) for f in forms):
            return {}  # an inner loop without known bounds: the range stays open
        counters = {canonical.counter} | {f.counter for f in forms}
        # the loops around this one run too: their counters take every value
        # of their bounds, which keeps a range like `i*n + j` over all i
        dims = {o.counter: members.field_dim(o, variant) for o in sites.outer}
        dims[canonical.counter] = members.field_dim(canonical, variant)
        dims.update(
            (f.counter, _checked_dim(replace(f, dim=members.field_dim(f, variant)), variant, counters,
                                     sites.invariant_symbols))
            for f in forms
        )
        return dims

    written = [k for k, refs in by_key.items() if any(r.is_write for r in refs)]
    orders = {replace(w.order, writes=()): None for w in decision.segment_writes.values()}
    guards: dict[str, None] = {}
    if not decision.alias_pairs:  # ordered segments are the only obstacle
        return loopfacts.RuntimeAliasCheck((), (), _orders(decision, orders))
    for key in written:
        inside = members.field_structure(key) if key.fields else None
        if key.fields and not _via_pointer_member(key):
            where = inside.text if inside else f"a structure reached from {key.var.name}"
            decision.notes.append(f"no run-time alias check: the loop writes {key}, inside {where}")
            return None
    ranges: dict[str, loopfacts.AliasRange] = {}

    def base_of(key: Key) -> str | None:
        """The range a key lies in, stated once; None (with a note) when it cannot be."""
        inside = members.field_structure(key) if key.fields and not _via_pointer_member(key) else None
        segment = decision.segment_writes.get(key) or sites.segments.owner(by_key[key])
        if segment is not None and not (key.var.is_array and key.var.kind != "param" and not key.fields):
            found = segment.alias_range(key)
            if found is None:
                decision.notes.append(f"no run-time alias check: {key} is indexed with more than k in its segment")
                return None
            orders.setdefault(replace(segment.order, writes=()))
            guards.setdefault(found[1])
            found = found[0]
        elif inside:
            found = inside.alias_range()
        else:
            found = datamap.alias_range(by_key[key], dims_for, variant, sites.substitute, sites.symbols)
        if isinstance(found, str):
            decision.notes.append(f"no run-time alias check: {found}")
            return None
        ranges.setdefault(found.base, found)
        return found.base

    pairs: list[tuple[str, str]] = []

    def add(a: str, b: str) -> None:
        if a != b and (a, b) not in pairs and (b, a) not in pairs:
            pairs.append((a, b))

    for w, other in decision.alias_pairs:
        a = base_of(w)
        b = base_of(other) if a is not None else None
        if b is None:
            return None
        add(a, b)
    structures = members.structures_read(decision.loop)
    for key in written:
        reach = [s for s in structures if _via_pointer_member(key) or _may_reach_structure(key.var, s, ctx)]
        if reach:
            a = base_of(key)
            if a is None:
                return None
            for structure in reach:
                ranges.setdefault(structure.text, structure.alias_range())
                add(a, structure.text)
    return loopfacts.RuntimeAliasCheck(tuple(ranges[k] for k in sorted(ranges)), tuple(pairs),
                                   _orders(decision, orders), tuple(guards))


def _orders(decision: Decision, orders: dict[loopfacts.OrderedIndex, None]) -> tuple[loopfacts.OrderedIndex, ...]:
    """The index orders a check tests, each naming the accesses confined to its segments."""
    confined: dict[loopfacts.OrderedIndex, list[str]] = {}
    for write in decision.segment_writes.values():
        confined.setdefault(replace(write.order, writes=()), []).append(write.text)
    return tuple(replace(o, writes=tuple(confined.get(o, ()))) for o in orders)


def _may_reach_structure(var: ir.Var, structure: members.StructObject, ctx: FunctionContext) -> bool:
    """Writes through `var` may land in the structure's storage."""
    if structure.through_pointer:
        return structure.var is not var and _may_alias(var, structure.var, ctx)
    if var.is_restrict or distinct_object(var, ctx):
        return False
    own = structure.var.kind in ("local", "param") and not structure.var.is_reference
    # a pointer parameter holds its value before the function's own structures exist
    return not (own and var.kind == "param" and not var.is_reference)


def _via_pointer_member(key: Key) -> bool:
    return any(f.endswith("*") for f in key.fields)


def distinct_object(v: ir.Var, ctx: FunctionContext) -> bool:
    """An object no other name in the function can reach (arrays, fresh allocations)."""
    if v.is_array and v.kind != "param":
        return True
    if v in ctx.fresh_pointers:
        return True
    if v.is_container and not v.is_reference:
        return True
    return False


def _may_alias(a: ir.Var, b: ir.Var, ctx: FunctionContext) -> bool:
    if a.is_restrict or b.is_restrict:
        return False
    if distinct_object(a, ctx) and distinct_object(b, ctx):
        return False
    # A parameter cannot point at the function's own locals or fresh allocations.
    for p, q in ((a, b), (b, a)):
        if p.kind == "param" and (q in ctx.fresh_pointers or (q.kind == "local" and (q.is_array or q.is_container) and not q.is_reference)):
            return False
    if a.kind == "param" and b.kind == "param":
        if frozenset((a.name, b.name)) in ctx.distinct_pairs:
            return False
    return True


class _SiteBuilder:
    """Turns refs into `AccessSite`s for the dependence tester."""

    def __init__(self, canonical: CanonicalLoop, outer: list[CanonicalLoop | None], facts: BodyFacts, ctx: FunctionContext):
        self.ctx = ctx
        self.outer = [o for o in outer if o is not None]
        self.canonical = canonical
        self.counter = canonical.counter
        self.level = len(self.outer)
        self.common = self.level + 1
        # variables declared in the body change between iterations too
        self.variant = {v.name for v in facts.writes | facts.declared}
        self.inner: dict[int, CanonicalLoop | None] = {}
        self.symbols = ctx.member_invariance(facts)
        self.invariant_symbols = _member_symbols(canonical.stmt.body, self.symbols)
        self.substitute = _single_assignments(canonical, self.outer, facts, ctx, self.symbols)
        self.segments = segments.SegmentFinder(canonical, facts, ctx.canonical, self.variant, self.substitute,
                                               self.symbols)
        self.cache: dict[int, AccessSite] = {}
        self.shapes: dict[int, tuple[str, ...]] = {}
        self.why: dict[int, str] = {}  # a better reason than "not affine" for some refs

    def _inner(self, loop: ir.LoopStmt) -> CanonicalLoop | None:
        key = id(loop)
        if key not in self.inner:
            form = self.ctx.canonical(loop) if isinstance(loop, ir.For) else None
            self.inner[key] = form if isinstance(form, CanonicalLoop) else None
        return self.inner[key]

    def site(self, ref: Ref) -> AccessSite:
        cached = self.cache.get(id(ref))
        if cached is not None:
            return cached
        dims = [o.dependence_dim for o in self.outer] + [self.canonical.dependence_dim]
        counters = {d.var for d in dims}
        for loop in ref.loops:
            form = self._inner(loop)
            if form is not None:
                dims.append(_checked_dim(form, self.variant, counters, self.invariant_symbols))
                counters.add(form.counter)
        subscripts = self._subscripts(ref, dims, counters)
        if not ref.exact:
            subscripts = tuple(None for _ in subscripts) or (None,)
        if ref.key.var.name in self.variant and ref.key.var.is_pointer:
            subscripts = tuple(None for _ in subscripts)
        if ref.key.var.rows_are_pointers and len(subscripts) > 1:
            subscripts = tuple(None for _ in subscripts)  # rows a[i] and a[j] may coincide
            self.why[id(ref)] = f"the rows of {ref.key.var.name} are separate pointers, which may overlap"
        site = AccessSite(
            array=str(ref.key), subscripts=subscripts, loops=tuple(dims), is_write=ref.is_write,
            text=ref.text, line=ref.line, order=ref.order,
        )
        self.cache[id(ref)] = site
        return site

    def _subscripts(self, ref: Ref, dims, counters: set[str]) -> tuple[Affine | None, ...]:
        """Affine subscripts; a linearised `a[i*n + j]` becomes `a[i][j]` when
        every inner subscript provably stays within its row (0 <= j <= n-1)."""
        out: list[Affine | None] = []
        shape: list[str] = []
        linear = self._divmod(ref.subscripts or ())
        if linear is not None:
            value = self._affine(linear[0], counters)
            if value is not None:
                self.shapes[id(ref)] = (f"/%{linear[1]}",)
                return (value,)
        for expr in ref.subscripts or ():
            value = self._affine(expr, counters)
            if value is None:
                split = self._delinearize(expr, dims, counters)
                if split is not None:
                    parts, sizes = split
                    out.extend(parts)
                    shape.extend(sizes)
                    continue
            out.append(value)
            shape.append("")
        self.shapes[id(ref)] = tuple(shape)
        return tuple(out)

    def _divmod(self, subscripts) -> tuple[ir.Expr, str] | None:
        """`a[p / W][p % W]` is element p of the array read row by row: distinct
        p give distinct (p / W, p % W) for any fixed W other than 0."""
        if len(subscripts) != 2:
            return None
        quotient, remainder = subscripts
        if not (isinstance(quotient, ir.Binary) and quotient.op == "/"
                and isinstance(remainder, ir.Binary) and remainder.op == "%"):
            return None
        if _squash(quotient.lhs.text) != _squash(remainder.lhs.text):
            return None
        divisor = quotient.rhs
        if _squash(divisor.text) != _squash(remainder.rhs.text):
            return None
        value = to_affine(divisor)
        fixed = value is not None and value.is_constant and value.const != 0
        invariant = isinstance(divisor, ir.Name) and divisor.var is not None and divisor.name not in self.variant
        return (quotient.lhs, _squash(divisor.text)) if fixed or invariant else None

    def _delinearize(self, expr, dims, counters):
        poly = to_poly(expr, self.substitute, self.symbols)
        if poly is None or any(n in self.variant and n not in counters for m in poly for n in m):
            return None
        split = split_linearized(poly, counters)
        if split is None or not split[1]:
            return None
        parts, sizes = split
        by_var = {d.var: d for d in dims}
        for inner, size in zip(parts[1:], sizes):
            if not _within_row(inner, size, by_var):
                return None
        return parts, sizes

    def _affine(self, expr: ir.Expr, counters: set[str]) -> Affine | None:
        value = to_affine(expr, self.substitute, self.symbols, quasi=True)
        if value is None:
            return None
        if any(n in self.variant and n not in counters for n in value.names()):
            return None
        return value


def _squash(text: str) -> str:
    return "".join(text.split())


def _within_row(inner: Affine, size: str, dims) -> bool:
    """0 <= inner <= size - 1 over the loop bounds: inner is `j + d` for a
    counter j with constant lower bound and upper bound `size + u`."""
    if inner.is_constant or len(inner.terms) != 1:
        return False
    (name, coeff), = inner.terms
    dim = dims.get(name)
    if coeff != 1 or dim is None or dim.lower is None or dim.upper is None:
        return False
    low = _extreme(dim.lower + Affine.constant(inner.const), dims, lowest=True)
    high = _extreme(dim.upper + Affine.constant(inner.const) - Affine.name(size) + Affine.constant(1), dims, lowest=False)
    return low is not None and low >= 0 and high is not None and high <= 0


def _extreme(expr: Affine, dims, lowest: bool) -> int | None:
    """The least (or greatest) constant value of expr, replacing loop counters
    by their bounds (triangular nests: j <= i - 1 <= n - 2)."""
    for _ in range(len(dims) + 1):
        counters = [(n, c) for n, c in expr.terms if n in dims]
        if not counters:
            return expr.const if expr.is_constant else None
        name, coeff = counters[0]
        dim = dims[name]
        bound = dim.lower if (coeff > 0) == lowest else dim.upper
        if bound is None:
            return None
        expr = expr - Affine.name(name).scale(coeff) + bound.scale(coeff)
    return None


def _checked_dim(form: CanonicalLoop, variant: set[str], counters: set[str], symbols: frozenset[str] = frozenset()):
    """An inner loop's bounds may only use counters and loop-invariant names;
    a member (`g->ny`) only when it is in `symbols`, the members invariant in
    the analysed loop (the inner loop's form only knows its own body)."""
    from .affine import LoopDim

    def ok(bound: Affine | None) -> Affine | None:
        if bound is None:
            return None
        for n in bound.names():
            if n in counters:
                continue
            if n in variant or (_is_member_symbol(n) and n not in symbols):
                return None
        return bound

    dim = form.dependence_dim
    return LoopDim(dim.var, ok(dim.lower), ok(dim.upper), dim.step)


def _is_member_symbol(name: str) -> bool:
    return "->" in name or "." in name


def _member_symbols(body: ir.Stmt, symbols: MemberInvariance) -> frozenset[str]:
    """The loop-invariant integer members the body mentions."""
    found = set()
    for s in body.walk():
        for e in s.expressions():
            for x in e.walk():
                if isinstance(x, ir.Member):
                    name = symbols.symbol(x)
                    if name is not None:
                        found.add(name)
    return frozenset(found)


def _single_assignments(canonical: CanonicalLoop, outer: list[CanonicalLoop], facts: BodyFacts,
                        ctx: FunctionContext, symbols: MemberInvariance) -> dict[ir.Var, Poly]:
    """Integer temporaries the body assigns once per iteration before every
    read, C99 `int c = ...;` or C89 `c = ...;` (temporaries.py), with their
    values over counters, loop-invariant names and members; empty when the
    loop has no statement of its own to read."""
    if canonical.stmt is None or not isinstance(canonical.stmt, ir.LoopStmt):
        return {}

    def counter_of(loop: ir.LoopStmt) -> str | None:
        form = ctx.canonical(loop) if isinstance(loop, ir.For) else None
        return form.counter if isinstance(form, CanonicalLoop) else None

    counters = {canonical.counter} | {o.counter for o in outer}
    return single_assignments(canonical.stmt.body, facts, counters, counter_of, symbols, ctx.function, ctx.events.is_cpp)
