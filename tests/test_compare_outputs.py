"""What the output check compares (stdout, stderr, files), printed decimals, and where it reports a difference.

The end-to-end cases build and run real programs through `ompilot suggest`
and `ompilot verify`: a sum printed with %.2f on stderr whose last digit a
parallel reduction flips, a reduction that changes it by more, a real race.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ompilot.cli.main import main
from ompilot.verify.compare import (Output, Tolerance, first_difference, number_difference, outputs_difference,
                                    varying_numbers)
from ompilot.verify.config import ConfigError, parse_config
from ompilot.verify.existing import check_target


# ------------------------------------------------------------ printed decimals


@pytest.mark.parametrize("serial, parallel", [
    ("1.00", "1.01"), ("1.01", "1.00"), ("-0.00", "0.00"), ("0.00", "-0.01"), ("12.35", "12.34"),
    ("1.234e+05", "1.235e+05"), ("9.999e+04", "1.000e+05"), ("1.5E-07", "1.6E-07"),
    ("10", "9.99999"), ("1.5", "1.49"),  # %g drops trailing zeros: the finer unit counts
    ("1.00000000000000", "1.00000000010000"),  # full precision: within rel = 1e-9
    ("nan", "nan"), ("inf", "inf"), ("12", "12"),
])  # fmt: skip
def test_equal_within_one_unit_of_the_last_printed_digit(serial, parallel):
    assert number_difference(serial, parallel) is None


@pytest.mark.parametrize("serial, parallel, words", [
    ("1.00", "1.02", "printed with 2 decimals: one unit is 0.01"),
    ("12.35", "12.37", "printed with 2 decimals: one unit is 0.01"),
    ("1.234e+05", "1.236e+05", "printed with 3 decimals and an exponent: one unit is 100"),
    ("1.5", "1.48", "printed with 2 decimals and 1 decimal in the serial run: one unit is 0.01"),
    ("1.0000000000", "1.0000001000", "one unit is 1e-10; also beyond rel=1e-09"),
    ("10", "11", "integers must match exactly"), ("0", "-0", "integers must match exactly"),
    ("inf", "-inf", "against"), ("1.0", "nan", "against"),
])  # fmt: skip
def test_beyond_one_unit_differs_and_says_the_unit(serial, parallel, words):
    problem = number_difference(serial, parallel)
    assert problem is not None and problem.startswith(f"{parallel} against {serial}") or "integer" in problem
    assert words in problem


def test_the_configured_tolerance_still_decides_for_full_precision_numbers():
    assert number_difference("1.000000", "1.000100") is not None
    assert number_difference("1.000000", "1.000100", Tolerance(rel=1e-3, abs=0)) is None


def test_first_difference_names_stream_line_and_number():
    serial = "n = 3\nsum 1.00 12.35 7\nend\n"
    difference = first_difference(serial, "n = 3\nsum 1.01 12.37 7\nend\n", stream="stderr")
    assert (difference.stream, difference.line, difference.number) == ("stderr", 2, 2)
    assert str(difference) == ("stderr line 2, number 2: 12.37 against 12.35 in the serial run (printed with "
                               "2 decimals: one unit is 0.01; also beyond rel=1e-09, abs=1e-12)")
    assert first_difference(serial, "n = 3\nsum 1.01 12.36 7\nend\n") is None
    text = first_difference(serial, "n = 3\nsum: 1.00 12.35 7\nend\n", stream="stdout")
    assert str(text).startswith("stdout line 2: the text differs: 'sum: 1.00 12.35 7' against 'sum 1.00 12.35 7'")
    inserted = first_difference(serial, "n = 3\nthreads 2\nsum 1.00 12.35 7\nend\n", stream="stdout")
    assert str(inserted) == ("stdout line 2: a line the serial run does not print: 'threads 2' (if it is not a "
                             "result, ignore_lines can leave it out)")
    shorter = first_difference(serial, "n = 3\nsum 1.00 12.35 7\n", stream="stdout")
    assert str(shorter) == "stdout line 3: 2 lines instead of the serial run's 3; first missing line: 'end'"


def test_outputs_difference_goes_stream_by_stream():
    serial = [Output("stdout", "ok\n"), Output("stderr", "s 1.00\n"), Output("file out.txt", "x 2\n")]
    assert outputs_difference(serial, list(serial), Tolerance()) is None
    changed = [serial[0], Output("stderr", "s 1.01\n"), Output("file out.txt", "x 3\n")]
    assert outputs_difference(serial, changed, Tolerance()) .stream == "file out.txt"
    extra = [*serial, Output("file new.txt", "")]
    assert str(outputs_difference(serial, extra, Tolerance())) == (
        "file new.txt: the parallel run wrote it, the serial run did not")


# ---------------------------------------------------------------- the config key


def test_compare_key(tmp_path):
    base = {"build": "{cc} {cflags} p.c -o {out}", "run": "{exe}"}
    assert parse_config(base, tmp_path, "t.toml").compare == ("stdout", "stderr")
    assert parse_config({**base, "files": ["o.txt"]}, tmp_path, "t.toml").compare == ("stdout", "stderr", "files")
    assert parse_config({**base, "compare": ["stderr", "files"]}, tmp_path, "t.toml").compare == ("stderr", "files")
    for bad in (["stdout", "exitcode"], [], "stdout"):
        with pytest.raises(ConfigError, match=r"^t\.toml: 'compare' must be a non-empty list"):
            parse_config({**base, "compare": bad}, tmp_path, "t.toml")
    with pytest.raises(ConfigError, match="leaves out \"files\""):
        parse_config({**base, "files": ["o.txt"], "compare": ["stdout"]}, tmp_path, "t.toml")


# ------------------------------------------------------------ real programs

# One unit of 2^30 is 2^-22: the serial loop adds each SMALL to 2^30 and loses
# it, prints 0.00; a thread whose share starts at 0 keeps its SMALLs, so the
# parallel sum is about n/2 * SMALL: 0.006 (prints 0.01) for SMALL = 6e-9.
REDUCTION = r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  double sum = 0.0;
  for (long i = 0; i < n; i++)
    sum += i == 0 ? 1073741824.0 : i == n - 1 ? -1073741824.0 : SMALL;
  fprintf(stderr, "n %ld\nchecksum %ld %.2f\n", n, n, sum);
  printf("done\n");
  return 0;
}
"""

