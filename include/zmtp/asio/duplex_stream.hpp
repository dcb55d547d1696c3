// SPDX-License-Identifier: MPL-2.0
// Joins a read-only and a write-only stream into one AsyncReadStream +
// AsyncWriteStream, e.g. the two pipes to a child process' stdin and stdout,
// so that a connection can run over them.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <utility>

namespace zmtp::asio {

template <class ReadStream, class WriteStream>
class duplex_stream {
public:
    using executor_type = typename ReadStream::executor_type;

    duplex_stream(ReadStream in, WriteStream out) : in_(std::move(in)), out_(std::move(out)) {}

    executor_type get_executor() noexcept { return in_.get_executor(); }
    ReadStream& read_stream() noexcept { return in_; }
    WriteStream& write_stream() noexcept { return out_; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token)
    {
        return in_.async_read_some(buffers, std::forward<Token>(token));
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token)
    {
        return out_.async_write_some(buffers, std::forward<Token>(token));
    }

    void close(boost::system::error_code& ec)
    {
        boost::system::error_code second;
        in_.close(ec);
        out_.close(second);
        if (!ec)
            ec = second;
    }

private:
    ReadStream in_;
    WriteStream out_;
};

} // namespace zmtp::asio
