"""Is a variable's value after a loop ever read? (private or lastprivate)

A backward liveness analysis over the function's control-flow graph, built
from ompilot's own syntax tree (ir.py). A variable is live after a loop when
some path from the loop's exit reaches a read of it before a plain, certain
assignment. The graph follows the language: a `for` init runs once, a loop
may run zero times (its body kills nothing on the path that skips it),
`break`, `continue`, `return`, `goto` and `switch` jump where C says, and the
back edge of every enclosing loop is an ordinary edge, so a read in the next
iteration of an outer loop is seen.

Conservative wherever it cannot see: a variable is always live when it is
global, static, a reference, volatile, a struct or container, or when its
address escapes (`&x`, an array used as a pointer, a C++ argument that may
bind to a reference); everything is live in a function with a lambda, a
statement expression, a label address or setjmp. Within one expression,
reads count as happening before writes, and a write under `&&`, `||` or
`?:` kills nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ir

#: Library functions and container methods that keep no pointer or reference to
#: their arguments once they return, and return none into them (so not memcpy,
#: strchr, fgets or std::min). Only for callees not defined in the file.
_FUNCTIONS_KEEPING_NOTHING = {
    "printf", "fprintf", "sprintf", "snprintf", "scanf", "fscanf", "sscanf", "puts", "fputs",
    "fwrite", "fread", "memcmp", "strcmp", "strncmp", "strlen", "qsort", "free", "atoi", "atol",
    "atof", "abs", "labs", "fabs", "sqrt", "exp", "log", "pow", "sin", "cos", "tan", "floor",
    "ceil", "round", "swap", "operator<<", "operator>>", "to_string",
}  # fmt: skip
_METHODS_KEEPING_NOTHING = {
    "push_back", "emplace_back", "push_front", "emplace_front", "push", "emplace", "insert",
    "resize", "count", "find",
}  # fmt: skip
_OPAQUE_EXPRESSIONS = {"lambda_expr", "stmt_expr", "addr_label_expr", "block_expr"}
_SETJMP = {"setjmp", "_setjmp", "sigsetjmp", "__sigsetjmp"}
_ALL = -1  # every bit set: a node that may read any variable


@dataclass
class _Node:
    gen: int = 0  # variables read before any write here
    kill: int = 0  # variables certainly overwritten here
    succs: list[int] = field(default_factory=list)


@dataclass
class _Effects:
    """What one expression does: reads, certain writes."""

    gen: int = 0
    kill: int = 0


class FunctionEvents:
    """Liveness of a function's local variables at the exit of each of its loops.

    `is_cpp` decides whether a bare variable passed to a call may bind to a
    reference parameter (and so escape); unknown language means C++ (safe).
    """

    def __init__(self, function: ir.Function, is_cpp: bool = True):
        self.function = function
        self.is_cpp = is_cpp
        self._built = False
        self.declared: dict[int, set[ir.Var]] = {}

    # ------------------------------------------------------------ the query

    def live_after(self, var: ir.Var, loop: ir.Stmt, enclosing=()) -> bool:
        """May the value `var` holds when `loop` ends be read afterwards?

        `enclosing` (the loops around `loop`) is not needed: the graph holds
        their back edges. It stays for the callers' convenience."""
        self._build()
        if var.kind != "static" and var in self._declared_in(loop):
            return False  # its lifetime ends with the loop
        if self.opaque or var in self.escaped or _category(var) is None:
            return True
        after = self.loop_exit.get(id(loop))
        bit = self.bits.get(var)
        if after is None:
            return True  # a loop this graph does not hold: assume the worst
        if bit is None:
            return False  # never mentioned in the function at all
        return bool(self.live_in[after] & bit)

    def _declared_in(self, loop: ir.Stmt) -> set[ir.Var]:
        found = self.declared.get(id(loop))
        if found is None:
            found = self.declared[id(loop)] = {s.var for s in loop.walk() if isinstance(s, ir.Decl)}
        return found

    # ---------------------------------------------------------- the graph

    def _build(self) -> None:
        if self._built:
            return
        self._built = True
        self.nodes: list[_Node] = []
        self.bits: dict[ir.Var, int] = {}
        self.escaped: set[ir.Var] = set()
        self.opaque = False
        self.loop_exit: dict[int, int] = {}
        self.labels: dict[str, int] = {}
        self.gotos: list[tuple[int, str | None]] = []
        self.jump_targets: list[tuple[int | None, int | None]] = []  # (break, continue)
        self.switch_cases: list[list[tuple[int, bool]]] = []  # (node, is_default)
        self.handlers: list[int] = []  # hubs of constructs that may be left at any point
        self.kept_params: dict[tuple[int, int], bool] = {}
        self.exit = self._node()
        if self.function.body is not None:
            self.entry = self._stmt(self.function.body, self.exit)
        for node, label in self.gotos:
            target = self.labels.get(label) if label else None
            if target is None:
                self.nodes[node].gen = _ALL  # unknown destination: anything may be read
            else:
                self.nodes[node].succs.append(target)
        self.live_in = self._solve()

    def _node(self, effects: _Effects | None = None, succs=()) -> int:
        node = _Node(gen=effects.gen if effects else 0, kill=effects.kill if effects else 0, succs=list(succs))
        node.succs.extend(self.handlers)
        self.nodes.append(node)
        return len(self.nodes) - 1

    def _solve(self) -> list[int]:
        preds: list[list[int]] = [[] for _ in self.nodes]
        for i, node in enumerate(self.nodes):
            for s in node.succs:
                preds[s].append(i)
        live_in = [0] * len(self.nodes)
        work = list(range(len(self.nodes)))
        queued = set(work)
        while work:
            i = work.pop()
            queued.discard(i)
            node = self.nodes[i]
            out = 0
            for s in node.succs:
                out |= live_in[s]
            new = node.gen | (out & ~node.kill)
            if new != live_in[i]:
                live_in[i] = new
                for p in preds[i]:
                    if p not in queued:
                        queued.add(p)
                        work.append(p)
        return live_in

    # ------------------------------------------------------------ statements

    def _stmt(self, s: ir.Stmt | None, nxt: int) -> int:
        """Add the nodes of `s`, which continues to `nxt`; return its entry."""
        if s is None:
            return nxt
        if isinstance(s, ir.Block):
            for sub in reversed(s.stmts):
                nxt = self._stmt(sub, nxt)
            return nxt
        if isinstance(s, ir.ExprStmt):
            return self._node(self._effects(s.expr), [nxt])
        if isinstance(s, ir.Decl):
            return self._node(self._decl(s), [nxt])
        if isinstance(s, ir.If):
            then = self._stmt(s.then, nxt)
            orelse = self._stmt(s.orelse, nxt)
            return self._node(self._effects(s.cond), [then, orelse])
        if isinstance(s, ir.LoopStmt):
            return self._loop(s, nxt)
        if isinstance(s, ir.Jump):
            return self._jump(s)
        if isinstance(s, ir.Switch):
            return self._switch(s, nxt)
        if isinstance(s, ir.Labeled):
            return self._labeled(s, nxt)
        return self._other(s, nxt)

    def _decl(self, s: ir.Decl) -> _Effects:
        if s.init is None:
            return _Effects()  # no certain value: kills nothing
        if s.var.is_reference:
            effects = _Effects()
            self._address(s.init, effects)
            return effects
        effects = self._effects(s.init)
        bit = self._bit(s.var)
        if bit:
            effects.kill |= bit
        return effects

    def _loop(self, loop: ir.LoopStmt, nxt: int) -> int:
        after = self._node(succs=[nxt])
        self.loop_exit[id(loop)] = after
        if isinstance(loop, ir.For):
            head = self._node(self._effects(loop.cond) if loop.cond is not None else None)
            inc = self._node(self._effects(loop.inc) if loop.inc is not None else None, [head])
            body = self._body(loop.body, inc, after, inc)
            self.nodes[head].succs += [body] + ([after] if loop.cond is not None else [])
            return self._stmt(loop.init, head)
        if isinstance(loop, ir.While):
            head = self._node(self._effects(loop.cond) if loop.cond is not None else None)
            body = self._body(loop.body, head, after, head)
            self.nodes[head].succs += [body, after]
            return head
        if isinstance(loop, ir.DoWhile):
            head = self._node(self._effects(loop.cond) if loop.cond is not None else None)
            body = self._body(loop.body, head, after, head)
            self.nodes[head].succs += [body, after]
            return body
        # range-for: the range is read once; the variable is set at each iteration
        head = self._node()
        body = self._body(loop.body, head, after, head)
        bit = self._bit(loop.var) if isinstance(loop, ir.RangeFor) and loop.var is not None else 0
        start = self._node(_Effects(kill=bit), [body])
        self.nodes[head].succs += [start, after]
        rng = getattr(loop, "range", None)
        return self._node(self._effects(rng) if rng is not None else None, [head])

    def _body(self, body: ir.Stmt, nxt: int, brk: int, cont: int) -> int:
        self.jump_targets.append((brk, cont))
        try:
            return self._stmt(body, nxt)
        finally:
            self.jump_targets.pop()

    def _jump(self, s: ir.Jump) -> int:
        effects = self._effects(s.value) if s.value is not None else _Effects()
        if s.kind == "return":
            return self._node(effects, [self.exit])
        if s.kind == "goto":
            node = self._node(effects)
            self.gotos.append((node, s.label))
            return node
        target = None
        for brk, cont in reversed(self.jump_targets):
            target = brk if s.kind == "break" else cont
            if target is not None:
                break
        if target is None:
            return self._node(_Effects(gen=_ALL))
        return self._node(effects, [target])

    def _switch(self, s: ir.Switch, nxt: int) -> int:
        self.jump_targets.append((nxt, None))  # break leaves the switch; continue goes further out
        self.switch_cases.append([])
        try:
            self._stmt(s.body, nxt)
        finally:
            self.jump_targets.pop()
            cases = self.switch_cases.pop()
        succs = [node for node, _ in cases]
        if not any(is_default for _, is_default in cases):
            succs.append(nxt)
        return self._node(self._effects(s.cond), succs)

    def _labeled(self, s: ir.Labeled, nxt: int) -> int:
        inner = self._stmt(s.stmt, nxt)
        node = self._node(succs=[inner])
        if s.label in ("case", "default"):
            if self.switch_cases:
                self.switch_cases[-1].append((node, s.label == "default"))
            else:
                self.nodes[node].gen = _ALL
        else:
            self.labels[s.label] = node
        return node

    def _other(self, s: ir.Stmt, nxt: int) -> int:
        """A construct the analysis does not model (try, asm, ...): its parts may
        run any number of times in any order, and be left at any point."""
        effects = _Effects()
        for e in s.expressions():
            part = self._effects(e)
            effects.gen |= part.gen  # its writes are not certain: no kill
        kind = getattr(s, "kind", "")
        if "asm" in kind or kind == "declaration":
            effects.gen = _ALL  # operands or initialisers the syntax tree does not show
        hub = self._node(effects, [nxt])
        self.handlers.append(hub)
        try:
            entries = [self._stmt(part, hub) for part in s.substatements()]
        finally:
            self.handlers.pop()
        self.nodes[hub].succs += entries
        return hub

    # ----------------------------------------------------------- expressions

    def _bit(self, var: ir.Var | None) -> int:
        if var is None or _category(var) is None:
            return 0
        bit = self.bits.get(var)
        if bit is None:
            bit = self.bits[var] = 1 << len(self.bits)
        return bit

    def _effects(self, e: ir.Expr) -> _Effects:
        effects = _Effects()
        self._value(e, effects, certain=True)
        return effects

    def _value(self, e: ir.Expr, fx: _Effects, certain: bool) -> None:
        """`e` is evaluated for its value (or its side effects)."""
        if isinstance(e, ir.Name):
            if e.var is None:
                return
            if _category(e.var) == "array":
                self.escaped.add(e.var)  # the array decays to a pointer
            fx.gen |= self._bit(e.var)
        elif isinstance(e, ir.Assign):
            self._assign(e, fx, certain)
        elif isinstance(e, ir.Index):
            root, depth = _index_root(e)
            if root is not None and _category(root) == "array":
                fx.gen |= self._bit(root)
                if depth < len(root.array_dims or ()):
                    self.escaped.add(root)  # a row used as a pointer
                self._indices(e, fx, certain)
            else:
                self._value(e.base, fx, certain)
                self._value(e.index, fx, certain)
        elif isinstance(e, ir.Unary) and e.op == "&":
            self._address(e.operand, fx, certain)
        elif isinstance(e, ir.Binary) and e.op in ("&&", "||"):
            self._value(e.lhs, fx, certain)
            self._value(e.rhs, fx, False)
        elif isinstance(e, ir.Conditional):
            self._value(e.cond, fx, certain)
            self._value(e.then, fx, False)
            self._value(e.orelse, fx, False)
        elif isinstance(e, ir.Call):
            self._call(e, fx, certain)
        else:
            if isinstance(e, ir.OtherExpr) and e.kind in _OPAQUE_EXPRESSIONS:
                self.opaque = True
            for child in e.children():
                self._value(child, fx, certain)

    def _assign(self, e: ir.Assign, fx: _Effects, certain: bool) -> None:
        self._value(e.value, fx, certain)
        target = e.target
        if isinstance(target, ir.Name) and target.var is not None and _category(target.var) == "scalar":
            bit = self._bit(target.var)
            if e.op != "=":
                fx.gen |= bit
            elif certain:
                fx.kill |= bit
            return
        if isinstance(target, ir.Index):
            root, depth = _index_root(target)
            if root is not None and _category(root) == "array" and depth == len(root.array_dims or ()):
                if e.op != "=":
                    fx.gen |= self._bit(root)
                self._indices(target, fx, certain)  # an element store neither reads nor kills the array
                return
        self._value(target, fx, certain)

    def _indices(self, e: ir.Expr, fx: _Effects, certain: bool) -> None:
        while isinstance(e, ir.Index):
            self._value(e.index, fx, certain)
            e = e.base

    def _address(self, e: ir.Expr, fx: _Effects, certain: bool = True) -> None:
        """`&e` (or a reference bound to e): the object e names escapes."""
        if isinstance(e, ir.Name):
            if e.var is not None:
                self.escaped.add(e.var)
        elif isinstance(e, ir.Index):
            root, _ = _index_root(e)
            if root is not None and _category(root) == "array":
                self.escaped.add(root)
                self._indices(e, fx, certain)
            else:
                self._value(e, fx, certain)
        elif isinstance(e, ir.Member) and not e.arrow and e.base is not None:
            self._address(e.base, fx, certain)
        else:
            self._value(e, fx, certain)

    def _call(self, e: ir.Call, fx: _Effects, certain: bool) -> None:
        name = e.name.split("::")[-1]
        if name in _SETJMP:
            self.opaque = True
        if e.receiver is not None:
            self._address(e.receiver, fx, certain)
        for i, arg in enumerate(e.args):
            if not self._may_keep(e, name, i):
                self._borrowed(arg, fx, certain)
                continue
            if self.is_cpp and isinstance(arg, (ir.Name, ir.Index, ir.Member)):
                self._address(arg, fx, certain)  # may bind to a reference parameter
            self._value(arg, fx, certain)

    def _may_keep(self, call: ir.Call, name: str, i: int) -> bool:
        """May the callee keep a pointer or reference to its argument i after it returns?"""
        function = call.function
        if function is None or function.body is None:
            return not _keeps_nothing(call)
        # a member operator's call lists the object first: m(i, j) is m.operator()(i, j)
        shift = 1 if function.is_method and name.startswith("operator") and len(call.args) == len(function.params) + 1 else 0
        index = i - shift
        if not 0 <= index < len(function.params):
            return True  # the object itself, or a variadic argument
        param = function.params[index]
        if not (param.is_pointer or param.is_reference or param.is_array):
            return False  # passed by value
        key = (id(function), index)
        if key not in self.kept_params:
            self.kept_params[key] = _param_kept(function, param)
        return self.kept_params[key]

    def _borrowed(self, arg: ir.Expr, fx: _Effects, certain: bool) -> None:
        """An argument the callee reads (or writes) through, but does not keep."""
        operand = arg.operand if isinstance(arg, ir.Unary) and arg.op == "&" else arg
        if isinstance(operand, ir.Name) and operand.var is not None:
            fx.gen |= self._bit(operand.var)
            return
        if isinstance(operand, ir.Index):
            root, _ = _index_root(operand)
            if root is not None and _category(root) == "array":
                fx.gen |= self._bit(root)
                self._indices(operand, fx, certain)
                return
        self._value(arg, fx, certain)


