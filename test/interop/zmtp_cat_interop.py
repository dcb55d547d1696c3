# SPDX-License-Identifier: MPL-2.0
"""zmtp-cat against libzmq (through pyzmq): every socket type over tcp and
ipc, zmtp-cat binding and connecting, several peers and endpoints, text and
JSON formats, --count, --echo, --subscribe, --wait-peers, --linger, the
`bound` line, PLAIN and CURVE in both roles against pyzmq's ZAP
authenticator, keygen, exec: endpoints through socat, exit codes and
diagnostics (docs/zmtp-cat.md).

Usage: /usr/bin/python3 zmtp_cat_interop.py PATH/TO/zmtp-cat

Every process started is killed by pid at the end of its case, every wait
has a deadline, and every port comes from port 0 (zmtp-cat's `bound` line
or pyzmq's bind_to_random_port).
"""

import base64
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

CAT = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="zmtp-cat-interop-")
CTX = zmq.Context()
WAIT = 10  # seconds: the bound on every wait
_ipc_counter = [0]


def ipc_endpoint():
    _ipc_counter[0] += 1
    return "ipc://%s/s%d.sock" % (TMP, _ipc_counter[0])


class Cat:
    """A running zmtp-cat with its stdout and stderr read on threads."""

    running = []

    def __init__(self, *args):
        self.args = [CAT] + list(args)
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        Cat.running.append(self)
        self.out = queue.Queue()
        self.err = queue.Queue()
        self.err_lines = []
        for stream, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, q), daemon=True).start()

    @staticmethod
    def _pump(stream, q):
        for line in iter(stream.readline, b""):
            q.put(line)
        q.put(None)

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def stdout_line(self, timeout=WAIT, poke=None):
        """The next stdout line. `poke`, called while waiting, lets a libzmq
        socket process its commands: a bound libzmq SUB attaches a new peer,
        and sends it its subscriptions, only when its owner calls into it."""
        if poke is None:
            line = self.out.get(timeout=timeout)
        else:
            deadline = time.monotonic() + timeout
            while True:
                poke()
                try:
                    line = self.out.get(timeout=0.02)
                    break
                except queue.Empty:
                    if time.monotonic() > deadline:
                        raise
        assert line is not None, "zmtp-cat closed stdout; stderr: %r" % self.stderr_text()
        return line

    def stderr_line(self, timeout=WAIT):
        line = self.err.get(timeout=timeout)
        if line is not None:
            self.err_lines.append(line)
        return line

    def bound(self):
        """The first stderr line must be `bound ENDPOINT`; returns ENDPOINT."""
        line = self.stderr_line()
        assert line is not None and line.startswith(b"bound "), "first stderr line: %r" % line
        return line.split()[1].decode()

    def wait(self, timeout=WAIT):
        return self.proc.wait(timeout=timeout)

    def stderr_text(self):
        """Everything on stderr so far; all of it once the process is gone."""
        gone = self.proc.poll() is not None
        try:
            while True:
                line = self.err.get(timeout=WAIT) if gone else self.err.get_nowait()
                if line is None:
                    self.err.put(None)
                    break
                self.err_lines.append(line)
        except queue.Empty:
            pass
        return b"".join(self.err_lines).decode(errors="replace")

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, 9)
        self.proc.wait(timeout=WAIT)


def zsocket(kind):
    s = CTX.socket(kind)
    s.linger = 0
    s.rcvtimeo = WAIT * 1000
    s.sndtimeo = WAIT * 1000
    return s


def zbind(s, transport):
    if transport == "tcp":
        port = s.bind_to_random_port("tcp://127.0.0.1")
        return "tcp://127.0.0.1:%d" % port
    ep = ipc_endpoint()
    s.bind(ep)
    return ep


def cat_any(transport):
    return "tcp://127.0.0.1:0" if transport == "tcp" else ipc_endpoint()


def encode(frames, fmt):
    if fmt == "text":
        return b"\t".join(frames) + b"\n"
    out = []
    for f in frames:
        try:
            out.append(f.decode("utf-8"))
        except UnicodeDecodeError:
            out.append({"base64": base64.b64encode(f).decode()})
    return json.dumps(out).encode() + b"\n"


def decode(line, fmt):
    """A zmtp-cat output line back to frames (JSON compared by value, not
    by spelling: spacing and escapes may differ)."""
    assert line.endswith(b"\n"), line
    if fmt == "text":
        return line[:-1].split(b"\t")
    frames = []
    for f in json.loads(line):
        if isinstance(f, str):
            frames.append(f.encode("utf-8"))
        else:
            assert set(f) == {"base64"}, f
            frames.append(base64.b64decode(f["base64"]))
    return frames


def messages(fmt):
    m = [[b"hello"], [b"a", b"b"], [b""], [b"x" * 300], [b"caf\xc3\xa9", b"", b"end"]]
    if fmt == "json":
        m.append([b"\x00\xff\xfe binary", b"tab\tand\nnewline"])
    return m


def start_pair_of(pattern, transport, cat_binds, fmt, extra=()):
    """Starts zmtp-cat PATTERN and the matching libzmq socket, linked."""
    zmq_kind = {"push": zmq.PULL, "pull": zmq.PUSH, "pair": zmq.PAIR}[pattern]
    z = zsocket(zmq_kind)
    args = [pattern, "--format", fmt] + list(extra)
    if cat_binds:
        cat = Cat(*(args + ["--bind", cat_any(transport)]))
        z.connect(cat.bound())
    else:
        ep = zbind(z, transport)
        cat = Cat(*(args + ["--connect", ep]))
    return cat, z


def exchange(pattern, transport, cat_binds, fmt):
    msgs = messages(fmt)
    if pattern == "push":
        cat, z = start_pair_of(pattern, transport, cat_binds, fmt)
        try:
            cat.write(b"".join(encode(m, fmt) for m in msgs))
            cat.close_stdin()
            for m in msgs:
                assert z.recv_multipart() == m
            assert cat.wait() == 0, cat.stderr_text()
        finally:
            z.close()
            cat.kill()
    elif pattern == "pull":
        cat, z = start_pair_of(pattern, transport, cat_binds, fmt, ["-n", str(len(msgs))])
        try:
            for m in msgs:
                z.send_multipart(m)
            for m in msgs:
                assert decode(cat.stdout_line(), fmt) == m
            assert cat.wait() == 0, cat.stderr_text()
        finally:
            z.close()
            cat.kill()
    else:  # pair: both ways; stdin stays open, --count ends it
        cat, z = start_pair_of(pattern, transport, cat_binds, fmt, ["-n", str(len(msgs))])
        try:
            cat.write(b"".join(encode(m, fmt) for m in msgs))
            for m in msgs:
                assert z.recv_multipart() == m
            for m in msgs:
                z.send_multipart(list(reversed(m)))
            for m in msgs:
                assert decode(cat.stdout_line(), fmt) == list(reversed(m))
            assert cat.wait() == 0, cat.stderr_text()
        finally:
            z.close()
            cat.kill()


def pair_count_outlives_stdin():
    """pair -n 1 whose stdin ends at once: it still waits for its message."""
    z = zsocket(zmq.PAIR)
    cat = Cat("pair", "--bind", cat_any("ipc"), "-n", "1")
    try:
        ep = cat.bound()
        cat.write(b"x\n")
        cat.close_stdin()
        z.connect(ep)
        assert z.recv_multipart() == [b"x"]
        time.sleep(0.3)
        assert cat.proc.poll() is None, "exited before its --count"
        z.send(b"y")
        assert cat.stdout_line() == b"y\n"
        assert cat.wait() == 0, cat.stderr_text()
        # like libzmq, it removes its socket file
        assert not os.path.exists(ep[len("ipc://"):]), ep
    finally:
        z.close()
        cat.kill()


