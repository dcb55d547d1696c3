// SPDX-License-Identifier: MPL-2.0
// A stream given to socket::attach, seen through the socket's strand: its
// operations complete there whatever executor the stream itself has, so a
// peer over it is handled like any other, never concurrently with the
// socket. The stream's own executor only does its I/O.
#pragma once

#include "zmtp/asio/error.hpp"
#include "zmtp/asio/stream_traits.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/bind_executor.hpp>

#include <utility>

namespace zmtp::asio::detail {

namespace net = boost::asio;

template <class Stream>
class attached_stream {
public:
    using executor_type = net::any_io_executor;

    attached_stream(Stream stream, executor_type strand)
        : stream_(std::move(stream)), strand_(std::move(strand))
    {
    }

    executor_type get_executor() const noexcept { return strand_; }
    Stream& next_layer() noexcept { return stream_; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token)
    {
        return stream_.async_read_some(buffers, net::bind_executor(strand_, std::forward<Token>(token)));
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token)
    {
        return stream_.async_write_some(buffers, net::bind_executor(strand_, std::forward<Token>(token)));
    }

    void close(error_code&) { close_stream(stream_); }
    void discard_unread_on_close() noexcept { asio::discard_unread_on_close(stream_); }

private:
    Stream stream_;
    executor_type strand_;
};

} // namespace zmtp::asio::detail
