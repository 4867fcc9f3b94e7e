"""Bad input for the verifier's runs: huge output, a TMPDIR inside the project, a run that changes the tree.

Real compiles and runs; each case checks the user's tree is left as it was.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

from ompilot.verify.existing import check_target
from ompilot.verify.runner import OUTPUT_LIMIT, Sandbox, run_command

OMPILOT = Path(sys.executable).with_name("ompilot")

FLOOD = r"""
#include <stdio.h>
#include <string.h>
int main(void) {
  static char block[1 << 20];
  memset(block, 'e', sizeof block);
  for (int i = 0; i < 300; i++) fwrite(block, 1, sizeof block, stderr);  /* 300 MB */
  fputs("\nlast line\n", stderr);
  double sum = 0;
  #pragma omp parallel for reduction(+: sum)
  for (int i = 0; i < 1000; i++) sum += i;
  printf("%.1f\n", sum);
  return 0;
}
"""


def _tree(tmp_path: Path, source: str, config: str) -> Path:
    tree = tmp_path / "project"
    tree.mkdir()
    (tree / "prog.c").write_text(source)
    (tree / ".ompilot.toml").write_text(config)
    return tree


def _listing(tree: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}


def test_300_mb_on_stderr_is_capped_head_and_tail_in_bounded_memory(tmp_path):
    (tmp_path / "flood.c").write_text(FLOOD)
    subprocess.run(["clang-19", "-O2", "-fopenmp", "flood.c", "-o", "flood"], cwd=tmp_path, check=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB, the high-water mark
    result = run_command("./flood", tmp_path, time_limit=30, memory_limit_mb=1024)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.ok and result.stdout == "499500.0\n"
    assert result.stderr_bytes == 300 * (1 << 20) + len("\nlast line\n")
    assert result.stderr.startswith("e" * 1000) and result.stderr.endswith("last line\n")
    assert f"{result.stderr_bytes - OUTPUT_LIMIT} bytes dropped here" in result.stderr
    assert len(result.stderr) < OUTPUT_LIMIT + 300
    assert grown_mb < 40, f"capturing 300 MB grew ompilot by {grown_mb:.0f} MB"


def test_a_program_flooding_a_compared_stream_gets_a_clear_reason(tmp_path):
    tree = _tree(tmp_path, FLOOD, 'build = "{cc} {cflags} prog.c -o {out}"\nrun = "{exe}"\nthreads = [2]\n')
    [outcome] = check_target(tree / "prog.c")
    assert outcome.result is None
    assert outcome.error == ("the serial program fails: output larger than 4 MB: it wrote 314.6 MB to stderr, more "
                             "than ompilot compares; print less, or leave \"stderr\" out of 'compare' in the "
                             "configuration")
    # compared on stdout only, the flood does not matter
    (tree / ".ompilot.toml").write_text('build = "{cc} {cflags} prog.c -o {out}"\nrun = "{exe}"\nthreads = [2]\n'
                                        'timing_runs = 3\ncompare = ["stdout"]\n')
    [outcome] = check_target(tree / "prog.c")
    assert outcome.error is None and outcome.result.output_difference is None
    assert outcome.result.stage != "output", outcome.result.message


QUICK = r"""
#include <stdio.h>
int main(void) {
  static double a[100000];
  #pragma omp parallel for
  for (int i = 0; i < 100000; i++) a[i] = i * 0.5;
  double s = 0;
  for (int i = 0; i < 100000; i++) s += a[i];
  fprintf(stderr, "%.2f\n", s);
  return 0;
}
"""


def test_a_tmpdir_inside_the_project_is_not_copied_into_itself(tmp_path):
    tree = _tree(tmp_path, QUICK, 'build = "{cc} {cflags} prog.c -o {out}"\nrun = "{exe}"\nthreads = [2]\n'
                                  "timing_runs = 3\ntune_seconds = 0\n")
    temp = tree / "build" / "tmp"
    temp.mkdir(parents=True)
    (temp / "someone-elses.txt").write_text("kept\n")
    before = _listing(tree)
    done = subprocess.run([str(OMPILOT), "verify", str(tree / "prog.c")], capture_output=True, text=True,
                          env=dict(os.environ, TMPDIR=str(temp)), timeout=300)
    assert "Traceback" not in done.stderr and "File name too long" not in done.stderr, done.stderr
    assert "prog.c" in done.stdout and "cannot verify" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert _listing(tree) == before  # the sandbox (and what the compilers left in it) went with it
    assert sorted(p.name for p in temp.iterdir()) == ["someone-elses.txt"]


def test_every_command_in_a_sandbox_gets_its_tmpdir_and_it_goes_with_the_sandbox(tmp_path):
    (tmp_path / "a.c").write_text("int main(void) { return 0; }\n")
    with Sandbox(tmp_path) as box:
        result = run_command('echo "$TMPDIR"; touch "$TMPDIR/left-behind"', box.path / ".", time_limit=10,
                             memory_limit_mb=256)
        assert result.ok and Path(result.stdout.strip()) == box.temp
        assert box.temp.parent == box.path.parent and (box.temp / "left-behind").exists()
        explicit = run_command('echo "$TMPDIR"', box.path, env={"TMPDIR": "/elsewhere"}, time_limit=10,
                               memory_limit_mb=256)
        assert explicit.stdout.strip() == "/elsewhere"
    assert not box.temp.exists()
    outside = run_command('echo "$TMPDIR"', tmp_path, env={"TMPDIR": "/given"}, time_limit=10, memory_limit_mb=256)
    assert outside.stdout.strip() == "/given"


# The run reads data.txt and deletes it, rewrites its own source (in the copy),
# and writes results into the working directory and into src/.
VANDAL = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  FILE *in = fopen("data.txt", "r");
  if (!in) { fprintf(stderr, "no data.txt\n"); return 3; }
  long n = 0;
  if (fscanf(in, "%ld", &n) != 1) return 4;
  fclose(in);
  remove("data.txt");
  FILE *src = fopen("prog.c", "w"); fputs("garbage\n", src); fclose(src);
  FILE *keep = fopen("src/helper.h", "w"); fputs("garbage too\n", keep); fclose(keep);
  static double a[200000];
  #pragma omp parallel for
  for (long i = 0; i < n; i++) a[i] = i * SCALE;
  double s = 0;
  for (long i = 0; i < n; i++) s += a[i];
  FILE *out = fopen("result.txt", "w"); fprintf(out, "sum %.3f\n", s); fclose(out);
  FILE *log = fopen("src/run.log", "a"); fprintf(log, "ran\n"); fclose(log);
  printf("%ld\n", n);
  return 0;
}
"""


