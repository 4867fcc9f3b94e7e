"""Races through calls into another file of the program (calleffects.py):
each program is written to a folder with its compile_commands.json, built
with clang-19 -fopenmp -Werror (and run, so the race-free twins are real
programs), then checked together; the racy ones must give an error naming
the racing lines, their twins none."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ompilot.analysis import calleffects, program, scan
from ompilot.analysis.scan import ScanSettings
from ompilot.cli.main import main

COUNTER_H = """\
#ifndef COUNTER_H
#define COUNTER_H
struct counter { long hits; long total; };
void counter_init(void);
void counter_close(void);
void count(struct counter *c, long value);
#endif
"""

COUNTER_C = """\
#include <omp.h>
#include "counter.h"

static omp_lock_t mutex;

void counter_init(void) { omp_init_lock(&mutex); }
void counter_close(void) { omp_destroy_lock(&mutex); }

static void take(void) { omp_set_lock(&mutex); }
static void give(void) { omp_unset_lock(&mutex); }

void count(struct counter *c, long value)
{
    take();
    c->hits += 1;
    give();
    c->total += value;
}
"""

COUNTER_MAIN = """\
#include <stdio.h>
#include "counter.h"

int main(void)
{
    struct counter c = {0, 0};
    counter_init();
#pragma omp parallel for
    for (int i = 0; i < 1000; i++)
        count(&c, i % 5);
    counter_close();
    printf("%ld %ld\\n", c.hits, c.total);
    return 0;
}
"""

SCALE_H = """\
#ifndef SCALE_H
#define SCALE_H
double smooth(const double *x, int i);
void load(double *dst, const double *x, int i);
#endif
"""

SCALE_C = """\
#include "scale.h"

double smooth(const double *x, int i)
{
    STORAGE double pair[2];
    load(pair, x, i);
    return 0.5 * (pair[0] + pair[1]);
}
"""

LOAD_C = """\
#include "scale.h"

void load(double *dst, const double *x, int i)
{
    dst[0] = x[i];
    dst[1] = x[i + 1];
}
"""

SCALE_MAIN = """\
#include <stdio.h>
#include "scale.h"

static double in[1001], out[1000];

int main(void)
{
    for (int i = 0; i < 1001; i++)
        in[i] = (double)(i % 7);
#pragma omp parallel for
    for (int i = 0; i < 1000; i++)
        out[i] = smooth(in, i);
    double s = 0.0;
    for (int i = 0; i < 1000; i++)
        s += out[i];
    printf("%.3f\\n", s);
    return 0;
}
"""


SUM_H = """\
#ifndef SUM_H
#define SUM_H
long gather(const long *slot, int n);
#endif
"""

SUM_C = """\
#include "sum.h"

long gather(const long *slot, int n)
{
    long s = 0;
    for (int k = 0; k < n; k++)
        s += slot[k];
    return s;
}
"""

SUM_MAIN = """\
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include "sum.h"

