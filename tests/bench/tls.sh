#!/usr/bin/env bash
# mtastsd against nginx on the same certificates, side by side in one run.
# Invoked as `scripts/bench tls [options]`; see README.md "Benchmarks".
#
#   -n "1 1000 10000"   domain counts for the throughput and latency figures
#   -s "1000 10000 100000"  domain counts for start-up, memory and reload
#   -d SECONDS          length of one measurement (default 5)
#   -R ROUNDS           rounds; each round runs A B then B A (default 3)
#   --rsa               RSA-2048 certificates instead of ECDSA P-256
#   --quick             a smoke run: N=1 and 50, 1 s, 1 round, small start-up set
#   -o FILE             machine-readable results (default bench-results.json)
#   --vs BINARY         another mtastsd build (the one before a change) instead of nginx,
#                       in the same alternation and on the same certificates; labelled
#                       "before" (the thread-pool figures are then not measured)
#
# Each server is pinned to core 0 and the load generator to core 1. The figure
# compared is requests per second of server CPU (utime+stime from /proc), so a
# load generator that cannot saturate the server does not distort the ratio.
# With two cores or more, mtastsd's thread pool is also measured: the server on
# cores 0-1 (two threads) against core 0 (one thread), the load generator on core
# 1 either way (so with two server cores it shares one with the server). A full
# client handshake costs the client more than the server, so this load is the
# server's side of fresh TLS 1.3 handshakes only (loadgen -m flight: a prepared
# ClientHello, the server's whole first flight read, then close); the figure is
# total handshakes per second, two cores against one, with ECDSA and with RSA-2048
# certificates. The generator's CPU is reported beside it: with ECDSA it needs
# about a quarter of what the server does per handshake (loopback TCP set-up and
# tear-down is charged to it), which caps two cores at 2 / (1 + that share).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
mtastsd=$build/mtastsd
loadgen=$build/tests/bench/loadgen
mkcerts=$build/tests/bench/mkcerts

ns="1 1000 10000" startup_ns="1000 10000 100000" secs=5 rounds=3 rsa= out=bench-results.json quick= vs_bin=
while [ $# -gt 0 ]; do
  case $1 in
    -n) ns=$2; shift 2 ;;
    -s) startup_ns=$2; shift 2 ;;
    -d) secs=$2; shift 2 ;;
    -R) rounds=$2; shift 2 ;;
    --rsa) rsa=-r; shift ;;
    --quick) quick=1; ns="1 50"; startup_ns="200"; secs=1; rounds=1; shift ;;
    -o) out=$2; shift 2 ;;
    --vs) vs_bin=$2; shift 2 ;;
    *) echo "usage: scripts/bench tls [-n NS] [-s NS] [-d SECONDS] [-R ROUNDS] [--rsa] [--quick] [-o FILE] [--vs BINARY]" >&2; exit 2 ;;
  esac
done
for b in "$mtastsd" "$loadgen" "$mkcerts"; do
  [ -x "$b" ] || { echo "bench: $b is missing; build first (cmake --build build)" >&2; exit 1; }
done
# B, the server compared: nginx, or with --vs an earlier mtastsd build
b_name=nginx
if [ -n "$vs_bin" ]; then
  [ -x "$vs_bin" ] || { echo "bench: --vs $vs_bin is not an executable" >&2; exit 1; }
  b_name=before
else
  command -v nginx >/dev/null || { echo "bench: nginx is missing (scripts/install-deps)" >&2; exit 1; }
fi
export BENCH_B=$b_name
command -v taskset >/dev/null || { echo "bench: taskset is missing (util-linux)" >&2; exit 1; }
cores=$(nproc)
srv_cpu=0 gen_cpu=1
[ "$cores" -ge 2 ] || gen_cpu=0

