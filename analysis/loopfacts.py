"""The plain data handed between ompilot's stages.

translation unit -> loops -> dependences -> verdicts -> (suggest) proposals.
Nothing here knows about libclang, tree-sitter or islpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from typing import dataclass_transform
else:  # it only informs type checkers (and typing has it from Python 3.11 on)

    def dataclass_transform(**_):
        return lambda cls: cls


@dataclass(frozen=True, order=True)
class Coord:
    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# --------------------------------------------------------------------------
# Reasons: why a loop is serial, unknown, or racy. One small class each, with
# a message template; text, JSON and SARIF all render the same objects.
# --------------------------------------------------------------------------


class _Attributes:
    """The names of a template read as attributes: fields and properties alike."""

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __getitem__(self, name: str) -> object:
        return getattr(self.obj, name)


@dataclass_transform(frozen_default=True)
class Templated:
    """A message template filled from the object's fields and properties.

    Every subclass is made a frozen dataclass: a reason is its template and
    its fields, and cannot forget the decorator (which would drop its fields)."""

    template: ClassVar[str] = "{detail}"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True)(cls)

    def text(self) -> str:
        return self.template.format_map(_Attributes(self))


class Reason(Templated):
    #: True when the reason proves the loop is not parallel (a real dependence),
    #: False when it only means "could not prove it is safe".
    proven: ClassVar[bool] = False

    @property
    def code(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:
        return self.text()

    def to_json(self) -> dict:
        out = {"code": self.code, "message": self.text(), "proven": self.proven}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Coord) else value
        return out


class CarriedDependence(Reason):
    """Two accesses to the same array element in different iterations."""

    template = ("{kind} dependence on {array}: {source} (line {source_line}) and {sink} (line {sink_line}), "
                "distance {distance_text}")
    proven = True
    array: str
    kind: str  # flow | anti | output
    source: str
    source_line: int
    sink: str
    sink_line: int
    distance: int | None  # iterations of the tested loop; None when not constant

    @property
    def distance_text(self) -> str:
        return "varies" if self.distance is None else str(self.distance)


class IndexCollision(Reason):
    """Two iterations reach one array element through a constant index table
    (indextables.py): the table holds the same value at both their indices."""

    template = ("{access} (line {line}) and {other} (line {other_line}) both reach {array}[{element}], "
                "in iterations {counter} = {first} and {counter} = {second}: {table} sends both to {element}")
    proven = True
    array: str
    access: str
    line: int
    other: str
    other_line: int
    counter: str
    first: int
    second: int
    element: int
    table: str


class SharedStorageRace(Reason):
    """Shared storage (a global, a static local or static data member, a field of
    one object every iteration uses) written in a call of the loop with no
    critical, atomic or lock in common with another access (callaccesses.py)."""

    template = "{name} is {storage}: {meet}"
    proven = True
    name: str
    storage: str
    meet: str
    first_line: int
    second_line: int


class UnanalyzableAccess(Reason):
    template = "cannot prove {access} (line {line}) and {other} (line {other_line}) touch different elements: {why}"
    access: str
    line: int
    other: str
    other_line: int
    why: str


class ScalarDependence(Reason):
    """A variable read before the iteration writes it; an array read and written
    whole (passed to a call) is one too, and says so in `storage`."""

    template = ("{storage} {var} is read (line {read_line}) before it is written in the same iteration, "
                "so each iteration uses the previous one's value")
    proven = True
    var: str
    read_line: int
    storage: str = "scalar"  # scalar | array


class InductionVariable(Reason):
    template = ("{var} is updated by {step} on every iteration (line {line}), an induction variable: "
                "rewrite it as a function of the loop counter first")
    proven = True
    var: str
    step: str
    line: int


class ConditionalLastValue(Reason):
    template = ("{var} is written only on some iterations (line {line}) and read after the loop: "
                "lastprivate would not give the serial value")
    proven = True
    var: str
    line: int


class OpaqueCall(Reason):
    template = "call to {name} (line {line}): {why}"
    name: str
    line: int
    why: str


class SideEffectCall(Reason):
    template = "call to {name} (line {line}) {effect}"
    proven = True
    name: str
    line: int
    effect: str


class PossibleAlias(Reason):
    template = ("{written} is written and {other} is accessed through pointers that may alias "
                "(declare them restrict if they never overlap)")
    written: str
    other: str
    #: what the program would have to show for them to be distinct, e.g. "x and y
    #: are parameters of kernel, an external function whose callers are not all in view (...)"
    missing: str | None = None

    def text(self) -> str:
        base = super().text()
        return f"{base}; {self.missing}" if self.missing else base


class UnprovenSegmentOrder(Reason):
    """Iterations write the segments of an array that an index array delimits
    (compressed rows): disjoint exactly when the index is non-decreasing, a
    property of the data (segments.py). A run-time check can test it."""

    template = ("{writes} stay within {span}: different iterations of {counter} write different elements "
                "only if {index_range} is non-decreasing, a property of the data")
    writes: str  # "A->col[k], A->val[k]"
    span: str  # "A->rowptr[i] <= k < A->rowptr[i + 1]"
    counter: str
    index_range: str  # "A->rowptr[0..nrows]"


# Facts that rule a possible alias out, shown with the verdict's notes.


class DistinctByType(Templated):
    """C's effective-type rule (C11 6.5p7): an object is only accessed through
    lvalues of its own type (or a signed/unsigned variant, a character type,
    an aggregate containing it), so a write of one type cannot change memory
    read with an incompatible one."""

    template = ("{first} ({first_type}) and {second} ({second_type}) cannot overlap: "
                "C's strict-aliasing rule (the build does not pass -fno-strict-aliasing)")
    first: str
    first_type: str
    second: str
    second_type: str


class DistinctAllocations(Templated):
    """Members of one struct object, each set from its own allocator call
    before the loop and not changed since: distinct fresh objects."""

    template = ("{first} and {second} cannot overlap: {first} is set from {first_source} (line {first_line}) "
                "and {second} {second_how}, and nothing changes them before the loop")
    first: str
    first_source: str
    first_line: int
    second: str
    second_how: str  # "from pool_alloc (line 30)", "is the struct's own storage", ...


class DistinctProvenance(Templated):
    """Two pointers whose allocation sites, over the whole program, are
    disjoint: a parameter every caller binds to allocations, a struct member
    whose every store in the program is an allocation (provenance.py)."""

    template = "{first} and {second} cannot overlap: {first} is {first_how}, {second} {second_how}"
    first: str
    first_how: str  # "always an allocation from pool_alloc at main.c:23 (every caller of spmv)"
    second: str
    second_how: str


class EarlyExit(Reason):
    template = "{statement} at line {line} leaves the loop early"
    proven = True
    statement: str
    line: int


class NonCanonicalLoop(Reason):
    template = "not a canonical OpenMP loop: {why}"
    proven = True
    why: str


class UnsupportedConstruct(Reason):
    template = "{what} (line {line}) is not analysed"
    what: str
    line: int


class ParseFailure(Reason):
    template = "Clang could not parse this file: {message}"
    message: str


class TooSmall(Reason):
    template = "about {work} operations in all: too little work to pay for starting threads"
    work: int
    #: a loop inside serial loops starts and joins the threads on every entry:
    #: how often it is entered (None: only known at run time) and the loop
    #: around it whose iterations enter it
    entries: int | None = None
    outer_line: int | None = None
    fork_join: int | None = None  # operations one fork/join costs (analysis/estimates.py)

    def text(self) -> str:
        if self.outer_line is None:
            return super().text()
        entered = (f"entered {self.entries} times" if self.entries is not None
                   else f"entered once per iteration of the loop at line {self.outer_line}")
        return (f"about {self.work} operations per entry, {entered}: each entry starts and joins the "
                f"threads (about {self.fork_join} operations), more than a second thread saves")


class RegionHoisted(Reason):
    """A serial loop around parallel loops, run by every thread of one parallel region."""

    template = ("the loop stays serial, but '{directive}' is hoisted above it: every thread runs it, "
                "the threads start once instead of {forks} per iteration, and the loops at lines {loops} share them "
                "with '#pragma omp for'{singles}")
    directive: str
    forks: int  # fork/joins per iteration of this loop without the region
    loops: str  # "12, 15"
    single_lines: str = ""  # "11, 14": statements run by one thread in `#pragma omp single`

    @property
    def singles(self) -> str:
        return f"; the statements at lines {self.single_lines} run in '#pragma omp single'" if self.single_lines else ""


class InsideParallel(Reason):
    template = "nested inside the parallel loop at line {outer_line}"
    outer_line: int


class RaceInPragma(Reason):
    """An existing OpenMP pragma whose loop is not safe with its clauses."""

    template = "existing '{pragma}' races: {cause}"
    proven = True
    pragma: str
    cause: str
    #: the lines of the two accesses that meet (the same line twice: one statement in two iterations)
    lines: tuple[int, ...] = ()


# Doubts about an existing pragma: warnings, never errors (`check` fails on
# them only with --strict). An error needs a race the analysis can show.


class PragmaNotProven(Reason):
    """An existing pragma the analysis cannot prove race-free (possible aliasing,
    a call it cannot see into, a subscript it cannot analyse), without a race it can show."""

    template = "existing '{pragma}' is not proven race-free: {cause}"
    pragma: str
    cause: str


class OutputMayInterleave(Reason):
    """Output to a stream from the iterations of an existing parallel loop: each
    call is thread-safe, only the order of the lines changes. Not a data race."""

    template = ("existing '{pragma}': call to {name} (line {line}) writes output from several threads, "
                "which may interleave in any order")
    pragma: str
    name: str
    line: int


class RegionRace(Reason):
    """Two accesses to one shared object, at least one a write, that different
    threads of an OpenMP region may run at the same time, outside any loop's
    own pragma (a `nowait`, a `single`/`masked` without barrier, two sections,
    a task and its parent, ...). `meet` says how they can meet: the schedule
    of events (which thread runs what, and what does not order them)."""

    template = "race on {name}: {first_access} (line {first_line}) and {second_access} (line {second_line}): {meet}"
    proven = True
    region_line: int  # the line of the directive that starts the region
    name: str
    first_access: str  # "write of total", "read of scale"...
    first_line: int
    second_access: str
    second_line: int
    meet: str

    @property
    def lines(self) -> tuple[int, int]:
        return (self.first_line, self.second_line)


# --------------------------------------------------------------------------
# Loops, clauses and verdicts.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reduction:
    op: str  # + * & | ^ && || min max
    var: str
    section: str | None = None  # "[0:BINS]" for array sections, else None

    def render(self) -> str:
        return f"reduction({self.op}: {self.var}{self.section or ''})"


@dataclass(frozen=True)
class Clauses:
    private: tuple[str, ...] = ()
    firstprivate: tuple[str, ...] = ()
    lastprivate: tuple[str, ...] = ()
    reductions: tuple[Reduction, ...] = ()
    collapse: int = 1
    schedule: str | None = None
    simd: bool = False

    def render(self) -> list[str]:
        out: list[str] = []
        if self.collapse > 1:
            out.append(f"collapse({self.collapse})")
        if self.schedule:
            out.append(f"schedule({self.schedule})")
        for name, values in (
            ("private", self.private),
            ("firstprivate", self.firstprivate),
            ("lastprivate", self.lastprivate),
        ):
            if values:
                out.append(f"{name}({', '.join(values)})")
        out.extend(r.render() for r in self.reductions)
        return out


@dataclass(frozen=True)
class ExistingPragma:
    text: str  # "#pragma omp parallel for private(t)"
    line: int
    directive: str  # "parallel for"
    clauses: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Loop:
    """Where a loop is: enough to report it and to patch above it."""

    file: str
    line: int  # line of the `for`/`while`/`do` keyword
    column: int
    end_line: int
    kind: str  # for | range-for | while | do
    function: str | None
    depth: int  # 0 for a loop not nested in another loop of its function
    start_offset: int  # byte offset of the keyword in the file
    end_offset: int
    var: str | None = None  # loop counter of a canonical loop

    @property
    def coord(self) -> Coord:
        return Coord(self.file, self.line, self.column)


@dataclass(frozen=True)
class DataUse:
    """An array a loop reads and/or writes, with the part of it the loop spans."""

    name: str
    read: bool
    written: bool
    section: str  # "a[0:n]", or the bare name for a fixed-size array
    span: tuple | None = None  # (lowest, highest) index as polynomial items, for unions
    distinct: bool = False  # no other name in the function reaches this object

    @property
    def map_type(self) -> str:
        if self.read and self.written:
            return "tofrom"
        return "from" if self.written else "to"


@dataclass(frozen=True)
class Rewrite:
    """A source rewrite the analysis proved legal, e.g. swapping two loops."""

    kind: str  # interchange
    outer: Loop
    inner: Loop
    reason: str


@dataclass(frozen=True)
class AffineRecurrence:
    """`var = var * multiplier + increment` in unsigned arithmetic, `updates`
    times per iteration: the loop's only carried value (analysis/recurrence.py).
    Parallel by a rewrite: each thread jumps the state ahead to its first
    iteration by composing the affine map (repeated squaring)."""

    var: str
    ctype: str  # "unsigned int": the arithmetic's type
    multiplier: str  # C text, loop-invariant
    increment: str  # C text, loop-invariant
    updates: int  # per iteration
    lines: tuple[int, ...]  # of the updates
    live_after: bool  # read after the loop: the last iteration's value is kept
    counter: str
    start: str  # C text of the counter's first value
    step: int
    directive: str = ""  # the rewritten loop's pragma (set by the planner)

    def text(self) -> str:
        times = "once" if self.updates == 1 else f"{self.updates} times"
        return (f"parallel by rewrite: {self.var} = {self.var} * {self.multiplier} + {self.increment} "
                f"({self.ctype}, {times} per iteration) is an affine recurrence: each thread's first "
                f"{self.var} is computed by jump-ahead")


@dataclass(frozen=True)
class Scan:
    """A loop serial only through a running value (analysis/prefixscans.py), made
    parallel by a two-pass blocked rewrite: each thread computes its block's
    total from the input, then, from the earlier blocks' totals, the value
    entering its block, and runs its block.

    kind "sum": `var` is a scalar updated once per iteration as
    `var op= term` (op + or -): a prefix sum. kind "linear": `var` is an array
    and the body is `var[i] = multiplier * var[i - 1] + term` (multiplier ""
    for `var[i] = var[i - 1] + term`): a first-order linear recurrence."""

    kind: str  # sum | linear
    var: str
    ctype: str  # the running value's type: the scalar's, or the array's element type
    op: str  # + or -
    term: str  # C text, read-only in the loop: the added value
    multiplier: str  # C text, loop-invariant; "" when there is none
    line: int  # of the update
    exact: bool  # integer arithmetic: the serial result exactly (floating point is reassociated)
    live_after: bool  # sum: the scalar is read after the loop
    counter: str
    counter_type: str
    counter_declared: bool  # `for (int i = ...)`: the counter is the loop's own
    start: str  # C text of the counter's first value
    bound: str  # C text
    bound_op: str  # < or <=
    target: str = ""  # linear: C text of the written element, "x[i]"
    base: str = ""  # linear: C text of the array, "x"
    directive: str = ""  # the rewritten loop's parallel directive (set by the planner)

    def update_text(self) -> str:
        if self.kind == "sum":
            return f"{self.var} {self.op}= {self.term}"
        scaled = f"{self.multiplier} * {self.var}[{self.counter} - 1]" if self.multiplier else f"{self.var}[{self.counter} - 1]"
        return f"{self.target} = {scaled} + {self.term}"

    def text(self) -> str:
        what = "a prefix sum" if self.kind == "sum" else "a first-order linear recurrence"
        what_changes = "the sum" if self.kind == "sum" else "the recurrence's arithmetic"
        how = ("exact in integer arithmetic" if self.exact else
               f"{what_changes} is reassociated, so results agree with the serial ones within the output tolerance")
        return (f"parallel by a two-pass scan: {self.update_text()} (line {self.line}) is {what}; each thread "
                f"totals its block, then runs it from the earlier blocks' totals; {how}")


@dataclass(frozen=True)
class MirrorPairs:
    """Two loops over [0, K) that update an array from mirrored pairs of its
    own elements through a second array (analysis/mirrorpairs.py):

        for (i = 0; i < K; i++) T[i] = E(S[i], S[K - 1 - i]);
        for (i = 0; i < K; i++) S[i] = T[i];

    Rewritten as one loop over the pairs (i, K - 1 - i), i < K / 2, each
    reading its two old elements and writing both new ones (T as well), and
    the middle element when K is odd: each pair depends only on itself, so
    the pair loop is parallel and a thread keeps its own part of S from one
    execution to the next."""

    first_line: int
    second_line: int
    start_offset: int  # of the first loop's `for`
    end_offset: int  # end of the second loop
    counter: str
    counter_type: str  # the counter's type when the first loop declares it, else ""
    bound: str  # C text of K
    target: str  # T
    source: str  # S
    ctype: str  # element type of S
    value_lo: str  # E with S[i] -> the pair's low element, S[K - 1 - i] -> its high one
    value_hi: str  # E at K - 1 - i: the two swapped
    value_mid: str  # E at the middle element K / 2

    def text(self) -> str:
        return (f"the loops at lines {self.first_line} and {self.second_line} update {self.source} from the mirrored "
                f"pairs ({self.counter}, {self.bound} - 1 - {self.counter}) of its old values: rewritten as one loop "
                f"over the pairs, each reading its two old elements and writing both new ones ({self.target} too), "
                "so the pairs are independent and every thread keeps its own part of "
                f"{self.source}; same operations on the same values, so the results are bit-identical")


@dataclass(frozen=True)
class Wavefront:
    """A 2-deep nest serial only through dependences of constant distance
    vectors with no negative component (analysis/wavefront.py). Parallel by a
    rewrite: blocks of rows in turn per thread, each block of columns waiting
    for the rows above to pass it; the same operations in the same order."""

    outer: str  # counters
    inner: str
    distances: tuple[tuple[int, int], ...]  # (outer, inner) iterations, each >= 0
    block: int  # rows and columns per tile
    outer_first: str  # C text of the first counter values and of the first values past the loops
    outer_end: str
    inner_first: str
    inner_end: str
    outer_declared: str  # the counter's type when its `for` declares it, else ""
    inner_declared: str
    inner_start_offset: int
    inner_end_offset: int
    private: tuple[str, ...] = ()  # scalars written in the body, other than the counters

    def distance_text(self) -> str:
        return ", ".join(f"({a}, {b})" for a, b in self.distances)

    def text(self) -> str:
        return (f"parallel by rewrite: the dependences have distances {self.distance_text()} in ({self.outer}, "
                f"{self.inner}), none negative: pipelined: each row waits for the row above, block by block; "
                "same operations in the same order, so the results are bit-identical")


@dataclass(frozen=True)
class RegionStep:
    """One statement of the serial loop's body inside a hoisted region, by the line it starts on."""

    line: int
    role: str  # for (a `#pragma omp for` loop) | single (run by one thread) | all (every thread, private)
    group: int = 0  # statements of one `#pragma omp single` block share a group number
    barrier_above: bool = False  # `#pragma omp barrier` first: a thread may still read what this writes
    nowait: bool = False  # a `for` or `single` (every statement of the group) whose barrier nothing needs


