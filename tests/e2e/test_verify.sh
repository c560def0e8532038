#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mtastsd verify`: the real server serves two domains and verify passes; a second config
# that the server has not loaded (another mode, a retired domain, a new domain) fails and
# names the domain; by default only what the next `dns` run would publish is checked; a
# wrong CA fails; with --connect to a name of two replicas, the one serving an old policy
# is named; once the server reloads the new config, verify passes.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" example.com example.org
gen_certs "$WORK/other" example.com

P=$(free_port); ADMIN_PORT=$(free_port)
# write_config FILE HTTPS_ITEMS (quoted, comma-separated) ADMIN MODE_OF_EXAMPLE_ORG [EXTRA_DOMAIN_YAML]: the state is
# the publisher's (as the Kubernetes CronJob's), apart from the one each server keeps beside FILE
write_config() {
  cat >"$1.tmp" <<EOF
listen:
  https: [$2]
  http: []
  admin: "$3"
tls:
  certs: $CERTS/
dns:
  state: ${STATE:-$WORK/pub}/mtastsd.state
  zone: ${STATE:-$WORK/pub}/mta-sts.zone
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
  - name: example.org
    mode: $4
    mx: [mail.example.org]
${5:-}
EOF
  mv "$1.tmp" "$1"
}
# S is what the server runs; A says the same, B has another mode for example.org
S=$WORK/srv/mtastsd.yaml A=$WORK/a/mtastsd.yaml B=$WORK/b/mtastsd.yaml
mkdir -p "$WORK/srv" "$WORK/a" "$WORK/b"
# the server listens on ::1 too where the machine has IPv6
LISTEN="\"127.0.0.1:$P\""
if have_ipv6; then LISTEN="$LISTEN, \"[::1]:$P\""; fi
STATE=$WORK/srv write_config "$S" "$LISTEN" "127.0.0.1:$ADMIN_PORT" testing
write_config "$A" "$LISTEN" "127.0.0.1:$ADMIN_PORT" testing
start_server "$S" "$ADMIN_PORT" || exit 1

# run LABEL CONFIG ARGS...: verify's stdout in OUT, stderr in ERR, exit status in RC
run() {
  local cfg="$1"; shift
  RC=0
  OUT=$("$MTASTSD" -c "$cfg" verify "$@" 2>"$WORK/verify.err") || RC=$?
  ERR=$(cat "$WORK/verify.err")
}
line() { grep -E "^$1: " <<<"$OUT" || true; }

# ---- what is served passes, one line per domain
run "$A" --connect "127.0.0.1:$P" --ca "$CA" example.com example.org
check "served config: exit 0 (got $RC: $OUT $ERR)" [ "$RC" = 0 ]
check "served config: one ok line per domain" [ "$(grep -c ': ok (127.0.0.1:'"$P"')$' <<<"$OUT")" = 2 ]
run "$A" --connect "127.0.0.1:$P" --ca "$CA" --all
check "--all: both domains ok" bash -c "[ \"\$(grep -c ': ok ' <<<\"\$1\")\" = 2 ] && [ $RC = 0 ]" _ "$OUT"
if have_ipv6; then
  run "$A" --connect "[::1]:$P" --ca "$CA" example.com
  check "an IPv6 address in brackets" [ "$RC:$OUT" = "0:example.com: ok ([::1]:$P)" ]
fi
run "$A" --connect "127.0.0.1:$P" --ca "$CA" EXAMPLE.org.
check "a listed name is normalised and checked alone" [ "$RC:$OUT" = "0:example.org: ok (127.0.0.1:$P)" ]

# ---- without names: what the next dns run would publish; nothing once published
run "$A" --connect "127.0.0.1:$P" --ca "$CA"
check "no state yet: every domain is new and checked" [ "$(grep -c ': ok ' <<<"$OUT")" = 2 ]
"$MTASTSD" -c "$A" dns >/dev/null
run "$A" --connect "127.0.0.1:$P" --ca "$CA"
check "after dns: nothing to verify, exit 0" bash -c "[ $RC = 0 ] && grep -q '^nothing to verify' <<<\"\$1\"" _ "$OUT"

# ---- a config the server has not loaded: another mode for example.org
write_config "$B" "$LISTEN" "127.0.0.1:$ADMIN_PORT" enforce
run "$B" --connect "127.0.0.1:$P" --ca "$CA"
check "changed mode: exit 1 (got $RC)" [ "$RC" = 1 ]
check "changed mode: the line names example.org and the difference" \
  [ "$(line example.org)" = "example.org: failed: 127.0.0.1:$P: line 2 is 'mode: testing', expected 'mode: enforce'" ]
