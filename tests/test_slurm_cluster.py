"""verify/slurm.py against a real Slurm cluster started on loopback
(tests/slurm_cluster.py): submission, output and exit codes, scancel, two
nodes at once, node facts, and the one-line errors for a missing sbatch or an
unreachable controller; each takes seconds. A job over its time limit is
tested through the executor (tests/test_executor_slurm.py)."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from ompilot.verify import slurm
from ompilot.verify.slurm import JobSpec, SlurmError
from slurm_cluster import free_ports, processes_using, running_cluster


def _wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_a_job_runs_its_commands_and_its_output_and_exit_code_come_back(slurm_cluster, tmp_path):
    settings = slurm_cluster.settings()
    passing = slurm.submit(JobSpec(
        commands=("echo one; echo to-stderr >&2", 'echo "$GREETING" > made.txt', "cat made.txt"),
        cwd=tmp_path, env={"GREETING": "hello there"}, name="passing"), settings=settings)
    failing = slurm.submit(JobSpec(commands=("echo first", "exit 3", "echo never"), name="failing"),
                           settings=settings)
    assert passing.job_id.isdigit() and failing.job_id.isdigit() and passing.job_id != failing.job_id

    done, failed = slurm.wait([passing, failing], settings=settings, timeout=60)

    assert (done.job_id, done.state, done.exit_code, done.failed_command) == (passing.job_id, "COMPLETED", 0, None)
    assert done.ok and done.node == "n1" and done.elapsed is not None and 0 < done.elapsed < 30
    assert done.stdout.read_text().splitlines() == ["one", "hello there"]
    assert done.stderr.read_text().strip() == "to-stderr"
    assert (tmp_path / "made.txt").read_text() == "hello there\n"  # ran in its cwd

    assert (failed.job_id, failed.state, failed.exit_code, failed.failed_command) == (failing.job_id, "FAILED", 3, 1)
    assert not failed.ok and failed.reason == "NonZeroExitCode"
    assert failed.stdout.read_text() == "first\n"  # the third command never ran
    assert f"Slurm job {failing.job_id} FAILED" in failed.describe() and "exit code 3" in failed.describe()


def test_a_missing_working_directory_fails_the_job_before_any_command(slurm_cluster, tmp_path):
    settings = slurm_cluster.settings()
    record = slurm.submit(JobSpec(commands=("echo ran",), cwd=tmp_path / "absent"), settings=settings)
    (outcome,) = slurm.wait([record], settings=settings, timeout=60)
    assert (outcome.state, outcome.failed_command) == ("FAILED", -1)
    assert "ran" not in outcome.stdout.read_text()


def test_a_job_squeue_has_forgotten_is_read_from_its_status_file(slurm_cluster):
    """After MinJobAge squeue no longer lists a job, and this cluster has no
    accounting (sacct refuses): the script's own status file decides."""
    settings = slurm_cluster.settings()
    records = [slurm.submit(JobSpec(commands=(command,)), settings=settings) for command in ("true", "exit 5")]
    slurm.wait(records, settings=settings, timeout=60)
    assert slurm_cluster.command("sacct", "-j", records[0].job_id, check=False).returncode != 0
    # the same job directories under job ids the controller never had: squeue says "Invalid job id"
    forgotten = [dataclasses.replace(r, job_id=str(900000 + i)) for i, r in enumerate(records)]
    for record in forgotten:
        (outcome,) = slurm.poll([record], settings=settings).values()
        assert outcome.node == "n1" and outcome.elapsed is not None
        assert (outcome.state, outcome.exit_code) in [("COMPLETED", 0), ("FAILED", 5)]
    both = slurm.poll(forgotten, settings=settings)
    assert [(o.state, o.exit_code, o.failed_command) for o in both.values()] == [("COMPLETED", 0, None), ("FAILED", 5, 0)]
    never_ran = dataclasses.replace(forgotten[0], directory=records[0].directory / "absent")
    (unknown,) = slurm.poll([never_ran], settings=settings).values()
    assert unknown.state == slurm.UNKNOWN and unknown.finished and "no status file" in unknown.reason


def test_a_job_cancelled_mid_run_is_reported_cancelled_with_its_id(slurm_cluster):
    settings = slurm_cluster.settings()
    record = slurm.submit(JobSpec(commands=("echo started; sleep 120",), name="to-cancel"), settings=settings)
    _wait_until(lambda: record.stdout.is_file() and "started" in record.stdout.read_text(), 60, "job running")
    assert slurm.poll([record], settings=settings)[record.job_id].state == "RUNNING"

    slurm.cancel([record], settings=settings)
    (outcome,) = slurm.wait([record], settings=settings, timeout=60)

    assert (outcome.job_id, outcome.state, outcome.exit_code) == (record.job_id, "CANCELLED", None)
    assert outcome.node == "n1" and not record.status_file.exists()  # killed: the script never finished
    assert outcome.describe().startswith(f"Slurm job {record.job_id} CANCELLED")
    assert slurm_cluster.command("squeue", "-h", "-t", "PD,R,CG", "-o", "%i").stdout.split() == []


