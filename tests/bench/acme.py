#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts/bench acme: what ACME costs mtastsd, measured against pebble.

issue     N policy hosts (default 1,000) ordered by serve's orderer from pebble, from exec to the
          last certificate issued (mtastsd_acme_orders_total{result="issued"} = N) and to the
          last name served over HTTPS with a chain that verifies to pebble's root. pebble runs
          with PEBBLE_VA_ALWAYS_VALID=1 and PEBBLE_VA_NOSLEEP=1 (it validates nothing and never
          sleeps: what is timed is mtastsd's side of every order plus pebble's own work) and
          PEBBLE_WFE_NONCEREJECT=0 (no nonce is refused on purpose); acme.pacing is
          {burst: 10000, period: 1}, so pacing never waits. Reported: wall seconds, names per
          second, and the CPU seconds of mtastsd and of pebble over the run (user + system, all
          threads, from /proc/PID/stat). A fresh pebble and storage every round; the orderer's
          DNS gate finds the names in an /etc/hosts of serve's own mount namespace (unshare, root).
start-up  the N pairs the last round issued, served two ways side by side: "acme", the storage
          folder as the orderer left it (state: every name valid; order: true, so the orderer
          starts, plans and orders nothing), and "files", the same pairs copied into tls.certs as
          NAME.crt + NAME.key with no acme section. Each start is timed from exec to the first
          correct answer over HTTPS for the last name (its chain verified), with the resident
          memory then and once it holds still. One untimed start of each first; then R rounds
          alternating acme files / files acme; medians, and the median of the per-round ratios.
