"""The README's two commands and CI's entry point."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = [ROOT / "scripts" / "setup.sh", ROOT / "scripts" / "test.sh", ROOT / ".ci" / "run"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_syntax_and_mode(script: Path):
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    assert os.access(script, os.X_OK), f"{script} is not executable"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_ci_runs_exactly_the_test_script():
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[-1] == "bash scripts/test.sh"
    assert [c for c in commands if "pytest" in c or "test.sh" in c] == ["bash scripts/test.sh"]


def test_test_script_fails_on_no_tests():
    text = (ROOT / "scripts" / "test.sh").read_text()
    assert "bash scripts/setup.sh --no-demo" in text
    assert '.venv/bin/python -m pytest -n 2 "$@"' in text
    assert "-eq 5" in text


def test_setup_rejects_unknown_arguments():
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh"), "--frobnicate"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown argument: --frobnicate" in result.stderr


def test_setup_no_demo_is_idempotent_from_any_cwd(tmp_path: Path):
    """Runs the real script (everything is installed already, so it only checks)."""
    for _ in range(2):
        result = subprocess.run(
            [str(ROOT / "scripts" / "setup.sh"), "--no-demo"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=900,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "setup: ready" in result.stdout
    assert "installing" not in result.stdout  # the second run found everything in place
    python = ROOT / ".venv" / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import ompilot.analysis, ompilot.analysis.syntax; print('ok')"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "ok"
    assert (ROOT / ".venv" / ".ompilot-setup-stamp").is_file()
