// SPDX-License-Identifier: MPL-2.0
// zmtp's error codes seen from Asio. The core reports std::error_code;
// boost::system::error_code wraps it without loss, and compares equal to
// zmtp::error values and zmtp::condition values directly:
//
//   if (ec == zmtp::error::incompatible_socket_type) ...
//   if (ec == zmtp::condition::timed_out) ...
#pragma once

#include "zmtp/error.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <string>
#include <string_view>

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

// What the throwing overloads of socket::bind, connect, attach, unbind and
// disconnect throw: code() is the error, what() one line naming the
// operation's endpoint and saying what is wrong, e.g.
//   "malformed endpoint 'tcp://127.0.0.1:99999': port '99999' is not a number from 0 to 65535"
//   "bind tcp://127.0.0.1:0: plain_server and curve_server are both set"
// The error_code& overloads give the same text through their `detail`
// out-parameter.
class socket_error : public boost::system::system_error {
public:
    socket_error(error_code ec, std::string detail)
        : boost::system::system_error(ec, detail), detail_(std::move(detail))
    {
    }
    const char* what() const noexcept override { return detail_.c_str(); }

private:
    std::string detail_;
};

namespace detail {

// `reason` when it names `endpoint` already, else "OP ENDPOINT: reason"
// (the error's own message when there is no reason).
inline std::string failure_detail(std::string_view op, std::string_view endpoint,
                                  const std::string& reason, error_code ec)
{
    if (!reason.empty() && !endpoint.empty() && reason.find(endpoint) != std::string::npos)
        return reason;
    std::string out(op);
    if (!endpoint.empty())
        out.append(" ").append(endpoint);
    return out.append(": ").append(reason.empty() ? ec.message() : reason);
}

} // namespace detail

} // namespace zmtp::asio
