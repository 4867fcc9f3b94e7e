"""Scanning files: source -> Clang IR -> per-loop decisions -> verdicts.

`scan_file` is the library entry point for one file, analysed alone.
`scan_files` (and `scan_paths`, which first collects the sources) analyses
the files of a program together, in three phases:

1. each file is parsed and analysed alone (as `scan_file` does) and gives a
   small `program.FileSummary`; a file whose verdicts may change with facts
   from other files (pointer parameters, pointers from the program's own
   allocators) is marked as depending on them;
2. when some file depends on them, the summaries of its program (the entries
   of its compile_commands.json, or all the sources given) are merged:
   allocators across files, calls of each function across files;
3. the depending files are analysed again with the merged facts.

Phases 1 and 3 run in worker processes when `jobs` > 1 and there are
enough files to pay for them (fanout.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import compdb, concurrentcalls, constructs, effects, fileerrors, frontend, ir, loopfacts, pragmas, program, regionraces, sources, syntax
from .fanout import Runner, run_each
from .decide import FunctionContext
from .liveness import FunctionEvents
from .nest import NestPlanner

#: Below this many operations for the whole loop, threads cost more than they save.
MIN_PARALLEL_WORK = 20_000


@dataclass(frozen=True)
class ScanSettings:
    flags: tuple[str, ...] | None = None  # fixed flags (after `--`); overrides the database
    build_dir: Path | None = None  # where compile_commands.json is; searched upwards if None
    jobs: int = 1
    min_work: int = MIN_PARALLEL_WORK


def scan_paths(paths: list[Path], settings: ScanSettings, run: Runner | None = None) -> tuple[list[loopfacts.FileReport], list[str]]:
    files, errors = sources.collect_sources(paths)
    reports, program_errors = scan_files(files, settings, run)
    return reports, errors + program_errors


def scan_files(files: list[Path], settings: ScanSettings, run: Runner | None = None) -> tuple[list[loopfacts.FileReport], list[str]]:
    """Reports for `files` (in their order) and one line per problem with the
    program around them (a translation unit that failed, a function defined twice)."""
    if not files:
        return [], []
    programs, unit_of = _programs(files, settings)
    run = run or run_each
    tasks = [_Task(Path(f), unit_of.get(_key(f)) is not None) for f in files]
    firsts: list[_FirstPass] = run(_first_pass_kept, tasks, settings)
    reports = [f.report for f in firsts]
    depending = [i for i, f in enumerate(firsts) if f.depends and tasks[i].unit]
    if not depending:
        return reports, []
    errors: list[str] = []
    summaries = {_key(files[i]): firsts[i].summary for i in range(len(files)) if tasks[i].unit}
    wanted = {unit_of[_key(files[i])] for i in depending}
    others = [u for p in wanted for u in programs[p] if _key(u) not in summaries]
    for summary in run(_summary_only, [_Task(u, True) for u in others], settings):
        summaries[_key(summary.path)] = summary
    facts_of: dict[int, tuple[program.ProgramFacts | None, str | None]] = {}
    for p in sorted(wanted):
        facts_of[p] = _merge(programs[p], summaries, {_key(f) for f in files}, errors)
    again: list[int] = []
    for i in depending:
        facts, why = facts_of[unit_of[_key(files[i])]]
        if facts is None:
            reports[i] = _explain_not_whole(reports[i], why)
        else:
            again.append(i)
    kept = [i for i in again if firsts[i].prepared is not None]  # phase 1 ran in this process
    parse_again = [i for i in again if firsts[i].prepared is None]
    facts = {i: facts_of[unit_of[_key(files[i])]][0] for i in again}
    for i in kept:
        reports[i] = _analyse(firsts[i].prepared, facts[i], loopfacts.FileReport(path=str(files[i])))
    redone = run(_reanalyse_pair, [(files[i], facts[i]) for i in parse_again], settings) if parse_again else []
    for i, report in zip(parse_again, redone):
        reports[i] = report
    for i in again:
        reports[i] = _with_earlier_errors(reports[i], firsts[i].report)
        reports[i].program = facts[i]
    return reports, errors


def _reanalyse_pair(pair, settings):
    """_reanalyse for run(), whose extra arguments are the same for every item."""
    path, facts = pair
    return _reanalyse(path, settings, facts)


def _key(path) -> str:
    return os.path.normpath(os.path.abspath(str(path)))


def _programs(files: list[Path], settings: ScanSettings) -> tuple[list[list[Path]], dict[str, int]]:
    """The programs the files belong to, as lists of translation units, and for
    each file that is a unit the index of its program. A program is a
    compile_commands.json's entries, or all the (non-header) sources given."""
    programs: list[list[Path]] = []
    unit_of: dict[str, int] = {}
    databases: dict[str, int] = {}
    loose: list[Path] = []
    listed: dict[str, tuple[list[Path], set[str]]] = {}
    for f in files:
        database = None
        if settings.flags is None:
            database = settings.build_dir or compdb.find_compile_database(Path(f))
        if database and _key(database) not in listed:
            entry_files = [Path(e.file) for e in compdb.entries(Path(database))]
            listed[_key(database)] = (entry_files, {_key(e) for e in entry_files})
        entry_files, keys = listed[_key(database)] if database else ([], set())
        if database and _key(f) in keys:
            index = databases.get(_key(database))
            if index is None:
                index = databases[_key(database)] = len(programs)
                programs.append(entry_files)
                for e in entry_files:
                    unit_of.setdefault(_key(e), index)
        elif not database and not sources.is_header_name(f):
            loose.append(Path(f))
    if len(loose) > 1:
        index = len(programs)
        programs.append(loose)
        for f in loose:
            unit_of.setdefault(_key(f), index)
    return programs, unit_of


