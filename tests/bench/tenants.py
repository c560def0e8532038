#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts/bench tenants: mtastsd at a provider's size, as such a provider runs it.

N domains (default 1,000,000) of the `scripts/bench config` mix, served over plain HTTP, laid
out two ways: all in the main file's `domains:` ("one file"), and spread over F tenant files
in `domains_dir:` ("F files"). For each layout and each binary (this build, and with --vs an
earlier one, alternating A B / B A by round) it measures, from outside the process:

  start-up      from exec to the first correct answer (a domain of the last file)
  RSS ready     resident memory at that moment
  RSS started   resident memory once start-up has also published the zone and state (the log
                says "dns zone"): the figure reloads are compared with
  full reload   SIGHUP to the reload counted in /metrics (median of the five), each sent to a quiet
                server (under 5% of a CPU over half a second), so that it is not timed together
                with the previous reload's publication
  publish       how long the last reload's DNS publication (state, zone) took, from
                mtastsd_dns_publish_seconds; the file steps start once it is done, since a change
                made during a publication is only read after it
  RSS 5 reloads resident memory after five full reloads and their publication
  (each RSS after start-up, reloads or file changes is read once it holds still: two readings
  half a second apart within 1%, at most 10 s, since freed memory goes back a little later)
  add file      a new tenant file of N/F domains written (atomically) to the answer of its
                last domain (F files only)
  change file   one tenant file rewritten with one domain's mode changed, to that domain's
                new policy being served (F files only)
  check         `mtastsd check` wall seconds and peak RSS
  ... CPU       start-up, full reload and check also in CPU seconds of the process (user + system,
                all threads): on a machine shared with other work, the figure that noise moves least

A binary that refuses the layout (an earlier build without `domains_dir`) gets "n/a" there.
Figures are printed as a table with the ratio this/before; raw rows go to -o FILE (JSON).
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True  # run from the source tree by scripts/bench: no __pycache__ there
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
from mtastsd_test import free_port, rss_kib, stop_process, wait_until  # noqa: E402


def mix_entry(i):
    """Domain entry i of the `scripts/bench config` mix (see gen_config there), as YAML lines."""
    name = f"bücher-{i}.example" if i % 10 == 7 else f"customer-{i}.example.com"
    if i % 20 == 19:
        return f"  - {name}\n", name
    m = i % 3
    out = [f"  - name: {name}\n"]
    if m == 0:
        out.append("    mode: enforce\n")
    elif m == 2:
        out.append("    mode: none\n")
    if i % 5 == 0:
        out.append("    max_age: 86400\n")
    if i % 2 == 0:
        mx = f"    mx: [mx1.customer-{i}.example.com, MX2.Customer-{i}.example.com."
        if i % 4 == 0:
            mx += f', "*.mail.customer-{i}.example.com"'
        if i % 8 == 0:
            mx += f", mx3.customer-{i}.example.com"
        out.append(mx + "]\n")
    if i % 3 == 1:
        out.append(f'    tlsrpt: ["mailto:tlsrpt@customer-{i}.example.com"]\n')
    return "".join(out), name


def host_of(name):
    # the U-labels of the mix (bücher-N) are served under their A-label
    return "mta-sts." + name.encode("idna").decode() if not name.isascii() else "mta-sts." + name


def header(port, admin, files):
    return (f'listen:\n  https: []\n  http: ["127.0.0.1:{port}"]\n  admin: "127.0.0.1:{admin}"\n'
            "tls:\n  certs: certs/\n"
            "dns:\n  state: state/mtastsd.state\n  zone: state/mta-sts.zone\n"
            "defaults:\n  mode: testing\n  max_age: 604800\n"
            '  mx: ["mx1.provider.example.net", "mx2.provider.example.net"]\n'
            + ("domains_dir: domains.d/\ndomains: []\n" if files else "domains:\n"))


