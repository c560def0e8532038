#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mtastsd serve` reloads: a changed policy is served within 2 s of the file change; a broken
# config and a broken certificate keep the old ones serving (and count in /metrics: a failed
# reload, a broken pair that fails nothing else); a
# renewed certificate is picked up without restart; SIGHUP; no request fails during
# reloads; shutdown under load ends with exit status 0.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" --days 30 example.com example.org

P=$(free_port); ADMIN_PORT=$(free_port)
write_config() { # write_config MX_OF_EXAMPLE_COM
  { serve_head "$P" "" "$ADMIN_PORT"; cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
domains:
  - name: example.com
    mode: enforce
    mx: [$1]
  - name: example.org
    mx: [mail.example.org]
EOF
  } >"$WORK/mtastsd.yaml.tmp"
  # editors and config management replace the file by renaming a new one over it
  mv "$WORK/mtastsd.yaml.tmp" "$WORK/mtastsd.yaml"
}
write_config mx1.example.com
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
WK=/.well-known/mta-sts.txt
policy() { tls_get mta-sts.example.com "$P" "$WK" 2>/dev/null || true; }
enddate() { openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com </dev/null 2>/dev/null |
  openssl x509 -noout -enddate 2>/dev/null || true; }
serves() { policy | grep -q "^mx: $1"; }

check "initial policy served" serves mx1.example.com

# ---- a changed policy within 2 s of the file change
write_config mx2.example.com
check "changed policy served within 2 s of the config change" wait_for 2 serves mx2.example.com
check "/metrics counts the reload as ok" wait_for 2 bash -c "[ \"\$(curl -sS http://127.0.0.1:$ADMIN_PORT/metrics | awk '\$1 == \"mtastsd_reloads_total{result=\\\"ok\\\"}\" {print \$2}')\" -ge 1 ]"

# ---- a broken config keeps the old one
printf 'domains:\n  - name: example.com\n    mode: sometimes\n' >"$WORK/mtastsd.yaml.tmp"
mv "$WORK/mtastsd.yaml.tmp" "$WORK/mtastsd.yaml"
failed_ge() { [ "$(metric 'mtastsd_reloads_total{result="failed"}')" -ge "$1" ]; }
check "broken config: failed reload counted in /metrics" wait_for 3 failed_ge 1
check "broken config: the old policy keeps serving" serves mx2.example.com
check "broken config: error logged with FILE:LINE:COL" grep -qE "mtastsd.yaml:3:[0-9]+: .*sometimes" "$WORK/serve.log"
check "broken config: /healthz still 200" [ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/healthz")" = 200 ]
write_config mx3.example.com
check "fixed config served again" wait_for 2 serves mx3.example.com

# ---- a broken certificate keeps the old one
old=$(enddate)
check "a certificate is presented" [ -n "$old" ]
cp "$CERTS/mta-sts.example.com.crt" "$WORK/saved.crt"
printf -- '-----BEGIN CERTIFICATE-----\nMIIBroken\n' >"$CERTS/mta-sts.example.com.crt"
broken_is() { [ "$(metric mtastsd_certificate_pairs_broken)" = "$1" ]; }
check "broken certificate: counted as a broken pair, not a failed reload" wait_for 3 broken_is 1
check "broken certificate: the old certificate keeps serving" [ "$(enddate)" = "$old" ]
check "broken certificate: policy still served over TLS" serves mx3.example.com
check "/healthz: still 200 and counts the one failed reload" \
  bash -c "curl -fsS http://127.0.0.1:$ADMIN_PORT/healthz | grep -qE '^reloads: [1-9][0-9]* ok, 1 failed\$'"
check "broken certificate: error names the file" grep -q "mta-sts.example.com.crt' cannot be parsed" "$WORK/serve.log"

# ---- a renewed certificate is picked up without restart
pid_before=$SERVER_PID
gen_certs "$CERTS" --days 200 example.com
renewed() { [ "$(enddate)" != "$old" ] && [ -n "$(enddate)" ]; }
check "renewed certificate served within 2 s, no restart" wait_for 2 renewed
check "same server process" kill -0 "$pid_before"
out=$(openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com -CAfile "$CA" </dev/null 2>&1 || true)
check "renewed certificate verifies" grep -q 'Verify return code: 0 (ok)' <<<"$out"

# ---- SIGHUP, and no request fails while reloads happen
python3 - "$P" "$CA" >"$WORK/load.out" 2>&1 <<'PY' &
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ok = bad = 0
end = time.time() + 3
while time.time() < end:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="mta-sts.example.com") as t:
                # two requests per connection: keep-alive connections live across reloads
                for _ in range(2):
                    t.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n\r\n")
                    data = b""
                    while b"max_age:" not in data or not data.endswith(b"\r\n"):
                        b = t.recv(4096)
                        if not b:
                            break
                        data += b
                    if data.startswith(b"HTTP/1.1 200 ") and b"version: STSv1" in data:
                        ok += 1
                    else:
                        bad += 1
                        print("bad answer:", data[:200])
    except Exception as e:
        bad += 1
        print("error:", e)
print(f"ok={ok} bad={bad}")
PY
LOAD=$!
EXTRA_PIDS=$LOAD
for i in 1 2 3 4 5; do
  kill -HUP "$SERVER_PID"
  write_config "mx$((i + 10)).example.com"
  sleep 0.4
done
wait "$LOAD" || true
EXTRA_PIDS=""
check "no request failed during 5 SIGHUPs and 5 config changes ($(tail -n1 "$WORK/load.out"))" \
  grep -qE '^ok=[1-9][0-9]* bad=0$' "$WORK/load.out"
check "SIGHUP logged and reloaded" grep -q 'SIGHUP received' "$WORK/serve.log"
check "last change served" wait_for 2 serves mx15.example.com

# ---- shutdown under load
for i in 1 2 3 4; do
  ( while curl -sS --max-time 5 --resolve "mta-sts.example.com:$P:127.0.0.1" --cacert "$CA" \
      "https://mta-sts.example.com:$P$WK" -o /dev/null 2>/dev/null; do :; done ) &
  EXTRA_PIDS="$EXTRA_PIDS $!"
done
sleep 1
start=$(date +%s%N)
rc=0; stop_server || rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
for pid in $EXTRA_PIDS; do wait "$pid" 2>/dev/null || true; done
EXTRA_PIDS=""
check "SIGTERM under load: exit status 0 (got $rc)" [ "$rc" = 0 ]
check "SIGTERM under load: stopped within 10 s (${ms} ms)" [ "$ms" -lt 10000 ]
check "shutdown logged" grep -q 'info stopped' "$WORK/serve.log"
check "no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$WORK/serve.log'"
finish
