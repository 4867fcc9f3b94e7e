"""Integer temporaries seen through: `c = i * ny + j; ... u[c + 1]` is `u[i*ny + j + 1]`.

A temporary's value can replace it in subscripts when every read in the
analysed loop's body sees the value assigned earlier in the same iteration:

- it is a local (or parameter) integer of int width or wider, whose address
  is never taken and which nothing may bind to a reference;
- the body writes it exactly once, with a plain `=`: at its declaration
  (C99) or as a statement `c = expr;` (C89, declared at the top of the
  function; it then stays a private scalar);
- that statement sits in a block, not under a switch, and every read of
  the variable in the body is in a later statement of the same block (so
  the assignment runs first whenever the read runs, also inside an inner
  loop whose body holds both);
- the value is a polynomial over loop counters whose loops enclose the
  assignment, loop-invariant names and members, and earlier temporaries:
  none of them changes between the assignment and the reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import ir
from .accesses import BodyFacts, Key
from .invariants import _escaping_vars, plain_type
from .loops import MemberSymbols, Poly, assignments_in_expr, to_poly

_WIDE_INTEGERS = {"int", "long", "long long", "unsigned int", "unsigned long", "unsigned long long"}


@dataclass
class _Definition:
    var: ir.Var
    value: ir.Expr
    block: ir.Block
    index: int  # position of the defining statement in block.stmts
    loops: tuple[ir.LoopStmt, ...]  # inner loops of the body around it
    under_switch: bool
    is_decl: bool


def single_assignments(
    body: ir.Stmt,
    facts: BodyFacts,
    counters: set[str],
    canonical_counter: Callable[[ir.LoopStmt], str | None],
    symbols: MemberSymbols | None,
    function: ir.Function | None,
    is_cpp: bool,
) -> dict[ir.Var, Poly]:
    """The temporaries of one loop body and their values (see the module doc).

    `counters` are the analysed loop's counter and those of the loops around
    it; `canonical_counter` gives an inner loop's counter when it is canonical."""
    definitions: list[_Definition] = []
    _collect(body, (), False, definitions)
    by_var: dict[ir.Var, list[_Definition]] = {}
    for d in definitions:
        by_var.setdefault(d.var, []).append(d)
    write_counts = _write_counts(body)
    ref_writes: dict[ir.Var, int] = {}
    for ref in facts.refs:
        if ref.is_write and ref.key == Key(ref.key.var):
            ref_writes[ref.key.var] = ref_writes.get(ref.key.var, 0) + 1
    escaping = _escaping_vars(function, is_cpp)
    variant = {v.name for v in facts.writes | facts.declared}
    reads = _reads(body)
    out: dict[ir.Var, Poly] = {}
    for d in definitions:
        var = d.var
        if len(by_var[var]) != 1 or write_counts.get(var, 0) != 1 or d.under_switch:
            continue
        if ref_writes.get(var, 0) != (0 if d.is_decl else 1):
            continue  # a call writes it too
        if not _integer_temporary(var, reads.get(var, [])) or var in escaping or var in facts.address_taken:
            continue
        later = {id(e) for s in d.block.stmts[d.index + 1:] for e in _expressions(s)}
        if any(isinstance(s, ir.Labeled) for t in d.block.stmts[d.index + 1:] for s in t.walk()):
            continue  # a case or goto label could enter after the assignment
        if not all(id(name) in later for name in reads.get(var, [])):
            continue
        value = to_poly(d.value, out, symbols)
        if value is None:
            continue
        allowed = counters | {c for c in map(canonical_counter, d.loops) if c is not None}
        names = {n for m in value for n in m}
        if all(n in allowed or n not in variant or _is_member_symbol(n) for n in names):
            out[var] = value
    return out


def _is_member_symbol(name: str) -> bool:
    return "->" in name or "." in name


def _integer_temporary(var: ir.Var, reads: list[ir.Name]) -> bool:
    if var.kind not in ("local", "param") or var.is_reference or var.is_volatile or var.is_array:
        return False
    if not var.is_scalar_number or var.is_float or var.is_pointer:
        return False
    return bool(reads) and all(plain_type(r.ctype) in _WIDE_INTEGERS for r in reads)


def _collect(stmt: ir.Stmt, loops: tuple, under_switch: bool, out: list[_Definition]) -> None:
    if isinstance(stmt, ir.Block):
        for index, s in enumerate(stmt.stmts):
            d = _definition(s, stmt, index, loops, under_switch)
            if d is not None:
                out.append(d)
    if isinstance(stmt, ir.LoopStmt):
        loops = (*loops, stmt)
    if isinstance(stmt, ir.Switch):
        under_switch = True
    for sub in stmt.substatements():
        # a for header's init belongs to the loop's header, not its body
        inner = loops[:-1] if isinstance(stmt, ir.For) and sub is stmt.init else loops
        _collect(sub, inner, under_switch, out)


def _definition(s: ir.Stmt, block: ir.Block, index: int, loops, under_switch) -> _Definition | None:
    if isinstance(s, ir.Decl) and s.init is not None:
        return _Definition(s.var, s.init, block, index, loops, under_switch, True)
    if isinstance(s, ir.ExprStmt) and isinstance(s.expr, ir.Assign) and s.expr.op == "=":
        target = s.expr.target
        if isinstance(target, ir.Name) and target.var is not None:
            return _Definition(target.var, s.expr.value, block, index, loops, under_switch, False)
    return None


def _write_counts(body: ir.Stmt) -> dict[ir.Var, int]:
    """How many places in the body assign each variable (declarations with a value count)."""
    counts: dict[ir.Var, int] = {}
    for s in body.walk():
        if isinstance(s, ir.Decl) and s.init is not None:
            counts[s.var] = counts.get(s.var, 0) + 1
        for e in s.expressions():
            for var in assignments_in_expr(e):
                counts[var] = counts.get(var, 0) + 1
    return counts


def _reads(body: ir.Stmt) -> dict[ir.Var, list[ir.Name]]:
    """Every mention of each variable except as the target of a plain `=`."""
    targets: set[int] = set()
    out: dict[ir.Var, list[ir.Name]] = {}
    for s in body.walk():
        for e in s.expressions():
            for sub in e.walk():
                if isinstance(sub, ir.Assign) and sub.op == "=" and isinstance(sub.target, ir.Name):
                    targets.add(id(sub.target))
    for s in body.walk():
        for e in s.expressions():
            for sub in e.walk():
                if isinstance(sub, ir.Name) and sub.var is not None and id(sub) not in targets:
                    out.setdefault(sub.var, []).append(sub)
    return out


def _expressions(stmt: ir.Stmt):
    for s in stmt.walk():
        for e in s.expressions():
            yield from e.walk()
