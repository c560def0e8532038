#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The nsupdate output of `mtastsd dns`, applied with nsupdate (RFC 2136) to a
# running Knot DNS server, changes exactly the intended records: stale ids are
# replaced, a TLSRPT record mtastsd published and dropped is deleted, unrelated records are kept;
# after a policy change only that domain's record changes; a TLSRPT record is
# deleted only when mtastsd published it (one published by other means stays).
source "$(dirname "$0")/lib.sh"
need knotd nsupdate dig python3

# updates are signed with a TSIG key, as with `nsupdate -k KEYFILE` in production
secret=$(tsig_key "$WORK/update.key")
port=$(dns_ports 1)
knot_conf "$WORK/knot" "127.0.0.1@$port" "$secret" "journal-content: changes"
{ zone_head example.com; cat <<'ZONE'
@ IN TXT "v=spf1 -all"
www IN A 192.0.2.1
_mta-sts IN TXT "v=STSv1; id=19990101000000;"
_smtp._tls.shop IN TXT "v=TLSRPTv1; rua=mailto:old@shop.example.com"
_mta-sts.unmanaged IN TXT "v=STSv1; id=keepme;"
ZONE
} >"$WORK/knot/zones/example.com.zone"
cat >>"$WORK/knot/knot.conf" <<CONF
acl:
  - id: local-transfer
    address: 127.0.0.1
    action: transfer
  - id: local-update
    address: 127.0.0.1
    key: mtastsd-update
    action: update
zone:
  - domain: example.com.
    file: example.com.zone
    acl: [local-transfer, local-update]
CONF
knot_start "$WORK/knot" "$port" example.com || exit 1

# the zone as "name ttl type rdata" lines, sorted, without the SOA (its serial moves)
zone_dump() {
  dig +tries=1 +time=2 +noall +answer @127.0.0.1 -p "$port" AXFR example.com |
    awk '$4 != "SOA" { $3 = ""; print }' | tr -s ' \t' ' ' | sort
}
apply() { # FILE: the mtastsd output, with the server (and zone) lines an operator adds
  { printf 'server 127.0.0.1 %s\nzone example.com.\n' "$port"; cat "$1"; } >"$WORK/script"
  nsupdate -v -k "$WORK/update.key" "$WORK/script" || fail "nsupdate refused the script $(cat "$WORK/script")"
}

cat >"$WORK/mtastsd.yaml" <<'YAML'
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

zone_dump >"$WORK/before"
[ -s "$WORK/before" ] || fail "empty AXFR from knotd"
# without the key the server refuses updates, so the key below is really what lets them in
printf 'server 127.0.0.1 %s\nzone example.com.\nupdate add _mta-sts.example.com. 60 IN TXT "x"\nsend\n' "$port" >"$WORK/unsigned"
nsupdate -v "$WORK/unsigned" >/dev/null 2>&1 && fail "knotd accepted an unsigned update"
zone_dump | cmp -s - "$WORK/before" || fail "an unsigned update changed the zone"
SOURCE_DATE_EPOCH=1767225600 "$MTASTSD" -c "$WORK/mtastsd.yaml" dns --format nsupdate >"$WORK/u1" ||
  fail "mtastsd dns --format nsupdate exited $?"
apply "$WORK/u1"
zone_dump >"$WORK/after1"

diff "$WORK/before" "$WORK/after1" | grep '^[<>]' | sort >"$WORK/d1" || true
cat >"$WORK/d1.want" <<'WANT'
< _mta-sts.example.com. 3600 TXT "v=STSv1; id=19990101000000;"
> _mta-sts.example.com. 600 TXT "v=STSv1; id=20260101000000;"
> _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101000000;"
> _smtp._tls.example.com. 600 TXT "v=TLSRPTv1; rua=mailto:tls@example.com"
WANT
sort -o "$WORK/d1.want" "$WORK/d1.want"
diff -u "$WORK/d1.want" "$WORK/d1" || fail "first update changed other records than intended"

# the same output applied again changes nothing
apply "$WORK/u1"
zone_dump >"$WORK/again"
diff -u "$WORK/after1" "$WORK/again" || fail "re-applying the same script changed the zone"

