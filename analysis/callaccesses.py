"""Shared storage a loop under an existing pragma reaches through its calls.

OpenMP 6.0 shares one copy of every variable with static storage (globals,
`static` locals, static data members) between the threads of a region, and
an object declared outside a combined `parallel` loop is shared too. A call
made by every iteration that writes such storage, with no critical, atomic
or lock in common with another access of it (another iteration running the
same statement included), is a race the analysis can show: the two lines,
and the calls that lead there.

The walk follows the callees defined in the file (depth-limited), with
integer arguments bound to the callee's parameters so that a branch a
constant argument decides is walked alone (`count(1)` never reaches the
`return calls;` of `if (bump) { ...; return 0; }`). What protects each
access: the constructs around it in its function (`critical`, `atomic` on
its location), the lock spans there, and whatever was held at the calls
that lead to it. A lock held on `this->lock_` in a method called on
`ledger` is the lock `ledger.lock_`.

Nothing is claimed when the walk cannot see everything that might
synchronise: a call to a function not defined here and not a known library
function, a lock set without its unset in the same block, an OpenMP
construct other than critical/atomic inside a callee, recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from . import concurrentcalls, effects, ir, loopfacts
from .constructs import LOCK_SET, LOCK_UNSET, SYNC_CALLS, AccessGuards, FileConstructs, directive_words, last_line

_MAX_DEPTH = 4
_INC_DEC = ("++", "--", "post++", "post--")
_OUTPUT = effects._IO
_UNKNOWN_EXPRS = ("lambda", "new", "delete", "throw", "construct", "block")


@dataclass(frozen=True)
class SharedAccess:
    """One access to shared storage made inside a call of the loop body (or by the body itself)."""

    name: str  # "calls", "Particle::steps" is "steps", "ledger.total_"
    storage: str  # what makes it shared, for the message
    line: int
    text: str
    is_write: bool
    labels: frozenset[str]  # what protects it: critical:NAME, atomic, ordered, lock:L
    via: str = ""  # "in calls_counted, called by scaled at line 32"
    every_iteration: bool = True  # made by a call every iteration runs (not under a condition)


@dataclass
class CallAccesses:
    """What `examine` found: the races it can show, the objects it saw every
    access of (`settled`), and the calls whose every effect it saw (`known_calls`)."""

    races: list[loopfacts.Reason] = field(default_factory=list)
    settled: set[ir.Var] = field(default_factory=set)
    known_calls: set[tuple[str, int]] = field(default_factory=set)


@dataclass
class _Frame:
    function: ir.Function
    receiver: str | None  # the shared object the method runs on ("ledger"), None when not tracked
    bindings: dict  # id(param var) -> its constant value
    held: frozenset[str]
    via: str


class _Walk:
    """The accesses one call of the loop body makes, and whether the walk saw everything."""

    def __init__(self, constructs: FileConstructs, functions: dict[str, ir.Function], threadprivate: frozenset[str],
                 program=None, shared_local=None, in_team: bool = True):
        self.constructs = constructs
        self.program = program  # program.ProgramFacts: what functions of other files touch (calleffects)
        self.in_team = in_team  # the loop runs in a parallel region of its function (not orphaned)
        self.shared_local = shared_local or (lambda var: False)  # a local of the loop's function every thread shares
        self.functions = functions
        self.threadprivate = threadprivate
        self.accesses: list[SharedAccess] = []
        self.imprecise: set[str] = set()  # objects touched in ways not tracked (elements, address)
        self.statics: dict[str, ir.Var] = {}
        self.complete = True  # every synchronisation seen
        self.effects_known = True  # every write it makes is an access here or private to the call
        self.stack: list[ir.Function] = []

    # ------------------------------------------------------------------ calls

    def call(self, call: ir.Call, caller: _Frame | None, held: frozenset[str], receiver: str | None, via: str) -> None:
        base = call.name.split("::")[-1]
        function = call.function or self.functions.get(call.name)
        if function is None or function.body is None:
            if base in SYNC_CALLS:
                self.complete &= caller is not None and self._paired_lock(call, caller.function)
            elif base in _OUTPUT:
                self.effects_known = False
            elif base in effects._WRITES_FIRST_ARG:
                self.effects_known = False
                if caller is not None and call.args:
                    self.expr(call.args[0], caller, "address")
            elif base not in effects.INERT_CALLS and not self._summarised(call, caller, held, via):
                self.complete = self.effects_known = False
            return
        if function in self.stack or len(self.stack) > _MAX_DEPTH:
            self.complete = self.effects_known = False
            return
        if any(directive_words(c.directive)[:1] not in (("critical",), ("atomic",))
               for c in self.constructs.within(function, function.body.line, last_line(function.body))):
            self.complete = False  # barriers, single, tasks... inside the callee: not modelled here
        bindings = {}
        for param, arg in zip(function.params, call.args):
            value = _constant(arg, caller.bindings if caller else {})
            if value is not None:
                bindings[id(param)] = value
        frame = _Frame(function, receiver, bindings, held, via)
        self.stack.append(function)
        try:
            self.stmt(function.body, frame)
        finally:
            self.stack.pop()

    def _summarised(self, call: ir.Call, caller: _Frame | None, held: frozenset[str], via: str) -> bool:
        """Apply what another file's function touches (calleffects.FunctionEffects);
        False when the program does not say everything it does."""
        from .program import callee_key

        summary = self.program.effects.get(callee_key(call)) if self.program is not None and self.in_team else None
        if summary is None or not summary.known or summary.changes_locks:
            return False  # an orphaned loop may run in a team of one thread: not claimed
        for t in summary.touches:
            if t.root.startswith("param:"):
                position = int(t.root.split(":")[1])
                arg = call.args[position] if position < len(call.args) else None
                named = self._argument_object(arg, t.path, caller) if arg is not None else None
                if named is None:
                    if t.is_write:
                        self.effects_known = False  # memory of the caller this walk does not name
                    continue
                name, storage, path = named
            else:
                kind, _, rest = t.root.partition(":")
                if kind == "global":
                    name, storage, path = rest, "static storage shared by every thread", t.path
                    if name in self.threadprivate:
                        continue
                else:
                    file, function, var = rest.split(":")
                    if function:
                        name, storage = f"{function}::{var}", f"a static local of {function} ({file})"
                    else:
                        name, storage = f"{file}::{var}", f"static storage of {file} shared by every thread"
                    path = t.path
            if t.indexed:  # an element not known: the loop's own dependence test does not see it either
                self.imprecise.add(name)
                self.effects_known = False
                continue
            full = name + "".join(p if p.startswith("[") else "." + p for p in path)
            where = f"at {t.where}" if t.function == call.name.split("::")[-1] else f"in {t.function} at {t.where}"
            self.accesses.append(SharedAccess(
                name=full, storage=storage, line=call.line, text=t.text, is_write=t.is_write,
                labels=held | t.labels, via=f"{via}, {where}"))
        return True

    def _argument_object(self, arg: ir.Expr, path: tuple[str, ...], caller: _Frame | None):
        """(name, storage, path) of the shared object a pointer argument passes
        (`&x` of a shared x, or a global array), or None."""
        address = isinstance(arg, ir.Unary) and arg.op == "&"
        target = arg.operand if address else arg
        if not isinstance(target, ir.Name) or target.var is None:
            return None
        var = target.var
        if var.kind in ("global", "static"):
            if var.name in self.threadprivate or var.is_thread_local:
                return None
            storage = "a static local" if var.kind == "static" else "static storage shared by every thread"
        elif caller is None and self.shared_local(var):
            storage = f"a field of {var.name}, which every thread of the loop shares" if path \
                else "a variable every thread of the loop shares"
        else:
            return None
        if not address and not var.is_array:
            return None  # a pointer's target: not one named object
        if address:
            if path[:1] == ("[0]",):
                path = path[1:]
            elif path and path[0].startswith("["):
                return None
        return var.name, storage, path

    def _paired_lock(self, call: ir.Call, function: ir.Function) -> bool:
        """A lock set or unset that is one end of a span of its block (constructs.LockSpan)."""
        if call.name not in LOCK_SET and call.name not in LOCK_UNSET:
            return False  # omp_test_lock: locking on a condition
        return any(s.function is function and call.line in (s.first_line, s.last_line) for s in self.constructs.locks)

    # ------------------------------------------------------------- statements

    def stmt(self, s: ir.Stmt, frame: _Frame) -> bool:
        """Walk one statement; False when control cannot go on past it (return, break, continue)."""
        if isinstance(s, ir.Block):
            return all(self.stmt(sub, frame) for sub in s.stmts)  # all() stops at the first False
        if isinstance(s, ir.If):
            self.expr(s.cond, frame, "read")
            decided = _constant(s.cond, frame.bindings)
            if decided is not None:
                taken = s.then if decided else s.orelse
                return self.stmt(taken, frame) if taken is not None else True
            then = self.stmt(s.then, frame)
            orelse = self.stmt(s.orelse, frame) if s.orelse is not None else True
            return then or orelse
        if isinstance(s, ir.Jump):
            if s.value is not None:
                self.expr(s.value, frame, "read")
            if s.kind == "goto":
                self.complete = False
            return False
        if isinstance(s, ir.Decl):
            if s.init is not None and s.var.kind != "static":  # a static local is initialised once
                self.expr(s.init, frame, "read")
            return True
        if isinstance(s, ir.OtherStmt):
            self.complete = self.effects_known = False
            return True
        for child in s.children():  # loops, switch, labels, expression statements
            if isinstance(child, ir.Stmt):
                self.stmt(child, frame)
            else:
                self.expr(child, frame, "read")
        return True

    # ------------------------------------------------------------ expressions

    def expr(self, e: ir.Expr, frame: _Frame, mode: str) -> None:
        """mode: read, write (=), update (op=, ++), address (&, or an array passed on)."""
        if isinstance(e, ir.Assign):
            self.expr(e.target, frame, "write" if e.op == "=" else "update")
            self.expr(e.value, frame, "read")
        elif isinstance(e, ir.Unary) and e.op in _INC_DEC:
            self.expr(e.operand, frame, "update")
        elif isinstance(e, ir.Unary) and e.op == "&":
            self.expr(e.operand, frame, "address")
        elif isinstance(e, ir.Unary) and e.op == "*":
            self.expr(e.operand, frame, "read")
            if mode != "read":
                self.effects_known = False  # through a pointer: memory this walk does not name
        elif isinstance(e, ir.Call):
            self._nested_call(e, frame)
        elif isinstance(e, (ir.Name, ir.Member, ir.Index)):
            self._location(e, frame, mode)
        elif isinstance(e, ir.OtherExpr) and any(k in e.kind for k in _UNKNOWN_EXPRS):
            self.complete = self.effects_known = False
        else:
            for child in e.children():
                self.expr(child, frame, "read")

    def _nested_call(self, call: ir.Call, frame: _Frame) -> None:
        if call.name not in SYNC_CALLS:  # a lock's address is what locking takes, not an access
            for arg in call.args:
                self.expr(arg, frame, "address" if _is_address(arg) else "read")
        receiver = None
        if call.receiver is not None:
            self.expr(call.receiver, frame, "read")
        elif frame.function.is_method and (call.function or self.functions.get(call.name)) is not None \
                and (call.function or self.functions[call.name]).is_method:
            receiver = frame.receiver  # a method of the same object (implicit this)
        held = frame.held | self._labels(frame, call.line, None)
        callee = call.name.split("::")[-1]
        self.call(call, frame, held, receiver, f"{frame.via}, which calls {callee} at line {call.line}")

    def _location(self, e: ir.Expr, frame: _Frame, mode: str) -> None:
        """An access to a name, a member or an element: recorded when it is shared storage."""
        path: list[str] = []
        indexed = False
        node = e
        while True:
            if isinstance(node, ir.Index):
                self.expr(node.index, frame, "read")
                indexed, path, node = True, [], node.base
            elif isinstance(node, ir.Member) and (node.base is None or _is_this(node.base)):
                obj = f"{frame.receiver}.{node.field}" if frame.receiver else None
                self._record(obj, None, "a field of the shared object " + (frame.receiver or ""), path, indexed,
                             e, frame, mode)
                return
            elif isinstance(node, ir.Member) and not node.arrow:
                path.insert(0, "." + node.field)
                node = node.base
            elif isinstance(node, ir.Member):  # p->f: memory a pointer reaches
                self.expr(node.base, frame, "read")
                if mode != "read":
                    self.effects_known = False
                return
            elif isinstance(node, ir.Name):
                var = node.var
                if var is None or var.kind not in ("global", "static"):
                    if var is not None and mode != "read" and (var.is_reference or indexed and var.is_pointer
                                                               or mode == "address"):
                        self.effects_known = False  # the caller's memory, through a parameter
                    return
                if var.name in self.threadprivate or var.is_thread_local or (var.is_const and mode == "read"):
                    return
                self.statics[var.name] = var
                storage = "a static local" if var.kind == "static" else "static storage shared by every thread"
                self._record(var.name, var, storage, path, indexed or var.is_array or var.is_pointer, e, frame, mode)
                return
            else:
                self.expr(node, frame, "read")
                if mode != "read":
                    self.effects_known = False
                return

    def _record(self, obj, var, storage, path, indexed, e, frame, mode) -> None:
        if obj is None:  # a field of an object the walk does not track (one per iteration, maybe)
            if mode != "read":
                self.effects_known = False
            return
        name = obj + "".join(path)
        if indexed or mode == "address":
            self.imprecise.add(obj)
            if mode != "read":
                self.effects_known = False
            return
        self.accesses.append(SharedAccess(
            name=name, storage=storage, line=e.line, text=e.text, is_write=mode in ("write", "update"),
            labels=frame.held | self._labels(frame, e.line, name), via=frame.via))

    def _labels(self, frame: _Frame, line: int, name: str | None) -> frozenset[str]:
        """What protects an access at this line of the frame's function (a lock of `this`
        is the receiver's)."""
        function = frame.function
        labels = set()
        for c in self.constructs.around(function, line):
            words = c.kind.split()
            if "critical" in words:
                labels.add(f"critical:{c.critical_name}")
            elif words[:1] == ["atomic"] and name is not None and name in self._atomic_targets(c.stmt, frame):
                labels.add("atomic")
        for span in self.constructs.locks:
            if span.function is function and span.covers(line):
                lock = span.lock
                if lock.startswith("this->"):
                    if frame.receiver is None:
                        continue  # a lock of an object not tracked: protects nothing we can name
                    lock = f"{frame.receiver}.{lock[len('this->'):]}"
                labels.add(f"lock:{lock}")
        return frozenset(labels)

    def _atomic_targets(self, stmt: ir.Stmt | None, frame: _Frame) -> set[str]:
        names = set()
        for s in stmt.walk() if stmt is not None else ():
            for top in s.expressions():
                for e in top.walk():
                    target = e.target if isinstance(e, ir.Assign) else (
                        e.operand if isinstance(e, ir.Unary) and e.op in _INC_DEC else None)
                    name = _object_name(target, frame.receiver) if target is not None else None
                    if name is not None:
                        names.add(name)
        return names


