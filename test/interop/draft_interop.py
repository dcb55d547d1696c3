# SPDX-License-Identifier: MPL-2.0
"""zmtp-cat's draft socket types against libzmq 4.3.5 built with its draft
API (the npm zeromq 6.8.0 package, driven by node/draft_peer.js): every
pair (CLIENT/SERVER, SCATTER/GATHER, RADIO/DISH), zmtp on either side,
binding or connecting, over tcp, ipc and ws://. libzmq 4.3.5's npm build has no
PEER or CHANNEL; those are tested zmtp-cat to zmtp-cat here, and zmtp to
zmtp in test/asio.

Usage: /usr/bin/python3 draft_interop.py PATH/TO/zmtp-cat PATH/TO/node NODE_DIR

Fails when NODE_DIR has no zeromq package (scripts/install-deps installs
it). Every case runs at once; every process started is killed by
pid at the end, every wait has a deadline, every tcp port comes from port 0.
"""

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback

CAT = os.path.abspath(sys.argv[1])
NODE = sys.argv[2]
NODE_DIR = os.path.abspath(sys.argv[3])
WAIT = 15  # seconds: the bound on every wait
TMP = tempfile.mkdtemp(prefix="zmtp-draft-interop-")


class Proc:
    """A process with its stdout and stderr lines read on threads."""

    def __init__(self, args, cwd=None):
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd)
        self.out = queue.Queue()
        self.err = queue.Queue()
        self.err_lines = []
        for stream, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, q), daemon=True).start()

    @staticmethod
    def _pump(stream, q):
        for line in iter(stream.readline, b""):
            q.put(line.decode(errors="replace").rstrip("\n"))
        q.put(None)

    def write(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def line(self, q):
        line = q.get(timeout=WAIT)
        if line is None:
            raise AssertionError("stream ended; stderr: %r" % self.err_lines)
        return line

    def err_line(self, start, contains=""):
        """The first stderr line that starts with `start` and holds `contains`."""
        while True:
            line = self.line(self.err)
            self.err_lines.append(line)
            if line.startswith(start) and contains in line:
                return line

    def bound(self):
        return self.err_line("bound ")[len("bound "):]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=WAIT)


