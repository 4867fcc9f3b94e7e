"""Scanning files: source -> Clang IR -> per-loop decisions -> verdicts.

`scan_file` is the library entry point; `scan_paths` runs it over a tree,
several files at once in worker processes.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import compdb, frontend, ir, model, pragmas, sources, syntax
from .decide import FunctionContext
from .liveness import FunctionEvents
from .loops import to_affine, written_vars
from .nest import NestPlanner

#: Below this many operations for the whole loop, threads cost more than they save.
MIN_PARALLEL_WORK = 20_000


@dataclass(frozen=True)
class ScanSettings:
    flags: tuple[str, ...] | None = None  # fixed flags (after `--`); overrides the database
    build_dir: Path | None = None  # where compile_commands.json is; searched upwards if None
    jobs: int = 1
    min_work: int = MIN_PARALLEL_WORK


def scan_paths(paths: list[Path], settings: ScanSettings) -> tuple[list[model.FileReport], list[str]]:
    files, errors = sources.collect_sources(paths)
    if settings.jobs > 1 and len(files) > 1:
        with ProcessPoolExecutor(max_workers=settings.jobs) as pool:
            reports = list(pool.map(scan_file, files, [settings] * len(files), chunksize=4))
    else:
        reports = [scan_file(f, settings) for f in files]
    return reports, errors


def scan_file(path: Path, settings: ScanSettings = ScanSettings()) -> model.FileReport:
    report = model.FileReport(path=str(path))
    try:
        text = sources.read_source(Path(path))
    except sources.SourceError as exc:
        report.errors.append(str(exc))
        report.analysed = False
        return report
    if text.warning:
        report.errors.append(text.warning)
    return scan_source(str(path), text.data, settings, report)


def scan_source(
    path: str, data: bytes, settings: ScanSettings = ScanSettings(), report: model.FileReport | None = None
) -> model.FileReport:
    report = report or model.FileReport(path=path)
    language = syntax.language_for(path, data)
    syntax_loops = syntax.find_loops(data, language)
    if not syntax_loops:
        return report
    flags = _flags(path, language, settings)
    tu = frontend.parse(path, flags, data)
    if tu.errors:
        report.errors.append(f"{path}: not analysed, Clang reports {len(tu.errors)} error(s); first: {tu.errors[0]}")
        reason = model.ParseFailure(message=tu.errors[0])
        for s in syntax_loops:
            loop = _syntax_loop_model(path, s)
            report.verdicts.append(model.Verdict(loop=loop, parallel=None, reasons=[reason]))
        return report
    lines = data.decode("utf-8", errors="surrogateescape").splitlines()
    pragma_lines = dict(syntax.find_omp_pragmas(data))
    if pragma_lines:
        pragma_errors = frontend.check_openmp_syntax(path, flags, data)
        if pragma_errors:
            report.errors.append(f"{path}: Clang rejects an OpenMP pragma: {pragma_errors[0]}")
    functions = {f.name: f for f in tu.functions if f.body is not None}
    has_main = "main" in functions
    fresh = {f: _fresh_pointers(f) for f in tu.functions if f.body is not None}
    call_sites: dict | None = None
    for function in tu.functions:
        if function.body is None or not any(isinstance(s, ir.LoopStmt) for s in function.body.walk()):
            continue
        distinct = False
        if _may_prove_distinct(function, has_main):
            call_sites = call_sites if call_sites is not None else _call_sites(tu, fresh)
            distinct = _params_distinct(function, call_sites)
        ctx = FunctionContext(
            function=function,
            functions=functions,
            events=FunctionEvents(function, is_cpp=tu.is_cpp),
            fresh_pointers=fresh[function],
            distinct_params=distinct,
        )
        planner = NestPlanner(path, function, ctx, lines, pragma_lines, settings.min_work)
        report.verdicts.extend(planner.run())
    _add_unseen_loops(path, syntax_loops, report)
    report.verdicts.sort(key=lambda v: (v.loop.line, v.loop.column))
    return report


def _add_unseen_loops(path: str, syntax_loops, report: model.FileReport) -> None:
    """Loops tree-sitter sees but no analysed function holds (a lambda at file
    scope, an inactive #if branch) are listed as undecided, not dropped."""
    seen = {v.loop.line for v in report.verdicts}
    for s in syntax_loops:
        if s.in_macro or s.line in seen:
            continue
        reason = model.UnsupportedConstruct(what="a loop outside the functions ompilot analyses", line=s.line)
        report.verdicts.append(model.Verdict(loop=_syntax_loop_model(path, s), parallel=None, reasons=[reason]))


def _flags(path: str, language: str, settings: ScanSettings) -> list[str]:
    flags: list[str] | None = list(settings.flags) if settings.flags is not None else None
    if flags is None:
        database = settings.build_dir or compdb.find_compile_database(Path(path))
        flags = compdb.flags_for(Path(path), database) if database else None
    if flags is None:
        flags = ["-std=c++17"] if language == "cpp" else []
    if language == "cpp" and not any(f.startswith("-x") for f in flags) and path.endswith(".h"):
        flags = ["-x", "c++", *flags]
    return [*flags, *compdb.toolchain_flags()]


def _syntax_loop_model(path: str, s: syntax.SyntaxLoop) -> model.Loop:
    return model.Loop(
        file=path, line=s.line, column=s.column, end_line=s.end_line, kind=s.kind,
        function=s.function, depth=s.depth, start_offset=s.start_byte, end_offset=s.end_byte,
    )


def _fresh_pointers(function: ir.Function) -> set[ir.Var]:
    """Local pointers whose every assignment is a new allocation.

    `t = a; a = b; b = t;` swaps two such pointers: they still point at two
    distinct allocations, so the swap keeps them fresh (and `t` is not).
    """
    allocated: dict[ir.Var, bool] = {}
    swaps = _swap_statements(function.body)
    once = _arrays_named_once(function.body)
    for stmt in function.body.walk():
        if id(stmt) in swaps:
            continue
        if isinstance(stmt, ir.Decl) and stmt.var.is_pointer and stmt.var.kind == "local":
            fresh = stmt.init is None or _is_allocation(stmt.init) or _names_array(stmt.init, once)
            allocated[stmt.var] = allocated.get(stmt.var, True) and fresh
        for e in stmt.expressions():
            for x in e.walk():
                if isinstance(x, ir.Assign) and isinstance(x.target, ir.Name) and x.target.var is not None:
                    var = x.target.var
                    if var.is_pointer:
                        fresh = x.op == "=" and (_is_allocation(x.value) or _names_array(x.value, once))
                        allocated[var] = allocated.get(var, True) and fresh
                elif isinstance(x, ir.Unary) and x.op == "&" and isinstance(x.operand, ir.Name) and x.operand.var:
                    allocated[x.operand.var] = False
    return {v for v, fresh in allocated.items() if fresh and v.kind == "local"}


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


def _is_allocation(e: ir.Expr | None) -> bool:
    if isinstance(e, ir.Call):
        return e.name in ("malloc", "calloc", "aligned_alloc")
    if isinstance(e, ir.OtherExpr):
        return e.kind == "cxx_new_expr" or any(_is_allocation(p) for p in e.parts)
    return False


def _call_sites(tu: ir.TranslationUnit, fresh: dict) -> dict[str, list[tuple[ir.Call, set[ir.Var]] | None]]:
    """Calls by callee name, with the caller's fresh pointers; None marks a use
    of the name that is not a call (its address escapes)."""
    sites: dict[str, list[tuple[ir.Call, set[ir.Var]] | None]] = {}
    names = {f.name for f in tu.functions}
    for function in tu.functions:
        if function.body is None:
            continue
        for stmt in function.body.walk():
            for e in stmt.expressions():
                for x in e.walk():
                    if isinstance(x, ir.Call) and x.name in names:
                        sites.setdefault(x.name, []).append((x, fresh[function]))
                for x in e.walk():
                    if isinstance(x, ir.Name) and x.var is None and x.name in names and x.value is None:
                        if not any(isinstance(c, ir.Call) and c.name == x.name for c in e.walk()):
                            sites.setdefault(x.name, []).append(None)
    return sites


def _may_prove_distinct(function: ir.Function, has_main: bool) -> bool:
    """Only a program (the file defines main) or a static function has all its
    callers in view, and only two pointer parameters can alias each other."""
    pointers = sum(p.is_pointer or p.is_reference for p in function.params)
    return pointers >= 2 and (has_main or function.is_static)


def _params_distinct(function, call_sites) -> bool:
    """Every call passes distinct whole objects to the pointer parameters."""
    pointer_params = [i for i, p in enumerate(function.params) if p.is_pointer or p.is_reference]
    calls = call_sites.get(function.name, [])
    if not calls or any(c is None for c in calls):
        return False
    reassigned = written_vars(function.body)
    if any(function.params[i] in reassigned for i in pointer_params):
        return False
    for call, fresh in calls:
        roots = []
        for i in pointer_params:
            if i >= len(call.args):
                return False
            root = _whole_object(call.args[i], fresh)
            if root is None:
                return False
            roots.append(root)
        if len(set(roots)) != len(roots):
            return False
    return True


def _whole_object(e: ir.Expr, fresh: set[ir.Var]) -> ir.Var | None:
    """A distinct object passed whole: an array, a fresh allocation or a local
    container, as `a` or `&a[0]`; not `a + 1` (which could overlap `a`)."""
    if isinstance(e, ir.Name) and e.var is not None:
        v = e.var
        if (v.is_array and v.kind != "param") or v in fresh or (v.is_container and not v.is_reference):
            return v
        return None
    if isinstance(e, ir.Unary) and e.op == "&" and isinstance(e.operand, ir.Index):
        index = to_affine(e.operand.index)
        if index is not None and index.is_constant and index.const == 0:
            return _whole_object(e.operand.base, fresh)
    return None


