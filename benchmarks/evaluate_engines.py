"""How many corpus loops end up verified parallel, per engine.

For every corpus program (or --programs), each engine runs as `ompilot
suggest` would: the built-in analysis alone, then the built-in analysis plus
a model (`--llm MODEL`, with --llm-base-url or hf:PATH; skipped when no
--llm is given). Every proposal is verified on the program copied alone into
a project whose .ompilot.toml runs it at a scale calibrated so that the
serial run takes 0.45-1.5 s (compare_autopar.calibrate; --scale N fixes it),
with scale 1 for the race checker. Loops that pass the race and output checks
but not the speed check are reported separately.

A loop counts as parallel for an engine when an accepted proposal puts a
worksharing directive (`parallel for`, `for`, `target ... for`, `taskloop`)
right above it. Printed per engine: loops verified parallel (race-free, same
output, faster), loops proven correct but not faster, and how many of the
verified ones the ground truth (`*.truth.json`) calls parallel; a verified
loop the truth calls serial is listed, since it would be a hole in the checks.

    .venv/bin/python benchmarks/evaluate_engines.py [--programs a.c,b.c] [--scale 1]
        [--llm MODEL [--llm-base-url URL]] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import compare_autopar  # noqa: E402
import suggest_speedup as ss  # noqa: E402

from ompilot.suggest import llm_client, llm_propose, patch  # noqa: E402
from ompilot.analysis.scan import ScanSettings  # noqa: E402
from ompilot.verify.pipeline import SuggestOptions, suggest_tree  # noqa: E402
from ompilot.verify.session import verify_results  # noqa: E402

WORKSHARING = re.compile(r"#pragma omp (?:parallel for|for|target teams distribute parallel for|taskloop)\b")


@dataclass
class EngineCount:
    verified: set[tuple[str, int]] = field(default_factory=set)  # (program, loop line)
    correct_not_faster: set[tuple[str, int]] = field(default_factory=set)
    from_model: set[tuple[str, int]] = field(default_factory=set)
    refused_before_building: int = 0  # model answers refused by the vetting (no build)
    seconds: float = 0.0


def loop_lines(data: bytes, proposals) -> set[int]:
    """Lines of the loops that an accepted worksharing directive sits above."""
    lines = set()
    for proposal in proposals:
        for edit in proposal.edits:
            if WORKSHARING.search(edit.text) and edit.start == edit.end:
                lines.add(patch.line_number(data, edit.start))
    return lines


def calibrated_scale(source: Path, workdir: Path) -> int:
    binary = workdir / f"{source.stem}.serial"
    problem = ss.build(source, binary, openmp=False)
    if problem:
        raise SystemExit(f"evaluate_engines: {source.name}: serial build failed: {problem}")
    serial_env = ss.environments(1)[0]
    return compare_autopar.calibrate(binary, serial_env)[0]


def evaluate(source: Path, truth: dict, workdir: Path, scale: int, threads: int,
             client: llm_client.ModelClient | None, counts: dict[str, EngineCount]) -> None:
    """The built-in proposals are verified once; the model's, for the loops
    the built-in engine left, are verified on their own and added to them."""
    project = workdir / source.stem
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    copy = project / source.name
    shutil.copyfile(source, copy)
    language = "c" if source.suffix == ".c" else "cpp"
    tolerance = truth.get("tolerance") or {"rel": 1e-9, "abs": 1e-12}
    (project / ".ompilot.toml").write_text(
        f'build = "{{cc}} {{cflags}} {source.name} -o {{out}} -lm"\nrun = "{{exe}} {scale}"\nrace_run = "{{exe}} 1"\n'
        f'language = "{language}"\nthreads = [{threads}]\ntiming_runs = 5\ntune_seconds = 0\n'
        f"tolerance = {{ rel = {tolerance['rel']!r}, abs = {tolerance['abs']!r} }}\n"
    )
    started = time.monotonic()
    (built_in,) = suggest_tree([copy], ScanSettings(jobs=1), SuggestOptions(tune=False, jobs=1)).results
    _count(source.name, built_in, counts["built-in"], time.monotonic() - started)
    if client is None:
        return
    started = time.monotonic()
    asked = replace(built_in, proposals=list(built_in.proposals), rejected=[])
    for error in llm_propose.add_model_proposals([asked], client):
        print(f"  note: {source.name}: {error}", file=sys.stderr)
    asked = replace(asked, proposals=[p for p in asked.proposals if p.origin == "model"])
    if asked.proposals:
        (asked,) = verify_results([asked], tune=False).results
    with_model = counts[f"built-in + {client.settings.model}"]
    _count(source.name, built_in, with_model, 0.0)
    _count(source.name, asked, with_model, time.monotonic() - started)
    refused = [p for p in asked.rejected if p.evidence is not None and p.evidence.stage == "model"]
    with_model.refused_before_building += len(refused)


def _count(program: str, result, count: EngineCount, seconds: float) -> None:
    count.seconds += seconds
    count.verified |= {(program, line) for line in loop_lines(result.data, result.proposals)}
    count.from_model |= {(program, line) for line in
                         loop_lines(result.data, [p for p in result.proposals if p.origin == "model"])}
    slow = [p for p in result.rejected if p.evidence is not None and p.evidence.stage == "speed"]
    count.correct_not_faster |= {(program, line) for line in loop_lines(result.data, slow)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", help="comma-separated corpus programs (default: all)")
    parser.add_argument("--scale", type=int, help="argv[1] of every timed run (default: calibrated per program)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--llm", help="model for the second engine (as `ompilot suggest --llm`)")
    parser.add_argument("--llm-base-url")
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.programs.split(",")] if args.programs else [
        json.loads(t.read_text())["program"] for t in sorted(ss.CORPUS.glob("*.truth.json"))]
    programs = ss.select_programs(names)
    engines: dict[str, llm_client.ModelClient] = {}
    names_of_engines = ["built-in"]
    if args.llm:
        engines["model"] = llm_client.ModelClient(llm_client.LLMSettings(model=args.llm, base_url=args.llm_base_url))
        names_of_engines.append(f"built-in + {args.llm}")
    truth_parallel = {(s.name, loop["line"]) for s, t in programs for loop in t["loops"] if loop["parallel"]}
    counts = {name: EngineCount() for name in names_of_engines}
    workdir = Path(tempfile.mkdtemp(prefix="ompilot-evaluate-"))
    try:
        for number, (source, truth) in enumerate(programs, 1):
            scale = args.scale or calibrated_scale(source, workdir)
            evaluate(source, truth, workdir, scale, args.threads, engines.get("model"), counts)
            print(f"  [{number}/{len(programs)}] {source.name}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    total = sum(len(t["loops"]) for _, t in programs)
    print(f"{len(programs)} programs, {total} loops, {len(truth_parallel)} parallel by the ground truth; "
          f"scale {args.scale or 'calibrated'}, {args.threads} threads")
    print(f"{'engine':<40} {'verified parallel':>18} {'of them truth-parallel':>23} {'correct, not faster':>20} "
          f"{'from the model':>15} {'refused unbuilt':>16} {'time':>7}")
    for name, count in counts.items():
        agreeing = len(count.verified & truth_parallel)
        print(f"{name:<40} {len(count.verified):>18} {agreeing:>23} {len(count.correct_not_faster):>20} "
              f"{len(count.from_model):>15} {count.refused_before_building:>16} {count.seconds:>6.0f}s")
        for program, line in sorted(count.verified - truth_parallel):
            print(f"  {name}: {program}:{line} verified parallel, but the truth calls it serial")
    return 0


if __name__ == "__main__":
    sys.exit(main())
