// SPDX-License-Identifier: MPL-2.0
// socket_impl's construction, the codec options it gives its connections,
// and its endpoints: bind, connect, unbind, disconnect, subscribe.
#include "zmtp/asio/detail/socket_impl.hpp"

#include "transport.hpp"

#include "zmtp/security/mechanism_factory.hpp"

#include <algorithm>

namespace zmtp::asio::detail {
namespace {

error_code parse_error(const std::exception& e, std::string& reason)
{
    reason = e.what();
    return to_error_code(error::invalid_argument);
}

} // namespace

socket_impl::socket_impl(strand_type strand, socket_type type)
    : home_(strand), strand_(std::move(strand)), core_(type)
{
}

// Reached without close() having run only when the io_context went away
// first (the close posted by ~socket never ran): nothing can linger then,
// and the application's monitor and tracer, which may be gone with the
// io_context's owner, hear nothing more.
socket_impl::~socket_impl()
{
    if (!core_.closed()) {
        monitor_ = nullptr;
        tracer_ = nullptr;
        core_.options().linger = std::chrono::milliseconds(0);
        close();
    }
}

codec_options socket_impl::codec_config() const
{
    const socket_options& o = core_.options();
    codec_options c;
    c.type = core_.type();
    c.routing_id = o.routing_id;
    c.limits = o.limits;
    c.heartbeat = o.heartbeat;
    c.handshake_timeout = o.handshake_timeout;
    c.min_zmtp_version = o.min_zmtp_version;
    c.mechanism = security::mechanism_factory_for(o);
    c.authenticator = o.authenticator;
    if (o.inflight_bytes != 0 && (!inflight_budget_ || inflight_budget_->limit() != o.inflight_bytes))
        inflight_budget_ = std::make_shared<byte_budget>(o.inflight_bytes);
    c.inflight_budget = o.inflight_bytes != 0 ? inflight_budget_ : nullptr;
    return c;
}

// Security options that cannot make a mechanism fail bind() and connect().
error_code socket_impl::check_security(std::string& reason) const
{
    security::mechanism_factory unused;
    return to_error_code(security::make_mechanism_factory(core_.options(), unused, reason));
}

// ---------------------------------------------------------------- endpoints

std::string socket_impl::bind(std::string_view text, error_code& ec, std::string& reason)
{
    ec = {};
    if (core_.closed()) {
        ec = to_error_code(error::socket_closed);
        return {};
    }
    monitor_event failed{monitor_event_type::bind_failed, std::string(text)};
    if (auto e = check_security(failed.reason)) {
        ec = failed.error = e;
        reason = failed.reason;
        notify(std::move(failed));
        return {};
    }
    try {
        auto l = make_listener(*this, parse_endpoint(text), std::string(text));
        listeners_.push_back(l);
        notify(monitor_event(monitor_event_type::listening, l->bound()));
        return l->bound();
    } catch (const endpoint_error& e) {
        ec = parse_error(e, failed.reason);
    } catch (const boost::system::system_error& e) {
        ec = e.code();
        failed.reason = e.what();
    }
    failed.error = ec;
    reason = failed.reason;
    notify(std::move(failed));
    return {};
}

void socket_impl::connect(std::string_view text, error_code& ec, std::string& reason)
{
    ec = {};
    if (core_.closed()) {
        ec = to_error_code(error::socket_closed);
        return;
    }
    if ((ec = check_security(reason)))
        return;
    if (const std::string& id = core_.options().connect_routing_id; !id.empty()
        && (core_.type() != socket_type::router || id.size() > 255 || id.front() == '\0')) {
        reason = "cannot connect to " + std::string(text)
            + ": connect_routing_id is for ROUTER sockets, 1 to 255 octets, not starting with a zero octet";
        ec = to_error_code(error::invalid_argument);
        return;
    }
    std::shared_ptr<connector> c;
    try {
        const endpoint ep = parse_endpoint(text);
        if (ep.any_host() || ep.any_port()) {
            reason = "cannot connect to " + std::string(text) + ": a connect needs a host and a port";
            ec = to_error_code(error::invalid_argument);
            return;
        }
        c = std::make_shared<connector>(*this, ep, std::string(text));
    } catch (const endpoint_error& e) {
        ec = parse_error(e, reason);
        return;
    } catch (const boost::system::system_error& e) {
        ec = e.code(); // tls+: a certificate, key or CA file that cannot be used
        reason = e.what();
        return;
    }
    const peer_id p = core_.add_connect(std::string(text));
    io_[p].origin = c.get();
    c->set_slot(p);
    connectors_.push_back(c);
    notify(monitor_event(monitor_event_type::connect_delayed, std::string(text)));
    c->start();
    run_actions();
}

void socket_impl::unbind(std::string_view text, error_code& ec)
{
    ec = {};
    auto it = std::find_if(listeners_.begin(), listeners_.end(), [&](const auto& l) {
        return l->requested() == text || l->bound() == text;
    });
    if (it == listeners_.end()) {
        ec = to_error_code(error::invalid_argument);
        return;
    }
    (*it)->close();
    notify(monitor_event(monitor_event_type::closed, (*it)->bound()));
    listeners_.erase(it);
}

void socket_impl::disconnect(std::string_view text, error_code& ec)
{
    ec = {};
    auto it = std::find_if(connectors_.begin(), connectors_.end(),
                           [&](const auto& c) { return c->text() == text; });
    if (it == connectors_.end()) {
        ec = to_error_code(error::invalid_argument);
        return;
    }
    (*it)->close();
    if (io_peer* io = find((*it)->slot()))
        io->origin = nullptr;
    core_.remove((*it)->slot());
    connectors_.erase(it);
    run_actions();
}

error_code socket_impl::subscribe(std::span<const std::byte> topic, bool on)
{
    const auto ec = core_.subscribe(topic, on);
    run_actions();
    return to_error_code(ec);
}

} // namespace zmtp::asio::detail
