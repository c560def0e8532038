#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mtastsd serve` end to end: the real binary on loopback, certificates from a test CA made
# now, checked with curl, openssl s_client and gnutls-cli: certificate per SNI (exact,
# wildcard, RSA, ECDSA), unknown SNI refused, every status, exact bytes and headers, HEAD,
# IPv6, the plain-HTTP listener, limits, /healthz and /metrics.
. "$(dirname "$0")/lib.sh"
need curl openssl gnutls-cli python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
# example.com: ECDSA and RSA; example.org: exact (short-lived) and a longer wildcard;
# example.net: wildcard only (mode none); plus a CN-only certificate for cn.example
gen_certs "$CERTS" example.com example.org
gen_certs "$CERTS" --rsa example.com
gen_certs "$CERTS" --wildcard --days 300 example.org example.net
(cd "$CERTS" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj /CN=mta-sts.cn.example -addext basicConstraints=critical,CA:FALSE \
  -keyout cn.key -out cn.crt -days 30 >/dev/null 2>&1 && chmod 600 cn.key)

P=$(free_port); H=$(free_port); ADMIN_PORT=$(free_port)
V6=""
if have_ipv6; then V6=", \"[::1]:$P\""; fi
cat >"$WORK/mtastsd.yaml" <<EOF
listen:
  https: ["127.0.0.1:$P"$V6]
  http: ["127.0.0.1:$H"]
  admin: "127.0.0.1:$ADMIN_PORT"
tls:
  certs: certs/
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
limits:
  max_header_size: 4096
log:
  access: true
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com, "*.mail.example.net", mx1.example.com]
  - name: example.org
    mx: [mail.example.org]
  - name: example.net
    mode: none
    max_age: 86400
  - name: cn.example
    mx: [mx.cn.example]
EOF
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
WK=/.well-known/mta-sts.txt

# ---- first handshakes racing: the certificate's GnuTLS form is built on first use, once
racers=()
for i in $(seq 1 24); do
  curl -sS --max-time 10 --resolve "mta-sts.example.net:$P:127.0.0.1" --cacert "$CA" \
    -o /dev/null -w '%{http_code}\n' "https://mta-sts.example.net:$P$WK" >"$WORK/race.$i" 2>&1 &
  racers+=($!)
done
wait "${racers[@]}"
check "24 simultaneous first handshakes for one name all answered 200" \
  bash -c '[ "$(cat "$1"/race.* | grep -cx 200)" = 24 ]' _ "$WORK"

# ---- exact bytes and headers (200)
for d in example.com example.org example.net; do
  "$MTASTSD" -c "$WORK/mtastsd.yaml" policy "$d" >"$WORK/want.$d"
  tls_get "mta-sts.$d" "$P" "$WK" -D "$WORK/h.$d" -o "$WORK/got.$d" || true
  check "GET https://mta-sts.$d: body is exactly 'mtastsd policy $d'" cmp -s "$WORK/want.$d" "$WORK/got.$d"
  check "GET https://mta-sts.$d: 200" grep -q '^HTTP/1.1 200 ' "$WORK/h.$d"
  check "GET https://mta-sts.$d: Content-Type: text/plain" grep -qix 'content-type: text/plain.' "$WORK/h.$d"
  len=$(wc -c <"$WORK/want.$d")
  check "GET https://mta-sts.$d: Content-Length: $len" grep -qix "content-length: $len." "$WORK/h.$d"
  check "GET https://mta-sts.$d: no Location header" bash -c "! grep -qi '^location:' '$WORK/h.$d'"
