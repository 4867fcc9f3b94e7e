"""Races that OpenMP tasks take part in (OpenMP 6.0 semantics).

A task runs concurrently with the code after it in its generating task until
something waits for it: a `taskwait` (the generating task's child tasks only,
not their descendants), the end of a `taskgroup` around its creation (every
descendant), or a barrier (explicit, or the implicit one at the end of a
`single`/`for` without `nowait` and of the parallel region). Sibling tasks run
concurrently unless `depend` clauses order them; a task created in a loop
meets the one of the next iteration; a task created by code every thread of
the team runs meets the one another thread creates.

Each `parallel` region is walked in program order as the thread running it
would: functions of the file inlined (depth limited; an activation of a
recursive function with known integer arguments is walked once and replayed
at the other calls with the same arguments, `_Summary`), loops walked for two
iterations, conditions with known values decided and the others taken both
ways. The walk keeps the tasks created and not yet waited for, with what each
reads and writes (its own accesses, and those of the tasks it created that it
does not wait for itself). A task's accesses reach the caller's objects only
through the data-sharing rules for tasks: explicit clauses, then predetermined
(globals, statics, locals of the task), then implicit: shared when the
variable is shared by every thread of the team in the enclosing context,
firstprivate otherwise (so locals of called functions and reference parameters
of orphaned tasks are copies).

A race is reported only when it can be shown: both accesses on one path (the
conditions one is under include those of the other; a condition walked twice,
in two iterations or two tasks, counts as two), one object after data-sharing,
the same element (taskvalues.py: equal known subscripts, or a loop counter
taking every value of a range that holds the other subscript), at least one a
write, and nothing protecting both (atomic, the same critical name, the same
lock). Anything the walk does not model (an unknown call, a
construct it does not know, a region too large) makes it forget the tasks it
was waiting on, never invent one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Callable

from . import ir, loopfacts
from .constructs import SYNC_CALLS, Construct, FileConstructs
from .effects import classify_call
from .loops import written_in_expr, written_vars
from .taskvalues import Counter, Num, Section, add, add_constant, arith, mul, parse_section, same_element, sections_disjoint

_MAX_DEPTH = 8  # inlined calls and nested tasks
#: the same for a recursive function whose activations are summarised (`_Summary`): each
#: (function, argument values) is walked once, so the depth costs no more than the tree's height
_MAX_RECURSION = 48
_BUDGET = 40_000  # statements walked per parallel region
_PRIVATISING = ("private", "firstprivate", "lastprivate", "reduction", "linear", "copyin")
_IN_DEPENDENCES = ("in", "inoutset")  # two `in` (or two `inoutset`) dependences do not order tasks


class _GiveUp(Exception):
    """The region is beyond what the walk models: nothing is reported for it."""


# --------------------------------------------------------- objects and accesses


@dataclass(eq=False)
class Storage:
    """One object in memory: a variable's own copy (identity is the object)."""

    var: ir.Var
    team_shared: bool  # every thread of the team sees this copy (a global, or a local outside the region)


@dataclass(frozen=True)
class Pointer:
    storage: Storage
    offset: Num | None  # in elements of the first dimension


@dataclass(frozen=True, eq=False)
class TaskRun:
    """One walked creation of a task construct."""

    construct: Construct
    parent: TaskRun | None  # the task that created it; None: the code of the region
    loop_line: int  # the innermost loop around its creation in its generating task (0: none)

    @property
    def line(self) -> int:
        return self.construct.line


@dataclass(frozen=True, eq=False)
class Access:
    storage: Storage
    index: tuple[Num | None, ...]  # () for the object itself
    kind: str  # read | write | update
    line: int
    text: str
    guards: frozenset[str]
    task: TaskRun | None  # the task that makes it; None: the code of the region
    conditions: frozenset[int] = frozenset()  # the arms of conditions it is under (one id per arm walked)

    def conflicts(self, other: Access) -> bool:
        """One element of one object, a write among them, nothing protecting both, and
        one path through both: the conditions of one include those of the other."""
        if self.storage is not other.storage or self.kind == other.kind == "read":
            return False
        if not (self.conditions <= other.conditions or other.conditions <= self.conditions):
            return False
        return not (self.guards & other.guards) and same_element(self.index, other.index)


@dataclass(frozen=True, eq=False)
class Pending:
    """A task created and not known to be finished; a taskwait makes a new
    version of the same `origin` without its own accesses."""

    task: TaskRun
    own: tuple[Access, ...]
    descendants: tuple[Access, ...]  # of the tasks it created and does not wait for
    groups: tuple[int, ...]  # the taskgroups open at its creation
    #: (in|out|..., the object (None: not known), its array section (None: the whole object))
    dependences: tuple[tuple[str, Storage | None, Section | None], ...]
    origin: int
    after: frozenset[int] = frozenset()  # origins of the siblings `depend` orders it after (transitively)
    _by_storage: dict | None = field(default=None, init=False, repr=False, compare=False)

    def accesses_of(self, storage: Storage) -> list[Access]:
        """Its accesses (own and descendants') to one storage: the only ones an access of it can meet."""
        if self._by_storage is None:
            index: dict[int, list[Access]] = {}
            for x in self.own + self.descendants:
                index.setdefault(id(x.storage), []).append(x)
            object.__setattr__(self, "_by_storage", index)
        return self._by_storage.get(id(storage), [])
    waited_line: int = 0  # the taskwait that waited for it (not for its descendants)


@dataclass
class State:
    values: dict  # Storage -> Num | Pointer | None
    pending: list[Pending]

    def copy(self) -> State:
        return State(dict(self.values), list(self.pending))

    def become(self, other: State) -> None:
        self.values, self.pending = other.values, other.pending


_ABSENT = object()


def _same_value(a, b) -> bool:
    """Equal values; most are the same object, copied from the state before the branch."""
    return a is b or (a is not _ABSENT and a == b)


def _join(states: list[State], before: set[int]) -> State:
    """After paths meet: values they agree on; a task pending on every path,
    or created on one of them (the weakest version: a taskwait on one path counts)."""
    first, others = states[0], [s.values for s in states[1:]]
    values = {k: v for k, v in first.values.items()
              if all(_same_value(other.get(k, _ABSENT), v) for other in others)}
    versions: dict[int, list[Pending]] = {}
    for s in states:
        for p in s.pending:
            versions.setdefault(p.origin, []).append(p)
    pending = []
    for origin, found in versions.items():
        if origin in before and len(found) < len(states):
            continue
        pending.append(min(found, key=lambda p: len(p.own)))
    return State(values, pending)


# ----------------------------------------------------------------- the walk


