"""Checks for the multi-file projects in corpus/projects/ (see corpus/README.md).

1. The truth is well formed: one entry per loop keyword in every source file,
   enclosing functions as libclang sees them, valid reason codes and clauses,
   a compile_commands.json listing every .c with "directory": ".".
2. Every project builds without warnings with clang and gcc from its sources
   and defines, and prints the same thing on two runs (and for `prog 1`).
3. The truth's pragmas are right.  Loops that cannot contain one another (the
   same nesting depth) get their pragmas together in one build; each depth is
   one build, the collapse variants another.  The outermost depth runs with 4
   threads, deeper ones (regions entered very often) with 2.  When a build's
   output differs, each of its loops is checked alone to name the culprit.
   runtime_check loops get the pragma without a guard, and the overlapping
   call must show it: the output differs, or Archer reports the race.
4. `scan_paths` on each project against the truth: precision 100% (clauses
   included), recall >= 0.95, pragma placement printed.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import tomllib
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from test_corpus_truth import _clause_problems as corpus_clause_problems

from test_corpus_programs import (
    CLANG,
    GCC,
    IDENT,
    REASON_CODES,
    REDUCTION_OPS,
    find_loops,
    outputs_match,
    pragma_text,
)

ROOT = Path(__file__).resolve().parent.parent
PROJECTS_DIR = ROOT / "corpus" / "projects"
PROJECTS = sorted(p for p in PROJECTS_DIR.iterdir() if (p / "truth.json").is_file())
NAMES = [p.name for p in PROJECTS]
ARCHER = "/usr/lib/llvm-19/lib/libarcher.so"
WARN_FLAGS = ["-O2", "-Wall", "-Wextra", "-std=c99"]
OMP_PRAGMA = re.compile(r"^\s*#\s*pragma\s+omp\b", re.MULTILINE)
LOOP_KEYS = {"file", "line", "function", "parallel", "pragma_expected", "required_clauses",
             "collapse_max", "category", "reason_code", "reason", "needs_alias_proof",
             "needs_runtime_proof", "runtime_check"}
TRUTH_KEYS = {"project", "description", "sources", "defines", "check_defines", "link", "tolerance",
              "has_openmp_pragmas", "loops"}

_SCRATCH = Path(tempfile.mkdtemp(prefix="ompilot-projects-"))


def teardown_module(module):
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@functools.lru_cache(maxsize=None)
def load(name: str) -> dict:
    return json.loads((PROJECTS_DIR / name / "truth.json").read_text())


def cflags(truth: dict) -> list[str]:
    return ["-I.", *[f"-D{d}" for d in truth["defines"]]]


def run(exe: Path, cwd: Path, threads: int | None = None, args: tuple[str, ...] = (),
        env_extra: dict | None = None, timeout: float = 60, check: bool = True):
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
        env["KMP_BLOCKTIME"] = "0"  # the machine may have fewer cores than threads
    env.update(env_extra or {})
    res = subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                         env=env, timeout=timeout)
    if check:
        assert res.returncode == 0, f"{exe} exited with {res.returncode}:\n{res.stderr[-2000:]}"
    return res


def compile_cmd(compiler: str, cwd: Path, args: list[str]) -> subprocess.CompletedProcess:
    res = subprocess.run([compiler, *args], cwd=cwd, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, f"{compiler} {' '.join(args)} in {cwd} failed:\n{res.stderr}"
    return res


# --------------------------------------------------------------------------
# loop structure with libclang: enclosing function and nesting depth
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def loop_structure(name: str, file: str) -> dict[int, tuple[str, int]]:
    """{line: (function, number of enclosing loops)} for one source file."""
    from clang import cindex
    d = PROJECTS_DIR / name
    rdir = subprocess.run([CLANG, "-print-resource-dir"], capture_output=True, text=True,
                          timeout=30).stdout.strip()
    args = ["-std=c99", f"-I{d}", *[f"-D{x}" for x in load(name)["defines"]], "-resource-dir", rdir]
    path = d / file
    tu = cindex.Index.create().parse(str(path), args=args)
    errors = [str(x) for x in tu.diagnostics if x.severity >= cindex.Diagnostic.Error]
    assert not errors, f"{name}/{file}: libclang cannot parse it: {errors[0]}"
    K = cindex.CursorKind
    loop_kinds = {K.FOR_STMT, K.WHILE_STMT, K.DO_STMT}
    found: dict[int, tuple[str, int]] = {}

    def walk(cur, func, depth):
        for ch in cur.get_children():
            if ch.location.file is not None and Path(ch.location.file.name).resolve() != path.resolve():
                continue
            f = ch.spelling if ch.kind == K.FUNCTION_DECL else func
            if ch.kind in loop_kinds:
                found[ch.location.line] = (f, depth)
                walk(ch, f, depth + 1)
            else:
                walk(ch, f, depth)

    walk(tu.cursor, None, 0)
    return found


# --------------------------------------------------------------------------
# 1. well-formed truth
# --------------------------------------------------------------------------

def test_project_corpus_shape():
    assert len(PROJECTS) >= 15, NAMES
    multi = [p for p in PROJECTS if len(load(p.name)["sources"]) > 1]
    assert len(multi) >= 10, f"only {len(multi)} multi-file projects"
    loops = [lp for n in NAMES for lp in load(n)["loops"]]
    assert sum(bool(lp.get("runtime_check")) for lp in loops) >= 2
    assert any(lp["parallel"] and lp["required_clauses"]["lastprivate"] for lp in loops)
    for p in PROJECTS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", p.name), p.name


def test_projects_ship_with_the_package():
    """pyproject's package data for ompilot.corpus covers every project file."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[tool.setuptools.package-data]", 1)[1].split("\n[", 1)[0]
    line = next(ln for ln in section.splitlines() if ln.startswith('"ompilot.corpus"'))
    patterns = re.findall(r'"([^"]+)"', line.split("=", 1)[1])
    corpus = ROOT / "corpus"
    for p in PROJECTS:
        for f in p.iterdir():
            rel = f.relative_to(corpus).as_posix()
            assert any(fnmatch.fnmatchcase(rel, pat) for pat in patterns), f"{rel} is not package data"