int main(void)
{
    long *slot = calloc((size_t)omp_get_max_threads(), sizeof *slot);
    long all = 0;
    if (!slot)
        return 1;
#pragma omp parallel
    {
        int me = omp_get_thread_num();
#pragma omp for nowait
        for (int i = 0; i < 4000; i++)
            slot[me] += i % 9;
BARRIER
#pragma omp single
        all = gather(slot, COUNT);
    }
    printf("%ld\\n", all);
    free(slot);
    return 0;
}
"""


def write(root: Path, files: dict[str, str]) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    sources = sorted(n for n in files if n.endswith(".c"))
    entries = [{"directory": str(root), "file": n, "arguments": ["clang-19", "-fopenmp", "-I.", "-c", n, "-o", n + ".o"]}
               for n in sources]
    (root / "compile_commands.json").write_text(json.dumps(entries))
    done = subprocess.run(["clang-19", "-fopenmp", "-Wall", "-Werror", f"-I{root}", *(str(root / n) for n in sources),
                           "-o", str(root / "prog")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run = subprocess.run([str(root / "prog")], capture_output=True, text=True, env={"OMP_NUM_THREADS": "2"})
    assert run.returncode == 0 and run.stdout.strip(), run.stderr
    return [root / n for n in sources]


def errors(capsys, root: Path, sources: list[Path]) -> list[dict]:
    capsys.readouterr()
    code = main(["check", *map(str, sources), "-p", str(root), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    found = [f for f in report["findings"] if f["level"] == "error"]
    assert code == (1 if found else 0), report
    return found


def sites(found: list[dict]) -> set[tuple[str, int]]:
    out = set()
    for f in found:
        name = Path(f["file"]).name
        out.add((name, f["line"]))
        out |= {(name, line) for pair in f.get("accesses") or () for line in pair}
    return out


def test_write_before_the_helper_lock_races(tmp_path, capsys):
    sources = write(tmp_path / "p", {"counter.h": COUNTER_H, "counter.c": COUNTER_C, "main.c": COUNTER_MAIN})
    found = errors(capsys, tmp_path / "p", sources)
    assert len(found) == 1 and ("main.c", 10) in sites(found), found
    assert "c.total" in found[0]["message"] and "counter.c:17" in found[0]["message"]
    assert "c.hits" not in found[0]["message"]  # updated between take() and give(): one lock


def test_writes_between_the_helper_lock_calls_are_clean(tmp_path, capsys):
    locked = COUNTER_C.replace("    give();\n    c->total += value;\n", "    c->total += value;\n    give();\n")
    sources = write(tmp_path / "p", {"counter.h": COUNTER_H, "counter.c": locked, "main.c": COUNTER_MAIN})
    assert errors(capsys, tmp_path / "p", sources) == []


def test_static_local_filled_in_a_third_file_races_in_its_own_file(tmp_path, capsys):
    files = {"scale.h": SCALE_H, "scale.c": SCALE_C.replace("STORAGE", "static"), "load.c": LOAD_C,
             "main.c": SCALE_MAIN}
    found = errors(capsys, tmp_path / "p", write(tmp_path / "p", files))
    in_scale = [f for f in found if Path(f["file"]).name == "scale.c"]
    assert in_scale and {("scale.c", 6), ("scale.c", 7)} <= sites(in_scale), found
    assert "load.c:5" in in_scale[0]["message"]


def test_automatic_local_filled_in_a_third_file_is_clean(tmp_path, capsys):
    files = {"scale.h": SCALE_H, "scale.c": SCALE_C.replace("STORAGE ", ""), "load.c": LOAD_C, "main.c": SCALE_MAIN}
    assert errors(capsys, tmp_path / "p", write(tmp_path / "p", files)) == []


def test_static_local_under_critical_at_the_call_is_clean(tmp_path, capsys):
    guarded = SCALE_MAIN.replace("        out[i] = smooth(in, i);",
                                 "    {\n        double v;\n#pragma omp critical\n        v = smooth(in, i);\n"
                                 "        out[i] = v;\n    }")
    files = {"scale.h": SCALE_H, "scale.c": SCALE_C.replace("STORAGE", "static"), "load.c": LOAD_C, "main.c": guarded}
    assert errors(capsys, tmp_path / "p", write(tmp_path / "p", files)) == []


def test_static_local_of_a_function_called_on_a_condition_is_not_claimed(tmp_path, capsys):
    once = SCALE_MAIN.replace("        out[i] = smooth(in, i);", "        out[i] = i == 7 ? smooth(in, i) : 0.0;")
    files = {"scale.h": SCALE_H, "scale.c": SCALE_C.replace("STORAGE", "static"), "load.c": LOAD_C, "main.c": once}
    assert errors(capsys, tmp_path / "p", write(tmp_path / "p", files)) == []


def test_summaries_bind_parameters_across_files(tmp_path):
    files = {"scale.h": SCALE_H, "scale.c": SCALE_C.replace("STORAGE", "static"), "load.c": LOAD_C,
             "main.c": SCALE_MAIN}
    sources = write(tmp_path / "p", files)
    summaries = [scan._summary_only(scan._Task(p, True), ScanSettings()) for p in sources]
    facts = program.merge(summaries, whole=True)
    smooth = next(e for e in facts.effects.values() if e.name == "smooth")
    assert smooth.known
    writes = {(t.root, t.path, t.where, t.reached) for t in smooth.touches if t.is_write}
    assert ("static:scale.c:smooth:pair", ("[0]",), "load.c:5", "scale.c:6") in writes
    assert all(t.root != "param:0" or not t.is_write for t in smooth.touches)  # x is only read
    assert any(key for key, where in facts.concurrent.items() if where == "main.c:12")


def test_call_to_a_function_defined_nowhere_makes_no_claim(tmp_path):
    unit = tmp_path / "u.c"
    unit.write_text("void external(int *p);\nstatic int g;\nvoid f(int *p)\n{\n    external(p);\n    g = 1;\n}\n")
    summary = scan._summary_only(scan._Task(unit, True), ScanSettings())
    resolved = calleffects.resolve({e.key: e for e in summary.effects})
    f = next(e for e in resolved.values() if e.name == "f")
    assert not f.known and "external" in f.why


def sum_program(tmp_path: Path, barrier: bool, count: str = "omp_get_num_threads()"):
    main_c = SUM_MAIN.replace("BARRIER", "#pragma omp barrier" if barrier else "").replace("COUNT", count)
    return write(tmp_path / "p", {"sum.h": SUM_H, "sum.c": SUM_C, "main.c": main_c})


def test_gather_of_every_slot_after_a_nowait_loop_races(tmp_path, capsys):
    found = errors(capsys, tmp_path / "p", sum_program(tmp_path, barrier=False))
    assert len(found) == 1 and {("main.c", 17), ("main.c", 20)} <= sites(found), found
    assert "sum.c:7" in found[0]["message"] and "nowait" in found[0]["message"]


def test_gather_after_the_barrier_is_clean(tmp_path, capsys):
    assert errors(capsys, tmp_path / "p", sum_program(tmp_path, barrier=True)) == []


def test_gather_of_no_slot_is_clean(tmp_path, capsys):
    """The count is not the team size: the every-slot rule does not apply (here it reads nothing)."""
    assert errors(capsys, tmp_path / "p", sum_program(tmp_path, barrier=False, count="0")) == []


BUMP_MAIN = """\
#include <stdio.h>
long bump(long v);
void bump_init(void);
STATIC long hits;
static long out[100];

