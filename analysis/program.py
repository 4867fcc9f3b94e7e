"""Facts about a whole program, gathered one translation unit at a time.

Phase 1 (`summarise`) turns one parsed file into a small picklable
`FileSummary`: the functions it defines, whether each returns only fresh
memory (allocator evidence), its calls with how each argument is bound, the
functions whose address escapes. Phase 2 (`merge`) joins the summaries of a
program: allocators are found by a fixed point across files (wrappers of
wrappers), and the pointer parameters of each function are proven distinct
pair by pair when every call in the program binds them to distinct objects.
The scan then analyses each file with the merged `ProgramFacts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from . import ir
from .loops import written_vars

#: Library calls that return memory nothing else points to. posix_memalign
#: returns it through its first argument.
BUILTIN_ALLOCATORS = ("malloc", "calloc", "realloc", "aligned_alloc", "posix_memalign", "new")
_OUT_PARAM_ALLOCATORS = ("posix_memalign",)
#: Library calls that return their first argument: `memset(xmalloc(n), 0, n)` is fresh memory.
_RETURN_FIRST_ARGUMENT = ("memset", "memcpy", "memmove")
#: A need of the form "a call of F returns its argument K, which needs these
#: allocators" (`checked(malloc(n), n)`, F defined in any file of the program):
#: met when F returns its parameter K unchanged on every path and the inner
#: needs are met. Spelled as one string so needs stay sets of strings.
_SEP = "\x1f"
_NULL_KINDS = ("cxx_null_ptr_literal_expr", "gnu_null_expr")

NOT_IN_VIEW = (
    "an external function whose callers are not all in view "
    "(analyse the whole program: give its compile_commands.json or all its sources)"
)


# ------------------------------------------------------------------ summaries


@dataclass(frozen=True)
class Bound:
    """A call argument that is one whole object of the caller: an array, a
    container, or a local pointer only ever set by allocator calls."""

    object: str  # unique in the program
    text: str  # the argument as written
    allocators: frozenset[str]  # keys of the allocators it must come from; empty: an array


@dataclass(frozen=True)
class ValueSource:
    """Where a pointer value comes from: allocator calls (`needs`, at the
    allocation `sites`, labelled "pool_alloc@main.c:23"), loads of struct
    members (`members`, (record, field)), or NULL (all empty)."""

    needs: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()
    members: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class CallSite:
    callee: str  # key (Clang USR, the same in every file)
    where: str  # "main.c:12"
    args: tuple[Bound | str, ...]  # a Bound, or the text of an argument that is not a whole object
    #: where each argument's pointer value comes from; None: not known
    sources: tuple[ValueSource | None, ...] = ()


@dataclass(frozen=True)
class Store:
    """A write of pointer members of a struct (ir.MemberWrite, with its value
    reduced to a ValueSource): `field` None for every pointer member of the
    structs in `reach`."""

    record: str
    field: str | None
    where: str
    text: str
    source: ValueSource | None  # the stored value; None: anything
    reach: tuple[str, ...] = ()
    unless_defined: str = ""


@dataclass(frozen=True)
class Definition:
    key: str
    name: str
    file: str
    is_static: bool
    pointer_params: tuple[tuple[int, str], ...]  # (position, name) of pointer and reference parameters
    reassigns_params: bool  # a pointer parameter is assigned in the body: call-site facts do not hold
    returns: frozenset[str] | None  # allocator keys whose results it returns; None: it returns other things
    declared_malloc: bool
    returns_param: int | None = None  # every return gives back this parameter, never reassigned
    reassigned: tuple[int, ...] = ()  # positions of the pointer parameters the body assigns


@dataclass(frozen=True)
class FileSummary:
    path: str
    parsed: bool = True
    definitions: tuple[Definition, ...] = ()
    calls: tuple[CallSite, ...] = ()
    escaping: frozenset[str] = frozenset()  # function names used other than by a direct call
    declared_allocators: tuple[tuple[str, str], ...] = ()  # (key, name) of callees declared malloc
    has_main: bool = False
    problem: str | None = None  # why the file gave no facts (parsed=False)
    pass_needs: frozenset[str] = frozenset()  # every pass-through need (see pass_need) this file has
    stores: tuple[Store, ...] = ()  # writes of struct pointer members (memberwrites.py)
    callees: tuple[tuple[str, str], ...] = ()  # (key, name) of called functions the project declares
    defined_objects: frozenset[str] = frozenset()  # USRs of the variables it defines
    members_problem: str = ""  # why its member writes are not known ("" when they are)
    #: calleffects.FunctionEffects of each function it defines: the shared storage it touches
    effects: tuple = ()
    #: (callee key, "main.c:15") of calls every thread of a worksharing loop makes at once
    concurrent: tuple[tuple[str, str], ...] = ()


def callee_key(call: ir.Call) -> str:
    """How calls and definitions of a function meet across files: its USR."""
    if call.receiver is None and call.name in BUILTIN_ALLOCATORS:
        return call.name
    return call.usr or call.name


def summarise(tu: ir.TranslationUnit, sources: dict[ir.Function, dict] | None = None,
              pragma_lines: dict[int, str] | None = None) -> FileSummary:
    """`sources`: local_sources of each defined function, when already known;
    `pragma_lines`: the file's `#pragma omp` lines (line -> text)."""
    from . import calleffects, concurrentcalls, provenance

    defined = [f for f in tu.functions if f.body is not None]
    sources = sources if sources is not None else {f: local_sources(f) for f in defined}
    objects: dict[ir.Var, str] = {}
    sites = {f: provenance.local_sites(f, sources[f], tu.path) for f in defined}
    calls: list[CallSite] = []
    escaping: set[str] = set(tu.referenced_functions)
    declared: dict[str, str] = {}
    for function in defined:
        for stmt in function.body.walk():
            for e in stmt.expressions():
                for x in e.walk():
                    if isinstance(x, ir.Call):
                        if x.callee_malloc:
                            declared[callee_key(x)] = x.name
                        if x.args:
                            args = tuple(_binding(a, sources[function], objects, tu.path) for a in x.args)
                            found = tuple(provenance.argument_source(a, sources[function], sites[function], tu.path)
                                          for a in x.args)
                            calls.append(CallSite(callee_key(x), f"{tu.path}:{x.line}", args, found))
                    elif isinstance(x, ir.Name) and x.var is None and x.value is None:
                        escaping.add(x.name)
    definitions = tuple(_definition(f, sources[f], tu.path) for f in defined)
    needs = [n for d in definitions if d.returns for n in d.returns]
    needs += [n for c in calls for b in c.args if isinstance(b, Bound) for n in b.allocators]
    needs += [n for by_var in sources.values() for found in by_var.values() for n in found]
    stores = provenance.stores(tu, sources, sites)
    needs += [n for st in stores if st.source for n in st.source.needs]
    needs += [n for c in calls for a in c.sources if a for n in a.needs]
    writes = tu.member_writes
    return FileSummary(
        path=tu.path,
        definitions=definitions,
        calls=tuple(calls),
        escaping=frozenset(escaping),
        declared_allocators=tuple(sorted(declared.items())),
        has_main=any(f.name == "main" for f in defined),
        pass_needs=frozenset(_all_pass_needs(needs)),
        stores=stores,
        callees=writes.callees,
        defined_objects=writes.defined_objects,
        members_problem="" if writes.complete else writes.problem,
        effects=calleffects.summarise(tu, pragma_lines or {}, callee_key),
        concurrent=concurrentcalls.concurrent_calls(tu, pragma_lines or {}, callee_key),
    )


