#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# External account binding (RFC 8555 section 7.3.4) against pebble started with
# externalAccountBindingRequired and one MAC key: without acme.eab the order fails at once with
# one line naming the key to set; with the wrong MAC key pebble refuses the new account and its
# detail is in the one failure line; with the right key, given by a reload of that process, the
# next attempt creates the account (pebble logs the binding of kid-1) and the name is issued and
# served.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

P=$(free_port) H=$(free_port) ADMIN_PORT=$(free_port)
pebble_setup "$H" "$P"
MAC=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
WRONG=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
sed -i "s|\"externalAccountBindingRequired\": false|\"externalAccountBindingRequired\": true, \"externalAccountMACKeys\": {\"kid-1\": \"$MAC\"}|" \
  "$WORK/pebble.json"
grep -q '"externalAccountMACKeys"' "$WORK/pebble.json" || fail "pebble's config has no MAC keys"
pebble_start
NAME=eab.example.com
echo "127.0.0.1 mta-sts.$NAME" >"$WORK/hosts"
serve_with_hosts "$WORK/hosts"

# run TAG [EAB LINE]: serve with a storage of its own, its log in $WORK/TAG.log, until a name's
# outcome (issued or failed) is logged
run() {
  local tag="$1"
  shift
  { serve_head "$P" "$H" "$ADMIN_PORT" "$WORK/certs"
    acme_order_conf "$WORK/acme-$tag" "challenges: [http-01]" "$@"
    echo "  - $NAME"
  } >"$WORK/$tag.yaml"
  : >"$WORK/serve.log"
  start_server "$WORK/$tag.yaml" "$ADMIN_PORT" || fail "$tag: serve did not start"
  wait_until 60 "$tag: an outcome" grep -Eq "acme: mta-sts.$NAME: (issued in|order failed)" "$WORK/serve.log" ||
    bad "$tag: an outcome logged"
  cp "$WORK/serve.log" "$WORK/$tag.log"
}
mkdir -p "$WORK/certs"

run none
FAIL_SHOW="$WORK/none.log"
line=$(grep "order failed" "$WORK/none.log" || true)
check "no binding: one failure line naming acme.eab ($line)" \
  bash -c '[ "$(wc -l <<<"$1")" = 1 ] && [[ "$1" == *"requires external account binding: set acme.eab"* ]]' _ "$line"
check "serve stops cleanly" stop_server

run wrong "eab: {kid: kid-1, hmac_key: \"$WRONG\"}"
FAIL_SHOW="$WORK/wrong.log"
line=$(grep "order failed" "$WORK/wrong.log" || true)
check "wrong MAC key: one failure line with pebble's detail ($line)" \
  bash -c '[ "$(wc -l <<<"$1")" = 1 ] && [[ "$1" == *"new account: external account binding JWS verification error"* ]]' _ "$line"
check "wrong MAC key: the key does not appear in the log" bash -c '! grep -qF "$1" "$2"' _ "$WRONG" "$WORK/wrong.log"

# the right key by a reload of the same process: the next attempt (after the first backoff,
# about a minute) binds with it, not with the key the first client was made with
sed -i "s|$WRONG|$MAC|" "$WORK/wrong.yaml"
kill -HUP "$SERVER_PID"
wait_until 150 "issued after the reload" grep -q "acme: mta-sts.$NAME: issued in" "$WORK/serve.log" || true
cp "$WORK/serve.log" "$WORK/right.log"
FAIL_SHOW="$WORK/right.log"
check "right MAC key after a reload: the name is issued" grep -q "acme: mta-sts.$NAME: issued in" "$WORK/right.log"
check "one failure only, before the reload" [ "$(grep -c 'order failed' "$WORK/right.log")" = 1 ]
check "pebble bound the new account to kid-1" grep -q 'Successful newAccount Binding with CA using kid "kid-1"' "$WORK/pebble.log"
check "the certificate is served and verifies against pebble's root" wait_until 10 "served" bash -c \
  '[ -n "$(openssl s_client -connect "127.0.0.1:$1" -servername "mta-sts.$2" -CAfile "$3" -verify_return_error \
    </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null)" ]' _ "$P" "$NAME" "$WORK/root.pem"
check "serve stops cleanly" stop_server
finish
