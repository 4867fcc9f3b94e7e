"""Facts that rule out aliasing between two arrays of a loop that the plain
pointer rules (restrict, distinct objects, call-site proofs) leave open.

- `distinct_by_type`: C's effective-type rule (C11 6.5p7; C++ [basic.lval]).
  A `double` store cannot change an `int` object, so `y[i] = ...` (double)
  and `A->rowptr[k]` (int) never touch the same memory in a program that
  obeys the rule, which GCC and Clang assume from -O2. Character types,
  signed/unsigned variants of one integer type, an aggregate that contains
  the other type, and unknown types (enums, complex, templates, a call's
  writes) may alias; every two pointer types may alias (conservatively). The
  pointers loaded on the way to an element count as accesses of pointer type.
  Off when the build passes -fno-strict-aliasing (the last of
  -fstrict-aliasing / -fno-strict-aliasing wins).
- `distinct_members`: members of one struct object, each set from its own
  allocator call before the loop (program.fresh_members), hold distinct
  fresh objects, which also differ from the struct's own storage, the
  function's other fresh allocations and local arrays, and what its
  parameters pointed to when it was called.
"""

from __future__ import annotations

from . import ir, loopfacts
from .accesses import Key, Ref

UNKNOWN = ir.AliasType("unknown")
_POINTER = ir.AliasType("pointer")


def types_may_alias(a: ir.AliasType, b: ir.AliasType) -> bool:
    """May an access of class `a` and one of class `b` touch the same object?"""
    if "unknown" in (a.kind, b.kind) or "char" in (a.kind, b.kind) or a.kind == b.kind:
        return True
    return b.kind in a.contains or "unknown" in a.contains or a.kind in b.contains or "unknown" in b.contains


def _class(ref: Ref, table: dict[str, ir.AliasType]) -> ir.AliasType:
    if not ref.exact or not ref.ctype:
        return UNKNOWN
    return table.get(ref.ctype, UNKNOWN)


def _loads_pointer(key: Key) -> bool:
    """The element is reached through a pointer held in memory or in a variable."""
    v = key.var
    return v.is_pointer or v.is_reference or v.rows_are_pointers or any("->" in f or f.endswith("*") for f in key.fields)


def _touched(key: Key, refs: list[Ref], table) -> tuple[set[ir.AliasType], set[ir.AliasType]]:
    """(classes written, classes accessed) by the refs of one array."""
    written = {_class(r, table) for r in refs if r.is_write}
    accessed = {_class(r, table) for r in refs} | ({_POINTER} if _loads_pointer(key) else set())
    return written, accessed


def _spelled(types: set[ir.AliasType]) -> str:
    return "/".join(sorted(t.kind.removeprefix("record ") for t in types))


def distinct_by_type(
    w: Key, other: Key, by_key: dict[Key, list[Ref]], table: dict[str, ir.AliasType], strict_aliasing: bool
) -> loopfacts.DistinctByType | None:
    """The effective-type rule keeps the writes of `w` off `other` and the
    writes of `other` off `w`; None when it does not (or is switched off)."""
    if not strict_aliasing or w.var.is_container or other.var.is_container:
        return None
    w_written, w_accessed = _touched(w, by_key[w], table)
    o_written, o_accessed = _touched(other, by_key[other], table)
    if any(types_may_alias(a, b) for a in w_written for b in o_accessed):
        return None
    if any(types_may_alias(a, b) for a in o_written for b in w_accessed):
        return None
    elements = lambda k: {_class(r, table) for r in by_key[k]}  # noqa: E731
    return loopfacts.DistinctByType(str(w), _spelled(elements(w)), str(other), _spelled(elements(other)))


def distinct_members(w: Key, other: Key, members, ctx, by_key: dict[Key, list[Ref]]) -> loopfacts.DistinctAllocations | None:
    """`A->col` and `A->rowptr` (or `A->nrows`, a fresh local pointer, a local
    array, a parameter's object) are apart when one of them is a member
    holding its own fresh allocation (program.FreshMember valid at the loop)."""
    fresh = {(m.root, m.field + "*"): m for m in members}
    for a, b in ((w, other), (other, w)):
        m = fresh.get((a.var, a.fields[0])) if len(a.fields) == 1 else None
        if m is None:
            continue
        how = _apart_from_fresh(b, m, fresh, ctx, by_key)
        if how is not None:
            return loopfacts.DistinctAllocations(str(a), m.source, m.line, str(b), how)
    return None