def _category(var: ir.Var) -> str | None:
    """"scalar" (a number or pointer) or "array" (a local array) when the
    analysis can follow the variable; None when it must stay live."""
    if var.kind not in ("local", "param") or var.is_reference or var.is_volatile or var.is_container:
        return None
    if var.is_pointer or (var.is_scalar_number and not var.is_array):
        return "scalar"
    if var.is_array and var.kind == "local" and not var.rows_are_pointers:
        return "array"
    return None


def _index_root(e: ir.Expr) -> tuple[ir.Var | None, int]:
    """The variable under a chain `a[i][j]` and the number of subscripts."""
    depth = 0
    while isinstance(e, ir.Index):
        depth += 1
        e = e.base
    if isinstance(e, ir.Name) and e.var is not None:
        return e.var, depth
    return None, depth


def _param_kept(function: ir.Function, param: ir.Var) -> bool:
    """May `function` keep its pointer or reference parameter beyond the call?

    No only when every use of a pointer is `p[i]`, `*p` or `p->f` (one level
    of pointer), and every use of a reference is a plain value, and neither
    is ever under `&`, passed to a call that might keep it, or returned.
    """
    if param.is_reference:
        pointer = False
    elif param.is_pointer and "(" not in param.type and (
        (param.array_dims is None and param.type.count("*") == 1 and "[" not in param.type)
        or (param.array_dims is not None and len(param.array_dims) == 1 and "*" not in param.type)
    ):
        pointer = True
    else:
        return True
    if function.body is None:
        return True
    for stmt in function.body.walk():
        if isinstance(stmt, ir.Decl) and stmt.var.is_reference and stmt.init is not None and _mentions(stmt.init, param):
            return True
        if isinstance(stmt, ir.Jump) and stmt.value is not None and not pointer and _mentions(stmt.value, param):
            return True  # a reference may be returned as a reference
        if isinstance(stmt, ir.OtherStmt) and any(_mentions(e, param) for e in stmt.exprs):
            return True
        for e in stmt.expressions():
            if any(isinstance(x, ir.OtherExpr) and x.kind in _OPAQUE_EXPRESSIONS for x in e.walk()):
                return True  # a lambda may capture it
            if _kept_in(e, param, pointer):
                return True
    return False


