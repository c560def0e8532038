#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A replica (acme.order: false) serves the pairs another instance writes into acme.storage/certs
# by itself, without a signal. It starts before certs/ exists; a pair made with the test CA is
# then written as the orderer writes it (each file renamed into place, the key first) and is
# served over HTTPS within a few seconds (inotify on acme.storage and on certs/). Then, as on
# NFS, EFS or CephFS where inotify never reports another node's writes (MTASTSD_TEST_NO_INOTIFY),
# a second replica sees a new pair through the periodic listing of acme.storage/certs (every 2 s
# here through MTASTSD_TEST_ACME_RELIST, 60 s otherwise), and listings that find nothing changed
# neither reload nor publish DNS again. A renewal that stays broken (a certificate that does not
# match its key; the old version keeps serving) is reloaded for and reported once, not at every
# listing, and its repair once more. With inotify and the listing both on, the listing does not
# reload again for a change inotify's reload already served. A pair written while the reload
# that made certs/ watched is still publishing (its on_change hook sleeps), before that watch,
# is found by the listing made once certs/ is watched. No step waits blindly: the listings are
# counted by their debug lines.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

P=$(free_port) ADMIN_PORT=$(free_port)
CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" ops.example.com
# the pairs "the orderer" issues later: the same test CA, made outside tls.certs
mkdir -p "$WORK/issued"
cp "$CERTS/ca.crt" "$CERTS/ca.key" "$WORK/issued/"
gen_certs "$WORK/issued" new.example.com next.example.com
STORE="$WORK/acme"
mkdir -p "$STORE" "$WORK/state"  # acme.storage, as the orderer leaves it before its first issue: no certs/

{
  serve_head "$P" "" "$ADMIN_PORT" "$CERTS"
  acme_replica_conf "$STORE"
  printf 'defaults:\n  mode: testing\n  mx: [mx.example.com]\ndomains:\n'
  printf '  - {name: ops.example.com, acme: false}\n  - new.example.com\n  - next.example.com\n'
} >"$WORK/mtastsd.yaml"

# served HOST: the policy of mta-sts.HOST fetched over HTTPS, verified with the test CA
served() { tls_get "mta-sts.$1" "$P" /.well-known/mta-sts.txt -f -o /dev/null 2>/dev/null; }
not_served() { ! served "$1"; }
# issue HOST: write mta-sts.HOST's pair into STORE/certs as the orderer does: each file written
# beside its final name and renamed into place, the key first, then the certificate
issue() {
  local n="mta-sts.$1"
  mkdir -p "$STORE/certs"
  cp "$WORK/issued/$n.key" "$STORE/certs/.$n.key.tmp" && mv "$STORE/certs/.$n.key.tmp" "$STORE/certs/$n.key"
  cp "$WORK/issued/$n.crt" "$STORE/certs/.$n.crt.tmp" && mv "$STORE/certs/.$n.crt.tmp" "$STORE/certs/$n.crt"
}
count() { grep -c "$1" "$WORK/serve.log" || true; }
not() { ! "$@"; }

# ---- 1: local writes, seen by inotify
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"
check "the operator's pair serves from the start" served ops.example.com
check "new.example.com is not served before its pair exists" not_served new.example.com
issue new.example.com
t0=$(date +%s%N)
check "a pair written into a certs/ folder made after start-up is served within 3 s, without a signal" \
  wait_until 3 "new.example.com served" served new.example.com
echo "# served after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "the replica says a change under its folders started the reload" grep -q "change detected" "$WORK/serve.log"
check "no signal was involved" not grep -q "SIGHUP received" "$WORK/serve.log"
issue next.example.com
check "a second pair into the now-watched certs/ is served within 3 s" \
  wait_until 3 "next.example.com served" served next.example.com
check "the first pair was taken over unchanged by the second reload" grep -q "certificates=3 unchanged=2" "$WORK/serve.log"
stop_server || bad "serve did not stop cleanly"

# ---- 2: a shared file system: inotify reports nothing, the periodic listing finds the pair
# (debug lines on from here, to count the listings that did not reload)
rm -rf "$STORE/certs"
: >"$WORK/serve.log"
sed 's/^defaults:/log:\n  level: debug\ndefaults:/' "$WORK/mtastsd.yaml" >"$WORK/mtastsd-debug.yaml"
at_least() { [ "$(count "$1")" -ge "$2" ]; }
export MTASTSD_TEST_NO_INOTIFY=1 MTASTSD_TEST_ACME_RELIST=2
start_server "$WORK/mtastsd-debug.yaml" "$ADMIN_PORT" || fail "serve did not start without inotify"
unset MTASTSD_TEST_NO_INOTIFY MTASTSD_TEST_ACME_RELIST
check "without inotify, serve says so once" test "$(count 'inotify unavailable')" = 1
check "new.example.com is not served before its pair exists" not_served new.example.com
issue new.example.com
check "without inotify the periodic listing serves the new pair within 6 s (interval 2 s)" \
  wait_until 6 "new.example.com served" served new.example.com
check "the reload names the periodic listing" grep -q "change detected by the periodic listing" "$WORK/serve.log"
reloads=$(count "reloaded config=") pubs=$(metric mtastsd_dns_publications_total)
unchanged=$(count "nothing changed, nothing to reload")
check "three listings then find nothing changed, within 10 s" \
  wait_until 10 "three listings" at_least "nothing changed, nothing to reload" $((unchanged + 3))
check "listings that find nothing changed do not reload (reloaded lines: $reloads, then $(count 'reloaded config='))" \
  test "$(count 'reloaded config=')" = "$reloads"
