// SPDX-License-Identifier: MPL-2.0
// memory_stream: one end of an in-memory, full-duplex byte stream. A pair
// of them joins two parties of one process the way a connected socket pair
// would, without the kernel:
//
//   auto [a, b] = zmtp::asio::make_memory_stream_pair(ex_a, ex_b);
//   zmtp::asio::connection<zmtp::asio::memory_stream> left(options, std::move(a));
//
// Each end models AsyncReadStream and AsyncWriteStream and lives on its own
// executor: its operations complete there (through the handler's associated
// executor), so the two ends may run on different threads or io_contexts.
// As with a socket, one end is used from one thread at a time (a strand);
// the two ends need no synchronisation with each other.
//
// - Bytes are copied once when a read is waiting (straight from the
//   writer's buffers into the reader's), otherwise into a buffer that grows
//   up to `capacity` bytes per direction. A write that finds it full waits
//   until the reader makes room: memory is bounded, and a slow reader slows
//   its writer.
// - async_write_some may write part of what it is given (as over a
//   socket); async_read_some completes with whatever is there, at least one
//   byte. One read and one write may be outstanding per end; another fails
//   with error::in_progress.
// - close() (also the destructor) completes the end's outstanding
//   operations with operation_aborted. The other end still reads what was
//   written before, then eof; its writes fail with broken_pipe.
// - cancel(), or the handler's cancellation slot (any type), completes the
//   outstanding operations with operation_aborted.
// - An outstanding operation counts as work for its executor. When an
//   io_context is destroyed, the handlers still waiting on it are destroyed
//   too; the other end sees the stream closed.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <memory>
#include <ranges>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace zmtp::asio {

namespace net = boost::asio;

namespace detail {

class memory_channel;
using memory_handler = net::any_completion_handler<void(boost::system::error_code, std::size_t)>;

void memory_read(const std::shared_ptr<memory_channel>& channel, int side,
                 std::span<const net::mutable_buffer> buffers, memory_handler h);
void memory_write(const std::shared_ptr<memory_channel>& channel, int side,
                  std::span<const net::const_buffer> buffers, memory_handler h);

// Calls f with the buffers of `seq` as a span, copying the buffer
// descriptors only when the sequence is not one already.
template <class Buffer, class Sequence, class F>
void with_buffer_span(const Sequence& seq, F&& f)
{
    if constexpr (std::is_convertible_v<const Sequence&, Buffer>) {
        const Buffer one = seq;
        f(std::span<const Buffer>(&one, 1));
    } else if constexpr (std::ranges::contiguous_range<const Sequence> &&
                         std::is_same_v<std::ranges::range_value_t<const Sequence>, Buffer>) {
        f(std::span<const Buffer>(std::ranges::data(seq), std::ranges::size(seq)));
    } else {
        const std::vector<Buffer> copy(net::buffer_sequence_begin(seq), net::buffer_sequence_end(seq));
        f(std::span<const Buffer>(copy));
    }
}

} // namespace detail

class memory_stream {
public:
    using executor_type = net::any_io_executor;

    // Bytes buffered per direction at most, unless told otherwise.
    static constexpr std::size_t default_capacity = 256 * 1024;

    memory_stream(memory_stream&& other) noexcept = default;
    memory_stream& operator=(memory_stream&& other) noexcept
    {
        if (this != &other) {
            close();
            channel_ = std::move(other.channel_);
            side_ = other.side_;
            executor_ = std::move(other.executor_);
        }
        return *this;
    }
    // Closes this end.
    ~memory_stream() { close(); }

    executor_type get_executor() const noexcept { return executor_; }
    bool is_open() const noexcept;
    // Bytes the other end wrote that this end has not read yet.
    std::size_t available() const noexcept;

    // Reads at least one byte (eof once the other end closed and everything
    // it wrote was read). Signature: void(error_code, std::size_t).
    template <class MutableBufferSequence,
              class Token = net::default_completion_token_t<executor_type>>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token = {})
    {
        return net::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [](auto handler, std::shared_ptr<detail::memory_channel> channel, int side,
               const MutableBufferSequence& seq) {
                detail::with_buffer_span<net::mutable_buffer>(seq, [&](auto span) {
                    detail::memory_read(channel, side, span, detail::memory_handler(std::move(handler)));
                });
            },
            token, channel_, side_, buffers);
    }

    // Writes at least one byte, waiting while the other end's buffer is
    // full (broken_pipe once it closed). Signature: void(error_code, std::size_t).
    template <class ConstBufferSequence,
              class Token = net::default_completion_token_t<executor_type>>
    auto async_write_some(const ConstBufferSequence& buffers, Token&& token = {})
    {
        return net::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [](auto handler, std::shared_ptr<detail::memory_channel> channel, int side,
               const ConstBufferSequence& seq) {
                detail::with_buffer_span<net::const_buffer>(seq, [&](auto span) {
                    detail::memory_write(channel, side, span, detail::memory_handler(std::move(handler)));
                });
            },
            token, channel_, side_, buffers);
    }

    // Completes this end's outstanding operations with operation_aborted.
    void cancel() noexcept;
    void close() noexcept;
    void close(boost::system::error_code& ec) noexcept
    {
        ec = {};
        close();
    }

private:
    friend std::pair<memory_stream, memory_stream>
    make_memory_stream_pair(const net::any_io_executor&, const net::any_io_executor&, std::size_t);

    memory_stream(std::shared_ptr<detail::memory_channel> channel, int side, executor_type ex) noexcept
        : channel_(std::move(channel)), side_(side), executor_(std::move(ex))
    {
    }

    std::shared_ptr<detail::memory_channel> channel_;
    int side_ = 0;
    executor_type executor_;
};

// Two connected ends: the first on `first`, the second on `second`, each
// direction buffering up to `capacity` bytes (at least 1).
std::pair<memory_stream, memory_stream>
make_memory_stream_pair(const net::any_io_executor& first, const net::any_io_executor& second,
                        std::size_t capacity = memory_stream::default_capacity);

inline std::pair<memory_stream, memory_stream>
make_memory_stream_pair(const net::any_io_executor& ex,
                        std::size_t capacity = memory_stream::default_capacity)
{
    return make_memory_stream_pair(ex, ex, capacity);
}

} // namespace zmtp::asio
