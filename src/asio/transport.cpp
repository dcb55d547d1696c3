// SPDX-License-Identifier: MPL-2.0
#include "transport.hpp"

#include "exec.hpp"
#include "inproc.hpp"
#include "tls.hpp"
#include "ws.hpp"

#include <boost/asio/connect.hpp>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <optional>
#include <unordered_map>

namespace zmtp::asio::detail {
namespace {

// An integer socket option; a failure leaves the system default (the
// kernel takes any value of the options set with it).
void set_int_option(net::ip::tcp::socket& s, int level, int name, int value)
{
    ::setsockopt(s.native_handle(), level, name, &value, sizeof value);
}

// TCP options of every connection: Nagle off, as libzmq does (the codec
// already coalesces what is queued into one write, and a handshake's small
// writes must not wait for delayed ACKs), then keepalive, the
// retransmission limit and the type of service as configured.
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

// The peer's name and source address, from what accept() returned: it is
// known even when the peer has already reset the connection.
std::string address_of(const net::ip::tcp::endpoint& peer)
{
    return endpoint_name(peer);
}

std::string address_of(const net::local::stream_protocol::endpoint&)
{
    return {};
}

std::string source_of(const net::ip::tcp::endpoint& peer)
{
    return peer.address().to_string();
}

std::string source_of(const net::local::stream_protocol::endpoint&)
{
    return {}; // one local host: one source
}

// What is left of the handshake deadline for the next step of a handshake
// that began at `since` (one deadline for TLS, WebSocket and ZMTP).
std::chrono::milliseconds remaining(std::chrono::milliseconds deadline,
                                    std::optional<std::chrono::steady_clock::time_point> since)
{
    if (!since)
        return deadline;
    const auto used = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - *since);
    return std::max(deadline - used, std::chrono::milliseconds(1));
}

template <class Protocol>
class basic_listener final : public listener {
public:
    using socket_type = typename Protocol::socket;

    basic_listener(socket_impl& owner, const endpoint& ep, std::string requested)
        : owner_(&owner),
          acceptor_(owner.executor()),
          // Before binding: a bad TLS setting must leave no socket file behind.
          tls_(ep.tls ? make_server_context(owner.options().tls) : nullptr),
          websocket_(ep.websocket)
    {
        listen_options how;
        how.ipv6 = owner.options().ipv6;
        how.device = owner.options().bind_to_device;
        asio::bind(acceptor_, ep, how);
        const std::size_t limit = std::max<std::size_t>(owner.options().max_handshakes_per_listener, 1);
        slots_ = handshake_slots(limit, std::max<std::size_t>(limit / 4, 1));
        requested_ = std::move(requested);
        bound_ = (ep.tls ? "tls+" : "") + bound_endpoint(acceptor_);
        if (websocket_) // "ws://HOST:PORT/PATH"
            bound_ = (ep.tls ? "wss://" : "ws://") + bound_.substr(bound_.find("://") + 3) + ep.path;
        if constexpr (std::is_same_v<Protocol, net::local::stream_protocol>)
            path_ = ep.path;
    }

    void start() override { accept(); }

    void close() override
    {
        owner_ = nullptr;
        error_code ignored;
        acceptor_.close(ignored);
        for (auto& [ticket, cancel] : std::exchange(handshakes_, {}))
            cancel();
        // An ipc listener removes its socket file, as libzmq does.
        if (!path_.empty() && path_[0] != '@')
            ::unlink(path_.c_str());
    }

private:
    // TLS handshakes and WebSocket upgrades are keyed apart from peer ids,
    // which count up from 1.
    static constexpr handshake_slots::key tls_ticket_bit = handshake_slots::key{1} << 63;

    void accept()
    {
        if (!owner_)
            return;
        acceptor_.async_accept(
            owner_->executor(), peer_,
            [self = std::static_pointer_cast<basic_listener>(shared_from_this())](error_code ec,
                                                                                 socket_type s) {
                if (!self->owner_ || ec == net::error::operation_aborted)
                    return;
                // Accept errors (too many open files, ...) do not stop the listener.
                if (!ec)
                    self->admit(std::move(s));
                self->accept();
            });
    }

    // Every newcomer is taken in; at the limit, an older handshake gives
    // way (handshake_slots.hpp), so a flood never locks out new peers.
    void admit(socket_type s)
    {
        apply_tcp_options(s, owner_->options());
        std::string address = address_of(peer_);
        const std::string source = source_of(peer_);
        owner_->notify(monitor_event(monitor_event_type::accepted, bound_, address));
        if (tls_ || websocket_) {
            const handshake_slots::key ticket = tls_ticket_bit | next_ticket_++;
            make_room(slots_.admit(ticket, source));
            if (tls_)
                secure(std::move(s), std::move(address), ticket);
            else if constexpr (std::is_same_v<Protocol, net::ip::tcp>)
                upgrade(std::move(s), std::move(address), ticket, {});
            return;
        }
        auto self = std::static_pointer_cast<basic_listener>(shared_from_this());
        if (const peer_id p = owner_->adopt(std::move(s), 0, bound_, std::move(address), self))
            make_room(slots_.admit(p, source));
    }

    void make_room(std::optional<handshake_slots::key> victim)
    {
        if (!victim || !owner_)
            return;
        if ((*victim & tls_ticket_bit) == 0)
            return owner_->evict(*victim, eviction_reason());
        if (auto it = handshakes_.find(*victim); it != handshakes_.end())
            it->second(); // the handshake's callback reports it
    }

