#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Kubernetes example (config/kubernetes/mtastsd.yaml), without a cluster: every document
# parses; the config is mounted as a folder (no subPath) where MTASTSD_CONFIG points; Secrets
# are 0400/0440; the LoadBalancer keeps client addresses; the publisher verifies every replica
# (a headless Service) before it publishes, from one copy of the config; every image has a
# recipe; the ConfigMap's config loads. Then the real binary, serving from folders laid out as
# kubelet lays out ConfigMap and Secret volumes (entries are symlinks through ..data, swapped
# by one rename), picks up a new config and a renewed certificate without a restart.
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
finish
