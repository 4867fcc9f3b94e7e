"""OpenMP directives: the one place their text is parsed and written.

`Directive.parse` reads `#pragma omp ...` (continuation lines included) and
`_Pragma("omp ...")` into the directive's name words ("parallel for") and its
clauses in order, each with its arguments as written. `render()` gives the
canonical text; `text` gives the source text back as written, with the edits
made through `with_clause` / `without_clause` and nothing else changed
(spacing, comments, continuations and the line ending stay).

The rest of this module is about existing `#pragma omp` lines in a file:
which loop each one governs, and the names its clauses list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .loopfacts import ExistingPragma

#: Words that make up directive names, as opposed to clauses. A word followed
#: by "(" is a clause even when it is listed here: `declare reduction(...)`.
DIRECTIVE_WORDS = frozenset({
    "parallel", "for", "do", "simd", "target", "teams", "distribute", "loop", "taskloop", "masked", "master",
    "single", "sections", "section", "critical", "atomic", "task", "taskgroup", "taskwait", "taskyield",
    "data", "enter", "exit", "update", "declare", "end", "begin", "tile", "unroll", "interchange", "reverse",
    "ordered", "barrier", "flush", "scope", "scan", "depobj", "requires", "threadprivate", "metadirective",
    "cancel", "cancellation", "point", "workshare", "error", "nothing", "assume", "assumes", "dispatch",
    "interop",
})  # fmt: skip
_LOOP_WORDS = ("for", "simd", "distribute", "loop", "taskloop")
_NOT_A_CONSTRUCT = ("cancel", "cancellation")  # `cancel for` names a construct, it is not one
#: Clauses whose list follows a modifier and a colon (`reduction(+: s)`, `map(to: a[0:n])`);
#: `linear(i: 2)` and `aligned(p: 64)` put the list first.
_LIST_AFTER_COLON = frozenset({
    "reduction", "in_reduction", "task_reduction", "map", "depend", "lastprivate", "allocate", "to", "from",
    "affinity",
})  # fmt: skip

_PREFIX_PATTERN = r"[ \t]*#[ \t]*pragma[ \t]+omp\b"
#: Lines that start an OpenMP pragma, for finding them in a file's bytes.
PRAGMA_LINE = re.compile(("^" + _PREFIX_PATTERN).encode(), re.M)
#: Lines that start with `_Pragma("omp ...")`.
PRAGMA_OPERATOR_LINE = re.compile(rb'^[ \t]*_Pragma\s*\(\s*"omp\b', re.M)
_PREFIX = re.compile(r"(?:\s|\\\r?\n)*#(?:[ \t]|\\\r?\n)*pragma(?:[ \t]|\\\r?\n)+omp\b")
_OPERATOR = re.compile(r'\s*_Pragma\s*\(\s*"(?=omp\b)')
_BARE = re.compile(r"\s*(?=omp\b)")  # the string of a _Pragma: "omp parallel for"
_LINE = re.compile(r"^(" + _PREFIX_PATTERN + r"[^\n]*)$", re.M)
_WORD = re.compile(r"[A-Za-z_]\w*")
_BLANK = re.compile(r"(?:[ \t\f\v]|\\\r?\n)*")
_GAP = re.compile(r"(?:[ \t\f\v,]|\\\r?\n)*")
_CLOSING = {"(": ")", "[": "]", "{": "}"}


class NotADirective(ValueError):
    """The text does not start with `#pragma omp` or `_Pragma("omp`."""


@dataclass(frozen=True)
class Clause:
    """One clause: `name(arguments)`, or `name` alone (arguments None)."""

    name: str
    arguments: str | None = None  # inside the parentheses, as written
    written: str = field(default="", compare=False)  # as in the source; "" for a clause made here
    gap: str = field(default=" ", compare=False)  # what stands before it in the source: " ", ", ", " \\\n  "

    @classmethod
    def parse(cls, text: str) -> Clause:
        """`Clause.parse("schedule(static, 1)")`; ValueError unless `text` is exactly one clause."""
        directive = Directive.parse("omp " + text.strip())
        if directive.names or len(directive.clauses) != 1 or directive.problem:
            raise ValueError(f"not one OpenMP clause: {text!r}")
        return replace(directive.clauses[0], written="", gap=" ")

    def render(self) -> str:
        """Canonical text: the arguments with their blanks and continuations collapsed."""
        if self.arguments is None:
            return self.name
        return f"{self.name}({_flat(self.arguments)})"

    @property
    def source(self) -> str:
        return self.written or self.render()

    def items(self) -> tuple[str, ...]:
        """The arguments split at top-level commas: `schedule(static, 4)` -> ("static", "4")."""
        return tuple(part.strip() for part in _split_top(_flat(self.arguments or ""), ",") if part.strip())

    @property
    def modifier(self) -> str | None:
        """What stands before the top-level colon: "+" in `reduction(+: s)`, "tofrom" in `map(tofrom: x)`,
        "2" in `linear(i: 2)`; None without a colon."""
        parts = _split_top(_flat(self.arguments or ""), ":")
        if len(parts) < 2:
            return None
        return (parts[1] if self.name not in _LIST_AFTER_COLON else parts[0]).strip()

    def names(self) -> tuple[str, ...]:
        """The variables the clause lists, array sections and subscripts dropped:
        `reduction(+: a[0:n], s)` -> ("a", "s"), `linear(i: 2)` -> ("i",)."""
        parts = _split_top(_flat(self.arguments or ""), ":")
        if len(parts) >= 2:
            listed = ":".join(parts[1:]) if self.name in _LIST_AFTER_COLON else parts[0]
        else:
            listed = parts[0]
        return tuple(_split_top(item, "[")[0].strip() for item in _split_top(listed, ",") if item.strip())


@dataclass(frozen=True)
class Directive:
    """One OpenMP directive: its name words, its clauses in order.

    Parsing never fails on what follows `#pragma omp`: what cannot be read as
    clauses is kept in `rest` and `problem` says why (the model-answer check
    refuses such a directive; the analysis reads what it can)."""

    names: tuple[str, ...]
    clauses: tuple[Clause, ...] = ()
    spelling: str = "#pragma"  # "#pragma", "_Pragma" (`_Pragma("omp ...")`) or "omp" (the string of a _Pragma)
    rest: str = ""  # text after the clauses that is not a clause, a comment or a line end
    problem: str | None = None  # why `rest` could not be read
    lead: str = field(default="", compare=False)  # the source up to the end of the names
    tail: str = field(default="", compare=False)  # the source after the clauses: comment, `")`, line end

    @classmethod
    def parse(cls, text: str) -> Directive:
        """The directive `text` starts with (one logical line: `\\` continuations
        are read on); NotADirective when it does not start with one."""
        for spelling, pattern in (("#pragma", _PREFIX), ("_Pragma", _OPERATOR), ("omp", _BARE)):
            prefix = pattern.match(text)
            if prefix is not None:
                break
        else:
            raise NotADirective(f"not an OpenMP directive: {text[:60]!r}")
        position = prefix.end() + (0 if spelling == "#pragma" else 3)  # past "omp"
        end = _string_end(text, position) if spelling == "_Pragma" else _logical_line_end(text, position)
        names: list[str] = []
        while True:
            word = _WORD.match(text, _BLANK.match(text, position, end).end(), end)
            if word is None or word.group() not in DIRECTIVE_WORDS:
                break
            after = _BLANK.match(text, word.end(), end).end()
            if after < end and text[after] == "(":  # a clause: `declare reduction(...)`
                break
            names.append(word.group())
            position = word.end()
        lead = text[:position]
        clauses, position, problem = _read_clauses(text, position, end)
        rest = text[position:end] if problem else ""
        tail = text[end:] if problem else text[position:]
        return cls(tuple(names), tuple(clauses), spelling, rest, problem, lead, tail)

    @classmethod
    def parse_or_none(cls, text: str) -> Directive | None:
        try:
            return cls.parse(text)
        except NotADirective:
            return None

    @property
    def name(self) -> str:
        """The name words: "parallel for"."""
        return " ".join(self.names)

    def render(self) -> str:
        """Canonical `#pragma omp` text: one space between words and clauses, no
        commas between clauses, no comment (what could not be read is kept)."""
        words = ["#pragma omp", *self.names, *(c.render() for c in self.clauses)]
        if self.rest.strip():
            words.append(" ".join(self.rest.split()))
        return " ".join(words)

    @property
    def text(self) -> str:
        """The source text as written, with this directive's clause edits made."""
        if not self.lead:
            return self.render()
        return self.lead + "".join(c.gap + c.source for c in self.clauses) + self.rest + self.tail

    def clause(self, name: str) -> Clause | None:
        """The first clause of that name."""
        return next((c for c in self.clauses if c.name == name), None)

    def position(self, name: str) -> int | None:
        """Index of the first clause of that name."""
        return next((i for i, c in enumerate(self.clauses) if c.name == name), None)

    def names_in(self, clause: str) -> tuple[str, ...]:
        """Every variable the clauses of that name list (`private(a, b) private(c)` -> a, b, c)."""
        return tuple(n for c in self.clauses if c.name == clause for n in c.names())

    def with_clause(self, clause: Clause | str, *, at: int | None = None) -> Directive:
        """The directive with `clause` in place of the first clause of its name
        (later ones of that name dropped), or inserted at index `at` of the
        clauses (default: last) when it has none."""
        new = Clause.parse(clause) if isinstance(clause, str) else clause
        kept: list[Clause] = []
        replaced = False
        for old in self.clauses:
            if old.name != new.name:
                kept.append(old)
            elif not replaced:
                kept.append(replace(new, written="", gap=old.gap))
                replaced = True
        if not replaced:
            kept.insert(len(kept) if at is None else at, replace(new, written="", gap=" "))
        return replace(self, clauses=tuple(kept))

    def without_clause(self, name: str) -> Directive:
        """The directive without any clause of that name."""
        kept = [c for c in self.clauses if c.name != name]
        if kept and self.clauses and self.clauses[0].name == name:  # no comma right after the names
            kept[0] = replace(kept[0], gap=kept[0].gap.replace(",", "", 1) or " ")
        return replace(self, clauses=tuple(kept))

    @property
    def is_loop(self) -> bool:
        """A directive that applies to the loop below it (for, simd, distribute, loop, taskloop)."""
        return bool(self.names) and self.names[0] not in _NOT_A_CONSTRUCT and any(
            word in self.names for word in _LOOP_WORDS)

    @property
    def shares_for_loop(self) -> bool:
        """A directive with a `for` worksharing part (for, parallel for, ... parallel for simd)."""
        return bool(self.names) and self.names[0] not in _NOT_A_CONSTRUCT and "for" in self.names


