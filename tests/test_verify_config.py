"""Finding and checking the build-and-run configuration of a program."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import pytest

from ompilot.verify.compare import Tolerance
from ompilot.verify.config import (
    ConfigError,
    config_for,
    example_config,
    find_config,
    parse_config,
    single_file_config,
)
from ompilot.verify.config import ProgramConfig

MAIN_C = "#include <stdio.h>\nint main(void) {\n    puts(\"hi\");\n    return 0;\n}\n"
LIB_C = "double dot(const double *a, const double *b, int n) { return 0; }\n"


def _tree(tmp_path: Path) -> Path:
    """repo/.git, repo/src/deep/kernel.c: the search starts in deep/."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    deep = repo / "src" / "deep"
    deep.mkdir(parents=True)
    (deep / "kernel.c").write_text(LIB_C)
    return repo


def test_pyproject_tool_table(tmp_path):
    repo = _tree(tmp_path)
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.ompilot]\n'
        'build = "make CC={cc} CFLAGS=\'{cflags}\' OUT={out}"\n'
        'run = ["{exe} small.txt", "{exe} big.txt"]\n'
        'files = ["out/result.txt"]\nlanguage = "cpp"\ntolerance = { rel = 1e-6 }\n'
        "time_limit = 30\nmemory_limit_mb = 1024\nthreads = [2, 8]\nrace_runs = 3\n"
        'timing_runs = 7\ntune_seconds = 0\ncompilers = ["clang", "gcc"]\n'
    )
    config = find_config(repo / "src" / "deep" / "kernel.c")
    assert config == ProgramConfig(
        root=repo,
        build="make CC={cc} CFLAGS='{cflags}' OUT={out}",
        run=("{exe} small.txt", "{exe} big.txt"),
        files=("out/result.txt",),
        compare=("stdout", "stderr", "files"),  # "files" by default when files are listed
        language="cpp",
        tolerance=Tolerance(rel=1e-6, abs=Tolerance().abs),
        time_limit=30.0,
        memory_limit_mb=1024,
        threads=(2, 8),
        race_runs=3,
        timing_runs=7,
        tune_seconds=0.0,
        compilers=("clang", "gcc"),
        source=str(repo / "pyproject.toml"),
    )
    assert find_config(repo / "src") == config  # a directory works as well
    assert config_for(repo / "src" / "deep" / "kernel.c") == config


def test_ompilot_toml_with_defaults_and_string_run(tmp_path):
    repo = _tree(tmp_path)
    src = repo / "src"
    (src / ".ompilot.toml").write_text('build = "{cc} {cflags} deep/kernel.c main.c -o {out}"\nrun = "{exe}"\n')
    (repo / "pyproject.toml").write_text('[tool.ompilot]\nbuild = "{cc} {cflags} -o {out}"\nrun = "{exe}"\n')
    config = find_config(src / "deep" / "kernel.c")
    assert config.root == src and config.source == str(src / ".ompilot.toml")
    assert config.run == ("{exe}",)
    defaults = ProgramConfig(root=src, build="", run=())
    assert (config.language, config.tolerance, config.threads, config.compilers, config.time_limit) == (
        defaults.language, defaults.tolerance, defaults.threads, defaults.compilers, defaults.time_limit,
    )  # fmt: skip


def test_ompilot_toml_wins_over_pyproject_in_the_same_directory(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".ompilot.toml").write_text('build = "{cc} {cflags} a.c -o {out}"\nrun = "{exe} own"\n')
    (tmp_path / "pyproject.toml").write_text('[tool.ompilot]\nbuild = "{cc} {cflags} -o {out}"\nrun = "{exe} py"\n')
    assert find_config(tmp_path / "a.c").run == ("{exe} own",)