@pytest.mark.parametrize("name", NAMES)
def test_truth_well_formed(name):
    d = PROJECTS_DIR / name
    t = load(name)
    assert set(t) <= TRUTH_KEYS, f"unknown keys {set(t) - TRUTH_KEYS}"
    assert t["project"] == name
    assert isinstance(t["description"], str) and t["description"].strip()
    assert t["has_openmp_pragmas"] is False
    assert t["link"] == ["-lm"]
    assert set(t["tolerance"]) == {"rel", "abs"} and t["tolerance"]["rel"] <= 1e-6
    assert sorted(t["sources"]) == sorted(p.name for p in d.glob("*.c")), "sources vs *.c files"
    for x in t["defines"] + t.get("check_defines", []):
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*(=\S+)?", x), x
    macros = {x.split("=")[0] for x in t["defines"]}
    if "check_defines" in t:
        assert {x.split("=")[0] for x in t["check_defines"]} == macros, "check_defines: other macros"
    assert not OMP_PRAGMA.search("".join(p.read_text() for p in d.iterdir() if p.suffix in (".c", ".h")))

    by_file: dict[str, list[dict]] = {}
    for loop in t["loops"]:
        where = f"{name}/{loop.get('file')}:{loop.get('line')}"
        assert set(loop) <= LOOP_KEYS, f"{where}: unknown keys {set(loop) - LOOP_KEYS}"
        assert loop["file"] in t["sources"], where
        by_file.setdefault(loop["file"], []).append(loop)
        assert isinstance(loop["parallel"], bool) and isinstance(loop["pragma_expected"], bool), where
        assert isinstance(loop["reason"], str) and len(loop["reason"]) > 10, where
        assert isinstance(loop["category"], str) and loop["category"], where
        rc = loop["required_clauses"]
        if loop["parallel"]:
            assert loop["reason_code"] is None, where
            assert set(rc) == {"private", "lastprivate", "reduction"}, where
            assert all(IDENT.fullmatch(v) for v in rc["private"] + rc["lastprivate"]), where
            for red in rc["reduction"]:
                op, _, var = red.partition(":")
                assert op in REDUCTION_OPS and IDENT.fullmatch(var), f"{where}: {red}"
            names = rc["private"] + rc["lastprivate"] + [r.split(":")[1] for r in rc["reduction"]]
            assert len(names) == len(set(names)), f"{where}: a variable in two clauses"
            assert "runtime_check" not in loop, where
        else:
            assert loop["reason_code"] in REASON_CODES, where
            assert rc == {} and loop["collapse_max"] == 1, where
            assert "needs_alias_proof" not in loop and "needs_runtime_proof" not in loop, where
            if loop.get("runtime_check"):
                assert loop["reason_code"] == "PossibleAlias", where
            else:
                assert not loop["pragma_expected"], where
        for flag in ("needs_alias_proof", "needs_runtime_proof", "runtime_check"):
            assert loop.get(flag, True) is True, where

    for file in t["sources"]:
        src = (d / file).read_text()
        found = find_loops(src)
        for ln, kw, first in found:
            assert first, f"{file}:{ln}: {kw!r} is not the first token of its line"
        listed = sorted(lp["line"] for lp in by_file.get(file, []))
        assert listed == [ln for ln, _, _ in found], f"{file}: truth {listed} vs loops {found}"
        structure = loop_structure(name, file)
        for loop in by_file.get(file, []):
            assert loop["line"] in structure, f"{file}:{loop['line']}: libclang sees no loop"
            assert structure[loop["line"]][0] == loop["function"], (
                f"{file}:{loop['line']}: {loop['function']} vs {structure[loop['line']][0]}")
        for loop in by_file.get(file, []):
            rc = loop["required_clauses"]
            for v in rc.get("private", []) + rc.get("lastprivate", []):
                assert re.search(rf"\b{v}\b", src), f"{file}:{loop['line']}: {v} not in the file"


