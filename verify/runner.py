"""Running build and program commands with limits, and copying trees to run them in.

Every command runs through `/bin/sh -c` in a session (process group) of its
own, so that a timeout, a memory overrun or Ctrl-C can end the command
together with everything it started (make's compilers, a program's helper
processes) and nothing is left running.

Two ways to limit memory, because ThreadSanitizer cannot live with the first:

* `limit_address_space=True` (default): RLIMIT_AS on the shell and all it
  starts. The kernel enforces it exactly and cheaply: an allocation past the
  limit fails (malloc returns NULL, `std::bad_alloc`, MemoryError). Use it for
  compilers and for plain or OpenMP builds. It limits *address space*, which
  is more than the memory touched (thread stacks, glibc's 64 MB per-thread
  malloc arenas), so keep the limit generous.
* `limit_address_space=False`: no rlimit; the resident memory (RSS without
  shared file pages) of all processes of the group is polled every 0.05 s and
  the group is killed when the sum passes the limit. Use it for TSan/Archer
  binaries: TSan maps terabytes of shadow address space at start-up and aborts
  under RLIMIT_AS *and* under RLIMIT_DATA (both tested), so no rlimit works.
  The poll can overshoot by what the program allocates in 0.05 s, and TSan's
  own memory (5-10x the program's) counts, so give sanitizer runs a larger
  limit than plain ones.
"""

from __future__ import annotations

import os
import resource
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .evidence import RunResult

OUTPUT_LIMIT = 4 * 1024 * 1024  # bytes kept of each of stdout and stderr
_POLL = 0.05  # seconds between checks of the process and the deadline
_RSS_POLL = 0.05  # seconds between RSS measurements when polling memory
_TERM_GRACE = 1.0  # seconds between SIGTERM and SIGKILL

# What a program says when an allocation failed (under RLIMIT_AS nearly always
# the cause); TSan's shadow-memory failure means it ran under an address-space
# limit, i.e. the caller should have passed limit_address_space=False.
_OOM_PATTERNS = (
    "out of memory",
    "bad_alloc",
    "cannot allocate memory",
    "memoryerror",
    "virtual memory exhausted",
    "memory exhausted",
    "can not mmap the shadow memory",
    "run with limited virtual address space",
    "allocator is out of memory",
    "failed to allocate",
)


def run_command(
    command: str,
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    time_limit: float,
    memory_limit_mb: int,
    stdin: str | None = None,
    limit_address_space: bool = True,
) -> RunResult:
    """Run `command` with `/bin/sh -c` in `cwd` and return what happened.

    `env` is merged onto os.environ. A command run inside a `Sandbox` gets
    TMPDIR set to the sandbox's own temporary directory (unless `env` sets
    it). `memory_limit_mb <= 0` means no memory
    limit. Processes the command leaves behind when it exits are killed.
    On timeout the group gets SIGTERM, then SIGKILL after 1 s: timed_out=True,
    returncode None. Killed for memory (polled mode): out_of_memory=True,
    returncode None. Under RLIMIT_AS, out_of_memory=True when the program
    failed and its stderr says an allocation failed.
    """
    full_env = dict(os.environ)
    temp = sandbox_temp(Path(cwd).absolute())
    if temp is not None:  # a killed compiler's temporaries stay in the sandbox and go with it
        full_env["TMPDIR"] = str(temp)
    if env:
        full_env.update(env)
    limit_bytes = memory_limit_mb * 1024 * 1024 if memory_limit_mb and memory_limit_mb > 0 else 0
    preexec = _address_space_limiter(limit_bytes) if limit_address_space and limit_bytes else None
    poll_rss = bool(limit_bytes) and not limit_address_space

    start = time.monotonic()
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=str(cwd),
        env=full_env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=preexec,
    )
    # Popen returns once the child runs /bin/sh. The seconds count from here, without
    # the fork of this process: a preexec_fn rules out vfork, and copying the page
    # tables of a large caller takes about 20 ms per GB (7 ms at a test worker's 300 MB).
    launched = time.monotonic()
    pgid = proc.pid  # start_new_session: the child leads its own session and group
    try:
        out, err, timed_out, killed_for_memory, seconds = _supervise(
            proc, pgid, start, stdin, time_limit, limit_bytes if poll_rss else 0
        )
        seconds -= launched - start
    except BaseException:  # KeyboardInterrupt above all: nothing may outlive us
        _kill_group(pgid, proc)
        raise
    finally:
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    stdout, stderr = _text(out.bytes()), _text(err.bytes())
    returncode = None if (timed_out or killed_for_memory) else proc.returncode
    out_of_memory = killed_for_memory or (
        not timed_out
        and returncode != 0
        and (
            (bool(limit_bytes) and any(p in stderr.lower() for p in _OOM_PATTERNS))
            # SIGKILL that we did not send: the kernel's OOM killer, most likely
            or returncode in (-signal.SIGKILL, 128 + signal.SIGKILL)
        )
    )
    return RunResult(command=command, returncode=returncode, stdout=stdout, stderr=stderr, seconds=seconds,
                     timed_out=timed_out, out_of_memory=out_of_memory, stdout_bytes=out.total, stderr_bytes=err.total)


