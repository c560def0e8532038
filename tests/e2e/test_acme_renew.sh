#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# serve's ACME orderer renews by itself: pebble issues certificates valid for 40 s, so the
# fallback schedule (half the lifetime left under 10 days, made earlier by up to a tenth of that)
# comes around within the test; each name is issued, then renewed without a restart, the new
# certificate (another serial, a later notAfter) served in place of the old, and the state's
# renewal time moves on. Three client loops fetch the policies of both renewed hosts and of a
# host with the operator's certificate all through the swaps, each over a new TLS connection
# verified against pebble's root (or the operator's CA): not one request may fail.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

P=$(free_port) H=$(free_port) ADMIN_PORT=$(free_port)
LIFETIME=40
# under AddressSanitizer an order takes 10 to 20 s: the old certificate would expire before the renewal
if ldd "$MTASTSD" 2>/dev/null | grep -q libasan; then LIFETIME=120; fi
PEBBLE_VALIDITY=$LIFETIME pebble_setup "$H" "$P"
pebble_start
NAMES=(r1.example.com r2.example.com)
for d in "${NAMES[@]}"; do echo "127.0.0.1 mta-sts.$d"; done >"$WORK/hosts"
serve_with_hosts "$WORK/hosts"

gen_certs "$WORK/certs" ops.example.com
{
  serve_head "$P" "$H" "$ADMIN_PORT" "$WORK/certs"
  acme_order_conf "$WORK/acme" "challenges: [http-01]"
  echo "  - {name: ops.example.com, acme: false}"
  for d in "${NAMES[@]}"; do echo "  - $d"; done
} >"$WORK/mtastsd.yaml"

# leaf HOST: "serial=... notAfter=..." of the certificate served for HOST (empty when none)
leaf() {
  openssl s_client -connect "127.0.0.1:$P" -servername "mta-sts.$1" -CAfile "$WORK/root.pem" </dev/null 2>/dev/null |
    openssl x509 -noout -serial -enddate 2>/dev/null | tr '\n' ' ' || true
}
issued() { [ "$(grep -c "acme: mta-sts.$1: issued in" "$WORK/serve.log" || true)" -ge "$2" ]; }

start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"
for d in "${NAMES[@]}"; do
  wait_until 90 "mta-sts.$d issued" issued "$d" 1 || fail "mta-sts.$d not issued"
  wait_until 10 "mta-sts.$d served" bash -c '[ -n "$(openssl s_client -connect "127.0.0.1:$1" -servername "mta-sts.$2" \
    -CAfile "$3" -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null)" ]' \
    _ "$P" "$d" "$WORK/root.pem" || fail "mta-sts.$d not served"
done
declare -A first
for d in "${NAMES[@]}"; do first[$d]=$(leaf "$d"); done

# three loops, each fetching every host in turn until the file stop appears; one line per request
cat "$WORK/root.pem" "$WORK/certs/ca.crt" >"$WORK/trust.pem"
fetch_loop() {
  local d
  while [ ! -e "$WORK/stop" ]; do
    for d in "${NAMES[@]}" ops.example.com; do
      if curl -sS -f --max-time 5 --resolve "mta-sts.$d:$P:127.0.0.1" --cacert "$WORK/trust.pem" -o /dev/null \
        "https://mta-sts.$d:$P/.well-known/mta-sts.txt" 2>>"$WORK/loop.err"; then echo "ok $d"
      else echo "bad $d $(date +%T.%N)"; fi
    done
  done
}
LOOPS=""
for i in 1 2 3; do
  fetch_loop >"$WORK/loop$i.out" &
  LOOPS="$LOOPS $!"
done
EXTRA_PIDS="$EXTRA_PIDS $LOOPS"

r1=$(awk -F'\t' '$1 == "mta-sts.r1.example.com" { print $5 }' "$WORK/acme/state")
check "the first renewal time is in the state ($r1)" bash -c '[ -n "$1" ] && [ "$1" != - ]' _ "$r1"
t0=$(date +%s)
for d in "${NAMES[@]}"; do
  wait_until $((LIFETIME + 20)) "mta-sts.$d renewed" issued "$d" 2 || bad "mta-sts.$d renewed"
done
echo "# both names renewed $(( $(date +%s) - t0 )) s after the first issuance was served (lifetime $LIFETIME s)"
# the new certificate is served once the reload the issuance asks for is done
changed() { local d; for d in "${NAMES[@]}"; do [ "$(leaf "$d")" != "${first[$d]}" ] || return 1; done; }
wait_until 10 "the renewed certificates served" changed || bad "the renewed certificates served"
# the loops go on over the new certificates for a few more rounds
rounds() { [ "$(cat "$WORK"/loop[123].out | wc -l)" -ge "$1" ]; }
wait_until 20 "more requests after the swap" rounds $(( $(cat "$WORK"/loop[123].out | wc -l) + 30 )) || true
touch "$WORK/stop"
# shellcheck disable=SC2086
wait $LOOPS || true  # each ends at its next round (a request times out after 5 s)
for pid in $LOOPS; do EXTRA_PIDS=${EXTRA_PIDS//" $pid"/}; done
total=$(cat "$WORK"/loop[123].out | wc -l)
fails=$(cat "$WORK"/loop[123].out | grep -c '^bad' || true)
[ "$fails" = 0 ] || { grep -h '^bad' "$WORK"/loop[123].out | head -n 5; head -n 5 "$WORK/loop.err"; }
check "3 client loops through both renewals: $total requests, $fails failed" \
  bash -c '[ "$1" -ge 60 ] && [ "$2" = 0 ]' _ "$total" "$fails"
for d in "${NAMES[@]}" ops.example.com; do
  check "requests for mta-sts.$d during the renewals" grep -q "^ok $d\$" "$WORK/loop1.out"
done
for d in "${NAMES[@]}"; do
  now=$(leaf "$d")
  s0=$(grep -o 'serial=[0-9A-F]*' <<<"${first[$d]}") s1=$(grep -o 'serial=[0-9A-F]*' <<<"$now")
  e0=$(grep -o 'notAfter=.*GMT' <<<"${first[$d]}") e1=$(grep -o 'notAfter=.*GMT' <<<"$now")
  check "mta-sts.$d: renewed without a restart, another serial served ($s0 -> $s1)" \
    bash -c '[ -n "$2" ] && [ "$1" != "$2" ]' _ "$s0" "$s1"
  check "mta-sts.$d: the served notAfter moved on (${e0#notAfter=} -> ${e1#notAfter=})" \
    bash -c '[ -n "$1" ] && [ -n "$2" ] && [ "$(date -d "$2" +%s)" -gt "$(date -d "$1" +%s)" ]' _ "${e0#notAfter=}" "${e1#notAfter=}"
done
r2=$(awk -F'\t' '$1 == "mta-sts.r1.example.com" { print $5 }' "$WORK/acme/state")
check "the renewal time moved on ($r1 -> $r2)" [ "$r2" \> "$r1" ]
check "no order failed" [ "$(metric 'mtastsd_acme_orders_total{result="failed"}')" = 0 ]
check "serve stops cleanly" stop_server
finish
