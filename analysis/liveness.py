"""Is a variable's value after a loop ever read? (decides lastprivate)

Conservative: "live" unless every path leaving the loop reaches a plain,
unconditional assignment of the variable before any read of it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from . import ir


@dataclass(frozen=True)
class Event:
    order: int
    kind: str  # read | write | update
    path: tuple[tuple[ir.Stmt, str], ...]  # (ancestor statement, role of the child in it)


class FunctionEvents:
    """Every read and write of every variable in a function, in text order."""

    def __init__(self, function: ir.Function):
        self.events: dict[ir.Var, list[Event]] = {}
        self.first_order: dict[ir.Stmt, int] = {}
        self.last_order: dict[ir.Stmt, int] = {}
        self.parent: dict[int, ir.Stmt | None] = {}
        self.order = 0
        if function.body is not None:
            self._stmt(function.body, ())

    def _emit(self, var: ir.Var, kind: str, path) -> None:
        self.order += 1
        self.events.setdefault(var, []).append(Event(self.order, kind, path))

    def _stmt(self, s: ir.Stmt, path) -> None:
        self.parent[id(s)] = path[-1][0] if path else None
        self.first_order[s] = self.order + 1
        here = path
        if isinstance(s, ir.Decl):
            if s.init is not None:
                self._expr(s.init, here)
            self._emit(s.var, "write", here)
        elif isinstance(s, (ir.ExprStmt, ir.Jump)):
            for e in s.expressions():
                self._expr(e, here)
        elif isinstance(s, ir.For):
            if s.init is not None:
                self._stmt(s.init, here + ((s, "init"),))
            if s.cond is not None:
                self._expr(s.cond, here + ((s, "head"),))
            self._stmt(s.body, here + ((s, "body"),))
            if s.inc is not None:
                self._expr(s.inc, here + ((s, "inc"),))
        elif isinstance(s, ir.Block):
            for sub in s.stmts:
                self._stmt(sub, here + ((s, "seq"),))
        else:
            role = "branch"
            for e in s.expressions():
                self._expr(e, here + ((s, "head"),))
            for sub in s.substatements():
                self._stmt(sub, here + ((s, role),))
        self.last_order[s] = self.order

    def _expr(self, e: ir.Expr, path) -> None:
        if isinstance(e, ir.Assign) and isinstance(e.target, ir.Name) and e.target.var is not None:
            self._expr(e.value, path)
            self._emit(e.target.var, "write" if e.op == "=" else "update", path)
            return
        if isinstance(e, ir.Unary) and e.op in ("++", "--", "post++", "post--", "&"):
            if isinstance(e.operand, ir.Name) and e.operand.var is not None:
                self._emit(e.operand.var, "update", path)
                return
        if isinstance(e, ir.Name) and e.var is not None:
            self._emit(e.var, "read", path)
            return
        for child in e.children():
            self._expr(child, path)

    def live_after(self, var: ir.Var, loop: ir.Stmt, enclosing: list[ir.LoopStmt]) -> bool:
        if var.kind in ("global", "static") or var.is_reference:
            return True
        events = self.events.get(var, [])
        orders = [e.order for e in events]
        return not self._dead_following(events, orders, loop, list(enclosing))

    def _dead_following(self, events, orders, stmt: ir.Stmt, enclosing: list[ir.LoopStmt]) -> bool:
        outer = enclosing[-1] if enclosing else None
        end = self.last_order.get(stmt, 0)
        scope_end = self.last_order.get(outer, float("inf")) if outer is not None else float("inf")
        following = bisect_right(orders, end)  # events after stmt are not inside it
        if following < len(events) and events[following].order <= scope_end:
            return self._kills(events[following], stmt)
        if outer is None:
            return True
        first = bisect_left(orders, self.first_order.get(outer, 0))
        if first < len(events) and events[first].order < self.first_order.get(stmt, 0):
            if not self._kills(events[first], outer):
                return False
        return self._dead_following(events, orders, outer, enclosing[:-1])

    def _kills(self, event: Event, relative_to: ir.Stmt) -> bool:
        """A plain write that runs whenever control passes `relative_to`'s level."""
        if event.kind != "write":
            return False
        roles = [role for _, role in event.path]
        ancestors = [a for a, _ in event.path]
        # Only the part of the path below the lowest block that also holds
        # relative_to matters: every step there must be unconditional.
        holders = self._ancestors(relative_to)
        start = 0
        for i, a in enumerate(ancestors):
            if isinstance(a, ir.Block) and id(a) in holders:
                start = i
        return all(role in ("seq", "init", "head") for role in roles[start:])

    def _ancestors(self, stmt: ir.Stmt) -> set[int]:
        out: set[int] = set()
        parent = self.parent.get(id(stmt))
        while parent is not None:
            out.add(id(parent))
            parent = self.parent.get(id(parent))
        return out
