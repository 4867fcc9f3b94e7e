"""Reading a model's answer: tolerant about its shape, strict about its content."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ompilot.analysis.pragmas import Directive, first_pragma_line

# directives that may stand above a loop; anything else is refused
LOOP_DIRECTIVES = frozenset({
    ("parallel", "for"), ("parallel", "for", "simd"), ("for",), ("for", "simd"), ("simd",), ("parallel", "loop"),
    ("loop",), ("taskloop",), ("taskloop", "simd"),
    ("target", "teams", "distribute", "parallel", "for"), ("target", "teams", "distribute", "parallel", "for", "simd"),
    ("teams", "distribute", "parallel", "for"), ("teams", "distribute", "parallel", "for", "simd"),
})  # fmt: skip
_CLAUSE_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz_")


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
        pragma = first_pragma_line(text)
        if pragma is None:
            raise UnusableAnswer(f"no JSON object and no '#pragma omp' line in the answer: {_excerpt(text)}")
        return ModelAnswer(normalize_directive(pragma), None, "")
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
    """The directive in canonical form (`Directive.render`); text that is no
    `#pragma omp` directive comes back with its blanks collapsed, for the
    check to refuse by name."""
    directive = Directive.parse_or_none(text.strip())
    if directive is None or directive.spelling != "#pragma":
        return " ".join(text.split())
    return directive.render()


def check_directive(directive: str) -> None:
    """Refuse what is not an OpenMP loop directive with well-formed clauses.
    (Clang then parses it in place before anything is built.)"""
    if "\n" in directive or "\\" in directive:
        raise UnusableAnswer(f"'{directive[:80]}' spans several lines")
    parsed = Directive.parse_or_none(directive)
    if parsed is None or parsed.spelling != "#pragma" or parsed.names not in LOOP_DIRECTIVES:
        raise UnusableAnswer(f"'{directive[:80]}' is not an OpenMP loop directive")
    if parsed.problem:
        raise UnusableAnswer(f"'{directive[:80]}': {parsed.problem}")
    unknown = next((c.name for c in parsed.clauses if not set(c.name) <= _CLAUSE_LETTERS), None)
    if unknown:
        raise UnusableAnswer(f"'{directive[:80]}': '{unknown}' is not an OpenMP clause")


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
