// SPDX-License-Identifier: MPL-2.0
// Listeners for tcp and ipc (and their tls+, ws and wss forms): they accept,
// run the TLS handshake or WebSocket upgrade, and hand the streams to the
// socket within a limit of handshakes in progress (inproc: inproc.cpp).
#include "transport_internal.hpp"

#include "inproc.hpp"
#include "tls.hpp"
#include "ws.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>

namespace zmtp::asio::detail {
namespace {

// The peer's source address, from what accept() returned.
std::string source_of(const net::ip::tcp::endpoint& peer)
{
    return peer.address().to_string();
}

std::string source_of(const net::local::stream_protocol::endpoint&)
{
    return {}; // one local host: one source
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

} // namespace zmtp::asio::detail