def cat_to_cat(transport):
    """zmtp-cat push to zmtp-cat pull: neither side waits for the other to
    speak first (both send their greeting at once)."""
    pull = Cat("pull", "--bind", cat_any(transport), "-n", "2")
    push = Cat("push", "--connect", pull.bound())
    try:
        push.write(b"one\ntwo\tparts\n")
        push.close_stdin()
        assert pull.stdout_line() == b"one\n"
        assert pull.stdout_line() == b"two\tparts\n"
        assert pull.wait() == 0, pull.stderr_text()
        assert push.wait() == 0, push.stderr_text()
    finally:
        pull.kill()
        push.kill()


def silent_peer_times_out():
    """A TCP peer that never sends a byte fails the handshake at its deadline."""
    import socket
    cat = Cat("pull", "--bind", "tcp://127.0.0.1:0", "--handshake-timeout", "200")
    try:
        host, port = cat.bound()[len("tcp://"):].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=WAIT) as raw:
            line = cat.stderr_line()
            assert line is not None and b"handshake" in line and b"200 ms" in line, line
            assert raw.recv(10)[:1] == b"\xff"  # our greeting went out at once
    finally:
        cat.kill()


def many_messages_in_order():
    """2000 messages through a small --hwm: back-pressure keeps the order."""
    z = zsocket(zmq.PULL)
    ep = zbind(z, "tcp")
    cat = Cat("push", "--connect", ep, "--hwm", "10")
    try:
        data = b"".join(b"m%d\n" % i for i in range(2000))
        threading.Thread(target=lambda: (cat.write(data), cat.close_stdin()), daemon=True).start()
        for i in range(2000):
            assert z.recv_multipart() == [b"m%d" % i]
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        z.close()
        cat.kill()


def eof_before_peer():
    """stdin ends before any peer exists: messages wait for the peer."""
    cat = Cat("push", "--bind", "tcp://127.0.0.1:*")
    z = zsocket(zmq.PULL)
    try:
        ep = cat.bound()
        cat.write(b"early\n")
        cat.close_stdin()
        time.sleep(0.3)
        z.connect(ep)
        assert z.recv_multipart() == [b"early"]
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        z.close()
        cat.kill()


def heartbeats_keep_idle_link():
    """zmtp-cat pull heartbeats to a heartbeating libzmq push; idle 1.2 s."""
    z = zsocket(zmq.PUSH)
    z.setsockopt(zmq.HEARTBEAT_IVL, 100)
    z.setsockopt(zmq.HEARTBEAT_TIMEOUT, 300)
    z.setsockopt(zmq.HEARTBEAT_TTL, 1000)
    cat = Cat("pull", "--bind", "tcp://127.0.0.1:0", "-n", "1", "-v",
              "--heartbeat-ivl", "100", "--heartbeat-timeout", "300", "--heartbeat-ttl", "1000")
    try:
        z.connect(cat.bound())
        time.sleep(1.2)
        z.send(b"after idle")
        assert cat.stdout_line() == b"after idle\n"
        assert cat.wait() == 0
        text = cat.stderr_text()
        assert text.count("handshake with") == 1, text  # one connection throughout
        assert "disconnected" not in text, text
    finally:
        z.close()
        cat.kill()


def timeout_exits_3():
    cat = Cat("pull", "--bind", "tcp://127.0.0.1:0", "--timeout", "300")
    try:
        cat.bound()
        start = time.monotonic()
        assert cat.wait() == 3
        assert time.monotonic() - start < 3
    finally:
        cat.kill()


def incompatible_peer_reported_and_retried():
    """push to a libzmq push: one stderr line per failed handshake naming the
    peer and the reason; the connecting side keeps retrying."""
    z = zsocket(zmq.PUSH)
    ep = zbind(z, "tcp")
    cat = Cat("push", "--connect", ep, "--timeout", "1500", "--reconnect-ivl", "100")
    try:
        assert cat.wait() == 3
        lines = [l for l in cat.stderr_text().splitlines() if "handshake" in l]
        assert len(lines) >= 2, lines  # it retried
        assert all(ep in l for l in lines), lines
        # libzmq closes as soon as it reads our READY; when its reset reaches
        # us before its own READY was read, that attempt can only say the peer
        # closed. Over a dozen attempts at least one names the socket type.
        assert any("PUSH" in l for l in lines), lines
    finally:
        z.close()
        cat.kill()


def expect_exit(code, *args, stdin=b""):
    cat = Cat(*args)
    try:
        if stdin:
            cat.write(stdin)
        cat.close_stdin()
        got = cat.wait()
        err = cat.stderr_text().strip().splitlines()
        assert got == code, (got, err)
        assert len(err) == 1, err  # one line
        return err[0]
    finally:
        cat.kill()


def usage_errors():
    expect_exit(2, "nosuchtype", "-b", "tcp://127.0.0.1:0")
    expect_exit(2, "push", "-b", "tcp://127.0.0.1:0", "--no-such-option")
    expect_exit(2, "push", "--connect", "tcp://127.0.0.1")  # no port
    expect_exit(2, "push", "--connect", "foo://bar")
    expect_exit(2, "push", "--connect", "tcp://*:5555")  # connect needs a host
    expect_exit(2, "pull")  # no endpoint
    expect_exit(2, "push", "-c", "tcp://127.0.0.1:1", "--count", "many")
    # bad JSON on stdin, with and without a peer
    expect_exit(2, "push", "-c", "tcp://127.0.0.1:1", "--format", "json", stdin=b"[\"ok\"]\n{}\n")
    expect_exit(2, "push", "-c", "tcp://127.0.0.1:1", "--format", "json", stdin=b"not json\n")
    line = expect_exit(2, "PUSH", "-c", "tcp://127.0.0.1:1", "--format", "json", stdin=b"[1]\n")
    assert "line 1" in line, line


def runtime_errors():
    # cannot bind: the port is taken
    z = zsocket(zmq.PULL)
    ep = zbind(z, "tcp")
    try:
        line = expect_exit(1, "push", "--bind", ep)
        assert ep.split(":")[-1] in line, line
    finally:
        z.close()
    # the help exits 0
    cat = Cat("--help")
    try:
        assert cat.wait() == 0
    finally:
        cat.kill()


# ---------------------------------------------------------------- every type

def linked(cat_type, zkind, transport, cat_binds, extra=(), setup=None):
    """zmtp-cat CAT_TYPE and one libzmq socket of ZKIND, linked; `setup`
    configures the libzmq socket before it binds or connects."""
    z = zsocket(zkind)
    if setup:
        setup(z)
    args = [cat_type] + list(extra)
    if cat_binds:
        cat = Cat(*(args + ["--bind", cat_any(transport)]))
        z.connect(cat.bound())
    else:
        ep = zbind(z, transport)
        cat = Cat(*(args + ["--connect", ep]))
    return cat, z


def finish_case(cat, *sockets):
    for z in sockets:
        z.close()
    cat.kill()


