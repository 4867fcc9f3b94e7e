"""What a call does to memory: pure, writes through its arguments, or unknown.

Library functions are classified by name (C and C++ math, I/O, random
numbers); functions defined in the same file are summarised from their
bodies, recursively, with a depth limit for recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ir

_MATH = {
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "exp", "exp2", "expm1", "log", "log10", "log2", "log1p",
    "sqrt", "cbrt", "pow", "hypot", "fabs", "abs", "labs", "llabs", "fmin", "fmax",
    "fmod", "remainder", "floor", "ceil", "round", "lround", "trunc", "rint", "nearbyint",
    "erf", "erfc", "tgamma", "lgamma", "copysign", "fma", "fdim", "ldexp", "isnan",
    "isinf", "isfinite", "signbit", "min", "max", "clamp",
}  # fmt: skip
_PURE = (
    _MATH
    | {f + "f" for f in _MATH}
    | {f + "l" for f in _MATH}
    | {"size", "length", "empty", "data", "begin", "end", "cbegin", "cend", "at", "front", "back",
       "strlen", "strcmp", "strncmp", "memcmp", "toupper", "tolower", "isdigit", "isalpha",
       "isspace", "omp_get_thread_num", "omp_get_num_threads"}
)  # fmt: skip
_IO = {
    "printf", "fprintf", "puts", "fputs", "putchar", "fputc", "putc", "scanf", "fscanf",
    "sscanf", "fwrite", "fread", "fgets", "getchar", "fgetc", "getc", "fopen", "fclose",
    "fflush", "perror", "write", "read", "vprintf", "vfprintf", "operator<<", "operator>>",
}  # fmt: skip
_HIDDEN_STATE = {"rand", "srand", "random", "srandom", "drand48", "lrand48", "strtok", "time", "clock"}
_EXITS = {"exit", "abort", "_Exit", "quick_exit", "longjmp", "__assert_fail", "terminate"}
_WRITES_FIRST_ARG = {"memset", "memcpy", "memmove", "strcpy", "strncpy", "strcat", "sprintf", "snprintf"}
_THREAD_SAFE_ALLOC = {"malloc", "calloc", "free", "aligned_alloc", "realloc"}
#: Library calls that neither synchronise nor touch the program's named storage
#: (the race checks' view of calls: callaccesses, calleffects, scan's cross-file test).
INERT_CALLS = frozenset(_PURE) | _HIDDEN_STATE | _THREAD_SAFE_ALLOC | _EXITS | {
    "omp_get_thread_num", "omp_get_num_threads", "omp_get_max_threads", "omp_get_wtime", "omp_in_parallel",
    "omp_get_level", "omp_get_team_num", "omp_get_num_procs",
}  # fmt: skip
_MUTATING_METHODS = {
    "push_back", "emplace_back", "pop_back", "insert", "erase", "clear", "resize",
    "reserve", "assign", "push", "pop", "emplace", "swap", "push_front", "pop_front",
}  # fmt: skip


@dataclass(frozen=True)
class CallEffect:
    name: str
    line: int
    kind: str  # pure | io | hidden-state | exit | writes-args | alloc | unknown | mutates
    why: str = ""
    written_args: frozenset[int] = frozenset()
    written_globals: tuple[ir.Var, ...] = ()
    read_globals: tuple[ir.Var, ...] = ()
    modifies_receiver: bool = False


@dataclass
class _Summary:
    pure: bool = True
    why: str = ""
    written_params: set[int] = field(default_factory=set)
    written_globals: set[ir.Var] = field(default_factory=set)
    read_globals: set[ir.Var] = field(default_factory=set)
    io: bool = False


def classify_call(call: ir.Call, functions: dict[str, ir.Function]) -> CallEffect:
    name = call.name.split("::")[-1]
    base = CallEffect(name=call.name, line=call.line, kind="pure")
    if call.receiver is not None:
        if name in _MUTATING_METHODS:
            return _replace(base, kind="mutates", why=f"changes {call.receiver.text}", modifies_receiver=True)
        if name in _PURE:
            return base
    if name in _IO:
        return _replace(base, kind="io", why="performs I/O, whose order would change")
    if name in _HIDDEN_STATE:
        return _replace(base, kind="hidden-state", why="changes hidden library state")
    if name in _EXITS:
        return _replace(base, kind="exit", why="ends the program")
    if name in _WRITES_FIRST_ARG:
        return _replace(base, kind="writes-args", written_args=frozenset({0}))
    if name in _THREAD_SAFE_ALLOC:
        return _replace(base, kind="alloc")
    function = call.function or functions.get(call.name)
    if function is not None and function.body is not None:
        summary = summarize(function, functions, depth=0)
        if not summary.pure:
            kind = "io" if summary.io else "unknown"
            return _replace(base, kind=kind, why=summary.why)
        kind = "writes-args" if summary.written_params or summary.written_globals else "pure"
        return _replace(
            base,
            kind=kind,
            written_args=frozenset(summary.written_params),
            written_globals=tuple(sorted(summary.written_globals, key=lambda v: v.name)),
            read_globals=tuple(sorted(summary.read_globals, key=lambda v: v.name)),
        )
    if name in _PURE:
        return base
    return _replace(base, kind="unknown", why="defined elsewhere, its side effects are unknown")


def _replace(effect: CallEffect, **changes) -> CallEffect:
    from dataclasses import replace

    return replace(effect, **changes)


def summarize(function: ir.Function, functions: dict[str, ir.Function], depth: int) -> _Summary:
    """Side effects of a function defined in this file."""
    summary = _Summary()
    if depth > 4:
        return _Summary(pure=False, why=f"{function.name} is recursive or nested too deeply")
    params = {p: i for i, p in enumerate(function.params)}
    for stmt in function.body.walk() if function.body else ():
        if isinstance(stmt, ir.OtherStmt):
            return _Summary(pure=False, why=f"{function.name} contains {stmt.kind.replace('_', ' ')}")
        for expr in stmt.expressions():
            for e in expr.walk():
                _note(e, function, functions, params, summary, depth)
                if not summary.pure:
                    return summary
    return summary


def _note(e, function, functions, params, summary: _Summary, depth: int) -> None:
    if isinstance(e, ir.Name) and e.var is not None and e.var.kind in ("global", "static"):
        summary.read_globals.add(e.var)
    target = None
    if isinstance(e, ir.Assign):
        target = e.target
    elif isinstance(e, ir.Unary) and e.op in ("++", "--", "post++", "post--"):
        target = e.operand
    if target is not None:
        root = _root_var(target)
        through_memory = not isinstance(target, ir.Name)
        if root is None:
            summary.pure = False
            summary.why = f"{function.name} writes {target.text}"
        elif root.kind in ("global", "static"):
            summary.written_globals.add(root)
        elif root in params and (root.is_reference or (through_memory and (root.is_pointer or root.is_array))):
            summary.written_params.add(params[root])
        elif through_memory and (root.is_pointer or root.is_reference):
            summary.pure = False
            summary.why = f"{function.name} writes through the pointer {root.name}"
    if isinstance(e, ir.Call):
        inner = classify_call_summary(e, functions, depth)
        if inner is not None:
            summary.pure = False
            summary.io = inner[1]
            summary.why = f"{function.name} calls {e.name}, which {inner[0]}"


def classify_call_summary(call: ir.Call, functions, depth: int) -> tuple[str, bool] | None:
    """None when the callee is harmless inside a summarised function."""
    name = call.name.split("::")[-1]
    if name in _IO:
        return "performs I/O", True
    if name in _HIDDEN_STATE or name in _EXITS:
        return "changes hidden library state", False
    if name in _WRITES_FIRST_ARG or name in _THREAD_SAFE_ALLOC:
        return None if name in _THREAD_SAFE_ALLOC else ("writes memory", False)
    if call.receiver is not None and name in _MUTATING_METHODS:
        return f"changes {call.receiver.text}", False
    function = call.function or functions.get(call.name)
    if function is not None and function.body is not None:
        inner = summarize(function, functions, depth + 1)
        if not inner.pure or inner.written_globals or inner.written_params:
            return "has side effects", inner.io
        return None
    if name in _PURE:
        return None
    return "is defined elsewhere", False


def _root_var(e: ir.Expr) -> ir.Var | None:
    name = ir.root_name(e, through_offsets=True)
    return name.var if name is not None else None
