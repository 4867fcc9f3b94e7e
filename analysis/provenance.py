"""Field-sensitive allocation provenance across a whole program.

For a struct T and a pointer member f, every write of `T.f` in the program
is collected (memberwrites.py, one translation unit at a time, summarised by
`stores`). When every one stores an allocator call (or NULL, or the value of
another member whose stores are all allocations), any value loaded from
`p->f`, for any T object p, comes from those allocation sites. Pointer
parameters get the same: the sites every caller passes (`param_sources`).
Two pointers whose site sets are disjoint point into different objects.

A site is one allocator call in the source, labelled "pool_alloc@csr.c:30";
one site gives many objects, so two pointers sharing a site may alias.
Anything that is not such a store (a parameter, pointer arithmetic, the
member's address taken, a T object written as bytes or by code not in
view), or a program not all in view, leaves `T.f` unknown, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ir
from .program import (
    _NULL_KINDS, _RETURN_FIRST_ARGUMENT, CallSite, Definition, FileSummary, Store, ValueSource,
    allocation_source, need_name, whole_object,
)  # fmt: skip

#: why nothing is known about struct members when the program is not all in view
NOT_WHOLE = "the program is not all in view (analyse the whole program: give its compile_commands.json or all its sources)"


# ------------------------------------------------------------------ one file


def site_label(name: str, path: str, line: int) -> str:
    return f"{name}@{path}:{line}"


def _array_label(var: ir.Var, path: str) -> str:
    # a global may be declared on different lines in different files: its name alone
    return f"array {var.name}" if var.kind in ("global", "static") else f"array {var.name}@{path}:{var.line}"


def value_source(e: ir.Expr | None, sources=None, sites=None, path: str = "") -> ValueSource | None:
    """Where the pointer value `e` comes from; None when it may be anything.
    `sources`, `sites`: program.local_sources and local_sites of the function."""
    if isinstance(e, ir.Const):
        return ValueSource() if e.value == 0 else None
    if isinstance(e, ir.OtherExpr):
        if e.kind == "cxx_new_expr":
            return ValueSource(frozenset({"new"}), frozenset({site_label("new", path, e.line)}))
        return ValueSource() if e.kind in _NULL_KINDS else None
    if isinstance(e, ir.Conditional):
        a, b = value_source(e.then, sources, sites, path), value_source(e.orelse, sources, sites, path)
        if a is None or b is None:
            return None
        return ValueSource(a.needs | b.needs, a.sites | b.sites, a.members | b.members)
    if isinstance(e, ir.Name) and e.var is not None:
        if sources is not None and e.var in sources and sites is not None and e.var in sites:
            return ValueSource(sources[e.var], sites[e.var])
        return None
    if isinstance(e, ir.Member) and e.points and e.record and e.base is not None:
        return ValueSource(members=frozenset({(e.record, e.field)}))
    if isinstance(e, ir.Call):
        if e.name in _RETURN_FIRST_ARGUMENT and e.receiver is None and e.args:
            return value_source(e.args[0], sources, sites, path)
        needs = allocation_source(e, sources)
        if needs is None:
            return None
        return ValueSource(needs, frozenset({site_label(e.name, path, e.line)}))
    return None


def local_sites(function: ir.Function, sources: dict[ir.Var, frozenset[str]], path: str) -> dict[ir.Var, frozenset[str]]:
    """The allocation sites each local pointer of `sources` (program.local_sources)
    may hold; copies between them (`t = a; a = b; b = t;`) share their sites."""
    found: dict[ir.Var, set[str]] = {v: set() for v in sources}
    copies: list[tuple[ir.Var, ir.Var]] = []

    def assigned(var: ir.Var, value: ir.Expr | None) -> None:
        if var not in found or value is None:
            return
        if isinstance(value, ir.Name) and value.var is not None:
            if value.var.is_array:
                found[var].add(_array_label(value.var, path))
            else:
                copies.append((var, value.var))
            return
        src = value_source(value, None, None, path)
        if src is not None:
            found[var] |= src.sites

    for stmt in function.body.walk():
        if isinstance(stmt, ir.Decl):
            assigned(stmt.var, stmt.init)
        for e in stmt.expressions():
            for x in e.walk():
                if isinstance(x, ir.Assign) and x.op == "=" and isinstance(x.target, ir.Name) and x.target.var is not None:
                    assigned(x.target.var, x.value)
                elif isinstance(x, ir.Call) and x.name == "posix_memalign" and x.args:
                    first = x.args[0]
                    if isinstance(first, ir.Unary) and first.op == "&" and isinstance(first.operand, ir.Name):
                        if first.operand.var in found:
                            found[first.operand.var].add(site_label(x.name, path, x.line))
    changed = True
    while changed:
        changed = False
        for dst, src in copies:
            extra = found.get(src, set()) - found[dst]
            if extra:
                found[dst] |= extra
                changed = True
    return {v: frozenset(s) for v, s in found.items()}


def argument_source(e: ir.Expr, sources, sites, path: str) -> ValueSource | None:
    """Where a call argument points: a whole object of the caller, or a value_source."""
    whole = whole_object(e, sources)
    if whole is not None:
        var, needs = whole
        if var.is_array:
            return ValueSource(needs, frozenset({_array_label(var, path)}))
        if var in sites:
            return ValueSource(needs, sites[var])
        return None
    return value_source(e, sources, sites, path)


def stores(tu: ir.TranslationUnit, sources, sites) -> tuple[Store, ...]:
    """The member writes of one file with their values reduced to sources."""
    out = []
    for w in tu.member_writes.writes:
        fn = w.function
        source = None
        if w.value is not None and w.field is None:
            # other memory viewed as a struct: only a direct allocator call (or NULL) is fresh
            source = value_source(w.value, None, None, w.file)
        elif w.value is not None:
            source = value_source(w.value, sources.get(fn) if fn else None, sites.get(fn) if fn else None, w.file)
        out.append(Store(w.record, w.field, f"{w.file}:{w.line}", w.text, source, w.reach, w.unless_defined))
    return tuple(out)


# --------------------------------------------------------------------- merge


@dataclass(frozen=True)
class Provenance:
    """The allocation sites a pointer always comes from, and how that is known."""

    sites: frozenset[str]
    how: str  # "always an allocation from pool_alloc at main.c:23 (every caller of spmv)"


@dataclass(frozen=True)
class MemberFacts:
    known: dict[tuple[str, str], Provenance] = field(default_factory=dict)
    missing: dict[tuple[str, str], str] = field(default_factory=dict)  # member -> why not known
    tainted: dict[str, str] = field(default_factory=dict)  # record -> why none of its pointer members is known
    problem: str = NOT_WHOLE  # why no member is known ("" when the program is in view)

    def of(self, record: str, name: str) -> Provenance | str:
        """What `record.name` always holds, or why that is not known."""
        member = f"{record}.{name}"
        if self.problem:
            return f"what {member} holds is not known: {self.problem}"
        if not record:
            return f"{name} is a member of an anonymous struct"
        if record in self.tainted:
            return f"{member} may be set by {self.tainted[record]}"
        if (record, name) in self.missing:
            return f"{member} is also set {self.missing[(record, name)]}"
        found = self.known.get((record, name))
        if found is None:
            return Provenance(frozenset(), f"never set but to NULL (no store to {member} in the program)")
        return found


def spelled_sites(sites: frozenset[str]) -> str:
    def one(label: str) -> str:
        name, _, where = label.partition("@")
        if name.startswith("array "):
            return f"the {name}" + (f" ({where})" if where else "")
        return f"{name} at {where}"

    return " or ".join(one(s) for s in sorted(sites)) or "NULL"


def merge_members(summaries: list[FileSummary], definitions: dict[str, list[Definition]], allocators, names,
                  whole: bool) -> MemberFacts:
    if not whole:
        return MemberFacts()
    for s in summaries:
        if s.members_problem:
            return MemberFacts(problem=s.members_problem)
    for s in summaries:
        for key, name in s.callees:
            if key not in definitions:
                return MemberFacts(problem=f"{name} (called in {s.path}) is declared in the program but no file of it defines it")
    defined = set(definitions) | {o for s in summaries for o in s.defined_objects}
    direct: dict[tuple[str, str], set[str]] = {}
    deps: dict[tuple[str, str], set[tuple[str, str]]] = {}
    missing: dict[tuple[str, str], str] = {}
    tainted: dict[str, str] = {}
    for s in summaries:
        for st in s.stores:
            if st.field is None:
                if st.unless_defined:
                    if st.unless_defined in defined:
                        continue
                    why = f"{st.text} ({st.where}), defined in no file of the program"
                elif st.source is not None and st.source.needs <= allocators and not st.source.members:
                    continue  # fresh memory viewed as the struct
                else:
                    why = f"{st.text} ({st.where})"
                for record in st.reach or (st.record,):
                    tainted.setdefault(record, why)
                continue
            key = (st.record, st.field)
            direct.setdefault(key, set())
            if st.source is None:
                missing.setdefault(key, f"at {st.where}: {st.text}, not an allocation")
                continue
            unknown = sorted(need_name(n, names) for n in st.source.needs - allocators)
            if unknown:
                missing.setdefault(key, f"at {st.where}: {st.text}, from {', '.join(unknown)}, not known to return fresh memory")
                continue
            direct[key] |= st.source.sites
            deps.setdefault(key, set()).update(st.source.members)
    # a member copied from another holds what that one holds (found until nothing changes)
    sites = {k: set(v) for k, v in direct.items()}
    changed = True
    while changed:
        changed = False
        for key, from_members in deps.items():
            if key in missing:
                continue
            for dep in from_members:
                why = missing.get(dep) or (f"by {tainted[dep[0]]}" if dep[0] in tainted else None)
                if why is not None or not dep[0]:
                    missing[key] = f"from {dep[0]}.{dep[1]}, which is set {why or 'in an anonymous struct'}"
                    changed = True
                    break
                extra = sites.get(dep, set()) - sites[key]
                if extra:
                    sites[key] |= extra
                    changed = True
    known = {
        key: Provenance(frozenset(found), f"always from {spelled_sites(frozenset(found))} "
                                          f"(the only stores to {key[0]}.{key[1]} in the program)")
        for key, found in sites.items() if key not in missing
    }  # fmt: skip
    return MemberFacts(known=known, missing=missing, tainted=tainted, problem="")


def param_sources(d: Definition, problem: str | None, calls: list[CallSite], allocators, names,
                  members: MemberFacts) -> dict[str, Provenance | str]:
    """For each pointer parameter of `d`: the allocation sites every call passes, or why not known."""
    out: dict[str, Provenance | str] = {}
    for position, name in d.pointer_params:
        if problem is not None:
            out[name] = problem
            continue
        if position in d.reassigned:
            out[name] = f"{d.name} assigns {name}, so what callers pass is not what its loops use"
            continue
        found: set[str] = set()
        why = None
        for call in calls:
            arg = call.args[position] if position < len(call.args) else None
            text = arg if isinstance(arg, str) else (arg.text if arg is not None else "nothing")
            src = call.sources[position] if position < len(call.sources) else None
            if src is None:
                why = f"the call at {call.where} passes {text} for {name}, not an allocation of known origin"
                break
            unknown = sorted(need_name(n, names) for n in src.needs - allocators)
            if unknown:
                why = (f"the call at {call.where} passes {text} for {name}, from {', '.join(unknown)}, "
                       "not known to return fresh memory")
                break
            found |= src.sites
            for record, member in sorted(src.members):
                held = members.of(record, member)
                if isinstance(held, str):
                    why = f"the call at {call.where} passes {text} for {name}, and {held}"
                    break
                found |= held.sites
            if why:
                break
        if why:
            out[name] = f"{d.name}: {why}"
        else:
            out[name] = Provenance(frozenset(found), f"always {_allocation(found)} (every caller of {d.name})")
    return out


def _allocation(sites) -> str:
    if not sites:
        return "NULL"
    return ("an allocation from " if not all(s.startswith("array ") for s in sites) else "") + spelled_sites(frozenset(sites))
