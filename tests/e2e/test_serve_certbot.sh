#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mtastsd serve` on a certbot tree (tls.certs: /etc/letsencrypt-like): live/ symlinks into
# archive/; a renewal as certbot does it (new archive files, then the live/ links replaced)
# is served without a restart, and the old archive versions are never picked.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

LE="$WORK/letsencrypt"
SRC="$WORK/src"
CA="$SRC/ca.crt"
mkdir -p "$LE/archive/mta-sts.example.com" "$LE/live/mta-sts.example.com" "$LE/renewal" "$LE/keys" "$LE/csr"
# version 1: 30 days
gen_certs "$SRC" --days 30 example.com
cat "$SRC/mta-sts.example.com.crt" "$SRC/ca.crt" >"$LE/archive/mta-sts.example.com/fullchain1.pem"
cp "$SRC/mta-sts.example.com.crt" "$LE/archive/mta-sts.example.com/cert1.pem"
cp "$SRC/ca.crt" "$LE/archive/mta-sts.example.com/chain1.pem"
cp "$SRC/mta-sts.example.com.key" "$LE/archive/mta-sts.example.com/privkey1.pem"
cp "$SRC/mta-sts.example.com.key" "$LE/keys/0000_key-certbot.pem"
chmod 600 "$LE/archive/mta-sts.example.com/privkey1.pem" "$LE/keys/0000_key-certbot.pem"
echo "# renewal config" >"$LE/renewal/mta-sts.example.com.conf"
for f in fullchain privkey cert chain; do
  ln -s "../../archive/mta-sts.example.com/${f}1.pem" "$LE/live/mta-sts.example.com/$f.pem"
done

P=$(free_port); ADMIN_PORT=$(free_port)
{ serve_head "$P" "" "$ADMIN_PORT" letsencrypt/; cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
EOF
} >"$WORK/mtastsd.yaml"
out=$("$MTASTSD" -c "$WORK/mtastsd.yaml" check 2>&1 || true)
check "check: a certbot tree is OK with no warning about archive/ or keys/" \
  bash -c 'grep -q "configuration OK" <<<"$1" && ! grep -q warning <<<"$1"' _ "$out"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
enddate() { openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com </dev/null 2>/dev/null |
  openssl x509 -noout -enddate 2>/dev/null || true; }
v1=$(enddate)
check "serves the live/ certificate" [ -n "$v1" ]
check "the chain verifies (fullchain.pem)" bash -c "openssl s_client -connect 127.0.0.1:$P -servername mta-sts.example.com -CAfile '$CA' </dev/null 2>&1 | grep -q 'Verify return code: 0 (ok)'"

# certbot renew: write archive/*2.pem, then point the live/ links at them
gen_certs "$SRC" --days 80 example.com
cat "$SRC/mta-sts.example.com.crt" "$SRC/ca.crt" >"$LE/archive/mta-sts.example.com/fullchain2.pem"
cp "$SRC/mta-sts.example.com.crt" "$LE/archive/mta-sts.example.com/cert2.pem"
cp "$SRC/ca.crt" "$LE/archive/mta-sts.example.com/chain2.pem"
install -m 600 "$SRC/mta-sts.example.com.key" "$LE/archive/mta-sts.example.com/privkey2.pem"
for f in fullchain privkey cert chain; do
  ln -s "../../archive/mta-sts.example.com/${f}2.pem" "$LE/live/mta-sts.example.com/$f.pem.new"
  mv -T "$LE/live/mta-sts.example.com/$f.pem.new" "$LE/live/mta-sts.example.com/$f.pem"
done
renewed=""
for _ in $(seq 1 40); do
  v=$(enddate)
  if [ -n "$v" ] && [ "$v" != "$v1" ]; then renewed=$v; break; fi
  sleep 0.05
done
check "renewed certificate served within 2 s of the live/ links changing ($renewed)" [ -n "$renewed" ]
check "the renewed one is the longer-lived (80 days)" \
  bash -c "openssl s_client -connect 127.0.0.1:$P -servername mta-sts.example.com </dev/null 2>/dev/null | openssl x509 -noout -checkend $((79 * 86400)) >/dev/null"
check "no reload failed on the way" [ "$(metric 'mtastsd_reloads_total{result="failed"}')" = 0 ]
check "one certificate loaded (archive versions ignored)" \
  bash -c "curl -fsS http://127.0.0.1:$ADMIN_PORT/healthz | grep -qx 'certificates: 1'"

rc=0; stop_server || rc=$?
check "SIGTERM: exit status 0 (got $rc)" [ "$rc" = 0 ]
finish
