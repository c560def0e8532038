#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ACME client (server/acmeclient.c) against pebble, with pebble-challtestsrv as its DNS and
# http-01 responder, through the driver tests/acme/acme_issue: ten names issued one after
# another with one account (created once, found again by its key in a second run); each chain
# verifies against pebble's root and its leaf holds exactly its name; names pebble refuses
# (an illegal character, a name whose DNS fails) come back with the problem's type and detail
# without affecting the next name; after pebble restarts (its accounts forgotten) the client
# registers again and issues. Pebble keeps its default 5% rejection of good nonces on, so
# badNonce retries are exercised on the way.
. "$(dirname "$0")/lib.sh"
need curl openssl python3
DRIVER=${BUILD_DIR:?}/tests/acme/acme_issue
[ -x "$DRIVER" ] || fail "the driver $DRIVER is not built"

# challtestsrv answers http-01 here (the driver writes the answers through its API)
HTTP01_PORT=$(free_port) TLS01_PORT=$(free_port)
pebble_setup "$HTTP01_PORT" "$TLS01_PORT" -http01 "127.0.0.1:$HTTP01_PORT"
pebble_start

KEY="$WORK/account.key"
mkdir -p "$WORK/out"
# issue OUTFILE ITEM...: run the driver, its lines in OUTFILE
issue() {
  local out="$1"; shift
  "$DRIVER" "$DIR_URL" "$WORK/pebble.crt" "$KEY" "$CHALL" "$WORK/out" "$@" >"$out" 2>>"$WORK/driver.log" ||
    fail "the driver failed: $(cat "$out")"
}
field() { awk -v n="$2" -v k="$3" '$1 == k && $2 == n { print $'"$4"' }' "$1"; }
# verify_pair NAME: the chain verifies against pebble's current root, its leaf has exactly the
# SAN DNS:NAME, and the key written beside it is the leaf's
verify_pair() {
  local n="$1" crt="$WORK/out/$1.crt" san
  awk -v d="$WORK/out/$n" '/-----BEGIN CERTIFICATE-----/ { i++ } { print > (d ".part" i) }' "$crt"
  cat "$WORK/out/$n".part[2-9] >"$WORK/out/$n.chain" 2>/dev/null || true
  openssl verify -CAfile "$WORK/root.pem" -untrusted "$WORK/out/$n.chain" "$WORK/out/$n.part1" >/dev/null 2>&1 || return 1
  san=$(openssl x509 -in "$WORK/out/$n.part1" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ')
  [ "$san" = "DNS:$n" ] || { echo "$n: SAN is '$san'"; return 1; }
  [ "$(openssl x509 -in "$WORK/out/$n.part1" -noout -pubkey)" = "$(openssl pkey -in "$WORK/out/$n.key" -pubout)" ]
}

# ---- ten names, one account
NAMES=()
for i in $(seq 1 10); do NAMES+=("mta-sts.d$i.example.com"); done
t0=$(date +%s%N)
issue "$WORK/run1" "${NAMES[@]}"
t1=$(date +%s%N)
echo "# 10 names issued in $(( (t1 - t0) / 1000000 )) ms (one process, account created first; $(grep '^badNonce retries' "$WORK/run1"))"
check "ten names issued: $(grep -c '^ok ' "$WORK/run1") ok lines" [ "$(grep -c '^ok ' "$WORK/run1")" = 10 ]
ACCT=$(awk '$1 == "ok" { print $4 }' "$WORK/run1" | sort -u)
check "one account URL for every name ($ACCT)" [ "$(wc -l <<<"$ACCT")" = 1 ]
check "the driver created one account" grep -qx 'accounts created 1' "$WORK/run1"
check "pebble holds one account" bash -c "grep -c 'There are now [0-9]* accounts in memory' \"\$1\" | grep -qx 1" _ "$WORK/pebble.log"
bad_pairs=""
for n in "${NAMES[@]}"; do verify_pair "$n" || bad_pairs="$bad_pairs $n"; done
check "every chain verifies against pebble's root, leaf SAN = its name, key matches (bad:${bad_pairs:- none})" [ -z "$bad_pairs" ]

# ---- refused names do not stop the next one; the key's account is found, not created again
curl -fsS -X POST -d '{"host":"mta-sts.servfail.example.com."}' "$CHALL/set-servfail" || fail "set-servfail"
issue "$WORK/run2" mta-sts.servfail.example.com bad_name.example.com mta-sts.after.example.com
FAIL_SHOW="$WORK/run2"
line=$(grep '^fail mta-sts.servfail.example.com ' "$WORK/run2" || true)
check "a name whose DNS fails: its problem and detail ($line)" \
  bash -c '[[ "$1" =~ ^fail\ mta-sts.servfail.example.com\ 400\ [a-zA-Z]+\ -\ http-01\ challenge\ for\ .mta-sts.servfail.example.com.:\ .*mta-sts.servfail.example.com ]]' _ "$line"
line=$(grep '^fail bad_name.example.com ' "$WORK/run2" || true)
check "an illegal name: malformed, with pebble's detail ($line)" \
  bash -c '[[ "$1" == "fail bad_name.example.com 400 malformed - new order: "*"illegal character"* ]]' _ "$line"
check "the next name is issued" [ "$(field "$WORK/run2" mta-sts.after.example.com ok 1)" = ok ]
check "second run: the same account, found by its key" [ "$(field "$WORK/run2" mta-sts.after.example.com ok 4)" = "$ACCT" ]
check "second run: no account created" grep -qx 'accounts created 0' "$WORK/run2"
check "the name after the refusals verifies" verify_pair mta-sts.after.example.com

# ---- pebble restarts between two names of one process: its accounts are gone
"$DRIVER" "$DIR_URL" "$WORK/pebble.crt" "$KEY" "$CHALL" "$WORK/out" mta-sts.r1.example.com "@wait:$WORK/go" \
  mta-sts.r2.example.com >"$WORK/run3" 2>>"$WORK/driver.log" &
DRIVER_PID=$!
EXTRA_PIDS="$EXTRA_PIDS $DRIVER_PID"
wait_until 60 "the driver's first name" grep -q '^waiting ' "$WORK/run3" || fail "run3: $(cat "$WORK/run3")"
pebble_stop
pebble_start
touch "$WORK/go"
rc=0; wait "$DRIVER_PID" || rc=$?
EXTRA_PIDS=${EXTRA_PIDS//" $DRIVER_PID"/}
FAIL_SHOW="$WORK/run3"
check "restart: the driver ran to its end (exit $rc)" [ "$rc" = 0 ]
check "restart: the name before it issued" [ "$(field "$WORK/run3" mta-sts.r1.example.com ok 1)" = ok ]
check "restart: the name after it issued" [ "$(field "$WORK/run3" mta-sts.r2.example.com ok 1)" = ok ]
A1=$(field "$WORK/run3" mta-sts.r1.example.com ok 4) A2=$(field "$WORK/run3" mta-sts.r2.example.com ok 4)
check "restart: registered again, under a new account URL ($A1 then $A2)" bash -c '[ -n "$2" ] && [ "$1" != "$2" ]' _ "$A1" "$A2"
check "restart: one account created by this run" grep -qx 'accounts created 1' "$WORK/run3"
check "restart: the new chain verifies against the new root" verify_pair mta-sts.r2.example.com
if verify_pair mta-sts.r1.example.com >/dev/null; then bad "restart: the old chain verifies against the new root"
else ok "restart: the old chain does not verify against the new root (the check tells roots apart)"; fi
finish
