"""Reading a model's answer: tolerant about its shape, strict about its content."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# directives that may stand above a loop; anything else is refused
LOOP_DIRECTIVES = re.compile(
    r"^#pragma omp (?:parallel for(?: simd)?|for(?: simd)?|simd|parallel loop|loop|taskloop(?: simd)?"
    r"|target teams distribute parallel for(?: simd)?|teams distribute parallel for(?: simd)?)(?=\s|$)"
)
_CLAUSE = re.compile(r"\s*([a-z_]+)(\s*\()?")


@dataclass(frozen=True)
class ModelAnswer:
    directive: str | None  # "#pragma omp parallel for ..." or None: the model says leave it serial
    rewritten_loop: str | None
    reasoning: str


class UnusableAnswer(Exception):
    """The answer cannot be used; str() says why in one line."""


def parse_answer(text: str) -> ModelAnswer:
    """The JSON object of the answer, found tolerantly: the whole text, a
    fenced block, or the first balanced {...} that parses; failing that, a
    lone `#pragma omp` line is taken as the directive."""
    obj = _json_object(text)
    if obj is None:
        pragma = re.search(r"^\s*(#\s*pragma\s+omp\b[^\n]*)$", text, re.M)
        if pragma is None:
            raise UnusableAnswer(f"no JSON object and no '#pragma omp' line in the answer: {_excerpt(text)}")
        return ModelAnswer(normalize_directive(pragma.group(1)), None, "")
    directive = obj.get("directive", obj.get("pragma"))
    rewritten = obj.get("rewritten_loop") or obj.get("rewrite") or None
    reasoning = obj.get("reasoning") or obj.get("explanation") or ""
    if directive is not None and not isinstance(directive, str):
        raise UnusableAnswer(f"'directive' must be a string or null, not {type(directive).__name__}")
    if rewritten is not None and not isinstance(rewritten, str):
        raise UnusableAnswer("'rewritten_loop' must be a string or null")
    directive = normalize_directive(directive) if directive and directive.strip() else None
    return ModelAnswer(directive, rewritten, str(reasoning).strip())


def normalize_directive(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"^#\s*pragma\s+omp\b", "#pragma omp", text.strip()))


def check_directive(directive: str) -> None:
    """Refuse what is not an OpenMP loop directive with well-formed clauses.
    (Clang then parses it in place before anything is built.)"""
    if "\n" in directive or "\\" in directive:
        raise UnusableAnswer(f"'{directive[:80]}' spans several lines")
    head = LOOP_DIRECTIVES.match(directive)
    if head is None:
        raise UnusableAnswer(f"'{directive[:80]}' is not an OpenMP loop directive")
    rest = directive[head.end():]
    position = 0
    while position < len(rest):
        if not rest[position:].strip():
            break
        clause = _CLAUSE.match(rest, position)
        if clause is None:
            raise UnusableAnswer(f"'{directive[:80]}': cannot read the clauses from '{rest[position:][:30]}'")
        position = clause.end()
        if clause.group(2):  # skip to the matching ')'
            depth = 1
            while position < len(rest) and depth:
                depth += {"(": 1, ")": -1}.get(rest[position], 0)
                position += 1
            if depth:
                raise UnusableAnswer(f"'{directive[:80]}': unbalanced parentheses")
        while position < len(rest) and rest[position] in " ,":
            position += 1


def _json_object(text: str) -> dict | None:
    candidates = [text.strip()]
    candidates += re.findall(r"```(?:json)?\s*(.*?)```", text, re.S)
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    start = text.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat[:80] + ("..." if len(flat) > 80 else ""))
