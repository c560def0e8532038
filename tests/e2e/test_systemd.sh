#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 22.10: the shipped unit works with certbot's defaults and a DNS server on the same host.
# systemd-analyze verifies the generated unit; then, in a mount namespace of its own (users
# mtastsd, a DNS server's user in group mtastsd and an outsider in copies of /etc/passwd and
# /etc/group, a tmpfs on /var/lib), the unit's own ExecStartPre and ExecStart lines run as
# systemd would: as root, with its UMask and capability bounding set. Checked: the state folder
# the unit makes, serve as mtastsd serving certbot's root-only layout, the reader's only
# capability, and a zone the DNS server's user can read and the outsider cannot.
set -euo pipefail
: "${MTASTSD:?}" "${SOURCE_ROOT:?}" "${BUILD_DIR:?}"
if [ -z "${MTASTSD_IN_NS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "skip: needs root (a mount namespace, users, root-only keys)"; exit 77; }
  for t in unshare setpriv openssl curl; do
    command -v "$t" >/dev/null || { echo "skip: $t is not installed"; exit 77; }
  done
  [ -f "$BUILD_DIR/install/mtastsd.service" ] || { echo "skip: no generated unit in $BUILD_DIR/install"; exit 77; }
  unshare -m --propagation private true 2>/dev/null || { echo "skip: cannot make a mount namespace"; exit 77; }
  exec unshare -m --propagation private env MTASTSD_IN_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

UNIT="$BUILD_DIR/install/mtastsd.service"
# the unit as installed, its binary pointed at the one under test
sed -e "s#=\([-@:+!]*\)[^ =]*/sbin/mtastsd#=\1$MTASTSD#g" "$UNIT" >"$WORK/mtastsd.service"
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify --man=no "$WORK/mtastsd.service" 2>&1) || true
  check "systemd-analyze verify: no complaint${out:+ ($out)}" [ -z "$out" ]
else
  echo "SKIP systemd-analyze verify: not installed"
fi
setting() { sed -n "s/^$1=//p" "$WORK/mtastsd.service"; }
check "no DynamicUser (its user cannot read certbot's folders)" [ -z "$(setting DynamicUser)" ]
check "started as root (no User=)" [ -z "$(setting User)" ]

# ---- users: mtastsd, a DNS server's user in group mtastsd, an outsider (copies, this namespace only)
cp /etc/passwd "$WORK/passwd"; cp /etc/group "$WORK/group"
cat >>"$WORK/passwd" <<EOF
mtastsd:x:64991:64991::/var/lib/mtastsd:/usr/sbin/nologin
knotdns:x:64992:64992::/nonexistent:/usr/sbin/nologin
outsider:x:64993:64993::/nonexistent:/usr/sbin/nologin
EOF
cat >>"$WORK/group" <<EOF
mtastsd:x:64991:knotdns
knotdns:x:64992:
outsider:x:64993:
EOF
mount --bind "$WORK/passwd" /etc/passwd
mount --bind "$WORK/group" /etc/group
mount -t tmpfs -o mode=0755 tmpfs /var/lib

# ---- certbot's defaults: live/ and archive/ 0700 root, the key 0600 root
chmod 755 "$WORK"
LE="$WORK/letsencrypt"; SRC="$WORK/src"
install -d -m 755 "$LE"; install -d -m 700 "$LE/live" "$LE/archive"
install -d -m 755 "$LE/live/mta-sts.example.com" "$LE/archive/mta-sts.example.com"
gen_certs "$SRC" example.com
CA="$SRC/ca.crt"
a="$LE/archive/mta-sts.example.com"
cat "$SRC/mta-sts.example.com.crt" "$SRC/ca.crt" >"$a/fullchain1.pem"
install -m 600 "$SRC/mta-sts.example.com.key" "$a/privkey1.pem"
for f in fullchain privkey; do ln -s "../../archive/mta-sts.example.com/${f}1.pem" "$LE/live/mta-sts.example.com/$f.pem"; done

