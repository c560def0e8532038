#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `serve` publishes DNS in the right order: after a config change it serves
# the new policy first, then rewrites dns.zone, then runs dns.on_change with
# MTASTSD_ZONE and MTASTSD_CHANGED; a failed reload publishes nothing; a
# removed domain keeps answering as mode none with a fresh id (RFC 8461 8.3).
set -euo pipefail

: "${MTASTSD:?MTASTSD must name the mtastsd binary}"
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed"; exit 77; }
done

work=$(mktemp -d /tmp/test_dns_serve.XXXXXX)
server_pid= watcher_pid=
cleanup() {
  for p in $watcher_pid $server_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
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

# on_change: records its environment, the zone it was given, and the policy
# being served for each changed domain at that moment
cat >"$work/on_change.sh" <<SH
#!/bin/sh
n=\$(ls "$work"/run.* 2>/dev/null | wc -l); n=\$((n + 1))
{
  echo "zone=\$MTASTSD_ZONE"
  echo "changed=\$MTASTSD_CHANGED"
  for d in \$MTASTSD_CHANGED; do
    echo "policy \$d: \$(curl -s -H "Host: mta-sts.\$d" http://127.0.0.1:$http_port/.well-known/mta-sts.txt | grep '^mode:' | tr -d '\r')"
  done
} >"$work/pending"
cp "\$MTASTSD_ZONE" "$work/zone.\$n"
mv "$work/pending" "$work/run.\$n"
SH
chmod +x "$work/on_change.sh"

write_config() { # MODE_OF_A [DOMAINS_EXTRA]
  cat >"$work/mtastsd.yaml" <<YAML
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
  on_change: "$work/on_change.sh"
domains:
  - name: a.example
    mode: $1
    mx: [mx.a.example]
${2:-}
YAML
}
b_domain='  - name: b.example
    mode: enforce
    max_age: 86400
    mx: [mx.b.example]'

policy() { curl -s -H "Host: mta-sts.$1" "http://127.0.0.1:$http_port/.well-known/mta-sts.txt" | tr -d '\r'; }
runs() { ls "$work"/run.* 2>/dev/null | wc -l; }
wait_runs() { # N: wait until on_change ran N times
  for _ in $(seq 1 100); do [ "$(runs)" -ge "$1" ] && return 0; sleep 0.1; done
  fail "on_change ran $(runs) times, expected $1"
}
metric() { curl -s "http://127.0.0.1:$admin_port/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }

write_config testing "$b_domain"
SOURCE_DATE_EPOCH=1767225600 "$MTASTSD" -c "$work/mtastsd.yaml" serve 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$admin_port/healthz" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || fail "serve exited during start-up"
  sleep 0.1
done

# start-up: the zone is written once the first config is serving, then on_change
wait_runs 1
zone=$work/state/mta-sts.zone
grep -qx '_mta-sts.a.example. 300 IN TXT "v=STSv1; id=20260101000000;"' "$zone" || fail "start-up zone: $(cat "$zone")"
grep -qx '_mta-sts.b.example. 300 IN TXT "v=STSv1; id=20260101000000;"' "$zone" || fail "start-up zone lacks b"
grep -qx "zone=$zone" "$work/run.1" || fail "MTASTSD_ZONE: $(cat "$work/run.1")"
grep -qx "changed=a.example b.example" "$work/run.1" || fail "MTASTSD_CHANGED at start-up: $(cat "$work/run.1")"
grep -qx "policy a.example: mode: testing" "$work/run.1" || fail "policy during on_change: $(cat "$work/run.1")"

# a watcher that fetches the policy the instant the zone file shows a new id for a
python3 - "$zone" "$http_port" "$work/watch" <<'PY' &
import sys, time, urllib.request
zone, port, out = sys.argv[1], sys.argv[2], sys.argv[3]
def zone_id():
    try:
        for l in open(zone):
            if l.startswith("_mta-sts.a.example."):
                return l.split("id=")[1].split(";")[0]
    except OSError:
        return None
first = zone_id()
open(out + ".ready", "w").close()
deadline = time.time() + 60
while time.time() < deadline:
    cur = zone_id()
    if cur is not None and cur != first:
        req = urllib.request.Request("http://127.0.0.1:%s/.well-known/mta-sts.txt" % port,
                                     headers={"Host": "mta-sts.a.example"})
        body = urllib.request.urlopen(req, timeout=5).read().decode()
        mode = [l for l in body.splitlines() if l.startswith("mode:")][0]
        open(out, "w").write("%s %s\n" % (cur, mode))
        break
    time.sleep(0.001)
PY
watcher_pid=$!
# the config changes only once the watcher has read the first id (a fixed sleep lost this race under load)
for _ in $(seq 300); do [ -e "$work/watch.ready" ] && break; sleep 0.05; done
[ -e "$work/watch.ready" ] || fail "the zone watcher did not start"

# a's policy changes: reload serves it, then the zone gets its new id, then on_change
cp "$zone" "$work/zone.before"
write_config enforce "$b_domain"
kill -HUP "$server_pid"
wait_runs 2
wait "$watcher_pid" || true; watcher_pid=
[ "$(cat "$work/watch" 2>/dev/null)" = "20260101000001 mode: enforce" ] ||
  fail "when the zone showed a's new id, the server answered: $(cat "$work/watch" 2>/dev/null)"
grep -qx "changed=a.example" "$work/run.2" || fail "MTASTSD_CHANGED after a change of a: $(cat "$work/run.2")"
grep -qx "policy a.example: mode: enforce" "$work/run.2" || fail "policy during on_change: $(cat "$work/run.2")"
grep -qx '_mta-sts.a.example. 300 IN TXT "v=STSv1; id=20260101000001;"' "$zone" || fail "a's id after the change"
grep -qx '_mta-sts.b.example. 300 IN TXT "v=STSv1; id=20260101000000;"' "$zone" || fail "b's id moved"
cmp -s "$zone" "$work/zone.2" || fail "on_change did not see the final zone"

# SIGHUP without a change: nothing is rewritten, on_change does not run
ino=$(stat -c %i "$zone")
kill -HUP "$server_pid"
for _ in $(seq 1 50); do [ "$(metric 'mtastsd_reloads_total{result="ok"}')" -ge 2 ] 2>/dev/null && break; sleep 0.1; done
sleep 0.5
[ "$(stat -c %i "$zone")" = "$ino" ] || fail "zone rewritten by a reload without changes"
[ "$(runs)" = 2 ] || fail "on_change ran after a reload without changes"

# a broken config: the reload fails and nothing is published
cp "$zone" "$work/zone.good"
write_config enforce "  - name: c.example
    mode: enforce
    mx: [bad_host!]"
failed_before=$(metric 'mtastsd_reloads_total{result="failed"}')
kill -HUP "$server_pid"
for _ in $(seq 1 50); do [ "$(metric 'mtastsd_reloads_total{result="failed"}')" -gt "$failed_before" ] && break; sleep 0.1; done
[ "$(metric 'mtastsd_reloads_total{result="failed"}')" -gt "$failed_before" ] || fail "broken config did not fail the reload"
sleep 0.5
cmp -s "$zone" "$work/zone.good" || fail "a failed reload changed the zone"
[ "$(runs)" = 2 ] || fail "on_change ran after a failed reload"
grep -q 'c.example' "$work/state/mtastsd.state" && fail "a failed reload wrote the state"

# b is removed: it keeps answering as mode none, with a fresh id in the zone
write_config enforce
kill -HUP "$server_pid"
wait_runs 3
grep -qx "changed=b.example" "$work/run.3" || fail "MTASTSD_CHANGED after removing b: $(cat "$work/run.3")"
grep -qx "policy b.example: mode: none" "$work/run.3" || fail "b not served as mode none: $(cat "$work/run.3")"
[ "$(policy b.example)" = $'version: STSv1\nmode: none\nmax_age: 86400' ] || fail "retiring b serves: $(policy b.example)"
grep -qx '_mta-sts.b.example. 300 IN TXT "v=STSv1; id=20260101000001;"' "$zone" || fail "b has no fresh id: $(cat "$zone")"
grep -q '^; b.example: retiring .* its records may be deleted from 2026-01-02T00:00:01Z' "$zone" ||
  fail "no retirement note in the zone: $(grep b.example "$zone")"

kill -TERM "$server_pid"; wait "$server_pid" || fail "serve exited non-zero on SIGTERM"; server_pid=
echo "PASS: serve publishes zone and on_change after the new policy answers; failed reloads publish nothing"