def examine(body: ir.Stmt, facts, guards: AccessGuards, private: frozenset[str], program=None) -> CallAccesses:
    """The races on shared storage the calls of one loop body make (the loop under
    an existing directive whose protections `guards` reads), with the body's own
    accesses of the same objects. `program`: ProgramFacts, whose summaries say what
    functions of other files touch."""
    out = CallAccesses()
    constructs = guards.constructs
    function = guards.function
    frame = _Frame(function, None, {}, frozenset(), "")
    calls = [e for s in body.walk() for top in s.expressions() for e in top.walk() if isinstance(e, ir.Call)]
    if not calls or guards.private_default:
        return out
    inside = constructs.within(function, body.line, max(e.line for e in calls))
    if any(directive_words(c.directive)[:1] not in (("critical",), ("atomic",), ("ordered",)) for c in inside):
        return out  # masked, single, tasks... in the body: which thread runs a call is not every thread
    walks: list[tuple[ir.Call, _Walk]] = []
    complete = True
    in_team = any(c.kind.split()[:1] == ["parallel"] for c in constructs.around(function, body.line))
    for call in calls:
        walk = _Walk(constructs, constructs.functions, constructs.threadprivate, program,
                     lambda var: _shared_local(var, facts, private, guards), in_team)
        receiver = _shared_receiver(call, facts, private, guards)
        held = constructs.guards_at(function, call.line, None, guards.ordered)
        callee = call.name.split("::")[-1]
        if call.name in SYNC_CALLS:
            walk.complete = walk._paired_lock(call, function)
            walk.effects_known = walk.complete
        else:
            walk.call(call, None, held, receiver, f"in {callee}, called at line {call.line}")
        complete &= walk.complete
        walks.append((call, walk))
    pinned = concurrentcalls.pinned_calls(body)
    for call, walk in walks:
        if id(call) in pinned:  # perhaps one iteration only: no race with itself
            walk.accesses = [replace(a, every_iteration=False) for a in walk.accesses]
    for call, walk in walks:
        key = (call.name, call.line)
        if walk.complete and walk.effects_known and all(
                w.complete and w.effects_known for c, w in walks if (c.name, c.line) == key):
            out.known_calls.add(key)
    if not complete:
        return out  # something in the loop may synchronise in a way not seen: no claims
    by_name: dict[str, list[SharedAccess]] = {}
    imprecise = set().union(*(w.imprecise for _, w in walks))
    statics = {}
    for _, walk in walks:
        statics.update(walk.statics)
        for a in walk.accesses:
            by_name.setdefault(a.name, []).append(a)
    for ref in facts.refs:  # the body's own accesses of the same objects
        name = str(ref.key)
        var = ref.key.var
        if var.kind not in ("global", "static") and not (var.kind == "local" and _shared_local(var, facts, private, guards)):
            continue  # a loop-private namesake of a callee's global
        if name in by_name and ref.exact:
            if ref.subscripts is not None:
                imprecise.add(name)
                continue
            by_name[name].append(SharedAccess(name, by_name[name][0].storage, ref.line, ref.text,
                                              ref.is_write, guards.of(ref)))
    for name, accesses in by_name.items():
        root = name.split(".")[0]
        if root in imprecise or name in imprecise or root in private or name in private:
            continue
        if root in statics:
            out.settled.add(statics[root])
        race = _first_race(accesses)
        if race is not None:
            out.races.append(race)
    return out