class Node:
    """The one draft_peer.js process; its answers sorted by case."""

    def __init__(self):
        env = dict(os.environ, NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
        self.proc = subprocess.Popen([NODE, "--no-warnings", os.path.join(NODE_DIR, "draft_peer.js")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=NODE_DIR,
                                     env=env)
        self.lock = threading.Lock()
        self.cases = {}
        threading.Thread(target=self._pump, daemon=True).start()

    def _queue(self, case):
        with self.lock:
            return self.cases.setdefault(case, queue.Queue())

    def _pump(self):
        for line in iter(self.proc.stdout.readline, b""):
            answer = json.loads(line)
            self._queue(answer["case"]).put(answer)

    def request(self, **req):
        with self.lock:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()

    def answer(self, case):
        a = self._queue(case).get(timeout=WAIT)
        if "error" in a:
            raise AssertionError("node: " + a["error"])
        return a

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)


# zmtp-cat's type, its arguments and stdin; node's type; what to check:
# ("cat", lines) zmtp-cat prints, or ("node", lines) node reports.
PAIRS = [
    ("client", ["--count", "2"], "a\nb\n", "server", ("cat", ["a", "b"])),
    ("server", ["--echo"], None, "client", ("node", ["c1", "c2", "c3"])),
    ("scatter", [], "x1\nx2\nx3\n", "gather", ("node", ["x1", "x2", "x3"])),
    ("gather", ["--count", "3"], None, "scatter", ("cat", ["s1", "s2", "s3"])),
    # The RADIO filters by group: "h" never reaches the DISH.
    ("radio", ["--wait-peers", "1"], "h\tno\ng\tr1\nh\tno\ng\tr2\n", "dish",
     ("node", ["g\tr1", "g\tr2"])),
    ("dish", ["--join", "g", "--count", "2"], None, "radio", ("cat", ["g\ttick", "g\ttick"])),
]


def run_case(node, n, pair, transport, zmtp_binds, results):
    cat_type, cat_args, stdin, node_type, (who, expected) = pair
    name = "%s(zmtp,%s) - %s(libzmq) over %s" % (
        cat_type, "bind" if zmtp_binds else "connect", node_type, transport)
    cat = None
    try:
        args = [CAT, cat_type, "--timeout", str(WAIT * 1000)] + cat_args
        if zmtp_binds:
            ep = {"tcp": "tcp://127.0.0.1:0", "ws": "ws://127.0.0.1:0/zmq",
                  "ipc": "ipc://%s/z%d.sock" % (TMP, n)}[transport]
            cat = Proc(args + ["--bind", ep])
            node.request(case=n, type=node_type, connect=cat.bound())
            node.answer(n)
        else:
            ep = {"tcp": "tcp://127.0.0.1:*", "ws": "ws://127.0.0.1:*/zmq",
                  "ipc": "ipc://%s/n%d.sock" % (TMP, n)}[transport]
            node.request(case=n, type=node_type, bind=ep)
            cat = Proc(args + ["--connect", node.answer(n)["endpoint"]])
        if stdin is not None:
            cat.write(stdin)
            cat.proc.stdin.close()
        if who == "cat":
            got = [cat.line(cat.out) for _ in expected]
            cat.proc.wait(timeout=WAIT)
            assert cat.proc.returncode == 0, "zmtp-cat exited %d" % cat.proc.returncode
        else:
            got = node.answer(n)["got"]
        assert got == expected, "got %r, expected %r" % (got, expected)
        results[n] = (name, None)
    except Exception:  # noqa: BLE001 - reported with the case's name
        results[n] = (name, traceback.format_exc())
    finally:
        node.request(case=n, close=True)
        if cat:
            cat.stop()


def run_zmtp_pair(n, cat_type, transport, results):
    """PEER or CHANNEL, zmtp-cat to zmtp-cat: an echoing end binds, the
    other connects, sends one message and prints the echo. The PEER that
    connects learns its peer's routing id from its -v handshake line."""
    name = "%s(zmtp) - %s(zmtp) over %s" % (cat_type, cat_type, transport)
    procs = []
    try:
        ep = {"tcp": "tcp://127.0.0.1:0", "ws": "ws://127.0.0.1:0/zmq",
              "ipc": "ipc://%s/p%d.sock" % (TMP, n)}[transport]
        timeout = ["--timeout", str(WAIT * 1000)]
        echo = Proc([CAT, cat_type, "--echo", "--bind", ep] + timeout)
        procs.append(echo)
        other = Proc([CAT, cat_type, "-v", "--count", "1", "--connect", echo.bound()] + timeout)
        procs.append(other)
        if cat_type == "peer":
            line = other.err_line("zmtp-cat: handshake with", "(routing id ")
            body = line.split("(routing id ")[1].rstrip(")") + "\thello"
        else:
            body = "hello"
        other.write(body + "\n")
        got = other.line(other.out)
        assert got == body, "got %r, expected %r" % (got, body)
        results[n] = (name, None)
    except Exception:  # noqa: BLE001 - reported with the case's name
        results[n] = (name, traceback.format_exc())
    finally:
        for p in procs:
            p.stop()


def main():
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "zeromq")):
        print("FAIL: zeromq (npm) is not installed in %s; run scripts/install-deps" % NODE_DIR)
        return 1
    node = Node()
    results = {}
    threads = []
    n = 0
    for pair in PAIRS:
        for transport in ("tcp", "ipc", "ws"):
            for zmtp_binds in (True, False):
                n += 1
                t = threading.Thread(target=run_case,
                                     args=(node, n, pair, transport, zmtp_binds, results))
                t.start()
                threads.append(t)
    for cat_type in ("peer", "channel"):
        for transport in ("tcp", "ipc", "ws"):
            n += 1
            t = threading.Thread(target=run_zmtp_pair, args=(n, cat_type, transport, results))
            t.start()
            threads.append(t)
    for t in threads:
        t.join(timeout=WAIT * 3)
    node.stop()
    shutil.rmtree(TMP, ignore_errors=True)
    failed = 0
    for k in range(1, n + 1):
        name, problem = results.get(k, ("case %d" % k, "did not finish"))
        print(("ok   " if problem is None else "FAIL ") + name)
        if problem is not None:
            failed += 1
            print(problem)
    print("%d of %d cases passed" % (n - failed, n))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
