"""Checks for the ground-truth corpus in corpus/.

For every program: the truth file exists and is well formed, it has exactly one
entry per loop keyword (found with a small tokenizer that skips comments,
strings and preprocessor lines), the program compiles cleanly with clang and
gcc, and it prints the same thing on two runs.

For every loop the truth calls parallel, the pragma it describes (with exactly
the listed clauses, and once more with collapse(collapse_max) when that is > 1)
is inserted on the line above the loop, one loop at a time (in programs that
ship pragmas, after removing those); the result is built with clang -fopenmp,
run with 4 threads and compared with the serial output (exactly for integers
and text, within the program's tolerance for floats).  Loops that expect a
pragma are run twice with 4 threads; inner and tiny loops (whose parallel
region may be entered very often) once with 2 threads.  Set
OMPILOT_CORPUS_QUICK=1 to skip the latter.
"""

from __future__ import annotations

import atexit
import functools
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

CLANG = shutil.which("clang-19") or "clang-19"
CLANGXX = shutil.which("clang++-19") or "clang++-19"
GCC = shutil.which("gcc") or "gcc"
GXX = shutil.which("g++") or "g++"

REASON_CODES = {
    "CarriedDependence",
    "ScalarDependence",
    "InductionVariable",
    "SideEffectCall",
    "EarlyExit",
    "NonCanonicalLoop",
    "PossibleAlias",
    "ConditionalLastValue",
}
REDUCTION_OPS = {"+", "*", "&", "|", "^", "&&", "||", "min", "max"}
LOOP_KEYWORDS = {"for", "while", "do"}
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------

def tokenize(src: str) -> list[tuple[str, int, bool]]:
    """Return (token, line, first_on_line) for identifiers and punctuation.

    Comments, string/char literals, numbers and preprocessor lines are
    skipped.  Lines are 1-based.
    """
    toks: list[tuple[str, int, bool]] = []
    i, n, line = 0, len(src), 1
    line_has_token = False
    at_line_start = True  # only whitespace seen so far on this line

    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            line_has_token = False
            at_line_start = True
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if c == "\\" and i + 1 < n and src[i + 1] == "\n":  # line splice
            i += 2
            line += 1
            continue
        if c == "#" and at_line_start:  # preprocessor directive
            while i < n and src[i] != "\n":
                if src[i] == "\\" and i + 1 < n and src[i + 1] == "\n":
                    line += 1
                    i += 1
                elif src.startswith("/*", i):
                    end = src.find("*/", i + 2)
                    end = n if end < 0 else end + 2
                    line += src.count("\n", i, end)
                    i = end
                    continue
                elif src.startswith("//", i):
                    while i < n and src[i] != "\n":
                        i += 1
                    continue
                i += 1
            continue
        if src.startswith("//", i):
            while i < n and src[i] != "\n":
                i += 1
            continue
        if src.startswith("/*", i):
            end = src.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += src.count("\n", i, end)
            i = end
            continue
        at_line_start = False
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                if src[j] == "\\":
                    j += 1
                j += 1
            toks.append((c + c, line, not line_has_token))
            line_has_token = True
            i = j + 1
            continue
        if c.isdigit() or (c == "." and i + 1 < n and src[i + 1].isdigit()):
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] in "._'" or
                             (src[j] in "+-" and src[j - 1] in "eEpP")):
                j += 1
            toks.append(("0", line, not line_has_token))
            line_has_token = True
            i = j
            continue
        m = IDENT.match(src, i)
        if m:
            toks.append((m.group(0), line, not line_has_token))
            line_has_token = True
            i = m.end()
            continue
        toks.append((c, line, not line_has_token))
        line_has_token = True
        i += 1
    return toks


def find_loops(src: str) -> list[tuple[int, str, bool]]:
    """Return (line, keyword, first_on_line) for every loop keyword.

    A ``while`` whose parenthesised condition is followed by ``;`` is taken to
    be the tail of a do-while loop (the corpus writes no empty-bodied while
    loops) and is not reported; the loop is reported at its ``do``.
    """
    toks = tokenize(src)
    loops = []
    for k, (tok, line, first) in enumerate(toks):
        if tok not in LOOP_KEYWORDS:
            continue
        if tok == "while":
            j = k + 1
            if j < len(toks) and toks[j][0] == "(":
                depth = 0
                while j < len(toks):
                    if toks[j][0] == "(":
                        depth += 1
                    elif toks[j][0] == ")":
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
                if j + 1 < len(toks) and toks[j + 1][0] == ";":
                    continue
        loops.append((line, tok, first))
    return loops


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def programs() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir()
                  if p.suffix in (".c", ".cpp") and p.is_file())


