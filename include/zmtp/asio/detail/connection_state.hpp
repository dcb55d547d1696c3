// SPDX-License-Identifier: MPL-2.0
// The shared state of a connection<Stream> and the machinery every
// operation uses: the write pump, the timer that drives the codec's
// deadlines, and failure handling. Handlers hold a shared_ptr to it, so it
// outlives the connection object until the last operation has completed.
#pragma once

#include "zmtp/asio/error.hpp"
#include "zmtp/asio/stream_traits.hpp"
#include "zmtp/codec/codec.hpp"
#include "zmtp/detail/fifo.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

namespace zmtp::asio::detail {

namespace net = boost::asio;

using write_handler = net::any_completion_handler<void(error_code)>;

// How a stream operation ended, as far as the connection is concerned.
// Every stream error, of a read or of a write, is classified here.
enum class stream_end {
    peer_closed, // the peer closed or reset the stream
    peer_gone,   // a write found the peer gone; what it sent may still be unread
    failed,      // anything else: the stream itself failed
};

inline stream_end classify(error_code ec, bool on_write) noexcept
{
    if (ec == net::error::eof || ec == net::error::connection_reset)
        return stream_end::peer_closed;
    if (ec == net::error::broken_pipe)
        return on_write ? stream_end::peer_gone : stream_end::peer_closed;
    return stream_end::failed;
}

// The state is private: connection<Stream>'s operations call the methods
// below, each of which keeps the codec, the buffers, the write pump and
// the timer consistent.
template <class Stream>
class connection_state : public std::enable_shared_from_this<connection_state<Stream>> {
public:
    using clock = codec::clock;

    template <class... Args>
    explicit connection_state(codec_options options, Args&&... args)
        : stream_(std::forward<Args>(args)...),
          protocol_(std::move(options), clock::now()),
          timer_(stream_.get_executor()),
          auth_wait_(stream_.get_executor())
    {
    }

    Stream& stream() noexcept { return stream_; }
    const Stream& stream() const noexcept { return stream_; }
    codec& protocol() noexcept { return protocol_; }
    const codec& protocol() const noexcept { return protocol_; }
    bool closed() const noexcept { return closed_; }
    void set_write_callback(std::function<void()> f) { on_written_ = std::move(f); }

    // The error every pending and future operation completes with.
    error_code failure() const
    {
        if (protocol_.is_failed())
            return to_error_code(protocol_.error());
        if (io_error_)
            return io_error_;
        if (closed_)
            return net::error::operation_aborted;
        return {};
    }

    // ---- the read side, for connection<Stream>'s read operation ----

    // Starts a read; false when one is under way already. Sends what the
    // codec queued before any input (our greeting) and arms the handshake
    // deadline: a peer that waits for our greeting, or never sends a byte,
    // must not stall us.
    bool begin_read()
    {
        if (reading_)
            return false;
        reading_ = true;
        after_codec();
        return true;
    }

    void end_read() noexcept { reading_ = false; }

    // Where the next read goes: the free end of the read buffer, which is
    // made, or grown when the last read filled it, while it holds nothing.
    std::span<std::byte> read_space()
    {
        if (read_begin_ == read_end_) {
            const bool filled = std::exchange(last_read_filled_, false);
            if (read_capacity_ == 0 || (filled && read_capacity_ < max_read_buffer_size)) {
                read_capacity_ = read_capacity_ == 0 ? first_read_buffer_size
                                                     : std::min(read_capacity_ * 4, max_read_buffer_size);
                read_buffer_ = std::make_unique_for_overwrite<std::byte[]>(read_capacity_);
            }
            read_begin_ = read_end_ = 0;
        }
        return {read_buffer_.get() + read_end_, read_capacity_ - read_end_};
    }

    // `n` bytes arrived in read_space().
    void buffer_filled(std::size_t n)
    {
        read_end_ += n;
        last_read_filled_ = read_end_ == read_capacity_;
        read_time_ = clock::now(); // one clock read per read, not per event
    }

    // `n` bytes arrived straight in the codec's body_target().
    void body_filled(std::size_t n)
    {
        protocol_.commit_body(n, clock::now());
        after_codec();
    }

    bool has_buffered_input() const noexcept { return read_begin_ < read_end_; }

    // A read ended with `ec`: the peer's end becomes the codec's, any other
    // failure closes the stream.
    void read_failed(error_code ec)
    {
        if (classify(ec, false) == stream_end::peer_closed)
            protocol_.peer_closed();
        else if (!io_error_)
            io_error_ = ec;
        after_codec();
        if (io_error_)
            close_now();
    }

    // Waits for the authenticator's answer (or the connection's end).
    template <class Handler>
    void wait_for_authentication(Handler&& h)
    {
        auth_wait_.expires_at(clock::time_point::max());
        auth_wait_.async_wait(std::forward<Handler>(h));
    }

