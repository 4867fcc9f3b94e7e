"""The pre-commit hook, with the real `pre-commit try-repo` in a temporary git
repository: a staged racy pragma fails the hook, naming the file, the line
and the reason; a clean change passes.

try-repo copies this repository (HEAD plus uncommitted changes to tracked
files) and installs ompilot into a fresh virtualenv from PyPI, in a store of
its own that it deletes afterwards (PRE_COMMIT_HOME is not used for it, so
there is nothing to cache; pip's own cache makes reruns take about 15 s, a
first run on a clean machine a minute or two).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from samples import GOOD_C  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
TIMEOUT = 1200  # seconds: the first run builds a virtualenv and installs from PyPI

RACY_MAIN = """\
#include <stdio.h>

static int a[1000];

int main(void) {
#pragma omp parallel for
    for (int i = 1; i < 1000; i++)
        a[i] = a[i-1] + 1;
    printf("%d\\n", a[999]);
    return 0;
}
"""
RACY_PRAGMA_LINE = 6


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def project(tmp_path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    (repo / "README.md").write_text("# project\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "start")
    return repo


def try_repo(repo: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(repo.parent / "pre-commit-home")  # whatever it keeps stays in tmp_path
    return subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(ROOT), "ompilot-check", "--color", "never"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
    )


def test_manifest():
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "ompilot-check" and hook["entry"] == "ompilot check"
    assert hook["language"] == "python" and hook["types_or"] == ["c", "c++"] and hook["require_serial"] is True


def test_racy_pragma_is_stopped_and_a_clean_change_passes(project):
    # a clean change: a C file with loops to parallelise (notes do not fail) and a text file
    (project / "good.c").write_text(GOOD_C)
    (project / "notes.txt").write_text("for (;;) {} is not C here\n")
    git(project, "add", "good.c", "notes.txt")
    clean = try_repo(project)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "ompilot check (OpenMP races)" in clean.stdout and "Passed" in clean.stdout
    git(project, "commit", "-q", "-m", "good")

    # a change adding a racy pragma
    (project / "racy.c").write_text(RACY_MAIN)
    git(project, "add", "racy.c")
    racy = try_repo(project)
    assert racy.returncode == 1, racy.stdout + racy.stderr
    assert "Failed" in racy.stdout
    line = next((l for l in racy.stdout.splitlines() if l.startswith("racy.c:")), None)
    assert line is not None, racy.stdout
    assert line.startswith(f"racy.c:{RACY_PRAGMA_LINE}:1: error: existing '#pragma omp parallel for' races: "
                           "flow dependence on a")
    assert line.endswith("[RaceInPragma]")
    assert "good.c" not in racy.stdout  # only the staged files are checked


def test_hook_environment_does_not_pull_torch(tmp_path):
    """What pip resolves for the hook's `pip install .` (no extras): ompilot's
    base dependencies, without torch or CUDA wheels (the dev and hf extras have them)."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--disable-pip-version-check", "--report", str(tmp_path / "report.json"), str(ROOT)],
        capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    names = {item["metadata"]["name"].lower() for item in json.loads((tmp_path / "report.json").read_text())["install"]}
    assert {"ompilot", "libclang", "islpy", "sarif-pydantic"} <= names
    assert not {n for n in names if n == "torch" or n.startswith(("nvidia-", "triton"))}, sorted(names)