@pytest.mark.parametrize("name", NAMES)
def test_compile_commands_and_config(name):
    d = PROJECTS_DIR / name
    t = load(name)
    db = json.loads((d / "compile_commands.json").read_text())
    assert sorted(e["file"] for e in db) == sorted(t["sources"])
    for e in db:
        assert e["directory"] == ".", e
        args = e["arguments"]
        assert "-I." in args and "-std=c99" in args, e
        for x in t["defines"]:
            assert f"-D{x}" in args, f"{e['file']}: -D{x} missing"
        assert args[args.index("-c") + 1] == e["file"]
    config = tomllib.loads((d / ".ompilot.toml").read_text())
    assert re.fullmatch(r"\{exe\} \d+", config["run"]), config  # a representative scale for timing
    assert config["race_run"] == "{exe}", config  # the sanitizer on scale 1
    words = config["build"].split()
    for want in ["{cc}", "{cflags}", "{out}", "-I.", "-lm", *t["sources"], *[f"-D{x}" for x in t["defines"]]]:
        assert want in words, f".ompilot.toml build lacks {want}"


# --------------------------------------------------------------------------
# 2. builds cleanly, runs deterministically
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_builds_cleanly_and_runs_deterministically(name, tmp_path):
    d = PROJECTS_DIR / name
    t = load(name)
    outs = {}
    for tag, compiler in (("clang", CLANG), ("gcc", GCC)):
        exe = tmp_path / tag
        res = compile_cmd(compiler, d, [*WARN_FLAGS, *cflags(t), *t["sources"], "-o", str(exe), *t["link"]])
        assert not res.stderr.strip(), f"{tag} warnings:\n{res.stderr}"
        out1, out2 = run(exe, d).stdout, run(exe, d).stdout
        assert out1 == out2, f"{tag}: output differs between two runs"
        assert out1.strip() and len(out1.splitlines()) <= 40
        assert run(exe, d, args=("1",)).stdout == out1, f"{tag}: `prog 1` differs from the default"
        outs[tag] = out1
    tol = t["tolerance"]
    msg = outputs_match(outs["clang"], outs["gcc"], tol["rel"], tol["abs"])
    assert msg is None, f"clang and gcc disagree: {msg}"


# --------------------------------------------------------------------------
# 3. the truth's pragmas
# --------------------------------------------------------------------------