def pass_need(callee: str, position: int, inner: frozenset[str]) -> str:
    return _SEP.join(("", "pass", callee, str(position), *sorted(inner)))


def _parse_pass_need(need: str) -> tuple[str, int, frozenset[str]] | None:
    parts = need.split(_SEP)
    if len(parts) < 4 or parts[:2] != ["", "pass"]:
        return None
    return parts[2], int(parts[3]), frozenset(parts[4:])


def _all_pass_needs(needs) -> set[str]:
    return {n for n in needs if n.startswith(_SEP)}


def need_name(need: str, names: dict[str, str]) -> str:
    """A need as people read it: `xmalloc`, or `checked(xmalloc)` for a pass-through."""
    parsed = _parse_pass_need(need)
    if parsed is None:
        return names.get(need, need)
    callee, _, inner = parsed
    return f"{names.get(callee, callee)}({', '.join(sorted(need_name(n, names) for n in inner))})"


def _definition(function: ir.Function, sources, path: str) -> Definition:
    pointer_params = tuple((i, p.name) for i, p in enumerate(function.params) if p.is_pointer or p.is_reference)
    reassigned = written_vars(function.body) if pointer_params else set()
    return Definition(
        key=function.usr or function.name,
        name=function.name,
        file=path,
        is_static=function.is_static,
        pointer_params=pointer_params,
        reassigns_params=any(function.params[i] in reassigned for i, _ in pointer_params),
        returns=_returned_allocations(function, sources),
        declared_malloc=function.is_malloc,
        returns_param=_returned_parameter(function),
        reassigned=tuple(i for i, _ in pointer_params if function.params[i] in reassigned),
    )


