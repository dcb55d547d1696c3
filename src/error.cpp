// SPDX-License-Identifier: MPL-2.0
#include "zmtp/error.hpp"

namespace zmtp {
namespace {

condition condition_of(error e) noexcept
{
    switch (e) {
    case error::message_too_large:
    case error::too_many_frames:
    case error::command_too_large:
    case error::too_many_properties:
        return condition::limit_exceeded;
    case error::handshake_timeout:
    case error::heartbeat_timeout:
    case error::ttl_expired:
        return condition::timed_out;
    case error::peer_error:
    case error::connection_closed:
        return condition::peer_closed;
    case error::authentication_failed:
        return condition::security_failure;
    case error::would_block:
    case error::host_unreachable:
        return condition::unavailable;
    case error::operation_not_supported:
    case error::multipart_not_supported:
    case error::invalid_state:
    case error::socket_closed:
    case error::not_ready:
    case error::invalid_argument:
        return condition::local_misuse;
    default:
        return condition::protocol_violation;
    }
}

class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "zmtp"; }

    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::not_zmtp: return "peer does not speak ZMTP 3 (not a ZMTP greeting)";
        case error::unsupported_version: return "peer speaks a ZMTP version older than 3.0";
        case error::malformed_greeting: return "malformed ZMTP greeting";
        case error::mechanism_mismatch: return "peer uses a different security mechanism";
        case error::malformed_frame: return "malformed frame header";
        case error::malformed_command: return "malformed command";
        case error::malformed_metadata: return "malformed metadata";
        case error::unexpected_command: return "unexpected command";
        case error::unexpected_message: return "message before the handshake completed";
        case error::missing_socket_type: return "peer sent no Socket-Type";
        case error::invalid_socket_type: return "peer sent an unknown Socket-Type";
        case error::incompatible_socket_type: return "incompatible socket types";
        case error::message_too_large: return "message larger than the maximum message size";
        case error::too_many_frames: return "message has more frames than allowed";
        case error::command_too_large: return "command larger than allowed";
        case error::too_many_properties: return "too many metadata properties";
        case error::handshake_timeout: return "handshake did not complete in time";
        case error::heartbeat_timeout: return "no reply to heartbeat in time";
        case error::ttl_expired: return "no traffic within the peer's heartbeat TTL";
        case error::peer_error: return "peer sent an ERROR command";
        case error::connection_closed: return "connection closed by peer";
        case error::authentication_failed: return "authentication failed";
        case error::would_block: return "no peer can take a message now";
        case error::host_unreachable: return "no peer with that routing id";
        case error::operation_not_supported: return "operation not supported by this socket type";
        case error::multipart_not_supported: return "this socket sends single-part messages only (a draft type, or conflate)";
        case error::invalid_state: return "operation not allowed in the socket's current state";
        case error::socket_closed: return "socket is closed";
        case error::not_ready: return "connection is not ready";
        case error::invalid_argument: return "invalid argument";
        }
        return "unknown zmtp error";
    }

    std::error_condition default_error_condition(int ev) const noexcept override
    {
        return make_error_condition(condition_of(static_cast<error>(ev)));
    }
};

class condition_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "zmtp.condition"; }

    std::string message(int ev) const override
    {
        switch (static_cast<condition>(ev)) {
        case condition::protocol_violation: return "protocol violation";
        case condition::limit_exceeded: return "limit exceeded";
        case condition::timed_out: return "timed out";
        case condition::peer_closed: return "closed by peer";
        case condition::security_failure: return "security failure";
        case condition::unavailable: return "no peer available";
        case condition::local_misuse: return "local misuse";
        }
        return "unknown zmtp condition";
    }
};

} // namespace

const std::error_category& error_category() noexcept
{
    static const error_category_impl instance;
    return instance;
}

const std::error_category& condition_category() noexcept
{
    static const condition_category_impl instance;
    return instance;
}

std::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

std::error_condition make_error_condition(condition c) noexcept
{
    return {static_cast<int>(c), condition_category()};
}

} // namespace zmtp