class Layout:
    """One folder with a config (one file, or F tenant files) for N domains."""

    def __init__(self, root, n, files):
        self.dir = os.path.join(root, f"{files or 'one'}")
        self.n, self.files = n, files
        os.makedirs(os.path.join(self.dir, "certs"))
        os.makedirs(os.path.join(self.dir, "state"))
        self.names = []
        self.port, self.admin = free_port(), free_port()
        self.config = os.path.join(self.dir, "mtastsd.yaml")
        if not files:
            with open(self.config, "w") as f:
                f.write(header(self.port, self.admin, 0))
                for i in range(n):
                    text, name = mix_entry(i)
                    f.write(text)
                    self.names.append(name)
            return
        with open(self.config, "w") as f:
            f.write(header(self.port, self.admin, files))
        os.makedirs(os.path.join(self.dir, "domains.d"))
        per = n // files
        for k in range(files):
            self.write_tenant(k, range(k * per, (k + 1) * per if k < files - 1 else n))

    def tenant_path(self, k):
        return os.path.join(self.dir, "domains.d", f"tenant-{k:05d}.yaml")

    def write_tenant(self, k, indices, edit=None):
        """Write tenant file K atomically (a dot-file renamed into place, as automation does)."""
        tmp = os.path.join(self.dir, "domains.d", f".tenant-{k:05d}.tmp")
        with open(tmp, "w") as f:
            for i in indices:
                text, name = mix_entry(i)
                if i == edit:
                    text = f"  - name: {name}\n    mode: enforce\n    max_age: 1234567\n"
                f.write(text)
                if edit is None and len(self.names) < self.n:
                    self.names.append(name)
        os.rename(tmp, self.tenant_path(k))


class Server:
    def __init__(self, binary, layout):
        self.bin, self.lay = binary, layout
        self.log = open(os.path.join(layout.dir, "serve.log"), "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([binary, "-c", layout.config, "serve"], stdout=subprocess.DEVNULL,
                                     stderr=self.log, cwd=layout.dir)

    def get(self, name, timeout=2):
        req = urllib.request.Request(f"http://127.0.0.1:{self.lay.port}/.well-known/mta-sts.txt",
                                     headers={"Host": host_of(name)})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, b""
        except OSError:
            return 0, b""

    def wait(self, pred, limit=600):
        """Poll PRED every 10 ms; seconds until it held, or None."""
        return wait_until(pred, limit, interval=0.01, proc=self.proc)

    def metric(self, name):
        """A metric's value (float), None when the page has no such line, -1 when it cannot be read."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.lay.admin}/metrics", timeout=5) as r:
                m = re.search(rb'^' + re.escape(name.encode()) + rb' ([0-9.]+)$', r.read(), re.M)
                return float(m.group(1)) if m else None
        except OSError:
            return -1

    def reloads_ok(self):
        v = self.metric('mtastsd_reloads_total{result="ok"}')
        return int(v) if v is not None else 0

    def published(self, n):
        """Wait until N publications are counted (builds without the metric: half a second); its seconds."""
        if self.metric("mtastsd_dns_publications_total") is None:
            time.sleep(0.5)
            return None
        self.wait(lambda: (self.metric("mtastsd_dns_publications_total") or 0) >= n)
        return self.metric("mtastsd_dns_publish_seconds")

    def rss_mib(self):
        return rss_kib(self.proc.pid) / 1024

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def idle(self, limit=120):
        """Wait until the server uses under 5% of a CPU over half a second: the work a step set off
        (a publication after a reload) is done, for builds with and without the publication metric."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            c0 = self.cpu_s()
            time.sleep(0.5)
            if self.cpu_s() - c0 < 0.025:
                return

    def settled_rss_mib(self, limit=10):
        """RSS once it holds still: freed memory goes back to the system a little after the work that
        freed it (the last reference to an old snapshot may be a request's, the trim takes a while)."""
        prev, t0 = self.rss_mib(), time.monotonic()
        while time.monotonic() - t0 < limit:
            time.sleep(0.5)
            cur = self.rss_mib()
            if abs(cur - prev) <= 0.01 * prev:
                return cur
            prev = cur
        return prev

    def stop(self):
        stop_process(self.proc, timeout=60)
        self.log.close()


