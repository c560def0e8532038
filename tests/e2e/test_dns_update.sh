#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `serve` publishes by RFC 2136 itself (dns.update): one TSIG-signed UPDATE
# per domain into a real Knot DNS primary hosting two zones, while one
# customer domain's zone is not on the server. Every other domain is updated
# (at start-up, after a policy change, at retirement and expiry), the failing
# one is retried on its own backoff, results are recorded per domain and
# counted in metrics; a real secondary (a second knotd, NOTIFY + IXFR) sees
# each change; a UDP answer with TC set is fetched again over TCP. Then the
# two other ways README gives: a zone file $INCLUDEd by Knot with
# zonefile-load: difference-no-serial (the secondary follows), and the
# nsupdate script run one domain at a time (a refused zone fails alone).
source "$(dirname "$0")/lib.sh"
need knotd knotc dig nsupdate csplit curl python3
FAIL_SHOW="$WORK/state/mtastsd.state.update"
# await DESCRIPTION COMMAND...: poll quietly (at most 15 s) until COMMAND succeeds, or fail
await() {
  local what="$1"; shift
  wait_for 15 "$@" >/dev/null 2>&1 || fail "timed out waiting for: $what"
}

read -r p1 p2 px http_port ADMIN_PORT <<<"$(dns_ports 5)"
secret=$(tsig_key "$WORK/update.key")
knot_conf "$WORK/primary" "127.0.0.1@$p1" "$secret" "journal-content: changes"
knot_conf "$WORK/secondary" "127.0.0.1@$p2" "$secret" "journal-content: changes"
mkdir -p "$WORK/certs"
{ zone_head example.com; cat <<'ZONE'
_mta-sts IN TXT "v=STSv1; id=19990101000000;"
_mta-sts.unmanaged IN TXT "v=STSv1; id=keepme;"
ZONE
} >"$WORK/primary/zones/example.com.zone"
zone_head example.net >"$WORK/primary/zones/example.net.zone"
# README's zone-file recipe: example.org includes the zone mtastsd writes; Knot bumps the serial itself
mkdir -p "$WORK/state2"
: >"$WORK/state2/mta-sts.zone"
{ zone_head example.org; echo "\$INCLUDE $WORK/state2/mta-sts.zone"; } >"$WORK/primary/zones/example.org.zone"
cat >>"$WORK/primary/knot.conf" <<CONF
remote:
  - id: secondary
    address: 127.0.0.1@$p2
acl:
  - id: transfer
    address: 127.0.0.1
    action: transfer
  - id: update
    address: 127.0.0.1
    key: mtastsd-update
    action: update
zone:
  - domain: example.com.
    file: example.com.zone
    notify: secondary
    acl: [transfer, update]
  - domain: example.net.
    file: example.net.zone
    acl: [transfer, update]
  - domain: example.org.
    file: example.org.zone
    zonefile-load: difference-no-serial
    journal-content: all
    serial-policy: unixtime
    notify: secondary
    acl: [transfer]
CONF
cat >>"$WORK/secondary/knot.conf" <<CONF
remote:
  - id: primary
    address: 127.0.0.1@$p1
acl:
  - id: notify
    address: 127.0.0.1
    action: notify
zone:
  - domain: example.com.
    master: primary
    acl: [notify]
  - domain: example.org.
    master: primary
    acl: [notify]
CONF
knot_start "$WORK/primary" "$p1" example.com || fail "the primary did not start"
knot_start "$WORK/secondary" "$p2" example.com || fail "the secondary did not start"
q() { # PORT NAME [TYPE]: the answer's data, one line each
  dig +tries=1 +time=1 +short @127.0.0.1 -p "$1" "$2" "${3:-TXT}" 2>/dev/null
}
has() { # PORT NAME WANT: the TXT of NAME on PORT is exactly WANT
  [ "$(q "$1" "$2")" = "$3" ]
}
gone() { [ -z "$(q "$1" "$2")" ]; }
soa_up() { [ -n "$(q "$1" "$2" SOA)" ]; }
await "the secondary's first transfer" has "$p2" _mta-sts.example.com '"v=STSv1; id=19990101000000;"'

