#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""Writes curve.json: CURVE (RFC 25, RFC 26) transcripts with fixed keys and
fixed randomness.

The boxes are computed here, from the RFC, with libsodium through ctypes --
independently of the C++ implementation the vectors test. The libzmq
side of `client-against-libzmq-server` is taken from the capture
curve-raw-client.json of libzmq 4.3.4 (its bytes are written out below);
what our client sends there is checked against that capture where it is
reproducible (HELLO, the first MESSAGE).

  spec-vectors/make_curve_vectors.py > spec-vectors/curve.json

Standard library and libsodium only.
"""

import ctypes
import ctypes.util
import json
import struct
import sys

sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
if sodium.sodium_init() < 0:
    sys.exit("libsodium could not be initialised")


def _buf(data):
    return ctypes.create_string_buffer(bytes(data), len(data))


def public_of(secret):
    out = ctypes.create_string_buffer(32)
    sodium.crypto_scalarmult_base(out, _buf(secret))
    return out.raw


def box(plain, nonce, to_public, from_secret):
    out = ctypes.create_string_buffer(len(plain) + 16)
    assert sodium.crypto_box_easy(out, _buf(plain), ctypes.c_ulonglong(len(plain)), _buf(nonce),
                                  _buf(to_public), _buf(from_secret)) == 0
    return out.raw


def unbox(boxed, nonce, from_public, to_secret):
    out = ctypes.create_string_buffer(len(boxed) - 16)
    ok = sodium.crypto_box_open_easy(out, _buf(boxed), ctypes.c_ulonglong(len(boxed)), _buf(nonce),
                                     _buf(from_public), _buf(to_secret))
    return out.raw if ok == 0 else None


def secretbox(plain, nonce, key):
    out = ctypes.create_string_buffer(len(plain) + 16)
    sodium.crypto_secretbox_easy(out, _buf(plain), ctypes.c_ulonglong(len(plain)), _buf(nonce), _buf(key))
    return out.raw


Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def z85(data):
    out = ""
    for i in range(0, len(data), 4):
        v = struct.unpack(">I", data[i:i + 4])[0]
        out += "".join(Z85[v // 85 ** k % 85] for k in range(4, -1, -1))
    return out


# ---------------------------------------------------------------- ZMTP framing

def frame(body, more=False, command=False):
    flags = (1 if more else 0) | (4 if command else 0)
    if len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def command(name, data=b""):
    return frame(bytes([len(name)]) + name.encode() + data, command=True)


def metadata(props):
    out = b""
    for name, value in props:
        out += bytes([len(name)]) + name.encode() + struct.pack(">I", len(value)) + value.encode()
    return out


def greeting(mechanism, as_server, minor=1):
    return (b"\xff" + b"\x00" * 7 + b"\x01\x7f" + bytes([3, minor]) + mechanism.encode().ljust(20, b"\x00")
            + bytes([1 if as_server else 0]) + b"\x00" * 31)


# ---------------------------------------------------------------- CurveZMQ

def short(prefix, n):
    return prefix + struct.pack(">Q", n)


class Client:
    """A CurveZMQ client: long-term secret c, transient secret c'."""

    def __init__(self, secret, transient, server_public, vouch_nonce):
        self.c, self.C = secret, public_of(secret)
        self.ct, self.Ct = transient, public_of(transient)
        self.S = server_public
        self.vouch_nonce = vouch_nonce
        self.nonce = 0

    def next(self):
        self.nonce += 1
        return self.nonce

    def hello(self, version=b"\x01\x00", server_public=None):
        n = struct.pack(">Q", self.next())
        signature = box(b"\x00" * 64, b"CurveZMQHELLO---" + n, server_public or self.S, self.ct)
        return command("HELLO", version + b"\x00" * 72 + self.Ct + n + signature)

    def read_welcome(self, welcome_frame):
        body = welcome_frame[2:]
        plain = unbox(body[24:], b"WELCOME-" + body[8:24], self.S, self.ct)
        assert plain is not None, "WELCOME does not open"
        self.St, self.cookie = plain[:32], plain[32:]

    def initiate(self, props, vouch_for=None, cookie=None):
        vouch = box(self.Ct + (vouch_for or self.S), b"VOUCH---" + self.vouch_nonce, self.St, self.c)
        plain = self.C + self.vouch_nonce + vouch + metadata(props)
        n = self.next()
        return command("INITIATE", (cookie or self.cookie) + struct.pack(">Q", n)
                       + box(plain, short(b"CurveZMQINITIATE", n), self.St, self.ct))

    def message(self, payload, more=False, is_command=False, nonce=None, as_command_frame=False):
        n = nonce if nonce is not None else self.next()
        flags = (1 if more else 0) | (2 if is_command else 0)
        boxed = box(bytes([flags]) + payload, short(b"CurveZMQMESSAGEC", n), self.St, self.ct)
        return frame(b"\x07MESSAGE" + struct.pack(">Q", n) + boxed, command=as_command_frame)

    def open_message(self, wire):
        body = wire[2:] if wire[0] & 2 == 0 else wire[9:]
        plain = unbox(body[16:], b"CurveZMQMESSAGES" + body[8:16], self.St, self.ct)
        return plain[0], plain[1:]


