"""Races between the statements of OpenMP regions, outside any loop's own pragma.

The loop check (policies.existing_pragma) asks whether the iterations of one
worksharing loop can meet. This module asks which statements of a parallel
region different threads may run at the same time (no barrier between them:
`nowait`, `single`/`masked` without a barrier, two `sections`, a task and the
code that spawned it, ...) and reports each pair of conflicting accesses to a
shared object that nothing orders or protects, as a `loopfacts.RegionRace`
with both lines and how they meet. It reports only races it can show; what it
cannot decide it leaves alone (the loop check's warnings cover doubts).

regions.py cuts each region into parts and phases, regionaccess.py lists the
shared accesses of each part; here two accesses race when they touch one
object (one element: equal constant subscripts, a thread-number index two
threads compute alike, or two worksharing loops whose iterations meet for
every problem size), one writes, they sit in one phase in parts that run on
different threads, no critical name, atomic or lock covers both, and no
flag the one part waits for (a spin loop on a variable the other part sets
after its access) orders them.
"""

from __future__ import annotations

from dataclasses import dataclass

import islpy as isl

from . import constructs, ir, loopfacts, loops, piecewise, taskraces
from .regionaccess import Access
from .regions import Part, Region, find_regions

#: thread numbers tried for indices computed from omp_get_thread_num() (fewer
#: when the indexed array has fewer elements: a team that large is not intended)
THREADS_TRIED = 64
_THREAD_CALLS = ("omp_get_thread_num",)


def find(functions: dict[str, ir.Function], file_constructs: constructs.FileConstructs, facts) -> list[loopfacts.RegionRace]:
    """The region races of one file. `facts`: the program's facts
    (program.ProgramFacts) for what called functions read and write."""
    races: list[loopfacts.RegionRace] = []
    seen: set[tuple[int, int]] = set()
    for region in find_regions(functions, file_constructs, facts):
        for race in _region_races(region):
            if race.lines not in seen:
                seen.add(race.lines)
                races.append(race)
    for race in taskraces.find(functions, file_constructs, facts):
        if race.lines not in seen:
            seen.add(race.lines)
            races.append(race)
    return races


def _region_races(region: Region):
    parts = region.parts
    for i, p in enumerate(parts):
        for q in parts[i:]:
            if p.phase != q.phase:
                continue
            for a in p.accesses:
                for b in q.accesses:
                    if p is q and b.order < a.order:
                        continue
                    race = _race(region, p, a, q, b)
                    if race is not None:
                        yield race


def _race(region: Region, p: Part, a: Access, q: Part, b: Access) -> loopfacts.RegionRace | None:
    if a.obj != b.obj or not (a.is_write or b.is_write) or a.guards & b.guards:
        return None
    if _thread_dependent(region, a) or _thread_dependent(region, b):
        return None
    if p is not q and (_waits_for(q, b, p, a) or _waits_for(p, a, q, b)):
        return None
    if p is q and a is b and not a.is_write:
        return None
    meet = _elements_meet(region, p, a, q, b)
    if meet is None:
        return None
    first, second = (a, b) if a.line <= b.line else (b, a)
    return loopfacts.RegionRace(
        region_line=region.construct.line,
        name=str(a.obj),
        first_access=f"{first.verb} of {first.text}",
        first_line=first.line,
        second_access=f"{second.verb} of {second.text}",
        second_line=second.line,
        meet=meet,
    )


# ------------------------------------------------------------------ who runs what


def _different_threads(parts: list[Part], p: Part, q: Part) -> str | None:
    """Why the two parts may run on two threads at once; None when they cannot."""
    if p is q:
        return "every thread runs it" if p.kind == "team" else None
    if p.kind == "masked" and q.kind == "masked" and p.filter_thread == q.filter_thread:
        return None
    kinds = {p.kind, q.kind}
    if kinds == {"section"} and p.group == q.group:
        return "the sections of one sections construct run on different threads at once"
    earlier = p if parts.index(p) <= parts.index(q) else q
    if earlier.kind == "masked":
        return f"{earlier.directive} has no barrier"
    if earlier.nowait:
        return f"{earlier.describe()} has nowait"
    return "no barrier separates them"


def _waits_for(waiter: Part, late: Access, setter: Part, early: Access) -> bool:
    """`waiter` spins on a flag before `late`, and `setter` writes that flag after
    `early`: the spin ends only after the flag's write, so `early` happens first
    (when the flag itself is synchronised; its own accesses are checked apart)."""
    for wait in waiter.waits:
        if wait.after > late.order or wait.obj == early.obj:
            continue
        if any(x.obj == wait.obj and x.is_write and x.order > early.order for x in setter.accesses):
            return True
    return False


