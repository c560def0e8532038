#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# HTTP request parsing against the real server, with raw requests a library client would not
# send: RFC 9112 Host rules (missing, repeated, invalid, empty port), absolute-form targets,
# percent-encoded paths (an encoded NUL), and every answer libmicrohttpd sends itself counted.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" example.com example.org
P=$(free_port); H=$(free_port); ADMIN_PORT=$(free_port)
{ serve_head "$P" "$H" "$ADMIN_PORT"; cat <<YAML
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
limits:
  max_header_size: 2048
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
  - name: example.org
    mode: testing
    mx: [mx1.example.org]
YAML
} >"$WORK/mtastsd.yaml"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1

# one raw request per case: "KIND STATUS NAME" lines, KIND http or tls (SNI mta-sts.example.com)
out=$(python3 - "$H" "$P" "$CA" <<'PY'
import socket, ssl, sys
h, p, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
W = b"/.well-known/mta-sts.txt"

def ask(kind, raw):
    s = socket.create_connection(("127.0.0.1", h if kind == "http" else p), timeout=10)
    if kind == "tls":
        s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="mta-sts.example.com")
    s.sendall(raw)
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except OSError:
        pass
    s.close()
    if not data.startswith(b"HTTP/1."):
        return 0, data
    return int(data.split(b" ", 2)[1]), data

