#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mtastsd certs` (issue 16): every policy host (configured, tenant file, retiring) with the
# certificate a handshake gets now (tls.certs, acme.storage/certs, none) and, for the hosts ACME
# manages, the orderer's decision from the state file and the DNS gate: valid, ordering,
# waiting_dns, backoff. JSON checked field by field, the table's alignment and order, each exit
# status; `check` calls the hosts waiting for ACME warnings, not unserved tenants. No CA is needed:
# the issued pair is made with the test CA and the state file written as the orderer writes it;
# where pebble is installed, serve's orderer then issues one name and certs shows it valid.
#
# The DNS gate uses the system resolver: mtastsd runs in a mount namespace of its own whose
# /etc/hosts names the hosts that resolve (unshare, as root), so nothing outside the test changes.
. "$(dirname "$0")/lib.sh"
need openssl python3 unshare

CERTS="$WORK/certs"
STORE="$WORK/acme"
gen_certs "$CERTS" file.example gone.example
gen_certs "$CERTS" --name multi m1.example m2.example
# the ACME-issued pair, as the orderer stores it (NAME.crt 0644, NAME.key 0600)
gen_certs "$WORK/acmeca" issued.example
mkdir -p "$STORE/certs" "$WORK/tenants"
cp "$WORK/acmeca/mta-sts.issued.example.crt" "$WORK/acmeca/mta-sts.issued.example.key" "$STORE/certs/"
chmod 600 "$STORE/certs/mta-sts.issued.example.key"

{
  for h in new retry tenant issued backoff lost; do echo "127.0.0.1 mta-sts.$h.example"; done
} >"$WORK/hosts"
serve_with_hosts "$WORK/hosts"

NOW=$(date +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
T_RENEW=$(iso $((NOW + 30 * 86400))) T_NA=$(iso $((NOW + 60 * 86400)))
T_RETRY=$(iso $((NOW + 3600))) T_PAST=$(iso $((NOW - 60)))
CA_ERROR='urn:ietf:params:acme:error:rejectedIdentifier: pebble refuses "backoff"'
# state NAMES...: the state file, version 2 as acmesched writes it, with the lines of NAMES
state() {
  local n
  printf 'mtastsd-acme-state 2\n'
  for n in "$@"; do
    case "$n" in
      issued) printf 'mta-sts.issued.example\t0\t-\t%s\t%s\t-\t-\t-\n' "$T_NA" "$T_RENEW" ;;
      lost) printf 'mta-sts.lost.example\t0\t-\t%s\t%s\t-\t-\t-\n' "$T_NA" "$T_RENEW" ;;
      backoff) printf 'mta-sts.backoff.example\t3\t%s\t-\t-\t-\t-\t%s\n' "$T_RETRY" "$CA_ERROR" ;;
      retry) printf 'mta-sts.retry.example\t1\t%s\t-\t-\t-\t-\tconnection refused\n' "$T_PAST" ;;
    esac
  done
}

# config DOMAIN...: the main file (tenant.example comes from the tenant file)
config() {
  local d
  printf 'listen:\n  https: ["127.0.0.1:%s"]\n  http: []\n  admin: "127.0.0.1:%s"\n' "$(free_port)" "$(free_port)"
  printf 'tls:\n  certs: certs/\ndns:\n  state: state/mtastsd.state\n  zone: state/mta-sts.zone\n'
  printf 'domains_dir: tenants/\n'
  printf 'acme:\n  agree_terms: true\n  storage: acme/\n  challenges: [tls-alpn-01]\n'
  printf 'defaults:\n  mode: testing\n  mx: [mx.example.net]\ndomains:\n'
  for d in "$@"; do
    case "$d" in
      file|bare) printf '  - {name: %s.example, acme: false}\n' "$d" ;;
      *) printf '  - %s.example\n' "$d" ;;
    esac
  done
}
printf -- '- tenant.example\n' >"$WORK/tenants/customer.yaml"
CFG="$WORK/mtastsd.yaml"
# gone.example retires: in the state's ids, no longer configured
config file gone >"$CFG"
"$MTASTSD" -c "$CFG" dns >/dev/null 2>&1 || fail "dns did not assign ids"
ALL=(file bare m1 m2 issued backoff retry new nodns lost)
config "${ALL[@]}" >"$CFG"
state issued backoff retry lost >"$STORE/state"
cp "$STORE/state" "$WORK/state.before"