def _merge(units: list[Path], summaries: dict[str, program.FileSummary], requested: set[str], errors: list[str]):
    """(facts, None) for a whole program in view, else (None, why not). A unit
    the user did not ask for that failed gets its own line in `errors`."""
    found = [summaries[_key(u)] for u in units]
    failed = [s for s in found if not s.parsed]
    for s in failed:
        if _key(s.path) not in requested:
            errors.append(f"{s.path}: {s.problem}; calls from it are not known, so no fact about other files relies on it")
    seen: dict[str, str] = {}
    for s in found:
        for d in s.definitions:
            if d.is_static or d.name == "main":
                continue  # several mains are several programs, said in the reasons
            if d.key in seen and seen[d.key] != s.path:
                errors.append(f"{s.path}: {d.name} is also defined in {seen[d.key]}; neither definition is used for facts across files")
            seen.setdefault(d.key, s.path)
    if failed:
        names = ", ".join(s.path for s in failed)
        return None, f"an external function, and {names} (part of the program) could not be analysed, so not all its callers are known"
    mains = [s.path for s in found if s.has_main]
    if len(mains) > 1:
        return None, (
            f"an external function; the files analysed together define main {len(mains)} times "
            f"({', '.join(mains[:3])}{', ...' if len(mains) > 3 else ''}), so they are several programs "
            "and calls from other files are not used"
        )
    if not mains:
        return None, program.NOT_IN_VIEW.replace("(analyse", "(no file defines main; analyse")
    return program.merge(found, whole=True), None


def _explain_not_whole(report: loopfacts.FileReport, why: str | None) -> loopfacts.FileReport:
    """Say why facts from other files were not used, in the reasons that needed them."""
    if not why:
        return report
    for verdict in report.verdicts:
        verdict.reasons = [
            replace(r, missing=r.missing.replace(program.NOT_IN_VIEW, why))
            if isinstance(r, loopfacts.PossibleAlias) and r.missing else r
            for r in verdict.reasons
        ]
        verdict.notes = [n.replace(program.NOT_IN_VIEW, why) for n in verdict.notes]
    return report


def _with_earlier_errors(report: loopfacts.FileReport, first: loopfacts.FileReport) -> loopfacts.FileReport:
    report.errors = list(first.errors)
    return report


# -------------------------------------------------------------- one file


@dataclass(frozen=True)
class _Task:
    path: Path
    unit: bool  # a translation unit of a program analysed together


@dataclass
class _Prepared:
    """A parsed file, ready for the loop analysis."""

    path: str
    tu: ir.TranslationUnit
    lines: list[str]
    pragma_lines: dict
    syntax_loops: list
    min_work: int
    sources: dict[ir.Function, dict[ir.Var, frozenset[str]]] = field(default_factory=dict)  # program.local_sources

    def __post_init__(self) -> None:
        self.sources = {f: program.local_sources(f) for f in self.tu.functions if f.body is not None}