def supported(binary, lay):
    r = subprocess.run([binary, "-c", lay.config, "check"], capture_output=True, text=True, cwd=lay.dir)
    return r.returncode in (0, 3), r.stdout + r.stderr


def measure_check(binary, lay):
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "-c", lay.config, "check"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=lay.dir)
    _, status, ru = os.wait4(p.pid, 0)
    return time.monotonic() - t0, ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime


def run_one(binary, lay, reloads):
    """Every figure of one binary on one layout; returns a dict (None values: not measured)."""
    out = {}
    out["check_s"], out["check_rss_mib"], out["check_cpu_s"] = measure_check(binary, lay)
    srv = Server(binary, lay)
    last = lay.names[-1]
    try:
        ready = srv.wait(lambda: srv.get(last)[0] == 200)
        if ready is None:
            raise RuntimeError(f"{binary} never served {last}; log in {lay.dir}/serve.log")
        out["startup_s"] = time.monotonic() - srv.t0
        out["startup_cpu_s"] = srv.cpu_s()
        out["rss_ready_mib"] = srv.rss_mib()
        logp = os.path.join(lay.dir, "serve.log")
        srv.wait(lambda: "dns zone " in open(logp, errors="replace").read(), limit=120)
        out["rss_started_mib"] = srv.settled_rss_mib()
        times, cpus = [], []
        for _ in range(reloads):
            # each from a quiet server: otherwise the previous reload's publication is timed with it
            srv.idle()
            before = srv.reloads_ok()
            t0, c0 = time.monotonic(), srv.cpu_s()
            srv.proc.send_signal(signal.SIGHUP)
            if srv.wait(lambda: srv.reloads_ok() > before) is None:
                raise RuntimeError(f"{binary}: a full reload was not counted; log in {lay.dir}/serve.log")
            times.append(time.monotonic() - t0)
            cpus.append(srv.cpu_s() - c0)
        out["reload_s"] = statistics.median(times)
        out["reload_cpu_s"] = statistics.median(cpus)
        out["reload_runs"] = times
        # the last reload's publication (zone, state) runs after it is counted: measured once it is done
        out["publish_s"] = srv.published(1 + reloads)
        out["rss_reloads_mib"] = srv.settled_rss_mib()
        # the bar: within 1.25 times the figure after start-up
        out["rss_flat_ratio"] = out["rss_reloads_mib"] / out["rss_started_mib"]
        if lay.files:
            per = lay.n // lay.files
            # a new tenant: a file of PER new domains, its last one must answer
            k = lay.files
            idx = range(lay.n, lay.n + per)
            newest = mix_entry(idx[-1])[1]
            srv.idle()
            t0 = time.monotonic()
            lay.write_tenant(k, idx)
            ok = srv.wait(lambda: srv.get(newest)[0] == 200, limit=120)
            out["add_file_s"] = None if ok is None else time.monotonic() - t0
            # a changed tenant: one domain of file 0 gets mode enforce and max_age 1234567
            target = mix_entry(0)[1]
            srv.idle()
            t0 = time.monotonic()
            lay.write_tenant(0, range(0, per), edit=0)
            ok = srv.wait(lambda: b"max_age: 1234567" in srv.get(target)[1], limit=120)
            out["change_file_s"] = None if ok is None else time.monotonic() - t0
            # once the change's publication is done too: mid-way, its zone and state are still in memory
            srv.idle()
            out["rss_after_files_mib"] = srv.settled_rss_mib()
            # put the layout back for the next binary
            os.unlink(lay.tenant_path(k))
            lay.write_tenant(0, range(0, per))
    finally:
        srv.stop()
    # the next server starts from the same state: ids assigned by this one are not its business
    shutil.rmtree(os.path.join(lay.dir, "state"))
    os.makedirs(os.path.join(lay.dir, "state"))
    return out