@dataclass(eq=False)
class Frame:
    """One activation of a function in the walk: what its variables denote."""

    function: ir.Function
    names: dict  # ir.Var -> Storage | None (None: not modelled)
    outer: Callable[[ir.Var], Storage | None] | None  # variables not declared in the walk
    guards: frozenset[str] = frozenset()  # held at the call that entered it
    floor: int = 0  # constructs at or above this line enclose the task, not its accesses
    depth: int = 0
    limit: int = _MAX_DEPTH  # deepest call or task nesting walked from here
    claims_globals: bool = False  # `outer` decides for globals too (a task with default(private|firstprivate|none))
    returns: list[State] = field(default_factory=list)


@dataclass(eq=False)
class Region:
    """One task region walked: an implicit task (the code of a parallel region) or an explicit task."""

    task: TaskRun | None
    replicated: bool  # every thread of the team runs this code
    team_line: int
    final: bool = False
    own: list[Access] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)


class _Walk:
    def __init__(self, functions: dict[str, ir.Function], file_constructs: FileConstructs, program=None):
        self.functions = functions
        self.fc = file_constructs
        self.program = program  # program.ProgramFacts: what functions of other files touch (calleffects)
        self.governing: dict[int, list[Construct]] = {}
        for c in file_constructs.constructs:
            if c.stmt is not None:
                self.governing.setdefault(id(c.stmt), []).append(c)
        self.standalone = standalone_by_block(functions, file_constructs)
        self.globals: dict[ir.Var, Storage] = {}
        self.races: dict[tuple, loopfacts.RegionRace] = {}
        self.task_bodies: dict[int, Construct] = {}  # id(body of a taskloop being walked) -> the taskloop
        self.ids = itertools.count(1)
        self.loops: list[Counter | None] = []
        #: the conditions the walk is under: (loops around it, one id per arm walked)
        self.conditions: list[tuple[int, int]] = []
        self.budget = 0
        self.recursive = _recursive_functions(functions)
        self.summaries: dict[tuple, _Summary] = {}
        self.cut = 0  # calls not walked for depth: an activation holding one is not summarised
        self.active: set[tuple] = set()
        self.incomplete: dict[tuple, int] = {}  # key -> the least depth at which its walk was cut  # activations being walked (a key met again: unbounded recursion)
        self.addressed = {x.operand.var for f in functions.values() for s in f.body.walk() for e in s.expressions()
                          for x in e.walk() if isinstance(x, ir.Unary) and x.op == "&" and isinstance(x.operand, ir.Name)
                          and not (x.operand.var is not None and (x.operand.var.is_array or x.operand.var.is_container))}

    # -------------------------------------------------------------- regions

    def region(self, c: Construct) -> None:
        words = c.kind.split()
        if _count(c, "num_threads") == 1:
            return
        self.budget = _BUDGET
        shared: dict[ir.Var, Storage] = {}

        def team(var: ir.Var) -> Storage:
            return shared.setdefault(var, Storage(var, team_shared=True))

        frame = Frame(c.function, {}, team)
        state = State({}, [])
        assigned = _assigned(c.function)
        for s in c.function.body.walk():
            if isinstance(s, ir.Decl) and s.line < c.line and s.init is not None and not s.var.is_array:
                value = self.eval(s.init, frame, None, state, record=False)
                if (isinstance(value, Num) and value.known or isinstance(value, Pointer)) and s.var not in assigned:
                    state.values[team(s.var)] = value
        self.privatise(c, frame, state)
        region = Region(None, replicated=True, team_line=c.line)
        inner = [x for x in self.governing.get(id(c.stmt), ()) if x.function is c.function and x.line > c.line]
        try:
            self.construct_words(words[1:], c, c.stmt, frame, region, state, inner)
        except _GiveUp:
            return

    def privatise(self, c: Construct, frame: Frame, state: State) -> None:
        """Variables a construct's clauses give each thread (or the task) its own copy of."""
        for clause in _PRIVATISING:
            for name in c.directive.names_in(clause):
                var = _var_named(frame.function, name, c.line, self)
                if var is not None:
                    old = self.resolve(frame, var)
                    new = Storage(var, team_shared=False)
                    if clause in ("firstprivate", "linear") and old is not None:
                        state.values[new] = state.values.get(old)
                    frame.names[var] = new if clause != "copyin" else None

    # ------------------------------------------------------------ statements

    def stmt(self, s: ir.Stmt, frame: Frame, region: Region, state: State) -> bool:
        """Walk one statement; False when it does not fall through (return, break...)."""
        if id(s) in self.task_bodies:  # the body of a taskloop: one task per iteration
            self.spawn(self.task_bodies[id(s)], s, frame, region, state)
            return True
        cs = [c for c in self.governing.get(id(s), ()) if c.function is frame.function]
        if cs:
            return self.constructs(cs, s, frame, region, state)
        return self.plain(s, frame, region, state)

    def constructs(self, cs: list[Construct], s, frame, region, state) -> bool:
        if not cs:
            return self.plain(s, frame, region, state)
        return self.construct_words(cs[0].kind.split(), cs[0], s, frame, region, state, cs[1:])

    def construct_words(self, words, c: Construct, s, frame, region, state, rest=()) -> bool:
        head = words[0] if words else ""
        nowait = c.directive.clause("nowait") is not None
        if not words:
            return self.constructs(list(rest), s, frame, region, state)
        if head == "task":
            self.spawn(c, s, frame, region, state)
            return True
        if head == "taskgroup":
            group = self.open_group(region)
            through = self.constructs(list(rest), s, frame, region, state)
            self.close_group(group, region, state)
            return through
        if head == "taskloop" and words[1:] in ([], ["simd"]) and not rest and self.splits(c, s, frame, state):
            saved = dict(frame.names)
            for var in _associated_counters(s, 1):
                frame.names[var] = Storage(var, team_shared=False)  # predetermined private
            group = self.open_group(region) if c.directive.clause("nogroup") is None else None
            self.task_bodies[id(s.body)] = c
            self.loop(s, frame, region, state)
            del self.task_bodies[id(s.body)]
            if group is not None:
                self.close_group(group, region, state)
            frame.names = saved
            return True
        if head == "sections" and len(words) == 1 and region.replicated and region.task is None \
                and isinstance(s, ir.Block) and not rest:
            return self.sections(c, s, frame, region, state, nowait)
        if head in ("critical", "atomic", "ordered") and len(words) == 1:
            return self.constructs(list(rest), s, frame, region, state)
        if head in ("single", "masked", "master") and len(words) == 1 and region.replicated and region.task is None:
            saved = dict(frame.names)
            self.privatise(c, frame, state)
            region.replicated = False
            through = self.constructs(list(rest), s, frame, region, state)
            region.replicated = True
            frame.names = saved
            if head == "single" and not nowait:
                state.pending.clear()
            return through
        worksharing = head == "for" and words[1:] in ([], ["simd"]) and region.replicated and region.task is None
        if worksharing or words == ["simd"]:
            saved = dict(frame.names)
            self.privatise(c, frame, state)
            for var in _associated_counters(s, max(c.clause_depth("collapse"), c.clause_depth("ordered"))):
                frame.names[var] = Storage(var, team_shared=False)  # predetermined private
            replicated, region.replicated = region.replicated, False  # an iteration runs on one thread
            through = self.constructs(list(rest), s, frame, region, state)
            region.replicated = replicated
            frame.names = saved
            if worksharing and not nowait:
                state.pending.clear()
            return through
        self.opaque(s, frame, state)  # a construct the walk does not model: forget what it waited on
        return True

    def sections(self, c: Construct, s: ir.Block, frame: Frame, region: Region, state: State, nowait: bool) -> bool:
        """Each section runs once, on some thread of the team, while the others run theirs:
        walked as sibling tasks (the first may go without `#pragma omp section`), all
        finished at the construct's barrier unless `nowait`. Not modelled: a team that
        `if` or `num_threads` may shrink to one thread, sections holding other directives
        or while/do loops (atomics, flags and spin waits: regionraces.py reads those)."""
        team = next((x for x in self.fc.constructs if x.line == region.team_line), None)
        inside = [x for x in self.fc.within(frame.function, c.line + 1, c.last_line) if x.kind != "section"]
        spins = any(isinstance(x, (ir.While, ir.DoWhile)) for x in s.walk())
        if team is None or team.directive.clause("if") is not None or team.directive.clause("num_threads") is not None \
                or inside or spins:
            self.opaque(s, frame, state)  # sections that synchronise (atomics, flags, ...) are regions.py's
            return True
        saved = dict(frame.names)
        self.privatise(c, frame, state)
        region.replicated = False
        for inner in s.stmts:
            marks = [x for x in self.governing.get(id(inner), ()) if x.function is frame.function]
            section = next((x for x in marks if x.kind == "section"), None)
            if section is None and inner is not s.stmts[0] or any(x.kind != "section" for x in marks):
                region.replicated = True
                frame.names = saved
                self.opaque(s, frame, state)  # not the shape of a sections block: not modelled
                return True
            self.spawn(section or c, inner, frame, region, state)
        region.replicated = True
        frame.names = saved
        if not nowait:
            state.pending.clear()
        return True

    def open_group(self, region: Region) -> int:
        group = next(self.ids)
        region.groups.append(group)
        return group

    def close_group(self, group: int, region: Region, state: State) -> None:
        """The end of a taskgroup: every task created in it, and their descendants, has finished."""
        region.groups.pop()
        done = [p for p in state.pending if group in p.groups]
        finished = set().union(*(p.after for p in done))  # what they waited for has finished too
        state.pending = [replace(p, own=()) if p.origin in finished else p
                         for p in state.pending if group not in p.groups]

    def splits(self, c: Construct, s: ir.Stmt, frame: Frame, state: State) -> bool:
        """A taskloop shown to make two tasks or more: `num_tasks(k)`, k >= 2, over 2 iterations or
        more, or `grainsize(g)` over 2g or more (each task gets fewer than 2g). Without either the
        number of tasks is the implementation's: nothing is shown."""
        if not isinstance(s, ir.For) or c.clause_depth("collapse") > 1 or c.directive.clause("if") is not None:
            return False
        _, _, _, trips = self.canonical(s, frame, state)
        grain, tasks = _count(c, "grainsize"), _count(c, "num_tasks")
        if trips is None:
            return False
        return (grain is not None and grain > 0 and trips >= 2 * grain) or (tasks is not None and tasks >= 2 and trips >= 2)

    def opaque(self, s: ir.Stmt, frame: Frame, state: State) -> None:
        state.pending.clear()
        self.forget(_assigned_in(s), frame, state)

    def standalone_directive(self, c: Construct, region: Region, state: State) -> None:
        head = c.kind.split()[0] if c.kind else ""
        if head == "taskwait":
            state.pending = [replace(p, own=(), waited_line=p.waited_line or c.line) for p in state.pending]
        elif head == "barrier":
            state.pending.clear()
        elif head not in ("flush", "taskyield", "threadprivate", "declare", "requires"):
            state.pending.clear()

    def plain(self, s: ir.Stmt, frame: Frame, region: Region, state: State) -> bool:
        self.budget -= 1
        if self.budget < 0:
            raise _GiveUp
        if isinstance(s, ir.Block):
            directives = list(self.standalone.get(id(s), ()))
            for inner in s.stmts:
                while directives and directives[0].line < inner.line:
                    self.standalone_directive(directives.pop(0), region, state)
                if not self.stmt(inner, frame, region, state):
                    return False
            for c in directives:
                self.standalone_directive(c, region, state)
            return True
        if isinstance(s, ir.ExprStmt):
            self.eval(s.expr, frame, region, state)
            return True
        if isinstance(s, ir.Decl):
            storage = self.globals.setdefault(s.var, Storage(s.var, True)) if s.var.kind == "static" else \
                Storage(s.var, team_shared=False)
            if s.var.kind == "static":
                frame.names[s.var] = storage
                return True
            value = self.eval(s.init, frame, region, state) if s.init is not None else None
            frame.names[s.var] = storage
            state.values[storage] = value
            return True
        if isinstance(s, ir.If):
            return self.branch(s.cond, [s.then, s.orelse], frame, region, state)
        if isinstance(s, ir.LoopStmt):
            self.loop(s, frame, region, state)
            return True
        if isinstance(s, ir.Jump):
            if s.value is not None:
                self.eval(s.value, frame, region, state)
            if s.kind == "return":
                frame.returns.append(state.copy())
            return False
        if isinstance(s, ir.Switch):
            return self.branch(s.cond, [s.body, None], frame, region, state, decide=False) or True
        if isinstance(s, ir.Labeled):
            return self.stmt(s.stmt, frame, region, state) if s.stmt is not None else True
        for part in s.children():  # OtherStmt
            if isinstance(part, ir.Stmt):
                self.stmt(part, frame, region, state)
            else:
                self.eval(part, frame, region, state)
        return True

    def branch(self, cond, arms, frame, region, state, decide=True) -> bool:
        value = self.eval(cond, frame, region, state)
        if decide and isinstance(value, Num) and value.known:
            arm = arms[0] if value.lo else arms[1]
            return self.stmt(arm, frame, region, state) if arm is not None else True
        before = {p.origin for p in state.pending}
        results = []
        for arm in arms:
            path = state.copy()
            self.conditions.append((len(self.loops), next(self.ids)))
            if arm is None or self.stmt(arm, frame, region, path):
                results.append(path)
            self.conditions.pop()
        if not results:
            return False
        state.become(_join(results, before))
        return True

    def loop(self, s: ir.LoopStmt, frame, region, state) -> None:
        counter_var, first, step, trips = None, None, None, None
        if isinstance(s, ir.For):
            if s.init is not None:
                self.stmt(s.init, frame, region, state)
            counter_var, first, step, trips = self.canonical(s, frame, state)
        elif isinstance(s, ir.RangeFor) and s.range is not None:
            self.eval(s.range, frame, region, state)
        written = _assigned_in(s)
        self.forget(written, frame, state)
        if trips == 0:
            if getattr(s, "cond", None) is not None:
                self.eval(s.cond, frame, region, state)
            return
        every = not any(isinstance(x, ir.Jump) for x in s.body.walk())
        before = state.copy()
        execution = object()
        storage = self.resolve(frame, counter_var) if counter_var is not None else None
        for turn in range(min(trips or 2, 2)):
            counter = None
            if storage is not None and trips and isinstance(first, Num):
                state.values[storage] = first  # some value of a known range (not every value)
            elif storage is not None and trips:
                counter = Counter(s, execution, turn, first, step, trips, len(self.loops) + 1, every)
                state.values[storage] = Num.of(counter)
            if isinstance(s, (ir.For, ir.While)) and s.cond is not None:
                self.eval(s.cond, frame, region, state)
            self.loops.append(counter if counter is not None else s)
            self.stmt(s.body, frame, region, state)
            self.loops.pop()
            if isinstance(s, ir.For) and s.inc is not None:
                self.eval(s.inc, frame, region, state)
            if isinstance(s, ir.DoWhile) and s.cond is not None:
                self.eval(s.cond, frame, region, state)
        self.forget(written, frame, state)
        if not trips and not isinstance(s, ir.DoWhile):  # perhaps no iteration at all
            state.become(_join([state, before], {p.origin for p in before.pending}))

    def forget(self, written: set[ir.Var], frame: Frame, state: State) -> None:
        """Values a loop changes, and every global's (a call in it may set them)."""
        for var in written:
            storage = self.resolve(frame, var)
            if storage is not None:
                state.values.pop(storage, None)
        for storage in [k for k in state.values if k.var.kind in ("global", "static")]:
            del state.values[storage]

    def canonical(self, s: ir.For, frame, state):
        """(counter, first value, step, trip count) of `for (k = a; k < b; k += c)` with
        known a, b, c; trips None when not known. When only b - a is known, the first
        value is the Num range the counter stays in."""
        init = s.init
        if isinstance(init, ir.Decl) and init.init is not None:
            var, start = init.var, init.init
        elif isinstance(init, ir.ExprStmt) and isinstance(init.expr, ir.Assign) and init.expr.op == "=" \
                and isinstance(init.expr.target, ir.Name):
            var, start = init.expr.target.var, init.expr.value
        else:
            return None, None, None, None
        if var is None or var in written_vars(s.body):
            return None, None, None, None
        step = _step(s.inc, var)
        cond = s.cond
        if step is None or not (isinstance(cond, ir.Binary) and isinstance(cond.lhs, ir.Name) and cond.lhs.var is var):
            return var, None, None, None
        a = self.eval(start, frame, None, state, record=False)
        b = self.eval(cond.rhs, frame, None, state, record=False)
        if not (isinstance(a, Num) and isinstance(b, Num)) or (step > 0) != (cond.op in ("<", "<=")):
            return var, None, None, None
        if a.known and b.known:
            lo, bound = a.lo, b.lo
        else:  # `for (i = lo; i < lo + 32; i++)`: the start is not known, the trip count is
            width = arith("-", b, a)
            if not (isinstance(width, Num) and (width.known or width.counter is not None and width.scale == 0)):
                return var, None, None, None
            lo, bound = 0, width.lo
        last = {"<": bound - 1, "<=": bound, ">": bound + 1, ">=": bound}.get(cond.op)
        if last is None:
            return var, None, None, None
        trips = max(0, (last - lo) // step + 1)
        if not a.known:  # the counter lies in a range: the smallest start to the largest end
            span = step * (trips - 1)
            return var, Num(a.lo + min(span, 0), a.hi + max(span, 0)) if trips else None, step, trips
        return var, lo, step, trips

    # --------------------------------------------------------------- tasks

    def spawn(self, c: Construct, s: ir.Stmt, frame: Frame, region: Region, state: State) -> None:
        if region.final or c.directive.clause("if") is not None or frame.depth >= frame.limit:
            self.cut += frame.depth >= frame.limit
            self.opaque(s, frame, state)  # an included or undeferred task: not modelled
            return
        loop = next((x for x in reversed(self.loops)), None)
        loop_line = (loop.loop.line if isinstance(loop, Counter) else loop.line) if loop is not None else 0
        run = TaskRun(c, region.task, loop_line)
        child_state = State(dict(state.values), [])
        spawn_values = dict(state.values)
        default = next(iter(c.directive.names_in("default")), "")
        listed = {clause: set(c.directive.names_in(clause))
                  for clause in ("shared", "private", "firstprivate", "in_reduction", "reduction")}

        def data_sharing(var: ir.Var) -> Storage | None:
            if var.kind in ("global", "static") and var.name in self.fc.threadprivate:
                return None
            base = self.resolve(frame, var)
            if var.name in listed["shared"]:
                return base
            if var.name in listed["in_reduction"] | listed["reduction"]:
                return None
            explicit = var.name in listed["private"] | listed["firstprivate"]
            if not explicit and (default == "shared" or default == "" and base is not None and base.team_shared
                                 and not var.is_reference):
                return base
            copy = Storage(var, team_shared=False)
            if var.name not in listed["private"] and base is not None:
                child_state.values[copy] = spawn_values.get(base)
            return copy

        task_frame = Frame(frame.function, {}, data_sharing, floor=c.line, depth=frame.depth + 1, limit=frame.limit,
                           claims_globals=default not in ("", "shared"))
        for name in set().union(*listed.values()):
            var = _var_named(frame.function, name, c.line, self)
            if var is not None and var.kind in ("global", "static"):
                task_frame.names[var] = data_sharing(var) if name not in listed["shared"] else self.resolve(frame, var)
        child = Region(run, replicated=False, team_line=region.team_line, final=c.directive.clause("final") is not None)
        self.stmt_after(c, s, task_frame, child, child_state)
        own = tuple(child.own)
        descendants = tuple(a for p in child_state.pending for a in p.own + p.descendants)
        dependences = self.dependences(c, frame, state)
        after = set()
        for p in state.pending:
            if _ordered(p.dependences, dependences):
                after |= {p.origin, *p.after}
        for p in state.pending:
            ordered = p.origin in after
            theirs = p.descendants if ordered else p.own + p.descendants
            self.pairs(theirs, own + descendants, lambda a, b: _siblings(a, b, p))
        if region.replicated and not self.conditions:  # another thread's copy: same shared objects, inner counters
            level = len(self.loops)
            same = tuple(a for a in own if a.storage.team_shared and not a.conditions and all(
                n is not None and (n.counter is None or n.counter.level > level) for n in a.index))
            self.pairs(same, same, lambda a, b: (
                f"every thread of the parallel region at line {region.team_line} creates the task at line {c.line}, "
                "so two of these tasks may run at the same time"))
        state.pending.append(Pending(run, own, descendants, tuple(region.groups), dependences, next(self.ids),
                                     frozenset(after)))
        for a in own + descendants:
            if a.kind != "read":
                state.values.pop(a.storage, None)

    def stmt_after(self, c: Construct, s, frame, region, state) -> None:
        """Walk the task's statement under the constructs below the task directive."""
        cs = [x for x in self.governing.get(id(s), ()) if x.function is frame.function and x.line > c.line]
        self.constructs(cs, s, frame, region, state)

    def dependences(self, c: Construct, frame: Frame, state: State):
        out = []
        for clause in c.directive.clauses:
            if clause.name != "depend":
                continue
            text = clause.arguments or ""
            kind, _, items = text.partition(":")
            kind = kind.strip()
            if "(" in kind or not items:
                out.append(("unknown", None, None))
                continue
            for item in items.split(","):
                out.append((kind, *self.dependence_object(item.strip(), frame, state, c.line)))
        return tuple(out)

    def dependence_object(self, item: str, frame, state, line) -> tuple[Storage | None, Section | None]:
        """The object a depend item names, and the array section of it (None: the whole object)."""
        name, _, subscript = item.partition("[")
        var = _var_named(frame.function, name.strip(), line, self)
        if var is None or not name.strip().isidentifier():
            return None, None
        storage = self.resolve(frame, var)
        if not subscript:
            return storage, None
        section = parse_section(subscript[:-1] if subscript.endswith("]") else "[", self.section_value(frame, state, line))
        if var.is_array or var.is_container:
            return storage, section
        pointer = state.values.get(storage) if storage is not None else None
        if not isinstance(pointer, Pointer):
            return None, None
        offset = pointer.offset
        if section is not None and isinstance(offset, Num) and offset.known:
            section = Section(add_constant(section.lo, offset.lo), section.length)
        elif section is not None:
            section = None
        return pointer.storage, section

    def section_value(self, frame: Frame, state: State, line: int):
        """A name in a depend section: a variable's known value (None when not known), or
        "symbol" for a name that is no variable (a macro or enumerator: one value everywhere)."""
        def value_of(name: str):
            var = _var_named(frame.function, name, line, self)
            if var is None:
                return "symbol"
            value = state.values.get(self.resolve(frame, var))
            return value.lo if isinstance(value, Num) and value.known else None
        return value_of

    def pairs(self, earlier, later, meet) -> None:
        """Report every conflicting pair. Only accesses to one storage can
        conflict, so `later` is grouped by storage first; each comparison made
        counts against the region's budget (a large region gives up, claiming nothing)."""
        by_storage: dict[int, list[Access]] = {}
        for b in later:
            by_storage.setdefault(id(b.storage), []).append(b)
        for a in earlier:
            same = by_storage.get(id(a.storage), ())
            self.budget -= len(same) // 8
            if self.budget < 0:
                raise _GiveUp
            for b in same:
                if a.conflicts(b):
                    self.report(a, b, meet(a, b))

    def report(self, a: Access, b: Access, meet: str) -> None:
        key = (a.storage.var.name, a.line, b.line)
        if key in self.races:
            return
        region_line = a.task.line if a.task is not None else b.task.line
        self.races[key] = loopfacts.RegionRace(
            region_line=region_line, name=a.storage.var.name,
            first_access=f"{a.kind} of {a.text}", first_line=a.line,
            second_access=f"{b.kind} of {b.text}", second_line=b.line, meet=meet)

    # ------------------------------------------------------------- accesses

    def resolve(self, frame: Frame, var: ir.Var | None) -> Storage | None:
        if var is None:
            return None
        if var in frame.names:
            return frame.names[var]
        if var.kind in ("global", "static") and not frame.claims_globals:
            storage = None if var.name in self.fc.threadprivate else self.globals.setdefault(var, Storage(var, True))
        else:
            storage = frame.outer(var) if frame.outer is not None else None
        frame.names[var] = storage
        return storage

    def access(self, storage, index, kind, e: ir.Expr, frame: Frame, region: Region | None, state: State) -> None:
        if storage is None or region is None:
            return
        level = max((level for level, _ in self.conditions), default=0)
        index = tuple(replace(n, every=False) if n is not None and n.counter is not None and n.counter.level <= level
                      else n for n in index)
        a = Access(storage, index, kind, e.line, e.text, self.guards(frame, e.line, storage.var.name), region.task,
                   frozenset(arm for _, arm in self.conditions))
        region.own.append(a)
        for p in state.pending:
            touching = p.accesses_of(storage)
            if touching:
                self.pairs(touching, (a,), lambda x, y: _after(x, y, p))

    def guards(self, frame: Frame, line: int, var: str) -> frozenset[str]:
        labels = set(frame.guards)
        for c in self.fc.around(frame.function, line):
            if c.line <= frame.floor:
                continue
            words = c.kind.split()
            if "critical" in words:
                labels.add(f"critical:{c.critical_name}")
            elif "atomic" in words and var in c.atomic_targets:
                labels.add("atomic")
        labels.update(f"lock:{span.lock}" for span in self.fc.locks
                      if span.function is frame.function and span.covers(line) and span.first_line > frame.floor)
        return frozenset(labels)

    def location(self, e: ir.Expr, frame, region, state):
        """(storage, index) an lvalue denotes, its subscripts evaluated; None: not modelled."""
        subscripts = []
        while isinstance(e, ir.Index):
            subscripts.append(self.eval(e.index, frame, region, state))
            e = e.base
        subscripts.reverse()
        if isinstance(e, ir.Name) and e.var is not None:
            var = e.var
            if not subscripts or var.is_array or var.is_container:
                return self.resolve(frame, var), tuple(subscripts)
            pointer = self.eval(e, frame, region, state)
        elif isinstance(e, ir.Unary) and e.op == "*" and not subscripts:
            pointer, subscripts = self.eval(e.operand, frame, region, state), [Num.const(0)]
        else:
            if e is not None:
                self.eval(e, frame, region, state)
            return None
        if isinstance(pointer, Pointer) and subscripts:
            return pointer.storage, (add(pointer.offset, subscripts[0]), *subscripts[1:])
        return None

    def eval(self, e: ir.Expr | None, frame: Frame, region: Region | None, state: State, record: bool = True):
        """The value of an expression (Num, Pointer or None), its reads and writes recorded."""
        if e is None:
            return None
        region = region if record else None
        if isinstance(e, ir.Const):
            return Num.const(e.value) if isinstance(e.value, int) else None
        if isinstance(e, ir.Name):
            if e.value is not None:
                return Num.const(e.value)
            storage = self.resolve(frame, e.var)
            if e.var is not None and e.var in self.addressed:
                self.access(storage, (), "read", e, frame, region, state)
                return None
            if e.var is not None and (e.var.is_array or e.var.is_container):
                return Pointer(storage, Num.const(0)) if storage is not None else None
            self.access(storage, (), "read", e, frame, region, state)
            return state.values.get(storage) if storage is not None else None
        if isinstance(e, (ir.Index,)) or isinstance(e, ir.Unary) and e.op == "*":
            found = self.location(e, frame, region, state)
            if found is not None:
                self.access(*found, "read", e, frame, region, state)
            return None
        if isinstance(e, ir.Unary) and e.op == "&":
            found = self.location(e.operand, frame, region, state) if not isinstance(e.operand, ir.Name) else (
                self.resolve(frame, e.operand.var), ())
            if found is not None and found[0] is not None and len(found[1]) <= 1:
                return Pointer(found[0], found[1][0] if found[1] else Num.const(0))
            return None
        if isinstance(e, ir.Unary) and e.op in ("++", "--", "post++", "post--"):
            return self.store(e.operand, "update", None, frame, region, state, step=1 if "++" in e.op else -1)
        if isinstance(e, ir.Unary):
            value = self.eval(e.operand, frame, region, state)
            if e.op == "-":
                return mul(value, Num.const(-1))
            if e.op == "!" and isinstance(value, Num) and value.known:
                return Num.const(int(not value.lo))
            return value if e.op == "+" else None
        if isinstance(e, ir.Assign):
            value = self.eval(e.value, frame, region, state)
            if e.op == "=":
                return self.store(e.target, "write", value, frame, region, state)
            return self.store(e.target, "update", None, frame, region, state, op=e.op[:-1], operand=value)
        if isinstance(e, ir.Binary):
            if e.op in ("&&", "||"):
                left = self.eval(e.lhs, frame, region, state)
                if isinstance(left, Num) and left.known and bool(left.lo) == (e.op == "||"):
                    return Num.const(int(e.op == "||"))  # the right operand is not evaluated
                self.conditions.append((len(self.loops), next(self.ids)))
                right = self.eval(e.rhs, frame, region, state)
                self.conditions.pop()
                return arith(e.op, left, right)
            left, right = self.eval(e.lhs, frame, region, state), self.eval(e.rhs, frame, region, state)
            if isinstance(left, Pointer) and isinstance(right, Num) and e.op in ("+", "-"):
                return Pointer(left.storage, arith(e.op, left.offset, right))
            return arith(e.op, left, right)
        if isinstance(e, ir.Conditional):
            cond = self.eval(e.cond, frame, region, state)
            if isinstance(cond, Num) and cond.known:
                return self.eval(e.then if cond.lo else e.orelse, frame, region, state)
            values = []
            for arm in (e.then, e.orelse):
                self.conditions.append((len(self.loops), next(self.ids)))
                values.append(self.eval(arm, frame, region, state))
                self.conditions.pop()
            return values[0] if values[0] == values[1] else None
        if isinstance(e, ir.Call):
            return self.call(e, frame, region, state)
        if isinstance(e, ir.Member):
            self.location(e.base, frame, region, state) if e.base is not None else None
            return None
        for part in e.children():  # OtherExpr: casts and the like
            value = self.eval(part, frame, region, state)
        return value if len(e.children()) == 1 and e.kind in ("unexposed_expr", "cstyle_cast_expr", "paren_expr") \
            else None

    def summarised(self, e: ir.Call, frame: Frame, region, state: State) -> bool:
        """A call into another file with a complete summary (calleffects): its
        unprotected accesses of `*p` for an argument `&x` are accesses of x at the
        call's line. False when the program has no complete summary of it."""
        from .program import callee_key

        summary = self.program.effects.get(callee_key(e)) if self.program is not None else None
        if summary is None or not summary.known or summary.changes_locks:
            return False
        for t in summary.touches:
            if not t.root.startswith("param:") or t.indexed or t.path not in ((), ("[0]",)) or t.labels:
                continue
            position = int(t.root.split(":")[1])
            arg = e.args[position] if position < len(e.args) else None
            if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Name) \
                    and arg.operand.var is not None and not arg.operand.var.is_array:
                storage = self.resolve(frame, arg.operand.var)
                self.access(storage, (), "write" if t.is_write else "read", e, frame, region, state)
        return True

    def store(self, target, kind, value, frame, region, state, step=0, op="", operand=None):
        if isinstance(target, ir.Name) and target.var is not None and not target.var.is_array:
            storage = self.resolve(frame, target.var)
            if storage is None:
                return None
            old = state.values.get(storage)
            if kind == "update":
                value = arith("+", old, Num.const(step)) if step else arith(op, old, operand)
            self.access(storage, (), kind, target, frame, region, state)
            state.values[storage] = value
            return value
        found = self.location(target, frame, region, state)
        if found is not None:
            self.access(*found, kind, target, frame, region, state)
            state.values.pop(found[0], None)
        return value

    def call(self, e: ir.Call, frame: Frame, region, state: State):
        function = e.function or self.functions.get(e.name)
        if function is None or function.body is None:
            for arg in e.args:
                self.eval(arg, frame, region, state)
            if e.receiver is not None:
                self.eval(e.receiver, frame, region, state)
            if self.summarised(e, frame, region, state):
                return None  # no directive in it or its callees: it waits for no task
            if region is not None and e.name not in SYNC_CALLS and not e.name.startswith("omp_") and \
                    classify_call(e, self.functions).kind == "unknown":
                state.pending.clear()  # it might wait for the tasks
            return None
        if region is None:
            return None
        callee = Frame(function, {}, None, guards=self.guards(frame, e.line, ""), depth=frame.depth + 1)
        arguments = []
        for param, arg in itertools.zip_longest(function.params, e.args):
            if param is None:
                self.eval(arg, frame, region, state)
                continue
            if param.is_reference:
                storage = self.resolve(frame, arg.var) if isinstance(arg, ir.Name) else None
                if not isinstance(arg, ir.Name) and arg is not None:
                    self.eval(arg, frame, region, state)
                callee.names[param] = storage
                arguments.append(None)
                continue
            own = Storage(param, team_shared=False)
            callee.names[param] = own
            state.values[own] = self.eval(arg, frame, region, state) if arg is not None else None
            arguments.append(state.values[own])
        key = self.summary_key(function, arguments, callee, region, state)
        if key is not None and key in self.summaries:
            self.summaries[key].replay(region, state, frozenset(arm for _, arm in self.conditions), self.ids)
            return None
        callee.limit = _MAX_RECURSION if key is not None else frame.limit
        if frame.depth + 1 >= callee.limit or key in self.active or frame.depth + 1 >= self.incomplete.get(key, 10**9):
            state.pending.clear()
            self.cut += 1
            return None
        before = {p.origin for p in state.pending}
        start, outer, cut = len(region.own), frozenset(arm for _, arm in self.conditions), self.cut
        if key is not None:
            self.active.add(key)
        try:
            if self.stmt(function.body, callee, region, state):
                callee.returns.append(state.copy())
            state.become(_join(callee.returns, before))
        finally:
            self.active.discard(key)
        made = region.own[start:]
        finished = all(not p.own and not p.descendants for p in state.pending)  # waited for, with their descendants
        if key is not None and cut != self.cut:  # walking it again as deep or deeper is cut again
            self.incomplete[key] = min(self.incomplete.get(key, 10**9), frame.depth + 1)
        if key is not None and finished and cut == self.cut and all(n is not None and n.known for a in made for n in a.index):
            self.summaries[key] = _Summary(tuple(made), outer)
        return None

    def summary_key(self, function: ir.Function, arguments, callee: Frame, region: Region, state: State) -> tuple | None:
        """What decides the walk of an activation of a recursive function: its
        scalar arguments (known integers), the guards held at the call, the known
        values of team-shared objects, and the kind of task region it runs in.
        None when it is not summarised (not recursive, an argument not a known
        integer, tasks pending at the call)."""
        if function not in self.recursive or any(p.own or p.descendants for p in state.pending):
            return None
        values = []
        for param, value in zip(function.params, arguments):
            if param.is_reference or param.is_pointer or param.is_array or not isinstance(value, Num) or not value.known:
                return None
            values.append(value.lo)
        shared = []
        for storage, value in state.values.items():
            if not storage.team_shared or value is None:
                continue
            if isinstance(value, Num):
                shared.append((id(storage), value.lo if value.known else None, value.hi if value.known else None))
            elif isinstance(value, Pointer):
                offset = value.offset.lo if isinstance(value.offset, Num) and value.offset.known else None
                shared.append((id(storage), id(value.storage), offset))
        return (id(function), tuple(values), callee.guards, frozenset(shared), region.replicated, region.final,
                region.task is None)