def _vandal(tmp_path: Path, scale: str) -> Path:
    tree = _tree(tmp_path, f"#define SCALE {scale}\n" + VANDAL,
                 'build = "{cc} {cflags} prog.c -o {out}"\nrun = "{exe}"\nthreads = [2, 4]\ntiming_runs = 3\n'
                 'compare = ["stdout", "stderr", "files"]\n')
    (tree / "data.txt").write_text("200000\n")
    (tree / "src").mkdir()
    (tree / "src" / "helper.h").write_text("/* helper */\n")
    return tree


def test_a_run_that_changes_the_tree_changes_only_the_copy_and_each_run_starts_afresh(tmp_path):
    tree = _vandal(tmp_path, "0.5")
    before = _listing(tree)
    [outcome] = check_target(tree / "prog.c")
    # the second serial run found data.txt again, the parallel build its source again,
    # and the files written (result.txt, src/run.log: one line each time) compared equal
    assert outcome.error is None, outcome.error
    assert outcome.result.stage != "output" and outcome.result.output_difference is None, outcome.result.message
    assert _listing(tree) == before


def test_a_file_the_parallel_run_writes_differently_is_reported_by_name(tmp_path):
    # the OpenMP build scales by 0.51, the serial one by 0.5: result.txt differs, stdout does not
    tree = _vandal(tmp_path, "0.5\n#ifdef _OPENMP\n#undef SCALE\n#define SCALE 0.51\n#endif")
    before = _listing(tree)
    [outcome] = check_target(tree / "prog.c")
    assert outcome.error is None, outcome.error
    result = outcome.result
    assert result.stage == "output", result.message
    assert result.output_difference.startswith("file result.txt line 1, number 1: "), result.output_difference
    assert _listing(tree) == before