@dataclass(frozen=True)
class HoistedRegion:
    """`#pragma omp parallel` around a serial loop whose body holds parallel loops.

    Every thread runs the serial loop (its counter and the scalars its body
    writes for itself are private; the scalars it carries from one iteration
    to the next and every thread computes alike are firstprivate); the
    parallel loops inside are shared out
    with `#pragma omp for`, statements that write shared state run in
    `#pragma omp single`, and the implied barriers keep the serial order.
    """

    directive: str  # "#pragma omp parallel private(k) firstprivate(alpha, beta)"
    steps: tuple[RegionStep, ...]  # every statement of the loop body, in order
    work: int | None  # estimated operations of the parallel loops per iteration of the serial loop
    overhead: int  # estimated operations of barriers and singles per iteration
    overhead_alone: int  # ... of the fork/joins of `parallel for` on each loop instead
    notes: tuple[str, ...] = ()


#: The C helper a run-time alias check calls; `suggest` adds its definition once per file.
DISJOINT_HELPER = "ompilot_disjoint"
#: The prefix of the C helpers a run-time segment check calls, one per index
#: type (`ompilot_nondecreasing_int`); `suggest` adds those a file needs.
NONDECREASING_HELPER = "ompilot_nondecreasing"


@dataclass(frozen=True)
class OrderedIndex:
    """`index[first..last]` (both inclusive) must be non-decreasing: then the
    segments `index[e]..index[e + 1]` that different iterations write are
    disjoint. Tested when the loop starts by reading those elements once,
    O(last - first) comparisons; the loop reads the same elements."""

    index: str  # C text of the index array: "A->rowptr"
    first: str  # C text, loop-invariant: "0"
    last: str  # C text, loop-invariant: "nrows"
    ctype: str  # the index's element type: "int"
    counter: str  # the parallel loop's counter: "i"
    span: str  # the segment loop's range: "A->rowptr[i] <= k < A->rowptr[i + 1]"
    writes: tuple[str, ...] = ()  # the accesses confined to the segment: "A->col[k]"

    @property
    def helper(self) -> str:
        return f"{NONDECREASING_HELPER}_{self.ctype.replace(' ', '_')}"

    @property
    def index_range(self) -> str:
        return f"{self.index}[{self.first}..{self.last}]"

    def condition(self) -> str:
        return f"{self.helper}({self.index}, {self.first}, {self.last})"

    def text(self) -> str:
        if not self.writes:
            return f"{self.index_range} is non-decreasing (segments {self.span})"
        return (f"{self.index_range} is non-decreasing (each {self.counter} writes only "
                f"{_and_list(list(self.writes))} for {self.span})")

    def reason(self) -> UnprovenSegmentOrder:
        return UnprovenSegmentOrder(writes=", ".join(self.writes), span=self.span, counter=self.counter,
                                    index_range=self.index_range)


