#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Kubernetes example (config/kubernetes/mtastsd.yaml), without a cluster: every document
# parses; the config is mounted as a folder (no subPath) where MTASTSD_CONFIG points; Secrets
# are 0400/0440; the LoadBalancer keeps client addresses; the publisher verifies every replica
# (a headless Service) before it publishes, from one copy of the config; every image has a
# recipe; the ConfigMap's config loads. Then the real binary, serving from folders laid out as
# kubelet lays out ConfigMap and Secret volumes (entries are symlinks through ..data, swapped
# by one rename), picks up a new config and a renewed certificate without a restart.
# The ACME variant (config/kubernetes/mtastsd-acme.yaml) likewise: one orderer (order: true, one
# replica, Recreate) and replicas (order: false) mounting one ReadWriteMany claim where their
# acme.storage says, configs alike but for acme.order, every pod behind the Service's 443 (and 80
# for http-01), every pod mtastsd alone (no reloader sidecar, no shared process namespace, no
# signal), the replicas' storage read-only; both configs pass `check`; rendered, an orderer and a
# replica run side by side on one storage, the replica answers a challenge written there and,
# as on a network file system whose writes inotify never reports (MTASTSD_TEST_NO_INOTIFY; the
# periodic listing every 2 s here instead of 60 s), serves a pair stored there without a signal.
. "$(dirname "$0")/lib.sh"
need curl openssl python3
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"

MANIFEST=$SOURCE_ROOT/config/kubernetes/mtastsd.yaml
# ---- the manifests: python prints "PASS text" or "FAIL text" per rule
python3 - "$MANIFEST" "$SOURCE_ROOT/Dockerfile" "$WORK/configmap.yaml" >"$WORK/rules" 2>&1 <<'PY' || true
import re, shlex, sys, yaml

manifest, dockerfile, cm_out = sys.argv[1:4]
def say(ok, text):
    print(("PASS " if ok else "FAIL ") + text)

try:
    docs = [d for d in yaml.safe_load_all(open(manifest)) if d is not None]
except yaml.YAMLError as e:
    say(False, f"manifest does not parse: {e}")
    sys.exit(0)
bad = [i for i, d in enumerate(docs)
       if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind")
       or not (d.get("metadata") or {}).get("name")]
say(len(docs) >= 6 and not bad, f"{len(docs)} documents parse, each with apiVersion, kind and metadata.name {bad or ''}")
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)

cms = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
deploy = (by_kind.get("Deployment") or [None])[0]
cron = (by_kind.get("CronJob") or [None])[0]
if deploy is None or cron is None:
    say(False, "a Deployment and a CronJob")
    sys.exit(0)
pods = {"Deployment": deploy["spec"]["template"]["spec"],
        "CronJob": cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]}

def containers(spec):
    return spec.get("initContainers", []) + spec.get("containers", [])

# the config: mounted as a folder, MTASTSD_CONFIG (or the script's copy) inside that mount
subpath, where, cm_key = [], [], None
for kind, spec in pods.items():
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    for c in containers(spec):
        mounts = {}
        for m in c.get("volumeMounts", []):
            v = vols.get(m["name"], {})
            if "configMap" in v:
                mounts[m["mountPath"].rstrip("/")] = v["configMap"]["name"]
                if "subPath" in m or "subPathExpr" in m:
                    subpath.append(f"{kind}/{c['name']}:{m['mountPath']}")
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        script = " ".join(c.get("command", []) + c.get("args", []))
        paths = [env["MTASTSD_CONFIG"]] if "MTASTSD_CONFIG" in env else re.findall(r"cp -L (\S+)", script)
        for p in paths:
            d, _, key = p.rpartition("/")
            cm = cms.get(mounts.get(d, ""))
            if cm is None or key not in cm.get("data", {}):
                where.append(f"{kind}/{c['name']}: '{p}' is in no ConfigMap mount")
            else:
                cm_key = cm["data"][key]
        if not paths:
            where.append(f"{kind}/{c['name']}: no MTASTSD_CONFIG")
say(not subpath, f"no ConfigMap is mounted with subPath (Kubernetes never updates those) {subpath or ''}")
say(not where and cm_key is not None, f"every container's config is a key of a ConfigMap mounted as a folder {where or ''}")
if cm_key is not None:
    open(cm_out, "w").write(cm_key)

