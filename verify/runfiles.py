"""The files a program run writes in the copy of the tree: found, read for the comparison, undone.

A run happens in the sandbox's copy (the user's tree is never touched). It
may still create, rewrite or delete files there, its sources included. The
verifier takes a `snapshot` of the copy before each run, reads what
`changes` finds afterwards (compared when `compare` has "files"), and then
`undo`es it, so that every run starts from the same tree: a program that
appends to a log, deletes its input or rewrites a source file does not make
the next run (or the next build) see a different world.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from .compare import Output

#: Files up to this size are compared as text (numbers within the tolerance);
#: larger ones byte for byte, by their SHA-256, which keeps memory bounded.
FILE_LIMIT = 16 * 1024 * 1024

Snapshot = dict[str, tuple[int, int, int]]  # relative path -> (size, mtime_ns, inode)


@dataclass(frozen=True)
class Changes:
    """What one run did to the regular files of the copy (relative POSIX paths, sorted)."""

    created: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()


def snapshot(root: Path) -> Snapshot:
    """Size, modification time and inode of every regular file under `root` (links not followed)."""
    found: Snapshot = {}
    for directory, dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(directory, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found[os.path.relpath(full, root).replace(os.sep, "/")] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return found


def changes(root: Path, before: Snapshot) -> Changes:
    after = snapshot(root)
    return Changes(
        created=tuple(sorted(after.keys() - before.keys())),
        modified=tuple(sorted(k for k in after.keys() & before.keys() if after[k] != before[k])),
        deleted=tuple(sorted(before.keys() - after.keys())),
    )


def files(root: Path, listed: tuple[str, ...], changed: Changes, prefix: str = "") -> list[Output]:
    """The outputs of the files a run wrote: those `listed` (the `files` key), then those it
    created, rewrote or deleted."""
    outputs = [_read(root, name, prefix, missing="<missing>") for name in listed]
    for name in sorted(set(changed.created + changed.modified + changed.deleted) - set(listed)):
        outputs.append(_read(root, name, prefix, missing="<deleted>"))
    return outputs


def undo(root: Path, original: Path, changed: Changes, keep: set[str] = frozenset()) -> None:
    """Remove what the run created under `root`; put back from the user's tree (`original`)
    what it rewrote or deleted. `keep`: files the verifier wrote itself (a patched source), which
    its next build writes again."""
    for name in changed.created:
        try:
            (root / name).unlink()
        except OSError:
            pass
    for name in changed.modified + changed.deleted:
        source = original / name
        if name in keep or source.is_symlink() or not source.is_file():
            continue  # not the user's file (an executable ompilot built), or ours to rewrite
        target = root / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            shutil.copy2(source, target)
        except OSError:
            pass  # the next build or run fails and says why


def _read(root: Path, name: str, prefix: str, missing: str) -> Output:
    path = root / name
    label = f"{prefix}file {name}"
    try:
        size = path.stat().st_size
        if size <= FILE_LIMIT:
            return Output(label, path.read_bytes().decode("utf-8", errors="replace"))
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return Output(label, missing)
    except OSError as error:
        return Output(label, f"<unreadable: {error.strerror}>")
    whole = f"<{size} bytes, sha256 {digest.hexdigest()}>"
    return Output(label, whole, large=f"larger than {FILE_LIMIT // (1024 * 1024)} MB, compared byte for byte")
