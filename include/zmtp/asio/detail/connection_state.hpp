// SPDX-License-Identifier: MPL-2.0
// The shared state of a connection<Stream> and the machinery every
// operation uses: the write pump, the timer that drives the codec's
// deadlines, and failure handling. Handlers hold a shared_ptr to it, so it
// outlives the connection object until the last operation has completed.
#pragma once

#include "zmtp/asio/error.hpp"
#include "zmtp/asio/stream_traits.hpp"
#include "zmtp/codec/codec.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

namespace zmtp::asio::detail {

namespace net = boost::asio;

using write_handler = net::any_completion_handler<void(error_code)>;

template <class Stream>
struct connection_state : std::enable_shared_from_this<connection_state<Stream>> {
    using clock = codec::clock;

    // After the codec fails, how long queued bytes (its ERROR command) may
    // take to leave before the stream is closed regardless.
    static constexpr std::chrono::milliseconds failure_grace{500};
    // The read buffer starts small (an idle connection costs little) and
    // doubles, up to the largest size, whenever a read fills it.
    static constexpr std::size_t first_read_buffer_size = 4 * 1024;
    static constexpr std::size_t max_read_buffer_size = 64 * 1024;

    template <class... Args>
    explicit connection_state(codec_options options, Args&&... args)
        : stream(std::forward<Args>(args)...),
          protocol(std::move(options), clock::now()),
          timer(stream.get_executor()),
          auth_wait(stream.get_executor())
    {
    }

    Stream stream;
    codec protocol;
    net::steady_timer timer;
    // A read waits here while the authenticator decides; cancelled when it has.
    net::steady_timer auth_wait;

    // input
    std::unique_ptr<std::byte[]> read_buffer; // made by the first read
    std::size_t read_capacity = 0;
    clock::time_point read_time;              // when the buffered bytes arrived
    bool last_read_filled = false;            // the last read took all the space it had
    std::size_t read_begin = 0;
    std::size_t read_end = 0;
    bool reading = false;

    // output: `written` counts every byte that has left; a waiter completes
    // once `written` reaches its mark.
    struct waiter {
        std::uint64_t mark;
        write_handler handler;
    };
    struct held_message {
        message msg;
        write_handler handler;
    };
    std::vector<net::const_buffer> write_buffers;
    std::deque<waiter> waiters;
    std::deque<held_message> before_ready; // written once the handshake completes
    std::uint64_t written = 0;
    bool writing = false;

    std::optional<clock::time_point> timer_at;
    std::optional<clock::time_point> close_at; // set once failed
    error_code io_error;                      // the stream's own failure, if any
    bool closed = false;
    std::function<void()> on_written; // after each completed write

    // The error every pending and future operation completes with.
    error_code failure() const
    {
        if (protocol.is_failed())
            return to_error_code(protocol.error());
        if (io_error)
            return io_error;
        if (closed)
            return net::error::operation_aborted;
        return {};
    }

    static void complete(write_handler h, error_code ec)
    {
        net::dispatch(net::append(std::move(h), ec));
    }

    // Queues a message, or holds it until the handshake is done.
    void queue_write(message m, write_handler h)
    {
        if (auto ec = failure()) {
            net::post(stream.get_executor(), net::append(std::move(h), ec));
            return;
        }
        if (!protocol.is_ready()) {
            before_ready.push_back({std::move(m), std::move(h)});
            after_codec(); // our greeting goes out and the handshake deadline runs
            return;
        }
        if (auto ec = protocol.send(m)) {
            net::post(stream.get_executor(), net::append(std::move(h), to_error_code(ec)));
            return;
        }
        waiters.push_back({written + protocol.pending_output_size(), std::move(h)});
        after_codec();
    }

    // Queues a message with no completion to wait for (the socket layer).
    error_code queue_now(const message& m)
    {
        if (auto ec = failure())
            return ec;
        if (auto ec = protocol.send(m))
            return to_error_code(ec);
        after_codec();
        return {};
    }

    error_code queue_subscription(std::span<const std::byte> topic, bool subscribe)
    {
        if (auto ec = failure())
            return ec;
        auto ec = subscribe ? protocol.send_subscribe(topic) : protocol.send_cancel(topic);
        if (ec)
            return to_error_code(ec);
        after_codec();
        return {};
    }

    // Feeds buffered input until the codec has an event; nothing when it
    // needs more input or failed.
    std::optional<event> next_buffered_event()
    {
        for (;;) {
            if (auto e = protocol.next_event()) {
                if (auto* a = std::get_if<events::authenticate>(&*e)) {
                    start_authentication(std::move(a->request));
                    continue;
                }
                if (std::holds_alternative<events::handshake_complete>(*e))
                    on_handshake_complete();
                return e;
            }
            if (failure() || read_begin == read_end || protocol.awaiting_authentication())
                return std::nullopt;
            const std::span<const std::byte> pending(read_buffer.get() + read_begin,
                                                     read_end - read_begin);
            read_begin += protocol.feed(pending, read_time);
            if (read_begin == read_end)
                read_begin = read_end = 0;
            after_codec();
        }
    }

    // Asks the authenticator; its answer comes back on our executor, from
    // whichever thread gives it. A connection gone by then ignores it.
    void start_authentication(security::auth_request request)
    {
        std::weak_ptr<connection_state> weak = this->shared_from_this();
        auto ex = stream.get_executor();
        protocol.options().authenticator(request, [weak, ex](security::auth_result result) {
            net::post(ex, [weak, result = std::move(result)] {
                if (auto self = weak.lock())
                    self->finish_authentication(result);
            });
        });
        security::wipe_password(request);
    }

