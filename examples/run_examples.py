# SPDX-License-Identifier: MPL-2.0
"""Runs every example for real and checks what it prints:

  zmtp-reqrep-service  alone (REP and REQ in one process)
  zmtp-pubsub          alone (PUB and two SUBs in one process)
  zmtp-tls-to-libzmq   against a pyzmq (libzmq) REP behind stunnel, with
                       certificates made by the openssl command, with and
                       without a client certificate, and refused by a CA it
                       does not trust
  zmtp-exec-pipe       against a pyzmq REP through socat as the exec: command

Usage: /usr/bin/python3 run_examples.py DIR_OF_EXAMPLES

Every wait has a deadline, every port comes from binding port 0, and every
process started is killed by pid whatever happens (try/finally).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import zmq

EXAMPLES = os.path.abspath(sys.argv[1])
WAIT = 30  # seconds: the bound on any one example run (each has its own 10 s deadline)


def example(name):
    return os.path.join(EXAMPLES, "zmtp-" + name)


def run(name, *args, expect_rc=0):
    proc = subprocess.run([example(name)] + list(args), capture_output=True, text=True,
                          timeout=WAIT)
    if proc.returncode != expect_rc:
        raise AssertionError("%s exited %d, expected %d\nstdout:\n%s\nstderr:\n%s" % (
            name, proc.returncode, expect_rc, proc.stdout, proc.stderr))
    return proc


def expect_lines(proc, wanted):
    lines = proc.stdout.splitlines()
    for line in wanted:
        if line not in lines:
            raise AssertionError("missing line %r in:\n%s" % (line, proc.stdout))


class LibzmqRep:
    """A pyzmq REP on 127.0.0.1, port 0, answering "libzmq got: REQUEST" on a
    thread until stopped."""

    def __init__(self, ctx):
        self.sock = ctx.socket(zmq.REP)
        self.sock.linger = 0
        self.port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            if self.sock.poll(50):
                self.sock.send(b"libzmq got: " + self.sock.recv())

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, timeout=WAIT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certificates(d):
    """ca, server (for 127.0.0.1 and localhost) and client signed by ca;
    other-ca, trusted by nobody."""
    def path(name):
        return os.path.join(d, name + ".pem"), os.path.join(d, name + "-key.pem")

    for ca in ("ca", "other-ca"):
        cert, key = path(ca)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=examples " + ca,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ext = os.path.join(d, "leaf.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ca_cert, ca_key = path("ca")
    for name in ("server", "client"):
        cert, key = path(name)
        csr = os.path.join(d, name + ".csr")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", csr, "-subj", "/CN=examples " + name)
        openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
                "-days", "2", "-extfile", ext, "-out", cert)
    return path


def stunnel_program():
    for p in ("stunnel4", "stunnel"):
        found = shutil.which(p)
        if found:
            return found
    raise AssertionError("stunnel is not installed (Debian: the stunnel4 package)")


class Stunnel:
    """stunnel in the foreground, TLS on a port picked by binding port 0,
    forwarding plain TCP to `connect`; started again on another port if the
    one picked was taken meanwhile. Killed by pid in stop()."""

    def __init__(self, d, connect, cert, key, client_ca=None):
        self.proc = None
        for attempt in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
            conf = os.path.join(d, "stunnel-%d.conf" % attempt)
            self.log_path = os.path.join(d, "stunnel-%d.log" % attempt)
            lines = ["foreground = yes", "pid =", "debug = 6", "[zmq]",
                     "accept = 127.0.0.1:%d" % self.port, "connect = %s" % connect,
                     "cert = %s" % cert, "key = %s" % key]
            if client_ca:  # mutual TLS: clients must present a certificate from this CA
                lines += ["CAfile = %s" % client_ca, "verifyChain = yes"]
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            with open(self.log_path, "w") as log:
                self.proc = subprocess.Popen([stunnel_program(), conf], stdout=log, stderr=log)
            if self._accepting():
                return
            self.stop()
        raise AssertionError("stunnel did not start:\n" + self.log())

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def _accepting(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "Accepting new connections" in self.log():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def test_reqrep_service():
    proc = run("reqrep-service", "4")
    expect_lines(proc, ["client got: reply #%d to 'request %d'" % (i, i) for i in range(1, 5)]
                 + ["done: 4 requests answered"])


def test_pubsub():
    proc = run("pubsub")
    lines = [l for l in proc.stdout.splitlines() if " got: " in l]
    wanted = ["sub A (subscribed to 'weather.') got: weather.paris 21C sunny",
              "sub A (subscribed to 'weather.') got: weather.oslo 4C snow",
              "sub B (subscribed to 'sports.') got: sports.tennis 6-4 6-3",
              "sub B (subscribed to 'sports.') got: sports.chess draw in 41 moves"]
    if sorted(lines) != sorted(wanted):
        raise AssertionError("pubsub printed:\n" + proc.stdout)


def tls_replies():
    return ["reply: libzmq got: hello over TLS %d" % i for i in range(1, 4)]


def test_tls_to_libzmq(ctx, d):
    path = make_certificates(d)
    server_cert, server_key = path("server")
    ca, _ = path("ca")
    rep = LibzmqRep(ctx)
    tunnels = []
    try:
        plain = Stunnel(d, "127.0.0.1:%d" % rep.port, server_cert, server_key)
        tunnels.append(plain)
        endpoint = "tls+tcp://127.0.0.1:%d" % plain.port
        expect_lines(run("tls-to-libzmq", endpoint, ca), tls_replies())

        # A server certificate from a CA we were not told to trust: refused,
        # and the example says why within its deadline.
        other_ca, _ = path("other-ca")
        refused = run("tls-to-libzmq", endpoint, other_ca, expect_rc=1)
        if "certificate verify failed" not in refused.stderr or refused.stdout:
            raise AssertionError("untrusted server: stdout %r, stderr %r" % (
                refused.stdout, refused.stderr))

        mutual = Stunnel(d, "127.0.0.1:%d" % rep.port, server_cert, server_key, client_ca=ca)
        tunnels.append(mutual)
        client_cert, client_key = path("client")
        expect_lines(run("tls-to-libzmq", "tls+tcp://127.0.0.1:%d" % mutual.port, ca,
                         client_cert, client_key), tls_replies())
    finally:
        for t in tunnels:
            t.stop()
        rep.stop()


def test_exec_pipe(ctx):
    rep = LibzmqRep(ctx)
    try:
        proc = run("exec-pipe", "socat - TCP:127.0.0.1:%d" % rep.port)
        expect_lines(proc, ["reply: libzmq got: through the pipe %d" % i for i in range(1, 4)])
    finally:
        rep.stop()
    # A command that cannot run: a one-line failure, not a hang.
    failed = run("exec-pipe", "no-such-relay-command-here", expect_rc=1)
    if "exec_pipe: no answer within" not in failed.stderr:
        raise AssertionError("failed command: stderr %r" % failed.stderr)


def main():
    ctx = zmq.Context()
    d = tempfile.mkdtemp(prefix="zmtp-examples-")
    failures = 0
    cases = [("reqrep_service", test_reqrep_service), ("pubsub", test_pubsub),
             ("tls_to_libzmq", lambda: test_tls_to_libzmq(ctx, d)),
             ("exec_pipe", lambda: test_exec_pipe(ctx))]
    try:
        for name, case in cases:
            try:
                case()
                print("ok   %s" % name)
            except Exception as e:  # report every case, fail at the end
                failures += 1
                print("FAIL %s: %s" % (name, e))
    finally:
        ctx.term()
        shutil.rmtree(d, ignore_errors=True)
    print("%d of %d examples passed" % (len(cases) - failures, len(cases)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
