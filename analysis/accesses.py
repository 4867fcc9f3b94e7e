"""What one iteration of a loop touches: the memory references of its body.

The walker visits the body in execution order and records every read and
write as a `Ref`, with the loops around it, whether it runs only on some
paths, and whether a scalar read sees a value from an earlier iteration
(an "exposed" read: nothing in this iteration assigned it first).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ir
from .effects import CallEffect, classify_call

_INC_DEC = ("++", "--", "post++", "post--")
_REDUCTION_OPS = {"+=": "+", "-=": "+", "*=": "*", "&=": "&", "|=": "|", "^=": "^"}
_COMMUTATIVE = {"+": "+", "*": "*", "&": "&", "|": "|", "^": "^", "&&": "&&", "||": "||"}
_MINMAX_CALLS = {
    "fmax": "max", "fmaxf": "max", "fmaxl": "max", "max": "max",
    "fmin": "min", "fminf": "min", "fminl": "min", "min": "min",
}  # fmt: skip


@dataclass(frozen=True)
class Key:
    """A memory object: a variable, or a field path inside it ("p[].x")."""

    var: ir.Var
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.var.name + "".join(f.rstrip("*") for f in self.fields)


@dataclass(eq=False)
class Ref:
    key: Key
    subscripts: tuple[ir.Expr, ...] | None  # None: the object itself (a scalar)
    is_read: bool
    is_write: bool
    line: int
    text: str
    order: int
    conditional: bool  # under an if, ?:, && or || (loops around it are in `loops`)
    loops: tuple[ir.LoopStmt, ...]  # loops inside the analysed loop around it
    update_op: str | None = None  # reduction-shaped update: + * & | ^ && || min max
    exposed: bool = False  # a scalar read whose value may come from an earlier iteration
    exact: bool = True  # False: the element is not known (a call writes "somewhere" in it)
    induction_step: int | None = None  # `k += 2`: an induction-shaped update
    ctype: str = ""  # the accessed object's C type ("double"), "" when not known


@dataclass
class BodyFacts:
    refs: list[Ref] = field(default_factory=list)
    calls: list[CallEffect] = field(default_factory=list)
    exits: list[tuple[str, int]] = field(default_factory=list)  # (statement, line)
    unsupported: list[tuple[str, int]] = field(default_factory=list)
    declared: set[ir.Var] = field(default_factory=set)  # declared inside: private
    address_taken: set[ir.Var] = field(default_factory=set)
    irregular_loops: list[ir.LoopStmt] = field(default_factory=list)  # while/do inside
    assigned_at_end: set[Key] = field(default_factory=set)  # definitely written each iteration
    writes: set[ir.Var] = field(default_factory=set)  # variables assigned anywhere


_UNREACHABLE = None  # a definitely-assigned set after break/continue/return


class BodyWalker:
    """Collects `BodyFacts` for one loop body. One instance per analysed loop."""

    def __init__(self, functions: dict[str, ir.Function]):
        self.facts = BodyFacts()
        self.functions = functions
        self.loops: list[ir.LoopStmt] = []
        self.conditional = 0
        self.breakable = 0  # inner loops and switches that a `break` would leave
        self.order = 0
        self.iteration_ends: list[set[Key]] = []

    # ---------------------------------------------------------------- driver

    def run(self, body: ir.Stmt, counter: ir.Var | None) -> BodyFacts:
        assigned: set[Key] = set()
        if counter is not None:
            assigned.add(Key(counter))
        end = self.stmt(body, assigned)
        ends = [s for s in self.iteration_ends] + ([end] if end is not None else [])
        self.facts.assigned_at_end = set.intersection(*ends) if ends else set()
        return self.facts

    # ------------------------------------------------------------ statements

    def stmt(self, s: ir.Stmt, assigned: set[Key] | None) -> set[Key] | None:
        if assigned is None:  # unreachable code still gets its refs recorded
            assigned = set()
            self.conditional += 1
            try:
                self.stmt(s, assigned)
            finally:
                self.conditional -= 1
            return None
        method = getattr(self, "stmt_" + type(s).__name__, None)
        if method is None:
            return self.stmt_other(s, assigned)
        return method(s, assigned)

    def stmt_Block(self, s: ir.Block, assigned):
        for sub in s.stmts:
            assigned = self.stmt(sub, assigned)
        return assigned

    def stmt_ExprStmt(self, s: ir.ExprStmt, assigned):
        self.expr(s.expr, assigned, "read")
        return assigned

    def stmt_Decl(self, s: ir.Decl, assigned):
        self.facts.declared.add(s.var)
        if s.init is not None:
            self.expr(s.init, assigned, "read")
        assigned.add(Key(s.var))
        return assigned

    def stmt_If(self, s: ir.If, assigned):
        shaped = _if_minmax(s)
        if shaped is not None:
            op, target, value = shaped
            self.expr(value, assigned, "read")
            self.conditional += 1
            try:
                self._lvalue(target, set(assigned), "update", update_op=op)
            finally:
                self.conditional -= 1
            return assigned
        self.expr(s.cond, assigned, "read")
        self.conditional += 1
        try:
            then = self.stmt(s.then, set(assigned))
            orelse = self.stmt(s.orelse, set(assigned)) if s.orelse else set(assigned)
        finally:
            self.conditional -= 1
        if then is None:
            return orelse
        if orelse is None:
            return then
        return then & orelse

    def stmt_Switch(self, s: ir.Switch, assigned):
        self.expr(s.cond, assigned, "read")
        self.conditional += 1
        self.breakable += 1
        try:
            self.stmt(s.body, set(assigned))
        finally:
            self.conditional -= 1
            self.breakable -= 1
        return assigned

    def stmt_Labeled(self, s: ir.Labeled, assigned):
        if s.label not in ("case", "default"):
            self.facts.unsupported.append((f"label {s.label}", s.line))
        return self.stmt(s.stmt, assigned) if s.stmt else assigned

    def stmt_Jump(self, s: ir.Jump, assigned):
        if s.value is not None:
            self.expr(s.value, assigned, "read")
        if s.kind == "return" or s.kind == "goto":
            self.facts.exits.append((s.kind, s.line))
        elif s.kind == "break" and not self.breakable:
            self.facts.exits.append(("break", s.line))
        elif s.kind == "continue" and not self.loops:
            self.iteration_ends.append(set(assigned))
        return _UNREACHABLE

    def _inner_loop(self, s: ir.LoopStmt, assigned, at_least_once: bool):
        self.loops.append(s)
        self.breakable += 1
        try:
            body_assigned = self.stmt(s.body, set(assigned))
        finally:
            self.loops.pop()
            self.breakable -= 1
        if at_least_once and body_assigned is not None:
            return body_assigned
        return assigned

    def stmt_For(self, s: ir.For, assigned):
        if s.init is not None:
            assigned = self.stmt(s.init, assigned)
            if assigned is None:
                return None
        self.loops.append(s)
        try:
            if s.cond is not None:
                self.expr(s.cond, assigned, "read")
        finally:
            self.loops.pop()
        result = self._inner_loop(s, assigned, at_least_once=False)
        if s.inc is not None:
            self.loops.append(s)
            self.conditional += 1
            try:
                self.expr(s.inc, set(result), "read")
            finally:
                self.loops.pop()
                self.conditional -= 1
        return result

    def stmt_RangeFor(self, s: ir.RangeFor, assigned):
        if s.range is not None:
            self.expr(s.range, assigned, "read")
        if s.var is not None:
            self.facts.declared.add(s.var)
        self.facts.irregular_loops.append(s)
        return self._inner_loop(s, assigned, at_least_once=False)

    def stmt_While(self, s: ir.While, assigned):
        self.facts.irregular_loops.append(s)
        if s.cond is not None:
            self.expr(s.cond, assigned, "read")
        self.loops.append(s)
        try:
            if s.cond is not None:
                self.expr(s.cond, set(assigned), "read")  # re-evaluated after the body
        finally:
            self.loops.pop()
        return self._inner_loop(s, assigned, at_least_once=False)

    def stmt_DoWhile(self, s: ir.DoWhile, assigned):
        self.facts.irregular_loops.append(s)
        result = self._inner_loop(s, assigned, at_least_once=True)
        if s.cond is not None:
            self.loops.append(s)
            try:
                self.expr(s.cond, set(result), "read")
            finally:
                self.loops.pop()
        return result

    def stmt_other(self, s: ir.Stmt, assigned):
        kind = getattr(s, "kind", type(s).__name__)
        self.facts.unsupported.append((str(kind).replace("_", " "), s.line))
        self.conditional += 1
        try:
            for e in s.expressions():
                self.expr(e, set(assigned), "read")
            for sub in s.substatements():
                self.stmt(sub, set(assigned))
        finally:
            self.conditional -= 1
        return assigned

    # ----------------------------------------------------------- expressions

    def expr(self, e: ir.Expr, assigned: set[Key], mode: str) -> None:
        """Visit `e`; mode is read, write or update (read then write)."""
        if isinstance(e, ir.Assign):
            self._assign(e, assigned)
        elif isinstance(e, ir.Unary) and e.op in _INC_DEC:
            self._lvalue(e.operand, assigned, "update", update_op="+", induction=1 if "+" in e.op else -1)
        elif isinstance(e, ir.Unary) and e.op == "&":
            self._address_of(e.operand, assigned)
        elif isinstance(e, (ir.Index, ir.Name, ir.Member)) or (
            isinstance(e, ir.Unary) and e.op == "*"
        ):
            self._lvalue(e, assigned, mode)
        elif isinstance(e, ir.Call):
            self._call(e, assigned)
        elif isinstance(e, ir.Conditional):
            self.expr(e.cond, assigned, "read")
            self.conditional += 1
            try:
                self.expr(e.then, set(assigned), "read")
                self.expr(e.orelse, set(assigned), "read")
            finally:
                self.conditional -= 1
        elif isinstance(e, ir.Binary) and e.op in ("&&", "||"):
            self.expr(e.lhs, assigned, "read")
            self.conditional += 1
            try:
                self.expr(e.rhs, set(assigned), "read")
            finally:
                self.conditional -= 1
        else:
            if isinstance(e, ir.OtherExpr) and e.kind in ("lambda_expr", "cxx_throw_expr", "stmt_expr"):
                self.facts.unsupported.append((e.kind.replace("_", " "), e.line))
            for child in e.children():
                self.expr(child, assigned, "read")

    def _assign(self, e: ir.Assign, assigned: set[Key]) -> None:
        target_key = self._scalar_key(e.target)
        if e.op in _REDUCTION_OPS:
            self.expr(e.value, assigned, "read")
            op = _REDUCTION_OPS[e.op] if not self._mentions(e.value, e.target) else None
            step = _constant(e.value)
            induction = None
            if e.op in ("+=", "-=") and step is not None:
                induction = step if e.op == "+=" else -step
            self._lvalue(e.target, assigned, "update", update_op=op, induction=induction)
            return
        if e.op != "=":
            self.expr(e.value, assigned, "read")
            self._lvalue(e.target, assigned, "update")
            return
        shaped = self._reduction_shape(e) if target_key is not None else None
        if shaped is not None:
            op, rest, induction = shaped
            for part in rest:
                self.expr(part, assigned, "read")
            self._lvalue(e.target, assigned, "update", update_op=op, induction=induction)
            return
        self.expr(e.value, assigned, "read")
        self._lvalue(e.target, assigned, "write")

    def _reduction_shape(self, e: ir.Assign):
        """`s = s op x`, `m = fmax(m, x)`, `m = x > m ? x : m`: (op, other operands, step)."""
        target, value = e.target, e.value
        if isinstance(value, ir.Binary):
            if value.op in _COMMUTATIVE and _same(value.lhs, target) and not self._mentions(value.rhs, target):
                step = _constant(value.rhs) if value.op == "+" else None
                return _COMMUTATIVE[value.op], [value.rhs], step
            if value.op in _COMMUTATIVE and _same(value.rhs, target) and not self._mentions(value.lhs, target):
                step = _constant(value.lhs) if value.op == "+" else None
                return _COMMUTATIVE[value.op], [value.lhs], step
            if value.op == "-" and _same(value.lhs, target) and not self._mentions(value.rhs, target):
                step = _constant(value.rhs)
                return "+", [value.rhs], (-step if step is not None else None)
        if isinstance(value, ir.Call) and len(value.args) == 2:
            op = _MINMAX_CALLS.get(value.name.split("::")[-1])
            a, b = value.args
            if op and _same(a, target) and not self._mentions(b, target):
                return op, [b], None
            if op and _same(b, target) and not self._mentions(a, target):
                return op, [a], None
        if isinstance(value, ir.Conditional):
            op = _minmax_conditional(value, target)
            if op is not None:
                other = value.then if not _same(value.then, target) else value.orelse
                if not self._mentions(other, target):
                    return op, [other], None
        return None

    def _mentions(self, e: ir.Expr, target: ir.Expr) -> bool:
        """Does `e` read the variable (or the array) that `target` writes?"""
        location = access_location(target)
        if location is None:
            return True
        var = location[0].var
        return any(isinstance(x, ir.Name) and x.var is var for x in e.walk())

    def _scalar_key(self, e: ir.Expr) -> Key | None:
        if isinstance(e, ir.Name) and e.var is not None and not e.var.is_array and not e.var.is_container:
            return Key(e.var)
        return None

    def _address_of(self, e: ir.Expr, assigned: set[Key]) -> None:
        location = access_location(e)
        if location is None:
            self.expr(e, assigned, "read")
            return
        key, subscripts = location
        if subscripts is None:
            self.facts.address_taken.add(key.var)
        for s in subscripts or ():
            self.expr(s, assigned, "read")

    def _lvalue(self, e, assigned, mode, update_op=None, induction=None) -> None:
        location = access_location(e)
        if location is None:
            for child in e.children():
                self.expr(child, assigned, "read")
            if mode != "read":
                self.facts.unsupported.append((f"assignment to {e.text}", e.line))
            return
        key, subscripts = location
        for s in subscripts or ():
            self.expr(s, assigned, "read")
        if subscripts is None and isinstance(e, ir.Member) and e.base is not None:
            self._base_reads(e.base, assigned)
        if isinstance(e, ir.Name) and e.var is None:
            return  # a function or enumerator
        is_read = mode in ("read", "update")
        is_write = mode in ("write", "update")
        exposed = is_read and subscripts is None and key not in assigned
        self.order += 1
        ref = Ref(
            key=key,
            subscripts=subscripts,
            is_read=is_read,
            is_write=is_write,
            line=e.line,
            text=e.text,
            order=self.order,
            conditional=self.conditional > 0,
            loops=tuple(self.loops),
            update_op=update_op,
            exposed=exposed,
            induction_step=induction,
            ctype=e.ctype,
        )
        self.facts.refs.append(ref)
        if is_write and subscripts is None:
            self.facts.writes.add(key.var)
            # under a condition `assigned` is the branch's own copy (joins intersect them)
            assigned.add(key)

    def _base_reads(self, base: ir.Expr, assigned) -> None:
        """Reads hidden in the base of a member access (`a[i].x` reads i)."""
        for sub in base.walk():
            if isinstance(sub, ir.Index):
                self.expr(sub.index, assigned, "read")

    def _call(self, e: ir.Call, assigned: set[Key]) -> None:
        effect = classify_call(e, self.functions)
        self.facts.calls.append(effect)
        if e.receiver is not None:
            self.expr(e.receiver, assigned, "read")
        for index, arg in enumerate(e.args):
            if index in effect.written_args:
                self._escaping_write(arg, assigned)
            else:
                self.expr(arg, assigned, "read")
        for var in effect.written_globals:
            self._record_global(var, e, write=True)
        for var in effect.read_globals:
            self._record_global(var, e, write=False)
        if e.receiver is not None and effect.modifies_receiver:
            self._escaping_write(e.receiver, assigned)

    def _escaping_write(self, arg: ir.Expr, assigned) -> None:
        """A call writes through this argument: somewhere in the object it points to."""
        target = arg.operand if isinstance(arg, ir.Unary) and arg.op == "&" else arg
        location = access_location(target) or _pointer_base(arg)
        self.expr(arg, assigned, "read")
        if location is None:
            self.facts.unsupported.append((f"call writing through {arg.text}", arg.line))
            return
        key, subscripts = location
        self.order += 1
        if subscripts is None:
            self.facts.writes.add(key.var)
        self.facts.refs.append(
            Ref(
                key=key,
                subscripts=subscripts if subscripts is not None else None,
                is_read=True,
                is_write=True,
                line=arg.line,
                text=arg.text,
                order=self.order,
                conditional=True,
                loops=tuple(self.loops),
                exact=False,
            )
        )

    def _record_global(self, var: ir.Var, call: ir.Call, write: bool) -> None:
        self.order += 1
        subscripts = None if not (var.is_array or var.is_pointer) else ()
        self.facts.refs.append(
            Ref(
                key=Key(var),
                subscripts=subscripts,
                is_read=True,
                is_write=write,
                line=call.line,
                text=f"{var.name} (in {call.name})",
                order=self.order,
                conditional=True,
                loops=tuple(self.loops),
                exposed=True,
                exact=False,
            )
        )
        if write and subscripts is None:
            self.facts.writes.add(var)


def _constant(e: ir.Expr) -> int | None:
    if isinstance(e, ir.Const) and isinstance(e.value, int):
        return e.value
    if isinstance(e, ir.Name) and e.value is not None:
        return e.value
    return None


def _same(a: ir.Expr, b: ir.Expr) -> bool:
    return (
        isinstance(a, ir.Name) and isinstance(b, ir.Name) and a.var is not None and a.var is b.var
    )


def _minmax_conditional(value: ir.Conditional, target: ir.Expr) -> str | None:
    """`x > m ? x : m` is max; `x < m ? x : m` is min; and the mirrored forms."""
    cond = value.cond
    if not isinstance(cond, ir.Binary) or cond.op not in ("<", "<=", ">", ">="):
        return None
    greater = cond.op in (">", ">=")
    if _same(value.orelse, target) and _same(cond.rhs, target) and _equal(cond.lhs, value.then):
        return "max" if greater else "min"
    if _same(value.orelse, target) and _same(cond.lhs, target) and _equal(cond.rhs, value.then):
        return "min" if greater else "max"
    if _same(value.then, target) and _same(cond.lhs, target) and _equal(cond.rhs, value.orelse):
        return "max" if greater else "min"
    if _same(value.then, target) and _same(cond.rhs, target) and _equal(cond.lhs, value.orelse):
        return "min" if greater else "max"
    return None


def _if_minmax(s: ir.If):
    """`if (x > m) m = x;` is a max update of m (min for <): (op, m, x)."""
    then = s.then
    if isinstance(then, ir.Block) and len(then.stmts) == 1:
        then = then.stmts[0]
    if s.orelse is not None or not isinstance(then, ir.ExprStmt):
        return None
    assign = then.expr
    if not isinstance(assign, ir.Assign) or assign.op != "=" or not isinstance(assign.target, ir.Name):
        return None
    cond, target, value = s.cond, assign.target, assign.value
    if not isinstance(cond, ir.Binary) or cond.op not in ("<", "<=", ">", ">="):
        return None
    if any(isinstance(x, ir.Name) and x.var is target.var for x in value.walk()):
        return None
    greater = cond.op in (">", ">=")
    if _equal(cond.lhs, value) and _same(cond.rhs, target):
        return ("max" if greater else "min"), target, value
    if _same(cond.lhs, target) and _equal(cond.rhs, value):
        return ("min" if greater else "max"), target, value
    return None


def _equal(a: ir.Expr, b: ir.Expr) -> bool:
    return a.text.replace(" ", "") == b.text.replace(" ", "")


def access_location(e: ir.Expr) -> tuple[Key, tuple[ir.Expr, ...] | None] | None:
    """The memory object an lvalue names and its subscripts (None for a scalar)."""
    fields: list[str] = []
    subscripts: list[ir.Expr] = []
    saw_index = False
    while True:
        if isinstance(e, ir.Name):
            if e.var is None:
                return (Key(ir.Var(e.name, "global", "", e.line)), None) if e.value is None else None
            key = Key(e.var, tuple(reversed(fields)))
            if not saw_index and not fields:
                return key, None
            if not saw_index:
                return key, None
            return key, tuple(reversed(subscripts))
        if isinstance(e, ir.Index):
            subscripts.append(e.index)
            saw_index = True
            e = e.base
        elif isinstance(e, ir.Member) and e.base is not None:
            # `*` marks indexing through a pointer member: that memory is not
            # inside the struct, and two such members may point at one buffer
            hop = "*" if e.points and saw_index else ""
            if e.arrow:
                fields.append("->" + e.field + hop)
                subscripts.append(ir.Const(line=e.line, text="0", value=0))
                saw_index = True
            else:
                fields.append("." + e.field + hop)
            e = e.base
        elif isinstance(e, ir.Unary) and e.op == "*":
            base = _pointer_base(e.operand)
            if base is None:
                return None
            key, offset = base
            key = Key(key.var, tuple(reversed(fields)))
            return key, (*offset, *reversed(subscripts))
        else:
            return None


def _pointer_base(e: ir.Expr) -> tuple[Key, tuple[ir.Expr, ...]] | None:
    """`p`, `p + i`, `a[i] + j` style pointer values: the object and element."""
    if isinstance(e, ir.Name) and e.var is not None:
        return Key(e.var), (ir.Const(line=e.line, text="0", value=0),)
    if isinstance(e, ir.Binary) and e.op in ("+", "-"):
        for ptr, off in ((e.lhs, e.rhs), (e.rhs, e.lhs)):
            if isinstance(ptr, ir.Name) and ptr.var is not None and (ptr.var.is_pointer or ptr.var.is_array):
                index = off if e.op == "+" else ir.Unary(line=off.line, text=f"-({off.text})", op="-", operand=off)
                return Key(ptr.var), (index,)
    if isinstance(e, ir.Unary) and e.op == "&":
        loc = access_location(e.operand)
        if loc is not None and loc[1] is not None:
            return loc[0], loc[1]
    return None
