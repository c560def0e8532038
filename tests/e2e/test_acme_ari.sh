#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ACME renewal information (RFC 9773) in serve's orderer, end to end.
#
# Debian's pebble (2.4.0) has no renewalInfo, so it cannot test ARI by itself. Phase 1 runs
# against pebble as it is and checks that without renewalInfo nothing changes: no query, the
# renewal time from the lifetime rule, no ARI time in the state. Phase 2 puts a small HTTPS
# stand-in (tests/e2e/ari_standin.py: python3 http.server with ssl and a certificate from the
# test CA of scripts/gen-dev-certs) in front of pebble: it adds renewalInfo to the directory and
# answers that one resource itself, passing every other request on to pebble, which still
# issues. The orderer then asks renewalInfo for the certificate issued in phase 1 (identifier
# checked against one computed from the certificate), takes a renewal time inside the window,
# asks again when the Retry-After (clamped to a minute) has passed, renews at once when the
# window is in the past, naming the old certificate in "replaces", orders once more without it
# when the CA refuses it (alreadyReplaced), and asks for each new certificate right after
# issuance. Phase 3: a name whose domain is removed counts as configured while the domain is
# retiring; a reload after that logs it and marks its state, keeping its pair; adding it back
# clears the mark without a new order.
. "$(dirname "$0")/lib.sh"
need curl openssl python3 unshare

P=$(free_port) H=$(free_port) ADMIN_PORT=$(free_port) SPORT=$(free_port)
pebble_setup "$H" "$P"
pebble_start
gen_certs "$WORK/standin" ari.test
cat "$WORK/pebble.crt" "$WORK/standin/ca.crt" >"$WORK/ca-bundle.pem"
printf '127.0.0.1 %s\n' mta-sts.a1.example.com mta-sts.a2.example.com mta-sts.ari.test >"$WORK/hosts"
serve_with_hosts "$WORK/hosts"
STATE="$WORK/acme/state"
NAME=mta-sts.a1.example.com

# config DIRECTORY DOMAIN...: the test's configuration on stdout
config() {
  local dir="$1" d; shift
  serve_head "$P" "$H" "$ADMIN_PORT" "$WORK/certs"
  cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
acme:
  directory: $dir
  ca_file: $WORK/ca-bundle.pem
  agree_terms: true
  storage: $WORK/acme
  challenges: [http-01]
defaults:
  mode: testing
  max_age: 20
  mx: [mx.example.com]
domains:
EOF
  for d in "$@"; do echo "  - $d"; done
}
mkdir -p "$WORK/certs"
# field N [NAME]: field N of NAME's state line
field() { awk -F'\t' -v n="${2:-$NAME}" -v f="$1" '$1 == n { print $f }' "$STATE"; }
export -f field
export STATE NAME
epoch() { date -ud "$1" +%s; }
issued() { grep -c "acme: $NAME: issued in" "$WORK/serve.log" || true; }
# certid PEM: the RFC 9773 identifier of the certificate, from openssl's reading of it
certid() {
  openssl x509 -in "$1" -noout -ext authorityKeyIdentifier -serial | python3 -c '
import base64, re, sys
t = sys.stdin.read()
aki = bytes.fromhex(re.search(r"Identifier: *\n\s*(?:keyid:)?([0-9A-F:]+)", t).group(1).replace(":", ""))
s = re.search(r"serial=([0-9A-F]+)", t).group(1)
s = bytes.fromhex(s if len(s) % 2 == 0 else "0" + s)
s = b"\0" + s if s[0] & 0x80 else s
b = lambda x: base64.urlsafe_b64encode(x).decode().rstrip("=")
print(b(aki) + "." + b(s))'
}

# ---- phase 1: pebble as it is, without renewalInfo
check "pebble's directory has no renewalInfo" bash -c '! curl -fsS --cacert "$1" "$2" | grep -q renewalInfo' _ \
  "$WORK/pebble.crt" "$DIR_URL"
config "$DIR_URL" a1.example.com >"$WORK/mtastsd.yaml"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"
wait_until 60 "$NAME issued" bash -c '[ -s "$1" ] && grep -q "acme: $2: issued in" "$3"' _ "$STATE" "$NAME" \
  "$WORK/serve.log" || fail "$NAME not issued"
