# SPDX-License-Identifier: MIT
"""Behind a real HAProxy: PROXY protocol v1 (send-proxy) and v2 (send-proxy-v2) in front of
TLS passthrough listeners, and TLS termination at HAProxy with X-Forwarded-For in front of a
plain-HTTP listener. mtastsd must see the test client's own address (127.0.0.2, 127.0.0.3) in
its access log and its per-IP limit; malformed, truncated, oversized and slow PROXY headers,
and headers from sources outside proxy_from, are closed without affecting other clients."""
import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/e2e
from mtastsd_test import Results, Server, free_port, parse_response, read_all, wait_until  # noqa: E402

r = Results()
if subprocess.run(["sh", "-c", "command -v haproxy"], capture_output=True).returncode != 0:
    print("skip: haproxy is not installed")
    raise SystemExit(77)

ports = {k: free_port() for k in ("p1", "p2", "ph", "h1", "h2", "hh", "direct")}


def listen_block(srv):
    return "\n".join([
        "listen:",
        "  https:",
        f'    - {{address: "127.0.0.1:{ports["p1"]}", proxy_protocol: true, proxy_from: ["127.0.0.1/32"]}}',
        f'    - {{address: "127.0.0.1:{ports["p2"]}", proxy_protocol: true, proxy_from: ["127.0.0.0/8"]}}',
        f'    - "127.0.0.1:{ports["direct"]}"',
        f'  http: ["127.0.0.1:{ports["ph"]}"]',
        f'  admin: "127.0.0.1:{srv.admin_port}"',
        '  trusted_proxies: ["127.0.0.1/32"]',
        "log: {access: true}",
    ])


srv = Server(["example.com", "example.org"], listen=listen_block,
             limits="limits: {max_connections_per_ip: 2, connection_timeout: 5}")
