// SPDX-License-Identifier: MPL-2.0
// Endpoint strings and the small helpers that turn them into listening and
// connected Asio sockets:
//
//   tcp://HOST:PORT   HOST: `*`, an IPv4 address, `[IPv6]` or a name;
//                     PORT: a number, or `0` / `*` for any free port (bind)
//   ipc://PATH        a Unix-domain stream socket at PATH (`@NAME`: Linux
//                     abstract namespace)
//   tls+tcp://HOST:PORT, tls+ipc://PATH
//                     the same, with TLS inside (endpoint::tls)
//   ws://HOST:PORT[/PATH], wss://HOST:PORT[/PATH]
//                     ZMTP over WebSocket (ZWS 2.0), wss inside TLS; PATH
//                     (default /) is the HTTP request's target
//   inproc://NAME     sockets of this process, joined in memory (any
//                     non-empty NAME); a connect may come before the bind
//   exec:COMMAND      connect only: ZMTP over the stdin and stdout of
//                     `/bin/sh -c COMMAND`, e.g. exec:ssh host socat - tcp:h:5555
//
// parse_endpoint() checks the syntax only; bind() and async_connect_retry()
// are where names are resolved and roles checked (a connect needs a real
// host and port; exec: cannot be bound). TLS and exec: are the socket's
// business (socket_options::tls, a connector running the command).
#pragma once

#include <boost/asio/compose.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace zmtp::asio {

namespace net = boost::asio;

// A malformed endpoint string; what() is one line saying what is wrong.
class endpoint_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

struct endpoint {
    enum class transport { tcp, ipc, exec, inproc };

    transport kind = transport::tcp;
    std::string host;        // tcp: without brackets; "*" for any address
    std::uint16_t port = 0;  // tcp: 0 means any (from `0` or `*`)
    std::string path;        // ipc: the socket's path; ws: the HTTP target ("/...")
    std::string command;     // exec: given to /bin/sh -c as it is
    std::string name;        // inproc
    bool tls = false;        // tls+tcp://, tls+ipc:// or wss://
    bool websocket = false;  // ws:// or wss:// (kind tcp)

    bool any_host() const noexcept { return kind == transport::tcp && host == "*"; }
    bool any_port() const noexcept { return kind == transport::tcp && port == 0; }

    std::string to_string() const
    {
        if (kind == transport::exec)
            return "exec:" + command;
        if (kind == transport::inproc)
            return "inproc://" + name;
        const std::string scheme = tls ? "tls+" : "";
        if (kind == transport::ipc)
            return scheme + "ipc://" + path;
        const bool v6 = host.find(':') != std::string::npos;
        const std::string address = (v6 ? "[" + host + "]" : host) + ":" +
                                    (port == 0 ? std::string("*") : std::to_string(port));
        if (websocket)
            return (tls ? "wss://" : "ws://") + address + path;
        return scheme + "tcp://" + address;
    }
};