sleep 1
check "phase 1: no renewalInfo query is logged" bash -c '! grep -q renewalInfo "$1"' _ "$WORK/serve.log"
check "phase 1: no ARI time in the state ($(field 6))" [ "$(field 6)" = - ]
check "phase 1: not marked as gone ($(field 7))" [ "$(field 7)" = - ]
cp "$WORK/acme/certs/$NAME.crt" "$WORK/cert1.pem"
nb=$(epoch "$(openssl x509 -in "$WORK/cert1.pem" -noout -startdate | cut -d= -f2)")
na=$(epoch "$(openssl x509 -in "$WORK/cert1.pem" -noout -enddate | cut -d= -f2)")
renew=$(epoch "$(field 5)")
life=$((na - nb + 1))
# the lifetime rule: a third of the lifetime left, made earlier by up to a tenth of that
check "phase 1: renewal at a third of the lifetime left ($(field 5))" \
  bash -c '[ "$1" -le $(($2 + 1 - $3 / 3)) ] && [ "$1" -ge $(($2 + 1 - $3 / 3 - $3 / 30 - 1)) ]' _ "$renew" "$na" "$life"
check "phase 1: serve stops cleanly" stop_server

# ---- phase 2: the stand-in in front of pebble, with renewalInfo
echo "future 1" >"$WORK/ari.plan"
python3 "$SOURCE_ROOT/tests/e2e/ari_standin.py" "$SPORT" "$WORK/standin/mta-sts.ari.test.crt" \
  "$WORK/standin/mta-sts.ari.test.key" "localhost:$ACME_PORT" "$WORK/pebble.crt" "$WORK" >"$WORK/standin.log" 2>&1 &
EXTRA_PIDS="$EXTRA_PIDS $!"
STANDIN="https://mta-sts.ari.test:$SPORT/dir"
wait_until 10 "the stand-in" curl -fs -o /dev/null --cacert "$WORK/standin/ca.crt" \
  --resolve "mta-sts.ari.test:$SPORT:127.0.0.1" "$STANDIN" || fail "the stand-in did not start"
ID1=$(certid "$WORK/cert1.pem")
config "$STANDIN" a1.example.com >"$WORK/mtastsd.yaml"
t0=$(date +%s)
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"
wait_until 30 "the first renewalInfo query" bash -c '[ -s "$1" ] && [ "$(field 6)" != - ]' _ "$WORK/ari.log" ||
  fail "no renewalInfo query"
t1=$(date +%s)
check "the certificate issued before renewalInfo existed is asked for, by its identifier ($ID1)" \
  [ "$(head -n 1 "$WORK/ari.log")" = "$ID1" ]
renew=$(epoch "$(field 5)") ari=$(epoch "$(field 6)")
check "the renewal time lies in the window 40 to 41 days ahead ($(field 5))" \
  bash -c '[ "$1" -ge $(($2 + 40 * 86400 - 5)) ] && [ "$1" -le $(($3 + 41 * 86400)) ]' _ "$renew" "$t0" "$t1"
check "Retry-After: 1 is taken as a minute ($(field 6))" \
  bash -c '[ "$1" -ge $(($2 + 60)) ] && [ "$1" -le $(($3 + 60)) ]' _ "$ari" "$t0" "$t1"
check "no order while the window is ahead" [ ! -e "$WORK/orders.log" ]

# the next answers: the window in the past (twice), then ahead again; the first replaces refused
printf 'past 1\npast 1\nfuture 3600\n' >"$WORK/ari.plan.new" && mv "$WORK/ari.plan.new" "$WORK/ari.plan"
echo 1 >"$WORK/ari.refuse"
wait_until 150 "two renewals and four queries" bash -c '[ "$(grep -c "acme: $1: issued in" "$2")" -ge 3 ] &&
  [ "$(wc -l <"$3")" -ge 4 ]' _ "$NAME" "$WORK/serve.log" "$WORK/ari.log" || bad "two renewals after a past window"
