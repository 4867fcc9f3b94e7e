"""ompilot on the corpus's multi-file projects, as a user runs it, in one run.

For every project under corpus/projects/ (or those named with --projects):

  1. build the original serial (`clang-19 -O3`, no -fopenmp) from the truth's
     sources and defines, and calibrate argv[1] (the projects' scale) until
     its run takes about --seconds;
  2. copy the project to a temporary directory and run `ompilot suggest .
     --diff` there (verified, the default: the project's .ompilot.toml says how
     to build and run it; whole-program analysis from its
     compile_commands.json). With `--workload measured` (the default) the
     copy's `run` is set to the calibrated scale first, so the verifier
     decides on the workload this script times: a change that pays only at
     the larger size is not turned down at the smaller one, nor the reverse.
     `--workload config` keeps the project's own (smaller, faster to verify);
  3. apply the diff with `git apply` and build the patched program
     (`clang-19 -O3 -fopenmp`);
  4. time --repeat rounds of serial and parallel (OMP_NUM_THREADS=--threads)
     in turn and take the medians;
  5. check every parallel output against the serial one within the truth's
     tolerance, and whether the patch put a pragma on every loop the truth
     expects one on (`pragma_expected`: the outermost parallel loop of each
     kernel worth parallelizing).

Prints one row per project (speedup = serial / parallel, pragmas placed /
expected, output check), the geometric mean, and the projects below
TARGET_SPEEDUP. It prints; it does not assert. Exit status 1 when a build
failed or an output differs.

    .venv/bin/python benchmarks/projects_speedup.py [--threads 2] [--repeat 5]
        [--seconds 1.0] [--projects gemm_chain,lu_solve] [--show-diff]
        [--workload measured|config] [--no-tune]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suggest_speedup as ss  # noqa: E402  (runs, calibration, quiet rounds)

from ompilot.verify.compare import Tolerance, output_difference  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = ROOT / "corpus" / "projects"
OMPILOT = Path(sys.executable).with_name("ompilot")
TARGET_SPEEDUP = 1.5


@dataclass
class Project:
    directory: Path
    truth: dict
    scale: int = 1
    serial: list[ss.Run] = field(default_factory=list)
    parallel: list[ss.Run] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)  # "file:line" of expected pragmas the patch has
    missing: list[str] = field(default_factory=list)  # expected pragmas the patch lacks
    diff: str = ""
    problem: str | None = None
    suggest_seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.directory.name

    def speedup(self) -> float | None:
        if not self.serial or not self.parallel:
            return None
        return self.median(self.serial) / self.median(self.parallel)

    @staticmethod
    def median(runs: list[ss.Run]) -> float:
        return sorted(r.wall for r in runs)[len(runs) // 2]


def build(directory: Path, truth: dict, output: Path, openmp: bool) -> str | None:
    command = ["clang-19", "-O3", "-std=c99", "-I.", *(f"-D{d}" for d in truth.get("defines", []))]
    command += (["-fopenmp"] if openmp else []) + list(truth["sources"]) + ["-o", str(output)]
    command += truth.get("link", ["-lm"])
    done = subprocess.run(command, cwd=directory, capture_output=True, text=True)
    if done.returncode != 0:
        return f"{' '.join(command)}: " + " | ".join(done.stderr.strip().splitlines()[:3])
    return None


def suggest(project: Project, copy: Path, tune: bool = True) -> None:
    """`ompilot suggest . --diff` in the copy, then `git apply` of its diff."""
    start = time.perf_counter()
    command = [str(OMPILOT), "suggest", ".", "--diff", *([] if tune else ["--no-tune"])]
    done = subprocess.run(command, cwd=copy, capture_output=True, text=True)
    project.suggest_seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        project.problem = f"ompilot suggest exited {done.returncode}: {done.stderr.strip()[-300:]}"
        return
    project.diff = done.stdout
    if done.stdout.strip():
        applied = subprocess.run(["git", "apply", "-"], cwd=copy, input=done.stdout, capture_output=True, text=True)
        if applied.returncode != 0:
            project.problem = f"git apply failed: {applied.stderr.strip()[:300]}"


def pragma_placement(project: Project, copy: Path) -> None:
    """Expected pragmas: the line above each `pragma_expected` loop (after the
    patch moved it) must be an OpenMP directive."""
    for loop in project.truth["loops"]:
        if not loop.get("pragma_expected"):
            continue
        where = f"{loop['file']}:{loop['line']}"
        original = (project.directory / loop["file"]).read_text().splitlines()[loop["line"] - 1].strip()
        patched = (copy / loop["file"]).read_text().splitlines()
        found = False
        for number, text in enumerate(patched):
            if text.strip() == original and number and _directive_above(patched, number):
                found = True
                break
        (project.placed if found else project.missing).append(where)


def _directive_above(lines: list[str], number: int) -> bool:
    """A `#pragma omp` (possibly continued, possibly a tile under it) right above line `number`."""
    above = number - 1
    while above >= 0 and lines[above].strip().startswith("#pragma omp tile"):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#pragma omp")


def measure(project: Project, workdir: Path, quiet: ss.Quiet, threads: int, seconds: float, tune: bool = True,
            workload: str = "measured") -> None:
    serial_bin, parallel_bin = workdir / f"{project.name}.serial", workdir / f"{project.name}.omp"
    project.problem = build(project.directory, project.truth, serial_bin, False)
    if project.problem:
        return
    serial_env, _, parallel_env = ss.environments(threads)
    project.scale = calibrate(serial_bin, serial_env, seconds)
    copy = workdir / project.name
    shutil.copytree(project.directory, copy)
    if workload == "measured":
        run_at_scale(copy / ".ompilot.toml", project.scale)
    suggest(project, copy, tune)
    if project.problem:
        return
    pragma_placement(project, copy)
    project.problem = build(copy, project.truth, parallel_bin, True)
    if project.problem:
        return
    tolerance = Tolerance(**project.truth.get("tolerance", {}))
    expected = ss.run(serial_bin, project.scale, serial_env).stdout
    for _ in range(quiet.repeat):
        quiet.wait()
        project.serial.append(ss.run(serial_bin, project.scale, serial_env))
        project.parallel.append(ss.run(parallel_bin, project.scale, parallel_env))
    for run in project.parallel:
        difference = output_difference(expected, run.stdout, tolerance)
        if difference:
            project.problem = f"parallel output differs: {difference}"
            break


def run_at_scale(config: Path, scale: int) -> None:
    """Point the copy's `run = "{exe} K"` at `scale` (its race_run stays small)."""
    text = config.read_text()
    changed, found = re.subn(r'^run = "\{exe\} \d+"', f'run = "{{exe}} {scale}"', text, count=1, flags=re.M)
    if not found:
        raise ValueError(f"{config}: no `run = \"{{exe}} K\"` line to set the workload on")
    config.write_text(changed)


