"""Verifying the suggestions of a whole run, program by program.

Files are grouped by the program that builds them (one configuration, one
copy of the tree, one serial reference); a file with no way to build and run
it gets an error line that shows the configuration it needs, and keeps no
proposals (the caller may pass --no-verify to keep them unverified).
"""

from __future__ import annotations

from pathlib import Path

from ompilot.suggest.engine import FileSuggestions

from .config import CannotBuild, ConfigError, resolve_config, starter_block
from .runner import Sandbox
from .verifier import FileJob, Program, VerifyError, verify_proposals


def verify_results(results: list[FileSuggestions], progress=None, tune: bool = True) -> list[str]:
    """Verify every file's proposals in place; returns error lines."""
    errors: list[str] = []
    groups: dict[Path, tuple[object, list[FileSuggestions]]] = {}
    for result in results:
        if not result.proposals:
            continue
        try:  # the flags after `--` and -p reach the build as they reached the analysis
            config = resolve_config(Path(result.path).resolve(), result.flags, result.build_dir)
        except CannotBuild as exc:
            _withhold(result, str(exc))
            errors.append(exc.block())
            continue
        except ConfigError as exc:
            _withhold(result, str(exc))
            errors.append(str(exc))
            continue
        groups.setdefault(config, (config, []))[1].append(result)  # one program per build, not per directory
    for config, members in groups.values():
        errors.extend(_verify_program(config, members, progress, tune))
    return errors


def _verify_program(config, members: list[FileSuggestions], progress, tune: bool) -> list[str]:
    with Sandbox(config.root) as sandbox:
        program = Program(config=config, sandbox=sandbox, progress=progress)
        originals = {_relative(r.path, config.root): r.data for r in members}
        try:
            program.prepare(originals)
        except VerifyError as exc:
            for result in members:
                _withhold(result, str(exc))
            return [f"{config.source or config.root}: cannot verify: {exc}{starter_block(config)}"]
        for result in members:
            job = FileJob(_relative(result.path, config.root), result.data, list(result.proposals))
            accepted = verify_proposals(program, job, tune=tune)
            result.rejected += [p for p in job.proposals if p not in accepted]
            result.proposals = accepted
    return []


def _relative(path: str, root: Path) -> str:
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def _withhold(result: FileSuggestions, why: str) -> None:
    for proposal in result.proposals:
        proposal.verified = False
        proposal.evidence = {"accepted": False, "stage": "setup", "message": why}
    result.rejected += result.proposals
    result.proposals = []