def _logical_line_end(text: str, start: int) -> int:
    """End of the line at `start`, past `\\` continuations (the newline not included)."""
    while True:
        newline = text.find("\n", start)
        if newline < 0:
            return len(text)
        line_end = newline - 1 if newline > 0 and text[newline - 1] == "\r" else newline
        if line_end > 0 and text[line_end - 1] == "\\":
            start = newline + 1
            continue
        return line_end


def _string_end(text: str, start: int) -> int:
    """Index of the `"` that closes the string literal running at `start`."""
    position = start
    while position < len(text) and text[position] not in '"\n':
        position += 2 if text[position] == "\\" else 1
    return min(position, len(text))


def _read_clauses(text: str, position: int, end: int) -> tuple[list[Clause], int, str | None]:
    """The clauses in text[position:end], where they stop, and what stopped
    them if it is not the end, a comment or trailing blanks."""
    clauses: list[Clause] = []
    while True:
        gap_end = _GAP.match(text, position, end).end()
        if gap_end >= end or text.startswith(("//", "/*"), gap_end):
            return clauses, position, None
        word = _WORD.match(text, gap_end, end)
        if word is None:
            return clauses, position, f"cannot read the clauses from '{text[gap_end:end][:30]}'"
        after = _BLANK.match(text, word.end(), end).end()
        if after < end and text[after] == "(":
            close = _matching(text, after, end)
            if close is None:
                return clauses, position, "unbalanced parentheses"
            clause = Clause(word.group(), text[after + 1 : close], text[gap_end : close + 1], text[position:gap_end])
            position = close + 1
        else:
            clause = Clause(word.group(), None, word.group(), text[position:gap_end])
            position = word.end()
        clauses.append(clause)


