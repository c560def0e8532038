#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signals an administrator (or logrotate, a terminal, a timer) may send to `mtastsd serve`:
# each one either does what README says (SIGHUP reloads; SIGTERM, SIGINT, SIGQUIT stop with
# exit 0) or is logged and ignored, the server still serving and not suspended.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

CERTS="$WORK/certs"
CA="$CERTS/ca.crt"
gen_certs "$CERTS" example.com

P=$(free_port); ADMIN_PORT=$(free_port)
{ serve_head "$P" "" "$ADMIN_PORT"; cat <<EOF
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
domains:
  - name: example.com
    mx: [mx1.example.com]
EOF
} >"$WORK/mtastsd.yaml"
WK=/.well-known/mta-sts.txt
serves() { [ "$(tls_get mta-sts.example.com "$P" "$WK" -o /dev/null -w '%{http_code}' 2>/dev/null)" = 200 ]; }
logged() { grep -qF -- "$1" "$WORK/serve.log"; }
# the process state letter from /proc: T (stopped) or Z (gone) are failures
running() {
  local s
  s=$(awk '{ print $3 }' "/proc/$SERVER_PID/stat" 2>/dev/null || true)
  [ -n "$s" ] && [ "$s" != T ] && [ "$s" != Z ]
}
# stop_with SIG: send it, wait up to 10 s for the exit, leave the exit status in RC
stop_with() {
  local pid=$SERVER_PID i
  kill -s "$1" "$pid"
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  RC=0; wait "$pid" || RC=$?
  SERVER_PID=""
}

start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
check "serving before any signal" serves

# logrotate's "reopen the logs", timers, job control, profilers, resource limits, real-time
for sig in USR1 USR2 ALRM VTALRM PROF WINCH CONT TSTP TTIN TTOU IO PWR XCPU XFSZ RTMIN RTMIN+3 RTMAX; do
  name="SIG$sig"
  kill -s "$sig" "$SERVER_PID"
  check "$name: logged as ignored" wait_for 5 logged "$name received from pid $$: ignored"
  check "$name: still running, not suspended" running
  check "$name: still serving" serves
done
check "SIGUSR1: the log says why there is nothing to reopen" \
  logged "SIGUSR1 received from pid $$: ignored (logs go to stderr: nothing to reopen)"
# a client that goes away makes SIGPIPE: ignored without a line per connection
kill -s PIPE "$SERVER_PID"
check "SIGPIPE: still running" running
check "SIGPIPE: still serving" serves
check "no signal was logged as anything but ignored" \
  bash -c '! grep -F "received" "$1" | grep -vE "received from pid [0-9]+: ignored"' _ "$WORK/serve.log"

# SIGHUP reloads
kill -s HUP "$SERVER_PID"
check "SIGHUP: reloads" wait_for 5 logged "reloaded config="
check "SIGHUP: logged" logged "SIGHUP received"
check "SIGHUP: still serving" serves

# SIGQUIT stops like SIGTERM (nginx's graceful stop), SIGINT too: exit 0
stop_with QUIT
check "SIGQUIT: exit status 0 (was $RC)" [ "$RC" = 0 ]
check "SIGQUIT: logged as a shutdown" logged "SIGQUIT received: shutting down"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
stop_with INT
check "SIGINT: exit status 0 (was $RC)" [ "$RC" = 0 ]
check "SIGINT: logged as a shutdown" logged "SIGINT received: shutting down"
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
stop_with TERM
check "SIGTERM: exit status 0 (was $RC)" [ "$RC" = 0 ]
check "SIGTERM: logged as a shutdown" logged "SIGTERM received: shutting down"

# a stop signal does not wait for a long dns.on_change hook (run at start-up): SIGQUIT like SIGTERM
sed -e 's#^dns:#dns:\n  on_change: "sleep 60"#' "$WORK/mtastsd.yaml" >"$WORK/hook.yaml"
start_server "$WORK/hook.yaml" "$ADMIN_PORT" || exit 1
wait_for 5 pgrep -f "^sleep 60" >/dev/null || true
t0=$(date +%s%N)
stop_with QUIT
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "SIGQUIT during a long on_change hook: exit 0 within 5 s (${ms} ms, status $RC)" \
  bash -c '[ "$1" = 0 ] && [ "$2" -lt 5000 ]' _ "$RC" "$ms"
check "the hook was stopped, and said so" logged "dns on_change stopped: a signal is waiting"

finish
