#!/usr/bin/env python3
"""Turn the raw rows of tests/bench/tls.sh into a table and a JSON file.

Throughput rows: server n scenario requests errors cpu_s rps p50_ms p99_ms gen_cpu_s
Start-up rows:   server n startup seconds rss_kib reload_s "requests errors applied" runs reload_runs
                 (seconds and reload_s are the medians of the timed starts listed in runs and
                 of one reload in each, listed in reload_runs; the reload fields are empty for
                 nginx; requests and errors are summed over the reloads)
The figure compared is requests per server CPU-second; the ratio is taken round
by round (the two servers ran back to back) and the median of those is reported.
"""
import json
import os
import statistics
import sys
from collections import defaultdict

rows, startup = defaultdict(list), []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if f[2] == "startup":
        startup.append(f)
        continue
    server, n, scen = f[0], int(f[1]), f[2]
    req, err, cpu = int(f[3]), int(f[4]), float(f[5])
    rows[(scen, n, server)].append({"requests": req, "errors": err, "cpu_s": cpu,
                                    "rps": float(f[6]), "p50_ms": float(f[7]), "p99_ms": float(f[8]),
                                    "gen_cpu_s": float(f[9]) if len(f) > 9 else 0.0,
                                    "per_cpu_s": req / cpu if cpu > 0 else 0.0})

B = os.environ.get("BENCH_B", "nginx")  # the server compared: nginx, or "before" (an earlier build)
names = {"tls13": "TLS 1.3 handshake+GET", "tls12": "TLS 1.2 handshake+GET",
         "keepalive": "keep-alive GETs (TLS)", "latency": "latency at 500/s (TLS 1.3)"}
out = {"throughput": [], "latency": [], "startup": []}
print(f"{'figure':28} {'N':>7} {'mtastsd/cpu-s':>14} {B + '/cpu-s':>12} {'ratio':>6} {'errors m/n':>11}")
pool = {k: v for k, v in rows.items() if k[0].startswith("pool-")}
for k in pool:
    del rows[k]
for (scen, n) in sorted({(k[0], k[1]) for k in rows}, key=lambda k: (list(names).index(k[0]), k[1])):
    m, x = rows[(scen, n, "mtastsd")], rows[(scen, n, B)]
    if scen == "latency":
        mp50 = statistics.median(r["p50_ms"] for r in m) if m else 0
        mp99 = statistics.median(r["p99_ms"] for r in m) if m else 0
        np50 = statistics.median(r["p50_ms"] for r in x) if x else 0
        np99 = statistics.median(r["p99_ms"] for r in x) if x else 0
        print(f"{names[scen]:28} {n:>7} {'p50 %.2f p99 %.2f ms' % (mp50, mp99):>27} | {B} p50 {np50:.2f} p99 {np99:.2f} ms"
              f"  errors {sum(r['errors'] for r in m)}/{sum(r['errors'] for r in x)}")
        out["latency"].append({"n": n, "mtastsd": {"p50_ms": mp50, "p99_ms": mp99},
                               B: {"p50_ms": np50, "p99_ms": np99}})
        continue
    ratios = [a["per_cpu_s"] / b["per_cpu_s"] for a, b in zip(m, x) if b["per_cpu_s"] > 0]
    ratio = statistics.median(ratios) if ratios else float("nan")
    mv = statistics.median(r["per_cpu_s"] for r in m) if m else 0
    nv = statistics.median(r["per_cpu_s"] for r in x) if x else 0
    print(f"{names[scen]:28} {n:>7} {mv:>14.0f} {nv:>12.0f} {ratio:>6.2f} "
          f"{sum(r['errors'] for r in m):>5}/{sum(r['errors'] for r in x):<5}")
    out["throughput"].append({"figure": scen, "n": n, "ratio_median": ratio, "ratios": ratios,
                              "mtastsd": m, B: x})
