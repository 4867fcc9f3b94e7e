"""The one OpenMP directive parser: round trips, spellings, clause arguments, edits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ompilot.analysis.pragmas import (
    Clause,
    Directive,
    NotADirective,
    directives_in,
    first_pragma_line,
    logical_lines,
    parse_pragma,
    private_names,
    reduction_names,
)
from ompilot.suggest.engine import suggest_source

from test_hoisted_regions import DURBIN  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

# Every form of directive the suggest engine writes (analysis/nest.py, analysis/recurrence.py,
# suggest/engine.py, suggest/regions.py, suggest/offload.py, suggest/rtcheck.py).
EMITTED = [
    "#pragma omp parallel for",
    "#pragma omp parallel for collapse(2) schedule(guided) private(j) reduction(+: total)",
    "#pragma omp parallel for schedule(static, 16) firstprivate(img, out) lastprivate(last)",
    "#pragma omp parallel for reduction(+: sum) reduction(max: peak) reduction(&&: all_odd) reduction(||: any)",
    "#pragma omp parallel for reduction(+: hist[0:BINS])",
    "#pragma omp parallel for if(ompilot_disjoint(s->x, (size_t)(n) * sizeof *s->x, &s, sizeof s) "
    "&& ompilot_disjoint(y, (size_t)(n) * sizeof *y, coef, (size_t)(13) * sizeof *coef))",
    "#pragma omp simd",
    "#pragma omp simd reduction(+: fx) reduction(+: fy)",
    "#pragma omp tile sizes(64, 64, 64)",
    "#pragma omp parallel",
    "#pragma omp parallel private(k, pivot)",
    "#pragma omp for reduction(+: sum) schedule(dynamic, 8) nowait",
    "#pragma omp single",
    "#pragma omp barrier",
    "#pragma omp target data map(to: a[0:n], b[0:n]) map(from: c[0:n]) map(tofrom: x[0:n*m])",
    "#pragma omp target teams distribute parallel for",
]


@pytest.mark.parametrize("text", EMITTED)
def test_emitted_directives_round_trip(text):
    directive = Directive.parse(text)
    assert directive.render() == text
    assert directive.text == text
    assert Directive.parse(directive.render()) == directive


def test_every_directive_the_engine_writes_for_the_corpus_round_trips():
    files = ["indirect_read.c", "horner.c", "matmul_naive.c", "lastprivate.c", "jacobi_2d.c", "argmax.c"]
    written = set()
    for name in files:
        result = suggest_source(name, (CORPUS / name).read_bytes())
        for proposal in result.proposals:
            edits = [*proposal.edits, *(e for _, variant in proposal.variants for e in variant)]
            written.update(d.text.strip() for e in edits for d in directives_in(e.text))
    written.update(d.text.strip() for d in directives_in(suggest_source("durbin.c", DURBIN).patched.decode()))
    names = {Directive.parse(text).name for text in written}
    assert {"parallel for", "for", "parallel", "simd", "tile"} <= names, names
    assert any("nowait" in t for t in written) and any("if(ompilot_disjoint(" in t for t in written)
    for text in written:
        assert Directive.parse(text).render() == text


def test_names_and_clauses_in_order():
    text = "#pragma omp target teams distribute parallel for simd collapse(2) nowait private(a, b)"
    directive = Directive.parse(text)
    assert directive.names == ("target", "teams", "distribute", "parallel", "for", "simd")
    assert directive.name == "target teams distribute parallel for simd"
    assert [(c.name, c.arguments) for c in directive.clauses] == [("collapse", "2"), ("nowait", None),
                                                                   ("private", "a, b")]
    assert directive.clause("private").items() == ("a", "b") and directive.clause("shared") is None
    # a directive word followed by "(" is a clause
    declare = Directive.parse("#pragma omp declare reduction(merge : int : omp_out += omp_in)")
    assert declare.names == ("declare",) and declare.clause("reduction") is not None


@pytest.mark.parametrize("text, clause, names, modifier", [
    ("#pragma omp parallel for reduction(+: a[0:n], s)", "reduction", ("a", "s"), "+"),
    ("#pragma omp parallel for reduction(task, max: m)", "reduction", ("m",), "task, max"),
    ("#pragma omp target data map(tofrom: x[0:n*m], y[i][0:(n)])", "map", ("x", "y"), "tofrom"),
    ("#pragma omp target map(x)", "map", ("x",), None),
    ("#pragma omp simd linear(i: 2) aligned(p: 64)", "linear", ("i",), "2"),
    ("#pragma omp for lastprivate(conditional: z)", "lastprivate", ("z",), "conditional"),
    ("#pragma omp parallel private(ns::x, y)", "private", ("ns::x", "y"), None),
])
def test_clause_lists_and_modifiers(text, clause, names, modifier):
    directive = Directive.parse(text)
    assert directive.names_in(clause) == names
    assert directive.clause(clause).modifier == modifier


def test_nested_parentheses_stay_in_one_clause():
    check = "ompilot_disjoint(y, (size_t)(n) * sizeof *y, x, (size_t)((n) + 1) * sizeof *x)"
    directive = Directive.parse(f"#pragma omp parallel for if({check}) reduction(+: a[f(1, 2)])")
    assert [c.name for c in directive.clauses] == ["if", "reduction"]
    assert directive.clause("if").arguments == check
    assert directive.clause("if").items() == (check,)
    assert directive.names_in("reduction") == ("a",)


def test_pragma_operator_and_its_string():
    directive = Directive.parse('_Pragma("omp parallel for private(t) reduction(+:s)") for (;;) {}')
    assert directive.spelling == "_Pragma"
    assert directive.names == ("parallel", "for") and directive.names_in("private") == ("t",)
    assert directive.render() == "#pragma omp parallel for private(t) reduction(+:s)"
    assert directive.with_clause("schedule(runtime)", at=0).text == \
        '_Pragma("omp parallel for schedule(runtime) private(t) reduction(+:s)") for (;;) {}'
    bare = Directive.parse("omp simd")
    assert bare.spelling == "omp" and bare.render() == "#pragma omp simd"


def test_continuation_lines():
    text = "  #pragma omp parallel for \\\n      private(x, \\\n              y) \\\n   reduction(+:s)\n"
    directive = Directive.parse(text)
    assert directive.names == ("parallel", "for")
    assert directive.names_in("private") == ("x", "y")
    assert directive.render() == "#pragma omp parallel for private(x, y) reduction(+:s)"
    assert directive.text == text  # what was written, kept
    assert directive.without_clause("reduction").text == \
        "  #pragma omp parallel for \\\n      private(x, \\\n              y)\n"
    assert logical_lines("a\n" + text + "b\n") == ["a\n", text, "b\n"]
    # a continued `#` line
    assert Directive.parse("# \\\n pragma omp simd").names == ("simd",)


def test_text_keeps_spacing_comments_and_line_ending():
    text = "  #  pragma  omp parallel for schedule( static ),private(t) // why\r\n"
    directive = Directive.parse(text)
    assert directive.text == text
    assert directive.render() == "#pragma omp parallel for schedule(static) private(t)"
    edited = directive.with_clause(Clause("schedule", "runtime"))
    assert edited.text == "  #  pragma  omp parallel for schedule(runtime),private(t) // why\r\n"
    # no comma is left right after the directive name
    assert directive.without_clause("schedule").text == "  #  pragma  omp parallel for private(t) // why\r\n"


def test_with_clause_replaces_the_first_and_drops_repeats_or_inserts():
    directive = Directive.parse("#pragma omp for schedule(static) private(i) schedule(dynamic) nowait")
    assert directive.with_clause("schedule(guided)").text == "#pragma omp for schedule(guided) private(i) nowait"
    plain = Directive.parse("#pragma omp for private(i) nowait")
    assert plain.with_clause("schedule(guided)").text == "#pragma omp for private(i) nowait schedule(guided)"
    assert plain.with_clause("schedule(guided)", at=plain.position("nowait")).text == \
        "#pragma omp for private(i) schedule(guided) nowait"
    assert plain.with_clause("schedule(guided)", at=0).text == "#pragma omp for schedule(guided) private(i) nowait"
    # a directive built here, not parsed: text is the canonical rendering
    built = Directive(("parallel", "for")).with_clause("collapse(2)")
    assert built.text == built.render() == "#pragma omp parallel for collapse(2)"
    with pytest.raises(ValueError):
        Clause.parse("private(a) shared(b)")


def test_what_cannot_be_read_is_kept_and_named():
    unbalanced = Directive.parse("#pragma omp parallel for reduction(+: s")
    assert unbalanced.problem == "unbalanced parentheses" and unbalanced.clauses == ()
    assert unbalanced.render() == "#pragma omp parallel for reduction(+: s"
    junk = Directive.parse('#pragma omp parallel for private(i) ; system("rm")')
    assert junk.problem.startswith("cannot read the clauses from ';")
    assert [c.name for c in junk.clauses] == ["private"]
    assert junk.text == '#pragma omp parallel for private(i) ; system("rm")'
    assert Directive.parse("#pragma omp parallel for /* a ( comment */").problem is None


@pytest.mark.parametrize("text", ["#pragma GCC ivdep", "#pragma ompx simd", "// #pragma omp for",
                                  "omp_set_num_threads(2);", ""])
def test_not_a_directive(text):
    with pytest.raises(NotADirective):
        Directive.parse(text)
    assert Directive.parse_or_none(text) is None


@pytest.mark.parametrize("text, is_loop, shares_for", [
    ("#pragma omp parallel for", True, True),
    ("#pragma omp for simd", True, True),
    ("#pragma omp simd", True, False),
    ("#pragma omp taskloop grainsize(4)", True, False),
    ("#pragma omp teams distribute", True, False),
    ("#pragma omp parallel", False, False),
    ("#pragma omp cancel for", False, False),
    ("#pragma omp cancellation point for", False, False),
    ("#pragma omp critical(name)", False, False),
])
def test_loop_directives(text, is_loop, shares_for):
    directive = Directive.parse(text)
    assert (directive.is_loop, directive.shares_for_loop) == (is_loop, shares_for)


def test_directives_in_text_and_first_pragma_line():
    text = "{\n  #pragma omp parallel\n  {\n  # pragma omp for nowait\n  x();\n// #pragma omp simd\n}\n"
    assert [d.name for d in directives_in(text)] == ["parallel", "for"]
    assert first_pragma_line("Use this:\n    #pragma omp parallel for private(t)\nthanks") == \
        "#pragma omp parallel for private(t)"
    assert first_pragma_line("no pragma here") is None


def test_existing_pragma_record():
    text = "#pragma omp parallel for collapse(2) private(t) lastprivate(conditional: z) reduction(task, +: s, h[0:n])"
    existing = parse_pragma("  " + text + "  ", 7)
    assert (existing.text, existing.line, existing.directive) == (text, 7, "parallel for")
    assert existing.clauses["collapse"] == ("2",) and existing.clauses["private"] == ("t",)
    assert private_names(existing) == {"t", "z"}
    assert reduction_names(existing) == {"s": "+", "h": "+"}


def test_rendered_directives_compile(tmp_path):
    # the canonical text of a directive read with commas, blanks and a continuation is still valid OpenMP
    written = "#pragma omp parallel for , schedule( static , 2 ),\\\n reduction( + : s ) // sum"
    rendered = Directive.parse(written).render()
    assert rendered == "#pragma omp parallel for schedule(static , 2) reduction(+ : s)"
    src = tmp_path / "r.c"
    src.write_text(f"int main(void) {{\n  int s = 0;\n  {rendered}\n  for (int i = 0; i < 8; i++) s += i;\n"
                   "  return s - 28;\n}\n")
    subprocess.run(["clang-19", "-fopenmp", "-Werror", str(src), "-o", str(tmp_path / "r")], check=True, timeout=120)
    assert subprocess.run([str(tmp_path / "r")], timeout=60).returncode == 0