def _thread_dependent(region: Region, a: Access) -> bool:
    """The access happens only on threads a condition picks (`if (tid == 0)`,
    `if (i == 0)` in a worksharing loop): which threads reach it is not shown
    here. A condition may name shared variables and the counters of loops
    around the access (not compared with `==`); any other private variable
    may differ between threads."""
    counters = {x.var for loop in a.loops if isinstance(loop, ir.For) for x in _init_names(loop)}
    for c in a.conditions:
        if _mentions_thread(region, c):
            return True
        for x in c.walk():
            if isinstance(x, ir.Binary) and x.op == "==" and any(
                    isinstance(side, ir.Name) and side.var in counters for side in (x.lhs, x.rhs)):
                return True
            if not isinstance(x, ir.Name) or x.var is None or x.var in counters:
                continue
            in_callee = a.context != 0 and x.var.kind in ("local", "param")
            if in_callee or region.sharing.is_private(x.var, False):
                return True
    return False


def _init_names(loop: ir.For) -> list[ir.Name]:
    """The counter a for header sets (`i = 0` or `int i = 0`), as names."""
    if isinstance(loop.init, ir.Decl):
        return [ir.Name(line=loop.line, text=loop.init.var.name, name=loop.init.var.name, var=loop.init.var)]
    if isinstance(loop.init, ir.ExprStmt) and isinstance(loop.init.expr, ir.Assign) and isinstance(loop.init.expr.target, ir.Name):
        return [loop.init.expr.target]
    return []


def _mentions_thread(region: Region, e: ir.Expr, depth: int = 0) -> bool:
    for x in e.walk():
        if isinstance(x, ir.Call) and x.name.startswith("omp_"):
            return True
        if isinstance(x, ir.Name) and x.var in region.thread_values and depth < 4:
            if _mentions_thread(region, region.thread_values[x.var], depth + 1):
                return True
    return False


# ------------------------------------------------------------------ do the elements meet


def _elements_meet(region: Region, p: Part, a: Access, q: Part, b: Access) -> str | None:
    """How the two accesses touch one element on two threads, as the finding's
    `meet`; None when that cannot be shown."""
    threads = _different_threads(region.parts, p, q)
    what = f"{p.describe()} {_verb(a)} {a.text} (line {a.line})"
    other = f"{q.describe() if q is not p else 'another thread'} {_verb(b)} {b.text} (line {b.line})"
    if a.covers_team or b.covers_team:
        return _team_cover_meets(region, p, a, q, b, threads)
    if a.subscripts is None and b.subscripts is None:
        if threads is None:
            return None
        return f"{threads}: {what} while {other}{_flush_note(region, a, b)}"
    if a.subscripts is None or b.subscripts is None or len(a.subscripts) != len(b.subscripts):
        return None
    fixed_a, fixed_b = _constants(a), _constants(b)
    if fixed_a is not None and fixed_b is not None:
        if fixed_a != fixed_b or threads is None:
            return None
        return f"{threads}: {what} while {other}"
    collision = _thread_collision(region, a, b)
    if collision is not None:
        if p is q and p.kind not in ("team", "loop"):
            return None
        t1, t2, index = collision
        return (f"threads {t1} and {t2} compute the same index {index}: thread {t1} {_verb(a)} {a.text} "
                f"(line {a.line}) while thread {t2} {_verb(b)} {b.text} (line {b.line})")
    if threads is None or p is q:
        return None
    if _loops_meet(region, p, a, q, b):
        return (f"{threads}: a thread of {p.describe()} {_verb(a)} {a.text} (line {a.line}) while another "
                f"thread in {q.describe()} {_verb(b)} {b.text} (line {b.line}) of the same element "
                f"(for every size that gives each loop two iterations or more)")
    return None


def _team_cover_meets(region: Region, p: Part, a: Access, q: Part, b: Access, threads: str | None) -> str | None:
    """One access touches element k for every thread number k (a call into another
    file, `combine(partial, omp_get_num_threads())`), the other one element a
    thread picks by its number (`partial[me]`): on a team of two threads or more,
    the thread of the first reaches the element of another thread."""
    cover, slot = (a, b) if a.covers_team else (b, a)
    cover_part, slot_part = (p, q) if a.covers_team else (q, p)
    if slot.covers_team or threads is None or p is q or slot.subscripts is None or len(slot.subscripts) != 1:
        return None
    found = _thread_indices(region, slot)
    if found is None or not found[1]:
        return None
    rows = [row[0] for row in found[0]]
    if rows != list(range(len(rows))):
        return None  # element k on thread k, and no other: the slot of each thread
    return (f"{threads}: the thread that runs {cover_part.describe()} {_verb(cover)} {cover.text} (line {cover.line}), "
            f"the element of every thread number, while each other thread t of {slot_part.describe()} "
            f"{_verb(slot)} {slot.text} (line {slot.line}), element t")