check "changed mode: the unchanged example.com is not checked" [ -z "$(line example.com)" ]
check "changed mode: stderr counts the failures" grep -q '1 of 1 domains not served as configured' <<<"$ERR"
run "$B" --connect "127.0.0.1:$P" --ca "$CA" --all
check "--all: example.com ok, example.org failed, exit 1" \
  bash -c "[ $RC = 1 ] && grep -q '^example.com: ok ' <<<\"\$1\" && grep -q '^example.org: failed: ' <<<\"\$1\"" _ "$OUT"

# ---- a retired domain must be served as mode none before its new id is published
sed '/name: example.org/,$d' "$A" >"$WORK/b/retired.yaml"
run "$WORK/b/retired.yaml" --connect "127.0.0.1:$P" --ca "$CA"
check "retired domain: exit 1, named, mode none expected" \
  bash -c "[ $RC = 1 ] && grep -q \"^example.org: failed: 127.0.0.1:$P: line 2 is 'mode: testing', expected 'mode: none'\" <<<\"\$1\"" _ "$OUT"

# ---- a domain the server does not know, a wrong CA, nothing listening
write_config "$WORK/b/new.yaml" "$LISTEN" "127.0.0.1:$ADMIN_PORT" testing \
  "  - {name: example.net, mode: testing, mx: [mail.example.net]}"
run "$WORK/b/new.yaml" --connect "127.0.0.1:$P" --ca "$CA"
check "new domain not served: exit 1, named" bash -c "[ $RC = 1 ] && grep -q '^example.net: failed: 127.0.0.1:$P: ' <<<\"\$1\"" _ "$OUT"
run "$A" --connect "127.0.0.1:$P" --ca "$WORK/other/ca.crt" example.com
check "wrong CA: exit 1, a certificate error" bash -c "[ $RC = 1 ] && grep -qiE '^example.com: failed: .*(certificate|issuer|trust)' <<<\"\$1\"" _ "$OUT"
dead=$(free_port)
run "$A" --connect "127.0.0.1:$dead" --ca "$CA" example.com
check "nothing listening: exit 1, named" bash -c "[ $RC = 1 ] && grep -q '^example.com: failed: 127.0.0.1:$dead: ' <<<\"\$1\"" _ "$OUT"
run "$A" --connect "127.0.0.1:$P" --ca "$CA" example.edu
check "unknown listed domain: exit 1 and why" bash -c "[ $RC = 1 ] && grep -q \"unknown domain 'example.edu'\" <<<\"\$1\"" _ "$ERR"
run "$A" --connect "127.0.0.1:" example.com
check "usage error: exit 2" [ "$RC" = 2 ]

# ---- two replicas behind one name: the one still serving the old policy is named
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
  ADMIN2=$(free_port)
  STATE=$WORK/srv2 write_config "$WORK/b/replica.yaml" "\"127.0.0.2:$P\"" "127.0.0.1:$ADMIN2" enforce
  "$MTASTSD" -c "$WORK/b/replica.yaml" serve 2>>"$WORK/serve2.log" &
  EXTRA_PIDS=$!
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN2/healthz" 2>/dev/null && break; sleep 0.1; done
  printf '127.0.0.1 replicas.test\n127.0.0.2 replicas.test\n' >"$WORK/hosts"
  OUT=$(unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' _ "$WORK/hosts" \
        "$MTASTSD" -c "$B" verify --connect "replicas.test:$P" --ca "$CA" example.org example.com 2>/dev/null) && RC=0 || RC=$?
  check "two replicas: exit 1 (got $RC)" [ "$RC" = 1 ]
  check "two replicas: the replica with the old policy is named" \
    [ "$(line example.org)" = "example.org: failed: 127.0.0.1:$P: line 2 is 'mode: testing', expected 'mode: enforce'" ]
  check "two replicas: a domain both serve alike is ok at both addresses" \
    [ "$(line example.com)" = "example.com: ok (127.0.0.1:$P, 127.0.0.2:$P)" ]
  kill "$EXTRA_PIDS" 2>/dev/null; wait "$EXTRA_PIDS" 2>/dev/null || true; EXTRA_PIDS=
else
  echo "skip: two replicas behind one name need root and unshare (a private /etc/hosts)"
fi

# ---- once the server loads the new config, verify passes
STATE=$WORK/srv write_config "$S" "$LISTEN" "127.0.0.1:$ADMIN_PORT" enforce
passes() { "$MTASTSD" -c "$B" verify --connect "127.0.0.1:$P" --ca "$CA" >/dev/null 2>&1; }
ok_within() { local i; for i in $(seq 100); do passes && return 0; sleep 0.05; done; return 1; }
check "after the reload: verify passes within 5 s" ok_within
check "no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$WORK/serve.log'"
finish
