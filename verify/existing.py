"""`ompilot verify PATCH_OR_PATH`: check changes that are already written.

A patch (a unified diff, as `suggest --diff` prints it) is applied to a copy
of the files it touches and each patched program is checked against the
unpatched one. A source file (or a directory of them) is checked as it is:
its own `#pragma omp` lines against the same program built without OpenMP.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import unidiff

from ompilot.analysis import sources, syntax

from .config import CannotBuild, ConfigError, resolve_config
from .evidence import CheckResult
from .races import runtime_schedules
from .runner import Sandbox
from .verifier import Program, VerifyError


class CheckTargetError(Exception):
    """The argument is neither a readable patch nor C/C++ sources."""


@dataclass
class Outcome:
    file: str
    result: CheckResult | None
    error: str | None = None


def check_target(path: Path, progress=None) -> list[Outcome]:
    if path.is_file() and not sources.is_source_name(path):
        return _check_patch(path, progress)
    files, errors = sources.collect_sources([path])
    if errors and not files:
        raise CheckTargetError(errors[0])
    return [_check_file(f, f.read_bytes(), f.read_bytes(), progress) for f in files
            if syntax.find_omp_pragmas(f.read_bytes())]


def _check_patch(path: Path, progress) -> list[Outcome]:
    try:
        patch_set = unidiff.PatchSet(path.read_text(errors="surrogateescape"))
    except unidiff.UnidiffParseError as exc:
        raise CheckTargetError(f"{path}: not a unified diff ({exc}); pass a patch or C/C++ sources") from None
    if not patch_set:
        raise CheckTargetError(f"{path}: the patch changes no file")
    patched = _apply(path, [Path(f.path) for f in patch_set.modified_files])
    return [_check_file(Path(name), Path(name).read_bytes(), data, progress) for name, data in patched.items()]


def _apply(patch_path: Path, files: list[Path]) -> dict[str, bytes]:
    """The patched contents of each file, from `git apply` on a copy."""
    with tempfile.TemporaryDirectory(prefix="ompilot-patch-") as scratch:
        for name in files:
            if not name.is_file():
                raise CheckTargetError(f"{name}: the patch changes it, but it is not here; run from the tree's root")
            target = Path(scratch) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(name.read_bytes())
        done = subprocess.run(["git", "apply", str(patch_path.resolve())], cwd=scratch,
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise CheckTargetError(f"{patch_path}: does not apply: {done.stderr.strip().splitlines()[0]}")
        return {str(name): (Path(scratch) / name).read_bytes() for name in files}


def _check_file(source: Path, original: bytes, changed: bytes, progress) -> Outcome:
    try:
        config = resolve_config(source.resolve())
    except CannotBuild as exc:  # the starter file filled with what the database or the file showed
        message = exc.block(otherwise="").removeprefix(f"{source.resolve()}: ")  # the outcome names the file
        return Outcome(str(source), None, message)
    except ConfigError as exc:
        return Outcome(str(source), None, str(exc))
    relative = source.resolve().relative_to(config.root.resolve()).as_posix()
    racy_view = runtime_schedules(changed.decode("utf-8", errors="surrogateescape")).encode(
        "utf-8", errors="surrogateescape")
    with Sandbox(config.root) as sandbox:
        program = Program(config=config, sandbox=sandbox, progress=progress)
        try:
            program.prepare({relative: original})
        except VerifyError as exc:
            return Outcome(str(source), None, str(exc))
        return Outcome(str(source), program.check({relative: changed}, {relative: racy_view}))
