#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The nsupdate output of `mtastsd dns`, applied with nsupdate (RFC 2136) to a
# running Knot DNS server, changes exactly the intended records: stale ids are
# replaced, a TLSRPT record mtastsd published and dropped is deleted, unrelated records are kept;
# after a policy change only that domain's record changes; a TLSRPT record is
# deleted only when mtastsd published it (one published by other means stays).
set -euo pipefail

: "${MTASTSD:?MTASTSD must name the mtastsd binary}"
for tool in knotd nsupdate dig python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not installed (./scripts/install-deps installs knot and bind9-dnsutils)"
    exit 77
  fi
done

work=$(mktemp -d /tmp/test_dns_nsupdate.XXXXXX)
knot_pid=
cleanup() {
  if [ -n "$knot_pid" ]; then kill "$knot_pid" 2>/dev/null || true; wait "$knot_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/knot.log" ] && tail -20 "$work/knot.log" >&2; exit 1; }

# updates are signed with a TSIG key, as with `nsupdate -k KEYFILE` in production
secret=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
printf 'key "mtastsd-update" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$secret" >"$work/update.key"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/zones" "$work/db" "$work/run"
cat >"$work/zones/example.com.zone" <<'ZONE'
$ORIGIN example.com.
$TTL 3600
@ IN SOA ns hostmaster 1 3600 600 86400 60
@ IN NS ns
@ IN TXT "v=spf1 -all"
ns IN A 127.0.0.1
www IN A 192.0.2.1
_mta-sts IN TXT "v=STSv1; id=19990101000000;"
_smtp._tls.shop IN TXT "v=TLSRPTv1; rua=mailto:old@shop.example.com"
_mta-sts.unmanaged IN TXT "v=STSv1; id=keepme;"
ZONE
cat >"$work/knot.conf" <<CONF
server:
    rundir: "$work/run"
    listen: 127.0.0.1@$port
database:
    storage: "$work/db"
log:
  - target: stderr
    any: info
key:
  - id: mtastsd-update
    algorithm: hmac-sha256
    secret: $secret
acl:
  - id: local-transfer
    address: 127.0.0.1
    action: transfer
  - id: local-update
    address: 127.0.0.1
    key: mtastsd-update
    action: update
template:
  - id: default
    storage: "$work/zones"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: example.com.
    file: example.com.zone
    acl: [local-transfer, local-update]
CONF
knotd -c "$work/knot.conf" >"$work/knot.log" 2>&1 &
knot_pid=$!
for _ in $(seq 1 50); do
  if [ -n "$(dig +tries=1 +time=1 +short @127.0.0.1 -p "$port" SOA example.com 2>/dev/null)" ]; then break; fi
  kill -0 "$knot_pid" 2>/dev/null || fail "knotd exited"
  sleep 0.2
done

# the zone as "name ttl type rdata" lines, sorted, without the SOA (its serial moves)
zone_dump() {
  dig +tries=1 +time=2 +noall +answer @127.0.0.1 -p "$port" AXFR example.com |
    awk '$4 != "SOA" { $3 = ""; print }' | tr -s ' \t' ' ' | sort
}
apply() { # FILE: the mtastsd output, with the server (and zone) lines an operator adds
  { printf 'server 127.0.0.1 %s\nzone example.com.\n' "$port"; cat "$1"; } >"$work/script"
  nsupdate -v -k "$work/update.key" "$work/script" || fail "nsupdate refused the script $(cat "$work/script")"
}

cat >"$work/mtastsd.yaml" <<'YAML'
dns:
  state: state/mtastsd.state
  ttl: 600
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
    tlsrpt: ["mailto:tls@example.com"]
  - name: shop.example.com
    mx: [mx.shop.example.com]
YAML

zone_dump >"$work/before"
[ -s "$work/before" ] || fail "empty AXFR from knotd"
# without the key the server refuses updates, so the key below is really what lets them in
printf 'server 127.0.0.1 %s\nzone example.com.\nupdate add _mta-sts.example.com. 60 IN TXT "x"\nsend\n' "$port" >"$work/unsigned"
nsupdate -v "$work/unsigned" >/dev/null 2>&1 && fail "knotd accepted an unsigned update"
zone_dump | cmp -s - "$work/before" || fail "an unsigned update changed the zone"
SOURCE_DATE_EPOCH=1767225600 "$MTASTSD" -c "$work/mtastsd.yaml" dns --format nsupdate >"$work/u1" ||
  fail "mtastsd dns --format nsupdate exited $?"
apply "$work/u1"
zone_dump >"$work/after1"