cases = [
    # name, kind, request, expected status
    ("encoded NUL after the policy path", "http", b"GET " + W + b"%00.x HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 404),
    ("encoded NUL at the end of the policy path", "tls", b"GET " + W + b"%00 HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 404),
    ("escaped unreserved characters are the characters", "http", b"GET /.well-known/mta%2Dsts%2Etxt HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 200),
    ("an encoded slash is no slash", "http", b"GET /.well-known%2Fmta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 404),
    ("two Host lines (plain HTTP)", "http", b"GET " + W + b" HTTP/1.1\r\nHost: mta-sts.example.com\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 400),
    ("two Host lines (TLS)", "tls", b"GET " + W + b" HTTP/1.1\r\nHost: mta-sts.example.com\r\nhost: mta-sts.example.org\r\nConnection: close\r\n\r\n", 400),
    ("HTTP/1.1 without Host (TLS, SNI known)", "tls", b"GET " + W + b" HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
    ("HTTP/1.1 without Host (plain HTTP)", "http", b"GET " + W + b" HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
    ("HTTP/1.0 without Host is routed by its SNI", "tls", b"GET " + W + b" HTTP/1.0\r\n\r\n", 200),
    ("Host with an empty port", "http", b"GET " + W + b" HTTP/1.1\r\nHost: mta-sts.example.com:\r\nConnection: close\r\n\r\n", 400),
    ("Host with an empty port (TLS)", "tls", b"GET " + W + b" HTTP/1.1\r\nHost: mta-sts.example.com:\r\nConnection: close\r\n\r\n", 400),
    ("Host with trailing whitespace", "http", b"GET " + W + b" HTTP/1.1\r\nHost: mta-sts.example.com \t\r\nConnection: close\r\n\r\n", 200),
    ("Host with trailing whitespace (TLS)", "tls", b"GET " + W + b" HTTP/1.1\r\nHost: mta-sts.example.com  \r\nConnection: close\r\n\r\n", 200),
    ("Host with a space inside", "http", b"GET " + W + b" HTTP/1.1\r\nHost: mta-sts.example.com x\r\nConnection: close\r\n\r\n", 400),
    ("absolute-form: routed by its authority, not by Host", "http", b"GET http://mta-sts.example.org" + W + b" HTTP/1.1\r\nHost: unrelated.example\r\nConnection: close\r\n\r\n", 200),
    ("absolute-form over TLS", "tls", b"GET https://mta-sts.example.com" + W + b" HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 200),
    ("absolute-form naming another host than the SNI", "tls", b"GET https://mta-sts.example.org" + W + b" HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 421),
    ("a literal NUL inside Host (a header follows)", "http", b"GET " + W + b" HTTP/1.1\r\nHost: mta-sts.example.com\x00.evil\r\nConnection: close\r\n\r\n", 400),
    ("a literal NUL inside Host (the last header)", "tls", b"GET " + W + b" HTTP/1.1\r\nConnection: close\r\nHost: mta-sts.example.com\x00.evil\r\n\r\n", 400),
    ("a literal NUL ending Host", "http", b"GET " + W + b" HTTP/1.1\r\nHost: mta-sts.example.com\x00\r\nConnection: close\r\n\r\n", 400),
    ("a literal NUL in the path", "http", b"GET " + W + b"\x00.x HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 400),
    ("a literal NUL in the path, before a query", "tls", b"GET " + W + b"\x00.x?a=1 HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 400),
    ("a query is fine", "http", b"GET " + W + b"?a=1&b HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 200),
    ("an empty query is fine", "http", b"GET " + W + b"? HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n", 200),
    ("bare LF line ends, Host last", "http", b"GET " + W + b" HTTP/1.1\nConnection: close\nHost: mta-sts.example.com\n\n", 200),
    ("bare LF line ends, Host first", "tls", b"GET " + W + b" HTTP/1.1\nHost: mta-sts.example.com\nConnection: close\n\n", 200),
    ("spaces around the Host value, Host last", "http", b"GET " + W + b" HTTP/1.1\r\nConnection: close\r\nHost:    mta-sts.example.com  \r\n\r\n", 200),
    ("absolute-form with userinfo", "http", b"GET http://u@mta-sts.example.org" + W + b" HTTP/1.1\r\nHost: mta-sts.example.org\r\nConnection: close\r\n\r\n", 400),
]
for name, kind, raw, want in cases:
    st, data = ask(kind, raw)
    body_ok = want != 200 or data.endswith(b"max_age: 604800\r\n")
    print(f"{'ok' if st == want and body_ok else 'bad'} {st} {kind}: {name} (want {want})")
PY
)
echo "$out"
while read -r verdict rest; do
  if [ "$verdict" = ok ]; then ok "$rest"; else bad "$rest"; fi
done <<<"$out"

# curl, a real client: an absolute-form target, an HTTP/1.1 request without Host, an encoded NUL
code=$(curl -sS -o /dev/null -w '%{http_code}' --request-target http://mta-sts.example.org/.well-known/mta-sts.txt \
  -H 'Host: unrelated.example' "http://127.0.0.1:$H/" || true)
check "curl --request-target in absolute-form: routed by its authority (got $code)" [ "$code" = 200 ]
code=$(tls_get mta-sts.example.com "$P" /.well-known/mta-sts.txt -o /dev/null -w '%{http_code}' -H 'Host:' || true)
check "curl over TLS with no Host header: 400 (got $code)" [ "$code" = 400 ]
code=$(tls_get mta-sts.example.com "$P" /.well-known/mta-sts.txt%00 --path-as-is -o /dev/null -w '%{http_code}' || true)
check "curl over TLS with an encoded NUL: 404 (got $code)" [ "$code" = 404 ]

# every answer is counted, also those libmicrohttpd sends before any handler runs
count() { metric "mtastsd_http_requests_total{code=\"$1\"}"; }
mhd_case() {  # CODE NAME REQUEST: the request is answered with CODE and counted once
  local want="$1" name="$2" req="$3" before after got
  before=$(count "$want")
  got=$(python3 - "$H" "$req" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "none")
PY
)
  after=$(count "$want")
  check "$name: answered $want (got $got)" [ "$got" = "$want" ]
  check "$name: counted in mtastsd_http_requests_total{code=\"$want\"} ($before -> $after)" [ "$after" = $((before + 1)) ]
}
long=$(head -c 5000 /dev/zero | tr '\0' a)
mhd_case 400 "a malformed Content-Length" 'GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nContent-Length: x1\r\n\r\n'
mhd_case 413 "a Content-Length beyond 64 bits" 'POST /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nContent-Length: 99999999999999999999999\r\n\r\n'
mhd_case 414 "a request line beyond max_header_size" "GET /$long HTTP/1.1\\r\\nHost: mta-sts.example.com\\r\\n\\r\\n"
mhd_case 431 "headers beyond max_header_size" "GET /.well-known/mta-sts.txt HTTP/1.1\\r\\nHost: mta-sts.example.com\\r\\nX-Big: $long\\r\\n\\r\\n"
mhd_case 505 "HTTP/2.0 in a request line" 'GET /.well-known/mta-sts.txt HTTP/2.0\r\nHost: mta-sts.example.com\r\n\r\n'
mhd_case 400 "a 400 of mtastsd itself" 'GET /.well-known/mta-sts.txt HTTP/1.1\r\n\r\n'

rc=0; stop_server || rc=$?
check "SIGTERM: exit status 0 (got $rc)" [ "$rc" = 0 ]
finish
