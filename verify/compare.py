"""Comparing a parallel run's output with the serial one.

Text and integers must match exactly. A number with a decimal point or an
exponent is equal to the serial one when they differ by at most

* one unit of the last printed digit: `%.2f` prints 12.35 or 12.36 for
  values a reordered floating-point reduction can move across the rounding
  boundary, so 0.01 there; 1.234e+05 has a unit of 1e+02 (the last digit of
  its mantissa). When the two were printed with different numbers of
  decimals (`%g` drops trailing zeros, 9.99999 against 10), the unit is the
  finer one's: the shorter number is at least as precise as the longer one;
* or `abs + rel * max(|a|, |b|)` (numpy's form, `Tolerance`), which is what
  decides for numbers printed at full precision, whose last digit is noise.

The first difference is reported with its place: the stream (stdout, stderr
or a file), the line, and which number of the line it is.

Numbers that differ between two runs of the serial program itself (a
program printing how long it took) are not compared (`varying_numbers`);
everything else of their lines is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)", re.IGNORECASE)


_PADDED_NUMBER = re.compile(rf"\s*(?:{_NUMBER.pattern})\s*", re.IGNORECASE)


def _shape(line: str) -> str:
    """The line with each number, and the blanks padding it, as one mark:
    `%10g` pads 0.5142125 with one blank and 0.50283125 with none."""
    return _PADDED_NUMBER.sub(" # ", line)


@dataclass(frozen=True)
class Tolerance:
    rel: float = 1e-9
    abs: float = 1e-12


@dataclass(frozen=True)
class Output:
    """One compared stream of one run: "stdout", "stderr" or "file NAME"."""

    name: str
    text: str
    #: set for a file too large to compare as text: `text` is its size and digest, and this says so
    large: str = ""


@dataclass(frozen=True)
class Difference:
    """Where a parallel output first departs from the serial one."""

    stream: str
    what: str  # the rest of the sentence, after the position
    line: int = 0  # 1-based; 0 when the difference is not on one line
    number: int = 0  # 1-based index of the number on the line; 0 for text

    def __str__(self) -> str:
        where = self.stream
        if self.line:
            where += f" line {self.line}"
        if self.number:
            where += f", number {self.number}"
        return f"{where}: {self.what}"


def output_difference(expected: str, actual: str, tolerance: Tolerance = Tolerance()) -> str | None:
    """None when `actual` matches `expected` within the rules above, else where it does not."""
    difference = first_difference(expected, actual, tolerance, stream="output")
    return None if difference is None else str(difference)


#: (stream, line, number on the line), all 1-based: a number not compared
Place = tuple[str, int, int]


def kept_lines(text: str, ignore: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    """(line number, line) of each line of `text` no pattern of `ignore` finds (re.search)."""
    patterns = [re.compile(p) for p in ignore]
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if not any(p.search(line) for p in patterns)]


def first_difference(expected: str, actual: str, tolerance: Tolerance = Tolerance(),
                     stream: str = "output", skip: frozenset[Place] = frozenset(),
                     ignore: tuple[str, ...] = ()) -> Difference | None:
    """The first place `actual` (the parallel run's) departs from `expected`
    (the serial run's), the numbers at `skip` (serial line numbers) and the
    lines `ignore` finds left out. Positions are the parallel run's lines."""
    want, got = kept_lines(expected, ignore), kept_lines(actual, ignore)
    for position, ((line, a), (number, b)) in enumerate(zip(want, got)):
        if a == b:
            continue
        if _shape(a) != _shape(b):
            if [_shape(t) for _, t in got[position + 1:]] == [_shape(t) for _, t in want[position:]]:
                return Difference(stream, f"a line the serial run does not print: {_clip(b)} (if it is not a "
                                          "result, ignore_lines can leave it out)", number)
            return Difference(stream, f"the text differs: {_clip(b)} against {_clip(a)} in the serial run", number)
        for index, (x, y) in enumerate(zip(_NUMBER.findall(a), _NUMBER.findall(b)), 1):
            if (stream, line, index) in skip:
                continue
            problem = number_difference(x, y, tolerance)
            if problem:
                return Difference(stream, problem, number, index)
    if len(want) != len(got):
        shorter = min(len(want), len(got))
        if len(got) > len(want):
            first, extra = got[shorter][0], f"first extra line: {_clip(got[shorter][1])}"
        else:
            first = (got[-1][0] + 1) if got else 1
            extra = f"first missing line: {_clip(want[shorter][1])}"
        lines = f"{len(got)} line{'s' if len(got) != 1 else ''}"
        return Difference(stream, f"{lines} instead of the serial run's {len(want)}; {extra}", first)
    return None


def number_difference(serial: str, parallel: str, tolerance: Tolerance = Tolerance()) -> str | None:
    """None when the printed number `parallel` equals `serial` under the rules above, else why not."""
    if serial == parallel:
        return None
    if not any(ch in serial + parallel for ch in ".eEnNiI"):
        return f"integer {parallel} against {serial} in the serial run (integers must match exactly)"
    fx, fy = float(serial), float(parallel)
    if math.isnan(fx) and math.isnan(fy):
        return None
    if math.isinf(fx) or math.isinf(fy):
        return None if fx == fy else f"{parallel} against {serial} in the serial run"
    if math.isnan(fx) or math.isnan(fy):
        return f"{parallel} against {serial} in the serial run"
    unit = min(printed_unit(serial), printed_unit(parallel))
    if abs(Decimal(serial) - Decimal(parallel)) <= unit:
        return None
    if abs(fx - fy) <= tolerance.abs + tolerance.rel * max(abs(fx), abs(fy)):
        return None
    return (f"{parallel} against {serial} in the serial run ({_unit_words(serial, parallel, unit)}; "
            f"also beyond rel={tolerance.rel:g}, abs={tolerance.abs:g})")


def printed_unit(text: str) -> Decimal:
    """One unit of the last printed digit: 0.01 for 12.35, 1E+2 for 1.234e+05, 1 for 12."""
    try:
        exponent = Decimal(text).as_tuple().exponent
    except InvalidOperation:  # pragma: no cover - _NUMBER only matches numbers
        return Decimal(0)
    return Decimal(1).scaleb(exponent) if isinstance(exponent, int) else Decimal(0)


def _decimals(text: str) -> str:
    mantissa, _, exponent = text.lower().partition("e")
    digits = len(mantissa.partition(".")[2])
    form = f"{digits} decimal{'s' if digits != 1 else ''}"
    return f"{form} and an exponent" if exponent else form


def _unit_words(serial: str, parallel: str, unit: Decimal) -> str:
    shown = f"{unit:g}" if unit.adjusted() < -6 or unit.adjusted() > 6 else f"{unit:f}"
    a, b = _decimals(serial), _decimals(parallel)
    printed = f"printed with {a}" if a == b else f"printed with {b} and {a} in the serial run"
    return f"{printed}: one unit is {shown}"


def _clip(line: str, width: int = 80) -> str:
    return repr(line if len(line) <= width else line[: width - 3] + "...")


def varying_numbers(first: list[Output], second: list[Output], ignore: tuple[str, ...] = ()) -> frozenset[Place] | None:
    """The numbers that differ between two runs of the same (serial) program,
    when nothing else does: the same streams, lines and text around the
    numbers (the lines `ignore` finds left out). None when more than numbers
    differ: such output cannot be a reference."""
    if [o.name for o in first] != [o.name for o in second]:
        return None
    varying: set[Place] = set()
    for one, other in zip(first, second):
        if one.large or other.large:
            if one.text != other.text:
                return None
            continue
        lines, again = kept_lines(one.text, ignore), kept_lines(other.text, ignore)
        if len(lines) != len(again):
            return None
        for (number, a), (_, b) in zip(lines, again):
            if a == b:
                continue
            if _shape(a) != _shape(b):
                return None
            varying.update((one.name, number, index) for index, (x, y)
                           in enumerate(zip(_NUMBER.findall(a), _NUMBER.findall(b)), 1) if x != y)
    return frozenset(varying)


def describe_places(places: frozenset[Place], most: int = 4) -> str:
    """"stderr line 3, number 2; stdout line 9, number 1" (the first `most`, then how many more)."""
    ordered = sorted(places)
    text = "; ".join(f"{stream} line {line}, number {index}" for stream, line, index in ordered[:most])
    return text + (f"; and {len(ordered) - most} more" if len(ordered) > most else "")


def outputs_difference(expected: list[Output], actual: list[Output], tolerance: Tolerance,
                       skip: frozenset[Place] = frozenset(), ignore: tuple[str, ...] = ()) -> Difference | None:
    """The first difference between two runs' compared streams (serial first),
    the numbers at `skip` and the lines `ignore` finds left out."""
    serial = {o.name: o for o in expected}
    parallel = {o.name: o for o in actual}
    for name in sorted(serial.keys() - parallel.keys()):
        return Difference(name, "the serial run wrote it, the parallel run did not")
    for name in sorted(parallel.keys() - serial.keys()):
        return Difference(name, "the parallel run wrote it, the serial run did not")
    for output in expected:
        other = parallel[output.name]
        if (output.large or other.large) and output.text != other.text:
            return Difference(output.name, f"differs ({output.large or other.large})")
        difference = first_difference(output.text, other.text, tolerance, stream=output.name, skip=skip,
                                      ignore=ignore)
        if difference is not None:
            return difference
    return None
