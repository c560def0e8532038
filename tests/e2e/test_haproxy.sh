#!/usr/bin/env bash
# Behind a real HAProxy with the PROXY protocol: see tests/e2e/reliability/haproxy.py.
set -euo pipefail
: "${MTASTSD:?} ${SOURCE_ROOT:?}"
exec python3 "$SOURCE_ROOT/tests/e2e/reliability/haproxy.py"
