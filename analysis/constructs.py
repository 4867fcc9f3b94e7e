"""The OpenMP constructs of a file, mapped onto the IR: which statement each directive governs.

The analysis parses without -fopenmp, so directives are not in the tree: they
are read from the source text (pragmas.Directive). A directive governs the
statement that starts on the first code line below it (its structured block,
or the loop of a loop directive); a standalone directive (barrier, flush,
taskwait, ...) sits at its own line. Lock calls (`omp_set_lock(&l)` ...
`omp_unset_lock(&l)` in one block) are mapped the same way, as spans.

`FileConstructs` is built once per file. Today the race check of existing
loop pragmas reads from it which accesses are protected (`AccessGuards`:
critical names, atomic, ordered, locks) and which variables every thread has
its own copy of (threadprivate); a region analysis (which statements may run
concurrently) can build on the same mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ir
from .pragmas import DIRECTIVE_WORDS, Directive

#: Directives that govern no statement: executable ones act at their line, declarative ones name things.
STANDALONE = frozenset({
    "barrier", "flush", "taskwait", "taskyield", "threadprivate", "declare", "requires", "depobj", "scan",
    "cancel", "cancellation", "error", "nothing", "begin", "end", "assumes",
})  # fmt: skip
_STANDALONE_TARGET = ("update", "enter", "exit")  # `target update`, `target enter data`, `target exit data`
LOCK_SET = {"omp_set_lock": False, "omp_set_nest_lock": True}  # name -> nestable
LOCK_UNSET = {"omp_unset_lock": False, "omp_unset_nest_lock": True}
#: OpenMP runtime calls that only synchronise: they touch no memory the program names.
SYNC_CALLS = frozenset({*LOCK_SET, *LOCK_UNSET, "omp_test_lock", "omp_test_nest_lock"})
_MAX_CALL_DEPTH = 4


def directive_words(directive: Directive) -> tuple[str, ...]:
    """The directive's name words; `critical(name)` and `threadprivate(x)` parse
    as a leading clause (a word followed by "("), so that word is the name."""
    if directive.names:
        return directive.names
    if directive.clauses and directive.clauses[0].name in DIRECTIVE_WORDS:
        return (directive.clauses[0].name,)
    return ()


@dataclass(frozen=True, eq=False)
class Construct:
    """One directive and the statement it governs."""

    directive: Directive
    kind: str  # its name words: "parallel for", "critical", "atomic", "barrier", ...
    line: int  # the pragma's first line
    function: ir.Function | None  # the function whose body holds it
    stmt: ir.Stmt | None  # the statement it governs; None for a standalone directive
    first_line: int  # the lines of that statement (the pragma's own line when standalone);
    last_line: int  # the last line holding code of it (a block's closing brace is not counted)

    @property
    def standalone(self) -> bool:
        return self.stmt is None

    def covers(self, line: int) -> bool:
        return self.stmt is not None and self.first_line <= line <= self.last_line

    @property
    def critical_name(self) -> str:
        """The name of a `critical` construct, "" when unnamed (all unnamed ones are one)."""
        found = self.directive.clause("critical")
        return "".join((found.arguments or "").split()) if found is not None else ""

    def clause_depth(self, name: str) -> int:
        """n of `collapse(n)` / `ordered(n)`: the loops associated with the directive (1 without)."""
        found = self.directive.clause(name)
        items = found.items() if found else ()
        try:
            return int(items[0]) if items else 1
        except ValueError:
            return 1

    @property
    def atomic_targets(self) -> frozenset[str]:
        """For `atomic`: the variables its statement writes (the protected location, and
        the captured value of a capture); their reads in that statement are atomic too."""
        if self.stmt is None:
            return frozenset()
        names = set()
        for e in _expressions(self.stmt):
            target = e.target if isinstance(e, ir.Assign) else (
                e.operand if isinstance(e, ir.Unary) and e.op in ("++", "--", "post++", "post--") else None)
            root = _root_name(target) if target is not None else None
            if root is not None:
                names.add(root)
        return frozenset(names)


@dataclass(frozen=True)
class LockSpan:
    """Statements of one block between `omp_set_lock(L)` and `omp_unset_lock(L)`."""

    lock: str  # the lock as written, `&` and blanks dropped: "guard", "this->lock_"
    nestable: bool
    function: ir.Function
    first_line: int  # the set call's line
    last_line: int  # the unset call's line

    def covers(self, line: int) -> bool:
        return self.first_line <= line <= self.last_line


@dataclass(eq=False)
class FileConstructs:
    constructs: tuple[Construct, ...]
    locks: tuple[LockSpan, ...]
    threadprivate: frozenset[str]  # variables named by `#pragma omp threadprivate(...)`
    functions: dict[str, ir.Function] = field(default_factory=dict)
    lines: tuple[str, ...] = ()  # the file's source lines (where a standalone directive stands among braces)
    _callee_guards: dict = field(default_factory=dict, repr=False)

    def around(self, function: ir.Function | None, line: int) -> list[Construct]:
        """Constructs of that function whose statement holds the line, outermost first."""
        return [c for c in self.constructs if c.function is function and c.covers(line)]

    def within(self, function: ir.Function | None, first_line: int, last_line: int) -> list[Construct]:
        """Constructs whose directive stands between the lines (a loop's body)."""
        return [c for c in self.constructs if c.function is function and first_line <= c.line <= last_line]

    def guards_at(self, function: ir.Function | None, line: int, var: str | None = None, ordered: bool = False) -> frozenset[str]:
        """What protects an access to `var` at `line` from other threads: "critical:NAME",
        "atomic" (only for the location its statement updates), "ordered" (when the
        loop has the ordered clause), "lock:L". Two accesses with a label in common
        cannot run at the same time."""
        labels = set()
        for c in self.around(function, line):
            words = c.kind.split()
            if "critical" in words:
                labels.add(f"critical:{c.critical_name}")
            elif "atomic" in words and var is not None and var in c.atomic_targets:
                labels.add("atomic")
            elif words == ["ordered"] and ordered:
                labels.add("ordered")
        labels.update(f"lock:{span.lock}" for span in self.locks if span.function is function and span.covers(line))
        return frozenset(labels)

    def callee_guards(self, callee: str, var: str, depth: int = 0) -> frozenset[str]:
        """Labels every access to the global `var` inside `callee` (and the functions it
        calls) holds; empty when one access is unprotected or the callee is not in view."""
        key = (callee, var)
        if key not in self._callee_guards:
            self._callee_guards[key] = self._callee_guards_uncached(callee, var, depth)
        return self._callee_guards[key]

    def _callee_guards_uncached(self, callee: str, var: str, depth: int) -> frozenset[str]:
        function = self.functions.get(callee)
        if function is None or function.body is None or depth > _MAX_CALL_DEPTH:
            return frozenset()
        found: frozenset[str] | None = None
        for stmt in function.body.walk():
            for expr in stmt.expressions():
                for e in expr.walk():
                    if isinstance(e, ir.Name) and e.var is not None and e.var.name == var and e.var.kind in ("global", "static"):
                        here = self.guards_at(function, e.line, var)
                    elif isinstance(e, ir.Call) and e.name in self.functions and e.name != callee and self._mentions(e.name, var, depth + 1):
                        here = self.guards_at(function, e.line) | self.callee_guards(e.name, var, depth + 1)
                    else:
                        continue
                    found = here if found is None else found & here
                    if not found:
                        return frozenset()
        return found or frozenset()

    def _mentions(self, callee: str, var: str, depth: int) -> bool:
        """The function, or one it calls, names the global `var`."""
        function = self.functions.get(callee)
        if function is None or function.body is None:
            return False
        if depth > _MAX_CALL_DEPTH:
            return True
        for stmt in function.body.walk():
            for expr in stmt.expressions():
                for e in expr.walk():
                    if isinstance(e, ir.Name) and e.var is not None and e.var.name == var:
                        return True
                    if isinstance(e, ir.Call) and e.name in self.functions and e.name != callee and self._mentions(e.name, var, depth + 1):
                        return True
        return False


@dataclass(frozen=True, eq=False)
class AccessGuards:
    """What keeps the accesses of one loop under an existing directive apart:
    for each access, the labels of the constructs and locks protecting it."""

    constructs: FileConstructs
    function: ir.Function
    ordered: bool  # the loop directive has the `ordered` clause: its ordered regions run in iteration order
    #: a combined `parallel` loop without default(private|firstprivate): what is declared
    #: before it is shared by its threads (a bare `for` depends on the enclosing region)
    shares_outer_locals: bool = False
    private_default: bool = False  # default(private) or default(firstprivate)
    calls: dict = field(default_factory=dict)  # line -> names of the calls there (for accesses made inside them)
    #: line spans of branches taken only when the team has one thread (oneteam.py):
    #: an access there meets no other thread's access
    one_thread: tuple[tuple[int, int], ...] = ()
    _labels: dict = field(default_factory=dict, init=False, repr=False)  # id(ref) -> its labels

    def of(self, ref) -> frozenset[str]:
        """Labels of one access (accesses.Ref); an access a call makes (a global the
        callee reads or writes) holds the labels at the call and those inside the callee."""
        if id(ref) not in self._labels:
            self._labels[id(ref)] = self._of(ref)
        return self._labels[id(ref)]

    def _of(self, ref) -> frozenset[str]:
        name = ref.key.var.name
        here = self.constructs.guards_at(self.function, ref.line, name, self.ordered)
        if ref.exact or ref.key.var.kind not in ("global", "static"):
            return here
        callees = [c for c in self.calls.get(ref.line, ()) if c in self.constructs.functions]
        if not callees:
            return here
        inside = None
        for callee in callees:
            labels = self.constructs.callee_guards(callee, name)
            inside = labels if inside is None else inside & labels
        return here | (inside or frozenset())

    def excluded(self, a, b) -> bool:
        """The two accesses cannot run at the same time (they share a protection,
        or one runs only when the team has one thread)."""
        return self.alone(a) or self.alone(b) or bool(self.of(a) & self.of(b))

    def alone(self, ref) -> bool:
        """The access runs only when the team has one thread."""
        return any(first <= ref.line <= last for first, last in self.one_thread)

    def per_thread(self, var: ir.Var) -> bool:
        """Every thread has its own copy (threadprivate)."""
        return var.kind in ("global", "static") and var.name in self.constructs.threadprivate

    def synchronised(self, refs) -> bool:
        """Every pair of these accesses to one object that includes a write is protected."""
        refs = list(refs)
        for i, a in enumerate(refs):
            for b in refs[i:]:
                if (a.is_write or b.is_write) and not self.excluded(a, b):
                    return False
        return True


def build(functions: list[ir.Function], pragma_lines: dict[int, str], lines: list[str]) -> FileConstructs:
    """Every `#pragma omp` of the file mapped to the statement it governs, and the lock spans."""
    bodies = [f for f in functions if f.body is not None]
    spans = [(f, f.body.line, last_line(f.body)) for f in bodies]
    starts: dict[int, dict[int, ir.Stmt]] = {}  # id(function) -> line -> the outermost statement starting there
    for f in bodies:
        first: dict[int, ir.Stmt] = {}
        for s in f.body.walk():
            if s is not f.body:
                first.setdefault(s.line, s)
        starts[id(f)] = first
    constructs = []
    threadprivate: set[str] = set()
    for line, text in sorted(pragma_lines.items()):
        directive = Directive.parse_or_none(text)
        if directive is None:
            continue
        words = directive_words(directive)
        kind = " ".join(words)
        if words[:1] == ("threadprivate",):
            threadprivate.update(n for c in directive.clauses if c.name == "threadprivate" for n in c.names())
        function = next((f for f, a, b in spans if a <= line <= b), None)
        stmt = None
        if function is not None and not _is_standalone(words, directive):
            stmt = starts[id(function)].get(_code_line_below(lines, line))
        first, last = (stmt.line, last_line(stmt)) if stmt is not None else (line, line)
        constructs.append(Construct(directive, kind, line, function, stmt, first, last))
    locks = [span for f in bodies for span in _lock_spans(f)]
    return FileConstructs(tuple(constructs), tuple(locks), frozenset(threadprivate), {f.name: f for f in bodies},
                          tuple(lines))


def _is_standalone(words: tuple[str, ...], directive: Directive) -> bool:
    if not words or words[0] in STANDALONE:
        return True
    if words[0] == "target" and len(words) > 1 and words[1] in _STANDALONE_TARGET:
        return True
    # `ordered depend(sink: ...)` / `ordered doacross(...)` is a standalone wait
    return words == ("ordered",) and any(c.name in ("depend", "doacross") for c in directive.clauses)


def _code_line_below(lines: list[str], line: int) -> int:
    """The first line below the pragma (past its `\\` continuations) that holds code:
    not blank, not a comment, not another preprocessor line."""
    at = line
    while at <= len(lines) and lines[at - 1].rstrip().endswith("\\"):
        at += 1
    at += 1
    in_comment = False
    while at <= len(lines):
        text = lines[at - 1].strip()
        if in_comment:
            in_comment = "*/" not in text
        elif not text or text.startswith(("//", "#")):
            pass
        elif text.startswith("/*"):
            in_comment = "*/" not in text
            if not in_comment and text.split("*/", 1)[1].strip():
                return at
        else:
            return at
        at += 1
    return at


def _expressions(stmt: ir.Stmt):
    for s in stmt.walk():
        for e in s.expressions():
            yield from e.walk()


def last_line(stmt: ir.Stmt) -> int:
    """The last line holding code of the statement (its loops' last lines, its expressions')."""
    statements = list(stmt.walk())
    ends = [s.info.end_line for s in statements if isinstance(s, ir.LoopStmt)]
    return max([s.line for s in statements] + ends + [e.line for e in _expressions(stmt)])


def _root_name(e: ir.Expr) -> str | None:
    name = ir.root_name(e)
    return name.name if name is not None else None


def _lock_name(call: ir.Call) -> str | None:
    """The lock as written, `&` dropped; a member of `this` written bare is `this->lock_`."""
    if len(call.args) != 1:
        return None
    arg = call.args[0]
    target = arg.operand if isinstance(arg, ir.Unary) and arg.op == "&" else arg
    if isinstance(target, ir.Member) and target.base is None:
        return f"this->{target.field}"
    text = "".join(arg.text.split())
    return text.lstrip("&") or None


def _call_of(stmt: ir.Stmt) -> ir.Call | None:
    if isinstance(stmt, ir.ExprStmt) and isinstance(stmt.expr, ir.Call):
        return stmt.expr
    return None


def _lock_spans(function: ir.Function) -> list[LockSpan]:
    """In every block: a lock set by one statement and unset by a later one of the same block."""
    out = []
    for block in function.body.walk():
        if not isinstance(block, ir.Block):
            continue
        for i, stmt in enumerate(block.stmts):
            call = _call_of(stmt)
            if call is None or call.name not in LOCK_SET:
                continue
            lock = _lock_name(call)
            for later in block.stmts[i + 1:]:
                unset = _call_of(later)
                if unset is not None and unset.name in LOCK_UNSET and _lock_name(unset) == lock:
                    out.append(LockSpan(lock, LOCK_SET[call.name], function, stmt.line, later.line))
                    break
    return out
