"""One parallel region around a serial loop that holds parallel loops.

A time step, a pivot sweep or a triangular recurrence must stay serial; the
loops inside it are parallel. `#pragma omp parallel for` on each inner loop
starts and joins the threads on every iteration of the serial loop. Hoisted,
`#pragma omp parallel` goes around the serial loop, which every thread then
runs; the inner loops are shared out with `#pragma omp for`. What makes that
safe is decided here, statement by statement of the serial loop's body:

- `for`: a parallel loop, with the clauses its own analysis proved; its
  implied barrier ends it (`nowait` only where the next loop provably does
  not need it);
- `all`: every thread runs it; it may write only what is private to each
  thread (variables declared in the body, the counter, and scalars the serial
  loop writes before reading in every iteration, listed in `private(...)`);
- `single`: it writes shared state, so one thread runs it in `#pragma omp
  single`, whose barrier publishes what it wrote before anyone reads it
  (`nowait` when nothing up to the next barrier touches what it writes or
  writes what it reads).

A scalar the serial loop carries from one iteration to the next (a
recurrence's `beta = (1 - alpha * alpha) * beta`) is *replicated* when nothing
reads it after the loop, no worksharing loop writes it or names it in a
clause, and its statements write nothing shared: it goes in
`firstprivate(...)` and its statements run in every thread (`all`). Each
thread starts from the value before the region and does the same arithmetic
in the same order on data no other thread is writing at that moment (shared
data only after the barrier that published it), so every copy holds the
serial value bit for bit, and a `single` plus its barrier is saved.

A statement run by every thread reads shared memory while other threads may
already be in the next worksharing construct: when that construct writes what
the statement reads, a `#pragma omp barrier` goes above it. Last, the whole
plan is checked phase by phase (the code between two barriers, across the
end of one iteration into the next): no two constructs or statements of one
phase, run by different threads, may touch the same shared object unless
both only read it; a `nowait` that would break that is not given. Anything else
(I/O, calls with side effects, early exits, a statement writing both shared
and per-thread state, a reduction into a per-thread variable) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from . import ir, loopfacts
from .accesses import BodyFacts, BodyWalker
from .decide import Decision, FunctionContext, _may_alias
from .loops import CanonicalLoop, names_in


@dataclass
class Inner:
    """A parallel loop directly in the serial loop's body, as the planner decided it alone."""

    loop: ir.LoopStmt
    verdict: loopfacts.Verdict
    decision: Decision


@dataclass
class Plan:
    steps: list[loopfacts.RegionStep]
    private: list[str]  # for `private(...)` on the parallel directive
    nowait: set[int]  # lines of `for` steps that take nowait
    firstprivate: list[str] = field(default_factory=list)  # replicated scalars: every thread computes its own copy
    notes: list[str] = field(default_factory=list)

    @property
    def directive(self) -> str:
        clauses = [f"{name}({', '.join(names)})" for name, names in
                   (("private", self.private), ("firstprivate", self.firstprivate)) if names]
        return " ".join(["#pragma omp parallel", *clauses])


