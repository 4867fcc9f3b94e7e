"""ompilot's own small syntax tree for function bodies.

The front end (frontend.py) is the only module that sees libclang cursors; it
turns them into these nodes. The analysis works on these alone, so it can be
read, tested and reasoned about without Clang.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator


@dataclass(eq=False)
class Var:
    """A declared variable. Identity is the object itself (shadowing-safe)."""

    name: str
    kind: str  # global | static | param | local
    type: str
    line: int
    is_pointer: bool = False
    is_restrict: bool = False
    is_const: bool = False  # the variable itself cannot be assigned
    is_reference: bool = False
    array_dims: tuple[int | None, ...] | None = None  # None when not an array
    is_container: bool = False  # std::vector and friends: indexable, owns its elements
    is_scalar_number: bool = False  # int, double, ... (not pointer/array/struct)
    is_float: bool = False
    is_volatile: bool = False
    rows_are_pointers: bool = False  # `double **a`, `double *a[N]`: a[i] and a[j] may be one row

    @property
    def is_array(self) -> bool:
        return self.array_dims is not None

    def __repr__(self) -> str:
        return f"Var({self.name})"


# ----------------------------------------------------------------- expressions


@dataclass(eq=False)
class Expr:
    line: int
    text: str  # source spelling, for messages
    #: Clang's canonical type of the expression ("int", "double *"); set on
    #: names, subscripts, members, unary and binary operators, "" when not known
    ctype: str = field(default="", kw_only=True)

    def children(self) -> tuple[Expr, ...]:
        return ()

    def walk(self) -> Iterator[Expr]:
        yield self
        for child in self.children():
            yield from child.walk()


@dataclass(eq=False)
class Name(Expr):
    name: str
    var: Var | None = None  # None for functions and enumerators
    value: int | None = None  # enumerator or constexpr value


@dataclass(eq=False)
class Const(Expr):
    value: int | float | None = None  # None for strings and the like


@dataclass(eq=False)
class Binary(Expr):
    op: str
    lhs: Expr
    rhs: Expr

    def children(self):
        return (self.lhs, self.rhs)


@dataclass(eq=False)
class Unary(Expr):
    op: str  # ++ -- (prefix), post++ post--, - + ! ~ * &
    operand: Expr

    def children(self):
        return (self.operand,)


@dataclass(eq=False)
class Assign(Expr):
    op: str  # = += -= *= /= %= <<= >>= &= ^= |=
    target: Expr
    value: Expr

    def children(self):
        return (self.target, self.value)


@dataclass(eq=False)
class Index(Expr):
    base: Expr
    index: Expr

    def children(self):
        return (self.base, self.index)


@dataclass(eq=False)
class Member(Expr):
    base: Expr | None
    field: str
    arrow: bool
    points: bool = False  # the member is itself a pointer: indexing it leaves the struct
    is_integer: bool = False  # an integer field (`b->n`): may stand in a loop bound or range
    record: str = ""  # the struct the field belongs to ("struct csr"), "" for anonymous ones

    def children(self):
        return (self.base,) if self.base is not None else ()


@dataclass(eq=False)
class Call(Expr):
    name: str
    args: tuple[Expr, ...]
    function: Function | None = None  # the definition, when it is in this file
    receiver: Expr | None = None  # `v` in v.push_back(x)
    usr: str = ""  # Clang's name for the callee, the same in every translation unit
    callee_malloc: bool = False  # the callee is declared __attribute__((malloc))

    def children(self):
        return ((self.receiver,) if self.receiver is not None else ()) + self.args


@dataclass(eq=False)
class Conditional(Expr):
    cond: Expr
    then: Expr
    orelse: Expr

    def children(self):
        return (self.cond, self.then, self.orelse)


@dataclass(eq=False)
class OtherExpr(Expr):
    """Anything the analysis does not model (sizeof, lambdas, new, ...)."""

    kind: str = ""
    parts: tuple[Expr, ...] = ()

    def children(self):
        return self.parts


# ------------------------------------------------------------------ statements


@dataclass(eq=False)
class Stmt:
    line: int

    def substatements(self) -> tuple[Stmt, ...]:
        return ()

    def expressions(self) -> tuple[Expr, ...]:
        return ()

    def walk(self) -> Iterator[Stmt]:
        yield self
        for sub in self.substatements():
            yield from sub.walk()


@dataclass(eq=False)
class Block(Stmt):
    stmts: list[Stmt]

    def substatements(self):
        return tuple(self.stmts)


@dataclass(eq=False)
class ExprStmt(Stmt):
    expr: Expr

    def expressions(self):
        return (self.expr,)


@dataclass(eq=False)
class Decl(Stmt):
    var: Var
    init: Expr | None

    def expressions(self):
        return (self.init,) if self.init is not None else ()


@dataclass(eq=False)
class If(Stmt):
    cond: Expr
    then: Stmt
    orelse: Stmt | None

    def substatements(self):
        return (self.then,) + ((self.orelse,) if self.orelse else ())

    def expressions(self):
        return (self.cond,)


@dataclass(eq=False)
class LoopStmt(Stmt):
    """Common base of the four loop forms; `info` locates the loop in the file."""

    info: LoopInfo
    body: Stmt

    def substatements(self):
        return (self.body,)


@dataclass(eq=False)
class For(LoopStmt):
    init: Stmt | None = None
    cond: Expr | None = None
    inc: Expr | None = None

    def substatements(self):
        return ((self.init,) if self.init else ()) + (self.body,)

    def expressions(self):
        return tuple(e for e in (self.cond, self.inc) if e is not None)


@dataclass(eq=False)
class RangeFor(LoopStmt):
    var: Var | None = None
    range: Expr | None = None

    def expressions(self):
        return (self.range,) if self.range is not None else ()


@dataclass(eq=False)
class While(LoopStmt):
    cond: Expr | None = None

    def expressions(self):
        return (self.cond,) if self.cond is not None else ()


@dataclass(eq=False)
class DoWhile(LoopStmt):
    cond: Expr | None = None

    def expressions(self):
        return (self.cond,) if self.cond is not None else ()


@dataclass(eq=False)
class Jump(Stmt):
    kind: str  # return | break | continue | goto
    value: Expr | None = None
    label: str | None = None

    def expressions(self):
        return (self.value,) if self.value is not None else ()


@dataclass(eq=False)
class Switch(Stmt):
    cond: Expr
    body: Stmt

    def substatements(self):
        return (self.body,)

    def expressions(self):
        return (self.cond,)


@dataclass(eq=False)
class Labeled(Stmt):
    label: str  # a goto label, "case" or "default"
    stmt: Stmt | None

    def substatements(self):
        return (self.stmt,) if self.stmt else ()


@dataclass(eq=False)
class OtherStmt(Stmt):
    """A statement the analysis does not model (asm, try, OpenMP constructs...)."""

    kind: str
    parts: list[Stmt] = field(default_factory=list)
    exprs: list[Expr] = field(default_factory=list)

    def substatements(self):
        return tuple(self.parts)

    def expressions(self):
        return tuple(self.exprs)


# ------------------------------------------------------------------- top level


@dataclass(eq=False)
class LoopInfo:
    line: int
    column: int
    end_line: int
    start_offset: int
    end_offset: int
    in_macro: bool = False


@dataclass(eq=False)
class Function:
    name: str
    params: list[Var]
    body: Block | None
    line: int
    is_static: bool = False
    is_method: bool = False
    is_template: bool = False
    usr: str = ""  # Clang's name for the function, the same in every translation unit
    is_malloc: bool = False  # declared __attribute__((malloc)): returns memory nothing else points to


@dataclass(frozen=True)
class AliasType:
    """A type as C's effective-type rule sees it (C11 6.5p7): "int" (also for
    unsigned int), "double", "char" (may alias anything), "pointer" (every
    pointer type, conservatively), "record struct s" with the classes of its
    sub-objects in `contains`, or "unknown"."""

    kind: str
    contains: frozenset[str] = frozenset()


@dataclass(eq=False)
class MemberWrite:
    """One way the translation unit may set pointer members of a struct
    (memberwrites.py): `field` set, a store to that member (`value` is the
    stored expression, None when it is not a plain store); `field` None, every
    pointer member of `record` and of the structs in `reach` may change, unless
    `value` is fresh memory (a T viewed from an allocation) or `unless_defined`
    (a USR) is defined by some file of the program."""

    record: str
    field: str | None
    file: str
    line: int
    text: str
    value: Expr | None = None
    function: Function | None = None  # the function around a plain store, when converted
    reach: tuple[str, ...] = ()
    unless_defined: str = ""


@dataclass(eq=False)
class MemberWrites:
    writes: tuple[MemberWrite, ...] = ()
    callees: tuple[tuple[str, str], ...] = ()  # (usr, name) of called functions the project declares
    defined_objects: frozenset[str] = frozenset()  # USRs of the variables defined here
    complete: bool = True
    problem: str = ""  # why not complete


@dataclass(eq=False)
class TranslationUnit:
    path: str
    functions: list[Function]
    globals: list[Var]
    errors: list[str]  # Clang errors, one line each
    is_cpp: bool = False
    #: the C effective-type rule holds (no -fno-strict-aliasing in the flags)
    strict_aliasing: bool = True
    #: functions named outside any function body (global initialisers): their address escapes
    referenced_functions: frozenset[str] = frozenset()
    #: canonical type spelling (the `ctype` of expressions) -> its class under the effective-type rule
    alias_types: dict[str, AliasType] = field(default_factory=dict)
    #: how the file may set pointer members of structs (memberwrites.py)
    member_writes: MemberWrites = field(default_factory=MemberWrites)

    def function(self, name: str) -> Function | None:
        for f in self.functions:
            if f.name == name and f.body is not None:
                return f
        return None
