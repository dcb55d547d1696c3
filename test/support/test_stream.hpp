// SPDX-License-Identifier: MPL-2.0
// An in-memory, fault-injecting stream pair for testing code that runs over
// an Asio AsyncReadStream + AsyncWriteStream (connection<Stream>).
//
//   auto [a, b] = zmtp::test::make_test_stream_pair(io);
//
// Bytes written to one end are read from the other. To shake out code that
// assumes reads or writes move whole messages:
//
// - every read and write is cut at a random point (seeded, so a failure can
//   be replayed), never past max_read / max_write (1 = byte by byte);
// - fail_after(n) makes the n-th operation on an end, counted from the call,
//   complete with an error (injected_error() unless told otherwise);
// - closing an end cancels its pending read (operation_aborted); the other
//   end reads what is still buffered, then eof, and its writes fail with
//   broken_pipe, as over a socket.
//
// Completions are always posted, never run inside the initiating call. A
// pending read keeps the executor's work count up, like a socket's. The
// counters (read_ops, write_ops) let a test assert how many operations a
// piece of code needed, e.g. that writes were coalesced.
//
// Not thread-safe: use both ends from one thread.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace zmtp::test {

namespace net = boost::asio;
using error_code = boost::system::error_code;

// The error fail_after() injects by default.
class test_error_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "zmtp.test"; }
    std::string message(int) const override { return "injected test failure"; }
};

inline const boost::system::error_category& test_category() noexcept
{
    static const test_error_category category;
    return category;
}

inline error_code injected_error() noexcept
{
    return error_code(1, test_category());
}

struct test_stream_options {
    static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

    std::size_t max_read = unlimited;  // most bytes one read returns
    std::size_t max_write = unlimited; // most bytes one write accepts
    bool random_cuts = true;           // cut each operation at a random point
    std::uint32_t seed = 1;
};

namespace detail {

using io_handler = net::any_completion_handler<void(error_code, std::size_t)>;

struct test_stream_end {
    std::size_t max_read;
    std::size_t max_write;

    // Bytes the peer wrote that this end has not read: inbound[head..].
    std::vector<std::byte> inbound;
    std::size_t head = 0;
    bool closed = false;

    // The one pending read, waiting for bytes or eof.
    io_handler read_handler;
    std::vector<net::mutable_buffer> read_buffers;
    std::optional<net::any_io_executor> read_work;

    std::size_t ops = 0; // reads + writes, for fail_after
    std::size_t fail_at = 0;
    error_code fail_with;

    std::size_t read_ops = 0;
    std::size_t write_ops = 0;
    std::size_t bytes_read = 0;
    std::size_t bytes_written = 0;

    std::size_t available() const noexcept { return inbound.size() - head; }
};

class test_stream_link {
public:
    test_stream_link(net::any_io_executor ex, const test_stream_options& o)
        : executor(std::move(ex)), random_cuts(o.random_cuts), rng(o.seed)
    {
        for (auto& e : ends) {
            e.max_read = o.max_read;
            e.max_write = o.max_write;
        }
    }

    net::any_io_executor executor;
    bool random_cuts;
    std::mt19937 rng;
    std::array<test_stream_end, 2> ends;

    void start_read(int side, std::vector<net::mutable_buffer> buffers, io_handler h)
    {
        test_stream_end& e = ends[side];
        ++e.read_ops;
        if (auto ec = count_op(e))
            return post(std::move(h), ec, 0);
        if (e.closed)
            return post(std::move(h), net::error::bad_descriptor, 0);
        if (e.read_handler)
            return post(std::move(h), net::error::in_progress, 0);
        if (net::buffer_size(buffers) == 0)
            return post(std::move(h), {}, 0);
        e.read_buffers = std::move(buffers);
        e.read_handler.swap(h); // (Boost 1.81's move assignment recurses)
        e.read_work.emplace(net::prefer(executor, net::execution::outstanding_work.tracked));
        try_complete_read(side);
    }

    template <class ConstBuffers>
    void start_write(int side, const ConstBuffers& buffers, io_handler h)
    {
        test_stream_end& e = ends[side];
        test_stream_end& peer = ends[1 - side];
        ++e.write_ops;
        if (auto ec = count_op(e))
            return post(std::move(h), ec, 0);
        if (e.closed)
            return post(std::move(h), net::error::bad_descriptor, 0);
        const std::size_t total = net::buffer_size(buffers);
        if (total == 0)
            return post(std::move(h), {}, 0);
        if (peer.closed)
            return post(std::move(h), net::error::broken_pipe, 0);
        const std::size_t n = cut(total, e.max_write);
        std::size_t left = n;
        for (auto it = net::buffer_sequence_begin(buffers);
             left > 0 && it != net::buffer_sequence_end(buffers); ++it) {
            const net::const_buffer b = *it;
            const std::size_t take = std::min(left, b.size());
            const auto* p = static_cast<const std::byte*>(b.data());
            peer.inbound.insert(peer.inbound.end(), p, p + take);
            left -= take;
        }
        e.bytes_written += n;
        post(std::move(h), {}, n);
        try_complete_read(1 - side);
    }

