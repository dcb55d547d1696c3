// SPDX-License-Identifier: MPL-2.0
// What a codec is configured with. Defaults follow the limits of docs/reliability.md.
#pragma once

#include "zmtp/codec/byte_budget.hpp"

#include "zmtp/codec/trace.hpp"
#include "zmtp/security/mechanism.hpp"
#include "zmtp/socket_type.hpp"
#include "zmtp/wire/metadata.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace zmtp {

struct codec_limits {
    std::size_t max_message_size = 64 * 1024 * 1024; // sum of a message's frames
    std::size_t max_frames = 1024;                   // frames per message
    // Largest command body: a 64 KiB subscription topic plus its name fits.
    std::size_t max_command_size = 64 * 1024 + 64;
    std::size_t max_properties = 256;
    // How far ahead of the bytes received a frame's storage may be allocated.
    std::size_t max_preallocation = 1024 * 1024;
};

struct heartbeat_options {
    std::chrono::milliseconds interval{0}; // send PING this often; 0: never
    std::chrono::milliseconds ttl{0};      // TTL announced in our PINGs; 0: none
    std::chrono::milliseconds timeout{0};  // no traffic this long after a PING; 0: interval
};

// ZMTP revisions, oldest first. A 3.x greeting with minor version 0 is
// 3.0; any newer one counts as 3.1.
enum class zmtp_version { v1_0 = 1, v2_0 = 2, v3_0 = 3, v3_1 = 4 };

struct codec_options {
    socket_type type = socket_type::pair;
    // Announced as Identity by REQ, DEALER and ROUTER (empty: "assign one").
    std::string routing_id;
    // Further READY properties (application properties are "X-..." by RFC 37).
    metadata properties;
    codec_limits limits;
    heartbeat_options heartbeat;
    // Deadline for greeting + security handshake, from construction.
    std::chrono::milliseconds handshake_timeout{10'000};
    // Makes the security mechanism; empty means NULL.
    std::function<std::unique_ptr<security::mechanism>()> mechanism;
    // Answers a server mechanism's events::authenticate. The codec only
    // reports the request; the layer driving it (connection<Stream>) calls
    // this and hands the answer back.
    security::authenticator authenticator;
    // What the transport knows of the peer: its address (the Peer-Address
    // property) and further properties (e.g. TLS-Subject). Both reach the
    // authenticator and the peer's metadata.
    std::string peer_address;
    metadata transport_properties;
    // Oldest ZMTP a peer may speak. ZMTP 1.0 and 2.0 peers are served in
    // their framing (docs/legacy-zmtp.md) with the NULL mechanism only: a
    // PLAIN or CURVE mechanism, an authenticator or transport_authenticated
    // refuses them whatever this says. Default: every version, as libzmq.
    zmtp_version min_zmtp_version = zmtp_version::v1_0;
    // The transport checked the peer's identity (a TLS client certificate):
    // it must then also speak ZMTP 3, whose handshake cannot be skipped.
    bool transport_authenticated = false;
    // Sees every greeting, command and frame header, both ways; optional.
    tracer trace;
    // Shared with other connections: what this one holds of an unfinished
    // message beyond byte_budget::free_share is taken from it; none: no
    // limit but limits.max_message_size.
    std::shared_ptr<byte_budget> inflight_budget;
};

} // namespace zmtp
