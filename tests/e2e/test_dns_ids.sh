#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mtastsd dns` ids and state through the real binary: stable across runs,
# changed for exactly the changed domain, SOURCE_DATE_EPOCH as the clock,
# concurrent runs serialised, a damaged state refused and left untouched, a
# version 1 state upgraded, delegated hosting sides, `check` warnings.
set -euo pipefail

: "${MTASTSD:?MTASTSD must name the mtastsd binary}"
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 77; }
work=$(mktemp -d /tmp/test_dns_ids.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cfg=$work/mtastsd.yaml
state=$work/var/lib/state/mtastsd.state

# an http listener only, so `check` needs no certificates and its exit status means something
cat >"$cfg" <<'YAML'
listen:
  https: []
  http: ["127.0.0.1:8080"]
dns:
  state: var/lib/state/mtastsd.state
domains:
  - name: a.example
    mode: enforce
    mx: [mx1.a.example, mx2.a.example]
  - name: b.example
    mx: [mx.b.example]
  - name: c.example
    mx: [mx.c.example]
YAML

# json ids by domain: "name id" lines
ids() { python3 -c 'import json,sys; d=json.load(sys.stdin); [print(x["name"], x["id"]) for x in d["domains"]]'; }
run() { SOURCE_DATE_EPOCH=$1 "$MTASTSD" -c "$cfg" dns --format json | ids; }

# the state folder is created; SOURCE_DATE_EPOCH is the clock
[ "$(run 1767225600)" = $'a.example 20260101000000\nb.example 20260101000000\nc.example 20260101000000' ] ||
  fail "first run ids: $(run 1767225600)"
[ -f "$state" ] || fail "state file not created in the missing folder"
head -1 "$state" | grep -qx 'mtastsd-state 3' || fail "state file has no version header"

# unchanged config, a day later: same ids, state not rewritten
cp "$state" "$work/state.1"
sleep 1
ino1=$(stat -c %i "$state")
[ "$(run 1767312000)" = $'a.example 20260101000000\nb.example 20260101000000\nc.example 20260101000000' ] ||
  fail "ids changed without a policy change"
[ "$(stat -c %i "$state")" = "$ino1" ] || fail "state rewritten although nothing changed"

# real clock when SOURCE_DATE_EPOCH is unset: still the recorded ids
[ "$(unset SOURCE_DATE_EPOCH; "$MTASTSD" -c "$cfg" dns --format json | ids)" = \
  $'a.example 20260101000000\nb.example 20260101000000\nc.example 20260101000000' ] || fail "ids changed with the real clock"

# mx reordered and a comment added: no change
sed -i 's/mx: \[mx1.a.example, mx2.a.example\]/mx: [mx2.a.example, mx1.a.example]  # reordered/' "$cfg"
[ "$(run 1767315600)" = $'a.example 20260101000000\nb.example 20260101000000\nc.example 20260101000000' ] ||
  fail "reordering mx changed an id"

# b changes: only b gets a new id; twice in the same second: two distinct ids
sed -i 's/mx: \[mx.b.example\]/mx: [mx.b.example, mx3.b.example]/' "$cfg"
[ "$(run 1767315600)" = $'a.example 20260101000000\nb.example 20260102010000\nc.example 20260101000000' ] ||
  fail "after changing b: $(run 1767315600)"
sed -i 's/mx: \[mx.b.example, mx3.b.example\]/mx: [mx3.b.example]/' "$cfg"
[ "$(run 1767315600)" = $'a.example 20260101000000\nb.example 20260102010001\nc.example 20260101000000' ] ||
  fail "second change of b in the same second"
# the clock moves backwards a year: the new id still moves forward
sed -i 's/mx: \[mx3.b.example\]/mx: [mx4.b.example]/' "$cfg"
[ "$(run 1735689600)" = $'a.example 20260101000000\nb.example 20260102010002\nc.example 20260101000000' ] ||
  fail "change with the clock moved backwards"

# a malformed SOURCE_DATE_EPOCH is an error, not ignored
set +e
SOURCE_DATE_EPOCH=yesterday "$MTASTSD" -c "$cfg" dns >/dev/null 2>"$work/err"; rc=$?
set -e
[ "$rc" = 1 ] || fail "malformed SOURCE_DATE_EPOCH: exit $rc"
grep -q SOURCE_DATE_EPOCH "$work/err" || fail "no message for a malformed SOURCE_DATE_EPOCH"

# usage errors exit 2
set +e
"$MTASTSD" -c "$cfg" dns --format xml >/dev/null 2>&1; rc1=$?
"$MTASTSD" -c "$cfg" dns --side customer >/dev/null 2>&1; rc2=$?
"$MTASTSD" -c "$cfg" dns extra >/dev/null 2>&1; rc3=$?
set -e
[ "$rc1$rc2$rc3" = 222 ] || fail "usage errors exited $rc1 $rc2 $rc3, expected 2 2 2"

# concurrent runs, each with its own clock: the lock serialises them, so the
# first to run assigns c's new id and every later run sees it and keeps it;
# every run prints the id that ends up in the state, and the state is whole
cp "$state" "$work/state.before"
sed -i 's/mx: \[mx.c.example\]/mx: [mx.c.example, mx9.c.example]/' "$cfg"
pids=()
for i in $(seq 1 12); do
  (SOURCE_DATE_EPOCH=$((1767400000 + i * 7)) "$MTASTSD" -c "$cfg" dns --format json >"$work/par.$i" 2>"$work/par.$i.err") &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent run failed: $(cat "$work"/par.*.err)"; done
[ "$(grep -c '^domain ' "$state")" = 3 ] || fail "state after concurrent runs: $(cat "$state")"
cid=$(sed -n 's/^domain c.example id=\([0-9]*\) .*/\1/p' "$state")
[ "${cid:0:10}" = 2026010300 ] || fail "c's id after concurrent runs: $cid"
for i in $(seq 1 12); do
  [ "$(ids <"$work/par.$i")" = $'a.example 20260101000000\nb.example 20260102010002\nc.example '"$cid" ] ||
    fail "concurrent run $i printed ids other than the recorded ones: $(ids <"$work/par.$i") (state: $cid)"
done
ls "$(dirname "$state")" | grep -q '\.tmp\.' && fail "temporary files left behind"
set +e
"$MTASTSD" -c "$cfg" check >"$work/out" 2>"$work/err"; rc=$?
set -e
[ "$rc" = 0 ] || fail "check after concurrent runs exited $rc: $(cat "$work/err")"
grep -qx 'configuration OK' "$work/out" || fail "check after concurrent runs did not report OK: $(cat "$work/out" "$work/err")"
grep -qi 'state' "$work/err" && fail "check complains about the state after concurrent runs: $(cat "$work/err")"

# a damaged state is an error with its position, and is not rewritten
cp "$state" "$work/state.good"
sed -i '3s/id=2026/id=20x6/' "$state"
cp "$state" "$work/state.damaged"
set +e
SOURCE_DATE_EPOCH=1767500000 "$MTASTSD" -c "$cfg" dns >"$work/out" 2>"$work/err"; rc=$?
set -e
[ "$rc" = 1 ] || fail "damaged state: exit $rc"
grep -q "^$state:3:[0-9]*: id '20x6" "$work/err" || fail "damaged state message without FILE:LINE:COL: $(cat "$work/err")"
[ ! -s "$work/out" ] || fail "records printed from a damaged state"
cmp -s "$state" "$work/state.damaged" || fail "damaged state was rewritten"
set +e
"$MTASTSD" -c "$cfg" check >"$work/out" 2>"$work/err"; rc=$?
set -e
[ "$rc" = 1 ] || fail "check with a damaged state: exit $rc"
grep -q "^$state:3:" "$work/err" || fail "check does not show the state position: $(cat "$work/err")"
# a state cut at a line boundary (here back to its header) is damaged too, never a reset of every id
head -1 "$work/state.good" >"$state"
cp "$state" "$work/state.damaged"
set +e
SOURCE_DATE_EPOCH=1767500000 "$MTASTSD" -c "$cfg" dns >"$work/out" 2>"$work/err"; rc=$?
set -e
[ "$rc" = 1 ] || fail "state cut back to its header: exit $rc, output: $(cat "$work/out")"
grep -q "^$state:2:1: no 'end N' line" "$work/err" || fail "cut state message without FILE:LINE:COL: $(cat "$work/err")"
cmp -s "$state" "$work/state.damaged" || fail "cut state was rewritten"
cp "$work/state.good" "$state"

# a version 1 state is upgraded with its ids kept
python3 - "$state" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
out = ["mtastsd-state 1"]
for l in lines[1:]:
    if l.startswith("domain "):
        f = l.split()
        kv = dict(x.split("=", 1) for x in f[2:])
        out.append(f"{f[1]} {kv['id']} {kv['fp']}")
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
head -1 "$state" | grep -qx 'mtastsd-state 1' || fail "could not write a v1 state"
"$MTASTSD" -c "$cfg" check 2>"$work/err" >/dev/null || fail "check with a v1 state exited $?: $(cat "$work/err")"
grep -q "damaged" "$work/err" && fail "check refuses a v1 state: $(cat "$work/err")"
grep -q "warning: the DNS state file .* is version 1" "$work/err" || fail "check does not mention the v1 state"
[ "$(run 1767600000)" = $'a.example 20260101000000\nb.example 20260102010002\nc.example '"$cid" ] ||
  fail "ids changed by the upgrade"
head -1 "$state" | grep -qx 'mtastsd-state 3' || fail "v1 state not upgraded"
grep -q '^domain a.example .*max_age=31557600 ' "$state" || fail "upgraded entry does not assume the longest max_age"

# retirement: check warns, dns explains, and says from when records may go
sed -i '/name: c.example/,$d' "$cfg"
SOURCE_DATE_EPOCH=1767600000 "$MTASTSD" -c "$cfg" dns >"$work/bind" || fail "dns after removing c"
grep -q "^; c.example: retiring .* its records may be deleted from " "$work/bind" || fail "no retiring comment"
grep -q '^_mta-sts.c.example. 3600 IN TXT "v=STSv1; id=20260105080000;"$' "$work/bind" || fail "retiring domain has no fresh id"
SOURCE_DATE_EPOCH=1767600001 "$MTASTSD" -c "$cfg" check >/dev/null 2>"$work/err" || fail "check with a retiring domain exited $?: $(cat "$work/err")"
grep -q "warning: domain 'c.example' is retiring.*may be deleted from " "$work/err" || fail "check does not warn about c: $(cat "$work/err")"
# c was published with max_age 604800 only, but the upgrade assumed 31557600
grep -q "may be deleted from 2027-01-05T14:00:00Z" "$work/err" || fail "wrong deletion date: $(cat "$work/err")"

# retirement over: c is no longer published, and for 30 days every output keeps asking for the
# deletion, whichever format ran first (a bind run must not use up the nsupdate deletion)
exp=$((1767600000 + 31557600))
SOURCE_DATE_EPOCH=$exp "$MTASTSD" -c "$cfg" dns >"$work/bind" || fail "dns when c expires"
grep -q '^; c.example: retirement over' "$work/bind" || fail "bind output does not name the expired domain: $(cat "$work/bind")"
grep -q '^_mta-sts.c.example' "$work/bind" && fail "expired domain still published"
grep -q '^domain c.example .* status=expired$' "$state" || fail "expired entry not kept: $(cat "$state")"
SOURCE_DATE_EPOCH=$((exp + 86400)) "$MTASTSD" -c "$cfg" dns --format nsupdate >"$work/ns" || fail "nsupdate after expiry"
grep -qx 'update delete _mta-sts.c.example. TXT' "$work/ns" || fail "nsupdate after a bind run does not delete c: $(cat "$work/ns")"
SOURCE_DATE_EPOCH=$((exp + 86400)) "$MTASTSD" -c "$cfg" dns --format json >"$work/json" || fail "json after expiry"
grep -q '"expired": \["c.example"\]' "$work/json" || fail "json does not list c as expired: $(cat "$work/json")"
SOURCE_DATE_EPOCH=$((exp + 86400)) "$MTASTSD" -c "$cfg" check >/dev/null 2>"$work/err" || fail "check with an expired domain exited $?: $(cat "$work/err")"
grep -q "warning: domain 'c.example' has finished retiring: its DNS records may be deleted now" "$work/err" ||
  fail "check does not say c's records may be deleted: $(cat "$work/err")"
# 30 days later it is forgotten
SOURCE_DATE_EPOCH=$((exp + 30 * 86400)) "$MTASTSD" -c "$cfg" dns --format nsupdate >"$work/ns" || fail "nsupdate after the grace period"
grep -q 'c.example' "$work/ns" && fail "c still mentioned after the grace period: $(cat "$work/ns")"
grep -q '^domain c.example ' "$state" && fail "c still in the state after the grace period"

# delegated hosting: provider side by default, customer side on request
sed -i 's/^dns:$/dns:\n  delegate_zone: sts.provider.example\n  host_target: mta-sts.provider.example/' "$cfg"
SOURCE_DATE_EPOCH=1767600000 "$MTASTSD" -c "$cfg" dns >"$work/prov" || fail "provider side"
grep -qx '_mta-sts.a.example.sts.provider.example. 3600 IN TXT "v=STSv1; id=20260101000000;"' "$work/prov" || fail "provider side records"
SOURCE_DATE_EPOCH=1767600000 "$MTASTSD" -c "$cfg" dns --side customer >"$work/cust" || fail "customer side"
grep -qx '_mta-sts.a.example. 3600 IN CNAME _mta-sts.a.example.sts.provider.example.' "$work/cust" || fail "customer CNAME"
grep -qx 'mta-sts.a.example. 3600 IN CNAME mta-sts.provider.example.' "$work/cust" || fail "customer policy host CNAME"
grep -q 'TXT' "$work/cust" && fail "customer side contains TXT records"
"$MTASTSD" --help | grep -q 'provider (default)' || fail "--help does not name the default side"
# without host_target the customer side still says what the customer adds for the policy host, and warns
sed -i '/^  host_target: mta-sts.provider.example$/d' "$cfg"
SOURCE_DATE_EPOCH=1767600000 "$MTASTSD" -c "$cfg" dns --side customer >"$work/cust2" 2>"$work/err" || fail "customer side without host_target"
grep -qx '; for mta-sts.a.example. add A/AAAA records (or a CNAME) pointing at the server of the policies: mtastsd does not know it' "$work/cust2" ||
  fail "the customer side omits the policy host: $(cat "$work/cust2")"
grep -q '^mtastsd: dns: warning: no dns.host_target: each customer must also point mta-sts.<domain> at the server' "$work/err" ||
  fail "dns --side customer does not warn: $(cat "$work/err")"
SOURCE_DATE_EPOCH=1767600000 "$MTASTSD" -c "$cfg" check >/dev/null 2>"$work/err" || fail "check without host_target exited $?"
grep -q "warning: dns.delegate_zone 'sts.provider.example' without dns.host_target" "$work/err" ||
  fail "check says nothing of the missing host_target: $(cat "$work/err")"

# a clock far in the future is refused before it writes any id (at year 9999 no change could be published again)
cp "$state" "$work/state.before"
sed -i 's/^  - name: a.example$/  - name: new.example\n    mode: none\n  - name: a.example/' "$cfg"
rc=0; SOURCE_DATE_EPOCH=253402300799 "$MTASTSD" -c "$cfg" dns >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 1 ] || fail "a SOURCE_DATE_EPOCH at year 9999 gave exit $rc"
grep -q "the clock (9999-12-31T23:59:59Z, SOURCE_DATE_EPOCH) is more than a day ahead of the system clock (.*): refusing to write 1 new id" "$work/err" ||
  fail "no clear error for a clock in the future: $(cat "$work/err")"