def truth_path(prog: Path) -> Path:
    return prog.with_name(prog.stem + ".truth.json")


def load_truth(prog: Path) -> dict:
    return json.loads(truth_path(prog).read_text())


def compilers(prog: Path) -> dict[str, str]:
    if prog.suffix == ".cpp":
        return {"clang": CLANGXX, "gcc": GXX}
    return {"clang": CLANG, "gcc": GCC}


def std_flag(prog: Path) -> str:
    return "-std=c++17" if prog.suffix == ".cpp" else "-std=c11"


def build(prog_src: Path, out: Path, compiler: str, flags: list[str]) -> subprocess.CompletedProcess:
    cmd = [compiler, std_flag(prog_src), *flags, str(prog_src), "-o", str(out), "-lm"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stderr}"
    return res


def run(exe: Path, threads: int | None = None, timeout: float = 60) -> tuple[str, float]:
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
        env["KMP_BLOCKTIME"] = "0"  # do not spin: the machine may have fewer cores
    t0 = time.perf_counter()
    res = subprocess.run([str(exe)], capture_output=True, text=True, env=env,
                         timeout=timeout)
    dt = time.perf_counter() - t0
    assert res.returncode == 0, f"{exe} exited with {res.returncode}:\n{res.stderr}"
    return res.stdout, dt


NUM = re.compile(r"[-+]?(?:nan|inf|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)",
                 re.IGNORECASE)


def outputs_match(ref: str, got: str, rel: float, abs_: float) -> str | None:
    """None when ``got`` equals ``ref`` up to the tolerance, else a message."""
    ref_lines, got_lines = ref.splitlines(), got.splitlines()
    if len(ref_lines) != len(got_lines):
        return f"{len(got_lines)} lines instead of {len(ref_lines)}"
    for ln, (a, b) in enumerate(zip(ref_lines, got_lines), 1):
        if a == b:
            continue
        if NUM.sub("#", a) != NUM.sub("#", b):
            return f"line {ln} text differs: {a!r} vs {b!r}"
        for x, y in zip(NUM.findall(a), NUM.findall(b)):
            if x == y:
                continue
            is_float = any(ch in x + y for ch in ".eEnNiI")
            if not is_float:
                return f"line {ln}: integer {x} vs {y}: {a!r} vs {b!r}"
            fx, fy = float(x), float(y)
            if math.isnan(fx) and math.isnan(fy):
                continue
            if not abs(fx - fy) <= abs_ + rel * max(abs(fx), abs(fy)):
                return f"line {ln}: {x} vs {y} beyond rel={rel} abs={abs_}: {a!r} vs {b!r}"
    return None


def pragma_text(loop: dict, collapse: int = 1) -> str:
    rc = loop["required_clauses"]
    parts = ["#pragma omp parallel for"]
    if collapse > 1:
        parts.append(f"collapse({collapse})")
    if rc.get("private"):
        parts.append(f"private({', '.join(rc['private'])})")
    if rc.get("lastprivate"):
        parts.append(f"lastprivate({', '.join(rc['lastprivate'])})")
    for red in rc.get("reduction", []):
        op, var = red.split(":", 1)
        parts.append(f"reduction({op}: {var})")
    return " ".join(parts)


_SCRATCH = Path(tempfile.mkdtemp(prefix="ompilot-corpus-"))
atexit.register(shutil.rmtree, _SCRATCH, True)


PRAGMA_LINE = re.compile(r"^\s*#\s*pragma\s+omp\b")


def source_lines_without_pragmas(prog: Path) -> list[str]:
    """The program's lines with every existing OpenMP pragma blanked out
    (line numbers are kept)."""
    return ["\n" if PRAGMA_LINE.match(s) else s
            for s in prog.read_text().splitlines(keepends=True)]


@functools.lru_cache(maxsize=None)
def serial_output(name: str) -> str:
    """Output of the program built like the pragma variants but without any
    OpenMP pragma."""
    prog = CORPUS / name
    src = _SCRATCH / prog.name
    src.write_text("".join(source_lines_without_pragmas(prog)))
    exe = _SCRATCH / (prog.stem + ".serial")
    build(src, exe, compilers(prog)["clang"], ["-O1", "-fopenmp", "-w"])
    return run(exe, threads=4)[0]