@dataclass(frozen=True)
class _Summary:
    """What one activation of a recursive function did in the task region that
    called it, when every task it created was waited for before it returned:
    its accesses (the conditions outside the call removed). Replaying it at
    another call with the same key stands for walking the activation again:
    its private objects (locals, parameters) are new copies, and the
    conditions inside it new arms (a condition walked twice counts as two)."""

    accesses: tuple[Access, ...]
    outer: frozenset[int]  # the conditions around the call that made it

    def replay(self, region: Region, state: State, conditions: frozenset[int], ids) -> None:
        copies: dict[int, Storage] = {}
        arms: dict[int, int] = {}
        for a in self.accesses:
            storage = a.storage
            if not storage.team_shared:
                storage = copies.setdefault(id(storage), Storage(storage.var, team_shared=False))
            inner = frozenset(arms.setdefault(arm, next(ids)) for arm in a.conditions - self.outer)
            region.own.append(replace(a, storage=storage, task=region.task, conditions=inner | conditions))
            if a.kind != "read":
                state.values.pop(storage, None)


def _recursive_functions(functions: dict[str, ir.Function]) -> set[ir.Function]:
    """Functions of the file that can call themselves (directly or through others)."""
    calls: dict[int, set[int]] = {}
    by_id = {id(f): f for f in functions.values() if f.body is not None}
    for f in by_id.values():
        found = set()
        for s in f.body.walk():
            for e in s.expressions():
                for x in e.walk():
                    if isinstance(x, ir.Call):
                        callee = x.function or functions.get(x.name)
                        if callee is not None and id(callee) in by_id:
                            found.add(id(callee))
        calls[id(f)] = found
    recursive = set()
    for start in by_id:
        seen, todo = set(), list(calls[start])
        while todo:
            n = todo.pop()
            if n == start:
                recursive.add(by_id[start])
                break
            if n not in seen:
                seen.add(n)
                todo.extend(calls.get(n, ()))
    return recursive


