// SPDX-License-Identifier: MPL-2.0
// TLS for the tls+tcp:// and tls+ipc:// transports: contexts made from
// socket_options::tls, the setup of each connection (TLS 1.2 minimum, SNI,
// the name check), the handshake under a deadline, and what a handshake
// tells about the peer (TLS-Subject) or why it failed.
//
// The handshake happens before the peer is handed to the socket, so a
// peer that fails it never becomes one; the time it took is taken off the
// ZMTP handshake's deadline (one deadline for both, docs/reliability.md invariant 6). The
// connection then runs over a tls_stream.
#pragma once

#include "zmtp/asio/error.hpp"
#include "zmtp/socket_options.hpp"
#include "zmtp/wire/metadata.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace zmtp::asio::detail {

namespace net = boost::asio;
namespace ssl = net::ssl;

// The context of a bound tls+ endpoint: the application's, or one made
// from the files. Throws endpoint_error when the certificate or key is
// missing, boost::system::system_error when a file cannot be used.
std::shared_ptr<ssl::context> make_server_context(const tls_options& o);
// The context of a connecting side, likewise.
std::shared_ptr<ssl::context> make_client_context(const tls_options& o);

// Per connection, before the handshake. A client also sends `name` as SNI
// (unless it is an IP address) and, when its context verifies the server,
// checks the certificate against it; an empty name checks only the chain.
void prepare_server(SSL* ssl);
void prepare_client(SSL* ssl, const std::string& name);

// Why a handshake failed, naming the TLS error, e.g. "TLS: certificate
// verify failed (unable to get local issuer certificate)".
std::string failure_reason(error_code ec, SSL* ssl);

// TLS-Subject: the subject of the peer's certificate (RFC 2253 form) when
// it was verified; nothing otherwise.
metadata peer_properties(SSL* ssl);

// ssl::stream<Socket> whose gather writes fill whole TLS records. Asio's
// ssl::stream puts at most 8 KiB of a gather write into a record, and
// every record costs a socket write; ZMTP output is a gather list of
// frame headers and bodies referenced in place, so smaller pieces are
// copied here into one record of up to 16 KiB (TLS's largest). A piece of
// a record's size or more goes as it is.
template <class Socket>
class tls_stream {
public:
    using executor_type = typename Socket::executor_type;
    using lowest_layer_type = typename ssl::stream<Socket>::lowest_layer_type;

    static constexpr std::size_t record_size = 16 * 1024;

    tls_stream(Socket s, ssl::context& ctx) : ssl_(std::move(s), ctx) {}

    ssl::stream<Socket>& ssl() noexcept { return ssl_; }
    executor_type get_executor() noexcept { return ssl_.get_executor(); }
    lowest_layer_type& lowest_layer() noexcept { return ssl_.lowest_layer(); }

    template <class Buffers, class Token>
    auto async_read_some(const Buffers& buffers, Token&& token)
    {
        return ssl_.async_read_some(buffers, std::forward<Token>(token));
    }

    // One write at a time (as connection<Stream> does): the staging buffer
    // is in use until it completes.
    template <class Buffers, class Token>
    auto async_write_some(const Buffers& buffers, Token&& token)
    {
        return ssl_.async_write_some(next_record(buffers), std::forward<Token>(token));
    }

private:
    template <class Buffers>
    net::const_buffer next_record(const Buffers& buffers)
    {
        for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
             ++it) {
            const net::const_buffer piece(*it);
            if (piece.size() >= record_size)
                return piece;
            if (piece.size() != 0)
                break;
        }
        if (staging_.empty())
            staging_.resize(record_size);
        return net::buffer(staging_.data(), net::buffer_copy(net::buffer(staging_), buffers));
    }

    ssl::stream<Socket> ssl_;
    std::vector<std::byte> staging_; // made by the first write
};

// One TLS handshake over a connected socket, failed with
// error::handshake_timeout when it is not over within the deadline.
// `done(error_code, reason)` runs on the socket's executor; afterwards the
// stream may be moved out.
template <class Socket>
class tls_handshake : public std::enable_shared_from_this<tls_handshake<Socket>> {
public:
    using clock = std::chrono::steady_clock;

    tls_handshake(Socket s, ssl::context& ctx)
        : stream(std::move(s), ctx), timer_(stream.get_executor())
    {
    }

    tls_stream<Socket> stream;
    const clock::time_point started = clock::now();

    template <class Done>
    void start(ssl::stream_base::handshake_type role, std::chrono::milliseconds deadline, Done done)
    {
        timer_.expires_after(deadline);
        timer_.async_wait([weak = this->weak_from_this()](error_code ec) {
            if (auto self = weak.lock(); self && !ec) {
                self->timed_out_ = true;
                self->cancel();
            }
        });
        auto finished = [self = this->shared_from_this(), deadline,
                         done = std::move(done)](error_code ec) mutable {
            self->timer_.cancel();
            if (self->timed_out_)
                return done(to_error_code(error::handshake_timeout),
                            "TLS: handshake did not complete in " +
                                std::to_string(deadline.count()) + " ms");
            if (ec)
                return done(ec, failure_reason(ec, self->stream.ssl().native_handle()));
            done(ec, std::string());
        };
        stream.ssl().async_handshake(role, std::move(finished));
    }

    // Ends the handshake at once (the socket is closing).
    void cancel()
    {
        error_code ignored;
        stream.lowest_layer().close(ignored);
    }

private:
    net::steady_timer timer_;
    bool timed_out_ = false;
};

} // namespace zmtp::asio::detail
