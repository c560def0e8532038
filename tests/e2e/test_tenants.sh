#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# domains_dir with 1,000 tenant files and a ConfigMap-style part (links through ..data): files
# added, changed, broken, repaired, removed, duplicated and a ..data swap, each served within
# seconds while a client loops over the other tenants with zero failed requests; a broken file
# keeps its last good version (logged with FILE:LINE:COL, counted, `check` exits 3 naming it,
# its output compared line by line); only a changed file's domains get new ids; on_change runs
# once per change with exactly the changed domains; kill -9 during a tenant reload, then a
# restart serves every tenant with the ids of the state.
. "$(dirname "$0")/lib.sh"
need curl python3

N=1000
P=$(free_port); ADMIN_PORT=$(free_port)
T="$WORK/tenants.d"
mkdir -p "$T" "$WORK/state"
cat >"$WORK/hook.sh" <<'EOF'
#!/bin/sh
# one line per run: the count, then the names of the changed file, sorted
echo "$MTASTSD_CHANGED_COUNT $(sort "$MTASTSD_CHANGED_FILE" | tr '\n' ' ')" >>"$HOOK_LOG"
EOF
chmod +x "$WORK/hook.sh"
export HOOK_LOG="$WORK/hook.log"
cat >"$WORK/mtastsd.yaml" <<EOF
listen:
  https: []
  http: ["127.0.0.1:$P"]
  admin: "127.0.0.1:$ADMIN_PORT"
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
  on_change: "$WORK/hook.sh"
defaults:
  mode: testing
  mx: [mx.provider.example]
domains_dir: tenants.d
domains:
  - provider.example
EOF
python3 - "$T" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, f"t{i:04d}.yaml"), "w") as f:
        f.write(f"# tenant {i}\n- name: customer-{i}.example\n  mx: [mx{i}.customer-{i}.example]\n")
# a ConfigMap mount: the files in a timestamped folder, ..data linking to it, each name a link through ..data
os.mkdir(os.path.join(d, "..2026_12_04_v1"))
for i in range(3):
    with open(os.path.join(d, "..2026_12_04_v1", f"cm{i}.yaml"), "w") as f:
        f.write(f"- cm{i}.example\n")
    os.symlink(f"..data/cm{i}.yaml", os.path.join(d, f"cm{i}.yaml"))
os.symlink("..2026_12_04_v1", os.path.join(d, "..data"))
# ignored: editors' and writers' leftovers
open(os.path.join(d, ".t0001.yaml.swp"), "w").write("- ignored-1.example\n")
open(os.path.join(d, "README"), "w").write("- ignored-2.example\n")
PY

start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
WK=/.well-known/mta-sts.txt
get() { curl -sS --max-time 5 -H "Host: mta-sts.$1" "http://127.0.0.1:$P$WK" 2>/dev/null || true; }
served_with() { get "$1" | tr -d '\r' | grep -qx "$2"; }
refused_count() { [ "$(metric mtastsd_tenant_files_refused)" = "$1" ]; }
hook_last_is() { [ "$(tail -1 "$HOOK_LOG" 2>/dev/null)" = "$1" ]; }
# every tenant (by number) answers 200 with its own mx, in one process
all_served() {
  python3 - "$P" "$N" <<'PY'
import sys, urllib.request
p, n = sys.argv[1], int(sys.argv[2])
bad = 0
for i in range(n):
    if i in (2, 3, 4):
        continue  # the tenants this test changes
    r = urllib.request.Request(f"http://127.0.0.1:{p}/.well-known/mta-sts.txt", headers={"Host": f"mta-sts.customer-{i}.example"})
    try:
        body = urllib.request.urlopen(r, timeout=5).read().decode()
        bad += f"mx: mx{i}.customer-{i}.example" not in body
    except Exception:
        bad += 1
print(bad)
sys.exit(1 if bad else 0)
PY
}
zone_id() { awk -v n="_mta-sts.$1." '$1 == n && /v=STSv1/ { for (i = 1; i <= NF; i++) if ($i ~ /^"?id=/) print $i }' "$WORK/state/mta-sts.zone"; }