# one policy changes (shop goes to enforce) an hour later: only its record changes
sed -i 's/^    mx: \[mx.shop.example.com\]$/    mode: enforce\n    mx: [mx.shop.example.com]/' "$WORK/mtastsd.yaml"
SOURCE_DATE_EPOCH=1767229200 "$MTASTSD" -c "$WORK/mtastsd.yaml" dns --format nsupdate >"$WORK/u2" ||
  fail "second mtastsd dns exited $?"
apply "$WORK/u2"
zone_dump >"$WORK/after2"
diff "$WORK/after1" "$WORK/after2" | grep '^[<>]' | sort >"$WORK/d2" || true
printf '%s\n' \
  '< _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101000000;"' \
  '> _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101010000;"' >"$WORK/d2.want"
diff -u "$WORK/d2.want" "$WORK/d2" || fail "second update changed other records than the changed domain's"

# shop.example.com has no tlsrpt: the TLSRPT record published for it by other means is not touched
grep -q '_smtp._tls.shop' "$WORK/u1" "$WORK/u2" && fail "an nsupdate script touches shop's TLSRPT record it never wrote"
grep -qx '_smtp._tls.shop.example.com. 3600 TXT "v=TLSRPTv1; rua=mailto:old@shop.example.com"' "$WORK/after2" ||
  fail "the TLSRPT record mtastsd does not own was deleted"

# example.com drops its tlsrpt: the record mtastsd published is deleted, even when a bind run came
# first (the state keeps the deletion owed, so one run cannot use it up)
sed -i '/tlsrpt: \["mailto:tls@example.com"\]/d' "$WORK/mtastsd.yaml"
SOURCE_DATE_EPOCH=1767230000 "$MTASTSD" -c "$WORK/mtastsd.yaml" dns >/dev/null || fail "bind run exited $?"
grep -q ' tlsrpt_del=20260101011320$' "$WORK/state/mtastsd.state" || fail "the state does not remember the withdrawn TLSRPT record"
SOURCE_DATE_EPOCH=1767230100 "$MTASTSD" -c "$WORK/mtastsd.yaml" dns --format nsupdate >"$WORK/u2b" ||
  fail "mtastsd dns after dropping tlsrpt exited $?"
apply "$WORK/u2b"
zone_dump >"$WORK/after2b"
diff "$WORK/after2" "$WORK/after2b" | grep '^[<>]' | sort >"$WORK/d2b" || true
printf '%s\n' '< _smtp._tls.example.com. 600 TXT "v=TLSRPTv1; rua=mailto:tls@example.com"' >"$WORK/d2b.want"
diff -u "$WORK/d2b.want" "$WORK/d2b" || fail "dropping tlsrpt changed other records than its own TLSRPT record"
cp "$WORK/after2b" "$WORK/after2"

# a removed domain retires: its record gets a new id (served as mode none), it is not deleted
sed -i '/name: shop.example.com/,$d' "$WORK/mtastsd.yaml"
SOURCE_DATE_EPOCH=1767232800 "$MTASTSD" -c "$WORK/mtastsd.yaml" dns --format nsupdate >"$WORK/u3" ||
  fail "third mtastsd dns exited $?"
grep -q '^; shop.example.com: retiring' "$WORK/u3" || fail "no retiring comment for the removed domain"
apply "$WORK/u3"
zone_dump >"$WORK/after3"
diff "$WORK/after2" "$WORK/after3" | grep '^[<>]' | sort >"$WORK/d3" || true
printf '%s\n' \
  '< _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101010000;"' \
  '> _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101020000;"' >"$WORK/d3.want"
diff -u "$WORK/d3.want" "$WORK/d3" || fail "retiring update changed other records than intended"

# once its largest max_age (604800) has passed, the records are deleted
SOURCE_DATE_EPOCH=$((1767232800 + 604800)) "$MTASTSD" -c "$WORK/mtastsd.yaml" dns --format nsupdate >"$WORK/u4" ||
  fail "fourth mtastsd dns exited $?"
apply "$WORK/u4"
zone_dump >"$WORK/after4"
diff "$WORK/after3" "$WORK/after4" | grep '^[<>]' | sort >"$WORK/d4" || true
printf '%s\n' '< _mta-sts.shop.example.com. 600 TXT "v=STSv1; id=20260101020000;"' >"$WORK/d4.want"
diff -u "$WORK/d4.want" "$WORK/d4" || fail "expiry update changed other records than intended"

echo "PASS: nsupdate output applied to knotd changes exactly the intended records"