# a proxy whose UDP answers are all truncated (TC, no records): the client must repeat the query over TCP
cat >"$WORK/tcproxy.py" <<'PY'
import socket, sys, threading
port, upstream = int(sys.argv[1]), int(sys.argv[2])
log = open(sys.argv[3], "a", buffering=1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", port))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port)); t.listen(16)
def udp():
    while True:
        data, peer = u.recvfrom(65535)
        if len(data) < 12: continue
        # same id and question count, QR and TC set, no sections (the question dropped too)
        hdr = data[:2] + bytes([0x80 | (data[2] & 0x78) | 0x02, 0]) + b"\0" * 8
        u.sendto(hdr, peer); log.write("udp truncated\n")
def tcp():
    while True:
        c, _ = t.accept()
        up = socket.create_connection(("127.0.0.1", upstream))
        def pump(a, b):
            try:
                while (d := a.recv(65535)): b.sendall(d)
            except OSError: pass
            finally:
                try: b.shutdown(socket.SHUT_WR)
                except OSError: pass
        threading.Thread(target=pump, args=(up, c), daemon=True).start()
        pump(c, up); log.write("tcp forwarded\n")
threading.Thread(target=udp, daemon=True).start()
log.write("ready\n")
tcp()
PY

write_config() { # SERVER_PORT SHOP_MODE [EXTRA DOMAIN YAML]
  { serve_head "" "$http_port" "$ADMIN_PORT"; cat <<YAML
dns:
  state: state/mtastsd.state
  ttl: 300
  update:
    server: "127.0.0.1:$1"
    tsig: {name: mtastsd-update, secret_file: update.key}
    timeout: 1
    retry: 1
    retry_max: 2
domains:
  - name: customer.example
    mx: [mx.customer.example]
  - name: example.com
    mode: enforce
    mx: [mx.example.com]
    tlsrpt: ["mailto:tls@example.com"]
  - name: shop.example.com
    mode: $2
    mx: [mx.shop.example.com]
    zone: example.com
  # a zone named here, but not on the server: the server says NOTAUTH
  - name: elsewhere.example
    mx: [mx.elsewhere.example]
    zone: elsewhere.example
${3:-}
YAML
  } >"$WORK/mtastsd.yaml"
}
net_domain='  - name: example.net
    max_age: 3600
    mx: [mx.example.net]'
result_count() { metric "mtastsd_dns_updates_total{result=\"$1\"}"; }
start_serve() { # SOURCE_DATE_EPOCH
  SOURCE_DATE_EPOCH=$1 start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"
}
stop_serve() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || fail "serve exited $? on SIGTERM"; SERVER_PID=
}
at_least() { [ "${1:-0}" -ge "$2" ]; }
# conditions re-evaluated at each poll
count_at_least() { at_least "$(result_count "$1")" "$2"; }
fails_at_least() { at_least "$(update_field "$1" fails)" "$2"; }


t0=1767225600   # 2026-01-01T00:00:00Z: the ids' clock; TSIG and the backoff use the real one
write_config "$p1" testing "$net_domain"
start_serve "$t0"

# 1. every domain whose zone the primary holds is updated, although the first (by name) cannot be
await "example.com updated" has "$p1" _mta-sts.example.com '"v=STSv1; id=20260101000000;"'
await "shop.example.com updated" has "$p1" _mta-sts.shop.example.com '"v=STSv1; id=20260101000000;"'
await "example.net updated" has "$p1" _mta-sts.example.net '"v=STSv1; id=20260101000000;"'
has "$p1" _smtp._tls.example.com '"v=TLSRPTv1; rua=mailto:tls@example.com"' || fail "no TLSRPT record for example.com"
has "$p1" _mta-sts.unmanaged.example.com '"v=STSv1; id=keepme;"' || fail "an unrelated record was touched"
[ -z "$(q "$p1" _smtp._tls.shop.example.com)" ] || fail "a TLSRPT record for a domain without tlsrpt"
await "three noerror results" count_at_least noerror 3
[ "$(result_count noerror)" = 3 ] || fail "noerror counted $(result_count noerror), want 3"
for d in example.com shop.example.com example.net; do
  [ "$(update_field "$d" result)" = noerror ] || fail "$d recorded as '$(update_field "$d" result)'"
