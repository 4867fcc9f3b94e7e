"""Statements in the task-race walk (taskraces.py): directives, blocks, branches, loops.

A statement governed by directives is walked under them, outermost first:
`task` (spawned), `taskgroup`, a `taskloop` shown to make two tasks or more
(one task per iteration), `sections` (as sibling tasks), `single`/`masked`,
worksharing loops and `simd` with the variables they privatise and the
barrier at their end; any other construct is opaque (the tasks pending are
forgotten, never invented). A block is walked with the standalone directives
standing in it (taskorder.py); a condition with a known value is decided and
any other is taken both ways, the states joined after; a loop is walked for
two iterations, its counter a taskvalues.Counter when the trip count is known.
"""

from __future__ import annotations

from . import ir
from .constructs import Construct
from .loops import written_in_expr, written_vars
from .taskstate import Frame, GiveUp, Region, State, Storage, join
from .taskvalues import Counter, Num, arith


class StatementWalk:
    """The statement part of the walk (taskraces._Walk mixes it in): it uses the
    walk's `fc`, `governing`, `standalone`, `task_bodies`, `loops`, `conditions`,
    `ids` and `budget`, and the other parts' `eval`, `spawn`, `privatise`."""

    def stmt(self, s: ir.Stmt, frame: Frame, region: Region, state: State) -> bool:
        """Walk one statement; False when it does not fall through (return, break...)."""
        if id(s) in self.task_bodies:  # the body of a taskloop: one task per iteration
            self.spawn(self.task_bodies[id(s)], s, frame, region, state)
            return True
        cs = [c for c in self.governing.get(id(s), ()) if c.function is frame.function]
        if cs:
            return self.constructs(cs, s, frame, region, state)
        return self.plain(s, frame, region, state)

    def constructs(self, cs: list[Construct], s, frame, region, state) -> bool:
        if not cs:
            return self.plain(s, frame, region, state)
        return self.construct_words(cs[0].kind.split(), cs[0], s, frame, region, state, cs[1:])

    def construct_words(self, words, c: Construct, s, frame, region, state, rest=()) -> bool:
        head = words[0] if words else ""
        nowait = c.directive.clause("nowait") is not None
        if not words:
            return self.constructs(list(rest), s, frame, region, state)
        if head == "task":
            self.spawn(c, s, frame, region, state)
            return True
        if head == "taskgroup":
            group = self.open_group(region)
            through = self.constructs(list(rest), s, frame, region, state)
            self.close_group(group, region, state)
            return through
        if head == "taskloop" and words[1:] in ([], ["simd"]) and not rest and self.splits(c, s, frame, state):
            saved = dict(frame.names)
            for var in _associated_counters(s, 1):
                frame.names[var] = Storage(var, team_shared=False)  # predetermined private
            group = self.open_group(region) if c.directive.clause("nogroup") is None else None
            self.task_bodies[id(s.body)] = c
            self.loop(s, frame, region, state)
            del self.task_bodies[id(s.body)]
            if group is not None:
                self.close_group(group, region, state)
            frame.names = saved
            return True
        if head == "sections" and len(words) == 1 and region.replicated and region.task is None \
                and isinstance(s, ir.Block) and not rest:
            return self.sections(c, s, frame, region, state, nowait)
        if head in ("critical", "atomic", "ordered") and len(words) == 1:
            return self.constructs(list(rest), s, frame, region, state)
        if head in ("single", "masked", "master") and len(words) == 1 and region.replicated and region.task is None:
            saved = dict(frame.names)
            self.privatise(c, frame, state)
            region.replicated = False
            through = self.constructs(list(rest), s, frame, region, state)
            region.replicated = True
            frame.names = saved
            if head == "single" and not nowait:
                state.pending.clear()
            return through
        worksharing = head == "for" and words[1:] in ([], ["simd"]) and region.replicated and region.task is None
        if worksharing or words == ["simd"]:
            saved = dict(frame.names)
            self.privatise(c, frame, state)
            for var in _associated_counters(s, max(c.clause_depth("collapse"), c.clause_depth("ordered"))):
                frame.names[var] = Storage(var, team_shared=False)  # predetermined private
            replicated, region.replicated = region.replicated, False  # an iteration runs on one thread
            through = self.constructs(list(rest), s, frame, region, state)
            region.replicated = replicated
            frame.names = saved
            if worksharing and not nowait:
                state.pending.clear()
            return through
        self.opaque(s, frame, state)  # a construct the walk does not model: forget what it waited on
        return True

    def sections(self, c: Construct, s: ir.Block, frame: Frame, region: Region, state: State, nowait: bool) -> bool:
        """Each section runs once, on some thread of the team, while the others run theirs:
        walked as sibling tasks (the first may go without `#pragma omp section`), all
        finished at the construct's barrier unless `nowait`. Not modelled: a team that
        `if` or `num_threads` may shrink to one thread, sections holding other directives
        or while/do loops (atomics, flags and spin waits: regionraces.py reads those)."""
        team = next((x for x in self.fc.constructs if x.line == region.team_line), None)
        inside = [x for x in self.fc.within(frame.function, c.line + 1, c.last_line) if x.kind != "section"]
        spins = any(isinstance(x, (ir.While, ir.DoWhile)) for x in s.walk())
        if team is None or team.directive.clause("if") is not None or team.directive.clause("num_threads") is not None \
                or inside or spins:
            self.opaque(s, frame, state)  # sections that synchronise (atomics, flags, ...) are regions.py's
            return True
        saved = dict(frame.names)
        self.privatise(c, frame, state)
        region.replicated = False
        for inner in s.stmts:
            marks = [x for x in self.governing.get(id(inner), ()) if x.function is frame.function]
            section = next((x for x in marks if x.kind == "section"), None)
            if section is None and inner is not s.stmts[0] or any(x.kind != "section" for x in marks):
                region.replicated = True
                frame.names = saved
                self.opaque(s, frame, state)  # not the shape of a sections block: not modelled
                return True
            self.spawn(section or c, inner, frame, region, state)
        region.replicated = True
        frame.names = saved
        if not nowait:
            state.pending.clear()
        return True

    def splits(self, c: Construct, s: ir.Stmt, frame: Frame, state: State) -> bool:
        """A taskloop shown to make two tasks or more: `num_tasks(k)`, k >= 2, over 2 iterations or
        more, or `grainsize(g)` over 2g or more (each task gets fewer than 2g). Without either the
        number of tasks is the implementation's: nothing is shown."""
        if not isinstance(s, ir.For) or c.clause_depth("collapse") > 1 or c.directive.clause("if") is not None:
            return False
        _, _, _, trips = self.canonical(s, frame, state)
        grain, tasks = clause_count(c, "grainsize"), clause_count(c, "num_tasks")
        if trips is None:
            return False
        return (grain is not None and grain > 0 and trips >= 2 * grain) or (tasks is not None and tasks >= 2 and trips >= 2)

    def opaque(self, s: ir.Stmt, frame: Frame, state: State) -> None:
        state.pending.clear()
        self.forget(_assigned_in(s), frame, state)

    def plain(self, s: ir.Stmt, frame: Frame, region: Region, state: State) -> bool:
        self.budget -= 1
        if self.budget < 0:
            raise GiveUp
        if isinstance(s, ir.Block):
            directives = list(self.standalone.get(id(s), ()))
            for inner in s.stmts:
                while directives and directives[0].line < inner.line:
                    self.standalone_directive(directives.pop(0), region, state)
                if not self.stmt(inner, frame, region, state):
                    return False
            for c in directives:
                self.standalone_directive(c, region, state)
            return True
        if isinstance(s, ir.ExprStmt):
            self.eval(s.expr, frame, region, state)
            return True
        if isinstance(s, ir.Decl):
            storage = self.globals.setdefault(s.var, Storage(s.var, True)) if s.var.kind == "static" else \
                Storage(s.var, team_shared=False)
            if s.var.kind == "static":
                frame.names[s.var] = storage
                return True
            value = self.eval(s.init, frame, region, state) if s.init is not None else None
            frame.names[s.var] = storage
            state.values[storage] = value
            return True
        if isinstance(s, ir.If):
            return self.branch(s.cond, [s.then, s.orelse], frame, region, state)
        if isinstance(s, ir.LoopStmt):
            self.loop(s, frame, region, state)
            return True
        if isinstance(s, ir.Jump):
            if s.value is not None:
                self.eval(s.value, frame, region, state)
            if s.kind == "return":
                frame.returns.append(state.copy())
            return False
        if isinstance(s, ir.Switch):
            return self.branch(s.cond, [s.body, None], frame, region, state, decide=False) or True
        if isinstance(s, ir.Labeled):
            return self.stmt(s.stmt, frame, region, state) if s.stmt is not None else True
        for part in s.children():  # OtherStmt
            if isinstance(part, ir.Stmt):
                self.stmt(part, frame, region, state)
            else:
                self.eval(part, frame, region, state)
        return True

    def branch(self, cond, arms, frame, region, state, decide=True) -> bool:
        value = self.eval(cond, frame, region, state)
        if decide and isinstance(value, Num) and value.known:
            arm = arms[0] if value.lo else arms[1]
            return self.stmt(arm, frame, region, state) if arm is not None else True
        before = {p.origin for p in state.pending}
        results = []
        for arm in arms:
            path = state.copy()
            self.conditions.append((len(self.loops), next(self.ids)))
            if arm is None or self.stmt(arm, frame, region, path):
                results.append(path)
            self.conditions.pop()
        if not results:
            return False
        state.become(join(results, before))
        return True

    def loop(self, s: ir.LoopStmt, frame, region, state) -> None:
        counter_var, first, step, trips = None, None, None, None
        if isinstance(s, ir.For):
            if s.init is not None:
                self.stmt(s.init, frame, region, state)
            counter_var, first, step, trips = self.canonical(s, frame, state)
        elif isinstance(s, ir.RangeFor) and s.range is not None:
            self.eval(s.range, frame, region, state)
        written = _assigned_in(s)
        self.forget(written, frame, state)
        if trips == 0:
            if getattr(s, "cond", None) is not None:
                self.eval(s.cond, frame, region, state)
            return
        every = not any(isinstance(x, ir.Jump) for x in s.body.walk())
        before = state.copy()
        execution = object()
        storage = self.resolve(frame, counter_var) if counter_var is not None else None
        for turn in range(min(trips or 2, 2)):
            counter = None
            if storage is not None and trips and isinstance(first, Num):
                state.values[storage] = first  # some value of a known range (not every value)
            elif storage is not None and trips:
                counter = Counter(s, execution, turn, first, step, trips, len(self.loops) + 1, every)
                state.values[storage] = Num.of(counter)
            if isinstance(s, (ir.For, ir.While)) and s.cond is not None:
                self.eval(s.cond, frame, region, state)
            self.loops.append(counter if counter is not None else s)
            self.stmt(s.body, frame, region, state)
            self.loops.pop()
            if isinstance(s, ir.For) and s.inc is not None:
                self.eval(s.inc, frame, region, state)
            if isinstance(s, ir.DoWhile) and s.cond is not None:
                self.eval(s.cond, frame, region, state)
        self.forget(written, frame, state)
        if not trips and not isinstance(s, ir.DoWhile):  # perhaps no iteration at all
            state.become(join([state, before], {p.origin for p in before.pending}))

    def forget(self, written: set[ir.Var], frame: Frame, state: State) -> None:
        """Values a loop changes, and every global's (a call in it may set them)."""
        for var in written:
            storage = self.resolve(frame, var)
            if storage is not None:
                state.values.pop(storage, None)
        for storage in [k for k in state.values if k.var.kind in ("global", "static")]:
            del state.values[storage]

    def canonical(self, s: ir.For, frame, state):
        """(counter, first value, step, trip count) of `for (k = a; k < b; k += c)` with
        known a, b, c; trips None when not known. When only b - a is known, the first
        value is the Num range the counter stays in."""
        init = s.init
        if isinstance(init, ir.Decl) and init.init is not None:
            var, start = init.var, init.init
        elif isinstance(init, ir.ExprStmt) and isinstance(init.expr, ir.Assign) and init.expr.op == "=" \
                and isinstance(init.expr.target, ir.Name):
            var, start = init.expr.target.var, init.expr.value
        else:
            return None, None, None, None
        if var is None or var in written_vars(s.body):
            return None, None, None, None
        step = _step(s.inc, var)
        cond = s.cond
        if step is None or not (isinstance(cond, ir.Binary) and isinstance(cond.lhs, ir.Name) and cond.lhs.var is var):
            return var, None, None, None
        a = self.eval(start, frame, None, state, record=False)
        b = self.eval(cond.rhs, frame, None, state, record=False)
        if not (isinstance(a, Num) and isinstance(b, Num)) or (step > 0) != (cond.op in ("<", "<=")):
            return var, None, None, None
        if a.known and b.known:
            lo, bound = a.lo, b.lo
        else:  # `for (i = lo; i < lo + 32; i++)`: the start is not known, the trip count is
            width = arith("-", b, a)
            if not (isinstance(width, Num) and (width.known or width.counter is not None and width.scale == 0)):
                return var, None, None, None
            lo, bound = 0, width.lo
        last = {"<": bound - 1, "<=": bound, ">": bound + 1, ">=": bound}.get(cond.op)
        if last is None:
            return var, None, None, None
        trips = max(0, (last - lo) // step + 1)
        if not a.known:  # the counter lies in a range: the smallest start to the largest end
            span = step * (trips - 1)
            return var, Num(a.lo + min(span, 0), a.hi + max(span, 0)) if trips else None, step, trips
        return var, lo, step, trips


def _associated_counters(s: ir.Stmt, depth: int) -> list[ir.Var]:
    """The counters of the `depth` loops a loop directive is associated with."""
    out = []
    while isinstance(s, ir.For) and len(out) < depth:
        init = s.init
        if isinstance(init, ir.Decl):
            out.append(init.var)
        elif isinstance(init, ir.ExprStmt) and isinstance(init.expr, ir.Assign) and isinstance(init.expr.target, ir.Name) \
                and init.expr.target.var is not None:
            out.append(init.expr.target.var)
        body = s.body
        s = body.stmts[0] if isinstance(body, ir.Block) and len(body.stmts) == 1 else body
    return out


def _assigned_in(s: ir.Stmt) -> set[ir.Var]:
    """Variables the statement's expressions assign (declarations inside it left out)."""
    return {v for x in s.walk() for e in x.expressions() for v in written_in_expr(e)}


def clause_count(c: Construct, clause: str) -> int | None:
    found = c.directive.clause(clause)
    try:
        return int(found.items()[0]) if found is not None and found.items() else None
    except ValueError:
        return None


def _step(inc: ir.Expr | None, var: ir.Var) -> int | None:
    if isinstance(inc, ir.Unary) and isinstance(inc.operand, ir.Name) and inc.operand.var is var:
        return 1 if "++" in inc.op else -1 if "--" in inc.op else None
    if isinstance(inc, ir.Assign) and isinstance(inc.target, ir.Name) and inc.target.var is var \
            and isinstance(inc.value, ir.Const) and isinstance(inc.value.value, int) and inc.value.value:
        return {"+=": inc.value.value, "-=": -inc.value.value}.get(inc.op)
    return None
