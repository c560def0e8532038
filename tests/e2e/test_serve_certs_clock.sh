#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Certificates coming into and going out of validity while `serve` runs, with no file changed
# and no reload (issue 14.1): a handshake presents a certificate from its first valid second,
# stops presenting an expired one, and the id of a domain waiting for its certificate is
# published once it can be served.
. "$(dirname "$0")/lib.sh"
need curl openssl certtool python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" --name wild --wildcard late.example
gen_certs "$CERTS" --name other other.example
# certtool_pair NAME HOST FROM TO: a pair signed by the development CA, valid FROM..TO (date -d)
certtool_pair() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CERTS/$1.key" 2>/dev/null
  chmod 600 "$CERTS/$1.key"
  cat >"$WORK/$1.tmpl" <<EOF
dns_name = "$2"
activation_date = "$(date -u -d "$3" '+%Y-%m-%d %H:%M:%S')"
expiration_date = "$(date -u -d "$4" '+%Y-%m-%d %H:%M:%S')"
signing_key
tls_www_server
EOF
  certtool --generate-certificate --load-ca-certificate "$CA" --load-ca-privkey "$CERTS/ca.key" \
    --load-privkey "$CERTS/$1.key" --template "$WORK/$1.tmpl" --outfile "$CERTS/$1.crt" >/dev/null 2>&1
}
# soon.example: its only certificate starts in twelve seconds
certtool_pair soon mta-sts.soon.example '+12 seconds' '+30 days'
# late.example: an exact certificate ending in twelve seconds, beside a valid wildcard
certtool_pair ending mta-sts.late.example '-1 day' '+12 seconds'

P=$(free_port); ADMIN_PORT=$(free_port)
{ serve_head "$P" "" "$ADMIN_PORT"; cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
domains:
  - name: soon.example
    mx: [mx.soon.example]
  - name: late.example
    mx: [mx.late.example]
  - name: other.example
    mx: [mx.other.example]
EOF
} >"$WORK/mtastsd.yaml"
WK=/.well-known/mta-sts.txt
serves() { tls_get "mta-sts.$1" "$P" "$WK" 2>/dev/null | grep -q "^mx: mx.$1"; }
san() { openssl s_client -connect "127.0.0.1:$P" -servername "mta-sts.$1" </dev/null 2>/dev/null |
  openssl x509 -noout -ext subjectAltName 2>/dev/null | tr -d ' \n' || true; }
has_record() { grep -q "^_mta-sts.$1\. " "$WORK/state/mta-sts.zone" 2>/dev/null; }
reloads() { grep -c "reloading config" "$WORK/serve.log" || true; }

start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
check "before its start: soon.example's handshake is refused" bash -c "! curl -sS --max-time 5 --resolve mta-sts.soon.example:$P:127.0.0.1 --cacert '$CA' https://mta-sts.soon.example:$P$WK >/dev/null 2>&1"
check "before its start: no record for soon.example" wait_for 5 bash -c "grep -q '^_mta-sts.other.example' '$WORK/state/mta-sts.zone' && ! grep -q '_mta-sts.soon.example' '$WORK/state/mta-sts.zone'"
check "late.example: the exact certificate is presented while valid" [ "$(san late.example)" = "X509v3SubjectAlternativeName:DNS:mta-sts.late.example" ]
r=$(reloads)
check "soon.example served from its certificate's first second, no file changed" wait_for 25 serves soon.example
check "late.example: the wildcard is presented once the exact one expired" \
  wait_for 25 bash -c "openssl s_client -connect 127.0.0.1:$P -servername mta-sts.late.example </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName | grep -q 'DNS:\*.late.example'"
check "soon.example's record is published then" wait_for 5 has_record soon.example
check "/metrics: no domain unserved" [ "$(metric mtastsd_domains_unserved)" = 0 ]
check "no reload was needed" [ "$(reloads)" = "$r" ]
check "serve exits 0 on SIGTERM" stop_server
finish
