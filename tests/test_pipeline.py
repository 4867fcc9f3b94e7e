"""One library entry point for analyse -> ask a model -> verify: the CLI is a
thin shell around `verify.pipeline.suggest_tree`, so both give the same
proposals with the same evidence on the same program."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

from ompilot.analysis.scan import ScanSettings
from ompilot.cli.main import main
from ompilot.suggest.engine import suggest_file, suggest_source
from ompilot.suggest.proposals import Edit, Proposal
from ompilot.verify.evidence import Evidence
from ompilot.verify.pipeline import SuggestOptions, _withhold_model_proposals, suggest_tree
from ompilot.verify.session import VerifyOptions, verify_tree
from ompilot.verify.verifier import Verification

from test_throughput import CONFIG, TWO_LOOPS


def _checked(proposals) -> set[tuple[int, str, str]]:
    """Each proposal's loop, directive and the stage its verification ended in;
    "speed" and "accepted" are one outcome here (timing on a shared machine is
    not what this compares)."""
    return {(p["line"], p["directive"], "timed" if p["evidence"]["stage"] in ("speed", "accepted")
             else p["evidence"]["stage"]) for p in proposals}


def test_the_cli_and_the_library_give_the_same_proposals(tmp_path: Path, capsys):
    (tmp_path / "two.c").write_bytes(TWO_LOOPS)
    (tmp_path / ".ompilot.toml").write_text(CONFIG)
    code = main(["suggest", str(tmp_path / "two.c"), "--format", "json", "--no-tune", "-j", "2"])
    cli = json.loads(capsys.readouterr().out)
    run = suggest_tree([tmp_path / "two.c"], ScanSettings(jobs=2), SuggestOptions(tune=False, jobs=2))
    (result,) = run.results
    library = [{"line": p.line, "directive": p.summary, "evidence": p.evidence.to_json()}
               for p in result.proposals + result.rejected]
    cli_all = cli["proposals"] + cli["rejected"]
    assert len(cli_all) >= 2 and _checked(cli_all) == _checked(library)
    assert all(p["evidence"]["race_check"]["runs"] > 0 for p in cli_all if "parallel for" in p["directive"])
    assert code == (1 if cli["proposals"] or cli["errors"] else 0)  # kept ones may differ: timing is noisy here
    assert run.left_unverified == 0 and run.seconds > 0


def test_without_verification_the_library_keeps_the_static_proposals(tmp_path: Path):
    (tmp_path / "two.c").write_bytes(TWO_LOOPS)
    run = suggest_tree([tmp_path], ScanSettings(jobs=1), SuggestOptions(verify=False))
    (result,) = run.results
    assert {p.line for p in result.proposals} >= {6, 11}
    assert all(p.verified is None for p in result.proposals) and run.errors == []


def test_verification_returns_new_results_and_leaves_the_engines_as_they_were(tmp_path: Path):
    """The engine's FileSuggestions and Proposals are read, never written: the
    verified file is a new object, with the kept race fix and the rejected
    racy pragma carrying their evidence, while the engine's still have none."""
    source = (Path(__file__).resolve().parent.parent / "corpus" / "omp_racy_flow.c").read_bytes()
    (tmp_path / "prog.c").write_bytes(source)
    (tmp_path / ".ompilot.toml").write_text(
        'build = "{cc} {cflags} prog.c -o {out}"\nrun = "{exe} 4"\nthreads = [2]\ntiming_runs = 3\ntune_seconds = 0\n'
    )
    found = suggest_file(tmp_path / "prog.c")
    [fix] = [p for p in found.proposals if p.kind == "fix"]
    [reduction] = [p for p in found.proposals if "reduction(+: sum)" in p.summary]
    # the sum loop without its reduction: every thread adds into one shared `sum`
    racy = replace(reduction, summary="#pragma omp parallel for", origin="model",
                   edits=[replace(e, text=e.text.replace(" reduction(+: sum)", "")) for e in reduction.edits])
    engine = replace(found, proposals=[fix, racy])
    before = copy.deepcopy(engine)

    summary = verify_tree([engine], VerifyOptions(tune=False, jobs=1))

    assert engine == before and fix.verified is None and fix.evidence is None and racy.evidence is None
    [verified] = summary.results
    assert verified is not engine and summary.errors == [] and summary.left_unverified == 0
    [kept] = verified.proposals
    assert kept is not fix and (kept.kind, kept.line, kept.edits) == (fix.kind, fix.line, fix.edits)
    assert kept.verified is True and kept.evidence.stage == "accepted", kept.evidence
    [turned_down] = verified.rejected
    assert turned_down is not racy and turned_down.summary == racy.summary
    assert turned_down.verified is False and turned_down.evidence.stage in ("output", "race"), turned_down.evidence
    assert b"#pragma omp" not in verified.patched  # the fix alone: the racy pragma removed


def test_a_tuned_verification_makes_a_new_proposal():
    """What tuning chose (edits and summary) replaces the proposal's in a new Proposal."""
    proposal = Proposal(file="f.c", line=3, kind="pragma", summary="#pragma omp parallel for",
                        edits=[Edit(10, 10, "#pragma omp parallel for\n")])
    before = copy.deepcopy(proposal)
    tuned_edits = (Edit(10, 10, "#pragma omp parallel for schedule(dynamic)\n"),)
    evidence = Evidence.not_checked("speed", "not faster")
    tuned = Verification(True, evidence, edits=tuned_edits, summary="schedule(dynamic)").applied_to(proposal)
    assert proposal == before
    assert (tuned.verified, tuned.evidence, tuned.edits, tuned.summary) == (
        True, evidence, list(tuned_edits), "schedule(dynamic)")
    untuned = Verification(False, evidence).applied_to(proposal)
    assert (untuned.verified, untuned.edits, untuned.summary) == (False, proposal.edits, proposal.summary)


def test_without_verification_a_models_proposals_move_to_new_results(tmp_path: Path):
    """--no-verify: the model's proposals are withheld in new FileSuggestions;
    the engine's keep theirs, and the analysis's proposals stay kept."""
    found = suggest_source(str(tmp_path / "two.c"), TWO_LOOPS)
    built_in, asked = found.proposals[0], replace(found.proposals[1], origin="model")
    engine = replace(found, proposals=[built_in, asked])
    before = copy.deepcopy(engine)

    [result] = _withhold_model_proposals([engine])

    assert engine == before and asked.verified is None and asked.evidence is None
    assert result is not engine and result.proposals == [built_in]
    [held] = result.rejected
    assert held is not asked and (held.line, held.summary, held.edits) == (asked.line, asked.summary, asked.edits)
    assert held.verified is False
    assert held.evidence.to_json() == {"accepted": False, "stage": "setup",
                                       "message": "model proposals are kept only when verified (drop --no-verify)"}
