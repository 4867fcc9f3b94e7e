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
at the other calls with the same arguments, taskcalls.py), loops walked for two
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

The walk is one class mixed from modules of one job each: taskstate.py (the
objects, accesses, tasks and state it keeps), taskstatements.py (directives,
blocks, branches, loops), taskexprs.py (values, reads and writes),
taskorder.py (taskwait, taskgroup, barriers, `depend`), taskcalls.py (calls,
recursion replayed) and taskconflicts.py (comparing the accesses of concurrent
tasks, the races reported). This module walks each parallel region and
creates the tasks (`spawn`: a task's data-sharing, its accesses against its
siblings' and its copy's).
"""

from __future__ import annotations

import itertools

from . import ir, loopfacts
from .constructs import Construct, FileConstructs
from .loops import written_in_expr
from .taskcalls import CallWalk, Summary, recursive_functions
from .taskconflicts import ConflictReports, siblings
from .taskexprs import ExpressionWalk, var_named
from .taskorder import TaskOrdering, depend_orders, standalone_by_block
from .taskstate import Frame, GiveUp, Pending, Pointer, Region, State, Storage, TaskRun
from .taskstatements import StatementWalk, clause_count
from .taskvalues import Counter, Num

_BUDGET = 40_000  # statements walked per parallel region
_PRIVATISING = ("private", "firstprivate", "lastprivate", "reduction", "linear", "copyin")


class _Walk(StatementWalk, ExpressionWalk, TaskOrdering, CallWalk, ConflictReports):
    """One file's task walk: the parallel regions (`region`) and the tasks they
    create (`spawn`), with the statements, expressions, ordering, calls and
    comparisons of the modules it mixes in."""

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
        self.recursive = recursive_functions(functions)
        self.summaries: dict[tuple, Summary] = {}
        self.cut = 0  # calls not walked for depth: an activation holding one is not summarised
        self.active: set[tuple] = set()  # activations being walked (a key met again: unbounded recursion)
        self.incomplete: dict[tuple, int] = {}  # key -> the least depth at which its walk was cut
        self.addressed = {x.operand.var for f in functions.values() for s in f.body.walk() for e in s.expressions()
                          for x in e.walk() if isinstance(x, ir.Unary) and x.op == "&" and isinstance(x.operand, ir.Name)
                          and not (x.operand.var is not None and (x.operand.var.is_array or x.operand.var.is_container))}

    # -------------------------------------------------------------- regions

    def region(self, c: Construct) -> None:
        words = c.kind.split()
        if clause_count(c, "num_threads") == 1:
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
        except GiveUp:
            return

    def privatise(self, c: Construct, frame: Frame, state: State) -> None:
        """Variables a construct's clauses give each thread (or the task) its own copy of."""
        for clause in _PRIVATISING:
            for name in c.directive.names_in(clause):
                var = var_named(frame.function, name, c.line, self)
                if var is not None:
                    old = self.resolve(frame, var)
                    new = Storage(var, team_shared=False)
                    if clause in ("firstprivate", "linear") and old is not None:
                        state.values[new] = state.values.get(old)
                    frame.names[var] = new if clause != "copyin" else None

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
            var = var_named(frame.function, name, c.line, self)
            if var is not None and var.kind in ("global", "static"):
                task_frame.names[var] = data_sharing(var) if name not in listed["shared"] else self.resolve(frame, var)
        child = Region(run, replicated=False, team_line=region.team_line, final=c.directive.clause("final") is not None)
        self.stmt_after(c, s, task_frame, child, child_state)
        own = tuple(child.own)
        descendants = tuple(a for p in child_state.pending for a in p.own + p.descendants)
        dependences = self.dependences(c, frame, state)
        after = set()
        for p in state.pending:
            if depend_orders(p.dependences, dependences):
                after |= {p.origin, *p.after}
        for p in state.pending:
            ordered = p.origin in after
            theirs = p.descendants if ordered else p.own + p.descendants
            self.pairs(theirs, own + descendants, lambda a, b: siblings(a, b, p))
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


def _assigned(function: ir.Function) -> set[ir.Var]:
    out: set[ir.Var] = set()
    for s in function.body.walk():
        for e in s.expressions():
            out |= written_in_expr(e)
            out |= {x.operand.var for x in e.walk() if isinstance(x, ir.Unary) and x.op == "&"
                    and isinstance(x.operand, ir.Name) and x.operand.var is not None}
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
