#!/usr/bin/env bash
# The container image's contents, without a Docker engine: the Dockerfile names only files
# that exist; the runtime file system that scripts/rootfs assembles (binary, ldd closure,
# configs) serves a policy from a read-only chroot as the unprivileged user; the image's
# HEALTHCHECK command works; the systemd unit verifies; the man page renders cleanly.
set -euo pipefail
: "${MTASTSD:?} ${SOURCE_ROOT:?}"
cd "$SOURCE_ROOT"
pass=0 fail=0
ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# --- Dockerfile: stages, and every file they name exists
df=Dockerfile
[ "$(grep -c '^FROM debian:12-slim' $df)" -eq 3 ] && grep -q '^FROM debian:12-slim AS tools$' $df \
  && [ "$(grep '^FROM' $df | tail -n1)" = "FROM debian:12-slim" ] \
  && ok "dockerfile: build, tools and (last, the default) server stages on debian:12-slim" || bad "dockerfile: stages"
grep -q '^RUN ./scripts/install-deps' $df && ok "dockerfile: build stage uses scripts/install-deps" || bad "dockerfile: install-deps"
grep -q 'scripts/rootfs' $df && ok "dockerfile: runtime files come from scripts/rootfs" || bad "dockerfile: rootfs"
missing=
while read -r src; do
  [ "$src" = "." ] && continue
  [ -e "$src" ] || missing+=" $src"
done < <(awk '/^COPY/ && !/--from/ {for (i = 2; i < NF; i++) print $i}' $df)
for f in $(grep -o 'scripts/[a-z-]*' $df | sort -u) $(grep -o 'config/[a-z.]*yaml' scripts/rootfs | sort -u); do
  [ -e "$f" ] || missing+=" $f"
done
[ -z "$missing" ] && ok "dockerfile: every named file exists" || bad "dockerfile: missing:$missing"
[ "$(awk '/^FROM/{s++} s==3 && /^(COPY|ADD|RUN)/' $df | grep -vc -- '--from=build /rootfs/ /')" -eq 0 ] \
  && ok "dockerfile: runtime stage only copies the assembled rootfs" || bad "dockerfile: runtime stage adds more"
grep -q '^USER 10001' $df && grep -q '^STOPSIGNAL SIGTERM' $df && grep -q '^HEALTHCHECK' $df \
  && grep -q '^EXPOSE 8443 8080 9100' $df && grep -q '^VOLUME \["/etc/mtastsd", "/var/lib/mtastsd"\]' $df \
  && ok "dockerfile: non-root user, stop signal, healthcheck, ports, volumes" || bad "dockerfile: runtime settings"
# the tools stage (the Kubernetes DNS publisher) installs what the binary links, found from it
want_pkgs=$(scripts/runtime-packages "$MTASTSD" | tr '\n' ' ')
absent=
for p in libcurl3-gnutls libmicrohttpd12 libgnutls30 libyaml-0-2; do
  grep -qw "$p" <<<"$want_pkgs" || absent+=" $p"
done
for p in $want_pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || absent+=" $p(not a package here)"
done
[ -z "$absent" ] && awk '/^FROM .* AS tools/{t=1} /^FROM/ && !/AS tools/{t=0} t' $df | grep -q 'runtime-packages.*bind9-dnsutils' \
  && ok "dockerfile: the tools stage installs the binary's libraries ($want_pkgs) and nsupdate" \
  || bad "dockerfile: tools stage:$absent"

# --- the runtime file system, run from a read-only chroot
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
  echo "SKIP chroot run: needs root and unshare"
