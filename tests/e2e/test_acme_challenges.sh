#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ACME challenges answered from the storage folder by real clients: http-01 on plain HTTP
# listeners (curl, also through a PROXY listener), tls-alpn-01 on HTTPS listeners (openssl
# s_client with ALPN acme-tls/1, also through a PROXY listener), while ordinary clients keep
# getting the normal certificate and policies.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
STORE="$WORK/acme"
gen_certs "$CERTS" example.com example.org
mkdir -p "$STORE/challenges/http-01" "$STORE/challenges/tls-alpn-01"
P=$(free_port); PP=$(free_port); H=$(free_port); HP=$(free_port); ADMIN_PORT=$(free_port)
cat >"$WORK/mtastsd.yaml" <<EOF
listen:
  https:
    - "127.0.0.1:$P"
    - {address: "127.0.0.1:$PP", proxy_protocol: true, proxy_from: ["127.0.0.1/32"]}
  http:
    - "127.0.0.1:$H"
    - {address: "127.0.0.1:$HP", proxy_protocol: true, proxy_from: ["127.0.0.1/32"]}
  admin: "127.0.0.1:$ADMIN_PORT"
tls:
  certs: certs/
log:
  access: true
$(acme_replica_conf "$STORE")
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
  - name: example.org
    mode: testing
    mx: [mx1.example.org]
EOF
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
"$MTASTSD" -c "$WORK/mtastsd.yaml" policy example.com >"$WORK/want"

# ordinary clients fetch the policy over and over while the challenges are answered
(
  while :; do
    if tls_get mta-sts.example.com "$P" /.well-known/mta-sts.txt -o "$WORK/got" 2>/dev/null &&
      cmp -s "$WORK/got" "$WORK/want"; then echo ok; else echo bad; fi
    sleep 0.05
  done >"$WORK/loop.out"
) &
LOOP=$!
EXTRA_PIDS="$LOOP"

# ---- http-01 ----
TOKEN=LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
KEYAUTH=$TOKEN.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
printf '%s\n' "$KEYAUTH" >"$STORE/challenges/http-01/$TOKEN"
# a file whose name no token has: never read, whatever the request
printf 'secret\n' >"$STORE/challenges/http-01/not.a.token"

get() {  # get PORT PATH [CURL ARGS]: "STATUS CONTENT-TYPE" then the body on the next line
  local port="$1" path="$2"; shift 2
  curl -sS --max-time 10 -H "Host: ${HOST:-mta-sts.example.com}" -w '\n%{http_code} %{content_type}' "$@" \
    "http://127.0.0.1:$port$path"
}
out=$(get "$H" "/.well-known/acme-challenge/$TOKEN")
check "http-01: 200 application/octet-stream" test "$(tail -n1 <<<"$out")" = "200 application/octet-stream"
check "http-01: the body is the key authorization, nothing more" test "$(head -n1 <<<"$out")" = "$KEYAUTH"
check "http-01: exactly the key authorization's bytes" test "$(curl -sS -H 'Host: x' \
  "http://127.0.0.1:$H/.well-known/acme-challenge/$TOKEN" | wc -c)" -eq "${#KEYAUTH}"
out=$(HOST=mta-sts.not-configured.example get "$H" "/.well-known/acme-challenge/$TOKEN")
check "http-01: for any Host (a name not served yet)" test "$(head -n1 <<<"$out")" = "$KEYAUTH"
out=$(get "$H" "/.well-known/acme-challenge/$TOKEN?x=1")
check "http-01: the query does not count" test "$(head -n1 <<<"$out")" = "$KEYAUTH"
out=$(get "$H" "/.well-known/acme-challenge/${TOKEN}x")
check "http-01: unknown token is 404" test "$(tail -n1 <<<"$out" | cut -d' ' -f1)" = 404
for bad_path in /.well-known/acme-challenge/not.a.token /.well-known/acme-challenge/ \
  "/.well-known/acme-challenge/..%2F..%2Fmtastsd.yaml" "/.well-known/acme-challenge/$TOKEN/x" \
  "/.well-known/acme-challenge/%4C${TOKEN:1}"; do
  out=$(get "$H" "$bad_path")
  check "http-01: invalid token '$bad_path' is 404" test "$(tail -n1 <<<"$out" | cut -d' ' -f1)" = 404