    // Feeds buffered input until the codec has an event, moved into `out`;
    // false when it needs more input or failed.
    bool next_buffered_event(event& out)
    {
        for (;;) {
            if (protocol_.next_event(out)) {
                if (auto* a = std::get_if<events::authenticate>(&out)) {
                    start_authentication(std::move(a->request));
                    continue;
                }
                if (std::holds_alternative<events::handshake_complete>(out))
                    on_handshake_complete();
                return true;
            }
            if (failure() || read_begin_ == read_end_ || protocol_.awaiting_authentication())
                return false;
            const std::span<const std::byte> pending(read_buffer_.get() + read_begin_,
                                                     read_end_ - read_begin_);
            read_begin_ += protocol_.feed(pending, read_time_);
            if (read_begin_ == read_end_)
                read_begin_ = read_end_ = 0;
            after_codec();
        }
    }

    // ---- the write side ----

    // Queues a message, or holds it until the handshake is done.
    void queue_write(message m, write_handler h)
    {
        if (auto ec = failure()) {
            net::post(stream_.get_executor(), net::append(std::move(h), ec));
            return;
        }
        if (!protocol_.is_ready()) {
            before_ready_.push_back({std::move(m), std::move(h)});
            after_codec(); // our greeting goes out and the handshake deadline runs
            return;
        }
        if (auto ec = protocol_.send(m)) {
            net::post(stream_.get_executor(), net::append(std::move(h), to_error_code(ec)));
            return;
        }
        waiters_.push_back({written_ + protocol_.pending_output_size(), std::move(h)});
        after_codec();
    }

    // Queues a message with no completion to wait for (the socket layer).
    error_code queue_now(const message& m)
    {
        if (auto ec = failure())
            return ec;
        if (auto ec = protocol_.send(m))
            return to_error_code(ec);
        after_codec();
        return {};
    }

    error_code queue_subscription(std::span<const std::byte> topic, bool subscribe)
    {
        if (auto ec = failure())
            return ec;
        auto ec = subscribe ? protocol_.send_subscribe(topic) : protocol_.send_cancel(topic);
        if (ec)
            return to_error_code(ec);
        after_codec();
        return {};
    }

    // Queues a completion for when everything queued so far has left.
    void when_flushed(write_handler h)
    {
        if (auto ec = failure()) {
            net::post(stream_.get_executor(), net::append(std::move(h), ec));
            return;
        }
        waiters_.push_back({written_ + protocol_.pending_output_size(), std::move(h)});
        after_codec();
        if (!writing_ && protocol_.pending_output_size() == 0)
            complete_waiters();
    }

    // Closes the stream: pending reads and writes complete with an error,
    // and every waiter learns why.
    void close_now()
    {
        if (closed_)
            return;
        closed_ = true;
        close_stream(stream_);
        timer_.cancel();
        auth_wait_.cancel();
        const error_code ec = failure();
        fail_held(ec);
        fail_waiters(ec);
    }

private:
    // After the codec fails, how long queued bytes (its ERROR command) may
    // take to leave before the stream is closed regardless.
    static constexpr std::chrono::milliseconds failure_grace{500};
    // The read buffer starts small (an idle connection costs little: the
    // greeting, handshake and a few small messages fit) and grows 4x, up to
    // the largest size, whenever a read fills it.
    static constexpr std::size_t first_read_buffer_size = 512;
    static constexpr std::size_t max_read_buffer_size = 64 * 1024;

    static void complete(write_handler h, error_code ec)
    {
        net::dispatch(net::append(std::move(h), ec));
    }

    // Asks the authenticator; its answer comes back on our executor, from
    // whichever thread gives it. A connection gone by then ignores it.
    void start_authentication(security::auth_request request)
    {
        std::weak_ptr<connection_state> weak = this->shared_from_this();
        auto ex = stream_.get_executor();
        protocol_.options().authenticator(request, [weak, ex](security::auth_result result) {
            net::post(ex, [weak, result = std::move(result)] {
                if (auto self = weak.lock())
                    self->finish_authentication(result);
            });
        });
        security::wipe_password(request);
    }

    void finish_authentication(const security::auth_result& result)
    {
        if (closed_)
            return;
        protocol_.resolve_authentication(result);
        after_codec();
        auth_wait_.cancel();
    }

    void on_handshake_complete()
    {
        while (!before_ready_.empty()) {
            held_message held = std::move(before_ready_.front());
            before_ready_.pop_front();
            if (auto ec = protocol_.send(held.msg))
                complete(std::move(held.handler), to_error_code(ec));
            else
                waiters_.push_back({written_ + protocol_.pending_output_size(),
                                    std::move(held.handler)});
        }
        after_codec();
    }

    // Called after anything that may have changed the codec: starts the
    // write pump, moves the timer, and handles a fresh failure.
    void after_codec()
    {
        if (closed_)
            return;
        if (protocol_.is_failed() && !close_at_) {
            close_at_ = clock::now() + failure_grace;
            fail_held(failure());
            if (protocol_.peer_presumed_gone()) {
                // No grace and nothing left for the kernel to deliver:
                // the peer reads nothing.
                discard_unread_on_close(stream_);
                return close_now();
            }
        }
        if (!writing_ && protocol_.has_output())
            start_write();
        else if (close_at_ && !writing_ && !protocol_.has_output())
            return close_now(); // and no timer: nothing may hold the state now
        rearm_timer();
    }