# --------------------------------------------------------------------------
# parametrisation
# --------------------------------------------------------------------------

PROGS = programs()
PROG_IDS = [p.name for p in PROGS]


def _truths():
    """(program, truth) for every corpus program whose truth file loads."""
    for prog in PROGS:
        try:
            yield prog, load_truth(prog)
        except Exception:
            continue


def _parallel_cases():
    cases = []
    for prog, truth in _truths():
        for loop in truth.get("loops", []):
            if not loop.get("parallel"):
                continue
            cases.append(pytest.param(prog.name, loop["line"], 1,
                                      id=f"{prog.name}:{loop['line']}"))
            if loop.get("collapse_max", 1) > 1:
                c = loop["collapse_max"]
                cases.append(pytest.param(prog.name, loop["line"], c,
                                          id=f"{prog.name}:{loop['line']}:collapse{c}"))
    return cases


def _existing_pragma_cases():
    cases = []
    for prog, truth in _truths():
        if not truth.get("has_openmp_pragmas"):
            continue
        if any(lp.get("race") for lp in truth["loops"]):
            continue  # racy on purpose: test_suggest and the truth tests cover these
        cases.append(pytest.param(prog.name, id=prog.name))
    return cases


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------

def test_tokenizer_basics():
    src = (
        '#pragma omp parallel for\n'
        'for (i = 0; i < n; i++) /* for */ x = "while";\n'
        '// do\n'
        'do {\n'
        '  while (k < 3)\n'
        '    k++;\n'
        '} while (x);\n'
        "c = 'w'; fortune = 1; dowhile = 2;\n"
    )
    assert find_loops(src) == [(2, "for", True), (4, "do", True), (5, "while", True)]


def test_corpus_size():
    assert len(PROGS) >= 44
    names = [p.stem for p in PROGS]
    assert len(names) == len(set(names)), "two programs share a stem"
    for p in PROGS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", p.stem), p.name


@pytest.mark.parametrize("name", PROG_IDS)
def test_truth_schema(name):
    prog = CORPUS / name
    assert truth_path(prog).exists(), f"missing {truth_path(prog).name}"
    t = load_truth(prog)
    assert t["program"] == name
    assert isinstance(t["description"], str) and t["description"].strip()
    assert isinstance(t["categories"], list) and t["categories"]
    assert all(isinstance(c, str) and c for c in t["categories"])
    tol = t["tolerance"]
    assert set(tol) == {"rel", "abs"}
    assert tol["rel"] >= 0 and tol["abs"] >= 0 and tol["rel"] <= 1e-6
    assert isinstance(t["has_openmp_pragmas"], bool)
    assert t["loops"], "no loops"
    allowed = {"line", "function", "parallel", "pragma_expected", "required_clauses",
               "collapse_max", "category", "reason_code", "reason",
               "needs_alias_proof", "needs_runtime_proof", "existing_pragma", "race"}
    src = prog.read_text()
    for loop in t["loops"]:
        where = f"{name}:{loop.get('line')}"
        assert set(loop) <= allowed, f"{where}: unknown keys {set(loop) - allowed}"
        assert isinstance(loop["line"], int) and loop["line"] >= 1, where
        assert isinstance(loop["function"], str) and loop["function"], where
        assert isinstance(loop["parallel"], bool), where
        assert isinstance(loop["pragma_expected"], bool), where
        assert isinstance(loop["category"], str) and loop["category"], where
        assert isinstance(loop["reason"], str) and len(loop["reason"]) > 10, where
        c = loop["collapse_max"]
        assert isinstance(c, int) and c >= 1, where
        rc = loop["required_clauses"]
        if loop["parallel"]:
            assert loop["reason_code"] is None, where
            assert set(rc) == {"private", "lastprivate", "reduction"}, where
            for key in ("private", "lastprivate"):
                assert all(IDENT.fullmatch(v) for v in rc[key]), where
            for red in rc["reduction"]:
                op, _, var = red.partition(":")
                assert op in REDUCTION_OPS and IDENT.fullmatch(var), f"{where}: {red}"
            names_ = rc["private"] + rc["lastprivate"] + [r.split(":")[1] for r in rc["reduction"]]
            assert len(names_) == len(set(names_)), f"{where}: variable in two clauses"
            for v in names_:
                assert re.search(rf"\b{re.escape(v)}\b", src), f"{where}: {v} not in source"
        else:
            assert loop["reason_code"] in REASON_CODES, where
            assert rc == {}, where
            assert c == 1, where
            assert not loop["pragma_expected"], where
            assert "needs_alias_proof" not in loop and "needs_runtime_proof" not in loop, where
        for flag in ("needs_alias_proof", "needs_runtime_proof"):
            if flag in loop:
                assert loop[flag] is True, where
        if t["has_openmp_pragmas"]:
            assert "existing_pragma" in loop and "race" in loop, where
            assert loop["pragma_expected"] is False, where
            ep = loop["existing_pragma"]
            assert ep is None or ep.startswith("#pragma omp "), where
            assert isinstance(loop["race"], bool), where
            if ep is None:
                assert loop["race"] is False, where
        else:
            assert "existing_pragma" not in loop and "race" not in loop, where