done
check "http-01: a file under a name no token has is never served" \
  sh -c "! curl -sS -H 'Host: x' 'http://127.0.0.1:$H/.well-known/acme-challenge/not.a.token' | grep -q secret"
out=$(get "$H" "/.well-known/acme-challenge/$TOKEN" -X POST)
check "http-01: POST is 405" test "$(tail -n1 <<<"$out" | cut -d' ' -f1)" = 405
out=$(get "$HP" "/.well-known/acme-challenge/$TOKEN" --haproxy-protocol)
check "http-01 through a PROXY listener" test "$(head -n1 <<<"$out")" = "$KEYAUTH"
out=$(tls_get mta-sts.example.com "$P" "/.well-known/acme-challenge/$TOKEN" -w '\n%{http_code}')
check "http-01 is not answered on HTTPS listeners" test "$(tail -n1 <<<"$out")" = 404
rm "$STORE/challenges/http-01/$TOKEN"
out=$(get "$H" "/.well-known/acme-challenge/$TOKEN")
check "http-01: a removed challenge is 404 at once" test "$(tail -n1 <<<"$out" | cut -d' ' -f1)" = 404

# ---- tls-alpn-01 ----
KA_NEW=evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
KA_COM=DGyRejmCefe7v4NfDGDKfA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
printf '%s\n' "$KA_NEW" >"$STORE/challenges/tls-alpn-01/mta-sts.new.example"
printf '%s' "$KA_COM" >"$STORE/challenges/tls-alpn-01/mta-sts.example.com"
acme_id() { printf '0420%s' "$(printf %s "$1" | openssl dgst -sha256 -r | cut -d' ' -f1)" | tr a-f A-F; }

# hello NAME PORT [S_CLIENT ARGS]: s_client's output into $WORK/hello.out, the leaf into $WORK/leaf.pem
hello() {
  local name="$1" port="$2"; shift 2
  openssl s_client -connect "127.0.0.1:$port" -servername "$name" "$@" </dev/null >"$WORK/hello.out" 2>&1 || true
  openssl x509 -in "$WORK/hello.out" -out "$WORK/leaf.pem" 2>/dev/null || : >"$WORK/leaf.pem"
}
# the acmeIdentifier of $WORK/leaf.pem: "critical HEX" (asn1parse: the OID, BOOLEAN true, the OCTET STRING)
leaf_acme_id() {
  openssl asn1parse -in "$WORK/leaf.pem" 2>/dev/null | awk '
    /OBJECT *:1.3.6.1.5.5.7.1.31/ { seen = 1; next }
    seen == 1 && /BOOLEAN/ { crit = ($NF == ":255" || $NF == ":1") ? "critical" : "noncritical"; next }
    seen == 1 && /OCTET STRING/ { sub(/.*\[HEX DUMP\]:/, ""); print crit, $0; exit }'
}
leaf_sans() { openssl x509 -in "$WORK/leaf.pem" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' '; }

for v in "" -tls1_2; do
  hello mta-sts.new.example "$P" -alpn acme-tls/1 $v
  check "tls-alpn-01 ${v:-TLS 1.3}: ALPN acme-tls/1 negotiated" grep -q '^ALPN protocol: acme-tls/1' "$WORK/hello.out"
  check "tls-alpn-01 ${v:-TLS 1.3}: the only SAN is the name" test "$(leaf_sans)" = DNS:mta-sts.new.example
  check "tls-alpn-01 ${v:-TLS 1.3}: critical acmeIdentifier = SHA-256 of the key authorization" \
    test "$(leaf_acme_id)" = "critical $(acme_id "$KA_NEW")"
  check "tls-alpn-01 ${v:-TLS 1.3}: self-signed" test "$(openssl x509 -in "$WORK/leaf.pem" -noout -issuer | sed 's/^issuer=//')" \
    = "$(openssl x509 -in "$WORK/leaf.pem" -noout -subject | sed 's/^subject=//')"
done
cp "$WORK/leaf.pem" "$WORK/first.pem"
hello mta-sts.new.example "$P" -alpn acme-tls/1
check "tls-alpn-01: the challenge certificate is made once and reused" cmp -s "$WORK/leaf.pem" "$WORK/first.pem"

hello mta-sts.example.com "$P" -alpn acme-tls/1
check "tls-alpn-01 for a name with its own certificate: the challenge certificate" \
  test "$(leaf_acme_id)" = "critical $(acme_id "$KA_COM")"
