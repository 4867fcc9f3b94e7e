"""Slurm jobs through Slurm's own commands: `sbatch`, `squeue`, `sacct`,
`scancel`, `sinfo` and `scontrol`.

A job is a list of shell commands (compile, run under ThreadSanitizer, time)
run one after the other in a batch script that ompilot writes into the shared
work directory. The script records, beside the job's stdout and stderr, a
status file of its own (exit code, the failing command, node, seconds): on
clusters without accounting (`sacct` says "accounting storage is disabled",
as on the tests' cluster) that file and `squeue` are all there is, and
`squeue` forgets a job `MinJobAge` seconds after it ends.

States come from `squeue` while Slurm lists the job, then from `sacct`, then
from the status file alone. A job killed by Slurm (cancelled, over its time
limit, pre-empted, its node failed) writes no status file; its state and
reason are Slurm's. Every command failure becomes one `SlurmError` whose
message is one line: the CLI prints it and exits 2.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

#: states after which Slurm runs nothing more for the job
TERMINAL_STATES = frozenset({
    "COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL",
    "DEADLINE", "OUT_OF_MEMORY", "REVOKED",
})
#: what ompilot calls a job it cannot find anywhere any more
UNKNOWN = "UNKNOWN"
_SQUEUE_FORMAT = "%i|%T|%r|%N|%M"
_CONTROLLER_DOWN = ("Unable to contact slurm controller", "Could not establish a configuration source",
                    "Unable to establish a connection")


class SlurmError(Exception):
    """Slurm cannot be used (a command missing, the controller unreachable,
    a submission refused); the message is one line that says what to do."""


@dataclass(frozen=True)
class SlurmSettings:
    """How ompilot uses the cluster, as `[tool.ompilot.slurm]` states it."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time_limit: str | None = None  # per job, in sbatch's --time syntax ("10", "1:00:00")
    constraint: str | None = None
    sbatch_options: tuple[str, ...] = ()  # passed to sbatch as they are
    threads: tuple[int, ...] = ()  # thread counts to time with; () = from the node's cores
    check_cpus: int = 4  # CPUs of a checks job (builds, output and race checks), which shares its node
    checks_per_job: int = 4  # proposals of one file a checks job verifies (a file with a race fix: all of them)
    work_dir: Path = Path(".ompilot-slurm")  # shared by the login and the compute nodes
    conf: Path | None = None  # SLURM_CONF for every command; None = Slurm's default
    poll_seconds: float = 2.0
    command_timeout: float = 120.0  # seconds one Slurm command may take


@dataclass(frozen=True)
class JobSpec:
    """One job: `commands` run in order in `cwd`, the first failure ends it."""

    commands: tuple[str, ...]
    name: str = "ompilot"
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # exported on top of the submitting environment
    cpus: int = 1
    exclusive: bool = False  # the whole node, nothing beside it (timing)
    time_limit: str | None = None  # overrides SlurmSettings.time_limit
    nodelist: str | None = None  # sbatch --nodelist


@dataclass(frozen=True)
class JobRecord:
    """A submitted job and where its files are."""

    job_id: str
    spec: JobSpec
    directory: Path

    @property
    def stdout(self) -> Path:
        return self.directory / "stdout"

    @property
    def stderr(self) -> Path:
        return self.directory / "stderr"

    @property
    def status_file(self) -> Path:
        return self.directory / "status"


@dataclass(frozen=True)
class JobOutcome:
    """What became of a job, or where it stands now."""

    job_id: str
    state: str  # Slurm's (PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, ...) or UNKNOWN
    reason: str = ""  # Slurm's reason (TimeLimit, Resources, ...), or ompilot's when it has one
    node: str = ""
    exit_code: int | None = None  # of the job's script: the first failing command's, 0 when all passed
    failed_command: int | None = None  # index into JobSpec.commands; -1: its cwd could not be entered
    stdout: Path | None = None
    stderr: Path | None = None
    elapsed: float | None = None  # seconds

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES or self.state == UNKNOWN

    @property
    def ok(self) -> bool:
        return self.state == "COMPLETED" and self.exit_code == 0

    def describe(self) -> str:
        text = f"Slurm job {self.job_id} {self.state}"
        if self.reason:
            text += f" ({self.reason})"
        if self.node:
            text += f" on {self.node}"
        if self.exit_code:
            text += f", exit code {self.exit_code}"
        return text


@dataclass(frozen=True)
class NodeFacts:
    """A compute node as Slurm describes it, and as a job on it saw it."""

    name: str
    cpus: int
    cores: int | None = None  # sockets x cores per socket
    state: str = ""
    partitions: tuple[str, ...] = ()
    cpu_model: str | None = None  # /proc/cpuinfo's "model name", read by a job on the node
    online_cpus: int | None = None  # nproc on the node