// Parses an endpoint string; throws endpoint_error on anything malformed.
inline endpoint parse_endpoint(std::string_view full)
{
    const auto fail = [&](std::string_view why) {
        throw endpoint_error("malformed endpoint '" + std::string(full) + "': " + std::string(why));
    };
    endpoint ep;
    std::string_view text = full;
    if (text.starts_with("exec:")) {
        ep.kind = endpoint::transport::exec;
        ep.command = std::string(text.substr(5));
        if (ep.command.find_first_not_of(" \t") == std::string::npos)
            fail("exec: needs a command");
        if (ep.command.find('\0') != std::string::npos)
            fail("the command contains a NUL byte");
        return ep;
    }
    if (text.starts_with("inproc://")) {
        ep.kind = endpoint::transport::inproc;
        ep.name = std::string(text.substr(9));
        if (ep.name.empty())
            fail("inproc:// needs a name");
        return ep;
    }
    std::string_view rest;
    if (text.starts_with("ws://") || text.starts_with("wss://")) {
        ep.websocket = true;
        ep.tls = text[2] == 's';
        rest = text.substr(ep.tls ? 6 : 5);
        // The path starts at the first '/' after the host (an IPv6
        // address in brackets has none).
        const auto slash = rest.find('/', rest.starts_with("[") ? rest.find(']') : 0);
        ep.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
        rest = rest.substr(0, slash);
        if (ep.path.find_first_of(" \t\r\n") != std::string::npos || ep.path.find('\0') != std::string::npos)
            fail("invalid character in the path '" + ep.path + "'");
    } else if (text.starts_with("tls+")) {
        ep.tls = true;
        text.remove_prefix(4);
        if (!text.starts_with("tcp://") && !text.starts_with("ipc://"))
            fail("expected tls+tcp://HOST:PORT or tls+ipc://PATH");
    }
    if (text.starts_with("ipc://")) {
        ep.kind = endpoint::transport::ipc;
        ep.path = std::string(text.substr(6));
        if (ep.path.empty())
            fail("ipc:// needs a path");
        if (ep.path.find('\0') != std::string::npos)
            fail("the path contains a NUL byte");
        // sun_path holds 108 bytes including the terminating NUL.
        if (ep.path.size() > 107)
            fail("the path is longer than 107 bytes");
        return ep;
    }
    if (!ep.websocket && !text.starts_with("tcp://")) {
        const auto scheme_end = text.find("://");
        if (scheme_end == std::string_view::npos)
            fail("expected tcp://HOST:PORT, ipc://PATH or exec:COMMAND");
        fail("unsupported transport '" + std::string(text.substr(0, scheme_end)) +
             "' (expected tcp, ipc, tls+tcp, tls+ipc, ws, wss, inproc or exec:)");
    }
    if (!ep.websocket)
        rest = text.substr(6);
    std::string_view host;
    std::string_view port;
    if (rest.starts_with("[")) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos)
            fail("missing ']' after the IPv6 address");
        host = rest.substr(1, close - 1);
        rest.remove_prefix(close + 1);
        if (!rest.starts_with(":"))
            fail("expected ':PORT' after the IPv6 address");
        port = rest.substr(1);
        boost::system::error_code ec;
        net::ip::make_address_v6(std::string(host), ec);
        if (ec)
            fail("'" + std::string(host) + "' is not an IPv6 address");
    } else {
        const auto colon = rest.rfind(':');
        if (colon == std::string_view::npos)
            fail("missing ':PORT'");
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            fail("an IPv6 address must be written in brackets, as [::1]");
    }
    if (host.empty())
        fail("missing host (use * for any address)");
    if (host.find_first_of("/ \t") != std::string_view::npos)
        fail("invalid character in host '" + std::string(host) + "'");
    if (port.empty())
        fail("missing port (use 0 or * for any free port)");
    if (port != "*") {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value > 65535)
            fail("port '" + std::string(port) + "' is not a number from 0 to 65535");
        ep.port = static_cast<std::uint16_t>(value);
    }
    ep.host = std::string(host);
    return ep;
}

// libzmq's ZMQ_RECONNECT_IVL and ZMQ_RECONNECT_IVL_MAX: the first retry
// after `interval`; when interval_max is above it, each further retry waits
// twice as long, up to interval_max.
struct reconnect_options {
    std::chrono::milliseconds interval{100};
    std::chrono::milliseconds interval_max{0};

    std::chrono::milliseconds next(std::chrono::milliseconds previous) const noexcept
    {
        if (previous.count() <= 0 || interval_max <= interval)
            return interval;
        return std::min(previous * 2, interval_max);
    }
};

namespace detail {

inline void throw_if(boost::system::error_code ec, const std::string& what)
{
    // A fresh code without Asio's source location keeps what() to one line.
    if (ec)
        throw boost::system::system_error(
            boost::system::error_code(ec.value(), ec.category()), what);
}

inline net::local::stream_protocol::endpoint ipc_address(const endpoint& ep)
{
    std::string path = ep.path;
    if (path.starts_with("@"))
        path[0] = '\0'; // Linux abstract namespace
    return net::local::stream_protocol::endpoint(path);
}

} // namespace detail

// How bind() listens on tcp (zmtp::socket takes them from its options).
struct listen_options {
    int backlog = 128;
    // `*` listens on every IPv6 and IPv4 address (dual-stack [::]) and a
    // name may resolve to an IPv6 address; off, both are IPv4 only, as in
    // libzmq (ZMQ_IPV6). An IPv6 address written out ([::1]) is used
    // either way.
    bool ipv6 = false;
    // The network interface the listener is bound to (SO_BINDTODEVICE,
    // Linux, needs CAP_NET_RAW); empty: any (ZMQ_BINDTODEVICE).
    std::string device;
};

