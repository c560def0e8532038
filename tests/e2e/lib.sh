# SPDX-License-Identifier: MIT
# Shared helpers of the serve end-to-end tests: sourced, never run.
# Needs MTASTSD (the binary) and SOURCE_ROOT from ctest; exits 77 when a tool is missing.
set -euo pipefail
: "${MTASTSD:?MTASTSD must name the mtastsd binary}" "${SOURCE_ROOT:?}"

PASS=0
FAIL=0
SERVER_PID=""
WORK=$(mktemp -d /tmp/mtastsd-e2e.XXXXXX)

ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds
check() { local d="$1"; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
skip() { echo "skip: $*"; exit 77; }

need() {
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"; done
}

cleanup() {
  local pid
  for pid in $SERVER_PID ${EXTRA_PIDS:-}; do
    kill -9 "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# A TCP port free on 127.0.0.1 and (when IPv6 works) ::1 alike.
free_port() {
  python3 - <<'PY'
import socket
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    try:
        s6 = socket.socket(socket.AF_INET6); s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s6.bind(("::1", p)); s6.close()
    except OSError as e:
        if e.errno != 99 and e.errno != 97:  # EADDRNOTAVAIL/EAFNOSUPPORT: no IPv6 at all
            s.close(); continue
    s.close(); print(p); break
PY
}

have_ipv6() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null
}

# wait_for SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds (0) or SECONDS pass (1)
wait_for() {
  local limit="$1" start; shift
  start=$(date +%s%N)
  while [ $(( ($(date +%s%N) - start) / 1000000 )) -lt $((limit * 1000)) ]; do
    if "$@"; then return 0; fi
    sleep 0.05
  done
  return 1
}

# gen_certs DIR ARGS...: development CA + host certificates (scripts/gen-dev-certs)
gen_certs() {
  local dir="$1"; shift
  "$SOURCE_ROOT/scripts/gen-dev-certs" -o "$dir" "$@" >/dev/null
}

# start_server CONFIG ADMIN_PORT: run `serve` in the background and wait for /healthz
start_server() {
  local cfg="$1" admin="$2" i
  "$MTASTSD" -c "$cfg" serve 2>>"$WORK/serve.log" &
  SERVER_PID=$!
  for i in $(seq 1 150); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$admin/healthz" 2>/dev/null; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "server exited during start-up:"; cat "$WORK/serve.log"; return 1
    fi
    sleep 0.1
  done
  echo "server did not become healthy:"; cat "$WORK/serve.log"; return 1
}

# stop_server: SIGTERM, wait up to 20 s; prints nothing, returns the exit status
stop_server() {
  local pid="$SERVER_PID" i rc
  [ -n "$pid" ] || return 0
  kill -TERM "$pid"
  for i in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  rc=0; wait "$pid" || rc=$?
  SERVER_PID=""
  return $rc
}

# tls_get HOST PORT PATH [CURL ARGS...]: fetch over TLS with SNI = HOST, resolving to 127.0.0.1
tls_get() {
  local host="$1" port="$2" path="$3"; shift 3
  curl -sS --max-time 10 --resolve "$host:$port:127.0.0.1" --cacert "$CA" "$@" "https://$host:$port$path"
}

# server_cert HOST PORT [OPENSSL ARGS...]: the leaf certificate presented for SNI HOST, as text
server_cert() {
  local host="$1" port="$2"; shift 2
  openssl s_client -connect "127.0.0.1:$port" -servername "$host" -CAfile "$CA" "$@" </dev/null 2>/dev/null |
    openssl x509 -noout -text 2>/dev/null || true
}

# metric NAME{LABELS}: its value from /metrics (empty when absent)
metric() {
  curl -sS --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}

finish() {
  echo "# passed $PASS, failed $FAIL"
  [ "$FAIL" -eq 0 ]
}
