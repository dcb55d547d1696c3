// SPDX-License-Identifier: MPL-2.0
// memory_stream's channel: reads and writes between the two ends, their
// cancellation and close, and their end with a context (context_shutdown.hpp).
#include "zmtp/asio/memory_stream.hpp"

#include "byte_ring.hpp"
#include "context_shutdown.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/system_executor.hpp>

#include <boost/container/static_vector.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

namespace zmtp::asio::detail {
namespace {

using error_code = boost::system::error_code;

// An operation waiting for bytes (a read) or for room (a write).
template <class Buffer>
struct pending_op {
    pending_op(memory_handler&& h, std::span<const Buffer> b, net::any_io_executor w, std::uint64_t s)
        : handler(std::move(h)), buffers(b.begin(), b.end()), work(std::move(w)), serial(s)
    {
    }
    memory_handler handler;
    std::vector<Buffer> buffers;
    net::any_io_executor work; // the executor's work count stays up while it waits
    std::uint64_t serial;      // tells a late cancellation from the current operation
};

struct completion {
    net::any_io_executor executor;
    memory_handler handler;
    net::any_io_executor work;
    error_code ec;
    std::size_t n;
};

// The completions one call makes (an operation and its counterpart on
// each end at most), posted once the lock is released.
class completion_batch {
public:
    completion_batch() = default;
    completion_batch(const completion_batch&) = delete;
    completion_batch& operator=(const completion_batch&) = delete;
    ~completion_batch()
    {
        for (completion& c : done_) {
            net::post(c.executor, net::append(std::move(c.handler), c.ec, c.n));
            c.work = {}; // after the post: the work count never drops to zero between
        }
    }

    void add(const net::any_io_executor& ex, memory_handler&& h, error_code ec, std::size_t n,
             net::any_io_executor work = {})
    {
        done_.emplace_back(completion{ex, std::move(h), std::move(work), ec, n});
    }

private:
    boost::container::static_vector<completion, 4> done_;
};

} // namespace

class memory_channel final : public std::enable_shared_from_this<memory_channel>, public context_user {
public:
    memory_channel(const net::any_io_executor& first, const net::any_io_executor& second,
                   std::size_t capacity)
        : ends_{end(first, capacity), end(second, capacity)}
    {
    }

    void read(int side, std::span<const net::mutable_buffer> buffers, memory_handler h)
    {
        completion_batch done;
        std::lock_guard lock(mutex_);
        end& me = ends_[side];
        if (me.closed)
            return done.add(me.executor, std::move(h), net::error::bad_descriptor, 0);
        if (me.reading)
            return done.add(me.executor, std::move(h), net::error::in_progress, 0);
        if (total_size(buffers) == 0)
            return done.add(me.executor, std::move(h), {}, 0);
        if (const std::size_t n = fill_reader(side, buffers, done))
            return done.add(me.executor, std::move(h), {}, n);
        if (ends_[1 - side].closed)
            return done.add(me.executor, std::move(h), net::error::eof, 0);
        const std::uint64_t serial = watch(h, side, false);
        me.reading.emplace(std::move(h), buffers, tracked(me), serial);
    }

    void write(int side, std::span<const net::const_buffer> buffers, memory_handler h)
    {
        completion_batch done;
        std::lock_guard lock(mutex_);
        end& me = ends_[side];
        end& peer = ends_[1 - side];
        if (me.closed)
            return done.add(me.executor, std::move(h), net::error::bad_descriptor, 0);
        if (me.writing)
            return done.add(me.executor, std::move(h), net::error::in_progress, 0);
        if (total_size(buffers) == 0)
            return done.add(me.executor, std::move(h), {}, 0);
        if (peer.closed)
            return done.add(me.executor, std::move(h), net::error::broken_pipe, 0);
        std::size_t n = 0;
        if (peer.reading) {
            // A waiting reader means nothing is buffered: straight into its buffers.
            n = copy_buffers(peer.reading->buffers, 0, buffers, 0);
            finish(peer, peer.reading, {}, n, done);
        }
        n += peer.inbound.put(buffers, n);
        if (n > 0)
            return done.add(me.executor, std::move(h), {}, n);
        const std::uint64_t serial = watch(h, side, true);
        me.writing.emplace(std::move(h), buffers, tracked(me), serial);
    }

    void cancel(int side)
    {
        completion_batch done;
        std::lock_guard lock(mutex_);
        end& me = ends_[side];
        finish(me, me.reading, net::error::operation_aborted, 0, done);
        finish(me, me.writing, net::error::operation_aborted, 0, done);
    }

    // A cancellation slot's signal for one operation, if it still waits.
    void cancel_one(int side, bool write, std::uint64_t serial)
    {
        completion_batch done;
        std::lock_guard lock(mutex_);
        end& me = ends_[side];
        if (write && me.writing && me.writing->serial == serial)
            finish(me, me.writing, net::error::operation_aborted, 0, done);
        else if (!write && me.reading && me.reading->serial == serial)
            finish(me, me.reading, net::error::operation_aborted, 0, done);
    }

    void close(int side)
    {
        completion_batch done;
        std::lock_guard lock(mutex_);
        close_locked(side, done);
    }

    // `context` is going away: the operations waiting on it are destroyed
    // (their handlers can never run), the other end sees this one closed,
    // and nothing of the context is kept: a strand of it must not outlive it.
    void context_shutdown(const net::execution_context& context) override
    {
        std::vector<memory_handler> dropped;
        std::vector<net::any_io_executor> released;
        {
            completion_batch done;
            std::lock_guard lock(mutex_);
            for (int side = 0; side < 2; ++side) {
                end& me = ends_[side];
                if (!me.executor || &net::query(me.executor, net::execution::context) != &context)
                    continue;
                take(me.reading, dropped, released);
                take(me.writing, dropped, released);
                close_locked(side, done);
                released.push_back(std::exchange(me.executor, {}));
            }
        }
        // Destroyed here, unlocked: destroying a handler may close a stream
        // of this very channel.
    }