def type_pub(transport, cat_binds):
    cat, z = linked("pub", zmq.SUB, transport, cat_binds, ["--wait-peers", "1"],
                    lambda s: s.setsockopt(zmq.SUBSCRIBE, b""))
    try:
        cat.write(b"one\ntwo\tparts\n")
        cat.close_stdin()
        assert z.recv_multipart() == [b"one"]
        assert z.recv_multipart() == [b"two", b"parts"]
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def type_sub(transport, cat_binds):
    # an XPUB peer tells when the subscription (to everything) is there
    cat, z = linked("sub", zmq.XPUB, transport, cat_binds, ["-n", "2"])
    try:
        assert z.recv() == b"\x01"
        z.send(b"one")
        z.send_multipart([b"two", b"parts"])
        assert cat.stdout_line() == b"one\n"
        assert cat.stdout_line() == b"two\tparts\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def type_xpub(transport, cat_binds):
    cat, z = linked("xpub", zmq.SUB, transport, cat_binds,
                    ["--wait-peers", "1", "--format", "json"],
                    lambda s: s.setsockopt(zmq.SUBSCRIBE, b"t"))
    try:
        line = cat.stdout_line(poke=lambda: z.getsockopt(zmq.EVENTS))
        assert decode(line, "json") == [b"\x01t"]  # the subscription, printed
        cat.write(b'["t1"]\n["other"]\n["t2", "x"]\n')
        cat.close_stdin()
        assert z.recv_multipart() == [b"t1"]
        assert z.recv_multipart() == [b"t2", b"x"]  # "other" was filtered out
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def type_xsub(transport, cat_binds):
    cat, z = linked("xsub", zmq.XPUB, transport, cat_binds, ["--subscribe", "t", "-n", "2"])
    try:
        assert z.recv() == b"\x01t"
        cat.write(b"\x01u\n")  # a raw subscription message from stdin
        assert z.recv() == b"\x01u"
        z.send(b"t1")
        z.send(b"x1")
        z.send_multipart([b"u2", b"more"])
        assert cat.stdout_line() == b"t1\n"
        assert cat.stdout_line() == b"u2\tmore\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def type_req(transport, cat_binds):
    cat, z = linked("req", zmq.REP, transport, cat_binds)
    try:
        cat.write(b"q1\nq2\tx\n")
        cat.close_stdin()
        assert z.recv_multipart() == [b"q1"]
        z.send(b"r1")
        assert z.recv_multipart() == [b"q2", b"x"]
        z.send_multipart([b"r2", b"y"])
        assert cat.stdout_line() == b"r1\n"
        assert cat.stdout_line() == b"r2\ty\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def type_rep(transport, cat_binds):
    cat, z = linked("rep", zmq.REQ, transport, cat_binds)
    try:
        cat.write(b"r1\nr2\tz\n")
        cat.close_stdin()
        z.send(b"q1")
        assert z.recv_multipart() == [b"r1"]
        z.send_multipart([b"q2", b"y"])
        assert z.recv_multipart() == [b"r2", b"z"]
        assert cat.stdout_line() == b"q1\n"
        assert cat.stdout_line() == b"q2\ty\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def type_dealer(transport, cat_binds):
    cat, z = linked("dealer", zmq.ROUTER, transport, cat_binds, ["--routing-id", "D1", "-n", "1"])
    try:
        cat.write(b"hello\tthere\n")
        assert z.recv_multipart() == [b"D1", b"hello", b"there"]
        z.send_multipart([b"D1", b"back"])
        assert cat.stdout_line() == b"back\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def type_router(transport, cat_binds):
    cat, z = linked("router", zmq.DEALER, transport, cat_binds, ["--format", "json", "-n", "2"],
                    lambda s: s.setsockopt(zmq.ROUTING_ID, b"Z"))
    try:
        z.send(b"hi")
        assert decode(cat.stdout_line(), "json") == [b"Z", b"hi"]
        cat.write(b'["Z", "reply", ""]\n')
        assert z.recv_multipart() == [b"reply", b""]
        z.send(b"bye")
        assert decode(cat.stdout_line(), "json") == [b"Z", b"bye"]
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


TYPE_CASES = {"pub": type_pub, "sub": type_sub, "xpub": type_xpub, "xsub": type_xsub,
              "req": type_req, "rep": type_rep, "dealer": type_dealer, "router": type_router}


# ---------------------------------------------------------------- many peers

def pull_from_three_pushers():
    cat = Cat("pull", "--bind", "tcp://127.0.0.1:0", "-n", "15")
    pushers = [zsocket(zmq.PUSH) for _ in range(3)]
    try:
        ep = cat.bound()
        for i, z in enumerate(pushers):
            z.connect(ep)
            for j in range(5):
                z.send(b"p%d-%d" % (i, j))
        lines = [cat.stdout_line() for _ in range(15)]
        assert sorted(lines) == sorted(b"p%d-%d\n" % (i, j) for i in range(3) for j in range(5))
        for i in range(3):  # each pusher's messages in its order
            mine = [l for l in lines if l.startswith(b"p%d-" % i)]
            assert mine == [b"p%d-%d\n" % (i, j) for j in range(5)], mine
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, *pushers)


def pub_to_two_subs():
    cat = Cat("pub", "--bind", ipc_endpoint(), "--wait-peers", "2")
    subs = [zsocket(zmq.SUB) for _ in range(2)]
    try:
        ep = cat.bound()
        for z in subs:
            z.setsockopt(zmq.SUBSCRIBE, b"")
            z.connect(ep)
        cat.write(b"m1\nm2\nm3\n")
        cat.close_stdin()
        for z in subs:
            assert [z.recv() for _ in range(3)] == [b"m1", b"m2", b"m3"]
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, *subs)


def push_to_two_pulls_loses_nothing():
    """push connected to two pulls: round robin, and at stdin EOF every
    message reaches one of them."""
    pulls = [zsocket(zmq.PULL) for _ in range(2)]
    eps = [zbind(z, t) for z, t in zip(pulls, ("tcp", "ipc"))]
    cat = Cat("push", "--connect", eps[0], "--connect", eps[1])
    try:
        cat.write(b"".join(b"m%d\n" % i for i in range(300)))
        cat.close_stdin()
        got = []
        poller = zmq.Poller()
        for z in pulls:
            poller.register(z, zmq.POLLIN)
        deadline = time.monotonic() + WAIT
        per = [0, 0]
        while len(got) < 300 and time.monotonic() < deadline:
            for z, _ in poller.poll(100):
                got.append(z.recv())
                per[pulls.index(z)] += 1
        assert sorted(got) == sorted(b"m%d" % i for i in range(300)), len(got)
        assert per[0] > 0 and per[1] > 0, per
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, *pulls)


def push_waits_for_two_pulls():
    """push bound, --wait-peers 2: stdin read before the second pull is
    there still goes round robin over both."""
    cat = Cat("push", "--bind", "tcp://127.0.0.1:0", "--wait-peers", "2")
    pulls = [zsocket(zmq.PULL) for _ in range(2)]
    try:
        ep = cat.bound()
        cat.write(b"".join(b"m%d\n" % i for i in range(100)))
        cat.close_stdin()
        pulls[0].connect(ep)
        time.sleep(0.2)
        assert cat.proc.poll() is None, "did not wait for the second peer"
        pulls[1].connect(ep)
        got = [[], []]
        poller = zmq.Poller()
        for z in pulls:
            poller.register(z, zmq.POLLIN)
        deadline = time.monotonic() + WAIT
        while len(got[0]) + len(got[1]) < 100 and time.monotonic() < deadline:
            for z, _ in poller.poll(100):
                got[pulls.index(z)].append(z.recv())
        assert sorted(got[0] + got[1]) == sorted(b"m%d" % i for i in range(100))
        assert len(got[0]) == len(got[1]) == 50, (len(got[0]), len(got[1]))
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, *pulls)