def plan_region(
    loop: ir.LoopStmt,
    decision: Decision,
    enclosing: list[ir.LoopStmt],
    inners: dict[int, Inner],
    ctx: FunctionContext,
    lines: list[str],
    with_pragma: set[int],
) -> Plan | str:
    """The statement-by-statement plan, or why no region can be hoisted.

    `inners` are the parallel loops of the body by id; `with_pragma` the ids
    of every loop the planner gave a directive of its own.
    """
    form = decision.canonical
    if not isinstance(loop, ir.For) or form is None or form.var is None:
        return "the serial loop is not a canonical for loop, so the threads could not all run it alike"
    for number in range(loop.info.line, loop.info.end_line + 1):
        if lines[number - 1].lstrip().startswith("#"):
            return f"a preprocessor line or pragma (line {number}) inside the loop"
    items = loop.body.stmts if isinstance(loop.body, ir.Block) else [loop.body]
    private: list[str] = []
    if not isinstance(loop.init, ir.Decl):
        if ctx.events.live_after(form.var, loop, enclosing):
            return f"its counter {form.var.name} is read after the loop, and each thread would have its own"
        private.append(form.var.name)
    body_locals = {item.var for item in items if isinstance(item, ir.Decl)}
    shared_needed = _shared_by_clauses([inners[id(i)] for i in items if id(i) in inners])
    for var in body_locals:
        if var.name in shared_needed:
            return (f"{var.name} is declared inside the loop, so each thread has its own, but the loop at "
                    f"line {shared_needed[var.name]} needs it shared for its reduction or lastprivate")
    candidates = _privatizable(decision, form, body_locals, shared_needed)
    facts = {id(item): BodyWalker(ctx.functions).run(item, None) for item in items if id(item) not in inners}
    for item in items:
        if id(item) in inners:
            continue
        problem = _unsafe(item, facts[id(item)], with_pragma)
        if problem:
            return problem
    replicated = _replicable(decision, loop, enclosing, items, inners, facts,
                             body_locals | candidates | {form.var}, shared_needed, ctx)
    while True:  # a scalar that a shared-state statement writes must be shared too
        thread_private = body_locals | candidates | replicated | {form.var}
        roles: dict[int, str] = {}
        demoted = None
        for item in items:
            if id(item) in inners:
                roles[id(item)] = "for"
                continue
            own, shared = _writes(facts[id(item)], thread_private)
            if own and shared:
                movable = own & (candidates | replicated)
                if movable == own:
                    demoted = movable
                    break
                names = ", ".join(sorted(v.name for v in shared))
                mine = ", ".join(sorted(v.name for v in own - candidates - replicated))
                return (f"the statement at line {item.line} writes shared {names} and per-thread {mine}: "
                        "neither one thread nor every thread may run it")
            if isinstance(item, ir.Decl) and shared:
                return f"the declaration at line {item.line} writes shared state"
            roles[id(item)] = "single" if shared else "all"
        if demoted is None:
            break
        candidates -= demoted
        replicated -= demoted
    # only what the body writes outside the worksharing loops (those privatise their own)
    written_outside = set()
    for item in items:
        if id(item) not in inners:
            written_outside |= _writes(facts[id(item)], thread_private)[0]
    private += sorted(v.name for v in candidates & written_outside)
    region_private = body_locals | (candidates & written_outside) | replicated | {form.var}
    steps = _steps(items, roles)
    problem = _own_lines(items, steps, loop)
    if problem:
        return problem
    _barriers(items, roles, steps, facts, inners, thread_private, ctx)
    accesses = [_access(item, roles[id(item)], facts, inners, region_private) for item in items]
    race = _race(steps, accesses, ctx)
    if race:
        return race
    # each `nowait` only when no phase then holds two conflicting accesses
    proposed = [i for i, s in enumerate(steps) if s.line in _nowaits(items, steps, inners)]
    proposed += [i for i, s in enumerate(steps) if s.role == "single" and _ends_construct(steps, i)]
    for index in proposed:
        trial = list(steps)
        trial[index] = replace(trial[index], nowait=True)
        if not _race(trial, accesses, ctx):
            steps = trial
    for index, step in enumerate(steps):  # every statement of a single group says whether it waits
        if step.role == "single" and steps[_group_end(steps, index)].nowait:
            steps[index] = replace(step, nowait=True)
    nowait = {s.line for s in steps if s.role == "for" and s.nowait}
    firstprivate = sorted(v.name for v in replicated)
    notes = []
    if firstprivate:
        lines = ", ".join(str(s.line) for s, item in zip(steps, items)
                          if s.role == "all" and _writes(facts[id(item)], thread_private)[0] & replicated)
        notes.append(f"firstprivate({', '.join(firstprivate)}): carried from one iteration to the next and not "
                     f"read after the loop, so every thread computes its own copy, the same values in the same "
                     f"order (the statements at lines {lines} run in every thread, with no single and no barrier)")
    for index, step in enumerate(steps):
        if step.role == "single" and step.nowait and _ends_construct(steps, index):
            notes.append(f"'#pragma omp single nowait' at line {steps[_group_start(steps, index)].line}: nothing "
                         "before the next barrier touches what it writes or writes what it reads")
    return Plan(steps=steps, private=private, nowait=nowait, firstprivate=firstprivate, notes=notes)