def _address_space_limiter(limit_bytes: int):
    """A preexec_fn setting RLIMIT_AS, never above the hard limit we inherited."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit_bytes = min(limit_bytes, hard)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return limit


class _Capture:
    """Keeps the first and the last OUTPUT_LIMIT / 2 bytes of a stream and counts the rest.

    Memory stays bounded however much a program writes (the tail buffer is
    trimmed once it holds twice its share)."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.head_size = limit // 2
        self.tail_size = limit - self.head_size
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_size - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.tail_size:
                del self.tail[: len(self.tail) - self.tail_size]

    @property
    def dropped(self) -> int:
        return max(0, self.total - len(self.head) - self.tail_size)

    def bytes(self) -> bytes:
        if not self.dropped:
            return bytes(self.head + self.tail)
        tail = self.tail[len(self.tail) - self.tail_size :]
        note = (f"\n[ompilot: {self.dropped} bytes dropped here; the stream had {self.total} bytes, more than the "
                f"{_megabytes(OUTPUT_LIMIT)} kept (its first and last {_megabytes(self.tail_size)})]\n")
        return bytes(self.head) + note.encode() + bytes(tail)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.3g} MB"


def _supervise(proc, pgid, start, stdin, time_limit, rss_limit):
    """Pump the pipes, watch the deadline and memory; return the outcome."""
    captures = {proc.stdout.fileno(): _Capture(), proc.stderr.fileno(): _Capture()}
    pending = stdin.encode() if stdin is not None else b""
    deadline = start + time_limit
    timed_out = killed_for_memory = False
    ended_at: float | None = None
    next_rss = start

    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        selector.register(proc.stderr, selectors.EVENT_READ)
        if proc.stdin is not None:
            if pending:
                os.set_blocking(proc.stdin.fileno(), False)
                selector.register(proc.stdin, selectors.EVENT_WRITE)
            else:
                proc.stdin.close()

        while True:
            readers = [k for k in selector.get_map().values() if k.events & selectors.EVENT_READ]
            if not readers and ended_at is not None:
                break
            now = time.monotonic()
            if ended_at is None and proc.poll() is not None:
                ended_at = now
                # The command is over; whatever it left behind goes, so the
                # pipes it may hold close and nothing outlives the run.
                _kill_group(pgid, proc, grace=0.0)
                continue
            if ended_at is None and now >= deadline:
                timed_out = True
                _kill_group(pgid, proc)
                ended_at = time.monotonic()
                continue
            if ended_at is None and rss_limit and now >= next_rss:
                next_rss = now + _RSS_POLL
                if _group_rss(pgid) > rss_limit:
                    killed_for_memory = True
                    _kill_group(pgid, proc, grace=0.0)
                    ended_at = time.monotonic()
                    continue
            if ended_at is not None and now > ended_at + 2.0:
                break  # a process that left our group still holds a pipe; stop waiting for it
            if not selector.get_map():
                # Pipes closed, process not yet reaped: wait for it directly
                # rather than sleeping a poll interval (this is timing data).
                try:
                    proc.wait(timeout=max(0.0, min(deadline - now, _RSS_POLL if rss_limit else _POLL)))
                except subprocess.TimeoutExpired:
                    pass
                continue
            for key, _ in selector.select(timeout=_POLL):
                if key.events & selectors.EVENT_WRITE:
                    try:
                        written = os.write(key.fd, pending[:65536])
                        pending = pending[written:]
                    except BrokenPipeError:
                        pending = b""
                    except BlockingIOError:
                        continue
                    if not pending:
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                    continue
                data = os.read(key.fd, 1 << 20)
                if data:
                    captures[key.fd].add(data)
                else:
                    selector.unregister(key.fileobj)

    if ended_at is None:  # pragma: no cover - the loop only ends after ended_at is set
        ended_at = time.monotonic()
    proc.wait()
    return captures[proc.stdout.fileno()], captures[proc.stderr.fileno()], timed_out, killed_for_memory, \
        ended_at - start


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`, from /proc."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(name))
    return members


def _group_rss(pgid: int) -> int:
    """Bytes of private resident memory (RSS minus shared file pages) of the group."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in _group_members(pgid):
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                _, resident, shared, *_ = (int(x) for x in f.read().split())
        except (OSError, ValueError):
            continue
        total += max(0, resident - shared) * page
    return total


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:  # pragma: no cover - a member changed its credentials
        pass


def _kill_group(pgid: int, proc: subprocess.Popen, grace: float = _TERM_GRACE) -> None:
    """End every process of the group: SIGTERM, up to `grace` s, then SIGKILL.

    grace=0 sends SIGKILL straight away (the command is already over or is
    being stopped for memory: no need to let it clean up)."""
    if grace > 0:
        _signal_group(pgid, signal.SIGTERM)
        end = time.monotonic() + grace
        while time.monotonic() < end:
            proc.poll()
            if not _group_members(pgid):
                return
            time.sleep(0.02)
    if proc.poll() is None or _group_members(pgid):
        _signal_group(pgid, signal.SIGKILL)
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            proc.poll()
            if not _group_members(pgid):
                break
            time.sleep(0.01)
    try:
        proc.wait(timeout=2.0)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
        pass


#: A file in each sandbox's top directory naming its temporary directory.
SANDBOX_MARK = ".ompilot-sandbox"


def sandbox_temp(cwd: Path) -> Path | None:
    """The temporary directory of the sandbox `cwd` lies in, None outside sandboxes.

    Found from the directory rather than passed by every caller, so that each
    command run in a copy (builds, runs, race checks) gets it."""
    for folder in (cwd, *cwd.parents):
        mark = folder / SANDBOX_MARK
        if mark.is_file():
            try:
                return folder / mark.read_text().strip()
            except OSError:
                return None
    return None


class Sandbox:
    """A throw-away copy of a source tree, so builds and patches never touch the user's files.

    `with Sandbox(root) as box:` copies `root` (without .git, .venv and
    node_modules; sockets and FIFOs are skipped) to a new temporary directory
    `box.path`, and removes it when the block ends however it ends. Symbolic
    links are kept as links; those that point into `root` are re-pointed into
    the copy, so writing through them cannot reach the original.

    Beside the copy, `box.temp` is the TMPDIR of every command run in the
    copy (see `sandbox_temp`), so what a killed compiler leaves there is
    removed with the sandbox. A TMPDIR inside `root` puts the sandbox itself
    inside the tree: the copy skips it, and any other sandbox it finds there.
    """

    SKIP = frozenset({".git", ".venv", "node_modules"})

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._tmp: Path | None = None
        self.path: Path | None = None
        self.temp: Path | None = None

    def __enter__(self) -> "Sandbox":
        self._tmp = Path(tempfile.mkdtemp(prefix="ompilot-"))
        try:
            self.path = self._tmp / (self.root.name or "tree")
            self.temp = self._tmp / ("tmp" if self.path.name != "tmp" else "ompilot-tmp")
            self.temp.mkdir()
            (self._tmp / SANDBOX_MARK).write_text(self.temp.name)
            shutil.copytree(self.root, self.path, symlinks=True, ignore=self._ignore)
            self._repoint_links()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Remove the copy (idempotent)."""
        tmp, self._tmp = self._tmp, None
        if tmp is not None and tmp.exists():
            _rmtree(tmp)

    def write(self, relative: str, data: bytes) -> Path:
        """Replace (or create) the file `relative` in the copy with `data`; return its path.

        A symbolic link there is replaced by a plain file, not written through."""
        if self.path is None or self._tmp is None:
            raise RuntimeError("Sandbox.write outside its with-block")
        target = self.path / relative
        base = os.path.realpath(self.path)
        parent = os.path.realpath(target.parent)
        if Path(relative).is_absolute() or os.path.commonpath([base, parent]) != base:
            raise ValueError(f"{relative!r} is not inside the sandbox")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        target.write_bytes(data)
        return target

    def _ignore(self, directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in self.SKIP}
        for name in names:
            full = os.path.join(directory, name)
            try:
                mode = os.lstat(full).st_mode
            except OSError:
                skipped.add(name)
                continue
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                skipped.add(name)
            elif stat.S_ISDIR(mode) and os.path.isfile(os.path.join(full, SANDBOX_MARK)):
                skipped.add(name)  # this sandbox (TMPDIR inside the tree) or another one
        return skipped

    def _repoint_links(self) -> None:
        assert self.path is not None
        root = str(self.root)
        for directory, dirs, files in os.walk(self.path):
            for name in dirs + files:
                link = os.path.join(directory, name)
                if not os.path.islink(link):
                    continue
                target = os.readlink(link)
                original_dir = os.path.join(root, os.path.relpath(directory, self.path))
                resolved = os.path.realpath(os.path.join(original_dir, target))
                if os.path.commonpath([root, resolved]) != root:
                    continue  # points outside the tree: left as it is
                inside = os.path.join(self.path, os.path.relpath(resolved, root))
                os.unlink(link)
                os.symlink(os.path.relpath(inside, directory), link)


def _rmtree(path: Path) -> None:
    """rmtree that also removes read-only files and directories copied from the user."""

    def retry(function, name, _exc):
        try:
            os.chmod(os.path.dirname(name), 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            function(name)
        except FileNotFoundError:
            pass

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)
