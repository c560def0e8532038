#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RFC 2136 publishing (dns.update) where the zone is not a clean slate, into a
# real knotd behind a proxy that refuses every query (a primary that answers
# updates only, so every domain has `zone:`) and drops UDP datagrams over 512
# bytes: a CNAME left at _mta-sts by a former host is replaced by our TXT; an
# address record at mta-sts.D, where host_target puts a CNAME, makes the
# update fail (YXRRSET, logged with the record, retried) instead of being
# silently ignored; an update over 512 bytes goes over TCP; a removed domain
# whose update state is lost still goes to its zone, not to an SOA query;
# SIGTERM ends serve at once while an update waits for a server that never
# answers. What is published is read back from knotd with kdig.
source "$(dirname "$0")/lib.sh"
need knotd knotc kdig curl python3

read -r P_KNOT P_PROXY P_HOLE HTTP_PORT ADMIN_PORT <<<"$(dns_ports 5)"
secret=$(tsig_key "$WORK/update.key")
knot_conf "$WORK/knot" "127.0.0.1@$P_KNOT" "$secret" "journal-content: changes"
mkdir -p "$WORK/certs" "$WORK/state"
{ zone_head example.com; cat <<'ZONE'
; a customer leaving its former host: the policy record was a CNAME to it
_mta-sts.leaving IN CNAME _mta-sts.oldhost.example.
; a customer whose policy host is its own web server
mta-sts.hosted IN A 192.0.2.10
ZONE
} >"$WORK/knot/zones/example.com.zone"
cat >>"$WORK/knot/knot.conf" <<CONF
acl:
  - id: update
    address: 127.0.0.1
    key: mtastsd-update
    action: update
zone:
  - domain: example.com.
    file: example.com.zone
    acl: [update]
CONF
knot_start "$WORK/knot" "$P_KNOT" example.com || exit 1

# the proxy: queries (opcode 0) REFUSED, UPDATEs forwarded, UDP datagrams over 512 bytes dropped
cat >"$WORK/proxy.py" <<'PY'
import socket, sys, threading
port, upstream = int(sys.argv[1]), int(sys.argv[2])
log = open(sys.argv[3], "a", buffering=1)
def refused(q):
    return q[:2] + bytes([0x80 | (q[2] & 0x79), (q[3] & 0xf0) | 5]) + q[4:6] + b"\0" * 6 + q[12:] if len(q) >= 12 else b""
def question_only(q):  # the question section of a query, for the REFUSED answer
    i = 12
    while i < len(q) and q[i] != 0: i += q[i] + 1
    return q[:i + 5]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", port))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port)); t.listen(16)
def opcode(q): return (q[2] >> 3) & 15
def udp_one(data, peer):
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); up.settimeout(3)
    up.sendto(data, ("127.0.0.1", upstream))
    try: u.sendto(up.recv(65535), peer)
    except OSError: pass
def udp():
    while True:
        data, peer = u.recvfrom(65535)
        if len(data) < 12: continue
        if opcode(data) == 0:
            log.write("udp query refused\n"); u.sendto(refused(question_only(data)), peer)
        elif len(data) > 512:
            log.write("udp dropped %d\n" % len(data))
        else:
            log.write("udp update %d\n" % len(data)); threading.Thread(target=udp_one, args=(data, peer), daemon=True).start()