def nowait_safe(verdict: loopfacts.Verdict, following: loopfacts.Verdict) -> bool:
    """The loop after `verdict`'s loop touches nothing it writes and writes
    nothing it reads, through objects no other name reaches: the barrier
    between them can go."""
    if verdict.clauses.reductions or verdict.clauses.lastprivate:
        return False  # their values are complete only after the barrier
    if verdict.data is None or following.data is None:
        return False
    if not all(d.distinct for d in verdict.data + following.data):
        return False
    written = {d.name for d in verdict.data if d.written}
    read = {d.name for d in verdict.data if d.read}
    touched_next = {d.name for d in following.data}
    written_next = {d.name for d in following.data if d.written}
    return not (written & touched_next) and not (read & written_next)


# ------------------------------------------------------------------ helpers


def _shared_by_clauses(inners: list[Inner]) -> dict[str, int]:
    """Variables the worksharing loops reduce into or copy out: the region must share them."""
    out: dict[str, int] = {}
    for inner in inners:
        for name in [r.var for r in inner.verdict.clauses.reductions] + list(inner.verdict.clauses.lastprivate):
            out.setdefault(name, inner.loop.info.line)
    return out


def _privatizable(decision: Decision, form: CanonicalLoop, body_locals, shared_needed) -> set[ir.Var]:
    """Scalars declared outside the serial loop that it writes before reading in
    every iteration and nobody reads after it: each thread may keep its own."""
    names = set(decision.private) - set(shared_needed)
    out = set()
    for ref in decision.facts.refs if decision.facts else ():
        var = ref.key.var
        if (ref.subscripts is None and not ref.key.fields and var.name in names and var is not form.var
                and var not in body_locals and var.is_scalar_number and var.kind in ("local", "param")):
            out.add(var)
    return out


def _replicable(decision: Decision, loop: ir.LoopStmt, enclosing, items, inners: dict[int, Inner], facts,
                private: set[ir.Var], shared_needed: dict[str, int], ctx: FunctionContext) -> set[ir.Var]:
    """Scalars the body writes outside the worksharing loops, carried to the next
    iteration, that every thread may compute on a copy of its own: local
    numbers whose address is not taken, dead after the loop, and neither
    written by a worksharing loop nor named in one of its clauses (a
    worksharing clause may not name what is private in the region)."""
    written: set[ir.Var] = set()
    for item in items:
        if id(item) not in inners:
            written |= {r.key.var for r in facts[id(item)].refs
                        if r.is_write and r.subscripts is None and not r.key.fields
                        and r.key.var not in facts[id(item)].declared}
    in_loops: set[ir.Var] = set()
    named = set(shared_needed)
    for inner in inners.values():
        in_loops |= {r.key.var for r in inner.decision.facts.refs if r.is_write}
        clauses = inner.verdict.clauses
        named |= set(clauses.private) | set(clauses.firstprivate)
    taken = decision.facts.address_taken if decision.facts else set()
    return {
        var for var in written - private
        if var.is_scalar_number and var.kind in ("local", "param") and not (var.is_volatile or var.is_reference)
        and var not in in_loops and var.name not in named and var not in taken
        and not ctx.events.live_after(var, loop, enclosing)
    }


def _unsafe(item: ir.Stmt, facts: BodyFacts, with_pragma: set[int]) -> str | None:
    for call in facts.calls:
        if call.kind != "pure":
            why = call.why or call.kind.replace("-", " ")
            return (f"the call to {call.name} at line {call.line} ({why}) is outside the parallel loops: "
                    "neither one thread nor every thread may run it in the serial order")
    for statement, line in facts.exits:
        return f"{statement} at line {line} leaves the loop"
    for what, line in facts.unsupported:
        return f"{what} at line {line} is not analysed"
    if facts.address_taken:
        names = ", ".join(sorted(v.name for v in facts.address_taken))
        return f"the address of {names} is taken at line {item.line}"
    for stmt in item.walk():
        if id(stmt) in with_pragma:
            return f"the loop at line {stmt.line} inside the statement at line {item.line} has a directive of its own"
    return None