class OmpBuild:
    """Objects of one project built with clang -fopenmp -O1 once; variants
    recompile only the files they change."""

    def __init__(self, name: str, defines: tuple[str, ...]):
        self.name = name
        self.src = PROJECTS_DIR / name
        self.truth = load(name)
        self.defines = list(defines)
        self.dir = _SCRATCH / name / ("default" if self.defines == self.truth["defines"] else "small")
        shutil.copytree(self.src, self.dir / "base")
        self.count = 0
        for f in self.truth["sources"]:
            self._object(self.dir / "base", f)
        self.serial = self.link({}, "serial")
        self.reference = run(self.serial, self.src, threads=4).stdout

    def _object(self, where: Path, file: str, extra: tuple[str, ...] = ()) -> Path:
        obj = where / (file[:-2] + ".o")
        compile_cmd(CLANG, where, ["-std=c99", "-O1", "-fopenmp", "-Wall", "-Werror", *extra, "-I.",
                                   *[f"-D{x}" for x in self.defines], "-I" + str(self.src),
                                   "-c", file, "-o", str(obj)])
        return obj

    def link(self, pragmas: dict[tuple[str, int], str], tag: str, extra: tuple[str, ...] = ()) -> Path:
        """Executable with `pragmas` ({(file, line): text}) inserted above their loops."""
        self.count += 1
        where = self.dir / f"{self.count}-{tag}"
        where.mkdir()
        objs = []
        for f in self.truth["sources"]:
            mine = {ln: p for (file, ln), p in pragmas.items() if file == f}
            if not mine and not extra:
                objs.append(self.dir / "base" / (f[:-2] + ".o"))
                continue
            lines = (self.src / f).read_text().splitlines(keepends=True)
            for ln in sorted(mine, reverse=True):
                lines.insert(ln - 1, mine[ln] + "\n")
            (where / f).write_text("".join(lines))
            objs.append(self._object(where, f, extra))
        exe = where / "prog"
        compile_cmd(CLANG, where, ["-fopenmp", *extra, *map(str, objs), "-o", str(exe), *self.truth["link"]])
        return exe

    def differs(self, exe: Path, threads: int, runs: int = 1) -> str | None:
        tol = self.truth["tolerance"]
        for _ in range(runs):
            got = run(exe, self.src, threads=threads).stdout
            msg = outputs_match(self.reference, got, tol["rel"], tol["abs"])
            if msg:
                return msg
        return None


def omp_build(name: str, small: bool = False) -> OmpBuild:
    """The project built with its defines, or (small=True) with check_defines."""
    t = load(name)
    return _omp_build(name, tuple(t["check_defines"] if small and "check_defines" in t else t["defines"]))


@functools.lru_cache(maxsize=None)
def _omp_build(name: str, defines: tuple[str, ...]) -> OmpBuild:
    return OmpBuild(name, defines)


def _variants(name: str) -> list[tuple[str, int, list[tuple[dict, int]]]]:
    """(tag, threads, [(loop, collapse)]) builds covering every parallel loop.
    Tags other than depth0 and collapse are nested loops: checked at the
    project's check_defines size."""
    by_depth: dict[int, list] = {}
    collapsed = []
    for loop in load(name)["loops"]:
        if not loop["parallel"]:
            continue
        depth = loop_structure(name, loop["file"])[loop["line"]][1]
        by_depth.setdefault(depth, []).append((loop, 1))
        if loop["collapse_max"] > 1:
            collapsed.append((loop, loop["collapse_max"]))
    out = []
    for depth in sorted(by_depth):
        out.append((f"depth{depth}", 4 if depth == 0 else 2, by_depth[depth]))
    if collapsed:
        out.append(("collapse", 4, collapsed))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_parallel_pragmas_keep_the_output(name):
    problems = []
    for tag, threads, group in _variants(name):
        build = omp_build(name, small=tag not in ("depth0", "collapse"))
        pragmas = {(lp["file"], lp["line"]): pragma_text(lp, c) for lp, c in group}
        exe = build.link(pragmas, tag)
        msg = build.differs(exe, threads, runs=2 if threads == 4 else 1)
        if msg is None:
            continue
        for lp, c in group:  # find the loop(s) responsible
            one = build.link({(lp["file"], lp["line"]): pragma_text(lp, c)}, f"{tag}-{lp['line']}")
            why = build.differs(one, threads, runs=2)
            if why:
                problems.append(f"{lp['file']}:{lp['line']} {pragma_text(lp, c)} ({threads} threads): {why}")
        if not problems:
            problems.append(f"{tag}: pragmas together change the output ({msg}), none alone does")
    assert not problems, "\n".join(problems)


RUNTIME_CHECK_CASES = [pytest.param(n, lp["file"], lp["line"], id=f"{n}/{lp['file']}:{lp['line']}")
                       for n in NAMES for lp in load(n)["loops"] if lp.get("runtime_check")]