rc=0; "$MTASTSD" -c "$CFG" certs --format json >"$WORK/certs.json" 2>"$WORK/certs.err" || rc=$?
FAIL_SHOW="$WORK/certs.json $WORK/certs.err"
check "certs --format json: exit 1 (bare, backoff and lost have no certificate coming)" [ "$rc" = 1 ]
check "stderr names exactly the hosts with none coming" \
  grep -qx 'mtastsd: certs: 3 hosts served with no certificate and none on its way: mta-sts.backoff.example, mta-sts.bare.example, mta-sts.lost.example' "$WORK/certs.err"

# every field of every host
json_ok() {
  WORK="$WORK" STORE="$STORE" T_RENEW="$T_RENEW" T_RETRY="$T_RETRY" CA_ERROR="$CA_ERROR" python3 - "$WORK/certs.json" <<'PY'
import datetime, json, os, subprocess, sys
W, S = os.environ["WORK"], os.environ["STORE"]
def not_after(path):
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", path], capture_output=True, text=True).stdout
    t = datetime.datetime.strptime(out.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y GMT")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
def f(name, rel):
    return {"source": name, "file": rel, "not_after": not_after(rel)}
none = {"source": "none", "file": None, "not_after": None, "names": []}
def acme(state, renew=None, retry=None, err=None):
    return {"state": state, "next_renewal": renew, "retry_at": retry, "last_error": err}
multi = dict(f("file", W + "/certs/multi.crt"), names=["mta-sts.m1.example", "mta-sts.m2.example"])
want = {
    "mta-sts.backoff.example": dict(none, acme=acme("backoff", retry=os.environ["T_RETRY"], err=os.environ["CA_ERROR"])),
    "mta-sts.bare.example": dict(none, acme=None),
    "mta-sts.file.example": dict(f("file", W + "/certs/mta-sts.file.example.crt"), names=["mta-sts.file.example"], acme=None),
    "mta-sts.gone.example": dict(f("file", W + "/certs/mta-sts.gone.example.crt"), names=["mta-sts.gone.example"], acme=None),
    "mta-sts.issued.example": dict(f("acme", S + "/certs/mta-sts.issued.example.crt"), names=["mta-sts.issued.example"],
                                   acme=acme("valid", renew=os.environ["T_RENEW"])),
    "mta-sts.lost.example": dict(none, acme=acme("valid", renew=os.environ["T_RENEW"])),
    "mta-sts.m1.example": dict(multi, acme=None),
    "mta-sts.m2.example": dict(multi, acme=None),
    "mta-sts.new.example": dict(none, acme=acme("ordering")),
    "mta-sts.nodns.example": dict(none, acme=acme("waiting_dns")),
    "mta-sts.retry.example": dict(none, acme=acme("ordering", err="connection refused")),
    "mta-sts.tenant.example": dict(none, acme=acme("ordering")),
}
doc = json.load(open(sys.argv[1]))
assert list(doc) == ["hosts"], list(doc)
hosts = [h["host"] for h in doc["hosts"]]
assert hosts == sorted(want), hosts
bad = 0
for h in doc["hosts"]:
    w = dict(want[h["host"]], host=h["host"], domain=h["host"][len("mta-sts."):])
    got = dict(h)
    if got.get("file") is not None and w["file"] is not None and os.path.samefile(got["file"], w["file"]):
        got["file"] = w["file"]
    if got != w:
        bad += 1
        print("host %s:\n  got  %s\n  want %s" % (h["host"], json.dumps(got, sort_keys=True), json.dumps(w, sort_keys=True)))
    if list(h) != ["host", "domain", "source", "file", "not_after", "names", "acme"]:
        bad += 1; print("keys of %s: %s" % (h["host"], list(h)))
sys.exit(1 if bad else 0)
PY
}
check "JSON: every host once, sorted, every field as expected" json_ok
check "JSON: one host per line" [ "$(grep -c '^  {"host": ' "$WORK/certs.json")" = 12 ]
check "certs read the state and wrote nothing" cmp -s "$STORE/state" "$WORK/state.before"
check "certs made nothing in the storage (no challenges/, no account key)" \
  bash -c '[ ! -e "$1/challenges" ] && [ ! -e "$1/account.key" ]' _ "$STORE"

# the table: a header, one line per host in host order, columns aligned
rc=0; "$MTASTSD" -c "$CFG" certs >"$WORK/certs.table" 2>/dev/null || rc=$?
check "certs (table): exit 1 as well" [ "$rc" = 1 ]
table_ok() {
  python3 - "$WORK/certs.table" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
head = lines[0].split()
assert head == ["HOST", "SOURCE", "NOT_AFTER", "ACME", "NEXT_RENEWAL", "RETRY_AT", "NAMES", "FILE", "LAST_ERROR"], head
starts = [lines[0].index(h) for h in head]
rows = lines[1:]
assert len(rows) == 12, len(rows)
assert [r.split()[0] for r in rows] == sorted(r.split()[0] for r in rows)
for r in rows:
    for s in starts[1:]:
        assert r[s - 2:s] == "  " and r[s] != " ", "column at %d of %r" % (s, r)
by = {r.split()[0]: r for r in rows}
def cell(host, col):
    r, i = by[host], head.index(col)
    end = starts[i + 1] if i + 1 < len(starts) else len(r)
    return r[starts[i]:end].strip()
assert cell("mta-sts.m1.example", "NAMES") == "mta-sts.m1.example +1", cell("mta-sts.m1.example", "NAMES")
assert cell("mta-sts.m1.example", "SOURCE") == "file"
assert cell("mta-sts.issued.example", "SOURCE") == "acme" and cell("mta-sts.issued.example", "ACME") == "valid"
assert cell("mta-sts.nodns.example", "ACME") == "waiting_dns" and cell("mta-sts.nodns.example", "SOURCE") == "none"
assert cell("mta-sts.new.example", "ACME") == "ordering"
assert cell("mta-sts.bare.example", "ACME") == "-" and cell("mta-sts.bare.example", "FILE") == "-"
assert cell("mta-sts.backoff.example", "ACME") == "backoff"
assert cell("mta-sts.backoff.example", "LAST_ERROR").startswith("urn:ietf:params:acme:error:rejectedIdentifier")
assert cell("mta-sts.gone.example", "FILE").endswith("/certs/mta-sts.gone.example.crt")
PY
}
check "table: header, one line per host sorted, columns aligned, the cells expected" table_ok

# check: hosts waiting for ACME are warnings; backoff with the CA's detail; the others unserved
rc=0; "$MTASTSD" -c "$CFG" check >"$WORK/check.out" 2>&1 || rc=$?
FAIL_SHOW="$WORK/check.out"
check "check: exit 3 (bare and lost are not served)" [ "$rc" = 3 ]
check "check: the new name waits for ACME (ordering), a warning" \
  grep -q "warning: domain 'new.example' waits for its certificate from ACME (ordering" "$WORK/check.out"
check "check: the tenant file's name waits for ACME too" \
  grep -q "warning: domain 'tenant.example' waits for its certificate from ACME (ordering" "$WORK/check.out"
check "check: the name that does not resolve waits for DNS, a warning with the gate's reason" \
  grep -Eq "warning: domain 'nodns.example' waits for its certificate from ACME \(waiting_dns: 'mta-sts.nodns.example': (NXDOMAIN|resolver failed)" "$WORK/check.out"
check "check: backoff is a warning with its next attempt and the CA's last error" \
  grep -qF "warning: domain 'backoff.example' waits for its certificate from ACME (backoff: 3 failed orders, next attempt at $T_RETRY): $CA_ERROR" "$WORK/check.out"
check "check: a retry whose time came shows the last error" \
  grep -q "warning: domain 'retry.example' waits .*(ordering.*the last attempt failed: connection refused" "$WORK/check.out"
check "check: valid by the state with its pair gone is not served" \
  grep -q "not served: domain 'lost.example': no certificate covers 'mta-sts.lost.example', but the ACME state says it is valid" "$WORK/check.out"
check "check: acme: false without a certificate is not served" grep -q "not served: domain 'bare.example'" "$WORK/check.out"
check "check: the issued ACME pair serves its host (not unserved, not unused)" \
  bash -c '! grep -q "issued.example" "$1"' _ "$WORK/check.out"
check "check: the ACME-managed hosts without a certificate are not counted unserved" \
  grep -q 'but 2 problems above leave tenants unserved' "$WORK/check.out"

# only hosts whose certificate is on its way: certs exits 0, check 0
config file m1 m2 issued retry new nodns >"$CFG"
rc=0; "$MTASTSD" -c "$CFG" certs >"$WORK/ok.table" 2>"$WORK/ok.err" || rc=$?
check "certs: exit 0 when every host without a certificate is ordering or waiting for DNS" \
  bash -c '[ "$1" = 0 ] && [ ! -s "$2" ]' _ "$rc" "$WORK/ok.err"
rc=0; "$MTASTSD" -c "$CFG" check >"$WORK/check-ok.out" 2>&1 || rc=$?
check "check: exit 0, configuration OK, with the waits as warnings" \
  bash -c '[ "$1" = 0 ] && grep -q "^configuration OK" "$2" && grep -q "waits for its certificate from ACME" "$2"' _ "$rc" "$WORK/check-ok.out"
# the same hosts and one whose last order failed: that one alone makes it exit 1, and is named
config file m1 m2 issued retry new nodns backoff >"$WORK/backoff.yaml"
rc=0; "$MTASTSD" -c "$WORK/backoff.yaml" certs >/dev/null 2>"$WORK/backoff.err" || rc=$?
check "certs: exit 1 for one host in backoff among ordering and waiting_dns ones, named on stderr" \
  bash -c '[ "$1" = 1 ] && grep -qx "mtastsd: certs: 1 host served with no certificate and none on its way: mta-sts.backoff.example" "$2"' \
  _ "$rc" "$WORK/backoff.err"

# a broken state file: certs exits 1 with its line; check calls it an error (serve would not start)
printf 'mtastsd-acme-state 2\nmta-sts.new.example\tnot-a-number\n' >"$STORE/state"
rc=0; "$MTASTSD" -c "$CFG" certs >/dev/null 2>"$WORK/broken.err" || rc=$?
check "certs: a broken state exits 1, naming the file and line" \
  bash -c '[ "$1" = 1 ] && grep -q "acme/state:2:" "$2"' _ "$rc" "$WORK/broken.err"
rc=0; "$MTASTSD" -c "$CFG" check >"$WORK/check-broken.out" 2>&1 || rc=$?
check "check: a broken state is an error with order: true (exit 1)" \
  bash -c '[ "$1" = 1 ] && grep -q "the ACME state in .* cannot be read: serve does not start with it" "$2"' _ "$rc" "$WORK/check-broken.out"
cp "$WORK/state.before" "$STORE/state"

# a storage that does not exist yet: every managed host ordering, nothing made
sed -i 's|storage: acme/|storage: acme-new/|' "$CFG"
rc=0; "$MTASTSD" -c "$CFG" certs --format json >"$WORK/new.json" 2>/dev/null || rc=$?
check "certs: a missing storage is no state (exit 0), and is not made" \
  bash -c '[ "$1" = 0 ] && [ ! -e "$2/acme-new" ] && grep -q "\"mta-sts.issued.example\".*\"source\": \"none\".*\"state\": \"ordering\"" "$3"' \
  _ "$rc" "$WORK" "$WORK/new.json"

# usage and configuration errors
rc=0; "$MTASTSD" -c "$CFG" certs --format xml >/dev/null 2>"$WORK/usage.err" || rc=$?
check "certs --format xml: exit 2, unknown format" bash -c '[ "$1" = 2 ] && grep -q "unknown format .xml." "$2"' _ "$rc" "$WORK/usage.err"
rc=0; "$MTASTSD" -c "$CFG" certs extra >/dev/null 2>&1 || rc=$?
check "certs with an argument: exit 2" [ "$rc" = 2 ]
rc=0; "$MTASTSD" certs --help >"$WORK/help.out" 2>&1 || rc=$?
check "certs --help: exit 0, its usage" bash -c '[ "$1" = 0 ] && grep -q "usage: mtastsd \[-c FILE\] certs \[--format table|json\]" "$2"' _ "$rc" "$WORK/help.out"
check "mtastsd --help lists certs" bash -c '"$1" --help | grep -q "^  certs \[--format F\]"' _ "$MTASTSD"
printf 'domains:\n  - name: bad..example\n' >"$WORK/bad.yaml"
rc=0; "$MTASTSD" -c "$WORK/bad.yaml" certs >/dev/null 2>"$WORK/bad.err" || rc=$?
check "certs with an invalid config: exit 1, FILE:LINE:COL" bash -c '[ "$1" = 1 ] && grep -q "bad.yaml:2:" "$2"' _ "$rc" "$WORK/bad.err"

# ---- with pebble (when installed): serve's orderer issues one name, and certs reads the state
# and the pair exactly as the orderer wrote them
if command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1; then
  P=$(free_port) H=$(free_port) ADMIN_PORT=$(free_port)
  pebble_setup "$H" "$P"
  pebble_start
  echo "127.0.0.1 mta-sts.peb.example" >>"$WORK/hosts"
  {
    serve_head "$P" "$H" "$ADMIN_PORT" "$CERTS"
    printf 'dns:
  state: %s/state3/mtastsd.state
' "$WORK"
    printf 'acme:
  directory: %s
  ca_file: %s
  agree_terms: true
  storage: %s
  challenges: [http-01]
' \
      "$DIR_URL" "$WORK/pebble.crt" "$WORK/acme-pebble"
    printf 'defaults:
  mx: [mx.example.net]
domains:
  - peb.example
  - {name: file.example, acme: false}
'
  } >"$WORK/pebble.yaml"
  start_server "$WORK/pebble.yaml" "$ADMIN_PORT" || fail "serve did not start"
  wait_until 60 "mta-sts.peb.example issued" grep -q 'acme: mta-sts.peb.example: issued in' "$WORK/serve.log" ||
    fail "not issued: $(grep 'acme:' "$WORK/serve.log" | tail -n 3)"
  rc=0; "$MTASTSD" -c "$WORK/pebble.yaml" certs --format json >"$WORK/pebble.json" 2>&1 || rc=$?
  check "pebble: certs exits 0 beside a running serve" [ "$rc" = 0 ]
  pebble_ok() {
    STORE2="$WORK/acme-pebble" python3 - "$WORK/pebble.json" <<'PY'
import json, os, sys
h = {x["host"]: x for x in json.load(open(sys.argv[1]))["hosts"]}["mta-sts.peb.example"]
assert h["source"] == "acme" and os.path.samefile(h["file"], os.environ["STORE2"] + "/certs/mta-sts.peb.example.crt"), h
assert h["names"] == ["mta-sts.peb.example"], h
a = h["acme"]
assert a["state"] == "valid" and a["retry_at"] is None and a["last_error"] is None, a
# renewal a third of the lifetime before the end at the latest (RFC 3339 strings sort as times)
assert a["next_renewal"] is not None and a["next_renewal"] < h["not_after"], a
PY
  }
  check "pebble: the issued name is source acme, valid, its renewal before its expiry" pebble_ok
  check "pebble: serve exits 0 on SIGTERM" stop_server
else
  echo "# pebble is not installed: the case against serve's orderer is left out"
fi

finish