# Secrets: keys readable by owner and group only
modes = []
for kind, spec in pods.items():
    for v in spec.get("volumes", []):
        if "secret" in v:
            m = v["secret"].get("defaultMode")
            item_modes = [i["mode"] for i in v["secret"].get("items", []) if "mode" in i]
            if m not in (0o400, 0o440) or any(x & 0o337 for x in item_modes):
                modes.append(f"{kind}/{v['name']}: {oct(m) if m is not None else 'default 0644'}")
say(not modes, f"every Secret volume has defaultMode 0400 or 0440 {modes or ''}")

# client addresses: every LoadBalancer Service keeps them, or the listeners take PROXY
cfg = yaml.safe_load(cm_key) if cm_key else {}
https = (cfg.get("listen") or {}).get("https", [])
proxy = any(isinstance(l, dict) and l.get("proxy_protocol") for l in https)
lbs = [s for s in by_kind.get("Service", []) if s["spec"].get("type") == "LoadBalancer"]
say(lbs and all(s["spec"].get("externalTrafficPolicy") == "Local" for s in lbs) or proxy,
    "the LoadBalancer Service keeps client addresses (externalTrafficPolicy: Local or PROXY)")

# the publisher: one copy of the config, verify of every replica, then dns, then nsupdate
labels = deploy["spec"]["template"]["metadata"]["labels"]
ports = {p["name"]: p["containerPort"] for c in pods["Deployment"]["containers"] for p in c.get("ports", [])}
listen_ports = {int(str(l if isinstance(l, str) else l["address"]).rsplit(":", 1)[1]) for l in https}
headless = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])
            if s["spec"].get("clusterIP") == "None" and s["spec"].get("selector") == labels}
script = "\n".join(" ".join(c.get("command", []) + c.get("args", [])) for c in containers(pods["CronJob"]))
steps = [l.strip() for l in script.splitlines() if l.strip()]
iv = next((i for i, l in enumerate(steps) if re.search(r"\bmtastsd\b.*\bverify\b", l)), None)
idns = next((i for i, l in enumerate(steps) if re.search(r"\bmtastsd\b.*\bdns\b", l)), None)
ins = next((i for i, l in enumerate(steps) if "nsupdate" in l), None)
order = iv is not None and idns is not None and ins is not None and iv < idns <= ins
say(order and "-e" in script.split("\n")[0], "the CronJob runs verify, then dns, then nsupdate, stopping at the first failure")
target_ok = False
if iv is not None:
    m = re.search(r"--connect (\S+):(\d+)", steps[iv])
    if m and m.group(1) in headless:
        svc = headless[m.group(1)]["spec"]["ports"]
        for p in svc:
            tp = p.get("targetPort", p["port"])
            if p["port"] == int(m.group(2)) and ports.get(tp, tp) in listen_ports:
                target_ok = True
say(target_ok, "verify connects to a headless Service of the replicas, on the port they listen on")
cfgs = set(re.findall(r"mtastsd -c (\S+) (?:verify|dns)", script))
say(len(cfgs) == 1 and re.search(r"cp -L \S+ " + re.escape(next(iter(cfgs), "-")), script) is not None,
    "verify and dns read one copy of the config (the ConfigMap may change between them)")

# images: the server's, or a Dockerfile target
targets = set(re.findall(r"^FROM \S+ AS (\S+)", open(dockerfile).read(), re.M))
server_image = pods["Deployment"]["containers"][0]["image"]
images = {c["image"] for spec in pods.values() for c in containers(spec)}
orphans = [i for i in images if i != server_image and
           not any(i.split("/")[-1].split(":")[0] == "mtastsd-" + t for t in targets)]
say(not orphans, f"every image is the server's or built by a Dockerfile target {orphans or ''}")
PY
while read -r verdict text; do
  if [ "$verdict" = PASS ]; then ok "manifest: $text"; else bad "manifest: $text"; fi
done <"$WORK/rules"
check "manifest: rules ran" [ "$(grep -c '^PASS\|^FAIL' "$WORK/rules")" -ge 9 ]