check "all $N tenants and the main file's domain served at start-up" all_served
check "the ConfigMap part served" served_with cm1.example "mx: mx.provider.example"
check "ignored names are not tenants" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: mta-sts.ignored-1.example' http://127.0.0.1:$P$WK)\" = 404 ]"
check "mtastsd_tenant_files counts every file" [ "$(metric mtastsd_tenant_files)" = $((N + 3)) ]
hook_ran_once_for_all() { [ "$(wc -l <"$HOOK_LOG")" = 1 ] && [ "$(cut -d' ' -f1 "$HOOK_LOG")" = $((N + 4)) ]; }
check "on_change ran once at start-up with every domain" wait_for 5 hook_ran_once_for_all

# a client loops over tenants nobody touches for the whole test
python3 - "$P" >"$WORK/loop.out" <<'PY' &
import sys, time, urllib.request
p = sys.argv[1]
ok = fail = 0
end = time.time() + 3600
import os, signal
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
i = 0
while not stop:
    t = 500 + i % 400
    i += 1
    r = urllib.request.Request(f"http://127.0.0.1:{p}/.well-known/mta-sts.txt", headers={"Host": f"mta-sts.customer-{t}.example"})
    try:
        body = urllib.request.urlopen(r, timeout=5).read().decode()
        if f"mx: mx{t}.customer-{t}.example" in body:
            ok += 1
        else:
            fail += 1
    except Exception:
        fail += 1
print(ok, fail, flush=True)
PY
LOOP_PID=$!
EXTRA_PIDS="$LOOP_PID"
zone_before=$(grep -v '^;' "$WORK/state/mta-sts.zone" | sort)
id_other=$(zone_id customer-700.example)

# ---- add a file
sleep 1.1  # the new ids below must differ from the start-up ones (one-second resolution)
printf -- '- name: new.example\n  mode: enforce\n' >"$T/.new.tmp" && mv "$T/.new.tmp" "$T/new.yaml"
check "an added file is served within 5 s" wait_for 5 served_with new.example "mode: enforce"
check "on_change ran for exactly the added domain" wait_for 5 hook_last_is "1 new.example "

# ---- change a file: only its domain gets a new id
id_before=$(zone_id customer-2.example)
printf -- '- name: customer-2.example\n  mode: enforce\n  mx: [mx2.customer-2.example]\n' >"$T/.t.tmp" && mv "$T/.t.tmp" "$T/t0002.yaml"
check "a changed file is served within 5 s" wait_for 5 served_with customer-2.example "mode: enforce"
new_id() { [ -n "$(zone_id customer-2.example)" ] && [ "$(zone_id customer-2.example)" != "$id_before" ]; }
check "the changed domain has a new id in the zone" wait_for 5 new_id
check "on_change ran for exactly the changed domain" wait_for 5 hook_last_is "1 customer-2.example "
zone_after=$(grep -v '^;' "$WORK/state/mta-sts.zone" | sort)
changed_lines=$(diff <(echo "$zone_before") <(echo "$zone_after") | grep '^[<>]' | grep -v 'new\.example\|customer-2\.example' || true)
check "no other tenant's record changed" [ -z "$changed_lines" ]
check "an untouched tenant keeps its id" [ "$(zone_id customer-700.example)" = "$id_other" ]

# ---- break a file: its last good version keeps serving, the error is logged with its position
printf -- '- name: customer-3.example\n  mode: enforce\n  mx: [mx3.customer-3.example\n' >"$T/.t.tmp" && mv "$T/.t.tmp" "$T/t0003.yaml"
check "a broken file is counted as refused within 5 s" wait_for 5 refused_count 1
check "its last good version keeps serving" served_with customer-3.example "mode: testing"
check "the log names the file with LINE:COL" grep -q "tenants.d/t0003.yaml:[0-9]*:[0-9]*: " "$WORK/serve.log"
"$MTASTSD" -c "$WORK/mtastsd.yaml" check >"$WORK/check.out" 2>"$WORK/check.err" && rc=0 || rc=$?
check "check exits 3 with a refused file" [ "$rc" = 3 ]
# check judges a start from nothing: the file has no last good version then, its domain retires
sed "s|$WORK/||" "$WORK/check.err" | grep -v "^mtastsd.yaml: warning: domain 'customer-3.example' is retiring: " >"$WORK/check.got" || true
cat >"$WORK/check.want" <<'EOF'
tenants.d/t0003.yaml: not served: this file is refused (none of its domains are served)
tenants.d/t0003.yaml:4:1: not served: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence started at line 3 column 7
EOF
check "check names the refused file, line by line" diff -u "$WORK/check.want" "$WORK/check.got"

