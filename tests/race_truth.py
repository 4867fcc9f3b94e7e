"""The run-time truth of a race / race-free twin set, shared by the tests of
`corpus/races/` (test_race_corpus.py) and of its blind validation set
(test_race_validation.py): build every program plain and for the race checker,
a racy program races under TSan+Archer at a line of its truth, a race-free one
is clean and prints the same output with 1, 2 and 4 threads; and the
error-level findings of `ompilot check --format json` on one program."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ompilot.cli.findings import FILE_NOT_ANALYSED, INPUT_ERROR
from ompilot.cli.main import main
from ompilot.verify.races import SANITIZER_FLAGS, check_races

_LINE_RE = re.compile(r":(\d+) \(")


@dataclass(frozen=True)
class BuildJob:
    """One program to build: the compiler and its options (without -fopenmp or
    the sanitizer flags) and its sources."""

    name: str
    compile_command: tuple[str, ...]
    sources: tuple[Path, ...]


@dataclass(frozen=True)
class Builds:
    plain: dict[str, Path]  # program -> clang -fopenmp -O1 binary
    tsan: dict[str, Path]  # program -> the verifier's ThreadSanitizer build
    failures: dict[str, str]  # "program (kind)" -> compiler output


def build_all(jobs: Iterable[BuildJob], out: Path) -> Builds:
    """Each program built once, plain (warnings are errors) and with the race
    checker's flags, two compiles at a time; any compiler output is a failure."""
    commands = []
    for job in jobs:
        stem = Path(job.name).stem
        sources = list(map(str, job.sources))
        commands.append((job.name, "plain", out / f"{stem}.plain",
                         [*job.compile_command, "-fopenmp", "-O1", "-Wall", "-Wextra", "-Werror", *sources, "-lm"]))
        commands.append((job.name, "tsan", out / f"{stem}.tsan",
                         [*job.compile_command, *SANITIZER_FLAGS, *sources, "-lm"]))

    def build(command):
        name, kind, exe, argv = command
        done = subprocess.run([*argv, "-o", str(exe)], capture_output=True, text=True, timeout=120)
        return name, kind, exe, done

    plain, tsan, failures = {}, {}, {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, kind, exe, done in pool.map(build, commands):
            if done.returncode != 0 or done.stderr.strip():
                failures[f"{name} ({kind})"] = done.stderr.strip()[:500]
            else:
                (plain if kind == "plain" else tsan)[name] = exe
    return Builds(plain, tsan, failures)


def assert_all_built(builds: Builds) -> None:
    assert not builds.failures, "\n".join(f"{k}: {v}" for k, v in builds.failures.items())


def reported_lines(race) -> set[int]:
    """The line numbers of a run-time race's two accesses."""
    return {int(m.group(1)) for m in map(_LINE_RE.search, (race.first, race.second)) if m}


def reported_sites(race) -> set[tuple[str, int]]:
    """(file name, line) of a run-time race's two accesses."""
    sites = set()
    for text in (race.first, race.second):
        location = text.split(" (")[0]
        file, _, line = location.rpartition(":")
        if line.isdigit():
            sites.add((Path(file).name, int(line)))
    return sites


def assert_races_at_truth(builds: Builds, name: str, work: Path, root: Path,
                          truth: set, sites: Callable[[object], set]) -> None:
    """Under TSan+Archer (2 and 4 threads, up to 3 passes) the racy program
    races, and one race's `sites(race)` meets the truth's."""
    exe = builds.tsan.get(name)
    assert exe is not None, f"{name} did not build"
    check = check_races(exe, [], work, threads=(2, 4), runs=3, schedules=(), time_limit=30, root=root)
    assert check.archer_loaded, check.failures
    assert check.races, f"{name}: no race in {check.runs} runs under TSan+Archer"
    seen = [race for race in check.races if sites(race) & truth]
    assert seen, f"{name}: races at {[(r.first, r.second) for r in check.races]}, truth {sorted(truth)}"


def assert_clean_and_deterministic(builds: Builds, name: str, work: Path, root: Path) -> None:
    """The race-free program is clean under TSan+Archer (2 and 4 threads) and
    its plain build prints the same, non-empty, output with 1, 2 and 4 threads."""
    exe = builds.tsan.get(name)
    assert exe is not None, f"{name} did not build"
    check = check_races(exe, [], work, threads=(2, 4), runs=1, schedules=(), time_limit=30, root=root)
    assert check.trustworthy, check.failures
    assert not check.races, [(r.first, r.second) for r in check.races]
    outputs = set()
    for threads in (1, 2, 4):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        done = subprocess.run([str(builds.plain[name])], capture_output=True, text=True, env=env, timeout=30)
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1 and outputs.pop().strip(), f"{name}: output depends on the thread count"


def check_race_errors(capsys, name: str, args: list[str]) -> list[dict]:
    """The error-level findings of `ompilot check ARGS --format json` (input
    and not-analysed errors left out); check must exit 0 or 1."""
    capsys.readouterr()
    code = main(["check", *args, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1), f"{name}: exit {code}, {report['errors']}"
    return [f for f in report["findings"]
            if f["level"] == "error" and f["rule"] not in (INPUT_ERROR, FILE_NOT_ANALYSED)]
