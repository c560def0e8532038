# SPDX-License-Identifier: MIT
"""Crashes and full disks: the state and zone files are never torn.
- `mtastsd dns` is killed with SIGKILL at random points while it rewrites a large state
  file; afterwards the state is byte for byte either the old or the new one.
- `serve` is killed with SIGKILL at random points while reloads rewrite a large zone file;
  afterwards the zone is one of the complete versions written, and the daemon starts.
- With the state on a full file system (a small tmpfs) `dns` fails with a clear error and
  leaves the old state intact, and `serve` still starts and serves."""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/e2e
from mtastsd_test import MTASTSD, Results, Server, read_bytes as read, wait_until, write_atomic as write  # noqa: E402

r = Results()
random.seed(8460)
N = 20000
ROUNDS = int(os.environ.get("CRASH_ROUNDS", "60"))


def config_text(state_dir, max_age, port=None, certs="certs/", n=N):
    lines = []
    if port:
        # the plain-HTTP listener makes every domain servable (only d0..dN's certificates are
        # missing): a domain nothing can serve gets no id, and this test wants every id in the zone
        lines += [f'listen: {{https: ["127.0.0.1:{port[0]}"], http: ["127.0.0.1:{port[2]}"],'
                  f' admin: "127.0.0.1:{port[1]}"}}']
    lines += [f"tls: {{certs: {certs}}}",
              f"dns: {{state: {state_dir}/mtastsd.state, zone: {state_dir}/mta-sts.zone}}",
              f"defaults: {{mode: enforce, max_age: {max_age}}}", "domains:"]
    lines += [f"  - {{name: d{i}.example, mx: [mail.d{i}.example]}}" for i in range(n)]
    return "\n".join(lines) + "\n"


