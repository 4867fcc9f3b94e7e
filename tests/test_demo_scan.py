"""What a new user sees first: `scripts/setup.sh` ends with `ompilot scan corpus/`.

A directory is scanned as one program, so two corpus files that define the same
external function or class member would print "X is also defined in Y": right for
a real project, noise in the demo. The race twins therefore use distinct names."""

from __future__ import annotations

from pathlib import Path

from ompilot.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
DEMO_SCAN = ".venv/bin/ompilot scan corpus/ "


def test_setup_demo_scans_the_whole_corpus():
    """The test below runs the command the demo runs; keep the two together."""
    assert DEMO_SCAN in (ROOT / "scripts" / "setup.sh").read_text()


def test_demo_scan_of_the_corpus_prints_no_conflicting_definitions(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    capsys.readouterr()
    code = main(["scan", "corpus/"])
    out, err = capsys.readouterr()
    lines = (out + err).splitlines()
    assert code == 1, "the corpus has loops to parallelize: exit 1 is the demo's expected result"
    assert any(line.startswith("corpus/races/nest_lock_safe.cpp:") for line in lines), "the race twins are in the scan"
    conflicts = [line for line in lines if "is also defined in" in line]
    assert conflicts == [], "two corpus files define one name; give one its own:\n" + "\n".join(conflicts)
    assert [line for line in lines if line.startswith("error:")] == []
