"""`--target gpu`: offload directives with the data they move.

A parallel loop becomes `target teams distribute parallel for` with `map`
clauses for the array sections it reads and writes (to, from, tofrom) and
its reduction variables; a serial loop around offloaded loops (a time-step
loop) gets a `target data` region, so the arrays move once, not once per
step. Without a device, OpenMP runs the same code on the host.
"""

from __future__ import annotations

from ompilot.analysis import loopfacts

_OFFLOAD = "#pragma omp target teams distribute parallel for"


def directive(verdict: loopfacts.Verdict) -> tuple[str, list[str]]:
    """The offload directive for a parallel loop, or its CPU pragma with why not."""
    if verdict.clauses.simd:
        return verdict.pragma, []  # an inner loop: vectorised inside the offloaded one
    if verdict.runtime_check is not None:
        return verdict.pragma, ["kept on the CPU: its pointers are checked for overlap at run time"]
    if verdict.data is None:
        return verdict.pragma, [f"kept on the CPU: {verdict.data_problem}"]
    if verdict.clauses.lastprivate:
        return verdict.pragma, ["kept on the CPU: lastprivate values would have to come back from the device"]
    clauses = verdict.clauses.render()
    scalars = [r.var for r in verdict.clauses.reductions if r.var not in {d.name for d in verdict.data}]
    maps = map_clauses(verdict.data)
    if scalars:
        maps.append(f"map(tofrom: {', '.join(scalars)})")
    notes = [f"{d.section}: {_moved(d)}" for d in verdict.data]
    return " ".join([_OFFLOAD, *clauses, *maps]), notes


def data_region(uses: list[loopfacts.DataUse]) -> str:
    return " ".join(["#pragma omp target data", *map_clauses(uses)])


def hoist_reason(verdict: loopfacts.Verdict) -> str:
    names = ", ".join(d.section for d in verdict.hoist or [])
    return (
        f"{names} stay on the device for the whole loop at line {verdict.loop.line}: the offloaded "
        "loops inside map them again without copying, and nothing else in the loop touches them"
    )


def map_clauses(uses: list[loopfacts.DataUse]) -> list[str]:
    out = []
    for kind in ("to", "from", "tofrom"):
        sections = [d.section for d in uses if d.map_type == kind]
        if sections:
            out.append(f"map({kind}: {', '.join(sections)})")
    return out


def _moved(use: loopfacts.DataUse) -> str:
    return {"to": "copied to the device", "from": "copied back", "tofrom": "copied both ways"}[use.map_type]
