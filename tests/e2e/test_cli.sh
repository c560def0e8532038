#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command-line contract of design.md, against the real binary: check, policy,
# usage errors, --version/--help (per command), options after the command,
# $MTASTSD_CONFIG, paths relative to the config; and serve's start-up edges: an
# unknown user or group, a port in use, a FIFO as the config, a pending restart.
# Env: MTASTSD (binary), SOURCE_ROOT. Exit 0 pass, 1 fail, 77 skip.
set -u

MTASTSD=${MTASTSD:-}
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ -z "$MTASTSD" ] || [ ! -x "$MTASTSD" ]; then
	echo "skip: MTASTSD is not set to the mtastsd binary" >&2
	exit 77
fi
case "$MTASTSD" in /*) ;; *) MTASTSD="$PWD/$MTASTSD" ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0

pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }

# run [ENV=VAL...] -- ARGS...: runs mtastsd; sets $rc, $out, $err
run() {
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" "$MTASTSD" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

expect_rc() {	# WANT WHAT
	if [ "$rc" -eq "$1" ]; then pass; else fail "$2: exit $rc, expected $1 (stderr: $err)"; fi
}
expect_eq() {	# GOT WANT WHAT
	if [ "$1" == "$2" ]; then pass; else fail "$3: got [$1], expected [$2]"; fi
}
expect_match() {	# TEXT REGEX WHAT
	if grep -Eq -- "$2" <<<"$1"; then pass; else fail "$3: [$1] does not match /$2/"; fi
}

# A config in its own folder; plain HTTP only, so `check` needs no certificates.
mkdir -p "$tmp/conf" "$tmp/elsewhere"
cat >"$tmp/conf/mtastsd.yaml" <<'EOF'
listen:
  https: []
  http: ["127.0.0.1:18080"]
  admin: ""
dns:
  state: state/mtastsd.state
  zone: state/mta-sts.zone
defaults:
  mode: testing
  max_age: 604800
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com, "*.mail.example.net", MX1.Example.COM., mx2.example.com]
  - name: Bücher.example
    mx: [mx.xn--bcher-kva.example]
    max_age: 86400
    tlsrpt: ["mailto:tls@xn--bcher-kva.example"]
  - name: example.net
    mode: none
  - name: example.org
    mode: none
    mx: [mail.example.org]
    max_age: 31557600
EOF
conf="$tmp/conf/mtastsd.yaml"

# ---- check: OK
run -- -c "$conf" check
expect_rc 0 "check of a valid config"
expect_eq "$out" "configuration OK" "check stdout"
expect_match "$err" "^$conf:14:27: warning: wildcard mx '\*\.mail\.example\.net'" "check shows warnings with position"

# ---- check: every problem with FILE:LINE:COL, exit 1
cat >"$tmp/conf/bad.yaml" <<'EOF'
listen:
  https: []
  http: ["127.0.0.1:99999"]
defaults:
  mode: enforce
  mdoe: none
domains:
  - name: example.com
    mx: ["*.com"]
  - name: example_org.example
    mx: [mx.example.org]
  - name: example.net
    max_age: 0
    mx: [mx.example.net]
  - example.edu
  - name: EXAMPLE.COM.
    mode: none
EOF
bad="$tmp/conf/bad.yaml"
run -- -c "$bad" check
expect_rc 1 "check of an invalid config"
expect_eq "$out" "" "no 'configuration OK' on failure"
want="$bad:3:10: address '127.0.0.1:99999' has an invalid port (1..65535)
$bad:6:3: unknown key 'mdoe' in 'defaults'
$bad:9:10: invalid mx: '*.com': a wildcard over the public suffix 'com' matches hosts of unrelated owners
$bad:10:11: invalid domain: 'example_org.example' contains '_', which is not allowed in a host name
$bad:13:14: 'max_age' is out of range (1..31557600): 0
$bad:15:5: domain 'example.edu' in mode enforce needs at least one mx
$bad:16:11: duplicate domain 'example.com' (first at line 8:11)"
# other modules may add their own lines without a position (FILE: message); the positioned ones are exact
got=$(grep -E "^$bad:[0-9]+:[0-9]+: " <<<"$err")
expect_eq "$got" "$want" "every error, in file order, as FILE:LINE:COL"
while IFS= read -r line; do
	expect_match "$line" "^$bad:([0-9]+:[0-9]+:)? " "every diagnostic line starts with the file"
done <<<"$err"

# a YAML syntax error has a position too
printf 'domains:\n  - name: "example.com\n' >"$tmp/conf/syntax.yaml"
run -- -c "$tmp/conf/syntax.yaml" check
expect_rc 1 "check of a YAML syntax error"
expect_match "$err" "^$tmp/conf/syntax.yaml:3:1: YAML syntax error: " "syntax error position"

# a missing file is invalid input, not a crash
run -- -c "$tmp/nonexistent.yaml" check
expect_rc 1 "check of a missing file"
expect_match "$err" "nonexistent.yaml: cannot read the configuration" "missing file message"

# ---- policy DOMAIN: byte-exact
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mail.example.net\r\nmx: mx2.example.com\r\nmax_age: 604800\r\n' >"$tmp/want.com"
printf 'version: STSv1\r\nmode: testing\r\nmx: mx.xn--bcher-kva.example\r\nmax_age: 86400\r\n' >"$tmp/want.idn"
printf 'version: STSv1\r\nmode: none\r\nmax_age: 604800\r\n' >"$tmp/want.net"
printf 'version: STSv1\r\nmode: none\r\nmx: mail.example.org\r\nmax_age: 31557600\r\n' >"$tmp/want.org"

policy_is() {	# DOMAIN WANTFILE
	local domain=$1 want=$2
	"$MTASTSD" -c "$conf" policy "$domain" >"$tmp/body" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ne 0 ]; then fail "policy '$domain': exit $rc ($(cat "$tmp/err"))"; return; fi
	if cmp -s "$tmp/body" "$want"; then pass; else
		fail "policy '$domain': body differs: $(od -c "$tmp/body" | head -5)"
	fi
}
policy_is example.com "$tmp/want.com"
policy_is EXAMPLE.COM "$tmp/want.com"
policy_is Example.Com. "$tmp/want.com"
policy_is bücher.example "$tmp/want.idn"
policy_is BÜCHER.example. "$tmp/want.idn"
policy_is xn--bcher-kva.example "$tmp/want.idn"
policy_is example.net "$tmp/want.net"
policy_is example.org "$tmp/want.org"
# ASCII only, every line CRLF-terminated
"$MTASTSD" -c "$conf" policy bücher.example >"$tmp/body"
if LC_ALL=C grep -q $'[\x80-\xff]' "$tmp/body"; then fail "policy body is not ASCII"; else pass; fi
if [ "$(tr -cd '\n' <"$tmp/body" | wc -c)" -eq "$(tr -cd '\r' <"$tmp/body" | wc -c)" ]; then pass; else
	fail "policy body: CR and LF counts differ"
fi

# unknown domain: exit 1, clear message, nothing on stdout
run -- -c "$conf" policy example.info
expect_rc 1 "policy of an unknown domain"
expect_eq "$out" "" "no body for an unknown domain"
expect_match "$err" "unknown domain 'example.info'" "unknown domain message"
# a sub-domain of a configured domain is not that domain (no fallback to the parent)
run -- -c "$conf" policy mail.example.com
expect_rc 1 "policy of a sub-domain"
# not a domain at all
run -- -c "$conf" policy 'bad_name.example'
expect_rc 1 "policy of an invalid name"
expect_eq "$out" "" "no body for an invalid name"
# policy refuses to print from an invalid config
run -- -c "$bad" policy example.net
expect_rc 1 "policy from an invalid config"
expect_eq "$out" "" "no body from an invalid config"

# ---- usage errors: exit 2
run -- -c "$conf" policy
expect_rc 2 "policy without DOMAIN"
run -- -c "$conf" policy a.example b.example
expect_rc 2 "policy with two domains"
run -- -c "$conf" check extra
expect_rc 2 "check with an argument"
run -- -c "$conf" frobnicate
expect_rc 2 "unknown command"
expect_match "$err" "unknown command 'frobnicate'" "unknown command message"
run -- --no-such-option
expect_rc 2 "unknown option"
run --
expect_rc 2 "no command"
expect_match "$err" "usage: mtastsd" "usage on stderr without a command"
run -- -c
expect_rc 2 "-c without FILE"

# ---- --version, --help
run -- --version
expect_rc 0 "--version"
expect_match "$out" "^mtastsd [0-9]+\.[0-9]+\.[0-9]+" "--version output"
run -- --help
expect_rc 0 "--help"
expect_match "$out" "^usage: mtastsd" "--help on stdout"
for word in check policy serve dns -c; do
	expect_match "$out" "(^| )$word( |$)" "--help mentions $word"
done
run -- -h
expect_rc 0 "-h"

# ---- each command's --help (exit 0, its own usage), options after the command
for c in check policy serve dns; do
	run -- "$c" --help
	expect_rc 0 "$c --help"
	expect_match "$out" "^usage: mtastsd \[-c FILE\] (\[-v\] )?$c" "$c --help prints the usage of $c"
	run -- -c "$conf" "$c" -h
	expect_rc 0 "$c -h"
	run -- --help "$c"
	expect_rc 0 "--help $c"
	expect_match "$out" "^usage: mtastsd \[-c FILE\] (\[-v\] )?$c" "--help $c prints the usage of $c"
done
run -- -c "$tmp/nonexistent.yaml" check -c "$conf"
expect_rc 0 "check -c FILE (the option after the command wins)"
expect_eq "$out" "configuration OK" "check -c FILE output"
run -- check --config="$conf"
expect_rc 0 "check --config=FILE"
run -- policy -c "$conf" example.org
expect_rc 0 "policy -c FILE DOMAIN"
run -- dns -c "$conf" --format json
expect_rc 0 "dns -c FILE --format json"
run -- check -c
expect_rc 2 "check -c without FILE"
run -- --version extra
expect_rc 2 "--version with an argument"
run -- --version check
expect_rc 2 "--version with a command"

# ---- $MTASTSD_CONFIG is the default for -c; -c wins over it
run MTASTSD_CONFIG="$conf" -- check
expect_rc 0 "check with MTASTSD_CONFIG"
expect_eq "$out" "configuration OK" "MTASTSD_CONFIG check output"
run MTASTSD_CONFIG="$conf" -- policy example.org
expect_rc 0 "policy with MTASTSD_CONFIG"
run MTASTSD_CONFIG="$bad" -- check
expect_rc 1 "MTASTSD_CONFIG pointing at a bad config"
expect_match "$err" "^$bad:" "MTASTSD_CONFIG file named in diagnostics"
run MTASTSD_CONFIG="$bad" -- -c "$conf" check
expect_rc 0 "-c overrides MTASTSD_CONFIG"
# the built-in default follows the install's SYSCONFDIR; --help names it
default=$("$MTASTSD" --help | sed -n 's/.*else \(\/[^) ]*\)).*/\1/p')
expect_match "$default" "^/.*/mtastsd/mtastsd\.yaml$" "--help names the built-in default path"
if [ -n "$default" ] && [ ! -e "$default" ]; then
	run MTASTSD_CONFIG= -- check
	expect_rc 1 "without -c and MTASTSD_CONFIG"
	expect_match "$err" "$default" "the built-in default path is used"
