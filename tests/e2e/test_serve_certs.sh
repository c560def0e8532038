#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Which certificate `serve` presents, and what it serves when some pairs are broken or some
# hosts uncovered (issues 14.1, 14.10, 22.1), seen by openssl s_client, curl and `check`:
# only certificates valid now are candidates; a broken pair or an uncovered host leaves every
# other tenant served; `check` exits 3 (and `check --would-start` 0) where serve runs; a domain
# nothing serves gets no _mta-sts record until a certificate for it arrives.
. "$(dirname "$0")/lib.sh"
need curl openssl certtool python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" good.example
# valid.example: the pair valid now, and a renewal placed early (expires later, not valid yet)
gen_certs "$CERTS" --name valid-now --days 30 valid.example
# wild.example: an exact certificate that has expired, and a valid wildcard
gen_certs "$CERTS" --name wild --days 60 --wildcard wild.example

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
certtool_pair valid-later mta-sts.valid.example '+100 days' '+400 days'
certtool_pair wild-exact-old mta-sts.wild.example '-100 days' '-10 days'
# a broken pair for a name no domain uses, and one whose key belongs to another certificate
printf -- '-----BEGIN CERTIFICATE-----\nMIIBroken\n' >"$CERTS/broken.crt"
cp "$CERTS/mta-sts.good.example.key" "$CERTS/broken.key"
gen_certs "$CERTS" --name mismatch other.example
cp "$CERTS/mta-sts.good.example.key" "$CERTS/mismatch.key"

P=$(free_port); ADMIN_PORT=$(free_port)
{ serve_head "$P" "" "$ADMIN_PORT"; cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
domains:
  - name: good.example
    mx: [mx.good.example]
  - name: valid.example
    mx: [mx.valid.example]
  - name: wild.example
    mx: [mx.wild.example]
  - name: uncovered.example
    mx: [mx.uncovered.example]
EOF
} >"$WORK/mtastsd.yaml"

# ---- check: valid, serve would run it, some tenants unserved
rc=0; out=$("$MTASTSD" -c "$WORK/mtastsd.yaml" check 2>&1) || rc=$?
check "check exits 3 for an uncovered host and broken pairs" [ "$rc" = 3 ]
check "check lists the uncovered host at its domain" grep -qE "mtastsd.yaml:[0-9]+:[0-9]+: not served: domain 'uncovered.example': no certificate under .* covers 'mta-sts.uncovered.example'" <<<"$out"
check "check lists the broken pair" grep -q "not served: certificate '.*broken.crt' cannot be parsed" <<<"$out"
check "check lists the mismatched key" grep -q "not served: private key '.*mismatch.key' does not match" <<<"$out"
check "check calls no serving certificate unused" bash -c "! grep -q 'valid-now.crt. is not used' <<<\"\$1\"" _ "$out"
check "check says the early renewal waits for its start" grep -q "valid-later.crt' is not valid before" <<<"$out"
rc=0; "$MTASTSD" -c "$WORK/mtastsd.yaml" check --would-start >/dev/null 2>&1 || rc=$?
check "check --would-start exits 0 where serve starts" [ "$rc" = 0 ]
check "the shipped unit's ExecStartPre uses --would-start" \
  grep -qE '^ExecStartPre=[^ ]*/mtastsd check --would-start$' "$SOURCE_ROOT/config/systemd/mtastsd.service.in"

# ---- serve starts and serves everything it can
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
WK=/.well-known/mta-sts.txt
serves() { tls_get "mta-sts.$1" "$P" "$WK" 2>/dev/null | grep -q "^mx: mx.$1"; }
check "serve starts beside broken pairs and serves good.example" serves good.example
check "valid.example: the pair valid now is presented, not the later one" \
  bash -c "[ \"\$(openssl x509 -noout -enddate -in '$CERTS/valid-now.crt')\" = \"\$(openssl s_client -connect 127.0.0.1:$P -servername mta-sts.valid.example </dev/null 2>/dev/null | openssl x509 -noout -enddate)\" ]"
check "valid.example: served, and the certificate verifies" serves valid.example
check "wild.example: the valid wildcard beats the expired exact certificate" \
  bash -c "server_cert() { openssl s_client -connect 127.0.0.1:$P -servername mta-sts.wild.example -CAfile '$CA' </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName; }; server_cert | grep -q 'DNS:\\*.wild.example'"
check "wild.example: served" serves wild.example
check "uncovered.example: the handshake is refused" bash -c "! curl -sS --max-time 5 --resolve mta-sts.uncovered.example:$P:127.0.0.1 --cacert '$CA' https://mta-sts.uncovered.example:$P$WK >/dev/null 2>&1"
check "/metrics: one domain unserved" [ "$(metric mtastsd_domains_unserved)" = 1 ]
check "/metrics: two broken pairs" [ "$(metric mtastsd_certificate_pairs_broken)" = 2 ]
check "the log names the unserved domain" grep -q "domain 'uncovered.example' is not served" "$WORK/serve.log"
zone() { cat "$WORK/state/mta-sts.zone" 2>/dev/null || true; }
has_record() { zone | grep -q "^_mta-sts.$1\. "; }
check "the zone has records for the served domains" wait_for 5 has_record good.example
check "the zone has no _mta-sts record for the unserved domain" bash -c "! grep -q '_mta-sts.uncovered.example' '$WORK/state/mta-sts.zone'"

# ---- a certificate for it arrives: served, then published
gen_certs "$CERTS" uncovered.example
check "uncovered.example served once its certificate arrives" wait_for 5 serves uncovered.example
check "and only then its record is published" wait_for 5 has_record uncovered.example
check "/metrics: no domain unserved" wait_for 5 bash -c "[ \"\$(curl -sS http://127.0.0.1:$ADMIN_PORT/metrics | awk '\$1 == \"mtastsd_domains_unserved\" {print \$2}')\" = 0 ]"
check "serve exits 0 on SIGTERM" stop_server
finish
