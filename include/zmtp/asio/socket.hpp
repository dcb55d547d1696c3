// SPDX-License-Identifier: MPL-2.0
// zmtp::asio::socket: a ZeroMQ socket of any standard type over any number
// of peers, bound and connected by endpoint strings, interoperable with
// libzmq.
//
//   zmtp::asio::socket push(io, zmtp::socket_type::push);
//   push.connect("tcp://127.0.0.1:5555");
//   co_await push.async_send(zmtp::message{"hello"}, net::use_awaitable);
//
// The socket lives on a strand of the executor it is given: its handlers
// never run concurrently, so the io_context may run on many threads.
// async_send and async_receive may be called from any thread; the other
// member functions from the socket's executor (get_executor()), or before
// the io_context runs.
//
// Sending blocks (waits) or drops per socket type as libzmq does: PUSH,
// DEALER, REQ and PAIR wait for a peer with room; PUB, XPUB and ROUTER
// (without router_mandatory) drop and count. A peer's full receive queue
// stops reading its stream, so a slow reader slows its sender.
#pragma once

#include "zmtp/asio/detail/socket_impl.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace zmtp::asio {

struct socket_stats {
    std::size_t peers = 0;    // peers whose handshake completed
    std::size_t dropped = 0;  // messages dropped (full or unroutable peers)
    // Messages the close gave up (linger): still queued, or in a connection
    // and not completely written to its stream.
    std::size_t dropped_at_close = 0;
};

class socket {
public:
    using executor_type = net::any_io_executor;

    socket(const net::any_io_executor& ex, socket_type type)
        : impl_(std::make_shared<detail::socket_impl>(net::make_strand(ex), type))
    {
    }
    socket(net::io_context& io, socket_type type) : socket(io.get_executor(), type) {}

    socket(socket&&) noexcept = default;
    socket& operator=(socket&& other) noexcept
    {
        if (this != &other) {
            close();
            impl_ = std::move(other.impl_);
        }
        return *this;
    }
    // Closes the socket (see close()).
    ~socket() { close(); }

    executor_type get_executor() const noexcept { return impl_->executor(); }
    socket_type type() const noexcept { return impl_->type(); }

    // Options apply to peers made after they are set; set them first.
    socket_options& options() noexcept { return impl_->options(); }
    const socket_options& options() const noexcept { return impl_->options(); }

    // Listens on `endpoint` (tcp://HOST:PORT with port 0 or * for any,
    // ipc://PATH); returns the endpoint really bound, with its port.
    // exec: endpoints cannot be bound (invalid_argument).
    //
    // Failures: the first form throws socket_error, whose what() names the
    // endpoint and says what is wrong; the second sets `ec` and, when
    // `detail` is given, the same text in *detail (cleared on success).
    // connect, attach, unbind and disconnect report the same way.
    std::string bind(std::string_view endpoint)
    {
        error_code ec;
        std::string detail;
        std::string bound = bind(endpoint, ec, &detail);
        if (ec)
            throw socket_error(ec, std::move(detail));
        return bound;
    }
    std::string bind(std::string_view endpoint, error_code& ec, std::string* detail = nullptr)
    {
        std::string reason;
        std::string bound = impl_->bind(endpoint, ec, reason);
        report("bind", endpoint, reason, ec, detail);
        return bound;
    }

    // Connects to `endpoint` in the background, reconnecting whenever the
    // connection is lost. Messages may be sent before it is up.
    //
    // exec:COMMAND runs `/bin/sh -c COMMAND` for each connection and speaks
    // ZMTP over its stdin and stdout; its stderr is this program's. The
    // monitor names the peer "exec:COMMAND (pid N)". When the connection
    // ends, the child's pipes are closed, it gets SIGTERM if it has not
    // exited within half a second, SIGKILL half a second later, and is
    // reaped; then connect_retried says how it ended (a shell that cannot
    // find or run the command: no_such_file_or_directory or
    // permission_denied, otherwise connection_closed) and a fresh child
    // starts after the usual back-off. Children need the io_context to be
    // running to be reaped; if it is destroyed first they are killed.
    void connect(std::string_view endpoint)
    {
        error_code ec;
        std::string detail;
        connect(endpoint, ec, &detail);
        if (ec)
            throw socket_error(ec, std::move(detail));
    }
    void connect(std::string_view endpoint, error_code& ec, std::string* detail = nullptr)
    {
        std::string reason;
        impl_->connect(endpoint, ec, reason);
        report("connect", endpoint, reason, ec, detail);
    }

