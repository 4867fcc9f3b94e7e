"""What each function does to shared storage, summarised per file and joined across the program.

A loop or region in one file that calls a function another file defines sees
nothing of it from its own translation unit. Phase 1 of the program scan
(program.summarise) therefore records, for every function a file defines,
the storage it touches that a caller may share with other threads (OpenMP
6.0: globals and static locals are shared by every thread; memory reached
through a pointer parameter is the caller's object), whether each access
reads or writes, and what protects it (locks taken before it, also in helper
functions of the file such as `enter()` / `leave()` around `omp_set_lock`).
Calls into other files are kept with how their arguments are bound, and
`resolve` joins them once every file's summary is known (ProgramFacts).

A summary is `known` only when the walk saw everything that might
synchronise or write memory it cannot name: no OpenMP directive in the
function, no call to a function nobody in the program defines (library calls
known to touch no program storage excepted), no lock taken on a condition or
left in a different state on two paths, no write through a pointer other
than a parameter, no recursion. An unknown summary makes no claim.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import effects, ir
from .constructs import LOCK_SET, LOCK_UNSET, SYNC_CALLS
from .loops import canonical_form, constant_value, written_vars

_MAX_DEPTH = 4
_INC_DEC = ("++", "--", "post++", "post--")


@dataclass(frozen=True)
class Touch:
    """One access a function makes to storage its callers may share.

    root: "param:K" (memory reached through pointer parameter K), "global:NAME",
    "static:FILE:FUNCTION:NAME" (a static local) or "static:FILE::NAME" (a
    variable of that file only). path: fields and constant
    subscripts after the root ("balance", "[0]"); `indexed`: an element whose
    index is not a constant (which one is not known)."""

    root: str
    path: tuple[str, ...]
    indexed: bool
    is_write: bool
    labels: frozenset[str]  # lock:NAME held around it
    where: str  # "account.c:37"
    text: str
    function: str  # the function whose body holds it
    reached: str = ""  # the call in the summarised function's own file that leads to it ("" : its own line)
    #: K when the index runs over every value 0 .. (integer parameter K) - 1 (`for (t = 0; t < count; t++) p[t]`)
    covers: int | None = None


@dataclass(frozen=True)
class Forward:
    """A call to a function this file does not define, resolved when the program is merged."""

    callee: str  # key (program.callee_key)
    name: str
    where: str
    args: tuple[str | None, ...]  # the root each argument passes on ("param:0", "global:x"), None: not storage
    labels: frozenset[str]  # locks held at the call


@dataclass(frozen=True)
class FunctionEffects:
    key: str
    name: str
    file: str
    touches: tuple[Touch, ...] = ()
    forwards: tuple[Forward, ...] = ()
    known: bool = True
    why: str = ""  # why not known
    changes_locks: bool = False  # returns holding other locks than at entry (a lock helper)


# ------------------------------------------------------------------ phase 1


def summarise(tu: ir.TranslationUnit, pragma_lines, callee_key) -> tuple[FunctionEffects, ...]:
    """The effects of every function `tu` defines. `pragma_lines`: line -> text of
    its `#pragma omp` lines (the analysis parse does not see them)."""
    defined = {f.name: f for f in tu.functions if f.body is not None}
    threadprivate = {name for text in pragma_lines.values() if "threadprivate" in text
                     for name in _names_in_parens(text)}
    starts = sorted(f.line for f in tu.functions if f.body is not None)
    #: each function's lines: to the line before the next definition (a directive after its
    #: last statement, `#pragma omp barrier` before the closing brace, is its own)
    extents = {id(f): (f.line, next((x - 1 for x in starts if x > f.line), 1 << 30)) for f in defined.values()}
    out = []
    for function in defined.values():
        walk = _Walk(tu.path, defined, pragma_lines, threadprivate, callee_key, extents)
        binding = {id(p): f"param:{i}" for i, p in enumerate(function.params)}
        held = walk.function(function, binding, frozenset())
        out.append(FunctionEffects(
            key=function.usr or function.name, name=function.name, file=tu.path,
            touches=tuple(walk.touches), forwards=tuple(walk.forwards), known=walk.why == "", why=walk.why,
            changes_locks=held is None or bool(held) or walk.releases_unheld))
    return tuple(out)


def _names_in_parens(text: str) -> list[str]:
    inner = text.partition("(")[2].rpartition(")")[0]
    return [n.strip() for n in inner.split(",") if n.strip()]


class _Walk:
    """Walks one function (and the callees its file defines, inlined) in program order."""

    def __init__(self, path: str, defined: dict[str, ir.Function], pragma_lines, threadprivate, callee_key, extents):
        self.path = path
        self.extents = extents
        self.file = path.rsplit("/", 1)[-1]
        self.defined = defined
        self.pragma_lines = pragma_lines
        self.threadprivate = threadprivate
        self.callee_key = callee_key
        self.touches: list[Touch] = []
        self.forwards: list[Forward] = []
        self.why = ""
        self.stack: list[ir.Function] = []
        self.frames: list[tuple] = []  # (function, binding, reassigned variables, locks held at each return)
        self.releases_unheld = False  # unsets a lock it did not set: a lock helper
        self.depth = 0  # ifs around the statement being walked
        self.covering: list[tuple[ir.Var, int, int]] = []  # (counter, parameter K, depth) of loops 0 .. K-1

    def unknown(self, why: str) -> None:
        self.why = self.why or why

    def function(self, function: ir.Function, binding: dict, held: frozenset[str]) -> frozenset[str] | None:
        """Walk a body with its pointer parameters bound (id(param) -> root); the
        locks held when it returns (None: not the same on every path)."""
        first, last = self.extents.get(id(function), (function.line, function.line))
        if any(first <= line <= last and "threadprivate" not in text for line, text in self.pragma_lines.items()):
            self.unknown(f"{function.name} holds an OpenMP directive")
        reassigned = written_vars(function.body)
        self.stack.append(function)
        self.frames.append((function, binding, reassigned, []))
        try:
            end = self.stmt(function.body, held)
            returns = self.frames[-1][3]
            exits = set(returns) | ({end} if end is not None else set())
            if len(exits) > 1:
                self.unknown(f"{function.name} returns holding different locks on different paths")
                return None
            return exits.pop() if exits else held
        finally:
            self.stack.pop()
            self.frames.pop()

    # ------------------------------------------------------------ statements

    def stmt(self, s: ir.Stmt, held: frozenset[str]) -> frozenset[str] | None:
        """The locks held after the statement; None when control does not go on past it."""
        if isinstance(s, ir.Block):
            for sub in s.stmts:
                held = self.stmt(sub, held)
                if held is None:
                    return None
            return held
        if isinstance(s, ir.If):
            held = self.expr(s.cond, held, "read")
            self.depth += 1
            after = {self.stmt(s.then, held), self.stmt(s.orelse, held) if s.orelse is not None else held}
            self.depth -= 1
            after.discard(None)
            if len(after) > 1:
                self.unknown("a lock is taken on one branch of an if only")
            return after.pop() if after else None
        if isinstance(s, ir.Jump):
            if s.value is not None:
                held = self.expr(s.value, held, "read")
            if s.kind == "return":
                self.frames[-1][3].append(held)
            else:
                self.unknown(f"a {s.kind} statement")
            return None
        if isinstance(s, ir.Decl):
            if s.var.kind == "static" and s.var.is_pointer:
                self.unknown(f"the static pointer {s.var.name}")
            if s.init is not None and s.var.kind != "static":
                if s.var.is_pointer and isinstance(s.init, ir.Name) and s.init.var is not None \
                        and s.init.var.kind == "param":
                    self.unknown(f"the pointer {s.var.name} copies a parameter")
                held = self.expr(s.init, held, "read")
            return held
        if isinstance(s, ir.OtherStmt):
            self.unknown(f"a statement not modelled ({s.kind})")
            return held
        if isinstance(s, ir.LoopStmt):
            before = held
            covering = self._covering(s)
            if covering is not None:
                self.covering.append(covering)
            self.depth += covering is None
            for child in s.children():
                if isinstance(child, ir.Stmt):
                    after = self.stmt(child, held)
                    if after is not None and after != before:
                        self.unknown("a loop takes or releases a lock")
                else:
                    self.expr(child, held, "read")
            self.depth -= covering is None
            if covering is not None:
                self.covering.pop()
            return before
        for child in s.children():  # switch, labels, expression statements
            if isinstance(child, ir.Stmt):
                if isinstance(s, ir.Switch):
                    after = self.stmt(child, held)
                    if after is not None and after != held:
                        self.unknown("a lock is taken in one case of a switch")
                else:
                    held = self.stmt(child, held)
                    if held is None:
                        return None
            else:
                held = self.expr(child, held, "read")
        return held

    def _covering(self, loop: ir.LoopStmt) -> tuple[ir.Var, int, int] | None:
        """(counter, K, depth) of `for (t = 0; t < K; t++)` over an integer parameter K
        of the summarised function itself, with no jump out of its body."""
        if not isinstance(loop, ir.For) or len(self.frames) != 1:
            return None
        form = canonical_form(loop, written_vars(loop.body))
        if isinstance(form, str) or form.var is None or form.bound_op != "<" or form.step != 1:
            return None
        if constant_value(form.start) != 0 or any(isinstance(x, ir.Jump) for x in loop.body.walk()):
            return None
        bound = form.bound
        function, _, reassigned, _ = self.frames[-1]
        if not isinstance(bound, ir.Name) or bound.var is None or bound.var.kind != "param" or bound.var in reassigned:
            return None
        position = next((i for i, p in enumerate(function.params) if p is bound.var), None)
        return None if position is None else (form.var, position, self.depth)

    # ------------------------------------------------------------ expressions

    def expr(self, e: ir.Expr, held: frozenset[str], mode: str) -> frozenset[str]:
        """mode: read, write (=), update (op=, ++), address (&)."""
        if isinstance(e, ir.Assign):
            held = self.expr(e.value, held, "read")
            return self.expr(e.target, held, "write" if e.op == "=" else "update")
        if isinstance(e, ir.Unary) and e.op in _INC_DEC:
            return self.expr(e.operand, held, "update")
        if isinstance(e, ir.Unary) and e.op == "&":
            return self.expr(e.operand, held, "address")
        if isinstance(e, ir.Call):
            return self.call(e, held)
        if isinstance(e, (ir.Name, ir.Member, ir.Index)) or isinstance(e, ir.Unary) and e.op == "*":
            self.location(e, held, mode)
            return held
        if isinstance(e, ir.OtherExpr) and any(k in e.kind for k in ("lambda", "new", "delete", "throw", "block")):
            self.unknown(f"an expression not modelled ({e.kind})")
        for child in e.children():
            held = self.expr(child, held, "read")
        return held

    def location(self, e: ir.Expr, held: frozenset[str], mode: str) -> None:
        path: list[str] = []
        indexed = False
        through = False  # reached through a pointer: *p, p[i], p->f
        node = e
        covers = None
        while True:
            if isinstance(node, ir.Index):
                self.expr(node.index, held, "read")
                value = constant_value(node.index)
                if value is None:
                    indexed, path = True, []
                    covers = next((k for var, k, depth in self.covering if depth == self.depth and node is e
                                   and isinstance(node.index, ir.Name) and node.index.var is var), None)
                else:
                    path.insert(0, f"[{value}]")
                through, node = True, node.base
            elif isinstance(node, ir.Unary) and node.op == "*":
                path.insert(0, "[0]")
                through, node = True, node.operand
            elif isinstance(node, ir.Member) and node.base is not None:
                path.insert(0, node.field)
                through |= node.arrow
                node = node.base
            else:
                break
        if not isinstance(node, ir.Name) or node.var is None:
            if node is not e:
                self.expr(node, held, "read")
            if mode != "read":
                self.unknown(f"writes {e.text}, memory it does not name")
            return
        var = node.var
        root = self.root(var)
        if root == "?":
            if mode != "read":
                self.unknown(f"writes {e.text} through a parameter it reassigns")
            return
        if root is None:
            if through and mode != "read":
                self.unknown(f"writes {e.text} through a pointer that is not a parameter")
            elif not through and mode == "address" and var.kind != "param":
                return  # the address of a local: the callee's business, see call()
            return
        if root.startswith("param:") and not through:
            if mode == "address":
                self.unknown(f"takes the address of the parameter {var.name}")
            return  # the parameter itself is the call's own copy
        if var.name in self.threadprivate or (var.is_const and mode == "read"):
            return
        if mode == "address":
            indexed = True  # passed on: somewhere in the object
        self.touches.append(Touch(
            root=root, path=tuple(path), indexed=indexed, is_write=mode in ("write", "update", "address"),
            labels=held, where=f"{self.file}:{e.line}", text=e.text, function=self.stack[-1].name,
            covers=covers if root.startswith("param:") else None))

    def root(self, var: ir.Var) -> str | None:
        """The storage a variable names in the summary's terms, None when it is private to the call."""
        function, binding, reassigned, _ = self.frames[-1]
        if var.is_thread_local:
            return None  # one copy per thread
        if var.kind == "global" and var.is_internal:
            return f"static:{self.file}::{var.name}"  # its file's own: not a namesake in another file
        if var.kind == "global":
            return f"global:{var.name}"
        if var.kind == "static":
            return f"static:{self.file}:{function.name}:{var.name}"
        if var.kind == "param" and (var.is_pointer or var.is_reference or var.is_array):
            if var in reassigned:
                return "?"
            return binding.get(id(var))
        return None

    # ------------------------------------------------------------------ calls

    def call(self, call: ir.Call, held: frozenset[str]) -> frozenset[str]:
        base = call.name.split("::")[-1]
        if call.receiver is not None:
            self.unknown(f"the method call {call.name}")
            return held
        if base in SYNC_CALLS:
            lock = _lock(call)
            if lock is None or base not in LOCK_SET and base not in LOCK_UNSET:
                self.unknown(f"{base} on a lock it cannot name")
                return held
            if base in LOCK_UNSET and lock not in held:
                self.releases_unheld = True
            return held | {lock} if base in LOCK_SET else held - {lock}
        args = [self.argument(a, held) for a in call.args]
        if "?" in args:
            self.unknown(f"passes a reassigned pointer parameter to {base}")
        function = self.defined.get(call.name) if call.function is None else call.function
        if function is not None and function.body is not None:
            if function in self.stack or len(self.stack) > _MAX_DEPTH:
                self.unknown(f"recursion through {function.name}")
                return held
            binding = {id(p): a for p, a in zip(function.params, args) if a is not None}
            after = self.function(function, binding, held)
            return held if after is None else after
        if base in effects.INERT_CALLS:
            return held
        if base in effects._WRITES_FIRST_ARG:
            if args and args[0] is not None:
                self.touches.append(Touch(args[0], (), True, True, held, f"{self.file}:{call.line}", call.text,
                                          self.stack[-1].name))
            elif call.args:
                self.unknown(f"{base} writes memory it does not name")
            return held
        if base in effects._IO or base.startswith("omp_"):
            self.unknown(f"calls {base}")
            return held
        self.forwards.append(Forward(self.callee_key(call), base, f"{self.file}:{call.line}", tuple(args), held))
        return held

    def argument(self, arg: ir.Expr, held: frozenset[str]) -> str | None:
        """The root of storage an argument passes on (an array or pointer name,
        `&x`), after walking it as a read."""
        target = arg.operand if isinstance(arg, ir.Unary) and arg.op == "&" else arg
        if isinstance(target, ir.Name) and target.var is not None and (
                target is not arg or target.var.is_array or target.var.is_pointer):
            if target is not arg and target.var.kind == "param":
                return "?"  # the address of a parameter: the call's own copy, passed on
            root = self.root(target.var)
            if root is None and target.var.kind == "local" and target.var.is_pointer:
                return "?"  # a local pointer: where it points is not followed
            return root
        self.expr(arg, held, "read")
        for x in arg.walk():  # `p + 1`, `&a[i]`, `&s->f`: somewhere in storage the caller may share
            if isinstance(x, ir.Name) and x.var is not None and (x.var.is_pointer or x.var.is_array) \
                    and self.root(x.var) is not None:
                return "?"
        return None


