"""`ompilot scan` against the corpus's ground truth.

No loop may be called parallel that is not (precision 100%, clauses
included), and at least 90% of the truly parallel loops must be found.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ompilot.analysis.scan import scan_file

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
TRUTHS = sorted(CORPUS.glob("*.truth.json"))


def _program(truth_path: Path) -> tuple[dict, Path]:
    truth = json.loads(truth_path.read_text())
    return truth, CORPUS / truth["program"]


@pytest.fixture(scope="module")
def results():
    out = []
    for truth_path in TRUTHS:
        truth, program = _program(truth_path)
        report = scan_file(program)
        out.append((truth, program, report))
    return out


def _clause_problems(expected: dict, verdict) -> list[str]:
    """Clauses that would make ompilot's pragma wrong (missing or extra)."""
    c = verdict.clauses
    ours_reductions = {f"{r.op}:{r.var}" for r in c.reductions}
    want_reductions = set(expected.get("reduction", []))
    problems = []
    if ours_reductions != want_reductions:
        problems.append(f"reductions {sorted(ours_reductions)} != {sorted(want_reductions)}")
    covered = set(c.private) | set(c.lastprivate) | set(c.firstprivate)
    missing = set(expected.get("private", [])) - covered - {verdict.loop.var}
    if missing:
        problems.append(f"missing private {sorted(missing)}")
    missing_last = set(expected.get("lastprivate", [])) - set(c.lastprivate) - {verdict.loop.var}
    if missing_last:
        problems.append(f"missing lastprivate {sorted(missing_last)}")
    return problems


def test_corpus_has_enough_programs():
    assert len(TRUTHS) >= 40


def test_every_loop_gets_a_verdict(results):
    missing = []
    for truth, program, report in results:
        lines = {v.loop.line for v in report.verdicts}
        for loop in truth["loops"]:
            if loop["line"] not in lines:
                missing.append(f"{program.name}:{loop['line']}")
    assert not missing, f"loops with no verdict: {missing}"


def test_precision_and_recall(results):
    wrong, found, truly_parallel, clause_errors = [], 0, 0, []
    pragma_agree = pragma_total = 0
    for truth, program, report in results:
        by_line = {v.loop.line: v for v in report.verdicts}
        for loop in truth["loops"]:
            verdict = by_line.get(loop["line"])
            if verdict is None or loop.get("existing_pragma"):
                continue
            ours = verdict.parallel is True
            where = f"{program.name}:{loop['line']}"
            # a run-time alias check is right on a loop that is serial only because the
            # pointers really overlap: that call takes the serial path
            overlap_checked = verdict.runtime_check is not None and loop.get("reason_code") == "PossibleAlias"
            if ours and not loop["parallel"] and not overlap_checked:
                wrong.append(f"{where}: truth says serial ({loop['reason']})")
            if loop["parallel"]:
                truly_parallel += 1
                found += ours
                if ours:
                    problems = _clause_problems(loop.get("required_clauses", {}), verdict)
                    if problems:
                        clause_errors.append(f"{where}: {'; '.join(problems)}")
            pragma_total += 1
            pragma_agree += (verdict.pragma is not None) == loop["pragma_expected"]
    recall = found / truly_parallel
    precision = 1.0 if not wrong else (found - len(wrong)) / max(found, 1)
    print(f"\ncorpus: precision {precision:.1%}, recall {recall:.1%} ({found}/{truly_parallel}), "
          f"pragma placement agrees on {pragma_agree}/{pragma_total} loops")
    assert not wrong, "loops called parallel that are not:\n" + "\n".join(wrong)
    assert not clause_errors, "parallel loops with wrong clauses:\n" + "\n".join(clause_errors)
    assert recall >= 0.90


def test_serial_verdicts_name_the_expected_reason(results):
    mismatched = []
    total = 0
    for truth, program, report in results:
        by_line = {v.loop.line: v for v in report.verdicts}
        for loop in truth["loops"]:
            verdict = by_line.get(loop["line"])
            if verdict is None or loop["parallel"] or loop.get("existing_pragma") or verdict.parallel is True:
                continue
            total += 1
            codes = {r.code for r in verdict.reasons}
            if loop.get("reason_code") not in codes:
                mismatched.append(f"{program.name}:{loop['line']} want {loop.get('reason_code')} got {sorted(codes)}")
    print(f"\nserial loops whose reason matches the truth: {total - len(mismatched)}/{total}")
    for line in mismatched:
        print("  ", line)
    assert total - len(mismatched) >= 0.7 * total


def test_existing_pragmas_races(results):
    checked = 0
    for truth, program, report in results:
        by_line = {v.loop.line: v for v in report.verdicts}
        for loop in truth["loops"]:
            if not loop.get("existing_pragma"):
                continue
            verdict = by_line[loop["line"]]
            checked += 1
            assert verdict.existing is not None, f"{program.name}:{loop['line']}: pragma not seen"
            assert bool(verdict.races) == loop["race"], (
                f"{program.name}:{loop['line']}: races {[r.text() for r in verdict.races]}, truth race={loop['race']}"
            )
            assert verdict.pragma is None
    assert checked >= 3
