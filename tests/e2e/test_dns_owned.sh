#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# While `serve` runs for a state file it owns the ids (design.md: the new
# policy is served before its id is published): `mtastsd dns` run meanwhile
# with a changed config must not assign or save a new id, but print the
# records as serve published them and say why on stderr. Once serve reloads,
# the new id appears; once serve has stopped, `dns` assigns ids again.
set -euo pipefail

: "${MTASTSD:?MTASTSD must name the mtastsd binary}"
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed"; exit 77; }
done

work=$(mktemp -d /tmp/test_dns_owned.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- serve log" >&2; cat "$work/serve.log" >&2 || true; exit 1; }

ports=$(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
read -r http_port admin_port <<<"$ports"
mkdir -p "$work/certs"

write_config() { # MODE
  cat >"$work/mtastsd.yaml.new" <<YAML
listen:
  https: []
  http: ["127.0.0.1:$http_port"]
  admin: "127.0.0.1:$admin_port"
tls:
  certs: certs/
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
  mv "$work/mtastsd.yaml.new" "$work/mtastsd.yaml"
}
policy_mode() { curl -s -H "Host: mta-sts.a.example" "http://127.0.0.1:$http_port/.well-known/mta-sts.txt" | tr -d '\r' | grep '^mode:'; }
old_rec='_mta-sts.a.example. 300 IN TXT "v=STSv1; id=20260101000000;"'
# serve's clock is fixed: its new id is one second past the old one
new_rec='_mta-sts.a.example. 300 IN TXT "v=STSv1; id=20260101000001;"'
tls_rec='_smtp._tls.a.example. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@a.example"'

write_config testing
SOURCE_DATE_EPOCH=1767225600 "$MTASTSD" -c "$work/mtastsd.yaml" serve 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 1 100); do
  [ -e "$work/state/mta-sts.zone" ] && curl -fs -o /dev/null "http://127.0.0.1:$admin_port/healthz" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || fail "serve exited during start-up"
  sleep 0.1
done
[ -e "$work/state/mta-sts.zone" ] || fail "serve did not publish the zone"
cp "$work/state/mtastsd.state" "$work/state.before"

# the config changes and serve has not reloaded yet: SIGSTOP keeps it from
# reloading (its file watch would) while it still holds its lock
kill -STOP "$server_pid"
write_config enforce
set +e
SOURCE_DATE_EPOCH=1767229200 "$MTASTSD" -c "$work/mtastsd.yaml" dns >"$work/dns.out" 2>"$work/dns.err"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "dns exited $rc while serve runs: $(cat "$work/dns.err")"
grep -qi "serve.*owns the ids" "$work/dns.err" || fail "dns did not say serve owns the ids: $(cat "$work/dns.err")"
grep -qi "once serve reloads" "$work/dns.err" || fail "dns did not say when the changes appear: $(cat "$work/dns.err")"
grep -qxF "$old_rec" "$work/dns.out" || fail "dns did not print the id serve published: $(cat "$work/dns.out")"
grep -qxF "$tls_rec" "$work/dns.out" || fail "dns lost the TLSRPT record: $(cat "$work/dns.out")"
grep -q "2026010101000\|20260101000001" "$work/dns.out" && fail "dns printed an id for a policy serve does not serve: $(cat "$work/dns.out")"
cmp -s "$work/state/mtastsd.state" "$work/state.before" || fail "dns changed the state while serve owns it: $(cat "$work/state/mtastsd.state")"
# every format comes from the same published state
SOURCE_DATE_EPOCH=1767229200 "$MTASTSD" -c "$work/mtastsd.yaml" dns --format json >"$work/dns.json" 2>/dev/null ||
  fail "dns --format json failed while serve runs"
grep -q '"id": "20260101000000"' "$work/dns.json" || fail "json: $(cat "$work/dns.json")"
kill -CONT "$server_pid"

# serve reloads (SIGHUP): it serves enforce, then publishes the new id
kill -HUP "$server_pid"
for _ in $(seq 1 100); do
  grep -qxF "$new_rec" "$work/state/mta-sts.zone" 2>/dev/null && break
  sleep 0.1
done
grep -qxF "$new_rec" "$work/state/mta-sts.zone" || fail "serve did not publish the new id after reloading: $(cat "$work/state/mta-sts.zone")"
[ "$(policy_mode)" = "mode: enforce" ] || fail "serve does not serve the new policy: $(policy_mode)"
SOURCE_DATE_EPOCH=1767232800 "$MTASTSD" -c "$work/mtastsd.yaml" dns >"$work/dns.out" 2>"$work/dns.err" || fail "dns: $(cat "$work/dns.err")"
grep -qxF "$new_rec" "$work/dns.out" || fail "dns after the reload: $(cat "$work/dns.out")"

# serve stopped: dns owns the ids again
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
write_config none
SOURCE_DATE_EPOCH=1767232800 "$MTASTSD" -c "$work/mtastsd.yaml" dns >"$work/dns.out" 2>"$work/dns.err" || fail "dns after serve: $(cat "$work/dns.err")"
grep -qi "owns the ids" "$work/dns.err" && fail "dns still defers to a stopped serve: $(cat "$work/dns.err")"
grep -qxF '_mta-sts.a.example. 300 IN TXT "v=STSv1; id=20260101020000;"' "$work/dns.out" ||
  fail "dns did not assign an id once serve stopped: $(cat "$work/dns.out")"
grep -q "id=20260101020000" "$work/state/mtastsd.state" || fail "dns did not save the id once serve stopped"
echo "PASS: test_dns_owned"