fi

# ---- relative config path, and paths inside it relative to the config's folder
cd "$tmp/elsewhere" || exit 1
run -- -c ../conf/mtastsd.yaml check
expect_rc 0 "check with a relative -c from another folder"
expect_match "$err" "^\.\./conf/mtastsd\.yaml:14:27: warning:" "diagnostics name the file as given"
# every build has the dns command: a changed --help must not silently skip this
SOURCE_DATE_EPOCH=1767225600 "$MTASTSD" -c ../conf/mtastsd.yaml dns >"$tmp/dns.out" 2>"$tmp/dns.err"
rc=$?
err=$(cat "$tmp/dns.err")
expect_rc 0 "dns from another folder"
if [ -f "$tmp/conf/state/mtastsd.state" ]; then pass; else
	fail "state file not created next to the config (conf/state/mtastsd.state)"
fi
if [ -e "$tmp/elsewhere/state" ]; then fail "state created relative to the working directory"; else pass; fi
# tls.certs is resolved the same way: with an https listener, check looks in conf/certs/
sed -e 's/^  https: \[\]/  https: ["127.0.0.1:18443"]/' "$tmp/conf/mtastsd.yaml" >"$tmp/conf/tls.yaml"
printf 'tls:\n  certs: mycerts/\n' >>"$tmp/conf/tls.yaml"
run -- -c ../conf/tls.yaml check
expect_rc 1 "check with an https listener and no certificates"
expect_match "$err" "'\.\./conf/mycerts/?'" "certificate folder resolved against the config folder"
cd - >/dev/null || exit 1