def _lock(call: ir.Call) -> str | None:
    """lock:NAME for `omp_set_lock(&NAME)` on a global or static lock."""
    if len(call.args) != 1:
        return None
    arg = call.args[0]
    if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Name) \
            and arg.operand.var is not None and arg.operand.var.kind in ("global", "static"):
        return f"lock:{arg.operand.name}"
    return None


# ------------------------------------------------------------------ phase 2


def resolve(summaries: dict[str, FunctionEffects]) -> dict[str, FunctionEffects]:
    """Every summary with its calls into other files replaced by what those
    callees touch, their arguments bound to the caller's roots."""
    done: dict[str, FunctionEffects] = {}

    def flat(key: str, stack: tuple[str, ...]) -> FunctionEffects | None:
        if key in done:
            return done[key]
        own = summaries.get(key)
        if own is None:
            return None
        if key in stack or len(stack) > _MAX_DEPTH:
            return replace(own, known=False, why=f"recursion through {own.name}")
        touches, known, why = list(own.touches), own.known, own.why
        for fwd in own.forwards:
            callee = flat(fwd.callee, (*stack, key))
            if callee is None or not callee.known or callee.changes_locks:
                known = False
                why = why or (f"{fwd.name} ({fwd.where}) is defined nowhere in the program" if callee is None
                              else callee.why or f"{fwd.name} takes or releases a lock")
                continue
            for t in callee.touches:
                if t.root.startswith("param:"):
                    position = int(t.root.split(":")[1])
                    bound = fwd.args[position] if position < len(fwd.args) else None
                    if bound is None:
                        continue  # the caller's own memory, or a value: nothing it shares
                    if bound == "?":
                        known, why = False, why or f"passes a pointer it does not follow to {fwd.name}"
                        continue
                    t = replace(t, root=bound)
                touches.append(replace(t, labels=t.labels | fwd.labels, reached=fwd.where, covers=None))
        result = replace(own, touches=tuple(touches), forwards=(), known=known, why=why)
        if not stack:
            done[key] = result
        return result

    return {key: flat(key, ()) for key in summaries}
