"""Arrays reached through structure members, for run-time alias checks.

`b->x[i]` (b a pointer to a structure) and `s.x[i]` (s a structure variable)
index memory that a pointer field of the structure points at. The loop
re-reads that field, and integer fields such as the bound in `i < b->n`, from
the structure in every iteration, while the if() clause of a checked pragma
reads them once, when the loop starts. Both agree when nothing the loop
writes lands in the structure's own storage: the check therefore also keeps
every written range away from `*b` (`sizeof *b` bytes from `b`) and `s`
(`sizeof s` bytes from `&s`).

Only one level is followed: `b->x`, `s.x`, and fields of structures embedded
by value (`b->grid.x`, `s.a.x`); a pointer reached through another pointer
field (`b->p->x`) can change behind the check's back and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import ir, loopfacts
from .accesses import Key, Ref
from .affine import LoopDim
from .loops import CanonicalLoop, _dim


@dataclass(frozen=True)
class StructObject:
    """A structure whose fields a loop reads: `*b` through a pointer, or `s`."""

    var: ir.Var
    through_pointer: bool

    @property
    def text(self) -> str:
        return f"*{self.var.name}" if self.through_pointer else self.var.name

    def alias_range(self) -> loopfacts.AliasRange:
        return loopfacts.AliasRange(self.text, "0", "1", whole=True)


def _root(var: ir.Var, arrow: bool) -> StructObject | None:
    """The structure `var->...` or `var. ...` names, when var can hold one."""
    if var.is_container or var.is_array or var.rows_are_pointers:
        return None
    if arrow:
        return StructObject(var, True) if var.is_pointer else None
    if var.is_pointer or var.is_scalar_number:
        return None
    return StructObject(var, False)


def pointer_member(key: Key) -> StructObject | str:
    """The structure holding the pointer field a key indexes through
    (`b->x`, `s.x`, `b->a.x`, `s.a.x`), or why the key is not one."""
    fields = key.fields
    *inside, last = fields
    if not last.endswith("*"):
        return f"{key} lies inside a structure"
    if any(f.endswith("*") for f in inside):
        return f"{key} is reached through more than one pointer"
    if any(f.startswith("->") for f in fields[1:]):
        return f"{key} is reached through more than one pointer"
    found = _root(key.var, fields[0].startswith("->"))
    if found is None:
        return f"{key}: its structure is an element of {key.var.name}, not a variable or what a pointer variable points at"
    return found


def field_structure(key: Key) -> StructObject | None:
    """The structure a field key without a pointer hop lies in (`b->n`, `s.a.n`)."""
    if not key.fields or any(f.endswith("*") for f in key.fields):
        return None
    if any(f.startswith("->") for f in key.fields[1:]):
        return None
    return _root(key.var, key.fields[0].startswith("->"))


def element_subscripts(ref: Ref) -> tuple[ir.Expr, ...] | None:
    """The subscripts of the pointed-to array in `b->x[i]` (i) or `s.x[i]`
    (i); None when the ref indexes anything else (`p[k].x[i]`, `b->x[i][j]`)."""
    subscripts = ref.subscripts or ()
    if ref.key.fields[0].startswith("->"):
        if len(subscripts) != 2 or not _is_zero(subscripts[0]):
            return None
        return subscripts[1:]
    return subscripts if len(subscripts) == 1 else None


def _is_zero(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and e.value == 0


def _field_chain(e: ir.Member) -> tuple[StructObject, str] | None:
    """`b->n`, `s.n`, `b->a.n`: the structure and the C text of the field."""
    names = []
    while isinstance(e, ir.Member) and e.base is not None:
        names.append(e.field)
        inner = e.base
        if isinstance(inner, ir.Name):
            if inner.var is None:
                return None
            root = _root(inner.var, e.arrow)
            if root is None:
                return None
            path = ".".join(reversed(names))
            return root, f"{inner.var.name}{'->' if e.arrow else '.'}{path}"
        if e.arrow:
            return None  # a pointer field followed by another field: two hops
        e = inner
    return None


def structures_read(loop: ir.LoopStmt) -> list[StructObject]:
    """Every structure the loop (header and body) reads a field of."""
    found: dict[StructObject, None] = {}
    for stmt in loop.walk():
        for expr in stmt.expressions():
            for e in expr.walk():
                if isinstance(e, ir.Member):
                    chain = _field_chain(e)
                    root = chain[0] if chain else _outer_root(e)
                    if root is not None:
                        found[root] = None
    return list(found)


def _outer_root(e: ir.Member) -> StructObject | None:
    """The structure at the bottom of a longer chain (`b->p->n` reads *b too)."""
    while isinstance(e, ir.Member) and isinstance(e.base, ir.Member):
        e = e.base
    if isinstance(e, ir.Member) and isinstance(e.base, ir.Name) and e.base.var is not None:
        return _root(e.base.var, e.arrow)
    return None


def fields_as_names(expr: ir.Expr, variant: set[str]) -> ir.Expr:
    """The expression with integer fields of structures the loop does not
    assign (`b->n`, `s.len`) turned into names, so that affine forms and
    range texts can use them; anything else is left as it is."""
    if isinstance(expr, ir.Member):
        chain = _field_chain(expr) if expr.is_integer else None
        if chain is None or chain[0].var.name in variant:
            return expr
        text = chain[1]
        stand_in = ir.Var(text, "local", "int", expr.line, is_scalar_number=True)
        return ir.Name(line=expr.line, text=text, name=text, var=stand_in)
    if isinstance(expr, ir.Binary):
        return replace(expr, lhs=fields_as_names(expr.lhs, variant), rhs=fields_as_names(expr.rhs, variant))
    if isinstance(expr, ir.Unary) and expr.op in ("-", "+"):
        return replace(expr, operand=fields_as_names(expr.operand, variant))
    return expr


def field_dim(form: CanonicalLoop, variant: set[str]) -> LoopDim:
    """The loop's bounds, reading integer fields of structures as names
    (`i < b->n` runs to b->n - 1); its own dim when the bounds had none."""
    dim = form.dim
    if (dim.lower is not None and dim.upper is not None) or form.bound is None:
        return dim
    start = fields_as_names(form.start, variant) if form.start is not None else None
    found = _dim(form.counter, start, fields_as_names(form.bound, variant), form.bound_op, form.step)
    return LoopDim(dim.var, dim.lower or found.lower, dim.upper or found.upper, dim.step)
