# SPDX-License-Identifier: MPL-2.0
"""zmtp-cat over tls+tcp and tls+ipc (docs/zmtp-cat.md §TLS):
against libzmq (pyzmq) behind stunnel in both directions, mutual TLS,
refusals named with the TLS error (unknown CA, expired certificate, wrong
name, no client certificate), --tls-insecure, --tls-server-name, zmtp-cat to
zmtp-cat over tls+ipc, and the TLS usage and runtime errors.

Usage: /usr/bin/python3 zmtp_cat_tls_interop.py PATH/TO/zmtp-cat

Certificates are made at run time with the openssl command (the expired one
through `openssl ca -enddate`). Every zmtp-cat and stunnel started is killed
by pid at the end of its case; every wait has a deadline; every port comes
from port 0.
"""

import os
import socket
import subprocess
import sys
import time
import traceback

import zmq

import zmtp_cat_interop as base
from zmtp_cat_interop import Cat, WAIT, expect_exit, failed_handshake_line, zbind, zsocket

TMP = base.TMP
PKI = os.path.join(TMP, "pki")


def pem(name):
    return os.path.join(PKI, name + ".pem")


def key(name):
    return os.path.join(PKI, name + "-key.pem")


# ---------------------------------------------------------------- certificates

def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, timeout=WAIT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(name, subject):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key(name), "-out", pem(name), "-days", "2", "-subj", subject,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def issue(ca, name, subject, expired=False):
    """NAME.pem for SUBJECT signed by CA, for localhost and 127.0.0.1."""
    csr = os.path.join(PKI, name + ".csr")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key(name), "-out", csr, "-subj", subject)
    ext = os.path.join(PKI, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    if not expired:
        openssl("x509", "-req", "-in", csr, "-CA", pem(ca), "-CAkey", key(ca),
                "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", pem(name))
        return
    # `openssl x509` cannot date a certificate in the past; `openssl ca` can.
    db = os.path.join(PKI, "ca-db")
    os.makedirs(db, exist_ok=True)
    open(os.path.join(db, "index.txt"), "w").close()
    conf = os.path.join(db, "ca.cnf")
    with open(conf, "w") as f:
        f.write("[ca]\ndefault_ca = test\n[test]\n"
                "dir = %s\ndatabase = $dir/index.txt\nnew_certs_dir = $dir\n"
                "serial = $dir/serial\ndefault_md = sha256\npolicy = any\n"
                "copy_extensions = none\n[any]\ncommonName = supplied\n" % db)
    with open(os.path.join(db, "serial"), "w") as f:
        f.write("1000\n")
    openssl("ca", "-batch", "-config", conf, "-cert", pem(ca), "-keyfile", key(ca),
            "-in", csr, "-out", pem(name), "-extfile", ext, "-notext",
            "-startdate", "20000101000000Z", "-enddate", "20000102000000Z")


def make_pki():
    os.makedirs(PKI)
    make_ca("ca", "/CN=zmtp-cat test CA")
    issue("ca", "server", "/CN=localhost")
    issue("ca", "client", "/O=zmtp tests/CN=zmtp-cat test client")
    issue("ca", "expired", "/CN=localhost", expired=True)
    make_ca("unknown-ca", "/CN=unknown test CA")
    issue("unknown-ca", "stranger", "/CN=localhost")


# ---------------------------------------------------------------- stunnel

class Stunnel:
    """stunnel in the foreground from a config in TMP, its log in a file;
    killed by pid. Its accept port comes from binding port 0 (picked again
    if someone takes it before stunnel does)."""

    running = []
    serial = [0]

    def __init__(self, connect, client=False, cert=None, ca=None, check_host=None):
        for _ in range(5):
            Stunnel.serial[0] += 1
            base_name = os.path.join(TMP, "stunnel-%d" % Stunnel.serial[0])
            self.log_path = base_name + ".log"
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
            lines = ["foreground = yes", "pid =", "debug = 6", "[zmtp]",
                     "accept = 127.0.0.1:%d" % self.port, "connect = %s" % connect]
            if client:
                lines.append("client = yes")
            if cert:
                lines += ["cert = %s" % pem(cert), "key = %s" % key(cert)]
            if ca:
                lines += ["CAfile = %s" % pem(ca), "verifyChain = yes"]
            if check_host:
                lines += ["checkHost = %s" % check_host, "sni = %s" % check_host]
            with open(base_name + ".conf", "w") as f:
                f.write("\n".join(lines) + "\n")
            with open(self.log_path, "w") as log:
                self.proc = subprocess.Popen([stunnel_program(), base_name + ".conf"],
                                             stdout=log, stderr=log)
            Stunnel.running.append(self)
            if self._accepting():
                return
            self.kill()
        raise AssertionError("stunnel did not start: %s" % self.log())

    def _accepting(self):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if "Accepting new connections" in self.log():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=WAIT)