# ------------------------------------------------------------ the findings


def _after(a: Access, b: Access, p: Pending) -> str:
    """How a pending task's access `a` meets `b`, code of the task that created it."""
    if a.task is p.task:
        return (f"nothing waits for the task at line {a.task.line} before line {b.line} runs "
                "(no taskwait, end of taskgroup or barrier between them)")
    if p.waited_line:
        return (f"the taskwait at line {p.waited_line} waits for the task at line {p.task.line} but not for the task "
                f"at line {a.task.line} it created (a taskwait waits for child tasks only; a taskgroup waits for all)")
    return (f"the task at line {a.task.line} is created by the task at line {p.task.line} and nothing waits for "
            f"either before line {b.line} runs")


def _siblings(a: Access, b: Access, p: Pending) -> str:
    if a.task is not None and b.task is not None and {a.task.construct.kind, b.task.construct.kind} <= {"section", "sections"}:
        return (f"the sections at lines {a.task.line} and {b.task.line} may run at the same time on two threads "
                "of the team")
    if a.task is not None and b.task is not None and a.task.construct is b.task.construct \
            and a.task.construct.kind.split()[0] == "taskloop":
        return (f"the taskloop at line {a.task.line} makes two tasks or more from the iterations of the loop at "
                f"line {a.task.loop_line}, and they may run at the same time")
    if a.task is not None and b.task is not None and a.task.construct is b.task.construct and a.task.loop_line:
        return (f"the task at line {a.task.line} is created in every iteration of the loop at line "
                f"{a.task.loop_line}, and two of these tasks may run at the same time")
    return (f"the tasks at lines {a.task.line} and {b.task.line} may run at the same time: nothing waits for the "
            "first before the second is created, and no depend clause orders them")


