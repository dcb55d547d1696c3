// SPDX-License-Identifier: MPL-2.0
// zmtp-spec's raw byte stream: one tcp://, ipc:// or ws:// connection the tool
// opened or accepted, with a deadline on every wait and a record of every
// byte sent and received (for the report of a failed case).
#pragma once

#include "spec_ws.hpp"

#include "zmtp/asio/endpoint.hpp"
#include "zmtp/socket_options.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace zmtp::spec {

namespace net = boost::asio;
using clock = std::chrono::steady_clock;
using protocol = net::generic::stream_protocol;

struct chunk {
    bool sent = false;
    std::vector<std::byte> bytes;
};

class raw_stream {
public:
    using status = ws_link::status;

    explicit raw_stream(net::io_context& io) : io_(io), socket_(io) {}

    // Opens a connection (and a TLS session for tls+ endpoints, from the
    // files of `tls` as zmtp-cat takes them); an error says why (refused,
    // timed out, certificate not trusted, ...).
    std::error_code connect(const asio::endpoint& ep, clock::time_point deadline,
                            const tls_options& tls = {});
    // An accepted connection of a tls+ endpoint: the server's TLS handshake.
    std::error_code accept_tls(net::ssl::context& ctx, clock::time_point deadline);
    protocol::socket& socket() noexcept { return socket_; }
    // ws:// and wss://: the HTTP upgrade of the open connection, offering
    // `offer` (client) or choosing the ZWS 2.0 subprotocol of `mechanism`
    // (server); from then on the bytes go through the ZWS translators
    // (spec_ws.hpp). "" on success, else why not.
    std::string upgrade(bool server, const asio::endpoint& ep, const std::string& offer,
                        const std::string& mechanism, bool peer_as_server, clock::time_point deadline);
    // ws: the server answered the upgrade with 101.
    bool upgraded() const noexcept { return ws_ && ws_->upgraded(); }
    // ws: one WebSocket message as it is (a text message with `text`).
    status send_message(std::span<const std::byte> payload, bool text, clock::time_point deadline);
    // ws: bytes were sent that are not ZMTP framing, which ZWS cannot carry.
    bool not_zws() const noexcept { return not_zws_; }

    // Writes all of `bytes` unless the peer closes or stops reading first.
    status send(std::span<const std::byte> bytes, clock::time_point deadline);
    // Appends what arrives next (at least one byte) to `in`.
    status read_some(std::vector<std::byte>& in, clock::time_point deadline);

    bool closed() const noexcept { return closed_; }
    const std::vector<chunk>& transcript() const noexcept { return transcript_; }
    void close() noexcept;

private:
    // Runs the io_context until `done` or the deadline; cancels on timeout.
    bool run_until(const bool& done, clock::time_point deadline);
    std::error_code handshake(net::ssl::stream_base::handshake_type role, clock::time_point deadline);
    void record(bool sent, std::span<const std::byte> bytes);

    net::io_context& io_;
    protocol::socket socket_;
    std::unique_ptr<net::ssl::context> tls_context_;
    std::unique_ptr<net::ssl::stream<protocol::socket&>> tls_;
    bool closed_ = false;
    bool not_zws_ = false;
    std::vector<chunk> transcript_;
    // Last: it refers to the socket and goes first.
    std::unique_ptr<ws_link> ws_;
};

// A listening endpoint for --bind: every case takes the next connection.
// A tls+ endpoint runs the server's TLS handshake on each (certificate and
// key from `tls`; with a CA file, clients must show a certificate it
// signed).
class listener {
public:
    listener(net::io_context& io, const asio::endpoint& ep, const tls_options& tls = {});
    ~listener();
    // The endpoint actually bound (the port when 0 was asked for).
    std::string bound() const;
    // The next connection; nullptr and `why` when none came or its TLS
    // handshake failed.
    std::unique_ptr<raw_stream> accept(clock::time_point deadline, std::string& why);

private:
    net::io_context& io_;
    net::basic_socket_acceptor<protocol> acceptor_;
    asio::endpoint ep_;
    std::unique_ptr<net::ssl::context> tls_context_;
};

} // namespace zmtp::spec
