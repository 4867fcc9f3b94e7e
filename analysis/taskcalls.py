"""Calls in the task-race walk (taskraces.py): inlined, replayed, or read from their effects.

A call of a function of the file is walked in place (depth limited), its
parameters new private copies and its reference parameters bound to the
caller's objects. An activation of a recursive function with known integer
arguments (with the same guards, known shared values and kind of task region:
`summary_key`) is walked once; when every task it created was waited for
before it returned, its accesses (`Summary`) are replayed at the other calls
with the same key, so a recursive task tree costs its height, not its size.
A call into another file is read from its calleffects summary when that is
complete; any other unknown call might wait for the tasks, so they are
forgotten.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from . import ir
from .constructs import SYNC_CALLS
from .effects import classify_call
from .taskstate import Access, Frame, Pointer, Region, State, Storage, join
from .taskvalues import Num

#: the call and task depth walked (8 elsewhere, taskstate.py) for a recursive function whose activations are
#: summarised (`Summary`): each (function, argument values) is walked once, so the depth costs no more than the tree's height
_MAX_RECURSION = 48


class CallWalk:
    """The call part of the walk (taskraces._Walk mixes it in): it uses the
    walk's `functions`, `program`, `recursive`, `summaries`, `active`,
    `incomplete`, `cut`, `conditions` and `ids`."""

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
            state.become(join(callee.returns, before))
        finally:
            self.active.discard(key)
        made = region.own[start:]
        finished = all(not p.own and not p.descendants for p in state.pending)  # waited for, with their descendants
        if key is not None and cut != self.cut:  # walking it again as deep or deeper is cut again
            self.incomplete[key] = min(self.incomplete.get(key, 10**9), frame.depth + 1)
        if key is not None and finished and cut == self.cut and all(n is not None and n.known for a in made for n in a.index):
            self.summaries[key] = Summary(tuple(made), outer)
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
class Summary:
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


def recursive_functions(functions: dict[str, ir.Function]) -> set[ir.Function]:
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