for alpn in "" "-alpn h2,http/1.1"; do
  hello mta-sts.example.com "$P" -CAfile "$CA" $alpn
  check "ordinary client (${alpn:-no ALPN}): the normal certificate, verified" grep -q 'Verify return code: 0 (ok)' "$WORK/hello.out"
  check "ordinary client (${alpn:-no ALPN}): no acmeIdentifier" test -z "$(leaf_acme_id)"
done
check "ordinary client offering h2,http/1.1 gets http/1.1" grep -q '^ALPN protocol: http/1.1' "$WORK/hello.out"
hello mta-sts.new.example "$P"
check "no acme-tls/1 for a name without a certificate: no certificate at all" test ! -s "$WORK/leaf.pem"
# decided: acme-tls/1 without a pending challenge is refused (no_application_protocol), certificate or not
hello mta-sts.example.org "$P" -alpn acme-tls/1 -CAfile "$CA"
check "acme-tls/1 for a name without a pending challenge: handshake refused" test ! -s "$WORK/leaf.pem"
check "acme-tls/1 for a name without a pending challenge: alert no_application_protocol" \
  grep -qi 'no application protocol\|alert number 120' "$WORK/hello.out"
hello mta-sts.unknown.example "$P" -alpn acme-tls/1
check "acme-tls/1 for a name without a pending challenge nor certificate: handshake refused" test ! -s "$WORK/leaf.pem"
hello mta-sts.example.org "$P" -alpn http/1.1,acme-tls/1 -CAfile "$CA"
check "acme-tls/1 offered after http/1.1: the client's choice, the normal certificate" \
  grep -q '^ALPN protocol: http/1.1' "$WORK/hello.out"

# through the PROXY listener, and the close after the handshake, with Python's client
out=$(python3 - "$PP" "$P" "$(acme_id "$KA_NEW")" <<'PY'
import socket, ssl, sys, time
pp, p, want = int(sys.argv[1]), int(sys.argv[2]), bytes.fromhex(sys.argv[3])
# the extension as DER: OID 1.3.6.1.5.5.7.1.31, critical TRUE, OCTET STRING of the value
ext = bytes.fromhex("06082b0601050507011f" "0101ff" "0422") + want
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["acme-tls/1"])

def validate(port, header):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(header)
        with ctx.wrap_socket(s, server_hostname="mta-sts.new.example") as t:
            der = t.getpeercert(binary_form=True)
            alpn = t.selected_alpn_protocol()
            start = time.monotonic()
            try:
                closed = t.recv(1) == b""
            except (ssl.SSLError, OSError):
                closed = True
            return alpn == "acme-tls/1" and ext in der, closed and time.monotonic() - start < 2

print("proxy", *validate(pp, b"PROXY TCP4 192.0.2.10 198.51.100.1 40000 443\r\n"))
print("direct", *validate(p, b""))
PY
)
echo "$out"
check "tls-alpn-01 through a PROXY listener" grep -q '^proxy True' <<<"$out"
check "tls-alpn-01: the server closes the connection right after the handshake" grep -qx 'direct True True' <<<"$out"

printf '%s' "$KA_COM.x" >"$STORE/challenges/tls-alpn-01/mta-sts.new.example"
hello mta-sts.new.example "$P" -alpn acme-tls/1
check "tls-alpn-01: a new key authorization gets a new certificate" \
  test "$(leaf_acme_id)" = "critical $(acme_id "$KA_COM.x")"
rm "$STORE/challenges/tls-alpn-01/mta-sts.new.example"
hello mta-sts.new.example "$P" -alpn acme-tls/1
check "tls-alpn-01: a removed challenge is no longer answered" test ! -s "$WORK/leaf.pem"

kill "$LOOP" 2>/dev/null; wait "$LOOP" 2>/dev/null || true
EXTRA_PIDS=""
check "policy fetches during the challenges: all good ($(grep -c ok "$WORK/loop.out") fetches)" \
  sh -c "test -s '$WORK/loop.out' && ! grep -q bad '$WORK/loop.out'"
check "the log names each tls-alpn-01 answer" grep -q "answering the tls-alpn-01 challenge of 'mta-sts.new.example'" "$WORK/serve.log"
check "the server is still healthy" curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz"
check "the server exits cleanly" stop_server
finish
