"""The parallel regions of a file, cut into parts that threads run, and phases.

A `#pragma omp parallel` region (or `parallel sections`) is read in program
order. Code outside any worksharing construct is run by every thread (a
"team" part); a worksharing loop (`for`) shares its iterations among them; a
`single` runs on one thread, `masked`/`master` on the primary thread (or the
`filter` thread), each `section` of a `sections` construct on one thread.
Barriers, explicit or implied at the end of `for`, `single` and `sections`
without `nowait`, cut the region into phases: parts of one phase may run at
the same time on different threads, parts of different phases may not.

Calls (`f(args);`) to functions of the file holding worksharing constructs
(orphaned ones) are read as if inlined. An `if` whose condition has one value
on every thread, known here (constants, parameters every call passes the same
constant to, regionbranches.py), is read as the branch it takes: a barrier in the
branch not taken does not exist. What this module cannot place (a
construct under an `if` or a loop, tasks, nested parallel regions, targets,
`x = f()` where f holds a barrier...) becomes a barrier on both sides and
its accesses are left out: the region analysis then reports less, never a
race that is not there.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from . import constructs, ir, loops
from .regionaccess import Access, AccessWalker, Context, Sharing, Wait
from .regionbranches import Branches, changed_vars
from .regionfacts import called, filter_thread, loop_form, thread_values

#: Directives that neither split a region nor share work: they protect or order accesses inside a part.
_IN_PART = frozenset({
    "critical", "atomic", "ordered", "simd", "flush", "taskyield", "taskwait", "threadprivate", "declare",
    "nothing", "assume", "assumes", "unroll", "tile", "requires",
})  # fmt: skip
_CLAUSE_PRIVATE = ("private", "firstprivate", "lastprivate", "reduction", "copyin", "linear")
_MAX_INLINE = 4


@dataclass(eq=False)
class Part:
    """Statements of a region run one way: by every thread ("team"), as a
    worksharing loop ("loop"), by one thread ("single", "masked", "section")."""

    kind: str
    line: int  # the directive's line; the first statement's for team code
    phase: int
    group: int  # the sections of one `sections` construct share it
    function: ir.Function
    directive: str = ""  # the directive's name words as written ("master", "for", ...)
    nowait: bool = False
    loop: loops.CanonicalLoop | None = None  # a worksharing loop's canonical form
    schedule: str = ""  # the loop's schedule kind, "" when not written
    filter_thread: int | None = None  # masked: the thread that runs it
    context: int = 0
    accesses: list[Access] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)

    def describe(self) -> str:
        if self.kind == "team":
            return "every thread"
        if self.kind == "loop":
            return f"the loop at line {self.line}"
        return f"the {self.directive or self.kind} construct at line {self.line}"


@dataclass(eq=False)
class Region:
    construct: constructs.Construct
    function: ir.Function
    parts: list[Part]
    sharing: Sharing
    thread_values: dict[ir.Var, ir.Expr]  # private variables set once (from the thread number maybe), constant locals
    flush_lines: list[int]


def role(c: constructs.Construct) -> str:
    """How a directive shapes a region: loop, single, masked, sections, section,
    barrier, part (acts inside a part), or opaque (not modelled)."""
    words = c.kind.split()
    if not words:
        return "part"
    if words[0] in ("for", "loop") and (len(words) == 1 or words[1:] == ["simd"]):
        return "loop"
    if words == ["single"]:
        return "single"
    if words in (["masked"], ["master"]):
        return "masked"
    if words in (["sections"], ["section"], ["barrier"]):
        return words[0]
    if words[0] in _IN_PART:
        return "part"
    return "opaque"


def find_regions(functions: dict[str, ir.Function], file_constructs: constructs.FileConstructs,
                 program=None) -> list[Region]:
    """`program`: ProgramFacts, for what calls into other files touch."""
    regions = []
    for c in file_constructs.constructs:
        words = c.kind.split()
        if words[:1] != ["parallel"] or words[1:] not in ([], ["sections"]) or c.stmt is None or c.function is None:
            continue
        threads = c.directive.clause("num_threads")
        if threads is not None and threads.items() == ("1",):
            continue
        regions.append(_Builder(c, functions, file_constructs, program).build())
    return regions


class _Builder:
    def __init__(self, region: constructs.Construct, functions, file_constructs: constructs.FileConstructs,
                 program=None):
        self.region = region
        self.program = program
        self.functions = functions
        self.constructs = file_constructs
        self.phase = 0
        self.groups = itertools.count(1)
        self.contexts = itertools.count(1)
        self.parts: list[Part] = []
        self.flush_lines: list[int] = []
        self._team: Part | None = None  # the team part being extended
        self._team_stmts: list[tuple[ir.Stmt, Context]] = []
        names = set()
        for name in _CLAUSE_PRIVATE:
            names.update(region.directive.names_in(name))
        self.sharing = Sharing(
            region_first=region.first_line,
            region_last=region.last_line,
            private_names=names,
            threadprivate=file_constructs.threadprivate,
            written=loops.written_vars(region.stmt),
        )
        self._governing: dict[int, list[constructs.Construct]] = {}
        self._standalone: dict[int, list[constructs.Construct]] = {}  # id(function) -> sorted standalone constructs
        self._branches = Branches(functions, file_constructs)
        self._changed = changed_vars(region.function) if region.function is not None else set()
        for c in file_constructs.constructs:
            if c.stmt is not None:
                self._governing.setdefault(id(c.stmt), []).append(c)
            elif c.function is not None:
                self._standalone.setdefault(id(c.function), []).append(c)
            elif self._branches.function_of(c) is not None:  # below the function's last code line
                self._standalone.setdefault(id(self._branches.function_of(c)), []).append(c)
        for found in self._standalone.values():
            found.sort(key=lambda c: c.line)

    # ------------------------------------------------------------- building

    def build(self) -> Region:
        function = self.region.function
        ctx = Context(function, {}, frozenset(), 0, 0)
        pending = [c for c in self._standalone.get(id(function), []) if self.region.line < c.line <= self.region.last_line]
        if role(self.region) == "sections" or self.region.kind == "parallel sections":
            self._sections(self.region, ctx, pending)
            self._standalones_before(10**9, pending)
        else:
            self._block([self.region.stmt], ctx, pending)
        self._close_team()
        return Region(self.region, function, self.parts, self.sharing, thread_values(self.region), self.flush_lines)

    def _block(self, stmts: list[ir.Stmt], ctx: Context, pending: list[constructs.Construct]) -> None:
        for s in stmts:
            self._standalones_before(s.line, pending)
            self._statement(s, ctx, pending)
        self._standalones_before(10**9, pending)

    def _standalones_before(self, line: int, pending: list[constructs.Construct]) -> None:
        while pending and pending[0].line < line:
            self._standalone_directive(pending.pop(0))

    def _standalone_directive(self, c: constructs.Construct) -> None:
        kind = role(c)
        if kind == "barrier":
            self._barrier()
        elif kind == "opaque":
            self._barrier()  # cancel, target update, ...: not modelled
        elif "flush" in c.kind.split():
            self.flush_lines.append(c.line)

    def _statement(self, s: ir.Stmt, ctx: Context, pending) -> None:
        if isinstance(s, ir.If) and self._decided_if(s, ctx, pending):
            return
        own = [c for c in self._governing.get(id(s), []) if c.function is ctx.function and c is not self.region]
        shaping = [c for c in sorted(own, key=lambda c: c.line) if role(c) != "part"]
        if shaping:
            self._construct(shaping[0], s, ctx, pending)
            return
        if self._holds_structure(s, ctx.function, 0):
            callee = called(s, self.functions)
            if isinstance(s, ir.Block):
                self._nested(s, ctx, pending)
            elif callee is not None and ctx.depth < _MAX_INLINE:
                self._inline(s.expr, callee, ctx)
            else:
                self._opaque()
            return
        self._add_team(s, ctx)

    def _decided_if(self, s: ir.If, ctx: Context, pending: list[constructs.Construct]) -> bool:
        """An `if` holding region structure whose condition is known: read as the
        branch it takes (OpenMP 6.0, 17.3.1: a barrier is met by all threads of the
        team or by none, so a known condition decides it for every thread)."""
        in_then = self._branches.standalones_in(s.then, pending)
        in_else = self._branches.standalones_in(s.orelse, pending) if s.orelse is not None else []
        if not (in_then or in_else or self._holds_structure(s, ctx.function, 0)):
            return False
        value = self._branches.value(s.cond, ctx)
        if value is None and s.orelse is None and self._team_uniform(s.cond, ctx):
            value = 1  # met by every thread or by none: read as met (a barrier counts, never invents a race)
        if value is None:
            return False
        taken, skipped = (s.then, in_else) if value else (s.orelse, in_then)
        for c in skipped:
            pending.remove(c)  # never met
        if taken is not None:
            self._nested(taken, ctx, pending)
        return True

    def _team_uniform(self, cond: ir.Expr, ctx: Context) -> bool:
        """Every thread computes the condition alike: constants, and locals and
        parameters of the region's function, shared, that the function never
        changes (nor takes the address of)."""
        if ctx.depth != 0:
            return False
        for x in cond.walk():
            if isinstance(x, ir.Name):
                if x.value is not None:
                    continue
                if x.var is None or x.var.kind not in ("local", "param") or x.var in self.sharing.written \
                        or self.sharing.is_private(x.var, False) or not x.var.is_scalar_number or x.var in self._changed:
                    return False
            elif not isinstance(x, (ir.Const, ir.Binary)) and not (isinstance(x, ir.Unary) and x.op in ("-", "+", "!")):
                return False
        return True

    def _nested(self, s: ir.Stmt, ctx: Context, pending: list[constructs.Construct]) -> None:
        """A statement inside the region's code, with the standalone directives
        standing in it, those after its last statement included (and not those
        after it: they stand in an enclosing block)."""
        inside = self._branches.standalones_in(s, pending)
        for x in s.stmts if isinstance(s, ir.Block) else [s]:
            self._standalones_before(x.line, pending)
            self._statement(x, ctx, pending)
        for c in inside:
            if c in pending:
                pending.remove(c)
                self._standalone_directive(c)

    def _construct(self, c: constructs.Construct, s: ir.Stmt, ctx: Context, pending) -> None:
        kind = role(c)
        nowait = c.directive.clause("nowait") is not None
        if kind == "opaque" or kind == "section":
            self._opaque()
            return
        self._close_team()
        if kind != "sections" and self._holds_structure(s, ctx.function, 0):
            self._opaque()  # tasks, nested worksharing or barriers inside: not modelled
            return
        if kind == "sections":
            self._sections(c, ctx, [])
        else:
            part = Part(kind, c.line, self.phase, next(self.groups), ctx.function, c.kind, nowait, context=ctx.ident)
            private = self._clause_private(c)
            if kind == "loop":
                part.loop, counters = loop_form(s, c.clause_depth("collapse"))
                private |= counters
                schedule = c.directive.clause("schedule")
                part.schedule = schedule.items()[0].split(":")[-1].strip() if schedule and schedule.items() else ""
            if kind == "masked":
                part.filter_thread = filter_thread(c)
                if part.filter_thread is None:
                    part.kind = "single"  # some thread we cannot name runs it
            self._walk(part, [s], ctx, private)
        if kind != "masked" and not nowait:
            self._barrier()

    def _sections(self, c: constructs.Construct, ctx: Context, pending) -> None:
        group = next(self.groups)
        body = c.stmt
        stmts = body.stmts if isinstance(body, ir.Block) else [body]
        private = self._clause_private(c)
        for s in stmts:
            marks = [x for x in self._governing.get(id(s), []) if x.function is ctx.function and role(x) == "section"]
            line = marks[0].line if marks else s.line
            part = Part("section", line, self.phase, group, ctx.function, "section", context=ctx.ident)
            if self._holds_structure(s, ctx.function, 0):
                continue  # a barrier or worksharing inside a section: not modelled, left out
            self._walk(part, [s], ctx, private)
        if c is self.region or c.directive.clause("nowait") is None:
            self._barrier()

    def _inline(self, call: ir.Call, callee: ir.Function, ctx: Context) -> None:
        """A call of a function that holds worksharing constructs or barriers:
        its body, read in place, with its pointer parameters bound to the caller's objects."""
        self._close_team()
        walker = AccessWalker(self.constructs, self.functions, self.sharing, self.contexts, self.program)
        for arg in call.args:  # the arguments are read by every thread before the call
            walker.expr(arg, ctx, "read")
        if walker.accesses:
            self.parts.append(Part("team", call.line, self.phase, next(self.groups), ctx.function,
                                   context=ctx.ident, accesses=walker.accesses))
        inner = walker.callee_context(call, callee, ctx)
        self._branches.bind(call, callee, ctx, inner)
        pending = list(self._standalone.get(id(callee), []))
        self._block(callee.body.stmts, inner, pending)
        self._close_team()

    def _opaque(self) -> None:
        self._barrier()
        self._barrier()

    def _barrier(self) -> None:
        self._close_team()
        self.phase += 1

    # ----------------------------------------------------------- team code

    def _add_team(self, s: ir.Stmt, ctx: Context) -> None:
        if self._team_stmts and self._team_stmts[-1][1] is not ctx:
            self._close_team()
        self._team_stmts.append((s, ctx))

    def _close_team(self) -> None:
        if not self._team_stmts:
            return
        first, ctx = self._team_stmts[0]
        part = Part("team", first.line, self.phase, next(self.groups), ctx.function, context=ctx.ident)
        walker = AccessWalker(self.constructs, self.functions, self.sharing, self.contexts, self.program)
        for s, c in self._team_stmts:
            walker.stmt(s, c)
        part.accesses, part.waits = walker.accesses, walker.waits
        self._team_stmts = []
        self.parts.append(part)

    def _walk(self, part: Part, stmts: list[ir.Stmt], ctx: Context, private: set) -> None:
        names = {p for p in private if isinstance(p, str)}
        variables = {p for p in private if isinstance(p, ir.Var)}
        sharing = replace(self.sharing, private=self.sharing.private | variables,
                          private_names=self.sharing.private_names | names)
        walker = AccessWalker(self.constructs, self.functions, sharing, self.contexts, self.program)
        for s in stmts:
            walker.stmt(s, ctx)
        part.accesses, part.waits = walker.accesses, walker.waits
        self.parts.append(part)

    def _clause_private(self, c: constructs.Construct) -> set:
        names = set()
        for name in _CLAUSE_PRIVATE:
            names.update(c.directive.names_in(name))
        return names

    # ------------------------------------------------------------ structure

    def _holds_structure(self, s: ir.Stmt, function: ir.Function, depth: int) -> bool:
        """Does the statement hold a construct that splits the region or shares
        work (directly, or in a function it calls)?"""
        last = constructs.last_line(s)
        for c in self.constructs.within(function, s.line, last):
            if role(c) != "part" and c.stmt is not s and c is not self.region:
                return True
        standing = [c for c in self._standalone.get(id(function), []) if role(c) != "part"]
        if self._branches.standalones_in(s, standing):
            return True  # a barrier below the statement's last code line, before its closing brace
        if depth >= _MAX_INLINE:
            return False
        for sub in s.walk():
            for e in sub.expressions():
                for x in e.walk():
                    if isinstance(x, ir.Call):
                        callee = x.function or self.functions.get(x.name)
                        if callee is not None and callee.body is not None and callee is not function and \
                                self._holds_structure(callee.body, callee, depth + 1):
                            return True
        return False