class Server:
    """A CurveZMQ server: long-term secret s; per connection s', cookie key K
    and two long nonces, drawn in that order from `random`."""

    def __init__(self, secret, random):
        self.s, self.S = secret, public_of(secret)
        self.st, self.K = random[0:32], random[32:64]
        self.cookie_nonce, self.welcome_nonce = random[64:80], random[80:96]
        self.St = public_of(self.st)
        self.nonce = 0

    def next(self):
        self.nonce += 1
        return self.nonce

    def welcome(self, client_transient):
        self.Ct = client_transient
        cookie = self.cookie_nonce + secretbox(self.Ct + self.st, b"COOKIE--" + self.cookie_nonce, self.K)
        return command("WELCOME", self.welcome_nonce
                       + box(self.St + cookie, b"WELCOME-" + self.welcome_nonce, self.Ct, self.s))

    def ready(self, props):
        n = self.next()
        return command("READY", struct.pack(">Q", n) + box(metadata(props), short(b"CurveZMQREADY---", n),
                                                           self.Ct, self.st))

    def message(self, payload, more=False, is_command=False):
        n = self.next()
        flags = (1 if more else 0) | (2 if is_command else 0)
        boxed = box(bytes([flags]) + payload, short(b"CurveZMQMESSAGES", n), self.Ct, self.st)
        return frame(b"\x07MESSAGE" + struct.pack(">Q", n) + boxed)


# ---------------------------------------------------------------- keys and bytes

H = bytes.fromhex
# captures/curve-*.json: the long-term key pairs (test keys, see curve_keys.derivation there).
SERVER_SECRET = H("5eb01325d43ae856226014cc1498e0074bf66331bac292c1e4ddfdc405fc0b0b")
CLIENT_SECRET = H("cc88b8a0266c898dea6299120073c48a78894bcb3be7a8fff4f9b03d959d3ccb")
SERVER_PUBLIC = public_of(SERVER_SECRET)
CLIENT_PUBLIC = public_of(CLIENT_SECRET)
# captures/curve-raw-client.json: the scripted client's randomness and libzmq's bytes.
CAPTURE_CLIENT_TRANSIENT = H("89840fa18beee337d7720833309cda9be025731bfd91a89162c9c36ff228c361")
CAPTURE_VOUCH_NONCE = H("1c497417fc74a52b4fa453ffe1f646e2")
CAPTURE_S2C = {
    "greeting": H("ff00000000000000017f0301435552564500000000000000000000000000000000000000000000000000000000000000"
                   "00000000000000000000000000000000"),
    "welcome": H("04a80757454c434f4d4582247f3670521321b115c69ee7e1d21bc27e79553292a2b82421a83c49a179371a5a4809fb9b"
                  "f9a687af4a7dfeb7f350dfabd85a234d5f8ef3924101d22b5aeaffbd88fec818ea34ef7145f2c6512dd6631a2b8ba89e"
                  "cfe510a9f1126e553cd3db37bb00423b261fde6e8380ecd140a09181df8d2b6ce225dddc6d36903e9dd8413853d150c4"
                  "813cf799f42ad1ca153ba285998f3fcb88c38309c96970d5a17a"),
    "ready": H("044105524541445900000000000000014a991780ddca36f65c21105308728b4bf736620513992fdaa4350a7620a3f1f2"
                "058db7fe2a9d459703d07eea40941e71732e7d"),
    "message-1": H("0031074d4553534147450000000000000002ba7c9ab96580aab2aabd4f7d1e3bc247c8c3786f8f82c16a49b89d1038ed"
                    "f1b10a"),
    "message-2": H("0027074d4553534147450000000000000003fcd3c55fdb9446d32ef172f0e625771c8f22f52dd98571"),
}
CAPTURE_C2S = {
    "hello": H("04c80548454c4c4f01000000000000000000000000000000000000000000000000000000000000000000000000000000"
                "000000000000000000000000000000000000000000000000000000000000000000007186478dd40dcbc57f503b9cddfe"
                "2509691a1d568af5b416e9e29eec8c46c57a0000000000000001c9931d41ec29962b687b662317c27b8eab6bb49e2e05"
                "b8707292d2b20f116a473b9048bc128f2ae1eb2e4db08b3e39dd6985a7d9920cd3341c7bfd95fe0c46cc91a8eb41567e"
                "b9c892e4f934908cc799"),
    "message": H("0031074d455353414745000000000000000333d174156827687f4b81570729e56026c56cfc69b1878489a8b929a90f02"
                  "e54ee2"),
}