CONFIG = """build = "{cc} {cflags} prog.c -o {out}"
run = "{exe}"
race_run = "{exe} 2000"
threads = [2, 4]
timing_runs = 3
tune_seconds = 0
"""


def _suggest_json(capsys, tree: Path, small: str) -> dict:
    (tree / "prog.c").write_text(REDUCTION.replace("SMALL", small))
    (tree / ".ompilot.toml").write_text(CONFIG)
    main(["suggest", "--no-tune", "--format", "json", "-j", "1", str(tree / "prog.c")])
    return json.loads(capsys.readouterr().out)


def _reduction_proposal(report: dict) -> dict:
    found = [p for p in report["proposals"] + report.get("rejected", []) if "reduction(+: sum)" in p["directive"]]
    assert len(found) == 1, report
    return found[0]


def test_a_last_digit_flipped_by_the_reduction_passes_the_output_check(tmp_path, capsys):
    report = _suggest_json(capsys, tmp_path, "6e-9")
    proposal = _reduction_proposal(report)
    evidence = proposal["evidence"]
    # the output check passed (faster or not, on a loaded machine, is the timing's business)
    assert evidence["output_check"] == "same", evidence
    assert evidence["stage"] in ("accepted", "speed"), evidence
    # the threads not faster, the simd fallback (vector lanes, no threads: nothing to race) may be kept
    assert evidence["race_check"]["runs"] > 0 or proposal["kind"] == "simd", proposal
    assert evidence["race_check"]["races"] == []


