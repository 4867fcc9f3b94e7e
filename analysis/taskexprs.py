"""Expressions in the task-race walk (taskraces.py): what names denote, values, reads and writes.

`resolve` maps a variable of a frame to its Storage (through the data-sharing
of the tasks around it, the frame's `outer`), `location` an lvalue to its
storage and subscripts, and `eval` an expression to its value (a
taskvalues.Num, a Pointer, or None when not known), recording each read and
write on the way (taskconflicts.py compares them); `store` records a write
and keeps the value written. `var_named` finds the variable a name in a
clause means. A value and the accesses made computing it come from one pass
over the expression, so they live together.
"""

from __future__ import annotations

from . import ir
from .taskstate import Frame, Pointer, Region, State, Storage
from .taskvalues import Num, add, arith, mul


class ExpressionWalk:
    """The expression part of the walk (taskraces._Walk mixes it in): it uses the
    walk's `fc`, `globals`, `addressed`, `conditions`, `loops` and `ids`, and
    `access` and `call` of the other parts."""

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


def var_named(function: ir.Function, name: str, line: int, walk: ExpressionWalk) -> ir.Var | None:
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