    // Makes a stream the caller connected a peer of this socket, e.g. an
    // ssl::stream they configured, a serial_port, a stream_descriptor or a
    // duplex_stream of two pipes: any AsyncReadStream + AsyncWriteStream,
    // moved in, closable as zmtp::asio::close_stream does it. The socket's
    // options, security mechanism and authenticator apply to it as to any
    // peer; when its connection ends the peer is gone (no reconnection).
    //
    // The stream's operations are started from the socket's strand and
    // complete there: it may have any executor whose execution context runs
    // and outlives the socket's (the socket's io_context, or another), and
    // must no longer be used by anyone else. A stream_descriptor on a pipe or socket raises
    // SIGPIPE when written to after the other end has gone: ignore it.
    //
    // Returns the name monitor events and traces give the peer: `name`, or
    // "attached:N" with a number unique to this socket. Throws (the first
    // form) or fails with socket_closed, or with invalid_argument when the
    // security options are unusable, as connect() does.
    template <class Stream>
    std::string attach(Stream stream, std::string name = {})
    {
        error_code ec;
        std::string detail;
        std::string given = attach(std::move(stream), ec, std::move(name), &detail);
        if (ec)
            throw socket_error(ec, std::move(detail));
        return given;
    }
    template <class Stream>
    std::string attach(Stream stream, error_code& ec, std::string name = {},
                       std::string* detail = nullptr)
    {
        std::string reason;
        std::string given = impl_->attach(std::move(stream), std::move(name), ec, reason);
        report("attach", {}, reason, ec, detail);
        return given;
    }

    // Stops listening on an endpoint bind() was given or returned.
    // Fails with invalid_argument for an endpoint it does not know.
    void unbind(std::string_view endpoint)
    {
        error_code ec;
        std::string detail;
        unbind(endpoint, ec, &detail);
        if (ec)
            throw socket_error(ec, std::move(detail));
    }
    void unbind(std::string_view endpoint, error_code& ec, std::string* detail = nullptr)
    {
        impl_->unbind(endpoint, ec);
        report("unbind", endpoint, ec == zmtp::error::invalid_argument ? "not bound" : "", ec,
               detail);
    }
    // Stops connecting to an endpoint connect() was given; its peer goes at
    // once. Fails with invalid_argument for an endpoint it does not know.
    void disconnect(std::string_view endpoint)
    {
        error_code ec;
        std::string detail;
        disconnect(endpoint, ec, &detail);
        if (ec)
            throw socket_error(ec, std::move(detail));
    }
    void disconnect(std::string_view endpoint, error_code& ec, std::string* detail = nullptr)
    {
        impl_->disconnect(endpoint, ec);
        report("disconnect", endpoint, ec == zmtp::error::invalid_argument ? "not connected" : "",
               ec, detail);
    }

    // PEER: connects like connect() and returns the routing id that
    // addresses the peer at `endpoint` (libzmq's zmq_connect_peer), usable
    // at once; messages for it wait until it is up. Fails with
    // operation_not_supported on other types and invalid_argument with
    // options().immediate (a peer not yet up has no routing id then).
    std::uint32_t connect_peer(std::string_view endpoint)
    {
        error_code ec;
        std::string detail;
        const std::uint32_t id = connect_peer(endpoint, ec, &detail);
        if (ec)
            throw socket_error(ec, std::move(detail));
        return id;
    }
    std::uint32_t connect_peer(std::string_view endpoint, error_code& ec, std::string* detail = nullptr)
    {
        if (type() != socket_type::peer || options().immediate) {
            ec = to_error_code(type() != socket_type::peer ? zmtp::error::operation_not_supported
                                                           : zmtp::error::invalid_argument);
            report("connect_peer", endpoint, "", ec, detail);
            return 0;
        }
        const auto p = impl_->next_peer();
        connect(endpoint, ec, detail);
        return ec ? 0 : impl_->numeric_routing_id(p);
    }
    // DISH: receive the messages a RADIO sends to `group` (up to
    // message::max_group_size octets). Joining a group twice, or leaving
    // one not joined, fails with invalid_argument, as in libzmq.
    error_code join(std::string_view group) { return group_membership(group, true); }
    error_code leave(std::string_view group) { return group_membership(group, false); }
    // SUB: subscribe to messages starting with `topic` (empty: all). XPUB
    // with xpub_manual: subscribe the peer whose subscription was received
    // last.
    error_code subscribe(std::string_view topic) { return impl_->subscribe(bytes(topic), true); }
    error_code unsubscribe(std::string_view topic) { return impl_->subscribe(bytes(topic), false); }

