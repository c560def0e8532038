#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `check` and `certs` offline: both run the orderer's DNS gate on the ACME hosts that are due, and
# a resolver that never replies must cost one timeout (5 s), not one per 64 hosts. mtastsd runs in
# a user, network and mount namespace of its own (unshare -rnm) whose every packet leaves by a tap
# link nobody reads, with a resolv.conf naming 192.0.2.53: each query goes out and is never answered.
# And without any resolv.conf, where the resolver warns and asks 127.0.0.1, every host is still asked.
. "$(dirname "$0")/lib.sh"
need unshare ip python3
unshare -rnm sh -c 'ip tuntap add tap0 mode tap' 2>/dev/null || skip "unshare -rnm with a tap link is not permitted here"

N=200  # four slices of the gate: 20 s without the cut-off
printf 'nameserver 192.0.2.53\n' >"$WORK/resolv.conf"
cat >"$WORK/offline" <<WRAP
#!/bin/sh
exec unshare -rnm sh -c 'mount --bind "$WORK/resolv.conf" /etc/resolv.conf && ip link set lo up &&
  ip tuntap add tap0 mode tap && ip addr add 10.9.9.9/24 dev tap0 && ip link set tap0 up &&
  ip route add default dev tap0 && exec "\$@"' sh "$MTASTSD" "\$@"
WRAP
chmod +x "$WORK/offline"
mkdir -p "$WORK/certs" "$WORK/state"
{
  printf 'listen:\n  https: ["127.0.0.1:%s"]\n  http: []\n' "$(free_port)"
  printf 'tls:\n  certs: certs/\ndns:\n  state: state/mtastsd.state\n  zone: state/mta-sts.zone\n'
  printf 'acme:\n  agree_terms: true\n  storage: acme/\n  challenges: [tls-alpn-01]\n'
  printf 'defaults:\n  mode: testing\n  mx: [mx.example.net]\ndomains:\n'
  for i in $(seq 1 $N); do printf '  - d%03d.example.com\n' "$i"; done
} >"$WORK/mtastsd.yaml"

ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms); rc=0
"$WORK/offline" -c "$WORK/mtastsd.yaml" check >"$WORK/check.out" 2>&1 || rc=$?
t=$(($(ms) - t0))
echo "# check with $N ACME hosts, no DNS reply: $t ms"
check "check offline: exit 0, configuration OK" bash -c '[ "$1" = 0 ] && grep -q "^configuration OK" "$2"' _ "$rc" "$WORK/check.out"
check "check offline: within one gate timeout and a margin ($t ms < 12000)" [ "$t" -lt 12000 ]
check "check offline: every host waits for DNS" \
  [ "$(grep -c "waiting_dns: 'mta-sts.d[0-9]*.example.com': resolver failed" "$WORK/check.out")" = $N ]
check "check offline: the first slice timed out" \
  grep -q "domain 'd001.example.com' waits .*resolver failed: timed out after 5.0 s" "$WORK/check.out"
check "check offline: the hosts after it were not looked up, and say why" \
  grep -q "domain 'd200.example.com' waits .*resolver failed: not looked up: none of the 128 look-ups before got a reply (timed out after 5.0 s)" "$WORK/check.out"

t0=$(ms); rc=0
"$WORK/offline" -c "$WORK/mtastsd.yaml" certs --format json >"$WORK/certs.json" 2>"$WORK/certs.err" || rc=$?
t=$(($(ms) - t0))
echo "# certs with $N ACME hosts, no DNS reply: $t ms"
check "certs offline: exit 0 (waiting_dns is on its way), within 12 s ($t ms)" \
  bash -c '[ "$1" = 0 ] && [ "$2" -lt 12000 ]' _ "$rc" "$t"
check "certs offline: every host waiting_dns" [ "$(grep -c '"state": "waiting_dns"' "$WORK/certs.json")" = $N ]

# no /etc/resolv.conf at all (a bare container): the resolver asks 127.0.0.1 with a warning, and
# still looks every host up: the one /etc/hosts names passes the gate (ordering)
mkdir -p "$WORK/few"
{
  printf 'listen:\n  https: ["127.0.0.1:%s"]\n  http: []\n' "$(free_port)"
  printf 'tls:\n  certs: ../certs/\ndns:\n  state: ../state/mtastsd.state\n  zone: ../state/mta-sts.zone\n'
  printf 'acme:\n  agree_terms: true\n  storage: acme/\n  challenges: [tls-alpn-01]\n'
  printf 'defaults:\n  mode: testing\n  mx: [mx.example.net]\ndomains:\n  - a.example.com\n  - b.example.com\n'
} >"$WORK/few/mtastsd.yaml"
rc=0
unshare -rnm sh -c 'mount -t tmpfs none /etc && printf "127.0.0.1 mta-sts.b.example.com\n" >/etc/hosts && exec "$@"' \
  sh "$MTASTSD" -c "$WORK/few/mtastsd.yaml" check >"$WORK/noresolv.out" 2>&1 || rc=$?
check "check without resolv.conf: exit 0, the host in /etc/hosts is looked up and ordering" \
  bash -c '[ "$1" = 0 ] && grep -q "domain '"'"'b.example.com'"'"' waits for its certificate from ACME (ordering" "$2"' _ "$rc" "$WORK/noresolv.out"
check "check without resolv.conf: the other one waits, the resolver failed" \
  grep -q "domain 'a.example.com' waits .*waiting_dns: 'mta-sts.a.example.com': resolver failed" "$WORK/noresolv.out"
finish