@dataclass
class _FirstPass:
    report: loopfacts.FileReport
    summary: program.FileSummary | None = None
    depends: bool = False  # the verdicts may change with facts from other files
    prepared: _Prepared | None = None  # the parsed file, kept only within this process

    def __getstate__(self) -> dict:
        """A worker sends back the summary and the report, never the parsed file."""
        return {**self.__dict__, "prepared": None}


def scan_file(path: Path, settings: ScanSettings = ScanSettings()) -> loopfacts.FileReport:
    """Analyse one file alone: only its own allocators and calls are known."""
    return _first_pass(_Task(Path(path), False), settings).report


def _first_pass(task: _Task, settings: ScanSettings, keep: bool = False) -> _FirstPass:
    path = str(task.path)
    report = loopfacts.FileReport(path=path)
    try:
        text = sources.read_source(task.path)
    except sources.SourceError as exc:
        report.errors.append(str(exc))
        report.analysed = False
        return _FirstPass(report, program.FileSummary(path, parsed=False, problem=_unreadable(exc, path)))
    if text.warning:
        report.errors.append(text.warning)
    return _first_pass_source(path, text.data, settings, report, task.unit, keep)


def _first_pass_kept(task: _Task, settings: ScanSettings) -> _FirstPass:
    return _first_pass(task, settings, keep=True)


def _unreadable(exc: Exception, path: str) -> str:
    message = str(exc)
    if not os.path.exists(path):
        return "listed as a translation unit but the file does not exist (regenerate compile_commands.json)"
    return message.removeprefix(f"{path}: ")


def _summary_only(task: _Task, settings: ScanSettings) -> program.FileSummary:
    """Phase 1 for a unit whose loops nobody asked for: its summary alone."""
    path = str(task.path)
    try:
        text = sources.read_source(task.path)
    except sources.SourceError as exc:
        return program.FileSummary(path, parsed=False, problem=_unreadable(exc, path))
    language = syntax.language_for(path, text.data)
    tu = frontend.parse(path, _flags(path, language, settings), text.data)
    if tu.errors:
        return program.FileSummary(path, parsed=False, problem=f"Clang reports {len(tu.errors)} error(s); first: {tu.errors[0]}")
    return program.summarise(tu, pragma_lines=dict(syntax.find_omp_pragmas(text.data)))


def _reanalyse(path: Path, settings: ScanSettings, facts: program.ProgramFacts) -> loopfacts.FileReport:
    """Phase 3 in a worker: parse again and analyse with the program's facts."""
    report = loopfacts.FileReport(path=str(path))
    text = sources.read_source(Path(path))
    prepared = _prepare(str(path), text.data, settings, report)
    return _analyse(prepared, facts, report) if isinstance(prepared, _Prepared) else report


def scan_source(
    path: str,
    data: bytes,
    settings: ScanSettings = ScanSettings(),
    report: loopfacts.FileReport | None = None,
    program_facts: program.ProgramFacts | None = None,
) -> loopfacts.FileReport:
    """Analyse source text as the file `path`: alone, or with the facts of its
    program (`FileReport.program` of an earlier whole-program scan)."""
    report = report or loopfacts.FileReport(path=path)
    if program_facts is None:
        return _first_pass_source(path, data, settings, report, unit=False, keep=False).report
    prepared = _prepare(path, data, settings, report)
    if isinstance(prepared, _Prepared):
        _analyse(prepared, program_facts, report)
        report.program = program_facts
    return report


def _first_pass_source(path, data, settings, report, unit: bool, keep: bool) -> _FirstPass:
    prepared = _prepare(path, data, settings, report, always_parse=unit)
    if not isinstance(prepared, _Prepared):
        problem = prepared
        summary = program.FileSummary(path, parsed=False, problem=problem) if problem else program.FileSummary(path)
        return _FirstPass(report, summary if unit else None)
    summary = program.summarise(prepared.tu, prepared.sources, prepared.pragma_lines)
    alone = program.merge([summary], whole=False)
    _analyse(prepared, alone, report)
    depends = _depends(prepared, alone)
    return _FirstPass(report, summary if unit else None, depends, prepared if keep and depends and unit else None)


