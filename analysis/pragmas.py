"""Existing `#pragma omp` lines: which loop each one governs, and its clauses."""

from __future__ import annotations

import re

from .loopfacts import ExistingPragma

_DIRECTIVE_WORDS = {
    "parallel", "for", "simd", "target", "teams", "distribute", "loop", "taskloop",
    "masked", "master", "single", "sections", "section", "critical", "atomic", "task",
    "data", "enter", "exit", "update", "declare", "tile", "unroll", "ordered", "barrier",
}  # fmt: skip
_ARGS = r"\([^()]*\)"
for _ in range(3):  # clause arguments nest parentheses: if(ompilot_disjoint(y, (size_t)(n) * ...))
    _ARGS = r"\((?:[^()]|" + _ARGS + r")*\)"
_CLAUSE = re.compile(r"([A-Za-z_]+)\s*(" + _ARGS + r")?")
_LOOP_DIRECTIVES = ("for", "simd", "distribute", "loop", "taskloop")


def parse_pragma(text: str, line: int) -> ExistingPragma:
    body = text.strip()
    body = re.sub(r"^#\s*pragma\s+omp\s*", "", body)
    words: list[str] = []
    clauses: dict[str, tuple[str, ...]] = {}
    for match in _CLAUSE.finditer(body):
        name, args = match.group(1), match.group(2)
        if args is None and name in _DIRECTIVE_WORDS and not clauses:
            words.append(name)
            continue
        values = tuple(_split_args(name, args[1:-1] if args else ""))
        clauses[name] = clauses.get(name, ()) + values
    return ExistingPragma(text=text.strip(), line=line, directive=" ".join(words), clauses=clauses)


def _split_args(name: str, args: str) -> list[str]:
    if name == "reduction":
        op, _, names = args.partition(":")
        op = op.strip().split(",")[-1].strip()
        return [f"{op}:{n.strip()}" for n in names.split(",") if n.strip()]
    return [a.strip() for a in args.split(",") if a.strip()]


def is_loop_directive(pragma: ExistingPragma) -> bool:
    return any(word in pragma.directive.split() for word in _LOOP_DIRECTIVES)


def pragma_above(lines: list[str], loop_line: int, pragmas: dict[int, str]) -> tuple[int, str] | None:
    """The `#pragma omp` directly above a loop (only blank lines, comments or
    other pragmas, such as `tile`, in between)."""
    line = loop_line - 1
    while line >= 1:
        text = lines[line - 1].strip()
        start = _continuation_start(lines, line)
        if start in pragmas and pragmas[start].split()[2:3] and _governs_loop(pragmas[start]):
            return start, pragmas[start]
        if text == "" or text.startswith("//") or text.startswith("/*") or text.endswith("*/"):
            line -= 1
            continue
        if start in pragmas:
            line = start - 1
            continue
        return None
    return None


def _governs_loop(text: str) -> bool:
    return is_loop_directive(parse_pragma(text, 0))


def _continuation_start(lines: list[str], line: int) -> int:
    while line > 1 and lines[line - 2].rstrip().endswith("\\"):
        line -= 1
    return line


def private_names(pragma: ExistingPragma) -> frozenset[str]:
    names: set[str] = set()
    for clause in ("private", "firstprivate", "lastprivate", "linear"):
        for value in pragma.clauses.get(clause, ()):
            names.add(value.split(":")[0].strip())
    return frozenset(names)


def reduction_names(pragma: ExistingPragma) -> dict[str, str]:
    out = {}
    for value in pragma.clauses.get("reduction", ()):
        op, _, name = value.partition(":")
        out[re.sub(r"\[.*", "", name.strip())] = op
    return out
