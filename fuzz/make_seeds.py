#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""Regenerates the fuzz seed corpora in fuzz/corpus/<harness>/.

Seeds come from three places:
  * libzmq 4.3.4 wire captures (captures/*.json): greetings, READY, frames,
    PING/PONG, whole per-direction streams;
  * spec-vectors/*.json of this repository, when present (every hex input,
    and the peer bytes of every transcript);
  * hostile inputs crafted here from docs/reliability.md's list of what broke
    other ZMTP stacks (sizes near 2^64, wrapping long frames, truncated
    PING, short READY values, HTTP, ZMTP 1.0/2.0 greetings, ...).

Files named regress-* are reproducers of fixed bugs: they are never removed.
Standard library only.

  fuzz/make_seeds.py [--captures DIR] [--vectors DIR] [--out DIR]
"""

import argparse
import glob
import hashlib
import json
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

HARNESSES = ["greeting", "frame_header", "metadata", "command", "codec", "codec_small",
             "codec_ready", "plain_client", "plain_server", "curve_client", "curve_server", "zws",
             "z85"]

# Keep seeds small: libFuzzer works best from short inputs, and -max_len cuts
# longer ones anyway (run-fuzzers.sh).
MAX_SEED = 4096
# Seeds drawn from spec-vectors per harness, at most (evenly spread).
MAX_VECTOR_SEEDS = 60

# Must match type_pairs in codec_driver.hpp: (our type, the peer type the
# prefix announces). The first octet of a codec seed selects the pair.
TYPE_PAIRS = [("PAIR", "PAIR"), ("DEALER", "ROUTER"), ("ROUTER", "DEALER"), ("REQ", "REP"),
              ("REP", "REQ"), ("PUB", "SUB"), ("SUB", "PUB"), ("XPUB", "XSUB"),
              ("PULL", "PUSH"), ("PUSH", "PULL")]
COMPATIBLE = {
    "REQ": {"REP", "ROUTER"}, "REP": {"REQ", "DEALER"},
    "DEALER": {"REP", "DEALER", "ROUTER"}, "ROUTER": {"REQ", "DEALER", "ROUTER"},
    "PUB": {"SUB", "XSUB"}, "XPUB": {"SUB", "XSUB"}, "SUB": {"PUB", "XPUB"},
    "XSUB": {"PUB", "XPUB"}, "PUSH": {"PULL"}, "PULL": {"PUSH"}, "PAIR": {"PAIR"},
}


def config_for_self(self_type, zmtp30=False):
    """Config octet whose pair has `self_type` as our side."""
    for i, (ours, _) in enumerate(TYPE_PAIRS):
        if ours == self_type:
            return i | (0x80 if zmtp30 else 0)
    return 0


def config_for_sender(sender, zmtp30=False):
    """Config octet for codec_ready: a pair whose peer type can be `sender`."""
    for i, (ours, peer) in enumerate(TYPE_PAIRS):
        if peer == sender:
            return i | (0x80 if zmtp30 else 0)
    for i, (ours, _) in enumerate(TYPE_PAIRS):
        if sender in COMPATIBLE[ours]:
            return i | (0x80 if zmtp30 else 0)
    return 0


# ----------------------------------------------------------------- encoders

def greeting(major=3, minor=1, mechanism=b"NULL", as_server=0, padding=b"\x00" * 7 + b"\x01"):
    sig = b"\xff" + padding + b"\x7f"
    mech = mechanism.ljust(20, b"\x00")[:20]
    return sig + bytes([major, minor]) + mech + bytes([as_server]) + b"\x00" * 31


def frame(body, more=False, command=False, force_long=False):
    flags = (1 if more else 0) | (4 if command else 0)
    if len(body) <= 255 and not force_long:
        return bytes([flags, len(body)]) + body
    return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body


def long_header(size, flags=0x02):
    return bytes([flags]) + struct.pack(">Q", size & 0xFFFFFFFFFFFFFFFF)


def prop(name, value, declared=None):
    n = name.encode() if isinstance(name, str) else name
    v = value.encode() if isinstance(value, str) else value
    size = len(v) if declared is None else declared
    return bytes([len(n)]) + n + struct.pack(">I", size & 0xFFFFFFFF) + v


def command_body(name, data=b""):
    n = name.encode() if isinstance(name, str) else name
    return bytes([len(n)]) + n + data


def command(name, data=b""):
    return frame(command_body(name, data), command=True)


def ready(socket_type, identity=None, extra=b""):
    md = prop("Socket-Type", socket_type)
    if identity is not None:
        md += prop("Identity", identity)
    return command("READY", md + extra)


def handshake(peer_type):
    ident = "" if peer_type in ("REQ", "DEALER", "ROUTER") else None
    return greeting() + ready(peer_type, ident)


# ----------------------------------------------------------------- sources

def unhex(s):
    try:
        return bytes.fromhex(s)
    except (TypeError, ValueError):
        return None


def split_frame(b):
    """(header_size, flags, size) of a ZMTP 3 frame at the start of b, or None."""
    if len(b) < 2:
        return None
    flags = b[0]
    if flags & 0x02:
        if len(b) < 9:
            return None
        return 9, flags, struct.unpack(">Q", b[1:9])[0]
    return 2, flags, b[1]


def load_captures(captures_dir):
    caps = []
    for path in sorted(glob.glob(os.path.join(captures_dir, "*.json"))):
        with open(path) as f:
            caps.append(json.load(f))
    return caps


def capture_streams(cap):
    """{(conn, dir): bytes} and the ZMTP 3 frames of each direction."""
    streams, frames = {}, []
    for e in cap.get("exchanges", []):
        b = unhex(e.get("hex", ""))
        if not b:
            continue
        key = (e.get("conn", 0), e["dir"])
        streams[key] = streams.get(key, b"") + b
        d = e.get("decoded") or {}
        if "flags" in d and "identity" not in d:
            frames.append((e["dir"], d, b))
    return streams, frames


class corpus:
    def __init__(self, name):
        self.name = name
        self.seeds = {}    # label -> bytes
        self.digests = set()

    def add(self, label, data):
        if data is None:
            return
        data = bytes(data[:MAX_SEED])
        digest = hashlib.sha1(data).hexdigest()
        if digest in self.digests:
            return
        self.digests.add(digest)
        label = re.sub(r"[^A-Za-z0-9_.+-]+", "-", label).strip("-")[:80] or "seed"
        base, n = label, 2
        while label in self.seeds:
            label = "%s-%d" % (base, n)
            n += 1
        self.seeds[label] = data


def from_captures(c, caps):
    for cap in caps:
        scen = cap["scenario"]
        client = cap["client"]["socket_type"]
        server = cap["server"]["socket_type"]
        for conn, dirs in sorted(cap.get("greetings", {}).items()):
            for d, hx in sorted(dirs.items()):
                c["greeting"].add("capture-%s-%s" % (scen, d), unhex(hx))
        streams, frames = capture_streams(cap)
        for (conn, d), data in sorted(streams.items()):
            sender, receiver = (client, server) if d == "c2s" else (server, client)
            tag = "capture-%s-%s%s" % (scen, d, "" if not conn else "-%s" % conn)
            # The greeting parser sees whatever a peer opens with (ZMTP 1.0/2.0 too).
            c["greeting"].add(tag, data[:80])
            cfg = bytes([config_for_self(receiver)])
            c["codec"].add(tag, cfg + data)
            c["codec_small"].add(tag, cfg + data)
        sent_after_ready = {}
        for d, dec, b in frames:
            c["frame_header"].add("capture-%s-%s" % (scen, dec.get("command") or "message"),
                                  b[:16])
            hdr = split_frame(b)
            if not hdr:
                continue
            body = b[hdr[0]:]
            name = dec.get("command")
            if dec.get("command") and hdr[1] & 0x04:
                c["command"].add("capture-%s-%s" % (scen, name), body)
                if name == "READY":
                    mdata = body[1 + body[0]:]
                    c["metadata"].add("capture-%s-%s" % (scen, d), mdata)
                    sent_after_ready.setdefault(d, b"")
                    continue
            if d in sent_after_ready:
                sent_after_ready[d] += b
        for d, traffic in sorted(sent_after_ready.items()):
            if traffic:
                sender = client if d == "c2s" else server
                zmtp30 = "zmtp30" in scen and d == "s2c"
                c["codec_ready"].add("capture-%s-%s" % (scen, d),
                                     bytes([config_for_sender(sender, zmtp30)]) + traffic)


def from_vectors(c, vectors_dir):
    paths = sorted(glob.glob(os.path.join(vectors_dir, "*.json")))
    picked = {h: [] for h in HARNESSES}
    for path in paths:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print("skipping %s: %s" % (path, e), file=sys.stderr)
            continue
        kind = doc.get("kind")
        stem = os.path.splitext(os.path.basename(path))[0]
        for v in doc.get("vectors", []):
            label = "vector-%s-%s" % (stem, v.get("name", "unnamed"))
            data = unhex(v.get("input")) if isinstance(v.get("input"), str) else None
            if kind == "greeting" and data is not None:
                picked["greeting"].append((label, data))
            elif kind == "frame" and data is not None:
                picked["frame_header"].append((label, data))
            elif kind == "metadata" and data is not None:
                picked["metadata"].append((label, data))
            elif kind == "command" and data is not None:
                hdr = split_frame(data)
                picked["frame_header"].append((label, data[:16]))
                if hdr:
                    picked["command"].append((label, data[hdr[0]:]))
            elif kind == "transcript":
                local = (v.get("local") or {}).get("socket_type", "PAIR")
                peer = b""
                for step in v.get("steps", []):
                    chunks = step.get("peer", [])
                    for hx in [chunks] if isinstance(chunks, str) else chunks:
                        peer += unhex(hx) or b""
                if peer:
                    cfg = bytes([config_for_self(local)])
                    picked["codec"].append((label, cfg + peer))
                    picked["codec_small"].append((label, cfg + peer))
    for h, seeds in picked.items():
        if len(seeds) > MAX_VECTOR_SEEDS:
            step = len(seeds) / MAX_VECTOR_SEEDS
            seeds = [seeds[int(i * step)] for i in range(MAX_VECTOR_SEEDS)]
        for label, data in seeds:
            c[h].add(label, data)
    return len(paths)


def hostile(c):
    """Inputs from docs/reliability.md's list and the error list of error.hpp."""
    http = b"GET / HTTP/1.1\r\nHost: localhost:5555\r\nUser-Agent: scanner\r\n\r\n"
    tls_hello = bytes.fromhex("16030100c4010000c00303") + bytes(32)
    zmtp10 = b"\x01\x00" + b"\x06\x00hello"             # RFC 13: identity, message
    zmtp20 = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x01\x05" + b"\x00\x00"  # RFC 15, DEALER
    g = greeting()

    gr = c["greeting"]
    gr.add("hostile-http-request", http)
    gr.add("hostile-tls-client-hello", tls_hello)
    gr.add("hostile-ssh-banner", b"SSH-2.0-OpenSSH_9.2\r\n")
    gr.add("hostile-zmtp10", zmtp10)
    gr.add("hostile-zmtp20", zmtp20)
    gr.add("hostile-zmtp10-long-identity", b"\xff" + b"\x00" * 7 + b"\x05\x7e" + b"\x00" * 6)
    gr.add("hostile-major-4", greeting(major=4, minor=0))
    gr.add("hostile-minor-0", greeting(minor=0))
    gr.add("hostile-mechanism-plain-server", greeting(mechanism=b"PLAIN", as_server=1))
    gr.add("hostile-mechanism-curve", greeting(mechanism=b"CURVE"))
    gr.add("hostile-mechanism-lowercase", greeting(mechanism=b"null"))
    gr.add("hostile-mechanism-empty", greeting(mechanism=b""))
    gr.add("hostile-mechanism-20-chars", greeting(mechanism=b"ABCDEFGHIJ0123456789"))
    gr.add("hostile-mechanism-after-nul", greeting(mechanism=b"NULL\x00JUNK"))
    gr.add("hostile-padding-ff", greeting(padding=b"\xff" * 8))
    gr.add("hostile-truncated-11", g[:11])
    gr.add("hostile-greeting-then-ready", g + ready("DEALER", ""))

    fh = c["frame_header"]
    for name, size in [("2^64-1", 2**64 - 1), ("2^63", 2**63), ("2^63-1", 2**63 - 1),
                       ("2^32", 2**32), ("64MiB+1", 64 * 1024 * 1024 + 1), ("zero", 0),
                       ("255", 255)]:
        fh.add("hostile-long-" + name, long_header(size))
        fh.add("hostile-long-command-" + name, long_header(size, 0x06))
    fh.add("hostile-long-wraps-pointer", long_header(2**64 - 0x10) + b"AAAA")
    fh.add("hostile-reserved-flags", b"\xf8\x00")
    fh.add("hostile-more-on-command", b"\x05\x00")
    fh.add("hostile-long-more-on-command", b"\x07" + b"\x00" * 8)
    fh.add("hostile-short-header-cut", b"\x02\x00\x00\x00")
    fh.add("hostile-one-octet", b"\x00")

    md = c["metadata"]
    md.add("hostile-value-shorter-than-declared", prop("Socket-Type", "DEA", declared=6))
    md.add("hostile-value-size-2^32-1", prop("Socket-Type", "DEALER", declared=2**32 - 1))
    md.add("hostile-name-size-0", b"\x00" + struct.pack(">I", 0))
    md.add("hostile-name-past-end", b"\xff" + b"Socket-Type")
    md.add("hostile-name-bad-char", prop("Socket Type", "PAIR"))
    md.add("hostile-value-size-cut", b"\x0bSocket-Type\x00\x00")
    md.add("hostile-257-properties", b"".join(prop("a%d" % i, "") for i in range(257)))
    md.add("hostile-256-properties", b"".join(prop("b%d" % i, "") for i in range(256)))
    md.add("hostile-name-255", prop("N" * 255, "v"))
    md.add("hostile-empty", b"")
    md.add("hostile-duplicate-socket-type", prop("Socket-Type", "PUB") + prop("socket-type", "SUB"))

    cm = c["command"]
    cm.add("hostile-truncated-ping", command_body("PING"))
    cm.add("hostile-ping-one-octet", command_body("PING", b"\x00"))
    cm.add("hostile-ping-ttl-ffff", command_body("PING", b"\xff\xff"))
    cm.add("hostile-ping-context-20", command_body("PING", b"\x02\x8f" + b"C" * 20))
    cm.add("hostile-error-reason-past-end", command_body("ERROR", b"\xffno"))
    cm.add("hostile-error-empty", command_body("ERROR"))
    cm.add("hostile-error-malformed-name", b"\x05^RROR\x03400")  # libzmq's PLAIN server
    cm.add("hostile-name-size-0", b"\x00PING")
    cm.add("hostile-name-past-end", b"\xffREADY")
    cm.add("hostile-empty", b"")
    cm.add("hostile-ready-short-value", command_body("READY", prop("Socket-Type", "DEA", 6)))

    # Whole streams for the codec: the first octet is the setup (pair 1:
    # we are DEALER, the peer is a ROUTER).
    dealer = bytes([config_for_self("DEALER")])
    router_hs = handshake("ROUTER")
    streams = {
        "hostile-http-request": http,
        "hostile-tls-client-hello": tls_hello,
        "hostile-zmtp10": zmtp10,
        "hostile-zmtp20": zmtp20,
        "hostile-mechanism-plain": greeting(mechanism=b"PLAIN") + command("HELLO", b"\x00\x00"),
        "hostile-message-before-ready": g + frame(b"early"),
        "hostile-ready-missing-socket-type": g + command("READY", prop("Identity", "")),
        "hostile-ready-unknown-socket-type": g + ready("DEALERX", ""),
        "hostile-ready-incompatible": g + ready("PUSH"),
        "hostile-ready-short-value": g + command("READY", prop("Socket-Type", "ROU", 6)),
        "hostile-ready-257-properties":
            g + command("READY", prop("Socket-Type", "ROUTER") +
                        b"".join(prop("x%d" % i, "") for i in range(256))),
        "hostile-handshake-command-too-large": g + long_header(2**20, 0x06) + b"\x05READY",
        "hostile-handshake-unexpected-command": g + command("PING", b"\x00\x00"),
        "hostile-handshake-error": g + command("ERROR", b"\x06denied"),
        "hostile-never-finishes": g[:30],
        "hostile-long-size-2^64-1": router_hs + long_header(2**64 - 1) + b"AAAA",
        "hostile-long-wraps-pointer": router_hs + long_header(2**64 - 0x10) + b"AAAA",
        "hostile-long-64MiB+1": router_hs + long_header(64 * 1024 * 1024 + 1) + b"A" * 64,
        "hostile-long-big-then-stop": router_hs + long_header(60 * 1024 * 1024) + b"B" * 300,
        "hostile-truncated-ping": router_hs + b"\x04\x05\x04PING",
    }
    for label, s in streams.items():
        c["codec"].add(label, dealer + s)
        c["codec_small"].add(label, dealer + s)

    # Traffic after the prepended greeting and READY (same setup octet).
    traffic = {
        "hostile-long-size-2^64-1": long_header(2**64 - 1) + b"AAAA",
        "hostile-long-size-2^63": long_header(2**63) + b"AAAA",
        "hostile-long-wraps-pointer": long_header(2**64 - 0x10) + b"AAAA",
        "hostile-long-64MiB+1": long_header(64 * 1024 * 1024 + 1) + b"A" * 64,
        "hostile-long-exactly-64MiB": long_header(64 * 1024 * 1024) + b"A" * 64,
        "hostile-long-short-size": long_header(3) + b"abc",
        "hostile-long-command-2^32": long_header(2**32, 0x06) + b"\x04PING",
        "hostile-truncated-ping": b"\x04\x05\x04PING",
        "hostile-ping-one-octet": command("PING", b"\x00"),
        "hostile-ping-ttl-ffff": command("PING", b"\xff\xff" + b"ctx"),
        "hostile-ping-context-20": command("PING", b"\x00\x0a" + b"C" * 20),
        "hostile-pong-context-40": command("PONG", b"P" * 40),
        "hostile-error": command("ERROR", b"\x04bye!"),
        "hostile-error-reason-past-end": command("ERROR", b"\xffno"),
        "hostile-zero-length-command": b"\x04\x00",
        "hostile-more-on-command": b"\x05\x00",
        "hostile-reserved-flags": b"\x08\x00",
        "hostile-unknown-command": command("FOOBAR", b"x"),
        "hostile-subscribe-cancel": command("SUBSCRIBE", b"topic") + command("CANCEL", b"topic"),
        "hostile-subscribe-3000": frame(command_body("SUBSCRIBE", b"t" * 3000),
                                         command=True) + frame(b"", command=False),
        "hostile-subscribe-too-long": long_header(64 * 1024 + 200, 0x06) + b"\x09SUBSCRIBE",
        "hostile-zmtp30-subscription": frame(b"\x01weather") + frame(b"\x00weather"),
        "hostile-1025-frames": frame(b"", more=True) * 1025 + frame(b"end"),
        "hostile-multipart-3": frame(b"a", more=True) + frame(b"", more=True) + frame(b"c"),
        "hostile-message-cut": frame(b"x" * 200)[:50],
        "hostile-ready-again": ready("ROUTER", ""),
        "hostile-long-form-short-body": frame(b"short", force_long=True),
    }
    for label, t in traffic.items():
        c["codec_ready"].add(label, dealer + t)
        c["codec_ready"].add(label + "-zmtp30", bytes([dealer[0] | 0x80]) + t)
        c["frame_header"].add("stream-" + label, t[:16])


def plain(c, caps):
    """PLAIN handshakes for the mechanism harnesses: a config octet (see
    fuzz_plain_*.cpp) and what the peer sends after its greeting."""
    for cap in caps:
        scen = cap["scenario"]
        if not scen.startswith("plain-"):
            continue
        streams, _ = capture_streams(cap)
        for (conn, d), data in sorted(streams.items()):
            tag = "capture-%s-%s" % (scen, d)
            if d == "c2s":  # the server's answer: refuse for plain-failure
                c["plain_server"].add(tag, bytes([1 if scen == "plain-failure" else 0]) + data[64:])
            else:
                c["plain_client"].add(tag, b"\x00" + data[64:])

    hello = command("HELLO", b"\x05admin\x06secret")
    initiate = command("INITIATE", prop("Socket-Type", "DEALER") + prop("Identity", ""))
    many = b"".join(prop("X-%d" % i, "") for i in range(257))
    garbled_error = bytes.fromhex("04095e52524f5203343030")  # docs/libzmq-wire.md fact 9
    s = c["plain_server"]
    for cfg, what in ((0, "accept"), (1, "refuse-400"), (2, "refuse-300"), (3, "refuse-500"),
                      (4, "accept-limit-1")):
        s.add("handshake-" + what, bytes([cfg]) + hello + initiate)
    for label, stream in {
        "hostile-hello-empty": command("HELLO"),
        "hostile-hello-username-past-end": command("HELLO", b"\x09adm"),
        "hostile-hello-no-password": command("HELLO", b"\x05admin"),
        "hostile-hello-password-past-end": command("HELLO", b"\x05admin\x09sec"),
        "hostile-hello-trailing-byte": command("HELLO", b"\x05admin\x06secret\x00"),
        "hostile-hello-255-each": command("HELLO", b"\xff" + b"u" * 255 + b"\xff" + b"p" * 255),
        "hostile-hello-twice": hello + hello,
        "hostile-initiate-first": initiate,
        "hostile-initiate-short-value": hello + command("INITIATE", prop("Socket-Type", "DEALER", 100)),
        "hostile-initiate-257-properties": hello + command("INITIATE", many),
        "hostile-null-ready": ready("DEALER", ""),
        "hostile-error": command("ERROR", b"\x03bye"),
        "hostile-garbled-error": garbled_error,
        "hostile-empty-command": b"\x04\x00",
        "hostile-message-after-hello": hello + frame(b"x"),
    }.items():
        s.add(label, b"\x00" + stream)

    welcome = command("WELCOME")
    router_ready = ready("ROUTER", "")
    cl = c["plain_client"]
    for cfg, what in ((0, "admin"), (1, "empty"), (2, "255-each"), (3, "256-username"),
                      (4, "admin-limit-1")):
        cl.add("handshake-" + what, bytes([cfg]) + welcome + router_ready)
    for label, stream in {
        "hostile-garbled-error": garbled_error,
        "hostile-error": command("ERROR", b"\x03400"),
        "hostile-error-reason-past-end": command("ERROR", b"\x09400"),
        "hostile-welcome-then-garbled-error": welcome + garbled_error,
        "hostile-welcome-with-data": command("WELCOME", b"\x00"),
        "hostile-ready-first": router_ready,
        "hostile-welcome-twice": welcome + welcome,
        "hostile-ready-short-value": welcome + command("READY", prop("Socket-Type", "ROUTER", 100)),
        "hostile-ready-257-properties": welcome + command("READY", many),
        "hostile-hello-to-client": hello,
        "hostile-empty-name": b"\x04\x01\x00",
    }.items():
        cl.add(label, b"\x00" + stream)


def curve(c, vectors_dir):
    """CURVE seeds for the mechanism harnesses (fuzz_curve_*.cpp), which use
    the keys and randomness of spec-vectors/curve.json: that file's peer
    bytes after the greeting are valid input. A config octet first (bits 0-1
    the stage; see the harnesses), then commands or length-prefixed chunks."""
    try:
        with open(os.path.join(vectors_dir, "curve.json")) as f:
            vectors = json.load(f)["vectors"]
    except (OSError, ValueError, KeyError):
        vectors = []

    def frames_of(stream):
        out = []
        while stream:
            hdr = split_frame(stream)
            if not hdr or hdr[0] + hdr[2] > len(stream):
                break
            out.append((hdr[1], stream[hdr[0]:hdr[0] + hdr[2]], stream[:hdr[0] + hdr[2]]))
            stream = stream[hdr[0] + hdr[2]:]
        return out

    def chunks(*parts):
        return b"".join(bytes([len(p)]) + p for p in parts)

    for v in vectors:
        role = v["local"]["mechanism"]["role"]
        peer = b"".join(unhex(hx) for step in v["steps"] for hx in step.get("peer", []))
        frames = frames_of(peer[64:])
        commands = [whole for flags, body, whole in frames if flags & 0x04]
        sealed = [body for flags, body, whole in frames if body.startswith(b"\x07MESSAGE")]
        name = "vector-" + v["name"]
        if role == "client":
            h, refuse = c["curve_client"], 0
        else:
            h = c["curve_server"]
            refuse = 4 if any(s.get("authenticate", {}).get("answer", {}).get("status", 200) != 200
                              for s in v["steps"]) else 0
        h.add(name, bytes([refuse]) + b"".join(commands))
        h.add(name + "-after-first", bytes([refuse | 1]) + b"".join(commands[1:]))
        if sealed:
            h.add(name + "-traffic", bytes([2]) + chunks(*(b"\x00" + m for m in sealed)))

    many = b"".join(prop("X-%d" % i, "") for i in range(3))
    for h, metadata in (("curve_client", prop("Socket-Type", "ROUTER")),
                        ("curve_server", b"\x00" + prop("Socket-Type", "DEALER") + prop("Identity", "me"))):
        messages = (b"\x01\x00hello", b"\x01\x01more", b"\x01\x02\x04PING\x00\x0a", b"\x07\x00gap",
                    b"\x00\x00replay")
        c[h].add("boxed-handshake-and-messages", bytes([3]) + chunks(metadata, *messages))
        c[h].add("boxed-too-many-properties", bytes([3 | (4 if h == "curve_client" else 16)])
                 + chunks(metadata + many))
        c[h].add("boxed-bad-inner-flags", bytes([3]) + chunks(metadata, b"\x01\x04x", b"\x01\x03x"))
        c[h].add("boxed-metadata-short-value", bytes([3]) + chunks(prop("Socket-Type", "ROUTER", 100)))
        c[h].add("traffic-garbage", bytes([2]) + chunks(b"\x00" + b"\x07MESSAGE" + b"\x00" * 30,
                                                         b"\x01short", b""))
    c["curve_server"].add("boxed-whole-plaintext", bytes([3]) + chunks(b"\x01" + bytes(range(200))))
    c["curve_client"].add("hostile-garbled-error", b"\x00" + bytes.fromhex("04095e52524f5203343030"))
    c["curve_server"].add("hostile-hello-short", b"\x00" + command("HELLO", b"\x01\x00" + b"\x00" * 100))
    c["curve_server"].add("hostile-initiate-first", b"\x00" + command("INITIATE", b"\x00" * 300))


def find_captures(arg):
    candidates = [arg] if arg else []
    if os.environ.get("ZMTP_CAPTURES"):
        candidates.append(os.environ["ZMTP_CAPTURES"])
    candidates += [os.path.join(REPO, "captures"), os.path.join(REPO, "..", "shared", "captures")]
    for d in candidates:
        if d and glob.glob(os.path.join(d, "*.json")):
            return d
    sys.exit("no captures found; pass --captures DIR (libzmq captures/*.json)")


def legacy(c):
    """ZMTP 2.0 and 1.0 peers (RFC 15, RFC 13) that the codec serves, so the
    fuzzers start inside the 2.0/1.0 decoders: the greeting or identity
    frame, then messages, long frames and subscriptions in their framing."""
    sig = b"\xff" + b"\x00" * 7 + b"\x01\x7f"

    def v2(body, more=False):
        if len(body) <= 255:
            return bytes([1 if more else 0, len(body)]) + body
        return bytes([3 if more else 2]) + struct.pack(">Q", len(body)) + body

    def v1(body, more=False):
        n = len(body) + 1
        head = bytes([n]) if n < 255 else b"\xff" + struct.pack(">Q", n)
        return head + bytes([1 if more else 0]) + body

    big = bytes((3 + 7 * i) % 256 for i in range(300))
    zmtp2_types = {"PAIR": 0, "PUB": 1, "SUB": 2, "REQ": 3, "REP": 4, "DEALER": 5,
                   "ROUTER": 6, "PULL": 7, "PUSH": 8, "XPUB": 9, "XSUB": 10}
    for i, (ours, peer) in enumerate(TYPE_PAIRS):
        t = zmtp2_types[peer]
        two = sig + bytes([1, t]) + v2(b"peer") + v2(b"a", True) + v2(b"") + v2(big) + v2(b"\x01topic")
        one = v1(b"peer") + v1(b"a", True) + v1(b"") + v1(big) + v1(b"\x01topic")
        one_versioned = sig + bytes([0, t]) + v1(b"") + v1(b"job")
        for h in ("codec", "codec_small"):
            c[h].add("legacy-zmtp20-%s" % ours.lower(), bytes([i]) + two)
            c[h].add("legacy-zmtp10-%s" % ours.lower(), bytes([i]) + one)
        c["codec"].add("legacy-zmtp10-versioned-%s" % ours.lower(), bytes([i]) + one_versioned)


def zws(c):
    """ZWS 2.0 (docs/websocket.md) for fuzz_zws.cpp: a setup octet (bit 0:
    the bare "ZWS2.0", bit 1: a pong after each message, bits 2-: the type
    pair) and binary WebSocket messages, each with a 2-octet length."""
    def msgs(*payloads):
        return b"".join(struct.pack(">H", len(p)) + p for p in payloads)

    big = bytes((5 + 3 * i) % 256 for i in range(300))
    pair_index = {"PAIR": 0, "DEALER": 1, "ROUTER": 2, "PUB": 3, "SUB": 4, "PULL": 5}
    peer_of = {"PAIR": "PAIR", "DEALER": "ROUTER", "ROUTER": "DEALER", "PUB": "SUB", "SUB": "PUB",
               "PULL": "PUSH"}
    for ours, i in pair_index.items():
        peer = peer_of[ours]
        ident = "" if peer in ("REQ", "DEALER", "ROUTER") else None
        ready_body = command_body("READY", prop("Socket-Type", peer) +
                                  (prop("Identity", "") if ident is not None else b""))
        c["zws"].add("null-%s" % ours.lower(), bytes([i << 2]) + msgs(
            b"\x02" + ready_body, b"\x01a", b"\x00", b"\x00" + big, b"\x00\x01topic"))
        c["zws"].add("null-pongs-%s" % ours.lower(), bytes([i << 2 | 2]) + msgs(
            b"\x02" + ready_body, b"\x00hello", b"\x02" + command_body("PING", b"\x00\x0a")))
        c["zws"].add("bare-%s" % ours.lower(), bytes([i << 2 | 1]) + msgs(
            b"\x00peer", b"\x01a", b"\x00b", b"\x00" + big, b"\x01topic"))
    c["zws"].add("hostile-empty-message", bytes([0]) + msgs(b""))
    c["zws"].add("hostile-reserved-flags", bytes([0]) + msgs(b"\x04x", b"\x00y"))
    c["zws"].add("hostile-more-command", bytes([0]) + msgs(b"\x03\x05READY"))
    c["zws"].add("hostile-bare-command", bytes([1]) + msgs(b"\x00", b"\x02\x04PING"))
    c["zws"].add("hostile-message-before-ready", bytes([0]) + msgs(b"\x00data"))
    c["zws"].add("hostile-error-command", bytes([0]) + msgs(b"\x02" + command_body("ERROR", b"\x03bad")))


Z85_CHARS = ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
             ".-:+=^!/*?&<>()[]{}@%$#")


def z85_encode(data):
    """Z85 (RFC 32) of `data`, whose size is a multiple of 4."""
    out = []
    for i in range(0, len(data), 4):
        n = struct.unpack(">I", data[i:i + 4])[0]
        out += [Z85_CHARS[n // 85 ** k % 85] for k in range(4, -1, -1)]
    return "".join(out).encode()


def z85(c):
    """Z85 text and bytes for fuzz_z85.cpp: RFC 32's example both ways, a
    32-octet key, the largest group and one just past 32 bits."""
    c["z85"].add("rfc32-hello", b"HelloWorld")
    c["z85"].add("rfc32-bytes", bytes.fromhex("864fd26fb559f75b"))
    c["z85"].add("key-32-octets", z85_encode(bytes(range(32))))
    c["z85"].add("max-group", b"%nSc0")
    c["z85"].add("over-32-bits", b"%nSc1")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--captures", help="directory of libzmq capture JSON files")
    ap.add_argument("--vectors", default=os.path.join(REPO, "spec-vectors"),
                    help="directory of spec-vectors/*.json (skipped if absent)")
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = ap.parse_args()

    c = {h: corpus(h) for h in HARNESSES}
    caps = load_captures(find_captures(args.captures))
    from_captures(c, caps)
    hostile(c)
    legacy(c)
    plain(c, caps)
    curve(c, args.vectors)
    zws(c)
    z85(c)
    nvec = from_vectors(c, args.vectors) if os.path.isdir(args.vectors) else 0

    for h in HARNESSES:
        d = os.path.join(args.out, h)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            if not old.startswith("regress-"):
                os.remove(os.path.join(d, old))
        for label, data in sorted(c[h].seeds.items()):
            with open(os.path.join(d, label), "wb") as f:
                f.write(data)
        print("%-13s %3d seeds" % (h, len(c[h].seeds)))
    print("from %d captures, %d spec-vector files" % (len(caps), nvec))


if __name__ == "__main__":
    main()
