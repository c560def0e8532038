#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A retiring domain (removed from the config, still served as mode none) is the same to every
# command (issue 14.7): `policy` prints exactly what `serve` answers and says on stderr that it
# is retiring; `check` counts its certificate as in use; serve presents that certificate.
. "$(dirname "$0")/lib.sh"
need curl openssl

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" keep.example gone.example
P=$(free_port); ADMIN_PORT=$(free_port)
write_config() { # write_config DOMAIN...
  {
    printf 'listen:\n  https: ["127.0.0.1:%s"]\n  admin: "127.0.0.1:%s"\n' "$P" "$ADMIN_PORT"
    printf 'tls:\n  certs: certs/\ndns:\n  state: state/mtastsd.state\n  zone: state/mta-sts.zone\n'
    printf 'domains:\n'
    for d in "$@"; do printf '  - name: %s\n    mode: enforce\n    mx: [mx.%s]\n' "$d" "$d"; done
  } >"$WORK/mtastsd.yaml"
}
write_config keep.example gone.example
"$MTASTSD" -c "$WORK/mtastsd.yaml" dns >/dev/null 2>&1
write_config keep.example

rc=0; "$MTASTSD" -c "$WORK/mtastsd.yaml" policy gone.example >"$WORK/policy.out" 2>"$WORK/policy.err" || rc=$?
check "policy of a retiring domain exits 0" [ "$rc" = 0 ]
check "policy prints mode none for it" grep -q '^mode: none' "$WORK/policy.out"
check "policy says on stderr that it is retiring" grep -q "domain 'gone.example' is retiring" "$WORK/policy.err"
rc=0; "$MTASTSD" -c "$WORK/mtastsd.yaml" policy never.example >/dev/null 2>"$WORK/never.err" || rc=$?
check "policy of a domain that never was: exit 1, unknown" bash -c "[ $rc = 1 ] && grep -q \"unknown domain 'never.example'\" '$WORK/never.err'"

rc=0; out=$("$MTASTSD" -c "$WORK/mtastsd.yaml" check 2>&1) || rc=$?
check "check exits 0 (retiring is a warning)" [ "$rc" = 0 ]
check "check says to keep the retiring domain's certificate" grep -q "keep a certificate for mta-sts.gone.example" <<<"$out"
check "check does not call that certificate unused" bash -c "! grep -q 'mta-sts.gone.example.crt. is not used' <<<\"\$1\"" _ "$out"

start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
tls_get mta-sts.gone.example "$P" /.well-known/mta-sts.txt >"$WORK/served.out" 2>/dev/null || true
check "serve answers the retiring domain with exactly what policy prints" cmp -s "$WORK/served.out" "$WORK/policy.out"
check "serve exits 0 on SIGTERM" stop_server
finish
