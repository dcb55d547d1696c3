// SPDX-License-Identifier: MPL-2.0
// connection<Stream>: one ZMTP peer over any Asio stream.
//
// Runs a zmtp::codec over any type that models AsyncReadStream and
// AsyncWriteStream: ip::tcp::socket, local::stream_protocol::socket,
// ssl::stream<...>, posix::stream_descriptor, duplex_stream<...>, or a test
// stream. Like Beast's websocket::stream, it owns the stream (next_layer())
// and uses its executor for everything.
//
// Operations take any completion token: a callback, use_awaitable,
// use_future, deferred.
//
// - async_read / async_read_event: one at a time. Input, including the
//   peer's PINGs (answered with PONG) and the handshake, is processed only
//   while a read is outstanding: keep one outstanding, as with Beast.
//   Cancelled (terminal, through the token's cancellation slot, e.g. an
//   `||` with a timer), a read completes with operation_aborted and the
//   connection goes on: the next read continues where it stopped.
// - async_write: any number may be outstanding; messages leave in the order
//   of the calls, and everything queued meanwhile leaves in one gather
//   write. Writes issued before the handshake completes are held and sent
//   right after it, as libzmq does.
// - Our own PINGs, the heartbeat timeout, the peer's TTL and the handshake
//   deadline run on an internal timer.
// - A server mechanism's authentication requests (PLAIN, CURVE) go to
//   codec_options::authenticator (none: PLAIN refused, CURVE accepted); input waits for the answer,
//   which may come from any thread.
// - Not thread-safe: call it from the stream's executor (a strand if the
//   io_context runs on several threads).
//
// Errors are boost::system::error_code; zmtp's own compare equal to
// zmtp::error and zmtp::condition values. A clean end of stream is
// zmtp::error::connection_closed.
#pragma once

#include "zmtp/asio/detail/connection_state.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

namespace zmtp::asio {

namespace net = boost::asio;

template <class Stream>
class connection {
    using state = detail::connection_state<Stream>;

public:
    using next_layer_type = Stream;
    using executor_type = typename Stream::executor_type;

    // Constructs the stream from `args` and queues our greeting.
    template <class... Args>
    explicit connection(codec_options options, Args&&... args)
        : state_(std::make_shared<state>(std::move(options), std::forward<Args>(args)...))
    {
    }

    connection(connection&&) noexcept = default;
    connection& operator=(connection&& other) noexcept
    {
        if (this != &other) {
            close();
            state_ = std::move(other.state_);
        }
        return *this;
    }

    // Closes the stream; outstanding operations complete with an error.
    ~connection() { close(); }

    executor_type get_executor() noexcept { return state_->stream().get_executor(); }
    Stream& next_layer() noexcept { return state_->stream(); }
    const Stream& next_layer() const noexcept { return state_->stream(); }

    // The codec, for inspection: state, peer version, error reason.
    const codec& protocol() const noexcept { return state_->protocol(); }
    const metadata& peer_metadata() const noexcept { return state_->protocol().peer_metadata(); }
    bool is_open() const noexcept { return state_ && !state_->closed(); }

    // Completes when both greetings and the security handshake are done.
    // Signature: void(error_code).
    template <class Token = net::default_completion_token_t<executor_type>>
    auto async_handshake(Token&& token = {})
    {
        return net::async_compose<Token, void(error_code)>(
            read_op(state_, read_mode::handshake, nullptr, nullptr), token, state_->stream());
    }

    // Reads the next event: a message, a subscription, a PING or PONG.
    // Does the handshake first if needed. Signature: void(error_code).
    template <class Token = net::default_completion_token_t<executor_type>>
    auto async_read_event(event& out, Token&& token = {})
    {
        return net::async_compose<Token, void(error_code)>(
            read_op(state_, read_mode::any_event, &out, nullptr), token, state_->stream());
    }

    // Reads the next message, skipping other events. Signature: void(error_code).
    template <class Token = net::default_completion_token_t<executor_type>>
    auto async_read(message& out, Token&& token = {})
    {
        return net::async_compose<Token, void(error_code)>(
            read_op(state_, read_mode::message, nullptr, &out), token, state_->stream());
    }

    // Queues a message and completes once its bytes have left for the
    // stream. Signature: void(error_code).
    template <class Token = net::default_completion_token_t<executor_type>>
    auto async_write(message m, Token&& token = {})
    {
        return net::async_initiate<Token, void(error_code)>(
            [](auto handler, std::shared_ptr<state> s, message msg) {
                s->queue_write(std::move(msg), detail::write_handler(std::move(handler)));
            },
            token, state_, std::move(m));
    }

    // Sends what is queued, then closes the stream. Signature: void(error_code).
    template <class Token = net::default_completion_token_t<executor_type>>
    auto async_close(Token&& token = {})
    {
        return net::async_initiate<Token, void(error_code)>(
            [](auto handler, std::shared_ptr<state> s) {
                // The waiter lives in the state: holding it weakly makes no
                // cycle that would outlive an io_context destroyed meanwhile.
                s->when_flushed(detail::write_handler(
                    [weak = std::weak_ptr<state>(s), h = std::move(handler)](error_code ec) mutable {
                        if (auto st = weak.lock())
                            st->close_now();
                        net::dispatch(net::append(std::move(h), ec));
                    }));
            },
            token, state_);
    }

    // ---- for a layer that drives the connection itself (the socket) ----

    // Takes an event from input already received, without I/O; false when
    // more input is needed or the connection failed (see failure()).
    bool try_read_event(event& out) { return state_->next_buffered_event(out); }

