"""What `suggest` hands over: proposals made of text edits on the original file."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Edit:
    """Replace bytes [start, end) of the original file with `text` (start == end: insert)."""

    start: int
    end: int
    text: str


@dataclass
class Proposal:
    file: str
    line: int  # line of the loop the proposal is about
    kind: str  # pragma | interchange | region | simd | recurrence | scan
    summary: str  # "#pragma omp parallel for reduction(+: s)"
    edits: list[Edit]
    explanation: list[str] = field(default_factory=list)  # why this loop, why these clauses
    origin: str = "analysis"  # analysis | model
    verified: bool | None = None  # None: not verified (yet)
    evidence: dict = field(default_factory=dict)
    #: other versions of the same change for the verifier to time: (label, edits)
    variants: list[tuple[str, list[Edit]]] = field(default_factory=list)
