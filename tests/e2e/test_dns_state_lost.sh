#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The DNS state file deleted while `serve` runs is an accident, never a fresh
# start: reloads are refused (the last good snapshot keeps serving, a retiring
# domain keeps answering as mode none), nothing is published, each refusal is
# logged and counted, and serve tries again by itself on a backoff: restoring
# the file, or `mtastsd dns --start-over`, is enough to resume publishing.
source "$(dirname "$0")/lib.sh"
need curl python3

HTTP_PORT=$(free_port)
ADMIN_PORT=$(free_port)
mkdir -p "$WORK/certs"
cat >"$WORK/on_change.sh" <<SH
#!/bin/sh
echo run >>"$WORK/runs"
SH
chmod +x "$WORK/on_change.sh"
write_config() { # MODE_OF_A [B_DOMAIN]
  { serve_head "" "$HTTP_PORT" "$ADMIN_PORT"; cat <<YAML
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
  } >"$WORK/mtastsd.yaml.new"
  mv "$WORK/mtastsd.yaml.new" "$WORK/mtastsd.yaml"
}
b_domain='  - name: b.example
    mode: enforce
    max_age: 86400
    mx: [mx.b.example]'
policy_mode() { curl -s -H "Host: mta-sts.$1" "http://127.0.0.1:$HTTP_PORT/.well-known/mta-sts.txt" | tr -d '\r' | sed -n 's/^mode: //p'; }
runs() { [ -f "$WORK/runs" ] && wc -l <"$WORK/runs" || echo 0; }
runs_gt() { [ "$(runs)" -gt "$1" ]; }
log_count_ge() { [ "$(grep -c "$1" "$WORK/serve.log")" -ge "$2" ]; }
policy_mode_is() { [ "$(policy_mode "$1")" = "$2" ]; }
metric_gt() { local v; v=$(metric "$1"); [ -n "$v" ] && [ "$v" -gt "$2" ]; }
state=$WORK/state/mtastsd.state zone=$WORK/state/mta-sts.zone

export SOURCE_DATE_EPOCH=1767225600
write_config testing "$b_domain"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
check "start-up publishes" wait_until 20 "the first on_change" runs_gt 0

# b is removed: it retires, served as mode none
write_config testing
kill -HUP "$SERVER_PID"
check "b retires" wait_until 20 "b retiring in the zone" grep -q '^; b.example: retiring' "$zone"
check "retiring b answers mode none" test "$(policy_mode b.example)" = none
runs_before=$(runs)
cp "$zone" "$WORK/zone.good"
cp "$state" "$WORK/state.backup"

# the state file goes; a's policy changes meanwhile
rm "$state"
failed=$(metric 'mtastsd_reloads_total{result="failed"}')
pubfail=$(metric mtastsd_dns_publish_failures_total)
# (the config change alone triggers the reload: one reload, so nothing is still pending below)
write_config enforce
check "the reload is refused" wait_until 20 "a failed reload" \
  metric_gt 'mtastsd_reloads_total{result="failed"}' "$failed"
check "the refusal is logged as an error naming the file" \
  grep -q "error dns: .*the state file '$state' is gone although serve published from it: refusing to start afresh" "$WORK/serve.log"
check "the refusal is counted as a failed publication" test "$(metric mtastsd_dns_publish_failures_total)" -gt "$pubfail"
check "the last good snapshot keeps serving a's policy" test "$(policy_mode a.example)" = testing
check "the retiring domain does not vanish" test "$(policy_mode b.example)" = none
check "no fresh state is written" test ! -e "$state"
check "the zone is left as it was" cmp -s "$zone" "$WORK/zone.good"
check "on_change does not run" test "$(runs)" = "$runs_before"

check "serve says it will try again by itself" \
  grep -q 'dns state: reloading again in 2 s by itself, until the state file is restored' "$WORK/serve.log"

# the operator restores the file: serve notices by itself (no signal), a's policy is served and
# published, and b is still retiring
cp "$WORK/state.backup" "$state.tmp" && mv "$state.tmp" "$state"
check "restoring the file is enough: the new policy is served" wait_until 20 "a enforce" policy_mode_is a.example enforce
check "and published" wait_until 20 "on_change after the restore" runs_gt "$runs_before"
check "the retiring domain is still retiring" grep -q '^; b.example: retiring' "$zone"
check "and still answers mode none" test "$(policy_mode b.example)" = none
check "the state keeps b" grep -q '^domain b.example .*status=retiring' "$state"
runs_before=$(runs)

# starting over explicitly: the state goes again, then an empty one
rm "$state"
write_config testing
check "the next reload is refused again, and retried by itself" wait_until 20 "the log" \
  log_count_ge 'dns state: reloading again in 2 s by itself' 2
check "a's policy stays" test "$(policy_mode a.example)" = enforce
rc=0; "$MTASTSD" -c "$WORK/mtastsd.yaml" dns --start-over 2>"$WORK/so.err" || rc=$?
check "--start-over writes an empty state where none is" test "$rc" = 0 -a -e "$state"
check "--start-over says what happens next" grep -q 'started over with an empty state file .*: every domain gets a new id at the next publish' "$WORK/so.err"
rc=0; "$MTASTSD" -c "$WORK/mtastsd.yaml" dns --start-over 2>"$WORK/so2.err" || rc=$?
check "--start-over never replaces an existing state (exit 1)" test "$rc" = 1
check "--start-over says why" grep -q "the state file '$state' exists; it was left as it is" "$WORK/so2.err"
check "after starting over serve reloads and publishes by itself" wait_until 20 "on_change after start-over" runs_gt "$runs_before"
check "a's new policy is served" test "$(policy_mode a.example)" = testing
check "a is published again" grep -q '^_mta-sts.a.example. 300 IN TXT "v=STSv1; id=' "$zone"
check "the new state lists a alone" test "$(grep -c '^domain ' "$state")" = 1
check "starting over forgets the retiring domain" test -z "$(grep b.example "$zone")"

stop_server || bad "serve exited non-zero on SIGTERM"
finish || { cat "$WORK/serve.log"; exit 1; }