Raw rows go to -o FILE (JSON).
"""
import argparse
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True  # run from the source tree by scripts/bench: no __pycache__ there
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
from mtastsd_test import free_port, rss_kib, stop_process, wait_until  # noqa: E402

WK = "/.well-known/mta-sts.txt"


def cpu_s(pid):
    """User + system CPU seconds of process PID, all its threads (not its reaped children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def domains(n):
    return [f"customer-{i}.example.com" for i in range(n)]


def https_ok(port, host, cafile):
    """GET the policy of HOST over TLS (SNI HOST, chain verified with CAFILE); True on a 200."""
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as s:
                s.sendall(f"GET {WK} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                return s.recv(64).startswith(b"HTTP/1.1 200")
    except (OSError, ssl.SSLError):
        return False


def metric(admin, name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                k, _, v = line.rpartition(" ")
                if k == name:
                    return float(v)
    except OSError:
        return None
    return None


def settled_rss_mib(pid, limit=10):
    """RSS once it holds still: two readings half a second apart within 1%, at most LIMIT s."""
    prev, t0 = rss_kib(pid) / 1024, time.monotonic()
    while time.monotonic() - t0 < limit:
        time.sleep(0.5)
        cur = rss_kib(pid) / 1024
        if abs(cur - prev) <= 0.01 * prev:
            return cur
        prev = cur
    return prev


class Pebble:
    def __init__(self, root):
        self.dir = os.path.join(root, "pebble")
        os.makedirs(self.dir, exist_ok=True)
        self.crt, self.key = os.path.join(self.dir, "pebble.crt"), os.path.join(self.dir, "pebble.key")
        if not os.path.exists(self.crt):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
                            "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", self.key, "-out", self.crt],
                           check=True, capture_output=True)
        self.port, self.mgmt = free_port(), free_port()
        conf = os.path.join(self.dir, "pebble.json")
        with open(conf, "w") as f:
            json.dump({"pebble": {"listenAddress": f"127.0.0.1:{self.port}",
                                  "managementListenAddress": f"127.0.0.1:{self.mgmt}",
                                  "certificate": self.crt, "privateKey": self.key,
                                  "httpPort": free_port(), "tlsPort": free_port(), "ocspResponderURL": "",
                                  "externalAccountBindingRequired": False}}, f)
        env = dict(os.environ, PEBBLE_VA_ALWAYS_VALID="1", PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        self.log = open(os.path.join(self.dir, "pebble.log"), "a")
        self.proc = subprocess.Popen(["pebble", "-config", conf], env=env, stdout=self.log, stderr=self.log)
        self.directory = f"https://localhost:{self.port}/dir"
        ctx = ssl.create_default_context(cafile=self.crt)

        def up():
            try:
                urllib.request.urlopen(self.directory, timeout=2, context=ctx).read()
                return True
            except OSError:
                return False
        if wait_until(up, 30, proc=self.proc) is None:
            raise RuntimeError(f"pebble did not start; log in {self.dir}/pebble.log")
        self.root = os.path.join(self.dir, "root.pem")
        with urllib.request.urlopen(f"https://localhost:{self.mgmt}/roots/0", timeout=5, context=ctx) as r, \
                open(self.root, "wb") as f:
            f.write(r.read())

    def stop(self):
        stop_process(self.proc)
        self.log.close()


def head(port, admin, certs):
    return (f'listen:\n  https: ["127.0.0.1:{port}"]\n  http: []\n  admin: "127.0.0.1:{admin}"\n'
            f"tls:\n  certs: {certs}\n"
            "dns:\n  state: state/mtastsd.state\n  zone: state/mta-sts.zone\n")


def tail(names):
    return ("defaults:\n  mode: testing\n  mx: [mx1.provider.example.net]\ndomains:\n" +
            "".join(f"  - {d}\n" for d in names))


def acme_section(directory, ca_file, storage):
    return (f"acme:\n  directory: {directory}\n  ca_file: {ca_file}\n  agree_terms: true\n"
            f"  storage: {storage}\n  order: true\n  challenges: [tls-alpn-01]\n"
            "  pacing: {burst: 10000, period: 1}\n")


def issue_round(binary, root, n, r):
    """One round of the issue figure; returns its row and the folder it issued into."""
    names = domains(n)
    d = os.path.join(root, f"issue-{r}")
    for sub in ("certs", "state"):
        os.makedirs(os.path.join(d, sub))
    hosts = os.path.join(d, "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n" + "".join(f"127.0.0.1 mta-sts.{x}\n" for x in names))
    peb = Pebble(root)
    port, admin = free_port(), free_port()
    cfg = os.path.join(d, "mtastsd.yaml")
    with open(cfg, "w") as f:
        f.write(head(port, admin, os.path.join(d, "certs") + "/") +
                acme_section(peb.directory, peb.crt, os.path.join(d, "acme")) + tail(names))
    log = open(os.path.join(d, "serve.log"), "w")
    peb_cpu0 = cpu_s(peb.proc.pid)
    t0 = time.monotonic()
    # serve in a mount namespace of its own whose /etc/hosts names every policy host
    proc = subprocess.Popen(["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
                             hosts, binary, "-c", cfg, "serve"], stdout=subprocess.DEVNULL, stderr=log, cwd=d)
    row = {"round": r + 1, "n": n}
    try:
        if wait_until(lambda: comm(proc.pid) == os.path.basename(binary)[:15], 10, interval=0.005, proc=proc) is None:
            raise RuntimeError(f"serve did not start; log in {d}/serve.log")
        issued = lambda: (metric(admin, 'mtastsd_acme_orders_total{result="issued"}') or 0) >= n
        if wait_until(issued, 120 + 2 * n, interval=0.1, proc=proc) is None:
            raise RuntimeError(f"not all {n} names were issued; log in {d}/serve.log")
        row["issued_s"] = time.monotonic() - t0
        row["mtastsd_cpu_s"] = cpu_s(proc.pid)
        row["pebble_cpu_s"] = cpu_s(peb.proc.pid) - peb_cpu0
        last = f"mta-sts.{names[-1]}"
        if wait_until(lambda: https_ok(port, last, peb.root), 60, interval=0.01, proc=proc) is None:
            raise RuntimeError(f"{last} was issued but is not served; log in {d}/serve.log")
        row["served_s"] = time.monotonic() - t0
        row["failed"] = int(metric(admin, 'mtastsd_acme_orders_total{result="failed"}') or 0)
        row["names_per_s"] = n / row["issued_s"]
        row["cpu_ms_per_name"] = 1000 * row["mtastsd_cpu_s"] / n
        row["pebble_cpu_ms_per_name"] = 1000 * row["pebble_cpu_s"] / n
    finally:
        stop_process(proc, timeout=30)
        log.close()
        peb.stop()
    # pebble's root for the start-up figure: that pebble's chains verify to it
    shutil.copy(peb.root, os.path.join(d, "root.pem"))
    return row, d


class Layout:
    """The start-up figure's two folders: acme (the storage) and files (the pairs in tls.certs)."""

    def __init__(self, root, kind, issued, names):
        self.kind, self.names = kind, names
        self.dir = os.path.join(root, f"start-{kind}")
        os.makedirs(os.path.join(self.dir, "certs"))
        self.port, self.admin = free_port(), free_port()
        self.cfg = os.path.join(self.dir, "mtastsd.yaml")
        self.root = os.path.join(issued, "root.pem")
        acme = ""
        if kind == "acme":
            storage = os.path.join(self.dir, "acme")
            shutil.copytree(os.path.join(issued, "acme"), storage)
            # the directory is never reached: every name is valid and nothing is ordered
            acme = acme_section(f"https://localhost:{free_port()}/dir", os.path.join(root, "pebble", "pebble.crt"),
                                storage)
        else:
            src = os.path.join(issued, "acme", "certs")
            for x in sorted(os.listdir(src)):
                if not x.startswith("."):
                    shutil.copy2(os.path.join(src, x), os.path.join(self.dir, "certs", x))
        with open(self.cfg, "w") as f:
            f.write(head(self.port, self.admin, os.path.join(self.dir, "certs") + "/") + acme + tail(names))

    def start(self):
        """One start: seconds to the last name's first correct answer, CPU then, RSS then and settled."""
        shutil.rmtree(os.path.join(self.dir, "state"), ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "state"))
        log = open(os.path.join(self.dir, "serve.log"), "w")
        last = f"mta-sts.{self.names[-1]}"
        t0 = time.monotonic()
        proc = subprocess.Popen([BINARY, "-c", self.cfg, "serve"],
                                stdout=subprocess.DEVNULL, stderr=log, cwd=self.dir)
        try:
            if wait_until(lambda: https_ok(self.port, last, self.root), 60, interval=0.005, proc=proc) is None:
                raise RuntimeError(f"{self.kind}: {last} never served; log in {self.dir}/serve.log")
            row = {"startup_s": time.monotonic() - t0, "startup_cpu_s": cpu_s(proc.pid),
                   "rss_ready_mib": rss_kib(proc.pid) / 1024}
            row["rss_settled_mib"] = settled_rss_mib(proc.pid)
            # every name served, with its own certificate (not only the last)
            row["all_served"] = all(https_ok(self.port, f"mta-sts.{x}", self.root) for x in self.names[::97])
        finally:
            stop_process(proc, timeout=30)
            log.close()
        return row


BINARY = ""


def main():
    global BINARY
    ap = argparse.ArgumentParser(prog="scripts/bench acme")
    ap.add_argument("-n", type=int, default=1000, help="policy hosts (default 1,000)")
    ap.add_argument("-R", type=int, default=3, help="issue rounds, each against a fresh pebble (default 3)")
    ap.add_argument("-S", type=int, default=5, help="start-up rounds, acme and files alternating (default 5)")
    ap.add_argument("-o", default="bench-acme.json", help="raw results (default bench-acme.json)")
    ap.add_argument("binary")
    a = ap.parse_args()
    BINARY = os.path.abspath(a.binary)
    for tool in ("pebble", "unshare", "openssl"):
        if shutil.which(tool) is None:
            print(f"bench acme: {tool} is missing (scripts/install-deps)", file=sys.stderr)
            return 1
    if os.geteuid() != 0:
        print("bench acme: needs root (serve's DNS gate reads an /etc/hosts of its own mount namespace)",
              file=sys.stderr)
        return 1
    root = tempfile.mkdtemp(prefix="mtastsd-acme.")
    out = {"n": a.n, "issue": [], "startup": {"acme": [], "files": []}}
    try:
        print(f"== bench acme: {a.n} names, {a.R} issue round(s) against pebble, {a.S} start-up round(s)", flush=True)
        issued = None
        for r in range(a.R):
            row, issued = issue_round(BINARY, root, a.n, r)
            out["issue"].append(row)
            print(f"  issue, round {r + 1}: " + ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                                                     for k, v in row.items() if k not in ("round", "n")), flush=True)
        names = domains(a.n)
        lays = {k: Layout(root, k, issued, names) for k in ("acme", "files")}
        for k in ("acme", "files"):  # untimed: the page cache as a restart finds it
            lays[k].start()
        for r in range(a.S):
            for k in (("acme", "files") if r % 2 == 0 else ("files", "acme")):
                row = lays[k].start()
                row["round"] = r + 1
                out["startup"][k].append(row)
                print(f"  start-up {k}, round {r + 1}: " +
                      ", ".join(f"{x}={v:.3f}" if isinstance(v, float) else f"{x}={v}" for x, v in row.items()
                                if x != "round"), flush=True)
    finally:
        if os.environ.get("KEEP") == "1":
            print(f"files kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    med = lambda rows, k: statistics.median(x[k] for x in rows)
    iss = out["issue"]
    print(f"\nissue {a.n} names against pebble (median of {len(iss)} rounds; per round: "
          + ", ".join(f"{x['issued_s']:.1f}" for x in iss) + " s)")
    summary = {"issue": {k: med(iss, k) for k in ("issued_s", "served_s", "names_per_s", "mtastsd_cpu_s",
                                                   "pebble_cpu_s", "cpu_ms_per_name", "pebble_cpu_ms_per_name")}}
    s = summary["issue"]
    print(f"  wall to the last issued        {s['issued_s']:8.1f} s   ({s['names_per_s']:.1f} names/s)")
    print(f"  wall to the last served        {s['served_s']:8.1f} s")
    print(f"  mtastsd CPU                    {s['mtastsd_cpu_s']:8.1f} s   ({s['cpu_ms_per_name']:.1f} ms a name)")
    print(f"  pebble CPU                     {s['pebble_cpu_s']:8.1f} s   ({s['pebble_cpu_ms_per_name']:.1f} ms a name)")
    print(f"  mtastsd / pebble CPU           {s['mtastsd_cpu_s'] / s['pebble_cpu_s']:8.2f}")
    print(f"  failed orders                  {sum(x['failed'] for x in iss):8d}")
    st = out["startup"]
    print(f"\nstart-up with {a.n} pairs (median of {a.S} rounds, ratio: median of the per-round ratios)")
    print(f"  {'figure':26} {'acme':>9} {'files':>9} {'acme/files':>10}")
    summary["startup"] = {}
    for k, label in (("startup_s", "start-up to answer (s)"), ("startup_cpu_s", "CPU at the answer (s)"),
                     ("rss_ready_mib", "RSS at the answer (MiB)"), ("rss_settled_mib", "RSS settled (MiB)")):
        ma, mf = med(st["acme"], k), med(st["files"], k)
        ratios = [x[k] / y[k] for x, y in zip(st["acme"], st["files"]) if y[k]]
        ratio = statistics.median(ratios) if ratios else None
        summary["startup"][k] = {"acme": ma, "files": mf, "ratio": ratio}
        print(f"  {label:26} {ma:9.3f} {mf:9.3f} " + (f"{ratio:10.2f}" if ratio is not None else f"{'n/a':>10}"))
    ok = all(x["all_served"] for rows in st.values() for x in rows)
    print(f"  every sampled name served with its certificate: {'yes' if ok else 'NO'}")
    out["summary"] = summary
    with open(a.o, "w") as f:
        json.dump(out, f, indent=1)
    print(f"\nresults written to {a.o}")
    return 0 if ok and not sum(x["failed"] for x in iss) else 1


if __name__ == "__main__":
    sys.exit(main())