work=$(mktemp -d /tmp/mtastsd-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
results=$work/results.tsv
: >"$results"
tck=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# setup N [DIR [KEYFLAG]]: certificates (mkcerts KEYFLAG, default the run's) and both
# servers' configurations in $work/DIR (default $work/N)
setup() {
  local n=$1 d=$work/${2:-$1} keyflag=${3-$rsa}
  mkdir -p "$d/state"
  "$mkcerts" -o "$d" -n "$n" $keyflag
  {
    echo "listen: {https: [\"127.0.0.1:PORT_M\"], http: [], admin: \"127.0.0.1:PORT_A\"}"
    echo "tls: {certs: certs/}"
    echo "dns: {state: state/mtastsd.state, zone: state/zone}"
    echo "limits: {max_connections: 0, max_connections_per_ip: 0}"
    echo "defaults: {mode: enforce, max_age: 604800}"
    echo "domains:"
    for ((i = 0; i < n; i++)); do echo "  - {name: d$i.example, mx: [mail.d$i.example]}"; done
  } >"$d/mtastsd.tmpl"
  {
    echo "worker_processes 1; daemon off; pid $d/nginx.pid; error_log $d/nginx.err warn;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; ssl_session_cache off; ssl_session_tickets off;"
    echo "  ssl_protocols TLSv1.2 TLSv1.3; server_names_hash_max_size 262144; server_names_hash_bucket_size 128;"
    for ((i = 0; i < n; i++)); do
      echo "  server { listen 127.0.0.1:PORT_N ssl; server_name mta-sts.d$i.example;"
      echo "    ssl_certificate $d/certs/mta-sts.d$i.example.crt; ssl_certificate_key $d/certs/mta-sts.d$i.example.key;"
      echo "    location = /.well-known/mta-sts.txt { default_type text/plain; return 200 \"version: STSv1\r\nmode: enforce\r\nmx: mail.d$i.example\r\nmax_age: 604800\r\n\"; } }"
    done
    echo "}"
  } >"$d/nginx.tmpl"
}

# start SERVER N [DIR]: sets $spid (process whose CPU is counted, with $spids for all) and $sport
start_server() {
  local which=$1 n=$2 d=$work/${3:-$2}
  sport=$(free_port)
  if [ "$which" != nginx ]; then
    local aport bin=$mtastsd; aport=$(free_port)
    [ "$which" = before ] && bin=$vs_bin
    sed -e "s/PORT_M/$sport/" -e "s/PORT_A/$aport/" "$d/mtastsd.tmpl" >"$d/mtastsd.yaml"
    taskset -c "${srv_cpus:-$srv_cpu}" "$bin" -c "$d/mtastsd.yaml" serve 2>"$d/mtastsd.log" &
    spid=$!
    spids="$spid"
  else
    sed -e "s/PORT_N/$sport/" "$d/nginx.tmpl" >"$d/nginx.conf"
    taskset -c $srv_cpu nginx -c "$d/nginx.conf" -e "$d/nginx.err" 2>>"$d/nginx.err" &
    spid=$!
  fi
  pids+=("$spid")
}

# wait until the server answers a policy; prints seconds waited
wait_ready() {
  local t0 t1 port=$1
  t0=$(date +%s.%N)
  for ((i = 0; i < 6000; i++)); do
    if curl -sf --max-time 1 -k --resolve mta-sts.d0.example:"$port":127.0.0.1 \
         https://mta-sts.d0.example:"$port"/.well-known/mta-sts.txt >/dev/null 2>&1; then
      t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; return 0
    fi
    sleep 0.05
  done
  echo "bench: server on port $port did not answer" >&2; return 1
}

tree_pids() { echo "$1"; pgrep -P "$1" 2>/dev/null || true; }
cpu_ticks() { local t=0; for p in $(tree_pids "$1"); do t=$((t + $(awk '{print $14+$15}' /proc/"$p"/stat 2>/dev/null || echo 0))); done; echo $t; }
rss_kib() { local t=0; for p in $(tree_pids "$1"); do t=$((t + $(awk '/^VmHWM/{print $2}' /proc/"$p"/status 2>/dev/null || echo 0))); done; echo $t; }

stop_server() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# measure SERVER N SCENARIO: appends "server n scenario requests errors cpu_s p50 p99" to results
measure() {
  local which=$1 n=$2 scen=$3 args=()
  case $scen in
    tls13) args=(-m fresh -t 1.3 -c 32) ;;
    pool-*) args=(-m flight -t 1.3 -c 64) ;;
    tls12) args=(-m fresh -t 1.2 -c 32) ;;
    keepalive) args=(-m keepalive -t 1.3 -c 32 -k 1000) ;;
    latency) args=(-m fresh -t 1.3 -c 256 -r 500) ;;
  esac
  local c0 c1 line gen
  c0=$(cpu_ticks "$spid")
  # the load generator's own CPU (user+system) too: on a shared core it is CPU the server does not get
  line=$( { TIMEFORMAT='%U %S'; time taskset -c $gen_cpu "$loadgen" -p "$sport" -n "$n" -d "$secs" "${args[@]}" -M; } \
    2>"$work/gen.time" || true)
  c1=$(cpu_ticks "$spid")
  gen=$(tail -n 1 "$work/gen.time" | awk 'NF == 2 {print $1 + $2; exit} {print 0}')
  python3 - "$which" "$n" "$scen" "$(( c1 - c0 ))" "$tck" "$line" "$gen" >>"$results" <<'PY'
import json, sys
which, n, scen, ticks, tck, line, gen = sys.argv[1:8]
r = json.loads(line) if line.strip() else {"requests": 0, "errors": -1, "p50_ms": 0, "p99_ms": 0, "rps": 0}
cpu = int(ticks) / int(tck)
print("\t".join(map(str, [which, n, scen, r["requests"], r["errors"], f"{cpu:.3f}", r["rps"], r["p50_ms"], r["p99_ms"],
                          f"{float(gen):.3f}"])))
PY
}

echo "== bench: $cores cores, server on core $srv_cpu, load on core $gen_cpu, ${secs}s per figure, $rounds round(s), ${rsa:+RSA-2048}${rsa:-ECDSA P-256}"
for n in $ns; do
  setup "$n"
  for ((r = 1; r <= rounds; r++)); do
    for scen in tls13 tls12 keepalive latency; do
      order="mtastsd $b_name"; [ $((r % 2)) -eq 0 ] && order="$b_name mtastsd"
      for which in $order; do
        start_server "$which" "$n"
        wait_ready "$sport" >/dev/null
        measure "$which" "$n" "$scen"
        stop_server "$spid"
      done
    done
  done
