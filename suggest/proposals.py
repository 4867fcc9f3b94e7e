"""What `suggest` hands over: proposals made of text edits on the original file, per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ompilot.analysis import loopfacts


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
    kind: str  # pragma | interchange | region | simd
    summary: str  # "#pragma omp parallel for reduction(+: s)"
    edits: list[Edit]
    explanation: list[str] = field(default_factory=list)  # why this loop, why these clauses
    origin: str = "analysis"  # analysis | model
    verified: bool | None = None  # None: not verified (yet)
    evidence: dict = field(default_factory=dict)
    #: other versions of the same change for the verifier to time: (label, edits)
    variants: list[tuple[str, list[Edit]]] = field(default_factory=list)


@dataclass
class FileSuggestions:
    """One file's proposals, what was left alone and why, and its errors."""

    path: str
    data: bytes  # the original bytes
    proposals: list[Proposal] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line each: a loop left alone, and why
    errors: list[str] = field(default_factory=list)
    report: loopfacts.FileReport | None = None
    analysed: bool = True
    rejected: list[Proposal] = field(default_factory=list)  # proposals the verifier turned down
    flags: tuple[str, ...] | None = None  # the flags given after `--`: the verifier builds with them too
    build_dir: Path | None = None  # where compile_commands.json is (-p), for the verifier's build

    @property
    def patched(self) -> bytes:
        from . import patch  # patch imports Edit from here

        return patch.apply_edits(self.data, [e for p in self.proposals for e in p.edits])