def _first_race(accesses: list[SharedAccess]) -> loopfacts.SharedStorageRace | None:
    """A write and another access (the write itself, on another thread) with no protection in common."""
    ordered = sorted(accesses, key=lambda a: not a.is_write)
    for i, a in enumerate(ordered):
        if not a.is_write:
            break
        for b in ordered[i:]:
            if not (a.every_iteration or b.every_iteration):
                continue  # both perhaps in one iteration only, on one thread
            if not a.labels & b.labels:
                if a is b:
                    meet = f"{a.text} (line {a.line}{_via(a)}) writes it in every iteration, and two threads run it at once"
                else:
                    what = "writes" if b.is_write else "reads"
                    meet = (f"{a.text} (line {a.line}{_via(a)}) writes it while another thread {what} it: "
                            f"{b.text} (line {b.line}{_via(b)}), with no critical, atomic or lock in common")
                return loopfacts.SharedStorageRace(name=a.name, storage=a.storage, meet=meet,
                                                   first_line=a.line, second_line=b.line)
    return None


def _via(a: SharedAccess) -> str:
    return f", {a.via}" if a.via else ""


def _shared_receiver(call: ir.Call, facts, private: frozenset[str], guards: AccessGuards) -> str | None:
    """The object a method call of the body runs on, when every thread shares it: a
    variable declared outside a combined `parallel` loop and not made private."""
    r = call.receiver
    if not guards.shares_outer_locals or not isinstance(r, ir.Name) or r.var is None:
        return None
    var = r.var
    if var in facts.declared or var.name in private or var.is_pointer or var.name in guards.constructs.threadprivate:
        return None
    return var.name


