#!/usr/bin/env bash
# Crashes and full disks never tear the state or zone files: see tests/e2e/reliability/crash.py.
set -euo pipefail
: "${MTASTSD:?} ${SOURCE_ROOT:?}"
exec python3 "$SOURCE_ROOT/tests/e2e/reliability/crash.py"
