#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# serve's ACME orderer against pebble: 10 names issued over http-01 on the plain HTTP listener,
# then (after a reload adding 10 domains and switching acme.challenges) 10 over tls-alpn-01 on
# the HTTPS listener; every policy is then fetched over HTTPS with pebble's root, while a domain
# with the operator's certificate (never ordered) is fetched without a single failure; a restart
# orders nothing again (the backoff of a name pebble refused is kept); a name whose host does not
# resolve waits for DNS and is not ordered; a second serve with order: false on the same storage runs and answers,
# one with order: true is refused naming the folder.
#
# The orderer's DNS gate uses the system resolver: serve runs in a mount namespace of its own
# whose /etc/hosts names every host (unshare, as root), so nothing outside the test changes.
. "$(dirname "$0")/lib.sh"
need curl openssl python3 unshare

P=$(free_port) H=$(free_port) ADMIN_PORT=$(free_port)
pebble_setup "$H" "$P"
pebble_start

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" ops.example.com
STORE="$WORK/acme"
HTTP_DOMAINS=() ALPN_DOMAINS=()
for i in $(seq 1 10); do HTTP_DOMAINS+=("h$i.example.com"); ALPN_DOMAINS+=("t$i.example.com"); done

# the hosts file of serve's namespace, and the wrapper that runs serve in it
{
  for d in ops.example.com refused.example.com "${HTTP_DOMAINS[@]}" "${ALPN_DOMAINS[@]}"; do echo "127.0.0.1 mta-sts.$d"; done
} >"$WORK/hosts"
serve_with_hosts "$WORK/hosts"

# config HTTPS HTTP ADMIN ORDER CHALLENGES STATE DOMAINS...: a config file on stdout
config() {
  local https="$1" http="$2" admin="$3" order="$4" chall="$5" state="$6" d; shift 6
  serve_head "$https" "$http" "$admin" "$CERTS"
  cat <<EOF
dns:
  state: $state/mtastsd.state
  zone: $state/mta-sts.zone
acme:
  directory: $DIR_URL
  ca_file: $WORK/pebble.crt
  email: ops@example.com
  agree_terms: true
  storage: $STORE
  order: $order
  challenges: [$chall]
  pacing: {burst: 30, period: 45}   # 22 names at once: the default 20 would make the last wait 45 s
defaults:
  mode: testing
  mx: [mx.example.com]
domains:
  - {name: ops.example.com, acme: false}
EOF
  for d in "$@"; do echo "  - $d"; done
}
config "$P" "$H" "$ADMIN_PORT" true http-01 "$WORK/state" "${HTTP_DOMAINS[@]}" >"$WORK/mtastsd.yaml"
"$REAL_MTASTSD" -c "$WORK/mtastsd.yaml" check >"$WORK/check.out" 2>&1 || true
grep -q "configuration OK\|not served" "$WORK/check.out" || fail "check: $(cat "$WORK/check.out")"

# valid HOST: the policy of HOST fetched over HTTPS, verified with pebble's root
valid() {
  curl -sS -f --max-time 5 --resolve "mta-sts.$1:$P:127.0.0.1" --cacert "$WORK/root.pem" \
    -o "$WORK/got.$1" "https://mta-sts.$1:$P/.well-known/mta-sts.txt" 2>/dev/null &&
    "$REAL_MTASTSD" -c "$WORK/mtastsd.yaml" policy "$1" | cmp -s - "$WORK/got.$1"
}
all_valid() { local d; for d in "$@"; do valid "$d" || return 1; done; }

# ---- 10 names over http-01
t0=$(date +%s%N)
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"
# an operator's domain fetched over and over while names are ordered: not one failure allowed
(
  while :; do
    if tls_get mta-sts.ops.example.com "$P" /.well-known/mta-sts.txt -o /dev/null -f 2>/dev/null; then echo ok
    else echo bad; fi
    sleep 0.05
  done >"$WORK/loop.out"
) &
LOOP=$!
EXTRA_PIDS="$EXTRA_PIDS $LOOP"
wait_until 120 "10 http-01 names served with pebble's certificates" all_valid "${HTTP_DOMAINS[@]}" ||
  fail "not every http-01 name is served: $(grep 'acme:' "$WORK/serve.log" | tail -n 5)"
