# SPDX-License-Identifier: MIT
"""Least privilege: started as root with `user:`, mtastsd binds a privileged port, loads its
keys, then runs as that user and group with no way back to root; reloads still work with keys
readable by that user; a key only root can read, in a folder the user owns (so the privileged
reader refuses it too), leaves only its own domain without a certificate, logged as
'permission denied' with the reader's reason. As root without `user:` it runs but warns."""
import os
import pwd
import signal
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/e2e
from mtastsd_test import Results, Server, wait_until  # noqa: E402

r = Results()
if os.geteuid() != 0:
    print("skip: needs root to test dropping privileges")
    raise SystemExit(77)
user = pwd.getpwnam("nobody")


def privileged_port():
    for port in range(600, 1000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            s.close()
            return port
        except OSError:
            s.close()
    raise RuntimeError("no free port below 1024")


def owner_all(path, uid, gid):
    for dirpath, dirs, files in os.walk(path):
        os.chown(dirpath, uid, gid)
        for f in files:
            os.chown(os.path.join(dirpath, f), uid, gid)


srv = Server(["example.com", "example.org"], extra="user: nobody\ngroup: nogroup")
try:
    srv.port = privileged_port()
    srv.write_config(srv.domains)
    os.chmod(srv.dir, 0o755)
    os.makedirs(os.path.join(srv.dir, "state"), exist_ok=True)
    owner_all(os.path.join(srv.dir, "state"), user.pw_uid, user.pw_gid)
    owner_all(srv.certs, user.pw_uid, user.pw_gid)
    srv.start()
    srv.wait_log("dropped privileges")
    with open(f"/proc/{srv.proc.pid}/status") as f:
        status = f.read()
    uids = [l.split()[1:] for l in status.splitlines() if l.startswith("Uid:")][0]
    gids = [l.split()[1:] for l in status.splitlines() if l.startswith("Gid:")][0]
    groups = [l.split()[1:] for l in status.splitlines() if l.startswith("Groups:")][0]
    r.check(set(uids) == {str(user.pw_uid)}, f"runs as nobody: real/effective/saved/fs uid {uids}")
    r.check(set(gids) == {str(user.pw_gid)} and groups in ([], [str(user.pw_gid)]),
            f"runs as nogroup with no other groups: gid {gids}, groups {groups}")
    tids = os.listdir(f"/proc/{srv.proc.pid}/task")
    root_threads = [t for t in tids
                    if open(f"/proc/{srv.proc.pid}/task/{t}/status").read().count("Uid:\t0") > 0]
    r.check(not root_threads, f"every one of its {len(tids)} threads left root")
    st, _, body = srv.get("example.com")
    r.check(st == 200 and body == srv.expected_body("example.com"),
            f"serves on privileged port {srv.port} bound before the switch")

    def reload_and_get(mode):
        srv.write_config(srv.domains, mode=mode)
        srv.proc.send_signal(signal.SIGHUP)
        return wait_until(lambda: srv.get("example.org")[2] == srv.expected_body("example.org", mode=mode),
                          5, interval=0.1) is not None

    r.check(reload_and_get("testing"), "a reload as nobody reads the config and keys it owns")
    key = os.path.join(srv.certs, "mta-sts.example.org.key")
    os.chown(key, 0, 0)
    os.chmod(key, 0o600)
    # the folder is nobody's, so the privileged reader refuses it too: only example.org is hit
    srv.write_config(srv.domains, mode="enforce")
    srv.proc.send_signal(signal.SIGHUP)
    want = f"cannot read '{key}': permission denied"
    srv.wait_log(want)
    log = open(srv.log.name).read()
    r.check(want in log, "a key only root can read is logged as 'permission denied', naming it")
    r.check("the privileged reader refused" in log and "can be changed by others than root" in log,
            "with the reason the privileged reader refused it (its folder is nobody's)")
    st, _, body = srv.get("example.com")
    r.check(st == 200 and body == srv.expected_body("example.com", mode="enforce"),
            "the reload still took effect for the other domain")
    try:
        srv.get("example.org")
        refused = False
    except (ssl.SSLError, OSError):
        refused = True
    r.check(refused, "the domain of the unreadable key gets no certificate (no wrong one either)")
    r.check(srv.stop() == 0, "SIGTERM exits 0 as nobody")
finally:
    srv.cleanup()

# as root without user: it runs and warns
srv = Server(["example.com"])
try:
    srv.start()
    time.sleep(0.2)
    log = open(srv.log.name).read()
    r.check("running as root" in log, "root without 'user:' runs with a warning")
    srv.stop()
finally:
    srv.cleanup()
r.finish()