namespace detail {

// SO_BINDTODEVICE on a socket about to bind or connect; an error where the
// platform or the process's privileges refuse it, or the device is unknown.
inline boost::system::error_code bind_to_device(int fd, const std::string& device)
{
#ifdef SO_BINDTODEVICE
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device.data(), static_cast<socklen_t>(device.size())) != 0)
        return {errno, boost::system::system_category()};
    return {};
#else
    (void)fd;
    (void)device;
    return net::error::operation_not_supported;
#endif
}

} // namespace detail

// Opens, binds and listens. For tcp, a name resolves to its first address
// and `*` means every IPv4 address (as libzmq does; with ipv6, every
// address). For ipc, a stale socket file at PATH is removed first (as
// libzmq does); any other file there is an error. Throws
// boost::system::system_error, or endpoint_error for an endpoint that
// cannot be bound.
inline void bind(net::ip::tcp::acceptor& acceptor, const endpoint& ep, const listen_options& how = {})
{
    if (ep.kind != endpoint::transport::tcp)
        throw endpoint_error("cannot bind a tcp listener to " + ep.to_string());
    net::ip::tcp::endpoint address;
    if (ep.any_host()) {
        address = net::ip::tcp::endpoint(how.ipv6 ? net::ip::tcp::v6() : net::ip::tcp::v4(), ep.port);
    } else {
        boost::system::error_code ec;
        const auto ip = net::ip::make_address(ep.host, ec);
        if (!ec) {
            address = net::ip::tcp::endpoint(ip, ep.port);
        } else {
            net::ip::tcp::resolver resolver(acceptor.get_executor());
            const auto results = how.ipv6 ? resolver.resolve(ep.host, std::to_string(ep.port), ec)
                                          : resolver.resolve(net::ip::tcp::v4(), ep.host,
                                                             std::to_string(ep.port), ec);
            detail::throw_if(ec, "cannot resolve '" + ep.host + "'" + (how.ipv6 ? "" : " to an IPv4 address"));
            address = results.begin()->endpoint();
        }
    }
    boost::system::error_code ec;
    acceptor.open(address.protocol(), ec);
    detail::throw_if(ec, "cannot open a socket for " + ep.to_string());
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!how.device.empty())
        detail::throw_if(detail::bind_to_device(acceptor.native_handle(), how.device),
                         "cannot bind " + ep.to_string() + " to network interface '" + how.device + "'");
    if (ep.any_host() && how.ipv6)
        acceptor.set_option(net::ip::v6_only(false), ec);
    acceptor.bind(address, ec);
    detail::throw_if(ec, "cannot bind " + ep.to_string());
    acceptor.listen(how.backlog, ec);
    detail::throw_if(ec, "cannot listen on " + ep.to_string());
}

