"""zmtp-cat against libzmq (through pyzmq): every socket type over tcp and
ipc, zmtp-cat binding and connecting, several peers and endpoints, text and
JSON formats, --count, --echo, --subscribe, --wait-peers, --linger, the
`bound` line, exit codes and diagnostics (../../shared/zmtp-cat.md).

Usage: /usr/bin/python3 zmtp_cat_interop.py PATH/TO/zmtp-cat

Every process started is killed by pid at the end of its case, every wait
has a deadline, and every port comes from port 0 (zmtp-cat's `bound` line
or pyzmq's bind_to_random_port).
"""

import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import zmq

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

    def stdout_line(self, timeout=WAIT):
        line = self.out.get(timeout=timeout)
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
        assert ep in lines[0] and "PUSH" in lines[0], lines[0]
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
    # options and transports of later issues say so
    line = expect_exit(1, "pub", "--bind", "tcp://127.0.0.1:0", "--trace")
    assert "not supported yet" in line, line
    line = expect_exit(1, "push", "--connect", "tls+tcp://127.0.0.1:1")
    assert "not supported yet" in line, line
    # the help exits 0
    cat = Cat("--help")
    try:
        assert cat.wait() == 0
    finally:
        cat.kill()


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
    CTX.term()
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