# ---- serve: a free TCP port on 127.0.0.1
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
serve_conf() {	# FILE HTTP_PORT ADMIN_PORT [TOP-LEVEL LINES]: a plain-HTTP serve config
	{
		printf '%s' "${4:-}"
		printf 'listen:\n  https: []\n  http: ["127.0.0.1:%s"]\n  admin: "127.0.0.1:%s"\n' "$2" "$3"
		printf 'dns:\n  state: state/s.state\n  zone: state/s.zone\n'
		printf 'domains: [{name: example.com, mode: none}]\n'
	} >"$1"
}
# wait_for N CMD...: poll CMD every 0.1 s, at most N times
wait_for() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# ---- user/group that do not exist: check and serve say so, with the key's position, before binding
mkdir -p "$tmp/serve"
hp=$(free_port)
ap=$(free_port)
ucf="$tmp/serve/user.yaml"
serve_conf "$ucf" "$hp" "$ap" $'user: nosuchuser-mtastsd\ngroup: nosuchgroup-mtastsd\n'
run -- -c "$ucf" check
expect_rc 1 "check with a user and group that do not exist"
expect_match "$err" "^$ucf:1:7: user 'nosuchuser-mtastsd' does not exist$" "check: unknown user at its position"
expect_match "$err" "^$ucf:2:8: group 'nosuchgroup-mtastsd' does not exist$" "check: unknown group at its position"
expect_eq "$out" "" "no 'configuration OK' with an unknown user"
run -- -c "$ucf" serve
expect_rc 1 "serve with a user that does not exist"
expect_match "$err" "error $ucf:1:7: user 'nosuchuser-mtastsd' does not exist$" "serve: unknown user at its position"
if grep -q "listening" <<<"$err"; then fail "serve bound a port before refusing the user: $err"; else pass; fi

