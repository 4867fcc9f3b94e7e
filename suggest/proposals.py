"""What `suggest` hands over: proposals made of text edits on the original file, per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ompilot.analysis import loopfacts


@dataclass(frozen=True, order=True)
class Edit:
    """Replace bytes [start, end) of the original file with `text` (start == end: insert)."""

    start: int
    end: int
    text: str


class Outcome(Protocol):
    """What a proposal's `evidence` says: verify.evidence.Evidence (what the
    verifier found) or a `Refusal` (turned down before any build)."""

    accepted: bool
    stage: str
    message: str

    def to_json(self) -> dict: ...


@dataclass(frozen=True)
class Refusal:
    """A model's answer turned down before building (unusable, contradicts the
    analysis, or fails the static check): the model's proposal with why."""

    message: str
    model: str  # the model that proposed it
    accepted: bool = False
    stage: str = "model"

    def to_json(self) -> dict:
        return {"accepted": self.accepted, "stage": self.stage, "message": self.message, "model": self.model}


@dataclass(frozen=True)
class Fallback:
    """A smaller version of a proposal, without threads, that the verifier
    tries when the proposal is correct but not faster: `#pragma omp simd
    reduction(...)` on its floating-point reductions."""

    label: str  # "#pragma omp simd reduction(+: s)", or "line 23: ..." per loop
    edits: list[Edit]
    explanation: list[str]
    kind: str = "simd"


@dataclass
class Proposal:
    """One change the engine proposes. Not changed once the engine returns it:
    verification returns its outcome and the pipeline combines the two into a
    new Proposal (`dataclasses.replace`), with `verified` and `evidence` set
    and, when tuning chose a variant, its edits and summary."""

    file: str
    line: int  # line of the loop the proposal is about
    #: pragma | simd: a directive above the loop; region: one parallel region around several loops;
    #: data-region: a target data region (GPU) around loops sharing arrays; interchange: the loop headers
    #: swapped; recurrence: a jump-ahead rewrite of a recurrence;
    #: scan: a two-pass scan of a running sum or linear recurrence; wavefront: a nest pipelined row block by
    #: row block; mirror: two loops over mirrored pairs rewritten as one, with the region hoisted over it;
    #: rewrite: the model's rewritten loop; fix: racy existing pragmas corrected or removed
    kind: str
    summary: str  # "#pragma omp parallel for reduction(+: s)"
    edits: list[Edit]
    explanation: list[str] = field(default_factory=list)  # why this loop, why these clauses
    origin: str = "analysis"  # analysis | model
    verified: bool | None = None  # None: not verified (yet)
    evidence: Outcome | None = None  # None: not verified (yet)
    #: other versions of the same change for the verifier to time: (label, edits)
    variants: list[tuple[str, list[Edit]]] = field(default_factory=list)
    #: a smaller change the verifier tries when this one is correct but not faster
    fallback: Fallback | None = None


@dataclass
class FileSuggestions:
    """One file's proposals, what was left alone and why, and its errors.
    Like its proposals, not changed once the engine returns it: verification
    returns a new one (`verify.session.VerifySummary.results`)."""

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