# ---- repair it
printf -- '- name: customer-3.example\n  mode: none\n' >"$T/.t.tmp" && mv "$T/.t.tmp" "$T/t0003.yaml"
check "a repaired file is served within 5 s" wait_for 5 served_with customer-3.example "mode: none"
check "and no longer counted as refused" wait_for 5 refused_count 0

# ---- a duplicate: the serving definition stays, both places named
printf -- '- name: customer-4.example\n- name: customer-600.example\n  mode: none\n' >"$T/.t.tmp" && mv "$T/.t.tmp" "$T/t0004.yaml"
check "a file defining another file's domain is refused" wait_for 5 grep -q "tenants.d/t0004.yaml:2:9: domain 'customer-600.example' is also defined at .*tenants.d/t0600.yaml:2:9" "$WORK/serve.log"
check "the serving definition stays" served_with customer-600.example "mode: testing"
check "the refused file's own domain keeps its last good version" served_with customer-4.example "mx: mx4.customer-4.example"

# ---- remove a file: its domain retires (RFC 8461 section 8.3: served as mode none)
rm "$T/t0002.yaml"
check "a removed file's domain is served as mode none" wait_for 5 served_with customer-2.example "mode: none"

# ---- a ConfigMap swap of ..data
python3 - "$T" <<'PY'
import os, sys
d = sys.argv[1]
v2 = os.path.join(d, "..2026_12_04_v2")
os.mkdir(v2)
for i in range(3):
    with open(os.path.join(v2, f"cm{i}.yaml"), "w") as f:
        f.write(f"- name: cm{i}.example\n" + ("  mode: enforce\n" if i == 1 else ""))
os.symlink("..2026_12_04_v2", os.path.join(d, "..data_tmp"))
os.rename(os.path.join(d, "..data_tmp"), os.path.join(d, "..data"))
PY
check "a ..data swap is served within 5 s" wait_for 5 served_with cm1.example "mode: enforce"
check "the unchanged ConfigMap files still served" served_with cm2.example "mode: testing"

kill -TERM "$LOOP_PID"; wait "$LOOP_PID" || true
read -r loop_ok loop_fail <"$WORK/loop.out"
check "zero failed requests to the other tenants during all of it ($loop_ok ok)" [ "$loop_fail" = 0 -a "$loop_ok" -gt 100 ]
check "every untouched tenant still served" all_served

# ---- kill -9 during a tenant reload, then a restart (the duplicate removed first: at a start from
# nothing the first file in name order would win it)
printf -- '- name: customer-4.example\n  mx: [mx4.customer-4.example]\n' >"$T/.t.tmp" && mv "$T/.t.tmp" "$T/t0004.yaml"
check "the repaired duplicate is in force again" wait_for 5 refused_count 0
printf -- '- name: customer-5.example\n  mode: enforce\n  mx: [mx5.customer-5.example]\n' >"$T/.t.tmp" && mv "$T/.t.tmp" "$T/t0005.yaml"
wait_for 5 grep -q "reloading config=.*(tenant files changed)" <(tail -n 3 "$WORK/serve.log") || true
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
check "after kill -9 and a restart every tenant is served" all_served
check "and the change made during the killed reload" served_with customer-5.example "mode: enforce"
stop_server || true
"$MTASTSD" -c "$WORK/mtastsd.yaml" dns >"$WORK/dns.out" 2>/dev/null || true
ids_consistent() {
  local d
  for d in customer-5.example customer-700.example new.example cm1.example; do
    [ -n "$(zone_id $d)" ] && grep -q "^_mta-sts.$d\..*$(zone_id $d)" "$WORK/dns.out" || { echo "ids differ for $d"; return 1; }
  done
}
check "the zone's ids are the state's (dns prints the same)" ids_consistent

finish