def _ordered(first, second) -> bool:
    """`depend` clauses order the second task after the first (unknown objects order
    everything; array sections of one object shown apart order nothing)."""
    for kind_a, a, section_a in first:
        for kind_b, b, section_b in second:
            if a is None or b is None:
                return True
            if a is b and not (kind_a == kind_b and kind_a in _IN_DEPENDENCES) \
                    and not sections_disjoint(section_a, section_b):
                return True
    return False


# ----------------------------------------------------------- small helpers


def _associated_counters(s: ir.Stmt, depth: int) -> list[ir.Var]:
    """The counters of the `depth` loops a loop directive is associated with."""
    out = []
    while isinstance(s, ir.For) and len(out) < depth:
        init = s.init
        if isinstance(init, ir.Decl):
            out.append(init.var)
        elif isinstance(init, ir.ExprStmt) and isinstance(init.expr, ir.Assign) and isinstance(init.expr.target, ir.Name) \
                and init.expr.target.var is not None:
            out.append(init.expr.target.var)
        body = s.body
        s = body.stmts[0] if isinstance(body, ir.Block) and len(body.stmts) == 1 else body
    return out


def _assigned_in(s: ir.Stmt) -> set[ir.Var]:
    """Variables the statement's expressions assign (declarations inside it left out)."""
    return {v for x in s.walk() for e in x.expressions() for v in written_in_expr(e)}


