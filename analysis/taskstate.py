"""What the task-race walk (taskraces.py) keeps: objects, accesses, tasks, state.

A `Storage` is one copy of a variable (its identity is the object: a task's
firstprivate copy is a new Storage), a `Pointer` an element offset into one.
Each walked creation of a task construct is a `TaskRun`; each read or write
the walk records is an `Access`, with the guards and the condition arms it
is under. A task created and not known to be finished is `Pending`; `State`
is what the walk knows at one point (values, tasks pending), and `join`
merges the states of paths that meet. `Frame` is one activation of a
function and `Region` one task region (the code of a parallel region, or an
explicit task) being walked. They stand apart from the walk so that each of
its modules (statements, expressions, ordering, calls, conflicts) reads the
same small types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import ir
from .constructs import Construct
from .taskvalues import Num, Section, same_element

_MAX_DEPTH = 8  # inlined calls and nested tasks


class GiveUp(Exception):
    """The region is beyond what the walk models: nothing is reported for it."""


# --------------------------------------------------------- objects and accesses


@dataclass(eq=False)
class Storage:
    """One object in memory: a variable's own copy (identity is the object)."""

    var: ir.Var
    team_shared: bool  # every thread of the team sees this copy (a global, or a local outside the region)


@dataclass(frozen=True)
class Pointer:
    storage: Storage
    offset: Num | None  # in elements of the first dimension


@dataclass(frozen=True, eq=False)
class TaskRun:
    """One walked creation of a task construct."""

    construct: Construct
    parent: TaskRun | None  # the task that created it; None: the code of the region
    loop_line: int  # the innermost loop around its creation in its generating task (0: none)

    @property
    def line(self) -> int:
        return self.construct.line


@dataclass(frozen=True, eq=False)
class Access:
    storage: Storage
    index: tuple[Num | None, ...]  # () for the object itself
    kind: str  # read | write | update
    line: int
    text: str
    guards: frozenset[str]
    task: TaskRun | None  # the task that makes it; None: the code of the region
    conditions: frozenset[int] = frozenset()  # the arms of conditions it is under (one id per arm walked)

    def conflicts(self, other: Access) -> bool:
        """One element of one object, a write among them, nothing protecting both, and
        one path through both: the conditions of one include those of the other."""
        if self.storage is not other.storage or self.kind == other.kind == "read":
            return False
        if not (self.conditions <= other.conditions or other.conditions <= self.conditions):
            return False
        return not (self.guards & other.guards) and same_element(self.index, other.index)


@dataclass(frozen=True, eq=False)
class Pending:
    """A task created and not known to be finished; a taskwait makes a new
    version of the same `origin` without its own accesses."""

    task: TaskRun
    own: tuple[Access, ...]
    descendants: tuple[Access, ...]  # of the tasks it created and does not wait for
    groups: tuple[int, ...]  # the taskgroups open at its creation
    #: (in|out|..., the object (None: not known), its array section (None: the whole object))
    dependences: tuple[tuple[str, Storage | None, Section | None], ...]
    origin: int
    after: frozenset[int] = frozenset()  # origins of the siblings `depend` orders it after (transitively)
    _by_storage: dict | None = field(default=None, init=False, repr=False, compare=False)

    def accesses_of(self, storage: Storage) -> list[Access]:
        """Its accesses (own and descendants') to one storage: the only ones an access of it can meet."""
        if self._by_storage is None:
            index: dict[int, list[Access]] = {}
            for x in self.own + self.descendants:
                index.setdefault(id(x.storage), []).append(x)
            object.__setattr__(self, "_by_storage", index)
        return self._by_storage.get(id(storage), [])
    waited_line: int = 0  # the taskwait that waited for it (not for its descendants)


@dataclass
class State:
    values: dict  # Storage -> Num | Pointer | None
    pending: list[Pending]

    def copy(self) -> State:
        return State(dict(self.values), list(self.pending))

    def become(self, other: State) -> None:
        self.values, self.pending = other.values, other.pending


_ABSENT = object()


def _same_value(a, b) -> bool:
    """Equal values; most are the same object, copied from the state before the branch."""
    return a is b or (a is not _ABSENT and a == b)


def join(states: list[State], before: set[int]) -> State:
    """After paths meet: values they agree on; a task pending on every path,
    or created on one of them (the weakest version: a taskwait on one path counts)."""
    first, others = states[0], [s.values for s in states[1:]]
    values = {k: v for k, v in first.values.items()
              if all(_same_value(other.get(k, _ABSENT), v) for other in others)}
    versions: dict[int, list[Pending]] = {}
    for s in states:
        for p in s.pending:
            versions.setdefault(p.origin, []).append(p)
    pending = []
    for origin, found in versions.items():
        if origin in before and len(found) < len(states):
            continue
        pending.append(min(found, key=lambda p: len(p.own)))
    return State(values, pending)


# ----------------------------------------------------------------- the walk


@dataclass(eq=False)
class Frame:
    """One activation of a function in the walk: what its variables denote."""

    function: ir.Function
    names: dict  # ir.Var -> Storage | None (None: not modelled)
    outer: Callable[[ir.Var], Storage | None] | None  # variables not declared in the walk
    guards: frozenset[str] = frozenset()  # held at the call that entered it
    floor: int = 0  # constructs at or above this line enclose the task, not its accesses
    depth: int = 0
    limit: int = _MAX_DEPTH  # deepest call or task nesting walked from here
    claims_globals: bool = False  # `outer` decides for globals too (a task with default(private|firstprivate|none))
    returns: list[State] = field(default_factory=list)


@dataclass(eq=False)
class Region:
    """One task region walked: an implicit task (the code of a parallel region) or an explicit task."""

    task: TaskRun | None
    replicated: bool  # every thread of the team runs this code
    team_line: int
    final: bool = False
    own: list[Access] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
