"""What the statements of one part of an OpenMP region touch in shared memory.

The region analysis (regions.py) cuts a parallel region into parts (code
every thread runs, a worksharing loop, a `single`, a `section`, ...); this
module lists, for the statements of one part, each read and write of an
object the threads share, with the line where it is written, what protects
it (critical names, atomic, locks: `constructs.FileConstructs.guards_at`,
plus what holds at the call that led there) and the conditions around it.

Calls to functions defined in the file are followed (to a small depth): their
locals are private to the call, their globals and static locals are shared,
and what they reach through a pointer parameter is the caller's object when
the argument is a plain array or pointer name (`fill(table)`) or an address
(`set(&x)`); through any other argument it is not followed (nothing reported).

Data-sharing (OpenMP 6.0, 5.1.1): variables declared inside the region and
the region's private/firstprivate/reduction/copyin clause lists, loop
counters of worksharing loops, threadprivate variables and the locals of
called functions are private; the rest is shared. Pointers written inside the
region, or private, may point at different memory on each thread: what is
reached through them is not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from . import constructs, effects, ir
from .accesses import access_location

_INC_DEC = ("++", "--", "post++", "post--")
_MAX_DEPTH = 4
#: OpenMP runtime calls: they synchronise or query, they touch no memory the program names
_RUNTIME_PREFIX = "omp_"


@dataclass(frozen=True)
class Object:
    """A shared memory object in the region's terms: a variable, or a field path
    inside it (`h->scale` and `s.scale` of the same struct are one object)."""

    var: ir.Var
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.var.name + "".join("." + f for f in self.fields)


@dataclass(frozen=True, eq=False)
class Access:
    obj: Object
    subscripts: tuple[ir.Expr, ...] | None  # None: the object itself (a scalar, a field)
    is_read: bool
    is_write: bool
    line: int
    text: str  # the access as written: "scaled[n - 1 - i]"
    function: ir.Function  # the function whose body holds it
    guards: frozenset[str]  # "critical:NAME", "atomic", "lock:L" (see constructs.guards_at)
    conditions: tuple[ir.Expr, ...]  # if / switch / ?: / && / || conditions around it inside the part
    loops: tuple[ir.LoopStmt, ...]  # loops around it inside the part
    order: int  # position in the part, in program order
    context: int  # which inlined call instance holds it (0: the region's own function)
    exact: bool = True  # False: a library call writes somewhere in the object
    #: a call into another file reads or writes element k for every thread number k
    #: of the team (calleffects.Touch.covers bound to omp_get_num_threads())
    covers_team: bool = False

    @property
    def verb(self) -> str:
        if self.is_write and self.is_read:
            return "update"
        return "write" if self.is_write else "read"


@dataclass(frozen=True)
class Wait:
    """A loop of a part that only reads `obj` and writes private variables: a
    spin on a flag. What follows it (`after` and later) waits for a write of
    the flag by another part."""

    obj: Object
    after: int  # order of the first access after the loop
    line: int


@dataclass
class Sharing:
    """Which variables of the region's function are private to each thread."""

    region_first: int  # lines of the region's statement
    region_last: int
    private: set[ir.Var] = field(default_factory=set)  # clause-listed, loop counters
    private_names: set[str] = field(default_factory=set)  # clause-listed names, for globals
    threadprivate: frozenset[str] = frozenset()
    written: set[ir.Var] = field(default_factory=set)  # variables assigned inside the region

    def is_private(self, var: ir.Var, in_callee: bool) -> bool:
        if var.is_thread_local:
            return True  # _Thread_local, thread_local: one copy per thread
        if var.kind in ("global", "static"):
            return var.name in self.threadprivate or (not in_callee and var.name in self.private_names)
        if in_callee:
            return True  # a local or a parameter of a called function: its own frame
        if var in self.private:
            return True
        if var.kind == "local" and self.region_first <= var.line <= self.region_last:
            return True
        return var.name in self.private_names


@dataclass
class Context:
    function: ir.Function
    binding: dict[ir.Var, tuple[ir.Var, bool]]  # callee pointer parameter -> (caller object, via &)
    guards: frozenset[str]  # what holds at the call that led here
    depth: int
    ident: int


