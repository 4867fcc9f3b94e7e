"""Integer values for the task-race walk (taskraces.py), and when two subscripts are shown to meet.

A value is a known integer, a range it lies in, or `scale * counter + shift`
for the counter of one walked iteration of a loop with known bounds. Two
subscripts are shown to meet when both are the same known value, the same
function of one iteration's counter, or when one takes every value of a range
(a unit-stride counter reached in every iteration) holding the other.
"""

from __future__ import annotations

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
