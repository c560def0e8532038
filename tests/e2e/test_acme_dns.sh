#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# serve's DNS gate before an ACME order, against a real name server: Knot answers for example.
# on 127.0.0.1:53 inside a network namespace whose resolv.conf names it, and serve, pebble and
# its DNS run in there too. A name with NXDOMAIN waits, logged once with the reason, while another
# is issued; once its record is added it is issued at the next look-up. A name the resolver fails
# for waits too, looked up again sooner, and does not hold up the others. With dns.host_target, a
# CNAME to it is issued, while an A record, or a CNAME elsewhere, waits with the reason.
# MTASTSD_TEST_DNS_RETRY=10 makes the gate's intervals 10 s (NXDOMAIN) and 2 s (resolver failed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# ---- outside: the namespace, then this script again inside it
if [ -z "${ACME_DNS_NS:-}" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "skip: needs root to create a network namespace (ip netns add) whose resolv.conf points serve at the test's name server"; exit 77; }
  for t in ip knotd knotc kdig pebble curl openssl python3; do
    command -v "$t" >/dev/null 2>&1 || { echo "skip: $t is not installed (scripts/install-deps all)"; exit 77; }
  done
  NS="mtastsd-acmedns-$$"
  err=$(ip netns add "$NS" 2>&1) || { echo "skip: network namespaces unavailable: ip netns add failed: $err"; exit 77; }
  ns_cleanup() {
    local p
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "/etc/netns/$NS"
  }
  trap ns_cleanup EXIT
  # ip netns exec bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf
  mkdir -p "/etc/netns/$NS"
  printf 'nameserver 127.0.0.1\n' >"/etc/netns/$NS/resolv.conf"
  ip netns exec "$NS" ip link set lo up
  rc=0
  ACME_DNS_NS="$NS" ip netns exec "$NS" bash "$0" "$@" || rc=$?
  exit "$rc"
fi

# ---- inside the namespace
. "$here/lib.sh"
export MTASTSD_TEST_DNS_RETRY=10
# serve with -v: the gate's look-ups of a waiting name show as debug lines ("still waiting")
REAL_MTASTSD=$MTASTSD
printf '#!/bin/sh\nexec "%s" -v "$@"\n' "$REAL_MTASTSD" >"$WORK/mtastsd-v"
chmod +x "$WORK/mtastsd-v"
MTASTSD="$WORK/mtastsd-v"

P=$(free_port) H=$(free_port) ADMIN_PORT=$(free_port)
pebble_setup "$H" "$P"
pebble_start

# the zone: ready. and the target's host resolve at start; late. comes later; down.example.net is
# no zone of Knot's (REFUSED: the resolver fails)
KD="$WORK/knot"
knot_conf "$KD" 127.0.0.1@53
printf 'zone:\n  - domain: example.\n    file: example.zone\n' >>"$KD/knot.conf"
zone() {
  zone_head example
  cat <<EOF
mta-sts.ready IN A 127.0.0.1
mta-sts.provider IN A 127.0.0.1
mta-sts.cname IN CNAME mta-sts.provider.example.
mta-sts.direct IN A 127.0.0.1
mta-sts.elsewhere IN CNAME other.example.
other IN A 127.0.0.1
EOF
}
zone >"$KD/zones/example.zone"
knot_start "$KD" 53 example. || fail "knotd did not start"
check "the namespace's resolv.conf names the test's name server" grep -q '^nameserver 127.0.0.1' /etc/resolv.conf

mkdir -p "$WORK/certs"
# config [HOST_TARGET] DOMAINS...: the config on stdout
config() {
  local target="$1" d; shift
  serve_head "$P" "$H" "$ADMIN_PORT" "$WORK/certs"
  cat <<EOF
dns:
  state: $WORK/state/mtastsd.state
  zone: $WORK/state/mta-sts.zone
EOF
  [ -z "$target" ] || echo "  host_target: $target"
  cat <<EOF
acme:
  directory: $DIR_URL
  ca_file: $WORK/pebble.crt
  agree_terms: true
  storage: $WORK/acme
  challenges: [http-01]
defaults:
  mode: testing
  mx: [mx.example.net]
domains:
EOF
  for d in "$@"; do echo "  - $d"; done
}
issued() { grep -q "acme: mta-sts.$1: issued in" "$WORK/serve.log"; }
# waits HOST REASON: the one info line saying HOST waits for DNS with REASON
waits() { grep -F "acme: $1: waiting for DNS: $2; looked up again at " "$WORK/serve.log"; }
waits_q() { waits "$@" >/dev/null; }
# lookups HOST: how many times the gate looked HOST up again while it waited
lookups() { grep -c "acme: $1: still waiting for DNS: " "$WORK/serve.log" || true; }
# again HOST REASON: seconds from that line's time to its "looked up again at"
again() {
  waits "$1" "$2" | head -n 1 | python3 -c '
import sys, datetime
l = sys.stdin.read().split()
t = datetime.datetime.strptime(l[0][:19], "%Y-%m-%dT%H:%M:%S")
a = datetime.datetime.strptime(l[-1], "%Y-%m-%dT%H:%M:%SZ")
print(int((a - t).total_seconds()))'
}