def _count(c: Construct, clause: str) -> int | None:
    found = c.directive.clause(clause)
    try:
        return int(found.items()[0]) if found is not None and found.items() else None
    except ValueError:
        return None


def _step(inc: ir.Expr | None, var: ir.Var) -> int | None:
    if isinstance(inc, ir.Unary) and isinstance(inc.operand, ir.Name) and inc.operand.var is var:
        return 1 if "++" in inc.op else -1 if "--" in inc.op else None
    if isinstance(inc, ir.Assign) and isinstance(inc.target, ir.Name) and inc.target.var is var \
            and isinstance(inc.value, ir.Const) and isinstance(inc.value.value, int) and inc.value.value:
        return {"+=": inc.value.value, "-=": -inc.value.value}.get(inc.op)
    return None


def _assigned(function: ir.Function) -> set[ir.Var]:
    out: set[ir.Var] = set()
    for s in function.body.walk():
        for e in s.expressions():
            out |= written_in_expr(e)
            out |= {x.operand.var for x in e.walk() if isinstance(x, ir.Unary) and x.op == "&"
                    and isinstance(x.operand, ir.Name) and x.operand.var is not None}
    return out


def _var_named(function: ir.Function, name: str, line: int, walk: _Walk) -> ir.Var | None:
    """The variable `name` means at `line` of the function: the last declaration above it, else a global."""
    found = None
    for var in function.params:
        if var.name == name:
            found = var
    for s in function.body.walk():
        if isinstance(s, ir.Decl) and s.var.name == name and s.line <= line:
            found = s.var
    if found is not None:
        return found
    for f in walk.functions.values():
        for s in f.body.walk():
            for e in s.expressions():
                for x in e.walk():
                    if isinstance(x, ir.Name) and x.name == name and x.var is not None and x.var.kind == "global":
                        return x.var
    return None


