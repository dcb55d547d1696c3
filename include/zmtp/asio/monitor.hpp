// SPDX-License-Identifier: MPL-2.0
// Socket monitor events, as libzmq's zmq_socket_monitor reports them, with
// the endpoint, the peer and, for failures, the reason in words.
#pragma once

#include "zmtp/asio/error.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace zmtp::asio {

enum class monitor_event_type {
    listening,           // bind() succeeded
    bind_failed,
    accepted,            // a peer connected to a bound endpoint
    connected,           // a connect() attempt reached the peer
    connect_delayed,     // a connect() attempt is still under way
    connect_retried,     // a connect() attempt failed; next try in `retry_in`
    handshake_succeeded, // the peer is now part of the socket
    handshake_failed,    // `error`, `reason`
    disconnected,        // a handshaken peer went away: `error`, `reason`
    closed,              // a bound endpoint was closed, or a connect() stopped
                         // reconnecting (reconnect_stop): `error`, `reason`
    message_dropped,     // a message could not be queued for a peer
    dropped_at_close,    // the close gave up `dropped` queued messages (linger)
};

std::string_view to_string(monitor_event_type t) noexcept;

struct monitor_event {
    explicit monitor_event(monitor_event_type t, std::string ep = {}, std::string peer_address = {})
        : type(t), endpoint(std::move(ep)), peer(std::move(peer_address))
    {
    }

    monitor_event_type type;
    std::string endpoint;    // the bound or connected endpoint
    std::string peer;        // the peer's address, when known
    std::string routing_id;  // the peer's routing id (ROUTER) or Identity, when known
    error_code error;
    std::string reason;
    std::chrono::milliseconds retry_in{0};
    std::size_t dropped = 0; // dropped_at_close: how many messages
};

using monitor_callback = std::function<void(const monitor_event&)>;

} // namespace zmtp::asio