def _returned_parameter(function: ir.Function) -> int | None:
    """The parameter every `return` gives back unchanged, as `checked(p, n)` does."""
    pointers = {p: i for i, p in enumerate(function.params) if p.is_pointer}
    found: set[int] = set()
    for stmt in function.body.walk():
        if isinstance(stmt, ir.Jump) and stmt.kind == "return":
            value = stmt.value
            if not (isinstance(value, ir.Name) and value.var in pointers):
                return None
            found.add(pointers[value.var])
    if len(found) != 1:
        return None
    (position,) = found
    if function.params[position] in written_vars(function.body):
        return None
    return position


def _returned_allocations(function: ir.Function, sources) -> frozenset[str] | None:
    """The allocators whose results are all this function returns (NULL aside)."""
    needs: set[str] = set()
    returned = False
    for stmt in function.body.walk():
        if isinstance(stmt, ir.Jump) and stmt.kind == "return" and stmt.value is not None:
            source = allocation_source(stmt.value, sources)
            if source is None:
                return None
            needs |= source
            returned = returned or bool(source)
    return frozenset(needs) if returned else None


def allocation_source(e: ir.Expr | None, sources: dict[ir.Var, frozenset[str]] | None = None) -> frozenset[str] | None:
    """The allocators a pointer value comes from (empty for NULL), or None when
    it may come from anything else. `sources` are local pointers known to hold
    only allocations (for `return p;`); without them a name is never fresh."""
    if isinstance(e, ir.Const):
        return frozenset() if e.value == 0 else None
    if isinstance(e, ir.Call):
        if e.name in _OUT_PARAM_ALLOCATORS:
            return None
        if e.name in _RETURN_FIRST_ARGUMENT and e.receiver is None and e.args:
            return allocation_source(e.args[0], sources)
        fresh_args = [(i, allocation_source(a, sources)) for i, a in enumerate(e.args)]
        fresh_args = [(i, s) for i, s in fresh_args if s]
        if len(fresh_args) == 1 and not any(n.startswith(_SEP) for n in fresh_args[0][1]):
            position, inner = fresh_args[0]  # maybe a function that checks and returns it
            return frozenset({pass_need(callee_key(e), position, inner)})
        return frozenset({callee_key(e)})
    if isinstance(e, ir.OtherExpr):
        if e.kind == "cxx_new_expr":
            return frozenset({"new"})
        return frozenset() if e.kind in _NULL_KINDS else None
    if isinstance(e, ir.Conditional):
        then, orelse = allocation_source(e.then, sources), allocation_source(e.orelse, sources)
        return None if then is None or orelse is None else then | orelse
    if isinstance(e, ir.Name) and sources is not None and e.var in sources:
        return sources[e.var]
    return None


def local_sources(function: ir.Function) -> dict[ir.Var, frozenset[str]]:
    """Local pointers whose every assignment is an allocator call (or NULL, or
    an array the function names only there), with the allocators they need.

    `t = a; a = b; b = t;` swaps two such pointers: they still point at two
    distinct allocations, so the swap keeps them (and `t` is dropped).
    """
    needs: dict[ir.Var, frozenset[str] | None] = {}

    def assign(var: ir.Var, source: frozenset[str] | None) -> None:
        if var in needs and needs[var] is None:
            return
        needs[var] = None if source is None else needs.get(var, frozenset()) | source

    swaps = _swap_statements(function.body)
    once = _arrays_named_once(function.body)
    for stmt in function.body.walk():
        if id(stmt) in swaps:
            continue
        if isinstance(stmt, ir.Decl) and stmt.var.is_pointer and stmt.var.kind == "local":
            assign(stmt.var, frozenset() if stmt.init is None or _names_array(stmt.init, once) else allocation_source(stmt.init))
        for e in stmt.expressions():
            out_params = set()
            for x in e.walk():  # pre-order: a call comes before its arguments
                if isinstance(x, ir.Call):
                    if x.name in _OUT_PARAM_ALLOCATORS and x.args:
                        first = x.args[0]
                        if isinstance(first, ir.Unary) and first.op == "&" and isinstance(first.operand, ir.Name):
                            if first.operand.var is not None:
                                out_params.add(id(first))
                                assign(first.operand.var, frozenset({x.name}))
                elif isinstance(x, ir.Assign) and isinstance(x.target, ir.Name) and x.target.var is not None:
                    if x.target.var.is_pointer:
                        source = allocation_source(x.value) if x.op == "=" else None
                        if source is None and x.op == "=" and _names_array(x.value, once):
                            source = frozenset()
                        assign(x.target.var, source)
                elif isinstance(x, ir.Unary) and x.op == "&" and isinstance(x.operand, ir.Name) and x.operand.var:
                    if id(x) not in out_params:
                        assign(x.operand.var, None)
    return {v: n for v, n in needs.items() if n is not None and v.kind == "local"}