def _brace_depths(lines: tuple[str, ...]) -> list[tuple[int, int]]:
    """(depth at the start, lowest depth reached) of each line, comments and literals left out."""
    out = []
    depth, in_comment = 0, False
    for text in lines:
        start, low = depth, depth
        i = 0
        if text.lstrip().startswith("#") and not in_comment:
            out.append((start, low))
            continue
        while i < len(text):
            two = text[i:i + 2]
            if in_comment:
                if two == "*/":
                    in_comment, i = False, i + 2
                    continue
            elif two == "//":
                break
            elif two == "/*":
                in_comment, i = True, i + 2
                continue
            elif text[i] in "\"'":
                quote, i = text[i], i + 1
                while i < len(text) and text[i] != quote:
                    i += 2 if text[i] == "\\" else 1
            elif text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                low = min(low, depth)
            i += 1
        out.append((start, low))
    return out


def standalone_by_block(functions, fc: FileConstructs) -> dict[int, list[Construct]]:
    """The block each standalone directive (taskwait, barrier, ...) stands in, by brace depth."""
    if not fc.lines:
        return {}
    depths = _brace_depths(fc.lines)
    out: dict[int, list[Construct]] = {}

    def at(line: int) -> tuple[int, int]:
        return depths[line - 1] if 1 <= line <= len(depths) else (0, 0)

    bodies = [f for f in functions.values() if f.body is not None]
    for c in fc.constructs:
        if not c.standalone:
            continue
        # a directive below a function's last code line (a closing taskwait) is in no function's span
        candidates = [c.function] if c.function is not None else [f for f in bodies if f.body.line < c.line]
        best = None
        for function in candidates:
            for block in function.body.walk():
                if not isinstance(block, ir.Block) or block.line >= c.line:
                    continue
                inside = at(block.line + 1)[0]
                if at(c.line)[0] != inside:
                    continue
                if all(at(n)[1] >= inside for n in range(block.line + 1, c.line)):
                    if best is None or block.line > best.line:
                        best = block
        if best is not None:
            out.setdefault(id(best), []).append(c)
    for found in out.values():
        found.sort(key=lambda c: c.line)
    return out


