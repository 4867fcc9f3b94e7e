"""Integer values for the task-race walk (taskraces.py), and when two subscripts are shown to meet.

A value is a known integer, a range it lies in, or `scale * counter + shift`
for the counter of one walked iteration of a loop with known bounds. Two
subscripts are shown to meet when both are the same known value, the same
function of one iteration's counter, or when one takes every value of a range
(a unit-stride counter reached in every iteration) holding the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import ir


@dataclass(frozen=True, eq=False)
class Counter:
    """The counter of one walked iteration (`turn` 0 or 1) of one execution of a loop."""

    loop: ir.LoopStmt
    execution: object  # one walk of the loop; the two turns of it have different counter values
    turn: int
    first: int
    step: int
    trips: int
    level: int  # loops around the body in the walk (1: outermost), to tell conditions inside it
    every: bool  # no break/continue/return/goto in the body: every value is reached


@dataclass(frozen=True)
class Num:
    """An integer: `scale * counter + shift` when `counter` is set (every=False once a
    condition inside the counter's loop guards the use), else one of lo..hi."""

    lo: int
    hi: int
    counter: Counter | None = None
    scale: int = 0
    shift: int = 0
    every: bool = False

    @staticmethod
    def const(value: int) -> Num:
        return Num(value, value)

    @staticmethod
    def of(counter: Counter, scale: int = 1, shift: int = 0, every: bool = True) -> Num:
        ends = (scale * counter.first + shift, scale * (counter.first + counter.step * (counter.trips - 1)) + shift)
        return Num(min(ends), max(ends), counter, scale, shift, every and counter.every)

    @property
    def known(self) -> bool:
        return self.counter is None and self.lo == self.hi

    def values(self) -> range | None:
        """Every value taken (a counter's whole range), None when that is not known."""
        if self.known:
            return range(self.lo, self.lo + 1)
        if self.counter is None or not self.every or self.scale == 0:
            return None
        c = self.counter
        start = self.scale * c.first + self.shift
        stride = self.scale * c.step
        return range(start, start + stride * c.trips, stride)


def add(a, b):
    if not isinstance(a, Num) or not isinstance(b, Num):
        return None
    if b.counter is None and a.counter is not None and b.known:
        return Num.of(a.counter, a.scale, a.shift + b.lo, a.every)
    if a.counter is None and b.counter is not None and a.known:
        return add(b, a)
    if a.counter is not None and a.counter is b.counter:
        return Num.of(a.counter, a.scale + b.scale, a.shift + b.shift, a.every and b.every)
    return Num(a.lo + b.lo, a.hi + b.hi)


def mul(a, b):
    if not isinstance(a, Num) or not isinstance(b, Num):
        return None
    if not b.known:
        a, b = b, a
    if not b.known:
        return None
    k = b.lo
    if a.counter is not None:
        return Num.of(a.counter, a.scale * k, a.shift * k, a.every) if k else Num.const(0)
    return Num(min(a.lo * k, a.hi * k), max(a.lo * k, a.hi * k))


def arith(op: str, a, b):
    if op == "+":
        return add(a, b)
    if op == "-":
        return add(a, mul(b, Num.const(-1)))
    if op == "*":
        return mul(a, b)
    if not (isinstance(a, Num) and isinstance(b, Num) and a.known and b.known):
        return None
    x, y = a.lo, b.lo
    if op in ("/", "%") and y == 0:
        return None
    results = {
        "/": lambda: int(x / y), "%": lambda: x - int(x / y) * y, "<": lambda: int(x < y), "<=": lambda: int(x <= y),
        ">": lambda: int(x > y), ">=": lambda: int(x >= y), "==": lambda: int(x == y), "!=": lambda: int(x != y),
        "&&": lambda: int(bool(x and y)), "||": lambda: int(bool(x or y)), "<<": lambda: x << y if 0 <= y < 63 else None,
        ">>": lambda: x >> y if 0 <= y < 63 else None, "&": lambda: x & y, "|": lambda: x | y, "^": lambda: x ^ y,
    }  # fmt: skip
    value = results[op]() if op in results else None
    return Num.const(value) if value is not None else None


def _meets(a: Num | None, b: Num | None) -> bool:
    """Shown: some value of `a` equals some value of `b` in one execution."""
    if a is None or b is None:
        return False
    if a.counter is not None and b.counter is not None and a.counter.execution is b.counter.execution:
        if a.counter is b.counter:  # one iteration: the counter has one value
            return a.scale == b.scale and a.shift == b.shift
        return False  # two iterations of one loop: a[k] and a[k'] differ, other forms are not shown
    va, vb = a.values(), b.values()
    if va is not None and vb is not None:
        return _intersect(va, vb)
    for whole, some in ((va, b), (vb, a)):  # every value of one, a value known to lie inside it
        if whole is not None and abs(whole.step) == 1 and min(whole) <= some.lo and some.hi <= max(whole):
            return True
    return False


def _intersect(a: range, b: range) -> bool:
    if len(a) > len(b):
        a, b = b, a
    if len(a) > 100_000:
        return False
    return any(v in b for v in a)


def same_element(x: tuple, y: tuple) -> bool:
    if len(x) != len(y):
        return False
    for index in (x, y):  # a[k][k] is a diagonal: dimensions must vary apart
        counters = [n.counter for n in index if n is not None and n.counter is not None]
        if len(set(map(id, counters))) != len(counters):
            return False
    return all(_meets(a, b) for a, b in zip(x, y))


# ------------------------------------------------- array sections of `depend`

#: A linear form: (symbol, coefficient) pairs sorted by symbol, "" for the constant.
Linear = tuple[tuple[str, int], ...]

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_]\w*)|(.))")


