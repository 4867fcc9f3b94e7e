"""The whole of `ompilot suggest` as one library call: analyse, ask a model
(when one is given), verify.

    from ompilot.verify.pipeline import SuggestOptions, suggest_tree
    run = suggest_tree([Path("src")], ScanSettings(), SuggestOptions(jobs=2, budget_minutes=10))
    kept = [p.summary for r in run.results for p in r.proposals]

The CLI (`suggest`, `github-review`) and the benchmarks call it; it prints
nothing: progress goes to `on_progress` (a `PipelineProgress` per step) and
the analysis can be mapped by the caller's runner (a progress bar). Raises the
environment errors (no toolchain, a broken compile database, no Archer).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ompilot.analysis import compdb, sources
from ompilot.analysis.scan import Runner, ScanSettings
from ompilot.suggest import llm_propose
from ompilot.suggest.proposals import FileSuggestions
from ompilot.suggest.tree import suggest_files

from .cache import VerificationCache
from .stages import StageTimes
from .session import CommandObserver, VerifyOptions, VerifyProgress, verify_tree, withheld
from .verifier import environment_ready


@dataclass(frozen=True)
class SuggestOptions:
    target: str = "cpu"  # cpu | gpu
    verify: bool = True
    tune: bool = True
    #: proposals verified at once; timing phases still run alone (None: the number of CPUs)
    jobs: int | None = None
    budget_minutes: float | None = None  # no verification starts after this much verifying
    client: object | None = None  # an llm_client.ModelClient: its proposals are verified like the others
    analyse: Runner | None = None  # maps the analysis over the files (a progress bar); default: run_each
    observe: CommandObserver | None = None  # each gated build/run and timing phase (see session.TimingGate)
    cache: VerificationCache | None = None  # results verified earlier (verify/cache.py); None: verify again
    stages: StageTimes | None = None  # filled with the wall seconds per stage (benchmarks/pipeline_stages.py)
    executor: object | None = None  # what runs the checks (verify/executor.py); None: this machine


@dataclass
class PipelineProgress:
    """One step of the pipeline, for a progress display."""

    stage: str  # analysis | model | verify
    text: str = ""  # what is being done
    files_done: int = 0
    files_total: int = 0
    proposals_done: int = 0
    proposals_total: int = 0


@dataclass
class SuggestRun:
    results: list[FileSuggestions]
    errors: list[str] = field(default_factory=list)
    left_unverified: int = 0  # proposals the --budget left unverified
    seconds: float = 0.0


def suggest_tree(paths: list[Path], settings: ScanSettings, options: SuggestOptions = SuggestOptions(),
                 on_progress: Callable[[PipelineProgress], None] | None = None) -> SuggestRun:
    """Proposals for the C/C++ files under `paths`, verified unless
    options.verify is False (then marked unverified; a model's proposals are
    then withheld, since they are kept only when verified)."""
    started = time.monotonic()
    say = on_progress or (lambda event: None)
    stages = options.stages or StageTimes()
    files, errors = sources.collect_sources(list(paths))
    say(PipelineProgress("analysis", files_total=len(files)))
    with stages.measure("analysis"):
        results, program_errors = suggest_files(files, settings, options.target, options.analyse)
    errors = errors + program_errors
    if options.client is not None:
        say(PipelineProgress("model", text=f"asking {options.client.settings.model}"))
        errors = errors + llm_propose.add_model_proposals(results, options.client, settings)
        if not options.verify:
            results = _withhold_model_proposals(results)
    left = 0
    if options.verify and any(r.proposals for r in results):
        problem = environment_ready()
        if problem:
            raise compdb.ToolchainError(problem)
        verify_options = VerifyOptions(tune=options.tune, jobs=options.jobs or os.cpu_count() or 1,
                                       budget_minutes=options.budget_minutes, observe=options.observe,
                                       cache=options.cache, stages=stages, executor=options.executor)

        def counted(state: VerifyProgress) -> None:
            say(PipelineProgress("verify", state.current, state.files_done, state.files_total,
                                 state.proposals_done, state.proposals_total))

        summary = verify_tree(results, verify_options, on_progress=counted)
        results = summary.results
        errors = errors + summary.errors
        left = summary.left_unverified
    return SuggestRun(results, errors, left, time.monotonic() - started)


def _withhold_model_proposals(results: list[FileSuggestions]) -> list[FileSuggestions]:
    """A model's proposal is a candidate until the verifier has run it: new
    FileSuggestions with the model's proposals moved to `rejected`."""
    why = "model proposals are kept only when verified (drop --no-verify)"
    return [withheld(result, why, lambda proposal: proposal.origin == "model") for result in results]