# ---- a listen failure says the system's reason
hp=$(free_port)
ap=$(free_port)
serve_conf "$tmp/serve/busy.yaml" "$hp" "$ap"
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print("held", flush=True); time.sleep(60)' "$hp" >"$tmp/held" &
holder=$!
wait_for 100 grep -qs held "$tmp/held" || fail "could not hold port $hp"
run -- -c "$tmp/serve/busy.yaml" serve
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
expect_rc 1 "serve on a port in use"
expect_match "$err" "cannot listen on '127\.0\.0\.1:$hp': Address already in use" "listen failure names errno"
if grep -q "start_listener" <<<"$err"; then fail "listen failure names an internal function: $err"; else pass; fi

# ---- a FIFO put in place of the config blocks neither the reload nor SIGTERM
hp=$(free_port)
ap=$(free_port)
fcf="$tmp/serve/fifo.yaml"
serve_conf "$fcf" "$hp" "$ap"
"$MTASTSD" -c "$fcf" serve 2>"$tmp/serve/fifo.log" &
spid=$!
if wait_for 100 curl -fs -o /dev/null "http://127.0.0.1:$ap/healthz"; then pass; else fail "serve did not start: $(cat "$tmp/serve/fifo.log")"; fi
rm -f "$fcf"
mkfifo "$fcf"
kill -HUP "$spid"
if wait_for 100 grep -q "the configuration is not a regular file (it is a FIFO)" "$tmp/serve/fifo.log"; then pass; else
	fail "reload of a FIFO config not refused: $(cat "$tmp/serve/fifo.log")"