@dataclass(frozen=True)
class Section:
    """`a[lo:length]` (or `a[lo]`, length 1) of a `depend` clause, one dimension, as
    linear forms over symbols that hold one value in the whole program (macros,
    enumerators) and variables whose value the walk knows."""

    lo: Linear
    length: Linear


def parse_section(subscript: str, value_of) -> Section | None:
    """The section of `lo:length` / `lo` / `:length` (the text inside one pair of brackets);
    `value_of(name)` gives a variable's known value, "symbol" for a program constant,
    None when not known. None: not one dimension, or not linear in known terms."""
    lo_text, colon, length_text = subscript.partition(":")
    if "[" in subscript or "]" in subscript or (colon and not length_text.strip()):
        return None
    lo = _linear(lo_text, value_of) if lo_text.strip() else ()
    length = _linear(length_text, value_of) if colon else ((("", 1),))
    if lo is None or length is None:
        return None
    return Section(lo, length)


def sections_disjoint(a: Section | None, b: Section | None) -> bool:
    """Shown apart: one ends at or before the other starts, whatever the symbols' values."""
    if a is None or b is None:
        return False
    for first, second in ((a, b), (b, a)):
        gap = _combine(second.lo, _combine(first.lo, first.length, 1), -1)  # second.lo - (first.lo + first.length)
        if all(symbol == "" for symbol, _ in gap) and sum(k for _, k in gap) >= 0:
            return True
    return False


def _combine(a: Linear, b: Linear, sign: int) -> Linear:
    out: dict[str, int] = dict(a)
    for symbol, k in b:
        out[symbol] = out.get(symbol, 0) + sign * k
    return tuple(sorted((s, k) for s, k in out.items() if k))


def _linear(text: str, value_of) -> Linear | None:
    """`2*N + k - 1` as a linear form; None for anything else (parentheses, division, calls)."""
    tokens = [m.groups() for m in _TOKEN.finditer(text) if any(m.groups())]
    terms: dict[str, int] = {}
    sign, factor, symbol, expect_operand = 1, 1, "", True
    for number, name, other in tokens:
        if expect_operand:
            if other == "-" and factor == 1 and symbol == "":
                sign = -sign
                continue
            if number is not None:
                factor *= int(number)
            elif name is not None:
                value = value_of(name)
                if value is None or symbol and value == "symbol":
                    return None  # unknown, or a product of two symbols
                if value == "symbol":
                    symbol = name
                else:
                    factor *= value
            else:
                return None
            expect_operand = False
        elif other == "*":
            expect_operand = True
        elif other in ("+", "-"):
            terms[symbol] = terms.get(symbol, 0) + sign * factor
            sign, factor, symbol, expect_operand = (1 if other == "+" else -1), 1, "", True
        else:
            return None
    if expect_operand:
        return None
    terms[symbol] = terms.get(symbol, 0) + sign * factor
    return tuple(sorted((s, k) for s, k in terms.items() if k))


def add_constant(form: Linear, value: int) -> Linear:
    return _combine(form, (("", value),), 1)