def _arrays_named_once(body: ir.Stmt) -> set[ir.Var]:
    """Arrays this function names exactly once: a pointer set to one of them is
    the only way the function reaches it, so it is as good as a fresh object."""
    counts: dict[ir.Var, int] = {}
    for stmt in body.walk():
        for e in stmt.expressions():
            for x in e.walk():
                if isinstance(x, ir.Name) and x.var is not None and x.var.is_array and x.var.kind != "param":
                    counts[x.var] = counts.get(x.var, 0) + 1
    return {v for v, n in counts.items() if n == 1}


def _names_array(e: ir.Expr | None, once: set[ir.Var]) -> bool:
    return isinstance(e, ir.Name) and e.var in once


def _swap_statements(body: ir.Stmt) -> set[int]:
    """ids of the last two statements of each `t = a; a = b; b = t;` triple."""
    found: set[int] = set()
    for block in body.walk():
        if not isinstance(block, ir.Block):
            continue
        stmts = block.stmts
        for first, second, third in zip(stmts, stmts[1:], stmts[2:]):
            pairs = [_copy(s) for s in (first, second, third)]
            if None in pairs:
                continue
            (t, a), (a2, b), (b2, t2) = pairs
            if a is a2 and b is b2 and t is t2 and len({t, a, b}) == 3:
                found.update((id(second), id(third)))
    return found


def _copy(s: ir.Stmt) -> tuple[ir.Var, ir.Var] | None:
    """(dst, src) for `dst = src;` or `T *dst = src;` between pointer variables."""
    if isinstance(s, ir.Decl) and isinstance(s.init, ir.Name) and s.init.var is not None:
        return (s.var, s.init.var) if s.var.is_pointer else None
    if isinstance(s, ir.ExprStmt) and isinstance(s.expr, ir.Assign) and s.expr.op == "=":
        target, value = s.expr.target, s.expr.value
        if isinstance(target, ir.Name) and isinstance(value, ir.Name) and target.var and value.var:
            return (target.var, value.var) if target.var.is_pointer else None
    return None


def whole_object(e: ir.Expr, sources: dict[ir.Var, frozenset[str]]) -> tuple[ir.Var, frozenset[str]] | None:
    """A distinct object passed whole, with the allocators it needs: an array,
    a local pointer to allocations, or a local container, as `a` or `&a[0]`;
    not `a + 1` (which could overlap `a`)."""
    from .loops import to_affine

    if isinstance(e, ir.Name) and e.var is not None:
        v = e.var
        if (v.is_array and v.kind != "param") or (v.is_container and not v.is_reference):
            return v, frozenset()
        if v in sources:
            return v, sources[v]
        return None
    if isinstance(e, ir.Unary) and e.op == "&" and isinstance(e.operand, ir.Index):
        index = to_affine(e.operand.index)
        if index is not None and index.is_constant and index.const == 0:
            return whole_object(e.operand.base, sources)
    return None


def _binding(e: ir.Expr, sources, objects: dict[ir.Var, str], path: str) -> Bound | str:
    found = whole_object(e, sources)
    if found is None:
        return e.text
    var, needs = found
    name = objects.setdefault(var, f"{path}#{len(objects)}")
    return Bound(object=name, text=e.text, allocators=needs)


# ---------------------------------------------------------------------- merge


@dataclass(frozen=True)
class ParamFacts:
    """What the program says about the pointer parameters of one function."""

    distinct: frozenset[frozenset[str]] = frozenset()  # pairs of parameter names proven distinct
    proof: str = ""  # how, for the notes: "every caller passes distinct allocations from xmalloc"
    missing: dict[frozenset[str], str] = field(default_factory=dict)  # pair -> what is missing to prove it


