#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# on_change at any size (issue 21): `serve` starting with 10,000 new domains,
# then one change of defaults: that gives every domain a new id. The names
# no longer fit in one environment string (the kernel refuses one past
# 128 KiB): the hook runs once each time, reads MTASTSD_CHANGED_FILE, which
# lists exactly those domains, gets MTASTSD_CHANGED_COUNT and an empty
# MTASTSD_CHANGED; the pending file is gone once it succeeded.
source "$(dirname "$0")/lib.sh"
need curl python3

N=10000
HTTP_PORT=$(free_port)
ADMIN_PORT=$(free_port)
mkdir -p "$WORK/certs"
cat >"$WORK/on_change.sh" <<SH
#!/bin/sh
n=\$(ls "$WORK" | grep -c '^copy') || true
cp "\$MTASTSD_CHANGED_FILE" "$WORK/copy\$n"
echo "\$MTASTSD_CHANGED_COUNT \${#MTASTSD_CHANGED} \$MTASTSD_CHANGED_FILE" >>"$WORK/runs"
SH
chmod +x "$WORK/on_change.sh"
write_config() { # MODE
  python3 - "$WORK/mtastsd.yaml" "$1" "$N" "$HTTP_PORT" "$ADMIN_PORT" "$WORK/on_change.sh" <<'PY'
import os, sys
path, mode, n, http, admin, hook = sys.argv[1:]
with open(path + ".new", "w") as f:
    f.write(f'listen:\n  https: []\n  http: ["127.0.0.1:{http}"]\n  admin: "127.0.0.1:{admin}"\n'
            f'tls:\n  certs: certs/\ndns:\n  state: state/mtastsd.state\n  zone: state/mta-sts.zone\n'
            f'  on_change: "{hook}"\ndefaults:\n  mode: {mode}\n  mx: [mx.example.net]\ndomains:\n')
    for i in range(int(n)):
        f.write(f"  - name: d{i:05d}.example.com\n")
os.rename(path + ".new", path)
PY
}
runs() { [ -f "$WORK/runs" ] && wc -l <"$WORK/runs" || echo 0; }
runs_ge() { [ "$(runs)" -ge "$1" ]; }
seq 0 $((N - 1)) | awk '{ printf "d%05d.example.com\n", $1 }' >"$WORK/all"

write_config testing
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
check "on_change runs at start-up with $N new domains" wait_until 30 "the first run" runs_ge 1
check "its file lists exactly the $N domains, one a line" cmp -s "$WORK/copy0" "$WORK/all"
check "the count is given, MTASTSD_CHANGED (past 64 KiB) is empty" \
  test "$(sed -n 1p "$WORK/runs" | cut -d' ' -f1-2)" = "$N 0"
check "MTASTSD_CHANGED_FILE is an absolute path" test "$(sed -n 1p "$WORK/runs" | cut -d' ' -f3 | cut -c1)" = /
check "the pending file is gone once the hook succeeded" wait_until 30 "no marker" test ! -e "$WORK/state/mtastsd.state.pending"
check "no publication failed" test "$(metric mtastsd_dns_publish_failures_total)" = 0
check "the log line is cut at a name, with a count" \
  grep -q 'dns zone rewritten .* domains=10000 changed="d00000.example.com .*example.com … and [0-9]* more"' "$WORK/serve.log"

# one change of defaults: every domain gets a new id, the hook runs once more with all of them
write_config enforce
kill -HUP "$SERVER_PID"
check "on_change runs once after a defaults: change of all $N" wait_until 30 "the second run" runs_ge 2
check "its file lists exactly the $N domains again" cmp -s "$WORK/copy1" "$WORK/all"
check "the count again" test "$(sed -n 2p "$WORK/runs" | cut -d' ' -f1-2)" = "$N 0"
check "the pending file is gone again" wait_until 30 "no marker" test ! -e "$WORK/state/mtastsd.state.pending"
check "every domain has its new policy published" test "$(grep -c 'IN TXT "v=STSv1; id=' "$WORK/state/mta-sts.zone")" = "$N"
check "the hook ran exactly twice" test "$(runs)" = 2
check "no publication failed" test "$(metric mtastsd_dns_publish_failures_total)" = 0

stop_server || bad "serve exited non-zero on SIGTERM"
finish || { tail -20 "$WORK/serve.log"; exit 1; }