def _stores_may_move_pointers(key: Key, by_key, ctx) -> bool:
    """May the writes of `key` change a pointer stored in memory?"""
    written, _ = _touched(key, by_key[key], ctx.alias_types)
    return bool(written) and (not ctx.strict_aliasing or any(types_may_alias(t, _POINTER) for t in written))


def _apart_from_fresh(b: Key, m, fresh, ctx, by_key) -> str | None:
    """How `b` cannot lie in the allocation member `m` holds; None if it may."""
    if len(b.fields) == 1 and (b.var, b.fields[0]) in fresh:
        n = fresh[(b.var, b.fields[0])]
        return None if n is m else f"from {n.source} (line {n.line})"
    if b.var is m.root and b.fields and not any(f.endswith("*") for f in b.fields):
        return "is inside the struct itself, which existed before the allocation"
    if b.fields:
        return None
    v = b.var
    if v in ctx.fresh_pointers:
        return "only ever holds other allocations"
    if v.is_array and (v.kind == "local" or (v.kind != "param" and m.root.kind != "param")):
        return "is an array"  # (a global array might hold the struct a parameter points to)
    # a parameter may point into a struct the caller passed, where the member
    # itself is stored: only when the struct is the function's own, or when
    # its stores cannot change a pointer (the effective-type rule)
    if v.kind == "param" and v.is_pointer and not v.is_reference and (
        m.root.kind != "param" or not _stores_may_move_pointers(b, by_key, ctx)
    ):
        from .loops import written_vars

        if v not in written_vars(ctx.function.body):
            return "points where it pointed when the function was called, before the allocation"
    return None


def _pointer_member(key: Key, loop: ir.Stmt) -> tuple[str, str] | None:
    """(record, member) when `key` is the elements of the allocation one
    pointer member holds (`A->val[k]`, not `A->rows[i][j]` of a `double **`)."""
    from .accesses import access_location

    if not key.fields or not key.fields[-1].endswith("*") or any(f.endswith("*") for f in key.fields[:-1]):
        return None
    for stmt in loop.walk():
        for e in stmt.expressions():
            for x in e.walk():
                if not isinstance(x, ir.Index) or not isinstance(x.base, ir.Member):
                    continue
                m = x.base
                if not (m.points and m.record and m.ctype.count("*") == 1):
                    continue
                found = access_location(x)
                if found is not None and found[0] == key:
                    return m.record, m.field
    return None


def _source(key: Key, ctx, loop: ir.Stmt):
    """(provenance.Provenance or why not known, is a member) for a parameter or
    a pointer member; None when provenance says nothing about `key`."""
    from .loops import written_vars

    program = ctx.program
    if not key.fields:
        v = key.var
        if v.kind != "param" or not v.is_pointer or v.is_reference or program is None:
            return None
        if v in written_vars(ctx.function.body):
            return f"{ctx.function.name} assigns {v.name}", False
        return program.param_source(ctx.function, v.name), False
    member = _pointer_member(key, loop)
    if member is None:
        return None
    if program is None:
        from .program import ProgramFacts

        program = ProgramFacts()
    return program.member_source(*member), True


def distinct_provenance(w: Key, other: Key, ctx, loop: ir.Stmt) -> tuple[loopfacts.DistinctProvenance | None, str | None]:
    """(the fact that keeps `w` and `other` apart, None) when their allocation
    sites are disjoint; else (None, what is missing) when a pointer member
    is one of them, so the reason can say which fact was not there."""
    from .provenance import Provenance, spelled_sites

    a, b = _source(w, ctx, loop), _source(other, ctx, loop)
    if a is None or b is None:
        return None, None
    (pa, a_member), (pb, b_member) = a, b
    if isinstance(pa, Provenance) and isinstance(pb, Provenance):
        common = pa.sites & pb.sites
        if not common:
            return loopfacts.DistinctProvenance(str(w), pa.how, str(other), pb.how), None
        why = f"{w} and {other} may come from the same allocation ({spelled_sites(common)})"
    else:
        why = pb if isinstance(pa, Provenance) or (b_member and not isinstance(pb, Provenance) and not a_member) else pa
    return None, why if (a_member or b_member) else None