@pytest.mark.parametrize("name", PROG_IDS)
def test_truth_lines_match_loops(name):
    prog = CORPUS / name
    t = load_truth(prog)
    loops = find_loops(prog.read_text())
    found = [ln for ln, _, _ in loops]
    assert len(found) == len(set(found)), f"two loop keywords on one line: {found}"
    for ln, kw, first in loops:
        assert first, f"line {ln}: loop keyword {kw!r} is not the first token of its line"
    listed = [lp["line"] for lp in t["loops"]]
    assert len(listed) == len(set(listed)), "duplicate truth entries"
    assert sorted(listed) == found, f"truth lines {sorted(listed)} vs loops {found}"
    assert 1 <= len(found) <= 6, f"{len(found)} loops (want 1-6)"


@pytest.mark.parametrize("name", PROG_IDS)
def test_truth_function_names(name):
    """The enclosing function of every loop, checked with libclang."""
    from clang import cindex
    prog = CORPUS / name
    t = load_truth(prog)
    args = ["-std=c++17", "-xc++"] if prog.suffix == ".cpp" else ["-std=c11"]
    try:  # libclang's wheel ships no builtin headers (stddef.h): borrow clang's
        rdir = subprocess.run([CLANG, "-print-resource-dir"], capture_output=True,
                              text=True, timeout=30).stdout.strip()
        if rdir:
            args += ["-resource-dir", rdir]
    except OSError:
        pass
    tu = cindex.Index.create().parse(str(prog), args=args)
    K = cindex.CursorKind
    loop_kinds = {K.FOR_STMT, K.WHILE_STMT, K.DO_STMT, K.CXX_FOR_RANGE_STMT}
    func_kinds = {K.FUNCTION_DECL, K.CXX_METHOD, K.FUNCTION_TEMPLATE,
                  K.CONSTRUCTOR, K.DESTRUCTOR}
    found: dict[int, set[str]] = {}

    def walk(cur, func):
        for ch in cur.get_children():
            loc = ch.location
            if loc.file is not None and Path(loc.file.name).resolve() != prog.resolve():
                continue
            f = func
            if ch.kind in func_kinds:
                f = ch.spelling
                parent = ch.semantic_parent
                if parent is not None and parent.kind in (K.CLASS_DECL, K.STRUCT_DECL,
                                                          K.CLASS_TEMPLATE):
                    f = f"{parent.spelling}::{ch.spelling}"
            if ch.kind in loop_kinds:
                found.setdefault(ch.location.line, set()).add(f)
            walk(ch, f)

    errors = [str(d) for d in tu.diagnostics if d.severity >= cindex.Diagnostic.Error]
    assert not errors, f"libclang cannot parse the file: {errors[0]}"
    walk(tu.cursor, None)
    assert found, "libclang found no loops (builtin headers missing?)"
    for loop in t["loops"]:
        fn = found.get(loop["line"])
        assert fn, f"libclang sees no loop at line {loop['line']}"
        assert loop["function"] in fn, f"line {loop['line']}: {loop['function']} vs {fn}"


@pytest.mark.parametrize("name", PROG_IDS)
def test_existing_pragmas_declared(name):
    prog = CORPUS / name
    t = load_truth(prog)
    lines = prog.read_text().splitlines()
    pragma_lines = [i + 1 for i, s in enumerate(lines) if re.match(r"\s*#\s*pragma\s+omp\b", s)]
    if not t["has_openmp_pragmas"]:
        assert not pragma_lines, f"OpenMP pragmas at lines {pragma_lines}"
        return
    seen = []
    for loop in t["loops"]:
        if loop["existing_pragma"] is None:
            continue
        above = lines[loop["line"] - 2].strip()
        assert above == loop["existing_pragma"], f"line {loop['line']}: {above!r}"
        seen.append(loop["line"] - 1)
    assert sorted(seen) == pragma_lines, "a pragma in the source is not in the truth"


