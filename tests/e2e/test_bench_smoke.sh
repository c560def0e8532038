#!/usr/bin/env bash
# A short run of the nginx comparison benchmark: it must work end to end (both servers
# answer every request correctly, the table and JSON are produced). Its numbers are not
# checked here: speed is measured with scripts/bench, never asserted in tests.
set -euo pipefail
: "${BUILD_DIR:?} ${SOURCE_ROOT:?}"
command -v nginx >/dev/null || { echo "skip: nginx is not installed"; exit 77; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
BUILD_DIR=$BUILD_DIR "$SOURCE_ROOT/tests/bench/tls.sh" --quick -n "1 20" -s 100 -o "$out" | tee /dev/stderr >/dev/null
python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
figs = {(t["figure"], t["n"]) for t in r["throughput"]}
want = {(f, n) for f in ("tls13", "tls12", "keepalive") for n in (1, 20)}
assert want <= figs, f"missing figures: {want - figs}"
for t in r["throughput"]:
    for side in ("mtastsd", "nginx"):
        for run in t[side]:
            assert run["requests"] > 0, f"{side} {t['figure']} n={t['n']}: no request answered"
            assert run["errors"] == 0, f"{side} {t['figure']} n={t['n']}: {run['errors']} errors"
m = [s for s in r["startup"] if s["server"] == "mtastsd"]
assert m and m[0]["reload_errors"] == 0 and m[0]["reload_requests"] > 0, f"reload under load: {m}"
assert m[0]["reload_applied"], f"the reloaded config's changed policy was not served: {m}"
import os
if len(os.sched_getaffinity(0)) >= 2:
    keys = {p["key"] for p in r["pool"]}
    assert keys == {"ec", "rsa"}, f"thread pool figures for {keys}, not ECDSA and RSA"
    for p in r["pool"]:
        for run in p["one_core"] + p["two_cores"]:
            assert run["requests"] > 0 and run["errors"] == 0, f"pool {p['key']}: {run}"
            assert run["gen_cpu_s"] > 0, f"pool {p['key']}: the generator's CPU was not measured"
print("bench smoke: every figure produced, no errors")
PY