def mixed_bind_and_connect():
    """pull bound on tcp and connected over ipc at once."""
    bound_peer = zsocket(zmq.PUSH)
    connected_peer = zsocket(zmq.PUSH)
    ep = zbind(connected_peer, "ipc")
    cat = Cat("pull", "--bind", "tcp://127.0.0.1:0", "--connect", ep, "--bind", ipc_endpoint(),
              "-n", "3")
    third = zsocket(zmq.PUSH)
    try:
        bound_peer.connect(cat.bound())
        third.connect(cat.bound())
        bound_peer.send(b"via tcp bind")
        connected_peer.send(b"via ipc connect")
        third.send(b"via ipc bind")
        lines = sorted(cat.stdout_line() for _ in range(3))
        assert lines == [b"via ipc bind\n", b"via ipc connect\n", b"via tcp bind\n"], lines
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, bound_peer, connected_peer, third)


def pub_waits_for_peers_timeout():
    """--wait-peers 2 with one subscriber: nothing is sent, --timeout ends it."""
    cat = Cat("pub", "--bind", "tcp://127.0.0.1:0", "--wait-peers", "2", "--timeout", "700")
    z = zsocket(zmq.SUB)
    try:
        z.setsockopt(zmq.SUBSCRIBE, b"")
        z.rcvtimeo = 200
        z.connect(cat.bound())
        cat.write(b"early\n")
        try:
            z.recv()
            assert False, "sent before --wait-peers was met"
        except zmq.Again:
            pass
        assert cat.wait() == 3
    finally:
        finish_case(cat, z)


# ---------------------------------------------------------------- --echo

def rep_echo():
    cat, z = linked("rep", zmq.REQ, "tcp", True, ["--echo", "-n", "3"])
    try:
        for i in range(3):
            z.send_multipart([b"q%d" % i, b"x"])
            assert z.recv_multipart() == [b"q%d" % i, b"x"]
            assert cat.stdout_line() == b"q%d\tx\n" % i
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def router_echo_two_dealers():
    cat = Cat("router", "--bind", ipc_endpoint(), "--echo", "-n", "4", "--format", "json")
    dealers = [zsocket(zmq.DEALER) for _ in range(2)]
    try:
        ep = cat.bound()
        for i, z in enumerate(dealers):
            z.setsockopt(zmq.ROUTING_ID, b"d%d" % i)
            z.connect(ep)
        for round_ in range(2):
            for i, z in enumerate(dealers):
                z.send_multipart([b"from d%d" % i, b"%d" % round_])
            for i, z in enumerate(dealers):  # each gets its own back
                assert z.recv_multipart() == [b"from d%d" % i, b"%d" % round_]
        lines = sorted(tuple(decode(cat.stdout_line(), "json")) for _ in range(4))
        assert lines == sorted((b"d%d" % i, b"from d%d" % i, b"%d" % r)
                               for i in range(2) for r in range(2)), lines
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, *dealers)


def dealer_and_pair_echo():
    for kind, zkind in (("dealer", zmq.DEALER), ("pair", zmq.PAIR)):
        cat, z = linked(kind, zkind, "ipc", False, ["--echo", "-n", "2"])
        try:
            z.send(b"one")
            z.send_multipart([b"two", b""])
            assert z.recv_multipart() == [b"one"]
            assert z.recv_multipart() == [b"two", b""]
            assert cat.wait() == 0, cat.stderr_text()
        finally:
            finish_case(cat, z)


def cat_req_to_cat_rep_echo():
    rep = Cat("rep", "--bind", "tcp://127.0.0.1:0", "--echo")
    req = Cat("req", "--connect", rep.bound())
    try:
        req.write(b"a\nb\tc\n")
        req.close_stdin()
        assert req.stdout_line() == b"a\n"
        assert req.stdout_line() == b"b\tc\n"
        assert req.wait() == 0, req.stderr_text()
        assert rep.stdout_line() == b"a\n"
    finally:
        rep.kill()
        req.kill()


# ---------------------------------------------------------------- details

def sub_filters_prefixes():
    """sub --subscribe a --subscribe c against a real libzmq PUB."""
    z = zsocket(zmq.PUB)
    ep = zbind(z, "tcp")
    cat = Cat("sub", "--connect", ep, "--subscribe", "a", "--subscribe", "c", "-n", "6")
    try:
        deadline = time.monotonic() + WAIT
        i = 0
        while cat.proc.poll() is None and time.monotonic() < deadline:
            for t in (b"a", b"b", b"c"):
                z.send(b"%s%d" % (t, i))
            i += 1
            time.sleep(0.01)
        assert cat.wait() == 0, cat.stderr_text()
        lines = [cat.stdout_line() for _ in range(6)]
        assert all(l[:1] in (b"a", b"c") for l in lines), lines
        assert any(l[:1] == b"a" for l in lines) and any(l[:1] == b"c" for l in lines), lines
    finally:
        finish_case(cat, z)


def router_generated_ids_in_json():
    """A dealer without a routing id gets a generated binary one: JSON shows
    it as base64, and the same frame routes the reply back."""
    cat, z = linked("router", zmq.DEALER, "tcp", True, ["--format", "json"])
    try:
        z.send(b"anonymous")
        raw = json.loads(cat.stdout_line())  # no --count: EOF ends it
        assert isinstance(raw[0], dict) and set(raw[0]) == {"base64"}, raw
        rid = base64.b64decode(raw[0]["base64"])
        assert len(rid) == 5 and rid[:1] == b"\x00", rid
        assert raw[1] == "anonymous", raw
        cat.write(json.dumps([raw[0], "to you"]).encode() + b"\n")
        assert z.recv_multipart() == [b"to you"]
        cat.close_stdin()
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def verbose_peer_lines():
    cat = Cat("pair", "--bind", "tcp://127.0.0.1:0", "-v", "--timeout", "5000")
    z = zsocket(zmq.PAIR)
    try:
        z.connect(cat.bound())
        lines = [cat.stderr_line().decode() for _ in range(2)]
        assert "connected to tcp://127.0.0.1:" in lines[0], lines
        assert "handshake with tcp://127.0.0.1:" in lines[1] and "complete" in lines[1], lines
        z.close()
        line = cat.stderr_line().decode()
        assert "disconnected from tcp://127.0.0.1:" in line, line
    finally:
        finish_case(cat)


def bound_side_reports_failed_handshake():
    """A pull peer on a bound pull: one line naming the peer and the reason;
    the socket keeps serving a good peer."""
    cat = Cat("pull", "--bind", "tcp://127.0.0.1:0", "-n", "1")
    bad = zsocket(zmq.PULL)
    good = zsocket(zmq.PUSH)
    try:
        ep = cat.bound()
        bad.connect(ep)
        line = cat.stderr_line().decode()
        assert "handshake with tcp://127.0.0.1:" in line and "failed" in line, line
        # The reason names libzmq's type when its READY came first; libzmq
        # may hang up before sending it when our READY reaches it with the
        # end of our staged greeting (docs/legacy-zmtp.md).
        assert "PULL" in line or "closed the connection during the NULL handshake" in line, line
        good.connect(ep)
        good.send(b"fine")
        assert cat.stdout_line() == b"fine\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, bad, good)


NULL_GREETING = b"\xff" + b"\x00" * 7 + b"\x01\x7f\x03\x01" + b"NULL".ljust(20, b"\x00") + b"\x00" * 32
HOSTILE = b"\x1b[31mred\x1b]0;owned\x07"  # CSI colour, OSC window title ended by BEL