def _keeps_nothing(call: ir.Call) -> bool:
    name = call.name.split("::")[-1]
    if call.receiver is not None:
        return name in _METHODS_KEEPING_NOTHING or name in ("operator<<", "operator>>")
    return name in _FUNCTIONS_KEEPING_NOTHING


def _kept_in(e: ir.Expr, p: ir.Var, pointer: bool) -> bool:
    if isinstance(e, ir.Name):
        return pointer and e.var is p  # a pointer used as a value: copied somewhere
    if isinstance(e, ir.Unary) and e.op == "&":
        return _mentions(e.operand, p)
    if isinstance(e, ir.Call):
        parts = ((e.receiver,) if e.receiver is not None else ()) + e.args
        if not _keeps_nothing(e) and any(_mentions(a, p) for a in parts):
            return True
    if isinstance(e, ir.OtherExpr) and e.kind == "init_list_expr" and not pointer and _mentions(e, p):
        return True  # may initialise a reference member
    if pointer and isinstance(e, ir.Index) and _is(e.base, p):
        return _kept_in(e.index, p, pointer)
    if pointer and isinstance(e, ir.Unary) and e.op == "*" and _is(e.operand, p):
        return False
    if pointer and isinstance(e, ir.Member) and e.arrow and _is(e.base, p):
        return False
    return any(_kept_in(child, p, pointer) for child in e.children())


def _is(e: ir.Expr | None, var: ir.Var) -> bool:
    return isinstance(e, ir.Name) and e.var is var


def _mentions(e: ir.Expr, var: ir.Var) -> bool:
    return any(_is(x, var) for x in e.walk())