    void finish_authentication(const security::auth_result& result)
    {
        if (closed)
            return;
        protocol.resolve_authentication(result);
        after_codec();
        auth_wait.cancel();
    }

    // Where the next read goes: the free end of the read buffer, which is
    // made, or grown when the last read filled it, while it holds nothing.
    std::span<std::byte> read_space()
    {
        if (read_begin == read_end) {
            const bool filled = std::exchange(last_read_filled, false);
            if (read_capacity == 0 || (filled && read_capacity < max_read_buffer_size)) {
                read_capacity = read_capacity == 0 ? first_read_buffer_size : read_capacity * 2;
                read_buffer = std::make_unique_for_overwrite<std::byte[]>(read_capacity);
            }
            read_begin = read_end = 0;
        }
        return {read_buffer.get() + read_end, read_capacity - read_end};
    }

    // Queues a completion for when everything queued so far has left.
    void when_flushed(write_handler h)
    {
        if (auto ec = failure()) {
            net::post(stream.get_executor(), net::append(std::move(h), ec));
            return;
        }
        waiters.push_back({written + protocol.pending_output_size(), std::move(h)});
        after_codec();
        if (!writing && protocol.pending_output_size() == 0)
            complete_waiters();
    }

    void on_handshake_complete()
    {
        while (!before_ready.empty()) {
            held_message held = std::move(before_ready.front());
            before_ready.pop_front();
            if (auto ec = protocol.send(held.msg))
                complete(std::move(held.handler), to_error_code(ec));
            else
                waiters.push_back({written + protocol.pending_output_size(),
                                   std::move(held.handler)});
        }
        after_codec();
    }

    // Called after anything that may have changed the codec: starts the
    // write pump, moves the timer, and handles a fresh failure.
    void after_codec()
    {
        if (closed)
            return;
        if (protocol.is_failed() && !close_at) {
            close_at = clock::now() + failure_grace;
            fail_held(failure());
        }
        if (!writing && protocol.has_output())
            start_write();
        else if (close_at && !writing && !protocol.has_output())
            return close_now(); // and no timer: nothing may hold the state now
        rearm_timer();
    }

    void start_write()
    {
        writing = true;
        write_buffers.clear();
        for (std::span<const std::byte> s : protocol.pending_output())
            write_buffers.emplace_back(s.data(), s.size());
        stream.async_write_some(write_buffers,
                                [self = this->shared_from_this()](error_code ec, std::size_t n) {
                                    self->on_write(ec, n);
                                });
    }

    void on_write(error_code ec, std::size_t n)
    {
        writing = false;
        protocol.consume_output(n);
        written += n;
        if (ec == net::error::connection_reset && !closed && !protocol.is_failed()) {
            // Reset: nothing more will arrive either.
            protocol.peer_closed();
            close_now();
            return;
        }
        if (ec == net::error::broken_pipe) {
            if (closed)
                return;
            // The peer hung up. What it sent before may still be unread, so
            // the stream stays open and the read side reports the end once
            // it has read everything; only the writes fail now.
            const std::size_t dropped = protocol.pending_output_size();
            protocol.consume_output(dropped);
            written += dropped;
            const error_code gone = make_error_code(error::connection_closed);
            while (!waiters.empty()) {
                write_handler h = std::move(waiters.front().handler);
                waiters.pop_front();
                complete(std::move(h), gone);
            }
            return;
        }
        if (ec) {
            if (!io_error && !closed)
                io_error = ec;
            close_now();
            return;
        }
        complete_waiters();
        if (on_written)
            on_written();
        after_codec();
    }

    void complete_waiters()
    {
        while (!waiters.empty() && waiters.front().mark <= written) {
            write_handler h = std::move(waiters.front().handler);
            waiters.pop_front();
            complete(std::move(h), {});
        }
    }

    void fail_held(error_code ec)
    {
        while (!before_ready.empty()) {
            write_handler h = std::move(before_ready.front().handler);
            before_ready.pop_front();
            complete(std::move(h), ec);
        }
    }

    // Closes the stream: pending reads and writes complete with an error,
    // and every waiter learns why.
    void close_now()
    {
        if (closed)
            return;
        closed = true;
        close_stream(stream);
        timer.cancel();
        auth_wait.cancel();
        const error_code ec = failure();
        fail_held(ec);
        while (!waiters.empty()) {
            write_handler h = std::move(waiters.front().handler);
            waiters.pop_front();
            complete(std::move(h), ec);
        }
    }

    // Keeps one timer wait armed for the earliest of the codec's deadlines
    // and, after a failure, the close grace period.
    void rearm_timer()
    {
        std::optional<clock::time_point> want = protocol.next_timeout();
        if (close_at && (!want || *close_at < *want))
            want = close_at;
        if (want == timer_at)
            return;
        timer_at = want;
        if (!want) {
            timer.cancel();
            return;
        }
        timer.expires_at(*want);
        timer.async_wait([self = this->shared_from_this()](error_code ec) {
            if (ec || self->closed)
                return; // re-armed or closed meanwhile
            self->timer_at.reset();
            self->on_timer();
        });
    }

    void on_timer()
    {
        const auto now = clock::now();
        if (close_at && now >= *close_at) {
            close_now();
            return;
        }
        protocol.handle_timeout(now);
        after_codec();
    }
};

} // namespace zmtp::asio::detail