fi
if curl -fsS -o /dev/null "http://127.0.0.1:$ap/healthz"; then pass; else fail "not serving after the refused reload"; fi
kill -TERM "$spid"
if wait_for 100 eval '! kill -0 "$spid" 2>/dev/null'; then pass; else
	fail "serve ignores SIGTERM with a FIFO as its config"
	kill -9 "$spid"
fi
wait "$spid"
rc=$?
err=$(cat "$tmp/serve/fifo.log")
expect_rc 0 "serve exits 0 on SIGTERM after a FIFO reload"

# ---- "takes effect after a restart" is judged against what runs: at every reload, cleared by a revert
hp=$(free_port)
ap=$(free_port)
pp=$(free_port)
rcf="$tmp/serve/restart.yaml"
restart_conf() {	# MAX_CONNECTIONS PROXY_FROM
	{
		printf 'listen:\n  https: []\n  http: ["127.0.0.1:%s", {address: "127.0.0.1:%s", proxy_protocol: true, proxy_from: [%s]}]\n' \
			"$hp" "$pp" "$2"
		printf '  admin: "127.0.0.1:%s"\nlimits: {max_connections: %s}\n' "$ap" "$1"
		printf 'dns:\n  state: state/r.state\n  zone: state/r.zone\n'
		printf 'domains: [{name: example.com, mode: none}]\n'
	} >"$rcf.tmp"
	mv "$rcf.tmp" "$rcf"	# one change, one reload
}
reloads_seen() { [ "$(grep -c " info reloaded config=" "$tmp/serve/restart.log")" -ge "$1" ]; }
pending_warnings() { grep -c "differ from what is running: they take effect after a restart" "$tmp/serve/restart.log"; }
healthz() { curl -fsS "http://127.0.0.1:$ap/healthz"; }
restart_metric() { curl -fsS "http://127.0.0.1:$ap/metrics" | awk '$1 == "mtastsd_restart_pending" { print $2 }'; }
restart_conf 100 127.0.0.1/32
"$MTASTSD" -c "$rcf" serve 2>"$tmp/serve/restart.log" &
spid=$!
if wait_for 100 curl -fs -o /dev/null "http://127.0.0.1:$ap/healthz"; then pass; else fail "serve did not start: $(cat "$tmp/serve/restart.log")"; fi
expect_eq "$(restart_metric)" "0" "no restart pending at start-up"
# 1: limits changed
restart_conf 200 127.0.0.1/32
wait_for 100 reloads_seen 1 || fail "no reload after the limits changed"
expect_eq "$(pending_warnings)" "1" "a changed limit needs a restart"
expect_match "$(healthz)" "^restart pending: limits$" "/healthz shows the pending restart"
expect_eq "$(restart_metric)" "1" "mtastsd_restart_pending is 1"
# 2: proxy_from changed too: still pending (the old code compared with reload 1 and said only this)
restart_conf 200 10.0.0.0/8
wait_for 100 reloads_seen 2 || fail "no reload after proxy_from changed"
expect_eq "$(pending_warnings)" "2" "the second reload still reports the pending restart"
expect_match "$(grep "differ from what is running" "$tmp/serve/restart.log" | tail -1)" \
	"listen\.http, limits in the configuration differ" "a proxy_from change needs a restart"
