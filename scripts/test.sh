#!/usr/bin/env bash
# The whole test suite. Fails when no tests are collected (pytest exits 5 then).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${VENV:-.venv}/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
