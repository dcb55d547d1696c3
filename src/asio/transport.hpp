// SPDX-License-Identifier: MPL-2.0
// Listeners and connectors: turn endpoint strings into connected streams
// and hand them to the socket (socket_impl::adopt). Connectors reconnect
// with back-off and jitter. tls+ endpoints finish their TLS handshake
// (tls.hpp), ws:// and wss:// ones their WebSocket upgrade (ws.hpp), before
// the stream is handed over; exec: endpoints start their command afresh for
// every connection (exec.hpp).
#pragma once

#include "handshake_slots.hpp"
#include "zmtp/asio/detail/socket_impl.hpp"
#include "zmtp/asio/endpoint.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>

namespace zmtp::asio::detail {

class child_process;

// A handshake (TLS, WebSocket or ZMTP) that failed on the peer's or the
// protocol's word, rather than by the stream's end or the deadline
// (socket_options::reconnect_stop).
bool refusal(error_code ec);

class listener : public std::enable_shared_from_this<listener> {
public:
    virtual ~listener() = default;
    virtual void start() = 0;
    virtual void close() = 0;
    // The handshake of accepted peer `p` is over: it succeeded, failed, or
    // the connection ended. Its place goes back to the listener.
    void handshake_finished(peer_id p) { slots_.release(p); }
    // As given to bind() and as really bound (with the real port).
    const std::string& requested() const noexcept { return requested_; }
    const std::string& bound() const noexcept { return bound_; }

protected:
    std::string requested_;
    std::string bound_;
    // Accepted connections still in their handshake (handshake_slots.hpp):
    // keyed by peer id, or by a ticket while TLS or the WebSocket upgrade
    // runs, before the peer exists.
    handshake_slots slots_{256, 64};
};

// Opens, binds and starts a listener for `ep`; throws on failure (for
// tls+, also when socket_options::tls cannot make a server context; for
// exec:, which cannot be bound, endpoint_error).
std::shared_ptr<listener> make_listener(socket_impl& owner, const endpoint& ep, std::string requested);

class connector : public std::enable_shared_from_this<connector> {
public:
    // Throws for a tls+ endpoint whose client context cannot be made.
    connector(socket_impl& owner, endpoint ep, std::string text);

    const std::string& text() const noexcept { return text_; }
    peer_id slot() const noexcept { return slot_; }
    void set_slot(peer_id p) noexcept { slot_ = p; }

    void start();
    // The connection of this connector's peer went away: try again later.
    void connection_lost();
    // The handshake succeeded: the next failure starts from the shortest delay.
    void reset_backoff() noexcept;
    void close();

private:
    void attempt();
    void attempt_tcp();
    void attempt_ipc();
    void attempt_exec();
    void attempt_inproc();
    // The stream is connected: hand it over, after the TLS handshake for
    // tls+ and wss, and the WebSocket upgrade for ws and wss.
    template <class Socket>
    void connected(Socket& sock, std::string address);
    template <class Stream>
    void upgrade(Stream s, std::string address, transport_facts facts);
    void handshake_failed(const std::string& address, error_code ec, std::string reason);
    void retry(error_code ec, std::string reason = {});
    // reconnect_stop: true when the socket stopped this connector.
    bool stopped(error_code ec, bool connection_refused, std::string reason);
    void connect_tcp(std::shared_ptr<net::ip::tcp::socket> sock, net::ip::tcp::resolver::results_type results,
                     std::size_t next, error_code last);
    std::chrono::milliseconds next_delay();

    socket_impl* owner_;
    endpoint ep_;
    std::string text_;
    peer_id slot_ = 0;
    net::steady_timer timer_;
    net::ip::tcp::resolver resolver_;
    std::shared_ptr<net::ip::tcp::socket> tcp_;
    std::shared_ptr<net::local::stream_protocol::socket> ipc_;
    std::shared_ptr<net::ssl::context> tls_; // tls+ and wss only
    std::string server_name_;                // SNI and name check
    std::function<void()> cancel_handshake_; // while TLS or the WebSocket upgrade runs
    std::shared_ptr<child_process> child_;   // exec: the latest command's
    std::chrono::milliseconds delay_{0};
    std::minstd_rand jitter_;
    bool closed_ = false;
};

} // namespace zmtp::asio::detail