t1=$(date +%s%N)
echo "# 10 names over http-01 issued and served in $(( (t1 - t0) / 1000000 )) ms from serve's start"
ok "10 names over http-01: every policy fetched over HTTPS, verified with pebble's root"
check "one log line per issued name (http-01)" \
  [ "$(grep -c 'acme: mta-sts.h[0-9]*.example.com: issued in' "$WORK/serve.log")" = 10 ]
check "orders issued: 10" [ "$(metric 'mtastsd_acme_orders_total{result="issued"}')" = 10 ]
check "no order failed" [ "$(metric 'mtastsd_acme_orders_total{result="failed"}')" = 0 ]
check "the operator's domain was never ordered" bash -c '! grep -q "mta-sts.ops.example.com" "$1"' _ "$WORK/pebble.log"
check "the issued pairs are in storage certs/" [ "$(ls "$STORE/certs" | grep -c '^mta-sts\.h.*\.crt$')" = 10 ]
check "no challenge file left behind" [ -z "$(find "$STORE/challenges" -type f)" ]

# ---- 10 more over tls-alpn-01, by a reload; one name pebble cannot validate (its DNS fails
# there), one whose host does not resolve here (not in serve's hosts file)
curl -fsS -X POST -d '{"host":"mta-sts.refused.example.com."}' "$CHALL/set-servfail" || fail "set-servfail"
config "$P" "$H" "$ADMIN_PORT" true tls-alpn-01 "$WORK/state" "${HTTP_DOMAINS[@]}" "${ALPN_DOMAINS[@]}" \
  refused.example.com dnswait.example.com >"$WORK/mtastsd.yaml.new"
mv "$WORK/mtastsd.yaml.new" "$WORK/mtastsd.yaml"
t0=$(date +%s%N)
wait_until 120 "10 tls-alpn-01 names served with pebble's certificates" all_valid "${ALPN_DOMAINS[@]}" ||
  fail "not every tls-alpn-01 name is served: $(grep 'acme:' "$WORK/serve.log" | tail -n 5)"