# 3: everything reverted to what runs: nothing pending (the old code warned here)
restart_conf 100 127.0.0.1/32
wait_for 100 reloads_seen 3 || fail "no reload after the revert"
expect_eq "$(pending_warnings)" "2" "no restart warning after a revert to what runs"
if grep -q "restart pending" <<<"$(healthz)"; then fail "/healthz still shows a restart pending"; else pass; fi
expect_eq "$(restart_metric)" "0" "mtastsd_restart_pending back to 0"
kill -TERM "$spid"
wait "$spid"
rc=$?
err=$(cat "$tmp/serve/restart.log")
expect_rc 0 "serve exits 0 after the restart-pending reloads"

# ---- log levels: debug lines (here: a refused PROXY header) only with -v or log.level: debug;
# each reload applies log.level (no restart), and -v wins over it
hp=$(free_port)
ap=$(free_port)
pp=$(free_port)
lcf="$tmp/serve/level.yaml"
level_conf() {	# LEVEL
	{
		printf 'listen:\n  https: []\n  http: ["127.0.0.1:%s", {address: "127.0.0.1:%s", proxy_protocol: true, proxy_from: [127.0.0.1/32]}]\n' \
			"$hp" "$pp"
		printf '  admin: "127.0.0.1:%s"\nlog: {level: %s}\n' "$ap" "$1"
		printf 'dns:\n  state: state/l.state\n  zone: state/l.zone\n'
		printf 'domains: [{name: example.com, mode: none}]\n'
	} >"$lcf.tmp"
	mv "$lcf.tmp" "$lcf"	# one change, one reload
}
metric() { curl -fsS "http://127.0.0.1:$ap/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }	# NAME VALUE
# a request where the PROXY header belongs: refused (counted), logged at debug level; waits for the count N
no_proxy_header() {	# N
	curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$pp/"
	wait_for 100 metric_is 'mtastsd_proxy_rejected_total{reason="invalid"}' "$1" ||
		fail "request $1 without a PROXY header not refused"
}
reloaded() { wait_for 100 metric_is 'mtastsd_reloads_total{result="ok"}' "$1" || fail "no reload $1"; }
debug_lines() { grep -c " debug proxy: closing connection from 127.0.0.1" "$lf"; }
level_serve() {	# LOG ARGS...: serve $lcf with ARGS, logging to LOG
	lf="$1"
	shift
	"$MTASTSD" -c "$lcf" "$@" serve 2>"$lf" &
	spid=$!
	if wait_for 100 curl -fs -o /dev/null "http://127.0.0.1:$ap/healthz"; then pass; else fail "serve did not start: $(cat "$lf")"; fi
}
level_stop() {	# WHAT
	kill -TERM "$spid"
	wait "$spid"
	rc=$?
	err=$(cat "$lf")
	expect_rc 0 "serve exits 0 after $1"
}
# 1: log.level: info, no -v: no debug line
level_conf info
level_serve "$tmp/serve/level.log"
no_proxy_header 1
expect_eq "$(debug_lines)" "0" "no debug line at log.level: info"
# 2: a reload to log.level: debug shows it, and asks for no restart
level_conf debug
reloaded 1
no_proxy_header 2
expect_eq "$(debug_lines)" "1" "a debug line after a reload to log.level: debug"
expect_eq "$(grep -c "take effect after a restart" "$lf")" "0" "log.level needs no restart"
# 3: log.level: error: no debug line, and no info line either
level_conf error
reloaded 2
lines=$(wc -l <"$lf")
no_proxy_header 3
curl -fs -o /dev/null "http://127.0.0.1:$hp/" || true
expect_eq "$(debug_lines)" "1" "no debug line after a reload to log.level: error"
expect_eq "$(wc -l <"$lf")" "$lines" "log.level: error: nothing below an error is logged"
level_stop "the log.level reloads"
# 4: -v wins over log.level: error (at start and across a reload)
level_serve "$tmp/serve/level-v.log" -v
no_proxy_header 1
expect_eq "$(debug_lines)" "1" "-v shows debug lines despite log.level: error"
level_conf warn
reloaded 1
no_proxy_header 2
expect_eq "$(debug_lines)" "2" "-v still wins after a reload"
level_stop "-v"

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
