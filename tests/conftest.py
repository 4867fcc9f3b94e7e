"""The toolchain every test relies on is checked once: a missing tool is a
failure that says how to install it, never a skipped test."""

import shutil
from pathlib import Path

import pytest

REQUIRED_PROGRAMS = ("clang-19", "clang++-19", "gcc", "g++", "git")
REQUIRED_FILES = (
    "/usr/lib/llvm-19/lib/libarcher.so",  # libomp-19-dev
    "/usr/lib/llvm-19/bin/llvm-symbolizer",  # llvm-19: file:line in race reports
    "/usr/lib/llvm-19/bin/clang-offload-packager",  # clang-tools-19: host offload builds
)


def pytest_sessionstart(session):
    missing = [p for p in REQUIRED_PROGRAMS if shutil.which(p) is None]
    missing += [f for f in REQUIRED_FILES if not Path(f).is_file()]
    if missing:
        raise pytest.UsageError(f"missing: {', '.join(missing)}; run `bash scripts/setup.sh --no-demo` first")


@pytest.fixture(autouse=True)
def _own_cache_directory(tmp_path_factory, monkeypatch):
    """Each test verifies for itself: the verification cache (and the model
    answers cache) go to a fresh directory, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