FIGURES = [("startup_s", "start-up to first answer", "s"),
           ("startup_cpu_s", "start-up CPU at first answer", "cpu-s"), ("rss_ready_mib", "RSS when ready", "MiB"),
           ("rss_started_mib", "RSS after start-up", "MiB"),
           ("reload_s", "full reload (median)", "s"),
           ("reload_cpu_s", "full reload CPU (median)", "cpu-s"),
           ("publish_s", "publish after a reload", "s"), ("rss_reloads_mib", "RSS after reloads", "MiB"),
           ("rss_flat_ratio", "RSS reloads / start-up", "x"),
           ("add_file_s", "one tenant file added", "s"), ("change_file_s", "one tenant file changed", "s"),
           ("rss_after_files_mib", "RSS after file changes", "MiB"),
           ("check_s", "check", "s"), ("check_cpu_s", "check CPU", "cpu-s"), ("check_rss_mib", "check peak RSS", "MiB")]


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench tenants")
    ap.add_argument("-n", type=int, default=1000000, help="domains (default 1,000,000)")
    ap.add_argument("-f", type=int, default=1000,
                    help="tenant files of the second layout (default 1,000; 0: the one-file layout only)")
    ap.add_argument("-R", type=int, default=1, help="rounds (default 1)")
    ap.add_argument("--reloads", type=int, default=5, help="full reloads per run (default 5)")
    ap.add_argument("--vs", metavar="BINARY", help="an earlier mtastsd build, measured beside this one")
    ap.add_argument("-o", default="bench-tenants.json", help="raw results (default bench-tenants.json)")
    ap.add_argument("binary")
    a = ap.parse_args()
    bins = {"this": os.path.abspath(a.binary)}
    if a.vs:
        bins["before"] = os.path.abspath(a.vs)
    root = tempfile.mkdtemp(prefix="mtastsd-tenants.")
    results = {}
    try:
        files = f" and {a.f} files" if a.f else ""
        print(f"== bench tenants: {a.n} domains, one file{files}, {a.R} round(s), {a.reloads} reloads per run",
              flush=True)
        layouts = [Layout(root, a.n, 0)] + ([Layout(root, a.n, a.f)] if a.f > 0 else [])
        for lay in layouts:
            key = "one file" if not lay.files else f"{lay.files} files"
            order = list(bins)
            for r in range(a.R):
                for which in (order if r % 2 == 0 else order[::-1]):
                    ok, why = supported(bins[which], lay)
                    if not ok:
                        results.setdefault((key, which), []).append(None)
                        print(f"  {which}: {key} refused ({why.strip().splitlines()[0] if why.strip() else '?'})")
                        continue
                    res = run_one(bins[which], lay, a.reloads)
                    results.setdefault((key, which), []).append(res)
                    print(f"  {which}, {key}, round {r + 1}: " +
                          ", ".join(f"{k}={v:.2f}" for k, v in res.items() if isinstance(v, float)))
    finally:
        if os.environ.get("KEEP") == "1":
            print(f"files kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    def med(key, which, fig):
        vals = [r[fig] for r in results.get((key, which), []) if r and r.get(fig) is not None]
        return statistics.median(vals) if vals else None

    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"
    cols = list(bins)
    print(f"\n{'figure':28} {'layout':>11} " + " ".join(f"{c:>9}" for c in cols) +
          (f" {'ratio':>6}" if a.vs else ""))
    table = []
    for key in ["one file", f"{a.f} files"]:
        for fig, label, unit in FIGURES:
            vals = [med(key, c, fig) for c in cols]
            if all(v is None for v in vals):
                continue
            ratio = (vals[0] / vals[1]) if a.vs and vals[0] is not None and vals[1] else None
            print(f"{label + ' (' + unit + ')':28} {key:>11} " + " ".join(f"{fmt(v):>9}" for v in vals) +
                  (f" {fmt(ratio):>6}" if a.vs else ""))
            table.append({"layout": key, "figure": fig, **dict(zip(cols, vals)), "ratio": ratio})
    with open(a.o, "w") as f:
        json.dump({"n": a.n, "files": a.f, "table": table,
                   "runs": {f"{k[0]}/{k[1]}": v for k, v in results.items()}}, f, indent=1)
    print(f"\nresults written to {a.o}")
    # a run that measured nothing for this build is a failure of the benchmark, not a figure
    return 0 if any(results.get(("one file", "this"), [])) else 1


if __name__ == "__main__":
    sys.exit(main())
