"""The tree-sitter layer: loops, macros, broken code, pragmas, languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from ompilot.analysis.syntax import (
    SyntaxLoop,
    find_loops,
    find_omp_pragmas,
    is_parse_clean,
    language_for,
)


def loops_of(code: str, language: str = "c") -> list[SyntaxLoop]:
    return find_loops(code.encode(), language)


def summary(loops: list[SyntaxLoop]) -> list[tuple]:
    return [(l.kind, l.line, l.depth, l.function, l.in_macro) for l in loops]


NESTED = """\
int f(int *a, int n) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      a[i] += j;
  do {
    n--;
  } while (n > 0);
  while (n < 10) n++;
  return n;
}
"""


def test_nested_loops_positions_and_depth():
    loops = loops_of(NESTED)
    assert summary(loops) == [
        ("for", 2, 0, "f", False),
        ("for", 3, 1, "f", False),
        ("do", 5, 0, "f", False),
        ("while", 8, 0, "f", False),
    ]
    outer = loops[0]
    assert outer.column == 3
    assert outer.end_line == 4
    assert outer.header == "for (int i = 0; i < n; i++)"
    source = NESTED.encode()
    assert source[outer.start_byte : outer.end_byte].startswith(b"for (int i")
    assert source[outer.start_byte : outer.end_byte].endswith(b"a[i] += j;")
    do_loop = loops[2]
    assert do_loop.header == "do"
    assert source[do_loop.start_byte : do_loop.end_byte].endswith(b"while (n > 0);")
    assert do_loop.end_line == 7
    assert loops[3].header == "while (n < 10)"


def test_loops_sorted_by_start_byte():
    loops = loops_of(NESTED)
    assert [l.start_byte for l in loops] == sorted(l.start_byte for l in loops)


def test_multiline_header_is_collapsed():
    loops = loops_of("void g(int n) {\n  for (int i = 0;\n       i < n;\n       i++) {}\n}\n")
    assert loops[0].header == "for (int i = 0; i < n; i++)"
    assert (loops[0].line, loops[0].end_line) == (2, 4)


def test_cpp_range_for_lambda_and_methods():
    code = """\
#include <vector>
struct K { void m(std::vector<int>& v); };
void K::m(std::vector<int>& v) {
  for (auto &x : v) {
    auto body = [&](int n) { for (int i = 0; i < n; ++i) x += i; };
    body(3);
  }
}
template <typename T> T sum(const T* a, int n) {
  T s{};
  for (int i = 0; i < n; ++i) s += a[i];
  return s;
}
"""
    loops = loops_of(code, "cpp")
    assert summary(loops) == [
        ("range-for", 4, 0, "K::m", False),
        ("for", 5, 0, "K::m", False),  # a lambda body starts a new loop nest
        ("for", 11, 0, "sum", False),
    ]
    assert loops[0].header == "for (auto &x : v)"
    assert is_parse_clean(code.encode(), "cpp")


def test_function_names_through_declarators():
    code = """\
static int *ptr(int x) { while (x) x--; return 0; }
int (*getf(void))(int) { for (;;) ; }
"""
    assert [l.function for l in loops_of(code)] == ["ptr", "getf"]


def test_loop_outside_any_function():
    code = "struct S { int a[3]; };\nauto f = [] { for (;;) {} };\n"
    loops = loops_of(code, "cpp")
    assert [(l.kind, l.function, l.depth) for l in loops] == [("for", None, 0)]


MACROS = """\
#define ZERO(a, n) \\
  for (int i = 0; i < (n); i++) { \\
    while (a[i]) a[i]--; \\
  }
