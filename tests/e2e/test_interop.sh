#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interoperability: third-party MTA-STS senders discover, fetch, validate and cache the policies
# that `mtastsd serve` publishes and `mtastsd dns` announces, end to end, in a network namespace:
#
#   Knot DNS (127.0.0.1:53) serving a zone that includes mtastsd's zone file
#   mtastsd serve on 127.0.0.1:443 with certificates from a CA made for this run
#   openssl s_server on 127.0.0.2/.3:443 as hosts that must be refused (negative fixtures)
#   clients: kdig, curl, mta-sts-query and mta-sts-daemon (+ postmap) from Debian,
#            mailauth (current line, strict), mailauth 4.x and email-domain-check from npm
#
# Then one domain's mx is changed in the config and the change has to travel: serve reloads,
# the zone gets a new id for that domain only, Knot reloads, every client sees the new policy
# (the caching daemon included), every other domain keeps its id and policy.
#
# Prints "PASS|FAIL client domain ..." lines and "N passed, M failed". Exit 77 = skipped.
# Env: MTASTSD (binary), SOURCE_ROOT, KEEP=1 keeps the work folder, INTEROP_CERTS=openssl makes
# the certificates with openssl directly instead of scripts/gen-dev-certs.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
IX="$here/interop"
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
MTASTSD=${MTASTSD:-$SOURCE_ROOT/build/mtastsd}
source "$here/lib.sh"
set +e   # lib.sh sets -e; this test counts its failures and goes on
START=$(date +%s)
# Debian's interpreter, the one postfix-mta-sts-resolver runs on (a pyenv shim may come first in PATH)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

