#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mtastsd serve` limits: idle connections are closed after limits.connection_timeout, the
# per-address connection limit holds, and idle or slow clients never block others.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" example.com
P=$(free_port); H=$(free_port); ADMIN_PORT=$(free_port)
{ serve_head "$P" "$H" "$ADMIN_PORT"; cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
limits:
  connection_timeout: 3
  max_connections: 100
  max_connections_per_ip: 5
  max_header_size: 2048
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
EOF
} >"$WORK/mtastsd.yaml"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
WK=/.well-known/mta-sts.txt

out=$(python3 - "$H" "$P" "$CA" <<'PY'
import select, socket, ssl, sys, time
h, p, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
req = b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n"

def get_plain():
    with socket.create_connection(("127.0.0.1", h), timeout=5) as s:
        s.sendall(req)
        data = b""
        while True:
            b = s.recv(4096)
            if not b: break
            data += b
    return data.startswith(b"HTTP/1.1 200 ")

def closed_within(sock, seconds):
    sock.settimeout(seconds)
    start = time.time()
    try:
        while True:
            b = sock.recv(1)
            if not b:
                return time.time() - start
    except (socket.timeout, TimeoutError):
        return None
    except OSError:
        return time.time() - start

# 1. a silent TLS client (no ClientHello) and a slow plain-HTTP client do not block others
idle_tls = socket.create_connection(("127.0.0.1", p))
slow = socket.create_connection(("127.0.0.1", h))
slow.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-")
t0 = time.time()
ok = all(get_plain() for _ in range(3))
print("others_served", ok and time.time() - t0 < 2.5)
# 2. both are closed once the connection timeout (3 s) passes
t = closed_within(slow, 6)
print("slow_closed", t is not None and t < 5)
t = closed_within(idle_tls, 6)
print("idle_tls_closed", t is not None and t < 5)
# 3. per-address limit of 5: of 6 silent connections from one address exactly one is closed
# at once (without a limit all would stay open until the 3 s timeout). Which one is up to the
# order the server's threads accept them in, so all six are watched. The server may not have
# counted the connections of steps 1 and 2 out yet on a loaded machine (then two would be
# closed): the count is taken again, up to three times, after the six are released.
def closed_of_six():
    held = [socket.create_connection(("127.0.0.1", h)) for _ in range(6)]
    closed = 0
    deadline = time.time() + 1.5
    open_ = list(held)
    while open_ and time.time() < deadline:
        ready, _, _ = select.select(open_, [], [], max(0, deadline - time.time()))
        for s in ready:
            try:
                gone = s.recv(1) == b""
            except OSError:
                gone = True
            if gone:
                closed += 1
                open_.remove(s)
    for s in held:
        s.close()
    time.sleep(0.3)
    return closed
counts = []
for _ in range(3):
    counts.append(closed_of_six())
    if counts[-1] == 1:
        break
print("closed of six:", counts)
print("per_ip_limit", counts[-1] == 1)
print("after_release", get_plain())
PY
)
echo "$out"
check "a silent TLS client and a slow HTTP client do not block other requests" grep -qx 'others_served True' <<<"$out"
check "a slow client is closed after connection_timeout" grep -qx 'slow_closed True' <<<"$out"
check "a silent TLS client is closed after connection_timeout" grep -qx 'idle_tls_closed True' <<<"$out"
check "max_connections_per_ip 5: of 6 connections from one address exactly one is closed at once" grep -qx 'per_ip_limit True' <<<"$out"
check "connections are accepted again once released" grep -qx 'after_release True' <<<"$out"
# a client that stops in the middle of its ClientHello must cost nothing while it waits
ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
t0=$(ticks)
python3 - "$P" <<'PY2'
import socket, sys, time
socks = []
for _ in range(3):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"\x16\x03\x01\x00\x80\x01\x00")  # a record header and the start of a ClientHello
    socks.append(s)
time.sleep(2)
PY2
t1=$(ticks)
hz=$(getconf CLK_TCK)
check "stalled TLS handshakes do not spin: $((t1 - t0)) CPU ticks in 2 s (limit $((hz / 5)))" \
  [ $((t1 - t0)) -le $((hz / 5)) ]
check "431 above max_header_size (2048)" [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 3000 /dev/zero | tr '\0' a)" -H 'Host: mta-sts.example.com' "http://127.0.0.1:$H$WK" || true)" = 431 ]
check "a request within max_header_size is served" [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Small: $(head -c 500 /dev/zero | tr '\0' a)" -H 'Host: mta-sts.example.com' "http://127.0.0.1:$H$WK" || true)" = 200 ]

rc=0; stop_server || rc=$?
check "SIGTERM: exit status 0 (got $rc)" [ "$rc" = 0 ]

# ---- start-up failures: exit 1 with the reason, never half running
printf 'domains:\n  - name: example.com\n    mode: sometimes\n' >"$WORK/bad.yaml"
rc=0; "$MTASTSD" -c "$WORK/bad.yaml" serve 2>"$WORK/bad.log" || rc=$?
check "invalid config at start-up: exit 1 (got $rc)" [ "$rc" = 1 ]
check "invalid config at start-up: the error with FILE:LINE:COL" grep -qE "bad.yaml:3:[0-9]+: " "$WORK/bad.log"
# the occupier says when it holds the port (a fixed sleep lost the race on a loaded machine)
python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); open(sys.argv[2], "w").close(); time.sleep(60)' "$H" "$WORK/bound" &
EXTRA_PIDS=$!
for _ in $(seq 200); do [ -e "$WORK/bound" ] && break; sleep 0.05; done
rc=0; timeout 20 "$MTASTSD" -c "$WORK/mtastsd.yaml" serve 2>"$WORK/busy.log" || rc=$?
kill "$EXTRA_PIDS" 2>/dev/null || true; wait "$EXTRA_PIDS" 2>/dev/null || true; EXTRA_PIDS=""
check "a listen address in use: exit 1 (got $rc)" [ "$rc" = 1 ]
check "a listen address in use: named in the log" grep -q "cannot listen on '127.0.0.1:$H'" "$WORK/busy.log"

# ---- plain HTTP only (TLS terminated by a balancer): no certificate folder needed
{ serve_head "" "$H" "$ADMIN_PORT" no-such-folder/; cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
EOF
} >"$WORK/plain.yaml"
if start_server "$WORK/plain.yaml" "$ADMIN_PORT"; then
  check "plain-HTTP-only serve starts without a certificate folder" \
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Host: mta-sts.example.com' "http://127.0.0.1:$H$WK" || true)" = 200 ]
  rc=0; stop_server || rc=$?
  check "plain-HTTP-only serve: exit status 0 (got $rc)" [ "$rc" = 0 ]
else
  bad "plain-HTTP-only serve did not start"
fi
finish