# the installed config (user: mtastsd, state under /var/lib/mtastsd), with this test's ports and certificates
P=$(free_port); ADMIN_PORT=$(free_port)
mkdir -p "$WORK/etc"
sed -e "s#^  https: .*#  https: [\"127.0.0.1:$P\"]#" -e "s#^  http: .*#  http: []#" \
    -e "s#^  admin: .*#  admin: \"127.0.0.1:$ADMIN_PORT\"#" -e "s#^  certs: .*#  certs: $LE/#" \
    "$BUILD_DIR/install/example.yaml" >"$WORK/etc/mtastsd.yaml"
chmod 644 "$WORK/etc/mtastsd.yaml"
check "the installed config leaves root for user mtastsd" grep -qx 'user: mtastsd' "$WORK/etc/mtastsd.yaml"
check "and keeps its state and zone under /var/lib/mtastsd" \
  bash -c 'grep -qx "  zone: /var/lib/mtastsd/mta-sts.zone" "$1"' _ "$WORK/etc/mtastsd.yaml"
# one domain: the one with a certificate
python3 - "$WORK/etc/mtastsd.yaml" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
head = s[:s.index("\ndomains:")]
open(p, "w").write(head + "\ndomains:\n  - name: example.com\n    mode: enforce\n    mx: [mx1.example.com]\n")
PY

umask_of_unit=$(setting UMask)
bounding=$(setting CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed -e 's/cap_//g' -e 's/ /,+/g')
export MTASTSD_CONFIG="$WORK/etc/mtastsd.yaml"
# ExecStartPre lines in order ("+": without the sandbox, as root either way here)
while IFS= read -r pre; do
  cmd=${pre#[-+!@:]}
  if ! (umask "$umask_of_unit"; eval "$cmd") >>"$WORK/pre.log" 2>&1; then
    bad "ExecStartPre failed: $pre ($(tail -n 3 "$WORK/pre.log" | tr '\n' ' '))"
  fi
done < <(setting ExecStartPre)
check "the unit made /var/lib/mtastsd mtastsd:mtastsd 0750" \
  [ "$(stat -c '%U:%G %a' /var/lib/mtastsd 2>/dev/null)" = "mtastsd:mtastsd 750" ]

start=$(setting ExecStart)
(umask "$umask_of_unit"; exec setpriv --bounding-set "-all,+$bounding" $start) 2>>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
check "serve started under the unit's capability bounding set ($bounding)" \
  curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz"
check "serve runs as mtastsd" bash -c '[ "$(awk "/^Uid:/ { print \$2 \$3 \$4 }" /proc/$1/status)" = 649916499164991 ]' _ "$SERVER_PID"
reader=$(pgrep -P "$SERVER_PID" | head -n 1 || true)
check "its privileged reader keeps only CAP_DAC_READ_SEARCH" \
  bash -c '[ -n "$1" ] && [ "$(awk "/^CapEff:/ { print \$2 }" /proc/$1/status)" = 0000000000000004 ]' _ "$reader"
code=$(curl -sS --max-time 10 --resolve "mta-sts.example.com:$P:127.0.0.1" --cacert "$CA" -o /dev/null \
  -w '%{http_code}' "https://mta-sts.example.com:$P/.well-known/mta-sts.txt" 2>/dev/null || true)
check "certbot's root-only layout is served (HTTP $code)" [ "$code" = 200 ]
zone=/var/lib/mtastsd/mta-sts.zone
for _ in $(seq 1 50); do [ -s "$zone" ] && break; sleep 0.1; done
check "the zone is written ($(stat -c '%U:%G %a' "$zone" 2>/dev/null))" grep -q '_mta-sts.example.com' "$zone"
check "a DNS server's user in group mtastsd reads the zone" \
  setpriv --reuid=knotdns --regid=knotdns --init-groups cat "$zone"
check "a user outside the group does not" \
  bash -c '! setpriv --reuid=outsider --regid=outsider --init-groups cat "$1" 2>/dev/null' _ "$zone"
check "nor does anyone read the state folder's other files" \
  bash -c '! setpriv --reuid=outsider --regid=outsider --init-groups ls /var/lib/mtastsd 2>/dev/null' _
check "SIGTERM: exit 0" stop_server
finish
