"""analysis/constructs.py: every OpenMP directive of a real parsed file mapped
to the statement it governs, lock spans, threadprivate names, and the
protections (guards) an access holds."""

from __future__ import annotations

from ompilot.analysis import compdb, constructs, frontend, ir, syntax

SOURCE = """\
#include <omp.h>
static int hits;
#pragma omp threadprivate(hits)
static double total, a[100];
static omp_lock_t lock;

void work(int n)
{
#pragma omp parallel
    {
        int i;
#pragma omp for nowait
        for (i = 0; i < n; i++) {
#pragma omp atomic
            total += a[i];
        }
#pragma omp barrier
#pragma omp critical (sum)
        {
            total *= 0.5;
            hits++;
        }
#pragma omp critical
        a[0] = 1.0;
        omp_set_lock(&lock);
        a[1] = total;
        omp_unset_lock(&lock);
        a[2] = 3.0;
    }
}
"""


def build(tmp_path) -> tuple[constructs.FileConstructs, ir.Function]:
    path = tmp_path / "regions.c"
    path.write_text(SOURCE)
    tu = frontend.parse(path, compdb.toolchain_flags())
    assert not tu.errors, tu.errors
    found = constructs.build(tu.functions, dict(syntax.find_omp_pragmas(SOURCE.encode())), SOURCE.splitlines())
    return found, tu.function("work")


def by_line(found: constructs.FileConstructs) -> dict[int, constructs.Construct]:
    return {c.line: c for c in found.constructs}


def test_each_directive_governs_the_statement_below_it(tmp_path):
    found, work = build(tmp_path)
    c = by_line(found)
    assert (c[9].kind, type(c[9].stmt), c[9].first_line, c[9].last_line) == ("parallel", ir.Block, 10, 28)  # its last statement; the closing brace holds no code
    assert (c[12].kind, type(c[12].stmt), c[12].first_line, c[12].last_line) == ("for", ir.For, 13, 16)
    assert (c[14].kind, c[14].first_line, c[14].last_line, c[14].atomic_targets) == ("atomic", 15, 15, {"total"})
    assert c[18].kind == "critical" and c[18].critical_name == "sum" and (c[18].first_line, c[18].last_line) == (19, 21)
    assert c[23].kind == "critical" and c[23].critical_name == "" and (c[23].first_line, c[23].last_line) == (24, 24)
    assert all(c[line].function is work for line in (9, 12, 14, 17, 18, 23))


def test_standalone_and_declarative_directives_sit_at_their_line(tmp_path):
    found, _ = build(tmp_path)
    c = by_line(found)
    assert c[17].kind == "barrier" and c[17].standalone and (c[17].first_line, c[17].last_line) == (17, 17)
    assert c[3].kind == "threadprivate" and c[3].standalone and c[3].function is None
    assert found.threadprivate == {"hits"}


def test_lock_spans_and_guards(tmp_path):
    found, work = build(tmp_path)
    [span] = found.locks
    assert (span.lock, span.nestable, span.first_line, span.last_line) == ("lock", False, 25, 27)
    assert found.guards_at(work, 15, "total") == {"atomic"}
    assert found.guards_at(work, 15, "a") == set()  # the atomic protects the location it updates only
    assert found.guards_at(work, 20, "total") == {"critical:sum"}
    assert found.guards_at(work, 24, "a") == {"critical:"}
    assert found.guards_at(work, 26, "a") == {"lock:lock"}
    assert found.guards_at(work, 28, "a") == set()
