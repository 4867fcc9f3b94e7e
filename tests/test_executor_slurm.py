"""`--executor slurm` end to end against a real Slurm cluster on loopback
(tests/slurm_cluster.py): the same checks' verdicts as the local executor,
checks jobs sharing a node and timing jobs each on a node of its own (reading
the checks from their checks job), a job cancelled from outside reported and
submitted again, a job over its time limit reported with Slurm's reason,
Ctrl-C leaving no job and no working copy, Slurm missing or unreachable one
line and exit 2, and two programs verifying at once on two nodes. The
time-limit test waits for Slurm's one-minute minimum (60-90 s)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CERTAIN_GAIN, CERTAIN_GAIN_RACE_RUN, CERTAIN_GAIN_RUN
from ompilot.analysis.scan import ScanSettings
from ompilot.cli.main import main
from ompilot.verify import slurm
from ompilot.verify.executor import SlurmExecutor, from_plain, to_plain
from ompilot.verify.pipeline import SuggestOptions, suggest_tree
from slurm_cluster import free_ports

#: a corpus program whose two loops are far too short for threads to pay: both turned down on the timing
ARGMAX = Path(__file__).parent.parent / "corpus" / "argmax.c"


def _argmax(directory: Path, config: str | None = None) -> Path:
    """corpus/argmax.c alone in `directory` (built as a single file), with `config` as its .ompilot.toml."""
    directory.mkdir(parents=True)
    (directory / "argmax.c").write_bytes(ARGMAX.read_bytes())
    if config is not None:
        (directory / ".ompilot.toml").write_text(config)
    return directory / "argmax.c"


def _program(directory: Path, source: str, run: str = "{exe}", race_run: str = "{exe}",
             extra: str = "") -> Path:
    directory.mkdir(parents=True)
    (directory / "prog.c").write_text(source)
    (directory / ".ompilot.toml").write_text(
        f'build = "{{cc}} {{cflags}} prog.c -o {{out}} -lm"\nrun = ["{run}"]\nrace_run = ["{race_run}"]\n'
        f"threads = [2]\ntiming_runs = 5\ntune_seconds = 0\n{extra}")
    return directory / "prog.c"


def _gain(directory: Path, size: int | None = None, extra: str = "") -> Path:
    run = CERTAIN_GAIN_RUN if size is None else f"{{exe}} {size}"
    return _program(directory, CERTAIN_GAIN.read_text(), run, CERTAIN_GAIN_RACE_RUN, extra)


def _suggest_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["suggest", *args, "--format", "json", "--no-cache", "--no-tune"])
    captured = capsys.readouterr()
    assert captured.out.strip(), f"suggest {' '.join(args)}: exit {code}, no JSON; stderr:\n{captured.err[-3000:]}"
    try:
        return code, json.loads(captured.out)
    except json.JSONDecodeError:
        raise AssertionError(f"suggest {' '.join(args)}: exit {code}, not JSON:\n{captured.out[:2000]}\nstderr:\n{captured.err[-2000:]}")


def _kept(report: dict) -> list[tuple[str, int, str, str]]:
    """(program directory, line, kind, directive) of each kept proposal."""
    return sorted((Path(p["file"]).parent.name, p["line"], p["kind"], p["directive"]) for p in report["proposals"])


def _live_jobs(cluster) -> list[str]:
    return cluster.command("squeue", "-h", "-t", "PD,R,CG,S", "-o", "%i").stdout.split()


def _checked(report: dict) -> list[tuple]:
    """Each proposal with what the checks that do not time found: where it
    stopped if not at the timing, its race check, its output check."""
    rows = []
    for p in report["proposals"] + report["rejected"]:
        evidence = p["evidence"]
        stage = "timing" if evidence.get("stage") in (None, "speed", "accepted") else evidence.get("stage")
        race = evidence.get("race_check") or {}
        rows.append((Path(p["file"]).parent.name, p["line"], p["kind"], p["directive"], stage,
                     bool(race.get("races")), evidence.get("output_check")))
    return sorted(rows)


def test_suggest_through_slurm_checks_what_the_local_executor_checks(slurm_cluster, tmp_path, monkeypatch, capsys):
    """The same proposals, the same race and output verdicts, through Slurm and locally.
    Which of them are kept also depends on the timing, which on a 2-core machine
    shared with other tests is noise for argmax's marginal loops: compared when
    both runs agree, printed when they do not (benchmarks/executor_wall.py times)."""
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster.conf))
    gain = _gain(tmp_path / "gain")
    argmax = _argmax(tmp_path / "argmax")

    local_code, local = _suggest_json(capsys, str(gain), str(argmax), "--executor", "local")
    slurm_code, on_slurm = _suggest_json(capsys, str(gain), str(argmax), "--executor", "slurm")

    assert local_code in (0, 1) and slurm_code in (0, 1)
    assert _checked(on_slurm) == _checked(local)
    assert {row[0] for row in _checked(on_slurm)} == {"gain", "argmax"}
    if _kept(on_slurm) != _kept(local):
        with capsys.disabled():
            print(f"timing differed: local kept {_kept(local)}, Slurm kept {_kept(on_slurm)}")
    for proposal in on_slurm["proposals"] + on_slurm["rejected"]:
        where = proposal["evidence"]["where"]
        assert (where["executor"], where["node"], where["threads"]) == ("slurm", "n1", [2])
        # its checks job's id, and its timing job's when it passed the checks
        reached_timing = proposal["evidence"]["stage"] in ("speed", "accepted")
        assert len(where["job_ids"]) == 1 + reached_timing and all(i.isdigit() for i in where["job_ids"])
        assert where["cores"] >= 1
    local_where = {p["evidence"]["where"]["executor"] for p in local["proposals"] + local["rejected"]}
    assert local_where == {"local"}
    # the jobs' directories (input, working copies, output) are gone; nothing queued
    assert not any((tmp_path / "gain" / ".ompilot" / "slurm" / "jobs").iterdir())
    assert not _live_jobs(slurm_cluster)


def _verify_two_programs(executor: SlurmExecutor, directory: Path):
    """Two copies of the certain-gain program verified through `executor`;
    the run, and the number of running jobs each progress report counted."""
    files = [_gain(directory / f"gain{n}", size=60000) for n in range(2)]
    most_running = []

    def count(event) -> None:
        found = re.search(r"(\d+) running", event.text)
        if found:
            most_running.append(int(found.group(1)))

    with executor:
        run = suggest_tree(files, ScanSettings(), SuggestOptions(tune=False, executor=executor), on_progress=count)
    return run, most_running


def test_checks_share_a_node_and_only_the_timing_job_has_a_node_alone(slurm_cluster, tmp_path):
    """Two programs on one two-CPU node with one-CPU checks jobs: both checks
    jobs run at once; each program's timing job asks for the whole node, and
    runs no output or race check: it reads them from its checks job."""
    executor = SlurmExecutor(slurm_cluster.settings(work_dir=tmp_path / "work", check_cpus=1))
    run, most_running = _verify_two_programs(executor, tmp_path)
    checks = [h for h in executor.history if h.stage == "checks"]
    timing = [h for h in executor.history if h.stage == "timing"]
    assert len(checks) == 2 and max(most_running) == 2  # two checks jobs on the one node at once
    assert len(timing) == 2 and all(h.exclusive for h in timing) and not any(h.exclusive for h in checks)
    assert all(h.runs["race"] > 0 and h.runs["output"] > 0 for h in checks)
    assert all(h.runs["race"] == 0 and h.runs["output"] == 0 and h.runs["builds"] > 0 for h in timing)
    for result in run.results:
        for proposal in result.proposals + result.rejected:
            evidence = proposal.evidence
            if evidence.stage in ("speed", "accepted"):  # timed: with the race check its checks job ran
                assert evidence.timing is not None and evidence.race_check.runs > 0 and not evidence.race_check.races
                assert len(evidence.where.job_ids) == 2
    assert not _live_jobs(slurm_cluster) and not any((tmp_path / "work" / "jobs").iterdir())


def test_a_multi_file_project_checks_in_many_jobs_and_times_each_file_alone(slurm_cluster, tmp_path, monkeypatch,
                                                                             capsys):
    """tests/cases/realproj (kernels in three files, support.c, sizes as macros,
    results on stderr) from its compile_commands.json, with `[slurm]` in its
    configuration: one proposal per checks job, one timing job per file with
    proposals that passed; the kernels pass their checks as they do locally
    (tests/test_builds.py), and a kept patch prints the serial numbers."""
    from test_builds import CORRECTNESS_STAGES, KERNEL_LOOPS, run_cli, stderr_numbers, write_project

    root = write_project(tmp_path / "proj")
    (root / ".ompilot.toml").write_text(
        'race_defines = ["MINI_DATASET"]\nthreads = [2]\nexecutor = "slurm"\n'
        f'[slurm]\ncheck_cpus = 1\nchecks_per_job = 1\nworkdir = "{tmp_path / "shared"}"\n')
    serial = stderr_numbers(root, ["-O3"])
    report = tmp_path / "report.json"
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster.conf))
    code, out, err = run_cli(["suggest", ".", "--no-tune", "--apply", "--report", str(report)], root, capsys)
    assert "Traceback" not in out + err and code in (0, 1), err[-2000:]
    records = json.loads(report.read_text())
    assert not [e for e in records["errors"] if "cannot verify" in e], records["errors"]
    checked = [r for r in records["proposals"] + records["rejected"] if r["evidence"].get("where")]
    by_line = {(r["file"].split("/")[-1], r["line"]): r["evidence"] for r in checked}
    checks_jobs = {r["evidence"]["where"]["job_ids"][0] for r in checked}
    assert len(checks_jobs) == len(checked)  # one proposal per checks job
    timing_jobs = {}
    for key in KERNEL_LOOPS:
        evidence = by_line[key]
        assert evidence["stage"] not in CORRECTNESS_STAGES, (key, evidence)
        assert evidence["race_check"]["runs"] > 0 and evidence["race_check"]["archer_loaded"], evidence
        where = evidence["where"]
        assert where["executor"] == "slurm" and len(where["job_ids"]) == 2, where
        timing_jobs[key[0]] = where["job_ids"][1]
    assert len(set(timing_jobs.values())) == 3  # gemm.c, jacobi.c, waves.c: a timing job each
    kept = {(r["file"].split("/")[-1], r["line"]) for r in records["proposals"]}
    if kept:  # --apply wrote them: the patched program prints the same numbers on stderr
        parallel = stderr_numbers(root, ["-O3", "-fopenmp"])
        assert len(parallel) == len(serial) == 3
        assert all(abs(a - b) <= 0.01 + 1e-9 * abs(a) for a, b in zip(serial, parallel)), (serial, parallel)
    assert not _live_jobs(slurm_cluster) and not any((tmp_path / "shared" / "jobs").iterdir())


def test_the_configuration_picks_slurm_and_the_shared_directory(slurm_cluster, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster.conf))
    argmax = _argmax(tmp_path / "argmax", 'executor = "slurm"\n[slurm]\nworkdir = "shared"\nthreads = [2]\n')
    main(["suggest", str(argmax), "--no-cache", "--no-tune", "--format", "json"])  # no --executor
    report = json.loads(capsys.readouterr().out)
    assert report["rejected"] and all(p["evidence"]["where"]["executor"] == "slurm" for p in report["rejected"])
    assert (tmp_path / "argmax" / "shared" / "jobs").is_dir()  # workdir, relative to the configuration


def test_text_and_the_review_comment_say_where_it_was_measured():
    from ompilot.cli import github, render
    from ompilot.suggest.proposals import Proposal
    from ompilot.verify.evidence import Evidence, Timing, Where

    where = Where("slurm", "n7", "AMD EPYC 7763", 128, (2, 64), ("41", "42"), ("Slurm job 41 PREEMPTED; submitted again",))
    evidence = Evidence(True, "accepted", "30.1x faster with 64 threads", timing=Timing(64, 30.1), where=where)
    line = "measured on n7 (AMD EPYC 7763, 128 cores), threads 2, 64, Slurm jobs 41, 42; Slurm job 41 PREEMPTED"
    assert line in "\n".join(render._evidence_lines(evidence))
    proposal = Proposal(file="a.c", line=3, kind="parallel-for", summary="#pragma omp parallel for", edits=[],
                        verified=True, evidence=evidence)
    assert line in github.evidence_line(proposal)


def test_a_programs_proposals_split_into_checks_jobs_by_file_and_a_file_with_a_fix_stays_whole():
    from ompilot.suggest.proposals import FileSuggestions, Proposal
    from ompilot.verify.executor import check_shares

    def file(name: str, kinds: str) -> FileSuggestions:
        proposals = [Proposal(file=name, line=n, kind=kind, summary="", edits=[])
                     for n, kind in enumerate(kinds.split())]
        return FileSuggestions(path=name, data=b"", proposals=proposals)

    group = (None, [(0, file("a.c", "pragma pragma pragma pragma pragma")), (3, file("b.c", "pragma fix pragma")),
                    (5, file("c.c", "simd"))])
    assert check_shares(group, 2) == [[(0, [0, 1])], [(0, [2, 3])], [(0, [4])], [(1, [0, 1, 2])], [(2, [0])]]
    assert check_shares(group, 4) == [[(0, [0, 1, 2, 3])], [(0, [4])], [(1, [0, 1, 2])], [(2, [0])]]


def test_verifications_survive_the_trip_through_json():
    from ompilot.suggest.proposals import Edit
    from ompilot.verify.evidence import Evidence, RaceEvidence, RaceReport, Timing, Where
    from ompilot.verify.verifier import Verification

    evidence = Evidence(True, "accepted", "1.9x", race_check=RaceEvidence(3, True, (RaceReport("a", "b", "s", 2, "static"),)),
                        timing=Timing(2, 1.9, (1.0, 1.1)), stage_seconds=(("builds", 1.5),),
                        together=Evidence(False, "output", "differs"), where=Where("slurm", "n1", "cpu", 4, (2, 4), ("7",)))
    verification = Verification(True, evidence, (Edit(3, 3, "#pragma omp parallel for\n"),), "summary")
    assert from_plain(json.loads(json.dumps(to_plain(verification)))) == verification


def _running_job(executor: SlurmExecutor, cluster) -> str | None:
    """The id of a job of `executor` that squeue shows running, else None."""
    ids = {r.job_id for r in executor.submitted}
    rows = cluster.command("squeue", "-h", "-t", "R", "-o", "%i").stdout.split()
    return next((i for i in rows if i in ids), None)


def test_a_job_cancelled_mid_run_is_reported_and_submitted_again(slurm_cluster, tmp_path):
    settings = slurm_cluster.settings(work_dir=tmp_path / "work")
    gain = _gain(tmp_path / "gain", size=100000)
    executor = SlurmExecutor(settings)
    cancelled: list[str] = []

    def cancel_first_running(event) -> None:
        if not cancelled and event.stage == "verify":
            job = _running_job(executor, slurm_cluster)
            if job is not None:
                time.sleep(1)  # mid-run: the worker has started building
                slurm_cluster.command("scancel", job)
                cancelled.append(job)

    with executor:
        run = suggest_tree([gain], ScanSettings(), SuggestOptions(tune=False, executor=executor),
                           on_progress=cancel_first_running)
    # the checks job, cancelled; the checks job again; the timing job
    assert cancelled and [j.job_id for j in executor.submitted][:1] == cancelled and len(executor.submitted) == 3
    assert [(h.stage, h.state) for h in executor.history] == [
        ("checks", "CANCELLED"), ("checks", "COMPLETED"), ("timing", "COMPLETED")]
    (result,) = run.results
    proposal = (result.proposals + result.rejected)[0]
    where = proposal.evidence.where
    assert where is not None and where.job_ids == tuple(j.job_id for j in executor.submitted)
    assert len(where.notes) == 1 and f"Slurm job {cancelled[0]} CANCELLED" in where.notes[0]
    assert "submitted again" in where.notes[0] and proposal.evidence.checked
    assert not _live_jobs(slurm_cluster) and not any((tmp_path / "work" / "jobs").iterdir())


def test_a_job_whose_own_command_fails_is_reported_and_not_retried(slurm_cluster, tmp_path, monkeypatch):
    from ompilot.verify import executor as executor_module

    settings = slurm_cluster.settings(work_dir=tmp_path / "work")
    argmax = _argmax(tmp_path / "argmax")
    monkeypatch.setattr(executor_module.sys, "executable", "/bin/false")  # the job's python: fails at once
    executor = SlurmExecutor(settings)
    with executor:
        run = suggest_tree([argmax], ScanSettings(), SuggestOptions(tune=False, executor=executor))
    (job,) = executor.submitted
    (result,) = run.results
    assert not result.proposals and result.rejected
    assert all(p.evidence.stage == "setup" and f"Slurm job {job.job_id} FAILED" in p.evidence.message
               for p in result.rejected)
    assert any(f"cannot verify on Slurm: Slurm job {job.job_id} FAILED" in e and "exit code 1" in e
               for e in run.errors)


def test_a_job_over_its_time_limit_is_reported_with_slurms_reason_and_not_retried(slurm_cluster, tmp_path,
                                                                                   monkeypatch):
    """Slurm's smallest limit is one minute; slurmctld checks limits every
    30 s, so this takes 60-90 s. The job's python is a stand-in that sleeps."""
    from ompilot.verify import executor as executor_module

    settings = slurm_cluster.settings(work_dir=tmp_path / "work", time_limit="1")
    argmax = _argmax(tmp_path / "argmax")
    sleeper = tmp_path / "slow-python"
    sleeper.write_text("#!/bin/sh\necho started\nexec sleep 300\n")
    sleeper.chmod(0o755)
    monkeypatch.setattr(executor_module.sys, "executable", str(sleeper))
    executor = SlurmExecutor(settings)
    with executor:
        run = suggest_tree([argmax], ScanSettings(), SuggestOptions(tune=False, executor=executor))
    (job,) = executor.submitted  # over its time limit: not submitted again
    (seen,) = executor.history
    assert (seen.job_id, seen.state, seen.reason) == (job.job_id, "TIMEOUT", "TimeLimit")
    assert seen.seconds is not None and 60 <= seen.seconds < 150
    (result,) = run.results
    assert not result.proposals and result.rejected
    why = f"Slurm job {job.job_id} TIMEOUT (TimeLimit) on n1"
    assert all(p.evidence.stage == "setup" and why in p.evidence.message for p in result.rejected)
    assert any(f"cannot verify on Slurm: {why}" in e for e in run.errors), run.errors
    assert not _live_jobs(slurm_cluster) and not any((tmp_path / "work" / "jobs").iterdir())


