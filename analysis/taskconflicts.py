"""Comparing the accesses of concurrent tasks in the task-race walk (taskraces.py).

Each access the walk records is compared with those of every task still
pending (it may run at the same time); when a task is created, its accesses
are compared with those of its pending siblings that `depend` does not order,
and with its copy that another thread creates. A pair races when
`Access.conflicts` shows it: one object, the same element, a write among
them, one path through both, and nothing protecting both (`guards`: critical
names, atomic, locks held). A race is reported once per (name, first line,
second line), saying in words how the two accesses meet. Comparisons count
against the region's budget: a region too large gives up (`GiveUp`) and
reports nothing.
"""

from __future__ import annotations

from dataclasses import replace

from . import ir, loopfacts
from .taskstate import Access, Frame, GiveUp, Pending, Region, State


class ConflictReports:
    """The comparing part of the walk (taskraces._Walk mixes it in): it uses the
    walk's `fc`, `conditions`, `budget` and `races`."""

    def access(self, storage, index, kind, e: ir.Expr, frame: Frame, region: Region | None, state: State) -> None:
        if storage is None or region is None:
            return
        level = max((level for level, _ in self.conditions), default=0)
        index = tuple(replace(n, every=False) if n is not None and n.counter is not None and n.counter.level <= level
                      else n for n in index)
        a = Access(storage, index, kind, e.line, e.text, self.guards(frame, e.line, storage.var.name), region.task,
                   frozenset(arm for _, arm in self.conditions))
        region.own.append(a)
        for p in state.pending:
            touching = p.accesses_of(storage)
            if touching:
                self.pairs(touching, (a,), lambda x, y: _after(x, y, p))

    def guards(self, frame: Frame, line: int, var: str) -> frozenset[str]:
        labels = set(frame.guards)
        for c in self.fc.around(frame.function, line):
            if c.line <= frame.floor:
                continue
            words = c.kind.split()
            if "critical" in words:
                labels.add(f"critical:{c.critical_name}")
            elif "atomic" in words and var in c.atomic_targets:
                labels.add("atomic")
        labels.update(f"lock:{span.lock}" for span in self.fc.locks
                      if span.function is frame.function and span.covers(line) and span.first_line > frame.floor)
        return frozenset(labels)

    def pairs(self, earlier, later, meet) -> None:
        """Report every conflicting pair. Only accesses to one storage can
        conflict, so `later` is grouped by storage first; each comparison made
        counts against the region's budget (a large region gives up, claiming nothing)."""
        by_storage: dict[int, list[Access]] = {}
        for b in later:
            by_storage.setdefault(id(b.storage), []).append(b)
        for a in earlier:
            same = by_storage.get(id(a.storage), ())
            self.budget -= len(same) // 8
            if self.budget < 0:
                raise GiveUp
            for b in same:
                if a.conflicts(b):
                    self.report(a, b, meet(a, b))

    def report(self, a: Access, b: Access, meet: str) -> None:
        key = (a.storage.var.name, a.line, b.line)
        if key in self.races:
            return
        region_line = a.task.line if a.task is not None else b.task.line
        self.races[key] = loopfacts.RegionRace(
            region_line=region_line, name=a.storage.var.name,
            first_access=f"{a.kind} of {a.text}", first_line=a.line,
            second_access=f"{b.kind} of {b.text}", second_line=b.line, meet=meet)


def _after(a: Access, b: Access, p: Pending) -> str:
    """How a pending task's access `a` meets `b`, code of the task that created it."""
    if a.task is p.task:
        return (f"nothing waits for the task at line {a.task.line} before line {b.line} runs "
                "(no taskwait, end of taskgroup or barrier between them)")
    if p.waited_line:
        return (f"the taskwait at line {p.waited_line} waits for the task at line {p.task.line} but not for the task "
                f"at line {a.task.line} it created (a taskwait waits for child tasks only; a taskgroup waits for all)")
    return (f"the task at line {a.task.line} is created by the task at line {p.task.line} and nothing waits for "
            f"either before line {b.line} runs")


def siblings(a: Access, b: Access, p: Pending) -> str:
    if a.task is not None and b.task is not None and {a.task.construct.kind, b.task.construct.kind} <= {"section", "sections"}:
        return (f"the sections at lines {a.task.line} and {b.task.line} may run at the same time on two threads "
                "of the team")
    if a.task is not None and b.task is not None and a.task.construct is b.task.construct \
            and a.task.construct.kind.split()[0] == "taskloop":
        return (f"the taskloop at line {a.task.line} makes two tasks or more from the iterations of the loop at "
                f"line {a.task.loop_line}, and they may run at the same time")
    if a.task is not None and b.task is not None and a.task.construct is b.task.construct and a.task.loop_line:
        return (f"the task at line {a.task.line} is created in every iteration of the loop at line "
                f"{a.task.loop_line}, and two of these tasks may run at the same time")
    return (f"the tasks at lines {a.task.line} and {b.task.line} may run at the same time: nothing waits for the "
            "first before the second is created, and no depend clause orders them")