    // Queues a message without waiting for it to leave. Fails with
    // not_ready before the handshake, or with the connection's failure.
    error_code try_write(const message& m) { return state_->queue_now(m); }

    // Queues a subscription change in the form the peer understands.
    error_code try_write_subscription(std::span<const std::byte> topic, bool subscribe)
    {
        return state_->queue_subscription(topic, subscribe);
    }

    // Bytes queued and not yet written to the stream.
    std::size_t queued_bytes() const noexcept { return state_->protocol().pending_output_size(); }
    // Messages queued and not yet completely written to the stream: what
    // close() would lose.
    std::size_t unsent_messages() const noexcept { return state_->protocol().unsent_messages(); }

    // Called after every completed write: the moment to queue more.
    void set_write_callback(std::function<void()> f) { state_->set_write_callback(std::move(f)); }

    // Why the connection failed, if it did.
    error_code failure() const { return state_->failure(); }

    // Closes the stream at once, dropping anything not yet sent.
    void close() noexcept
    {
        if (state_)
            state_->close_now();
    }

private:
    enum class read_mode { handshake, any_event, message };

    struct read_op {
        read_op(std::shared_ptr<state> st, read_mode m, event* e, message* msg)
            : s(std::move(st)), mode(m), event_out(e), message_out(msg)
        {
        }

        std::shared_ptr<state> s;
        read_mode mode;
        event* event_out;
        message* message_out;
        enum class step { start, read_buffer, read_body, authenticating, finish } at = step::start;
        error_code result;
        error_code pending_error; // a stream error that came with bytes still to feed

        // Bodies at least this large are read straight into the frame.
        static constexpr std::size_t direct_read_threshold = 16 * 1024;

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t n = 0)
        {
            switch (at) {
            case step::start:
                if (!s->begin_read()) {
                    finish_later(self, net::error::in_progress);
                    return;
                }
                break;
            case step::read_buffer:
                s->buffer_filled(n);
                if (cancelled(self, ec))
                    return done(self, true, ec);
                if (ec)
                    on_stream_error(ec);
                break;
            case step::read_body:
                s->body_filled(n);
                if (cancelled(self, ec))
                    return done(self, true, ec);
                if (ec)
                    on_stream_error(ec);
                break;
            case step::authenticating:
                break; // the answer is in, or the connection failed meanwhile
            case step::finish:
                self.complete(result);
                return;
            }
            run(self);
        }

        // Feeds buffered bytes until an event comes out, then completes;
        // reads from the stream when the buffer runs dry.
        template <class Self>
        void run(Self& self)
        {
            const bool resumed = at != step::start;
            codec& c = s->protocol();
            // An event the caller does not take (the handshake's, a
            // non-message while reading messages) lands in `skipped`.
            event skipped;
            event& e = mode == read_mode::any_event ? *event_out : skipped;
            for (;;) {
                if (s->next_buffered_event(e)) {
                    if (std::holds_alternative<events::handshake_complete>(e)) {
                        if (mode == read_mode::handshake)
                            return done(self, resumed, {});
                        if (mode == read_mode::message)
                            continue;
                    }
                    if (mode == read_mode::message) {
                        if (auto* m = std::get_if<message>(&e)) {
                            *message_out = std::move(*m);
                            return done(self, resumed, {});
                        }
                        continue;
                    }
                    return done(self, resumed, {});
                }
                if (mode == read_mode::handshake && c.is_ready())
                    return done(self, resumed, {});
                if (auto fail = s->failure())
                    return done(self, resumed, fail);
                if (pending_error) {
                    s->read_failed(std::exchange(pending_error, {}));
                    continue;
                }
                if (c.awaiting_authentication()) {
                    at = step::authenticating;
                    s->wait_for_authentication(std::move(self));
                    return;
                }
                const std::span<std::byte> body = c.body_target();
                if (body.size() >= direct_read_threshold) {
                    at = step::read_body;
                    s->stream().async_read_some(net::buffer(body.data(), body.size()),
                                                std::move(self));
                    return;
                }
                at = step::read_buffer;
                const std::span<std::byte> space = s->read_space();
                s->stream().async_read_some(net::buffer(space.data(), space.size()),
                                            std::move(self));
                return;
            }
        }

        // The stream read ended because this read was cancelled (its slot):
        // the read completes with operation_aborted and the connection goes
        // on; what the stream gave is kept for the next read.
        template <class Self>
        bool cancelled(Self& self, error_code ec) const
        {
            return ec == net::error::operation_aborted && self.cancelled() != net::cancellation_type::none
                && !s->closed() && !s->protocol().is_failed();
        }

        void on_stream_error(error_code ec)
        {
            if (s->protocol().is_failed() || s->closed())
                return; // the failure that closed the stream is the one to report
            // Bytes that arrived with the error are still fed before it is
            // acted on: a peer that sends and hangs up loses nothing.
            if (s->has_buffered_input())
                pending_error = ec;
            else
                s->read_failed(ec);
        }

        template <class Self>
        void done(Self& self, bool resumed, error_code ec)
        {
            s->end_read();
            if (resumed) {
                self.complete(ec);
                return;
            }
            finish_later(self, ec);
        }

        // Never complete from inside the initiating function.
        template <class Self>
        void finish_later(Self& self, error_code ec)
        {
            at = step::finish;
            result = ec;
            net::post(s->stream().get_executor(), std::move(self));
        }
    };

    std::shared_ptr<state> state_;
};

} // namespace zmtp::asio
