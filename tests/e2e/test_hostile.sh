#!/usr/bin/env bash
# Hostile clients against the real server: see tests/e2e/reliability/hostile.py.
set -euo pipefail
: "${MTASTSD:?} ${SOURCE_ROOT:?}"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec python3 "$SOURCE_ROOT/tests/e2e/reliability/hostile.py"