def _shared_local(var: ir.Var, facts, private: frozenset[str], guards: AccessGuards) -> bool:
    """A local every thread of the loop shares: declared outside a combined
    `parallel` loop and not made private."""
    return (guards.shares_outer_locals and var.kind == "local" and var not in facts.declared
            and var.name not in private and var.name not in guards.constructs.threadprivate)


def _is_address(e: ir.Expr) -> bool:
    return isinstance(e, ir.Unary) and e.op == "&" or (
        isinstance(e, ir.Name) and e.var is not None and (e.var.is_array or e.var.is_container))


def _is_this(e: ir.Expr) -> bool:
    return isinstance(e, ir.OtherExpr) and "this" in e.kind


def _object_name(e: ir.Expr, receiver: str | None) -> str | None:
    path = []
    while isinstance(e, ir.Member) and not e.arrow and e.base is not None and not _is_this(e.base):
        path.insert(0, "." + e.field)
        e = e.base
    if isinstance(e, ir.Member) and (e.base is None or _is_this(e.base)):
        return f"{receiver}.{e.field}" + "".join(path) if receiver else None
    if isinstance(e, ir.Name):
        return e.name + "".join(path)
    return None




def _constant(e: ir.Expr | None, bindings: dict) -> int | None:
    """The integer value of an expression from constants and bound parameters, or None."""
    if isinstance(e, ir.Const):
        return e.value if isinstance(e.value, int) else None
    if isinstance(e, ir.Name):
        if e.var is not None and id(e.var) in bindings:
            return bindings[id(e.var)]
        return e.value
    if isinstance(e, ir.Unary) and e.op in ("-", "!", "~", "+"):
        v = _constant(e.operand, bindings)
        if v is None:
            return None
        return {"-": -v, "!": int(not v), "~": ~v, "+": v}[e.op]
    if isinstance(e, ir.Binary):
        a, b = _constant(e.lhs, bindings), _constant(e.rhs, bindings)
        if e.op == "&&" and (a == 0 or b == 0):
            return 0
        if e.op == "||" and (a not in (0, None) or b not in (0, None)):
            return 1
        if a is None or b is None:
            return None
        ops = {"+": a + b, "-": a - b, "*": a * b, "==": int(a == b), "!=": int(a != b), "<": int(a < b),
               "<=": int(a <= b), ">": int(a > b), ">=": int(a >= b), "&&": int(bool(a and b)),
               "||": int(bool(a or b)), "&": a & b, "|": a | b, "^": a ^ b}
        return ops.get(e.op)
    if isinstance(e, ir.Conditional):
        c = _constant(e.cond, bindings)
        return None if c is None else _constant(e.then if c else e.orelse, bindings)
    return None