# --- running the commands ------------------------------------------------------


def _environment(settings: SlurmSettings) -> dict[str, str]:
    env = dict(os.environ)
    if settings.conf is not None:
        env["SLURM_CONF"] = str(settings.conf)
    return env


def _run(args: list[str], settings: SlurmSettings) -> subprocess.CompletedProcess:
    """Runs a Slurm command; a missing command or an unreachable controller is a SlurmError."""
    env = _environment(settings)
    if shutil.which(args[0], path=env.get("PATH")) is None:
        raise SlurmError(f"{args[0]} not found on PATH: run ompilot where Slurm's commands are "
                         "(a login node; Debian: apt-get install slurm-client) or use --executor local")
    try:
        result = subprocess.run(args, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                timeout=settings.command_timeout)
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{args[0]} did not answer within {settings.command_timeout:.0f} s: "
                         "the Slurm controller is overloaded or unreachable") from None
    if result.returncode != 0 and any(text in result.stderr for text in _CONTROLLER_DOWN):
        where = f" (SLURM_CONF={settings.conf})" if settings.conf else ""
        raise SlurmError(f"cannot reach the Slurm controller{where}: {_last_line(result.stderr)}")
    return result


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


def _checked(args: list[str], settings: SlurmSettings) -> str:
    result = _run(args, settings)
    if result.returncode != 0:
        raise SlurmError(f"{args[0]} failed (exit {result.returncode}): {_last_line(result.stderr)}")
    return result.stdout


# --- submitting ----------------------------------------------------------------


def batch_script(spec: JobSpec, status_file: Path) -> str:
    """The job's bash script: the commands in order, then the status file."""
    lines = [
        "#!/bin/bash",
        f"# written by ompilot for job {spec.name}",
        f"ompilot_status_file={shlex.quote(str(status_file))}",
        "ompilot_start=$(date +%s%N)",
        "ompilot_finish() {",
        '    printf "exit_code=%s\\nfailed_command=%s\\nnode=%s\\nelapsed_ns=%s\\n" "$1" "$2" '
        '"${SLURMD_NODENAME:-$(hostname)}" "$(( $(date +%s%N) - ompilot_start ))" '
        '> "$ompilot_status_file.tmp" && mv -f "$ompilot_status_file.tmp" "$ompilot_status_file"',
        '    exit "$1"',
        "}",
    ]
    if spec.cwd is not None:
        lines.append(f"cd {shlex.quote(str(spec.cwd))} || ompilot_finish 1 -1")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in spec.env.items()]
    for index, command in enumerate(spec.commands):
        lines.append(f"/bin/bash -c {shlex.quote(command)}")
        lines.append(f'ompilot_code=$?; [ "$ompilot_code" -eq 0 ] || ompilot_finish "$ompilot_code" {index}')
    lines.append("ompilot_finish 0 ''")
    return "\n".join(lines) + "\n"


def sbatch_arguments(spec: JobSpec, directory: Path, settings: SlurmSettings) -> list[str]:
    args = ["sbatch", "--parsable", f"--job-name={spec.name}", f"--output={directory / 'stdout'}",
            f"--error={directory / 'stderr'}", "--ntasks=1", f"--cpus-per-task={spec.cpus}"]
    if spec.exclusive:
        args.append("--exclusive")
    time_limit = spec.time_limit or settings.time_limit
    for option, value in (("--time", time_limit), ("--partition", settings.partition),
                          ("--account", settings.account), ("--qos", settings.qos),
                          ("--constraint", settings.constraint), ("--nodelist", spec.nodelist)):
        if value:
            args.append(f"{option}={value}")
    return args + list(settings.sbatch_options) + [str(directory / "job.sh")]


def submit(spec: JobSpec, *, settings: SlurmSettings, directory: Path | None = None) -> JobRecord:
    """Writes the job's script into `directory` (default: a fresh one under
    the work directory) and submits it; the record names the job and its files."""
    if not spec.commands:
        raise ValueError("a job needs at least one command")
    if directory is None:
        jobs = Path(settings.work_dir).absolute() / "jobs"
        jobs.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix=f"{spec.name}-", dir=jobs))
    script = directory / "job.sh"
    script.write_text(batch_script(spec, directory / "status"))
    script.chmod(0o755)
    output = _checked(sbatch_arguments(spec, directory, settings), settings).strip()
    job_id = output.split(";")[0]  # "ID" or "ID;cluster"
    if not job_id.isdigit():
        raise SlurmError(f"sbatch answered {output!r} instead of a job id")
    return JobRecord(job_id=job_id, spec=spec, directory=directory)