def raw_peer(endpoint):
    import socket
    host, port = endpoint[len("tcp://"):].rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=WAIT)


def command(name, body):
    data = bytes([len(name)]) + name + body
    return bytes([0x04, len(data)]) + data


def peer_text_escaped_on_stderr():
    """A peer's ERROR reason and routing id with terminal control sequences:
    zmtp-cat's stderr lines carry them escaped (\\x1b), never raw."""
    cat = Cat("router", "--bind", "tcp://127.0.0.1:0", "-v", "--timeout", "5000")
    bad = good = None
    try:
        ep = cat.bound()
        good = raw_peer(ep)
        ready = command(b"READY", b"\x0bSocket-Type" + b"\x00\x00\x00\x06DEALER"
                        + b"\x08Identity" + len(HOSTILE).to_bytes(4, "big") + HOSTILE)
        good.sendall(NULL_GREETING + ready)
        line = None
        while line is None or b"complete" not in line:
            line = cat.stderr_line()
            assert line is not None, cat.stderr_text()
        assert b"(routing id \\x1b[31mred\\x1b]0;owned\\x07)" in line, line
        bad = raw_peer(ep)
        bad.sendall(NULL_GREETING + command(b"ERROR", bytes([len(HOSTILE)]) + HOSTILE))
        line = failed_handshake_line(cat, "peer refused: \\x1b[31mred\\x1b]0;owned\\x07")
        assert "tcp://127.0.0.1:" in line, line
        for raw in cat.err_lines:
            assert b"\x1b" not in raw and b"\x07" not in raw, raw
    finally:
        for s in (bad, good):
            if s is not None:
                s.close()
        finish_case(cat)


def max_msg_size_drops_peer():
    cat = Cat("pull", "--bind", "tcp://127.0.0.1:0", "--max-msg-size", "10", "-v",
              "--hwm", "5", "--reconnect-ivl-max", "1000")
    z = zsocket(zmq.PUSH)
    try:
        z.connect(cat.bound())
        z.send(b"x" * 100)
        deadline = time.monotonic() + WAIT
        while True:
            line = cat.stderr_line(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None
            if b"disconnected" in line:
                break
        assert cat.out.empty()
    finally:
        finish_case(cat, z)


def linger_bounds_undeliverable():
    """Nobody listens: --linger lets it exit 0; without it, --timeout (3)."""
    ep = ipc_endpoint()
    cat = Cat("push", "--connect", ep, "--linger", "300")
    try:
        cat.write(b"lost\n")
        cat.close_stdin()
        start = time.monotonic()
        assert cat.wait() == 0, cat.stderr_text()
        assert 0.2 < time.monotonic() - start < 3
    finally:
        cat.kill()
    cat = Cat("push", "--connect", ep, "--timeout", "400")
    try:
        cat.write(b"lost\n")
        cat.close_stdin()
        assert cat.wait() == 3
    finally:
        cat.kill()


def late_peer_gets_queued_messages():
    """push connecting to nothing yet: at EOF it waits, and delivers to the
    peer that binds later."""
    ep = ipc_endpoint()
    cat = Cat("push", "--connect", ep, "--reconnect-ivl", "50")
    z = zsocket(zmq.PULL)
    try:
        cat.write(b"one\ntwo\n")
        cat.close_stdin()
        time.sleep(0.3)
        assert cat.proc.poll() is None, "exited before delivering"
        z.bind(ep)
        assert z.recv() == b"one"
        assert z.recv() == b"two"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def req_timeout_exits_3():
    """A req whose reply never comes: --timeout exits 3."""
    cat, z = linked("req", zmq.ROUTER, "tcp", False, ["--timeout", "400"])
    try:
        cat.write(b"anyone?\n")
        cat.close_stdin()
        assert z.recv_multipart()[1:] == [b"", b"anyone?"]
        assert cat.wait() == 3
    finally:
        finish_case(cat, z)


def more_usage_and_later_errors():
    expect_exit(2, "push", "--echo", "-b", "tcp://127.0.0.1:0")
    expect_exit(2, "pub", "--subscribe", "x", "-b", "tcp://127.0.0.1:0")
    expect_exit(2, "sub", "-b", "tcp://127.0.0.1:0", "--wait-peers", "two")
    expect_exit(2, "sub", "-b", "tcp://127.0.0.1:0", "--timeout", "-5")
    expect_exit(2, "req", "-b", "tcp://127.0.0.1:0", "--heartbeat-ivl", "-1")
    expect_exit(2, "dealer", "-b", "tcp://127.0.0.1:0", "-c", "ipc://")
    expect_exit(2, "router", "-c", "tcp://127.0.0.1:1", "--format", "yaml")
    expect_exit(2, "pull", "-b", "exec:cat")  # exec: connects only


def trace_lines():
    """--trace: a JSON line on stderr per greeting, command and frame header,
    both ways, after the `bound` line."""
    cat, z = linked("pull", zmq.PUSH, "tcp", True, ["--trace", "-n", "1"])
    try:
        z.send_multipart([b"two", b"frames"])
        assert cat.stdout_line() == b"two\tframes\n"
        assert cat.wait() == 0, cat.stderr_text()
        records = [json.loads(l) for l in cat.stderr_text().splitlines()[1:] if l.startswith("{")]
        units = [(r["dir"], r["unit"], r.get("name"), r.get("size"), r.get("more"))
                 for r in records]
        assert ("out", "greeting", None, None, None) in units, units
        assert ("in", "greeting", None, None, None) in units, units
        assert ("out", "command", "READY", 26, None) in units, units
        assert ("in", "command", "READY", 26, None) in units, units
        frames = [u for u in units if u[1] == "frame"]
        assert frames == [("in", "frame", None, 3, True), ("in", "frame", None, 6, False)], frames
        greeting = next(r for r in records if r["unit"] == "greeting" and r["dir"] == "in")
        assert greeting["version"] == "3.1" and greeting["mechanism"] == "NULL", greeting
        assert all(r["peer"] for r in records), records
    finally:
        finish_case(cat, z)


# ---------------------------------------------------------------- security

_zap = []


def zap():
    """pyzmq's ZAP handler (ThreadAuthenticator) for the libzmq PLAIN/CURVE
    servers of this process. One for the whole run, configured by each case:
    a stopped one's inproc endpoint goes away only later."""
    if not _zap:
        _zap.append(ThreadAuthenticator(CTX))
        _zap[0].start()
    return _zap[0]


def keygen():
    """A key pair from `zmtp-cat keygen`: (public, secret) as Z85 text."""
    cat = Cat("keygen")
    try:
        line = cat.stdout_line()
        assert cat.wait() == 0, cat.stderr_text()
        assert cat.stderr_text() == "", cat.stderr_text()
    finally:
        cat.kill()
    pair = json.loads(line)
    assert sorted(pair) == ["public", "secret"], pair
    assert len(pair["public"]) == 40 and len(pair["secret"]) == 40, pair
    return pair["public"], pair["secret"]


def allow_keys(*public_keys):
    """A certificate directory for pyzmq's configure_curve holding these keys."""
    d = tempfile.mkdtemp(dir=TMP)
    for i, key in enumerate(public_keys):
        with open(os.path.join(d, "client%d.key" % i), "w") as f:
            f.write('metadata\ncurve\n    public-key = "%s"\n' % key)
    return d


def plain_libzmq_server(z, passwords):
    z.plain_server = True
    zap().configure_plain(domain="*", passwords=passwords)


def failed_handshake_line(cat, *needles):
    """The first stderr line about a failed handshake; it names the peer and
    has every needle in it."""
    deadline = time.monotonic() + WAIT
    while True:
        line = cat.stderr_line(timeout=max(0.1, deadline - time.monotonic()))
        assert line is not None, "no failed handshake reported: %r" % cat.stderr_text()
        line = line.decode()
        if "handshake with" in line and "failed" in line:
            break
    for n in needles:
        assert n in line, (n, line)
    return line


def plain_success(cat_server, cat_binds):
    """PLAIN, zmtp-cat as server (credentials) or client, binding or
    connecting; a message each way."""
    if cat_server:
        flags = ["--plain-server", "--plain-credentials", "admin:secret",
                 "--plain-credentials", "other:pw:with:colons"]

        def setup(z):
            z.plain_username = b"admin"
            z.plain_password = b"secret"
    else:
        flags = ["--plain-username", "admin", "--plain-password", "secret"]

        def setup(z):
            plain_libzmq_server(z, {"admin": "secret"})
    cat, z = linked("dealer", zmq.DEALER, "tcp", cat_binds, flags + ["-n", "1"], setup)
    try:
        cat.write(b"from zmtp-cat\n")
        assert z.recv() == b"from zmtp-cat"
        z.send(b"from libzmq")
        assert cat.stdout_line() == b"from libzmq\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def plain_refused_by_libzmq():
    """zmtp-cat PLAIN client with a wrong password against a libzmq server
    with a ZAP handler: one stderr line naming the server and its reason
    (libzmq's garbled ERROR, docs/libzmq-wire.md fact 9); nothing delivered."""
    z = zsocket(zmq.PULL)
    try:
        plain_libzmq_server(z, {"admin": "secret"})
        ep = zbind(z, "tcp")
        cat = Cat("push", "--connect", ep, "--plain-username", "admin",
                  "--plain-password", "wrong", "--timeout", "1500")
        cat.write(b"must not arrive\n")
        failed_handshake_line(cat, ep, "peer refused: 400")
        assert z.poll(500) == 0, "a message got through a refused handshake"
        assert cat.wait() == 3
    finally:
        z.close()


def plain_refused_by_cat():
    """zmtp-cat PLAIN server: a libzmq client with a wrong password is refused
    with one stderr line naming it and the reason; a good client then works."""
    cat = Cat("pull", "--bind", "tcp://127.0.0.1:0", "--plain-server",
              "--plain-credentials", "admin:secret", "-n", "1")
    bad = zsocket(zmq.PUSH)
    good = zsocket(zmq.PUSH)
    try:
        ep = cat.bound()
        bad.plain_username = b"admin"
        bad.plain_password = b"wrong"
        bad.connect(ep)
        bad.send(b"must not arrive")
        failed_handshake_line(cat, "127.0.0.1", ep, "authentication refused: 400 invalid username or password")
        good.plain_username = b"admin"
        good.plain_password = b"secret"
        good.connect(ep)
        good.send(b"welcome")
        assert cat.stdout_line() == b"welcome\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, bad, good)


def curve_success(cat_server, cat_binds, own_client_key=True):
    """CURVE, zmtp-cat as server or client, binding or connecting; keys from
    zmtp-cat keygen on the zmtp-cat side, from libzmq on the other."""
    if cat_server:
        server_public, server_secret = keygen()
        client_public, client_secret = zmq.curve_keypair()
        flags = ["--curve-server", "--curve-secret-key", server_secret]

        def setup(z):
            z.curve_serverkey = server_public.encode()
            z.curve_publickey = client_public
            z.curve_secretkey = client_secret
    else:
        server_public, server_secret = zmq.curve_keypair()
        flags = ["--curve-server-key", server_public.decode()]
        if own_client_key:
            client_public, client_secret = keygen()
            flags += ["--curve-secret-key", client_secret]
            zap().configure_curve(domain="*", location=allow_keys(client_public))
        else:
            zap().configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)

        def setup(z):
            z.curve_server = True
            z.curve_secretkey = server_secret
            z.curve_publickey = server_public
    cat, z = linked("dealer", zmq.DEALER, "tcp", cat_binds, flags + ["-n", "1"], setup)
    try:
        cat.write(b"sealed from zmtp-cat\n")
        assert z.recv() == b"sealed from zmtp-cat"
        z.send(b"sealed from libzmq")
        assert cat.stdout_line() == b"sealed from libzmq\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)


