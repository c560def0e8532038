#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tolerance probes: a policy host that breaks one rule per host name (see world.PROBES).

    probe_server.py ADDR CERTDIR

CERTDIR holds NAME.crt/NAME.key per policy host (mta-sts.<probe domain>); the certificate
is chosen by SNI. Runs until killed. Only for tests/e2e/test_interop.sh, inside its namespace.
"""
import http.server
import os
import ssl
import sys
import time

addr, certdir = sys.argv[1], sys.argv[2]


def body(domain, ends="\r\n", max_age=86400, pad=0, version="version", mode="enforce", mx=None):
    lines = ["%s: STSv1" % version, "mode: %s" % mode, "mx: %s" % (mx or "mx." + domain)]
    n = 0
    while pad and sum(len(x) + len(ends) for x in lines) < pad:
        lines.append("x-pad%d: %s" % (n, "a" * 200))
        n += 1
    lines.append("max_age: %d" % max_age)
    return ends.join(lines).encode("ascii") + ends.encode("ascii")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("probe: %s %s\n" % (self.headers.get("Host"), fmt % args))

    def answer(self, status, ctype, data, extra=()):
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        dom = host[len("mta-sts."):] if host.startswith("mta-sts.") else host
        if self.path != "/.well-known/mta-sts.txt":
            return self.answer(404, "text/plain", b"not found\n")
        if dom == "redirect.test":
            return self.answer(301, "text/plain", b"moved\n", [
                ("Location", "https://mta-sts.enforce-one.test/.well-known/mta-sts.txt")])
        if dom == "html.test":
            return self.answer(200, "text/html", body(dom))
        if dom == "no-ctype.test":
            return self.answer(200, None, body(dom))
        if dom == "charset.test":
            return self.answer(200, "text/plain; charset=utf-8", body(dom))
        if dom == "lf-only.test":
            return self.answer(200, "text/plain", body(dom, ends="\n"))
        if dom == "status-203.test":
            return self.answer(203, "text/plain", body(dom))
        if dom == "big.test":
            return self.answer(200, "text/plain", body(dom, pad=70000))
        if dom == "mode-case.test":
            return self.answer(200, "text/plain", body(dom, mode="Enforce"))
        if dom == "field-case.test":
            return self.answer(200, "text/plain", body(dom, version="Version"))
        if dom == "bad-mx.test":
            return self.answer(200, "text/plain", body(dom, mx="mx_1." + dom))
        if dom == "slow.test":
            time.sleep(5)
            return self.answer(200, "text/plain", body(dom))
        if dom in ("cn-only.test", "split-txt.test"):
            return self.answer(200, "text/plain", body(dom))
        if dom == "max-age-over.test":
            return self.answer(200, "text/plain", body(dom, max_age=31557601))
        return self.answer(404, "text/plain", b"unknown host\n")


def context(name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(certdir, name + ".crt"), os.path.join(certdir, name + ".key"))
    return ctx


contexts = {f[:-4]: context(f[:-4]) for f in os.listdir(certdir) if f.endswith(".crt")}
default = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
default.load_cert_chain(*(os.path.join(certdir, sorted(contexts)[0] + e) for e in (".crt", ".key")))


def pick(sock, name, _ctx):
    if name in contexts:
        sock.context = contexts[name]
    else:
        return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
    return None


default.sni_callback = pick
srv = http.server.ThreadingHTTPServer((addr, 443), Handler)
srv.socket = default.wrap_socket(srv.socket, server_side=True)
sys.stderr.write("probe: listening on %s:443 with %d certificates\n" % (addr, len(contexts)))
sys.stderr.flush()
srv.serve_forever()
