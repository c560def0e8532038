#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 14.2: serve started as root with `user:` on certbot's default layout (live/ and archive/
# 0700 root, keys 0600 root). The server runs as that user; a privileged reader that keeps only
# CAP_DAC_READ_SEARCH opens what the user cannot. A renewal done as certbot does it (new archive
# files, the live/ links replaced, the new key 0600 root) is picked up and served; a key the reader
# refuses is logged as "permission denied" with the reason, never as missing.
. "$(dirname "$0")/lib.sh"
need curl openssl python3
[ "$(id -u)" = 0 ] || skip "needs root to start as root and drop privileges"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null || skip "needs user nobody and group nogroup"

chmod 755 "$WORK"
LE="$WORK/letsencrypt"
SRC="$WORK/src"
CA="$SRC/ca.crt"
# certbot's modes: live/ and archive/ 0700, keys 0600, all root's
install -d -m 755 "$LE"
install -d -m 700 "$LE/live" "$LE/archive"
install -d -m 755 "$LE/live/mta-sts.example.com" "$LE/archive/mta-sts.example.com"
# issue VERSION DAYS: the archive files of one certbot issue (privkeyN.pem 0600 root)
issue() {
  local n="$1" days="$2" a="$LE/archive/mta-sts.example.com"
  gen_certs "$SRC" --days "$days" example.com
  install -m 644 /dev/null "$a/fullchain$n.pem"
  cat "$SRC/mta-sts.example.com.crt" "$SRC/ca.crt" >"$a/fullchain$n.pem"
  install -m 644 "$SRC/mta-sts.example.com.crt" "$a/cert$n.pem"
  install -m 644 "$SRC/ca.crt" "$a/chain$n.pem"
  install -m 600 "$SRC/mta-sts.example.com.key" "$a/privkey$n.pem"
}
# point LINKS at version N as certbot does: a new link renamed over the old one
link() {
  local n="$1" f
  for f in fullchain privkey cert chain; do
    ln -s "../../archive/mta-sts.example.com/$f$n.pem" "$LE/live/mta-sts.example.com/$f.pem.new"
    mv -T "$LE/live/mta-sts.example.com/$f.pem.new" "$LE/live/mta-sts.example.com/$f.pem"
  done
}
issue 1 30
link 1
install -d -o nobody -g nogroup -m 750 "$WORK/state"

P=$(free_port); ADMIN_PORT=$(free_port)
{ printf 'user: nobody\ngroup: nogroup\n'; serve_head "$P" "" "$ADMIN_PORT" letsencrypt/; cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
EOF
} >"$WORK/mtastsd.yaml"
chmod 644 "$WORK/mtastsd.yaml"
logged() { grep -qF -- "$1" "$WORK/serve.log"; }
enddate() { openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com </dev/null 2>/dev/null |
  openssl x509 -noout -enddate 2>/dev/null || true; }
status_of() { awk -v k="$2:" '$1 == k { $1 = ""; print substr($0, 2) }' "/proc/$1/status" 2>/dev/null; }

start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
check "privileges dropped" wait_for 5 logged "dropped privileges user=nobody"
uid=$(id -u nobody)
check "the server runs as nobody (uid $(status_of "$SERVER_PID" Uid))" \
  bash -c '[ "$(awk "/^Uid:/ { print \$2 \$3 \$4 \$5 }" /proc/$1/status)" = "$2$2$2$2" ]' _ "$SERVER_PID" "$uid"
reader=$(pgrep -P "$SERVER_PID" | head -n 1 || true)
check "a reader process runs beside it" [ -n "$reader" ]
if [ -n "$reader" ]; then
  check "the reader is root with CAP_DAC_READ_SEARCH only (CapEff $(status_of "$reader" CapEff), CapBnd $(status_of "$reader" CapBnd))" \
    bash -c '[ "$(status_of() { awk -v k="$2:" "\$1 == k { print \$2 }" /proc/$1/status; }; status_of $1 CapEff)" = 0000000000000004 ] &&
             [ "$(awk "/^CapBnd:/ { print \$2 }" /proc/$1/status)" = 0000000000000004 ] &&
             [ "$(awk "/^Uid:/ { print \$3 }" /proc/$1/status)" = 0 ]' _ "$reader"
fi
v1=$(enddate)
check "serves the certbot certificate with its root-only key ($v1)" [ -n "$v1" ]

# ---- a renewal as certbot does it: archive/*2.pem (key 0600 root), then the live/ links swapped
issue 2 80
link 2
renewed=""
for _ in $(seq 1 100); do
  v=$(enddate)
  if [ -n "$v" ] && [ "$v" != "$v1" ]; then renewed=$v; break; fi
  sleep 0.05
done
check "the renewed certificate is served without a restart or SIGHUP ($renewed)" [ -n "$renewed" ]
check "no reload failed" [ "$(metric 'mtastsd_reloads_total{result="failed"}')" = 0 ]
# and a SIGHUP reload (certbot's deploy hook habit) works too
issue 3 85
link 3
kill -HUP "$SERVER_PID"
check "SIGHUP after a second renewal: the 85-day certificate is served" wait_for 5 bash -c \
  "openssl s_client -connect 127.0.0.1:$P -servername mta-sts.example.com </dev/null 2>/dev/null | openssl x509 -noout -checkend $((84 * 86400)) >/dev/null"
check "still no reload failed" [ "$(metric 'mtastsd_reloads_total{result="failed"}')" = 0 ]

# ---- a key the reader refuses: its folder can be changed by nobody, and only root may read it
install -d -o nobody -g nogroup -m 755 "$WORK/planted"
install -d -m 755 "$LE/live/mta-sts.example.org"
gen_certs "$SRC" example.org
install -m 644 "$SRC/mta-sts.example.org.crt" "$LE/live/mta-sts.example.org/fullchain.pem"
install -m 600 "$SRC/mta-sts.example.org.key" "$WORK/planted/privkey.pem"
ln -s ../../../planted/privkey.pem "$LE/live/mta-sts.example.org/privkey.pem"
kill -HUP "$SERVER_PID"
check "the refused key is reported as 'permission denied'" \
  wait_for 5 logged "$LE/live/mta-sts.example.org/privkey.pem': permission denied"
check "with the reader's reason" logged "can be changed by others than root"
check "and never as missing or absent" bash -c '! grep -i "missing\|no private key\|no key\|without a key" "$1"' _ "$WORK/serve.log"
check "example.com is still served" [ -n "$(enddate)" ]

# ---- tls.certs moved: the reader stays locked to the folder serve started with, only a restart moves it
cp -a "$LE" "$WORK/letsencrypt2"
sed -i 's|certs: letsencrypt/|certs: letsencrypt2/|' "$WORK/mtastsd.yaml"
kill -HUP "$SERVER_PID"
check "moving tls.certs is reported as needing a restart" \
  wait_for 5 logged "tls.certs in the configuration differ from what is running: they take effect after a restart"
check "and /healthz says so" bash -c "curl -fsS http://127.0.0.1:$ADMIN_PORT/healthz | grep -qx 'restart pending: tls.certs'"

check "SIGTERM: exit 0" stop_server
check "the reader ended with the server" wait_for 5 bash -c "! kill -0 $reader 2>/dev/null"
finish