@dataclass(frozen=True)
class AliasRange:
    """The elements of `*base` a loop may touch: base[first], ..., base[first + count - 1];
    or, `whole`, the storage of one object the loop reads fields of (`*b`, `s`)."""

    base: str  # the pointer or array, as the loop names it: "y", "b->x"; or the object: "*b", "s"
    first: str  # C text, "0"
    count: str  # C text, loop-invariant: "n"
    whole: bool = False

    @property
    def section(self) -> str:
        return self.base if self.whole else f"{self.base}[{self.first}:{self.count}]"

    def start(self) -> str:
        if self.whole:
            return self.base[1:] if self.base.startswith("*") else f"&{self.base}"
        return self.base if self.first == "0" else f"{self.base} + {self.first}"

    def bytes(self) -> str:
        if self.whole:
            return f"sizeof {self.base}"
        return f"(size_t)({self.count}) * sizeof *{self.base}"


@dataclass(frozen=True)
class RuntimeAliasCheck:
    """A loop that is parallel when conditions tested as it starts hold, in
    the pragma's `if(...)`; otherwise it runs serially, as written.

    - Disjoint memory: every (written base, other base) pair's byte ranges
      are compared, `ompilot_disjoint(...)`. A structure whose fields the
      loop reads (`b->x`, `b->n`) is one of the ranges too, so that the
      fields the check reads stay what the loop reads.
    - Ordered segments (`orders`): an index array delimiting the segments
      that iterations write is non-decreasing, `ompilot_nondecreasing_int(...)`;
      `guards` then keep a segment-indexed range from starting below its
      base (`rowptr[0] >= 0`) before its bytes are compared.

    Orders come first in the condition: the ranges of segment-indexed arrays
    are only meaningful once the index is known to be ordered (C's `&&`
    stops at the first false test)."""

    ranges: tuple[AliasRange, ...]
    pairs: tuple[tuple[str, str], ...]  # (written base, other base), by AliasRange.base
    orders: tuple[OrderedIndex, ...] = ()
    guards: tuple[str, ...] = ()  # C conditions: "rowptr[0] >= 0"

    def _range(self, base: str) -> AliasRange:
        return next(r for r in self.ranges if r.base == base)

    def helpers(self) -> tuple[str, ...]:
        """The C helper functions the condition calls (suggest defines them), by name."""
        names = [DISJOINT_HELPER] if self.pairs else []
        names += [o.helper for o in self.orders]
        return tuple(dict.fromkeys(names))

    def covers(self, reason: Reason) -> bool:
        """The reason is an obstacle this check rules out when it passes."""
        return isinstance(reason, (PossibleAlias, UnprovenSegmentOrder))

    def condition(self) -> str:
        """C: true when every index is ordered and no pair overlaps;
        `ompilot_nondecreasing_int(...) && ompilot_disjoint(y, ..., x, ...) && ...`."""
        tests = [o.condition() for o in self.orders] + list(self.guards)
        for a, b in self.pairs:
            ra, rb = self._range(a), self._range(b)
            tests.append(f"{DISJOINT_HELPER}({ra.start()}, {ra.bytes()}, {rb.start()}, {rb.bytes()})")
        return " && ".join(tests)

    def clause(self) -> str:
        return f"if({self.condition()})"

    def _overlap_text(self) -> str:
        if len(self.pairs) == 1:
            a, b = self.pairs[0]
            return f"{self._range(a).section} and {self._range(b).section} do not overlap"
        others: dict[str, list[str]] = {}
        for a, b in self.pairs:
            others.setdefault(a, []).append(self._range(b).section)
        parts = []
        for a, sections in others.items():
            if len(sections) == 1:
                parts.append(f"{self._range(a).section} does not overlap {sections[0]}")
            else:
                parts.append(f"{self._range(a).section} overlaps none of {_and_list(sections)}")
        return "; ".join(parts)

    def text(self) -> str:
        parts = [o.text() for o in self.orders]
        if self.pairs:
            parts.append(self._overlap_text())
        joined = "; ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
        return f"parallel when {joined}; checked at run time"

    def to_json(self) -> dict:
        return {
            "condition": self.condition(),
            "ranges": [{"base": r.base, "first": r.first, "count": r.count, "whole_object": r.whole}
                       for r in self.ranges],
            "pairs": [list(p) for p in self.pairs],
            "orders": [{"index": o.index, "first": o.first, "last": o.last, "type": o.ctype,
                        "helper": o.helper, "message": o.text()} for o in self.orders],
            "guards": list(self.guards),
            "message": self.text(),
        }


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


