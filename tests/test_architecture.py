"""ARCHITECTURE.md matches the code: every module named, every hand-over type
where the note says, and imports that follow the layers."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTE = (ROOT / "ARCHITECTURE.md").read_text()
LAYERS = ["cli", "verify", "suggest", "analysis"]  # each imports only packages to its right


def _modules() -> list[str]:
    return sorted(f"{package}/{path.name}" for package in LAYERS for path in (ROOT / package).glob("*.py")
                  if path.name != "__init__.py")


def _stage_table() -> str:
    return NOTE.split("## The stages and what each hands on", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("module", _modules())
def test_every_module_is_named_in_the_note(module):
    package, name = module.split("/")
    section = NOTE.split(f"**{package}/**", 1)[1].split("\n**", 1)[0]
    assert f"`{name}`" in section, f"ARCHITECTURE.md does not say what {module} is for"


def test_every_module_the_note_names_exists():
    named = set(re.findall(r"`((?:analysis|suggest|verify|cli)/\w+\.py)`", NOTE))
    assert named, "the note names no module paths"
    assert sorted(m for m in named if not (ROOT / m).exists()) == []


def test_every_hand_over_type_exists_in_its_module():
    types = set(re.findall(r"`(\w+)\.([A-Z]\w+)`", _stage_table()))
    assert len(types) >= 15
    modules = {Path(m).stem: m.split("/")[0] for m in _modules()}
    missing = []
    for module, name in sorted(types):
        package = modules.get(module)
        if package is None or not hasattr(importlib.import_module(f"ompilot.{package}.{module}"), name):
            missing.append(f"{module}.{name}")
    assert missing == []


def _imported_packages(path: Path, package: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                found.add(package)
            elif node.level == 0 and node.module and node.module.startswith("ompilot."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("ompilot."))
    return found


def test_imports_follow_the_layers():
    upward = []
    for module in _modules():
        package = module.split("/")[0]
        allowed = set(LAYERS[LAYERS.index(package):])
        for imported in _imported_packages(ROOT / module, package) - allowed:
            upward.append(f"{module} imports ompilot.{imported}")
    assert upward == []


def test_the_layers_test_sees_an_upward_import(tmp_path):
    """The layer check reads both import forms (it would catch analysis -> verify)."""
    source = tmp_path / "x.py"
    source.write_text("from ompilot.verify import runner\nimport ompilot.cli.main\nfrom . import ir\n")
    assert _imported_packages(source, "analysis") == {"verify", "cli", "analysis"}
