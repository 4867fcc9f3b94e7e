"""The verification cache: an unchanged program is not verified twice; any
change to what a verdict depends on verifies again."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ompilot.cli.main import main
from ompilot.verify import cache as verification_cache
from ompilot.verify.cache import VerificationCache
from ompilot.verify.config import single_file_config
from ompilot.verify.runner import Sandbox
from ompilot.verify.verifier import FileJob, Program, _check_edits

from test_latency import SOURCE, _edit


@pytest.fixture(autouse=True)
def quiet_machine(monkeypatch):
    """These checks run beside the rest of the suite: a "not faster" verdict
    then comes from a busy machine and is rightly not kept. The tests are
    about the cache, so the machine reads as quiet unless a test says not."""
    from ompilot.verify import verifier

    monkeypatch.setattr(verifier, "busy_share", lambda: 0.0)


def _check(tmp_path, cache, config=None):
    config = config or single_file_config(tmp_path / "prog.c")
    with Sandbox(tmp_path) as sandbox:
        program = Program(config=config, sandbox=sandbox, cache=cache)
        program.prepare({"prog.c": SOURCE.encode()})
        result = _check_edits(program, FileJob("prog.c", SOURCE.encode(), []), [_edit()], race=False)
    return program, result


def test_a_second_check_of_the_same_patch_comes_from_the_cache(tmp_path):
    (tmp_path / "tree").mkdir()
    tree = tmp_path / "tree"
    (tree / "prog.c").write_text(SOURCE)
    cache = VerificationCache(tmp_path / "cache")
    first_program, first = _check(tree, cache)
    assert first_program.stages.build_count > 0 and first.cached_from is None
    second_program, second = _check(tree, cache)
    assert second_program.stages.cache_hits == 1 and second_program.stages.build_count == 0
    assert second.cached_from and "verified earlier: cached result from" in second.message
    assert (second.accepted, second.stage, second.serial_seconds) == (first.accepted, first.stage, first.serial_seconds)


def test_a_changed_file_config_or_compiler_verifies_again(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "prog.c").write_text(SOURCE)
    cache = VerificationCache(tmp_path / "cache")
    _check(tree, cache)
    (tree / "helper.h").write_text("#define UNUSED 1\n")  # another file of the tree
    program, _ = _check(tree, cache)
    assert program.stages.cache_hits == 0
    config = replace(single_file_config(tree / "prog.c"), threads=(2, 3))
    program, _ = _check(tree, cache, config)
    assert program.stages.cache_hits == 0
    monkeypatch.setattr(verification_cache, "compiler_version", lambda command: f"{command} version 99")
    program, _ = _check(tree, cache)
    assert program.stages.cache_hits == 0
    program, _ = _check(tree, cache)
    assert program.stages.cache_hits == 1


def test_a_corrupt_entry_is_ignored_with_a_warning(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "prog.c").write_text(SOURCE)
    warnings: list[str] = []
    cache = VerificationCache(tmp_path / "cache", warn=warnings.append)
    _check(tree, cache)
    [entry] = (tmp_path / "cache").glob("*/*.json")
    entry.write_text('{"format": 1, "result": {"accepted": tr')
    program, result = _check(tree, cache)
    assert program.stages.cache_hits == 0 and program.stages.build_count > 0 and result.cached_from is None
    assert len(warnings) == 1 and "corrupt" in warnings[0] and str(entry) in warnings[0]
    assert not list((tmp_path / "cache").glob("*/.*.tmp"))  # written atomically, no leftovers


def test_suggest_twice_shows_the_cache_hit_and_no_cache_verifies_again(tmp_path, capsys):
    (tmp_path / "prog.c").write_text(SOURCE.replace("#define N 4000", "#define N 400000"))
    (tmp_path / ".ompilot.toml").write_text('build = "{cc} {cflags} prog.c -o {out}"\nrun = ["{exe}"]\n'
                                            "timing_runs = 3\ntune_seconds = 0\n")
    args = ["suggest", "--format", "json", str(tmp_path / "prog.c")]
    main(args)
    first = capsys.readouterr().out
    assert "verified earlier" not in first
    main(args)
    second = capsys.readouterr().out
    assert "verified earlier: cached result from" in second and '"cached_from": "' in second
    main(args + ["--no-cache"])
    assert "verified earlier" not in capsys.readouterr().out


def test_a_not_faster_verdict_from_a_busy_machine_is_not_kept(tmp_path, monkeypatch):
    """A speed rejection measured under load would turn the change down on
    every later run; one from a quiet machine, or any other verdict, is kept."""
    from ompilot.verify import verifier
    from ompilot.verify.evidence import CheckResult

    busy = verifier.BUSY_SHARE + 1
    slow = CheckResult(False, "speed", "not faster than serial beyond the noise")
    assert verifier.worth_keeping(slow, 0.2) and not verifier.worth_keeping(slow, busy)
    assert verifier.worth_keeping(CheckResult(False, "race", "data race"), busy)
    assert verifier.worth_keeping(CheckResult(True, "accepted", ""), busy)
    # the checks themselves always judge "not faster" here: only the load differs
    monkeypatch.setattr(verifier, "_run_checks", lambda *args: CheckResult(False, "speed", "not faster"))
    (tmp_path / "tree").mkdir()
    tree = tmp_path / "tree"
    (tree / "prog.c").write_text(SOURCE)
    cache = VerificationCache(tmp_path / "cache")
    config = single_file_config(tree / "prog.c")
    for load, hits in ((busy, 0), (0.0, 0), (0.0, 1)):
        with Sandbox(tree) as sandbox:
            program = Program(config=config, sandbox=sandbox, cache=cache, machine_load=lambda: load)
            _check_edits(program, FileJob("prog.c", SOURCE.encode(), []), [_edit()], race=False)
        assert program.stages.cache_hits == hits, load