# --- following jobs --------------------------------------------------------------


def _read_status(record: JobRecord) -> dict[str, str]:
    try:
        text = record.status_file.read_text()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _seconds(clock: str) -> float | None:
    """squeue's %M ("[days-][hours:]minutes:seconds") in seconds."""
    days, _, clock = clock.rpartition("-")
    try:
        parts = [int(p) for p in clock.split(":")]
        seconds = float(sum(p * 60 ** i for i, p in enumerate(reversed(parts))))
        return seconds + (int(days) * 86400 if days else 0)
    except ValueError:
        return None


def _squeue(job_ids: list[str], settings: SlurmSettings) -> dict[str, dict[str, str]]:
    result = _run(["squeue", "-h", "-t", "all", "-j", ",".join(job_ids), "-o", _SQUEUE_FORMAT], settings)
    if result.returncode != 0:
        if "Invalid job id" in result.stderr:  # squeue's answer when the one job asked for is gone
            return {}
        raise SlurmError(f"squeue failed (exit {result.returncode}): {_last_line(result.stderr)}")
    rows = {}
    for line in result.stdout.splitlines():
        fields = line.split("|")
        if len(fields) == 5:
            job_id, state, reason, node, clock = fields
            rows[job_id] = {"state": state, "reason": "" if reason == "None" else reason, "node": node,
                            "elapsed": clock}
    return rows


def _sacct(job_ids: list[str], settings: SlurmSettings) -> dict[str, dict[str, str]]:
    """sacct's view of finished jobs; {} on a cluster without accounting."""
    result = _run(["sacct", "-n", "-P", "-X", "-j", ",".join(job_ids),
                   "-o", "JobID,State,NodeList,ExitCode,ElapsedRaw"], settings)
    if result.returncode != 0:
        if "accounting storage is disabled" in result.stderr or "slurmdbd" in result.stderr:
            return {}
        raise SlurmError(f"sacct failed (exit {result.returncode}): {_last_line(result.stderr)}")
    rows = {}
    for line in result.stdout.splitlines():
        fields = line.split("|")
        if len(fields) == 5:
            job_id, state, node, exit_code, elapsed = fields
            state_word, _, by = state.partition(" ")  # "CANCELLED by 0"
            reason = f"cancelled by uid {by.split()[-1]}" if by.startswith("by ") else ""
            rows[job_id] = {"state": state_word, "reason": reason, "node": "" if node == "None assigned" else node,
                            "exit_code": exit_code.split(":")[0], "elapsed_raw": elapsed}
    return rows


def _outcome(record: JobRecord, slurm: dict[str, str]) -> JobOutcome:
    status = _read_status(record)
    state = slurm.get("state", "")
    reason = slurm.get("reason", "")
    if not state:
        if status:  # gone from squeue, no accounting: the script's own word
            state = "COMPLETED" if status.get("exit_code") == "0" else "FAILED"
        else:
            state = UNKNOWN
            reason = "no longer listed by squeue, no accounting (sacct), and its script left no status file"
    exit_code = status.get("exit_code") or slurm.get("exit_code")
    failed = status.get("failed_command")
    elapsed = None
    if status.get("elapsed_ns", "").lstrip("-").isdigit():
        elapsed = int(status["elapsed_ns"]) / 1e9
    elif slurm.get("elapsed_raw", "").isdigit():
        elapsed = float(slurm["elapsed_raw"])
    elif slurm.get("elapsed"):
        elapsed = _seconds(slurm["elapsed"])
    return JobOutcome(
        job_id=record.job_id, state=state, reason=reason, node=slurm.get("node") or status.get("node", ""),
        exit_code=int(exit_code) if exit_code and exit_code.lstrip("-").isdigit() else None,
        failed_command=int(failed) if failed and failed.lstrip("-").isdigit() else None,
        stdout=record.stdout, stderr=record.stderr, elapsed=elapsed,
    )


def poll(records: Iterable[JobRecord], *, settings: SlurmSettings) -> dict[str, JobOutcome]:
    """Where each job stands now, by job id: squeue, then sacct for the jobs
    squeue no longer lists, then the jobs' status files."""
    records = list(records)
    if not records:
        return {}
    ids = [r.job_id for r in records]
    rows = _squeue(ids, settings)
    missing = [i for i in ids if i not in rows]
    if missing:
        rows.update(_sacct(missing, settings))
    return {r.job_id: _outcome(r, rows.get(r.job_id, {})) for r in records}


def cancel(records: Iterable[JobRecord], *, settings: SlurmSettings) -> None:
    """scancel for every job given; jobs already finished are no error."""
    ids = [r.job_id for r in records]
    if ids:
        _run(["scancel", *ids], settings)  # its failures are jobs already gone