    // Queues `m` now, or fails with would_block (or a final error).
    error_code try_send(message& m) { return impl_->try_send(m); }
    // Takes a message now, or fails with would_block (or a final error).
    error_code try_receive(message& m) { return impl_->try_receive(m); }

    // Completes once the message is queued for a peer (or dropped, for
    // types that drop). Signature: void(error_code).
    //
    // Cancellation (the token's cancellation slot, any type, or cancel()):
    // a send still waiting for room completes with operation_aborted and
    // queued none of its message; one that completed without error queued
    // all of it. With options().send_timeout, a send still waiting then
    // completes with net::error::timed_out, likewise having queued nothing.
    //
    // With net::use_awaitable in a coroutine that runs on the socket's
    // executor (co_spawn(s.get_executor(), ...)), a message a peer has room
    // for is queued without suspending the coroutine (most of the time: it
    // still suspends now and then, so that the I/O runs). Other tokens and
    // executors always complete through the executor. As with Asio's own
    // I/O objects, the socket must still exist when the co_await of the
    // awaitable it returned begins.
    template <class Token = net::default_completion_token_t<executor_type>>
    auto async_send(message m, Token&& token = {})
    {
        if constexpr (detail::is_use_awaitable<std::decay_t<Token>>::value)
            return send_awaitable(impl_.get(), std::move(m), token);
        else
            return initiate_send(impl_, std::move(m), std::forward<Token>(token));
    }

    // Completes with the next message. Signature: void(error_code, message).
    //
    // Cancelled (slot or cancel()), it completes with operation_aborted and
    // takes nothing: a message arriving later goes to the next receive.
    // With options().receive_timeout, it completes with net::error::timed_out
    // when no message came in time, likewise taking nothing. A message
    // already queued is taken without suspending, as async_send does.
    template <class Token = net::default_completion_token_t<executor_type>>
    auto async_receive(Token&& token = {})
    {
        if constexpr (detail::is_use_awaitable<std::decay_t<Token>>::value)
            return receive_awaitable(impl_.get(), token);
        else
            return initiate_receive(impl_, std::forward<Token>(token));
    }

    // Completes every waiting async_send, async_receive and async_monitor
    // with operation_aborted, losing nothing (as a cancellation slot does);
    // the socket stays open.
    void cancel()
    {
        auto ex = impl_->executor();
        net::dispatch(ex, [impl = impl_] { impl->cancel_all(); });
    }

    // Reports connections, handshakes, failures (with reasons) and drops.
    void set_monitor(monitor_callback cb) { impl_->set_monitor(std::move(cb)); }

    // The same events as an asynchronous stream: completes with the next
    // one. Events are recorded from the first call on (up to 1024 waiting;
    // later ones are counted in monitor_events_missed()).
    // Signature: void(error_code, monitor_event). Cancelled (slot or
    // cancel()), it completes with operation_aborted and takes no event.
    template <class Token = net::default_completion_token_t<executor_type>>
    auto async_monitor(Token&& token = {})
    {
        impl_->record_monitor_events(); // from this call on, not from when it reaches the strand
        return net::async_initiate<Token, void(error_code, monitor_event)>(
            [](auto handler, std::shared_ptr<detail::socket_impl> impl) {
                detail::monitor_handler h(std::move(handler));
                const auto t = impl->watch(h.get_cancellation_slot());
                auto ex = impl->executor();
                net::dispatch(ex, [impl = std::move(impl), t, h = std::move(h)]() mutable {
                    impl->async_monitor(t, std::move(h));
                });
            },
            token, impl_);
    }
    std::size_t monitor_events_missed() const noexcept { return impl_->monitor_events_missed(); }

    // Reports every greeting, command and frame header of every peer
    // (zmtp-cat --trace); peers made afterwards are traced.
    void set_tracer(detail::socket_impl::trace_callback cb) { impl_->set_tracer(std::move(cb)); }

    socket_stats stats() const noexcept
    {
        return {impl_->peer_count(), impl_->dropped(), impl_->dropped_at_close()};
    }

    // Stops listening and connecting (but for a connect()'s peer that has
    // messages queued, while the linger lasts), hands queued messages to
    // their connections for up to options().linger, and fails waiting
    // operations with operation_aborted.
    // Later calls fail with error::socket_closed.
    void close()
    {
        if (!impl_)
            return; // moved from
        auto ex = impl_->executor();
        net::dispatch(ex, [impl = impl_] { impl->close(); });
    }