int main(void)
{
    bump_init();
#pragma omp parallel for
    for (int i = 0; i < 100; i++) {
#pragma omp critical
        hits += 1;
        out[i] = bump(i);
    }
    printf("%ld %ld\\n", out[5] > 0 ? 1L : 0L, hits);
    return 0;
}
"""

BUMP_C = """\
#include <omp.h>
STORAGE long hits;
static omp_lock_t guard;
void bump_init(void) { omp_init_lock(&guard); }
long bump(long v)
{
    long seen;
    omp_set_lock(&guard);
    hits += v;
    seen = hits;
    omp_unset_lock(&guard);
    return seen + 1;
}
"""


def test_thread_local_storage_of_another_file_is_private(tmp_path, capsys):
    files = {"bump.c": BUMP_C.replace("STORAGE", "static _Thread_local").replace(
        "    omp_set_lock(&guard);\n", "").replace("    omp_unset_lock(&guard);\n", ""),
             "main.c": BUMP_MAIN.replace("STATIC", "static")}
    assert errors(capsys, tmp_path / "p", write(tmp_path / "p", files)) == []


def test_namesake_statics_of_two_files_are_two_objects(tmp_path, capsys):
    """main.c's hits is under critical, bump.c's (another object) under a lock: no race."""
    files = {"bump.c": BUMP_C.replace("STORAGE", "static"), "main.c": BUMP_MAIN.replace("STATIC", "static")}
    assert errors(capsys, tmp_path / "p", write(tmp_path / "p", files)) == []


def test_one_global_under_critical_and_under_a_lock_races(tmp_path, capsys):
    """One external hits: critical in the loop and a lock in bump do not exclude each other."""
    files = {"bump.c": BUMP_C.replace("STORAGE ", ""), "main.c": BUMP_MAIN.replace("STATIC", "extern")}
    found = errors(capsys, tmp_path / "p", write(tmp_path / "p", files))
    assert len(found) == 1 and {("main.c", 13), ("main.c", 14)} <= sites(found), found


ADD_C = """\
void add(long *p, long v)
{
    *p += v;
}
"""

TASK_MAIN = """\
#include <stdio.h>
void add(long *p, long v);

