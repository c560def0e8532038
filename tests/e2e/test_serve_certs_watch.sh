#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The certificate folder as `serve` walks and watches it: links back up the tree are read and
# watched once (issue 14.9: four links used to make 87,381 copies of every pair); tls.certs
# removed and made again is watched again, as a folder renamed into its place is (issue 14.16); a
# folder made inside it is watched once a reload listed it (the watcher watches what the store listed).
. "$(dirname "$0")/lib.sh"
need curl openssl python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" one.example
for l in l1 l2 l3 l4; do ln -s . "$CERTS/$l"; done
P=$(free_port); ADMIN_PORT=$(free_port)
{ serve_head "$P" "" "$ADMIN_PORT"; cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
domains:
  - name: one.example
    mx: [mx.one.example]
  - name: two.example
    mx: [mx.two.example]
EOF
} >"$WORK/mtastsd.yaml"
WK=/.well-known/mta-sts.txt
serves() { tls_get "mta-sts.$1" "$P" "$WK" 2>/dev/null | grep -q "^mx: mx.$1"; }
cert_lines() { curl -sS "http://127.0.0.1:$ADMIN_PORT/metrics" | grep -c "^mtastsd_certificate_expiry_seconds{" || true; }

# ---- links back up the tree
t0=$(date +%s%N)
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "four links back up the tree: serve starts in ${ms} ms (under 5 s)" [ "$ms" -lt 5000 ]
check "one.example served" serves one.example
check "the pair is loaded once, not once per path through the links" [ "$(cert_lines)" = 1 ]
check "the pair is known by its plain path" \
  bash -c "curl -sS http://127.0.0.1:$ADMIN_PORT/metrics | grep '^mtastsd_certificate_expiry_seconds{' | grep -qv '/l[1-4]/'"
check "the log says the links were read once" grep -q "(a link); read once" "$WORK/serve.log"
gen_certs "$CERTS" two.example
check "a certificate added beside the links is served within 2 s" wait_for 2 serves two.example

# ---- tls.certs removed and made again (twice), then a folder renamed into its place
failed() { metric 'mtastsd_reloads_total{result="failed"}'; }
failed_above() { [ "$(failed)" -gt "$1" ]; }
for round in 1 2; do
  f=$(failed)
  rm -rf "$CERTS"
  # the removal is seen (the reload fails: no folder) before the folder comes back
  check "tls.certs removed (round $round): seen, the reload fails (no folder)" \
    wait_for 5 failed_above "$f"
  mkdir "$CERTS"
  gen_certs "$CERTS" one.example two.example   # a new CA: the old certificates no longer verify
  check "tls.certs made again (round $round): its new certificates are served" wait_for 5 serves one.example
  check "tls.certs made again (round $round): two.example too" wait_for 5 serves two.example
done
mkdir "$WORK/certs.new"
gen_certs "$WORK/certs.new" one.example two.example
mv "$CERTS" "$WORK/certs.old"
mv "$WORK/certs.new" "$CERTS"
check "a folder renamed into place of tls.certs: served" wait_for 5 serves one.example
gen_certs "$CERTS" --name extra one.example
check "and watched: a pair added inside it triggers a reload" \
  wait_for 5 grep -q "certificates=3 unchanged=2" "$WORK/serve.log"

# ---- a folder made inside tls.certs: the reload it causes lists it, and the watcher watches what was listed
reloads() { grep -c "reloaded config=" "$WORK/serve.log" || true; }
reloaded_since() { [ "$(reloads)" -gt "$1" ]; }
r=$(reloads)
mkdir "$CERTS/sub"
check "a folder made inside tls.certs is seen (a reload)" wait_for 5 reloaded_since "$r"
gen_certs "$CERTS/sub" --name extra2 one.example
check "and watched once listed: a pair added inside it triggers a reload" \
  wait_for 5 grep -q "certificates=4 unchanged=3" "$WORK/serve.log"
check "serve exits 0 on SIGTERM" stop_server
finish