check "nor publish DNS again (publications: $pubs, then $(metric mtastsd_dns_publications_total))" \
  test "$(metric mtastsd_dns_publications_total)" = "$pubs"
check "inotify's warning was not repeated at each reload" test "$(count 'inotify unavailable')" = 1
check "the replica still answers its other domains" served ops.example.com
stop_server || bad "serve did not stop cleanly"

# ---- 3: a pair that stays broken is reacted to once: one reload, one line about it, not one a
# listing (every second here)
rm -rf "$STORE/certs"
: >"$WORK/serve.log"
export MTASTSD_TEST_NO_INOTIFY=1 MTASTSD_TEST_ACME_RELIST=1
start_server "$WORK/mtastsd-debug.yaml" "$ADMIN_PORT" || fail "serve did not start with log.level debug"
unset MTASTSD_TEST_NO_INOTIFY MTASTSD_TEST_ACME_RELIST
issue new.example.com
check "the pair is served within 4 s (interval 1 s)" wait_until 4 "new.example.com served" served new.example.com
# its renewal goes wrong: a certificate that does not match the key already there (kept: the old one serves)
cp "$WORK/issued/mta-sts.next.example.com.crt" "$STORE/certs/.x.tmp" &&
  mv "$STORE/certs/.x.tmp" "$STORE/certs/mta-sts.new.example.com.crt"
mismatch="does not match certificate '[^']*mta-sts.new.example.com.crt'"
check "the broken renewal is reported within 4 s" wait_until 4 "the mismatch logged" grep -q "$mismatch" "$WORK/serve.log"
reloads=$(count "reloaded config=") listed=$(count "certificates listed again:")
check "three more listings follow within 8 s" \
  wait_until 8 "three listings" at_least "certificates listed again:" $((listed + 3))
check "they do not reload again (reloaded lines: $reloads, then $(count 'reloaded config='))" \
  test "$(count 'reloaded config=')" = "$reloads"
check "the mismatch is logged once ($(count "$mismatch") times)" test "$(count "$mismatch")" = 1
check "the old version of the pair still serves" served new.example.com
# repaired: the listing reacts again
cp "$WORK/issued/mta-sts.new.example.com.crt" "$STORE/certs/.x.tmp" &&
  mv "$STORE/certs/.x.tmp" "$STORE/certs/mta-sts.new.example.com.crt"
check "the repaired pair is reloaded within 4 s" \
  wait_until 4 "one more reload" at_least "reloaded config=" $((reloads + 1))
unchanged=$(count "nothing changed, nothing to reload")
check "the repair is reloaded once and then left alone" \
  wait_until 8 "three listings" at_least "nothing changed, nothing to reload" $((unchanged + 3))
check "one reload for the repair ($(count 'reloaded config=') reloaded lines, $reloads before)" \
  test "$(count 'reloaded config=')" = $((reloads + 1))
check "the mismatch was not logged again" test "$(count "$mismatch")" = 1
check "no sanitizer report" not grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$WORK/serve.log"
stop_server || bad "serve did not stop cleanly"

# ---- 4: inotify and the listing every second: a change inotify reloaded for is not reloaded for again
# by the listing (the store read right after the change has its folder listed again, which is no change)
rm -rf "$STORE/certs"
: >"$WORK/serve.log"
export MTASTSD_TEST_ACME_RELIST=1
start_server "$WORK/mtastsd-debug.yaml" "$ADMIN_PORT" || fail "serve did not start"
unset MTASTSD_TEST_ACME_RELIST
issue new.example.com
check "with inotify, the pair is served within 3 s" wait_until 3 "new.example.com served" served new.example.com
unchanged=$(count "nothing changed, nothing to reload")
check "three listings then find nothing changed, within 8 s" \
  wait_until 8 "three listings" at_least "nothing changed, nothing to reload" $((unchanged + 3))
# whichever came first (the listing may see the pair before inotify's reload starts), no listing
# reloads after inotify's reload
after=$(awk '/change detected under the config or tls.certs/ { s = "" } { s = s $0 "\n" } END { printf "%s", s }' \
  "$WORK/serve.log")
check "inotify reloaded for the pair" grep -q "change detected under the config or tls.certs" "$WORK/serve.log"
check "no listing reloaded after inotify's reload" not grep -q "by the periodic listing" <<<"$after"
stop_server || bad "serve did not stop cleanly"

# ---- 5: a pair written while the reload that made certs/ watched still publishes (its on_change
# hook sleeps) comes before that watch: the listing made once certs/ is watched finds it, without
# waiting for the periodic listing (60 s here)
rm -rf "$STORE/certs" "$WORK/state"
mkdir "$WORK/state"  # a new state: new.example.com's first id changes the zone, which runs the hook
: >"$WORK/serve.log"
sed "s|^  zone: state/mta-sts.zone|&\\n  on_change: 'case \"\$MTASTSD_CHANGED\" in *new.example.com*) touch hook.new; sleep 2;; esac'|" \
  "$WORK/mtastsd.yaml" >"$WORK/mtastsd-hook.yaml"
start_server "$WORK/mtastsd-hook.yaml" "$ADMIN_PORT" || fail "serve did not start with an on_change hook"
issue new.example.com
check "the reload for new.example.com runs its hook within 3 s" wait_until 3 "the hook" test -e "$WORK/hook.new"
check "new.example.com is served while the hook runs" served new.example.com
issue next.example.com
check "a pair written meanwhile is served within 5 s all the same" \
  wait_until 5 "next.example.com served" served next.example.com
check "found by the listing once certs/ was watched" grep -q "in a certificate folder watched only now" "$WORK/serve.log"
stop_server || bad "serve did not stop cleanly"
finish