def curve_client_key_not_allowed_by_cat():
    """zmtp-cat CURVE server with --curve-allow: another client key is refused
    (one stderr line naming the peer and the reason), the allowed one works."""
    server_public, server_secret = keygen()
    allowed_public, allowed_secret = zmq.curve_keypair()
    other_public, other_secret = zmq.curve_keypair()
    cat = Cat("pull", "--bind", "tcp://127.0.0.1:0", "--curve-server", "--curve-secret-key", server_secret,
              "--curve-allow", allowed_public.decode(), "-n", "1")
    bad = zsocket(zmq.PUSH)
    good = zsocket(zmq.PUSH)
    try:
        ep = cat.bound()
        for z, (pub, sec) in ((bad, (other_public, other_secret)), (good, (allowed_public, allowed_secret))):
            z.curve_serverkey = server_public.encode()
            z.curve_publickey = pub
            z.curve_secretkey = sec
        bad.connect(ep)
        bad.send(b"must not arrive")
        failed_handshake_line(cat, "127.0.0.1", ep, "authentication refused: 400 client key not allowed")
        good.connect(ep)
        good.send(b"allowed")
        assert cat.stdout_line() == b"allowed\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, bad, good)


def curve_client_key_not_allowed_by_libzmq():
    """zmtp-cat CURVE client whose key libzmq's ZAP handler does not allow:
    one stderr line naming the server and the reason; nothing delivered."""
    z = zsocket(zmq.PULL)
    try:
        server_public, server_secret = zmq.curve_keypair()
        someone_public, _ = zmq.curve_keypair()
        zap().configure_curve(domain="*", location=allow_keys(someone_public.decode()))
        z.curve_server = True
        z.curve_secretkey = server_secret
        z.curve_publickey = server_public
        ep = zbind(z, "tcp")
        _, client_secret = keygen()
        cat = Cat("push", "--connect", ep, "--curve-server-key", server_public.decode(),
                  "--curve-secret-key", client_secret, "--timeout", "1500")
        cat.write(b"must not arrive\n")
        failed_handshake_line(cat, ep, "400")
        assert z.poll(500) == 0, "a message got through a refused handshake"
        assert cat.wait() == 3
    finally:
        z.close()


def keygen_keys_work_with_libzmq():
    """keygen: two runs give different pairs whose public key is the one
    libzmq derives from the secret; libzmq talks CURVE with them."""
    server_public, server_secret = keygen()
    client_public, client_secret = keygen()
    assert server_public != client_public
    assert zmq.curve_public(server_secret.encode()) == server_public.encode()
    assert zmq.curve_public(client_secret.encode()) == client_public.encode()
    zap().configure_curve(domain="*", location=allow_keys(client_public))
    server = zsocket(zmq.PAIR)
    client = zsocket(zmq.PAIR)
    try:
        server.curve_server = True
        server.curve_secretkey = server_secret.encode()
        server.curve_publickey = server_public.encode()
        ep = zbind(server, "tcp")
        client.curve_serverkey = server_public.encode()
        client.curve_publickey = client_public.encode()
        client.curve_secretkey = client_secret.encode()
        client.connect(ep)
        client.send(b"keys from zmtp-cat keygen")
        assert server.recv() == b"keys from zmtp-cat keygen"
    finally:
        server.close()
        client.close()