def _matching(text: str, start: int, end: int) -> int | None:
    """Index of the `)` that closes the `(` at text[start]."""
    depth = 0
    for position in range(start, end):
        if text[position] == "(":
            depth += 1
        elif text[position] == ")":
            depth -= 1
            if depth == 0:
                return position
    return None


def _flat(text: str) -> str:
    """`text` on one line: continuations and runs of blanks made one space."""
    return " ".join(text.replace("\\\r\n", " ").replace("\\\n", " ").split())


def _split_top(text: str, separator: str) -> list[str]:
    """`text` split at each `separator` outside (), [] and {}; a `:` of `::` does not split."""
    parts: list[str] = []
    closing: list[str] = []
    start = 0
    position = 0
    while position < len(text):
        char = text[position]
        if char == separator and not closing:
            if separator == ":" and text.startswith("::", position):
                position += 2
                continue
            parts.append(text[start:position])
            start = position + 1
        elif char in _CLOSING:
            closing.append(_CLOSING[char])
        elif closing and char == closing[-1]:
            closing.pop()
        position += 1
    parts.append(text[start:])
    return parts


def logical_lines(text: str) -> list[str]:
    """`text` split into lines, each with its ending; a line ending in `\\`
    goes on with the next (as the preprocessor reads it)."""
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        if lines and lines[-1].rstrip("\r\n").endswith("\\") and lines[-1].endswith("\n"):
            lines[-1] += line
        else:
            lines.append(line)
    return lines


