// SPDX-License-Identifier: MPL-2.0
// How connection<Stream> closes a stream it runs over. Any stream with
// lowest_layer() (sockets, descriptors, ssl::stream) is closed there; any
// other stream needs a member close(error_code&) or close().
#pragma once

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

} // namespace zmtp::asio