@dataclass(frozen=True)
class ProgramFacts:
    allocators: frozenset[str] = frozenset(BUILTIN_ALLOCATORS)  # keys
    params: dict[str, ParamFacts] = field(default_factory=dict)  # function key -> facts
    #: provenance.MemberFacts: what pointer members of structs hold (None: nothing known)
    members: object | None = None
    #: function key -> pointer parameter -> provenance.Provenance, or why not known
    param_sources: dict[str, dict] = field(default_factory=dict)
    #: function key -> calleffects.FunctionEffects, calls into other files resolved
    effects: dict[str, object] = field(default_factory=dict)
    #: function key -> "main.c:15", a call every thread of a worksharing loop makes at once
    concurrent: dict[str, str] = field(default_factory=dict)

    def for_function(self, function: ir.Function) -> ParamFacts | None:
        return self.params.get(function.usr or function.name)

    def member_source(self, record: str, name: str):
        """provenance.Provenance of `record.name`, or why it is not known."""
        from .provenance import NOT_WHOLE

        if self.members is None:
            return f"what {record}.{name} holds is not known: {NOT_WHOLE}"
        return self.members.of(record, name)

    def param_source(self, function: ir.Function, name: str):
        """provenance.Provenance of a pointer parameter, or why it is not known."""
        found = self.param_sources.get(function.usr or function.name, {}).get(name)
        return found if found is not None else f"{function.name}, {NOT_IN_VIEW}"


def merge(summaries: list[FileSummary], *, whole: bool, why_not_whole: str | None = None) -> ProgramFacts:
    """Program facts from the summaries of its files.

    whole=True: the summaries are every translation unit of one program, so
    the calls of any function are all among them. Otherwise only static
    functions, and functions of a file that defines main (taken as a program
    of its own, as ompilot has always done for single files), have their
    callers in view; `why_not_whole` says why the rest do not.
    """
    definitions: dict[str, list[Definition]] = {}
    for s in summaries:
        for d in s.definitions:
            definitions.setdefault(d.key, []).append(d)
    allocators, names = _allocators(summaries, definitions)
    calls: dict[str, list[CallSite]] = {}
    for s in summaries:
        for c in s.calls:
            calls.setdefault(c.callee, []).append(c)
    escaping = {n for s in summaries for n in s.escaping}
    mains = {s.path for s in summaries if s.has_main}
    params: dict[str, ParamFacts] = {}
    from . import provenance

    members = provenance.merge_members(summaries, definitions, allocators, names, whole)
    sources: dict[str, dict] = {}
    for key, defs in definitions.items():
        d = defs[0]
        in_view = d.is_static or whole or d.file in mains
        if d.pointer_params:
            problem = _program_problem(d, defs, calls.get(key, []), in_view, d.name in escaping, why_not_whole)
            sources[key] = provenance.param_sources(d, problem, calls.get(key, []), allocators, names, members)
        if len(d.pointer_params) < 2:
            continue
        params[key] = _param_facts(d, defs, calls.get(key, []), in_view, d.name in escaping, allocators, names, why_not_whole)
    from . import calleffects

    own = {e.key: e for s in summaries for e in s.effects}
    return ProgramFacts(allocators=frozenset(allocators), params=params, members=members, param_sources=sources,
                        effects=calleffects.resolve(own),
                        concurrent={key: where for s in summaries for key, where in reversed(s.concurrent)})


def _allocators(summaries, definitions) -> tuple[set[str], dict[str, str]]:
    """Keys of the functions that return only fresh memory: the library's, the
    declared ones, and wrappers of those (found until nothing changes)."""
    allocators = set(BUILTIN_ALLOCATORS)
    names = {k: k for k in BUILTIN_ALLOCATORS}
    for s in summaries:
        for key, name in s.declared_allocators:
            allocators.add(key)
            names[key] = name
    unique = {k: defs[0] for k, defs in definitions.items() if len(defs) == 1}
    for key, d in unique.items():
        names[key] = d.name
        if d.declared_malloc:
            allocators.add(key)
    for key in {k for k, defs in definitions.items() if len(defs) > 1}:
        allocators.discard(key)  # two bodies: which one returns what is not known
    passes = {n for s in summaries for n in s.pass_needs}
    changed = True
    while changed:
        changed = False
        for key, d in unique.items():
            if key not in allocators and d.returns is not None and d.returns <= allocators:
                allocators.add(key)
                changed = True
        for need in passes - allocators:
            callee, position, inner = _parse_pass_need(need)
            d = unique.get(callee)
            if d is not None and d.returns_param == position and inner <= allocators:
                allocators.add(need)  # checks and returns memory that is fresh
                changed = True
            elif callee in allocators and inner <= allocators:
                allocators.add(need)  # an allocator itself, given fresh memory too (realloc)
                changed = True
    return allocators, names


