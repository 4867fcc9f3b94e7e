"""Which integer struct members keep their value while a loop runs.

`g->ny` in `u[i*g->ny + j]` or `j < g->ny - 1` is a symbolic parameter of the
dependence test, like a plain `n`, when no store in the loop can reach it:

- the root variable (`g`, `s`) is not assigned in the loop and its address
  is not taken there;
- no store names the member, a member around it, or the whole object (`g->ny
  = ...`, `*g = ...`, a call writing through `g`);
- every other store is to a variable that cannot hold the member, or, under
  C's effective-type rule (C11 6.5p7: an `int` object is not modified by a
  `double` store; compilers assume it from -O2), stores a scalar of another
  type. Stores of unknown type, of character, struct, union or enum type,
  and every store when the build has -fno-strict-aliasing, may reach it;
- no call with unknown effects runs in the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from .accesses import BodyFacts

_QUALIFIERS = ("const", "volatile", "restrict", "__restrict", "__restrict__")
_CHAR_TYPES = {"char", "signed char", "unsigned char", "std::byte"}
_INTEGER_TYPES = {
    "short", "int", "long", "long long", "__int128",
    "unsigned short", "unsigned int", "unsigned long", "unsigned long long", "unsigned __int128",
}  # fmt: skip
_SCALAR_TYPES = _INTEGER_TYPES | {"float", "double", "long double", "_Bool", "bool", "wchar_t", "char16_t", "char32_t"}
#: calls whose stores are all in the loop's refs (writes through arguments) or that store nothing
_SAFE_CALLS = {"pure", "writes-args", "alloc", "exit"}


@dataclass(frozen=True)
class MemberPath:
    """`g->a.n`: the root variable, the field names in order, and whether the
    first step leaves the root's own storage (an arrow, or a reference root)."""

    root: ir.Var
    fields: tuple[str, ...]
    through_pointer: bool
    symbol: str  # the C text, also the parameter's name: "g->a.n"


def member_path(e: ir.Expr) -> MemberPath | None:
    """The chain of member accesses from a named variable, without subscripts or calls."""
    steps: list[tuple[bool, str]] = []
    while isinstance(e, ir.Member) and e.base is not None:
        steps.append((e.arrow, e.field))
        e = e.base
    if not steps or not isinstance(e, ir.Name) or e.var is None:
        return None
    steps.reverse()
    symbol = e.var.name + "".join(("->" if arrow else ".") + name for arrow, name in steps)
    through = steps[0][0] or e.var.is_reference or e.var.is_pointer
    return MemberPath(e.var, tuple(name for _, name in steps), through, symbol)


def plain_type(ctype: str) -> str:
    """A canonical C type without qualifiers: "const unsigned int" -> "unsigned int"."""
    words = [w for w in ctype.replace("*", " * ").split() if w not in _QUALIFIERS]
    return " ".join(words).replace(" *", "*").replace("* ", "*")


def is_integer_type(ctype: str) -> bool:
    return "volatile" not in ctype.split() and plain_type(ctype) in _INTEGER_TYPES


def store_may_modify(stored: str, target: str, strict_aliasing: bool) -> bool:
    """May a store of type `stored` change an object of scalar type `target`?"""
    s, t = plain_type(stored), plain_type(target)
    if not s or not strict_aliasing or s in _CHAR_TYPES:
        return True
    if s not in _SCALAR_TYPES and not s.endswith("*"):
        return True  # struct, union, enum, class, unknown: may contain or be the target
    return s.removeprefix("unsigned ") == t.removeprefix("unsigned ")


