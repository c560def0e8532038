#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# serve's ACME orderer killed (SIGKILL) in the middle of issuing, at several points of an order:
# the account key just made, a challenge answer in place, a certificate issued by pebble but not
# yet stored, a pair just stored (the reload it asks for under way), a new order just created.
# After every kill the storage is whole: each certs/NAME.crt parses and its leaf's key is
# certs/NAME.key, the state file ends with its newline and loads (serve starts again without a
# complaint about it). serve is then restarted each time, and in the end every name is issued and
# served, and a restart after that orders nothing. A kill inside one of the atomic writes (a temporary half written, not yet renamed) is
# too short a moment to hit: the test writes such torn temporaries itself before the last start.
# That start, the orderer's, removes them and the challenge answers the killed orders left.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

P=$(free_port) H=$(free_port) ADMIN_PORT=$(free_port)
pebble_setup "$H" "$P"
pebble_start
NAMES=()
for i in $(seq 1 6); do NAMES+=("k$i.example.com"); done
for d in "${NAMES[@]}"; do echo "127.0.0.1 mta-sts.$d"; done >"$WORK/hosts"
serve_with_hosts "$WORK/hosts"
STORE="$WORK/acme"
mkdir -p "$WORK/certs"
{
  serve_head "$P" "$H" "$ADMIN_PORT" "$WORK/certs"
  acme_order_conf "$STORE" "pacing: {burst: 50, period: 45}"
  for d in "${NAMES[@]}"; do echo "  - $d"; done
} >"$WORK/mtastsd.yaml"

# whole: the storage as a kill may leave it is usable; prints what is wrong, returns 1 then
whole() {
  local crt key n=0 bad=0
  for crt in "$STORE"/certs/*.crt; do
    [ -e "$crt" ] || continue
    n=$((n + 1))
    key=${crt%.crt}.key
    if ! openssl x509 -in "$crt" -noout 2>/dev/null; then echo "${crt##*/} does not parse"; bad=1
    elif [ ! -f "$key" ]; then echo "${crt##*/} has no key"; bad=1
    elif [ "$(openssl x509 -in "$crt" -noout -pubkey)" != "$(openssl pkey -in "$key" -pubout 2>/dev/null)" ]; then
      echo "${crt##*/} is not the certificate of ${key##*/}"; bad=1
    fi
  done
  if [ -e "$STORE/state" ] && [ -n "$(tail -c 1 "$STORE/state")" ]; then echo "the state ends without its newline"; bad=1; fi
  if [ -e "$STORE/account.key" ] && ! openssl pkey -in "$STORE/account.key" -noout 2>/dev/null; then
    echo "account.key does not parse"; bad=1
  fi
  echo "$n pairs"
  return $bad
}
issued_count() { grep -c 'acme: mta-sts\.k[0-9]*\.example\.com: issued in' "$WORK/serve.log" || true; }
pebble_count() { grep -c "$1" "$WORK/pebble.log" || true; }
# kill_at WHAT COMMAND...: serve started, killed -9 the moment COMMAND succeeds (polled), the storage checked
kill_at() {
  local what="$1" out; shift
  start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start (before: $what)"
  if ! wait_for 60 "$@"; then bad "kill at '$what': the moment never came"; stop_server || true; return; fi
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  if out=$(whole); then ok "killed at '$what': the storage is whole ($out)"
  else bad "killed at '$what': $(tr '\n' ';' <<<"$out")"; fi
}
whole_quiet() { whole >/dev/null; }
leftovers() { find "$STORE" -type f \( -name '.*' -o -name '*.tmp.*' \) | sed "s|^$STORE/||" | sort; }