def _verb(a: Access) -> str:
    return {"update": "updates", "write": "writes", "read": "reads"}[a.verb]


def _flush_note(region: Region, a: Access, b: Access) -> str:
    if not region.flush_lines or "atomic" in a.guards | b.guards:
        return ""
    return "; flush orders memory but does not make these plain accesses atomic"


def _constants(a: Access) -> tuple[int, ...] | None:
    values = []
    for s in a.subscripts or ():
        value = loops.constant_value(s)
        if value is None:
            return None
        values.append(value)
    return tuple(values)


def _thread_collision(region: Region, a: Access, b: Access) -> tuple[int, int, tuple] | None:
    """Two thread numbers t1 != t2 whose indices are equal: a on t1, b on t2."""
    values_a = _thread_indices(region, a)
    values_b = _thread_indices(region, b)
    if values_a is None or values_b is None:
        return None
    if not (values_a[1] or values_b[1]):
        return None  # neither index depends on the thread: not this rule
    # a team larger than the array it indexes by thread is not what the program is written for
    dims = a.obj.var.array_dims if not a.obj.fields else None
    team = min(THREADS_TRIED, dims[0]) if dims and dims[0] else THREADS_TRIED
    for t2, index in enumerate(values_b[0][:team]):
        for t1, other in enumerate(values_a[0][:team]):
            if other == index and t1 != t2:
                return (min(t1, t2), max(t1, t2), index[0] if len(index) == 1 else index)
    return None


def _thread_indices(region: Region, a: Access) -> tuple[list[tuple], bool] | None:
    """The access's index on each thread 0..THREADS_TRIED-1, and whether it depends on
    the thread; None when an index is not a function of the thread number alone."""
    if a.context != 0 or a.function is not region.function:
        return None
    rows = []
    uses_thread = False
    for t in range(THREADS_TRIED):
        row = []
        for s in a.subscripts or ():
            found = _evaluate(region, s, t, 0)
            if found is None:
                return None
            value, used = found
            uses_thread |= used
            row.append(value)
        rows.append(tuple(row))
    return rows, uses_thread


def _evaluate(region: Region, e: ir.Expr, thread: int, depth: int) -> tuple[int, bool] | None:
    """The value of an integer expression on thread `thread`, and whether the thread number entered it."""
    if isinstance(e, ir.Const):
        return (e.value, False) if isinstance(e.value, int) else None
    if isinstance(e, ir.Name):
        if e.value is not None:
            return e.value, False
        if e.var in region.thread_values and depth < 4:
            return _evaluate(region, region.thread_values[e.var], thread, depth + 1)
        return None
    if isinstance(e, ir.Call) and e.name in _THREAD_CALLS and not e.args:
        return thread, True
    if isinstance(e, ir.Unary) and e.op in ("-", "+"):
        inner = _evaluate(region, e.operand, thread, depth)
        return None if inner is None else ((-inner[0] if e.op == "-" else inner[0]), inner[1])
    if isinstance(e, ir.Binary) and e.op in ("+", "-", "*", "/", "%"):
        lhs = _evaluate(region, e.lhs, thread, depth)
        rhs = _evaluate(region, e.rhs, thread, depth)
        if lhs is None or rhs is None:
            return None
        x, y, used = lhs[0], rhs[0], lhs[1] or rhs[1]
        if e.op in ("/", "%"):
            if y == 0:
                return None
            quotient = abs(x) // abs(y) * (1 if (x >= 0) == (y > 0) else -1)
            return (quotient if e.op == "/" else x - y * quotient), used
        return {"+": x + y, "-": x - y, "*": x * y}[e.op], used
    return None


# ------------------------------------------------------------------ worksharing loops


def _loops_meet(region: Region, p: Part, a: Access, q: Part, b: Access) -> bool:
    """Iterations of two worksharing loops (or a loop and a constant index) touch
    one element, in two different iterations, for every size with two
    iterations or more in each loop. A subscript written with `?:` is a union
    of affine pieces under their conditions (piecewise.py)."""
    sides = []
    for part, access, tag in ((p, a, "x0"), (q, b, "x1")):
        side = _side(region, part, access, tag)
        if side is None:
            return False
        sides.append(side)
    (pieces_a, dom_a, counter_a), (pieces_b, dom_b, counter_b) = sides
    if counter_a is None and counter_b is None:
        return False
    names = _Names()
    dims = [c for c in (counter_a, counter_b) if c is not None]
    alternatives = []
    for subs_a, conds_a in pieces_a:
        for subs_b, conds_b in pieces_b:
            constraints = [*dom_a, *dom_b, *conds_a, *conds_b]
            constraints += [f"{names.text(x)} = {names.text(y)}" for x, y in zip(subs_a, subs_b)]
            if counter_a is not None and counter_b is not None:
                constraints.append(f"{counter_a} != {counter_b}")
            alternatives.append(" and ".join(c if isinstance(c, str) else names.text(c) for c in constraints))
    sizes = [names.size(d) for d in (dom_a, dom_b) if d]
    params = ", ".join(names.params)
    try:
        meets = None
        for text in alternatives:
            found = isl.Set(f"[{params}] -> {{ [{', '.join(dims)}] : {text} }}")
            meets = found if meets is None else meets.union(found)
        domain = isl.Set(f"[{params}] -> {{ : {' and '.join(sizes)} }}")
    except isl.Error:
        return False
    return not domain.is_empty() and domain.is_subset(meets.params())


