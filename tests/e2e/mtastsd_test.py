# SPDX-License-Identifier: MIT
"""The Python tests' harness (reliability tests, benchmarks): the real server, a test CA, ports, waits."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

# from ctest; a benchmark passes its binary itself
MTASTSD = os.environ.get("MTASTSD", "")
ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(pred, timeout, interval=0.05, proc=None):
    """Call PRED every INTERVAL seconds until it returns true or TIMEOUT seconds pass (sooner when
    the process PROC has exited); the seconds it took, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            return None
        if pred():
            return time.monotonic() - t0
        time.sleep(interval)
    return None


def stop_process(proc, timeout=15):
    """SIGTERM, then SIGKILL after TIMEOUT seconds; its exit status (-9 when killed)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def rss_kib(pid):
    """The resident set size of process PID in KiB."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def write_atomic(path, text):
    """Write TEXT to PATH by renaming a temporary file over it, as editors and automation do."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def read_bytes(path):
    """The contents of PATH, or None when it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, cond, what):
        print(("PASS " if cond else "FAIL ") + what, flush=True)
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        return cond

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(0 if self.failed == 0 else 1)


class Server:
    """The real mtastsd serving DOMAINS with certificates from a test CA."""

    def __init__(self, domains, limits="", extra="", listen=None):
        self.dir = tempfile.mkdtemp(prefix="mtastsd-rel.")
        self.domains = domains
        self.certs = os.path.join(self.dir, "certs")
        subprocess.run([os.path.join(ROOT, "scripts/gen-dev-certs"), "-o", self.certs, *domains],
                       check=True, stdout=subprocess.DEVNULL)
        self.ca = os.path.join(self.certs, "ca.crt")
        # the CA key must not sit in the scanned folder as an unpaired key; move it out
        shutil.move(os.path.join(self.certs, "ca.key"), os.path.join(self.dir, "ca.key"))
        self.port, self.http_port, self.admin_port = free_port(), free_port(), free_port()
        self.limits = limits
        self.extra = extra
        self.listen = listen      # a function of self returning the listen: block, or None
        self.config = os.path.join(self.dir, "mtastsd.yaml")
        self.write_config(domains)
        self.proc = None

    def write_config(self, domains, mode="enforce", max_age=604800, broken=False):
        listen = self.listen(self) if self.listen else "\n".join([
            "listen:",
            f'  https: ["127.0.0.1:{self.port}"]',
            f'  http: ["127.0.0.1:{self.http_port}"]',
            f'  admin: "127.0.0.1:{self.admin_port}"'])
        lines = [
            listen,
            "tls: {certs: certs/}",
            "dns: {state: state/mtastsd.state, zone: state/zone}",
            self.limits,
            self.extra,
            "domains:",
        ]
        for d in domains:
            lines.append(f"  - {{name: {d}, mode: {mode}, max_age: {max_age}, mx: [mail.{d}, backup.{d}]}}")
        if broken:
            lines.append("  - {name: broken.example, mode: enforce}  # no mx: invalid")
        write_atomic(self.config, "\n".join(l for l in lines if l) + "\n")

    def start(self, probe=None):
        """Start the server; wait until PROBE() (default: a GET of the first domain) returns 200."""
        self.log = open(os.path.join(self.dir, "serve.log"), "w")
        self.proc = subprocess.Popen([MTASTSD, "-c", self.config, "serve"], stderr=self.log,
                                     stdout=subprocess.DEVNULL)
        def up():
            try:
                status, _, _ = probe() if probe else self.get(self.domains[0])
                return status == 200
            except OSError:
                return False
        if wait_until(up, 20, proc=self.proc) is not None:
            return
        raise RuntimeError("server did not start: " + open(self.log.name).read()[-2000:])

    def context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        return ctx

    def get(self, domain, method="GET", timeout=5, source=None, port=None):
        """One request on a fresh TLS connection: (status, headers, body)."""
        host = f"mta-sts.{domain}"
        raw = socket.create_connection(("127.0.0.1", port or self.port), timeout=timeout,
                                       source_address=(source, 0) if source else None)
        with self.context().wrap_socket(raw, server_hostname=host) as s:
            s.sendall(f"{method} /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\n"
                      "Connection: close\r\n\r\n".encode())
            return parse_response(read_all(s))

    def admin(self, path):
        with socket.create_connection(("127.0.0.1", self.admin_port), timeout=5) as s:
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
            return parse_response(read_all(s))

    def metric(self, name):
        _, _, body = self.admin("/metrics")
        total = 0.0
        for line in body.decode().splitlines():
            if line.startswith(name):
                total += float(line.split()[-1])
        return total

    def rss_kib(self):
        return rss_kib(self.proc.pid)

    def wait_log(self, text, timeout=5):
        """Wait until TEXT appears in the server's log; whether it did."""
        return wait_until(lambda: text in self.log_text(), timeout) is not None

    def log_text(self):
        with open(self.log.name) as f:
            return f.read()

    def expected_body(self, domain, mode="enforce", max_age=604800):
        return (f"version: STSv1\r\nmode: {mode}\r\nmx: mail.{domain}\r\nmx: backup.{domain}\r\n"
                f"max_age: {max_age}\r\n").encode()

    def stop(self):
        return stop_process(self.proc) if self.proc else None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def read_all(sock, tolerate=()):
    """Everything SOCK sends until it closes (or, with TOLERATE, raises one of those exceptions)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except tolerate:
            return data
        if not chunk:
            return data
        data += chunk


def parse_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        return 0, {}, b""
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body