def _writes(facts: BodyFacts, thread_private: set[ir.Var]) -> tuple[set[ir.Var], set[ir.Var]]:
    """(per-thread, shared) variables a statement writes; its own locals aside."""
    own, shared = set(), set()
    for ref in facts.refs:
        if not ref.is_write or ref.key.var in facts.declared:
            continue
        var = ref.key.var
        whole_private = var in thread_private and (ref.subscripts is None or var.is_array) and not var.is_pointer
        (own if whole_private and not ref.key.fields else shared).add(var)
    return own, shared


def _reads(facts: BodyFacts, thread_private: set[ir.Var]) -> set[ir.Var]:
    out = set()
    for ref in facts.refs:
        var = ref.key.var
        if ref.is_read and var not in facts.declared and not (var in thread_private and not var.is_pointer):
            out.add(var)
    return out


def _steps(items: list[ir.Stmt], roles: dict[int, str]) -> list[loopfacts.RegionStep]:
    steps, group, previous = [], 0, None
    for item in items:
        role = roles[id(item)]
        if role == "single" and previous != "single":
            group += 1
        steps.append(loopfacts.RegionStep(line=_line(item), role=role, group=group if role == "single" else 0))
        previous = role
    return steps


def _line(item: ir.Stmt) -> int:
    return item.info.line if isinstance(item, ir.LoopStmt) else item.line


def _own_lines(items, steps, loop: ir.LoopStmt) -> str | None:
    """Directives go on lines of their own above statements: a statement that
    takes one must not share its line with another or with the loop header."""
    counts: dict[int, int] = {}
    for step in steps:
        counts[step.line] = counts.get(step.line, 0) + 1
    for step in steps:
        if step.role != "all" and (counts[step.line] > 1 or step.line == loop.info.line):
            return f"the statement at line {step.line} shares its line with another one"
    return None


def _construct_writes(index, items, roles, facts, inners, thread_private) -> set[ir.Var]:
    item = items[index]
    if roles[id(item)] == "for":
        inner = inners[id(item)]
        clauses = inner.verdict.clauses
        kept = set(clauses.private) | set(clauses.firstprivate)
        out = set()
        for ref in inner.decision.facts.refs:
            var = ref.key.var
            if ref.is_write and var not in inner.decision.facts.declared and var.name not in kept:
                if not (inner.decision.canonical and var is inner.decision.canonical.var):
                    out.add(var)
        return out
    return _writes(facts[id(item)], thread_private)[1]


def _barriers(items, roles, steps, facts, inners, thread_private, ctx) -> None:
    """A barrier above the next construct after a statement every thread runs,
    when that construct writes what the statement reads."""
    constructs = [i for i, item in enumerate(items) if roles[id(item)] != "all"]
    if not constructs:
        return
    for index, item in enumerate(items):
        if roles[id(item)] != "all":
            continue
        reads = _reads(facts[id(item)], thread_private)
        if not reads:
            continue
        following = [c for c in constructs if c > index] or constructs[:1]
        start = following[0]
        # a `single` group is one construct: collect what all its statements write
        members = [start]
        if roles[id(items[start])] == "single":
            stop = start
            while stop + 1 < len(items) and roles[id(items[stop + 1])] == "single":
                stop += 1
                members.append(stop)
        written = set()
        for member in members:
            written |= _construct_writes(member, items, roles, facts, inners, thread_private)
        if _conflict(reads, written, ctx):
            steps[start] = loopfacts.RegionStep(steps[start].line, steps[start].role, steps[start].group, True)


def _conflict(reads: set[ir.Var], written: set[ir.Var], ctx: FunctionContext) -> bool:
    if reads & written:
        return True
    return any(
        (r.is_pointer or r.is_array) and (w.is_pointer or w.is_array) and _may_alias(r, w, ctx)
        for r in reads for w in written
    )