def _side(region: Region, part: Part, access: Access, tag: str):
    """(the subscripts' pieces: [(affine forms, their conditions)], the loop's domain
    constraints, the counter's name): a worksharing loop access in the region's
    own function, or constant subscripts."""
    constants = _constants(access)
    if constants is not None:
        from .affine import Affine

        return [([Affine.constant(v) for v in constants], [])], [], None
    form = part.loop
    if part.kind != "loop" or form is None or form.var is None or access.context != 0 \
            or access.function is not region.function or abs(form.dim.step) != 1:
        return None
    if len(access.loops) != 1 or form.dim.lower is None or form.dim.upper is None:
        return None  # inside an inner loop: not modelled
    counter = form.var
    for bound in (form.dim.lower, form.dim.upper):
        for name in bound.names():
            if not _invariant(region, form.stmt, name):
                return None

    def allowed(var: ir.Var) -> bool:
        return var is counter or _invariant_var(region, var)

    locals_ = piecewise.LoopLocals(form.stmt.body)
    per_subscript = []
    for s in access.subscripts or ():
        found = piecewise.pieces(s, locals_, allowed)
        if found is None:
            return None
        per_subscript.append(found)
    combined: list[tuple[list, list]] = [([], [])]
    for found in per_subscript:
        combined = [(subs + [_rename(x.value, counter.name, tag)],
                     conds + [(c.op, _rename(c.lhs, counter.name, tag), _rename(c.rhs, counter.name, tag))
                              for c in x.conditions])
                    for subs, conds in combined for x in found]
        if len(combined) > 16:
            return None
    lower, upper = _rename(form.dim.lower, counter.name, tag), _rename(form.dim.upper, counter.name, tag)
    return combined, [("ge", tag, lower), ("le", tag, upper)], tag


def _invariant(region: Region, where, name: str) -> bool:
    """A name in a subscript or bound is the same on every thread and does not change in the region."""
    exprs = list(where.walk()) if isinstance(where, ir.Expr) else [x for s in where.walk() for e in s.expressions() for x in e.walk()]
    if isinstance(where, ir.For):
        exprs += [x for e in (where.cond, where.inc) if e is not None for x in e.walk()]
    found = [x.var for x in exprs if isinstance(x, ir.Name) and x.name == name and x.var is not None]
    if not found:
        return False
    return _invariant_var(region, found[0])


def _invariant_var(region: Region, var: ir.Var) -> bool:
    if var in region.sharing.written or region.sharing.is_private(var, False):
        return False
    return var.is_scalar_number and not var.is_float


def _rename(affine, old: str, new: str):
    from .affine import Affine

    coeffs = {(new if n == old else n): c for n, c in affine.terms}
    return Affine.build(coeffs, affine.const)


@dataclass
class _Names:
    """isl names for the parameters of affine forms (p0, p1, ...)."""

    params: list[str] = None  # type: ignore[assignment]
    _map: dict[str, str] = None  # type: ignore[assignment]

    def __post_init__(self):
        self.params, self._map = [], {}

    def name(self, n: str) -> str:
        if n in ("x0", "x1"):
            return n
        if n not in self._map:
            self._map[n] = f"p{len(self._map)}"
            self.params.append(self._map[n])
        return self._map[n]

    def text(self, c) -> str:
        if isinstance(c, tuple) and c[0] in ("ge", "le"):  # ("ge"/"le", counter, bound)
            op, counter, bound = c
            return f"{counter} {'>=' if op == 'ge' else '<='} {self.text(bound)}"
        if isinstance(c, tuple):  # (comparison, lhs, rhs): a piece's condition
            op, lhs, rhs = c
            return f"{self.text(lhs)} {'=' if op == '==' else op} {self.text(rhs)}"
        parts = [f"{coeff}*{self.name(n)}" for n, coeff in c.terms]
        parts.append(str(c.const))
        return " + ".join(parts)

    def size(self, domain) -> str:
        """At least two iterations: upper - lower >= 1."""
        (_, _, lower), (_, _, upper) = domain
        return f"{self.text(upper)} - ({self.text(lower)}) >= 1"