def recvn(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d: raise OSError("eof")
        b += d
    return b
def tcp_one(c):
    try:
        q = recvn(c, int.from_bytes(recvn(c, 2), "big"))
        if opcode(q) == 0:
            log.write("tcp query refused\n"); a = refused(question_only(q))
        else:
            log.write("tcp update %d\n" % len(q))
            up = socket.create_connection(("127.0.0.1", upstream), timeout=3)
            up.sendall(len(q).to_bytes(2, "big") + q)
            a = recvn(up, int.from_bytes(recvn(up, 2), "big")); up.close()
        c.sendall(len(a).to_bytes(2, "big") + a)
    except OSError: pass
    c.close()
threading.Thread(target=udp, daemon=True).start()
log.write("ready\n")
while True:
    c, _ = t.accept(); threading.Thread(target=tcp_one, args=(c,), daemon=True).start()
PY
python3 "$WORK/proxy.py" "$P_PROXY" "$P_KNOT" "$WORK/proxy.log" 2>>"$WORK/proxy.log" &
EXTRA_PIDS="$EXTRA_PIDS $!"

kq() { # NAME TYPE: what knotd itself holds, one record a line
  kdig +retry=0 +timeout=1 +short @127.0.0.1 -p "$P_KNOT" "$1" "$2" 2>/dev/null
}
proxy_ready() { grep -q '^ready$' "$WORK/proxy.log" 2>/dev/null; }
wait_for 15 proxy_ready || { cat "$WORK/proxy.log"; exit 1; }

rua=""
for i in $(seq 1 14); do rua="$rua\"mailto:tls-reports-$i@reports.bigrua.example.com\", "; done
write_config() { # SERVER_PORT TIMEOUT [DOMAINS YAML]
  { serve_head "" "$HTTP_PORT" "$ADMIN_PORT"; cat <<YAML
dns:
  state: state/mtastsd.state
  ttl: 300
  host_target: mta-sts.provider.example
  update:
    server: "127.0.0.1:$1"
    tsig: {name: mtastsd-update, secret_file: update.key}
    timeout: $2
    retry: 1
    retry_max: 2
domains:
${3:-}
YAML
  } >"$WORK/mtastsd.yaml"
}
leaving='  - name: leaving.example.com
    mx: [mx.example.com]
    zone: example.com'
hosted='  - name: hosted.example.com
    mx: [mx.example.com]
    zone: example.com'
bigrua="  - name: bigrua.example.com
    mx: [mx.example.com]
    tlsrpt: [${rua%, }]
    zone: example.com"
old='  - name: old.example.com
    max_age: 3600
    mx: [mx.example.com]
    zone: example.com'
result_is() { [ "$(update_field "$1" result)" = "$2" ]; }
fails_at_least() { [ "$(update_field "$1" fails)" -ge "$2" ] 2>/dev/null; }
start_serve() { # SOURCE_DATE_EPOCH
  SOURCE_DATE_EPOCH=$1 start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
}
stop_serve() {
  local rc=0
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || rc=$?
  SERVER_PID=
  check "serve exits 0 on SIGTERM (got $rc)" [ "$rc" = 0 ]
}

t0=1767225600   # 2026-01-01T00:00:00Z
write_config "$P_PROXY" 1 "$leaving
$hosted
$bigrua
$old"
start_serve "$t0"

# 1. a CNAME at _mta-sts.D is ours to replace: the TXT is really published, the CNAME gone
wait_for 15 result_is leaving.example.com noerror || bad "leaving.example.com recorded as '$(update_field leaving.example.com result)'"
check "our TXT at _mta-sts.leaving.example.com replaced the former host's CNAME" \
  [ "$(kq _mta-sts.leaving.example.com TXT)" = '"v=STSv1; id=20260101000000;"' ]
check "no CNAME left at _mta-sts.leaving.example.com" [ -z "$(kq _mta-sts.leaving.example.com CNAME)" ]
check "leaving.example.com's policy host CNAME added" \
  [ "$(kq mta-sts.leaving.example.com CNAME)" = mta-sts.provider.example. ]

# 2. an A record at mta-sts.D: the CNAME is refused (YXRRSET), not silently ignored; logged, retried with backoff
wait_for 15 fails_at_least hosted.example.com 2 || bad "hosted.example.com tried $(update_field hosted.example.com fails) times"
check "hosted.example.com recorded as yxrrset (got '$(update_field hosted.example.com result)')" result_is hosted.example.com yxrrset
check "hosted.example.com waits for its backoff" [ "$(update_field hosted.example.com next)" -gt "$(update_field hosted.example.com at)" ]
check "the log names the conflicting record" grep -q \
  "dns update domain=hosted.example.com zone=example.com. server=127.0.0.1:$P_PROXY result=yxrrset: 'mta-sts.hosted.example.com.' has an A or AAAA record, so its CNAME to 'mta-sts.provider.example.' (dns.host_target) cannot be added" \
  "$WORK/serve.log"
check "the customer's A record is untouched" [ "$(kq mta-sts.hosted.example.com A)" = 192.0.2.10 ]
check "no CNAME beside it" [ -z "$(kq mta-sts.hosted.example.com CNAME)" ]
check "nothing of the refused update applied" [ -z "$(kq _mta-sts.hosted.example.com TXT)" ]
check "counted as yxrrset" [ "$(metric 'mtastsd_dns_updates_total{result="yxrrset"}')" -ge 2 ]

# 3. an update over 512 bytes goes over TCP (the proxy drops such UDP datagrams)
wait_for 15 result_is bigrua.example.com noerror || bad "bigrua.example.com recorded as '$(update_field bigrua.example.com result)'"
big_published() { kq _smtp._tls.bigrua.example.com TXT | grep -q 'tls-reports-14@reports.bigrua.example.com'; }
check "bigrua.example.com's TLSRPT record published" big_published
check "no UDP datagram over 512 bytes sent" [ -z "$(grep 'udp dropped' "$WORK/proxy.log")" ]
check "the big update went over TCP" awk '$1 == "tcp" && $2 == "update" && $3 > 512 { f = 1 } END { exit !f }' "$WORK/proxy.log"
check "small updates still go over UDP" awk '$1 == "udp" && $2 == "update" && $3 <= 512 { f = 1 } END { exit !f }' "$WORK/proxy.log"
wait_for 15 result_is old.example.com noerror || bad "old.example.com recorded as '$(update_field old.example.com result)'"
stop_serve

# 4. old.example.com removed and the update state lost: its retiring records, and their deletion once
# its retirement is over, still go to example.com (the zone another domain names) when the SOA query is refused
write_config "$P_PROXY" 1 "$leaving
$hosted
$bigrua"
rm -f "$WORK/state/mtastsd.state.update"
t1=$((t0 + 60))
start_serve "$t1"
wait_for 15 result_is old.example.com noerror || bad "retiring old.example.com recorded as '$(update_field old.example.com result)'"
check "old.example.com's retiring id published" \
  [ "$(kq _mta-sts.old.example.com TXT)" = "\"v=STSv1; id=$(date -u -d "@$t1" +%Y%m%d%H%M%S);\"" ]
check "sent to example.com (got '$(update_field old.example.com zone)')" [ "$(update_field old.example.com zone)" = example.com. ]
stop_serve
rm -f "$WORK/state/mtastsd.state.update"
start_serve $((t1 + 3600 + 1))
deleted() { result_is old.example.com noerror && [ -z "$(kq _mta-sts.old.example.com TXT)" ]; }
wait_for 15 deleted || bad "old.example.com's records not deleted: '$(kq _mta-sts.old.example.com TXT)' ($(update_field old.example.com result))"
check "its deletion went to example.com" [ "$(update_field old.example.com zone)" = example.com. ]
check "its zone was looked for first (and refused)" grep -q 'query refused' "$WORK/proxy.log"
stop_serve

# 5. SIGTERM while an update waits for a server that never answers (timeout 10 s): serve ends at once
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
log = open(sys.argv[2], "a", buffering=1); log.write("ready\n")
while True: s.recv(65535); log.write("got\n")' "$P_HOLE" "$WORK/hole.log" &
EXTRA_PIDS="$EXTRA_PIDS $!"
hole_got() { grep -q '^got$' "$WORK/hole.log" 2>/dev/null; }
write_config "$P_HOLE" 10 "$leaving"
rm -f "$WORK/state/mtastsd.state.update"
start_serve "$t0"
wait_for 15 hole_got || bad "no update reached the silent server"
kill -TERM "$SERVER_PID"
gone() { ! kill -0 "$SERVER_PID" 2>/dev/null; }
start=$(date +%s%N)
if wait_for 3 gone; then
  ok "serve ended within 3 s of SIGTERM during an exchange ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
else
  bad "serve still running 3 s after SIGTERM during an exchange"
fi
rc=0; wait "$SERVER_PID" || rc=$?
SERVER_PID=
check "and exits 0 (got $rc)" [ "$rc" = 0 ]
check "the interrupted update is not recorded as a failure" [ "$(update_field leaving.example.com result)" != timeout ]

[ "$FAIL" -eq 0 ] || { echo "--- serve.log"; tail -30 "$WORK/serve.log"; echo "--- proxy.log"; tail -20 "$WORK/proxy.log"; }
finish