def test_a_reduction_that_moves_the_printed_sum_by_more_is_rejected_with_the_place(tmp_path, capsys):
    report = _suggest_json(capsys, tmp_path, "6e-8")
    evidence = _reduction_proposal(report)["evidence"]
    assert evidence["stage"] == "output", evidence
    where = "stderr line 2, number 2: 0.0"
    assert evidence["output_check"].startswith(where), evidence
    assert "against 0.00 in the serial run (printed with 2 decimals: one unit is 0.01" in evidence["output_check"]
    # and in the text a user reads
    main(["suggest", "--no-tune", "-j", "1", str(tmp_path / "prog.c")])
    text = capsys.readouterr().out
    assert "rejected" in text and "the output differs: stderr line 2, number 2: 0.0" in text, text


RACY_SUM = r"""
#include <stdio.h>
int main(void) {
  double sum = 0.0;
  #pragma omp parallel for
  for (long i = 0; i < 40000000; i++) sum += (i % 7) * 0.25;
  fprintf(stderr, "sum %.2f\n", sum);
  return 0;
}
"""


def test_a_missing_reduction_changes_stderr_and_is_rejected_with_the_place(tmp_path):
    (tmp_path / "prog.c").write_text(RACY_SUM)
    (tmp_path / ".ompilot.toml").write_text('build = "{cc} {cflags} prog.c -o {out}"\nrun = "{exe}"\n'
                                            "threads = [2, 4, 8]\ntiming_runs = 3\n")
    [outcome] = check_target(tmp_path / "prog.c")
    result = outcome.result
    assert not result.accepted and result.stage == "output", result.message
    assert result.output_difference.startswith("stderr line 1, number 1: "), result.output_difference
    assert result.output_difference.endswith("against 29999998.75 in the serial run (printed with 2 decimals: one "
                                             "unit is 0.01; also beyond rel=1e-09, abs=1e-12)")


NOISY_STDERR = r"""
#include <stdio.h>
#include <time.h>
int main(void) {
  static double a[1000000];
  double sum = 0;
  for (int i = 0; i < 1000000; i++) a[i] = i * 0.5;
  for (int i = 0; i < 1000000; i++) sum += a[i];
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  fprintf(stderr, "took %ld ns\n", (long)t.tv_nsec);  /* differs from run to run */
  printf("%.2f\n", sum);
  return 0;
}
"""


def test_numbers_that_vary_between_serial_runs_are_not_compared(tmp_path):
    """The program prints a timing on stderr: by default that number is left
    out (and said so), the rest of both streams compared; with compare =
    ["stdout"] stderr is not compared at all."""
    (tmp_path / "prog.c").write_text(NOISY_STDERR.replace("  for (int i = 0; i < 1000000; i++) a",
                                                          "  #pragma omp parallel for\n  for (int i = 0; i < 1000000; i++) a", 1))
    config = 'build = "{cc} {cflags} prog.c -o {out}"\nrun = "{exe}"\nthreads = [2]\ntiming_runs = 3\n'
    (tmp_path / ".ompilot.toml").write_text(config + 'compare = ["stdout"]\n')
    [outcome] = check_target(tmp_path / "prog.c")
    assert outcome.error is None and outcome.result.stage != "output", outcome
    assert outcome.result.output_difference is None and outcome.result.output_not_compared == ""
    (tmp_path / ".ompilot.toml").write_text(config)  # stdout and stderr: the nanoseconds are left out
    [outcome] = check_target(tmp_path / "prog.c")
    assert outcome.error is None and outcome.result.stage != "output", outcome
    assert outcome.result.output_not_compared == "stderr line 1, number 1, which varied between serial runs"