def _prepare(path: str, data: bytes, settings: ScanSettings, report: loopfacts.FileReport, always_parse: bool = False):
    """The parsed file, or the problem (None: nothing to analyse)."""
    language = syntax.language_for(path, data)
    syntax_loops = syntax.find_loops(data, language)
    omp_pragmas = syntax.find_omp_pragmas(data)
    if not syntax_loops and not omp_pragmas and not always_parse:
        return None
    flags = _flags(path, language, settings)
    tu = frontend.parse(path, flags, data)
    if tu.errors:
        report.errors.append(fileerrors.ClangErrors(
            path, f"not analysed, Clang reports {len(tu.errors)} error(s); first: {tu.errors[0]}"))
        reason = loopfacts.ParseFailure(message=tu.errors[0])
        for s in syntax_loops:
            loop = _syntax_loop_model(path, s)
            report.verdicts.append(loopfacts.Verdict(loop=loop, parallel=None, reasons=[reason]))
        return f"Clang reports {len(tu.errors)} error(s); first: {tu.errors[0]}"
    lines = data.decode("utf-8", errors="surrogateescape").splitlines()
    pragma_lines = dict(omp_pragmas)
    if pragma_lines:
        pragma_errors = frontend.check_openmp_syntax(path, flags, data)
        if pragma_errors:
            report.errors.append(fileerrors.PragmaRejected(path, f"Clang rejects an OpenMP pragma: {pragma_errors[0]}"))
    return _Prepared(path, tu, lines, pragma_lines, syntax_loops, settings.min_work)


def _analyse(prepared: _Prepared, facts: program.ProgramFacts, report: loopfacts.FileReport) -> loopfacts.FileReport:
    path, tu = prepared.path, prepared.tu
    report.verdicts = []
    functions = {f.name: f for f in tu.functions if f.body is not None}
    file_constructs = None
    if prepared.pragma_lines:  # every function of the file, overloads included: built once
        file_constructs = constructs.build([f for f in tu.functions if f.body is not None],
                                           prepared.pragma_lines, prepared.lines)
    for function in tu.functions:
        if function.body is None or not any(isinstance(s, ir.LoopStmt) for s in function.body.walk()):
            continue
        params = facts.for_function(function)
        ctx = FunctionContext(
            function=function,
            functions=functions,
            events=FunctionEvents(function, is_cpp=prepared.tu.is_cpp),
            fresh_pointers=_fresh_pointers(function, facts.allocators, prepared.sources[function]),
            distinct_pairs=params.distinct if params else frozenset(),
            strict_aliasing=tu.strict_aliasing,
            alias_types=tu.alias_types,
            allocators=facts.allocators,
            program=facts,
        )
        planner = NestPlanner(path, function, ctx, prepared.lines, prepared.pragma_lines, prepared.min_work,
                              file_constructs)
        verdicts = planner.run()
        if params is not None:
            _explain_params(function, params, verdicts)
        report.verdicts.extend(verdicts)
    _add_unseen_loops(path, prepared.syntax_loops, report)
    report.verdicts.sort(key=lambda v: (v.loop.line, v.loop.column))
    if file_constructs is not None:
        report.region_races = regionraces.find(functions, file_constructs, facts)
    report.region_races += concurrentcalls.static_local_races([f for f in tu.functions if f.body is not None], facts, path)
    return report


def _depends(prepared: _Prepared, alone: program.ProgramFacts) -> bool:
    """Could facts from other files change this file's verdicts? Yes when a
    function with loops has two pointer parameters that are not restrict and
    are not already proven distinct from this file alone (or might be refuted
    by calls elsewhere), or a local pointer comes from an allocator this file
    does not define, or a pointer member of a struct is used, or a call leaves
    the file (what the callee touches is known from its own file only)."""
    if _calls_out(prepared) or any(isinstance(s, ir.Decl) and s.var.kind == "static"
                                   for f in prepared.tu.functions if f.body is not None for s in f.body.walk()):
        return True  # a static local: shared when other files call the function from a parallel loop
    for function in prepared.tu.functions:
        if function.body is None or not any(isinstance(s, ir.LoopStmt) for s in function.body.walk()):
            continue
        loose = [p for p in function.params if (p.is_pointer or p.is_reference) and not p.is_restrict]
        if len(loose) >= 2:
            return True
        if any(not needs <= alone.allocators for needs in prepared.sources[function].values()):
            return True
        if any(isinstance(x, ir.Member) and x.points and x.record
               for s in function.body.walk() for e in s.expressions() for x in e.walk()):
            return True  # what pointer members hold is known from the whole program only
    return False