class MemberInvariance:
    """Answers "is this member loop-invariant" for one loop body's facts."""

    def __init__(self, facts: BodyFacts, function: ir.Function | None, strict_aliasing: bool, is_cpp: bool = True):
        self.facts = facts
        self.function = function
        self.strict_aliasing = strict_aliasing
        self.is_cpp = is_cpp
        self._escaping: set[ir.Var] | None = None
        self._opaque_call = any(c.kind not in _SAFE_CALLS for c in facts.calls)

    def symbol(self, e: ir.Expr) -> str | None:
        """The parameter name of an integer member that no store in the loop reaches."""
        path = member_path(e)
        if path is None or not is_integer_type(e.ctype) or self._opaque_call:
            return None
        if path.root in self.facts.writes or path.root in self.facts.address_taken:
            return None
        for ref in self.facts.refs:
            if ref.is_write and self._may_store_to(ref, path, e.ctype):
                return None
        return path.symbol

    def written(self, e: ir.Expr) -> bool:
        """A store in the loop names this member, one around it, or its root."""
        path = member_path(e)
        if path is None:
            return False
        if path.root in self.facts.writes:
            return True
        # a store through a pointer member (`g->f.u[i]`) writes the memory it
        # points at, not the struct: _may_store_to weighs that by type
        return any(
            ref.is_write and ref.key.var is path.root and not _through_pointer(ref) and _overlaps(ref, path)
            for ref in self.facts.refs
        )

    def _may_store_to(self, ref, path: MemberPath, ctype: str) -> bool:
        through = any(f.endswith("*") for f in ref.key.fields)
        if ref.key.var is path.root and _overlaps(ref, path):
            return True
        if ref.key.var is path.root and not through and not path.through_pointer:
            return False  # another member of the same struct variable
        own_storage = ref.subscripts is None and not through
        if own_storage:
            # a named variable's own storage holds the member only when the
            # member is reached through a pointer that may point at it
            if not path.through_pointer or ref.key.var not in self._escapes():
                return False
        elif not path.through_pointer and path.root not in self._escapes():
            return False  # no pointer can reach a struct variable whose address is never taken
        return store_may_modify(ref.ctype, ctype, self.strict_aliasing)

    def _escapes(self) -> set[ir.Var]:
        """Variables a pointer may reach: globals, statics, references, arrays,
        and variables whose address is taken or that C++ may bind to a reference."""
        if self._escaping is None:
            self._escaping = _escaping_vars(self.function, self.is_cpp)
        return self._escaping


def _through_pointer(ref) -> bool:
    return any(f.endswith("*") for f in ref.key.fields)


def _overlaps(ref, path: MemberPath) -> bool:
    """The store's field path and the member's share storage: one is a prefix of the other."""
    names = tuple(f.lstrip("-.>").rstrip("*") for f in ref.key.fields)
    common = min(len(names), len(path.fields))
    return names[:common] == path.fields[:common]


def _escaping_vars(function: ir.Function | None, is_cpp: bool) -> set[ir.Var]:
    out: set[ir.Var] = set()
    if function is None or function.body is None:
        return out
    for stmt in function.body.walk():
        if isinstance(stmt, ir.Decl):
            v = stmt.var
            if v.kind in ("global", "static") or v.is_reference or v.is_array:
                out.add(v)
            if v.is_reference and stmt.init is not None:
                out |= _roots(stmt.init)
        for expr in stmt.expressions():
            for e in expr.walk():
                if isinstance(e, ir.Name) and e.var is not None:
                    v = e.var
                    if v.kind in ("global", "static") or v.is_reference or v.is_array:
                        out.add(v)
                elif isinstance(e, ir.Unary) and e.op == "&":
                    out |= _roots(e.operand)
                elif isinstance(e, ir.Call) and is_cpp:
                    for arg in e.args:  # a C++ argument may bind to a kept reference
                        out |= _roots(arg)
    for p in function.params:
        if p.is_reference or p.is_array:
            out.add(p)
    return out


def _roots(e: ir.Expr) -> set[ir.Var]:
    while isinstance(e, (ir.Member, ir.Index)) and getattr(e, "base", None) is not None:
        e = e.base
    return {e.var} if isinstance(e, ir.Name) and e.var is not None else set()
