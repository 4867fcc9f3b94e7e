"""The official SARIF 2.1.0 JSON schema (draft-04), for tests/test_sarif.py.

No PyPI package ships it; the npm package @microsoft/jest-sarif does. Its
tarball is fetched once by scripts/test.sh (`python tests/sarif_schema.py`),
checked against the sha256 below, and the schema kept in the git-ignored
.venv. Running this again when the file is there does nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / ".venv" / "share" / "ompilot" / "sarif-schema-2.1.0.json"
TARBALL_URL = "https://registry.npmjs.org/@microsoft/jest-sarif/-/jest-sarif-1.0.0-beta.0.tgz"
TARBALL_SHA256 = "748e2c3d1a842e7bb258416685c7ea3a0da40005b72267b2052c2856d48ad102"
MEMBER = "package/lib/schemas/sarif-2.1.0-rtm.5.json"


def fetch(target: Path = SCHEMA_PATH) -> str:
    if target.is_file() and target.stat().st_size > 0:
        return f"{target}: present"
    with urllib.request.urlopen(TARBALL_URL, timeout=120) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != TARBALL_SHA256:
        raise SystemExit(f"{TARBALL_URL}: sha256 {digest}, expected {TARBALL_SHA256}; not used")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise SystemExit(f"{TARBALL_URL}: no {MEMBER} in it")
        schema = member.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(schema)
    os.replace(partial, target)
    return f"{target}: fetched from {TARBALL_URL}"


if __name__ == "__main__":
    try:
        print(f"sarif schema: {fetch()}")
    except OSError as exc:  # no network: the SARIF test will fail and say so
        print(f"sarif schema: could not fetch {TARBALL_URL}: {exc}", file=sys.stderr)
        sys.exit(2)