def _program_problem(d: Definition, defs, calls, in_view, escapes, why_not_whole) -> str | None:
    """Why the calls in view are not all the calls of `d` (None: they are)."""
    if len(defs) > 1:
        return f"{d.name} is defined more than once ({', '.join(x.file for x in defs)})"
    if not in_view:
        return f"{d.name}, {why_not_whole or NOT_IN_VIEW}"
    if escapes:
        return f"{d.name}, whose address is taken: calls through that pointer are not seen"
    if not calls:
        return f"{d.name}, which nothing in view calls"
    return None


def _param_facts(d: Definition, defs, calls, in_view, escapes, allocators, names, why_not_whole) -> ParamFacts:
    params = dict(d.pointer_params)
    pairs = [frozenset((params[i], params[j])) for i, j in combinations(sorted(params), 2)]
    problem = _program_problem(d, defs, calls, in_view, escapes, why_not_whole)
    if len(defs) == 1 and d.reassigns_params:
        problem = f"{d.name} assigns a pointer parameter, so what callers pass is not what its loops use"
    if problem is not None:
        return ParamFacts(missing={p: problem for p in pairs})
    distinct: set[frozenset[str]] = set()
    missing: dict[frozenset[str], str] = {}
    used: set[str] = set()
    arrays = False
    for (i, x), (j, y) in combinations(sorted(d.pointer_params), 2):
        pair = frozenset((x, y))
        why = None
        for call in calls:
            why = _call_problem(call, i, x, j, y, allocators, names)
            if why:
                break
        if why:
            missing[pair] = f"{d.name}: {why}"
            continue
        distinct.add(pair)
        for call in calls:
            for k in (i, j):
                bound = call.args[k]
                used |= bound.allocators
                arrays = arrays or not bound.allocators
    return ParamFacts(distinct=frozenset(distinct), proof=_proof_text(used, arrays, names, calls), missing=missing)


def _call_problem(call: CallSite, i, x, j, y, allocators, names) -> str | None:
    if max(i, j) >= len(call.args):
        return f"the call at {call.where} passes fewer arguments"
    a, b = call.args[i], call.args[j]
    for bound, param in ((a, x), (b, y)):
        if isinstance(bound, str):
            return f"the call at {call.where} passes {bound} for {param}, not a whole array or allocation of its own"
        unknown = sorted(need_name(k, names) for k in bound.allocators - allocators)
        if unknown:
            return (
                f"the call at {call.where} passes {bound.text} for {param}, which comes from "
                f"{', '.join(unknown)}, not known to return fresh memory"
            )
    if a.object == b.object:
        return f"the call at {call.where} passes {a.text} for both {x} and {y}"
    return None


def _proof_text(allocators: set[str], arrays: bool, names, calls) -> str:
    spelled = sorted({need_name(k, names) for k in allocators})
    if spelled and not arrays:
        what = f"distinct allocations from {', '.join(spelled)}"
    elif spelled:
        what = f"distinct objects (arrays, allocations from {', '.join(spelled)})"
    else:
        what = "distinct arrays"
    files = sorted({c.where.rsplit(":", 1)[0] for c in calls})
    count = f"{len(calls)} call{'s' if len(calls) != 1 else ''} in {', '.join(files)}"
    return f"every caller passes {what} ({count})"


# ------------------------------------------------------ fresh struct members

#: library calls that write no memory of the program (output only)
_OUTPUT_ONLY = {"printf", "fprintf", "puts", "fputs", "putchar", "fputc", "putc", "fwrite", "fflush", "perror", "vprintf", "vfprintf"}
_HARMLESS_EFFECTS = {"pure", "exit", "alloc"}


@dataclass(frozen=True)
class FreshMember:
    """`A->col = pool_alloc(...)`: the only assignment of a pointer member of
    the struct `root` reaches, a top-level statement of the function whose
    value is one allocator call."""

    root: ir.Var
    field: str  # as in accesses.Key fields, without the "*": "->col", ".col"
    position: int  # index of the assignment among the function's top-level statements
    line: int
    source: str  # the allocator, as people read it


