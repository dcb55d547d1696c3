// SPDX-License-Identifier: MPL-2.0
// Error codes of the protocol core. The core (wire, codec, security) uses
// std::error_code so that it needs no Boost; include/zmtp/asio/ converts to
// boost::system::error_code, which wraps std::error_code losslessly.
#pragma once

#include <string>
#include <system_error>

namespace zmtp {

// What went wrong. Each value maps to exactly one condition below.
enum class error {
    // protocol_violation: the peer broke ZMTP
    not_zmtp = 1,             // not a ZMTP greeting nor a ZMTP 1.0 identity frame
    unsupported_version,      // a peer older than the codec accepts
    malformed_greeting,       // invalid mechanism name
    mechanism_mismatch,       // the peer announced another security mechanism
    malformed_frame,          // reserved flag bits, MORE on a command, size > 2^63-1
    malformed_command,        // command name or field runs past the frame
    malformed_metadata,       // a property runs past the command, or a bad name
    unexpected_command,       // a command the current state does not allow
    unexpected_message,       // a message frame before the handshake completed
    missing_socket_type,      // READY without Socket-Type
    invalid_socket_type,      // Socket-Type names no known socket type
    incompatible_socket_type, // e.g. PUSH talking to PUSH

    // limit_exceeded: the peer went past a configured bound
    message_too_large,
    too_many_frames,
    command_too_large,
    too_many_properties,

    // timed_out
    handshake_timeout,
    heartbeat_timeout,        // no traffic after our PING within heartbeat timeout; or a peer
                              // without PING (ZMTP 3.0, 2.0) read none of our output for as long
    ttl_expired,              // no traffic within the TTL the peer's PING asked for

    // peer_closed
    peer_error,               // the peer sent an ERROR command
    connection_closed,        // the stream ended

    // security_failure
    authentication_failed,

    // unavailable: no peer can take the message now
    would_block,              // every eligible peer is at its high-water mark
    host_unreachable,         // ROUTER with router_mandatory: no peer has that routing id

    // local_misuse: the caller got it wrong
    operation_not_supported,  // e.g. receive on PUSH, send on SUB
    multipart_not_supported,  // several frames sent by a draft type (CLIENT, RADIO, ...) or with conflate
    invalid_state,            // e.g. REQ sending twice without a reply between
    socket_closed,            // the socket was closed
    not_ready,                // send before the handshake completed
    invalid_argument,
};

// Broad classes of errors, for callers that only need to know the kind.
enum class condition {
    protocol_violation = 1,
    limit_exceeded,
    timed_out,
    peer_closed,
    security_failure,
    unavailable,
    local_misuse,
};

const std::error_category& error_category() noexcept;
const std::error_category& condition_category() noexcept;

std::error_code make_error_code(error e) noexcept;
std::error_condition make_error_condition(condition c) noexcept;

} // namespace zmtp

template <> struct std::is_error_code_enum<zmtp::error> : std::true_type {};
template <> struct std::is_error_condition_enum<zmtp::condition> : std::true_type {};