# Our own fixed randomness for the other transcripts.
CLIENT_TRANSIENT = bytes(range(0x40, 0x60))
VOUCH_NONCE = bytes(range(0x60, 0x70))
SERVER_RANDOM = bytes(range(0x80, 0xe0))  # s', cookie key, cookie nonce, WELCOME nonce

LOCAL_CLIENT = {"name": "CURVE", "role": "client", "public_key": z85(CLIENT_PUBLIC),
                "secret_key": z85(CLIENT_SECRET), "server_key": z85(SERVER_PUBLIC)}
LOCAL_SERVER = {"name": "CURVE", "role": "server", "public_key": z85(SERVER_PUBLIC),
                "secret_key": z85(SERVER_SECRET), "random": SERVER_RANDOM.hex()}


def props_json(props):
    return [{"name": n, "value": v} for n, v in props]


def hexes(*parts):
    return [p.hex() for p in parts]


def text(s):
    return {"text": s}


def vector(name, source, local, steps, events, output, state, error=None, note=None):
    v = {"name": name, "source": source}
    if note:
        v["note"] = note
    v.update({"local": local, "steps": steps,
              "expect": {"events": events, "output": output, "state": state, "error": error}})
    return v


def local_client(socket_type, random=CLIENT_TRANSIENT + VOUCH_NONCE):
    return {"socket_type": socket_type, "mechanism": dict(LOCAL_CLIENT, random=random.hex())}


def local_server(socket_type):
    return {"socket_type": socket_type, "mechanism": dict(LOCAL_SERVER)}


DEALER = [("Socket-Type", "DEALER"), ("Identity", "")]
ROUTER = [("Socket-Type", "ROUTER"), ("Identity", "")]
PEER_DEALER = [("Socket-Type", "DEALER"), ("Identity", "me")]
CLIENT_GREETING = greeting("CURVE", False)
SERVER_GREETING = greeting("CURVE", True)


def authenticate(status, user_id=None, text_=None, props=PEER_DEALER):
    answer = {"status": status}
    if user_id is not None:
        answer["user_id"] = user_id
    if text_ is not None:
        answer["text"] = text_
    return {"authenticate": {"expect": {"mechanism": "CURVE", "client_key": z85(CLIENT_PUBLIC),
                                        "peer": props_json(props)},
                             "answer": answer}}


def server_handshake(socket_type="ROUTER", local_props=ROUTER, peer_props=PEER_DEALER):
    """Our client (fixed keys) up to INITIATE, and the server's expected replies."""
    client = Client(CLIENT_SECRET, CLIENT_TRANSIENT, SERVER_PUBLIC, VOUCH_NONCE)
    server = Server(SERVER_SECRET, SERVER_RANDOM)
    hello = client.hello()
    welcome = server.welcome(client.Ct)
    client.read_welcome(welcome)
    initiate = client.initiate(peer_props)
    return client, server, hello, welcome, initiate