done

# the thread pool: mtastsd on one core and on two, alternating, load on core 1; with
# the run's certificates and with the other kind (ECDSA and RSA-2048 both measured)
if [ "$cores" -ge 2 ] && [ -z "$vs_bin" ]; then
  pool_n=; for n in $ns; do [ "$n" -le 1000 ] && pool_n=$n; done
  pool_n=${pool_n:-${ns%% *}}
  this=ec other=rsa other_flag=-r
  [ -n "$rsa" ] && { this=rsa other=ec other_flag=; }
  [ -d "$work/$pool_n" ] || setup "$pool_n"
  setup "$pool_n" "pool-$other" "$other_flag"
  for key in $this $other; do
    dir=$pool_n; [ "$key" = "$other" ] && dir=pool-$other
    for ((r = 1; r <= rounds; r++)); do
      order="1core 2cores"; [ $((r % 2)) -eq 0 ] && order="2cores 1core"
      for which in $order; do
        srv_cpus=$srv_cpu; [ "$which" = 2cores ] && srv_cpus="0-1"
        start_server mtastsd "$pool_n" "$dir"
        wait_ready "$sport" >/dev/null
        measure "$which" "$pool_n" "pool-$key"
        stop_server "$spid"
        srv_cpus=
      done
    done
  done
fi

# start-up time, peak RSS, and a reload under load (mtastsd) for the large configs.
# The files were just written: sync, then one untimed start reads them into the
# page cache the way a running machine has them; the figures are the medians of the
# timed starts after it (a restart, not a first boot with a cold cache), and of one
# reload in each of them.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
startup_runs=3; [ -n "$quick" ] && startup_runs=1
for n in $startup_ns; do
  [ -d "$work/$n" ] || setup "$n"
  sync
  for which in mtastsd $b_name; do
    if [ "$which" = nginx ] && [ "$n" -gt 20000 ] && [ -z "${BENCH_NGINX_HUGE:-}" ]; then
      printf '%s\t%s\tstartup\tskipped (nginx needs minutes; BENCH_NGINX_HUGE=1 runs it)\n' "$which" "$n" >>"$results"
      continue
    fi
    start_server "$which" "$n"
    wait_ready "$sport" >/dev/null
    stop_server "$spid"
    times=() rtimes=() rreq=0 rerr=0 applied=yes
    for ((k = 1; k <= startup_runs; k++)); do
      start_server "$which" "$n"
      times+=("$(wait_ready "$sport")")
      rss=$(rss_kib "$spid")
      if [ "$which" != nginx ]; then
        # a reload of a changed config (d0 gets a second MX) while a fresh-handshake
        # load runs; every request must succeed and d0's new policy must be served after
        taskset -c $gen_cpu "$loadgen" -p "$sport" -n "$n" -d 4 -c 16 -m fresh -M >"$work/reload.json" &
        lg=$!
        sleep 1
        sed -i 's/mx: \[mail\.d0\.example\]/mx: [mail.d0.example, mx2.d0.example]/' "$work/$n/mtastsd.yaml"
        before=$(grep -c 'reload ok\|reloaded' "$work/$n/mtastsd.log" || true)
        r0=$(date +%s.%N)
        kill -HUP "$spid"
        for ((i = 0; i < 600; i++)); do
          now=$(grep -c 'reload ok\|reloaded' "$work/$n/mtastsd.log" || true)
          [ "$now" -gt "$before" ] && break
          sleep 0.01
        done
        r1=$(date +%s.%N)
        curl -sf --max-time 2 -k --resolve mta-sts.d0.example:"$sport":127.0.0.1 \
          https://mta-sts.d0.example:"$sport"/.well-known/mta-sts.txt 2>/dev/null | grep -q 'mx: mx2.d0.example' || applied=no
        wait "$lg" || true
        rtimes+=("$(echo "$r1 - $r0" | bc -l)")
        read -r q e < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests"], r["errors"])' "$work/reload.json")
        rreq=$((rreq + q)) rerr=$((rerr + e))
      fi
      stop_server "$spid"
    done
    runs=$(printf '%.3f,' "${times[@]}")
    if [ "$which" != nginx ]; then
      rruns=$(printf '%.3f,' "${rtimes[@]}")
      printf '%s\t%s\tstartup\t%.3f\t%s\t%.3f\t%s %s %s\t%s\t%s\n' "$which" "$n" "$(median "${times[@]}")" "$rss" \
        "$(median "${rtimes[@]}")" "$rreq" "$rerr" "$applied" "${runs%,}" "${rruns%,}" >>"$results"
    else
      printf '%s\t%s\tstartup\t%.3f\t%s\t\t\t%s\n' "$which" "$n" "$(median "${times[@]}")" "$rss" "${runs%,}" >>"$results"
    fi
  done
done

python3 "$root/tests/bench/report.py" "$results" "$out"