@pytest.mark.parametrize("name", PROG_IDS)
def test_compiles_and_runs_deterministically(name, tmp_path):
    """Clean -Wall -Wextra build with clang and gcc; two identical runs; both
    compilers agree (within the tolerance)."""
    prog = CORPUS / name
    t = load_truth(prog)
    outs = {}
    for cc, compiler in compilers(prog).items():
        exe = tmp_path / cc
        res = build(prog, exe, compiler, ["-O2", "-Wall", "-Wextra", "-fopenmp"])
        assert not res.stderr.strip(), f"{cc} warnings:\n{res.stderr}"
        if t["has_openmp_pragmas"]:  # deterministic only without OpenMP
            exe = tmp_path / f"{cc}_serial"
            build(prog, exe, compiler, ["-O2", "-Wall", "-Wno-unknown-pragmas"])
        out1, dt1 = run(exe, threads=1)
        out2, dt2 = run(exe, threads=1)
        assert out1 == out2, f"{cc}: output differs between two runs"
        assert out1.strip(), "no output"
        assert 1 <= len(out1.splitlines()) <= 40, "print a few lines, not pages"
        assert min(dt1, dt2) < 2.0, f"{cc}: too slow: {min(dt1, dt2):.2f}s"  # ~0.5 s alone; room for a loaded CI runner
        # the optional scale argument is accepted, and 1 is the default
        res2 = subprocess.run([str(exe), "1"], capture_output=True, text=True, timeout=60)
        assert res2.returncode == 0 and res2.stdout == out1, f"{cc}: `prog 1` differs"
        outs[cc] = out1
    tol = t["tolerance"]
    msg = outputs_match(outs["clang"], outs["gcc"], tol["rel"], tol["abs"])
    assert msg is None, f"clang and gcc disagree: {msg}"


@pytest.mark.parametrize("name,line,collapse", _parallel_cases())
def test_parallel_loop_with_pragma(name, line, collapse, tmp_path):
    """Insert the truth's pragma above one loop; the output must not change.

    Programs that already contain pragmas are checked with all of them
    removed and the truth's pragma (with the clauses it says are needed) put
    on the loop under test."""
    prog = CORPUS / name
    t = load_truth(prog)
    loop = next(lp for lp in t["loops"] if lp["line"] == line)
    lines = source_lines_without_pragmas(prog)
    pragma = pragma_text(loop, collapse)
    lines.insert(line - 1, pragma + "\n")
    src = tmp_path / prog.name
    src.write_text("".join(lines))
    exe = tmp_path / "par"
    build(src, exe, compilers(prog)["clang"], ["-O1", "-fopenmp", "-Wall", "-Werror"])
    ref = serial_output(name)
    tol = t["tolerance"]
    if loop["pragma_expected"] or loop.get("existing_pragma"):
        runs, threads, limit = 2, 4, 120
    else:
        # inner or tiny loops: the region may be entered hundreds of thousands
        # of times, so check them once, with fewer threads and a time budget
        if os.environ.get("OMPILOT_CORPUS_QUICK"):
            pytest.skip("OMPILOT_CORPUS_QUICK: only loops that expect a pragma")
        runs, threads, limit = 1, 2, 30
    for _ in range(runs):
        try:
            got, _ = run(exe, threads=threads, timeout=limit)
        except subprocess.TimeoutExpired:
            pytest.fail(f"more than {limit}s with a pragma on an inner loop")
        msg = outputs_match(ref, got, tol["rel"], tol["abs"])
        assert msg is None, f"{pragma} at line {line}: {msg}"


@pytest.mark.parametrize("name", _existing_pragma_cases())
def test_existing_correct_pragmas(name, tmp_path):
    """Programs shipping pragmas: without the racy ones the result is unchanged."""
    prog = CORPUS / name
    t = load_truth(prog)
    ser = tmp_path / "ser"
    build(prog, ser, compilers(prog)["clang"], ["-O1", "-Wno-unknown-pragmas"])
    par = tmp_path / "par"
    build(prog, par, compilers(prog)["clang"], ["-O1", "-fopenmp"])
    ref = run(ser)[0]
    tol = t["tolerance"]
    for _ in range(2):
        msg = outputs_match(ref, run(par, threads=4)[0], tol["rel"], tol["abs"])
        assert msg is None, msg