    // close(), completing once the linger is over: with linger -1 when
    // every queued message, also those for a connect()'s peer not reached
    // yet, was written to its connection; with linger N at most N ms later
    // (what is left is dropped); with 0 at once. stats().dropped_at_close
    // and a dropped_at_close monitor event count what was given up. Until
    // then the socket keeps connecting for such peers, and keeps itself
    // alive even when this object is gone. Signature: void(error_code).
    template <class Token = net::default_completion_token_t<executor_type>>
    auto async_close(Token&& token = {})
    {
        return net::async_initiate<Token, void(error_code)>(
            [](auto handler, std::shared_ptr<detail::socket_impl> impl) {
                auto ex = impl->executor();
                net::dispatch(ex, [impl = std::move(impl),
                                   h = detail::send_handler(std::move(handler))]() mutable {
                    impl->async_close(std::move(h));
                });
            },
            token, impl_);
    }

private:
    template <class Token>
    static auto initiate_send(std::shared_ptr<detail::socket_impl> impl, message m, Token&& token)
    {
        return net::async_initiate<Token, void(error_code)>(
            [](auto handler, std::shared_ptr<detail::socket_impl> impl, message msg) {
                detail::send_handler h(std::move(handler));
                const auto t = impl->watch(h.get_cancellation_slot());
                auto ex = impl->executor();
                net::dispatch(ex, [impl = std::move(impl), t, msg = std::move(msg),
                                   h = std::move(h)]() mutable {
                    impl->async_send(t, std::move(msg), std::move(h));
                });
            },
            token, std::move(impl), std::move(m));
    }

    template <class Token>
    static auto initiate_receive(std::shared_ptr<detail::socket_impl> impl, Token&& token)
    {
        return net::async_initiate<Token, void(error_code, message)>(
            [](auto handler, std::shared_ptr<detail::socket_impl> impl) {
                detail::receive_handler h(std::move(handler));
                const auto t = impl->watch(h.get_cancellation_slot());
                auto ex = impl->executor();
                net::dispatch(ex, [impl = std::move(impl), t, h = std::move(h)]() mutable {
                    impl->async_receive(t, std::move(h));
                });
            },
            token, std::move(impl));
    }

    // use_awaitable from a coroutine on the socket's strand: a message the
    // socket takes (or has) at once completes the co_await without
    // suspending, as a function call would; Asio's rule against completing
    // inside the initiating function protects callers that a handler can
    // reenter, and a coroutine that has not suspended is not one. The
    // completion is the one the queued path gives: success, or the same
    // error thrown as system_error. Anything that has to wait takes the
    // queued path, with its cancellation and timeouts.
    // The socket is alive until the co_await begins; a wait on the queued
    // path holds it from there on.
    template <class Executor>
    static net::awaitable<void, Executor>
    send_awaitable(detail::socket_impl* impl, message m, net::use_awaitable_t<Executor> token)
    {
        if (impl->may_complete_now(m.byte_size())) {
            const error_code ec = impl->try_send(m);
            if (ec != zmtp::error::would_block) {
                if (ec)
                    throw boost::system::system_error(ec);
                co_return;
            }
        }
        co_await initiate_send(impl->shared_from_this(), std::move(m), token);
    }

    template <class Executor>
    static net::awaitable<message, Executor>
    receive_awaitable(detail::socket_impl* impl, net::use_awaitable_t<Executor> token)
    {
        if (impl->may_complete_now(0)) {
            message m;
            const error_code ec = impl->try_receive(m);
            if (ec != zmtp::error::would_block) {
                if (ec)
                    throw boost::system::system_error(ec);
                co_return m;
            }
        }
        co_return co_await initiate_receive(impl->shared_from_this(), token);
    }

    static void report(std::string_view op, std::string_view endpoint, const std::string& reason,
                       error_code ec, std::string* out)
    {
        if (out)
            *out = ec ? detail::failure_detail(op, endpoint, reason, ec) : std::string();
    }
    error_code group_membership(std::string_view group, bool join)
    {
        if (type() != socket_type::dish)
            return to_error_code(zmtp::error::operation_not_supported);
        return impl_->subscribe(bytes(group), join);
    }
    static std::span<const std::byte> bytes(std::string_view s) noexcept
    {
        return std::as_bytes(std::span<const char>(s.data(), s.size()));
    }

    std::shared_ptr<detail::socket_impl> impl_;
};

} // namespace zmtp::asio
