#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TLS findings of a scan, with real clients: no HelloRetryRequest for a client whose key share
# is for P-256 or P-384 (server precedence only among the shares sent); a session ticket
# resumes only under the SNI name it was issued for (TLS 1.2 and 1.3); handshakes that fail on
# garbage, a truncated ClientHello or a timeout are counted in
# mtastsd_tls_handshake_failures_total by reason, and a TCP connect-and-close is not.
. "$(dirname "$0")/lib.sh"
need curl openssl gnutls-cli python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" example.com example.org

P=$(free_port); ADMIN_PORT=$(free_port)
{ serve_head "$P" "" "$ADMIN_PORT"; cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
limits:
  connection_timeout: 2
domains:
  - name: example.com
    mx: [mx1.example.com]
  - name: example.org
    mx: [mx1.example.org]
EOF
} >"$WORK/mtastsd.yaml"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
WK=/.well-known/mta-sts.txt
s_client() { openssl s_client -connect "127.0.0.1:$P" -CAfile "$CA" "$@" 2>&1 </dev/null || true; }

# ---- key shares: one ServerHello (no HelloRetryRequest) whenever a share the server takes was sent
for groups in P-256:X25519 P-384:X25519 P-256 P-384:P-256:X25519 X25519:P-256; do
  out=$(s_client -servername mta-sts.example.com -tls1_3 -groups "$groups" -msg)
  check "openssl -groups $groups: handshake verified" grep -q 'Verify return code: 0 (ok)' <<<"$out"
  check "openssl -groups $groups: one ServerHello, no HelloRetryRequest" [ "$(grep -c 'ServerHello$' <<<"$out")" = 1 ]
  first=${groups%%:*}
  case $first in
    P-256) want='ECDH, prime256v1' ;; P-384) want='ECDH, secp384r1' ;; X25519) want='X25519' ;;
  esac
  check "openssl -groups $groups: the group of the share sent ($want)" grep -q "Server Temp Key: $want" <<<"$out"
  check "openssl -groups $groups: the server's cipher choice still holds (AES-128-GCM)" \
    grep -q 'Cipher is TLS_AES_128_GCM_SHA256' <<<"$out"
done
out=$(gnutls-cli -d 4 --port "$P" --x509cafile "$CA" --sni-hostname mta-sts.example.com \
  --verify-hostname mta-sts.example.com \
  --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-SECP256R1:+GROUP-SECP384R1' 127.0.0.1 </dev/null 2>&1 || true)
check "gnutls-cli with SECP256R1 first: completed without HelloRetryRequest" \
  bash -c 'grep -q "Handshake was completed" <<<"$1" && ! grep -q "HELLO RETRY REQUEST" <<<"$1"' _ "$out"
# a client with no share the server takes is still asked for one (the only way to agree)
out=$(s_client -servername mta-sts.example.com -tls1_3 -groups X448:P-256 -msg)
check "openssl -groups X448:P-256: one HelloRetryRequest to P-256, then verified" \
  bash -c '[ "$(grep -c "ServerHello$" <<<"$1")" = 2 ] && grep -q "Verify return code: 0 (ok)" <<<"$1"' _ "$out"

# ---- tickets: resumed under the name they were issued for, never under another tenant's
for v in tls1_2 tls1_3; do
  rm -f "$WORK/sess"
  # a request keeps the connection open until the TLS 1.3 ticket has arrived
  printf 'GET %s HTTP/1.0\r\nHost: mta-sts.example.com\r\n\r\n' "$WK" |
    openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com -CAfile "$CA" -"$v" \
      -sess_out "$WORK/sess" -ign_eof >"$WORK/first" 2>&1 || true
  check "$v: a ticket was issued" [ -s "$WORK/sess" ]
  out=$(s_client -servername mta-sts.example.com -"$v" -sess_in "$WORK/sess")
  check "$v: resumed under the name it was issued for" grep -q '^Reused' <<<"$out"
  out=$(s_client -servername mta-sts.example.org -"$v" -sess_in "$WORK/sess")
  check "$v: not resumed under another tenant's name (a full handshake)" \
    bash -c 'grep -q "^New," <<<"$1" && ! grep -q "^Reused" <<<"$1"' _ "$out"
  check "$v: which presents the other name's certificate" grep -q 'subject=CN = mta-sts.example.org' <<<"$out"
  code=$(printf 'GET %s HTTP/1.0\r\nHost: mta-sts.example.org\r\n\r\n' "$WK" |
    openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.org -CAfile "$CA" -"$v" \
      -sess_in "$WORK/sess" -ign_eof -quiet 2>/dev/null | head -n 1 || true)
  check "$v: and serves that name's policy (got '${code%$'\r'}')" grep -q '^HTTP/1.1 200' <<<"$code"
done

# ---- handshake failures counted by reason
fail_metric() { metric "mtastsd_tls_handshake_failures_total{reason=\"$1\"}"; }
for r in unknown_sni protocol garbage truncated timeout; do
  eval "before_$r=\$(fail_metric $r)"
  check "/metrics: reason=\"$r\" is exposed" [ -n "$(fail_metric $r)" ]
done
# raw TCP clients, each on its own connection; the server's answer (or close) is awaited
python3 - "$P" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s
def wait_closed(s, limit=10):
    s.settimeout(limit)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
# garbage: plain HTTP on the TLS port, and random bytes after a TLS-looking header
for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x16\x03\x01\xff\xff" + b"\x00" * 64, b"\xde\xad\xbe\xef" * 8):
    s = conn(); s.sendall(junk); wait_closed(s)
# truncated: the first 40 bytes of a ClientHello, then the client closes
hello = bytes.fromhex("16030100c8010000c40303") + b"\x11" * 32
for _ in range(2):
    s = conn(); s.sendall(hello[:40]); time.sleep(0.05); s.close()
# timeout: a ClientHello started and never finished, and a connection that sends nothing
for data in (hello[:40], b""):
    s = conn()
    if data:
        s.sendall(data)
    wait_closed(s)
# a TCP health check: connect and close, nothing sent
s = conn(); s.close()
PY
got() { echo $(( $(fail_metric "$1") - $2 )); }
# counted REASON BEFORE N: the counter moved by exactly N (polled: counted when the connection closes)
counted() { [ "$(got "$1" "$2")" = "$3" ]; }
check "garbage: 3 counted" wait_for 5 counted garbage "$before_garbage" 3
check "truncated: 2 counted" wait_for 5 counted truncated "$before_truncated" 2
check "timeout: 2 counted, the connect-and-close not" wait_for 5 counted timeout "$before_timeout" 2
echo "# counted: garbage $(got garbage "$before_garbage"), truncated $(got truncated "$before_truncated"), timeout $(got timeout "$before_timeout")"
check "none of these is counted as protocol or unknown_sni" \
  bash -c '[ "$1" = 0 ] && [ "$2" = 0 ]' _ "$(got protocol "$before_protocol")" "$(got unknown_sni "$before_unknown_sni")"
# a real client whose handshake fails after its ClientHello (it does not trust the certificate): protocol
gen_certs "$WORK/other-ca" example.com
gnutls-cli --port "$P" --x509cafile "$WORK/other-ca/ca.crt" --sni-hostname mta-sts.example.com \
  127.0.0.1 </dev/null >/dev/null 2>&1 || true
check "a client refusing the certificate: protocol" wait_for 5 counted protocol "$before_protocol" 1
check "still serving" [ "$(tls_get mta-sts.example.com "$P" "$WK" -o /dev/null -w '%{http_code}')" = 200 ]

check "SIGTERM: exit 0" stop_server
finish