@dataclass
class FreshMembers:
    members: list[FreshMember]
    #: root -> indexes of the top-level statements that may change a pointer member of it
    spoiled: dict[ir.Var, set[int]]
    #: id of every statement -> index of the top-level statement around it
    top: dict[int, int]

    def valid_at(self, loop: ir.Stmt) -> list[FreshMember]:
        """Members whose assignment runs before the statement holding `loop`,
        with nothing that may change them from there up to the loop's end."""
        t = self.top.get(id(loop))
        if t is None:
            return []
        return [
            m for m in self.members
            if m.position < t and not any(m.position < i <= t for i in self.spoiled.get(m.root, ()))
        ]  # fmt: skip


def fresh_members(
    function: ir.Function,
    functions: dict[str, ir.Function],
    allocators: frozenset[str],
    fresh_pointers: set[ir.Var],
    strict_aliasing: bool,
    alias_types: dict[str, ir.AliasType],
) -> FreshMembers:
    """Pointer members of one struct object that each hold their own fresh
    allocation. The root is a pointer parameter or a local struct variable
    that the function uses only as `A->f` / `S.f` (never assigned, passed,
    copied or its member's address taken); each member is assigned exactly
    once, at the top level of the body, from one allocator call. Between that
    statement and a loop, no store that may reach the member (by its target
    or, under C's effective-type rule, by its type) and no call that may
    change memory (allocators aside, taken to change nothing the caller sees,
    as the malloc family does) may run. Functions with goto are left alone."""
    empty = FreshMembers([], {}, {})
    if function.body is None:
        return empty
    statements = function.body.stmts
    for stmt in function.body.walk():
        if isinstance(stmt, ir.OtherStmt) or (isinstance(stmt, ir.Jump) and stmt.kind not in ("return", "break", "continue")):
            return empty
    roots = [
        v for v in _variables(function)
        if not v.is_reference and not v.is_array and not v.is_container
        and ((v.kind == "param" and v.is_pointer) or (v.kind == "local" and not v.is_scalar_number
                                                      and (not v.is_pointer or v in fresh_pointers)))
    ]  # fmt: skip
    members: list[FreshMember] = []
    for root in roots:
        members += _root_members(function, root, statements, allocators, fresh_pointers)
    if not members:
        return empty
    top = {id(s): i for i, stmt in enumerate(statements) for s in stmt.walk()}
    spoiled: dict[ir.Var, set[int]] = {}
    for root in {m.root for m in members}:
        own = [m for m in members if m.root is root]
        spoiled[root] = {
            i for i, stmt in enumerate(statements)
            if _may_change_members(stmt, i, root, own, functions, allocators, fresh_pointers, strict_aliasing, alias_types)
        }  # fmt: skip
    return FreshMembers(members, spoiled, top)


def _variables(function: ir.Function) -> list[ir.Var]:
    found = list(function.params)
    found += [s.var for s in function.body.walk() if isinstance(s, ir.Decl)]
    return found


def _all_exprs(function: ir.Function):
    """Every evaluated expression: not the operands of sizeof / alignof."""
    def walk(e: ir.Expr):
        yield e
        if not (isinstance(e, ir.OtherExpr) and e.kind == "cxx_unary_expr"):
            for child in e.children():
                yield from walk(child)

    for stmt in function.body.walk():
        for e in stmt.expressions():
            yield from walk(e)