def _calls_out(prepared: _Prepared) -> bool:
    """A function with loops (any function, in a file with OpenMP directives)
    calls a function the file does not define and that
    is not a library function ompilot knows (effects.INERT_CALLS)."""
    defined = {f.name for f in prepared.tu.functions if f.body is not None}
    for function in prepared.tu.functions:
        if function.body is None or not prepared.pragma_lines and not any(
                isinstance(s, ir.LoopStmt) for s in function.body.walk()):
            continue
        for s in function.body.walk():
            for e in s.expressions():
                for x in e.walk():
                    if isinstance(x, ir.Call) and x.receiver is None and x.name not in defined \
                            and x.name.split("::")[-1] not in effects.INERT_CALLS and not x.name.startswith("omp_"):
                        return True
    return False


def _explain_params(function: ir.Function, params: program.ParamFacts, verdicts: list[loopfacts.Verdict]) -> None:
    """Name the call-site proof on the loops that rely on it, and say what is
    missing on the possible aliases between parameters."""
    names = {p.name for p in function.params if (p.is_pointer or p.is_reference) and not p.is_restrict}
    for verdict in verdicts:
        reasons = []
        for r in verdict.reasons:
            pair = frozenset((r.written, r.other)) if isinstance(r, loopfacts.PossibleAlias) else None
            if pair is not None and not r.missing and pair in params.missing:
                r = replace(r, missing=f"{r.written} and {r.other} are parameters of {params.missing[pair]}")
            reasons.append(r)
        verdict.reasons = reasons
        if verdict.runtime_check is not None:  # say why the check is needed
            for a, b in verdict.runtime_check.pairs:
                why = params.missing.get(frozenset((a, b)))
                if why:
                    verdict.notes.append(f"not proven without the check: {a} and {b} are parameters of {why}")
        if verdict.parallel and params.distinct:
            used = sorted(n for n in names if _loop_names(verdict, function, n))
            pairs = [p for p in params.distinct if p <= set(used)]
            if pairs:
                covered = ", ".join(sorted({n for p in pairs for n in p}))
                verdict.notes.append(f"{covered} (parameters of {function.name}) never alias: {params.proof}")


def _loop_names(verdict: loopfacts.Verdict, function: ir.Function, name: str) -> bool:
    for stmt in function.body.walk():
        if isinstance(stmt, ir.LoopStmt) and stmt.info.line == verdict.loop.line and stmt.info.column == verdict.loop.column:
            return any(
                isinstance(x, ir.Name) and x.name == name and x.var is not None and x.var.kind == "param"
                for s in stmt.walk() for e in s.expressions() for x in e.walk()
            )
    return False


def _add_unseen_loops(path: str, syntax_loops, report: loopfacts.FileReport) -> None:
    """Loops tree-sitter sees but no analysed function holds (a lambda at file
    scope, an inactive #if branch) are listed as undecided, not dropped."""
    seen = {v.loop.line for v in report.verdicts}
    for s in syntax_loops:
        if s.in_macro or s.line in seen:
            continue
        reason = loopfacts.UnsupportedConstruct(what="a loop outside the functions ompilot analyses", line=s.line)
        report.verdicts.append(loopfacts.Verdict(loop=_syntax_loop_model(path, s), parallel=None, reasons=[reason]))


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


def _syntax_loop_model(path: str, s: syntax.SyntaxLoop) -> loopfacts.Loop:
    return loopfacts.Loop(
        file=path, line=s.line, column=s.column, end_line=s.end_line, kind=s.kind,
        function=s.function, depth=s.depth, start_offset=s.start_byte, end_offset=s.end_byte,
    )


def _fresh_pointers(
    function: ir.Function,
    allocators: frozenset[str] = frozenset(program.BUILTIN_ALLOCATORS),
    sources: dict[ir.Var, frozenset[str]] | None = None,
) -> set[ir.Var]:
    """Local pointers whose every assignment is a new allocation (from the
    library or from one of the program's own allocators), NULL, or an array
    the function names only there. `sources`: program.local_sources(function)."""
    sources = sources if sources is not None else program.local_sources(function)
    return {v for v, needs in sources.items() if needs <= allocators}
