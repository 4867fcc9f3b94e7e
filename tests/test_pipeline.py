"""One library entry point for analyse -> ask a model -> verify: the CLI is a
thin shell around `verify.pipeline.suggest_tree`, so both give the same
proposals with the same evidence on the same program."""

from __future__ import annotations

import json
from pathlib import Path

from ompilot.analysis.scan import ScanSettings
from ompilot.cli.main import main
from ompilot.verify.pipeline import SuggestOptions, suggest_tree

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