hap = None
try:
    # HAProxy: two passthrough frontends (v1, v2) and one TLS-terminating frontend
    pem = os.path.join(srv.dir, "haproxy.pem")
    with open(pem, "w") as f:
        for part in ("mta-sts.example.com.crt", "mta-sts.example.com.key"):
            f.write(open(os.path.join(srv.certs, part)).read())
    cfg = os.path.join(srv.dir, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(f"""global
  maxconn 1000
  stats socket {os.path.join(srv.dir, "haproxy.sock")} level user
defaults
  timeout connect 2s
  timeout client 20s
  timeout server 20s
frontend v1
  mode tcp
  bind 127.0.0.1:{ports["h1"]}
  default_backend b1
backend b1
  mode tcp
  server s1 127.0.0.1:{ports["p1"]} send-proxy
frontend v2
  mode tcp
  bind 127.0.0.1:{ports["h2"]}
  default_backend b2
backend b2
  mode tcp
  server s2 127.0.0.1:{ports["p2"]} send-proxy-v2
frontend term
  mode http
  bind 127.0.0.1:{ports["hh"]} ssl crt {pem}
  option forwardfor
  default_backend bh
backend bh
  mode http
  option httpchk GET /healthz
  server sh 127.0.0.1:{ports["ph"]} check inter 300 fall 1 rise 1
""")
    hap = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def probe():
        return srv.get("example.com", port=ports["direct"])
    srv.start(probe)

    def via(port, domain="example.com", source="127.0.0.2", timeout=5):
        try:
            return srv.get(domain, port=port, source=source, timeout=timeout)
        except OSError as e:
            return 0, {}, str(e).encode()

    wait_until(lambda: via(ports["h1"])[0] == 200, 10, interval=0.1)

    def access_clients():
        return re.findall(r"access client=(\S+) sni=(\S+)", open(srv.log.name).read())

    st, _, body = via(ports["h1"], source="127.0.0.2")
    r.check(st == 200 and body == srv.expected_body("example.com"), f"send-proxy (v1): policy fetched through HAProxy ({st})")
    st, _, body = via(ports["h2"], "example.org", source="127.0.0.3")
    r.check(st == 200 and body == srv.expected_body("example.org"), f"send-proxy-v2: policy fetched through HAProxy ({st})")
    time.sleep(0.2)
    seen = access_clients()
    r.check(("127.0.0.2", "mta-sts.example.com") in seen and ("127.0.0.3", "mta-sts.example.org") in seen,
            f"access log shows the clients' own addresses, not HAProxy's: {seen[-3:]}")

    # the README's health check on the traffic port of a plain-HTTP backend marks it UP
    import socket as _s

    def server_status():
        with _s.socket(_s.AF_UNIX) as u:
            u.connect(os.path.join(srv.dir, "haproxy.sock"))
            u.sendall(b"show stat\n")
            data = read_all(u)
        for line in data.decode().splitlines():
            f = line.split(",")
            if len(f) > 17 and f[0] == "bh" and f[1] == "sh":
                return f[17]
        return "?"
    wait_until(lambda: server_status().startswith("UP"), 10, interval=0.2)
    status = server_status()
    r.check(status.startswith("UP"), f"HAProxy option httpchk GET /healthz on the plain-HTTP traffic port: backend {status}")

    # TLS terminated at HAProxy, X-Forwarded-For from a trusted proxy
    ctx = ssl.create_default_context(cafile=srv.ca)
    with socket.create_connection(("127.0.0.1", ports["hh"]), source_address=("127.0.0.4", 0), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="mta-sts.example.com") as s:
            s.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
    st, _, body = parse_response(data)
    time.sleep(0.2)
    r.check(st == 200 and body == srv.expected_body("example.com"), f"TLS termination at HAProxy: policy over plain HTTP ({st})")
    r.check(any(c == "127.0.0.4" and sni == "-" for c, sni in access_clients()),
            "X-Forwarded-For from a trusted proxy names the client (127.0.0.4)")

    def fetch_via_term(extra, source):
        with socket.create_connection(("127.0.0.1", ports["hh"]), source_address=(source, 0), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="mta-sts.example.com") as s:
                s.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n" + extra +
                          b"Connection: close\r\n\r\n")
                data = b""
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    data += c
        return parse_response(data)[0]

    # a client that sends its own X-Forwarded-For through HAProxy's option forwardfor
    # (HAProxy appends a second line): its real address is logged, never the one it chose
    n0 = len(access_clients())
    st = fetch_via_term(b"X-Forwarded-For: 192.0.2.66\r\n", "127.0.0.7")
    st2 = fetch_via_term(b"X-Forwarded-For: 192.0.2.67, 127.0.0.1\r\n", "127.0.0.8")
    # a Forwarded header HAProxy does not write disagrees with its X-Forwarded-For: neither is believed
    st3 = fetch_via_term(b"Forwarded: for=192.0.2.68\r\n", "127.0.0.9")
    time.sleep(0.2)
    got = [c for c, _ in access_clients()[n0:]]
    r.check(st == 200 and st2 == 200 and st3 == 200 and got == ["127.0.0.7", "127.0.0.8", "127.0.0.1"],
            f"a client's own X-Forwarded-For or Forwarded through HAProxy mode http + option forwardfor is not believed: logged {got}")

    # 40 clients from 40 addresses at once through HAProxy mode http: its connections carry many
    # clients and are not limited per address (max_connections_per_ip 2 gave 36 of them a 502)
    import threading
    barrier = threading.Barrier(40)
    statuses = []

    def crowd_client(i):
        try:
            with socket.create_connection(("127.0.0.1", ports["hh"]), source_address=(f"127.0.1.{i + 1}", 0),
                                          timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="mta-sts.example.com") as s:
                    barrier.wait(timeout=10)
                    s.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n"
                              b"Connection: close\r\n\r\n")
                    data = b""
                    while True:
                        c = s.recv(65536)
                        if not c:
                            break
                        data += c
            statuses.append(parse_response(data)[0])
        except (OSError, threading.BrokenBarrierError) as e:
            statuses.append(str(e))
    crowd = [threading.Thread(target=crowd_client, args=(i,)) for i in range(40)]
    for t in crowd:
        t.start()
    for t in crowd:
        t.join()
    good = sum(1 for x in statuses if x == 200)
    r.check(good == 40, f"40 clients at once through HAProxy mode http with max_connections_per_ip 2: {good} of 40 served "
                        f"(others: {sorted(set(str(x) for x in statuses if x != 200))})")

    def direct_http(extra):
        with socket.create_connection(("127.0.0.1", ports["ph"]), source_address=("127.0.0.1", 0), timeout=5) as s:
            s.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n" + extra +
                      b"Connection: close\r\n\r\n")
            while s.recv(65536):
                pass
        time.sleep(0.2)
        return access_clients()[-1][0]

    got = direct_http(b"X-Forwarded-For: 198.51.100.6, 127.0.0.1\r\n")
    r.check(got == "198.51.100.6", f"X-Forwarded-For: 198.51.100.6, 127.0.0.1 from trusted 127.0.0.1 logs 198.51.100.6 ({got})")
    got = direct_http(b"Forwarded: FOR=198.51.100.7;Proto=https\r\n")
    r.check(got == "198.51.100.7", f"Forwarded parameter names are case-insensitive (logged {got})")
    # the same header from an untrusted peer is not believed
    with socket.create_connection(("127.0.0.1", ports["ph"]), source_address=("127.0.0.5", 0), timeout=5) as s:
        s.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nX-Forwarded-For: 198.51.100.9\r\n"
                  b"Connection: close\r\n\r\n")
        while s.recv(65536):
            pass
    time.sleep(0.2)
    clients = [c for c, _ in access_clients()]
    r.check(clients[-1] == "127.0.0.5" and "198.51.100.9" not in clients,
            f"X-Forwarded-For from an untrusted peer is ignored (logged {clients[-1]})")

    # per-IP limit on the real address: 127.0.0.2 at its limit, 127.0.0.3 still served
    hogs = []
    for _ in range(6):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", ports["h1"]))
        hogs.append(s)
    time.sleep(0.5)
    st2, _, _ = via(ports["h1"], source="127.0.0.2", timeout=3)
    st3, _, body3 = via(ports["h1"], source="127.0.0.3", timeout=5)
    r.check(st2 != 200, f"per-IP limit: 127.0.0.2 over its limit of 2 is refused ({st2 or 'closed'})")
    r.check(st3 == 200, f"per-IP limit: 127.0.0.3 is still served while 127.0.0.2 is at its limit ({st3})")
    for s in hogs:
        s.close()
    time.sleep(0.5)

    # hostile PROXY headers straight to the proxy listener; a good client is served meanwhile
    def raw_send(port, payload, source="127.0.0.1", wait=3.0, trickle=False):
        t0 = time.time()
        with socket.create_connection(("127.0.0.1", port), source_address=(source, 0), timeout=wait + 6) as s:
            try:
                if trickle:
                    for b in payload:
                        s.sendall(bytes([b]))
                        time.sleep(0.5)
                        if time.time() - t0 > wait + 5:
                            break
                else:
                    s.sendall(payload)
                while s.recv(4096):
                    pass
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                pass
        return time.time() - t0

    rej0 = srv.metric("mtastsd_proxy_rejected_total")
    cases = [
        ("malformed", b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 443\r\n\x16\x03\x01"),
        ("truncated", b"PROXY TCP4 1.2.3.4"),
        ("oversized", b"PROXY UNKNOWN " + b"a" * 300 + b"\r\n"),
        ("no header", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64),
        ("v2 oversized", b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff" + b"\x00" * 64),
    ]
    for name, payload in cases:
        took = raw_send(ports["p1"], payload)
        r.check(took < 7, f"PROXY {name}: closed after {took:.1f} s")
    st, _, _ = via(ports["h2"], source="127.0.0.3")
    r.check(st == 200, "a good client is served after the hostile headers")
    took = raw_send(ports["p1"], b"PROXY TCP4 192.0.2.1 192.0.2.2 1 443\r\n", trickle=True)
    r.check(took < 10, f"PROXY slow header: closed by the header timeout after {took:.1f} s")
    took = raw_send(ports["p1"], b"PROXY TCP4 192.0.2.1 192.0.2.2 1 443\r\n", source="127.0.0.6")
    r.check(took < 2, f"PROXY from a source outside proxy_from: closed at once ({took:.2f} s)")
    r.check(srv.metric("mtastsd_proxy_rejected_total") >= rej0 + len(cases) + 2,
            "every refused PROXY connection is counted in mtastsd_proxy_rejected_total")
    # a PROXY header on a listener that does not expect one is never trusted
    st, _, _ = via(ports["direct"])
    took = raw_send(ports["direct"], b"PROXY TCP4 192.0.2.1 192.0.2.2 1 443\r\n")
    seen = [c for c, _ in access_clients()]
    r.check("192.0.2.1" not in seen, "a PROXY header on a plain TLS listener is a protocol error, never trusted")
    r.check(srv.stop() == 0, "SIGTERM exits 0 with PROXY listeners")
finally:
    if hap:
        hap.terminate()
        try:
            hap.wait(timeout=5)
        except subprocess.TimeoutExpired:
            hap.kill()
    srv.cleanup()
r.finish()