def directives_in(text: str) -> list[Directive]:
    """Every `#pragma omp` directive that starts a line of `text`."""
    return [d for d in map(Directive.parse_or_none, logical_lines(text)) if d is not None and d.spelling == "#pragma"]


def first_pragma_line(text: str) -> str | None:
    """The first line of `text` that is a `#pragma omp` directive, stripped."""
    found = _LINE.search(text)
    return found.group(1).strip() if found else None


# --------------------------------------------------------------------------- existing pragmas


def parse_pragma(text: str, line: int) -> ExistingPragma:
    """The analysis's record of an existing pragma (`text` as found in the file)."""
    directive = Directive.parse(text.strip())
    clauses: dict[str, tuple[str, ...]] = {}
    for clause in directive.clauses:
        clauses[clause.name] = clauses.get(clause.name, ()) + clause.items()
    return ExistingPragma(text=text.strip(), line=line, directive=directive.name, clauses=clauses)


def is_loop_directive(pragma: ExistingPragma) -> bool:
    return Directive.parse(pragma.text).is_loop


def pragma_above(lines: list[str], loop_line: int, pragmas: dict[int, str]) -> tuple[int, str] | None:
    """The `#pragma omp` directly above a loop (only blank lines, comments or
    other pragmas, such as `tile`, in between)."""
    line = loop_line - 1
    while line >= 1:
        text = lines[line - 1].strip()
        start = _continuation_start(lines, line)
        if start in pragmas and Directive.parse(pragmas[start]).is_loop:
            return start, pragmas[start]
        if text == "" or text.startswith("//") or text.startswith("/*") or text.endswith("*/"):
            line -= 1
            continue
        if start in pragmas:
            line = start - 1
            continue
        return None
    return None


def _continuation_start(lines: list[str], line: int) -> int:
    while line > 1 and lines[line - 2].rstrip().endswith("\\"):
        line -= 1
    return line


def private_names(pragma: ExistingPragma) -> frozenset[str]:
    directive = Directive.parse(pragma.text)
    return frozenset(name for clause in ("private", "firstprivate", "lastprivate", "linear")
                     for name in directive.names_in(clause))


def reduction_names(pragma: ExistingPragma) -> dict[str, str]:
    """{variable: operator} of the reduction clauses (`reduction(task, +: s)` -> {"s": "+"})."""
    out = {}
    for clause in Directive.parse(pragma.text).clauses:
        if clause.name == "reduction" and clause.modifier is not None:
            for name in clause.names():
                out[name] = clause.modifier.split(",")[-1].strip()
    return out
