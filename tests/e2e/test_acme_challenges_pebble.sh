#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The challenge answers validated by a real ACME CA: pebble, with pebble-challtestsrv resolving
# every name to 127.0.0.1, validates tls-alpn-01 against mtastsd's HTTPS listener and http-01
# against its plain HTTP listener. A small Python client (validation only: account, order,
# challenge, authorization polled; no finalize) writes the key authorizations into
# acme.storage's challenges/ folder, as the orderer does; mtastsd runs with order: false, the
# replica that only answers. A challenge whose file was not written must fail: pebble checks.
. "$(dirname "$0")/lib.sh"
need curl openssl python3
python3 -c 'import cryptography, requests' 2>/dev/null || skip "python3-cryptography or python3-requests is missing"

CERTS="$WORK/certs"
STORE="$WORK/acme"
gen_certs "$CERTS" example.com
mkdir -p "$STORE/challenges/http-01" "$STORE/challenges/tls-alpn-01"
P=$(free_port); H=$(free_port); ADMIN_PORT=$(free_port)
cat >"$WORK/mtastsd.yaml" <<EOF
$(serve_head "$P" "$H" "$ADMIN_PORT")
$(acme_replica_conf "$STORE")
domains:
  - name: example.com
    mode: enforce
    mx: [mx1.example.com]
EOF
start_server "$WORK/mtastsd.yaml" "$ADMIN_PORT" || exit 1
# pebble validates against serve's listeners; the client below does not retry a badNonce
pebble_setup "$H" "$P"
pebble_start PEBBLE_WFE_NONCEREJECT=0

# validate TYPE NAME WRITE: one order for NAME, its TYPE challenge answered (the file written
# when WRITE is 1), the authorization polled; prints "NAME TYPE STATUS DETAIL"
cat >"$WORK/validate.py" <<'PY'
import base64, hashlib, json, os, sys, time
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

directory, ca, store = sys.argv[1], sys.argv[2], sys.argv[3]
jobs = [a.split(":") for a in sys.argv[4:]]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
key = ec.generate_private_key(ec.SECP256R1())
pub = key.public_key().public_numbers()
jwk = {"crv": "P-256", "kty": "EC", "x": b64(pub.x.to_bytes(32, "big")), "y": b64(pub.y.to_bytes(32, "big"))}
thumb = b64(hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()).digest())
s = requests.Session()
s.trust_env = False  # REQUESTS_CA_BUNDLE would replace the CA below
s.verify = ca
d = s.get(directory).json()
nonce = [s.head(d["newNonce"]).headers["Replay-Nonce"]]
kid = [None]

def post(url, payload):
    prot = {"alg": "ES256", "nonce": nonce[0], "url": url}
    prot.update({"kid": kid[0]} if kid[0] else {"jwk": jwk})
    p64 = b64(json.dumps(prot).encode())
    body = "" if payload is None else b64(json.dumps(payload).encode())
    r, s_ = decode_dss_signature(key.sign(f"{p64}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
    sig = b64(r.to_bytes(32, "big") + s_.to_bytes(32, "big"))
    resp = s.post(url, data=json.dumps({"protected": p64, "payload": body, "signature": sig}),
                  headers={"Content-Type": "application/jose+json"})
    nonce[0] = resp.headers.get("Replay-Nonce", nonce[0])
    if resp.status_code >= 400:
        raise SystemExit(f"{url}: {resp.status_code} {resp.text}")
    return resp

kid[0] = post(d["newAccount"], {"termsOfServiceAgreed": True}).headers["Location"]
for typ, name, write in jobs:
    order = post(d["newOrder"], {"identifiers": [{"type": "dns", "value": name}]}).json()
    authz_url = order["authorizations"][0]
    chall = next(c for c in post(authz_url, None).json()["challenges"] if c["type"] == typ)
    keyauth = chall["token"] + "." + thumb
    path = os.path.join(store, "challenges", typ, chall["token"] if typ == "http-01" else name)
    if write == "1":
        with open(path + ".tmp", "w") as f:
            f.write(keyauth)
        os.rename(path + ".tmp", path)
    post(chall["url"], {})
    for _ in range(100):
        authz = post(authz_url, None).json()
        if authz["status"] != "pending":
            break
        time.sleep(0.2)
    detail = "-"
    for c in authz["challenges"]:
        if c["type"] == typ and "error" in c:
            detail = c["error"].get("detail", "-").replace("\n", " ")
    print(name, typ, authz["status"], detail, flush=True)
    if write == "1":
        os.unlink(path)
PY
python3 "$WORK/validate.py" "$DIR_URL" "$WORK/pebble.crt" "$STORE" \
  tls-alpn-01:mta-sts.example.com:1 tls-alpn-01:mta-sts.fresh.example.com:1 http-01:mta-sts.web.example.com:1 \
  tls-alpn-01:mta-sts.nofile.example.com:0 http-01:mta-sts.nofile2.example.com:0 >"$WORK/validate.out" 2>&1 ||
  FAIL_SHOW="$WORK/validate.out" fail "the validation client failed"
cat "$WORK/validate.out"
status() { awk -v n="$1" -v t="$2" '$1 == n && $2 == t { print $3 }' "$WORK/validate.out"; }
check "tls-alpn-01 validated by pebble for a name with its own certificate" [ "$(status mta-sts.example.com tls-alpn-01)" = valid ]
check "tls-alpn-01 validated by pebble for a name without a certificate yet" [ "$(status mta-sts.fresh.example.com tls-alpn-01)" = valid ]
check "http-01 validated by pebble" [ "$(status mta-sts.web.example.com http-01)" = valid ]
check "tls-alpn-01 without the file: pebble refuses it" [ "$(status mta-sts.nofile.example.com tls-alpn-01)" = invalid ]
check "http-01 without the file: pebble refuses it" [ "$(status mta-sts.nofile2.example.com http-01)" = invalid ]
check "the policy is still served" curl -fsS --max-time 5 --resolve "mta-sts.example.com:$P:127.0.0.1" \
  --cacert "$CERTS/ca.crt" -o /dev/null "https://mta-sts.example.com:$P/.well-known/mta-sts.txt"
finish