def test_a_varying_number_leaves_the_others_of_its_line_compared():
    skip = frozenset({("stderr", 1, 2)})
    serial = "checksum 4711 in 0.0123 s\n"
    assert first_difference(serial, "checksum 4711 in 0.0456 s\n", stream="stderr", skip=skip) is None
    wrong = first_difference(serial, "checksum 4712 in 0.0456 s\n", stream="stderr", skip=skip)
    assert (wrong.line, wrong.number) == (1, 1)
    assert varying_numbers([Output("stdout", "a 1 2\nb 3\n")], [Output("stdout", "a 1 5\nb 4\n")]) == frozenset(
        {("stdout", 1, 2), ("stdout", 2, 1)})
    # a width-padded number (%10g) takes more or fewer blanks: the numbers vary, not the text
    padded = varying_numbers([Output("stdout", "Grind time  =  0.5142125 (per dom)\n")],
                             [Output("stdout", "Grind time  = 0.50283125 (per dom)\n")])
    assert padded == frozenset({("stdout", 1, 1)})
    assert first_difference("t =  0.5 s\n", "t = 0.50 s\n") is None
    assert str(first_difference("t =  0.5 s\n", "t = 0.75 s\n", stream="stdout")).startswith("stdout line 1, number 1")
    # more than numbers differ (text, lines, streams): no reference at all
    assert varying_numbers([Output("stdout", "odd 1\n")], [Output("stdout", "even 1\n")]) is None
    assert varying_numbers([Output("stdout", "1\n")], [Output("stdout", "1\n2\n")]) is None
    assert varying_numbers([Output("stdout", "1\n")], [Output("stderr", "1\n")]) is None


#: prints a number from a counter kept outside the tree (runs are undone only inside it)
COUNTED = r"""
#include <stdio.h>
int main(int argc, char **argv) {
  static double a[1000000];
  double sum = 0;
  long count = 0;
  FILE *f = fopen(argv[1], "r");
  if (f) { if (fscanf(f, "%ld", &count) != 1) count = 0; fclose(f); }
  f = fopen(argv[1], "w");
  fprintf(f, "%ld\n", count + 1);
  fclose(f);
  #pragma omp parallel for
  for (int i = 0; i < 1000000; i++) a[i] = i * 0.5;
  for (int i = 0; i < 1000000; i++) sum += a[i];
  PRINT;
  printf("%.2f\n", sum);
  return 0;
}
"""


def _counted(tmp_path: Path, printed: str):
    project = tmp_path / "project"
    project.mkdir()
    (project / "prog.c").write_text(COUNTED.replace("PRINT", printed))
    counter = tmp_path / "counter.txt"
    (project / ".ompilot.toml").write_text(
        f'build = "{{cc}} {{cflags}} prog.c -o {{out}}"\nrun = "{{exe}} {counter}"\nthreads = [2]\ntiming_runs = 3\n')
    [outcome] = check_target(project / "prog.c")
    return outcome, int(counter.read_text())


def test_a_number_two_serial_runs_printed_alike_is_told_from_a_wrong_one(tmp_path):
    """count / 2 is 0 in both serial runs of the reference, then 1 in the
    parallel run: the serial program runs once more, prints 1 too, and the
    number joins the varying ones instead of failing the check."""
    outcome, runs = _counted(tmp_path, 'fprintf(stderr, "pass %ld\\n", count / 2)')
    assert outcome.error is None and outcome.result.stage != "output", outcome
    assert outcome.result.output_not_compared == "stderr line 1, number 1, which varied between serial runs"
    assert runs >= 4  # two serial runs, the parallel one, the serial one again (and the timing's)


def test_text_that_varies_between_serial_runs_cannot_be_a_reference(tmp_path):
    outcome, _ = _counted(tmp_path, 'fprintf(stderr, "%s\\n", count % 2 ? "odd" : "even")')
    assert outcome.error and "the serial program's stderr differs between two runs" in outcome.error
    assert 'ignore_lines = ["..."] or the stream with compare = ["stdout"] in .ompilot.toml' in outcome.error


OMP_TIMED = r"""
#include <omp.h>
#include <stdio.h>
int main(void) {
  static double a[1000000];
  double t0 = omp_get_wtime(), sum = 0;
  omp_set_num_threads(omp_get_num_procs());
  #pragma omp parallel for
  for (int i = 0; i < 1000000; i++) a[i] = i * 0.5;
  for (int i = 0; i < 1000000; i++) sum += a[i];
  printf("%.2f\n", sum);
  fprintf(stderr, "%.6f s\n", omp_get_wtime() - t0);
  return 0;
}
"""


