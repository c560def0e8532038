#!/usr/bin/env bash
# serve under valgrind memcheck (scripts/valgrind); the sanitizer build skips it,
# since valgrind cannot run AddressSanitizer binaries.
set -euo pipefail
: "${MTASTSD:?} ${SOURCE_ROOT:?} ${BUILD_DIR:?}"
# grep without -q: with -q it may exit before ldd has written everything, and pipefail
# then takes the SIGPIPE for "no match"
if ldd "$MTASTSD" | grep libasan >/dev/null; then echo "skip: AddressSanitizer build (valgrind runs on the normal build)"; exit 77; fi
command -v valgrind >/dev/null || { echo "skip: valgrind is not installed"; exit 77; }
exec "$SOURCE_ROOT/scripts/valgrind" "$BUILD_DIR"