def calibrate(binary: Path, env: dict[str, str], seconds: float) -> int:
    """The smallest power-of-two argv[1] whose serial run takes `seconds`
    (at most 64), unless doubling it would take over 5x that: the projects
    grow by up to the cube of their scale."""
    scale, wall = 1, ss.run(binary, 1, env).wall
    while scale < 64 and wall < seconds:
        bigger = ss.run(binary, 2 * scale, env).wall
        if bigger > 5 * seconds:
            break
        scale, wall = 2 * scale, bigger
    return scale


def header(threads: int) -> str:
    return f"{'project':<18} {'scale':>5} {'serial s':>9} {f'{threads} thr s':>8} {'speedup':>8} {'pragmas':>8} {'suggest s':>9}  check"


def print_row(p: Project) -> None:
    speedup = p.speedup()
    expected = len(p.placed) + len(p.missing)
    cells = [f"{p.name:<18}", f"{p.scale:>5}"]
    if speedup is None:
        cells += [f"{'-':>9}", f"{'-':>8}", f"{'-':>8}"]
    else:
        cells += [f"{p.median(p.serial):>9.3f}", f"{p.median(p.parallel):>8.3f}", f"{speedup:>7.2f}x"]
    cells += [f"{len(p.placed)}/{expected}".rjust(8), f"{p.suggest_seconds:>9.0f}"]
    cells.append(p.problem or "ok")
    print(" ".join(cells), flush=True)
    if p.missing:
        print(f"{'':<18}   no pragma on: {', '.join(p.missing)}", flush=True)


def print_summary(projects: list[Project], threads: int) -> None:
    speedups = [p.speedup() for p in projects if p.speedup() is not None and not p.problem]
    if speedups:
        print(f"\ngeometric mean speedup over {len(speedups)} projects: {ss.geometric_mean(speedups):.2f}x "
              f"({threads} threads, serial clang-19 -O3 as the baseline, same run)")
    below = [p.name for p in projects if (p.speedup() or 0) < TARGET_SPEEDUP]
    print(f"below {TARGET_SPEEDUP}x: {', '.join(below) if below else 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="serial run time to calibrate argv[1] to")
    parser.add_argument("--projects", help="comma-separated project names (default: all)")
    parser.add_argument("--show-diff", action="store_true")
    parser.add_argument("--no-tune", action="store_true", help="pass --no-tune to ompilot suggest (faster)")
    parser.add_argument("--workload", choices=["measured", "config"], default="measured",
                        help="verify at the timed scale (measured) or at the project's configured one (config)")
    args = parser.parse_args(argv)
    names = args.projects.split(",") if args.projects else None
    projects = []
    for directory in sorted(PROJECTS.iterdir()):
        if directory.is_dir() and (names is None or directory.name in names):
            projects.append(Project(directory, json.loads((directory / "truth.json").read_text())))
    quiet = ss.Quiet(repeat=args.repeat, max_others=0.25, retries=1, idle_wait=10)
    print(f"load average before: {ss.load_average()}")
    print(header(args.threads))
    with tempfile.TemporaryDirectory(prefix="ompilot-projects-") as work:
        for project in projects:
            try:
                measure(project, Path(work), quiet, args.threads, args.seconds, tune=not args.no_tune,
                        workload=args.workload)
            except Exception as exc:  # one project's failure must not hide the others' numbers
                project.problem = f"{type(exc).__name__}: {exc}"
            if args.show_diff and project.diff:
                print(f"--- {project.name}\n{project.diff}")
            print_row(project)
    print_summary(projects, args.threads)
    print(f"load average after: {ss.load_average()}")
    return 1 if any(p.problem for p in projects) else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