skip() { echo "SKIP: interop: $*"; exit 77; }
say() { echo "# $(($(date +%s) - START))s $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root to create a network namespace (ip netns add)"
[ -x "$MTASTSD" ] || skip "mtastsd binary not found at '$MTASTSD' (set MTASTSD)"
missing=()
for t in ip knotd knotc kdig curl openssl python3 mta-sts-query mta-sts-daemon postmap node npm; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
"$PY" -c 'import aiosqlite' 2>/dev/null || missing+=("python3-aiosqlite")
[ ${#missing[@]} -eq 0 ] || skip "missing tools: ${missing[*]} (scripts/install-deps installs them)"

# npm clients: installed from the committed package-lock.json into the build folder (never into
# the source tree) when they are missing or stale there; clients.js finds them by INTEROP_NODE_MODULES
NPM_DIR="${BUILD_DIR:-$SOURCE_ROOT/build}/interop-npm"
if ! (cd "$NPM_DIR" 2>/dev/null && [ -d node_modules ] && cmp -s package-lock.json "$IX/package-lock.json" \
      && [ node_modules/.package-lock.json -nt package-lock.json ] \
      && [ -f node_modules/mailauth/lib/mta-sts.js ] && [ -f node_modules/mailauth4/lib/mta-sts.js ] \
      && [ -d node_modules/email-domain-check ]); then
  echo "# installing npm clients (npm ci in $NPM_DIR)"
  mkdir -p "$NPM_DIR" && cp "$IX/package.json" "$IX/package-lock.json" "$NPM_DIR/" \
    || skip "cannot prepare $NPM_DIR for npm ci"
  (cd "$NPM_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || skip "npm ci in $NPM_DIR failed (npm registry unreachable?)"
fi
export INTEROP_NODE_MODULES="$NPM_DIR/node_modules"

NS="mtastsd-interop-$$"
W=$WORK
chmod 755 "$W"
PIDS=()
CLEANED=0
cleanup() {
  local p
  [ "$BASHPID" = "$$" ] && [ "$CLEANED" = 0 ] || return 0
  CLEANED=1
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  # anything else still running inside the namespace was started by this test
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done
  sleep 0.2
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "/etc/netns/$NS"
  if [ "${KEEP:-0}" = 1 ]; then echo "# kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! err=$(ip netns add "$NS" 2>&1); then
  skip "network namespaces unavailable: ip netns add failed: $err"
fi
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up || skip "cannot bring up lo in the namespace"
# ip netns exec bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf
mkdir -p "/etc/netns/$NS"
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' > "/etc/netns/$NS/resolv.conf"

PASSES=0
FAILS=0
pass() { PASSES=$((PASSES + 1)); echo "PASS $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL $*"; }
finish() {
  say "done"
  echo "$PASSES passed, $FAILS failed"
  [ "$FAILS" -eq 0 ] && exit 0
  exit 1
}
abort() { fail "$*"; [ -n "${W:-}" ] && tail -n 20 "$W"/*.log 2>/dev/null; finish; }
waitfor() { wait_for "$@" >/dev/null 2>&1; } # waitfor SECONDS CMD...: lib.sh's wait_for, quietly

# ---------------------------------------------------------------- the world
# dns.on_change: what an operator's hook does, bump the SOA serial of the including zone and
# have Knot reload it (skipped while knotd is not up yet, e.g. for the zone written at start-up)
cat > "$W/on_change.sh" <<EOF
#!/bin/sh
echo "\$MTASTSD_CHANGED" >> "$W/on_change.log"
n=\$(( \$(cat "$W/serial") + 1 ))
echo "\$n" > "$W/serial"
[ -f "$W/knot/zones/test.zone" ] || exit 0
sed -i "s/^@   SOA ns.test. hostmaster.test. [0-9]* /@   SOA ns.test. hostmaster.test. \$n /" "$W/knot/zones/test.zone"
[ -S "$W/knot/knot.sock" ] || exit 0
exec knotc -c "$W/knot/knot.conf" zone-reload test.
EOF
chmod 755 "$W/on_change.sh"
echo 1 > "$W/serial"
"$PY" "$IX/world.py" gen "$W" --on-change "$W/on_change.sh" || abort "world.py gen"
mapfile -t DOMAINS < "$W/domains.txt"
say "${#DOMAINS[@]} domains in the config, 3 negative fixtures"

# certificates: a test CA and one ECDSA P-256 certificate per policy host (one wildcard, one RSA)
mkdir -p "$W/certs" "$W/neg" "$W/state"
mkca() { # mkca DIR CN
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1/ca.key" 2>/dev/null &&
  openssl req -x509 -new -key "$1/ca.key" -sha256 -days 2 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1/ca.crt" 2>/dev/null
}
mkcert() { # mkcert CADIR OUTBASE SAN-DNS...
  local ca="$1" base="$2"; shift 2
  local san="" h
  for h in "$@"; do san="${san:+$san,}DNS:$h"; done
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$base.key" 2>/dev/null &&
  local cn="$1"
  [ ${#cn} -le 64 ] || cn="mtastsd interop test host"
  openssl req -new -key "$base.key" -subj "/CN=$cn" -out "$base.csr" 2>/dev/null &&
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" > "$base.ext" &&
  openssl x509 -req -in "$base.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -CAcreateserial \
    -CAserial "$ca/ca.srl" -days 2 -sha256 -extfile "$base.ext" -out "$base.crt" 2>/dev/null &&
  rm -f "$base.csr" "$base.ext"
}
plain=()
long=()
for d in "${DOMAINS[@]}"; do
  case "$d" in
    wildcard-cert.test|rsa-cert.test) ;;
    # a subject CN holds at most 64 characters; longer host names are only in the SAN
    *) if [ $(( ${#d} + 8 )) -gt 64 ]; then long+=("$d"); else plain+=("$d"); fi ;;
  esac
done
GEN="$SOURCE_ROOT/scripts/gen-dev-certs"
if [ -x "$GEN" ] && [ "${INTEROP_CERTS:-}" != openssl ]; then
  "$GEN" -o "$W/certs" --days 2 "${plain[@]}" >/dev/null &&
  "$GEN" -o "$W/certs" --days 2 --wildcard wildcard-cert.test >/dev/null &&
  "$GEN" -o "$W/certs" --days 2 --rsa rsa-cert.test >/dev/null || abort "scripts/gen-dev-certs failed"
  for d in "${long[@]}"; do
    mkcert "$W/certs" "$W/certs/mta-sts.$d" "mta-sts.$d" || abort "openssl: cert $d"
  done
  certs_by="scripts/gen-dev-certs"
else
  mkca "$W/certs" "mtastsd interop test CA" || abort "openssl: test CA"
  for d in "${plain[@]}" "${long[@]}"; do mkcert "$W/certs" "$W/certs/mta-sts.$d" "mta-sts.$d" || abort "openssl: cert $d"; done
  mkcert "$W/certs" "$W/certs/_wildcard.wildcard-cert.test" "*.wildcard-cert.test" || abort "openssl: wildcard cert"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/certs/mta-sts.rsa-cert.test.key" \
    -CA "$W/certs/ca.crt" -CAkey "$W/certs/ca.key" -days 2 -subj "/CN=mta-sts.rsa-cert.test" \
    -addext "subjectAltName=DNS:mta-sts.rsa-cert.test" -addext "basicConstraints=critical,CA:FALSE" \
    -out "$W/certs/mta-sts.rsa-cert.test.crt" 2>/dev/null || abort "openssl: rsa cert"
  certs_by="openssl"
fi
CA="$W/ca.crt"
cp "$W/certs/ca.crt" "$CA"
# the CA's key has no business in the folder mtastsd scans
mv "$W/certs/ca.key" "$W/ca.key"; rm -f "$W/certs/ca.srl"
mkdir -p "$W/signer"; cp "$CA" "$W/signer/ca.crt"; cp "$W/ca.key" "$W/signer/ca.key"
# negative fixtures: a certificate for another name from the trusted CA; a right name from another CA
mkcert "$W/signer" "$W/neg/other-name" "mta-sts.other-name.test" || abort "openssl: other-name cert"
mkdir -p "$W/otherca"
mkca "$W/otherca" "some other CA" && mkcert "$W/otherca" "$W/neg/untrusted" "mta-sts.untrusted-ca.test" \
  || abort "openssl: other CA"
# tolerance probes: one certificate per probe host from the trusted CA; cn-only.test has no SAN
mkdir -p "$W/probe"
for d in $("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import world; print(" ".join(world.PROBES))' "$IX"); do
  if [ "$d" = cn-only.test ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/probe/mta-sts.$d.key" 2>/dev/null &&
    openssl req -new -key "$W/probe/mta-sts.$d.key" -subj "/CN=mta-sts.$d" -out "$W/probe/cn.csr" 2>/dev/null &&
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' > "$W/probe/cn.ext" &&
    openssl x509 -req -in "$W/probe/cn.csr" -CA "$W/signer/ca.crt" -CAkey "$W/signer/ca.key" -CAcreateserial \
      -CAserial "$W/signer/ca.srl" -days 2 -sha256 -extfile "$W/probe/cn.ext" -out "$W/probe/mta-sts.$d.crt" 2>/dev/null &&
    rm -f "$W/probe/cn.csr" "$W/probe/cn.ext" || abort "openssl: CN-only probe certificate"
  else
    mkcert "$W/signer" "$W/probe/mta-sts.$d" "mta-sts.$d" || abort "openssl: probe certificate $d"
  fi
done
say "certificates made by $certs_by"

# client trust: every client gets the test CA and nothing else
export SSL_CERT_FILE="$CA" NODE_EXTRA_CA_CERTS="$CA" CURL_CA_BUNDLE="$CA"

# ---------------------------------------------------------------- mtastsd serve
"$MTASTSD" -c "$W/mtastsd.yaml" check > "$W/check.log" 2>&1 \
  && pass "mtastsd check: configuration OK" || fail "mtastsd check: $(tail -n 3 "$W/check.log" | tr '\n' ' ')"
# started without a shell function in between, so that $! is mtastsd itself (ip netns exec execs it)
ip netns exec "$NS" "$MTASTSD" -c "$W/mtastsd.yaml" serve > "$W/serve.log" 2>&1 &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
if ! waitfor 10 nsx curl -sf --cacert "$CA" --resolve "mta-sts.${DOMAINS[0]}:443:127.0.0.1" \
     "https://mta-sts.${DOMAINS[0]}/.well-known/mta-sts.txt"; then
  abort "mtastsd serve did not answer on 127.0.0.1:443 within 10s: $(tail -n 5 "$W/serve.log" | tr '\n' ' ')"
fi
ZONE="$W/state/mta-sts.zone"
if ! waitfor 5 test -s "$ZONE"; then
  fail "mtastsd serve wrote no zone file at startup ($ZONE); using 'mtastsd dns' output instead"
  "$MTASTSD" -c "$W/mtastsd.yaml" dns > "$ZONE" 2>"$W/dns.log" || abort "mtastsd dns failed"
fi
say "mtastsd serve up (pid $SERVE_PID)"

ids_from_zone() { # ids_from_zone ZONEFILE > ids.json
  "$PY" - "$1" <<'EOF'
import json, re, sys
ids = {}
for line in open(sys.argv[1], encoding="ascii"):
    m = re.match(r'_mta-sts\.(\S+)\.\s+\d+\s+IN\s+TXT\s+"v=STSv1; id=([A-Za-z0-9]+);"', line)
    if m:
        ids[m.group(1)] = m.group(2)
json.dump(ids, sys.stdout, indent=1)
EOF
}
ids_from_zone "$ZONE" > "$W/ids1.json"
# what `mtastsd dns` prints must be what serve wrote (same ids, same records)
if "$MTASTSD" -c "$W/mtastsd.yaml" dns > "$W/dns1.zone" 2>"$W/dns.log"; then
  if diff <(grep -v '^;' "$W/dns1.zone") <(grep -v '^;' "$ZONE") > "$W/dns1.diff"; then
    pass "mtastsd dns prints the records serve wrote to the zone file"
  else
    fail "mtastsd dns differs from serve's zone file: $(head -c 300 "$W/dns1.diff" | tr '\n' ' ')"
  fi
else
  fail "mtastsd dns: $(tail -n 2 "$W/dns.log" | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- Knot DNS
SERIAL=$(cat "$W/serial")
write_zone() {
  cat > "$W/knot/zones/test.zone" <<EOF
\$ORIGIN test.
\$TTL 60
@   SOA ns.test. hostmaster.test. $SERIAL 60 60 600 1
@   NS  ns.test.
ns  A   127.0.0.1
\$INCLUDE "$W/static.zone"
; what mtastsd writes (dns.zone in its config)
\$INCLUDE "$ZONE"
EOF
}
knot_conf "$W/knot" 127.0.0.1@53 "" "zonefile-load: whole" "journal-content: none" "semantic-checks: on"
write_zone
cat >> "$W/knot/knot.conf" <<EOF
control:
    listen: "$W/knot/knot.sock"
zone:
  - domain: test.
    file: test.zone
EOF
KNOT_NETNS=$NS knot_start "$W/knot" 53 test. || abort "knotd did not start"
PIDS+=("$KNOT_PID")
if ! nsx kdig @127.0.0.1 +short SOA test. | grep -q "hostmaster.test. $SERIAL "; then
  abort "knotd does not serve the test zone: $(tail -n 5 "$W/knot/knot.log" | tr '\n' ' ')"
fi
say "knotd serving test. (serial $SERIAL)"

# ---------------------------------------------------------------- negative fixtures
negsrv() { # negsrv ADDR CERTBASE DOMAIN
  local www="$W/neg/www-$3"
  mkdir -p "$www/.well-known"
  printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.%s\r\nmax_age: 86400\r\n' "$3" > "$www/.well-known/mta-sts.txt"
  (cd "$www" && exec ip netns exec "$NS" openssl s_server -quiet -WWW -accept "$1:443" \
     -cert "$2.crt" -key "$2.key" > "$W/s_server-$3.log" 2>&1) &
  PIDS+=("$!")
}
negsrv 127.0.0.2 "$W/neg/other-name" wrong-cert.test
negsrv 127.0.0.3 "$W/neg/untrusted" untrusted-ca.test
ip netns exec "$NS" "$PY" "$IX/probe_server.py" 127.0.0.4 "$W/probe" > "$W/probe.log" 2>&1 &
PIDS+=("$!")
waitfor 5 nsx openssl s_client -connect 127.0.0.4:443 -servername mta-sts.html.test </dev/null || abort "probe_server.py did not start: $(tail -n 5 "$W/probe.log" | tr '\n' ' ')"
waitfor 5 nsx openssl s_client -connect 127.0.0.2:443 -servername x </dev/null || abort "s_server did not start"
waitfor 5 nsx openssl s_client -connect 127.0.0.3:443 -servername x </dev/null || abort "s_server did not start"

# ---------------------------------------------------------------- mta-sts-daemon
DPORT=8461
cat > "$W/mta-sts-daemon.yml" <<EOF
host: 127.0.0.1
port: $DPORT
reuse_port: true
shutdown_timeout: 2
# seconds a cached policy is used before the TXT id is looked up again (default 60)
cache_grace: 2
cache:
  type: sqlite
  options:
    filename: "$W/daemon-cache.db"
default_zone:
  strict_testing: true
  timeout: 4
zones:
  postfix:
    # answer "secure" for testing-mode domains too, so their mx set is visible
    strict_testing: true
    timeout: 4
EOF
mkdir -p "$W/postfix"
printf 'compatibility_level = 3.6\n' > "$W/postfix/main.cf"
ip netns exec "$NS" mta-sts-daemon -c "$W/mta-sts-daemon.yml" -v info -l "$W/mta-sts-daemon.log" &
PIDS+=("$!")
waitfor 10 nsx "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $DPORT), 1)" \
  || abort "mta-sts-daemon did not listen on $DPORT: $(tail -n 5 "$W/mta-sts-daemon.log" | tr '\n' ' ')"
say "mta-sts-daemon listening on 127.0.0.1:$DPORT"

# ---------------------------------------------------------------- the clients
mkdir -p "$W/obs" "$W/cstate"
run_clients() { # run_clients PHASE EXPECT IDS
  local phase="$1" exp="$2" ids="$3" c
  timed() { # timed NAME CMD...: run CMD, note its wall time
    local t0=$(date +%s%N) n="$1"; shift
    "$@"
    echo "$n $(( ($(date +%s%N) - t0) / 1000000 ))" >> "$W/obs/$phase.times"
  }
  for c in dns curl query; do
    timed "$c" nsx "$PY" "$IX/pyclients.py" "$c" "$exp" "$W/cstate" "$phase" > "$W/obs/$phase.$c.jsonl" 2> "$W/obs/$phase.$c.err" &
  done
  for c in mailauth mailauth4 email-domain-check; do
    timed "$c" nsx node "$IX/clients.js" "$c" "$exp" "$W/cstate" "$phase" > "$W/obs/$phase.$c.jsonl" 2> "$W/obs/$phase.$c.err" &
  done
  timed daemon nsx "$PY" "$IX/pyclients.py" daemon "$exp" "$W/cstate" "$phase" "$DPORT" "$W/daemon-cache.db" "$W/postfix" \
    > "$W/obs/$phase.daemon.jsonl" 2> "$W/obs/$phase.daemon.err" &
  wait_clients
  say "clients done (ms): $(sort "$W/obs/$phase.times" | tr '\n' ' ')"
  for c in dns curl query mailauth mailauth4 email-domain-check daemon; do
    if [ -s "$W/obs/$phase.$c.err" ] && ! [ -s "$W/obs/$phase.$c.jsonl" ]; then
      fail "$c $phase: client harness crashed: $(tail -n 3 "$W/obs/$phase.$c.err" | tr '\n' ' ')"
    fi
  done
  local out
  out=$("$PY" "$IX/world.py" verdict "$exp" "$ids" --label "$phase" "$W"/obs/"$phase".*.jsonl)
  echo "$out"
  PASSES=$((PASSES + $(grep -c '^PASS ' <<<"$out")))
  FAILS=$((FAILS + $(grep -c '^FAIL ' <<<"$out")))
}
wait_clients() {
  local j
  for j in $(jobs -p); do
    case " ${PIDS[*]} " in *" $j "*) ;; *) wait "$j" ;; esac
  done
}

say "initial phase: every client, every domain"
run_clients initial "$W/expect.json" "$W/ids1.json"

# ---------------------------------------------------------------- a change travels
say "change: $("$PY" -c 'import sys; sys.path.insert(0, "'"$IX"'"); import world; print(world.CHANGED, world.CHANGED_MX)')"
cp "$W/expect.json" "$W/expect1.json"
cp "$ZONE" "$W/zone1"
mkdir -p "$W/v2"
"$PY" "$IX/world.py" gen "$W/v2" --changed --on-change "$W/on_change.sh" || abort "world.py gen --changed"
: > "$W/on_change.log"
# the new config replaces the old one in place, as an operator's editor would
cat "$W/v2/mtastsd.yaml" > "$W/mtastsd.yaml"
T0=$(date +%s%N)
if waitfor 15 bash -c '! cmp -s "$0" "$1"' "$ZONE" "$W/zone1"; then
  pass "mtastsd serve reloaded on the config change and rewrote the zone in $(( ($(date +%s%N) - T0) / 1000000 )) ms"
else
  fail "mtastsd serve did not rewrite the zone within 15s of the config change; sending SIGHUP"
  kill -HUP "$SERVE_PID"
  if ! waitfor 10 bash -c '! cmp -s "$0" "$1"' "$ZONE" "$W/zone1"; then
    fail "mtastsd serve did not rewrite the zone after SIGHUP either; the rest of the change test uses 'mtastsd dns'"
    "$MTASTSD" -c "$W/mtastsd.yaml" dns > "$ZONE.tmp" 2>>"$W/dns.log" && mv "$ZONE.tmp" "$ZONE" || abort "mtastsd dns failed"
  fi
fi
sleep 0.3   # let a writer finish (the file is replaced by rename, this is only belt and braces)
ids_from_zone "$ZONE" > "$W/ids2.json"
"$PY" - "$W/ids1.json" "$W/ids2.json" "$W/v2/expect.json" <<'EOF' > "$W/zonecheck.txt"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
exp = json.load(open(sys.argv[3]))
changed = exp["changed"]
for d in exp["domains"]:
    if d == changed:
        ok = d in a and d in b and b[d] != a[d] and b[d] > a[d]
        print("%s zone %s new id %s -> %s" % ("PASS" if ok else "FAIL", d, a.get(d), b.get(d)))
    else:
        ok = d in b and a.get(d) == b.get(d)
        if not ok:
            print("FAIL zone %s id changed %s -> %s though its policy did not" % (d, a.get(d), b.get(d)))
extra = set(b) - set(exp["domains"])
print("%s zone unchanged ids for the %d other domains%s" % (
    "FAIL" if extra else "PASS", len(exp["domains"]) - 1, " (extra: %s)" % sorted(extra) if extra else ""))
EOF
while read -r verdict rest; do
  if [ "$verdict" = PASS ]; then pass "mtastsd $rest"; else fail "mtastsd $rest"; fi
done < "$W/zonecheck.txt"
# RFC 8461 section 8: the new policy is served before the new id is published
got=$(nsx curl -sS --cacert "$CA" "https://mta-sts.change.test/.well-known/mta-sts.txt" 2>&1)
want=$("$PY" -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["domains"]["change.test"]["body"])' "$W/v2/expect.json")
if [ "$got" = "$want" ]; then pass "mtastsd change.test new policy served once the new id is in the zone file"
else fail "mtastsd change.test zone has the new id but serve answers: $(printf %q "$got")"; fi

# serve ran dns.on_change (on_change.sh: SOA serial + knotc zone-reload); Knot must now serve the new id
newid=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["change.test"])' "$W/ids2.json")
has_new_id() { nsx kdig @127.0.0.1 +short TXT _mta-sts.change.test | grep -q "id=$newid;"; }
if waitfor 10 has_new_id; then
  pass "knotd change.test serves the new id $newid, reloaded by mtastsd's dns.on_change (serial $(cat "$W/serial"))"
else
  fail "knotd does not serve the new id $newid 10s after the zone rewrite: on_change not run or failed ($(tr '\n' ' ' < "$W/on_change.log")); reloading by hand"
  SERIAL=$(( $(cat "$W/serial") + 1 )); echo "$SERIAL" > "$W/serial"
  write_zone
  nsx knotc -c "$W/knot/knot.conf" zone-reload test. > "$W/knotc.log" 2>&1 || fail "knotc zone-reload: $(cat "$W/knotc.log")"
  waitfor 10 has_new_id || fail "knotd does not serve the new id for change.test: $(tail -n 5 "$W/knot/knot.log" | tr '\n' ' ')"
fi
changed_env=$(tr '\n' ' ' < "$W/on_change.log" | xargs)
if [ "$changed_env" = "change.test" ]; then
  pass "mtastsd on_change ran once with MTASTSD_CHANGED=change.test"
else
  fail "mtastsd on_change: MTASTSD_CHANGED over the runs was '$changed_env', want 'change.test'"
fi
# the daemon re-checks a cached entry once it is older than cache_grace (2s)
sleep 2.2
say "after the change: every client again, with the policies it cached"
run_clients after-change "$W/v2/expect.json" "$W/ids2.json"

# ---------------------------------------------------------------- leftovers
if nsx kill -0 "$SERVE_PID" 2>/dev/null; then
  kill -TERM "$SERVE_PID"
  if waitfor 10 bash -c '! kill -0 "$0" 2>/dev/null' "$SERVE_PID"; then
    wait "$SERVE_PID"; rc=$?
    [ "$rc" -eq 0 ] && pass "mtastsd serve exits 0 on SIGTERM" || fail "mtastsd serve exit status $rc on SIGTERM"
  else
    fail "mtastsd serve still running 10s after SIGTERM"
  fi
else
  fail "mtastsd serve died during the test: $(tail -n 5 "$W/serve.log" | tr '\n' ' ')"
fi
if grep -qiE 'error|assert|sanitizer' "$W/serve.log"; then
  echo "# serve.log errors:"; grep -iE 'error|assert|sanitizer' "$W/serve.log" | head -n 10 | sed 's/^/#   /'
fi
finish
