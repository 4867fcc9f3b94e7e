"""What orders tasks in the task-race walk (taskraces.py): taskwait, taskgroup, barriers, `depend`.

A `taskwait` finishes the child tasks of the generating task (each pending
task gets a new version without its own accesses; its descendants' stay), the
end of a `taskgroup` every task created in it with their descendants (and the
siblings they were ordered after), a barrier every task. `depend` clauses
order a task after the pending siblings whose dependences share an object
(two `in`, or two `inoutset`, do not; array sections shown apart do not; an
object not known orders everything). Standalone directives have no statement
in the syntax tree: `standalone_by_block` places each in the block it stands
in, by brace depth, for this walk and for regionbranches.py.
"""

from __future__ import annotations

from dataclasses import replace

from . import ir
from .constructs import Construct, FileConstructs
from .taskexprs import var_named
from .taskstate import Frame, Pointer, Region, State, Storage
from .taskvalues import Num, Section, add_constant, parse_section, sections_disjoint

_IN_DEPENDENCES = ("in", "inoutset")  # two `in` (or two `inoutset`) dependences do not order tasks


class TaskOrdering:
    """The ordering part of the walk (taskraces._Walk mixes it in): it uses the
    walk's `ids` and `resolve`."""

    def open_group(self, region: Region) -> int:
        group = next(self.ids)
        region.groups.append(group)
        return group

    def close_group(self, group: int, region: Region, state: State) -> None:
        """The end of a taskgroup: every task created in it, and their descendants, has finished."""
        region.groups.pop()
        done = [p for p in state.pending if group in p.groups]
        finished = set().union(*(p.after for p in done))  # what they waited for has finished too
        state.pending = [replace(p, own=()) if p.origin in finished else p
                         for p in state.pending if group not in p.groups]

    def standalone_directive(self, c: Construct, region: Region, state: State) -> None:
        head = c.kind.split()[0] if c.kind else ""
        if head == "taskwait":
            state.pending = [replace(p, own=(), waited_line=p.waited_line or c.line) for p in state.pending]
        elif head == "barrier":
            state.pending.clear()
        elif head not in ("flush", "taskyield", "threadprivate", "declare", "requires"):
            state.pending.clear()

    def dependences(self, c: Construct, frame: Frame, state: State):
        out = []
        for clause in c.directive.clauses:
            if clause.name != "depend":
                continue
            text = clause.arguments or ""
            kind, _, items = text.partition(":")
            kind = kind.strip()
            if "(" in kind or not items:
                out.append(("unknown", None, None))
                continue
            for item in items.split(","):
                out.append((kind, *self.dependence_object(item.strip(), frame, state, c.line)))
        return tuple(out)

    def dependence_object(self, item: str, frame, state, line) -> tuple[Storage | None, Section | None]:
        """The object a depend item names, and the array section of it (None: the whole object)."""
        name, _, subscript = item.partition("[")
        var = var_named(frame.function, name.strip(), line, self)
        if var is None or not name.strip().isidentifier():
            return None, None
        storage = self.resolve(frame, var)
        if not subscript:
            return storage, None
        section = parse_section(subscript[:-1] if subscript.endswith("]") else "[", self.section_value(frame, state, line))
        if var.is_array or var.is_container:
            return storage, section
        pointer = state.values.get(storage) if storage is not None else None
        if not isinstance(pointer, Pointer):
            return None, None
        offset = pointer.offset
        if section is not None and isinstance(offset, Num) and offset.known:
            section = Section(add_constant(section.lo, offset.lo), section.length)
        elif section is not None:
            section = None
        return pointer.storage, section

    def section_value(self, frame: Frame, state: State, line: int):
        """A name in a depend section: a variable's known value (None when not known), or
        "symbol" for a name that is no variable (a macro or enumerator: one value everywhere)."""
        def value_of(name: str):
            var = var_named(frame.function, name, line, self)
            if var is None:
                return "symbol"
            value = state.values.get(self.resolve(frame, var))
            return value.lo if isinstance(value, Num) and value.known else None
        return value_of


def depend_orders(first, second) -> bool:
    """`depend` clauses order the second task after the first (unknown objects order
    everything; array sections of one object shown apart order nothing)."""
    for kind_a, a, section_a in first:
        for kind_b, b, section_b in second:
            if a is None or b is None:
                return True
            if a is b and not (kind_a == kind_b and kind_a in _IN_DEPENDENCES) \
                    and not sections_disjoint(section_a, section_b):
                return True
    return False


def _brace_depths(lines: tuple[str, ...]) -> list[tuple[int, int]]:
    """(depth at the start, lowest depth reached) of each line, comments and literals left out."""
    out = []
    depth, in_comment = 0, False
    for text in lines:
        start, low = depth, depth
        i = 0
        if text.lstrip().startswith("#") and not in_comment:
            out.append((start, low))
            continue
        while i < len(text):
            two = text[i:i + 2]
            if in_comment:
                if two == "*/":
                    in_comment, i = False, i + 2
                    continue
            elif two == "//":
                break
            elif two == "/*":
                in_comment, i = True, i + 2
                continue
            elif text[i] in "\"'":
                quote, i = text[i], i + 1
                while i < len(text) and text[i] != quote:
                    i += 2 if text[i] == "\\" else 1
            elif text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                low = min(low, depth)
            i += 1
        out.append((start, low))
    return out


def standalone_by_block(functions, fc: FileConstructs) -> dict[int, list[Construct]]:
    """The block each standalone directive (taskwait, barrier, ...) stands in, by brace depth."""
    if not fc.lines:
        return {}
    depths = _brace_depths(fc.lines)
    out: dict[int, list[Construct]] = {}

    def at(line: int) -> tuple[int, int]:
        return depths[line - 1] if 1 <= line <= len(depths) else (0, 0)

    bodies = [f for f in functions.values() if f.body is not None]
    for c in fc.constructs:
        if not c.standalone:
            continue
        # a directive below a function's last code line (a closing taskwait) is in no function's span
        candidates = [c.function] if c.function is not None else [f for f in bodies if f.body.line < c.line]
        best = None
        for function in candidates:
            for block in function.body.walk():
                if not isinstance(block, ir.Block) or block.line >= c.line:
                    continue
                inside = at(block.line + 1)[0]
                if at(c.line)[0] != inside:
                    continue
                if all(at(n)[1] >= inside for n in range(block.line + 1, c.line)):
                    if best is None or block.line > best.line:
                        best = block
        if best is not None:
            out.setdefault(id(best), []).append(c)
    for found in out.values():
        found.sort(key=lambda c: c.line)
    return out