def stunnel_program():
    for p in ("/usr/bin/stunnel4", "/usr/bin/stunnel"):
        if os.access(p, os.X_OK):
            return p
    raise AssertionError("stunnel is not installed (Debian: the stunnel4 package)")


def host_port(endpoint):
    return endpoint.split("://", 1)[1]


def behind_stunnel(z, cert="server", ca=None):
    """Binds libzmq socket z and puts a TLS-accepting stunnel in front of
    it; returns (stunnel, the tls+tcp endpoint for zmtp-cat)."""
    tunnel = Stunnel(host_port(zbind(z, "tcp")), cert=cert, ca=ca)
    return tunnel, "tls+tcp://127.0.0.1:%d" % tunnel.port


def through_stunnel(z, cat_endpoint, cert=None):
    """Connects libzmq socket z to zmtp-cat's tls+tcp endpoint through a
    stunnel client that verifies it (and presents CERT)."""
    tunnel = Stunnel(host_port(cat_endpoint), client=True, cert=cert, ca="ca",
                     check_host="localhost")
    z.connect("tcp://127.0.0.1:%d" % tunnel.port)
    return tunnel


SERVER = ["--tls-cert", pem("server"), "--tls-key", key("server")]
TRUST = ["--tls-ca", pem("ca")]


# ---------------------------------------------------------------- cases

def cat_binds_libzmq_connects():
    cat = Cat("pull", "--bind", "tls+tcp://127.0.0.1:0", "-n", "2", *SERVER)
    z = zsocket(zmq.PUSH)
    try:
        ep = cat.bound()
        assert ep.startswith("tls+tcp://127.0.0.1:") and not ep.endswith(":0"), ep
        through_stunnel(z, ep)
        z.send_multipart([b"through", b"stunnel"])
        z.send(b"x" * 100000)
        assert cat.stdout_line() == b"through\tstunnel\n"
        assert cat.stdout_line() == b"x" * 100000 + b"\n"
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        z.close()


def cat_connects_libzmq_binds():
    z = zsocket(zmq.PULL)
    try:
        _, ep = behind_stunnel(z)
        cat = Cat("push", "--connect", ep, *TRUST)  # checks 127.0.0.1 against the certificate
        cat.write(b"one\ntwo\tframes\n")
        cat.close_stdin()
        assert z.recv_multipart() == [b"one"]
        assert z.recv_multipart() == [b"two", b"frames"]
        assert cat.wait() == 0, cat.stderr_text()
    finally:
        z.close()


def mutual_tls_both_ways():
    """zmtp-cat binding with --tls-ca requires a client certificate: a
    stunnel client with one gets through; zmtp-cat connecting presents its
    own to a stunnel server that requires one."""
    cat = Cat("pull", "--bind", "tls+tcp://127.0.0.1:0", "-n", "1", *(SERVER + TRUST))
    z = zsocket(zmq.PUSH)
    z2 = zsocket(zmq.PULL)
    try:
        through_stunnel(z, cat.bound(), cert="client")
        z.send(b"signed")
        assert cat.stdout_line() == b"signed\n"
        assert cat.wait() == 0, cat.stderr_text()

        _, ep = behind_stunnel(z2, ca="ca")
        cat2 = Cat("push", "--connect", ep, "--tls-cert", pem("client"), "--tls-key",
                   key("client"), *TRUST)
        cat2.write(b"signed too\n")
        cat2.close_stdin()
        assert z2.recv_multipart() == [b"signed too"]
        assert cat2.wait() == 0, cat2.stderr_text()
    finally:
        z.close()
        z2.close()


def client_without_certificate_refused():
    cat = Cat("pull", "--bind", "tls+tcp://127.0.0.1:0", *(SERVER + TRUST))
    z = zsocket(zmq.PUSH)
    try:
        through_stunnel(z, cat.bound())
        z.send(b"unsigned")
        failed_handshake_line(cat, "tcp://127.0.0.1:", "TLS: peer did not return a certificate")
    finally:
        z.close()


def refused_by_cat(cert, reason, extra=()):
    """zmtp-cat connecting to libzmq behind stunnel presenting CERT: one
    line per attempt naming the endpoint and the TLS error; it retries;
    libzmq receives nothing; --timeout ends it with 3."""
    z = zsocket(zmq.PULL)
    try:
        _, ep = behind_stunnel(z, cert=cert)
        cat = Cat("push", "--connect", ep, "--timeout", "1500", "--reconnect-ivl", "50",
                  *(TRUST + list(extra)))
        cat.write(b"secret\n")
        failed_handshake_line(cat, ep, reason)
        failed_handshake_line(cat, ep, reason)  # retried
        assert cat.wait() == 3, cat.stderr_text()
        z.rcvtimeo = 100
        try:
            z.recv()
            raise AssertionError("libzmq received a message")
        except zmq.Again:
            pass
    finally:
        z.close()