def security_usage_errors():
    """Security flags that do not fit together, or bad values: exit 2 with
    one line."""
    public, secret = keygen()
    ep = ["-c", "tcp://127.0.0.1:1"]
    bind = ["-b", "tcp://127.0.0.1:0"]
    for args, needle in (
            (["push"] + ep + ["--curve-server-key", "not-a-key"], "--curve-server-key"),
            (["push"] + ep + ["--curve-server-key", public[:-1] + "~"], "--curve-server-key"),
            (["push"] + ep + ["--curve-server-key", public, "--curve-secret-key", "short"], "--curve-secret-key"),
            (["pull"] + bind + ["--curve-server"], "--curve-secret-key"),
            (["pull"] + bind + ["--curve-server", "--curve-secret-key", secret + "0"], "--curve-secret-key"),
            (["pull"] + bind + ["--curve-server", "--curve-secret-key", secret, "--curve-allow", "x"],
             "--curve-allow"),
            (["pull"] + bind + ["--curve-allow", public], "--curve-server"),
            (["pull"] + bind + ["--curve-secret-key", secret], "--curve-secret-key"),
            (["push"] + ep + ["--plain-password", "p"], "--plain-username"),
            (["push"] + ep + ["--plain-username", ""], "--plain-username"),
            (["push"] + ep + ["--plain-username", "u" * 256], "255"),
            (["pull"] + bind + ["--plain-server"], "--plain-credentials"),
            (["pull"] + bind + ["--plain-server", "--plain-credentials", "nocolon"], "USERNAME:PASSWORD"),
            (["pull"] + bind + ["--plain-credentials", "u:p"], "--plain-server"),
            (["pull"] + bind + ["--plain-server", "--plain-credentials", ":p"], "username"),
            (["pull"] + bind + ["--plain-server", "--plain-credentials", "u:p", "--plain-credentials", "u:q"],
             "twice"),
            (["push"] + ep + ["--plain-username", "u", "--curve-server-key", public], "choose one"),
            (["pull"] + bind + ["--plain-server", "--plain-credentials", "u:p", "--curve-server",
                                "--curve-secret-key", secret], "choose one"),
            (["keygen", "--timeout", "5"], "keygen"),
    ):
        line = expect_exit(2, *args)
        assert needle in line, (args, line)
        assert "nocolon" not in line, line  # a credential is not echoed


def secrets_from_files_and_environment():
    """--plain-password-file / -env and --curve-secret-key-file / -env
    instead of the secret on the command line; misuse exits 2."""
    path = os.path.join(TMP, "password")
    with open(path, "w") as f:
        f.write("secret\n")  # the trailing newline is not part of it
    os.environ["ZMTP_CAT_TEST_PASSWORD"] = "secret"
    try:
        for source in (["--plain-password-file", path], ["--plain-password-env", "ZMTP_CAT_TEST_PASSWORD"]):
            cat, z = linked("dealer", zmq.DEALER, "tcp", False,
                            ["--plain-username", "admin"] + source + ["-n", "1"],
                            lambda z: plain_libzmq_server(z, {"admin": "secret"}))
            try:
                cat.write(b"by %s\n" % source[0].encode())
                assert z.recv() == b"by %s" % source[0].encode()
                z.send(b"back")
                assert cat.stdout_line() == b"back\n"
                assert cat.wait() == 0, cat.stderr_text()
                assert "secret" not in " ".join(cat.args)
            finally:
                finish_case(cat, z)
    finally:
        del os.environ["ZMTP_CAT_TEST_PASSWORD"]

    server_public, server_secret = keygen()
    client_public, client_secret = zmq.curve_keypair()
    key_file = os.path.join(TMP, "curve-secret")
    with open(key_file, "w") as f:
        f.write(server_secret + "\n")

    def setup(z):
        z.curve_serverkey = server_public.encode()
        z.curve_publickey = client_public
        z.curve_secretkey = client_secret
    cat, z = linked("dealer", zmq.DEALER, "tcp", True,
                    ["--curve-server", "--curve-secret-key-file", key_file, "-n", "1"], setup)
    try:
        z.send(b"sealed")
        assert cat.stdout_line() == b"sealed\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        finish_case(cat, z)

    ep = ["-c", "tcp://127.0.0.1:1"]
    missing = os.path.join(TMP, "no-such-file")
    for args, needle in (
            (["--plain-password", "p", "--plain-password-env", "HOME"], "only one"),
            (["--plain-password-env", "ZMTP_CAT_NO_SUCH_VARIABLE"], "ZMTP_CAT_NO_SUCH_VARIABLE"),
            (["--plain-password-file", missing], missing),
            (["--curve-server-key", server_public, "--curve-secret-key-file", missing], missing),
            (["--curve-server-key", server_public, "--curve-secret-key-env", "HOME"],
             "--curve-secret-key"),  # not a Z85 key
    ):
        extra = ["--plain-username", "u"] if args[0].startswith("--plain") else []
        line = expect_exit(2, "push", *(ep + extra + args))
        assert needle in line, (args, line)


def counts_version_help_and_retries():
    """Negative counts are usage errors; --version; exit codes in --help;
    -v names every failed connect with its reason."""
    ep = ["-c", "tcp://127.0.0.1:1"]
    for option in ("--hwm", "--count", "--wait-peers"):
        line = expect_exit(2, "push", *ep, option, "-5")
        assert option in line and "negative" in line, line
    cat = Cat("--version")
    try:
        assert re.fullmatch(rb"zmtp-cat \d+\.\d+\.\d+\n", cat.stdout_line()), cat.args
        assert cat.wait() == 0
    finally:
        cat.kill()
    cat = Cat("--help")
    try:
        text = b"".join(iter(lambda: cat.out.get(timeout=WAIT), None)).decode()
        assert cat.wait() == 0
        assert "Exit status" in text and "3 --timeout" in text and "--plain-password-env" in text, text
    finally:
        cat.kill()
    # A port nobody listens on: every attempt is reported, with the reason.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    target = "tcp://127.0.0.1:%d" % port
    cat = Cat("push", "-c", target, "-v", "--timeout", "1000", "--reconnect-ivl", "100",
              "--reconnect-ivl-max", "100")
    try:
        assert cat.wait() == 3
        failed = [l for l in cat.stderr_text().splitlines() if "connect to " + target + " failed" in l]
        assert len(failed) >= 3, cat.stderr_text()
        assert "refused" in failed[0] and "retrying in" in failed[0], failed[0]
    finally:
        cat.kill()


# ---------------------------------------------------------------- exec: endpoints

def child_pids(pid):
    """The pids of a running process' children, from /proc."""
    out = []
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, task)) as f:
            out += [int(p) for p in f.read().split()]
    return out


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def exec_push_through_socat(transport):
    """push --connect exec:socat ... to a bound pyzmq PULL; the relay's
    stderr passes through, and no process is left once zmtp-cat exits."""
    z = zsocket(zmq.PULL)
    ep = zbind(z, transport)
    relay = ("socat - TCP:" + ep[len("tcp://"):] if transport == "tcp"
             else "socat - UNIX-CONNECT:" + ep[len("ipc://"):])
    cat = Cat("push", "--connect", "exec:echo relay-on-stderr >&2; exec " + relay)
    try:
        cat.write(b"one\n")
        assert z.recv_multipart() == [b"one"]
        children = child_pids(cat.proc.pid)
        assert len(children) == 1, children
        cat.write(b"two\tframes\n")
        cat.close_stdin()
        assert z.recv_multipart() == [b"two", b"frames"]
        assert cat.wait() == 0, cat.stderr_text()
        assert "relay-on-stderr" in cat.stderr_text(), cat.stderr_text()
        assert gone(children[0]), "zmtp-cat exited before its relay was reaped"
    finally:
        z.close()
        cat.kill()