def server_vectors():
    out = []
    src = "RFC 26; RFC 25; captures fact 10"

    client, server, hello, welcome, initiate = server_handshake()
    ready = server.ready(ROUTER)
    m1 = client.message(b"hi", more=True)
    m2 = client.message(b"there")
    reply = server.message(b"reply")
    out.append(vector(
        "server-accepts-client", src,
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, hello, initiate)}, authenticate(200, "alice"),
         {"peer": hexes(m1, m2)}, {"send": [text("reply")]}],
        [{"handshake_complete": props_json(PEER_DEALER + [("User-Id", "alice")])},
         {"message": [text("hi"), text("there")]}],
        hexes(SERVER_GREETING, welcome, ready, reply), "ready",
        note="WELCOME's S', cookie key and long nonces come from `random`; READY is short nonce 1, "
             "the reply MESSAGE 2; the client's MESSAGEs are data frames with nonces 3 and 4"))

    client, server, hello, welcome, initiate = server_handshake()
    m1 = client.message(b"pipelined")
    ready = server.ready(ROUTER)
    out.append(vector(
        "server-holds-what-follows-initiate-until-answered", src,
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, hello, initiate, m1)}, authenticate(200, "alice")],
        [{"handshake_complete": props_json(PEER_DEALER + [("User-Id", "alice")])},
         {"message": [text("pipelined")]}],
        hexes(SERVER_GREETING, welcome, ready), "ready"))

    client, server, hello, welcome, initiate = server_handshake()
    out.append(vector(
        "server-refuses-client-key", "RFC 26 §The ERROR Command; RFC 27",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, hello, initiate)}, authenticate(400, text_="client key not allowed")],
        [], hexes(SERVER_GREETING, welcome, command("ERROR", b"\x1a400 client key not allowed")),
        "failed", "authentication_failed"))

    # A PING inside a MESSAGE (inner flags 0x02) is answered by a sealed PONG.
    client, server, hello, welcome, initiate = server_handshake()
    ready = server.ready(ROUTER)
    ping = client.message(b"\x04PING\x00\x0aabc", is_command=True)
    pong = server.message(b"\x04PONGabc", is_command=True)
    out.append(vector(
        "server-answers-sealed-ping-with-sealed-pong", "RFC 26 §The MESSAGE Command; RFC 37 §PING",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, hello, initiate)}, authenticate(200, "alice"), {"peer": hexes(ping)}],
        [{"handshake_complete": props_json(PEER_DEALER + [("User-Id", "alice")])},
         {"ping": {"ttl_ms": 1000, "context": text("abc")}}],
        hexes(SERVER_GREETING, welcome, ready, pong), "ready"))

    # A SUBSCRIBE command inside a MESSAGE reaches a PUB.
    sub = [("Socket-Type", "SUB")]
    client, server, hello, welcome, initiate = server_handshake("PUB", [("Socket-Type", "PUB")], sub)
    ready = server.ready([("Socket-Type", "PUB")])
    subscribe = client.message(b"\x09SUBSCRIBEweather", is_command=True)
    out.append(vector(
        "pub-server-reads-sealed-subscribe", "RFC 26; RFC 29; captures fact 7",
        local_server("PUB"),
        [{"peer": hexes(CLIENT_GREETING, hello, initiate)}, authenticate(200, "", props=sub),
         {"peer": hexes(subscribe)}],
        [{"handshake_complete": props_json(sub)}, {"subscribe": text("weather")}],
        hexes(SERVER_GREETING, welcome, ready), "ready"))

    # RFC 26 sends MESSAGE as a command frame; libzmq as a data frame. Both open.
    client, server, hello, welcome, initiate = server_handshake()
    ready = server.ready(ROUTER)
    as_command = client.message(b"rfc form", as_command_frame=True)
    out.append(vector(
        "server-opens-message-in-command-frame", "RFC 26 §The MESSAGE Command; captures fact 10",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, hello, initiate)}, authenticate(200, "alice"),
         {"peer": hexes(as_command)}],
        [{"handshake_complete": props_json(PEER_DEALER + [("User-Id", "alice")])},
         {"message": [text("rfc form")]}],
        hexes(SERVER_GREETING, welcome, ready), "ready"))

    # Failures.
    other_server = public_of(b"\x07" * 32)
    client = Client(CLIENT_SECRET, CLIENT_TRANSIENT, SERVER_PUBLIC, VOUCH_NONCE)
    out.append(vector(
        "server-hello-for-another-server-key", "RFC 26 §The HELLO Command",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, client.hello(server_public=other_server))}],
        [], hexes(SERVER_GREETING), "failed", "authentication_failed",
        note="the signature box was made for another server key: it does not open; libzmq closes "
             "without ERROR too"))

    client = Client(CLIENT_SECRET, CLIENT_TRANSIENT, SERVER_PUBLIC, VOUCH_NONCE)
    out.append(vector(
        "server-hello-version-2", "RFC 26 §The HELLO Command",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, client.hello(version=b"\x02\x00"))}],
        [], hexes(SERVER_GREETING), "failed", "malformed_command"))

    client = Client(CLIENT_SECRET, CLIENT_TRANSIENT, SERVER_PUBLIC, VOUCH_NONCE)
    hello = client.hello()
    out.append(vector(
        "server-hello-cut-short", "RFC 26 §The HELLO Command (200 octets)",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, command("HELLO", frame_body(hello)[6:-1]))}],
        [], hexes(SERVER_GREETING), "failed", "malformed_command"))

    client, server, hello, welcome, initiate = server_handshake()
    foreign = Server(SERVER_SECRET, bytes(range(0x10, 0x70)))
    foreign_welcome = foreign.welcome(client.Ct)
    client2 = Client(CLIENT_SECRET, CLIENT_TRANSIENT, SERVER_PUBLIC, VOUCH_NONCE)
    client2.hello()
    client2.read_welcome(foreign_welcome)
    out.append(vector(
        "server-initiate-with-cookie-of-another-connection", "RFC 26 §The WELCOME Command (cookie)",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, hello, client2.initiate(PEER_DEALER))}],
        [], hexes(SERVER_GREETING, welcome), "failed", "authentication_failed"))

    client, server, hello, welcome, initiate = server_handshake()
    client2 = Client(CLIENT_SECRET, CLIENT_TRANSIENT, SERVER_PUBLIC, VOUCH_NONCE)
    client2.hello()
    client2.read_welcome(welcome)
    out.append(vector(
        "server-initiate-vouch-for-another-server", "RFC 26 §The INITIATE Command (vouch)",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, hello, client2.initiate(PEER_DEALER, vouch_for=other_server))}],
        [], hexes(SERVER_GREETING, welcome), "failed", "authentication_failed"))

    client, server, hello, welcome, initiate = server_handshake()
    ready = server.ready(ROUTER)
    m1 = client.message(b"once")
    out.append(vector(
        "server-refuses-replayed-message", "RFC 26 §The MESSAGE Command; docs/reliability.md (CVE-2014-7203)",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, hello, initiate)}, authenticate(200, "alice"), {"peer": hexes(m1, m1)}],
        [{"handshake_complete": props_json(PEER_DEALER + [("User-Id", "alice")])},
         {"message": [text("once")]}],
        hexes(SERVER_GREETING, welcome, ready), "failed", "authentication_failed"))

    client, server, hello, welcome, initiate = server_handshake()
    ready = server.ready(ROUTER)
    m3 = client.message(b"three")
    m4 = client.message(b"four")
    out.append(vector(
        "server-refuses-reordered-message", "RFC 26 §The MESSAGE Command",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, hello, initiate)}, authenticate(200, "alice"), {"peer": hexes(m4, m3)}],
        [{"handshake_complete": props_json(PEER_DEALER + [("User-Id", "alice")])},
         {"message": [text("four")]}],
        hexes(SERVER_GREETING, welcome, ready), "failed", "authentication_failed"))

    client, server, hello, welcome, initiate = server_handshake()
    ready = server.ready(ROUTER)
    m = bytearray(client.message(b"altered"))
    m[-1] ^= 1
    out.append(vector(
        "server-refuses-altered-message", "RFC 26 §The MESSAGE Command",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, hello, initiate)}, authenticate(200, "alice"), {"peer": hexes(bytes(m))}],
        [{"handshake_complete": props_json(PEER_DEALER + [("User-Id", "alice")])}],
        hexes(SERVER_GREETING, welcome, ready), "failed", "authentication_failed"))

    null_greeting = greeting("NULL", False)
    out.append(vector(
        "server-null-peer", "RFC 23 §Mechanism; docs/reliability.md (CVE-2014-9721)",
        local_server("ROUTER"),
        [{"peer": hexes(null_greeting, command("READY", metadata(DEALER)))}],
        [], hexes(SERVER_GREETING), "failed", "mechanism_mismatch"))

    client = Client(CLIENT_SECRET, CLIENT_TRANSIENT, SERVER_PUBLIC, VOUCH_NONCE)
    out.append(vector(
        "server-data-frame-during-handshake", "RFC 23 §Framing",
        local_server("ROUTER"),
        [{"peer": hexes(CLIENT_GREETING, client.hello(), frame(b"early"))}],
        [], hexes(SERVER_GREETING, server_handshake()[3]), "failed", "unexpected_message"))
    return out


