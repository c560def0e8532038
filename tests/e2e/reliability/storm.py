# SPDX-License-Identifier: MIT
"""Reload storm under load: a load generator fetches policies for many domains over TLS
(fresh handshakes, certificates verified, every body checked against its host) while the
config and the certificates are changed and reloaded over 100 times, a third of them
invalid. Every response must be a 200 with a correct body, no connection refused or reset,
the config in force must be the last valid one, and memory must come back down."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/e2e
from mtastsd_test import ROOT, Results, Server, wait_until  # noqa: E402

LOADGEN = os.path.join(os.environ["BUILD_DIR"], "tests/bench/loadgen")
N = 30
RELOADS = int(os.environ.get("STORM_RELOADS", "102"))
domains = [f"d{i}.example" for i in range(N)]
r = Results()
random.seed(8461)
if "ASAN_OPTIONS" in os.environ:
    # ASan holds freed memory back (256 MiB of quarantine by default) to catch use after
    # free, so RSS grows with every allocation until that fills whatever the server keeps.
    # A small quarantine makes the before/after reading mean what it says under ASan too.
    os.environ["ASAN_OPTIONS"] += ":quarantine_size_mb=4:thread_local_quarantine_size_kb=64"
srv = Server(domains)


def reloads_done():
    return (srv.metric('mtastsd_reloads_total{result="ok"}'),
            srv.metric('mtastsd_reloads_total{result="failed"}'))


def wait_reload(before, timeout=5):
    """Wait until the ok+failed reload count passes BEFORE; returns (ok, failed)."""
    if wait_until(lambda: sum(reloads_done()) > sum(before), timeout, interval=0.02) is not None:
        # inotify may add a second reload of the same files: let it settle
        time.sleep(0.25)
    return reloads_done()


def reissue(domain):
    shutil.move(os.path.join(srv.dir, "ca.key"), os.path.join(srv.certs, "ca.key"))
    try:
        subprocess.run([os.path.join(ROOT, "scripts/gen-dev-certs"), "-o", srv.certs, domain],
                       check=True, stdout=subprocess.DEVNULL)
    finally:
        shutil.move(os.path.join(srv.certs, "ca.key"), os.path.join(srv.dir, "ca.key"))


try:
    srv.start()
    # warm up: a few reloads and some load before the baseline memory reading
    warm = subprocess.run([LOADGEN, "-p", str(srv.port), "-f", "/dev/stdin", "-d", "2", "-c", "8",
                           "-M", "-C", srv.ca], input="\n".join("mta-sts." + d for d in domains),
                          capture_output=True, text=True)
    for _ in range(3):
        before = reloads_done()
        srv.proc.send_signal(signal.SIGHUP)
        wait_reload(before)
    rss0 = srv.rss_kib()

    hosts = os.path.join(srv.dir, "hosts")
    with open(hosts, "w") as f:
        f.write("\n".join("mta-sts." + d for d in domains) + "\n")
    load = subprocess.Popen([LOADGEN, "-p", str(srv.port), "-f", hosts, "-d", "600", "-c", "16",
                             "-M", "-C", srv.ca], stdout=subprocess.PIPE, text=True)
    mode, max_age = "enforce", 604800
    valid = invalid = wrong = broken_certs = 0
    t0 = time.time()
    for i in range(RELOADS):
        before = reloads_done()
        kind = i % 3
        if kind == 2:
            bad = random.choice(["config", "yaml", "cert"])
            if bad == "config":
                srv.write_config(domains, mode, max_age, broken=True)
            elif bad == "yaml":
                with open(srv.config, "a") as f:
                    f.write("  - {name: [unclosed\n")
            else:
                victim = os.path.join(srv.certs, f"mta-sts.{random.choice(domains)}.crt")
                saved = open(victim, "rb").read()
                with open(victim, "wb") as f:
                    f.write(b"-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
            srv.proc.send_signal(signal.SIGHUP)
            after = wait_reload(before)
            invalid += 1
            broken_certs += bad == "cert"
            if bad == "cert":
                # a broken pair is a problem for its own names only: the reload goes ahead, the
                # version that served is kept, and the broken pair is counted
                if after[0] <= before[0] or not srv.metric("mtastsd_certificate_pairs_broken") >= 1:
                    wrong += 1
                    print(f"  reload {i}: a broken certificate failed the reload or was not counted")
            elif after[1] <= before[1]:
                wrong += 1
                print(f"  reload {i}: invalid {bad} change was not counted as a failed reload")
            # repair silently for the next round (the next valid change reloads it)
            if bad == "cert":
                with open(victim, "wb") as f:
                    f.write(saved)
            srv.write_config(domains, mode, max_age)
        else:
            if kind == 0:
                mode = "testing" if mode == "enforce" else "enforce"
                max_age = random.choice([86400, 604800, 1209600, 2419200])
                srv.write_config(domains, mode, max_age)
            else:
                reissue(random.choice(domains))
            srv.proc.send_signal(signal.SIGHUP)
            wait_reload(before)
            valid += 1
        # the config in force is the last valid one, whatever happened in between
        d = random.choice(domains)
        status, _, body = srv.get(d)
        if status != 200 or body != srv.expected_body(d, mode, max_age):
            wrong += 1
            print(f"  reload {i}: {d} answered {status} {body!r}")
    storm_s = time.time() - t0
    load.send_signal(signal.SIGINT)
    try:
        out, _ = load.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        load.kill()
        out = ""
    stats = json.loads(out) if out.strip() else {"requests": 0, "errors": -1}
    ok, failed = reloads_done()
    print(f"  {valid + invalid} reload rounds in {storm_s:.1f} s: {int(ok)} ok and {int(failed)} failed reloads "
          f"counted; load: {stats}")
    r.check(valid + invalid >= 100 and invalid >= (valid + invalid) // 3,
            f"storm: {valid + invalid} changes, {invalid} of them invalid")
    r.check(wrong == 0, f"storm: after every change the last valid config was served ({wrong} wrong)")
    r.check(failed >= invalid - broken_certs,
            f"storm: every invalid config counted as a failed reload ({int(failed)} >= {invalid - broken_certs})")
    r.check(stats.get("requests", 0) > 1000 and stats.get("errors") == 0,
            f"storm: {stats.get('requests')} requests during the storm, {stats.get('errors')} errors "
            f"(connect {stats.get('connect_errors')}, tls {stats.get('tls_errors')}, bad {stats.get('bad_status')})")
    time.sleep(1)
    rss1 = srv.rss_kib()
    r.check(rss1 <= rss0 * 1.25 + 4096,
            f"storm: memory back where it started (RSS {rss0} KiB before, {rss1} KiB after)")
    rc = srv.stop()
    r.check(rc == 0, f"storm: clean exit after SIGTERM ({rc})")
finally:
    srv.cleanup()
r.finish()