    void close(int side)
    {
        test_stream_end& e = ends[side];
        if (e.closed)
            return;
        e.closed = true;
        if (e.read_handler)
            finish_read(e, net::error::operation_aborted, 0);
        try_complete_read(1 - side);
    }

private:
    error_code count_op(test_stream_end& e)
    {
        ++e.ops;
        if (e.fail_at != 0 && e.ops == e.fail_at) {
            e.fail_at = 0;
            return e.fail_with;
        }
        return {};
    }

    // How many of `total` bytes one operation moves.
    std::size_t cut(std::size_t total, std::size_t max)
    {
        const std::size_t limit = std::min(total, max);
        if (!random_cuts || limit <= 1)
            return limit;
        return std::uniform_int_distribution<std::size_t>(1, limit)(rng);
    }

    void try_complete_read(int side)
    {
        test_stream_end& e = ends[side];
        if (!e.read_handler)
            return;
        if (e.available() > 0) {
            const std::size_t want =
                std::min(e.available(), net::buffer_size(e.read_buffers));
            const std::size_t n = cut(want, e.max_read);
            const std::size_t copied = net::buffer_copy(
                e.read_buffers, net::const_buffer(e.inbound.data() + e.head, n));
            e.head += copied;
            if (e.head == e.inbound.size()) {
                e.inbound.clear();
                e.head = 0;
            } else if (e.head > 64 * 1024 && e.head * 2 > e.inbound.size()) {
                e.inbound.erase(e.inbound.begin(),
                                e.inbound.begin() + static_cast<std::ptrdiff_t>(e.head));
                e.head = 0;
            }
            e.bytes_read += copied;
            finish_read(e, {}, copied);
        } else if (ends[1 - side].closed) {
            finish_read(e, net::error::eof, 0);
        }
    }

    void finish_read(test_stream_end& e, error_code ec, std::size_t n)
    {
        io_handler h = std::move(e.read_handler);
        e.read_buffers.clear();
        post(std::move(h), ec, n);
        e.read_work.reset(); // after the post: the work count never drops to zero between
    }

    void post(io_handler h, error_code ec, std::size_t n)
    {
        net::post(executor, net::append(std::move(h), ec, n));
    }
};

} // namespace detail

class test_stream {
public:
    using executor_type = net::any_io_executor;

    test_stream(std::shared_ptr<detail::test_stream_link> link, int side) noexcept
        : link_(std::move(link)), side_(side)
    {
    }
    test_stream(test_stream&&) noexcept = default;
    test_stream& operator=(test_stream&& other) noexcept
    {
        if (this != &other) {
            close();
            link_ = std::move(other.link_);
            side_ = other.side_;
        }
        return *this;
    }
    // Like a socket: destroying an end closes it.
    ~test_stream() { close(); }

    executor_type get_executor() const noexcept { return link_->executor; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token)
    {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [](auto handler, std::shared_ptr<detail::test_stream_link> link, int side,
               std::vector<net::mutable_buffer> bufs) {
                link->start_read(side, std::move(bufs), detail::io_handler(std::move(handler)));
            },
            token, link_, side_,
            std::vector<net::mutable_buffer>(net::buffer_sequence_begin(buffers),
                                             net::buffer_sequence_end(buffers)));
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token)
    {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [](auto handler, std::shared_ptr<detail::test_stream_link> link, int side,
               std::vector<net::const_buffer> bufs) {
                link->start_write(side, bufs, detail::io_handler(std::move(handler)));
            },
            token, link_, side_,
            std::vector<net::const_buffer>(net::buffer_sequence_begin(buffers),
                                           net::buffer_sequence_end(buffers)));
    }

    void close(error_code& ec) noexcept
    {
        ec = {};
        close();
    }
    void close() noexcept
    {
        if (link_)
            link_->close(side_);
    }
    bool is_open() const noexcept { return link_ && !end().closed; }

    // The n-th read or write from now (1 = the next one) fails with `ec`.
    void fail_after(std::size_t n, error_code ec = injected_error())
    {
        end().fail_at = end().ops + n;
        end().fail_with = ec;
    }
    void set_max_read(std::size_t n) noexcept { end().max_read = n; }
    void set_max_write(std::size_t n) noexcept { end().max_write = n; }

    std::size_t read_ops() const noexcept { return end().read_ops; }
    std::size_t write_ops() const noexcept { return end().write_ops; }
    std::size_t bytes_read() const noexcept { return end().bytes_read; }
    std::size_t bytes_written() const noexcept { return end().bytes_written; }
    // Bytes the peer wrote that this end has not read yet.
    std::size_t buffered() const noexcept { return end().available(); }

private:
    detail::test_stream_end& end() const noexcept { return link_->ends[side_]; }

    std::shared_ptr<detail::test_stream_link> link_;
    int side_;
};

inline std::pair<test_stream, test_stream> make_test_stream_pair(net::any_io_executor ex,
                                                                 test_stream_options options = {})
{
    auto link = std::make_shared<detail::test_stream_link>(std::move(ex), options);
    return {test_stream(link, 0), test_stream(link, 1)};
}

inline std::pair<test_stream, test_stream> make_test_stream_pair(net::io_context& io,
                                                                 test_stream_options options = {})
{
    return make_test_stream_pair(io.get_executor(), options);
}

} // namespace zmtp::test
