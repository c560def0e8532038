#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mtastsd's own writes never trigger a reload (issue 14.8): with the state folder
# reachable from tls.certs (a linked folder, which the watcher follows), each publish
# wrote STATE.lock there and started the next reload, forever. Now a SIGHUP gives one
# reload, `check` warns about the layout, and a real certificate change still reloads.
. "$(dirname "$0")/lib.sh"
need curl python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" --days 30 example.com
mkdir -p "$WORK/state"
ln -s ../state "$CERTS/state-link"

P=$(free_port); ADMIN_PORT=$(free_port)
{ serve_head "$P" "" "$ADMIN_PORT"; cat <<EOF
dns:
  state: state/m.state
  zone: state/m.zone
domains:
  - name: example.com
    mode: testing
    mx: [mx.example.com]
EOF
} >"$WORK/mtastsd.yaml"

out=$("$MTASTSD" -c "$WORK/mtastsd.yaml" check 2>&1)
check "check passes with the state reachable from tls.certs" test $? -eq 0
check "check warns that tls.certs reaches the state folder" \
  grep -q "warning: tls.certs '.*' reaches the folder of dns.state through '.*state-link'" <<<"$out"

start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
reloads() { grep -c "reloading config=" "$WORK/serve.log" || true; }
reloaded() { [ "$(grep -c "^.* info reloaded config=" "$WORK/serve.log" || true)" -ge "$1" ]; }

kill -HUP "$SERVER_PID"
check "SIGHUP reloads" wait_for 10 reloaded 1
# What is measured is the absence of further reloads: a loop runs one every 200 ms
# (the settle delay), so 2 s without one is ten of its periods.
sleep 2
check "the publish after the reload triggers no other reload (got $(reloads))" test "$(reloads)" -eq 1
# the watcher still sees a real change under tls.certs
touch "$CERTS/example.com.crt"
check "a certificate change still reloads" wait_for 10 reloaded 2
sleep 2
check "and only once (got $(reloads))" test "$(reloads)" -eq 2
check "serve exits 0 on SIGTERM" stop_server
finish
