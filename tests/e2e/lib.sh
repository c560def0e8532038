# SPDX-License-Identifier: MIT
# Shared helpers of the serve end-to-end tests: sourced, never run.
# Needs MTASTSD (the binary) and SOURCE_ROOT from ctest; exits 77 when a tool is missing.
set -euo pipefail
: "${MTASTSD:?MTASTSD must name the mtastsd binary}" "${SOURCE_ROOT:?}"

PASS=0
FAIL=0
SERVER_PID=""
EXTRA_PIDS=""  # other processes the test started, ended with the server at exit
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
  for pid in $SERVER_PID $EXTRA_PIDS; do
    kill -9 "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
# fail MESSAGE: say so, with the end of every log in $WORK (and all of each file FAIL_SHOW
# names), and end the test (exit 1)
fail() {
  local f
  echo "FAIL: $*" >&2
  for f in "$WORK"/*.log "$WORK"/*/*.log; do
    [ -f "$f" ] && { echo "--- ${f#"$WORK"/}" >&2; tail -n 25 "$f" >&2; }
  done
  for f in ${FAIL_SHOW:-}; do
    [ -f "$f" ] && { echo "--- ${f#"$WORK"/}" >&2; cat "$f" >&2; }
  done
  exit 1
}

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

# dns_ports N: N distinct ports free on 127.0.0.1 for TCP and UDP alike, on one line
dns_ports() {
  python3 - "$1" <<'PY'
import socket, sys
ss = []
while len(ss) < int(sys.argv[1]):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try: u.bind(("127.0.0.1", p))
    except OSError: s.close(); continue
    ss.append((s, u))
print(" ".join(str(s.getsockname()[1]) for s, u in ss))
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

# wait_until SECONDS DESCRIPTION COMMAND...: wait_for, saying "timed out waiting for:
# DESCRIPTION" when the time runs out
wait_until() {
  local limit="$1" what="$2"; shift 2
  wait_for "$limit" "$@" && return 0
  echo "timed out waiting for: $what"; return 1
}

# gen_certs DIR ARGS...: development CA + host certificates (scripts/gen-dev-certs)
gen_certs() {
  local dir="$1"; shift
  "$SOURCE_ROOT/scripts/gen-dev-certs" -o "$dir" "$@" >/dev/null
}

# serve_head HTTPS_PORT HTTP_PORT ADMIN_PORT [CERTS]: the listen and tls sections of a test
# config: TLS on 127.0.0.1:HTTPS_PORT and plain HTTP on 127.0.0.1:HTTP_PORT (none for an
# empty one), the admin listener on ADMIN_PORT, certificates in CERTS (default certs/); the
# caller appends dns, domains and the rest
serve_head() {
  if [ -n "$1" ]; then printf 'listen:\n  https: ["127.0.0.1:%s"]\n' "$1"; else printf 'listen:\n  https: []\n'; fi
  [ -z "$2" ] || printf '  http: ["127.0.0.1:%s"]\n' "$2"
  printf '  admin: "127.0.0.1:%s"\ntls:\n  certs: %s\n' "$3" "${4:-certs/}"
}

# tsig_key FILE: write a new random HMAC-SHA256 key named mtastsd-update to FILE as
# tsig-keygen does (readable by its owner only) and print its secret
tsig_key() {
  local secret
  secret=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
  printf 'key "mtastsd-update" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$secret" >"$1"
  chmod 600 "$1"
  echo "$secret"
}

# knot_conf DIR LISTEN [SECRET [TEMPLATE LINE...]]: write DIR/knot.conf, the common head of a
# Knot DNS config (server, database, log, the key mtastsd-update when SECRET is given, the
# default template) with its run folder DIR, database DIR/db and zone files DIR/zones (made
# here); LISTEN is ADDR@PORT. TEMPLATE LINEs go into the default template; append remote, acl
# and zone sections to the file after it.
knot_conf() {
  local dir="$1" listen="$2" secret="${3:-}" line
  mkdir -p "$dir/db" "$dir/zones"
  {
    printf 'server:\n    rundir: "%s"\n    listen: %s\n' "$dir" "$listen"
    printf 'database:\n    storage: "%s/db"\n' "$dir"
    printf 'log:\n  - target: stderr\n    any: info\n'
    [ -z "$secret" ] ||
      printf 'key:\n  - id: mtastsd-update\n    algorithm: hmac-sha256\n    secret: %s\n' "$secret"
    printf 'template:\n  - id: default\n    storage: "%s/zones"\n    zonefile-sync: -1\n' "$dir"
    for line in "${@:4}"; do printf '    %s\n' "$line"; done
  } >"$dir/knot.conf"
}

# zone_head ORIGIN: the first lines of a test zone file for ORIGIN (no trailing dot): the
# origin, a TTL, the SOA (serial 1), an NS record and the name server's address
zone_head() {
  printf '$ORIGIN %s.\n$TTL 3600\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n' "$1"
}

# knot_start DIR PORT ZONE: run knotd on DIR/knot.conf (log in DIR/knot.log; KNOT_NETNS, when
# set, names the network namespace to run it in) and wait until it answers ZONE's SOA on
# 127.0.0.1:PORT; its pid goes to KNOT_PID and EXTRA_PIDS (the cleanup trap ends it).
# Returns 1, with the log's end on stderr, when it exits or does not answer within 15 s.
knot_start() {
  local dir="$1" port="$2" zone="$3" ns=() dig=kdig i
  [ -z "${KNOT_NETNS:-}" ] || ns=(ip netns exec "$KNOT_NETNS")
  command -v kdig >/dev/null 2>&1 || dig=dig
  "${ns[@]}" knotd -c "$dir/knot.conf" >"$dir/knot.log" 2>&1 &
  KNOT_PID=$!
  EXTRA_PIDS="$EXTRA_PIDS $KNOT_PID"
  for i in $(seq 1 150); do
    if [ -n "$("${ns[@]}" "$dig" +time=1 +retry=0 +short @127.0.0.1 -p "$port" SOA "$zone" 2>/dev/null)" ]; then
      return 0
    fi
    kill -0 "$KNOT_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "knotd did not answer for $zone on port $port:" >&2; tail -n 20 "$dir/knot.log" >&2
  return 1
}

# knot_stop: end the knotd of the last knot_start and wait for it
knot_stop() {
  kill "$KNOT_PID" 2>/dev/null || true
  wait "$KNOT_PID" 2>/dev/null || true
  EXTRA_PIDS=${EXTRA_PIDS//" $KNOT_PID"/}
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

# update_field DOMAIN FIELD: FIELD of DOMAIN's line in the dns.update state
# ($WORK/state/mtastsd.state.update); empty when either is absent
update_field() {
  awk -v d="$1" -v f="$2" '$1 == "domain" && $2 == d { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }' \
    "$WORK/state/mtastsd.state.update" 2>/dev/null
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

# acme_replica_conf STORE: the dns and acme sections of a test config whose serve only answers
# the ACME challenges written into STORE's challenges/ folder (acme.order: false), as a replica does
acme_replica_conf() {
  printf 'dns:\n  state: state/mtastsd.state\n  zone: state/mta-sts.zone\n'
  printf 'acme:\n  storage: %s\n  agree_terms: true\n  order: false\n' "$1"
}

# acme_order_conf STORE [LINE...]: the dns section and an acme section that orders from this
# test's pebble ($DIR_URL, trusting $WORK/pebble.crt) into STORE; each LINE (such as
# "challenges: [http-01]") is added to the acme section; then defaults (mode testing, one mx)
# and the domains: key, for the caller to append its list to
acme_order_conf() {
  local line
  printf 'dns:\n  state: state/mtastsd.state\n  zone: state/mta-sts.zone\n'
  printf 'acme:\n  directory: %s\n  ca_file: %s\n  agree_terms: true\n  storage: %s\n' "$DIR_URL" "$WORK/pebble.crt" "$1"
  for line in "${@:2}"; do printf '  %s\n' "$line"; done
  printf 'defaults:\n  mode: testing\n  mx: [mx.example.com]\ndomains:\n'
}

# ---- pebble, the test ACME CA (Debian package pebble), with pebble-challtestsrv as its DNS

# pebble_setup HTTP01_PORT TLS01_PORT [CHALLTESTSRV ARGS...]: pebble's own HTTPS certificate
# ($WORK/pebble.crt, for localhost) and config ($WORK/pebble.json) validating http-01 on
# HTTP01_PORT and tls-alpn-01 on TLS01_PORT; pebble-challtestsrv started as its DNS (every name
# 127.0.0.1), answering nothing else unless its ARGS say so (-http01 127.0.0.1:PORT). Sets
# ACME_PORT, MGMT_PORT, DNS_PORT, CHALL_PORT, DIR_URL (the directory) and CHALL (the
# challtestsrv management API). PEBBLE_VALIDITY, when set, is the lifetime in seconds of the
# certificates pebble issues (certificateValidityPeriod). Skips (77) without pebble.
pebble_setup() {
  local http01="$1" tls01="$2"; shift 2
  command -v pebble >/dev/null 2>&1 || skip "pebble is not installed (Debian package pebble)"
  command -v pebble-challtestsrv >/dev/null 2>&1 || skip "pebble-challtestsrv is not installed (Debian package pebble)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$WORK/pebble.key" -out "$WORK/pebble.crt" 2>/dev/null ||
    fail "cannot make pebble's certificate"
  read -r DNS_PORT <<<"$(dns_ports 1)"
  ACME_PORT=$(free_port) MGMT_PORT=$(free_port) CHALL_PORT=$(free_port)
  printf '{"pebble": {"listenAddress": "127.0.0.1:%s", "managementListenAddress": "127.0.0.1:%s",
  "certificate": "%s", "privateKey": "%s", "httpPort": %s, "tlsPort": %s, "ocspResponderURL": "",
  %s"externalAccountBindingRequired": false}}\n' "$ACME_PORT" "$MGMT_PORT" "$WORK/pebble.crt" "$WORK/pebble.key" \
    "$http01" "$tls01" "${PEBBLE_VALIDITY:+\"certificateValidityPeriod\": $PEBBLE_VALIDITY, }" >"$WORK/pebble.json"
  DIR_URL="https://localhost:$ACME_PORT/dir"
  CHALL="http://127.0.0.1:$CHALL_PORT"
  pebble-challtestsrv -dns01 "127.0.0.1:$DNS_PORT" -http01 "" -https01 "" -tlsalpn01 "" "$@" \
    -management "127.0.0.1:$CHALL_PORT" -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$WORK/challtestsrv.log" 2>&1 &
  EXTRA_PIDS="$EXTRA_PIDS $!"
  wait_until 10 "challtestsrv's management API" curl -fs -o /dev/null -X POST -d '{"ip":"127.0.0.1"}' \
    "$CHALL/set-default-ipv4" || fail "pebble-challtestsrv did not start"
}

# pebble_start [NAME=VALUE...]: run pebble (log appended to $WORK/pebble.log) with
# PEBBLE_VA_NOSLEEP=1 and the environment NAME=VALUE given (PEBBLE_WFE_NONCEREJECT=0 for a
# client without badNonce retries), wait until its directory answers, and fetch its root, which
# changes at every start, into $WORK/root.pem; sets PEBBLE_PID
pebble_start() {
  env PEBBLE_VA_NOSLEEP=1 "$@" pebble -config "$WORK/pebble.json" -dnsserver "127.0.0.1:$DNS_PORT" >>"$WORK/pebble.log" 2>&1 &
  PEBBLE_PID=$!
  EXTRA_PIDS="$EXTRA_PIDS $PEBBLE_PID"
  wait_until 20 "pebble's directory" curl -fs -o /dev/null --cacert "$WORK/pebble.crt" "$DIR_URL" || fail "pebble did not start"
  curl -fsS --cacert "$WORK/pebble.crt" -o "$WORK/root.pem" "https://localhost:$MGMT_PORT/roots/0" || fail "no root from pebble"
}

pebble_stop() {
  kill "$PEBBLE_PID" 2>/dev/null || true
  wait "$PEBBLE_PID" 2>/dev/null || true
  EXTRA_PIDS=${EXTRA_PIDS//" $PEBBLE_PID"/}
}

# serve_with_hosts HOSTS_FILE: from now on $MTASTSD runs in a mount namespace of its own whose
# /etc/hosts is HOSTS_FILE (unshare, as root), so the ACME orderer's DNS gate (the system's
# resolver) finds the test's names while nothing outside the test changes; REAL_MTASTSD keeps
# the binary. Skips (77) where unshare --mount is not permitted.
serve_with_hosts() {
  command -v unshare >/dev/null 2>&1 || skip "unshare is not installed"
  unshare --mount true 2>/dev/null || skip "unshare --mount is not permitted here (needs root)"
  REAL_MTASTSD=${REAL_MTASTSD:-$MTASTSD}
  cat >"$WORK/mtastsd-ns" <<EOF
#!/bin/sh
exec unshare --mount sh -c 'mount --bind "\$0" /etc/hosts && exec "\$@"' "$1" "$REAL_MTASTSD" "\$@"
EOF
  chmod +x "$WORK/mtastsd-ns"
  MTASTSD="$WORK/mtastsd-ns"
}

finish() {
  echo "# passed $PASS, failed $FAIL"
  [ "$FAIL" -eq 0 ]
}
