#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Clients driven from Python, run inside the test's network namespace.

    pyclients.py CLIENT EXPECT.json STATEDIR PHASE [ARGS]

CLIENT:
  dns        kdig @127.0.0.1: the _mta-sts TXT RRset (exactly one v=STSv1 record, exact text)
             and, where configured, the _smtp._tls TLSRPT record
  curl       curl as a strict HTTP check: 200, Content-Type text/plain, Content-Length, no
             redirect, body byte for byte
  query      Debian's postfix-mta-sts-resolver command line tool `mta-sts-query DOMAIN [ID]`
  daemon     its daemon `mta-sts-daemon`, asked over the socketmap protocol by Postfix's
             `postmap -q DOMAIN socketmap:inet:HOST:PORT:postfix`; its sqlite cache is read
             for the id and max_age it stored. ARGS: PORT CACHE.db POSTFIX_CONFDIR
Prints one JSON observation per line for world.py verdict.
"""
import ast
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

client, exp_path, state_dir, phase = sys.argv[1:5]
args = sys.argv[5:]
exp = json.load(open(exp_path, encoding="utf-8"))
domains = list(exp["domains"])
negatives = list(exp["negative"])
probes = list(exp.get("probes", {}))
state_path = os.path.join(state_dir, client + ".json")
try:
    state = json.load(open(state_path, encoding="utf-8"))
except (OSError, ValueError):
    state = {}
CA = os.environ.get("SSL_CERT_FILE", "")


def emit(**o):
    o["client"] = client
    print(json.dumps(o, ensure_ascii=False), flush=True)


def run(cmd, timeout=20, **kw):
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 124, b"", b"timeout"


def kdig_txt(name):
    rc, out, err = run(["kdig", "@127.0.0.1", "+short", "+time=2", "+retry=0", "TXT", name])
    recs = []
    for line in out.decode().splitlines():
        # +short prints each string quoted; a record with several strings is "a" "b"
        recs.append("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', line)))
    return rc, recs


def do_dns():
    for d in domains + negatives:
        rc, recs = kdig_txt("_mta-sts." + d)
        sts = [r for r in recs if r.startswith("v=STSv1")]
        extra = {}
        ident = None
        if len(sts) == 1:
            m = re.fullmatch(r"v=STSv1; id=([A-Za-z0-9]{1,32});", sts[0])
            if m:
                ident = m.group(1)
            else:
                extra["txt"] = [False, "record %r is not exactly 'v=STSv1; id=<1..32 alnum>;'" % sts[0]]
        elif d in exp["domains"]:
            extra["txt"] = [False, "%d v=STSv1 records: %r" % (len(sts), recs)]
        e = exp["domains"].get(d)
        if e is not None:
            rua = e["extra"].get("tlsrpt")
            rc2, rep = kdig_txt("_smtp._tls." + d)
            if rua:
                want = "v=TLSRPTv1; rua=" + ",".join(rua)
                if rep != [want]:
                    extra["tlsrpt"] = [False, "TLSRPT %r, want %r" % (rep, [want])]
            elif rep:
                extra["tlsrpt"] = [False, "unexpected TLSRPT %r" % rep]
            emit(domain=d, ok=ident is not None, id=ident, checks=["id"], extra_checks=extra,
                 mode=e["mode"], mx=e["mx"], max_age=e["max_age"], note="txt=%r" % (sts[:1],),
                 detail="no usable TXT: %r" % recs)
        else:
            # negative fixtures: DNS must still publish them, or the refusals prove nothing
            good = ident == exp["negative_id"]
            emit(domain=d, expect="fixture", ok=good, id=ident,
                 note="(fixture for the refusal tests)", detail="fixture TXT missing: %r" % recs)


def url_of(d):
    return "https://mta-sts.%s/.well-known/mta-sts.txt" % d


def curl(d):
    url = url_of(d)
    hdr = os.path.join(state_dir, "curl.%s.h" % d)
    body = os.path.join(state_dir, "curl.%s.b" % d)
    for f in (hdr, body):
        if os.path.exists(f):
            os.unlink(f)
    rc, out, err = run(["curl", "-sS", "--cacert", CA, "--max-time", "10", "--proto", "=https",
                        "-D", hdr, "-o", body, "-w", "%{http_code} %{num_redirects} %{http_version}",
                        url])
    return rc, out.decode(), err.decode().strip(), hdr, body


def do_curl():
    def one(d):
        rc, w, err, hdr, bodyf = curl(d)
        if d in negatives:
            return dict(domain=d, expect="refuse", ok=rc == 0,
                        detail="curl exit %d: %s" % (rc, err[:120]))
        if rc != 0:
            return dict(domain=d, ok=False, detail="curl exit %d: %s" % (rc, err[:160]))
        e = exp["domains"][d]
        code, redirects, httpv = w.split()
        raw = open(bodyf, "rb").read() if os.path.exists(bodyf) else b""
        heads = {}
        for line in open(hdr, encoding="latin-1", newline="").read().split("\r\n")[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                heads.setdefault(k.strip().lower(), []).append(v.strip())
        extra = {}
        if code != "200":
            extra["status"] = [False, "HTTP status %s" % code]
        if redirects != "0" or "location" in heads:
            extra["redirect"] = [False, "redirect seen"]
        ct = heads.get("content-type", [""])
        if len(ct) != 1 or ct[0].split(";")[0].strip().lower() != "text/plain":
            extra["content-type"] = [False, "Content-Type %r" % ct]
        elif ";" in ct[0] and ct[0].split(";", 1)[1].strip().lower() not in ("charset=utf-8", "charset=us-ascii"):
            extra["content-type"] = [False, "Content-Type parameters %r" % ct[0]]
        cl = heads.get("content-length", [])
        if cl != [str(len(raw))]:
            extra["content-length"] = [False, "Content-Length %r for %d bytes" % (cl, len(raw))]
        want = e["body"].encode("ascii")
        if raw != want:
            extra["body"] = [False, "body %r, want %r" % (raw[:80], want[:80])]
        # the same over each address family (the zone has A 127.0.0.1 and AAAA ::1)
        for fam in ("-4", "-6"):
            rc2, out2, err2 = run(["curl", "-sS", fam, "--cacert", CA, "--max-time", "10", "-o", "-",
                                   "-w", "\n%{http_code}", url_of(d)])
            if rc2 != 0 or out2 != want + b"\n200":
                extra["curl " + fam] = [False, "rc %d %r %s" % (rc2, out2[-60:], err2.decode().strip()[:100])]
        return dict(domain=d, ok=True, checks=["mode", "mx", "max_age"], mode=e["mode"], mx=e["mx"],
                    max_age=e["max_age"], extra_checks=extra,
                    note="HTTP/%s %s %s %dB" % (httpv, code, ct[0] if ct else "-", len(raw)))
    todo = domains + (negatives if phase == "initial" else [])
    with ThreadPoolExecutor(4) as ex:
        for o in ex.map(one, todo):
            emit(**o)


QUERY_RE = re.compile(r"^\(<STSFetchResult\.(\w+): \d+>, (.*)\)$", re.S)


def do_query():
    def one(d):
        known = state.get(d, {}).get("id") if phase != "initial" else None
        cmd = ["mta-sts-query", "-v", "warn", d] + ([known] if known else [])
        rc, out, err = run(cmd, timeout=30)
        text = out.decode().strip()
        m = QUERY_RE.match(text)
        want = "refuse" if d in negatives else "policy"
        if d in probes:
            want = exp["probes"][d]["expect"]["query"]
        if not m:
            return dict(domain=d, expect=want, ok=False, detail="rc %d output %r %r" % (rc, text[:100], err[-200:]))
        status, rest = m.group(1), m.group(2)
        if status == "VALID":
            ident, pol = ast.literal_eval(rest)
            if want == "policy":
                state[d] = {"id": ident, "pol": pol}
            return dict(domain=d, expect=want, ok=True, status="found", id=ident, mode=pol.get("mode"),
                        mx=pol.get("mx"), max_age=pol.get("max_age"),
                        extra_checks={"version": [pol.get("version") == "STSv1", "version %r" % pol.get("version")]},
                        note=("known id %s -> VALID" % known) if known else "")
        if status == "NOT_CHANGED" and known:
            # same id in DNS: the tool does not fetch; the policy is the one fetched before
            pol = state[d]["pol"]
            return dict(domain=d, expect="renewed", ok=True, status="renewed", id=known,
                        mode=pol.get("mode"), mx=pol.get("mx"), max_age=pol.get("max_age"),
                        note="known id %s -> NOT_CHANGED" % known)
        why = err.decode().strip().splitlines()[-1] if err.strip() else "-"
        why = re.sub(r"^.*failed with error: ", "", why)
        return dict(domain=d, expect=want, ok=False, status=status, detail="%s: %s" % (status, why[:200]))
    todo = domains + (negatives + probes if phase == "initial" else [])
    with ThreadPoolExecutor(4) as ex:
        for o in ex.map(one, todo):
            emit(**o)
    json.dump(state, open(state_path, "w"))


def do_daemon():
    port, db, confdir = args[0], args[1], args[2]
    before = {}
    if phase != "initial":
        before = state
    results = {}
    for d in domains + (negatives if phase == "initial" else []):
        rc, out, err = run(["postmap", "-c", confdir, "-q", d,
                            "socketmap:inet:127.0.0.1:%s:postfix" % port], timeout=30)
        results[d] = (rc, out.decode().strip(), err.decode().strip())
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    rows = {r[0]: r[1:] for r in con.execute("select domain, ts, pol_id, pol_body from sts_policy_cache")}
    con.close()
    for d, (rc, out, err) in results.items():
        if err:
            # postmap reports socketmap protocol errors on stderr
            pass
        want = "refuse" if d in negatives else "policy"
        m = re.fullmatch(r"secure match=(\S+)(?: servername=hostname)?", out)
        match_set = sorted(set(m.group(1).split(":"))) if m else None
        row = rows.get(d)
        if d in negatives:
            emit(domain=d, expect="refuse", ok=bool(out) or row is not None,
                 detail="postmap rc %d %r, cache %s" % (rc, out or err[:80], "empty" if row is None else "HAS ENTRY"))
            continue
        if row is None:
            emit(domain=d, ok=False, detail="postmap rc %d %r %r; no cache entry" % (rc, out, err[:120]))
            continue
        ts, pid, body = row
        pol = json.loads(body)
        extra = {}
        if out and not m:
            extra["socketmap"] = [False, "unexpected answer %r" % out]
        if not out and rc != 1:
            extra["postmap"] = [False, "postmap rc %d %r" % (rc, err[:120])]
        note = "answer=%r" % ((out if len(out) < 100 else out[:96] + "...") or "NOTFOUND")
        if phase != "initial" and d in before:
            if ts <= before[d]["ts"]:
                extra["recheck"] = [False, "cache entry not rechecked (ts %s -> %s)" % (before[d]["ts"], ts)]
            note += " cached id %s -> %s" % (before[d]["id"], pid)
        state[d] = {"ts": ts, "id": pid}
        emit(domain=d, ok=True, id=pid, mode=pol.get("mode"), mx=pol.get("mx"), max_age=pol.get("max_age"),
             match_set=match_set, extra_checks=extra, note=note)
    json.dump(state, open(state_path, "w"))


{"dns": do_dns, "curl": do_curl, "query": do_query, "daemon": do_daemon}[client]()