def frame_body(f):
    return f[2:] if f[0] & 2 == 0 else f[9:]


def client_vectors():
    out = []
    # The capture: libzmq 4.3.4 as the server, our client with the scripted client's keys.
    client = Client(CLIENT_SECRET, CAPTURE_CLIENT_TRANSIENT, SERVER_PUBLIC, CAPTURE_VOUCH_NONCE)
    hello = client.hello()
    assert hello == CAPTURE_C2S["hello"], "HELLO differs from the capture"
    client.read_welcome(CAPTURE_S2C["welcome"])
    initiate = client.initiate(DEALER)
    first = client.message(b"hello over curve")
    assert first == CAPTURE_C2S["message"], "MESSAGE differs from the capture"
    assert client.open_message(CAPTURE_S2C["message-1"]) == (1, b"reply over curve")
    out.append(vector(
        "client-against-libzmq-server", "captures/curve-raw-client.json; captures facts 2, 6 and 10",
        local_client("DEALER", CAPTURE_CLIENT_TRANSIENT + CAPTURE_VOUCH_NONCE),
        [{"peer": hexes(CAPTURE_S2C["greeting"], CAPTURE_S2C["welcome"], CAPTURE_S2C["ready"])},
         {"send": [text("hello over curve")]},
         {"peer": hexes(CAPTURE_S2C["message-1"], CAPTURE_S2C["message-2"])}],
        [{"handshake_complete": props_json(DEALER)},
         {"message": [text("reply over curve"), text("part 2")]}],
        hexes(CLIENT_GREETING, hello, initiate, first), "ready",
        note="the peer's bytes are libzmq's; our HELLO and MESSAGE are the capture's byte for byte. Our "
             "INITIATE has libzmq's short nonce 2 and announces Identity (the scripted client used 1 and "
             "sent only Socket-Type), so it is computed, not captured"))

    def handshake():
        client = Client(CLIENT_SECRET, CLIENT_TRANSIENT, SERVER_PUBLIC, VOUCH_NONCE)
        server = Server(SERVER_SECRET, SERVER_RANDOM)
        hello = client.hello()
        welcome = server.welcome(client.Ct)
        client.read_welcome(welcome)
        return client, server, hello, welcome, client.initiate(DEALER)

    server_greeting = SERVER_GREETING
    client, server, hello, welcome, initiate = handshake()
    ready = server.ready([("Socket-Type", "ROUTER")])
    m1 = server.message(b"part", more=True)
    m2 = server.message(b"last")
    out.append(vector(
        "client-with-curve-server", "RFC 26; RFC 25",
        local_client("DEALER"),
        [{"peer": hexes(server_greeting, welcome, ready, m1, m2)}],
        [{"handshake_complete": props_json([("Socket-Type", "ROUTER")])},
         {"message": [text("part"), text("last")]}],
        hexes(CLIENT_GREETING, hello, initiate), "ready",
        note="the server's greeting has as-server 1 as RFC 23 says; libzmq's has 0 (captures fact 2): "
             "neither is checked"))

    sub_client = Client(CLIENT_SECRET, CLIENT_TRANSIENT, SERVER_PUBLIC, VOUCH_NONCE)
    server = Server(SERVER_SECRET, SERVER_RANDOM)
    hello = sub_client.hello()
    welcome = server.welcome(sub_client.Ct)
    sub_client.read_welcome(welcome)
    initiate = sub_client.initiate([("Socket-Type", "SUB")])
    ready = server.ready([("Socket-Type", "PUB")])
    subscribe = sub_client.message(b"\x09SUBSCRIBEweather", is_command=True)
    out.append(vector(
        "sub-client-seals-subscribe", "RFC 26; RFC 29; captures fact 7",
        local_client("SUB"),
        [{"peer": hexes(server_greeting, welcome, ready)}, {"subscribe": text("weather")}],
        [{"handshake_complete": props_json([("Socket-Type", "PUB")])}],
        hexes(CLIENT_GREETING, hello, initiate, subscribe), "ready"))

    client, server, hello, welcome, initiate = handshake()
    wrong = Server(b"\x09" * 32, SERVER_RANDOM).welcome(client.Ct)
    out.append(vector(
        "client-welcome-from-another-server", "RFC 26 §The WELCOME Command",
        local_client("DEALER"),
        [{"peer": hexes(server_greeting, wrong)}],
        [], hexes(CLIENT_GREETING, hello), "failed", "authentication_failed"))

    garbled_error = H("04095e52524f5203343030")  # docs/libzmq-wire.md fact 9
    client, server, hello, welcome, initiate = handshake()
    out.append(vector(
        "client-refused-by-libzmq-garbled-error", "captures fact 9; RFC 26 §The ERROR Command",
        local_client("DEALER"),
        [{"peer": hexes(server_greeting, welcome, garbled_error)}],
        [], hexes(CLIENT_GREETING, hello, initiate), "failed", "peer_error"))

    client, server, hello, welcome, initiate = handshake()
    ready = bytearray(server.ready([("Socket-Type", "ROUTER")]))
    ready[-1] ^= 0x20
    out.append(vector(
        "client-ready-altered", "RFC 26 §The READY Command",
        local_client("DEALER"),
        [{"peer": hexes(server_greeting, welcome, bytes(ready))}],
        [], hexes(CLIENT_GREETING, hello, initiate), "failed", "authentication_failed"))

    client, server, hello, welcome, initiate = handshake()
    ready = server.ready([("Socket-Type", "ROUTER")])
    n = server.next()
    bad_flags = frame(b"\x07MESSAGE" + struct.pack(">Q", n)
                      + box(b"\x04x", short(b"CurveZMQMESSAGES", n), server.Ct, server.st))
    out.append(vector(
        "client-message-with-reserved-inner-flag", "RFC 26 §The MESSAGE Command (bits 7-1 reserved)",
        local_client("DEALER"),
        [{"peer": hexes(server_greeting, welcome, ready, bad_flags)}],
        [{"handshake_complete": props_json([("Socket-Type", "ROUTER")])}],
        hexes(CLIENT_GREETING, hello, initiate), "failed", "malformed_frame"))

    client, server, hello, welcome, initiate = handshake()
    out.append(vector(
        "client-ready-before-welcome", "RFC 26 §High-level Grammar",
        local_client("DEALER"),
        [{"peer": hexes(server_greeting, server.ready([("Socket-Type", "ROUTER")]))}],
        [], hexes(CLIENT_GREETING, hello), "failed", "unexpected_command"))
    return out


def main():
    doc = {
        "kind": "transcript",
        "description": "CURVE (RFC 25, RFC 26) handshakes and sealed traffic, both roles, with fixed keys "
                       "and randomness: libzmq 4.3.4's server bytes from the captures, authenticator "
                       "answers, PING/SUBSCRIBE inside MESSAGE boxes, and boxes, cookies, vouches, "
                       "versions and nonces that must be refused. Written by make_curve_vectors.py.",
        "vectors": server_vectors() + client_vectors(),
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