def test_the_budget_cancels_queued_jobs_and_starts_no_timing_job(slurm_cluster, tmp_path):
    """--budget on Slurm bounds the whole run: a job gets the minutes left when
    it is submitted, a job still queued when they are spent is cancelled, and
    no timing job starts after them; every proposal left says so."""
    from ompilot.verify.session import budget_message

    settings = slurm_cluster.settings(work_dir=tmp_path / "work", check_cpus=slurm_cluster.cpus_per_node)
    files = [_gain(tmp_path / f"gain{n}", size=60000) for n in range(2)]  # the node runs one checks job at a time
    executor = SlurmExecutor(settings)
    with executor:
        run = suggest_tree(files, ScanSettings(), SuggestOptions(tune=False, executor=executor, budget_minutes=0.02))
    assert [r.spec.name for r in executor.submitted] == ["ompilot-checks"] * 2  # no timing job
    assert executor.submitted[1].job_id not in {h.job_id for h in executor.history}  # cancelled while queued
    proposals = [p for r in run.results for p in r.proposals + r.rejected]
    assert proposals and not any(r.proposals for r in run.results)
    assert all(p.evidence.stage == "budget" and p.evidence.message == budget_message(0.02) for p in proposals)
    assert run.left_unverified == len(proposals)
    assert not _live_jobs(slurm_cluster) and not any((tmp_path / "work" / "jobs").iterdir())


