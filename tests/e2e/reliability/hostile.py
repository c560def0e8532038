# SPDX-License-Identifier: MIT
"""Hostile clients: idle and slow connections by the thousand, oversized headers, garbage
instead of a ClientHello, unknown or missing SNI, non-ASCII and overlong Host headers,
pipelined requests. Each gets a bounded, correct answer or is closed, and a well-behaved
client is still served meanwhile."""
import os
import resource
import select
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/e2e
from mtastsd_test import Results, Server, read_all  # noqa: E402

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def count_closed(socks, wait):
    """How many of SOCKS the server closes within WAIT seconds (a TLS alert before the close counts)."""
    poller = select.poll()
    by_fd = {}
    for s in socks:
        poller.register(s, select.POLLIN)
        by_fd[s.fileno()] = s
    closed = 0
    deadline = time.time() + wait
    while by_fd and time.time() < deadline:
        for fd, _ in poller.poll(max(0, int((deadline - time.time()) * 1000))):
            try:
                eof = by_fd[fd].recv(65536) == b""
            except (ConnectionResetError, OSError):
                eof = True
            if eof:
                poller.unregister(fd)
                del by_fd[fd]
                closed += 1
    return closed


r = Results()
srv = Server(["example.com", "example.org"],
             limits="limits: {connection_timeout: 3, max_connections: 6000, max_connections_per_ip: 64}")
try:
    srv.start()
    good = srv.expected_body("example.com")

    def well_behaved(what):
        t0 = time.time()
        try:
            status, _, body = srv.get("example.com", timeout=10)
        except OSError as e:
            status, body = 0, str(e).encode()
        took = time.time() - t0
        r.check(status == 200 and body == good and took < 3,
                f"{what}: a well-behaved client is served ({status}, {took * 1000:.0f} ms)")

    well_behaved("baseline")

    # --- thousands of idle connections from many addresses (each under the per-IP limit)
    idle = []
    for a in range(40):
        for _ in range(50):
            s = socket.socket()
            s.setblocking(True)
            s.settimeout(5)
            try:
                s.bind((f"127.0.1.{a + 1}", 0))
                s.connect(("127.0.0.1", srv.port))
                idle.append(s)
            except OSError:
                s.close()
    held = len(idle)
    r.check(held >= 1900, f"slowloris: {held} idle TLS connections opened")
    # slow senders: a request trickled a byte at a time
    slow = []
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", srv.http_port), source_address=("127.0.2.1", 0))
        s.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHo")
        slow.append(s)
    well_behaved(f"with {held} idle and 20 slow connections held")
    # every one of them is closed once connection_timeout (3 s) has passed
    time.sleep(4.5)
    closed = count_closed(idle + slow, 3)
    for s in idle + slow:
        s.close()
    r.check(closed == len(idle) + len(slow),
            f"slowloris: {closed} of {len(idle) + len(slow)} idle/slow connections closed by the timeout")
    well_behaved("after the idle connections")

    # --- the per-IP limit: one address at its limit does not block another
    hog = []
    for _ in range(100):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        try:
            s.connect(("127.0.0.1", srv.http_port))
            hog.append(s)
        except OSError:
            s.close()
    refused = count_closed(hog, 1)
    r.check(100 - 64 <= refused < 100,
            f"per-IP limit: {refused} of 100 connections from one address closed at once, the rest held")
    status, _, body = srv.get("example.com", source="127.0.0.3")
    r.check(status == 200 and body == good, "per-IP limit: another address is still served")
    for s in hog:
        s.close()

    # --- oversized headers: a bounded answer (431/400/413) or a close, quickly
    def plain(payload, timeout=5):
        with socket.create_connection(("127.0.0.1", srv.http_port), timeout=timeout) as s:
            try:
                s.sendall(payload)
            except OSError:
                pass
            return read_all(s, tolerate=(ConnectionResetError, socket.timeout))
    t0 = time.time()
    data = plain(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nX-Big: "
                 + b"a" * 200000 + b"\r\n\r\n")
    status = int(data.split()[1]) if data.startswith(b"HTTP/") else 0
    r.check(status in (0, 400, 413, 431) and time.time() - t0 < 5,
            f"oversized header: answered {status or 'with a close'} in {(time.time() - t0) * 1000:.0f} ms")

    # --- garbage instead of a ClientHello
    t0 = time.time()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=6) as s:
        s.sendall(os.urandom(4096))
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
    r.check(time.time() - t0 < 5, f"garbage ClientHello: connection closed in {(time.time() - t0) * 1000:.0f} ms")

    # --- unknown SNI and missing SNI: the handshake is aborted
    for name, sni in (("unknown SNI", "mta-sts.unknown.example"), ("missing SNI", None)):
        ctx = ssl.create_default_context(cafile=srv.ca)
        ctx.check_hostname = False
        try:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname=sni) as s:
                    s.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n\r\n")
                    s.recv(100)
            aborted = False
        except (ssl.SSLError, ConnectionResetError) as e:
            aborted = True
            why = str(e)
        r.check(aborted, f"{name}: handshake aborted" + (f" ({why[:80]})" if aborted else ""))

    # --- non-ASCII and overlong Host headers
    for what, host in (("non-ASCII Host", "mta-sts.exämple.com".encode()),
                       ("overlong Host", b"mta-sts." + b"a" * 300 + b".com"),
                       ("control characters in Host", b"mta-sts.example.com\x01")):
        data = plain(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        status = int(data.split()[1]) if data.startswith(b"HTTP/") else 0
        r.check(status in (0, 400, 404), f"{what}: answered {status or 'with a close'}, not a policy")

    # --- pipelined requests over TLS: every one answered, in order
    ctx = srv.context()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="mta-sts.example.com") as s:
            req = b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n\r\n"
            head = b"HEAD /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n\r\n"
            last = (b"GET /nope HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n")
            s.sendall(req + head + req + last)
            data = read_all(s, tolerate=(ssl.SSLError, socket.timeout))
    statuses = [int(l.split()[1]) for l in data.split(b"\r\n") if l.startswith(b"HTTP/1.1 ")]
    r.check(statuses == [200, 200, 200, 404] and data.count(good) == 2,
            f"pipelining: 4 requests answered in order {statuses}, bodies only for GET")

    well_behaved("at the end")
    r.check(srv.metric('mtastsd_tls_handshake_failures_total{reason="unknown_sni"}') >= 2,
            "metrics: unknown and missing SNI counted as unknown_sni handshake failures")
    rc = srv.stop()
    r.check(rc == 0, f"SIGTERM: exit status {rc}")
finally:
    srv.cleanup()
r.finish()