# ---- the ConfigMap's config loads and renders both policies
if [ -s "$WORK/configmap.yaml" ]; then
  mkdir -p "$WORK/cm"
  cp "$WORK/configmap.yaml" "$WORK/cm/mtastsd.yaml"
  check "configmap: the config renders example.com" bash -c "'$MTASTSD' -c '$WORK/cm/mtastsd.yaml' policy example.com | grep -q '^mode: enforce'"
  check "configmap: the config renders example.org" bash -c "'$MTASTSD' -c '$WORK/cm/mtastsd.yaml' policy example.org | grep -q '^mx: \\*.mail.example.org'"
else
  bad "configmap: no config extracted"
fi

# ---- kubelet's volume layout and its atomic swap, with the real binary
# publish DIR KEY=FILE...: what kubelet's atomic writer does for a ConfigMap or Secret volume:
# a new timestamped folder, ..data_tmp pointing at it renamed over ..data, a symlink per key,
# then the old folder removed
publish() {
  local dir="$1" ts old key src; shift
  ts="..$(date -u +%Y_%m_%d_%H_%M_%S).$(date +%N)"
  mkdir -p "$dir/$ts"
  for kv in "$@"; do key=${kv%%=*} src=${kv#*=}; cp "$src" "$dir/$ts/$key"; done
  old=$(readlink "$dir/..data" 2>/dev/null || true)
  ln -s "$ts" "$dir/..data_tmp"
  mv -T "$dir/..data_tmp" "$dir/..data"
  for kv in "$@"; do key=${kv%%=*}; [ -L "$dir/$key" ] || ln -s "..data/$key" "$dir/$key"; done
  [ -z "$old" ] || rm -rf "${dir:?}/$old"
}
CERTS=$WORK/certs CA=$WORK/gen/ca.crt
gen_certs "$WORK/gen" --days 30 example.com
mkdir -p "$WORK/vol/config" "$CERTS/example.com"
publish "$CERTS/example.com" mta-sts.example.com.crt="$WORK/gen/mta-sts.example.com.crt" \
  mta-sts.example.com.key="$WORK/gen/mta-sts.example.com.key"
P=$(free_port) ADMIN_PORT=$(free_port)
config() { # config MODE: the ConfigMap's key
  cat >"$WORK/config.src" <<EOF
listen:
  https: ["127.0.0.1:$P"]
  http: []
  admin: "127.0.0.1:$ADMIN_PORT"
tls:
  certs: $CERTS/
dns:
  state: $WORK/state/mtastsd.state
  zone: $WORK/state/mta-sts.zone
domains:
  - name: example.com
    mode: $1
    mx: [mx1.example.com]
EOF
  publish "$WORK/vol/config" mtastsd.yaml="$WORK/config.src"
}
config testing
check "volume: mtastsd.yaml is a symlink through ..data" [ "$(readlink "$WORK/vol/config/mtastsd.yaml")" = ..data/mtastsd.yaml ]
start_server "$WORK/vol/config/mtastsd.yaml" "$ADMIN_PORT" || exit 1
pid=$SERVER_PID
WK=/.well-known/mta-sts.txt
mode_is() { tls_get mta-sts.example.com "$P" "$WK" 2>/dev/null | grep -q "^mode: $1"; }
check "volume: the first config is served" mode_is testing
config enforce
check "configmap swap: the new policy is served within 3 s" wait_for 3 mode_is enforce
check "configmap swap: the old timestamped folder is gone" [ "$(find "$WORK/vol/config" -maxdepth 1 -name '..20*' | wc -l)" = 1 ]
config testing
check "configmap swap again: served within 3 s" wait_for 3 mode_is testing

enddate() { openssl s_client -connect "127.0.0.1:$P" -servername mta-sts.example.com </dev/null 2>/dev/null |
  openssl x509 -noout -enddate 2>/dev/null || true; }
old=$(enddate)
gen_certs "$WORK/gen" --days 200 example.com
publish "$CERTS/example.com" mta-sts.example.com.crt="$WORK/gen/mta-sts.example.com.crt" \
  mta-sts.example.com.key="$WORK/gen/mta-sts.example.com.key"
renewed() { local e; e=$(enddate); [ -n "$e" ] && [ "$e" != "$old" ]; }
check "secret swap: the renewed certificate is served within 3 s" wait_for 3 renewed
check "secret swap: it verifies" bash -c "openssl s_client -connect 127.0.0.1:$P -servername mta-sts.example.com -CAfile '$CA' </dev/null 2>&1 | grep -q 'Verify return code: 0 (ok)'"
check "no restart: the same process" bash -c "[ $SERVER_PID = $pid ] && kill -0 $pid"
check "no failed reload along the way" [ "$(metric 'mtastsd_reloads_total{result="failed"}')" = 0 ]
check "reloads counted" [ "$(metric 'mtastsd_reloads_total{result="ok"}')" -ge 3 ]
check "no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$WORK/serve.log'"
stop_server >/dev/null || true

# ---- the ACME variant: python prints PASS/FAIL per rule and renders the configs into $WORK/ak
AK=$WORK/ak
OP=$(free_port) OH=$(free_port) OA=$(free_port) RP=$(free_port) RH=$(free_port) RA=$(free_port)
python3 - "$SOURCE_ROOT/config/kubernetes/mtastsd-acme.yaml" "$SOURCE_ROOT/Dockerfile" "$AK" \
  "$OP" "$OH" "$OA" "$RP" "$RH" "$RA" >"$WORK/acme-rules" 2>&1 <<'PY' || true
import os, posixpath, re, sys, yaml

manifest, dockerfile, out = sys.argv[1:4]
ports = {"orderer": sys.argv[4:7], "replica": sys.argv[7:10]}
def say(ok, text):
    print(("PASS " if ok else "FAIL ") + text)

try:
    docs = [d for d in yaml.safe_load_all(open(manifest)) if d is not None]
except yaml.YAMLError as e:
    say(False, f"manifest does not parse: {e}")
    sys.exit(0)
bad = [i for i, d in enumerate(docs) if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind")
       or not (d.get("metadata") or {}).get("name")]
say(len(docs) >= 8 and not bad, f"{len(docs)} documents parse, each with apiVersion, kind and metadata.name {bad or ''}")
kinds = {}
for d in docs:
    kinds.setdefault(d["kind"], []).append(d)
cms = {d["metadata"]["name"]: d for d in kinds.get("ConfigMap", [])}
pvcs = {d["metadata"]["name"]: d for d in kinds.get("PersistentVolumeClaim", [])}
deps = kinds.get("Deployment", [])
cron = (kinds.get("CronJob") or [None])[0]
if len(deps) < 2 or cron is None:
    say(False, "two Deployments (orderer, replicas) and a CronJob")
    sys.exit(0)

def mounts_of(spec, c):
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    return [(m, vols.get(m["name"], {})) for m in c.get("volumeMounts", [])]

# each serving pod: its config (a key of a ConfigMap mounted as a folder, no subPath) and its domains
serving, problems, subpath = [], [], []
for dep in deps:
    spec = dep["spec"]["template"]["spec"]
    for c in spec.get("containers", []):
        if c.get("args") != ["serve"]:
            continue
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        cmdirs = {}
        for m, v in mounts_of(spec, c):
            if "configMap" in v:
                cmdirs[m["mountPath"].rstrip("/")] = v["configMap"]["name"]
                if "subPath" in m or "subPathExpr" in m:
                    subpath.append(f"{dep['metadata']['name']}:{m['mountPath']}")
        path = env.get("MTASTSD_CONFIG", "")
        d, _, key = path.rpartition("/")
        cm = cms.get(cmdirs.get(d, ""))
        if cm is None or key not in cm.get("data", {}):
            problems.append(f"{dep['metadata']['name']}: MTASTSD_CONFIG '{path}' is in no ConfigMap mount")
            continue
        cfg = yaml.safe_load(cm["data"][key])
        dd = posixpath.normpath(posixpath.join(d, cfg.get("domains_dir", "")))
        if cfg.get("domains_dir") and cms.get(cmdirs.get(dd, "")) is None:
            problems.append(f"{dep['metadata']['name']}: domains_dir '{dd}' is no ConfigMap mount")
        serving.append({"dep": dep, "spec": spec, "c": c, "cfg": cfg, "cm": cm, "key": key, "dir": d,
                        "domains": cmdirs.get(dd)})
say(not subpath, f"no ConfigMap is mounted with subPath {subpath or ''}")
say(len(serving) == len(deps) and not problems,
    f"every Deployment's config is a ConfigMap key, its domains_dir a ConfigMap mounted beside it {problems or ''}")
if not serving:
    sys.exit(0)

# one orderer: one replica of it, Recreate (the old one lets go of order.lock first); the rest order: false
order = lambda s: (s["cfg"].get("acme") or {}).get("order", True)
orderers = [s for s in serving if order(s)]
o = orderers[0] if len(orderers) == 1 else None
say(o is not None and o["dep"]["spec"].get("replicas") == 1 and
    (o["dep"]["spec"].get("strategy") or {}).get("type") == "Recreate",
    f"exactly one orderer (acme.order: true), one replica of it, strategy Recreate ({len(orderers)} found)")
say(len(serving) >= 2 and all(order(s) is False for s in serving if s is not o),
    "every other Deployment runs acme.order: false")
strip = lambda c: {**c, "acme": {k: v for k, v in (c.get("acme") or {}).items() if k != "order"}}
say(all(strip(s["cfg"]) == strip(serving[0]["cfg"]) for s in serving),
    "the orderer's and the replicas' configs differ in acme.order only")

# the storage: one ReadWriteMany claim, mounted where acme.storage says, writable by the orderer
claims, where = set(), []
for s in serving:
    st = (s["cfg"].get("acme") or {}).get("storage", "").rstrip("/")
    ms = [(m, v) for m, v in mounts_of(s["spec"], s["c"]) if m["mountPath"].rstrip("/") == st]
    if not ms or "persistentVolumeClaim" not in ms[0][1]:
        where.append(f"{s['dep']['metadata']['name']}: no claim at '{st}'")
        continue
    claims.add(ms[0][1]["persistentVolumeClaim"]["claimName"])
    if s is o and ms[0][0].get("readOnly"):
        where.append("the orderer's storage is read-only")
claim = next(iter(claims), "")
say(not where and len(claims) == 1 and
    "ReadWriteMany" in (pvcs.get(claim, {}).get("spec", {}).get("accessModes") or []),
    f"every pod mounts one ReadWriteMany claim at its acme.storage, the orderer read-write {where or sorted(claims)}")

# no reloader: replicas list acme.storage/certs themselves, so each pod runs mtastsd alone (no
# sidecar, no shared process namespace, nothing sending signals); a replica mounts the storage
# read-only, it never writes there
containers = lambda spec: spec.get("initContainers", []) + spec.get("containers", [])
extra, shared, hup, rw = [], [], [], []
for s in serving:
    name = s["dep"]["metadata"]["name"]
    spec = s["spec"]
    others = [c for c in containers(spec) if c is not s["c"]]
    if others:
        extra.append(f"{name}: " + ", ".join(c["name"] for c in others))
    if spec.get("shareProcessNamespace"):
        shared.append(name)
    if any(re.search(r"\bkill\b|SIGHUP|-HUP", " ".join(c.get("command", []) + c.get("args", [])))
           for c in containers(spec)):
        hup.append(name)
    st = (s["cfg"].get("acme") or {}).get("storage", "").rstrip("/")
    if s is not o and not any(m["mountPath"].rstrip("/") == st and m.get("readOnly")
                              for m, v in mounts_of(spec, s["c"])):
        rw.append(name)
say(not extra, f"every pod runs mtastsd alone, no reloader or other sidecar {extra or ''}")
say(not shared and not hup,
    f"no pod shares its process namespace or sends a signal {sorted(set(shared + hup)) or ''}")
say(not rw and len(serving) >= 2, f"every replica mounts the ACME storage read-only {rw or ''}")

# the Service: every pod behind it, client addresses kept, 443 to HTTPS and, with http-01, 80 to HTTP
lbs = [x for x in kinds.get("Service", []) if x["spec"].get("type") == "LoadBalancer"]
def selects(svc, s):
    labels = s["dep"]["spec"]["template"]["metadata"]["labels"]
    return bool(svc["spec"].get("selector")) and all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
def lport(addrs):
    return {int(str(a if isinstance(a, str) else a["address"]).rsplit(":", 1)[1]) for a in addrs}
listen = serving[0]["cfg"].get("listen") or {}
chall = (serving[0]["cfg"].get("acme") or {}).get("challenges", ["tls-alpn-01", "http-01"])
ok = len(lbs) == 1 and lbs[0]["spec"].get("externalTrafficPolicy") == "Local" and all(selects(lbs[0], s) for s in serving)
for s in serving if ok else []:
    cports = {p["name"]: p["containerPort"] for p in s["c"].get("ports", [])}
    fwd = {p["port"]: cports.get(p.get("targetPort"), p.get("targetPort")) for p in lbs[0]["spec"]["ports"]}
    ok = ok and fwd.get(443) in lport(listen.get("https", []))
    if "http-01" in chall:
        ok = ok and fwd.get(80) in lport(listen.get("http", []))
say(ok, "the LoadBalancer reaches every pod (the orderer too), keeps client addresses, forwards 443 to HTTPS" +
    (" and 80 to HTTP (http-01)" if "http-01" in chall else ""))

# the publisher: its copies, then verify, dns, nsupdate; verify on a headless Service of every pod
cspec = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
script = "\n".join(" ".join(c.get("command", []) + c.get("args", [])) for c in cspec["containers"])
steps = [l.strip() for l in script.splitlines() if l.strip()]
idx = lambda rx: next((i for i, l in enumerate(steps) if re.search(rx, l)), None)
iv, idn, ins = idx(r"\bmtastsd\b.*\bverify\b"), idx(r"\bmtastsd\b.*\bdns\b"), idx(r"nsupdate")
say(None not in (iv, idn, ins) and iv < idn <= ins and "-e" in script.split("\n")[0],
    "the CronJob runs verify, then dns, then nsupdate, stopping at the first failure")
heads = {x["metadata"]["name"]: x for x in kinds.get("Service", []) if x["spec"].get("clusterIP") == "None"}
m = re.search(r"--connect (\S+):(\d+)", steps[iv]) if iv is not None else None
say(m is not None and m.group(1) in heads and all(selects(heads[m.group(1)], s) for s in serving),
    "verify connects to a headless Service of every pod")
copies = {dst: src for src, dst in re.findall(r"cp -rL (\S+) (\S+)", script)}
cfgs = set(re.findall(r"mtastsd -c (\S+) (?:verify|dns)", script))
cdir = posixpath.dirname(next(iter(cfgs), ""))
ddir = serving[0]["cfg"].get("domains_dir")
say(len(cfgs) == 1 and copies.get(cdir) == serving[0]["dir"] and
    (not ddir or copies.get(posixpath.normpath(posixpath.join(cdir, ddir))) ==
     posixpath.normpath(posixpath.join(serving[0]["dir"], ddir))),
    "verify and dns read one copy of the config and of its tenant files")

targets = set(re.findall(r"^FROM \S+ AS (\S+)", open(dockerfile).read(), re.M))
server_image = serving[0]["c"]["image"]
specs = [s["spec"] for s in serving] + [cspec]
images = {c["image"] for sp in specs for c in sp.get("containers", [])}
orphans = [i for i in images if i != server_image and
           not any(i.split("/")[-1].split(":")[0] == "mtastsd-" + t for t in targets)]
say(not orphans, f"every image is the server's or built by a Dockerfile target {orphans or ''}")
modes = [v["name"] for sp in specs for v in sp.get("volumes", [])
         if "secret" in v and v["secret"].get("defaultMode") not in (0o400, 0o440)]
say(not modes, f"every Secret volume has defaultMode 0400 or 0440 {modes or ''}")

# rendered with this test's folders; the -run copies also with its ports and a directory nobody answers
os.makedirs(f"{out}/config")
os.makedirs(f"{out}/domains")
os.makedirs(f"{out}/certs")
for k, v in (cms.get(serving[0]["domains"]) or {"data": {}})["data"].items():
    open(f"{out}/domains/{k}", "w").write(v)
for s in serving[:1] + ([o] if o is not None and o is not serving[0] else []) + [x for x in serving if x is not o][:1]:
    role = "orderer" if s is o else "replica"
    text = s["cm"]["data"][s["key"]]
    text = text.replace(s["cfg"]["acme"]["storage"], f"{out}/acme/").replace(s["cfg"]["tls"]["certs"], f"{out}/certs/")
    os.makedirs(f"{out}/{role}-state", exist_ok=True)
    for key in ("state", "zone"):
        v = s["cfg"]["dns"][key]
        text = text.replace(v, f"{out}/{role}-state/{posixpath.basename(v)}")
    open(f"{out}/config/{role}.yaml", "w").write(text)
    hp, pp, ap = ports[role]
    run = re.sub(r'https: \["[^"]*"\]', f'https: ["127.0.0.1:{hp}"]', text)
    run = re.sub(r'http: \["[^"]*"\]', f'http: ["127.0.0.1:{pp}"]', run)
    run = re.sub(r'admin: "[^"]*"', f'admin: "127.0.0.1:{ap}"', run)
    run = re.sub(r"directory: \S+", "directory: https://127.0.0.1:1/dir", run)
    open(f"{out}/config/{role}-run.yaml", "w").write(run)
say(os.path.exists(f"{out}/config/orderer.yaml") and os.path.exists(f"{out}/config/replica.yaml"),
    "the orderer's and a replica's configs rendered")
PY
while read -r verdict text; do
  if [ "$verdict" = PASS ]; then ok "acme manifest: $text"; else bad "acme manifest: $text"; fi
done <"$WORK/acme-rules"
check "acme manifest: rules ran" [ "$(grep -c '^PASS\|^FAIL' "$WORK/acme-rules")" -ge 15 ]
for role in orderer replica; do
  if [ -f "$AK/config/$role.yaml" ]; then
    rc=0
    "$MTASTSD" -c "$AK/config/$role.yaml" check >"$WORK/check-$role.out" 2>&1 || rc=$?
    check "acme manifest: the $role's config passes check (exit $rc)" \
      bash -c "[ $rc = 0 ] && grep -q '^configuration OK$' '$WORK/check-$role.out' && ! grep -q ': error: ' '$WORK/check-$role.out'"
  else
    bad "acme manifest: no $role config rendered"
  fi
done

# ---- the rendered pair, run: an orderer and a replica on one storage folder
if [ -f "$AK/config/orderer-run.yaml" ] && [ -f "$AK/config/replica-run.yaml" ]; then
  "$MTASTSD" -c "$AK/config/orderer-run.yaml" serve 2>>"$WORK/orderer.log" &
  EXTRA_PIDS="$EXTRA_PIDS $!"
  check "acme run: the orderer starts" wait_for 15 curl -fsS -o /dev/null "http://127.0.0.1:$OA/healthz"
  check "acme run: the orderer holds the storage's lock" wait_for 10 test -s "$AK/acme/order.lock"
  MTASTSD_TEST_NO_INOTIFY=1 MTASTSD_TEST_ACME_RELIST=2 \
    "$MTASTSD" -c "$AK/config/replica-run.yaml" serve 2>>"$WORK/replica.log" &
  RPID=$!
  EXTRA_PIDS="$EXTRA_PIDS $RPID"
  check "acme run: a replica (order: false) starts beside it on the same storage" \
    wait_for 15 curl -fsS -o /dev/null "http://127.0.0.1:$RA/healthz"
  mkdir -p "$AK/acme/challenges/http-01"
  echo "k8s-token.thumbprint" >"$AK/acme/challenges/http-01/k8s-token"
  check "acme run: the replica answers a challenge written to the shared storage" \
    bash -c "curl -fsS http://127.0.0.1:$RH/.well-known/acme-challenge/k8s-token | grep -qx k8s-token.thumbprint"
  # a pair stored as the orderer stores it (the key first); no signal is sent
  gen_certs "$WORK/agen" example.com
  CA=$WORK/agen/ca.crt
  served() { tls_get mta-sts.example.com "$RP" "$WK" 2>/dev/null | grep -q '^mode: enforce'; }
  not_served() { ! served; }
  check "acme run: the replica does not serve the pair before it is stored" not_served
  mkdir -p "$AK/acme/certs"
  cp "$WORK/agen/mta-sts.example.com.key" "$AK/acme/certs/"
  cp "$WORK/agen/mta-sts.example.com.crt" "$AK/acme/certs/"
  check "acme run: without inotify or a signal, the replica serves the stored pair within 6 s" wait_for 6 served
  check "acme run: its periodic listing found it" grep -q "change detected by the periodic listing" "$WORK/replica.log"
  check "acme run: no signal was involved" bash -c "! grep -q 'SIGHUP received' '$WORK/replica.log'"
  check "acme run: no sanitizer report" \
    bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$WORK/orderer.log' '$WORK/replica.log'"
else
  bad "acme run: no rendered configs"
fi
finish