def test_pyproject_without_the_table_is_skipped_upwards(tmp_path):
    repo = _tree(tmp_path)
    (repo / "src" / "pyproject.toml").write_text('[project]\nname = "python-bindings"\n')
    (repo / "src" / "deep" / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    (repo / ".ompilot.toml").write_text('build = "{cc} {cflags} src/deep/kernel.c -o {out}"\nrun = "{exe}"\n')
    config = find_config(repo / "src" / "deep" / "kernel.c")
    assert config is not None and config.root == repo


def test_broken_pyproject_of_someone_else_is_skipped(tmp_path):
    repo = _tree(tmp_path)
    (repo / "src" / "pyproject.toml").write_text("[project\nname = \n")
    (repo / ".ompilot.toml").write_text('build = "{cc} {cflags} x.c -o {out}"\nrun = "{exe}"\n')
    assert find_config(repo / "src" / "deep" / "kernel.c").root == repo


def test_search_stops_at_the_repository_root(tmp_path):
    (tmp_path / ".ompilot.toml").write_text('build = "{cc} {cflags} x.c -o {out}"\nrun = "{exe}"\n')
    repo = _tree(tmp_path)  # tmp_path/repo has .git: tmp_path's config is outside the project
    assert find_config(repo / "src" / "deep" / "kernel.c") is None
    assert config_for(repo / "src" / "deep" / "kernel.c") is None  # and no main() either


def _error(tmp_path: Path, text: str, name: str = ".ompilot.toml") -> str:
    (tmp_path / ".git").mkdir(exist_ok=True)
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        find_config(tmp_path / "main.c")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ": ")
    return message


GOOD = 'build = "{cc} {cflags} main.c -o {out}"\nrun = "{exe}"\n'


@pytest.mark.parametrize(
    "text, words",
    [
        (GOOD + "biuld = 1\n", ["unknown key", "'biuld'"]),
        (GOOD + "tolerance = { rel = 1e-6, absolute = 0.1 }\n", ["'absolute'", "tolerance"]),
        ('build = "{cc} {cflags} main.c"\nrun = "{exe}"\n', ["{out}"]),
        ('build = "{cc} main.c -o {out}"\nrun = "{exe}"\n', ["{cflags}"]),
        ('build = "{cc} {cflags} main.c -o {out}"\nrun = "./a.out"\n', ["{exe}", "'./a.out'"]),
        ('build = "{cc} {cflags} main.c -o {ouput} {out}"\nrun = "{exe}"\n', ["placeholder {ouput}"]),
        ('race_build = "{cc} main.c -o {out}"\n', ["'race_build'", "{cflags}"]),
        ('race_defines = ["-DMINI"]\n', ["'race_defines'", "no -D"]),
        ('race_defines = "MINI"\n', ["'race_defines'", "list"]),
        ('race_cflags = ["-O1"]\n', ["'race_cflags'", "string"]),
        ('build = "{cc} {cflags} main.c -o {out}"\n', ["missing", "'run'"]),
        ("build = 3\nrun = \"{exe}\"\n", ["'build'", "string", "an integer"]),
        ('build = "{cc} {cflags} -o {out}"\nrun = ["{exe}", 2]\n', ["'run'", "list of them"]),
        (GOOD + "threads = [1, 4]\n", ["'threads'", ">= 2"]),
        (GOOD + 'threads = "4"\n', ["'threads'", "list"]),
        (GOOD + "time_limit = \"10s\"\n", ["'time_limit'", "number"]),
        (GOOD + "time_limit = 0\n", ["'time_limit'", "> 0"]),
        (GOOD + "memory_limit_mb = 1.5\n", ["'memory_limit_mb'", "integer"]),
        (GOOD + "race_runs = true\n", ["'race_runs'", "integer"]),
        (GOOD + 'compilers = ["icc"]\n', ["'compilers'", "clang"]),
        (GOOD + 'language = "fortran"\n', ["'language'", "'fortran'"]),
        (GOOD + 'files = ["../etc/passwd"]\n', ["'files'", "inside"]),
        (GOOD + "tolerance = 0.1\n", ["'tolerance'", "table"]),
        (GOOD + "tolerance = { rel = -1 }\n", ["tolerance.rel", ">= 0"]),
        ("build = \n", ["not valid TOML"]),
    ],
)
def test_bad_configuration_names_file_and_problem(tmp_path, text, words):
    message = _error(tmp_path, text)
    for word in words:
        assert word in message, (word, message)


def test_bad_pyproject_table_names_the_pyproject(tmp_path):
    message = _error(tmp_path, '[tool.ompilot]\nbuild = "{cc} {cflags} main.c -o {out}"\nrun = "{exe}"\nrunz = 1\n',
                     "pyproject.toml")  # fmt: skip
    assert "'runz'" in message
    message = _error(tmp_path, '[tool]\nompilot = "yes"\n', "pyproject.toml")
    assert "table" in message


