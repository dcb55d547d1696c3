// SPDX-License-Identifier: MPL-2.0
// zmtp-spec over ws:// and wss:// (docs/websocket.md): the HTTP upgrade of
// the tool's connection, then the tool's raw ZMTP bytes translated by
// zws_encoder (one WebSocket message per frame, the greeting dropped) and
// the peer's messages by zws_decoder (the peer's greeting made up from the
// subprotocol), so that cases written in ZMTP bytes run unchanged.
#pragma once

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace zmtp::spec {

class ws_link {
public:
    using clock = std::chrono::steady_clock;
    enum class status { ok, closed, timeout };

    virtual ~ws_link() = default;

    // Client: offers `offer` in Sec-WebSocket-Protocol (none when empty)
    // and takes the ZWS 2.0 subprotocol the server chose. Server: reads the
    // request and answers with the subprotocol of `mechanism`, or refuses
    // with 400. "" on success, else why not.
    virtual std::string handshake(bool server, const std::string& host, const std::string& target,
                                  const std::string& offer, const std::string& mechanism,
                                  bool peer_as_server, clock::time_point deadline) = 0;
    // Client: the server answered 101 (whatever subprotocol it chose).
    virtual bool upgraded() const = 0;
    // ZMTP bytes out, as WebSocket messages (whole frames only are sent).
    // A byte stream that is not ZMTP framing fails with `invalid`.
    virtual status send(std::span<const std::byte> bytes, clock::time_point deadline, bool& invalid) = 0;
    // One binary WebSocket message as it is, past the encoder.
    virtual status send_message(std::span<const std::byte> payload, bool text, clock::time_point deadline) = 0;
    // The ZMTP bytes of what the peer sent next; a read that times out
    // stays under way (the WebSocket survives silence).
    virtual status read_some(std::vector<std::byte>& in, clock::time_point deadline) = 0;
};

std::unique_ptr<ws_link> make_ws_link(boost::asio::io_context& io,
                                      boost::asio::generic::stream_protocol::socket& socket,
                                      boost::asio::ssl::stream<boost::asio::generic::stream_protocol::socket&>* tls);

} // namespace zmtp::spec
