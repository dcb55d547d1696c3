// zmtp's error codes seen from Asio. The core reports std::error_code;
// boost::system::error_code wraps it without loss, and compares equal to
// zmtp::error values and zmtp::condition values directly:
//
//   if (ec == zmtp::error::incompatible_socket_type) ...
//   if (ec == zmtp::condition::timed_out) ...
#pragma once

#include "zmtp/error.hpp"

#include <boost/system/error_code.hpp>

namespace zmtp::asio {

using error_code = boost::system::error_code;

inline error_code to_error_code(std::error_code ec) noexcept
{
    // Success needs no conversion (which costs a dynamic_cast).
    return ec ? error_code(ec) : error_code();
}

inline error_code to_error_code(zmtp::error e) noexcept
{
    return error_code(make_error_code(e));
}

} // namespace zmtp::asio
