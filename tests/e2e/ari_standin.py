# SPDX-License-Identifier: MIT
# ari_standin: an HTTPS front of pebble that adds ACME renewal information (RFC 9773), for
# tests/e2e/test_acme_ari.sh. Debian's pebble (2.4.0) has no renewalInfo, so this stand-in
# answers that one resource itself and passes every other request on to pebble unchanged but
# for the Host header, which pebble builds its URLs from: the directory, orders and
# authorizations then all point back here. It also records what the client sent.
#
# usage: ari_standin.py PORT CERT KEY PEBBLE_HOST:PORT PEBBLE_CA WORKDIR
# WORKDIR/ari.plan    one answer per line, each query takes the first and drops it while more
#                     than one is left: "future SECONDS" (a window 40 to 41 days ahead),
#                     "past SECONDS" (a window that ended a day ago), "error SECONDS" (503);
#                     SECONDS is the Retry-After sent ("-" for none)
# WORKDIR/ari.refuse  a count: newOrder requests with "replaces" refused (alreadyReplaced)
#                     while it is above 0, one less each time
# WORKDIR/ari.log     one line per renewalInfo query: the certificate identifier asked for
# WORKDIR/orders.log  one line per newOrder refused here or created by pebble: its payload (JSON),
#                     then " refused" when refused here
import base64
import http.client
import http.server
import json
import os
import ssl
import sys
import threading
import time

PORT, CERT, KEY, PEBBLE, PEBBLE_CA, WORK = sys.argv[1:7]
PHOST, PPORT = PEBBLE.rsplit(":", 1)
LOCK = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}
NEW_ORDER = ["/order-plz"]


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def pop_plan():
    path = os.path.join(WORK, "ari.plan")
    with LOCK:
        lines = [l for l in open(path).read().splitlines() if l.strip()]
        first = lines[0]
        if len(lines) > 1:
            with open(path + ".tmp", "w") as f:
                f.write("\n".join(lines[1:]) + "\n")
            os.replace(path + ".tmp", path)
    kind, retry = (first.split() + ["-"])[:2]
    return kind, retry


def take_refusal():
    path = os.path.join(WORK, "ari.refuse")
    with LOCK:
        try:
            n = int(open(path).read().strip() or 0)
        except FileNotFoundError:
            return False
        if n <= 0:
            return False
        with open(path, "w") as f:
            f.write(str(n - 1))
        return True


def log(name, line):
    with LOCK, open(os.path.join(WORK, name), "a") as f:
        f.write(line + "\n")


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, fmt % args))

    def answer(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def pebble(self, body=None):
        ctx = ssl.create_default_context(cafile=PEBBLE_CA)
        conn = http.client.HTTPSConnection(PHOST, int(PPORT), context=ctx, timeout=30)
        headers = {"Host": self.headers.get("Host", "")}
        for k in ("Content-Type", "Accept", "User-Agent"):
            if self.headers.get(k):
                headers[k] = self.headers[k]
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, [(k, v) for k, v in r.getheaders() if k.lower() not in HOP], data

    def relay(self, body=None):
        """Pass the request to pebble and its answer back; returns pebble's status."""
        status, headers, data = self.pebble(body)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return status

    def do_HEAD(self):
        self.relay()

    def do_GET(self):
        if self.path == "/dir":
            status, headers, data = self.pebble()
            d = json.loads(data)
            d["renewalInfo"] = "https://%s/renewal-info" % self.headers["Host"]
            NEW_ORDER[0] = d["newOrder"].split(self.headers["Host"], 1)[1]
            return self.answer(status, json.dumps(d).encode())
        if self.path.startswith("/renewal-info/"):
            cert_id = self.path[len("/renewal-info/"):]
            log("ari.log", cert_id)
            kind, retry = pop_plan()
            extra = [] if retry == "-" else [("Retry-After", retry)]
            now = time.time()
            if kind == "error":
                body = b'{"type":"urn:ietf:params:acme:error:serverInternal","detail":"stand-in error"}'
                return self.answer(503, body, "application/problem+json", extra)
            start, end = (now + 40 * 86400, now + 41 * 86400) if kind == "future" else (now - 2 * 86400, now - 86400)
            body = json.dumps({"suggestedWindow": {"start": rfc3339(start), "end": rfc3339(end)}}).encode()
            return self.answer(200, body, headers=extra)
        self.relay()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == NEW_ORDER[0]:
            payload = b64url_decode(json.loads(body)["payload"]).decode()
            if "replaces" in json.loads(payload) and take_refusal():
                log("orders.log", payload + " refused")
                # no Replay-Nonce: the client fetches a new one for its next request
                problem = b'{"type":"urn:ietf:params:acme:error:alreadyReplaced","detail":"stand-in: already replaced","status":409}'
                return self.answer(409, problem, "application/problem+json")
            # logged once pebble has taken it: a badNonce (pebble refuses 5% of nonces) is sent again
            if self.relay(body) == 201:
                log("orders.log", payload)
            return
        self.relay(body)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
