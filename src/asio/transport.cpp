// SPDX-License-Identifier: MPL-2.0
// What listeners and connectors share: the options of a TCP connection, the
// peer's address, what is left of the handshake deadline, and which
// handshake failures are refusals.
#include "transport_internal.hpp"

#include <boost/asio/ssl/error.hpp>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>

namespace zmtp::asio::detail {
namespace {

// An integer socket option; a failure leaves the system default (the
// kernel takes any value of the options set with it).
void set_int_option(net::ip::tcp::socket& s, int level, int name, int value)
{
    ::setsockopt(s.native_handle(), level, name, &value, sizeof value);
}

} // namespace

void apply_tcp_options(net::ip::tcp::socket& s, const socket_options& o)
{
    error_code ec;
    s.set_option(net::ip::tcp::no_delay(true), ec);
    if (o.tcp_keepalive >= 0)
        s.set_option(net::socket_base::keep_alive(o.tcp_keepalive != 0), ec);
    if (o.tcp_maxrt.count() > 0)
        set_int_option(s, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(o.tcp_maxrt.count()));
    if (o.tos != 0) {
        if (s.local_endpoint(ec).address().is_v6())
            set_int_option(s, IPPROTO_IPV6, IPV6_TCLASS, o.tos);
        else
            set_int_option(s, IPPROTO_IP, IP_TOS, o.tos);
    }
}

void apply_tcp_options(net::local::stream_protocol::socket&, const socket_options&) {}

std::string address_of(const net::ip::tcp::endpoint& peer)
{
    return endpoint_name(peer);
}

std::string address_of(const net::local::stream_protocol::endpoint&)
{
    return {};
}

std::chrono::milliseconds remaining(std::chrono::milliseconds deadline,
                                    std::optional<std::chrono::steady_clock::time_point> since)
{
    if (!since)
        return deadline;
    const auto used = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - *since);
    return std::max(deadline - used, std::chrono::milliseconds(1));
}

bool refusal(error_code ec)
{
    const std::error_code e = ec;
    return ec.category() == net::error::get_ssl_category() || e == zmtp::condition::protocol_violation ||
           e == zmtp::condition::limit_exceeded || e == zmtp::condition::security_failure ||
           e == zmtp::error::peer_error;
}

} // namespace zmtp::asio::detail
