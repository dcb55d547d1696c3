// SPDX-License-Identifier: MPL-2.0
// The helpers of transport.cpp that listeners (transport_listener.cpp) and
// connectors (transport_connector.cpp) share.
#pragma once

#include "transport.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace zmtp::asio::detail {

// TCP options of every connection: Nagle off, as libzmq does (the codec
// already coalesces what is queued into one write, and a handshake's small
// writes must not wait for delayed ACKs), then keepalive, the
// retransmission limit and the type of service as configured.
void apply_tcp_options(net::ip::tcp::socket& s, const socket_options& o);
void apply_tcp_options(net::local::stream_protocol::socket&, const socket_options&);

// The peer's name, from what accept() returned: it is known even when the
// peer has already reset the connection.
std::string address_of(const net::ip::tcp::endpoint& peer);
std::string address_of(const net::local::stream_protocol::endpoint&);

// What is left of the handshake deadline for the next step of a handshake
// that began at `since` (one deadline for TLS, WebSocket and ZMTP).
std::chrono::milliseconds remaining(std::chrono::milliseconds deadline,
                                    std::optional<std::chrono::steady_clock::time_point> since);

} // namespace zmtp::asio::detail