int main(void)
{
    long x = 0;
#pragma omp parallel
#pragma omp single
    {
#pragma omp task shared(x)
        add(&x, 5);
WAIT
        x += 1;
    }
    printf("%ld\\n", x);
    return 0;
}
"""


def test_task_calling_into_another_file_races_with_its_parent(tmp_path, capsys):
    files = {"add.c": ADD_C, "main.c": TASK_MAIN.replace("WAIT\n", "")}
    found = errors(capsys, tmp_path / "p", write(tmp_path / "p", files))
    assert len(found) == 1 and {("main.c", 11), ("main.c", 12)} <= sites(found), found


def test_task_calling_into_another_file_waited_for_is_clean(tmp_path, capsys):
    files = {"add.c": ADD_C, "main.c": TASK_MAIN.replace("WAIT", "#pragma omp taskwait")}
    assert errors(capsys, tmp_path / "p", write(tmp_path / "p", files)) == []


def test_orphaned_for_calling_a_static_local_user_is_not_claimed(tmp_path, capsys):
    """An orphaned `for` called outside any parallel region runs in a team of one thread."""
    orphan = SCALE_MAIN.replace("int main(void)\n{", "static void run(void)\n{\n#pragma omp for\n"
                                "    for (int i = 0; i < 1000; i++)\n        out[i] = smooth(in, i);\n}\n\n"
                                "int main(void)\n{").replace(
        "#pragma omp parallel for\n    for (int i = 0; i < 1000; i++)\n        out[i] = smooth(in, i);\n", "    run();\n")
    files = {"scale.h": SCALE_H, "scale.c": SCALE_C.replace("STORAGE", "static"), "load.c": LOAD_C, "main.c": orphan}
    assert errors(capsys, tmp_path / "p", write(tmp_path / "p", files)) == []


def test_pointer_arithmetic_passed_on_makes_the_summary_unknown(tmp_path):
    outer, inner = tmp_path / "outer.c", tmp_path / "inner.c"
    outer.write_text("void inner(long *q);\nvoid outer(long *p)\n{\n    inner(p + 1);\n}\n")
    inner.write_text("void inner(long *q)\n{\n    *q = 3;\n}\n")
    summaries = [scan._summary_only(scan._Task(p, True), ScanSettings()) for p in (outer, inner)]
    effects = program.merge(summaries, whole=True).effects
    found = next(e for e in effects.values() if e.name == "outer")
    assert not found.known and "inner" in found.why


def test_directive_after_the_last_statement_makes_the_summary_unknown(tmp_path):
    unit = tmp_path / "u.c"
    unit.write_text("void step(long *p)\n{\n    *p += 1;\n#pragma omp barrier\n}\n\nvoid other(void)\n{\n}\n")
    summary = scan._summary_only(scan._Task(unit, True), ScanSettings())
    step = next(e for e in summary.effects if e.name == "step")
    other = next(e for e in summary.effects if e.name == "other")
    assert not step.known and "directive" in step.why and other.known


def test_loop_local_namesake_of_a_callee_global_is_another_object(tmp_path, capsys):
    """The loop's own `hits` is private to each iteration; bump.c's global one is under its lock."""
    local = BUMP_MAIN.replace("STATIC long hits;\n", "").replace(
        "#pragma omp critical\n        hits += 1;\n", "        long hits = i;\n        hits += 1;\n").replace(
        "out[i] = bump(i);", "out[i] = bump(hits);").replace(", hits);", ", 0L);")
    files = {"bump.c": BUMP_C.replace("STORAGE ", ""), "main.c": local}
    assert errors(capsys, tmp_path / "p", write(tmp_path / "p", files)) == []
