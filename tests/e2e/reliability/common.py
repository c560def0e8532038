# SPDX-License-Identifier: MIT
"""Shared pieces of the reliability tests: a test CA, a config, the real server."""
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

MTASTSD = os.environ["MTASTSD"]
ROOT = os.environ["SOURCE_ROOT"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(l for l in lines if l) + "\n")
        os.rename(tmp, self.config)

    def start(self, probe=None):
        """Start the server; wait until PROBE() (default: a GET of the first domain) returns 200."""
        self.log = open(os.path.join(self.dir, "serve.log"), "w")
        self.proc = subprocess.Popen([MTASTSD, "-c", self.config, "serve"], stderr=self.log,
                                     stdout=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                status, _, _ = probe() if probe else self.get(self.domains[0])
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
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
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def expected_body(self, domain, mode="enforce", max_age=604800):
        return (f"version: STSv1\r\nmode: {mode}\r\nmx: mail.{domain}\r\nmx: backup.{domain}\r\n"
                f"max_age: {max_age}\r\n").encode()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return -9
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def read_all(sock):
    """Everything SOCK sends until it closes."""
    data = b""
    while True:
        chunk = sock.recv(65536)
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