# ---- without host_target: ready. is issued, late. waits (NXDOMAIN), down.example.net waits
# (the resolver fails)
config "" ready.example late.example down.example.net >"$WORK/mtastsd.yaml"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || fail "serve did not start"
wait_until 30 "mta-sts.ready.example issued" issued ready.example || fail "ready.example was not issued"
ok "a name that resolves is issued through the gate"
wait_until 10 "mta-sts.late.example waiting" waits_q mta-sts.late.example NXDOMAIN ||
  fail "no line says mta-sts.late.example waits: $(grep 'acme:' "$WORK/serve.log" | tail -n 5)"
ok "the name with NXDOMAIN waits, with the reason: $(waits mta-sts.late.example NXDOMAIN | head -n 1 | cut -d' ' -f3-)"
check "the resolver failing for down.example.net is said so" \
  wait_for 10 bash -c 'grep -q "acme: mta-sts.down.example.net: waiting for DNS: resolver failed: " "$1"' _ "$WORK/serve.log"
fail_reason=$(grep -o 'mta-sts.down.example.net: waiting for DNS: resolver failed: [^;]*' "$WORK/serve.log" | head -n 1 | cut -d' ' -f5-)
n=$(again mta-sts.late.example NXDOMAIN)
check "NXDOMAIN: looked up again after the test's 10 s ($n s)" [ "$n" -ge 9 -a "$n" -le 10 ]
f=$(again mta-sts.down.example.net "$fail_reason")
check "a failing resolver: looked up again sooner, after 2 s ($f s; $fail_reason)" [ "$f" -ge 1 -a "$f" -le 2 ]
check "two names wait for DNS (metric)" \
  wait_for 10 bash -c '[ "$(curl -sS "http://127.0.0.1:$1/metrics" | awk '"'"'$1 == "mtastsd_acme_names{state=\"waiting_dns\"}" { print $2 }'"'"')" = 2 ]' _ "$ADMIN_PORT"
check "pebble never saw an order for the waiting names" bash -c '! grep -q "mta-sts.late.example\|mta-sts.down.example.net" "$1"' _ "$WORK/pebble.log"
# a few look-ups later, still one info line per waiting name
wait_until 25 "mta-sts.late.example looked up again" bash -c '[ "$(grep -c "acme: mta-sts.late.example: still waiting for DNS: NXDOMAIN" "$1")" -ge 1 ]' _ "$WORK/serve.log" ||
  bad "mta-sts.late.example was not looked up again"
late_n=$(lookups mta-sts.late.example) down_n=$(lookups mta-sts.down.example.net)
check "the failing resolver's name was looked up more often ($down_n times) than the NXDOMAIN one ($late_n)" \
  [ "$down_n" -gt "$late_n" ]
check "one info line for the NXDOMAIN name, whatever the look-ups" [ "$(waits mta-sts.late.example NXDOMAIN | wc -l)" = 1 ]
check "one info line for the name the resolver fails for" [ "$(grep -c 'mta-sts.down.example.net: waiting for DNS' "$WORK/serve.log")" = 1 ]

# ---- its record added: issued at the next look-up
{ zone; echo "mta-sts.late IN A 127.0.0.1"; } | sed 's/ SOA ns hostmaster 1 / SOA ns hostmaster 2 /' >"$KD/zones/example.zone"
knotc -c "$KD/knot.conf" zone-reload example. >/dev/null || fail "knotc zone-reload"
wait_for 10 bash -c '[ -n "$(kdig +short @127.0.0.1 mta-sts.late.example A)" ]' || fail "Knot does not answer the new record"
t0=$(date +%s)
wait_until 25 "mta-sts.late.example issued after its record was added" issued late.example ||
  fail "late.example not issued: $(grep 'acme:' "$WORK/serve.log" | tail -n 5)"
ok "once its record is there, the waiting name is issued at the next look-up ($(( $(date +%s) - t0 )) s)"
check "a line says its DNS is ready now" grep -q 'acme: mta-sts.late.example: DNS ready now' "$WORK/serve.log"

# ---- dns.host_target: a CNAME to it passes; an A record, or a CNAME elsewhere, waits
config mta-sts.provider.example ready.example late.example down.example.net cname.example direct.example \
  elsewhere.example >"$WORK/mtastsd.yaml.new"
mv "$WORK/mtastsd.yaml.new" "$WORK/mtastsd.yaml"
wait_until 30 "mta-sts.cname.example issued" issued cname.example ||
  fail "cname.example not issued: $(grep 'acme:' "$WORK/serve.log" | tail -n 5)"
ok "host_target: a CNAME to it is issued"
check "host_target: an A record waits, with the reason" \
  wait_for 10 waits_q mta-sts.direct.example "has an address record, not a CNAME to mta-sts.provider.example"
check "host_target: a CNAME elsewhere waits, with the reason" \
  wait_for 10 waits_q mta-sts.elsewhere.example "is a CNAME to other.example, not to mta-sts.provider.example"
check "pebble never saw an order for them" bash -c '! grep -q "mta-sts.direct.example\|mta-sts.elsewhere.example" "$1"' _ "$WORK/pebble.log"
check "the resolver's failure for one name did not hold up the others" issued cname.example
check "serve stops cleanly" stop_server
finish