def _root_members(function: ir.Function, root: ir.Var, statements, allocators, fresh_pointers) -> list[FreshMember]:
    names = bases = 0
    set_at = 0  # a fresh local pointer root: the top-level statement that allocates it
    if root.kind == "local" and root.is_pointer:
        # `g = alloc(...)` once, at the top level; `return g;` aside, only `g->f` after that
        positions = [i for i, s in enumerate(statements) if _sets(s, root)]
        if len(positions) != 1 or sum(_sets(s, root) for s in function.body.walk()) != 1:
            return []
        set_at = positions[0]
        names -= 1 if isinstance(statements[set_at], ir.ExprStmt) else 0
        names -= sum(1 for s in function.body.walk()
                     if isinstance(s, ir.Jump) and isinstance(s.value, ir.Name) and s.value.var is root)
    assigns: dict[str, list[ir.Assign]] = {}
    touched: set[str] = set()  # members whose address is taken or that are stepped
    for e in _all_exprs(function):
        if isinstance(e, ir.Name) and e.var is root:
            names += 1
        elif isinstance(e, ir.Member) and isinstance(e.base, ir.Name) and e.base.var is root:
            bases += 1
        elif isinstance(e, ir.Assign) and _member_of(e.target, root):
            assigns.setdefault(e.target.field, []).append(e)
        elif isinstance(e, ir.Unary) and e.op in ("&", "++", "--", "post++", "post--"):
            if _member_of(e.operand, root):
                touched.add(e.operand.field)
            elif e.op == "&" and _rooted_at(e.operand, root):
                return []  # a pointer into the struct
    if names != bases:
        return []  # the root is assigned, passed, copied or dereferenced whole
    arrow = root.is_pointer
    top_level = {id(s.expr): i for i, s in enumerate(statements) if isinstance(s, ir.ExprStmt)}
    found = []
    for name, writes in assigns.items():
        if len(writes) != 1 or name in touched:
            continue
        (a,) = writes
        position = top_level.get(id(a))
        source = allocation_source(a.value) if a.op == "=" and a.target.points else None
        if position is None or position < set_at or not source or not source <= allocators:
            continue
        call = a.value
        while not isinstance(call, ir.Call) and isinstance(call, ir.Conditional):
            call = call.then
        label = call.name if isinstance(call, ir.Call) else "an allocator"
        found.append(FreshMember(root, ("->" if arrow else ".") + name, position, a.line, label))
    return found


def _sets(stmt: ir.Stmt, var: ir.Var) -> bool:
    """`T *var = init;` or `var = ...;` as the statement itself."""
    if isinstance(stmt, ir.Decl):
        return stmt.var is var and stmt.init is not None
    return (isinstance(stmt, ir.ExprStmt) and isinstance(stmt.expr, ir.Assign)
            and isinstance(stmt.expr.target, ir.Name) and stmt.expr.target.var is var)


def _member_of(e: ir.Expr, root: ir.Var) -> bool:
    return isinstance(e, ir.Member) and isinstance(e.base, ir.Name) and e.base.var is root


def _rooted_at(e: ir.Expr, root: ir.Var) -> bool:
    while isinstance(e, (ir.Member, ir.Index)) and e.base is not None:
        if isinstance(e, ir.Index) and isinstance(e.base, ir.Member) and e.base.points:
            return False  # `&A->col[k]` points into the allocation, not into the struct
        e = e.base
    return isinstance(e, ir.Name) and e.var is root


def _may_change_members(stmt, index, root, own, functions, allocators, fresh_pointers, strict_aliasing, alias_types) -> bool:
    """May this top-level statement change a pointer member of `root`?"""
    from .accesses import BodyWalker
    from .aliasfacts import UNKNOWN, types_may_alias
    from .effects import classify_call

    pointer = ir.AliasType("pointer")
    before = {m.field for m in own if m.position < index}
    facts = BodyWalker(functions).run(stmt, None)
    if facts.unsupported:
        return True
    for ref in facts.refs:
        if not ref.is_write:
            continue
        v, fields = ref.key.var, ref.key.fields
        through = any("->" in f or f.endswith("*") for f in fields)
        if v is root:
            if not any(f.endswith("*") for f in fields):
                if any(m.position == index and fields[:1] == (m.field,) for m in own):
                    continue  # the member's own assignment
                if fields[:1] not in {(m.field,) for m in own}:
                    continue  # another member of the struct
                return True
            if len(fields) == 1 and fields[0].rstrip("*") in before:
                continue  # the fresh allocation a member already holds
        elif not through and v.kind in ("local", "param") and not v.is_reference and (
            ref.subscripts is None or v.is_array or (v in fresh_pointers and not v.is_reference)
        ):
            continue  # a variable of this function, one of its arrays or allocations
        kind = alias_types.get(ref.ctype, UNKNOWN) if ref.exact and ref.ctype else UNKNOWN
        if not strict_aliasing or types_may_alias(kind, pointer):
            return True
    for s in stmt.walk():
        for expr in s.expressions():
            for e in expr.walk():
                if not isinstance(e, ir.Call) or callee_key(e) in allocators:
                    continue
                effect = classify_call(e, functions)
                if effect.kind in _HARMLESS_EFFECTS or effect.kind == "writes-args":
                    continue  # what it writes through its arguments is among the refs above
                if effect.kind == "io" and e.name in _OUTPUT_ONLY:
                    continue
                return True
    return False