    void start_write()
    {
        writing_ = true;
        write_buffers_.clear();
        for (std::span<const std::byte> s : protocol_.pending_output())
            write_buffers_.emplace_back(s.data(), s.size());
        stream_.async_write_some(write_buffers_,
                                 [self = this->shared_from_this()](error_code ec, std::size_t n) {
                                     self->on_write(ec, n);
                                 });
    }

    void on_write(error_code ec, std::size_t n)
    {
        writing_ = false;
        protocol_.consume_output(n);
        written_ += n;
        if (ec) {
            if (closed_)
                return;
            switch (classify(ec, true)) {
            case stream_end::peer_closed:
                // Reset: nothing more will arrive either.
                if (!protocol_.is_failed())
                    protocol_.peer_closed();
                close_now();
                return;
            case stream_end::peer_gone: {
                // What the peer sent before may still be unread, so the
                // stream stays open and the read side reports the end once
                // it has read everything; only the writes fail now.
                const std::size_t dropped = protocol_.pending_output_size();
                protocol_.consume_output(dropped);
                written_ += dropped;
                fail_waiters(make_error_code(error::connection_closed));
                return;
            }
            case stream_end::failed:
                if (!io_error_)
                    io_error_ = ec;
                close_now();
                return;
            }
        }
        complete_waiters();
        if (on_written_)
            on_written_();
        after_codec();
    }

    void complete_waiters()
    {
        while (!waiters_.empty() && waiters_.front().mark <= written_) {
            write_handler h = std::move(waiters_.front().handler);
            waiters_.pop_front();
            complete(std::move(h), {});
        }
    }

    void fail_waiters(error_code ec)
    {
        while (!waiters_.empty()) {
            write_handler h = std::move(waiters_.front().handler);
            waiters_.pop_front();
            complete(std::move(h), ec);
        }
    }

    void fail_held(error_code ec)
    {
        while (!before_ready_.empty()) {
            write_handler h = std::move(before_ready_.front().handler);
            before_ready_.pop_front();
            complete(std::move(h), ec);
        }
    }

    // Keeps one timer wait armed for the earliest of the codec's deadlines
    // and, after a failure, the close grace period. The wait is moved only
    // when a deadline comes earlier than it: one that moves later (every
    // message pushes the heartbeat deadline back) is found when the wait
    // ends, which costs one early wake-up instead of a re-arm per message.
    void rearm_timer()
    {
        // Input and sends move deadlines only later: unless the codec says
        // one may have come earlier, the armed wait stands.
        if (!close_at_ && protocol_.deadline_version() == timer_version_)
            return;
        timer_version_ = protocol_.deadline_version();
        std::optional<clock::time_point> want = protocol_.next_timeout();
        if (close_at_ && (!want || *close_at_ < *want))
            want = close_at_;
        if (!want || (timer_at_ && *timer_at_ <= *want))
            return;
        timer_at_ = want;
        timer_.expires_at(*want);
        timer_.async_wait([self = this->shared_from_this()](error_code ec) {
            if (ec || self->closed_)
                return; // moved earlier or closed meanwhile
            self->timer_at_.reset();
            self->on_timer();
        });
    }

    void on_timer()
    {
        const auto now = clock::now();
        if (close_at_ && now >= *close_at_) {
            close_now();
            return;
        }
        protocol_.handle_timeout(now);
        after_codec();
    }

    Stream stream_;
    codec protocol_;
    net::steady_timer timer_;
    // A read waits here while the authenticator decides; cancelled when it has.
    net::steady_timer auth_wait_;

    // input
    std::unique_ptr<std::byte[]> read_buffer_; // made by the first read
    std::size_t read_capacity_ = 0;
    clock::time_point read_time_;              // when the buffered bytes arrived
    bool last_read_filled_ = false;            // the last read took all the space it had
    std::size_t read_begin_ = 0;
    std::size_t read_end_ = 0;
    bool reading_ = false;

    // output: `written_` counts every byte that has left; a waiter
    // completes once `written_` reaches its mark.
    struct waiter {
        std::uint64_t mark;
        write_handler handler;
    };
    struct held_message {
        message msg;
        write_handler handler;
    };
    std::vector<net::const_buffer> write_buffers_;
    zmtp::detail::fifo<waiter> waiters_;
    zmtp::detail::fifo<held_message> before_ready_; // written once the handshake completes
    std::uint64_t written_ = 0;
    bool writing_ = false;

    std::optional<clock::time_point> timer_at_; // when the armed wait ends
    std::uint64_t timer_version_ = ~std::uint64_t{0}; // the codec's deadline_version when last armed
    std::optional<clock::time_point> close_at_; // set once failed
    error_code io_error_;                       // the stream's own failure, if any
    bool closed_ = false;
    std::function<void()> on_written_; // after each completed write
};

} // namespace zmtp::asio::detail
