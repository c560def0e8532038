#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `serve` publishes DNS in the right order: after a config change it serves
# the new policy first, then rewrites dns.zone, then runs dns.on_change with
# MTASTSD_ZONE and MTASTSD_CHANGED; a failed reload publishes nothing; a
# removed domain keeps answering as mode none with a fresh id (RFC 8461 8.3).
source "$(dirname "$0")/lib.sh"
need curl python3

http_port=$(free_port)
ADMIN_PORT=$(free_port)
mkdir -p "$WORK/certs"

# on_change: records its environment, the zone it was given, and the policy
# being served for each changed domain at that moment
cat >"$WORK/on_change.sh" <<SH
#!/bin/sh
n=\$(ls "$WORK"/run.* 2>/dev/null | wc -l); n=\$((n + 1))
{
  echo "zone=\$MTASTSD_ZONE"
  echo "changed=\$MTASTSD_CHANGED"
  for d in \$MTASTSD_CHANGED; do
    echo "policy \$d: \$(curl -s -H "Host: mta-sts.\$d" http://127.0.0.1:$http_port/.well-known/mta-sts.txt | grep '^mode:' | tr -d '\r')"
  done
} >"$WORK/pending"
cp "\$MTASTSD_ZONE" "$WORK/zone.\$n"
mv "$WORK/pending" "$WORK/run.\$n"
SH
chmod +x "$WORK/on_change.sh"

write_config() { # MODE_OF_A [DOMAINS_EXTRA]
  { serve_head "" "$http_port" "$ADMIN_PORT"; cat <<YAML
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
  ttl: 300
  on_change: "$WORK/on_change.sh"
domains:
  - name: a.example
    mode: $1
    mx: [mx.a.example]
${2:-}
YAML
  } >"$WORK/mtastsd.yaml"
}
b_domain='  - name: b.example
    mode: enforce
    max_age: 86400
    mx: [mx.b.example]'

policy() { curl -s -H "Host: mta-sts.$1" "http://127.0.0.1:$http_port/.well-known/mta-sts.txt" | tr -d '\r'; }
runs() { ls "$WORK"/run.* 2>/dev/null | wc -l; }
wait_runs() { # N: wait until on_change ran N times
  for _ in $(seq 1 100); do [ "$(runs)" -ge "$1" ] && return 0; sleep 0.1; done
  fail "on_change ran $(runs) times, expected $1"
}

write_config testing "$b_domain"
SOURCE_DATE_EPOCH=1767225600 start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"

# start-up: the zone is written once the first config is serving, then on_change
wait_runs 1
zone=$WORK/state/mta-sts.zone
grep -qx '_mta-sts.a.example. 300 IN TXT "v=STSv1; id=20260101000000;"' "$zone" || fail "start-up zone: $(cat "$zone")"
grep -qx '_mta-sts.b.example. 300 IN TXT "v=STSv1; id=20260101000000;"' "$zone" || fail "start-up zone lacks b"
grep -qx "zone=$zone" "$WORK/run.1" || fail "MTASTSD_ZONE: $(cat "$WORK/run.1")"
grep -qx "changed=a.example b.example" "$WORK/run.1" || fail "MTASTSD_CHANGED at start-up: $(cat "$WORK/run.1")"
grep -qx "policy a.example: mode: testing" "$WORK/run.1" || fail "policy during on_change: $(cat "$WORK/run.1")"

# a watcher that fetches the policy the instant the zone file shows a new id for a
python3 - "$zone" "$http_port" "$WORK/watch" <<'PY' &
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
EXTRA_PIDS="$EXTRA_PIDS $watcher_pid"
# the config changes only once the watcher has read the first id (a fixed sleep lost this race under load)
for _ in $(seq 300); do [ -e "$WORK/watch.ready" ] && break; sleep 0.05; done
[ -e "$WORK/watch.ready" ] || fail "the zone watcher did not start"

# a's policy changes: reload serves it, then the zone gets its new id, then on_change
cp "$zone" "$WORK/zone.before"
write_config enforce "$b_domain"
kill -HUP "$SERVER_PID"
wait_runs 2
wait "$watcher_pid" || true; watcher_pid=
[ "$(cat "$WORK/watch" 2>/dev/null)" = "20260101000001 mode: enforce" ] ||
  fail "when the zone showed a's new id, the server answered: $(cat "$WORK/watch" 2>/dev/null)"
grep -qx "changed=a.example" "$WORK/run.2" || fail "MTASTSD_CHANGED after a change of a: $(cat "$WORK/run.2")"
grep -qx "policy a.example: mode: enforce" "$WORK/run.2" || fail "policy during on_change: $(cat "$WORK/run.2")"
grep -qx '_mta-sts.a.example. 300 IN TXT "v=STSv1; id=20260101000001;"' "$zone" || fail "a's id after the change"
grep -qx '_mta-sts.b.example. 300 IN TXT "v=STSv1; id=20260101000000;"' "$zone" || fail "b's id moved"
cmp -s "$zone" "$WORK/zone.2" || fail "on_change did not see the final zone"

# SIGHUP without a change: nothing is rewritten, on_change does not run
ino=$(stat -c %i "$zone")
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do [ "$(metric 'mtastsd_reloads_total{result="ok"}')" -ge 2 ] 2>/dev/null && break; sleep 0.1; done
sleep 0.5
[ "$(stat -c %i "$zone")" = "$ino" ] || fail "zone rewritten by a reload without changes"
[ "$(runs)" = 2 ] || fail "on_change ran after a reload without changes"

# a broken config: the reload fails and nothing is published
cp "$zone" "$WORK/zone.good"
write_config enforce "  - name: c.example
    mode: enforce
    mx: [bad_host!]"
failed_before=$(metric 'mtastsd_reloads_total{result="failed"}')
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do [ "$(metric 'mtastsd_reloads_total{result="failed"}')" -gt "$failed_before" ] && break; sleep 0.1; done
[ "$(metric 'mtastsd_reloads_total{result="failed"}')" -gt "$failed_before" ] || fail "broken config did not fail the reload"
sleep 0.5
cmp -s "$zone" "$WORK/zone.good" || fail "a failed reload changed the zone"
[ "$(runs)" = 2 ] || fail "on_change ran after a failed reload"
grep -q 'c.example' "$WORK/state/mtastsd.state" && fail "a failed reload wrote the state"

# b is removed: it keeps answering as mode none, with a fresh id in the zone
write_config enforce
kill -HUP "$SERVER_PID"
wait_runs 3
grep -qx "changed=b.example" "$WORK/run.3" || fail "MTASTSD_CHANGED after removing b: $(cat "$WORK/run.3")"
grep -qx "policy b.example: mode: none" "$WORK/run.3" || fail "b not served as mode none: $(cat "$WORK/run.3")"
[ "$(policy b.example)" = $'version: STSv1\nmode: none\nmax_age: 86400' ] || fail "retiring b serves: $(policy b.example)"
grep -qx '_mta-sts.b.example. 300 IN TXT "v=STSv1; id=20260101000001;"' "$zone" || fail "b has no fresh id: $(cat "$zone")"
grep -q '^; b.example: retiring .* its records may be deleted from 2026-01-02T00:00:01Z' "$zone" ||
  fail "no retirement note in the zone: $(grep b.example "$zone")"

kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || fail "serve exited non-zero on SIGTERM"; SERVER_PID=
echo "PASS: serve publishes zone and on_change after the new policy answers; failed reloads publish nothing"