def counts(outcomes: Iterable[JobOutcome]) -> dict[str, int]:
    """Jobs queued, running and done: what progress shows."""
    tally = {"queued": 0, "running": 0, "done": 0}
    for outcome in outcomes:
        key = "done" if outcome.finished else "running" if outcome.state in ("RUNNING", "COMPLETING") else "queued"
        tally[key] += 1
    return tally


def wait(records: Iterable[JobRecord], *, settings: SlurmSettings, timeout: float,
         progress: Callable[[dict[str, int]], None] | None = None) -> list[JobOutcome]:
    """Polls until every job has finished, in the records' order. Jobs not
    finished after `timeout` seconds are cancelled and reported with that reason."""
    records = list(records)
    deadline = time.monotonic() + timeout
    while True:
        outcomes = poll(records, settings=settings)
        if progress is not None:
            progress(counts(outcomes.values()))
        unfinished = [r for r in records if not outcomes[r.job_id].finished]
        if not unfinished:
            return [outcomes[r.job_id] for r in records]
        if time.monotonic() > deadline:
            break
        time.sleep(settings.poll_seconds)
    late = {r.job_id for r in unfinished}
    cancel(unfinished, settings=settings)
    grace = time.monotonic() + 30
    while unfinished and time.monotonic() < grace:
        time.sleep(settings.poll_seconds)
        outcomes.update(poll(unfinished, settings=settings))
        unfinished = [r for r in unfinished if not outcomes[r.job_id].finished]
    reason = f"not finished within {timeout:.0f} s of waiting; cancelled by ompilot"
    return [replace(outcomes[r.job_id], reason=reason) if r.job_id in late else outcomes[r.job_id]
            for r in records]


# --- nodes -------------------------------------------------------------------------

_PROBE = ("echo \"cpu_model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')\"; "
          "echo \"online_cpus=$(nproc --all)\"")


def _scontrol_nodes(settings: SlurmSettings) -> dict[str, dict[str, str]]:
    nodes = {}
    for line in _checked(["scontrol", "show", "node", "-o"], settings).splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        if "NodeName" in fields:
            nodes[fields["NodeName"]] = fields
    return nodes


def node_facts(*, settings: SlurmSettings, probe: bool = True, timeout: float = 300.0) -> list[NodeFacts]:
    """The partition's nodes (`sinfo -N`, `scontrol show node`); with
    `probe`, one small job per node reads its CPU model and online CPUs."""
    args = ["sinfo", "-h", "-N", "-o", "%N|%c|%t|%P"]
    if settings.partition:
        args += ["-p", settings.partition]
    found: dict[str, dict] = {}
    for line in _checked(args, settings).splitlines():
        fields = line.split("|")
        if len(fields) != 4:
            continue
        name, cpus, state, partition = fields
        entry = found.setdefault(name, {"cpus": int(cpus) if cpus.isdigit() else 0, "state": state,
                                        "partitions": []})
        entry["partitions"].append(partition.rstrip("*"))
    details = _scontrol_nodes(settings)
    facts = {}
    for name, entry in found.items():
        detail = details.get(name, {})
        sockets, per_socket = detail.get("Sockets", ""), detail.get("CoresPerSocket", "")
        cores = int(sockets) * int(per_socket) if sockets.isdigit() and per_socket.isdigit() else None
        facts[name] = NodeFacts(name=name, cpus=entry["cpus"], cores=cores, state=entry["state"],
                                partitions=tuple(entry["partitions"]))
    if probe and facts:
        specs = [JobSpec(commands=(_PROBE,), name="ompilot-probe", nodelist=name) for name in facts]
        records = [submit(spec, settings=settings) for spec in specs]
        for record, outcome in zip(records, wait(records, settings=settings, timeout=timeout)):
            name = record.spec.nodelist
            if not outcome.ok:
                continue
            seen = dict(line.split("=", 1) for line in record.stdout.read_text().splitlines() if "=" in line)
            online = seen.get("online_cpus", "")
            facts[name] = replace(facts[name], cpu_model=seen.get("cpu_model") or None,
                                  online_cpus=int(online) if online.isdigit() else None)
    return list(facts.values())


def timing_threads(node: NodeFacts, settings: SlurmSettings) -> tuple[int, ...]:
    """The thread counts to time with on `node`: the configured ones, else
    powers of two from 2 up to its cores, and its cores."""
    if settings.threads:
        return tuple(settings.threads)
    cores = node.cores or node.cpus
    counts_ = [n for n in (2 ** k for k in range(1, 16)) if n < cores]
    return tuple(counts_ + [cores]) if cores >= 2 else (1,)