t1=$(date +%s%N)
echo "# 10 names over tls-alpn-01 issued and served in $(( (t1 - t0) / 1000000 )) ms from the config change"
ok "10 names over tls-alpn-01: every policy fetched over HTTPS, verified with pebble's root"
check "orders issued: 20" [ "$(metric 'mtastsd_acme_orders_total{result="issued"}')" = 20 ]
check "every t name validated over tls-alpn-01 by serve" [ "$(grep -o "answering the tls-alpn-01 challenge of 'mta-sts.t[0-9]*" \
  "$WORK/serve.log" | sort -u | wc -l)" = 10 ]
check "pebble validated no t name over http-01" bash -c '! grep -q "validate w/ HTTP: http://mta-sts.t" "$1"' _ "$WORK/pebble.log"
check "no challenge file left behind (tls-alpn-01)" [ -z "$(find "$STORE/challenges" -type f)" ]
wait_until 20 "the names gauge at 20 valid" bash -c '[ "$(curl -sS "http://127.0.0.1:$1/metrics" |
  awk '"'"'$1 == "mtastsd_acme_names{state=\"valid\"}" { print $2 }'"'"')" = 20 ]' _ "$ADMIN_PORT" || bad "names gauge"
check "two hosts without a certificate (the refused one, the one waiting for DNS)" \
  [ "$(metric mtastsd_hosts_without_certificate)" = 2 ]
check "the refused name's order failed" [ "$(metric 'mtastsd_acme_orders_total{result="failed"}')" -ge 1 ]
check "the refused name is in backoff" [ "$(metric 'mtastsd_acme_names{state="backoff"}')" = 1 ]
check "one name waits for DNS" [ "$(metric 'mtastsd_acme_names{state="waiting_dns"}')" = 1 ]
check "the name waiting for DNS was never ordered" bash -c '! grep -q "mta-sts.dnswait.example.com" "$1"' _ "$WORK/pebble.log"
check "a log line says it waits for DNS" grep -q 'acme: mta-sts.dnswait.example.com: waiting for DNS' "$WORK/serve.log"
check "a log line says the refused order failed, with the next attempt" \
  grep -q 'acme: mta-sts.refused.example.com: order failed (1 in a row), next attempt at ' "$WORK/serve.log"
line=$(grep '^mta-sts.refused.example.com' "$STORE/state" || true)
check "the state keeps the failure and the CA's detail (${line:0:160})" \
  bash -c '[[ "$1" == mta-sts.refused.example.com$'"'"'\t'"'"'1$'"'"'\t'"'"'20* ]] && [[ "$1" == *refused.example.com* ]]' _ "$line"

# ---- another instance on the same storage: order: false runs and answers, order: true is refused
P2=$(free_port) H2=$(free_port) A2=$(free_port)
config "$P2" "$H2" "$A2" false http-01 "$WORK/state2" "${HTTP_DOMAINS[@]}" "${ALPN_DOMAINS[@]}" >"$WORK/replica.yaml"
"$MTASTSD" -c "$WORK/replica.yaml" serve 2>"$WORK/replica.log" &
REPLICA=$!
EXTRA_PIDS="$EXTRA_PIDS $REPLICA"
wait_until 20 "the order: false replica's /healthz" curl -fs -o /dev/null "http://127.0.0.1:$A2/healthz" ||
  fail "the replica did not start: $(cat "$WORK/replica.log")"
check "the replica serves ACME's certificates from the shared storage" curl -sS -f --max-time 5 \
  --resolve "mta-sts.t3.example.com:$P2:127.0.0.1" --cacert "$WORK/root.pem" -o /dev/null \
  "https://mta-sts.t3.example.com:$P2/.well-known/mta-sts.txt"
P3=$(free_port) H3=$(free_port) A3=$(free_port)
config "$P3" "$H3" "$A3" true http-01 "$WORK/state3" "${HTTP_DOMAINS[@]}" >"$WORK/second.yaml"
rc=0; timeout 20 "$MTASTSD" -c "$WORK/second.yaml" serve 2>"$WORK/second.log" || rc=$?
FAIL_SHOW="$WORK/second.log"
check "a second order: true on the same storage is refused (exit $rc)" [ "$rc" = 1 ]
check "its error names the storage folder" grep -q "$STORE" "$WORK/second.log"
check "its error says to set acme.order: false" grep -q 'acme.order: false' "$WORK/second.log"
kill -TERM "$REPLICA"; wait "$REPLICA" 2>/dev/null || true
EXTRA_PIDS=${EXTRA_PIDS//" $REPLICA"/}

# ---- the operator's domain never failed while names were ordered
kill "$LOOP" 2>/dev/null || true
wait "$LOOP" 2>/dev/null || true
EXTRA_PIDS=${EXTRA_PIDS//" $LOOP"/}
FAIL_SHOW="$WORK/loop.out"
check "the operator's domain: $(grep -c '^ok' "$WORK/loop.out") fetches, none failed" \
  bash -c '! grep -q "^bad" "$1" && grep -q "^ok" "$1"' _ "$WORK/loop.out"

# ---- a restart orders nothing
orders_before=$(grep -c 'POST /order-plz' "$WORK/pebble.log" || true)
t0=$(date +%s%N)
stop_server || bad "serve did not stop cleanly"
t1=$(date +%s%N)
echo "# serve stopped in $(( (t1 - t0) / 1000000 )) ms"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start again"
wait_until 20 "the restarted orderer's plan" bash -c '[ "$(curl -sS "http://127.0.0.1:$1/metrics" |
  awk '"'"'$1 == "mtastsd_acme_names{state=\"valid\"}" { print $2 }'"'"')" = 20 ]' _ "$ADMIN_PORT" ||
  bad "after a restart, 20 names valid"
sleep 2
check "after a restart: every policy still served" all_valid "${HTTP_DOMAINS[@]}" "${ALPN_DOMAINS[@]}"
check "after a restart: no order (metric)" [ "$(metric 'mtastsd_acme_orders_total{result="issued"}')" = 0 ]
# the refused name may come to its retry meanwhile: any new order must be that one's, failed
failed_after=$(metric 'mtastsd_acme_orders_total{result="failed"}')
check "after a restart: no new order at pebble but the refused name's retries ($orders_before before, $failed_after failed since)" \
  [ "$(grep -c 'POST /order-plz' "$WORK/pebble.log" || true)" = "$((orders_before + failed_after))" ]
check "after a restart: the refused name's backoff was kept" \
  [ "$(metric 'mtastsd_acme_names{state="backoff"}')" = 1 ]

check "serve stops cleanly" stop_server
finish
