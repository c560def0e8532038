#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mtastsd serve` behind a balancer without the balancer: a PROXY v1/v2 header before the TLS
# handshake names the client (access log), a bad or missing header is closed and counted,
# proxy_from is enforced, and X-Forwarded-For is believed from trusted proxies only.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" example.com
P=$(free_port); Q=$(free_port); H=$(free_port); ADMIN_PORT=$(free_port)
cat >"$WORK/mtastsd.yaml" <<EOF
listen:
  https:
    - {address: "127.0.0.1:$P", proxy_protocol: true, proxy_from: ["127.0.0.1/32"]}
    - {address: "127.0.0.1:$Q", proxy_protocol: true, proxy_from: ["10.0.0.0/8"]}
  http: ["127.0.0.1:$H"]
  admin: "127.0.0.1:$ADMIN_PORT"
  trusted_proxies: ["127.0.0.1/32"]
tls:
  certs: certs/
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
log:
  access: true
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
EOF
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
"$MTASTSD" -c "$WORK/mtastsd.yaml" policy example.com >"$WORK/want"

out=$(python3 - "$P" "$Q" "$CA" "$WORK/want" <<'PY'
import socket, ssl, struct, sys, time
p, q, ca, want = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], open(sys.argv[4], "rb").read()
ctx = ssl.create_default_context(cafile=ca)
req = b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n"

def fetch(port, header):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(header)
        with ctx.wrap_socket(s, server_hostname="mta-sts.example.com") as t:
            t.sendall(req)
            data = b""
            while True:
                b = t.recv(4096)
                if not b:
                    break
                data += b
    return data.startswith(b"HTTP/1.1 200 ") and data.endswith(want)

def closed(port, header):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(header)
            s.settimeout(5)
            return s.recv(1) == b""
    except OSError:
        return True

v1 = b"PROXY TCP4 192.0.2.10 198.51.100.1 40000 443\r\n"
sig = b"\r\n\r\n\x00\r\nQUIT\n"
v2 = sig + bytes([0x21, 0x11]) + struct.pack("!H", 12) + socket.inet_aton("192.0.2.20") + \
    socket.inet_aton("198.51.100.1") + struct.pack("!HH", 40001, 443)
print("v1", fetch(p, v1))
print("v2", fetch(p, v2))
print("garbage_closed", closed(p, b"GET / HTTP/1.0\r\n\r\n"))
print("source_closed", closed(q, v1))
PY
)
echo "$out"
check "PROXY v1 header then TLS: policy served" grep -qx 'v1 True' <<<"$out"
check "PROXY v2 header then TLS: policy served" grep -qx 'v2 True' <<<"$out"
check "no PROXY header: connection closed" grep -qx 'garbage_closed True' <<<"$out"
check "peer outside proxy_from: connection closed" grep -qx 'source_closed True' <<<"$out"
sleep 0.3
check "access log names the client from the v1 header" grep -q 'access client=192.0.2.10 sni=mta-sts.example.com' "$WORK/serve.log"
check "access log names the client from the v2 header" grep -q 'access client=192.0.2.20 sni=mta-sts.example.com' "$WORK/serve.log"
inv=$(metric 'mtastsd_proxy_rejected_total{reason="invalid"}')
src=$(metric 'mtastsd_proxy_rejected_total{reason="source"}')
check "/metrics counts the invalid header ($inv)" [ "${inv:-0}" -ge 1 ]
check "/metrics counts the refused source ($src)" [ "${src:-0}" -ge 1 ]

# X-Forwarded-For on the plain-HTTP listener: believed from 127.0.0.1 (trusted) only
curl -sS -o /dev/null -H 'Host: mta-sts.example.com' -H 'X-Forwarded-For: 203.0.113.5, 192.0.2.30' \
  "http://127.0.0.1:$H/.well-known/mta-sts.txt" || true
curl -sS -o /dev/null --interface 127.0.0.2 -H 'Host: mta-sts.example.com' -H 'X-Forwarded-For: 192.0.2.99' \
  "http://127.0.0.1:$H/.well-known/mta-sts.txt" || true
curl -sS -o /dev/null -H 'Host: mta-sts.example.com' -H 'Forwarded: for=192.0.2.1, for="192.0.2.43:4711";proto=https' \
  "http://127.0.0.1:$H/.well-known/mta-sts.txt" || true
curl -sS -o /dev/null -H 'Host: mta-sts.example.com' -H 'Forwarded: for="[2001:db8::7]:4711"' \
  "http://127.0.0.1:$H/.well-known/mta-sts.txt" || true
curl -sS -o /dev/null -H 'Host: mta-sts.example.com' -H 'X-Forwarded-For: not-an-address' \
  "http://127.0.0.1:$H/.well-known/mta-sts.txt" || true
sleep 0.3
check "Forwarded from a trusted proxy: last for=, IPv4 with port" grep -q 'access client=192.0.2.43 ' "$WORK/serve.log"
check "Forwarded from a trusted proxy: last for=, bracketed IPv6" grep -q 'access client=2001:db8::7 ' "$WORK/serve.log"
check "a forwarded value that is no address is ignored (the peer is logged)" \
  bash -c "! grep -q 'client=not-an-address' '$WORK/serve.log' && [ \$(grep -c 'access client=127.0.0.1 sni=- ' '$WORK/serve.log') -ge 1 ]"
check "X-Forwarded-For from a trusted proxy: its last entry is the client" \
  grep -q 'access client=192.0.2.30 sni=- host=mta-sts.example.com' "$WORK/serve.log"
check "X-Forwarded-For from an untrusted peer (127.0.0.2) is ignored: the peer is logged" \
  bash -c "grep -q 'access client=127.0.0.2 ' '$WORK/serve.log' && ! grep -q 'client=192.0.2.99' '$WORK/serve.log'"

rc=0; stop_server || rc=$?
check "SIGTERM: exit status 0 (got $rc)" [ "$rc" = 0 ]
finish