keys = {"pool-ec": "ECDSA P-256", "pool-rsa": "RSA-2048"}
out["pool"] = []
for scen in sorted({k[0] for k in pool}):
    n = next(k[1] for k in pool if k[0] == scen)
    one, two = pool.get((scen, n, "1core"), []), pool.get((scen, n, "2cores"), [])
    med = lambda rs, key: statistics.median(r[key] for r in rs) if rs else 0.0
    tot = [b["rps"] / a["rps"] for a, b in zip(one, two) if a["rps"] > 0]
    per = [b["per_cpu_s"] / a["per_cpu_s"] for a, b in zip(one, two) if a["per_cpu_s"] > 0]
    # the generator's CPU per handshake against the server's, in the two-core runs: two cores
    # shared with it can do at most 2 / (1 + share) of what one unshared server core does
    share = [b["gen_cpu_s"] / b["cpu_s"] for b in two if b["cpu_s"] > 0 and b["gen_cpu_s"] > 0]
    print(f"\nthread pool, {keys.get(scen, scen)} (server side of TLS 1.3 handshakes, N={n})")
    print(f"{'':28} {'hs/s':>9} {'hs/cpu-s':>10} {'server cpu':>11} {'generator cpu':>14}")
    for name, rs in (("mtastsd, core 0", one), ("mtastsd, cores 0-1", two)):
        print(f"{name:28} {med(rs, 'rps'):>9.0f} {med(rs, 'per_cpu_s'):>10.0f} {med(rs, 'cpu_s'):>10.2f}s"
              f" {med(rs, 'gen_cpu_s'):>13.2f}s")
    rec = {"key": scen[5:], "n": n, "one_core": one, "two_cores": two,
           "total_ratio": statistics.median(tot) if tot else None,
           "per_cpu_ratio": statistics.median(per) if per else None,
           "generator_share": statistics.median(share) if share else None}
    if tot:
        bound = f", at most {2 / (1 + rec['generator_share']):.2f} with the generator on core 1" if share else ""
        print(f"{'2 cores / 1 core':28} {rec['total_ratio']:>9.2f} {rec['per_cpu_ratio']:>10.2f}"
              f"   (generator CPU = {rec['generator_share'] or 0:.2f} of the server's{bound})")
    out["pool"].append(rec)
if startup:
    print(f"\n{'start-up':28} {'N':>7} {'seconds (median of)':>29} {'RSS MiB':>8}  reload under load")
for f in startup:
    server, n = f[0], int(f[1])
    if f[3].startswith("skipped"):
        print(f"{server:28} {n:>7} {f[3]}")
        out["startup"].append({"server": server, "n": n, "skipped": f[3]})
        continue
    rec = {"server": server, "n": n, "seconds": float(f[3]), "rss_mib": int(f[4]) / 1024}
    if len(f) > 7 and f[7]:
        rec["runs"] = [float(x) for x in f[7].split(",")]
    extra = ""
    if len(f) > 5 and f[5]:
        rec["reload_s"] = float(f[5])
        req, err, applied = (f[6].split() + ["0", "0", "no"])[:3]
        rec["reload_requests"], rec["reload_errors"] = int(req), int(err)
        rec["reload_applied"] = applied == "yes"
        if len(f) > 8 and f[8]:
            rec["reload_runs"] = [float(x) for x in f[8].split(",")]
        rr = rec.get("reload_runs", [])
        extra = (f"{rec['reload_s']:.2f} s" + (" (" + ", ".join(f"{x:.2f}" for x in rr) + ")" if len(rr) > 1 else "")
                 + f", {req} requests during {'them' if len(rr) > 1 else 'it'}, {err} errors,"
                 f" changed policy served after: {applied}")
    runs = " (" + ", ".join(f"{x:.2f}" for x in rec["runs"]) + ")" if len(rec.get("runs", [])) > 1 else ""
    print(f"{server:28} {n:>7} {rec['seconds']:>9.2f}{runs:<20} {rec['rss_mib']:>8.1f}  {extra}")
    out["startup"].append(rec)
json.dump(out, open(sys.argv[2], "w"), indent=1)
print(f"\nresults written to {sys.argv[2]}")