done
[ "$(update_field example.com zone)" = example.com. ] || fail "example.com's zone recorded as '$(update_field example.com zone)'"
[ "$(update_field shop.example.com zone)" = example.com. ] || fail "shop.example.com found in zone '$(update_field shop.example.com zone)'"
grep -q 'dns update domain=shop.example.com zone=example.com. server=127.0.0.1:[0-9]* result=noerror' "$WORK/serve.log" ||
  fail "no result line for shop.example.com"

# 2. the domains whose zones are elsewhere fail alone, and are retried on their own backoff (1 s, then 2 s)
await "customer.example tried three times" fails_at_least customer.example 3
[ "$(update_field customer.example result)" = nozone ] || fail "customer.example recorded as '$(update_field customer.example result)'"
next=$(update_field customer.example next) at=$(update_field customer.example at)
[ $((next - at)) -eq 2 ] || fail "customer.example waits $((next - at)) s after failure 3, want retry_max 2"
at_least "$(result_count nozone)" 3 || fail "nozone counted $(result_count nozone)"
await "elsewhere.example refused" fails_at_least elsewhere.example 1
[ "$(update_field elsewhere.example result)" = notauth ] || fail "elsewhere.example recorded as '$(update_field elsewhere.example result)'"
at_least "$(result_count notauth)" 1 || fail "notauth counted $(result_count notauth)"
[ "$(metric mtastsd_dns_update_failing_domains)" = 2 ] || fail "failing domains gauge $(metric mtastsd_dns_update_failing_domains)"
grep -q "dns update domain=customer.example zone=- server=127.0.0.1:$p1 result=nozone: no zone on the server holds 'customer.example.'" \
  "$WORK/serve.log" || fail "no clear result line for customer.example"
[ -z "$(q "$p1" _mta-sts.customer.example)" ] || fail "records for customer.example appeared"
# check says which domains fail, from the recorded results
"$MTASTSD" -c "$WORK/mtastsd.yaml" check >"$WORK/check.out" 2>&1 || true
grep -q "warning: domain 'customer.example': its last [0-9]* RFC 2136 updates failed (nozone, zone 'not found'); the next try is from 20" \
  "$WORK/check.out" || fail "check does not warn about customer.example: $(cat "$WORK/check.out")"
grep -q "warning: domain 'elsewhere.example': its last [0-9]* RFC 2136 update[s]* failed (notauth, zone 'elsewhere.example.')" \
  "$WORK/check.out" || fail "check does not warn about elsewhere.example"
grep -q "domain 'example.com': its last" "$WORK/check.out" && fail "check warns about a domain that was updated"

# 3. the secondary follows by NOTIFY and IXFR; its serial is the primary's
await "the secondary sees example.com's new id" has "$p2" _mta-sts.example.com '"v=STSv1; id=20260101000000;"'
await "the secondary sees shop.example.com" has "$p2" _mta-sts.shop.example.com '"v=STSv1; id=20260101000000;"'
serial() { q "$1" example.com SOA | awk '{ print $3 }'; }
same_serial() { [ "$(serial "$p1")" = "$(serial "$p2")" ]; }
await "equal serials" same_serial
[ "$(serial "$p1")" -gt 1 ] || fail "the primary's serial did not move"

# 4. a policy change an hour later: only that domain is sent again, and reaches the secondary
before=$(result_count noerror)
write_config "$p1" enforce "$net_domain"
kill -HUP "$SERVER_PID"
# the ids' clock is fixed at t0 here: the new id is one second later
await "shop.example.com's new id" has "$p1" _mta-sts.shop.example.com '"v=STSv1; id=20260101000001;"'
await "the secondary sees the new id" has "$p2" _mta-sts.shop.example.com '"v=STSv1; id=20260101000001;"'
await "one more noerror" count_at_least noerror $((before + 1))
[ "$(result_count noerror)" = $((before + 1)) ] || fail "a change of one domain sent $(( $(result_count noerror) - before )) updates"

