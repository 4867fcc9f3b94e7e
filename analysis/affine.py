"""Affine expressions and the loop/access shapes that dependence testing works on.

An `Affine` is sum(coeff * name) + const over integers. Names are loop counters or
loop-invariant parameters; which is which is decided by the `LoopDim`s an access
sits in: every name that is not the counter of one of them is a parameter.

A quasi-affine form adds sum(coeff * (e / c)) and sum(coeff * (e % c)) terms
(`Quasi`) for an affine e and a positive constant c, as C computes them. Only
the dependence tester (depend.py) reads those terms; the forms other modules
use are built without them (`loops.to_affine(..., quasi=False)`, the default),
so code that looks at `terms` alone never sees a part of the value missing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quasi:
    """`dividend / divisor` or `dividend % divisor` with C's signed semantics.

    C (since C99) truncates the quotient toward zero and gives the remainder
    the sign of the dividend: -3 / 2 == -1 and -3 % 2 == -1. depend.py turns
    each one into an exact integer constraint (see `_quotient_definition`).
    """

    op: str  # "/" or "%"
    dividend: Affine
    divisor: int  # > 0

    def value(self, dividend: int) -> int:
        """C's result for a known dividend (for constant folding and tests)."""
        quotient = abs(dividend) // self.divisor * (1 if dividend >= 0 else -1)
        return quotient if self.op == "/" else dividend - self.divisor * quotient

    def __str__(self) -> str:
        inner = str(self.dividend)
        if self.dividend != Affine.name(inner):
            inner = f"({inner})"
        return f"{inner} {self.op} {self.divisor}"


@dataclass(frozen=True)
class Affine:
    terms: tuple[tuple[str, int], ...] = ()  # sorted by name, no zero coefficients
    const: int = 0
    #: quasi-affine terms (coefficient times C's e / c or e % c), sorted by text
    quasi: tuple[tuple[Quasi, int], ...] = ()

    @staticmethod
    def constant(value: int) -> Affine:
        return Affine((), value)

    @staticmethod
    def name(name: str) -> Affine:
        return Affine(((name, 1),), 0)

    @staticmethod
    def build(coeffs: dict[str, int], const: int) -> Affine:
        return Affine(tuple(sorted((n, c) for n, c in coeffs.items() if c)), const)

    @staticmethod
    def quotient(op: str, dividend: Affine, divisor: int) -> Affine:
        """C's `dividend / divisor` (op "/") or `dividend % divisor` (op "%")."""
        if divisor <= 0 or op not in ("/", "%"):
            raise ValueError(f"no quasi-affine form for {op} {divisor}")
        term = Quasi(op, dividend, divisor)
        if dividend.is_constant:
            return Affine.constant(term.value(dividend.const))
        if divisor == 1:
            return dividend if op == "/" else Affine.constant(0)
        return Affine((), 0, ((term, 1),))

    def coeffs(self) -> dict[str, int]:
        return dict(self.terms)

    def names(self) -> set[str]:
        """Every name the value depends on, inside quasi-affine terms too."""
        found = {n for n, _ in self.terms}
        for term, _ in self.quasi:
            found |= term.dividend.names()
        return found

    def coeff(self, name: str) -> int:
        return self.coeffs().get(name, 0)

    def __add__(self, other: Affine) -> Affine:
        merged = self.coeffs()
        for n, c in other.terms:
            merged[n] = merged.get(n, 0) + c
        quasi = dict(self.quasi)
        for term, c in other.quasi:
            quasi[term] = quasi.get(term, 0) + c
        return Affine.build(merged, self.const + other.const)._with_quasi(quasi)

    def _with_quasi(self, quasi: dict[Quasi, int]) -> Affine:
        kept = tuple(sorted(((t, c) for t, c in quasi.items() if c), key=lambda item: str(item[0])))
        return Affine(self.terms, self.const, kept)

    def __neg__(self) -> Affine:
        return self.scale(-1)

    def __sub__(self, other: Affine) -> Affine:
        return self + (-other)

    def scale(self, factor: int) -> Affine:
        plain = Affine.build({n: c * factor for n, c in self.terms}, self.const * factor)
        return plain._with_quasi({t: c * factor for t, c in self.quasi})

    @property
    def is_constant(self) -> bool:
        return not self.terms and not self.quasi

    def __str__(self) -> str:
        parts = []
        for n, c in self.terms:
            parts.append(n if c == 1 else f"-{n}" if c == -1 else f"{c}*{n}")
        for term, c in self.quasi:
            text = f"({term})" if c != 1 else str(term)
            parts.append(text if c == 1 else f"-{text}" if c == -1 else f"{c}*{text}")
        if self.const or not parts:
            parts.append(str(self.const))
        return " + ".join(parts).replace("+ -", "- ")


@dataclass(frozen=True)
class LoopDim:
    """One loop of a nest: var runs from lower to upper (both inclusive) by step.

    A bound of None is unknown (non-affine); the tester then leaves that side
    open, which can only add dependences, never hide one.
    """

    var: str
    lower: Affine | None
    upper: Affine | None
    step: int = 1  # never 0; negative for a loop counting down


@dataclass(frozen=True)
class AccessSite:
    """One array access in the source, with the loops around it (outermost first)."""

    array: str
    subscripts: tuple[Affine | None, ...]  # one per dimension; None = not affine
    loops: tuple[LoopDim, ...]
    is_write: bool
    text: str  # "a[i + 1]"
    line: int
    order: int = 0  # textual position in the loop body, for same-iteration ordering


@dataclass(frozen=True)
class DepTest:
    """The answer to "can `source` and `sink` touch one element in two iterations"."""

    exists: bool | None  # None: could not decide (something was not affine)
    distance: int | None = None  # sink iteration - source iteration at the tested level
    why: str = ""
