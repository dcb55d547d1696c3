#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""zmtp-spec's cases for the draft socket types (the `drafts` group and the
draft Socket-Type cases of `handshake`) against real peers:

* libzmq 4.3.5 with its draft API (npm zeromq 6.8.0, node/spec_peer.js):
  SERVER, CLIENT, RADIO, DISH, SCATTER and GATHER, each as a server
  (zmtp-spec --connect) and as a client (--bind). Its build has no PEER or
  CHANNEL.
* zmtp's own sockets (zmtp-cat): all eight draft types, both roles.

Every MUST case passes but those recorded in KNOWN (libzmq's DISH drops
the connection after a PING), and every draft case
meant for the peer's type and role runs (none is N/A for want of a
message). A RADIO that does not filter by group and a SERVER that
delivers a multipart message (raw sockets here) are each caught by the
cases meant to catch them. libzmq 4.3.5's RADIO aborts on a JOIN of a
256-octet group (drafts/radio-join-256): that case runs alone against a
RADIO of its own, must fail, and the process must have died of SIGABRT.

Usage: /usr/bin/python3 zmtp_spec_drafts.py PATH/TO/zmtp-spec PATH/TO/zmtp-cat PATH/TO/node

Every process started is killed by pid; every port comes from port 0.
"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading

import zmtp_spec_conformance as conf

NODE_PEER = os.path.join(conf.NODE_DIR, "spec_peer.js")
LIBZMQ_TYPES = ["SERVER", "CLIENT", "RADIO", "DISH", "SCATTER", "GATHER"]
ZMTP_TYPES = LIBZMQ_TYPES + ["PEER", "CHANNEL"]
ONLY = "handshake/socket-type-*,drafts/*,commands/ping-pong,commands/ping-ttl-zero,robustness/connect-close"
CRASH = "drafts/radio-join-256"
# libzmq 4.3.5's DISH closes the connection on any command after the
# handshake: it answers a PING with PONG, then drops the connection (MUST).
DISH_COMMANDS = {"commands/ping-ttl-zero": "FAIL"}
# (peer, type[, "client"]) -> {case id: expected result} where it is not a pass.
KNOWN = {("libzmq", "DISH"): DISH_COMMANDS, ("libzmq", "DISH", "client"): DISH_COMMANDS}
# What zmtp-cat's SCATTER and RADIO send, a line every 20 ms: as
# node/spec_peer.js's (the catalogue's `libzmq` notes).
FEED = {"SCATTER": ["A-news", "B-weather"], "RADIO": ["A\tnews", "AB\textra", "B\tweather"]}
CAT_ARGS = {"SERVER": ["--echo"], "CLIENT": ["--echo"], "PEER": ["--echo"], "CHANNEL": ["--echo"],
            "DISH": ["--join", "A"]}


def feed(proc, kind):
    """Writes zmtp-cat's stdin until it is stopped."""
    lines = "".join(line + "\n" for line in FEED.get(kind, [])).encode()
    try:
        while lines and proc.poll() is None:
            proc.stdin.write(lines)
            proc.stdin.flush()
            threading.Event().wait(0.02)
    except (BrokenPipeError, OSError, ValueError):
        pass


def cat_command(kind, how, endpoint):
    args = [conf.CAT, kind.lower(), "--" + how, endpoint] + CAT_ARGS.get(kind, [])
    return args + (conf.CAT_RECONNECT if how == "connect" else [])


def checked(label, key, status, cases, doc, kind, bind):
    """No unexpected failure, the recorded ones as recorded, the exit status
    to match, and every draft case for this type and role ran."""
    assert doc["peer"] == kind, "%s: the peer was taken for %s" % (label, doc["peer"])
    known = KNOWN.get(key, {})
    fails = {i: c["evidence"] for i, c in cases.items() if c["result"] == "FAIL" and known.get(i) != "FAIL"}
    assert not fails, "%s: unexpected failures %s" % (label, fails)
    changed = {i: cases[i]["result"] for i, r in known.items() if cases[i]["result"] != r}
    assert not changed, "%s: recorded results changed: %s" % (label, changed)
    must = any(c["result"] == "FAIL" and c["level"] == "MUST" for c in cases.values())
    assert status == (1 if must else 0), "%s: exit %d" % (label, status)
    idle = {i: c["evidence"] for i, c in cases.items()
            if i.startswith("drafts/") and c["result"] == "N/A" and not c["evidence"].startswith(("not for", "tests "))}
    assert not idle, "%s: draft cases that did not run: %s" % (label, idle)
    ran = [i for i, c in cases.items() if i.startswith("drafts/") and c["result"] != "N/A"]
    assert ran, "%s: no draft case ran" % label
    return "%s%s: %s" % (label, " (--bind)" if bind else "", doc["summary"])


def serve(command, node):
    """Starts a server; returns (process, endpoint)."""
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE if node else subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL if node else subprocess.PIPE, cwd=conf.NODE_DIR)
    if node:
        line = proc.stdout.readline().decode()
        return proc, json.loads(line)["bound"] if line else None
    line = proc.stderr.readline().decode()
    return proc, line.split()[1] if line.startswith("bound ") else None