else
  work=$(mktemp -d)
  srv=
  cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
  trap cleanup EXIT
  root=$work/rootfs
  scripts/rootfs "$MTASTSD" "$root"
  libs_ok=1
  for lib in $(ldd "$MTASTSD" | awk '/=> \//{print $3} /^\t\//{print $1}'); do
    [ -e "$root$lib" ] || { libs_ok=0; echo "missing $lib"; }
  done
  [ $libs_ok = 1 ] && ok "rootfs: the binary and its whole ldd closure" || bad "rootfs: libraries missing"
  extra=$(cd "$root" && find . -type f | grep -Ev '^\./(usr/sbin/mtastsd|etc/(passwd|group|mtastsd/mtastsd.yaml|ssl/certs/ca-certificates.crt)|usr/share/doc/mtastsd/example.yaml|usr/share/publicsuffix/.*|(usr/)?lib(64|x86_64-linux-gnu)?/.*)$' || true)
  [ -z "$extra" ] && ok "rootfs: nothing but binary, libraries, configs" || bad "rootfs: unexpected files: $extra"

  # certificates and a config on free ports, as an operator would mount them
  scripts/gen-dev-certs -o "$work/certs" example.com >/dev/null
  mkdir -p "$root/etc/mtastsd/certs"
  cp "$work/certs"/mta-sts.example.com.* "$root/etc/mtastsd/certs/"
  chown -R 10001:10001 "$root/etc/mtastsd/certs"
  chmod 600 "$root"/etc/mtastsd/certs/*.key
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  tport=$(free_port) hport=$(free_port) aport=$(free_port)
  sed -e "s/0.0.0.0:8443/127.0.0.1:$tport/" -e "s/0.0.0.0:8080/127.0.0.1:$hport/" \
      -e "s/0.0.0.0:9100/127.0.0.1:$aport/" config/container.yaml >"$root/etc/mtastsd/mtastsd.yaml"
  unshare --mount --propagation private bash -c '
    set -e
    r=$1
    mount --bind "$r" "$r"
    mount -o remount,bind,ro "$r"
    mount -t tmpfs -o size=4m,uid=10001,gid=10001 tmpfs "$r/var/lib/mtastsd"
    mount -t tmpfs tmpfs "$r/tmp"
    mount -t proc proc "$r/proc"
    exec env -i MTASTSD_CONFIG=/etc/mtastsd/mtastsd.yaml ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
      /usr/sbin/chroot --userspec=10001:10001 "$r" /usr/sbin/mtastsd serve' _ "$root" 2>"$work/serve.log" &
  srv=$!
  got=
  for _ in $(seq 100); do
    got=$(curl -sf --max-time 2 --resolve mta-sts.example.com:$tport:127.0.0.1 --cacert "$work/certs/ca.crt" \
          https://mta-sts.example.com:$tport/.well-known/mta-sts.txt 2>/dev/null) && break
    sleep 0.1
  done
  want=$(printf 'version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 604800\r\n')
  [ "$got" = "$want" ] && ok "chroot: policy served over TLS from the read-only runtime rootfs" \
    || { bad "chroot: policy not served"; sed -n 1,20p "$work/serve.log"; }
  # the HEALTHCHECK command of the Dockerfile, with the admin port of this run
  hc=$(grep '^  CMD \["bash"' $df | sed -E 's/.*"bash", "-c", "(.*)"\]$/\1/' | sed -e 's/\\\\/\\/g' -e "s/9100/$aport/")
  bash -c "$hc" && ok "healthcheck: the image's HEALTHCHECK command sees 200" || bad "healthcheck: failed: $hc"
  uid=$(awk '/^Uid:/{print $2}' /proc/"$(pgrep -f 'usr/sbin/mtastsd serve' | head -1)"/status 2>/dev/null || echo "?")
  [ "$uid" = 10001 ] && ok "chroot: the server runs as uid 10001" || bad "chroot: server uid is $uid"
  kill -TERM "$srv" 2>/dev/null || true; rc=0; wait "$srv" || rc=$?
  srv=
  [ $rc -eq 0 ] && ok "chroot: SIGTERM exits 0" || bad "chroot: exit status $rc after SIGTERM"
fi

# --- cmake --install: the binary, the unit, the man page and the config name the same paths.
# Scratch builds of the source tree (only the mtastsd target) for two prefixes: /usr into a
# DESTDIR, as a package build does, and an arbitrary one that is then run from where it landed.
if ! command -v cmake >/dev/null; then
  echo "SKIP install: cmake is not installed"
else
  inst=$(mktemp -d)
  trap 'rm -rf "$inst" ${work:+"$work"}' EXIT
  scratch_build() { # scratch_build DIR PREFIX: configure and build mtastsd only; log in DIR.log
    cmake -S "$SOURCE_ROOT" -B "$1" -DCMAKE_INSTALL_PREFIX="$2" -DBUILD_TESTS=OFF >"$1.log" 2>&1 &&
      cmake --build "$1" --target mtastsd -j2 >>"$1.log" 2>&1
  }
  D=$inst/destdir
  if scratch_build "$inst/usr" /usr && DESTDIR=$D cmake --install "$inst/usr" >"$inst/install.log" 2>&1; then
    ok "install: prefix /usr into a DESTDIR"
  else
    bad "install: prefix /usr failed"; tail -n 20 "$inst/usr.log" "$inst/install.log"
  fi
  absent=
  for f in /usr/sbin/mtastsd /usr/lib/systemd/system/mtastsd.service /usr/share/man/man8/mtastsd.8 \
           /etc/mtastsd/mtastsd.yaml /etc/mtastsd/certs /usr/share/doc/mtastsd/example.yaml; do
    [ -e "$D$f" ] || absent+=" $f"
  done
  [ -z "$absent" ] && ok "install: binary, unit, man page, config, certificate folder, example" \
    || bad "install: not installed:$absent ($(cd "$D" 2>/dev/null && find . -type f | tr '\n' ' '))"
  [ ! -e "$D/usr/etc" ] && ok "install: nothing under /usr/etc" || bad "install: files under /usr/etc"

  unit=$D/usr/lib/systemd/system/mtastsd.service
  # every absolute path the unit names (Exec* without their -@:+! prefixes, environment values,
  # *Paths=, LoadCredential sources): the install's own under DESTDIR, system tools on the host
  mapfile -t named < <(grep -v '^[#;]' "$unit" 2>/dev/null | sed -n 's/^[A-Za-z]*=//p' |
    grep -oE '(^|[ =:])[-@:+!]*/[^ :"]+' | sed -E 's/^[ =:]?[-@:+!]*//' | sort -u)
  [ "${#named[@]}" -ge 3 ] && ok "unit: names ${#named[@]} paths: ${named[*]}" || bad "unit: names too few paths: ${named[*]}"
  absent=
  for f in "${named[@]}"; do
    case "$f" in
      /usr/*|/etc/mtastsd|/etc/mtastsd/*) [ -e "$D$f" ] || absent+=" $f (not installed)" ;;
      # the state folder: made by the unit itself (StateDirectory= or an install -d before start)
      /var/lib/mtastsd) grep -qE '^(StateDirectory=mtastsd|ExecStartPre=[-+!]*/(usr/)?bin/install -d .*/var/lib/mtastsd)$' "$unit" \
                          || absent+=" $f (not on this system, and the unit does not make it)" ;;
      *) [ -e "$f" ] || absent+=" $f (not on this system)" ;;
    esac
  done
  [ -z "$absent" ] && ok "unit: every path it names exists in the DESTDIR (or is a system tool)" \
    || bad "unit: missing:$absent"
  grep -q '^Documentation=man:mtastsd(8)$' "$unit" && [ -e "$D/usr/share/man/man8/mtastsd.8" ] \
    && ok "unit: its man page is installed" || bad "unit: Documentation= names no installed man page"
  uconf=$(sed -n 's/^Environment=MTASTSD_CONFIG=//p' "$unit" 2>/dev/null || true)
  bconf=$("$D/usr/sbin/mtastsd" --help 2>/dev/null | sed -n 's/.*else \(\/[^) ]*\)).*/\1/p' || true)
  [ "$uconf" = /etc/mtastsd/mtastsd.yaml ] && [ "$bconf" = "$uconf" ] \
    && ok "install: the unit's and the binary's default config are both /etc/mtastsd/mtastsd.yaml" \
    || bad "install: unit config '$uconf', binary default '$bconf'"
  grep -q '^\.I /etc/mtastsd/mtastsd\.yaml$' "$D/usr/share/man/man8/mtastsd.8" 2>/dev/null \
    && ok "man: FILES names the installed config" || bad "man: FILES does not name /etc/mtastsd/mtastsd.yaml"
  cfg=$D/etc/mtastsd/mtastsd.yaml
  certs=$(sed -n 's/^  certs: //p' "$cfg" 2>/dev/null || true) state=$(sed -n 's/^  state: //p' "$cfg" 2>/dev/null || true)
  [ "$certs" = /etc/mtastsd/certs/ ] && [ -d "$D$certs" ] && [ "$state" = /var/lib/mtastsd/mtastsd.state ] \
    && grep -qx 'ReadWritePaths=/var/lib/mtastsd' "$unit" \
    && ok "config: certificates in the installed folder, state in the unit's state folder" \
    || bad "config: certs '$certs', state '$state'"

  # an edited config survives a reinstall; `--prefix` at install time is refused
  echo "# edited" >>"$cfg" || true
  DESTDIR=$D cmake --install "$inst/usr" >/dev/null 2>&1
  tail -n1 "$cfg" 2>/dev/null | grep -qx '# edited' && ok "install: a reinstall keeps the operator's config" \
    || bad "install: a reinstall replaced the config"
  if DESTDIR=$inst/other cmake --install "$inst/usr" --prefix /opt/elsewhere >"$inst/other.log" 2>&1; then
    bad "install: --prefix at install time accepted (the binary still looks in /etc)"
  else
    grep -q "configured for prefix '/usr'" "$inst/other.log" && [ ! -e "$inst/other/opt/elsewhere/sbin" ] \
      && ok "install: --prefix at install time refused before installing anything" \
      || bad "install: --prefix refused without the reason: $(tail -n 3 "$inst/other.log")"
  fi

  # systemd reads the installed unit (install paths pointed into the DESTDIR to verify them)
  if command -v systemd-analyze >/dev/null; then
    sed -e "s#=\([-@:+!]*\)/usr/sbin/#=\1$D/usr/sbin/#g" "$unit" >"$inst/mtastsd.service" || true
    if out=$(systemd-analyze verify --man=no "$inst/mtastsd.service" 2>&1) && [ -z "$out" ]; then
      ok "systemd: systemd-analyze verify passes on the installed unit"
    else
      bad "systemd: $out"
    fi
  else
    echo "SKIP systemd verify: systemd-analyze is not installed"
  fi

  # any other prefix: the installed binary finds the installed config without -c
  P=$inst/any/prefix
  if scratch_build "$inst/any.b" "$P" && cmake --install "$inst/any.b" >/dev/null 2>&1; then
    scripts/gen-dev-certs -o "$P/etc/mtastsd/certs" example.com example.org example.net >/dev/null || true
    got=$(env -u MTASTSD_CONFIG "$P/sbin/mtastsd" policy example.com 2>&1) || true
    want=$("$P/sbin/mtastsd" -c "$P/etc/mtastsd/mtastsd.yaml" policy example.com 2>&1) || true
    [ -n "$want" ] && [ "$got" = "$want" ] \
      && ok "install: prefix $P: the binary reads $P/etc/mtastsd/mtastsd.yaml by default" \
      || bad "install: prefix $P: policy without -c: $got"
    grep -qx "ExecStart=$P/sbin/mtastsd serve" "$P/lib/systemd/system/mtastsd.service" \
      && grep -qx "Environment=MTASTSD_CONFIG=$P/etc/mtastsd/mtastsd.yaml" "$P/lib/systemd/system/mtastsd.service" \
      && ok "install: prefix $P: the unit names the same binary and config" || bad "install: prefix $P: unit paths"
  else
    bad "install: prefix $P failed"; tail -n 20 "$inst/any.b.log"
  fi
fi
hard=config/systemd/mtastsd.service.in
absent=
for k in ReadWritePaths=/var/lib/mtastsd 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_DAC_READ_SEARCH' \
         ProtectSystem=strict NoNewPrivileges=yes SystemCallFilter=@system-service 'ExecReload=/bin/kill -HUP $MAINPID'; do
  grep -qxF "$k" $hard || absent+=" $k"
done
[ -z "$absent" ] && ok "systemd: hardening settings and reload present" || bad "systemd: missing$absent"

# --- man page
if command -v groff >/dev/null; then
  warn=$(groff -man -ww -z doc/mtastsd.8 2>&1)
  [ -z "$warn" ] && ok "man: mtastsd.8 renders without warnings" || bad "man: $warn"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