# 5. a UDP answer with TC set: the update goes again over TCP (a new server sends every domain again)
python3 "$WORK/tcproxy.py" "$px" "$p1" "$WORK/tcproxy.log" 2>>"$WORK/tcproxy.log" &
EXTRA_PIDS="$EXTRA_PIDS $!"
proxy_ready() { grep -q '^ready$' "$WORK/tcproxy.log"; }
await "the proxy listening" proxy_ready
before=$(result_count noerror)
write_config "$px" enforce "$net_domain"
kill -HUP "$SERVER_PID"
await "three updates through the truncating proxy" count_at_least noerror $((before + 3))
# an UPDATE for each of the three, and the SOA queries of the two without a configured zone
[ "$(grep -c 'tcp forwarded' "$WORK/tcproxy.log")" -ge 5 ] || fail "$(grep -c 'tcp forwarded' "$WORK/tcproxy.log") TCP exchanges, want 5 or more"
grep -q 'udp truncated' "$WORK/tcproxy.log" || fail "the proxy saw no UDP query"
write_config "$p1" enforce "$net_domain"
kill -HUP "$SERVER_PID"
await "back on the primary" count_at_least noerror $((before + 6))

# 6. example.net removed: it retires (a new id, served as mode none); once its max_age has passed, its records are deleted
write_config "$p1" enforce
kill -HUP "$SERVER_PID"
await "example.net retiring id" has "$p1" _mta-sts.example.net '"v=STSv1; id=20260101000001;"'
stop_serve
sent_before=$(grep -c 'domain=example.com zone' "$WORK/serve.log")
start_serve $((t0 + 1 + 3600 + 1))
await "example.net's records deleted" gone "$p1" _mta-sts.example.net
[ "$(update_field example.net result)" = noerror ] || fail "the deletion recorded as '$(update_field example.net result)'"
has "$p1" _mta-sts.example.com '"v=STSv1; id=20260101000000;"' || fail "example.com's record changed at the deletion"
# the restart sent nothing that was already there (per-domain results survive restarts)
[ "$(grep -c 'domain=example.com zone' "$WORK/serve.log")" = "$sent_before" ] || fail "example.com sent again after the restart"
stop_serve

# 6b. shop.example.com removed: retiring, its records go on to example.com, the zone they were sent to. Then its
# delegation moves to a zone of its own: the deletion at the end of its retirement still goes where the records
# are (recorded in STATE.update), not to the zone a fresh SOA query now finds
write_config "$p1" enforce
sed -i '/^  - name: shop.example.com$/,/^    zone: example.com$/d' "$WORK/mtastsd.yaml"
grep -q shop.example.com "$WORK/mtastsd.yaml" && fail "shop.example.com still configured"
t1=$((t0 + 7200))
start_serve "$t1"
await "shop.example.com retiring id" has "$p1" _mta-sts.shop.example.com "\"v=STSv1; id=$(date -u -d "@$t1" +%Y%m%d%H%M%S);\""
stop_serve
[ "$(update_field shop.example.com zone)" = example.com. ] || fail "shop.example.com's retiring records sent to '$(update_field shop.example.com zone)'"
cat >"$WORK/primary/zones/shop.example.com.zone" <<'ZONE'
$ORIGIN shop.example.com.
$TTL 300
@ SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300
@ NS ns.example.com.
ZONE
cat >>"$WORK/primary/knot.conf" <<'CONF'
  - domain: shop.example.com.
    file: shop.example.com.zone
    acl: [transfer, update]
CONF
knotc -s "$WORK/primary/knot.sock" reload >/dev/null || fail "knotc reload"
await "the primary serving shop.example.com" soa_up "$p1" shop.example.com
in_example_com() { knotc -s "$WORK/primary/knot.sock" zone-read example.com _mta-sts.shop.example.com. TXT 2>/dev/null; }
in_example_com | grep -q 'v=STSv1' || fail "shop.example.com's record is not in example.com: $(in_example_com)"
shop_results() { grep -c 'dns update domain=shop.example.com ' "$WORK/serve.log"; }
shop_before=$(shop_results)
start_serve $((t1 + 604800 + 1))
shop_sent() { [ "$(shop_results)" -gt "$shop_before" ]; }
await "shop.example.com's deletion sent" shop_sent
stop_serve
grep 'dns update domain=shop.example.com ' "$WORK/serve.log" | tail -n 1 |
  grep -q 'zone=example.com. server=127.0.0.1:[0-9]* result=noerror' ||
  fail "the deletion went elsewhere: $(grep 'dns update domain=shop.example.com ' "$WORK/serve.log" | tail -n 1)"