def check_server(peer, kind, skip=None):
    node = peer == "libzmq"
    command = [conf.NODE, NODE_PEER, kind.lower(), "bind", "tcp://127.0.0.1:*"] if node else \
        cat_command(kind, "bind", "tcp://127.0.0.1:0")
    proc, endpoint = serve(command, node)
    try:
        assert endpoint, "%s %s printed no endpoint" % (peer, kind)
        if not node:
            threading.Thread(target=feed, args=(proc, kind), daemon=True).start()
        args = ["--connect", endpoint, "--timeout", "800", "--only", ONLY] + (["--skip", skip] if skip else [])
        status, cases, doc = conf.run_spec(*args)
    finally:
        conf.stop(proc)
    return checked("%s %s" % (peer, kind), (peer, kind), status, cases, doc, kind, False)


def check_client(peer, kind):
    def command(endpoint):
        if peer == "libzmq":
            return [conf.NODE, NODE_PEER, kind.lower(), "connect", endpoint]
        return cat_command(kind, "connect", endpoint)

    def started(proc):
        threading.Thread(target=feed, args=(proc, kind), daemon=True).start()
    status, cases, doc = conf.run_bind(command, "NULL", "handshake/socket-type-*,drafts/*,commands/ping-pong,"
                                       "commands/ping-ttl-zero",
                                       started=started if peer == "zmtp" else None)
    return checked("%s %s client" % (peer, kind), (peer, kind, "client"), status, cases, doc, kind, True)


def check_radio_crash():
    """libzmq 4.3.5's RADIO and a JOIN of a 256-octet group: the case fails
    because the whole process is gone (SIGABRT), which is what it shows."""
    proc, endpoint = serve([conf.NODE, NODE_PEER, "radio", "bind", "tcp://127.0.0.1:*"], True)
    try:
        status, cases, doc = conf.run_spec("--connect", endpoint, "--timeout", "800", "--only", CRASH)
        proc.wait(timeout=conf.WAIT)
    finally:
        if proc.poll() is None:
            conf.stop(proc)
    result = cases[CRASH]
    assert result["result"] == "FAIL" and status == 1, "libzmq RADIO, %s: %s" % (CRASH, result)
    assert proc.returncode == -signal.SIGABRT, "libzmq RADIO ended with %s" % proc.returncode
    return "libzmq RADIO: %s FAIL (%s; the process died of SIGABRT)" % (CRASH, result["evidence"])


def raw_peer(kind, conn):
    """A NULL RADIO or SERVER that gets one rule wrong: the RADIO sends
    group "B" to every DISH, joined or not; the SERVER echoes a multipart
    message whole."""
    conn.sendall(b"\xff" + b"\x00" * 7 + b"\x01\x7f\x03\x01NULL" + b"\x00" * 48)
    conf.recv_exact(conn, 64)
    body = b"\x05READY\x0bSocket-Type" + struct.pack(">I", len(kind)) + kind.encode()
    conn.sendall(bytes([4, len(body)]) + body)
    if kind == "RADIO":
        def broadcast():
            try:
                while True:
                    conn.sendall(b"\x01\x01B\x00\x07weather")
                    threading.Event().wait(0.02)
            except OSError:
                pass
        threading.Thread(target=broadcast, daemon=True).start()
    while True:
        flags, = conf.recv_exact(conn, 1)
        size = struct.unpack(">Q", conf.recv_exact(conn, 8))[0] if flags & 2 else conf.recv_exact(conn, 1)[0]
        body = conf.recv_exact(conn, size)
        if kind == "SERVER" and not flags & 4 and size < 256:
            conn.sendall(bytes([flags & 1, size]) + body)


def serve_raw(kind, conn):
    try:
        raw_peer(kind, conn)
    except (ConnectionError, OSError):
        pass


def check_wrong(kind, caught, passed):
    """zmtp-spec against raw_peer: `caught` fails, `passed` passes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    conns = []

    def accept():
        try:
            while True:
                conn, _ = listener.accept()
                conns.append(conn)
                threading.Thread(target=serve_raw, args=(kind, conn), daemon=True).start()
        except OSError:
            pass
    threading.Thread(target=accept, daemon=True).start()
    try:
        status, cases, _ = conf.run_spec("--connect", "tcp://127.0.0.1:%d" % listener.getsockname()[1],
                                         "--timeout", "800", "--only", ",".join(caught + passed))
    finally:
        listener.close()
        for conn in conns:
            conn.close()
    results = {i: cases[i]["result"] for i in caught + passed}
    assert status == 1 and results == dict([(i, "FAIL") for i in caught] + [(i, "PASS") for i in passed]), \
        "wrong %s: %s" % (kind, {i: (c["result"], c["evidence"]) for i, c in cases.items()})
    return "wrong %s caught by %s (%s)" % (kind, ", ".join(caught), cases[caught[0]]["evidence"])


def main():
    if not os.path.isdir(os.path.join(conf.NODE_DIR, "node_modules", "zeromq")):
        print("FAIL: zeromq (npm) is not installed in %s; run scripts/install-deps" % conf.NODE_DIR)
        return 1
    jobs = [lambda k=k: check_server("libzmq", k, skip=CRASH if k == "RADIO" else None) for k in LIBZMQ_TYPES]
    jobs += [lambda k=k: check_client("libzmq", k) for k in LIBZMQ_TYPES]
    jobs += [check_radio_crash,
             lambda: check_wrong("RADIO", ["drafts/radio-nothing-before-join", "drafts/radio-join"], []),
             lambda: check_wrong("SERVER", ["drafts/client-server-multipart-discarded"], ["drafts/server-reply"])]
    jobs += [lambda k=k: check_server("zmtp", k) for k in ZMTP_TYPES]
    jobs += [lambda k=k: check_client("zmtp", k) for k in ZMTP_TYPES]
    failed = conf.run_jobs(jobs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