def test_commands_are_str_format_templates(tmp_path):
    """The verifier fills commands in with str.format: other braces must be doubled."""
    config = parse_config(
        {"build": "${{CC:-cc}} {cflags} main.c -o {out} && awk '{{print}}' /dev/null", "run": "{exe} $HOME"},
        tmp_path,
        "test",
    )
    assert config.build.format(cc="clang-19", cflags="-O3", out="a.out").startswith("${CC:-cc} -O3 main.c -o a.out")
    for build, words in [
        ("${CC} {cflags} main.c -o {out}", ["placeholder {CC}", "doubled"]),
        ("{cc} {cflags} main.c -o {out} && awk '{print}'", ["placeholder {print}"]),
        ("{cc} {cflags} main.c -o {out} }", ["unbalanced braces"]),
        ("{cc} {cflags!r} main.c -o {out}", ["placeholder {cflags}"]),
        ("{cc} {{cflags}} main.c -o {out}", ["must contain {cflags}"]),
    ]:
        with pytest.raises(ConfigError) as info:
            parse_config({"build": build, "run": "{exe}"}, tmp_path, "test")
        assert all(word in str(info.value) for word in words), (build, str(info.value))
        assert str(info.value).startswith("test: ")


@pytest.mark.parametrize("suffix, language", [(".c", "c"), (".cpp", "cpp"), (".cc", "cpp"), (".cxx", "cpp"), (".C", "cpp")])
def test_single_file_default_for_a_file_with_main(tmp_path, suffix, language):
    source = tmp_path / f"my prog{suffix}"
    source.write_text(MAIN_C)
    config = single_file_config(source)
    assert config == ProgramConfig(
        root=tmp_path,
        build="{cc} {cflags} 'my prog" + suffix + "' -o {out} -lm",
        run=("{exe}",),
        language=language,
        source="default for a single file with main()",
    )
    (tmp_path / ".git").mkdir()  # keep the search inside tmp_path
    assert config_for(source) == config


@pytest.mark.parametrize(
    "text",
    [
        "int\nmain (int argc, char **argv)\n{ return 0; }\n",
        "static int helper(void);\n  int main() { return helper(); }\n",
        "void main(void) {}\n",
    ],
)
def test_main_spellings(tmp_path, text):
    source = tmp_path / "p.c"
    source.write_text(text)
    assert single_file_config(source) is not None


def test_no_single_file_default_without_main(tmp_path):
    source = tmp_path / "kernel.c"
    source.write_text(LIB_C + "// int main(void) is in driver.c\nint domain(int x) { return x; }\n")
    assert single_file_config(source) is None
    header = tmp_path / "x.h"
    header.write_text(MAIN_C)
    assert single_file_config(header) is None
    assert single_file_config(tmp_path / "missing.c") is None


def test_project_configuration_wins_over_single_file_default(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "main.c").write_text(MAIN_C)
    (tmp_path / ".ompilot.toml").write_text('build = "{cc} {cflags} main.c util.c -o {out}"\nrun = "{exe} 10"\n')
    assert config_for(tmp_path / "main.c").run == ("{exe} 10",)


@pytest.mark.parametrize("name", ["main.c", "weird name's.cpp", "kernel.cc", "b{r}aces \\ \"q\".c"])
def test_example_config_parses_back(tmp_path, name):
    source = tmp_path / name
    source.write_text(MAIN_C)
    text = example_config(source)
    for key in ("build", "run", "files", "tolerance", "time_limit", "threads"):
        assert f"\n{key} = " in text
    assert "#" in text
    config = parse_config(tomllib.loads(text), tmp_path, str(tmp_path / ".ompilot.toml"))
    default = single_file_config(source)
    assert config.build == default.build and config.run == default.run
    assert config.language == default.language
    assert config.tolerance == Tolerance() and config.threads == (2, 4)
    build = config.build.format(cc="cc", cflags="-O2", out="a.out")  # as the verifier fills it in
    assert shlex.split(build) == ["cc", "-O2", name, "-o", "a.out", "-lm"]
    # saved next to the source, it is what find_config picks up
    (tmp_path / ".git").mkdir(exist_ok=True)
    (tmp_path / ".ompilot.toml").write_text(text)
    assert find_config(source) == config