cmp -s "$state" "$work/state.before" || fail "a clock in the future changed the state"
rc=0; SOURCE_DATE_EPOCH=253402300799 "$MTASTSD" -c "$cfg" check >/dev/null 2>"$work/err" || rc=$?
grep -q "warning: the clock (9999-12-31T23:59:59Z, SOURCE_DATE_EPOCH) is more than a day ahead" "$work/err" ||
  fail "check does not warn about the clock: $(cat "$work/err")"

# a name over 253 octets under dns.delegate_zone fails only its own domain, reported at its position
mkdir -p "$work/long"
label=$(printf 'a%.0s' $(seq 59))
long="$label.$label.$label.$label"
cat >"$work/long/mtastsd.yaml" <<YAML
listen:
  https: []
  http: ["127.0.0.1:18080"]
dns:
  state: st/state
  delegate_zone: sts.provider.example
domains:
  - name: example.com
    mode: none
  - name: $long
    mode: none
YAML
rc=0; SOURCE_DATE_EPOCH=1767600000 "$MTASTSD" -c "$work/long/mtastsd.yaml" dns >"$work/long/out" 2>"$work/long/err" || rc=$?
[ "$rc" = 1 ] || fail "a name over 253 octets gave exit $rc"
grep -qx '_mta-sts.example.com.sts.provider.example. 3600 IN TXT "v=STSv1; id=20260105080000;"' "$work/long/out" ||
  fail "the other domain was not printed: $(cat "$work/long/out")"
grep -q "^_mta-sts.$long" "$work/long/out" && fail "a record name over 253 octets was printed"
grep -q "^$work/long/mtastsd.yaml:10:11: not served: domain '$long': its DNS records cannot be written: record name '_mta-sts.$long.sts.provider.example.' is 269 octets, longer than 253" "$work/long/err" ||
  fail "no positioned report of the long name: $(cat "$work/long/err")"
rc=0; SOURCE_DATE_EPOCH=1767600000 "$MTASTSD" -c "$work/long/mtastsd.yaml" check >/dev/null 2>"$work/long/err" || rc=$?
[ "$rc" = 3 ] || fail "check with a name over 253 octets exited $rc (3: a tenant is not served): $(cat "$work/long/err")"
grep -q "mtastsd.yaml:10:11: not served: domain '$long'" "$work/long/err" || fail "check does not name the domain"

echo "PASS: ids, state file and sides behave through the binary"
