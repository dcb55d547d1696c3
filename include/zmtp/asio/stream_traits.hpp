// SPDX-License-Identifier: MPL-2.0
// How connection<Stream> closes a stream it runs over. Any stream with
// lowest_layer() (sockets, descriptors, ssl::stream) is closed there; any
// other stream needs a member close(error_code&) or close().
#pragma once

#include <boost/asio/socket_base.hpp>
#include <boost/system/error_code.hpp>

namespace zmtp::asio {

template <class Stream>
void close_stream(Stream& s) noexcept
{
    boost::system::error_code ignored;
    if constexpr (requires { s.lowest_layer().close(ignored); })
        s.lowest_layer().close(ignored);
    else if constexpr (requires { s.close(ignored); })
        s.close(ignored);
    else
        s.close();
}

// Makes the next close of `s` discard what its peer has not read (on a
// socket: SO_LINGER 0, a TCP reset) instead of leaving it to the kernel.
// For a peer presumed gone: the kernel would otherwise keep its unread
// bytes, up to the send buffer's size, trying to deliver them for minutes
// after the connection is closed. A stream below the socket (ssl::stream,
// a WebSocket) passes it down through lowest_layer() or a member
// discard_unread_on_close(); a stream with neither (pipes) is unchanged.
template <class Stream>
void discard_unread_on_close(Stream& s) noexcept
{
    boost::system::error_code ignored;
    if constexpr (requires { s.discard_unread_on_close(); })
        s.discard_unread_on_close();
    else if constexpr (requires { s.lowest_layer().set_option(boost::asio::socket_base::linger(true, 0), ignored); })
        s.lowest_layer().set_option(boost::asio::socket_base::linger(true, 0), ignored);
}

} // namespace zmtp::asio