t2=$(date +%s)
echo "# second query and two renewals $((t2 - t1)) s after the first query"
sleep 1
mapfile -t IDS <"$WORK/ari.log"
mapfile -t ORD <"$WORK/orders.log"
ID3=$(certid "$WORK/acme/certs/$NAME.crt")
FAIL_SHOW="$WORK/ari.log $WORK/orders.log"
check "asked again after the Retry-After, for the same certificate (${IDS[1]:-})" [ "${IDS[1]:-}" = "$ID1" ]
check "the renewal names the old certificate in replaces, refused by the CA (${ORD[0]:-})" \
  bash -c '[[ "$1" == *"\"replaces\":\"$2\""*" refused" ]]' _ "${ORD[0]:-}" "$ID1"
check "ordered again at once without replaces (${ORD[1]:-})" \
  bash -c '[[ "$1" == "{\"identifiers\":"* && "$1" != *replaces* ]]' _ "${ORD[1]:-}"
check "the refusal is logged" grep -q "acme: $NAME: the CA refused \"replaces\" (new order: stand-in: already replaced): ordered without it" "$WORK/serve.log"
check "the new certificate is asked for right after issuance (${IDS[2]:-})" \
  bash -c '[ -n "$1" ] && [ "$1" != "$2" ]' _ "${IDS[2]:-}" "$ID1"
check "its past window renews it at once, replacing it (${ORD[2]:-})" \
  bash -c '[[ "$1" == *"\"replaces\":\"$2\"}" ]]' _ "${ORD[2]:-}" "${IDS[2]:-}"
check "the third certificate is asked for by its identifier ($ID3)" [ "${IDS[3]:-}" = "$ID3" ]
check "three orders in all" [ "${#ORD[@]}" = 3 ]
renew=$(epoch "$(field 5)") ari=$(epoch "$(field 6)")
check "its renewal time is in the window ahead ($(field 5))" [ "$renew" -ge $((t1 + 40 * 86400 - 5)) ]
check "Retry-After: 3600 kept as it is ($(field 6))" bash -c '[ "$1" -ge $(($2 + 3600)) ] && [ "$1" -le $(($3 + 3600)) ]' \
  _ "$ari" "$t1" "$t2"
check "the log says the renewal time came from the window" grep -q "acme: $NAME: issued in .*(in the CA's renewalInfo window)" "$WORK/serve.log"
served=$(openssl s_client -connect "127.0.0.1:$P" -servername "$NAME" </dev/null 2>/dev/null | openssl x509 -noout -serial)
check "the last certificate is the one served ($served)" [ "$served" = "$(openssl x509 -in "$WORK/acme/certs/$NAME.crt" -noout -serial)" ]
check "no order failed" [ "$(metric 'mtastsd_acme_orders_total{result="failed"}')" = 0 ]

# ---- phase 3: a name that leaves the configuration is marked, not removed; back, it is unmarked
# (max_age 20: a removed domain is retiring, and still served, for 20 s; a reload after that drops it)
config "$STANDIN" a2.example.com >"$WORK/mtastsd.yaml"
t3=$(date +%s)
kill -HUP "$SERVER_PID"
wait_until 60 "mta-sts.a2.example.com issued" grep -q "acme: mta-sts.a2.example.com: issued in" "$WORK/serve.log" ||
  bad "the domain added by the reload is issued"
check "while its domain is retiring the name counts as configured ($(field 7))" \
  bash -c '[ "$(field 7)" = - ] || [ $(date +%s) -ge $(($1 + 20)) ]' _ "$t3"
sleep $((t3 + 21 - $(date +%s) > 0 ? t3 + 21 - $(date +%s) : 0))
kill -HUP "$SERVER_PID"
wait_until 30 "$NAME marked as gone" bash -c '[ "$(field 7)" != - ]' || bad "$NAME marked as gone"
check "one line says it is kept for 30 days" grep -q "acme: $NAME: no longer configured; its state and certificate are kept until" "$WORK/serve.log"
check "its pair is still there" [ -s "$WORK/acme/certs/$NAME.crt" ]
config "$STANDIN" a1.example.com a2.example.com >"$WORK/mtastsd.yaml"
kill -HUP "$SERVER_PID"
wait_until 30 "$NAME back" bash -c '[ "$(field 7)" = - ]' || bad "$NAME unmarked"
check "one line says it is back" grep -q "acme: $NAME: configured again" "$WORK/serve.log"
check "it was not ordered again (issued three times in all: $(issued))" [ "$(issued)" = 3 ]
check "serve stops cleanly" stop_server
finish