diff "$work/before" "$work/after1" | grep '^[<>]' | sort >"$work/d1" || true
cat >"$work/d1.want" <<'WANT'
< _mta-sts.example.com. 3600 TXT "v=STSv1; id=19990101000000;"
> _mta-sts.example.com. 600 TXT "v=STSv1; id=20260101000000;"
> _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101000000;"
> _smtp._tls.example.com. 600 TXT "v=TLSRPTv1; rua=mailto:tls@example.com"
WANT
sort -o "$work/d1.want" "$work/d1.want"
diff -u "$work/d1.want" "$work/d1" || fail "first update changed other records than intended"

# the same output applied again changes nothing
apply "$work/u1"
zone_dump >"$work/again"
diff -u "$work/after1" "$work/again" || fail "re-applying the same script changed the zone"

# one policy changes (shop goes to enforce) an hour later: only its record changes
sed -i 's/^    mx: \[mx.shop.example.com\]$/    mode: enforce\n    mx: [mx.shop.example.com]/' "$work/mtastsd.yaml"
SOURCE_DATE_EPOCH=1767229200 "$MTASTSD" -c "$work/mtastsd.yaml" dns --format nsupdate >"$work/u2" ||
  fail "second mtastsd dns exited $?"
apply "$work/u2"
zone_dump >"$work/after2"
diff "$work/after1" "$work/after2" | grep '^[<>]' | sort >"$work/d2" || true
printf '%s\n' \
  '< _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101000000;"' \
  '> _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101010000;"' >"$work/d2.want"
diff -u "$work/d2.want" "$work/d2" || fail "second update changed other records than the changed domain's"

# shop.example.com has no tlsrpt: the TLSRPT record published for it by other means is not touched
grep -q '_smtp._tls.shop' "$work/u1" "$work/u2" && fail "an nsupdate script touches shop's TLSRPT record it never wrote"
grep -qx '_smtp._tls.shop.example.com. 3600 TXT "v=TLSRPTv1; rua=mailto:old@shop.example.com"' "$work/after2" ||
  fail "the TLSRPT record mtastsd does not own was deleted"

# example.com drops its tlsrpt: the record mtastsd published is deleted, even when a bind run came
# first (the state keeps the deletion owed, so one run cannot use it up)
sed -i '/tlsrpt: \["mailto:tls@example.com"\]/d' "$work/mtastsd.yaml"
SOURCE_DATE_EPOCH=1767230000 "$MTASTSD" -c "$work/mtastsd.yaml" dns >/dev/null || fail "bind run exited $?"
grep -q ' tlsrpt_del=20260101011320$' "$work/state/mtastsd.state" || fail "the state does not remember the withdrawn TLSRPT record"
SOURCE_DATE_EPOCH=1767230100 "$MTASTSD" -c "$work/mtastsd.yaml" dns --format nsupdate >"$work/u2b" ||
  fail "mtastsd dns after dropping tlsrpt exited $?"
apply "$work/u2b"
zone_dump >"$work/after2b"
diff "$work/after2" "$work/after2b" | grep '^[<>]' | sort >"$work/d2b" || true
printf '%s\n' '< _smtp._tls.example.com. 600 TXT "v=TLSRPTv1; rua=mailto:tls@example.com"' >"$work/d2b.want"
diff -u "$work/d2b.want" "$work/d2b" || fail "dropping tlsrpt changed other records than its own TLSRPT record"
cp "$work/after2b" "$work/after2"

# a removed domain retires: its record gets a new id (served as mode none), it is not deleted
sed -i '/name: shop.example.com/,$d' "$work/mtastsd.yaml"
SOURCE_DATE_EPOCH=1767232800 "$MTASTSD" -c "$work/mtastsd.yaml" dns --format nsupdate >"$work/u3" ||
  fail "third mtastsd dns exited $?"
grep -q '^; shop.example.com: retiring' "$work/u3" || fail "no retiring comment for the removed domain"
apply "$work/u3"
zone_dump >"$work/after3"
diff "$work/after2" "$work/after3" | grep '^[<>]' | sort >"$work/d3" || true
printf '%s\n' \
  '< _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101010000;"' \
  '> _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101020000;"' >"$work/d3.want"
diff -u "$work/d3.want" "$work/d3" || fail "retiring update changed other records than intended"

# once its largest max_age (604800) has passed, the records are deleted
SOURCE_DATE_EPOCH=$((1767232800 + 604800)) "$MTASTSD" -c "$work/mtastsd.yaml" dns --format nsupdate >"$work/u4" ||
  fail "fourth mtastsd dns exited $?"
apply "$work/u4"
zone_dump >"$work/after4"
diff "$work/after3" "$work/after4" | grep '^[<>]' | sort >"$work/d4" || true
printf '%s\n' '< _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101020000;"' >"$work/d4.want"
diff -u "$work/d4.want" "$work/d4" || fail "expiry update changed other records than intended"

echo "PASS: nsupdate output applied to knotd changes exactly the intended records"