def _nowaits(items, steps, inners) -> set[int]:
    """`for` steps directly followed by another `for` that needs nothing of
    theirs; never two in a row, so each loop is still finished at the barrier
    of the loop after the next one."""
    out: set[int] = set()
    previous_nowait = False
    for index in range(len(items) - 1):
        this, following = items[index], items[index + 1]
        if id(this) not in inners or id(following) not in inners or previous_nowait or steps[index + 1].barrier_above:
            previous_nowait = False
            continue
        a, b = inners[id(this)], inners[id(following)]
        written_scalars = {r.key.var for r in a.decision.facts.refs if r.is_write}
        bounds = set()
        if b.decision.canonical is not None:
            bounds = names_in(b.decision.canonical.start) | names_in(b.decision.canonical.bound)
        if nowait_safe(a.verdict, b.verdict) and not (bounds & written_scalars):
            out.add(steps[index].line)
            previous_nowait = True
        else:
            previous_nowait = False
    return out


# ------------------------------------------------------------ phase check


@dataclass
class _Access:
    """The shared objects one statement or construct reads and writes."""

    reads: set[ir.Var]
    writes: set[ir.Var]


def _access(item: ir.Stmt, role: str, facts, inners: dict[int, Inner], region_private: set[ir.Var]) -> _Access:
    if role != "for":
        own = facts[id(item)]
        return _Access(_reads(own, region_private), _writes(own, region_private)[1])
    inner = inners[id(item)]
    clauses, loop_facts = inner.verdict.clauses, inner.decision.facts
    counter = inner.decision.canonical.var if inner.decision.canonical else None
    copies = set(clauses.private) | set(clauses.lastprivate) | {r.var for r in clauses.reductions}
    unwritten = set(clauses.private) | set(clauses.firstprivate)
    reads, writes = set(), set()
    for ref in loop_facts.refs:
        var = ref.key.var
        if var in loop_facts.declared or var is counter or (var in region_private and not var.is_pointer):
            continue
        if ref.is_write and var.name not in unwritten:
            writes.add(var)  # a reduction or lastprivate variable too: written back when the loop ends
        if ref.is_read and var.name not in copies:
            reads.add(var)
    return _Access(reads, writes)


def _ends_construct(steps, index: int) -> bool:
    """The step closes a construct (a `for`, or the last statement of a `single` group)."""
    step = steps[index]
    if step.role == "for":
        return True
    if step.role != "single":
        return False
    return index == len(steps) - 1 or steps[index + 1].role != "single" or steps[index + 1].group != step.group


def _group_end(steps, index: int) -> int:
    while not _ends_construct(steps, index):
        index += 1
    return index


def _group_start(steps, index: int) -> int:
    while index > 0 and steps[index - 1].role == "single" and steps[index - 1].group == steps[index].group:
        index -= 1
    return index


def _phases(steps) -> list[list[int]] | None:
    """The steps between two barriers, in order; the last phase runs on into
    the next iteration. None when no barrier separates anything."""
    count = len(steps)

    def barrier_before(index: int) -> bool:
        before = (index - 1) % count
        return steps[index].barrier_above or (_ends_construct(steps, before) and not steps[before].nowait)

    cuts = [i for i in range(count) if barrier_before(i)]
    if not cuts:
        return None
    return [[j % count for j in range(a, b)] for a, b in zip(cuts, cuts[1:] + [cuts[0] + count])]


def _race(steps, accesses: list[_Access], ctx: FunctionContext) -> str | None:
    """Two steps that different threads may run at the same time, one writing
    what the other touches; None when there is none."""
    phases = _phases(steps)
    if phases is None:
        return "no barrier would separate one iteration from the next"
    for phase in phases:
        for a in phase:
            for b in phase:
                if a == b or (steps[a].role == "single" and steps[a].role == steps[b].role
                              and steps[a].group == steps[b].group):
                    continue
                touched = accesses[b].reads | accesses[b].writes
                if _conflict(touched, accesses[a].writes, ctx):
                    names = ", ".join(sorted(v.name for v in accesses[a].writes & touched)) or "memory"
                    return (f"the statements at lines {steps[a].line} and {steps[b].line} may run at the same time "
                            f"in different threads, and the first writes {names} the second touches")
    return None
