"""`ompilot check --dynamic`: the races ThreadSanitizer + Archer showed, as findings.

`verify.dynamic` runs the programs; this module puts what it found into the
static check's outcome, so every format renders one report:

- a dynamic race on the lines of a static race finding (its directive, the
  loop below it, or the lines it names) is that finding, now an error that
  says both saw it (`seen_by: ["static", "dynamic"]`, the accesses in `dynamic_races`);
- any other dynamic race is an error of its own (rule `DynamicRace`) at its
  first access, naming both accesses with the top frames of their stacks;
- a file whose program cannot be built, or whose runs could not be trusted,
  is one warning; its static result stands.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from ompilot.analysis import sources, syntax
from ompilot.verify import dynamic as dyn

from . import findings as F

DYNAMIC_RACE = "DynamicRace"
DYNAMIC_NOT_RUN = "dynamic-not-run"
STATIC, DYNAMIC = "static", "dynamic"


def checked_files(paths: list[Path]) -> list[Path]:
    """The files `check` reads of `paths` (errors about the rest are check's own),
    less headers: they run as part of the programs that include them."""
    files, _ = sources.collect_sources(list(paths))
    return [f for f in files if sources.source_kind(f) is not None and not sources.is_header_name(f)]


_TARGET_REGION = re.compile(r"__omp_offloading_[0-9a-f]+_[0-9a-f]+_(\w+?)_l\d+")


def readable_function(name: str) -> str:
    """A frame's function as the user wrote it: clang's outlined functions
    (`f.omp_outlined_debug__`, `f(int) (.omp_outlined)`, `.omp_task_entry.`,
    `__omp_offloading_..._f_l12`) are named after the region they hold."""
    target = _TARGET_REGION.match(name)
    if target:
        return f"{target[1]} (target region)"
    if name.startswith(".omp_task_entry."):
        return "a task"
    if "omp_outlined" in name:
        base = name.split(".omp_outlined", 1)[0].removesuffix(" (")
        return f"{base} (parallel region)" if base else "a parallel region"
    return name


def race_text(race: dyn.DynamicRace) -> str:
    """"write at a.c:14 (in f, called from main) and read at a.c:17 (in g), 4 threads, schedule static,1"."""

    def access(a: dyn.RaceAccess) -> str:
        frames: list[str] = []
        for frame in a.stack:
            name = readable_function(frame.function)
            if not frames or frames[-1] != name:
                frames.append(name)
        called = f", called from {', '.join(frames[1:])}" if len(frames) > 1 else ""
        return f"{a.kind} at {a.where}" + (f" (in {frames[0]}{called})" if frames else "")

    return (f"{access(race.first)} and {access(race.second)}, {race.threads} threads, "
            f"schedule {race.schedule}")


def _same_file(a: str, b: str) -> bool:
    return bool(a) and bool(b) and (a == b or os.path.realpath(a) == os.path.realpath(b))


def static_lines(finding: F.Finding, index: F.SourceIndex) -> set[int]:
    """The lines a static race finding covers: its own, the loop it is about
    (to the loop's end) and any lines its data names."""
    lines = {finding.line} if finding.line is not None else set()
    loop_line = finding.data.get("loop_line")
    if isinstance(loop_line, int):
        lines.add(loop_line)
        data = index.data(finding.file)
        if data is not None:
            language = syntax.language_for(finding.file, data)
            for loop in syntax.find_loops(data, language):
                if loop.line == loop_line:
                    lines.update(range(loop.line, loop.end_line + 1))
                    break
    for key in ("lines", "access_lines"):
        for item in finding.data.get(key) or ():
            lines.update(x for x in (item if isinstance(item, list | tuple) else [item]) if isinstance(x, int))
    return lines


def _race_finding(race: dyn.DynamicRace, index: F.SourceIndex) -> F.Finding:
    place = race.first if race.first.file else race.second
    column = index.first_column(place.file, place.line) if place.file and place.line else None
    message = f"data race seen at run time by ThreadSanitizer + Archer: {race_text(race)}"
    return F.Finding(place.file, place.line if place.file else None, column, "error", DYNAMIC_RACE, message,
                     data={"seen_by": [DYNAMIC], "dynamic_races": [race.to_json()]})


def _merged(finding: F.Finding, seen: list[dyn.DynamicRace]) -> F.Finding:
    also = "; ".join(race_text(r) for r in seen)
    return replace(finding, level="error",
                   message=f"{finding.message} [seen at run time too, by ThreadSanitizer + Archer: {also}]",
                   data={**finding.data, "seen_by": [STATIC, DYNAMIC],
                         "dynamic_races": [r.to_json() for r in seen]})


def merge(outcome, report: dyn.DynamicReport) -> None:
    """Put the dynamic races and the files not run into `outcome` (a check.CheckOutcome)."""
    index = F.SourceIndex()
    static = [i for i, f in enumerate(outcome.findings)
              if f.level in ("error", "warning") and f.file and f.line is not None
              and f.rule not in (F.OPPORTUNITY, F.SIMD_OPPORTUNITY)]
    covered = {i: static_lines(outcome.findings[i], index) for i in static}
    absorbed: dict[int, list[dyn.DynamicRace]] = {}
    alone: list[F.Finding] = []
    for race in report.races:
        match = next((i for i in static for file, lines in race.lines.items()
                      if _same_file(file, outcome.findings[i].file) and lines & covered[i]), None)
        if match is None:
            alone.append(_race_finding(race, index))
        else:
            absorbed.setdefault(match, []).append(race)
    findings = []
    for i, finding in enumerate(outcome.findings):
        if i in absorbed:
            finding = _merged(finding, absorbed[i])
        elif finding.level == "error":
            finding = replace(finding, data={**finding.data, "seen_by": [STATIC]})
        findings.append(finding)
    if alone:  # in file order, then line order (the static findings keep theirs otherwise)
        order: dict[str, int] = {}
        for f in findings + alone:
            order.setdefault(f.file, len(order))
        findings = sorted(findings + alone, key=lambda f: (order[f.file], f.line or 0))
    outcome.findings = findings
    for gap in report.not_run:
        outcome.problems.append(F.Finding(gap.file, None, None, "warning", DYNAMIC_NOT_RUN, gap.message()))
    for run in report.runs:
        if run.failures or (not run.skipped and not run.archer_loaded):
            why = "; ".join(run.failures) or "Archer did not load"
            outcome.problems.append(F.Finding(
                run.files[0], None, None, "warning", DYNAMIC_NOT_RUN,
                f"the run under ThreadSanitizer + Archer ({dyn.describe(run)}) cannot be trusted: {why}"))
    outcome.dynamic = report.runs


def summary(runs: list[dyn.ProgramRun]) -> str:
    """", 2 programs run under ThreadSanitizer + Archer (2, 4 threads)" for the text summary."""
    ran = [r for r in runs if r.runs]
    if not ran:
        return ""
    threads = sorted({t for r in ran for t in r.threads})
    return (f", {len(ran)} program{'s' * (len(ran) != 1)} run under ThreadSanitizer + Archer "
            f"({', '.join(map(str, threads))} threads)")


def add_dynamic(outcome, paths: list[Path], settings, threads: tuple[int, ...] | None, console) -> None:
    """Run the checked files' programs under TSan + Archer and merge what they show into `outcome`."""
    say = (lambda line: console.print(line, markup=False, highlight=False)) if console.is_terminal else None
    report = dyn.dynamic_check(checked_files(paths), flags=settings.flags, build_dir=settings.build_dir,
                               threads=threads, jobs=settings.jobs, say=say)
    merge(outcome, report)
