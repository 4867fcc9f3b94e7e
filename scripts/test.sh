#!/usr/bin/env bash
# Runs ompilot's test suite: setup (without the demo), then pytest on 2 workers.
#   scripts/test.sh [pytest arguments...]
# Exits non-zero when setup or any test fails, and when no test ran at all.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh --no-demo
# The SARIF 2.1.0 schema tests/test_sarif.py validates against (once, into .venv).
.venv/bin/python tests/sarif_schema.py || echo "test: no SARIF schema; tests/test_sarif.py will fail" >&2

status=0
.venv/bin/python -m pytest -n 2 "$@" || status=$?
if [[ $status -eq 5 ]]; then
    echo "test: pytest collected no tests; treating that as a failure" >&2
    exit 1
fi
exit "$status"