work = tempfile.mkdtemp(prefix="mtastsd-crash.")
try:
    # ---------------------------------------------------------------- dns + SIGKILL
    os.makedirs(f"{work}/certs")
    cfg = f"{work}/mtastsd.yaml"
    state = f"{work}/state/mtastsd.state"
    epoch = 1764400000
    write(cfg, config_text("state", 604800))
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
    t0 = time.time()
    subprocess.run([MTASTSD, "-c", cfg, "dns"], env=env, check=True, stdout=subprocess.DEVNULL)
    full_run = time.time() - t0
    print(f"  one full `dns` run over {N} domains takes {full_run * 1000:.0f} ms, "
          f"state {len(read(state))} bytes")
    torn = kills = 0
    for i in range(ROUNDS):
        epoch += 1
        max_age = 604800 + 86400 * (i % 2 + 1)
        write(cfg, config_text("state", max_age))
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
        old = read(state)
        # the new content this run would write, computed on a copy
        shutil.copytree(f"{work}/state", f"{work}/ref", dirs_exist_ok=True)
        write(f"{work}/ref.yaml", config_text("ref", max_age))
        subprocess.run([MTASTSD, "-c", f"{work}/ref.yaml", "dns"], env=env, check=True, stdout=subprocess.DEVNULL)
        new = read(f"{work}/ref/mtastsd.state")
        p = subprocess.Popen([MTASTSD, "-c", cfg, "dns"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0, full_run * 1.2))
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += p.returncode == -signal.SIGKILL
        now = read(state)
        if now != old and now != new:
            torn += 1
            print(f"  round {i}: state is neither the old nor the new content ({len(now or b'')} bytes)")
        if now == old:
            # the run did not finish: bring the state forward so the next round starts clean
            shutil.copy(f"{work}/ref/mtastsd.state", state)
    r.check(torn == 0, f"dns: killed {kills} of {ROUNDS} runs mid-way; the state was never torn")
    leftovers = [f for f in os.listdir(f"{work}/state") if f not in ("mtastsd.state", "mtastsd.state.lock")]
    rc = subprocess.run([MTASTSD, "-c", cfg, "dns"], env=env, stdout=subprocess.DEVNULL).returncode
    after = [f for f in os.listdir(f"{work}/state") if f not in ("mtastsd.state", "mtastsd.state.lock")]
    r.check(rc == 0, f"dns: the next run after the kills succeeds (temporary files left by kills: {len(leftovers)}, after: {len(after)})")
    # check also wants certificates (there are none here): only its verdict on the state counts
    p = subprocess.run([MTASTSD, "-c", cfg, "check"], capture_output=True, text=True)
    state_errors = [l for l in p.stderr.splitlines() if "mtastsd.state" in l and "warning" not in l]
    r.check(not state_errors, f"dns: check finds nothing wrong with the state after the kills {state_errors[:2]}")

    # ---------------------------------------------------------------- serve + SIGKILL
    srv = Server(["example.com"])
    try:
        n_zone = 5000
        port = (srv.port, srv.admin_port, srv.http_port)
        write(srv.config, config_text("state", 604800, port, n=n_zone).replace(
            "domains:\n", "domains:\n  - {name: example.com, mx: [mail.example.com, backup.example.com]}\n"))
        zone = f"{srv.dir}/state/mta-sts.zone"
        versions, torn, starts = set(), 0, 0
        for i in range(max(ROUNDS // 3, 10)):
            srv.start()
            starts += 1
            wait_until(lambda: read(zone) is not None, 10, interval=0.02)
            versions.add(read(zone))
            # a reload that changes every record, killed at a random point of the rewrite
            write(srv.config, read(srv.config).decode().replace(f"max_age: {604800 + 3600 * (i % 2)}",
                                                               f"max_age: {604800 + 3600 * ((i + 1) % 2)}"))
            srv.proc.send_signal(signal.SIGHUP)
            time.sleep(random.uniform(0, 0.3))
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            z = read(zone)
            complete = z is not None and z.count(b"IN TXT") >= n_zone + 1 and z.endswith(b"\n")
            if not complete:
                torn += 1
                print(f"  serve round {i}: zone torn ({len(z or b'')} bytes)")
            versions.add(z)
        r.check(torn == 0, f"serve: SIGKILL during {starts} reload rewrites never left a torn zone "
                           f"({len(versions)} distinct complete versions seen)")
        srv.start()
        status, _, _ = srv.get("example.com")
        r.check(status == 200, "serve: starts and serves after the kills")
        srv.stop()
    finally:
        srv.cleanup()

    # ---------------------------------------------------------------- full disk
    if os.geteuid() != 0:
        print("SKIP full disk: mounting a tmpfs needs root")
    else:
        small = f"{work}/small"
        os.makedirs(small)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", small], check=True)
        try:
            write(cfg, config_text(small, 604800, n=100))
            subprocess.run([MTASTSD, "-c", cfg, "dns"], check=True, stdout=subprocess.DEVNULL)
            before = read(f"{small}/mtastsd.state")
            # fill the disk, then ask for a state several times larger than what is left
            fd = os.open(f"{small}/filler", os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while True:
                    os.write(fd, b"x" * 4096)
            except OSError:
                pass
            os.close(fd)
            write(cfg, config_text(small, 604800, n=5000))
            p = subprocess.run([MTASTSD, "-c", cfg, "dns"], capture_output=True, text=True)
            r.check(p.returncode == 1 and ("space" in p.stderr.lower() or "write" in p.stderr.lower()),
                    f"full disk: dns fails with a clear error (exit {p.returncode}: {p.stderr.strip()[:120]})")
            r.check(read(f"{small}/mtastsd.state") == before, "full disk: the old state is intact")
            stray = [f for f in os.listdir(small) if f not in ("mtastsd.state", "mtastsd.state.lock", "mtastsd.state.serving", "filler")]
            r.check(not stray, f"full disk: no temporary file left behind {stray}")
            # the daemon still starts and serves; publishing fails and is logged, not fatal
            srv = Server(["example.com"])
            try:
                write(srv.config, read(srv.config).decode().replace(
                    "dns: {state: state/mtastsd.state, zone: state/zone}",
                    f"dns: {{state: {small}/mtastsd.state, zone: {small}/mta-sts.zone}}"))
                srv.start()
                status, _, _ = srv.get("example.com")
                r.check(status == 200, "full disk: serve starts and serves with its state on a full disk")
                srv.stop()
            finally:
                srv.cleanup()
        finally:
            subprocess.run(["umount", small])
finally:
    shutil.rmtree(work, ignore_errors=True)
r.finish()
