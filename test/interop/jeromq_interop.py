# SPDX-License-Identifier: MPL-2.0
"""zmtp-cat against JeroMQ 0.3.6 (Debian's libjeromq-java), which speaks
ZMTP 2.0: every pattern pair with zmtp-cat binding and connecting,
multipart messages, empty frames and a 70,000-byte frame, zmtp-cat
reconnecting to a restarted JeroMQ and a restarted JeroMQ reconnecting to
zmtp-cat, and PLAIN, CURVE and a tls+tcp endpoint checking client
certificates (JeroMQ behind a stunnel client) refusing the old peer with
one stderr line (docs/legacy-zmtp.md).

Usage: /usr/bin/python3 jeromq_interop.py ZMTP-CAT JeromqPeer.java BUILD-DIR

JeromqPeer.java is compiled into BUILD-DIR with javac at the start. One JVM
serves the whole pattern matrix (a socket per case, closed after it); the
restart cases start their own. Every process started is killed by pid,
every wait has a deadline. JeroMQ 0.3.6 cannot bind port 0 and report the
port: it binds `tcp://127.0.0.1:*`, its own free-port search.
"""

import os
import queue
import subprocess
import sys
import threading
import time
import traceback

from zmtp_cat_interop import Cat, WAIT, decode, encode, failed_handshake_line
import zmtp_cat_tls_interop as tls

JAR = "/usr/share/java/jeromq.jar"
SOURCE = os.path.abspath(sys.argv[2])
CLASSES = os.path.join(os.path.abspath(sys.argv[3]), "jeromq-peer")


def compile_peer():
    os.makedirs(CLASSES, exist_ok=True)
    assert os.path.exists(JAR), "JeroMQ is not installed (%s): scripts/install-deps" % JAR
    subprocess.run(["javac", "-cp", JAR, "-d", CLASSES, SOURCE], check=True, timeout=120)


def hexf(frame):
    return frame.hex() if frame else "-"