def test_a_program_calling_openmp_functions_has_a_serial_reference(tmp_path):
    """omp_get_wtime() and omp_set_num_threads() need libomp, which clang
    links only with -fopenmp: the serial build links it, its pragmas still off."""
    (tmp_path / "prog.c").write_text(OMP_TIMED)
    (tmp_path / ".ompilot.toml").write_text(
        'build = "{cc} {cflags} prog.c -o {out}"\nrun = "{exe}"\nthreads = [2]\ntiming_runs = 3\n')
    [outcome] = check_target(tmp_path / "prog.c")
    assert outcome.error is None and outcome.result.stage != "output", outcome
    assert outcome.result.output_not_compared == "stderr line 1, number 1, which varied between serial runs"

def test_ignore_lines_leaves_out_what_only_one_build_prints_and_stable_timings(tmp_path):
    """LULESH's pattern: the OpenMP build prints a line the serial one does not
    ("Num threads: 2"), and a timing with two decimals that every serial run
    prints alike. Without ignore_lines the check fails on both; with it the
    lines are left out (and said so) while the result lines are compared."""
    (tmp_path / "prog.c").write_text(r"""
#include <stdio.h>
#ifdef _OPENMP
#include <omp.h>
#endif
int main(void) {
  static double a[1000000];
  double sum = 0;
#ifdef _OPENMP
  printf("Num threads: %d\n", omp_get_max_threads());
#endif
  #pragma omp parallel for
  for (int i = 0; i < 1000000; i++) a[i] = i * 0.5;
  for (int i = 0; i < 1000000; i++) sum += a[i];
  printf("sum %.2f\n", sum);
#ifdef _OPENMP
  printf("Elapsed time = %.2f (s)\n", 1.25);
#else
  printf("Elapsed time = %.2f (s)\n", 2.5);
#endif
  return 0;
}
""")
    config = 'build = "{cc} {cflags} prog.c -o {out}"\nrun = "{exe}"\nthreads = [2]\ntiming_runs = 3\n'
    (tmp_path / ".ompilot.toml").write_text(config)
    [outcome] = check_target(tmp_path / "prog.c")
    assert outcome.result.stage == "output" and outcome.result.output_difference == (
        "stdout line 1: a line the serial run does not print: 'Num threads: 2' (if it is not a result, "
        "ignore_lines can leave it out)"), outcome.result
    (tmp_path / ".ompilot.toml").write_text(config + 'ignore_lines = ["^Num threads", "^Elapsed time"]\n')
    [outcome] = check_target(tmp_path / "prog.c")
    assert outcome.error is None and outcome.result.stage != "output", outcome.result
    assert outcome.result.output_not_compared == "lines matching '^Num threads', '^Elapsed time' (ignore_lines)"
    # the sum is still compared: a different one is found, on the parallel run's line
    (tmp_path / ".ompilot.toml").write_text(config + 'ignore_lines = ["^Num threads"]\n')
    [outcome] = check_target(tmp_path / "prog.c")
    assert outcome.result.output_difference == (
        "stdout line 3, number 1: 1.25 against 2.50 in the serial run (printed with 2 decimals: one unit is 0.01; "
        "also beyond rel=1e-09, abs=1e-12)"), outcome.result


def test_ignore_lines_must_be_regular_expressions(tmp_path):
    with pytest.raises(ConfigError, match=r"'ignore_lines': '\(' is not a regular expression"):
        parse_config({"build": "{cc} {cflags} a.c -o {out}", "run": "{exe}", "ignore_lines": ["("]}, tmp_path, "t")
    with pytest.raises(ConfigError, match="'ignore_lines' must be a list of regular expressions"):
        parse_config({"build": "{cc} {cflags} a.c -o {out}", "run": "{exe}", "ignore_lines": "Elapsed"}, tmp_path, "t")
