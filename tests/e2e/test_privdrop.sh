#!/usr/bin/env bash
# Dropping root after start-up: see tests/e2e/reliability/privdrop.py.
set -euo pipefail
: "${MTASTSD:?} ${SOURCE_ROOT:?}"
exec python3 "$SOURCE_ROOT/tests/e2e/reliability/privdrop.py"
