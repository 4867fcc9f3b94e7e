"""Races between the statements of OpenMP regions, outside any loop's own pragma.

The loop check (policies.existing_pragma) asks whether the iterations of one
worksharing loop can meet. This module asks which statements of a parallel
region different threads may run at the same time (no barrier between them:
`nowait`, `single`/`masked` without a barrier, two `sections`, a task and the
code that spawned it, ...) and reports each pair of conflicting accesses to a
shared object that nothing orders or protects, as a `loopfacts.RegionRace`
with both lines and how they meet. It reports only races it can show; what it
cannot decide it leaves alone (the loop check's warnings cover doubts).
"""

from __future__ import annotations

from . import constructs, ir, loopfacts, taskraces


def find(functions: dict[str, ir.Function], file_constructs: constructs.FileConstructs, facts) -> list[loopfacts.RegionRace]:
    """The region races of one file. `facts`: the program's facts
    (program.ProgramFacts) for what called functions read and write."""
    races: list[loopfacts.RegionRace] = []
    races += taskraces.find(functions, file_constructs, facts)
    return races