class AccessWalker:
    """Lists the shared accesses of some statements, in program order."""

    def __init__(self, file_constructs: constructs.FileConstructs, functions: dict[str, ir.Function], sharing: Sharing,
                 contexts: Iterator[int], program=None):
        self.constructs = file_constructs
        self.program = program  # program.ProgramFacts: what functions of other files touch (calleffects)
        self.functions = functions
        self.sharing = sharing
        self.accesses: list[Access] = []
        self.waits: list[Wait] = []
        self._conditions: list[ir.Expr] = []
        self._loops: list[ir.LoopStmt] = []
        self._contexts = contexts  # numbers for inlined call instances, shared by the walkers of a region

    # ------------------------------------------------------------ statements

    def stmt(self, s: ir.Stmt, ctx: Context) -> None:
        if isinstance(s, ir.Block):
            for sub in s.stmts:
                self.stmt(sub, ctx)
        elif isinstance(s, ir.ExprStmt):
            self.expr(s.expr, ctx, "read")
        elif isinstance(s, ir.Decl):
            if s.init is not None:
                self.expr(s.init, ctx, "read")
        elif isinstance(s, ir.If):
            self.expr(s.cond, ctx, "read")
            self._conditions.append(s.cond)
            try:
                self.stmt(s.then, ctx)
                if s.orelse is not None:
                    self.stmt(s.orelse, ctx)
            finally:
                self._conditions.pop()
        elif isinstance(s, ir.LoopStmt):
            self._loop(s, ctx)
        elif isinstance(s, ir.Switch):
            self.expr(s.cond, ctx, "read")
            self._conditions.append(s.cond)
            try:
                self.stmt(s.body, ctx)
            finally:
                self._conditions.pop()
        else:
            for e in s.expressions():
                self.expr(e, ctx, "read")
            for sub in s.substatements():
                self.stmt(sub, ctx)

    def _loop(self, s: ir.LoopStmt, ctx: Context) -> None:
        start = len(self.accesses)
        if isinstance(s, ir.For) and s.init is not None:
            self.stmt(s.init, ctx)
        self._loops.append(s)
        cond = getattr(s, "cond", None)
        try:  # a loop's condition is not one of `conditions`: every thread running the loop evaluates it alike
            if isinstance(s, ir.RangeFor) and s.range is not None:
                self.expr(s.range, ctx, "read")
            if cond is not None and not isinstance(s, ir.DoWhile):
                self.expr(cond, ctx, "read")
            self.stmt(s.body, ctx)
            if isinstance(s, ir.For) and s.inc is not None:
                self.expr(s.inc, ctx, "read")
            if isinstance(s, ir.DoWhile) and cond is not None:
                self.expr(cond, ctx, "read")
        finally:
            self._loops.pop()
        if isinstance(s, (ir.While, ir.DoWhile)):
            self._note_wait(s, self.accesses[start:])

    def _note_wait(self, loop: ir.LoopStmt, inside: list[Access]) -> None:
        """A while/do loop that only reads one shared object (it writes private
        variables only, and calls nothing that writes) spins on that object."""
        if not inside or any(a.is_write for a in inside):
            return
        objects = {a.obj for a in inside if a.subscripts is None}
        if len(objects) != 1 or any(a.subscripts is not None for a in inside):
            return
        self.waits.append(Wait(objects.pop(), len(self.accesses), loop.line))

    # ----------------------------------------------------------- expressions

    def expr(self, e: ir.Expr, ctx: Context, mode: str) -> None:
        if isinstance(e, ir.Assign):
            self.expr(e.value, ctx, "read")
            self._lvalue(e.target, ctx, "write" if e.op == "=" else "update")
        elif isinstance(e, ir.Unary) and e.op in _INC_DEC:
            self._lvalue(e.operand, ctx, "update")
        elif isinstance(e, ir.Unary) and e.op == "&":
            self._address_of(e.operand, ctx)
        elif isinstance(e, (ir.Index, ir.Name, ir.Member)) or (isinstance(e, ir.Unary) and e.op == "*"):
            self._lvalue(e, ctx, mode)
        elif isinstance(e, ir.Call):
            self._call(e, ctx)
        elif isinstance(e, ir.Conditional) or (isinstance(e, ir.Binary) and e.op in ("&&", "||")):
            first, rest = (e.cond, (e.then, e.orelse)) if isinstance(e, ir.Conditional) else (e.lhs, (e.rhs,))
            self.expr(first, ctx, "read")
            self._conditions.append(first)
            try:
                for part in rest:
                    self.expr(part, ctx, "read")
            finally:
                self._conditions.pop()
        else:
            for child in e.children():
                self.expr(child, ctx, "read")

    def _address_of(self, e: ir.Expr, ctx: Context) -> None:
        """`&x`, `&a[i]`: the address is taken, the object is not read; its subscripts are."""
        location = access_location(e)
        if location is None:
            self.expr(e, ctx, "read")
            return
        for sub in location[1] or ():
            self.expr(sub, ctx, "read")

    def _lvalue(self, e: ir.Expr, ctx: Context, mode: str) -> None:
        location = access_location(e)
        if location is None:
            for child in e.children():
                self.expr(child, ctx, "read")
            return
        key, subscripts = location
        for sub in subscripts or ():
            self.expr(sub, ctx, "read")
        if isinstance(e, ir.Member) and e.base is not None:
            for sub in e.base.walk():
                if isinstance(sub, ir.Index):
                    self.expr(sub.index, ctx, "read")
        if isinstance(e, ir.Name) and e.var is None:
            return  # a function or an enumerator
        self._record(key.var, key.fields, subscripts, mode, e, ctx)

    def _record(self, var: ir.Var, fields, subscripts, mode: str, e: ir.Expr, ctx: Context, exact: bool = True) -> None:
        found = self._shared_object(var, fields, subscripts, ctx)
        if found is None:
            return
        obj, subscripts = found
        if subscripts is None and not obj.fields and (obj.var.is_array or obj.var.is_container):
            return  # an array's name decays to its address: nothing is read (or a call writes some of it)
        guards = ctx.guards | self.constructs.guards_at(ctx.function, e.line) | self._atomic(ctx.function, e)
        self.accesses.append(Access(
            obj=obj, subscripts=subscripts, is_read=mode in ("read", "update"), is_write=mode in ("write", "update"),
            line=e.line, text=e.text, function=ctx.function, guards=guards, conditions=tuple(self._conditions),
            loops=tuple(self._loops), order=len(self.accesses), context=ctx.ident, exact=exact,
        ))  # fmt: skip

    def _shared_object(self, var: ir.Var, fields, subscripts, ctx: Context):
        """The object in the region's terms and its subscripts, or None when it is
        private to the thread or cannot be named in the region's terms."""
        in_callee = ctx.depth > 0
        if var in ctx.binding:
            var, via_address = ctx.binding[var]
            in_callee = False
            if via_address:  # `*p`, `p[0]`, `p->f` of p = &x is x itself
                if not subscripts or not _is_zero(subscripts[0]):
                    return None
                subscripts = subscripts[1:] or None
        elif in_callee and var.kind not in ("global", "static"):
            return None
        if self.sharing.is_private(var, in_callee):
            return None
        if subscripts is not None and (var.is_pointer or var.is_reference) and var in self.sharing.written:
            return None  # the pointer changes inside the region: not one object for every thread
        names = tuple(f.lstrip("-.>").rstrip("*") for f in fields)
        return Object(var, names), (tuple(subscripts) if subscripts is not None else None)

    def _atomic(self, function: ir.Function, e: ir.Expr) -> frozenset[str]:
        """"atomic" for the location an `atomic` construct reads or writes
        (`v = x` under `atomic read` reads x atomically, not v)."""
        for c in self.constructs.around(function, e.line):
            if "atomic" not in c.kind.split() or c.stmt is None:
                continue
            if _atomic_location(c) is not None and _atomic_location(c).text == e.text:
                return frozenset({"atomic"})
        return frozenset()

    def _call(self, call: ir.Call, ctx: Context) -> None:
        if call.receiver is not None:
            self.expr(call.receiver, ctx, "read")
        if call.name.startswith(_RUNTIME_PREFIX):
            return
        callee = call.function or self.functions.get(call.name)
        if callee is not None and callee.body is not None and ctx.depth < _MAX_DEPTH and callee is not ctx.function:
            for arg in call.args:
                self.expr(arg, ctx, "read")
            inner = self.callee_context(call, callee, ctx)
            self.stmt(callee.body, inner)
            return
        if callee is None or callee.body is None:
            if self._summarised(call, ctx):
                return
        effect = effects.classify_call(call, self.functions)
        for index, arg in enumerate(call.args):
            if index in effect.written_args:
                target = arg.operand if isinstance(arg, ir.Unary) and arg.op == "&" else arg
                location = access_location(target)
                if location is not None and location[1] is None:
                    self._record(location[0].var, location[0].fields, location[1], "write", arg, ctx, exact=False)
            else:
                self.expr(arg, ctx, "read")

    def _summarised(self, call: ir.Call, ctx: Context) -> bool:
        """The accesses a function of another file makes through its pointer
        parameters (calleffects.FunctionEffects), in the caller's objects; False
        when the program has no complete summary of it."""
        from .program import callee_key

        summary = self.program.effects.get(callee_key(call)) if self.program is not None else None
        if summary is None or not summary.known or summary.changes_locks:
            return False
        for arg in call.args:
            self.expr(arg, ctx, "read")
        for t in summary.touches:
            if not t.root.startswith("param:"):
                continue  # globals of other files: not named in this file's terms
            position = int(t.root.split(":")[1])
            bound = _bound_object(call.args[position]) if position < len(call.args) else None
            if bound is None or bound[1]:
                continue
            var = bound[0]
            if var in ctx.binding:
                continue  # a pointer parameter of an inlined callee: not followed here
            found = self._shared_object(var, (), None, ctx)
            team = t.covers is not None and t.covers < len(call.args) and _is_team_size(call.args[t.covers])
            if found is None or not (t.indexed and team):
                continue
            obj, _ = found
            guards = ctx.guards | self.constructs.guards_at(ctx.function, call.line) | t.labels
            self.accesses.append(Access(
                obj=obj, subscripts=None, is_read=not t.is_write, is_write=t.is_write, line=call.line,
                text=f"{t.text} ({t.where}, every element below {call.args[t.covers].text})", function=ctx.function,
                guards=guards, conditions=tuple(self._conditions), loops=tuple(self._loops), order=len(self.accesses),
                context=ctx.ident, covers_team=True,
            ))  # fmt: skip
        return True

    def callee_context(self, call: ir.Call, callee: ir.Function, ctx: Context) -> Context:
        """The callee seen from this call: its pointer parameters bound to the
        caller's objects, the guards at the call added to its own."""
        binding: dict[ir.Var, tuple[ir.Var, bool]] = {}
        for param, arg in zip(callee.params, call.args):
            if not (param.is_pointer or param.is_reference or param.is_array):
                continue
            bound = _bound_object(arg)
            if bound is None:
                continue
            var, via_address = bound
            if var in ctx.binding:
                outer, outer_address = ctx.binding[var]
                if via_address or outer_address:
                    continue
                var = outer
            elif ctx.depth > 0 and var.kind not in ("global", "static"):
                continue
            binding[param] = (var, via_address)
        guards = ctx.guards | self.constructs.guards_at(ctx.function, call.line)
        return Context(callee, binding, guards, ctx.depth + 1, next(self._contexts))


