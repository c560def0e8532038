#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# serve's orderer prunes names that left the configuration: a state line whose name has been
# missing for more than 30 days goes with its pair in acme.storage/certs/ (one log line); one
# missing for 29 days stays; a configured name's mark is cleared; a pair without a state line
# gets one, marked from now. The 30 days are not waited for: the state file is written as if
# they had passed. Nothing is ordered (every configured domain brings its own certificate), so
# no CA is needed.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

P=$(free_port) ADMIN_PORT=$(free_port)
gen_certs "$WORK/certs" example.com back.example.com
gen_certs "$WORK/old" old.example.com kept.example.com orphan.example.com
STORE="$WORK/acme"
mkdir -p "$STORE/certs"
for d in old kept orphan; do
  cp "$WORK/old/mta-sts.$d.example.com.crt" "$WORK/old/mta-sts.$d.example.com.key" "$STORE/certs/"
done
chmod 600 "$STORE/certs/"*.key
ago() { date -ud "@$(( $(date +%s) - $1 * 86400 ))" +%Y-%m-%dT%H:%M:%SZ; }
{
  echo "mtastsd-acme-state 2"
  printf 'mta-sts.old.example.com\t0\t-\t2027-02-28T00:00:00Z\t2027-01-30T00:00:00Z\t-\t%s\t-\n' "$(ago 31)"
  printf 'mta-sts.kept.example.com\t0\t-\t2027-02-28T00:00:00Z\t2027-01-30T00:00:00Z\t-\t%s\t-\n' "$(ago 29)"
  printf 'mta-sts.back.example.com\t0\t-\t2027-02-28T00:00:00Z\t2027-01-30T00:00:00Z\t-\t%s\t-\n' "$(ago 40)"
} >"$STORE/state"
cp "$STORE/state" "$WORK/state.before"

{
  serve_head "$P" "" "$ADMIN_PORT" "$WORK/certs"
  cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
acme:
  directory: https://localhost:9/dir
  agree_terms: true
  storage: $STORE
  challenges: [tls-alpn-01]
defaults:
  mode: testing
  mx: [mx.example.com]
  acme: false
domains:
  - example.com
  - back.example.com
EOF
} >"$WORK/mtastsd.yaml"

field() { awk -F'\t' -v n="$1" -v f="$2" '$1 == n { print $f }' "$STORE/state"; }
t0=$(date +%s)
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"
wait_until 20 "the pruning pass" grep -q "acme: mta-sts.old.example.com: not configured since" "$WORK/serve.log" ||
  fail "nothing pruned"
sleep 0.5
FAIL_SHOW="$STORE/state $WORK/state.before"
check "missing for 31 days: its pair is removed" [ ! -e "$STORE/certs/mta-sts.old.example.com.crt" ] && \
  [ ! -e "$STORE/certs/mta-sts.old.example.com.key" ]
check "... and its state line" bash -c '! grep -q "^mta-sts.old.example.com	" "$1"' _ "$STORE/state"
check "one log line says so, with the date it left" \
  grep -q "acme: mta-sts.old.example.com: not configured since $(ago 31 | cut -c1-10)T.*: its state and certificate removed" "$WORK/serve.log"
check "missing for 29 days: its line as it was, its pair there" \
  bash -c '[ "$(grep "^mta-sts.kept" "$1")" = "$(grep "^mta-sts.kept" "$2")" ] && [ -s "$3" ]' _ "$STORE/state" \
  "$WORK/state.before" "$STORE/certs/mta-sts.kept.example.com.crt"
check "configured again: the mark is cleared ($(field mta-sts.back.example.com 7))" [ "$(field mta-sts.back.example.com 7)" = - ]
check "... with one log line" grep -q "acme: mta-sts.back.example.com: configured again" "$WORK/serve.log"
gone=$(field mta-sts.orphan.example.com 7)
check "a pair without a state line gets one, marked from now ($gone)" \
  bash -c '[ -n "$1" ] && [ "$1" != - ] && t=$(date -ud "$1" +%s) && [ "$t" -ge "$2" ] && [ "$t" -le $(($2 + 30)) ]' _ "$gone" "$t0"
check "... and one log line saying until when it is kept" \
  grep -q "acme: mta-sts.orphan.example.com: no longer configured; its state and certificate are kept until $(date -ud "@$((t0 + 30 * 86400))" +%Y-%m-%d)" "$WORK/serve.log"
check "its pair stays" [ -s "$STORE/certs/mta-sts.orphan.example.com.crt" ]
check "no temporary left in the storage" bash -c '[ -z "$(find "$1" -name "*.tmp.*" -o -name ".*" -type f)" ]' _ "$STORE"
check "the configured domain is still served" \
  curl -fsS -o /dev/null --cacert "$WORK/certs/ca.crt" --resolve "mta-sts.example.com:$P:127.0.0.1" \
  "https://mta-sts.example.com:$P/.well-known/mta-sts.txt"
check "serve stops cleanly" stop_server
finish