inline void bind(net::local::stream_protocol::acceptor& acceptor, const endpoint& ep,
                 const listen_options& how = {})
{
    if (ep.kind != endpoint::transport::ipc)
        throw endpoint_error("cannot bind an ipc listener to " + ep.to_string());
    if (!ep.path.starts_with("@")) {
        struct stat st {};
        if (::lstat(ep.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
            ::unlink(ep.path.c_str());
    }
    boost::system::error_code ec;
    acceptor.open(net::local::stream_protocol(), ec);
    detail::throw_if(ec, "cannot open a socket for " + ep.to_string());
    acceptor.bind(detail::ipc_address(ep), ec);
    detail::throw_if(ec, "cannot bind " + ep.to_string());
    acceptor.listen(how.backlog, ec);
    detail::throw_if(ec, "cannot listen on " + ep.to_string());
}

// The endpoint a listener really has, with the real port:
// "tcp://127.0.0.1:40123", "tcp://[::1]:40123", "ipc:///tmp/x.sock".
inline std::string bound_endpoint(const net::ip::tcp::acceptor& acceptor)
{
    const auto local = acceptor.local_endpoint();
    const auto ip = local.address();
    const std::string host = ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
    return "tcp://" + host + ":" + std::to_string(local.port());
}

inline std::string bound_endpoint(const net::local::stream_protocol::acceptor& acceptor)
{
    std::string path = acceptor.local_endpoint().path();
    if (!path.empty() && path[0] == '\0')
        path[0] = '@';
    return "ipc://" + path;
}

// "tcp://10.0.0.1:5555", "tcp://[::1]:5555": a peer's name, from the
// endpoint accept() or connect() gave (a socket's remote_endpoint() fails
// once the peer has reset the connection).
inline std::string endpoint_name(const net::ip::tcp::endpoint& peer)
{
    const auto ip = peer.address();
    const std::string host = ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
    return "tcp://" + host + ":" + std::to_string(peer.port());
}

namespace detail {

// Connects, and on failure waits and tries again, until connected or
// cancelled. Names are resolved afresh on every attempt.
template <class Socket>
struct connect_retry_op {
    Socket& socket;
    endpoint ep;
    reconnect_options reconnect;
    std::unique_ptr<net::steady_timer> timer;
    std::unique_ptr<net::ip::tcp::resolver> resolver;
    std::chrono::milliseconds delay{0};
    enum class step { start, resolved, connected, waited } at = step::start;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {})
    {
        if (at != step::start && self.get_cancellation_state().cancelled() !=
                                     net::cancellation_type::none) {
            self.complete(net::error::operation_aborted);
            return;
        }
        switch (at) {
        case step::start:
            timer = std::make_unique<net::steady_timer>(socket.get_executor());
            attempt(self);
            return;
        case step::connected:
            if (!ec) {
                self.complete({});
                return;
            }
            retry_later(self);
            return;
        case step::waited:
            if (ec) {
                self.complete(ec);
                return;
            }
            attempt(self);
            return;
        case step::resolved:
            return; // completes through the overload that takes the results
        }
    }

    // tcp: the resolver's answer.
    template <class Self>
    void operator()(Self& self, boost::system::error_code ec,
                    net::ip::tcp::resolver::results_type results)
    {
        if (self.get_cancellation_state().cancelled() != net::cancellation_type::none) {
            self.complete(net::error::operation_aborted);
            return;
        }
        if (ec) {
            retry_later(self);
            return;
        }
        at = step::connected;
        net::async_connect(socket, results, std::move(self));
    }

    // tcp: net::async_connect's completion carries the endpoint.
    template <class Self>
    void operator()(Self& self, boost::system::error_code ec, const net::ip::tcp::endpoint&)
    {
        (*this)(self, ec);
    }

    template <class Self>
    void attempt(Self& self)
    {
        boost::system::error_code ignored;
        if (socket.is_open())
            socket.close(ignored);
        if constexpr (std::is_same_v<Socket, net::ip::tcp::socket>) {
            at = step::resolved;
            if (!resolver)
                resolver = std::make_unique<net::ip::tcp::resolver>(socket.get_executor());
            resolver->async_resolve(ep.host, std::to_string(ep.port), std::move(self));
        } else {
            at = step::connected;
            socket.async_connect(ipc_address(ep), std::move(self));
        }
    }

    template <class Self>
    void retry_later(Self& self)
    {
        delay = reconnect.next(delay);
        at = step::waited;
        timer->expires_after(delay);
        timer->async_wait(std::move(self));
    }
};

} // namespace detail

// Connects `socket` to `ep`, retrying every reconnect.interval (growing to
// reconnect.interval_max) until it succeeds. Completes with
// void(error_code): success, or operation_aborted when cancelled through
// the token's cancellation slot. Throws endpoint_error at once for an
// endpoint no one can connect to (`*` host, port 0, wrong transport).
template <class Token>
auto async_connect_retry(net::ip::tcp::socket& socket, const endpoint& ep,
                         reconnect_options reconnect, Token&& token)
{
    if (ep.kind != endpoint::transport::tcp || ep.tls || ep.websocket)
        throw endpoint_error("cannot connect a tcp socket to " + ep.to_string());
    if (ep.any_host() || ep.any_port())
        throw endpoint_error("cannot connect to " + ep.to_string() +
                             ": a connect needs a host and a port");
    return net::async_compose<Token, void(boost::system::error_code)>(
        detail::connect_retry_op<net::ip::tcp::socket>{socket, ep, reconnect, {}, {}},
        token, socket);
}

template <class Token>
auto async_connect_retry(net::local::stream_protocol::socket& socket, const endpoint& ep,
                         reconnect_options reconnect, Token&& token)
{
    if (ep.kind != endpoint::transport::ipc || ep.tls)
        throw endpoint_error("cannot connect an ipc socket to " + ep.to_string());
    return net::async_compose<Token, void(boost::system::error_code)>(
        detail::connect_retry_op<net::local::stream_protocol::socket>{socket, ep, reconnect,
                                                                     {}, {}},
        token, socket);
}

} // namespace zmtp::asio