    std::string eviction_reason() const
    {
        return "handshake cut short for a newer connection: at most " + std::to_string(slots_.limit()) +
               " handshakes in progress on " + bound_ + ", " + std::to_string(slots_.share()) +
               " per source address";
    }

    // The TLS handshake and the WebSocket upgrade count as part of the
    // peer's handshake: each holds one of the listener's places until the
    // peer exists or has failed.
    void secure(socket_type s, std::string address, handshake_slots::key ticket)
    {
        auto h = std::make_shared<tls_handshake<socket_type>>(std::move(s), *tls_);
        prepare_server(h->stream.ssl().native_handle());
        handshakes_.emplace(ticket, [weak = std::weak_ptr(h)] {
            if (auto hs = weak.lock())
                hs->cancel();
        });
        h->start(ssl::stream_base::server, owner_->options().handshake_timeout,
                 [self = std::static_pointer_cast<basic_listener>(shared_from_this()), h, ticket,
                  address = std::move(address)](error_code ec, std::string reason) mutable {
                     if (!self->step_succeeded(ticket, address, ec, std::move(reason)))
                         return;
                     transport_facts facts{peer_properties(h->stream.ssl().native_handle()), h->started};
                     if constexpr (std::is_same_v<Protocol, net::ip::tcp>)
                         if (self->websocket_)
                             return self->upgrade(std::move(h->stream.ssl()), std::move(address), ticket,
                                                  std::move(facts));
                     self->adopted(ticket, self->owner_->adopt(std::move(h->stream), 0, self->bound_,
                                                               std::move(address), self, std::move(facts)));
                 });
    }

    template <class Stream>
    void upgrade(Stream s, std::string address, handshake_slots::key ticket, transport_facts facts)
    {
        ws_settings settings = ws_settings_for(*owner_);
        settings.deadline = remaining(settings.deadline, facts.handshake_started);
        // A verified client certificate asks for ZMTP 3 (codec_options::transport_authenticated).
        settings.bare_allowed = settings.bare_allowed && !facts.properties.find("TLS-Subject");
        auto u = ws_accept(
            std::move(s), std::move(settings),
            [self = std::static_pointer_cast<basic_listener>(shared_from_this()), ticket,
             address = std::move(address), facts = std::move(facts)](error_code ec, std::string reason,
                                                                      ws_adopt adopt) mutable {
                if (self->step_succeeded(ticket, address, ec, std::move(reason)))
                    self->adopted(ticket, adopt(*self->owner_, 0, self->bound_, std::move(address), self,
                                                std::move(facts)));
            });
        handshakes_[ticket] = [weak = std::weak_ptr(u)] {
            if (auto up = weak.lock())
                up->cancel();
        };
    }

    // A step of a transport handshake ended: false, and reported, when it
    // failed or its place was given to a newer connection.
    bool step_succeeded(handshake_slots::key ticket, const std::string& address, error_code ec,
                        std::string reason)
    {
        handshakes_.erase(ticket);
        if (!owner_)
            return false;
        if (!slots_.holds(ticket)) {
            ec = to_error_code(error::handshake_timeout);
            reason = eviction_reason();
        }
        if (!ec)
            return true;
        slots_.release(ticket);
        monitor_event e(monitor_event_type::handshake_failed, bound_, address);
        e.error = ec;
        e.reason = std::move(reason);
        owner_->notify(std::move(e));
        return false;
    }

    void adopted(handshake_slots::key ticket, peer_id p)
    {
        if (p)
            slots_.rename(ticket, p);
        else
            slots_.release(ticket);
    }

    socket_impl* owner_;
    typename Protocol::acceptor acceptor_;
    typename Protocol::endpoint peer_; // filled by each accept
    std::shared_ptr<ssl::context> tls_; // tls+ and wss only
    bool websocket_;
    // Cancels each TLS handshake or WebSocket upgrade in progress.
    std::unordered_map<handshake_slots::key, std::function<void()>> handshakes_;
    handshake_slots::key next_ticket_ = 0;
    std::string path_;
};

} // namespace

std::shared_ptr<listener> make_listener(socket_impl& owner, const endpoint& ep, std::string requested)
{
    if (ep.kind == endpoint::transport::exec)
        throw endpoint_error("cannot bind " + ep.to_string() + ": exec: is for connect only");
    std::shared_ptr<listener> l;
    if (ep.kind == endpoint::transport::tcp)
        l = std::make_shared<basic_listener<net::ip::tcp>>(owner, ep, std::move(requested));
    else if (ep.kind == endpoint::transport::inproc)
        l = make_inproc_listener(owner, ep, std::move(requested));
    else
        l = std::make_shared<basic_listener<net::local::stream_protocol>>(owner, ep,
                                                                         std::move(requested));
    l->start();
    return l;
}

bool refusal(error_code ec)
{
    const std::error_code e = ec;
    return ec.category() == net::error::get_ssl_category() || e == zmtp::condition::protocol_violation ||
           e == zmtp::condition::limit_exceeded || e == zmtp::condition::security_failure ||
           e == zmtp::error::peer_error;
}

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
    auto stream = inproc_connect(ep_.name, owner_->executor(), this, [weak = weak_from_this()] {
        if (auto self = weak.lock())
            self->attempt();
    });
    if (!stream)
        return;
    owner_->notify(monitor_event(monitor_event_type::connected, text_, {}));
    owner_->adopt(std::move(*stream), slot_, text_, {});
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