class Jeromq:
    """One JVM running JeromqPeer; cmd() sends a line and returns the answer."""

    running = []

    def __init__(self):
        self.proc = subprocess.Popen(["java", "-cp", JAR + ":" + CLASSES, "JeromqPeer"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        Jeromq.running.append(self)
        self.answers = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in iter(self.proc.stdout.readline, b""):
            self.answers.put(line.decode().strip())
        self.answers.put(None)

    def cmd(self, *words, timeout=WAIT + 5):
        self.proc.stdin.write((" ".join(words) + "\n").encode())
        self.proc.stdin.flush()
        answer = self.answers.get(timeout=timeout)
        assert answer is not None, "JeroMQ peer exited: %r" % self.proc.stderr.read()
        assert not answer.startswith("error"), (words[:2], answer)
        return answer

    def socket(self, name, kind):
        self.cmd("socket", name, kind)

    def bind(self, name):
        return self.cmd("bind", name, "tcp://127.0.0.1:*").split()[1]

    def send(self, name, frames):
        self.cmd("send", name, *[hexf(f) for f in frames])

    def recv(self, name):
        answer = self.cmd("recv", name)
        assert answer.startswith("msg "), "JeroMQ received nothing: %s" % answer
        return [b"" if f == "-" else bytes.fromhex(f) for f in answer.split()[1:]]

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, 9)
        self.proc.wait(timeout=WAIT)
        Jeromq.running.remove(self)


MESSAGES = [[b"hello"], [b"a", b"", b"c"], [b""], [b"x" * 70000], [b"last", b"\x00\xff"]]


def link(j, cat_args, kind, cat_binds, identity=None):
    """A JeroMQ socket `s` of `kind` and a zmtp-cat, one binding, one connecting."""
    j.socket("s", kind)
    if identity:
        j.cmd("identity", "s", identity.hex())
    if cat_binds:
        cat = Cat(*(cat_args + ["--format", "json", "--bind", "tcp://127.0.0.1:0"]))
        j.cmd("connect", "s", cat.bound())
    else:
        cat = Cat(*(cat_args + ["--format", "json", "--connect", j.bind("s")]))
    return cat


def cat_line(cat):
    return decode(cat.stdout_line(), "json")


def push_pull(j, cat_binds):
    cat = link(j, ["push"], "PULL", cat_binds)
    for m in MESSAGES:
        cat.write(encode(m, "json"))
    for m in MESSAGES:
        assert j.recv("s") == m
    return cat


def pull_push(j, cat_binds):
    cat = link(j, ["pull"], "PUSH", cat_binds)
    for m in MESSAGES:
        j.send("s", m)
    for m in MESSAGES:
        assert cat_line(cat) == m
    return cat


def req_rep(j, cat_binds):
    cat = link(j, ["req"], "REP", cat_binds)
    for m in MESSAGES[:3]:
        cat.write(encode(m, "json"))
        assert j.recv("s") == m
        j.send("s", [b"re"] + m)
        assert cat_line(cat) == [b"re"] + m
    return cat


def rep_req(j, cat_binds):
    cat = link(j, ["rep", "--echo"], "REQ", cat_binds)
    for m in MESSAGES:
        j.send("s", m)
        assert j.recv("s") == m
    return cat


def dealer_router(j, cat_binds):
    cat = link(j, ["dealer", "--routing-id", "zd"], "ROUTER", cat_binds)
    cat.write(encode([b"a", b"", b"b"], "json"))
    # The identity frame of our 2.0 greeting is the ROUTER's routing id for us.
    assert j.recv("s") == [b"zd", b"a", b"", b"b"]
    j.send("s", [b"zd", b"back"])
    assert cat_line(cat) == [b"back"]
    return cat


def router_dealer(j, cat_binds):
    cat = link(j, ["router"], "DEALER", cat_binds, identity=b"jd")
    j.send("s", [b"hi", b""])
    assert cat_line(cat) == [b"jd", b"hi", b""]
    cat.write(encode([b"jd", b"x" * 70000], "json"))
    assert j.recv("s") == [b"x" * 70000]
    return cat


def pub_sub(j, cat_binds):
    j.socket("s", "SUB")
    j.cmd("subscribe", "s", b"t".hex())
    # --wait-peers: the 2.0 subscriber's 01 't' frame must arrive first.
    args = ["pub", "--wait-peers", "1", "--format", "json"]
    if cat_binds:
        cat = Cat(*(args + ["--bind", "tcp://127.0.0.1:0"]))
        j.cmd("connect", "s", cat.bound())
    else:
        cat = Cat(*(args + ["--connect", j.bind("s")]))
    for m in ([b"t1"], [b"x"], [b"t2", b""]):
        cat.write(encode(m, "json"))
    assert j.recv("s") == [b"t1"]
    assert j.recv("s") == [b"t2", b""]
    return cat


def sub_pub(j, cat_binds):
    cat = link(j, ["sub", "--subscribe", "t"], "PUB", cat_binds)
    # Slow joiner: publish until the subscription has reached JeroMQ.
    deadline = time.monotonic() + WAIT
    while True:
        j.send("s", [b"x-skipped"])
        j.send("s", [b"t-topic", b"part"])
        try:
            line = cat.stdout_line(timeout=0.1)
            break
        except queue.Empty:
            assert time.monotonic() < deadline, "no message through the subscription"
    assert decode(line, "json") == [b"t-topic", b"part"]
    return cat


def pair_pair(j, cat_binds):
    cat = link(j, ["pair"], "PAIR", cat_binds)
    for m in MESSAGES:
        cat.write(encode(m, "json"))
        assert j.recv("s") == m
        j.send("s", m)
        assert cat_line(cat) == m
    return cat


PATTERNS = [("push -> JeroMQ PULL", push_pull), ("pull <- JeroMQ PUSH", pull_push),
            ("req -> JeroMQ REP", req_rep), ("rep <- JeroMQ REQ", rep_req),
            ("dealer -> JeroMQ ROUTER", dealer_router), ("router <- JeroMQ DEALER", router_dealer),
            ("pub -> JeroMQ SUB", pub_sub), ("sub <- JeroMQ PUB", sub_pub),
            ("pair <-> JeroMQ PAIR", pair_pair)]


def matrix_case(j, fn, cat_binds):
    def run():
        try:
            fn(j, cat_binds)
        finally:
            j.cmd("close", "s")
    return run


def cat_reconnects_to_restarted_jeromq():
    j = Jeromq()
    j.socket("s", "PULL")
    ep = j.bind("s")
    cat = Cat("push", "--connect", ep, "--reconnect-ivl", "50")
    cat.write(b"one\n")
    assert j.recv("s") == [b"one"]
    j.kill()
    j = Jeromq()
    j.socket("s", "PULL")
    assert j.cmd("bind", "s", ep).split()[1] == ep
    cat.write(b"two\n")
    assert j.recv("s") == [b"two"]
    j.cmd("quit")


def restarted_jeromq_reconnects_to_cat():
    cat = Cat("pull", "--bind", "tcp://127.0.0.1:0")
    ep = cat.bound()
    for round_ in (b"first", b"second"):
        j = Jeromq()
        j.socket("s", "PUSH")
        j.cmd("connect", "s", ep)
        j.send("s", [round_])
        assert cat.stdout_line() == round_ + b"\n"
        j.kill()


def refused(cat_args, needle):
    def run():
        cat = Cat(*(["pull", "--bind", "tcp://127.0.0.1:0"] + cat_args))
        j = Jeromq()
        j.socket("s", "PUSH")
        j.cmd("connect", "s", cat.bound())
        failed_handshake_line(cat, "ZMTP 2.0", needle)
        j.kill()
    return run


def refused_after_client_certificate():
    """A verified client certificate does not let a ZMTP 2.0 peer skip ZMTP
    3: JeroMQ through a stunnel client presenting one is refused."""
    tls.make_pki()
    cat = Cat(*(["pull", "--bind", "tls+tcp://127.0.0.1:0"] + tls.SERVER + tls.TRUST))
    try:
        tunnel = tls.Stunnel(tls.host_port(cat.bound()), client=True, cert="client", ca="ca",
                             check_host="localhost")
        j = Jeromq()
        j.socket("s", "PUSH")
        j.cmd("connect", "s", "tcp://127.0.0.1:%d" % tunnel.port)
        failed_handshake_line(cat, "ZMTP 2.0", "certificate was checked")
        j.kill()
    finally:
        for t in tls.Stunnel.running:
            t.kill()
        tls.Stunnel.running.clear()


def main():
    compile_peer()
    cases = []
    j = Jeromq()
    for name, fn in PATTERNS:
        for cat_binds in (True, False):
            cases.append(("%s, zmtp-cat %s" % (name, "binds" if cat_binds else "connects"),
                          matrix_case(j, fn, cat_binds)))
    cases += [
        ("zmtp-cat reconnects to a restarted JeroMQ", cat_reconnects_to_restarted_jeromq),
        ("a restarted JeroMQ reconnects to zmtp-cat", restarted_jeromq_reconnects_to_cat),
        ("PLAIN server refuses the ZMTP 2.0 peer", refused(
            ["--plain-server", "--plain-credentials", "u:p"], "PLAIN mechanism needs ZMTP 3")),
        ("CURVE server refuses the ZMTP 2.0 peer", refused(
            ["--curve-server", "--curve-secret-key", "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"],
            "CURVE mechanism needs ZMTP 3")),
        ("a tls+tcp endpoint checking client certificates refuses it",
         refused_after_client_certificate),
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
            for c in Cat.running:
                print("zmtp-cat %s stderr: %s" % (c.args[1:], c.stderr_text()), flush=True)
        finally:
            for c in Cat.running:
                c.kill()
            Cat.running.clear()
            for other in [x for x in Jeromq.running if x is not j]:
                other.kill()
    j.cmd("quit")
    j.kill()
    print("%d passed, %d failed" % (len(cases) - failed, failed))
    tls.base.CTX.term()
    tls.base.shutil.rmtree(tls.TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