def _bound_object(arg: ir.Expr) -> tuple[ir.Var, bool] | None:
    """`a` (an array or pointer) -> (a, False); `&x` -> (x, True); else None."""
    if isinstance(arg, ir.Name) and arg.var is not None and (arg.var.is_array or arg.var.is_pointer):
        return arg.var, False
    if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Name) and arg.operand.var is not None:
        return arg.operand.var, True
    return None


def _is_team_size(e: ir.Expr) -> bool:
    return isinstance(e, ir.Call) and e.name == "omp_get_num_threads" and not e.args


def _is_zero(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and e.value == 0


def _atomic_location(c: constructs.Construct) -> ir.Expr | None:
    """The location an atomic construct's statement reads, writes or updates."""
    stmt = c.stmt
    if isinstance(stmt, ir.Block) and len(stmt.stmts) == 1:
        stmt = stmt.stmts[0]
    if not isinstance(stmt, ir.ExprStmt):
        return None
    e = stmt.expr
    if isinstance(e, ir.Unary) and e.op in _INC_DEC:
        return e.operand
    if not isinstance(e, ir.Assign):
        return None
    words = {cl.name for cl in c.directive.clauses} | set(c.kind.split())
    if "read" in words and e.op == "=":
        return e.value
    if "capture" in words and e.op == "=":
        inner = e.value
        if isinstance(inner, ir.Unary) and inner.op in _INC_DEC:
            return inner.operand
        if isinstance(inner, ir.Assign):
            return inner.target
        return None
    return e.target
