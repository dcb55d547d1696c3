#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""zmtp-spec against real and deliberately wrong peers.

Usage: /usr/bin/python3 zmtp_spec_conformance.py PATH/TO/zmtp-spec PATH/TO/zmtp-cat [PATH/TO/node]

* libzmq 4.3 (pyzmq) servers, one process per socket type, NULL for every
  type and PLAIN and CURVE for REP: every MUST case passes (zmtp-spec exits
  0) and the cases that are known to fail against libzmq (SHOULD/MAY, see
  the catalogue's `libzmq` notes) fail as recorded.
* zmtp's own sockets (zmtp-cat; REP with NULL, PLAIN and CURVE): every
  MUST case passes but the one recorded in ZMTP_KNOWN.
* zmtp-spec --bind against libzmq clients of every type with NULL, PLAIN
  and CURVE (each makes a new socket when its connection ends; the type is
  read from its READY or INITIATE) and zmtp-cat clients, one over tls+tcp
  with zmtp-spec as the TLS server.
* JeroMQ 0.3.6's REP (ZMTP 2.0 only): the 2.0 cases pass, the ZMTP 3 ones
  are N/A with the reason.
* Over ws:// (ZWS 2.0): libzmq 4.3.5 (npm zeromq 6.8.0) REP as server and
  DEALER as client, zmtp-cat REP as server and DEALER as client, and
  zmtp-cat REP over wss://; the cases ZWS framing cannot carry are N/A with
  the reason the catalogue gives.
* A small raw-socket peer that is right, then wrong in one way at a time
  (no READY, accepts incompatible types, as-server 1, no PONG, PONG without
  the context, accepts frames over its limit, stays open on a mechanism
  mismatch, stops serving after a bad greeting): the right one passes,
  each wrong one is caught by the case meant to catch it.

Every process started is killed by pid; every port comes from port 0.
"""

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

SPEC = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
CAT = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
NODE = sys.argv[3] if len(sys.argv) > 3 else "node"
NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
WAIT = 15  # seconds: the bound on every wait for a process
TYPES = ["REP", "ROUTER", "DEALER", "PUB", "XPUB", "SUB", "XSUB", "PUSH", "PULL", "PAIR"]
# Known results against libzmq 4.3 that are not MUST failures (the
# catalogue's `libzmq` notes): case id -> expected result.
LIBZMQ_KNOWN = {
    "greeting/plain-server-as-server": "FAIL",  # MUST: libzmq greets with as-server 0
    "greeting/curve-server-as-server": "FAIL",  # MUST: the same under CURVE
    "security/plain-refused-closes": "FAIL",    # MUST: ERROR sent, connection kept open
    "security/plain-refused-error": "FAIL",     # SHOULD: its ERROR's name is 5e 'RROR'
    "patterns/pub-subscriptions-counted": "FAIL",  # MUST: SUBSCRIBE "A" twice, CANCEL once ends it
    "framing/reserved-bit-refused": "FAIL",
    "handshake/metadata-name-zero-length": "FAIL",
    "handshake/metadata-value-size-huge": "FAIL",
    "websocket/empty-message": "FAIL",          # SHOULD: libzmq 4.3.5 keeps the connection open
}
CURVE_SERVER_PUBLIC = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
CURVE_SERVER_SECRET = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"


# ---------------------------------------------------------------- servers

def serve_libzmq(kind, mechanism, transport="tcp"):
    """Runs in a child process: a pyzmq server that prints its endpoint."""
    import zmq
    ctx = zmq.Context()
    auth = None
    s = ctx.socket(getattr(zmq, kind))
    if mechanism == "PLAIN":
        from zmq.auth.thread import ThreadAuthenticator
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        s.plain_server = True
    elif mechanism == "CURVE":
        s.curve_server = True
        s.curve_secretkey = CURVE_SERVER_SECRET.encode()
        s.curve_publickey = CURVE_SERVER_PUBLIC.encode()
    if transport == "ipc":
        import tempfile
        s.bind("ipc://%s/spec.sock" % tempfile.mkdtemp(prefix="zmtp-spec-ipc-"))
    else:
        s.bind("tcp://127.0.0.1:0")
    print(s.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
    while True:
        if kind in ("REP", "ROUTER", "DEALER", "PAIR"):
            s.send_multipart(s.recv_multipart())
        elif kind in ("PUB", "XPUB", "PUSH"):
            if kind == "XPUB":
                while s.poll(0):
                    s.recv()
            for topic in (b"A-news", b"B-weather"):
                try:
                    s.send(topic, zmq.NOBLOCK)
                except zmq.Again:
                    pass
            time.sleep(0.02)
        else:
            s.recv_multipart()


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def raw_peer(conn, defect, state):
    """A minimal NULL REP that follows the rules the tested cases check,
    except the one named by `defect`."""
    greeting = bytearray(b"\xff" + b"\x00" * 7 + b"\x01\x7f\x03\x01NULL" + b"\x00" * 16 + b"\x00" + b"\x00" * 31)
    if defect == "as-server-1":
        greeting[32] = 1
    conn.sendall(bytes(greeting))
    peer = recv_exact(conn, 64)
    if peer[0] != 0xFF or not peer[9] & 1 or peer[10] < 3:
        if defect == "dies-on-bad-greeting":
            state["dead"] = True
        return
    if peer[12:32].rstrip(b"\x00") != b"NULL":
        if defect == "dies-on-bad-greeting":
            state["dead"] = True
        if defect == "open-on-mismatch":
            time.sleep(3)
        return
    if defect != "no-ready":
        props = b"\x0bSocket-Type" + struct.pack(">I", 3) + b"REP"
        body = b"\x05READY" + props
        conn.sendall(bytes([4, len(body)]) + body)
    ready = True
    while True:
        flags, = recv_exact(conn, 1)
        if flags & 0xF8:
            return
        size = struct.unpack(">Q", recv_exact(conn, 8))[0] if flags & 2 else recv_exact(conn, 1)[0]
        if size > 1000 and defect != "accepts-oversize":
            return
        body = recv_exact(conn, min(size, 1 << 20))
        if not flags & 4:
            continue
        name = body[1:1 + body[0]]
        data = body[1 + body[0]:]
        if name == b"READY" and ready:
            ready = False
            i = data.find(b"Socket-Type")
            value = data[i + 15:] if i >= 0 else b""
            if not (value.startswith(b"REQ") or value.startswith(b"DEALER")) and defect != "accepts-incompatible":
                return
        elif name == b"PING" and defect != "no-pong":
            context = b"" if defect == "pong-no-context" else data[2:18]
            pong = b"\x04PONG" + context
            conn.sendall(bytes([4, len(pong)]) + pong)


def serve_raw(defect):
    """Runs in a child process: the raw peer on port 0, one thread per
    connection; `dies-on-bad-greeting` stops accepting after a bad one."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print("tcp://127.0.0.1:%d" % listener.getsockname()[1], flush=True)
    state = {"dead": False}

    def run(conn):
        try:
            raw_peer(conn, defect, state)
        except (ConnectionError, OSError):
            pass
        finally:
            conn.close()
    while not state["dead"]:
        conn, _ = listener.accept()
        if state["dead"]:
            conn.close()
            break
        threading.Thread(target=run, args=(conn,), daemon=True).start()
    listener.close()
    time.sleep(60)


def client_libzmq(kind, endpoint, mechanism="NULL"):
    """Runs in a child process: a pyzmq client of `kind` that behaves as the
    pattern cases expect (REQ asks once, PUB/XPUB/PUSH send topics A-news
    and B-weather, SUB subscribes to A, the others echo) and makes a new
    socket each time its connection ends, since libzmq does not reconnect
    after a refused handshake."""
    import zmq
    ctx = zmq.Context()
    ended = (zmq.EVENT_DISCONNECTED | zmq.EVENT_CLOSED | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL |
             zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    while True:
        s = ctx.socket(getattr(zmq, kind))
        s.linger = 0
        s.reconnect_ivl = 60000  # the next socket connects, not this one
        if mechanism == "PLAIN":
            s.plain_username, s.plain_password = b"admin", b"secret"
        elif mechanism == "CURVE":
            s.curve_serverkey = CURVE_SERVER_PUBLIC.encode()
            s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
        if kind == "SUB":
            s.subscribe(b"A")
        monitor = s.get_monitor_socket(ended)
        s.connect(endpoint)
        if kind == "XSUB":
            s.send(b"\x01A")
        if kind == "REQ":
            s.send(b"request")
        while not monitor.poll(20):
            if kind in ("PUB", "XPUB", "PUSH"):
                for topic in (b"A-news", b"B-weather"):
                    try:
                        s.send(topic, zmq.NOBLOCK)
                    except zmq.Again:
                        pass
            while kind not in ("PUB", "PUSH") and s.poll(0):
                m = s.recv_multipart()
                if kind in ("REP", "ROUTER", "DEALER", "PAIR"):
                    s.send_multipart(m)
        s.disable_monitor()  # frees its inproc address for the next socket
        monitor.close()
        s.close()
        time.sleep(0.02)  # no spinning once zmtp-spec is gone


def client_raw(endpoint):
    """Runs in a child process: a REQ client that forgets the delimiter."""
    host, port = endpoint[len("tcp://"):].rsplit(":", 1)
    conn = socket.create_connection((host, int(port)))
    conn.sendall(b"\xff" + b"\x00" * 7 + b"\x01\x7f\x03\x01NULL" + b"\x00" * 48)
    recv_exact(conn, 64)
    body = b"\x05READY\x0bSocket-Type" + struct.pack(">I", 3) + b"REQ" + b"\x08Identity" + struct.pack(">I", 0)
    conn.sendall(bytes([4, len(body)]) + body + b"\x00\x07request")
    time.sleep(60)


# ---------------------------------------------------------------- driver

def start_server(*args):
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve"] + list(args),
                            stdout=subprocess.PIPE)
    line = proc.stdout.readline().decode().strip()
    assert line, "server %s printed no endpoint" % (args,)
    return proc, line


def stop(proc):
    proc.kill()
    proc.wait(timeout=WAIT)


def run_spec(*args):
    """Runs zmtp-spec with --json; returns (exit status, {id: case})."""
    out = subprocess.run([SPEC, "--json"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=120)
    assert out.returncode in (0, 1), "zmtp-spec %s: status %d: %s" % (args, out.returncode, out.stderr)
    doc = json.loads(out.stdout)
    return out.returncode, {c["id"]: c for c in doc["cases"]}, doc


def failures(cases):
    return {i: c for i, c in cases.items() if c["result"] == "FAIL"}


def check_libzmq(kind, mechanism="NULL", only=None, extra=(), transport="tcp"):
    proc, endpoint = start_server("libzmq", kind, mechanism, transport)
    try:
        args = ["--connect", endpoint, "--timeout", "800"] + list(extra)
        if only:
            args += ["--only", only]
        status, cases, doc = run_spec(*args)
    finally:
        stop(proc)
        if endpoint.startswith("ipc://"):  # the killed server leaves its socket
            path = endpoint[len("ipc://"):]
            os.unlink(path)
            os.rmdir(os.path.dirname(path))
    fails = failures(cases)
    unexpected = {i: c["evidence"] for i, c in fails.items() if LIBZMQ_KNOWN.get(i) != "FAIL"}
    assert not unexpected, "libzmq %s %s: unexpected failures %s" % (kind, mechanism, unexpected)
    must = any(c["level"] == "MUST" for c in fails.values())
    assert status == (1 if must else 0), "libzmq %s %s: exit %d" % (kind, mechanism, status)
    passed = sum(1 for c in cases.values() if c["result"] == "PASS")
    assert passed > 0, "libzmq %s %s: nothing passed" % (kind, mechanism)
    return "libzmq %s %s over %s: %s" % (kind, mechanism, transport, doc["summary"])


RAW_ONLY = ("greeting/version-3.1,greeting/null-as-server-zero,greeting/mechanism-mismatch-plain,"
            "greeting/mechanism-lower-case,handshake/socket-type-pub-refused,handshake/socket-type-dealer-accepted,"
            "commands/ping-pong,commands/ping-context-echo,framing/at-max-msg-size,framing/over-max-msg-size")
DEFECTS = {
    "no-ready": "greeting/version-3.1",
    "accepts-incompatible": "handshake/socket-type-pub-refused",
    "as-server-1": "greeting/null-as-server-zero",
    "no-pong": "commands/ping-pong",
    "pong-no-context": "commands/ping-context-echo",
    "accepts-oversize": "framing/over-max-msg-size",
    "open-on-mismatch": "greeting/mechanism-mismatch-plain",
    "dies-on-bad-greeting": "greeting/mechanism-lower-case",
}


def check_raw(defect):
    proc, endpoint = start_server("raw", defect)
    try:
        status, cases, doc = run_spec("--connect", endpoint, "--type", "rep", "--strict",
                                      "--timeout", "800", "--max-msg-size", "1000", "--only", RAW_ONLY)
    finally:
        stop(proc)
    fails = failures(cases)
    if defect == "none":
        assert status == 0 and not fails, "the right raw peer failed: %s" % {i: c["evidence"] for i, c in fails.items()}
        return "raw peer: %s" % doc["summary"]
    target = DEFECTS[defect]
    assert status == 1, "defect %s: exit %d" % (defect, status)
    assert target in fails, "defect %s not caught by %s: %s" % (defect, target, cases[target])
    return "raw peer %s: caught by %s (%s)" % (defect, target, fails[target]["evidence"])


def spec_bind_args(mechanism):
    """zmtp-spec's options as the server of `mechanism`."""
    return {"NULL": [], "PLAIN": ["--plain-server"],
            "CURVE": ["--curve-secret-key", CURVE_SERVER_SECRET]}[mechanism]


def run_bind(client, mechanism, only, extra=(), endpoint="tcp://127.0.0.1:0", started=None):
    """zmtp-spec --bind, and a client started once it listens: `client`
    makes the client's command line from the bound endpoint; `started`, if
    given, is called with the client's process. Returns (exit status,
    {id: case}, document)."""
    spec = subprocess.Popen([SPEC, "--json", "--bind", endpoint, "--timeout", "800", "--only", only] +
                            spec_bind_args(mechanism) + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc = None
    try:
        line = spec.stderr.readline().decode()
        assert line.startswith("bound "), "zmtp-spec --bind: %r" % line
        proc = subprocess.Popen(client(line.split()[1]), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if started:
            started(proc)
        out, err = spec.communicate(timeout=120)
    finally:
        spec.kill()
        spec.wait(timeout=WAIT)
        if proc:
            stop(proc)
    assert spec.returncode in (0, 1), "zmtp-spec --bind: status %d: %s" % (spec.returncode, err)
    doc = json.loads(out)
    return spec.returncode, {c["id"]: c for c in doc["cases"]}, doc


def libzmq_client(kind, mechanism="NULL"):
    return lambda endpoint: [sys.executable, os.path.abspath(__file__), "--serve", "client", kind, endpoint, mechanism]


# zmtp-cat as a client comes back soon after each case's connection ends.
CAT_RECONNECT = ["--reconnect-ivl", "50", "--reconnect-ivl-max", "100"]


def check_client(client, case, expected):
    """zmtp-spec --bind --type req against one client, one case."""
    command = (lambda ep: [sys.executable, os.path.abspath(__file__), "--serve", "client", "raw", ep]) \
        if client == "raw" else libzmq_client(client)
    status, cases, _ = run_bind(command, "NULL", case, ["--type", "req"])
    result = cases[case]
    assert result["result"] == expected, "%s client, %s: %s" % (client, case, result)
    assert status == (1 if expected == "FAIL" else 0), "%s client: exit %d" % (client, status)
    return "--bind, %s client: %s %s (%s)" % (client, case, expected, result["evidence"])


# Known results against libzmq 4.3 clients that differ from the cases.
LIBZMQ_CLIENT_KNOWN = {}
# The cases run against clients: the type is read from the client's READY
# (or its PLAIN/CURVE INITIATE); those for other types are N/A.
BIND_ONLY = {"NULL": "greeting/version-3.1,greeting/null-as-server-zero,handshake/socket-type-*,patterns/*,"
                     "commands/ping-pong",
             "PLAIN": "greeting/*-client-as-server-zero,security/*,patterns/*,commands/ping-pong",
             "CURVE": "greeting/*-client-as-server-zero,security/*,patterns/*,commands/ping-pong"}


def check_bind(label, client, kind, mechanism, known, only=None):
    status, cases, doc = run_bind(client, mechanism, only or BIND_ONLY[mechanism])
    assert doc["peer"] == kind, "%s %s %s client: its type was read as %s" % (label, kind, mechanism, doc["peer"])
    fails = failures(cases)
    unexpected = {i: c["evidence"] for i, c in fails.items() if known.get(i) != "FAIL"}
    assert not unexpected, "%s %s %s client: unexpected failures %s" % (label, kind, mechanism, unexpected)
    must = any(c["level"] == "MUST" for c in fails.values())
    assert status == (1 if must else 0), "%s %s %s client: exit %d" % (label, kind, mechanism, status)
    assert any(c["result"] == "PASS" for c in cases.values()), "%s %s client: nothing passed" % (label, kind)
    return "--bind, %s %s %s client: %s" % (label, kind, mechanism, doc["summary"])


# Known results against zmtp's own sockets that differ from the cases.
ZMTP_KNOWN = {
    "greeting/plain-server-as-server": "FAIL",  # MUST: greets with as-server 0, as libzmq
}


def check_zmtp_cat(kind, mechanism="NULL", cat_args=(), extra=(), only=None):
    args = [CAT, kind.lower(), "--bind", "tcp://127.0.0.1:0"] + list(cat_args)
    if kind in ("REP", "ROUTER", "DEALER", "PAIR"):
        args.append("--echo")
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        line = proc.stderr.readline().decode()
        assert line.startswith("bound "), "zmtp-cat: %r" % line
        spec_args = ["--connect", line.split()[1], "--timeout", "800"] + list(extra)
        if only:
            spec_args += ["--only", only]
        status, cases, doc = run_spec(*spec_args)
    finally:
        stop(proc)
    fails = failures(cases)
    unexpected = {i: c["evidence"] for i, c in fails.items() if ZMTP_KNOWN.get(i) != "FAIL"}
    assert not unexpected, "zmtp %s %s: unexpected failures %s" % (kind, mechanism, unexpected)
    must = any(c["level"] == "MUST" for c in fails.values())
    assert status == (1 if must else 0), "zmtp %s %s: exit %d" % (kind, mechanism, status)
    return "zmtp-cat %s %s: %s" % (kind, mechanism, doc["summary"])


def check_tls(tmp):
    """zmtp-spec over tls+tcp:// to zmtp-cat's REP, with a certificate made
    here: trusted through --tls-ca, refused without it."""
    cert, key = make_certificate(tmp)
    proc = subprocess.Popen([CAT, "rep", "--bind", "tls+tcp://127.0.0.1:0", "--tls-cert", cert, "--tls-key", key,
                             "--echo"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        line = proc.stderr.readline().decode()
        assert line.startswith("bound tls+tcp://"), "zmtp-cat: %r" % line
        endpoint = line.split()[1]
        status, cases, doc = run_spec("--connect", endpoint, "--tls-ca", cert, "--timeout", "800",
                                      "--only", "greeting/version-3.1,commands/ping-*,patterns/rep-*,robustness/connect-close")
        assert status == 0 and not failures(cases), "zmtp REP over TLS: %s" % failures(cases)
        refused, cases, _ = run_spec("--connect", endpoint, "--type", "rep", "--timeout", "800",
                                     "--only", "greeting/version-3.1")
        evidence = cases["greeting/version-3.1"]["evidence"]
        assert refused == 1 and "certificate verify failed" in evidence, evidence
    finally:
        stop(proc)
    return "zmtp-cat REP over tls+tcp: %s; untrusted: %s" % (doc["summary"], evidence)


def make_certificate(tmp):
    cert, key = os.path.join(tmp, "server.pem"), os.path.join(tmp, "server.key")
    if not os.path.exists(key):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key + ".tmp", "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, timeout=WAIT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.rename(key + ".tmp", key)
    return cert, key


def check_tls_bind(cert, key):
    """zmtp-spec as the TLS server (tls+tcp:// with --bind), zmtp-cat's DEALER
    the client that trusts its certificate."""
    status, cases, doc = run_bind(lambda ep: [CAT, "dealer", "--connect", ep, "--tls-ca", cert] + CAT_RECONNECT, "NULL",
                                  "greeting/version-3.1,handshake/socket-type-*-accepted,commands/ping*",
                                  ["--tls-cert", cert, "--tls-key", key], "tls+tcp://127.0.0.1:0")
    assert doc["peer"] == "DEALER" and doc["target"].startswith("tls+tcp://"), doc["target"]
    assert status == 0 and not failures(cases), "zmtp DEALER client over TLS: %s" % failures(cases)
    return "--bind tls+tcp, zmtp-cat DEALER client: %s" % doc["summary"]


JAR = "/usr/share/java/jeromq.jar"
JEROMQ_PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "JeromqPeer.java")


def check_jeromq(tmp, kind):
    """zmtp-spec against a JeroMQ 0.3.6 server (ZMTP 2.0 only): the cases for
    2.0 peers run and pass, every ZMTP 3 case is N/A with its reason."""
    classes = os.path.join(tmp, "jeromq-peer")
    if not os.path.isdir(classes):
        subprocess.run(["javac", "-cp", JAR, "-d", classes + ".tmp", JEROMQ_PEER], check=True, timeout=120)
        os.rename(classes + ".tmp", classes)
    proc = subprocess.Popen(["java", "-cp", JAR + ":" + classes, "JeromqPeer"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        proc.stdin.write(("socket s %s\nbind s tcp://127.0.0.1:*\n" % kind).encode())
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == b"ok", "JeroMQ: socket"
        endpoint = proc.stdout.readline().decode().split()[1]
        status, cases, doc = run_spec("--connect", endpoint, "--timeout", "800")
    finally:
        stop(proc)
    assert doc["peer"] == kind + " (ZMTP 2.0)", doc["peer"]
    assert status == 0 and not failures(cases), "JeroMQ %s: %s" % (kind, failures(cases))
    ran = [i for i, c in cases.items() if c["result"] == "PASS"]
    assert "legacy/zmtp-2.0-greeting" in ran and "robustness/vector-http-get" in ran, ran
    reasons = {c["evidence"] for c in cases.values() if c["result"] == "N/A"}
    assert "a ZMTP 3 case: the peer speaks ZMTP 2.0 only (RFC 15)" in reasons, reasons
    return "JeroMQ 0.3.6 %s: %s" % (kind, doc["summary"])


# The cases run against ws:// clients: the tool's refusals end libzmq's
# reconnecting, so only accepting cases run for it.
WS_BIND_ONLY = "commands/ping-pong,handshake/socket-type-*-accepted,patterns/*"


def ws_na_checked(cases, label):
    """Every N/A for ZWS names its reason; some cases still ran."""
    ws = [c for c in cases.values() if c["evidence"].startswith("over ZWS: ")]
    assert ws and any(c["result"] == "PASS" for c in cases.values()), "%s: %s" % (label, cases)


def check_ws_server(label, command, only=None, extra=()):
    """zmtp-spec --connect ws:// against a server that prints where it is bound."""
    # zmtp-cat prints what it receives: unread, a full pipe would stop it.
    node = command[0] == NODE
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE if node else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=NODE_DIR)
    try:
        stream = proc.stdout if node else proc.stderr
        line = stream.readline().decode()
        endpoint = json.loads(line)["bound"] if node else line.split()[1]
        assert endpoint.startswith("ws"), "%s: %r" % (label, line)
        args = ["--connect", endpoint, "--timeout", "500"] + list(extra)
        if only:
            args += ["--only", only]
        status, cases, doc = run_spec(*args)
    finally:
        stop(proc)
    fails = failures(cases)
    unexpected = {i: c["evidence"] for i, c in fails.items() if LIBZMQ_KNOWN.get(i) != "FAIL"}
    assert not unexpected, "%s: unexpected failures %s" % (label, unexpected)
    assert status == 0, "%s: exit %d" % (label, status)
    if not only:
        ws_na_checked(cases, label)
    return "%s: %s" % (label, doc["summary"])


def check_ws_client(label, client, kind):
    status, cases, doc = run_bind(client, "NULL", WS_BIND_ONLY, endpoint="ws://127.0.0.1:0")
    assert doc["peer"] == kind, "%s: its type was read as %s" % (label, doc["peer"])
    assert status == 0 and not failures(cases), "%s: %s" % (label, failures(cases))
    assert any(c["result"] == "PASS" for c in cases.values()), "%s: nothing passed" % label
    return "%s: %s" % (label, doc["summary"])


def ws_jobs(tmp):
    cert, _ = make_certificate(tmp)
    wss = [CAT, "rep", "--bind", "wss://127.0.0.1:0/zmtp", "--tls-cert", cert, "--tls-key",
           os.path.join(tmp, "server.key"), "--echo"]
    return [lambda: check_ws_server("ws://, libzmq 4.3.5 REP", [NODE, "spec_peer.js", "rep", "bind", "ws://127.0.0.1:0"]),
            lambda: check_ws_server("ws://, zmtp-cat REP", [CAT, "rep", "--bind", "ws://127.0.0.1:0", "--echo"]),
            lambda: check_ws_server("wss://, zmtp-cat REP", wss, "commands/ping-pong,patterns/rep-*,robustness/connect-close",
                                    ["--tls-ca", cert]),
            lambda: check_ws_client("--bind ws://, libzmq 4.3.5 DEALER client",
                                    lambda ep: [NODE, os.path.join(NODE_DIR, "spec_peer.js"), "dealer", "connect", ep],
                                    "DEALER"),
            lambda: check_ws_client("--bind ws://, zmtp-cat DEALER client",
                                    lambda ep: [CAT, "dealer", "--connect", ep] + CAT_RECONNECT, "DEALER")]


def check_reports(tmp):
    proc, endpoint = start_server("raw", "no-pong")
    try:
        html, junit = os.path.join(tmp, "r.html"), os.path.join(tmp, "r.xml")
        out = subprocess.run([SPEC, "--connect", endpoint, "--type", "rep", "--timeout", "800",
                              "--only", "commands/ping-pong,greeting/version-3.1", "--html", html, "--junit", junit],
                             stdout=subprocess.PIPE, timeout=60)
    finally:
        stop(proc)
    text = out.stdout.decode()
    assert out.returncode == 1 and "commands/ping-pong" in text and "FAIL" in text, text
    page = open(html).read()
    failed_part = page[page.index("<h2 id=\"commands/ping-pong\">"):]
    assert "ping(ttl=0)" in failed_part and "ff 00 00 00 00 00 00 00 01 7f" in failed_part, "html lacks the bytes"
    assert "class=\"sent\"" in failed_part and "class=\"recv\"" in failed_part, "html lacks a direction"
    assert "<link" not in page and "src=" not in page, "the html page refers to external assets"
    import xml.etree.ElementTree as ET
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "1", ET.tostring(suite)
    usage = subprocess.run([SPEC, "--connect"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert usage.returncode == 2 and usage.stderr.count(b"\n") == 1, usage
    listing = subprocess.run([SPEC, "--list"], stdout=subprocess.PIPE, timeout=30)
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) >= 150, "fewer than 150 cases"
    return "reports: text, HTML, JUnit, usage error and --list"


def run_jobs(jobs):
    """Runs the checks six at a time, reports each, returns how many failed."""
    failed = 0
    with ThreadPoolExecutor(max_workers=6) as pool:
        for future in [pool.submit(j) for j in jobs]:
            try:
                print("ok  ", future.result(), flush=True)
            except Exception as e:  # report every check, then fail
                failed += 1
                print("FAIL", e, flush=True)
    print("%d checks, %d failed" % (len(jobs), failed))
    return failed


def main():
    import tempfile
    tmp = tempfile.mkdtemp(prefix="zmtp-spec-test-")
    make_certificate(tmp)  # once, before the checks that share it run in parallel
    jobs = [lambda: check_libzmq("REP")]
    per_type = "handshake/socket-type-*,patterns/*,commands/ping-pong,robustness/connect-close"
    jobs += [lambda k=k: check_libzmq(k, only=per_type) for k in TYPES if k != "REP"]
    jobs += [lambda: check_libzmq("ROUTER", only="greeting/*,framing/*,commands/ping*", transport="ipc")]
    jobs += [lambda: check_libzmq("REP", "PLAIN", extra=["--type", "rep", "--plain-username", "admin", "--plain-password", "secret"],
                                  only="security/plain-*,greeting/*,commands/ping-pong"),
             lambda: check_libzmq("REP", "CURVE", extra=["--type", "rep", "--curve-server-key", CURVE_SERVER_PUBLIC],
                                  only="security/curve-*,greeting/*,commands/ping*")]
    jobs += [lambda: check_zmtp_cat("REP"), lambda: check_reports(tmp), lambda: check_tls(tmp)]
    jobs += [lambda k=k: check_zmtp_cat(k, only=per_type) for k in ("ROUTER", "DEALER", "PAIR", "PULL", "SUB")]
    jobs += [lambda: check_zmtp_cat("REP", "PLAIN", ["--plain-server", "--plain-credentials", "admin:secret"],
                                    ["--type", "rep", "--plain-username", "admin", "--plain-password", "secret"],
                                    only="security/plain-*,greeting/*,commands/ping-pong"),
             lambda: check_zmtp_cat("REP", "CURVE", ["--curve-server", "--curve-secret-key", CURVE_SERVER_SECRET],
                                    ["--type", "rep", "--curve-server-key", CURVE_SERVER_PUBLIC],
                                    only="security/curve-*,greeting/*,commands/ping*")]
    client_types = ["REQ", "REP", "DEALER", "ROUTER", "PUB", "XPUB", "SUB", "XSUB", "PUSH", "PULL", "PAIR"]
    jobs += [lambda k=k, m=m: check_bind("libzmq", libzmq_client(k, m), k, m, LIBZMQ_CLIENT_KNOWN)
             for m in ("NULL", "PLAIN", "CURVE") for k in client_types]
    cat_security = {"NULL": [], "PLAIN": ["--plain-username", "admin", "--plain-password", "secret"],
                    "CURVE": ["--curve-server-key", CURVE_SERVER_PUBLIC]}
    jobs += [lambda k=k, m=m: check_bind("zmtp", lambda ep: [CAT, k.lower(), "--connect", ep] + CAT_RECONNECT +
                                         cat_security[m],
                                         k, m, ZMTP_KNOWN)
             for k, m in [("DEALER", "NULL"), ("SUB", "NULL"), ("PUSH", "NULL"), ("PULL", "NULL"), ("PAIR", "NULL"),
                          ("REQ", "NULL"), ("DEALER", "PLAIN"), ("DEALER", "CURVE")]]
    # A PUSH client sent 1000 messages goes on serving (it drops them).
    jobs += [lambda: check_bind("zmtp", lambda ep: [CAT, "push", "--connect", ep] + CAT_RECONNECT, "PUSH", "NULL",
                                ZMTP_KNOWN, "framing/many-messages,framing/frame-bytewise,commands/ping-pong")]
    jobs += [lambda: check_tls_bind(*make_certificate(tmp)), lambda: check_jeromq(tmp, "REP")]
    jobs += ws_jobs(tmp)
    jobs += [lambda: check_client("REQ", "patterns/req-envelope", "PASS"),
             lambda: check_client("REQ", "patterns/req-strict-alternation", "PASS"),
             lambda: check_client("raw", "patterns/req-envelope", "FAIL")]
    jobs += [lambda d=d: check_raw(d) for d in ["none"] + list(DEFECTS)]
    failed = run_jobs(jobs)
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        if sys.argv[2] == "libzmq":
            serve_libzmq(*sys.argv[3:6])
        elif sys.argv[2] == "client":
            client_raw(sys.argv[4]) if sys.argv[3] == "raw" else client_libzmq(*sys.argv[3:6])
        else:
            serve_raw(sys.argv[3])
        sys.exit(0)
    sys.exit(main())