@pytest.mark.parametrize("name,file,line", RUNTIME_CHECK_CASES)
def test_runtime_check_loop_is_racy_without_the_guard(name, file, line):
    """The unguarded pragma is wrong for the overlapping call: the output
    changes, or (when the threads happened not to interleave) Archer sees
    the race.  Archer reports a distance-1 dependence only at many chunk
    boundaries (measured: none with plain static and 4 threads), hence
    schedule(static, 4096) there."""
    build = omp_build(name)
    loop = next(lp for lp in build.truth["loops"] if (lp["file"], lp["line"]) == (file, line))
    pragma = pragma_text(loop)
    exe = build.link({(file, line): pragma}, f"rt-{line}")
    for threads in (4, 8, 4):
        msg = build.differs(exe, threads)
        if msg:
            print(f"{name}/{file}:{line}: unguarded pragma changes the output with {threads} threads: {msg}")
            return
    interleaved = {(file, line): pragma + " schedule(static, 4096)"}
    tsan = build.link(interleaved, f"tsan-{line}", extra=("-fsanitize=thread", "-g"))
    res = run(tsan, build.src, threads=4, check=False, timeout=120, env_extra={
        "OMP_TOOL_LIBRARIES": ARCHER,
        "TSAN_OPTIONS": "ignore_noninstrumented_modules=1 exitcode=66",
        "ARCHER_OPTIONS": "verbose=1"})
    assert "Archer detected OpenMP application with TSan" in res.stdout + res.stderr, res.stderr[-2000:]
    assert "WARNING: ThreadSanitizer: data race" in res.stderr, (
        f"{pragma} without a guard neither changed the output nor raced under Archer")
    print(f"{name}/{file}:{line}: Archer reports the race of the unguarded pragma")


# --------------------------------------------------------------------------
# 4. the analysis against the truth
# --------------------------------------------------------------------------

PLACED = re.compile(r"#\s*pragma\s+omp\s+(parallel\s+)?for\b")


def _clause_problems(expected: dict, verdict) -> list[str]:
    """Clauses that would make the pragma wrong (as tests/test_corpus_truth.py),
    and lastprivate where truth wants only private (the value is dead)."""
    c = verdict.clauses
    problems = corpus_clause_problems(expected, verdict)
    needless_last = set(c.lastprivate) & (set(expected.get("private", [])) | {verdict.loop.var}) \
        - set(expected.get("lastprivate", []))
    if needless_last:
        problems.append(f"lastprivate {sorted(needless_last)} whose value is dead after the loop")
    return problems


@pytest.fixture(scope="module")
def scanned():
    from ompilot.analysis.scan import ScanSettings, scan_paths
    out = {}
    for p in PROJECTS:
        reports, errors = scan_paths([p], ScanSettings(build_dir=p))
        verdicts = {}
        for report in reports:
            for v in report.verdicts:
                verdicts[(Path(report.path).name, v.loop.line)] = v
        out[p.name] = (verdicts, errors)
    return out


def test_analysis_against_truth(scanned):
    wrong, clause_errors, missed = [], [], []
    found = wanted = checked = 0
    agree = total = 0
    for name in NAMES:
        verdicts, _ = scanned[name]
        for loop in load(name)["loops"]:
            where = f"{name}/{loop['file']}:{loop['line']}"
            v = verdicts.get((loop["file"], loop["line"]))
            ours = v is not None and v.parallel is True
            checked_run = ours and bool(getattr(v, "runtime_check", None))
            want = loop["parallel"] or bool(loop.get("runtime_check"))
            if ours:
                if not loop["parallel"] and not (checked_run and loop.get("runtime_check")):
                    wrong.append(f"{where}: truth says serial ({loop['reason_code']}: {loop['reason']})")
                else:
                    problems = _clause_problems(loop["required_clauses"] or {}, v)
                    if problems:
                        clause_errors.append(f"{where}: {'; '.join(problems)}")
            if want:
                wanted += 1
                if ours and (loop["parallel"] or checked_run):
                    found += 1
                    checked += checked_run
                else:
                    why = "no verdict" if v is None else (
                        f"{v.parallel}: {', '.join(r.code for r in v.reasons) or '-'}")
                    missed.append(f"{where} ({loop['function']}): {why}")
            total += 1
            placed = v is not None and v.pragma is not None and bool(PLACED.search(v.pragma))
            agree += placed == loop["pragma_expected"]
    called = found + len(wrong)
    precision = 1.0 if not called else found / called
    recall = found / wanted
    print(f"\nprojects: precision {precision:.1%}, recall {recall:.1%} ({found}/{wanted}), "
          f"{checked} needed a run-time check, pragma placement agrees on {agree}/{total}")
    for line in missed:
        print("  missed", line)
    assert not wrong, "loops called parallel that are not:\n" + "\n".join(wrong)
    assert not clause_errors, "parallel loops with wrong clauses:\n" + "\n".join(clause_errors)
    assert recall >= 0.95, f"recall {recall:.1%}; missed:\n" + "\n".join(missed)
