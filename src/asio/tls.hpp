// TLS for the tls+tcp:// and tls+ipc:// transports: contexts made from
// socket_options::tls, the setup of each connection (TLS 1.2 minimum, SNI,
// the name check), the handshake under a deadline, and what a handshake
// tells about the peer (TLS-Subject) or why it failed.
//
// The handshake happens before the peer is handed to the socket, so a
// peer that fails it never becomes one; the time it took is taken off the
// ZMTP handshake's deadline (one deadline for both, RELIABILITY.md 6).
#pragma once

#include "zmtp/asio/error.hpp"
#include "zmtp/socket_options.hpp"
#include "zmtp/wire/metadata.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

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

    ssl::stream<Socket> stream;
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
        stream.async_handshake(role, [self = this->shared_from_this(), deadline,
                                      done = std::move(done)](error_code ec) mutable {
            self->timer_.cancel();
            if (self->timed_out_)
                return done(to_error_code(error::handshake_timeout),
                            "TLS: handshake did not complete in " +
                                std::to_string(deadline.count()) + " ms");
            if (ec)
                return done(ec, failure_reason(ec, self->stream.native_handle()));
            done(ec, std::string());
        });
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
