#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A DNS publication that failed (the zone cannot be written, on_change fails)
# is retried by `serve` itself on a backoff, without any reload or signal,
# until it succeeds; the log and the metrics say so.
source "$(dirname "$0")/lib.sh"
need curl python3

HTTP_PORT=$(free_port)
ADMIN_PORT=$(free_port)
mkdir -p "$WORK/certs" "$WORK/state"
cat >"$WORK/on_change.sh" <<SH
#!/bin/sh
echo "\$MTASTSD_CHANGED_COUNT" >>"$WORK/runs"
test ! -e "$WORK/hook-fails"
SH
chmod +x "$WORK/on_change.sh"
{ serve_head "" "$HTTP_PORT" "$ADMIN_PORT"; cat <<YAML
dns:
  state: state/mtastsd.state
  zone: zones/mta-sts.zone
  on_change: "$WORK/on_change.sh"
domains:
  - name: a.example
    mx: [mx.a.example]
YAML
} >"$WORK/mtastsd.yaml"
metric_is() { [ "$(metric "$1")" = "$2" ]; }
metric_ge() { local v; v=$(metric "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
runs() { [ -f "$WORK/runs" ] && wc -l <"$WORK/runs" || echo 0; }
runs_ge() { [ "$(runs)" -ge "$1" ]; }

# the zone cannot be written: a plain file where its folder should be (as a full disk would refuse it)
: >"$WORK/zones"
touch "$WORK/hook-fails"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
check "the failed publication is counted" wait_until 5 "a failure" metric_ge mtastsd_dns_publish_failures_total 1
check "a retry is pending" wait_until 5 "pending" metric_is mtastsd_dns_publish_retry_pending 1
check "the log says it retries by itself" \
  wait_until 5 "the log" grep -q 'dns publish failed: retrying in 2 s by itself (attempt 1)' "$WORK/serve.log"
check "retried by itself, again failing, with a longer delay" \
  wait_until 10 "the second attempt" grep -q 'retrying in 4 s by itself (attempt 2)' "$WORK/serve.log"

# the disk is fixed: the next retry writes the zone, then runs on_change (which still fails)
rm "$WORK/zones"
check "the zone is written without any reload" wait_until 15 "the zone" test -s "$WORK/zones/mta-sts.zone"
check "on_change ran, and its failure is retried too" wait_until 40 "a second on_change" runs_ge 2
rm "$WORK/hook-fails"
check "the publication succeeds by itself" wait_until 90 "success" metric_is mtastsd_dns_publish_retry_pending 0
check "the log says it succeeded" grep -q 'dns publish succeeded after [0-9]* failed attempts' "$WORK/serve.log"
check "each retry is counted" metric_ge mtastsd_dns_publish_retries_total 3
check "no reload happened meanwhile" metric_is 'mtastsd_reloads_total{result="ok"}' 0
check "the hook was told about a.example each time" test "$(sort -u "$WORK/runs")" = 1

stop_server || bad "serve exited non-zero on SIGTERM"
finish || { cat "$WORK/serve.log"; exit 1; }