#define FOR(i, n) for (i = 0; i < (n); ++i)
#define PASTE(a, b) for (a##b = 0; a##b < 3; a##b++) f(#a)
#define SAFE(x) do { x; } while (0)
#define SPIN(x) do { x--; } while (x > 0)
#define NOT_A_LOOP(x) ((x) + 1)
int main(void) { int a[4] = {0}; ZERO(a, 4); return 0; }
"""


def test_macro_loops_are_reported_in_macro():
    loops = loops_of(MACROS)
    macro = [l for l in loops if l.in_macro]
    assert [(l.kind, l.line, l.depth, l.function) for l in macro] == [
        ("for", 2, 0, None),
        ("while", 3, 1, None),
        ("for", 5, 0, None),
        ("for", 6, 0, None),
        ("do", 8, 0, None),  # do { } while (0) in a macro is an idiom, not a loop
    ]
    assert macro[0].header == "for (int i = 0; i < (n); i++)"
    assert macro[0].column == 3
    assert macro[2].header == "for (i = 0; i < (n); ++i)"
    assert macro[3].header == "for (a##b = 0; a##b < 3; a##b++)"
    source = MACROS.encode()
    for loop in macro:
        assert source[loop.start_byte : loop.start_byte + 2] in (b"fo", b"wh", b"do")
        assert loop.end_byte <= len(source)
    assert not [l for l in loops if not l.in_macro]


def test_macro_defined_inside_function_is_its_own_scope():
    code = "void f(void) {\n  for (;;) {\n#define INNER for (;;) {}\n  }\n}\n"
    loops = loops_of(code)
    assert [(l.in_macro, l.depth, l.function) for l in loops] == [(False, 0, "f"), (True, 0, None)]


BROKEN = """\
int f(int *a, int n) {
  for (int i = 0; i < n; i++ {
    a[i] = 0;
  }
  while (n > 0) n--;
  do { n++; } while (n < 3);
  x = = ;
}
void g(int *b, int m) {
  for (int k = 0; k < m; k++) b[k] = @@;
}
"""


def test_broken_code_still_reports_loops():
    source = BROKEN.encode()
    assert not is_parse_clean(source, "c")
    loops = find_loops(source, "c")
    assert [(l.kind, l.line) for l in loops] == [("for", 2), ("while", 5), ("do", 6), ("for", 10)]
    first = loops[0]
    assert first.header.startswith("for (int i = 0; i < n; i++")
    assert source[first.start_byte : first.end_byte].rstrip().endswith(b"}")
    assert first.end_line == 4
    assert loops[-1].function == "g"


def test_truncated_file_reports_what_it_sees():
    code = "void g(int *a, int n) {\n  for (int i = 0; i < n; i++) {\n    a[i] = 1;\n  }\n  for (int j = 0; j < n; j++)\n"
    loops = loops_of(code)
    assert [(l.kind, l.line) for l in loops] == [("for", 2), ("for", 5)]


def test_keyword_in_comment_or_string_is_not_a_loop():
    code = 'void f(void) {\n  /* for (;;) */\n  const char *s = "while (1)"; // do it\n}\n'
    assert loops_of(code) == []


def test_empty_and_loopless_sources():
    assert find_loops(b"", "c") == []
    assert find_loops(b"int x;\n", "cpp") == []
    assert is_parse_clean(b"", "c")


def test_unknown_language_is_rejected():
    with pytest.raises(ValueError):
        find_loops(b"int x;", "fortran")


def test_large_file_is_parsed_completely():
    body = (
        "void f{k}(int *a, int n) {{\n"
        "  for (int i = 0; i < n; i++) {{\n"
        "    for (int j = 0; j < n; j++)\n"
        "      a[i] += j;\n"
        "  }}\n"
        "  while (n--) a[n] = 0;\n"
        "}}\n"
    )
    functions = 50_000 // 7 + 1
    source = "".join(body.format(k=k) for k in range(functions)).encode()
    assert source.count(b"\n") >= 50_000
    loops = find_loops(source, "c")
    assert len(loops) == 3 * functions
    assert sum(1 for l in loops if l.depth == 1) == functions
    assert loops[-1].function == f"f{functions - 1}"


def test_omp_pragmas_with_continuations_and_comments():
    code = b"""\
#pragma omp parallel for \\
     private(x) \\
   reduction(+:s)
for (;;) {}
  # pragma omp simd
/* #pragma omp task
*/
// #pragma omp taskwait
const char *s = "/*";
#pragma omp barrier
#pragma ompx not_openmp
#pragma GCC ivdep
"""
    assert find_omp_pragmas(code) == [
        (1, "#pragma omp parallel for private(x) reduction(+:s)"),
        (5, "# pragma omp simd"),
        (10, "#pragma omp barrier"),
    ]


def test_omp_pragmas_none():
    assert find_omp_pragmas(b"int main(void) { return 0; }\n") == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.c", "c"),
        ("a.cc", "cpp"),
        ("a.cpp", "cpp"),
        ("a.cxx", "cpp"),
        ("a.c++", "cpp"),
        ("a.C", "cpp"),
        ("a.hpp", "cpp"),
        ("a.hh", "cpp"),
        ("a.hxx", "cpp"),
        ("a.h++", "cpp"),
        ("A.CPP", "cpp"),
    ],
)
def test_language_by_extension(name, expected):
    assert language_for(name) == expected


def test_header_language_is_sniffed(tmp_path: Path):
    c_header = tmp_path / "plain.h"
    c_header.write_text("#ifdef __cplusplus\nextern \"C\" {\n#endif\nstruct s { int x; };\nint f(void);\n")
    cpp_header = tmp_path / "klass.h"
    cpp_header.write_text("#pragma once\n#include <vector>\nnamespace ns {\nclass A { public: int x; };\n}\n")
    assert language_for(c_header) == "c"
    assert language_for(cpp_header) == "cpp"
    assert language_for("missing.h") == "c"
    assert language_for("t.h", text="template <typename T> T id(T x) { return x; }\n") == "cpp"
    assert language_for("t.h", text=b"std::size_t n;\n") == "cpp"


BROKEN_CPP = """\
namespace ns EXPORT_MACRO(x) {
class A : public B {
 public:
  A(int n) : size_(n), data_{0} { for (int i = 0; i < n; ++i) data_[i] = i; }
  ~A() { while (size_--) {} }
  int size_;
};
int A::count() const noexcept(true) { for (int i = 0; i < 3; ++i) @@ ; }
extern "C" {
  void c_api(int *p) __attribute__((nonnull)) { do { p++; } while (*p); }
}
#define BROKEN_LOOP(n) for (int k = 0; k < (n); k++) $$
}
"""


def test_broken_cpp_keeps_function_names():
    source = BROKEN_CPP.encode()
    assert not is_parse_clean(source, "cpp")
    assert summary(find_loops(source, "cpp")) == [
        ("for", 4, 0, "A", False),
        ("while", 5, 0, "~A", False),
        ("for", 8, 0, "A::count", False),
        ("do", 10, 0, "c_api", False),
        ("for", 12, 0, None, True),
    ]


def test_large_broken_file_loses_no_loop():
    good = "void f{k}(int *a, int n) {{\n  for (int i = 0; i < n; i++) {{\n    a[i] = i;\n  }}\n  while (n--) a[n] = 0;\n}}\n"
    bad = "void b{k}(int *a, int n) {{\n  for (int i = 0; i < n; i++ {{\n    a[i] = @@;\n  }}\n  while (n--) a[n] = 0;\n}}\n"
    count = 50_000 // 6 + 1
    source = "".join((bad if k % 50 == 1 else good).format(k=k) for k in range(count)).encode()
    for language in ("c", "cpp"):
        loops = find_loops(source, language)
        assert len(loops) == 2 * count
        assert [l.function for l in loops[-2:]] == [f"f{count - 1}"] * 2
        assert loops[2].function == "b1" and loops[2].kind == "for" and loops[2].end_line == 10