done
check "example.com policy: CRLF lines, duplicate mx dropped, config order" \
  cmp -s "$WORK/got.example.com" <(printf 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mail.example.net\r\nmax_age: 604800\r\n')
check "mode none domain is served" grep -q '^mode: none' "$WORK/got.example.net"

# ---- HEAD
tls_get mta-sts.example.com "$P" "$WK" -I -o "$WORK/head" || true
check "HEAD: 200 with the GET's Content-Length" grep -qix "content-length: $(wc -c <"$WORK/want.example.com")." "$WORK/head"
body=$(python3 - "$P" "$CA" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s:
    with ctx.wrap_socket(s, server_hostname="mta-sts.example.com") as t:
        t.sendall(b"HEAD /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = t.recv(4096)
            if not b: break
            data += b
print(len(data.split(b"\r\n\r\n", 1)[1]))
PY
)
check "HEAD: no body bytes on the wire (got $body)" [ "$body" = 0 ]

# ---- Connection: close: the whole policy, then the TLS close_notify, then the end of the stream
# (the response, the alert and the FIN leave together; a bare FIN would be a truncation to the client)
for v in TLSv1_2 TLSv1_3; do
  got=$(python3 - "$P" "$CA" "$v" "$WORK/want.example.com" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, sys.argv[3])
want = open(sys.argv[4], "rb").read()
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s:
    with ctx.wrap_socket(s, server_hostname="mta-sts.example.com", suppress_ragged_eofs=False) as t:
        t.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n")
        data = b""
        try:
            while True:
                b = t.recv(4096)
                if not b:
                    break
                data += b
        except ssl.SSLEOFError:
            print("no close_notify")
            sys.exit()
head, _, body = data.partition(b"\r\n\r\n")
print("ok" if head.startswith(b"HTTP/1.1 200") and body == want else "wrong response %r" % data[:200])
PY
)
  check "Connection: close over $v: the policy, then close_notify ($got)" [ "$got" = ok ]
done

# ---- every status
code() { tls_get "$@" -o /dev/null -w '%{http_code}' || true; }
check "421 when Host and SNI disagree" [ "$(code mta-sts.example.com "$P" "$WK" -H 'Host: mta-sts.example.org')" = 421 ]
check "404 for another path" [ "$(code mta-sts.example.com "$P" /)" = 404 ]
check "404 for /.well-known/mta-sts.txt/" [ "$(code mta-sts.example.com "$P" "$WK/")" = 404 ]
check "405 for POST" [ "$(code mta-sts.example.com "$P" "$WK" -X POST -d x)" = 405 ]
tls_get mta-sts.example.com "$P" "$WK" -X DELETE -D "$WORK/h405" -o /dev/null || true
check "405 carries Allow: GET, HEAD" grep -qix 'allow: GET, HEAD.' "$WORK/h405"
check "Host with port, upper case and trailing dot routes" \
  [ "$(code mta-sts.example.com "$P" "$WK" -H "Host: MTA-STS.Example.COM.:$P")" = 200 ]
check "431 for a request header larger than limits.max_header_size" \
  [ "$(code mta-sts.example.com "$P" "$WK" -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)")" = 431 ]
check "never a redirect: no 3xx anywhere" bash -c "! grep -q '^HTTP/1.1 3' '$WORK'/h.*"

# ---- plain-HTTP listener: Host only
hget() { curl -sS --max-time 10 "$@" || true; }
hget -H 'Host: mta-sts.example.org' "http://127.0.0.1:$H$WK" -o "$WORK/plain.org"
check "plain HTTP: routed by Host, exact bytes" cmp -s "$WORK/want.example.org" "$WORK/plain.org"
check "plain HTTP: unknown host is 404" \
  [ "$(hget -H 'Host: mta-sts.unknown.example' -o /dev/null -w '%{http_code}' "http://127.0.0.1:$H$WK")" = 404 ]
check "plain HTTP: an IP literal Host is 404" \
  [ "$(hget -o /dev/null -w '%{http_code}' "http://127.0.0.1:$H$WK")" = 404 ]
check "plain HTTP: HEAD works" \
  [ "$(hget -I -H 'Host: mta-sts.example.org' -o /dev/null -w '%{http_code}' "http://127.0.0.1:$H$WK")" = 200 ]

# ---- IPv6
if [ -n "$V6" ]; then
  curl -sS --max-time 10 --resolve "mta-sts.example.com:$P:[::1]" --cacert "$CA" \
    "https://mta-sts.example.com:$P$WK" -o "$WORK/v6" || true
  check "IPv6 [::1]: policy served" cmp -s "$WORK/want.example.com" "$WORK/v6"
else
  echo "skip - IPv6 is not available on this machine"
fi

# ---- certificate per SNI
c=$(server_cert mta-sts.example.com "$P")
check "ECDSA certificate by default for mta-sts.example.com" grep -q 'id-ecPublicKey' <<<"$c"
check "exact SAN for mta-sts.example.com" grep -q 'DNS:mta-sts.example.com' <<<"$c"
c=$(server_cert mta-sts.example.com "$P" -sigalgs 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256')
check "RSA certificate for a client that only verifies RSA (TLS 1.3)" grep -q 'rsaEncryption' <<<"$c"
c=$(server_cert mta-sts.example.com "$P" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)
check "RSA certificate for a TLS 1.2 client offering only ECDHE-RSA suites" grep -q 'rsaEncryption' <<<"$c"
c=$(server_cert mta-sts.example.org "$P")
check "exact certificate beats a longer-lived wildcard (example.org)" grep -q 'DNS:mta-sts.example.org' <<<"$c"
c=$(server_cert mta-sts.example.net "$P")
check "wildcard certificate for mta-sts.example.net" grep -q 'DNS:\*.example.net' <<<"$c"
out=$(openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com -CAfile "$CA" \
  -verify_hostname mta-sts.example.com </dev/null 2>&1 || true)
check "openssl verifies the chain and host name" grep -q 'Verify return code: 0 (ok)' <<<"$out"

g=$(gnutls-cli --x509cafile "$CA" -p "$P" 127.0.0.1 --sni-hostname mta-sts.example.com \
  --verify-hostname mta-sts.example.com </dev/null 2>&1 || true)
check "gnutls-cli: trusted, ECDSA" bash -c 'grep -q "certificate is trusted" <<<"$1" && grep -q "Description:.*ECDSA" <<<"$1"' _ "$g"
g=$(gnutls-cli --x509cafile "$CA" -p "$P" 127.0.0.1 --sni-hostname mta-sts.example.com \
  --verify-hostname mta-sts.example.com --priority 'NORMAL:-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-SHA256' \
  </dev/null 2>&1 || true)
check "gnutls-cli: RSA when only RSA signatures are acceptable" \
  bash -c 'grep -q "certificate is trusted" <<<"$1" && grep -q "Description:.*RSA" <<<"$1"' _ "$g"

# ---- unknown or missing SNI: handshake aborted, never a certificate
for args in "-servername mta-sts.unknown.example" "-servername mta-sts.cn.example" "-noservername"; do
  # shellcheck disable=SC2086
  out=$(openssl s_client -connect "127.0.0.1:$P" $args </dev/null 2>&1 || true)
  check "openssl $args: unrecognized_name alert" grep -q 'unrecognized name' <<<"$out"
  check "openssl $args: no certificate presented" bash -c '! grep -q "BEGIN CERTIFICATE" <<<"$1"' _ "$out"
done
g=$(gnutls-cli --x509cafile "$CA" -p "$P" 127.0.0.1 --sni-hostname mta-sts.unknown.example </dev/null 2>&1 || true)
check "gnutls-cli: unknown SNI gets alert 112" grep -q 'Received alert \[112\]' <<<"$g"
check "curl: unknown SNI fails" bash -c "! curl -sS --max-time 5 -k --resolve mta-sts.unknown.example:$P:127.0.0.1 https://mta-sts.unknown.example:$P$WK -o /dev/null 2>/dev/null"

# ---- protocol versions and resumption
out=$(openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com -tls1_1 </dev/null 2>&1 || true)
check "TLS 1.1 refused" bash -c '! grep -q "BEGIN CERTIFICATE" <<<"$1"' _ "$out"
for v in tls1_2 tls1_3; do
  out=$(openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com -CAfile "$CA" -"$v" </dev/null 2>&1 || true)
  check "$v accepted" grep -q 'Verify return code: 0 (ok)' <<<"$out"
done
out=$(openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com -CAfile "$CA" -tls1_3 -msg \
  </dev/null 2>&1 || true)
check "TLS 1.3 with OpenSSL's X25519 key share: no HelloRetryRequest (one ServerHello)" \
  [ "$(grep -c 'ServerHello$' <<<"$out")" = 1 ]
check "TLS 1.3: the server's choice AES-128-GCM-SHA256 over OpenSSL's first AES-256-GCM-SHA384" \
  grep -q 'Cipher is TLS_AES_128_GCM_SHA256' <<<"$out"
out=$(gnutls-cli -d 4 --port "$P" --x509cafile "$CA" --sni-hostname mta-sts.example.com \
  --verify-hostname mta-sts.example.com --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3' 127.0.0.1 </dev/null 2>&1 || true)
check "TLS 1.3 with GnuTLS's default key shares (P-256, X25519): no HelloRetryRequest" \
  bash -c 'grep -q "Handshake was completed" <<<"$1" && grep -q "SERVER HELLO (2) was received" <<<"$1" &&
           ! grep -q "HELLO RETRY REQUEST" <<<"$1"' _ "$out"
openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com -CAfile "$CA" -tls1_2 \
  -sess_out "$WORK/sess" </dev/null >/dev/null 2>&1 || true
out=$(openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com -CAfile "$CA" -tls1_2 \
  -sess_in "$WORK/sess" </dev/null 2>&1 || true)
check "TLS 1.2 session resumption (ticket)" grep -q '^Reused' <<<"$out"

# ---- keep-alive: two requests on one connection
n=$(curl -sS --max-time 10 --resolve "mta-sts.example.com:$P:127.0.0.1" --cacert "$CA" \
  "https://mta-sts.example.com:$P$WK" "https://mta-sts.example.com:$P$WK" -o /dev/null -o /dev/null \
  -w '%{num_connects}\n' | awk '{ s += $1 } END { print s }' || echo x)
check "keep-alive: two requests use one connection ($n connects)" [ "$n" = 1 ]

# ---- /healthz and /metrics
hz=$(curl -sS -w '\n%{http_code}' "http://127.0.0.1:$ADMIN_PORT/healthz" || true)
check "/healthz is 200" [ "$(tail -n1 <<<"$hz")" = 200 ]
check "/healthz names the config file" grep -qF "$WORK/mtastsd.yaml" <<<"$hz"
check "/healthz says when it was loaded" grep -qE 'loaded: [0-9]{4}-[0-9]{2}-[0-9]{2}T' <<<"$hz"
m=$(curl -sS "http://127.0.0.1:$ADMIN_PORT/metrics" || true)
gt0() { awk -v k="$1" '$1 == k { found = 1; exit !($2 > 0) } END { if (!found) exit 1 }' <<<"$m"; }
for k in 'mtastsd_http_requests_total{code="200"}' 'mtastsd_http_requests_total{code="404"}' \
  'mtastsd_http_requests_total{code="405"}' 'mtastsd_http_requests_total{code="421"}' \
  'mtastsd_tls_handshake_failures_total{reason="unknown_sni"}' \
  'mtastsd_tls_handshake_failures_total{reason="protocol"}'; do
  check "/metrics: $k > 0" gt0 "$k"
done
check "/metrics: domains served = 4" grep -qx 'mtastsd_domains 4' <<<"$m"
check "/metrics: reload counters" bash -c 'grep -q "^mtastsd_reloads_total{result=\"ok\"} 0" <<<"$1" && grep -q "^mtastsd_reloads_total{result=\"failed\"} 0" <<<"$1"' _ "$m"
check "/metrics: seconds until expiry of the example.com certificate" \
  bash -c 'grep -E "^mtastsd_certificate_expiry_seconds\{file=\"[^\"]*mta-sts.example.com.crt\".*\} [0-9]+$" <<<"$1" | awk "{ exit !(\$2 > 89*86400 && \$2 <= 90*86400) }"' _ "$m"
check "/metrics: build info" grep -q '^mtastsd_build_info{version="[^"]*",gnutls="[^"]*",libmicrohttpd="[^"]*"} 1' <<<"$m"
check "/metrics: Prometheus TYPE lines" grep -q '^# TYPE mtastsd_http_requests_total counter' <<<"$m"
check "admin: unknown path 404" [ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/nope")" = 404 ]

# ---- logging
check "access log line for a request" grep -q 'access client=127.0.0.1 sni=mta-sts.example.com host=mta-sts.example.com' "$WORK/serve.log"
check "log never holds key material" bash -c "! grep -q 'PRIVATE KEY' '$WORK/serve.log'"

rc=0; stop_server || rc=$?
check "SIGTERM: exit status 0 (got $rc)" [ "$rc" = 0 ]
finish
