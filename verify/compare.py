"""Comparing a parallel run's output with the serial one.

Text and integers must match exactly; floating-point numbers may differ by
`abs + rel * max(|a|, |b|)` (numpy's form), because a parallel reduction adds
in another order. The default tolerance is stated in the README.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)", re.IGNORECASE)


@dataclass(frozen=True)
class Tolerance:
    rel: float = 1e-9
    abs: float = 1e-12


def output_difference(expected: str, actual: str, tolerance: Tolerance = Tolerance()) -> str | None:
    """None when `actual` matches `expected` within the tolerance, else where it does not."""
    want, got = expected.splitlines(), actual.splitlines()
    if len(want) != len(got):
        return f"{len(got)} lines instead of {len(want)}"
    for number, (a, b) in enumerate(zip(want, got), 1):
        if a == b:
            continue
        if _NUMBER.sub("#", a) != _NUMBER.sub("#", b):
            return f"line {number} differs: {a!r} vs {b!r}"
        for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)):
            problem = _number_difference(x, y, tolerance)
            if problem:
                return f"line {number}: {problem}"
    return None


def _number_difference(x: str, y: str, tolerance: Tolerance) -> str | None:
    if x == y:
        return None
    if not any(ch in x + y for ch in ".eEnNiI"):
        return f"integer {x} vs {y}"
    fx, fy = float(x), float(y)
    if math.isnan(fx) and math.isnan(fy):
        return None
    if abs(fx - fy) <= tolerance.abs + tolerance.rel * max(abs(fx), abs(fy)):
        return None
    return f"{x} vs {y}, beyond rel={tolerance.rel:g} abs={tolerance.abs:g}"