def test_waiting_past_its_timeout_cancels_the_unfinished_jobs(slurm_cluster):
    settings = slurm_cluster.settings()
    quick = slurm.submit(JobSpec(commands=("true",)), settings=settings)
    slow = slurm.submit(JobSpec(commands=("sleep 120",)), settings=settings)
    seen = []
    outcomes = slurm.wait([quick, slow], settings=settings, timeout=4, progress=seen.append)
    assert [o.state for o in outcomes] == ["COMPLETED", "CANCELLED"]
    assert outcomes[0].reason == "" and "not finished within 4 s" in outcomes[1].reason
    assert seen and sum(seen[0].values()) == 2
    assert slurm_cluster.command("squeue", "-h", "-t", "PD,R,CG", "-o", "%i").stdout.split() == []


def test_a_missing_sbatch_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    with pytest.raises(SlurmError) as error:
        slurm.submit(JobSpec(commands=("true",)), settings=slurm.SlurmSettings(work_dir=tmp_path / "work"))
    message = str(error.value)
    assert message.startswith("sbatch not found on PATH") and "\n" not in message


def test_an_unreachable_controller_is_one_clear_error(slurm_cluster, tmp_path):
    (closed_port,) = free_ports(1)
    conf = tmp_path / "slurm.conf"
    text = slurm_cluster.conf.read_text().replace(
        f"SlurmctldPort={slurm_cluster.controller_port}", f"SlurmctldPort={closed_port}")
    conf.write_text(text + "MessageTimeout=2\n")  # Slurm's clients retry for MessageTimeout seconds
    settings = slurm.SlurmSettings(conf=conf, work_dir=tmp_path / "work")
    for call in (lambda: slurm.submit(JobSpec(commands=("true",)), settings=settings),
                 lambda: slurm.node_facts(settings=settings, probe=False)):
        started = time.monotonic()
        with pytest.raises(SlurmError) as error:
            call()
        message = str(error.value)
        assert message.startswith(f"cannot reach the Slurm controller (SLURM_CONF={conf})"), message
        assert "\n" not in message and time.monotonic() - started < 30


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no model name in /proc/cpuinfo")


def test_two_nodes_run_two_whole_node_jobs_at_once_and_describe_themselves(slurm_cluster_two_nodes):
    cluster = slurm_cluster_two_nodes
    settings = cluster.settings()
    facts = slurm.node_facts(settings=settings)
    assert [(f.name, f.cpus, f.partitions) for f in facts] == [
        ("n1", cluster.cpus_per_node, ("main",)), ("n2", cluster.cpus_per_node, ("main",))]
    assert all(f.cpu_model == _cpu_model() and f.online_cpus == os.cpu_count() for f in facts)

    records = [slurm.submit(JobSpec(commands=("echo $SLURMD_NODENAME; sleep 4",), exclusive=True, name=f"whole{i}"),
                            settings=settings) for i in range(2)]
    both_running = _wait_until(
        lambda: (lambda now: all(o.state == "RUNNING" for o in now.values()) and now)(
            slurm.poll(records, settings=settings)), 30, "both jobs running at once")
    assert {o.node for o in both_running.values()} == {"n1", "n2"}
    outcomes = slurm.wait(records, settings=settings, timeout=60)
    assert all(o.ok for o in outcomes)
    assert sorted(o.stdout.read_text().strip() for o in outcomes) == ["n1", "n2"]


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return None


def test_the_cluster_leaves_no_process_behind():
    with running_cluster(nodes=1) as cluster:
        record = slurm.submit(JobSpec(commands=("echo started; sleep 300",)), settings=cluster.settings())
        _wait_until(lambda: record.stdout.is_file() and "started" in record.stdout.read_text(), 60, "job running")
        daemons = {name: process.pid for name, process in cluster.daemons.items()}
        using = {pid: _cmdline(pid) for pid in processes_using(cluster.root, cluster.name)}
        # the detector sees the daemons, the job step and the job itself while they run
        assert set(daemons.values()) <= set(using) and len(using) > len(daemons)
        assert any("sleep 300" in (line or "").replace("\0", " ") for line in using.values())
    assert not cluster.root.exists()
    assert all(process.poll() is not None for process in cluster.daemons.values())
    assert processes_using(cluster.root, cluster.name) == []
    assert [pid for pid, line in using.items() if _cmdline(pid) == line] == []  # each one gone
