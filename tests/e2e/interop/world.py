#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The interop test's world: the domain table, the files made from it, and the verdicts.

    world.py gen DIR [--changed] [--on-change CMD]
                                   write DIR/mtastsd.yaml, DIR/expect.json, DIR/static.zone,
                                   DIR/domains.txt (one A-label policy domain per line, for
                                   certificates) from the table below
    world.py verdict EXPECT.json IDS.json [--label PHASE] OBS.jsonl...
                                   compare what the clients observed with what we meant and
                                   print one "PASS|FAIL client domain ..." line per observation

The expected policies are written here by hand from the table (mode, mx list in config order
with duplicates dropped and names lower-cased in A-label form, max_age, the exact body with CRLF
line ends); they are not computed by mtastsd, so a wrong rendering by mtastsd shows up as a FAIL.
"""
import json
import os
import sys

# The one domain whose mx list is changed in the "a change travels" step.
CHANGED = "change.test"

# name in the config -> (A-label name, mode, max_age or None for the default, mx list as written
# in the config, expected mx list in the served policy, extra config keys)
DEFAULT_MAX_AGE = 604800


def many(n):
    return ["mx%02d.many-mx.test" % i for i in range(1, n + 1)]


LONG_LABEL = "l" * 63  # the longest label DNS allows

TABLE = [
    # name, alabel, mode, max_age, mx (config), mx (served), extra
    ("enforce-one.test", None, "enforce", None, ["mx1.enforce-one.test"], None, {}),
    ("enforce-two.test", None, "enforce", None,
     ["mx1.enforce-two.test", "mx2.enforce-two.test"], None, {}),
    ("testing-one.test", None, "testing", None, ["mx.testing-one.test"], None, {}),
    ("testing-default.test", None, None, None, ["mx.testing-default.test"], None, {}),
    ("testing-backup.test", None, "testing", 86400,
     ["mx1.testing-backup.test", "backup-mx.provider.test"], None, {}),
    ("none.test", None, "none", None, [], None, {}),
    ("none-short.test", None, "none", 86400, [], None, {}),
    ("wildcard.test", None, "enforce", None, ["*.mail.wildcard.test"], None, {}),
    ("wildcard-mixed.test", None, "testing", None,
     ["mx.wildcard-mixed.test", "*.backup.wildcard-mixed.test"], None, {}),
    ("bücher.test", "xn--bcher-kva.test", "enforce", None,
     ["mx.bücher.test", "*.mail.bücher.test"],
     ["mx.xn--bcher-kva.test", "*.mail.xn--bcher-kva.test"], {}),
    ("idn-mx.test", None, "enforce", None, ["mx.münchen.test"], ["mx.xn--mnchen-3ya.test"], {}),
    ("many-mx.test", None, "enforce", None, many(40), None, {}),
    ("maxage-max.test", None, "enforce", 31557600, ["mx.maxage-max.test"], None, {}),
    ("maxage-day.test", None, "testing", 86400, ["mx.maxage-day.test"], None, {}),
    ("Mixed-Case.TEST", "mixed-case.test", "enforce", None, ["MX1.Mixed-Case.Test"],
     ["mx1.mixed-case.test"], {}),
    ("dup-mx.test", None, "enforce", None,
     ["mx1.dup-mx.test", "mx2.dup-mx.test", "mx1.dup-mx.test", "MX2.dup-mx.test"],
     ["mx1.dup-mx.test", "mx2.dup-mx.test"], {}),
    ("mail.sub.deep.test", None, "enforce", None, ["mx.mail.sub.deep.test"], None, {}),
    ("hyphen-ated-name.test", None, "enforce", None, ["mx-1.hyphen-ated-name.test"], None, {}),
    (LONG_LABEL + ".test", None, "testing", None, ["mx." + LONG_LABEL + ".test"], None, {}),
    ("tlsrpt.test", None, "enforce", None, ["mx.tlsrpt.test"], None,
     {"tlsrpt": ["mailto:tls-reports@tlsrpt.test", "https://reports.tlsrpt.test/v1"]}),
    ("d4.test", None, "enforce", None, ["mx.d4.test", "mx.other-provider.test"], None, {}),
    ("wildcard-cert.test", None, "enforce", None, ["mx.wildcard-cert.test"], None, {}),
    ("rsa-cert.test", None, "testing", None, ["mx.rsa-cert.test"], None, {}),
    (CHANGED, None, "enforce", None, ["mx1.change.test"], None, {}),
    ("neighbour.test", None, "enforce", None, ["mx1.neighbour.test"], None, {}),
]

# after the change: change.test moves to a new MX host (old one kept as a backup)
CHANGED_MX = ["mx2.change.test", "mx1.change.test"]

# Negative fixtures: domains with a valid-looking TXT record whose policy host must be refused.
# They are not in mtastsd's config; the test serves them with openssl s_server (or not at all).
NEGATIVE = {
    "wrong-cert.test": {"addr": "127.0.0.2", "why": "certificate is for mta-sts.other-name.test"},
    "untrusted-ca.test": {"addr": "127.0.0.3", "why": "certificate from a CA the client does not trust"},
    "unknown-sni.test": {"addr": "127.0.0.1", "why": "mtastsd does not know the SNI name: handshake aborted"},
}
NEGATIVE_ID = "20000101000000"

# Tolerance probes: policy hosts that break one rule each, served by probe_server.py on
# 127.0.0.4 with certificates from the trusted test CA. Each client's documented reaction
# (tests/e2e/README.md, read from its source) is checked, so the table cannot silently go stale.
# A = accepts the policy, R = refuses it. Clients: query (mta-sts-query), mailauth (7.x strict),
# mailauth4, email-domain-check.
PROBES = {
    "redirect.test": ("301 to a valid policy on another host",
                      {"query": "R", "mailauth": "R", "mailauth4": "R", "email-domain-check": "A"}),
    "html.test": ("200 with Content-Type text/html",
                  {"query": "R", "mailauth": "R", "mailauth4": "A", "email-domain-check": "A"}),
    "no-ctype.test": ("200 without Content-Type",
                      {"query": "R", "mailauth": "R", "mailauth4": "A", "email-domain-check": "A"}),
    "charset.test": ("Content-Type text/plain; charset=utf-8",
                     {"query": "A", "mailauth": "A", "mailauth4": "A", "email-domain-check": "A"}),
    "lf-only.test": ("LF line ends instead of CRLF",
                     {"query": "A", "mailauth": "A", "mailauth4": "A", "email-domain-check": "A"}),
    "status-203.test": ("203 Non-Authoritative Information with a valid body",
                        {"query": "R", "mailauth": "R", "mailauth4": "A", "email-domain-check": "A"}),
    "big.test": ("70000-byte policy (over the 64 KiB the RFC suggests)",
                 {"query": "R", "mailauth": "R", "mailauth4": "A", "email-domain-check": "A"}),
    "cn-only.test": ("certificate names the host in its CN only, no SAN",
                     {"query": "A", "mailauth": "R", "mailauth4": "A", "email-domain-check": "A"}),
    "max-age-over.test": ("max_age 31557601, above the RFC maximum",
                          {"query": "R", "mailauth": "R", "mailauth4": "R", "email-domain-check": "A"}),
    "mode-case.test": ("mode: Enforce (capital E)",
                       {"query": "R", "mailauth": "R", "mailauth4": "A", "email-domain-check": "R"}),
    "field-case.test": ("Version: STSv1 (field name capitalised)",
                        {"query": "R", "mailauth": "R", "mailauth4": "A", "email-domain-check": "A"}),
    "bad-mx.test": ("mx: mx_1.bad-mx.test (underscore, not a host name)",
                    {"query": "A", "mailauth": "R", "mailauth4": "A", "email-domain-check": "A"}),
    "slow.test": ("the answer comes after 5 seconds",
                  {"query": "R", "mailauth": "A", "mailauth4": "A", "email-domain-check": "A"}),
    "split-txt.test": ("TXT record in two strings: \"v=STSv1; \" \"id=...;\"",
                       {"query": "A", "mailauth": "A", "mailauth4": "A", "email-domain-check": "R"}),
}
PROBE_ADDR = "127.0.0.4"


def yq(s):
    return json.dumps(s, ensure_ascii=False)


def entries(changed):
    out = []
    for name, alabel, mode, max_age, mx, served, extra in TABLE:
        if changed and name == CHANGED:
            mx = CHANGED_MX
        a = alabel or name
        eff_mode = mode or "testing"
        eff_age = max_age or DEFAULT_MAX_AGE
        srv = served if (served is not None and not (changed and name == CHANGED)) else mx
        if eff_mode == "none" and not mx:
            srv = []
        body = "version: STSv1\r\nmode: %s\r\n" % eff_mode
        body += "".join("mx: %s\r\n" % m for m in srv)
        body += "max_age: %d\r\n" % eff_age
        out.append({"config_name": name, "domain": a, "config_mode": mode, "config_max_age": max_age,
                    "config_mx": mx, "mode": eff_mode, "max_age": eff_age, "mx": srv, "body": body,
                    "extra": extra})
    return out


def gen(d, changed, on_change=None):
    os.makedirs(d, exist_ok=True)
    es = entries(changed)
    y = []
    y.append("# written by tests/e2e/interop/world.py; %d domains%s" %
             (len(es), " (after the change)" if changed else ""))
    y.append("listen:")
    y.append('  https: ["127.0.0.1:443", "[::1]:443"]')
    y.append('  admin: "127.0.0.1:9100"')
    y.append("tls:")
    y.append("  certs: certs/")
    y.append("dns:")
    y.append("  state: state/mtastsd.state")
    y.append("  zone: state/mta-sts.zone")
    y.append("  ttl: 60")
    if on_change:
        y.append("  on_change: %s" % yq(on_change))
    y.append("defaults:")
    y.append("  mode: testing")
    y.append("  max_age: %d" % DEFAULT_MAX_AGE)
    y.append("domains:")
    for e in es:
        y.append("  - name: %s" % yq(e["config_name"]))
        if e["config_mode"]:
            y.append("    mode: %s" % e["config_mode"])
        if e["config_max_age"]:
            y.append("    max_age: %d" % e["config_max_age"])
        if e["config_mx"]:
            y.append("    mx: [%s]" % ", ".join(yq(m) for m in e["config_mx"]))
        for k, v in e["extra"].items():
            y.append("    %s: [%s]" % (k, ", ".join(yq(x) for x in v)))
    with open(os.path.join(d, "mtastsd.yaml"), "w", encoding="utf-8") as f:
        f.write("\n".join(y) + "\n")

    # static part of the test zone: policy hosts, MX records, negative fixtures
    z = []
    for e in es:
        dom = e["domain"]
        z.append("mta-sts.%s. 60 IN A 127.0.0.1" % dom)
        z.append("mta-sts.%s. 60 IN AAAA ::1" % dom)
        mxs = [m for m in e["mx"]] or ["mail.%s" % dom]
        for i, m in enumerate(mxs[:3]):
            host = m.replace("*.", "smtp%d." % i) if m.startswith("*.") else m
            z.append("%s. 60 IN MX %d %s." % (dom, 10 * (i + 1), host))
    for dom, n in NEGATIVE.items():
        z.append('_mta-sts.%s. 60 IN TXT "v=STSv1; id=%s;"' % (dom, NEGATIVE_ID))
        z.append("mta-sts.%s. 60 IN A %s" % (dom, n["addr"]))
        z.append("%s. 60 IN MX 10 mx.%s." % (dom, dom))
    for dom in PROBES:
        if dom == "split-txt.test":
            z.append('_mta-sts.%s. 60 IN TXT "v=STSv1; " "id=%s;"' % (dom, NEGATIVE_ID))
        else:
            z.append('_mta-sts.%s. 60 IN TXT "v=STSv1; id=%s;"' % (dom, NEGATIVE_ID))
        z.append("mta-sts.%s. 60 IN A %s" % (dom, PROBE_ADDR))
        z.append("%s. 60 IN MX 10 mx.%s." % (dom, dom))
    with open(os.path.join(d, "static.zone"), "w", encoding="ascii") as f:
        f.write("\n".join(z) + "\n")

    exp = {"domains": {e["domain"]: {k: e[k] for k in ("mode", "max_age", "mx", "body", "extra")}
                       for e in es},
           "negative": NEGATIVE, "negative_id": NEGATIVE_ID, "changed": CHANGED,
           "probes": {d: {"what": w, "expect": e} for d, (w, e) in PROBES.items()}}
    with open(os.path.join(d, "expect.json"), "w", encoding="utf-8") as f:
        json.dump(exp, f, indent=1, ensure_ascii=False)
    with open(os.path.join(d, "domains.txt"), "w", encoding="ascii") as f:
        f.write("".join(e["domain"] + "\n" for e in es))


def short(v):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) < 90 else s[:87] + "..."


def verdict(exp_path, ids_path, obs_paths, label=""):
    """Each observation: {client, domain, ok, id, mode, mx, max_age, detail, match_set (daemon),
    expect: "policy" (default) | "refuse" | "renewed", mx_order: bool}"""
    exp = json.load(open(exp_path, encoding="utf-8"))
    ids = json.load(open(ids_path, encoding="utf-8"))
    npass = nfail = 0
    for p in obs_paths:
        for line in open(p, encoding="utf-8"):
            line = line.strip()
            if not line:
                continue
            o = json.loads(line)
            client, dom = o["client"], o["domain"]
            problems = []
            want = o.get("expect", "policy")
            if want in ("A", "R"):
                what = exp["probes"].get(dom, {}).get("what", "?")
                got = "A" if o.get("ok") else "R"
                if got != want:
                    problems.append("%s the probe (%s), tests/e2e/README.md says it %s: %s" % (
                        "accepts" if got == "A" else "refuses", what,
                        "accepts" if want == "A" else "refuses", o.get("detail") or ""))
                desc = "%s as documented: %s%s" % ("tolerated" if got == "A" else "refused", what,
                                                   "" if got == "A" else " (%s)" % (o.get("detail") or ""))
            elif want == "fixture":
                if not o.get("ok"):
                    problems.append(o.get("detail") or "fixture missing")
                desc = o.get("note") or ""
            elif want == "refuse":
                if o.get("ok"):
                    problems.append("accepted a policy it must refuse (%s): %s" %
                                    (exp["negative"].get(dom, {}).get("why", "?"), short(o)))
                desc = "refused (%s)" % (o.get("detail") or "no policy")
            else:
                e = exp["domains"].get(dom)
                if e is None:
                    problems.append("unknown domain")
                elif not o.get("ok"):
                    problems.append("no policy: %s" % (o.get("detail") or "?"))
                else:
                    checks = o.get("checks", ["id", "mode", "mx", "max_age"])
                    if "id" in checks and o.get("id") != ids.get(dom):
                        problems.append("id %s, DNS/mtastsd say %s" % (o.get("id"), ids.get(dom)))
                    if "mode" in checks and o.get("mode") != e["mode"]:
                        problems.append("mode %s, want %s" % (o.get("mode"), e["mode"]))
                    if "max_age" in checks and o.get("max_age") != e["max_age"]:
                        problems.append("max_age %s, want %s" % (o.get("max_age"), e["max_age"]))
                    if "mx" in checks:
                        got = [m.lower() for m in (o.get("mx") or [])]
                        if o.get("mx_order", True):
                            ok = got == e["mx"]
                        else:
                            ok = sorted(set(got)) == sorted(set(e["mx"]))
                        if not ok:
                            problems.append("mx %s, want %s" % (short(got), short(e["mx"])))
                    if "match_set" in o:
                        # postfix socketmap answer: "secure match=a:b" with "*" stripped, or NOTFOUND
                        if e["mode"] == "none":
                            wantset = None
                        else:
                            wantset = sorted(set(m.lstrip("*") for m in e["mx"]))
                        got = o["match_set"]
                        if got != wantset:
                            problems.append("socketmap answer %s, want %s" % (short(got), short(wantset)))
                    if "body" in checks and o.get("body") != e["body"]:
                        problems.append("body %s, want %s" % (short(o.get("body")), short(e["body"])))
                    for k, v in (o.get("extra_checks") or {}).items():
                        if not v[0]:
                            problems.append("%s: %s" % (k, v[1]))
                if want == "renewed" and o.get("status") != "renewed":
                    problems.append("status %s, want renewed (same id, no refetch)" % o.get("status"))
                desc = "mode=%s mx=%d max_age=%s" % (o.get("mode"), len(o.get("mx") or []), o.get("max_age"))
                if "id" in o.get("checks", ["id"]):
                    desc += " id=%s" % o.get("id")
                if o.get("note"):
                    desc += " " + o["note"]
            desc = " ".join(str(desc).split())
            problems = [" ".join(str(x).split()) for x in problems]
            tag = "" if label in ("", "initial") else label + ": "
            if problems:
                nfail += 1
                print("FAIL %s %s %s%s" % (client, dom, tag, "; ".join(problems)))
            else:
                npass += 1
                print("PASS %s %s %s%s" % (client, dom, tag, desc))
    sys.stdout.flush()
    return npass, nfail


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        rest = sys.argv[3:]
        oc = rest[rest.index("--on-change") + 1] if "--on-change" in rest else None
        gen(sys.argv[2], "--changed" in rest, oc)
    elif len(sys.argv) >= 4 and sys.argv[1] == "verdict":
        rest = sys.argv[4:]
        label = ""
        if rest[:1] == ["--label"]:
            label, rest = rest[1], rest[2:]
        p, f = verdict(sys.argv[2], sys.argv[3], rest, label)
        sys.exit(1 if f else 0)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