def exec_pull_through_socat():
    """pull --connect exec:socat ... -n 3 from a bound pyzmq PUSH."""
    z = zsocket(zmq.PUSH)
    ep = zbind(z, "ipc")
    cat = Cat("pull", "--connect", "exec:socat - UNIX-CONNECT:" + ep[len("ipc://"):], "-n", "3")
    try:
        for m in ([b"a"], [b"b", b""], [b"c" * 300]):
            z.send_multipart(m)
        assert cat.stdout_line() == b"a\n"
        assert cat.stdout_line() == b"b\t\n"
        assert cat.stdout_line() == b"c" * 300 + b"\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        z.close()
        cat.kill()


def exec_command_not_found():
    """A command the shell cannot find: its complaint passes through, then
    one line saying the command cannot be started, exit 1."""
    cat = Cat("push", "--connect", "exec:zmtp-no-such-command-4711")
    try:
        assert cat.wait() == 1, cat.stderr_text()
        err = cat.stderr_text()
        assert "zmtp-no-such-command-4711: not found" in err, err
        last = err.strip().splitlines()[-1]
        assert "cannot start a command for exec:zmtp-no-such-command-4711" in last, err
        assert "127" in last, err
    finally:
        cat.kill()


def exec_bind_is_a_usage_error():
    line = expect_exit(2, "pull", "--bind", "exec:socat - TCP:127.0.0.1:1")
    assert "--connect only" in line, line


def exec_cases():
    return [
        ("exec: push through socat to pyzmq over tcp", lambda: exec_push_through_socat("tcp")),
        ("exec: push through socat to pyzmq over ipc", lambda: exec_push_through_socat("ipc")),
        ("exec: pull through socat from pyzmq", exec_pull_through_socat),
        ("exec: command not found exits 1", exec_command_not_found),
        ("exec: --bind exits 2", exec_bind_is_a_usage_error),
    ]

# ---------------------------------------------------------------- end of exec: endpoints


def main():
    cases = []
    for pattern in ("push", "pull", "pair"):
        for transport in ("tcp", "ipc"):
            for cat_binds in (True, False):
                for fmt in ("text", "json"):
                    name = "%s %s %s %s" % (pattern, transport,
                                            "cat-binds" if cat_binds else "cat-connects", fmt)
                    cases.append((name, lambda p=pattern, t=transport, b=cat_binds, f=fmt:
                                  exchange(p, t, b, f)))
    for kind in TYPE_CASES:
        for transport in ("tcp", "ipc"):
            for cat_binds in (True, False):
                name = "%s %s %s" % (kind, transport, "cat-binds" if cat_binds else "cat-connects")
                cases.append((name, lambda k=kind, t=transport, b=cat_binds:
                              TYPE_CASES[k](t, b)))
    cases += [
        ("pull bound, three libzmq pushers", pull_from_three_pushers),
        ("pub --wait-peers 2, two libzmq subs", pub_to_two_subs),
        ("push to two pulls, nothing lost at EOF", push_to_two_pulls_loses_nothing),
        ("push --wait-peers 2: round robin over both pulls", push_waits_for_two_pulls),
        ("pull bound twice and connected", mixed_bind_and_connect),
        ("pub --wait-peers unmet: --timeout exits 3", pub_waits_for_peers_timeout),
        ("rep --echo", rep_echo),
        ("router --echo to two dealers", router_echo_two_dealers),
        ("dealer and pair --echo", dealer_and_pair_echo),
        ("zmtp-cat req to zmtp-cat rep --echo", cat_req_to_cat_rep_echo),
        ("sub --subscribe filters prefixes", sub_filters_prefixes),
        ("router: generated routing ids in JSON", router_generated_ids_in_json),
        ("-v: connected, handshaken, disconnected", verbose_peer_lines),
        ("bound side: failed handshake reported, good peer served",
         bound_side_reports_failed_handshake),
        ("peer text (ERROR reason, routing id) escaped on stderr", peer_text_escaped_on_stderr),
        ("--max-msg-size drops the peer", max_msg_size_drops_peer),
        ("--linger bounds an undeliverable exit", linger_bounds_undeliverable),
        ("stdin EOF, then the peer binds", late_peer_gets_queued_messages),
        ("req without a reply: --timeout exits 3", req_timeout_exits_3),
        ("more usage errors (2) and later features (1)", more_usage_and_later_errors),
        ("--trace: JSON lines for greetings, commands, frames", trace_lines),
    ]
    cases += [
        ("2000 messages in order through --hwm 10", many_messages_in_order),
        ("stdin EOF before the peer connects", eof_before_peer),
        ("pair --count outlives stdin EOF", pair_count_outlives_stdin),
        ("zmtp-cat to zmtp-cat over tcp", lambda: cat_to_cat("tcp")),
        ("zmtp-cat to zmtp-cat over ipc", lambda: cat_to_cat("ipc")),
        ("a silent peer fails the handshake deadline", silent_peer_times_out),
        ("heartbeats keep an idle link up", heartbeats_keep_idle_link),
        ("--timeout exits 3", timeout_exits_3),
        ("incompatible peer: one line per handshake, retried", incompatible_peer_reported_and_retried),
        ("usage errors exit 2 with one line", usage_errors),
        ("runtime errors exit 1 with one line", runtime_errors),
    ]
    for cat_server in (True, False):
        for cat_binds in (True, False):
            name = "%s %s" % ("zmtp-cat server" if cat_server else "zmtp-cat client",
                              "binds" if cat_binds else "connects")
            cases.append(("PLAIN " + name, lambda s=cat_server, b=cat_binds: plain_success(s, b)))
            cases.append(("CURVE " + name, lambda s=cat_server, b=cat_binds: curve_success(s, b)))
    cases += [
        ("CURVE zmtp-cat client with a fresh key pair", lambda: curve_success(False, False, False)),
        ("PLAIN wrong password refused by libzmq: reason on stderr", plain_refused_by_libzmq),
        ("PLAIN wrong password refused by zmtp-cat, good client served", plain_refused_by_cat),
        ("CURVE client key not allowed by zmtp-cat, allowed one served",
         curve_client_key_not_allowed_by_cat),
        ("CURVE client key not allowed by libzmq: reason on stderr", curve_client_key_not_allowed_by_libzmq),
        ("keygen: JSON pair, libzmq derives the same public key and uses it",
         keygen_keys_work_with_libzmq),
        ("security usage errors exit 2 with one line", security_usage_errors),
        ("secrets from a file or the environment", secrets_from_files_and_environment),
        ("negative counts, --version, exit codes in --help, -v retries",
         counts_version_help_and_retries),
    ]
    cases += exec_cases()
    failed = 0
    for name, fn in cases:
        start = time.monotonic()
        try:
            fn()
            print("ok   %-55s %.2fs" % (name, time.monotonic() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
        finally:
            for c in Cat.running:
                c.kill()
            Cat.running.clear()
    print("%d passed, %d failed" % (len(cases) - failed, failed))
    for a in _zap:
        a.stop()
    CTX.term()
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
