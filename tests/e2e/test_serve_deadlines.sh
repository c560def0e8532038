#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# limits.connection_timeout bounds the whole request (accept to a complete request, the TLS
# handshake included) and each keep-alive wait, however slowly the bytes trickle in; a full
# listener makes room by closing the connection that has waited longest for its request, so a
# few addresses cannot hold max_connections; every refusal and close is counted and logged; a
# half-closed client gets its answer and the FIN at once.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" example.com
P=$(free_port); H=$(free_port); ADMIN_PORT=$(free_port)
{ serve_head "$P" "$H" "$ADMIN_PORT"; cat <<YAML
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
limits:
  connection_timeout: 3
  max_connections: 20
  max_connections_per_ip: 5
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
YAML
} >"$WORK/mtastsd.yaml"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
to0=$(metric 'mtastsd_connections_closed_total{reason="timeout"}')

out=$(python3 - "$H" "$P" "$CA" <<'PY'
import select, socket, ssl, sys, threading, time
h, p, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
REQ = b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n\r\n"

def connect(port, source="127.0.0.1", tls=False):
    s = socket.create_connection(("127.0.0.1", port), source_address=(source, 0), timeout=10)
    if tls:
        s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="mta-sts.example.com")
    return s

def trickle(s, data, limit):
    """Send DATA one byte a second; the seconds until the server closed, or None after LIMIT."""
    t0 = time.time()
    for b in data:
        try:
            s.sendall(bytes([b]))
        except OSError:
            return time.time() - t0
        end = time.time() + 1
        while time.time() < end:
            r, _, _ = select.select([s], [], [], max(0, end - time.time()))
            if r:
                try:
                    if s.recv(4096) == b"":
                        return time.time() - t0
                except OSError:
                    return time.time() - t0
        if time.time() - t0 > limit:
            return None
    return None

def answer(s):
    data = b""
    while b"max_age" not in data:
        c = s.recv(4096)
        if not c:
            break
        data += c
    return data.startswith(b"HTTP/1.1 200 ")

results = {}
def slow_plain():
    results["plain"] = trickle(connect(h), REQ, 9)
def slow_tls():
    results["tls"] = trickle(connect(p, tls=True), REQ, 9)
def slow_keepalive():
    s = connect(h)
    s.sendall(REQ)
    ok = answer(s)
    results["idle"] = trickle(s, REQ, 9) if ok else -1
threads = [threading.Thread(target=f) for f in (slow_plain, slow_tls, slow_keepalive)]
for t in threads:
    t.start()

# a client that keeps its connection and asks every second for 5 s is never cut off
s = connect(h)
served = 0
for _ in range(5):
    s.sendall(REQ)
    served += answer(s)
    time.sleep(1)
s.close()
for t in threads:
    t.join()
print("plain", results["plain"])
print("tls", results["tls"])
print("idle", results["idle"])
print("keepalive_served", served)

# half-closed: a client that sends its request and shuts its write side down gets the answer
# and then the FIN at once, not after the deadline (plain HTTP, and TLS with a TCP half-close)
# (whether the FIN arrives with the request or after it varies: five tries each, the slowest counts)
for kind, port in (("plain", h), ("tls", p)):
    good, slowest = True, 0.0
    for _ in range(5):
        s = connect(port, tls=kind == "tls")
        s.sendall(REQ)
        socket.socket.shutdown(s, socket.SHUT_WR)
        t0 = time.time()
        ok = answer(s)
        try:
            s.settimeout(5)
            fin = s.recv(4096) == b""
        except (OSError, ssl.SSLError):
            fin = True
        good = good and ok and fin
        slowest = max(slowest, time.time() - t0)
        s.close()
    print(f"halfclose_{kind}", good, round(slowest, 2))

# four addresses hold all 20 slots with silent connections (5 each, the per-address limit);
# after two seconds a fifth address is still served: the oldest silent one makes room
def gone(x):
    r, _, _ = select.select([x], [], [], 0)
    if not r:
        return False
    try:
        return x.recv(1) == b""
    except OSError:
        return True
hogs = [connect(h, source=f"127.0.0.{10 + i // 5}") for i in range(20)]
time.sleep(2.5)
print("hogs_open", sum(not gone(x) for x in hogs))
s = connect(h, source="127.0.0.30")
s.sendall(REQ)
print("served_when_full", answer(s))
s.close()
time.sleep(0.3)
print("hogs_open_after", sum(not gone(x) for x in hogs))
for x in hogs:
    x.close()
time.sleep(0.5)
# a sixth connection from one address is refused at once
held = [connect(h, source="127.0.0.40") for _ in range(5)]
time.sleep(0.3)
extra = [connect(h, source="127.0.0.40") for _ in range(3)]
closed = 0
for x in extra:
    x.settimeout(2)
    try:
        closed += x.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        closed += 1
print("per_ip_refused", closed)
for x in held + extra:
    x.close()
PY
)
echo "$out"
val() { awk -v k="$1" '$1 == k { print $2 }' <<<"$out"; }
within() { python3 -c "import sys; v=sys.argv[1]; sys.exit(0 if v not in ('None', '-1') and float(v) <= float(sys.argv[2]) else 1)" "$1" "$2"; }
check "plain HTTP, one byte a second: closed by the 3 s request deadline ($(val plain) s)" within "$(val plain)" 5
check "TLS after its handshake, one byte a second: closed by the request deadline ($(val tls) s)" within "$(val tls)" 5
check "keep-alive: the next request trickled in is closed 3 s after the answer ($(val idle) s)" within "$(val idle)" 5
check "a keep-alive client asking every second for 5 s gets every answer ($(val keepalive_served) of 5)" [ "$(val keepalive_served)" = 5 ]
for k in plain tls; do
  hc=$(awk -v k="halfclose_$k" '$1 == k { print $2, $3 }' <<<"$out")
  check "half-closed $k client: the answer, then the FIN at once ($hc s)" python3 -c "import sys; ok, t = sys.argv[1].split(); sys.exit(0 if ok == 'True' and float(t) < 1 else 1)" "$hc"
done
check "20 silent connections from 4 addresses were all accepted ($(val hogs_open) open)" [ "$(val hogs_open)" = 20 ]
check "they do not hold max_connections 20: a fifth address is served" [ "$(val served_when_full)" = True ]
check "the one that waited longest made room ($(val hogs_open_after) of 20 still open)" [ "$(val hogs_open_after)" = 19 ]
check "max_connections_per_ip 5: three more connections from one address are refused ($(val per_ip_refused))" [ "$(val per_ip_refused)" = 3 ]
to1=$(metric 'mtastsd_connections_closed_total{reason="timeout"}')
ev=$(metric 'mtastsd_connections_closed_total{reason="evicted"}')
pi=$(metric 'mtastsd_connections_refused_total{reason="per_ip"}')
check "request deadlines are counted (timeout $to0 -> $to1)" [ "$to1" -ge $((to0 + 3)) ]
check "evictions are counted ($ev)" [ "${ev:-0}" -ge 1 ]
check "per-address refusals are counted ($pi)" [ "${pi:-0}" -ge 3 ]
n=$(grep -c "connection refused: per-address limit reached listener=127.0.0.1:$H client=127.0.0.40" "$WORK/serve.log" || true)
check "per-address refusals are logged, one line per 10 s at most ($n lines for 3)" [ "$n" = 1 ]
check "evictions are logged" grep -q "connection closed to make room" "$WORK/serve.log"
rc=0; stop_server || rc=$?
check "SIGTERM: exit status 0 (got $rc)" [ "$rc" = 0 ]
finish