    bool is_open(int side)
    {
        std::lock_guard lock(mutex_);
        return !ends_[side].closed;
    }

    std::size_t available(int side)
    {
        std::lock_guard lock(mutex_);
        return ends_[side].inbound.size();
    }

private:
    struct end {
        end(const net::any_io_executor& ex, std::size_t capacity) : executor(ex), inbound(capacity) {}

        net::any_io_executor executor;
        byte_ring inbound; // what the other end wrote, for this end to read
        bool closed = false;
        std::optional<pending_op<net::mutable_buffer>> reading;
        std::optional<pending_op<net::const_buffer>> writing;
    };

    struct canceller {
        std::weak_ptr<memory_channel> channel;
        int side;
        bool write;
        std::uint64_t serial;
        void operator()(net::cancellation_type) const
        {
            if (auto c = channel.lock())
                c->cancel_one(side, write, serial);
        }
    };

    static net::any_io_executor tracked(const end& e)
    {
        return net::prefer(e.executor, net::execution::outstanding_work.tracked);
    }

    std::uint64_t watch(memory_handler& h, int side, bool write)
    {
        const std::uint64_t serial = next_serial_++;
        auto slot = h.get_cancellation_slot();
        if (slot.is_connected())
            slot.template emplace<canceller>(canceller{weak_from_this(), side, write, serial});
        return serial;
    }

    // Moves bytes for the reader at `side`: what is buffered, then what a
    // waiting writer offers, which then also refills the buffer.
    std::size_t fill_reader(int side, std::span<const net::mutable_buffer> buffers,
                            completion_batch& done)
    {
        end& me = ends_[side];
        end& peer = ends_[1 - side];
        std::size_t n = me.inbound.take(buffers, 0);
        if (peer.writing) {
            const std::span<const net::const_buffer> offered(peer.writing->buffers);
            std::size_t moved = me.inbound.size() == 0 ? copy_buffers(buffers, n, offered, 0) : 0;
            n += moved;
            moved += me.inbound.put(offered, moved);
            if (moved > 0)
                finish(peer, peer.writing, {}, moved, done);
        }
        return n;
    }

    template <class Op>
    static void finish(end& e, std::optional<Op>& op, error_code ec, std::size_t n,
                       completion_batch& done)
    {
        if (!op)
            return;
        done.add(e.executor, std::move(op->handler), ec, n, std::move(op->work));
        op.reset();
    }

    template <class Op>
    static void take(std::optional<Op>& op, std::vector<memory_handler>& handlers,
                     std::vector<net::any_io_executor>& executors)
    {
        if (!op)
            return;
        handlers.emplace_back(std::move(op->handler));
        executors.push_back(std::move(op->work));
        op.reset();
    }

    void close_locked(int side, completion_batch& done)
    {
        end& me = ends_[side];
        end& peer = ends_[1 - side];
        if (me.closed)
            return;
        me.closed = true;
        me.inbound.release();
        finish(me, me.reading, net::error::operation_aborted, 0, done);
        finish(me, me.writing, net::error::operation_aborted, 0, done);
        // A waiting reader has read everything: the end. A waiting writer
        // was waiting for room here: there will be none.
        finish(peer, peer.reading, net::error::eof, 0, done);
        finish(peer, peer.writing, net::error::broken_pipe, 0, done);
    }

    std::mutex mutex_;
    std::array<end, 2> ends_;
    std::uint64_t next_serial_ = 1;
};

namespace {

net::execution_context& context_of(const net::any_io_executor& ex)
{
    return net::query(ex, net::execution::context);
}

} // namespace

void memory_read(const std::shared_ptr<memory_channel>& channel, int side,
                 std::span<const net::mutable_buffer> buffers, memory_handler h)
{
    if (!channel) { // a moved-from stream
        net::post(net::system_executor(),
                  net::append(std::move(h), error_code(net::error::bad_descriptor), std::size_t(0)));
        return;
    }
    channel->read(side, buffers, std::move(h));
}

void memory_write(const std::shared_ptr<memory_channel>& channel, int side,
                  std::span<const net::const_buffer> buffers, memory_handler h)
{
    if (!channel) {
        net::post(net::system_executor(),
                  net::append(std::move(h), error_code(net::error::bad_descriptor), std::size_t(0)));
        return;
    }
    channel->write(side, buffers, std::move(h));
}

} // namespace zmtp::asio::detail

namespace zmtp::asio {

bool memory_stream::is_open() const noexcept
{
    return channel_ && channel_->is_open(side_);
}

std::size_t memory_stream::available() const noexcept
{
    return channel_ ? channel_->available(side_) : 0;
}

void memory_stream::cancel() noexcept
{
    if (channel_)
        channel_->cancel(side_);
}

void memory_stream::close() noexcept
{
    if (channel_)
        channel_->close(side_);
}

std::pair<memory_stream, memory_stream>
make_memory_stream_pair(const net::any_io_executor& first, const net::any_io_executor& second,
                        std::size_t capacity)
{
    auto channel = std::make_shared<detail::memory_channel>(first, second, std::max<std::size_t>(capacity, 1));
    detail::on_context_shutdown(first, channel);
    if (&detail::context_of(second) != &detail::context_of(first))
        detail::on_context_shutdown(second, channel);
    return {memory_stream(channel, 0, first), memory_stream(channel, 1, second)};
}

} // namespace zmtp::asio
