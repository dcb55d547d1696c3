// SPDX-License-Identifier: MPL-2.0
// Typed socket options, with libzmq's names and meanings. Set them before
// bind() and connect(); peers made afterwards use the values then current.
#pragma once

#include "zmtp/codec/options.hpp"
#include "zmtp/security/authenticator.hpp"
#include "zmtp/security/curve_keys.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

// Declared only: the TLS settings hold a context the application may
// provide, and consumers that use no TLS need no OpenSSL headers.
namespace boost::asio::ssl {
class context;
}

namespace zmtp {

// TLS for tls+tcp:// and tls+ipc:// endpoints (OpenSSL; TLS 1.2 or later).
// ZMTP and its mechanism run inside the TLS stream.
struct tls_options {
    // PEM files: our certificate chain and its private key. A bound
    // endpoint needs both; a connecting side presents them when given
    // (mutual TLS).
    std::string certificate_chain_file;
    std::string private_key_file;
    // PEM file of the CAs to verify the peer against. Connecting side:
    // empty means the system's CAs. Bound endpoint: set, it asks clients for
    // a certificate and verifies it; require_client_certificate refuses
    // clients without one.
    std::string ca_file;
    bool require_client_certificate = true;
    // Connecting side: the name sent as SNI and checked against the
    // server's certificate; empty: the endpoint's host (tls+ipc: no name
    // check, the chain is still verified).
    std::string server_name;
    // Connecting side: false accepts any server certificate (insecure).
    bool verify_peer = true;
    // Contexts of your own, used instead of the files above. SNI, the name
    // check (when the context verifies peers) and the TLS 1.2 minimum are
    // still applied to each connection.
    std::shared_ptr<boost::asio::ssl::context> server_context;
    std::shared_ptr<boost::asio::ssl::context> client_context;
};

// When a connect()'s peer stops reconnecting (ZMQ_RECONNECT_STOP). It is
// then gone, as after disconnect(): what was queued for it is dropped, and
// the last monitor event says "not reconnecting (reconnect_stop)".
struct reconnect_stop_options {
    // The connection was refused: nothing listens there (ECONNREFUSED;
    // ZMQ_RECONNECT_STOP_CONN_REFUSED).
    bool conn_refused = false;
    // A handshake failed on the peer's or the protocol's word: an ERROR, a
    // refused authentication, a protocol error, a failed TLS handshake; not
    // the stream's end nor the handshake deadline
    // (ZMQ_RECONNECT_STOP_HANDSHAKE_FAILED).
    bool handshake_failed = false;
};

struct socket_options {
    // Our Identity, announced by REQ, DEALER and ROUTER (ZMQ_ROUTING_ID).
    std::string routing_id;
    // Messages queued per peer in each direction; 0 means no limit
    // (ZMQ_SNDHWM, ZMQ_RCVHWM).
    std::size_t send_hwm = 1000;
    std::size_t receive_hwm = 1000;
    // Bytes queued per peer in each direction, beside the message counts;
    // 0 means no limit (libzmq has no such limit). A queue takes a message
    // while it holds fewer bytes than this, so a message of any size goes
    // through an empty queue. The default never binds before the message
    // HWM for messages of up to 16 KiB (1000 of them are 15.6 MiB), and
    // keeps a stream of large messages from queueing gigabytes: measured
    // with 64 KiB and 1 MiB messages, deeper queues only cost memory and
    // cache, and ran slower.
    static constexpr std::size_t default_hwm_bytes = 16 * 1024 * 1024;
    std::size_t send_hwm_bytes = default_hwm_bytes;
    std::size_t receive_hwm_bytes = default_hwm_bytes;
    // How long close() keeps delivering queued messages; negative: until
    // they are delivered (ZMQ_LINGER).
    std::chrono::milliseconds linger{-1};
    // How long async_send and async_receive wait before they complete with
    // asio::error::timed_out, having queued or taken nothing; negative:
    // forever (ZMQ_SNDTIMEO, ZMQ_RCVTIMEO). 0 completes at once when the
    // operation cannot be done now.
    std::chrono::milliseconds send_timeout{-1};
    std::chrono::milliseconds receive_timeout{-1};
    // Delay before reconnecting, doubling after each failure up to
    // reconnect_ivl_max, with ±50 % jitter (ZMQ_RECONNECT_IVL[_MAX]).
    std::chrono::milliseconds reconnect_ivl{100};
    std::chrono::milliseconds reconnect_ivl_max{30'000};
    reconnect_stop_options reconnect_stop; // none: retry for ever
    heartbeat_options heartbeat;                     // ZMQ_HEARTBEAT_IVL/TTL/TIMEOUT
    std::chrono::milliseconds handshake_timeout{10'000}; // ZMQ_HANDSHAKE_IVL
    codec_limits limits;                             // limits.max_message_size: ZMQ_MAXMSGSIZE
    // Bytes of unfinished messages all peers together may hold beyond 64 KiB
    // each (byte_budget); a peer that would go past it is dropped with
    // message_too_large. 0: no limit (libzmq has none). The default lets 16
    // messages of the largest size arrive at once.
    std::size_t inflight_bytes = 1024 * 1024 * 1024;
    // ROUTER: an unroutable message is an error instead of being dropped.
    bool router_mandatory = false;
    // ROUTER: a peer announcing an Identity already in use takes it over;
    // the old peer's connection is closed, what it sent is still read
    // under a generated id (ZMQ_ROUTER_HANDOVER). Off: the newcomer is
    // refused.
    bool router_handover = false;
    // ROUTER, DEALER: an empty message goes to each peer first thing when
    // its connection is up, so that a ROUTER learns of it (ZMQ_PROBE_ROUTER).
    bool probe_router = false;
    // ROUTER: the routing id the peer of the next connect() gets, instead
    // of the Identity it announces; connect() takes it and clears it
    // (ZMQ_CONNECT_ROUTING_ID). A connect() of another type with it set
    // fails with invalid_argument.
    std::string connect_routing_id;
    // REQ: a new request may be sent before the reply to the last one
    // came; that reply is then dropped (ZMQ_REQ_RELAXED).
    bool req_relaxed = false;
    // REQ: each request starts with a request-id frame, and only a reply
    // carrying it back counts (ZMQ_REQ_CORRELATE; docs/libzmq-wire.md).
    bool req_correlate = false;
    // PUSH, PULL, DEALER, PUB, SUB: each peer's queues keep only the last
    // message, in both directions, whatever the HWMs; sending several
    // frames is an error (ZMQ_CONFLATE). Ignored by other types, as libzmq
    // does.
    bool conflate = false;
    // XPUB: pass on every subscription, not only the first for a topic.
    bool xpub_verbose = false;
    // PUB and XPUB: while a subscriber the message matches is at its send
    // HWM, the send waits (try_send: would_block) instead of dropping the
    // message for that subscriber (ZMQ_XPUB_NODROP).
    bool xpub_nodrop = false;
    // XPUB: every subscription and cancel from peers is handed to the
    // application and none is applied; subscribe()/unsubscribe() on the
    // XPUB apply a topic to the peer whose subscription was received last.
    // A peer that leaves is reported as a cancel of each topic it asked
    // for (ZMQ_XPUB_MANUAL).
    bool xpub_manual = false;
    // PUB and XPUB: sent first to each new subscriber, whatever the HWM;
    // empty: none (ZMQ_XPUB_WELCOME_MSG).
    std::string xpub_welcome_msg;
    // PUB, XPUB, SUB and XSUB: a message goes to (is kept by) the peers whose
    // subscriptions do not match it. Both ends must set it
    // (ZMQ_INVERT_MATCHING).
    bool invert_matching = false;
    // Queue messages only for peers whose handshake completed (ZMQ_IMMEDIATE).
    bool immediate = false;
    // TCP keepalive: -1 the system default, 0 off, 1 on (ZMQ_TCP_KEEPALIVE).
    int tcp_keepalive = -1;
    // tcp://*:PORT listens on IPv6 and IPv4 (dual-stack), and host names
    // may resolve to IPv6 addresses; off, both are IPv4 only, as in libzmq.
    // An IPv6 address written out (tcp://[::1]:PORT) is used either way
    // (libzmq refuses it without ZMQ_IPV6) (ZMQ_IPV6).
    bool ipv6 = false;
    // TCP: how long sent data may go unacknowledged before the connection
    // is dropped (TCP_USER_TIMEOUT); 0: the system's retransmission rules
    // (ZMQ_TCP_MAXRT).
    std::chrono::milliseconds tcp_maxrt{0};
    // TCP: the IP type of service (IPv6: traffic class) of every connection's
    // packets (IP_TOS, IPV6_TCLASS); 0: the system default (ZMQ_TOS).
    int tos = 0;
    // TCP: listeners and connections are bound to this network interface
    // (SO_BINDTODEVICE, Linux; needs CAP_NET_RAW). Where that is refused,
    // bind() throws and a connect() retries, each with the reason; empty:
    // any interface (ZMQ_BINDTODEVICE).
    std::string bind_to_device;
    // Handshakes in progress per bound endpoint (no libzmq equivalent); a newcomer
    // cuts the oldest of the busiest address short (docs/design.md).
    std::size_t max_handshakes_per_listener = 256;
    // Oldest ZMTP a peer may speak: 1.0 and 2.0 peers (libzmq 3.x, JeroMQ
    // 0.3) are served with the NULL mechanism only, never under PLAIN, CURVE
    // or a bound tls+ endpoint that checks client certificates. Default:
    // all, as libzmq (docs/legacy-zmtp.md).
    zmtp_version min_zmtp_version = zmtp_version::v1_0;

    // ---- security: NULL unless one of these is set ----

    // PLAIN client (ZMQ_PLAIN_USERNAME, ZMQ_PLAIN_PASSWORD), used when the
    // username is not empty.
    std::string plain_username;
    std::string plain_password;
    // PLAIN server (ZMQ_PLAIN_SERVER): clients are checked by `authenticator`.
    bool plain_server = false;
    // CURVE server (ZMQ_CURVE_SERVER) with its long-term key pair
    // (curve_secretkey; curve_publickey is derived when left empty).
    bool curve_server = false;
    // CURVE client: used when curve_serverkey is set (ZMQ_CURVE_SERVERKEY).
    // Without curve_secretkey, each connection makes a fresh key pair.
    std::optional<security::curve_public_key> curve_serverkey;
    std::optional<security::curve_public_key> curve_publickey;
    security::curve_secret_key curve_secretkey;
    // Decides about PLAIN and CURVE clients of a server socket (libzmq's
    // ZAP handler). A PLAIN server needs one: bind and connect fail without
    // it. None on a CURVE server accepts every client that knows its key
    // (as libzmq without a ZAP handler).
    security::authenticator authenticator;

    // tls+tcp:// and tls+ipc:// endpoints. A verified peer certificate's
    // subject becomes the peer's TLS-Subject property, which the
    // authenticator sees in auth_request::transport.
    tls_options tls;
};

} // namespace zmtp
