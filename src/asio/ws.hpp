// SPDX-License-Identifier: MPL-2.0
// The ws:// and wss:// transports: the HTTP upgrade of a connected TCP (or
// TLS) stream to a WebSocket speaking ZWS 2.0 (docs/websocket.md), in
// either role, under the handshake deadline; then the connection becomes
// a peer over a ws_stream.
//
// Like TLS (tls.hpp), the upgrade happens before the peer is handed to the
// socket, and its time is taken off the ZMTP handshake's deadline.
#pragma once

#include "zmtp/asio/detail/socket_impl.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace zmtp::asio::detail {

class listener;

// Beast's default, and enough for any browser's cookies.
inline constexpr std::size_t max_http_header_size = 8 * 1024;

// What the upgrade needs to know of the socket.
struct ws_settings {
    std::string mechanism;  // NULL, PLAIN, CURVE: picks the subprotocol
    bool as_server = false; // our mechanism's role
    socket_type type = socket_type::pair;
    // Server: the bare "ZWS2.0" may be chosen (the codec serves a ZMTP 2.0
    // peer: NULL, no authenticator, min_zmtp_version 2.0 or older, a type
    // with a 2.0 form, no verified client certificate).
    bool bare_allowed = true;
    std::size_t max_message_size = 64 * 1024 * 1024; // the largest frame
    std::chrono::milliseconds deadline{10'000};
    // Client: the request's Host and target.
    std::string host;
    std::string target;
};

ws_settings ws_settings_for(socket_impl& owner);

// Makes the upgraded connection a peer of `owner` (socket_impl::adopt);
// callable once.
using ws_adopt = std::function<peer_id(socket_impl& owner, peer_id p, std::string endpoint,
                                       std::string address, std::weak_ptr<listener> accepted_by,
                                       transport_facts facts)>;
// How an upgrade ended: `adopt` is set on success, otherwise `reason` says
// why it failed. Runs on the stream's executor.
using ws_done = std::function<void(error_code ec, std::string reason, ws_adopt adopt)>;

// An upgrade in progress.
class ws_upgrade {
public:
    virtual ~ws_upgrade() = default;
    // Ends it at once (the socket is closing, or its place is needed).
    virtual void cancel() = 0;
};

using tcp_socket = net::ip::tcp::socket;
using ssl_socket = net::ssl::stream<net::ip::tcp::socket>;

// Server side: reads the request, answers with the subprotocol of our
// mechanism (zws_select) or refuses with 400 Bad Request.
std::shared_ptr<ws_upgrade> ws_accept(tcp_socket s, ws_settings settings, ws_done done);
std::shared_ptr<ws_upgrade> ws_accept(ssl_socket s, ws_settings settings, ws_done done);
// Client side: offers our mechanism's subprotocol and checks the answer.
std::shared_ptr<ws_upgrade> ws_connect(tcp_socket s, ws_settings settings, ws_done done);
std::shared_ptr<ws_upgrade> ws_connect(ssl_socket s, ws_settings settings, ws_done done);

} // namespace zmtp::asio::detail
