"""run_command and Sandbox with real processes: limits, clean-up, TSan under the polled memory limit."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ompilot.verify.runner import OUTPUT_LIMIT, Sandbox, run_command

CLANG = shutil.which("clang-19")
ARCHER = Path("/usr/lib/llvm-19/lib/libarcher.so")


def _alive(pid: int) -> bool:
    """True when `pid` exists and is not a zombie (zombies may wait for a reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")


def test_success_captures_stdout_and_stderr(tmp_path):
    result = run_command("echo out; echo err >&2; pwd", tmp_path, time_limit=10, memory_limit_mb=256)
    assert result.ok
    assert result.stdout.splitlines() == ["out", str(tmp_path)]
    assert result.stderr == "err\n"
    assert result.seconds < 5


def test_the_seconds_leave_out_the_time_to_start_the_process(tmp_path, monkeypatch):
    """Starting a child of a large process (fork copies its page tables) is
    the caller's cost, not the program's: timing pairs must not carry it."""
    real_popen = subprocess.Popen

    def slow_popen(*args, **kwargs):
        time.sleep(1.0)  # what a fork of a few gigabytes can cost on a busy machine
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", slow_popen)
    result = run_command("sleep 0.2", tmp_path, time_limit=10, memory_limit_mb=256)
    assert result.ok and 0.2 <= result.seconds < 1.0, result.seconds


def test_exit_code_env_and_stdin(tmp_path):
    result = run_command(
        'cat; echo "$OMPILOT_TEST_VAR"; exit 7',
        tmp_path,
        env={"OMPILOT_TEST_VAR": "merged"},
        time_limit=10,
        memory_limit_mb=256,
        stdin="from stdin\n",
    )
    assert result.returncode == 7 and not result.ok
    assert result.stdout == "from stdin\nmerged\n"
    assert "PATH" in os.environ  # merged onto os.environ: sh found its commands
    assert not result.timed_out and not result.out_of_memory


def test_no_stdin_means_end_of_file(tmp_path):
    result = run_command("cat", tmp_path, time_limit=5, memory_limit_mb=256)
    assert result.ok and result.stdout == ""


def test_output_is_truncated_and_undecodable_bytes_replaced(tmp_path):
    size = OUTPUT_LIMIT + 100_000
    result = run_command(
        f"head -c {size} /dev/zero | tr '\\0' x; printf '\\377' >&2", tmp_path, time_limit=20, memory_limit_mb=512
    )
    assert result.ok
    assert result.stdout.startswith("x" * 1000)
    assert len(result.stdout) < OUTPUT_LIMIT + 200 and result.stdout.endswith("x" * 1000)
    assert "100000 bytes dropped here" in result.stdout and result.stdout_bytes == size
    assert result.stderr == "\ufffd"


def test_timeout_kills_the_whole_process_group(tmp_path):
    pids = tmp_path / "pids"
    # sh -> child sh -> grandchild sleep; the grandchild ignores SIGTERM, so
    # only the SIGKILL a second later ends it.
    script = tmp_path / "child.sh"
    script.write_text(f"trap '' TERM\nsleep 30 &\necho $$ $! >> {pids}\nwait\n")
    start = time.monotonic()
    result = run_command(f"sh {script} & echo $$ >> {pids}; sleep 30", tmp_path, time_limit=1, memory_limit_mb=256)
    elapsed = time.monotonic() - start
    assert result.timed_out and result.returncode is None and not result.ok
    assert 0.9 <= elapsed < 4, elapsed
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 3
    deadline = time.monotonic() + 2
    while any(_alive(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in started if _alive(p)]
    # and no process runs the child script any more
    leftovers = subprocess.run(["pgrep", "-f", str(script)], capture_output=True, text=True).stdout.split()
    assert [p for p in leftovers if _alive(int(p))] == []


def test_processes_left_behind_are_killed_when_the_command_ends(tmp_path):
    pid_file = tmp_path / "pid"
    result = run_command(
        f"sleep 30 > /dev/null 2>&1 & echo $! > {pid_file}", tmp_path, time_limit=10, memory_limit_mb=256
    )
    assert result.ok and result.seconds < 3
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 2
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_background_process_holding_the_pipe_does_not_hang(tmp_path):
    result = run_command("sleep 30 & echo done", tmp_path, time_limit=10, memory_limit_mb=256)
    assert result.ok and result.stdout == "done\n"
    assert result.seconds < 3


HOG = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static char *blocks[64];
int main(void) {
    size_t chunk = (size_t)32 << 20, sum = 0;
    for (int i = 0; i < 64; i++) {   /* 64 x 32 MiB = 2 GiB, all touched and kept */
        blocks[i] = malloc(chunk);
        if (!blocks[i]) { fprintf(stderr, "malloc: out of memory after %d MB\n", i * 32); return 1; }
        memset(blocks[i], i + 1, chunk);
    }
    for (int i = 0; i < 64; i++) sum += (unsigned char)blocks[i][(size_t)i * 4096];
    printf("touched 2048 MB, sum %zu\n", sum);
    return 0;
}
"""


def _compile(tmp_path: Path, source: str, name: str, *flags: str) -> Path:
    compiler = CLANG or "gcc"
    (tmp_path / f"{name}.c").write_text(source)
    exe = tmp_path / name
    subprocess.run([compiler, *flags, f"{name}.c", "-o", name], cwd=tmp_path, check=True)
    return exe


def test_memory_hog_under_address_space_limit(tmp_path):
    _compile(tmp_path, HOG, "hog", "-O1")
    result = run_command("./hog", tmp_path, time_limit=30, memory_limit_mb=256)
    assert not result.ok
    assert result.out_of_memory
    assert "touched" not in result.stdout
    assert result.seconds < 5


def test_memory_hog_under_polled_limit(tmp_path):
    _compile(tmp_path, HOG, "hog", "-O1")
    result = run_command("./hog", tmp_path, time_limit=30, memory_limit_mb=256, limit_address_space=False)
    assert result.out_of_memory and result.returncode is None and not result.ok
    assert "touched" not in result.stdout
    assert result.seconds < 5


def test_polled_limit_does_not_kill_a_small_program(tmp_path):
    result = run_command("sleep 0.5; echo fine", tmp_path, time_limit=10, memory_limit_mb=64, limit_address_space=False)
    assert result.ok and result.stdout == "fine\n"


RACY_FREE = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    int n = 1 << 20;
    double *a = malloc(n * sizeof *a), s = 0;
    #pragma omp parallel for reduction(+:s)
    for (int i = 0; i < n; i++) { a[i] = i * 0.5; s += a[i]; }
    printf("%.1f\n", s);
    free(a);
    return 0;
}
"""


def _tsan_env() -> dict[str, str]:
    env = {"TSAN_OPTIONS": "ignore_noninstrumented_modules=1", "OMP_NUM_THREADS": "2"}
    if ARCHER.exists():
        env["OMP_TOOL_LIBRARIES"] = str(ARCHER)
    return env


@pytest.mark.skipif(CLANG is None, reason="needs clang-19")
def test_tsan_openmp_binary_runs_under_polled_memory_limit(tmp_path):
    _compile(tmp_path, RACY_FREE, "tsan", "-fsanitize=thread", "-fopenmp", "-g", "-O1")
    result = run_command(
        "./tsan", tmp_path, env=_tsan_env(), time_limit=60, memory_limit_mb=1024, limit_address_space=False
    )
    assert result.ok, result.stderr
    assert result.stdout == f"{sum(i * 0.5 for i in range(1 << 20)):.1f}\n"
    assert "WARNING: ThreadSanitizer" not in result.stderr


@pytest.mark.skipif(CLANG is None, reason="needs clang-19")
def test_tsan_binary_under_address_space_limit_is_reported_as_memory(tmp_path):
    """The misuse callers must avoid: TSan cannot map its shadow under RLIMIT_AS."""
    _compile(tmp_path, RACY_FREE, "tsan", "-fsanitize=thread", "-fopenmp", "-g", "-O1")
    result = run_command("./tsan", tmp_path, env=_tsan_env(), time_limit=60, memory_limit_mb=1024)
    assert not result.ok and result.out_of_memory


def test_keyboard_interrupt_kills_the_group_and_propagates(tmp_path, monkeypatch):
    import ompilot.verify.runner as runner

    pid_file = tmp_path / "pid"
    real_group_rss = runner._group_rss
    calls = []

    def interrupt(pgid):
        calls.append(pgid)
        if pid_file.exists() and pid_file.read_text().strip():  # the shell creates it before writing
            raise KeyboardInterrupt
        return real_group_rss(pgid)

    monkeypatch.setattr(runner, "_group_rss", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_command(
            f"sleep 30 & echo $! > {pid_file}; wait", tmp_path, time_limit=20, memory_limit_mb=512,
            limit_address_space=False,
        )
    pid = int(pid_file.read_text())
    assert not _alive(pid)


def test_sandbox_copies_isolates_and_cleans_up(tmp_path):
    tree = tmp_path / "project"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("ref\n")
    (tree / "node_modules").mkdir()
    (tree / "link.c").symlink_to(tree / "src" / "main.c")  # absolute link into the tree
    (tree / "ro.txt").write_text("read only\n")
    (tree / "ro.txt").chmod(0o444)
    os.mkfifo(tree / "fifo")

    with Sandbox(tree) as box:
        copy = box.path
        assert copy != tree and copy.is_dir()
        assert (copy / "src" / "main.c").read_text() == "int main(void) { return 0; }\n"
        assert not (copy / ".git").exists() and not (copy / "node_modules").exists()
        assert not (copy / "fifo").exists()
        # the link points into the copy, not at the user's file
        assert (copy / "link.c").resolve() == (copy / "src" / "main.c").resolve()
        box.write("src/main.c", b"int main(void) { return 1; }\n")
        box.write("link.c", b"replaced link\n")
        box.write("new/dir/file.txt", b"new\n")
        assert (copy / "src" / "main.c").read_bytes() == b"int main(void) { return 1; }\n"
        assert (copy / "new" / "dir" / "file.txt").read_bytes() == b"new\n"
        with pytest.raises(ValueError):
            box.write("../escape.txt", b"no")
        result = run_command("echo built > out.txt", copy, time_limit=5, memory_limit_mb=256)
        assert result.ok and (copy / "out.txt").exists()

    assert not copy.exists() and not copy.parent.exists()
    assert (tree / "src" / "main.c").read_text() == "int main(void) { return 0; }\n"
    assert (tree / "link.c").is_symlink()
    assert not (tree / "out.txt").exists() and not (tree / "new").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_sandbox_removed_when_the_body_raises(tmp_path):
    tree = tmp_path / "project"
    tree.mkdir()
    (tree / "a.c").write_text("x\n")
    (tree / "sub").mkdir()
    (tree / "sub" / "b.c").write_text("y\n")
    (tree / "sub").chmod(0o555)  # read-only directory in the copy too
    try:
        for error in (RuntimeError, KeyboardInterrupt):
            with pytest.raises(error):
                with Sandbox(tree) as box:
                    copy = box.path
                    assert (copy / "sub" / "b.c").exists()
                    raise error("boom")
            assert not copy.exists() and not copy.parent.exists()
    finally:
        (tree / "sub").chmod(0o755)
    assert (tree / "a.c").read_text() == "x\n"