def test_ctrl_c_cancels_every_job_and_removes_the_working_copies(slurm_cluster, tmp_path):
    settings = slurm_cluster.settings(work_dir=tmp_path / "work")
    files = [_gain(tmp_path / f"gain{n}") for n in range(2)]  # two programs: two jobs, one of them queued
    executor = SlurmExecutor(settings)

    def interrupt_once_running(event) -> None:
        if event.stage == "verify" and _running_job(executor, slurm_cluster) is not None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), executor:
        suggest_tree(files, ScanSettings(), SuggestOptions(tune=False, executor=executor),
                     on_progress=interrupt_once_running)
    assert len(executor.submitted) == 2
    assert not _live_jobs(slurm_cluster)
    assert not any((tmp_path / "work" / "jobs").iterdir())


def test_a_missing_sbatch_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    tiny = _argmax(tmp_path / "argmax")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert main(["suggest", str(tiny), "--executor", "slurm"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("ompilot: sinfo not found on PATH"), err


def test_an_unreachable_controller_is_one_line_and_exit_2(slurm_cluster, tmp_path, monkeypatch, capsys):
    (closed_port,) = free_ports(1)
    conf = tmp_path / "slurm.conf"
    conf.write_text(slurm_cluster.conf.read_text().replace(
        f"SlurmctldPort={slurm_cluster.controller_port}", f"SlurmctldPort={closed_port}") + "MessageTimeout=2\n")
    monkeypatch.setenv("SLURM_CONF", str(conf))
    tiny = _argmax(tmp_path / "argmax")
    assert main(["suggest", str(tiny), "--executor", "slurm"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("ompilot: cannot reach the Slurm controller"), err


def test_two_programs_verify_at_once_on_two_nodes(slurm_cluster_two_nodes, tmp_path):
    executor = SlurmExecutor(slurm_cluster_two_nodes.settings(work_dir=tmp_path / "work"))
    run, most_running = _verify_two_programs(executor, tmp_path)
    # the two checks jobs, submitted together, one CPU each, ran at once on the two one-CPU nodes
    assert {h.node for h in executor.history if h.stage == "checks"} == {"n1", "n2"}
    assert max(most_running) == 2
    # where the nodes have one CPU each, the program's own thread counts are checked
    assert {(r.proposals + r.rejected)[0].evidence.where.threads for r in run.results} == {(2,)}


def test_the_slurm_table_is_read_and_checked(tmp_path, capsys):
    from ompilot.verify.config import ConfigError, run_settings

    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.ompilot]\nexecutor = "slurm"\n[tool.ompilot.slurm]\npartition = "compute"\naccount = "proj42"\n'
        'qos = "normal"\ntime = "30:00"\nconstraint = "epyc"\nsbatch_options = ["--mem=16G"]\nthreads = [2, 8]\n'
        'check_cpus = 8\nchecks_per_job = 2\nworkdir = "scratch"\n')
    found = run_settings(project / "src" / "a.c")
    settings = found.slurm
    assert found.executor == "slurm"
    assert (settings.partition, settings.account, settings.qos, settings.time_limit, settings.constraint) == (
        "compute", "proj42", "normal", "30:00", "epyc")
    assert settings.sbatch_options == ("--mem=16G",) and settings.threads == (2, 8) and settings.check_cpus == 8
    assert settings.checks_per_job == 2
    assert settings.work_dir == project / "scratch"
    assert run_settings(tmp_path / "elsewhere.c").executor == "local"

    (project / "pyproject.toml").write_text('[tool.ompilot.slurm]\ncheck_cpus = 0\n')
    with pytest.raises(ConfigError, match="'slurm.check_cpus' must be an integer >= 1"):
        run_settings(project / "a.c")
    (project / "pyproject.toml").write_text('[tool.ompilot.slurm]\npartitoin = "compute"\n')
    with pytest.raises(ConfigError, match="unknown key.*'partitoin'"):
        run_settings(project / "a.c")
    (project / "a.c").write_text("int main(void) { return 0; }\n")
    assert main(["suggest", str(project / "a.c")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "pyproject.toml: unknown key" in err
