#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# While `serve` runs for a state file it owns the ids (design.md: the new
# policy is served before its id is published): `mtastsd dns` run meanwhile
# with a changed config must not assign or save a new id, but print the
# records as serve published them and say why on stderr. Once serve reloads,
# the new id appears; once serve has stopped, `dns` assigns ids again.
source "$(dirname "$0")/lib.sh"
need curl python3

http_port=$(free_port)
ADMIN_PORT=$(free_port)
mkdir -p "$WORK/certs"

write_config() { # MODE
  { serve_head "" "$http_port" "$ADMIN_PORT"; cat <<YAML
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
  ttl: 300
domains:
  - name: a.example
    mode: $1
    mx: [mx.a.example]
    tlsrpt: ["mailto:tls@a.example"]
YAML
  } >"$WORK/mtastsd.yaml.new"
  mv "$WORK/mtastsd.yaml.new" "$WORK/mtastsd.yaml"
}
policy_mode() { curl -s -H "Host: mta-sts.a.example" "http://127.0.0.1:$http_port/.well-known/mta-sts.txt" | tr -d '\r' | grep '^mode:'; }
old_rec='_mta-sts.a.example. 300 IN TXT "v=STSv1; id=20260101000000;"'
# serve's clock is fixed: its new id is one second past the old one
new_rec='_mta-sts.a.example. 300 IN TXT "v=STSv1; id=20260101000001;"'
tls_rec='_smtp._tls.a.example. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@a.example"'

write_config testing
SOURCE_DATE_EPOCH=1767225600 start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"
wait_for 10 test -e "$WORK/state/mta-sts.zone" ||
  fail "serve did not publish the zone"
cp "$WORK/state/mtastsd.state" "$WORK/state.before"

# the config changes and serve has not reloaded yet: SIGSTOP keeps it from
# reloading (its file watch would) while it still holds its lock
kill -STOP "$SERVER_PID"
write_config enforce
set +e
SOURCE_DATE_EPOCH=1767229200 "$MTASTSD" -c "$WORK/mtastsd.yaml" dns >"$WORK/dns.out" 2>"$WORK/dns.err"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "dns exited $rc while serve runs: $(cat "$WORK/dns.err")"
grep -qi "serve.*owns the ids" "$WORK/dns.err" || fail "dns did not say serve owns the ids: $(cat "$WORK/dns.err")"
grep -qi "once serve reloads" "$WORK/dns.err" || fail "dns did not say when the changes appear: $(cat "$WORK/dns.err")"
grep -qxF "$old_rec" "$WORK/dns.out" || fail "dns did not print the id serve published: $(cat "$WORK/dns.out")"
grep -qxF "$tls_rec" "$WORK/dns.out" || fail "dns lost the TLSRPT record: $(cat "$WORK/dns.out")"
grep -q "2026010101000\|20260101000001" "$WORK/dns.out" && fail "dns printed an id for a policy serve does not serve: $(cat "$WORK/dns.out")"
cmp -s "$WORK/state/mtastsd.state" "$WORK/state.before" || fail "dns changed the state while serve owns it: $(cat "$WORK/state/mtastsd.state")"
# every format comes from the same published state
SOURCE_DATE_EPOCH=1767229200 "$MTASTSD" -c "$WORK/mtastsd.yaml" dns --format json >"$WORK/dns.json" 2>/dev/null ||
  fail "dns --format json failed while serve runs"
grep -q '"id": "20260101000000"' "$WORK/dns.json" || fail "json: $(cat "$WORK/dns.json")"
kill -CONT "$SERVER_PID"

# serve reloads (SIGHUP): it serves enforce, then publishes the new id
kill -HUP "$SERVER_PID"
for _ in $(seq 1 100); do
  grep -qxF "$new_rec" "$WORK/state/mta-sts.zone" 2>/dev/null && break
  sleep 0.1
done
grep -qxF "$new_rec" "$WORK/state/mta-sts.zone" || fail "serve did not publish the new id after reloading: $(cat "$WORK/state/mta-sts.zone")"
[ "$(policy_mode)" = "mode: enforce" ] || fail "serve does not serve the new policy: $(policy_mode)"
SOURCE_DATE_EPOCH=1767232800 "$MTASTSD" -c "$WORK/mtastsd.yaml" dns >"$WORK/dns.out" 2>"$WORK/dns.err" || fail "dns: $(cat "$WORK/dns.err")"
grep -qxF "$new_rec" "$WORK/dns.out" || fail "dns after the reload: $(cat "$WORK/dns.out")"

# serve stopped: dns owns the ids again
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
write_config none
SOURCE_DATE_EPOCH=1767232800 "$MTASTSD" -c "$WORK/mtastsd.yaml" dns >"$WORK/dns.out" 2>"$WORK/dns.err" || fail "dns after serve: $(cat "$WORK/dns.err")"
grep -qi "owns the ids" "$WORK/dns.err" && fail "dns still defers to a stopped serve: $(cat "$WORK/dns.err")"
grep -qxF '_mta-sts.a.example. 300 IN TXT "v=STSv1; id=20260101020000;"' "$WORK/dns.out" ||
  fail "dns did not assign an id once serve stopped: $(cat "$WORK/dns.out")"
grep -q "id=20260101020000" "$WORK/state/mtastsd.state" || fail "dns did not save the id once serve stopped"
echo "PASS: test_dns_owned"
