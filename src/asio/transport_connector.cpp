// SPDX-License-Identifier: MPL-2.0
// Connectors, one per connect(): tcp, ipc, exec and inproc (and the tls+, ws
// and wss forms), reconnecting with back-off and jitter.
#include "transport_internal.hpp"

#include "exec.hpp"
#include "inproc.hpp"
#include "tls.hpp"
#include "ws.hpp"

#include <boost/asio/connect.hpp>

#include <algorithm>

namespace zmtp::asio::detail {

connector::connector(socket_impl& owner, endpoint ep, std::string text)
    : owner_(&owner),
      ep_(std::move(ep)),
      text_(std::move(text)),
      timer_(owner.executor()),
      resolver_(owner.executor()),
      tls_(ep_.tls ? make_client_context(owner.options().tls) : nullptr),
      server_name_(!owner.options().tls.server_name.empty() ? owner.options().tls.server_name
                   : ep_.kind == endpoint::transport::tcp  ? ep_.host
                                                           : std::string()),
      delay_(owner.options().reconnect_ivl),
      jitter_(std::random_device{}())
{
}

void connector::start()
{
    attempt();
}

void connector::attempt()
{
    if (closed_)
        return;
    if (ep_.kind == endpoint::transport::tcp)
        attempt_tcp();
    else if (ep_.kind == endpoint::transport::exec)
        attempt_exec();
    else if (ep_.kind == endpoint::transport::inproc)
        attempt_inproc();
    else
        attempt_ipc();
}

void connector::attempt_tcp()
{
    tcp_ = std::make_shared<net::ip::tcp::socket>(owner_->executor());
    auto on_resolved = [self = shared_from_this(), sock = tcp_](error_code ec,
                                                               net::ip::tcp::resolver::results_type results) {
        if (self->closed_)
            return;
        if (ec)
            return self->retry(ec);
        self->connect_tcp(sock, std::move(results), 0, {});
    };
    // Names resolve to IPv4 addresses only unless ipv6 is on, as in libzmq;
    // an address written out is used as it is.
    error_code not_literal;
    net::ip::make_address(ep_.host, not_literal);
    if (owner_->options().ipv6 || !not_literal)
        resolver_.async_resolve(ep_.host, std::to_string(ep_.port), std::move(on_resolved));
    else
        resolver_.async_resolve(net::ip::tcp::v4(), ep_.host, std::to_string(ep_.port), std::move(on_resolved));
}

// Each resolved address in turn, as net::async_connect tries them, on a
// socket opened here so that bind_to_device applies before connecting.
void connector::connect_tcp(std::shared_ptr<net::ip::tcp::socket> sock,
                            net::ip::tcp::resolver::results_type results, std::size_t next, error_code last)
{
    if (next >= results.size()) {
        if (last == net::error::connection_refused && stopped(last, true, last.message()))
            return;
        return retry(last ? last : error_code(net::error::host_not_found));
    }
    const net::ip::tcp::endpoint to = std::next(results.begin(), static_cast<std::ptrdiff_t>(next))->endpoint();
    error_code ec;
    sock->close(ec);
    sock->open(to.protocol(), ec);
    const std::string& device = owner_->options().bind_to_device;
    if (!ec && !device.empty())
        ec = detail::bind_to_device(sock->native_handle(), device);
    if (ec)
        return retry(ec, device.empty() ? std::string()
                                        : "cannot bind to network interface '" + device + "': " + ec.message());
    sock->async_connect(to, [self = shared_from_this(), sock, results, next, to](error_code ec2) {
        if (self->closed_)
            return;
        if (ec2)
            return self->connect_tcp(sock, results, next + 1, ec2);
        apply_tcp_options(*sock, self->owner_->options());
        self->connected(*sock, address_of(to));
    });
}

void connector::attempt_ipc()
{
    ipc_ = std::make_shared<net::local::stream_protocol::socket>(owner_->executor());
    ipc_->async_connect(ipc_address(ep_), [self = shared_from_this(), sock = ipc_](error_code ec) {
        if (self->closed_)
            return;
        if (ec == net::error::connection_refused && self->stopped(ec, true, ec.message()))
            return;
        if (ec)
            return self->retry(ec);
        self->connected(*sock, {});
    });
}

// A fresh child for every connection; it is ended with the connection
// (exec_stream), and connection_lost() waits for it to be reaped.
void connector::attempt_exec()
{
    try {
        exec_stream stream = start_command(owner_->executor(), ep_.command);
        child_ = stream.child();
        std::string address = text_ + " (pid " + std::to_string(child_->pid()) + ")";
        owner_->notify(monitor_event(monitor_event_type::connected, text_, address));
        owner_->adopt(std::move(stream), slot_, text_, std::move(address));
    } catch (const boost::system::system_error& e) {
        retry(e.code(), e.what());
    }
}

// Connects at once when the name is bound; otherwise the bind, whenever it
// comes, calls attempt() again: no polling, no retries meanwhile.
void connector::attempt_inproc()
{
    auto end = inproc_connect(*owner_, ep_.name, this, [weak = weak_from_this()] {
        if (auto self = weak.lock())
            self->attempt();
    });
    if (!end)
        return;
    owner_->notify(monitor_event(monitor_event_type::connected, text_, {}));
    inproc_adopt(*owner_, std::move(*end), slot_, text_);
}

template <class Socket>
void connector::connected(Socket& sock, std::string address)
{
    owner_->notify(monitor_event(monitor_event_type::connected, text_, address));
    constexpr bool over_tcp = std::is_same_v<Socket, net::ip::tcp::socket>;
    if (!tls_) {
        if constexpr (over_tcp)
            if (ep_.websocket)
                return upgrade(std::move(sock), std::move(address), {});
        owner_->adopt(std::move(sock), slot_, text_, std::move(address));
        return;
    }
    auto h = std::make_shared<tls_handshake<Socket>>(std::move(sock), *tls_);
    prepare_client(h->stream.ssl().native_handle(), server_name_);
    cancel_handshake_ = [weak = std::weak_ptr(h)] {
        if (auto hs = weak.lock())
            hs->cancel();
    };
    h->start(ssl::stream_base::client, owner_->options().handshake_timeout,
             [self = shared_from_this(), h, address = std::move(address)](error_code ec,
                                                                          std::string reason) mutable {
                 self->cancel_handshake_ = nullptr;
                 if (self->closed_)
                     return;
                 if (ec)
                     return self->handshake_failed(address, ec, std::move(reason));
                 transport_facts facts{peer_properties(h->stream.ssl().native_handle()), h->started};
                 if constexpr (over_tcp)
                     if (self->ep_.websocket)
                         return self->upgrade(std::move(h->stream.ssl()), std::move(address), std::move(facts));
                 self->owner_->adopt(std::move(h->stream), self->slot_, self->text_,
                                     std::move(address), {}, std::move(facts));
             });
}

template <class Stream>
void connector::upgrade(Stream s, std::string address, transport_facts facts)
{
    ws_settings settings = ws_settings_for(*owner_);
    settings.deadline = remaining(settings.deadline, facts.handshake_started);
    const bool v6 = ep_.host.find(':') != std::string::npos;
    settings.host = (v6 ? "[" + ep_.host + "]" : ep_.host) + ":" + std::to_string(ep_.port);
    settings.target = ep_.path;
    auto u = ws_connect(std::move(s), std::move(settings),
                        [self = shared_from_this(), address = std::move(address),
                         facts = std::move(facts)](error_code ec, std::string reason, ws_adopt adopt) mutable {
                            self->cancel_handshake_ = nullptr;
                            if (self->closed_)
                                return;
                            if (ec)
                                return self->handshake_failed(address, ec, std::move(reason));
                            adopt(*self->owner_, self->slot_, self->text_, std::move(address), {},
                                  std::move(facts));
                        });
    cancel_handshake_ = [weak = std::weak_ptr(u)] {
        if (auto up = weak.lock())
            up->cancel();
    };
}

void connector::handshake_failed(const std::string& address, error_code ec, std::string reason)
{
    monitor_event e(monitor_event_type::handshake_failed, text_, address);
    e.error = ec;
    e.reason = reason;
    owner_->notify(std::move(e));
    if (!refusal(ec) || !stopped(ec, false, std::move(reason)))
        retry(ec);
}

bool connector::stopped(error_code ec, bool connection_refused, std::string reason)
{
    auto self = shared_from_this(); // the socket lets go of this connector when it stops
    if (!owner_->connect_failed(slot_, connection_refused))
        return false;
    monitor_event e(monitor_event_type::closed, text_);
    e.error = ec;
    e.reason = std::move(reason.append(pattern::socket_core::not_reconnecting));
    owner_->notify(std::move(e));
    return true;
}

std::chrono::milliseconds connector::next_delay()
{
    // ±50 % jitter so that many peers do not come back at the same instant.
    const auto base = std::max<std::int64_t>(delay_.count(), 1);
    std::uniform_int_distribution<std::int64_t> spread(base / 2, base + base / 2);
    const std::chrono::milliseconds d(spread(jitter_));
    const auto max = owner_->options().reconnect_ivl_max;
    if (max > delay_)
        delay_ = std::min(delay_ * 2, max);
    return d;
}

void connector::retry(error_code ec, std::string reason)
{
    const auto d = next_delay();
    monitor_event e{monitor_event_type::connect_retried, text_, {}};
    e.error = ec;
    e.reason = reason.empty() ? ec.message() : std::move(reason);
    e.retry_in = d;
    owner_->notify(std::move(e));
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this()](error_code wait_ec) {
        if (!wait_ec && !self->closed_)
            self->attempt();
    });
}

void connector::connection_lost()
{
    if (closed_)
        return;
    if (!child_)
        return retry(make_error_code(error::connection_closed));
    // exec: the next command starts once this one is over, and the retry
    // says how it ended (a shell that cannot find the command: 127).
    auto child = std::exchange(child_, nullptr);
    child->end();
    child->on_reaped([self = shared_from_this(), pid = child->pid()](int status) {
        if (!self->closed_)
            self->retry(exit_error(status),
                        "the command (pid " + std::to_string(pid) + ") " + describe_exit(status));
    });
}

void connector::reset_backoff() noexcept
{
    delay_ = owner_->options().reconnect_ivl;
}

void connector::close()
{
    closed_ = true;
    timer_.cancel();
    resolver_.cancel();
    error_code ignored;
    if (tcp_)
        tcp_->close(ignored);
    if (ipc_)
        ipc_->close(ignored);
    if (cancel_handshake_)
        std::exchange(cancel_handshake_, nullptr)();
    if (ep_.kind == endpoint::transport::inproc)
        inproc_forget(ep_.name, this);
}

} // namespace zmtp::asio::detail