kill_at "the account key just written" test -e "$STORE/account.key"
n=$(pebble_count 'Added order')
kill_at "a new order created at pebble" bash -c '[ "$(grep -c "Added order" "$1")" -gt "$2" ]' _ "$WORK/pebble.log" "$n"
kill_at "a challenge answer in place" bash -c '[ -n "$(find "$1/challenges" -type f 2>/dev/null)" ]' _ "$STORE"
n=$(pebble_count 'Issued certificate serial')
kill_at "a certificate issued by pebble, not yet stored" \
  bash -c '[ "$(grep -c "Issued certificate serial" "$1")" -gt "$2" ]' _ "$WORK/pebble.log" "$n"
n=$(issued_count)
kill_at "a pair just stored, its reload under way" bash -c '[ "$(grep -c "issued in" "$1")" -gt "$2" ]' _ "$WORK/serve.log" "$n"
n=$(issued_count)
kill_at "a pair just stored, again" bash -c '[ "$(grep -c "issued in" "$1")" -gt "$2" ]' _ "$WORK/serve.log" "$n"
echo "# left behind by the kills: $(leftovers | tr '\n' ' ')$(find "$STORE/challenges" -type f | sed "s|^$STORE/||" | tr '\n' ' ')"
# torn temporaries, as a kill in the middle of acmestore's atomic writes leaves them
crt=$(ls "$STORE"/certs/*.crt | head -n1)
head -c 300 "$crt" >"$STORE/certs/.${crt##*/}.Ab12Cd"
head -c 40 "$STORE/state" >"$STORE/state.tmp.Ab12Cd"
head -c 40 "$STORE/account.key" >"$STORE/account.key.tmp.Ab12Cd"
printf 'LoqX' >"$STORE/challenges/http-01/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.tmp.Ab12Cd"

# ---- the last start: every name issued and served, nothing broken by what the kills left
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start after the kills"
valid() {
  curl -sS -f --max-time 5 --resolve "mta-sts.$1:$P:127.0.0.1" --cacert "$WORK/root.pem" -o /dev/null \
    "https://mta-sts.$1:$P/.well-known/mta-sts.txt" 2>/dev/null
}
all_valid() { local d; for d in "${NAMES[@]}"; do valid "$d" || return 1; done; }
wait_until 90 "every name issued and served after the kills" all_valid ||
  fail "not every name is served: $(grep 'acme:' "$WORK/serve.log" | tail -n 5)"
ok "after the kills and a restart: all ${#NAMES[@]} names issued and served with pebble's root"
check "the storage is whole at the end ($(whole | tail -n1))" whole_quiet
check "one pair per name" [ "$(ls "$STORE/certs" | grep -c '^mta-sts\.k[0-9]\.example\.com\.crt$')" = ${#NAMES[@]} ]
check "the state was never refused" bash -c '! grep -q "state file .* is broken\|ACME state" "$1"' _ "$WORK/serve.log"
check "one account at pebble for all the restarts" [ "$(grep -c 'There are now [0-9]* accounts in memory' "$WORK/pebble.log")" = 1 ]
check "every name in the state" [ "$(grep -c '^mta-sts\.k[0-9]\.example\.com	' "$STORE/state")" = ${#NAMES[@]} ]
left=$(find "$STORE/challenges" -type f | sed "s|^$STORE/||" | tr '\n' ' ')
check "no challenge answer left behind (${left:-none})" [ -z "$left" ]
left=$(leftovers | tr '\n' ' ')
check "no temporary left behind (${left:-none})" [ -z "$left" ]
check "serve stops cleanly" stop_server

# ---- and one more start: the state the kills left behind says every name is valid
orders=$(pebble_count 'Added order')
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start the last time"
valid_all() { [ "$(metric 'mtastsd_acme_names{state="valid"}')" = ${#NAMES[@]} ]; }
wait_until 20 "the orderer's plan: every name valid" valid_all || bad "after a restart, every name valid"
new_order() { [ "$(pebble_count 'Added order')" != "$orders" ]; }
if wait_for 2 new_order; then bad "a restart after the kills ordered again"; else ok "a restart after the kills orders nothing"; fi
check "serve stops cleanly again" stop_server
finish
