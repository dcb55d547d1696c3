#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""zmtp-cat over ws:// against libzmq 4.3.5 (npm zeromq 6.8.0) and jszmq
0.1.2, each driven by node/ws_peer.js; and zmtp-cat to zmtp-cat over wss://.

    ws_interop.py ZMTP_CAT NODE NODE_DIR

Both roles and both bind sides for push/pull, req/rep, pub/sub (the
subscription filters at libzmq's PUB) and dealer/router, multipart and a
200 kB frame; CURVE; heartbeats both ways; jszmq as a client of a bound
zmtp-cat. zeromq 6.8.0 is built
without wss:// ("Protocol not supported"), so wss:// is zmtp to zmtp here.
Every port comes from port 0, every wait has a deadline, every process is
stopped by its pid.
"""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

WAIT = 10  # seconds: the bound on every wait
CAT, NODE, NODE_DIR = (os.path.abspath(a) for a in sys.argv[1:4])
PEER = os.path.join(NODE_DIR, "ws_peer.js")


class Proc:
    def __init__(self, args):
        self.args = args
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=NODE_DIR)
        self.out, self.err = queue.Queue(), queue.Queue()
        for stream, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=lambda s=stream, q=q: [q.put(l) for l in iter(s.readline, b"")],
                             daemon=True).start()

    def line(self, q, what):
        try:
            return q.get(timeout=WAIT).decode().rstrip("\n")
        except queue.Empty:
            raise AssertionError("%s: no %s line within %d s" % (" ".join(self.args[:4]), what, WAIT))

    def write(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=WAIT)


def cat(*args):
    return Proc([CAT] + list(args))


def node(lib, kind, how, endpoint, mode, count="0", topic="", options=None):
    return Proc([NODE, PEER, lib, kind, how, endpoint, mode, count, topic, json.dumps(options or {})])


def cat_bound(p):
    line = p.line(p.err, "stderr")
    assert line.startswith("bound ws"), line
    return line[len("bound "):]


def node_bound(p):
    return json.loads(p.line(p.out, "stdout"))["bound"]


BIG = "x" * 200_000
MESSAGES = [["one"], ["multi", "", "part"], ["big", BIG]]


def text(frames):
    return "\t".join(frames) + "\n"


def received(p, count, json_lines):
    got = []
    for _ in range(count):
        line = p.line(p.out, "message")
        got.append(json.loads(line) if json_lines else line.split("\t"))
    return got


def run(case, procs):
    try:
        case()
    finally:
        for p in procs:
            p.stop()


def push_pull(lib_binds):
    """zmtp-cat PUSH -> zeromq PULL, and zeromq PUSH -> zmtp-cat PULL."""
    procs = []

    def case():
        # zmtp-cat sends
        if lib_binds:
            pull = node("zeromq", "pull", "bind", "ws://127.0.0.1:*/feed", "recv", str(len(MESSAGES)))
            procs.append(pull)
            push = cat("push", "-c", node_bound(pull))
        else:
            push = cat("push", "-b", "ws://127.0.0.1:0/feed")
            procs.append(push)
            pull = node("zeromq", "pull", "connect", cat_bound(push), "recv", str(len(MESSAGES)))
        procs.extend([push, pull])
        for m in MESSAGES:
            push.write(text(m))
        assert received(pull, len(MESSAGES), True) == MESSAGES
        # zmtp-cat receives
        if lib_binds:
            zpush = node("zeromq", "push", "bind", "ws://127.0.0.1:*", "send")
            procs.append(zpush)
            zpull = cat("pull", "-c", node_bound(zpush), "-n", str(len(MESSAGES)))
        else:
            zpull = cat("pull", "-b", "ws://127.0.0.1:0", "-n", str(len(MESSAGES)))
            procs.append(zpull)
            zpush = node("zeromq", "push", "connect", cat_bound(zpull), "send")
        procs.extend([zpush, zpull])
        for m in MESSAGES:
            zpush.write(json.dumps(m) + "\n")
        assert received(zpull, len(MESSAGES), False) == MESSAGES
        assert zpull.proc.wait(timeout=WAIT) == 0
    run(case, procs)


def req_rep(lib_binds):
    procs = []

    def case():
        if lib_binds:
            rep = node("zeromq", "rep", "bind", "ws://127.0.0.1:*", "echo")
            procs.append(rep)
            req = cat("req", "-c", node_bound(rep))
        else:
            req = cat("req", "-b", "ws://127.0.0.1:0")
            procs.append(req)
            rep = node("zeromq", "rep", "connect", cat_bound(req), "echo")
        procs.extend([rep, req])
        for m in MESSAGES:
            req.write(text(m))
        assert received(req, len(MESSAGES), False) == MESSAGES
        # libzmq asks, zmtp-cat answers
        if lib_binds:
            zreq = node("zeromq", "req", "bind", "ws://127.0.0.1:*", "ask")
            procs.append(zreq)
            zrep = cat("rep", "--echo", "-c", node_bound(zreq))
        else:
            zrep = cat("rep", "--echo", "-b", "ws://127.0.0.1:0")
            procs.append(zrep)
            zreq = node("zeromq", "req", "connect", cat_bound(zrep), "ask")
        procs.extend([zreq, zrep])
        assert received(zreq, 1, True) == [["hello"]]
    run(case, procs)


def pub_sub(lib_binds):
    """Subscriptions in ZWS's form: libzmq's PUB filters for zmtp-cat's SUB."""
    procs = []

    def case():
        if lib_binds:
            pub = node("zeromq", "pub", "bind", "ws://127.0.0.1:*", "publish")
            procs.append(pub)
            sub = cat("sub", "--subscribe", "a-", "-n", "3", "-c", node_bound(pub))
        else:
            sub = cat("sub", "--subscribe", "a-", "-n", "3", "-b", "ws://127.0.0.1:0")
            procs.append(sub)
            pub = node("zeromq", "pub", "connect", cat_bound(sub), "publish")
        procs.extend([pub, sub])
        assert received(sub, 3, False) == [["a-topic", "x"]] * 3
        # zmtp-cat publishes to a libzmq SUB subscribed to "a-"
        if lib_binds:
            zsub = node("zeromq", "sub", "bind", "ws://127.0.0.1:*", "recv", "2", "a-")
            procs.append(zsub)
            zpub = cat("pub", "--wait-peers", "1", "-c", node_bound(zsub))
        else:
            zpub = cat("pub", "--wait-peers", "1", "-b", "ws://127.0.0.1:0")
            procs.append(zpub)
            zsub = node("zeromq", "sub", "connect", cat_bound(zpub), "recv", "2", "a-")
        procs.extend([zsub, zpub])
        zpub.write("a-1\tx\nb-1\ty\na-2\tz\n")
        assert received(zsub, 2, True) == [["a-1", "x"], ["a-2", "z"]]
    run(case, procs)


def dealer_router(lib_binds):
    procs = []

    def case():
        if lib_binds:
            router = node("zeromq", "router", "bind", "ws://127.0.0.1:*", "echo")
            procs.append(router)
            dealer = cat("dealer", "-c", node_bound(router))
        else:
            dealer = cat("dealer", "-b", "ws://127.0.0.1:0")
            procs.append(dealer)
            router = node("zeromq", "router", "connect", cat_bound(dealer), "echo")
        procs.extend([router, dealer])
        for m in MESSAGES:
            dealer.write(text(m))
        assert received(dealer, len(MESSAGES), False) == MESSAGES
        if lib_binds:
            zdealer = node("zeromq", "dealer", "bind", "ws://127.0.0.1:*", "ask")
            procs.append(zdealer)
            zrouter = cat("router", "--echo", "-c", node_bound(zdealer))
        else:
            zrouter = cat("router", "--echo", "-b", "ws://127.0.0.1:0")
            procs.append(zrouter)
            zdealer = node("zeromq", "dealer", "connect", cat_bound(zrouter), "ask")
        procs.extend([zdealer, zrouter])
        assert received(zdealer, 1, True) == [["hello"]]
    run(case, procs)


def curve():
    """ZWS2.0/CURVE: the subprotocol names the mechanism, each side's role
    comes from its options. (libzmq's PLAIN server needs a ZAP handler,
    which zeromq.js does not provide; PLAIN over ws:// is tested zmtp to
    zmtp in the asio suite.)"""
    procs = []

    def case():
        keys = json.loads(subprocess.run([CAT, "keygen"], capture_output=True, check=True,
                                         timeout=WAIT).stdout)
        rep = node("zeromq", "rep", "bind", "ws://127.0.0.1:*", "echo", "0", "",
                   {"curveServer": True, "curveSecretKey": keys["secret"]})
        procs.append(rep)
        req = cat("req", "-c", node_bound(rep), "--curve-server-key", keys["public"])
        procs.append(req)
        req.write("curve\tmulti\n")
        assert received(req, 1, False) == [["curve", "multi"]]
    run(case, procs)


def heartbeats():
    """Heartbeats both ways over ws:// (WebSocket pings and pongs): an idle
    link outlives several heartbeat timeouts, then still carries a message."""
    procs = []

    def case():
        hb = {"heartbeatInterval": 50, "heartbeatTimeout": 200}
        pull = node("zeromq", "pull", "bind", "ws://127.0.0.1:*", "recv", "2", "", hb)
        procs.append(pull)
        push = cat("push", "-v", "-c", node_bound(pull), "--heartbeat-ivl", "50",
                   "--heartbeat-timeout", "200")
        procs.append(push)
        push.write("first\n")
        assert received(pull, 1, True) == [["first"]]
        time.sleep(1.0)
        push.write("second\n")
        assert received(pull, 1, True) == [["second"]]
        lines = []
        while not push.err.empty():
            lines.append(push.err.get().decode())
        assert not any("disconnected" in l for l in lines), lines
    run(case, procs)


def jszmq_clients():
    """jszmq speaks the bare ZWS2.0 (identity message first): PUSH, DEALER, SUB."""
    procs = []

    def case():
        pull = cat("pull", "-b", "ws://127.0.0.1:0/jszmq", "-n", "2")
        procs.append(pull)
        push = node("jszmq", "push", "connect", cat_bound(pull), "send")
        procs.append(push)
        push.write(json.dumps(["multi", "part"]) + "\n" + json.dumps(["big", BIG]) + "\n")
        push.close_stdin()
        assert received(pull, 2, False) == [["multi", "part"], ["big", BIG]]

        router = cat("router", "--echo", "-b", "ws://127.0.0.1:0")
        procs.append(router)
        dealer = node("jszmq", "dealer", "connect", cat_bound(router), "ask")
        procs.append(dealer)
        assert received(dealer, 1, True) == [["hello"]]

        pub = cat("pub", "--wait-peers", "1", "-b", "ws://127.0.0.1:0")
        procs.append(pub)
        sub = node("jszmq", "sub", "connect", cat_bound(pub), "recv", "2", "a-")
        procs.append(sub)
        pub.write("a-1\tx\nb-1\ty\na-2\tz\n")
        assert received(sub, 2, True) == [["a-1", "x"], ["a-2", "z"]]
    run(case, procs)


def wss_cat_to_cat():
    """wss://: the TLS flags apply; a client trusting the CA gets through."""
    procs = []
    with tempfile.TemporaryDirectory(prefix="zmtp-wss-") as d:
        key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=WAIT)

        def case():
            pull = cat("pull", "-b", "wss://127.0.0.1:0/secure", "--tls-cert", cert, "--tls-key", key,
                       "-n", "2")
            procs.append(pull)
            ep = cat_bound(pull)
            assert ep.startswith("wss://127.0.0.1:") and ep.endswith("/secure"), ep
            push = cat("push", "-c", ep, "--tls-ca", cert)
            procs.append(push)
            push.write("one\n" + text(["big", BIG]))
            assert received(pull, 2, False) == [["one"], ["big", BIG]]
        run(case, procs)


CASES = [
    ("push/pull, zeromq binds", lambda: push_pull(True)),
    ("push/pull, zmtp-cat binds", lambda: push_pull(False)),
    ("req/rep, zeromq binds", lambda: req_rep(True)),
    ("req/rep, zmtp-cat binds", lambda: req_rep(False)),
    ("pub/sub, zeromq binds", lambda: pub_sub(True)),
    ("pub/sub, zmtp-cat binds", lambda: pub_sub(False)),
    ("dealer/router, zeromq binds", lambda: dealer_router(True)),
    ("dealer/router, zmtp-cat binds", lambda: dealer_router(False)),
    ("CURVE against zeromq", curve),
    ("heartbeats against zeromq", heartbeats),
    ("jszmq clients of zmtp-cat", jszmq_clients),
    ("wss:// zmtp-cat to zmtp-cat", wss_cat_to_cat),
]

if __name__ == "__main__":
    failed = 0
    for name, case in CASES:
        try:
            case()
            print("ok   " + name)
        except Exception as e:  # report every case, then fail
            failed += 1
            print("FAIL %s: %s" % (name, str(e)[:500]))
    sys.exit(1 if failed else 0)
