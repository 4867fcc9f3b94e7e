"""The `ompilot` command. `main(argv) -> int` so tests can run it in-process.

Exit codes follow ruff: 0 nothing to report, 1 findings, 2 usage or
environment error.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable

import click
from rich.console import Console

from ompilot.analysis import compdb, frontend
from ompilot.analysis import sources
from ompilot.analysis.scan import ScanSettings, scan_file, scan_files
from ompilot.suggest import llm_client
from ompilot.suggest.tree import apply_results
from ompilot.verify.cache import VerificationCache
from ompilot.verify.config import ConfigError, run_settings
from ompilot.verify.executor import LocalExecutor, SlurmExecutor
from ompilot.verify.slurm import SlurmError
from ompilot.verify.dynamic import parse_thread_counts
from ompilot.verify.existing import CheckTargetError, check_target
from ompilot.verify.pipeline import SuggestOptions, SuggestRun, suggest_tree
from ompilot.verify.session import budget_message
from ompilot.verify.verifier import environment_ready

from . import check as checking
from . import dynamic as dynamic_findings
from . import formats, github, progress, render

from .contract import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ompilot")
def cli() -> None:
    """Find the loops of C/C++ code that can run in parallel with OpenMP."""


SCAN_FORMATS = ("text", "json", "sarif", "github")
PATCH_FORMATS = (*SCAN_FORMATS, "diff")


def common_options(command=None, *, formats=SCAN_FORMATS):
    """PATH arguments and the options every analysing command takes."""
    if command is None:
        return lambda c: common_options(c, formats=formats)
    command = click.option("-j", "--jobs", type=int, default=None, help="Files analysed at once (default: number of CPUs).")(command)
    command = click.option(
        "--format", "fmt", type=click.Choice(formats), default="text", show_default=True,
        help="text: for people (colours and progress on a terminal only); json; sarif (SARIF 2.1.0); "
             "github (workflow annotations)" + ("; diff (a unified diff for git apply)" if "diff" in formats else "") + ".",
    )(command)
    command = click.option(
        "-p", "build_dir", type=click.Path(file_okay=False, path_type=Path),
        help="Directory with compile_commands.json (default: searched upwards from each file).",
    )(command)
    return click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))(command)


def _settings(ctx: click.Context, build_dir: Path | None, jobs: int | None) -> ScanSettings:
    extra = ctx.obj.get("extra_flags") if ctx.obj else None
    if build_dir is not None and not (build_dir / "compile_commands.json").is_file():
        raise click.UsageError(f"{build_dir}: no compile_commands.json there; pass the build directory that has it")
    return ScanSettings(
        flags=tuple(extra) if extra is not None else None,
        build_dir=build_dir,
        jobs=jobs or os.cpu_count() or 1,
    )


_ENVIRONMENT_ERRORS = (compdb.ToolchainError, compdb.CompileDatabaseError, frontend.FrontendError)


def _emit(fmt: str, as_json: Callable[[], str], as_machine: Callable[[str], None],
          as_text: Callable[[Console], None]) -> None:
    """Print in one of the scan formats: JSON, SARIF or GitHub annotations, text."""
    if fmt == "json":
        click.echo(as_json())
    elif fmt in ("sarif", "github"):
        as_machine(fmt)
    else:
        as_text(Console(highlight=False))


@cli.command()
@common_options
@click.pass_context
def scan(ctx: click.Context, paths: tuple[Path, ...], build_dir: Path | None, fmt: str, jobs: int | None) -> None:
    """Report, loop by loop, which loops can run in parallel and why.

    Compiler flags can follow `--`: ompilot scan src/ -- -Iinclude -DN=100
    """
    settings = _settings(ctx, build_dir, jobs)
    try:
        compdb.toolchain_flags()
        files, errors = sources.collect_sources(list(paths))
        run = functools.partial(progress.analyse, console=Console(stderr=True), label="scanning")
        reports, program_errors = scan_files(files, settings, run)
        errors += program_errors
    except _ENVIRONMENT_ERRORS as exc:
        click.echo(f"ompilot: {exc}", err=True)
        ctx.exit(EXIT_ERROR)
    _emit(fmt, lambda: render.to_json(reports, errors), lambda machine: formats.emit_scan(reports, errors, machine),
          lambda console: render.print_text(reports, errors, console))
    if not any(r.analysed for r in reports):
        ctx.exit(EXIT_ERROR)
    ctx.exit(EXIT_FINDINGS if render.has_findings(reports, errors) else EXIT_CLEAN)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="FILES...")
@click.option("--strict", is_flag=True, help="Also fail (exit 1) on new parallel loops and on files Clang cannot parse.")
@click.option("--format", "fmt", type=click.Choice(PATCH_FORMATS), default="text", show_default=True,
              help="text: one line per finding, like a compiler; json; sarif (SARIF 2.1.0, with the "
                   "insertions as fixes); github (workflow annotations); diff (the insertions, for git apply).")
@click.option("-p", "build_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Directory with compile_commands.json (default: searched upwards from each file).")
@click.option("-j", "--jobs", type=int, default=None,
              help=f"Files analysed at once (default: number of CPUs; fewer than {progress.POOL_MIN_FILES} files "
                   "are analysed in one process, which is faster).")
@click.option("--dynamic", is_flag=True,
              help="Also build each program the verifier can build with ThreadSanitizer and run it under "
                   "Archer (several thread counts and schedules); every race it shows is an error.")
@click.option("--threads", "thread_counts", metavar="N,M", help="Thread counts of --dynamic (default: 2,4).")
@click.pass_context
def check(ctx: click.Context, paths, strict: bool, fmt: str, build_dir: Path | None, jobs: int | None,
          dynamic: bool, thread_counts: str | None) -> None:
    """Fast static check for pre-commit and CI: races in existing OpenMP
    pragmas are errors (exit 1); loops that could run in parallel are notes
    (exit 1 only with --strict). No model, no builds, no runs, unless
    --dynamic: then the programs also run under ThreadSanitizer + Archer.
    """
    settings = _settings(ctx, build_dir, jobs)
    threads = _dynamic_threads(ctx, dynamic, thread_counts)
    try:
        compdb.toolchain_flags()
        outcome = checking.run_check(list(paths), settings, with_fixes=fmt in ("sarif", "diff"),
                                     console=Console(stderr=True))
        if dynamic:
            dynamic_findings.add_dynamic(outcome, list(paths), settings, threads, Console(stderr=True))
    except _ENVIRONMENT_ERRORS as exc:
        click.echo(f"ompilot: {exc}", err=True)
        ctx.exit(EXIT_ERROR)
    checking.emit(outcome, fmt)
    ctx.exit(outcome.exit_code(strict))


def _dynamic_threads(ctx: click.Context, dynamic: bool, thread_counts: str | None) -> tuple[int, ...] | None:
    """The thread counts of check --dynamic; exit 2 when the race checker cannot run here."""
    if thread_counts is not None and not dynamic:
        raise click.UsageError("--threads sets the thread counts of --dynamic; add --dynamic")
    try:
        threads = parse_thread_counts(thread_counts) if thread_counts is not None else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    problem = environment_ready() if dynamic else None
    if problem:
        click.echo(f"ompilot: {problem}", err=True)
        ctx.exit(EXIT_ERROR)
    return threads


@cli.command()
@common_options(formats=PATCH_FORMATS)
@click.option("--diff", "mode", flag_value="diff", help="Print a unified diff that `git apply` accepts (= --format diff).")
@click.option("--apply", "mode", flag_value="apply", help="Write the changes into the files (atomically).")
@click.option("--target", type=click.Choice(["cpu", "gpu"]), default="cpu", show_default=True,
              help="gpu: offload parallel loops with `target teams distribute parallel for` and map clauses.")
@click.option("--no-verify", is_flag=True, help="Skip building and running: static suggestions, marked unverified.")
@click.option("--no-tune", is_flag=True, help="Verify, but do not try schedule/collapse/tile variants.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the proposals with their evidence (the JSON of --format json) to this file.")
@click.option("--budget", "budget_minutes", type=click.FloatRange(min=0), metavar="MINUTES",
              help="Start no verification after this many minutes of verifying; the proposals left are "
                   "reported as not verified and not kept.")
@click.option("--llm", "llm_model", metavar="MODEL",
              help="Also ask a model about the loops the analysis cannot prove: a model name on an "
                   "OpenAI-compatible server (OPENAI_BASE_URL, OPENAI_API_KEY), or hf:PATH for a local "
                   "transformers model. Its proposals are verified like the others.")
@click.option("--llm-base-url", metavar="URL", help="The server's base URL, e.g. http://localhost:8000/v1.")
@click.option("--llm-max-calls", type=click.IntRange(0), default=llm_client.DEFAULT_MAX_CALLS, show_default=True,
              help="Model requests per run at most (cached answers are free).")
@click.option("--llm-timeout", type=click.FloatRange(min=0, min_open=True), default=llm_client.DEFAULT_TIMEOUT,
              show_default=True, help="Seconds to wait for one answer.")
@click.option("--llm-no-cache", is_flag=True, help="Ask again instead of using cached answers.")
@click.option("--no-cache", is_flag=True, help="Verify again instead of using results verified earlier on the same "
              "tree, patch, flags and compilers.")
@click.option("--no-code-upload", is_flag=True, envvar="OMPILOT_NO_CODE_UPLOAD",
              help="Never send source code off this machine: only hf: models or a server on localhost.")
@click.option("--executor", "executor_name", type=click.Choice(["local", "slurm"]), default=None,
              help="Where the checks run: local (this machine, default) or slurm (one job per program on the "
                   "cluster's compute nodes, see [tool.ompilot.slurm]); default: `executor` in the configuration.")
@click.pass_context
def suggest(ctx, paths, build_dir, fmt, jobs, mode, target, no_verify, no_tune, budget_minutes, report_path, llm_model,
            llm_base_url, llm_max_calls, llm_timeout, llm_no_cache, no_cache, no_code_upload, executor_name) -> None:
    """Propose OpenMP pragmas for the loops proven parallel, with their reasons.

    Each proposal is built and run first (race check, output check, timing)
    and kept only if it passes, unless --no-verify. Nothing is written unless
    --apply is given; a file that changed since it was read is refused.

    -j also sets how many proposals are verified at once (their builds, race
    and output checks); timing runs always have the machine to themselves.
    """
    settings = _settings(ctx, build_dir, jobs)
    console = Console(highlight=False, stderr=True)
    client = None
    if llm_model:
        llm_settings = llm_client.LLMSettings(
            model=llm_model, base_url=llm_base_url, timeout=llm_timeout, max_calls=llm_max_calls,
            use_cache=not llm_no_cache, no_code_upload=no_code_upload,
        )
        try:
            client = llm_client.ModelClient(llm_settings)
        except llm_client.LLMError as exc:
            click.echo(f"ompilot: {exc}", err=True)
            ctx.exit(EXIT_ERROR)
    try:
        executor = _executor(paths[0], executor_name)
        compdb.toolchain_flags()
        with executor:
            run = _suggest_run(list(paths), settings, console, SuggestOptions(
                target=target, verify=not no_verify, tune=not no_tune, jobs=settings.jobs,
                budget_minutes=budget_minutes, client=client,
                cache=None if no_cache else VerificationCache.default(), executor=executor))
    except (*_ENVIRONMENT_ERRORS, ConfigError, SlurmError) as exc:
        click.echo(f"ompilot: {exc}", err=True)
        ctx.exit(EXIT_ERROR)
    results, errors = run.results, run.errors
    if report_path is not None:
        report_path.write_text(render.suggestions_json(results, errors))
    if mode == "diff" or (fmt == "diff" and mode is None):
        text, path_errors = render.diffs(results)
        sys.stdout.flush()
        sys.stderr.write(render.diff_report(results))  # the evidence, for the person reading; stdout stays a pure diff
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
        errors = errors + path_errors
        for line in errors + [e for r in results for e in r.errors]:
            click.echo(f"ompilot: {line}", err=True)
    elif mode == "apply":
        errors = errors + apply_results(results)
        render.print_suggestions(results, errors, Console(highlight=False), applied=True)
    else:
        _emit(fmt, lambda: render.suggestions_json(results, errors),
              lambda machine: formats.emit_suggest(results, errors, machine),
              lambda console: render.print_suggestions(results, errors, console))
    text_summary = mode == "apply" or (mode is None and fmt == "text")
    if run.left_unverified and not text_summary:  # the text summary line says it; other formats on stderr
        click.echo(f"ompilot: {run.left_unverified} proposal(s) left unverified: "
                   f"{budget_message(budget_minutes).removeprefix('not verified: ')}", err=True)
    if not any(r.analysed for r in results):
        ctx.exit(EXIT_ERROR)
    found = any(r.proposals or r.errors for r in results) or errors or run.left_unverified
    ctx.exit(EXIT_FINDINGS if found else EXIT_CLEAN)


def _executor(path: Path, name: str | None):
    """The executor of --executor, else of `executor` in the configuration nearest `path`."""
    found = run_settings(path)
    if (name or found.executor) == "slurm":
        executor = SlurmExecutor(found.slurm)
        executor.check()  # before the analysis: no sbatch, no controller -> one line, exit 2
        return executor
    return LocalExecutor()


def _suggest_run(paths: list[Path], settings, console: Console, options: SuggestOptions) -> SuggestRun:
    """The pipeline with a progress bar on a terminal (stderr's console), silent otherwise."""
    analyse = functools.partial(progress.analyse, console=console, label="analysing")
    with progress.SuggestProgress(console) as bar:
        return suggest_tree(paths, settings, replace(options, analyse=analyse), on_progress=bar.update)


@cli.command()
@click.argument("target_path", metavar="PATCH_OR_PATH", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def verify(ctx, target_path: Path, fmt: str) -> None:
    """Check a patch, or the OpenMP pragmas already in a program, the way
    suggestions are checked: race check, output check, timing."""
    problem = environment_ready()
    if problem:
        click.echo(f"ompilot: {problem}", err=True)
        ctx.exit(EXIT_ERROR)
    try:
        outcomes = check_target(target_path)
    except CheckTargetError as exc:
        click.echo(f"ompilot: {exc}", err=True)
        ctx.exit(EXIT_ERROR)
    if fmt == "json":
        click.echo(render.verify_json(outcomes))
    else:
        render.print_verify(outcomes, Console(highlight=False))
    ctx.exit(EXIT_CLEAN if all(o.result and o.result.accepted for o in outcomes) else EXIT_FINDINGS)


@cli.command("github-review")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--pr", "number", type=int, help="Pull request number (default: from GITHUB_EVENT_PATH).")
@click.option("--repo", envvar="GITHUB_REPOSITORY", help="OWNER/NAME (default: GITHUB_REPOSITORY).")
@click.option("--api-url", envvar="GITHUB_API_URL", default="https://api.github.com", show_default=True)
@click.option("--no-verify", is_flag=True, help="Post static suggestions, marked unverified.")
@click.option("--max-comments", type=click.IntRange(0), default=github.DEFAULT_MAX_COMMENTS, show_default=True,
              help="Inline comments per review at most; the rest go in the review body.")
@click.option("--save-plan", type=click.Path(dir_okay=False, path_type=Path),
              help="Analyse and verify only; write the findings here and post nothing (no token needed).")
@click.option("--from-plan", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Post the findings of a saved plan; analyses and runs nothing.")
@click.pass_context
def github_review(ctx, paths, number, repo, api_url, no_verify, max_comments, save_plan, from_plan) -> None:
    """Post ompilot's suggestions on a pull request as one review.

    Runs in a checkout of the pull request's head. PATHS default to the pull
    request's changed C/C++ files. The token comes from GITHUB_TOKEN only.
    Exit 0 when the review was posted (or there was nothing new), 2 on errors.
    """
    request = github.ReviewRequest(
        paths=tuple(paths), number=number, repo=repo, api_url=api_url, token=os.environ.get("GITHUB_TOKEN", ""),
        event_path=os.environ.get("GITHUB_EVENT_PATH"), max_comments=max_comments, save_plan=save_plan,
        from_plan=from_plan)

    def suggest(targets: list[Path]) -> SuggestRun:
        settings = _settings(ctx, None, None)
        executor = _executor(targets[0] if targets else Path.cwd(), None)  # `executor` of the configuration
        with executor:
            return _suggest_run(targets, settings, Console(highlight=False, stderr=True),
                                SuggestOptions(verify=not no_verify, jobs=settings.jobs, executor=executor))

    try:
        run = github.review_pull_request(request, suggest, say=lambda line: click.echo(f"ompilot: {line}", err=True))
    except (github.GitHubError, *_ENVIRONMENT_ERRORS, ConfigError, SlurmError) as exc:
        click.echo(f"ompilot: {exc}", err=True)
        ctx.exit(EXIT_ERROR)
    number, outcome = run.number, run.posted
    if run.saved is not None or outcome.posted:  # else the "nothing new" line lists them
        for dropped in run.turned_down:
            click.echo(f"ompilot: dropped {dropped}", err=True)
    if run.saved is not None:
        click.echo(f"ompilot: {run.saved} finding(s) written to {save_plan}")
        ctx.exit(EXIT_CLEAN)
    if outcome.retried_after_422:
        click.echo(f"ompilot: GitHub refused an inline comment, all moved to the review body: "
                   f"{outcome.retried_after_422}", err=True)
    if outcome.posted:
        click.echo(f"ompilot: posted a review on #{number}: {len(outcome.inline)} inline, "
                   f"{len(outcome.in_body)} in the body, {outcome.already_posted} posted before")
    else:
        click.echo(f"ompilot: {run.nothing_posted()}")
    ctx.exit(EXIT_CLEAN)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; flags after the first `--` go to the compiler."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = None
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    try:
        code = cli.main(args=argv, prog_name="ompilot", obj={"extra_flags": extra}, standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.UsageError as exc:
        exc.show()
        return EXIT_ERROR
    except click.ClickException as exc:
        exc.show()
        return EXIT_ERROR
    except click.Abort:
        click.echo("ompilot: interrupted", err=True)
        return EXIT_ERROR
    return int(code or EXIT_CLEAN)


def entry() -> None:
    sys.exit(main())