[ "$(update_field shop.example.com zone)" = example.com. ] || fail "shop.example.com's deletion sent to '$(update_field shop.example.com zone)'"
in_example_com | grep -q 'v=STSv1' && fail "shop.example.com's record left behind in example.com: $(in_example_com)"

# 7. a zone file instead (README): serve rewrites it, on_change has Knot reload it; the secondary follows
{ serve_head "" "$http_port" "$ADMIN_PORT"; cat <<YAML
dns:
  state: state2/mtastsd.state
  zone: state2/mta-sts.zone
  ttl: 300
  on_change: "knotc -s '$WORK/primary/knot.sock' zone-reload example.org >/dev/null"
domains:
  - name: example.org
    mx: [mx.example.org]
  # in the same file, outside the zone: Knot ignores it there with a warning
  - name: other.example
    mx: [mx.other.example]
YAML
} >"$WORK/zonefile.yaml"
SOURCE_DATE_EPOCH=$t0 "$MTASTSD" -c "$WORK/zonefile.yaml" serve 2>>"$WORK/serve.log" &
SERVER_PID=$!
await "the secondary sees example.org's id" has "$p2" _mta-sts.example.org '"v=STSv1; id=20260101000000;"'
s1=$(q "$p2" example.org SOA | awk '{ print $3 }')
sed -i 's/^    mx: \[mx.example.org\]$/    mode: enforce\n    mx: [mx.example.org]/' "$WORK/zonefile.yaml"
kill -HUP "$SERVER_PID"
await "the secondary sees example.org's new id" has "$p2" _mta-sts.example.org '"v=STSv1; id=20260101000001;"'
s2=$(q "$p2" example.org SOA | awk '{ print $3 }')
[ "$s2" -gt "$s1" ] && [ "$s1" -gt 1 ] || fail "example.org serials on the secondary: $s1 then $s2"
grep -q 'ignoring out-of-zone data, owner _mta-sts.other.example.' "$WORK/primary/knot.log" ||
  fail "Knot did not say it ignores the other zone's record"
stop_serve

# 8. the nsupdate script (README: one domain at a time); whole, nsupdate stops at the refused first domain
cat >"$WORK/nsupdate.yaml" <<YAML
dns:
  state: state3/mtastsd.state
  ttl: 300
domains:
  - name: customer.example
    mx: [mx.customer.example]
  - name: example.com
    mx: [mx.example.com]
  - name: example.net
    mx: [mx.example.net]
YAML
SOURCE_DATE_EPOCH=$((t0 + 86400)) "$MTASTSD" -c "$WORK/nsupdate.yaml" dns --format nsupdate >"$WORK/records.nsupdate" ||
  fail "dns --format nsupdate exited $?"
(echo "server 127.0.0.1 $p1"; cat "$WORK/records.nsupdate") | nsupdate -k "$WORK/update.key" >/dev/null 2>&1 &&
  fail "nsupdate accepted a script with a domain in no zone of the server"
has "$p1" _mta-sts.example.com '"v=STSv1; id=20260102000000;"' && fail "the whole script went past the refused domain"
mkdir "$WORK/split"
(cd "$WORK/split" && csplit -s -z -f domain. ../records.nsupdate '/^send$/+1' '{*}')
failed=
for f in "$WORK"/split/domain.*; do
  (echo "server 127.0.0.1 $p1"; cat "$f") | nsupdate -k "$WORK/update.key" >/dev/null 2>&1 ||
    failed="$failed $(grep -m1 -o '^; [a-z.]*:' "$f" | tr -d ';: ')"
done
[ "$failed" = " customer.example" ] || fail "per-domain nsupdate failed for '$failed', want customer.example alone"
has "$p1" _mta-sts.example.com '"v=STSv1; id=20260102000000;"' || fail "example.com not updated by its own block"
has "$p1" _mta-sts.example.net '"v=STSv1; id=20260102000000;"' || fail "example.net not updated by its own block"
echo "PASS: RFC 2136 updates per domain into knotd: one refused zone holds back no other; secondary follows"
