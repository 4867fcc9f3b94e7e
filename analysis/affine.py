"""Affine expressions and the loop/access shapes that dependence testing works on.

An `Affine` is sum(coeff * name) + const over integers. Names are loop counters or
loop-invariant parameters; which is which is decided by the `LoopDim`s an access
sits in: every name that is not the counter of one of them is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Affine:
    terms: tuple[tuple[str, int], ...] = ()  # sorted by name, no zero coefficients
    const: int = 0

    @staticmethod
    def constant(value: int) -> Affine:
        return Affine((), value)

    @staticmethod
    def name(name: str) -> Affine:
        return Affine(((name, 1),), 0)

    @staticmethod
    def build(coeffs: dict[str, int], const: int) -> Affine:
        return Affine(tuple(sorted((n, c) for n, c in coeffs.items() if c)), const)

    def coeffs(self) -> dict[str, int]:
        return dict(self.terms)

    def names(self) -> set[str]:
        return {n for n, _ in self.terms}

    def coeff(self, name: str) -> int:
        return self.coeffs().get(name, 0)

    def __add__(self, other: Affine) -> Affine:
        merged = self.coeffs()
        for n, c in other.terms:
            merged[n] = merged.get(n, 0) + c
        return Affine.build(merged, self.const + other.const)

    def __neg__(self) -> Affine:
        return Affine(tuple((n, -c) for n, c in self.terms), -self.const)

    def __sub__(self, other: Affine) -> Affine:
        return self + (-other)

    def scale(self, factor: int) -> Affine:
        return Affine.build({n: c * factor for n, c in self.terms}, self.const * factor)

    @property
    def is_constant(self) -> bool:
        return not self.terms

    def __str__(self) -> str:
        parts = []
        for n, c in self.terms:
            parts.append(n if c == 1 else f"-{n}" if c == -1 else f"{c}*{n}")
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
