"""One Evidence, built once from a check's result, rendered by every format:
the text report, JSON (its shape pinned key by key), SARIF and the review comment."""

from __future__ import annotations

import io
import json

from rich.console import Console

from ompilot.cli import findings as F
from ompilot.cli import github, render, sarif
from ompilot.suggest.proposals import Edit, FileSuggestions, Proposal, Refusal
from ompilot.verify.evidence import CheckResult, Evidence, RaceReport

SOURCE = b"void f(double *a, int n) {\n  for (int i = 0; i < n; i++)\n    a[i] = 2 * a[i];\n}\n"
RACE = RaceReport(first="f.c:3 (write)", second="f.c:3 (read)", summary="SUMMARY: data race", threads=2,
                  schedule="dynamic,1")


def _checked() -> CheckResult:
    return CheckResult(
        accepted=True, stage="accepted", message="1.80x faster with 2 threads", race_runs=6, archer_loaded=True,
        serial_seconds=[0.5, 0.52, 0.51], parallel_seconds=[0.28, 0.3, 0.29], threads=2, speedup=1.8,
        timed="loops", loops=[{"loop": "f.c:2", "serial_seconds": 0.4, "parallel_seconds": 0.22}],
        loop_serial_seconds=[0.4, 0.41, 0.4], loop_parallel_seconds=[0.22, 0.23, 0.22], program_speedup=1.75,
        tried=["a: 0.29 s (1.80x)"], chosen="#pragma omp parallel for schedule(static)",
        stage_seconds={"builds": 1.2, "build_count": 3}, cached_from=None,
    )


def _proposal(evidence, verified) -> Proposal:
    return Proposal(file="f.c", line=2, kind="pragma", summary="#pragma omp parallel for",
                    edits=[Edit(27, 27, "  #pragma omp parallel for\n")], explanation=["no two iterations collide"],
                    verified=verified, evidence=evidence)


def test_json_keeps_the_documented_shape():
    evidence = Evidence.of(_checked())
    assert list(evidence.to_json()) == [
        "accepted", "stage", "message", "speedup", "threads", "race_check", "output_check", "output_not_compared",
        "serial_seconds", "parallel_seconds", "tried", "chosen", "timed", "timing_note", "loops",
        "loop_serial_seconds", "loop_parallel_seconds", "program_speedup", "stage_seconds", "cached_from"]
    record = evidence.to_json()
    assert record["output_not_compared"] == ""  # every number of the output was compared
    assert record["race_check"] == {"runs": 6, "archer_loaded": True, "races": [], "in_original": []}
    assert record["output_check"] == "same" and record["speedup"] == 1.8 and record["threads"] == 2
    assert record["loops"] == [{"loop": "f.c:2", "serial_seconds": 0.4, "parallel_seconds": 0.22}]
    assert record["stage_seconds"] == {"builds": 1.2, "build_count": 3}
    racy = _checked()
    racy.accepted, racy.stage, racy.races, racy.output_difference = False, "race", [RACE], "line 1: 3 against 4"
    record = Evidence.of(racy).to_json()
    assert record["race_check"]["races"] == [{"first": "f.c:3 (write)", "second": "f.c:3 (read)",
                                              "summary": "SUMMARY: data race", "threads": 2, "schedule": "dynamic,1"}]
    assert record["output_check"] == "line 1: 3 against 4"
    together = evidence.with_together("checked one by one").to_json()
    assert together["together"] == "checked one by one" and "together" not in evidence.to_json()
    assert Evidence.not_checked("budget", "spent").to_json() == {"accepted": False, "stage": "budget",
                                                                 "message": "spent"}
    assert Refusal("no", "m1").to_json() == {"accepted": False, "stage": "model", "message": "no", "model": "m1"}


def test_the_text_says_what_was_not_compared_and_which_races_the_program_had():
    checked = _checked()
    checked.output_not_compared = "stderr line 4, number 1, which varied between serial runs"
    checked.races_in_original = [RACE]
    out = io.StringIO()
    render.print_suggestions([FileSuggestions(path="f.c", data=SOURCE, proposals=[_proposal(Evidence.of(checked), True)])],
                             [], Console(file=out, width=300, highlight=False))
    text = out.getvalue().splitlines()
    assert "    = output check: same (not compared: stderr line 4, number 1, which varied between serial runs)" in text
    assert ("    = race check: 6 runs under ThreadSanitizer (Archer loaded), 0 races (not counted, as the unchanged "
            "program has them too: f.c:3 (write) and f.c:3 (read))") in text
    assert Evidence.of(checked).to_json()["race_check"]["in_original"][0]["first"] == "f.c:3 (write)"


def test_every_format_renders_the_same_evidence():
    kept = _proposal(Evidence.of(_checked()), True)
    rejected = _proposal(Evidence.not_checked("setup", "no way to build f.c"), False)
    results = [FileSuggestions(path="f.c", data=SOURCE, proposals=[kept], rejected=[rejected])]
    out = io.StringIO()
    render.print_suggestions(results, [], Console(file=out, width=200, highlight=False))
    text = out.getvalue().splitlines()
    assert "    = 1.80x faster with 2 threads" in text
    assert "    = race check: 6 runs under ThreadSanitizer (Archer loaded), 0 races" in text
    assert "    = output check: same" in text
    assert any(l.startswith("    = timing: serial median 0.510 s (0.500-0.520), parallel median 0.290 s") for l in text)
    assert "f.c:2: rejected: #pragma omp parallel for: no way to build f.c" in text
    record = json.loads(render.suggestions_json(results, []))
    assert record["proposals"][0]["evidence"] == kept.evidence.to_json()
    assert record["rejected"][0]["evidence"] == {"accepted": False, "stage": "setup", "message": "no way to build f.c"}
    found = F.suggest_findings(results, F.SourceIndex({"f.c": SOURCE}))
    log = json.loads(sarif.to_sarif(found, []))
    messages = [r["message"]["text"] for r in log["runs"][0]["results"]]
    assert "rejected: #pragma omp parallel for: no way to build f.c" in messages
    line = github.evidence_line(kept)
    assert line == ("Verified: 1.80x faster with 2 threads; race check: no race in 6 runs under ThreadSanitizer "
                    "+ Archer; output: same as the serial build.")
    assert github.evidence_line(rejected).startswith("Not verified")
