#!/usr/bin/env bash
# Reload storm under load: see tests/e2e/reliability/storm.py.
set -euo pipefail
: "${MTASTSD:?} ${SOURCE_ROOT:?} ${BUILD_DIR:?}"
exec python3 "$SOURCE_ROOT/tests/e2e/reliability/storm.py"
