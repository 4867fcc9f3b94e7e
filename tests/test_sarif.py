"""SARIF from scan, check and suggest --no-verify, validated against the
official SARIF 2.1.0 JSON schema (fetched by scripts/test.sh, never skipped),
and its fixes applied back to the sources."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ompilot.cli.main import main
from ompilot.suggest.engine import suggest_file

from sarif_schema import SCHEMA_PATH  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ["corpus/omp_racy_flow.c", "corpus/matmul_naive.c", "corpus/jacobi_2d.c", "corpus/matrix_class.cpp"]
RACY = "corpus/omp_racy_flow.c"


@pytest.fixture(scope="module")
def validator():
    if not SCHEMA_PATH.is_file():
        pytest.fail(f"{SCHEMA_PATH} is missing: run `bash scripts/test.sh` (it fetches the SARIF 2.1.0 schema once)")
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def sarif_of(capsys, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*argv])
    out = capsys.readouterr().out
    return code, json.loads(out)


def valid(validator, log: dict) -> dict:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ompilot" and driver["version"]
    rule_ids = [r["id"] for r in driver["rules"]]
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith(("/", "file:"))
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
    return run


def apply_fixes(results: list[dict]) -> dict[str, str]:
    """Every fix's replacements applied to the files they name (positions are
    1-based lines and code-point columns, all in the original text)."""
    changes: dict[str, list] = {}
    for result in results:
        for fix in result.get("fixes", []):
            for change in fix["artifactChanges"]:
                changes.setdefault(change["artifactLocation"]["uri"], []).extend(change["replacements"])
    out = {}
    for uri, replacements in changes.items():
        text = (ROOT / uri).read_text()
        starts = [0]
        for line in text.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))

        def offset(line: int, column: int) -> int:
            return starts[line - 1] + column - 1

        spans = sorted(  # stable: insertions at one point keep their order
            ((offset(r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"]),
              offset(r["deletedRegion"]["endLine"], r["deletedRegion"]["endColumn"]),
              r.get("insertedContent", {}).get("text", "")) for r in replacements),
            key=lambda span: span[:2],
        )
        pieces, copied = [], 0
        for start, end, inserted in spans:
            assert start >= copied, f"{uri}: fixes overlap"
            pieces += [text[copied:start], inserted]
            copied = end
        out[uri] = "".join(pieces) + text[copied:]
    return out


def test_scan_sarif(validator, capsys, at_root):
    code, log = sarif_of(capsys, "scan", "--format", "sarif", *PROGRAMS)
    assert code == 1
    run = valid(validator, log)
    results = run["results"]
    [race] = [r for r in results if r["level"] == "error"]
    assert race["ruleId"] == "RaceInPragma"
    assert race["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == RACY
    assert race["locations"][0]["physicalLocation"]["region"] == {"startLine": 19, "startColumn": 1}
    assert "flow dependence on a" in race["message"]["text"]
    assert {r["ruleId"] for r in results} >= {"parallel-opportunity", "RaceInPragma", "UnsupportedConstruct"}
    assert all(r["level"] == "note" for r in results if r is not race)
    assert run["invocations"][0]["executionSuccessful"] is True


def test_check_sarif_fixes_are_the_suggested_insertions(validator, capsys, at_root):
    code, log = sarif_of(capsys, "check", "--format", "sarif", *PROGRAMS)
    assert code == 1
    run = valid(validator, log)
    results = run["results"]
    assert [r["level"] for r in results].count("error") == 1
    notes = [r for r in results if r["level"] == "note"]
    assert notes and {r["ruleId"] for r in notes} <= {"parallel-opportunity", "simd-opportunity"}
    insertions = [rep for r in notes for f in r.get("fixes", []) for c in f["artifactChanges"]
                  for rep in c["replacements"]
                  if rep["deletedRegion"]["startLine"] == rep["deletedRegion"]["endLine"]
                  and rep["deletedRegion"]["startColumn"] == rep["deletedRegion"]["endColumn"]]
    assert any(i["insertedContent"]["text"] == "    #pragma omp parallel for reduction(+: sum)\n" for i in insertions)
    patched = apply_fixes(results)
    for uri, text in patched.items():
        assert text.encode() == suggest_file(Path(uri)).patched, uri


def test_suggest_sarif(validator, capsys, at_root):
    code, log = sarif_of(capsys, "suggest", "--no-verify", "--format", "sarif", *PROGRAMS)
    assert code == 1
    run = valid(validator, log)
    kinds = {r["ruleId"] for r in run["results"]}
    assert {"parallel-opportunity", "parallel-region", "loop-interchange"} <= kinds
    assert all(r["fixes"] for r in run["results"])
    assert all("unverified" in r["message"]["text"] for r in run["results"])
    for uri, text in apply_fixes(run["results"]).items():
        assert text.encode() == suggest_file(Path(uri)).patched, uri


def test_unreadable_input_is_a_notification(validator, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.c").write_text("void f(int *a) { for (int i = 0; i < 9; i++) a[i] = nope; }\n")
    code, log = sarif_of(capsys, "check", "--format", "sarif", "broken.c", "gone.c")
    assert code == 1  # gone.c is an error; broken.c was read (Clang could not parse it)
    run = valid(validator, log)
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert {(n["level"], n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for n in notes} == {
        ("error", "gone.c"), ("warning", "broken.c")}
    code, log = sarif_of(capsys, "check", "--format", "sarif", "gone.c")
    assert code == 2
    assert valid(validator, log)["invocations"][0]["executionSuccessful"] is False


def test_scan_and_suggest_github_annotations(capsys, at_root):
    capsys.readouterr()
    assert main(["scan", "--format", "github", RACY]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"::error file={RACY},line=19,col=1,title=ompilot RaceInPragma::existing '#pragma omp parallel for' " \
           "races: flow dependence on a: a[i] (line 21) and a[i - 1] (line 21), distance 1" in lines
    assert all(l.startswith(("::notice ", "::error ")) for l in lines)
    assert main(["suggest", "--no-verify", "--format", "github", RACY]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(l.startswith(f"::notice file={RACY},line=") for l in lines)
    assert any("title=ompilot parallel-opportunity::#pragma omp parallel for reduction(+: sum)" in l for l in lines)