def unknown_ca_refused():
    refused_by_cat("stranger",
                   "TLS: certificate verify failed (unable to get local issuer certificate)")


def expired_refused():
    refused_by_cat("expired", "TLS: certificate verify failed (certificate has expired)")


def wrong_name_refused():
    refused_by_cat("server", "TLS: certificate verify failed (hostname mismatch)",
                   ["--tls-server-name", "elsewhere.example"])


def server_name_and_insecure():
    """--tls-server-name localhost passes the name check; --tls-insecure
    accepts a certificate nobody vouches for."""
    for cert, extra in (("server", TRUST + ["--tls-server-name", "localhost"]),
                        ("stranger", ["--tls-insecure"])):
        z = zsocket(zmq.PULL)
        try:
            _, ep = behind_stunnel(z, cert=cert)
            cat = Cat("push", "--connect", ep, *extra)
            cat.write(b"hello\n")
            cat.close_stdin()
            assert z.recv_multipart() == [b"hello"], cert
            assert cat.wait() == 0, cat.stderr_text()
        finally:
            z.close()


def cat_to_cat_tls_ipc():
    """zmtp-cat to zmtp-cat over tls+ipc, each verifying the other; the
    socket file is gone once the binding side exits."""
    path = os.path.join(TMP, "tls.sock")
    pull = Cat("pull", "--bind", "tls+ipc://" + path, "-n", "2", *(SERVER + TRUST))
    ep = pull.bound()
    assert ep == "tls+ipc://" + path, ep
    push = Cat("push", "--connect", ep, "--tls-server-name", "localhost",
               "--tls-cert", pem("client"), "--tls-key", key("client"), *TRUST)
    push.write(b"over\ttls+ipc\nsecond\n")
    push.close_stdin()
    assert pull.stdout_line() == b"over\ttls+ipc\n"
    assert pull.stdout_line() == b"second\n"
    assert pull.wait() == 0, pull.stderr_text()
    assert push.wait() == 0, push.stderr_text()
    assert not os.path.exists(path)


def tls_usage_and_runtime_errors():
    tcp_bind = ["pull", "-b", "tls+tcp://127.0.0.1:0"]
    for args, needle in (
            (tcp_bind, "--tls-cert"),
            (tcp_bind + ["--tls-cert", pem("server")], "--tls-key"),
            (["pull", "-b", "tcp://127.0.0.1:0"] + SERVER, "tls+"),
            (["push", "-c", "tcp://127.0.0.1:1"] + TRUST, "tls+"),
            (tcp_bind + SERVER + ["--tls-insecure"], "--connect"),
            (tcp_bind + SERVER + ["--tls-server-name", "x"], "--connect"),
    ):
        line = expect_exit(2, *args)
        assert needle in line, (args, line)
    missing = os.path.join(TMP, "missing.pem")
    line = expect_exit(1, "push", "-c", "tls+tcp://127.0.0.1:1", "--tls-ca", missing)
    assert "--tls-ca" in line and missing in line, line
    # a key that does not belong to the certificate: the bind fails
    line = expect_exit(1, "pull", "-b", "tls+tcp://127.0.0.1:0", "--tls-cert", pem("server"),
                       "--tls-key", key("client"))
    assert "cannot bind" in line, line


def main():
    make_pki()
    cases = [
        ("zmtp-cat binds tls+tcp, libzmq connects through stunnel", cat_binds_libzmq_connects),
        ("zmtp-cat connects with tls+tcp to libzmq behind stunnel", cat_connects_libzmq_binds),
        ("mutual TLS, both ways", mutual_tls_both_ways),
        ("--tls-ca on a bound endpoint refuses a client without a certificate",
         client_without_certificate_refused),
        ("unknown CA: refused with the reason, retried", unknown_ca_refused),
        ("expired certificate: refused with the reason, retried", expired_refused),
        ("wrong --tls-server-name: refused with the reason", wrong_name_refused),
        ("--tls-server-name and --tls-insecure", server_name_and_insecure),
        ("zmtp-cat to zmtp-cat over tls+ipc, mutual", cat_to_cat_tls_ipc),
        ("TLS usage errors (2) and unreadable files (1)", tls_usage_and_runtime_errors),
    ]
    failed = 0
    for name, fn in cases:
        start = time.monotonic()
        try:
            fn()
            print("ok   %-60s %.2fs" % (name, time.monotonic() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
            for t in Stunnel.running:
                print("---- %s\n%s" % (t.log_path, t.log()), flush=True)
        finally:
            for c in Cat.running:
                c.kill()
            Cat.running.clear()
            for t in Stunnel.running:
                t.kill()
            Stunnel.running.clear()
    print("%d passed, %d failed" % (len(cases) - failed, failed))
    base.CTX.term()
    base.shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
