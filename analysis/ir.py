"""ompilot's own small syntax tree for function bodies.

The front end (frontend.py) is the only module that sees libclang cursors; it
turns them into these nodes. The analysis works on these alone, so it can be
read, tested and reasoned about without Clang.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar, Iterator, TypeVar

if TYPE_CHECKING:
    from typing import dataclass_transform
else:  # it only informs type checkers (and typing has it from Python 3.11 on)

    def dataclass_transform(**_):
        return lambda cls: cls


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
    #: a one-dimensional integer array whose contents the file fixes (`const` elements,
    #: or `static` storage): its initial values as Clang folds them (zeros past the
    #: initialiser's end); None otherwise. `fixed_const`: the elements are const.
    initial_values: tuple[int, ...] | None = None
    fixed_const: bool = False
    is_thread_local: bool = False  # _Thread_local / __thread / thread_local: one per thread
    is_internal: bool = False  # a variable of its file only (`static` at file scope, anonymous namespace)

    @property
    def is_array(self) -> bool:
        return self.array_dims is not None

    def __repr__(self) -> str:
        return f"Var({self.name})"


# ------------------------------------------------------------------ the trees

_Node = TypeVar("_Node", bound="Node")


def _preorder(root: _Node, children: Callable[[_Node], tuple[_Node, ...]]) -> Iterator[_Node]:
    """`root`, then the subtree of each of its children in turn."""
    yield root
    for child in children(root):
        yield from _preorder(child, children)


@dataclass_transform(eq_default=False)
@dataclass(eq=False)
class Node:
    """An expression or a statement: a dataclass (every subclass is made one,
    compared by identity) whose kind names the fields holding its sub-nodes,
    in source order, as pycparser's node table does."""

    line: int
    child_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(eq=False)(cls)

    def children(self) -> tuple[Node, ...]:
        """The nodes in `child_fields`: None left out, lists and tuples spread."""
        out: list[Node] = []
        for name in self.child_fields:
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                out.extend(value)
            elif value is not None:
                out.append(value)
        return tuple(out)


# ----------------------------------------------------------------- expressions


class Expr(Node):
    text: str  # source spelling, for messages
    #: Clang's canonical type of the expression ("int", "double *"); set on
    #: names, subscripts, members, unary and binary operators, "" when not known
    ctype: str = field(default="", kw_only=True)

    def walk(self) -> Iterator[Expr]:
        """This expression and every expression inside it, in source order."""
        return _preorder(self, lambda expr: expr.children())


class Name(Expr):
    name: str
    var: Var | None = None  # None for functions and enumerators
    value: int | None = None  # enumerator or constexpr value


class Const(Expr):
    value: int | float | None = None  # None for strings and the like


class Binary(Expr):
    op: str
    lhs: Expr
    rhs: Expr
    child_fields = ("lhs", "rhs")


class Unary(Expr):
    op: str  # ++ -- (prefix), post++ post--, - + ! ~ * &
    operand: Expr
    child_fields = ("operand",)


class Assign(Expr):
    op: str  # = += -= *= /= %= <<= >>= &= ^= |=
    target: Expr
    value: Expr
    child_fields = ("target", "value")


class Index(Expr):
    base: Expr
    index: Expr
    child_fields = ("base", "index")


class Member(Expr):
    base: Expr | None
    field: str
    arrow: bool
    points: bool = False  # the member is itself a pointer: indexing it leaves the struct
    is_integer: bool = False  # an integer field (`b->n`): may stand in a loop bound or range
    record: str = ""  # the struct the field belongs to ("struct csr"), "" for anonymous ones
    child_fields = ("base",)


class Call(Expr):
    name: str
    args: tuple[Expr, ...]
    function: Function | None = None  # the definition, when it is in this file
    receiver: Expr | None = None  # `v` in v.push_back(x)
    usr: str = ""  # Clang's name for the callee, the same in every translation unit
    callee_malloc: bool = False  # the callee is declared __attribute__((malloc))
    child_fields = ("receiver", "args")


class Conditional(Expr):
    cond: Expr
    then: Expr
    orelse: Expr
    child_fields = ("cond", "then", "orelse")


class OtherExpr(Expr):
    """Anything the analysis does not model (sizeof, lambdas, new, ...)."""

    kind: str = ""
    parts: tuple[Expr, ...] = ()
    child_fields = ("parts",)


# ------------------------------------------------------------------ statements


class Stmt(Node):
    """Its children are its nested statements and its own expressions, both in
    `child_fields`; substatements() and expressions() tell them apart."""

    def substatements(self) -> tuple[Stmt, ...]:
        return tuple(child for child in self.children() if isinstance(child, Stmt))

    def expressions(self) -> tuple[Expr, ...]:
        """The statement's own expressions (a loop's condition, not those of its body)."""
        return tuple(child for child in self.children() if isinstance(child, Expr))

    def walk(self) -> Iterator[Stmt]:
        """This statement and every statement nested in it, in source order (not their expressions)."""
        return _preorder(self, lambda stmt: stmt.substatements())


class Block(Stmt):
    stmts: list[Stmt]
    child_fields = ("stmts",)


class ExprStmt(Stmt):
    expr: Expr
    child_fields = ("expr",)


class Decl(Stmt):
    var: Var
    init: Expr | None
    child_fields = ("init",)


class If(Stmt):
    cond: Expr
    then: Stmt
    orelse: Stmt | None
    child_fields = ("cond", "then", "orelse")


class LoopStmt(Stmt):
    """Common base of the four loop forms; `info` locates the loop in the file."""

    info: LoopInfo
    body: Stmt
    child_fields = ("body",)


class For(LoopStmt):
    init: Stmt | None = None
    cond: Expr | None = None
    inc: Expr | None = None
    child_fields = ("init", "cond", "inc", "body")


class RangeFor(LoopStmt):
    var: Var | None = None
    range: Expr | None = None
    child_fields = ("range", "body")


class While(LoopStmt):
    cond: Expr | None = None
    child_fields = ("cond", "body")


class DoWhile(LoopStmt):
    cond: Expr | None = None
    child_fields = ("body", "cond")


class Jump(Stmt):
    kind: str  # return | break | continue | goto
    value: Expr | None = None
    label: str | None = None
    child_fields = ("value",)


class Switch(Stmt):
    cond: Expr
    body: Stmt
    child_fields = ("cond", "body")


class Labeled(Stmt):
    label: str  # a goto label, "case" or "default"
    stmt: Stmt | None
    child_fields = ("stmt",)


class OtherStmt(Stmt):
    """A statement the analysis does not model (asm, try, OpenMP constructs...)."""

    kind: str
    parts: list[Stmt] = field(default_factory=list)
    exprs: list[Expr] = field(default_factory=list)
    child_fields = ("parts", "exprs")


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


def root_name(e: Expr, through_offsets: bool = False) -> Name | None:
    """The variable an lvalue is rooted in: `a` of `a[i].f`, `*a`, `a->f`
    (and of `a + k` with through_offsets); None when it is not a name."""
    while True:
        if isinstance(e, Name):
            return e
        if isinstance(e, Index):
            e = e.base
        elif isinstance(e, Member) and e.base is not None:
            e = e.base
        elif isinstance(e, Unary) and e.op == "*":
            e = e.operand
        elif through_offsets and isinstance(e, Binary) and e.op in ("+", "-"):
            e = e.lhs
        else:
            return None
