"""A per-program verification cache: an unchanged tree is not verified twice.

One entry per check of one candidate version of a program (`_check_edits`):
the key is a SHA-256 over everything the result depends on,

  - the program's tree (every file the sandbox copies, by content), the
    file being patched and the patch (its edits, the base fixes included);
  - the check itself (race check or not, a race fix or not);
  - the configuration (build and run commands, flags, thread counts, limits,
    tolerance ...) and the verifier's flags and thresholds;
  - the compilers (`clang-19 --version`'s and `gcc --version`'s first
    lines), the number of processors, ompilot's version and the source of
    the verifier itself (a changed check must not reuse old verdicts).

Entries live in the user's cache directory (XDG_CACHE_HOME/ompilot/verify,
or ~/.cache/ompilot/verify), stored the way the model answers are
(suggest/llm_client.py): one JSON file per key under a two-character
folder, written to a temporary file and renamed, so a reader never sees half
an entry. An entry that cannot be read is ignored with a warning and
verified again; a cache that cannot be written costs time, not results.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import platformdirs

from .config import ProgramConfig
from .evidence import CheckResult, RaceReport

FORMAT = 1  # bump when the stored form of a CheckResult changes
_VERIFIER_DIR = Path(__file__).resolve().parent
_SKIPPED_DIRS = frozenset({".git", ".venv", "node_modules"})  # what Sandbox does not copy


def cache_directory() -> Path:
    return Path(platformdirs.user_cache_dir("ompilot")) / "verify"


@functools.lru_cache(maxsize=None)
def compiler_version(command: str) -> str:
    """The first line of `command --version`, or why there is none."""
    try:
        out = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{command}: {type(exc).__name__}"
    return (out.stdout.splitlines() or [""])[0].strip()


@functools.lru_cache(maxsize=None)
def verifier_digest() -> str:
    """The verifier's own source: a changed check does not reuse old verdicts."""
    digest = hashlib.sha256()
    for path in sorted(_VERIFIER_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def tree_digest(root: Path) -> str:
    """SHA-256 over the relative paths and contents of the files of `root`
    that a Sandbox copies (symbolic links by their target)."""
    digest = hashlib.sha256()
    root = Path(root)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix().encode()
            try:
                if path.is_symlink():
                    data = b"link:" + os.readlink(path).encode()
                elif path.is_file():
                    data = path.read_bytes()
                else:
                    continue  # sockets, FIFOs: not copied either
            except OSError as exc:
                data = f"unreadable: {exc}".encode()
            digest.update(relative + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class CheckKey:
    """What one check's result depends on besides the tree and the tools."""

    relative: str
    original: bytes
    edits: tuple  # (start, end, text) of every edit applied, base fixes first
    race: bool
    fix: bool
    race_only: bool
    verifier_settings: tuple  # flags and thresholds of the verifier module


@dataclass
class VerificationCache:
    """Verified results on disk; `warn(line)` hears about corrupt entries."""

    folder: Path
    warn: Callable[[str], None] = field(default=lambda line: print(f"ompilot: {line}", file=sys.stderr))

    @classmethod
    def default(cls) -> "VerificationCache":
        return cls(cache_directory())

    def key(self, config: ProgramConfig, tree: str, check: CheckKey) -> str:
        blob = json.dumps({
            "format": FORMAT,
            "tree": tree,
            "config": repr(config),
            "file": check.relative,
            "original": hashlib.sha256(check.original).hexdigest(),
            "edits": [list(e) for e in check.edits],
            "race": check.race,
            "fix": check.fix,
            "race_only": check.race_only,
            "verifier": [list(map(str, check.verifier_settings)), verifier_digest()],
            "compilers": [compiler_version("clang-19"), compiler_version("gcc")],
            "processors": os.cpu_count(),
            "python": sys.version_info[:2],
        }, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def load(self, key: str) -> tuple[CheckResult, str] | None:
        """The stored result and when it was made (ISO date), or None."""
        path = self._path(key)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.warn(f"cannot read the verification cache entry {path}: {exc}; verifying again")
            return None
        try:
            entry = json.loads(text)
            if entry["format"] != FORMAT:
                return None
            stored = dict(entry["result"])
            stored["races"] = [RaceReport(**r) for r in stored["races"]]
            return CheckResult(**stored), str(entry["created"])
        except (ValueError, KeyError, TypeError) as exc:
            self.warn(f"ignoring a corrupt verification cache entry {path} ({type(exc).__name__}); verifying again")
            return None

    def store(self, key: str, result: CheckResult) -> None:
        path = self._path(key)
        entry = {"format": FORMAT, "created": datetime.datetime.now().isoformat(timespec="seconds"),
                 "result": dataclasses.asdict(result)}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.parent / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
            temporary.write_text(json.dumps(entry))
            os.replace(temporary, path)
        except OSError:
            pass  # a cache that cannot be written costs time, not results