def find(functions: dict[str, ir.Function], file_constructs: FileConstructs, facts=None) -> list[loopfacts.RegionRace]:
    """The task races of one file, one per pair of access lines. Only the
    functions of the file are followed, so a file without a task (or
    sections) construct has no race this walk finds: it is not walked (the
    walk is the costly part of check on large files)."""
    spawning = _spawning_functions(functions, file_constructs)
    if not spawning:
        return []
    walk = _Walk(functions, file_constructs, facts)
    for c in file_constructs.constructs:
        if c.stmt is None or c.function is None or c.kind.split()[:1] != ["parallel"]:
            continue
        if not _reaches_tasks(c, file_constructs, spawning):
            continue
        if any(o is not c and o.kind.split()[:1] == ["parallel"] for o in file_constructs.around(c.function, c.line)):
            continue  # nested in another region of the function: walked with it (as opaque)
        walk.region(c)
    return sorted(walk.races.values(), key=lambda r: (r.first_line, r.second_line, r.name))


def _creates_tasks(c: Construct) -> bool:
    """`task`, `taskloop` and the combined forms that hold them (`parallel master taskloop`...),
    and `sections` (the walk reads its sections as sibling tasks)."""
    return any(word in ("task", "taskloop", "sections") for word in c.kind.split())


def _spawning_functions(functions: dict[str, ir.Function], fc: FileConstructs) -> set[str]:
    """Functions of the file that create tasks (or hold sections), or call one that does."""
    found = {c.function.name for c in fc.constructs if c.function is not None and _creates_tasks(c)}
    callees = {name: _called_names(f.body) for name, f in functions.items() if f.body is not None}
    grew = bool(found)
    while grew:
        grew = False
        for name, called in callees.items():
            if name not in found and called & found:
                found.add(name)
                grew = True
    return found


def _reaches_tasks(region: Construct, fc: FileConstructs, spawning: set[str]) -> bool:
    """The region holds a task (or sections) construct, or calls a function that creates one."""
    if _creates_tasks(region) or any(_creates_tasks(c) for c in fc.within(region.function, region.first_line,
                                                                          region.last_line)):
        return True
    return bool(_called_names(region.stmt) & spawning)


def _called_names(stmt: ir.Stmt) -> set[str]:
    return {e.name for s in stmt.walk() for x in s.expressions() for e in x.walk() if isinstance(e, ir.Call)}