@dataclass
class Verdict:
    loop: Loop
    parallel: bool | None  # None: could not decide
    clauses: Clauses = field(default_factory=Clauses)
    reasons: list[Reason] = field(default_factory=list)
    existing: ExistingPragma | None = None
    races: list[Reason] = field(default_factory=list)
    pragma: str | None = None  # the directive ompilot would insert
    notes: list[str] = field(default_factory=list)  # what was proved, for explanations
    trip_count: int | None = None
    work: int | None = None  # estimated operations of one entry into the loop
    collapse_max: int = 1  # perfectly nested parallel loops that could be collapsed
    rewrites: list[Rewrite] = field(default_factory=list)
    data: list[DataUse] | None = None  # for offloading; None when not stated
    data_problem: str | None = None  # why the data of this loop cannot be stated
    hoist: list[DataUse] | None = None  # a `target data` region can enclose this loop
    tile: str | None = None  # "#pragma omp tile sizes(...)" to put below the loop's directive
    #: for a racy existing pragma: the directive that is correct ("" when the
    #: loop has a proven dependence and the pragma must go); None: no fix known
    race_fix: str | None = None
    #: a serial loop with a parallel region hoisted above it (see HoistedRegion)
    region: HoistedRegion | None = None
    #: a loop that is a `#pragma omp for` of the region hoisted above the loop at this line
    hoisted_in: int | None = None
    #: for such a loop: the `parallel for` it would get on its own (None: too small per entry;
    #: `#pragma omp simd reduction(...)` for a floating-point reduction too small for threads)
    pragma_alone: str | None = None
    #: floating-point `+`/`*` reductions of an innermost loop that `simd` vectorises and -O3
    #: alone does not (policies.float_reductions): the loop gets `simd` when it gets no threads
    simd_reductions: tuple[Reduction, ...] = ()
    #: a serial loop made parallel by the jump-ahead rewrite of its recurrence
    recurrence: AffineRecurrence | None = None
    #: a serial loop made parallel by the two-pass scan rewrite of its running value
    scan: Scan | None = None
    #: a serial 2-deep nest made parallel by the pipelined (wavefront) rewrite
    wavefront: Wavefront | None = None
    #: this loop and the next one rewritten as one loop over mirrored pairs (on the first's verdict)
    mirror: MirrorPairs | None = None


    #: parallel only when its pointers' ranges do not overlap, tested by the pragma's if()
    runtime_check: RuntimeAliasCheck | None = None
    #: for an existing pragma: what the analysis doubts without a race it can show
    #: (PragmaNotProven, OutputMayInterleave); `check` reports them as warnings
    pragma_warnings: list[Reason] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.races:
            return "race"
        if self.parallel is None:
            return "unknown"
        if self.parallel and self.runtime_check is not None:
            return "parallel-if-disjoint"
        return "parallel" if self.parallel else "serial"


@dataclass
class FileReport:
    path: str
    verdicts: list[Verdict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each, naming the file
    analysed: bool = True  # False when the file could not be read at all
    #: races between statements of OpenMP regions, found outside loop verdicts (analysis/regionraces.py)
    region_races: list[RegionRace] = field(default_factory=list)
    #: the program facts (analysis.program.ProgramFacts) the verdicts used when
    #: the file was analysed with the rest of its program; None: the file alone.
    #: Re-analysing a patched copy of the file must use the same facts.
    program: object | None = None
