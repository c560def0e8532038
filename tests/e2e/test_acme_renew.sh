#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# serve's ACME orderer renews by itself: pebble issues certificates valid for 40 s, so the
# fallback schedule (half the lifetime left under 10 days, made earlier by up to a tenth of that)
# comes around within the test; each name is issued, then renewed without a restart, the new
# certificate served in place of the old, and the state's renewal time moves on.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

P=$(free_port) H=$(free_port) ADMIN_PORT=$(free_port)
PEBBLE_VALIDITY=40 pebble_setup "$H" "$P"
pebble_start
NAMES=(r1.example.com r2.example.com)
for d in "${NAMES[@]}"; do echo "127.0.0.1 mta-sts.$d"; done >"$WORK/hosts"
serve_with_hosts "$WORK/hosts"

mkdir -p "$WORK/certs"
{
  serve_head "$P" "$H" "$ADMIN_PORT" "$WORK/certs"
  cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
acme:
  directory: $DIR_URL
  ca_file: $WORK/pebble.crt
  agree_terms: true
  storage: $WORK/acme
  challenges: [http-01]
defaults:
  mode: testing
  mx: [mx.example.com]
domains:
EOF
  for d in "${NAMES[@]}"; do echo "  - $d"; done
} >"$WORK/mtastsd.yaml"

# serial HOST: the serial of the certificate served for HOST (empty when none)
serial() {
  openssl s_client -connect "127.0.0.1:$P" -servername "mta-sts.$1" -CAfile "$WORK/root.pem" </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null || true
}
issued() { grep -c "acme: mta-sts.$1: issued in" "$WORK/serve.log" || true; }

start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"
for d in "${NAMES[@]}"; do
  wait_until 60 "mta-sts.$d issued" bash -c '[ -n "$(openssl s_client -connect "127.0.0.1:$1" -servername "mta-sts.$2" \
    </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null)" ]' _ "$P" "$d" || fail "mta-sts.$d not issued"
done
declare -A first
for d in "${NAMES[@]}"; do first[$d]=$(serial "$d"); done
r1=$(awk -F'\t' '$1 == "mta-sts.r1.example.com" { print $5 }' "$WORK/acme/state")
check "the first renewal time is in the state ($r1)" [ -n "$r1" ] && [ "$r1" != - ]
t0=$(date +%s)
for d in "${NAMES[@]}"; do
  wait_until 60 "mta-sts.$d renewed" bash -c '[ "$(grep -c "acme: mta-sts.$1: issued in" "$2")" -ge 2 ]' _ "$d" \
    "$WORK/serve.log" || bad "mta-sts.$d renewed"
done
echo "# both names renewed $(( $(date +%s) - t0 )) s after the first issuance was served (lifetime 40 s)"
sleep 1
for d in "${NAMES[@]}"; do
  now=$(serial "$d")
  check "mta-sts.$d: renewed without a restart, the new certificate served (${first[$d]} -> $now)" \
    bash -c '[ -n "$2" ] && [ "$1" != "$2" ]' _ "${first[$d]}" "$now"
done
r2=$(awk -F'\t' '$1 == "mta-sts.r1.example.com" { print $5 }' "$WORK/acme/state")
check "the renewal time moved on ($r1 -> $r2)" [ "$r2" \> "$r1" ]
check "no order failed" [ "$(metric 'mtastsd_acme_orders_total{result="failed"}')" = 0 ]
check "serve stops cleanly" stop_server
finish
