"""Two loops that update an array from mirrored pairs of its own elements.

    for (i = 0; i < K; i++) T[i] = E(S[i], S[K - 1 - i]);
    for (i = 0; i < K; i++) S[i] = T[i];

(the Levinson-Durbin step: `z[i] = y[i] + alpha * y[k - i - 1]`, then the
copy back). Each loop is parallel alone, but the first reads, at i, the
element another thread copies back at K - 1 - i in the second: in a region
shared out between threads, the data moves between their caches on every
execution. After both loops, S[i] = E(old S[i], old S[K - 1 - i]) for every
i, and the pair (i, K - 1 - i) needs only its own two old values: one loop
over i < K / 2 can read a pair's two old elements and write both new ones
(in T as well, so T ends as before), plus the middle element when K is odd.
Pairs touch disjoint elements, so that loop is parallel, and a thread's
pairs are the same from one execution to the next.

Recognised only in this form: both loops canonical from 0 by 1 to the same
bound `<` K (loop-invariant), both parallel (so T and S do not alias), the
first body a single `T[i] = E` whose only uses of the counter are
subscripts `S[i]` and `S[K - 1 - i]`, E reading neither T nor any other
element of S and calling nothing, the second body `S[i] = T[i]`, and the
counter not read after the second loop. suggest/mirrorpairs.py writes the
rewritten loop.
"""

from __future__ import annotations

import re

from . import ir, loopfacts
from .affine import Affine
from .loops import CanonicalLoop, names_in, to_affine, written_vars


def mirror_pairs(first: ir.Stmt, second: ir.Stmt, canonical, parallel, live_after) -> loopfacts.MirrorPairs | None:
    """The rewrite of two consecutive statements, or None when they are not of
    the form. `canonical(loop)` gives a loop's canonical form, `parallel(loop)`
    its decision's verdict, `live_after(var, loop)` whether a value of `var` at
    the loop's end may be read later."""
    if not (isinstance(first, ir.For) and isinstance(second, ir.For)):
        return None
    forms = [canonical(first), canonical(second)]
    if not all(isinstance(f, CanonicalLoop) and _from_zero_by_one(f) for f in forms):
        return None
    a, b = forms
    if a.var is None or a.var is not b.var or a.bound.text != b.bound.text:
        return None
    if parallel(first) is not True or parallel(second) is not True:
        return None
    bound = to_affine(a.bound)
    written = written_vars(first) | written_vars(second)
    if bound is None or written & names_in(a.bound):
        return None
    update, copy = _sole_assign(first.body), _sole_assign(second.body)
    if update is None or copy is None:
        return None
    counter = a.var
    target = _indexed_by(update.target, counter)
    source = _indexed_by(copy.target, counter)
    if target is None or source is None or target is source or _indexed_by(copy.value, counter) is not target:
        return None
    reads = _mirrored_reads(update.value, source, target, counter, bound)
    if reads is None or live_after(counter, second):
        return None
    low, high, ctype = reads
    if not ctype:
        return None
    k = a.bound.text
    middle = f"{source.name}[({k}) / 2]"
    values = [_substitute(update.value.text, {**{t: lo for t in low}, **{t: hi for t in high}})
              for lo, hi in (("ompilot_lo", "ompilot_hi"), ("ompilot_hi", "ompilot_lo"), (middle, middle))]
    if None in values:
        return None
    declared = counter.type if isinstance(first.init, ir.Decl) else ""
    return loopfacts.MirrorPairs(
        first_line=first.info.line, second_line=second.info.line, start_offset=first.info.start_offset,
        end_offset=second.info.end_offset, counter=counter.name, counter_type=declared, bound=k,
        target=target.name, source=source.name, ctype=ctype, value_lo=values[0], value_hi=values[1],
        value_mid=values[2],
    )


def _from_zero_by_one(form: CanonicalLoop) -> bool:
    return (isinstance(form.start, ir.Const) and form.start.value == 0 and form.step == 1 and form.bound_op == "<"
            and form.bound is not None and isinstance(form.stmt, ir.For))


def _sole_assign(body: ir.Stmt) -> ir.Assign | None:
    while isinstance(body, ir.Block) and len(body.stmts) == 1:
        body = body.stmts[0]
    if isinstance(body, ir.ExprStmt) and isinstance(body.expr, ir.Assign) and body.expr.op == "=":
        return body.expr
    return None


def _indexed_by(expr: ir.Expr, counter: ir.Var) -> ir.Var | None:
    """The array variable of `A[i]` (one subscript, the counter itself)."""
    if isinstance(expr, ir.Index) and isinstance(expr.base, ir.Name) and expr.base.var is not None \
            and isinstance(expr.index, ir.Name) and expr.index.var is counter:
        return expr.base.var
    return None


def _mirrored_reads(value: ir.Expr, source: ir.Var, target: ir.Var, counter: ir.Var,
                    bound: Affine) -> tuple[set[str], set[str], str] | None:
    """The spellings of E's reads of S[i] and S[K - 1 - i] and S's element
    type; None when E uses the counter, T or S otherwise, or has effects."""
    low, high, ctype = set(), set(), ""
    mirrored = bound - Affine.name(counter.name) - Affine.constant(1)
    skip: set[int] = set()
    for node in value.walk():
        if id(node) in skip:
            continue
        if isinstance(node, ir.Index) and isinstance(node.base, ir.Name) and node.base.var is source:
            at = to_affine(node.index)
            if at == Affine.name(counter.name):
                low.add(node.text)
            elif at == mirrored:
                high.add(node.text)
            else:
                return None
            ctype = node.ctype.replace("const ", "").strip()
            skip.update(id(n) for n in node.walk())
            continue
        if isinstance(node, (ir.Call, ir.Assign)) or (isinstance(node, ir.Unary) and "++" in node.op or
                                                      isinstance(node, ir.Unary) and "--" in node.op):
            return None
        if isinstance(node, ir.Name) and node.var in (counter, source, target):
            return None
        if isinstance(node, ir.OtherExpr):
            return None
    if low & high or not low or not high:
        return None
    return low, high, ctype


def _substitute(text: str, replacements: dict[str, str]) -> str | None:
    """`text` with each spelling replaced (longest first, whole references
    only); None when one does not occur in it."""
    if any(re.search(_pattern(spelling), text) is None for spelling in replacements):
        return None
    alternatives = "|".join(_pattern(s) for s in sorted(replacements, key=len, reverse=True))
    return re.sub(alternatives, lambda m: replacements[m.group(0)], text)


def _pattern(spelling: str) -> str:
    return r"(?<![\w.>])" + re.escape(spelling)
