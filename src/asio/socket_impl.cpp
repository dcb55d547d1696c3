// SPDX-License-Identifier: MPL-2.0
#include "zmtp/asio/detail/socket_impl.hpp"

#include "transport.hpp"

#include "zmtp/security/mechanism_factory.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace zmtp::asio::detail {
namespace {

using action = pattern::socket_core::action;

// The core cancels waiting operations with the generic ECANCELED and times
// them out with ETIMEDOUT; Asio users compare with Asio's values.
error_code as_error(std::error_code ec)
{
    if (ec == std::errc::operation_canceled)
        return net::error::operation_aborted;
    if (ec == std::errc::timed_out)
        return net::error::timed_out;
    return to_error_code(ec);
}

// Completes an operation on `strand`: its cancellation slot is cleared
// first, as the slot may be used for the owner's next operation.
template <class Handler, class... Args>
void complete(const net::any_io_executor& strand, Handler h, Args&&... args)
{
    h.get_cancellation_slot().clear();
    net::post(strand, net::append(std::move(h), std::forward<Args>(args)...));
}

// A send or receive with a timeout needs the time; one without does not
// read the clock.
pattern::socket_core::time_point now_if(std::chrono::milliseconds timeout)
{
    return timeout.count() < 0 ? pattern::socket_core::time_point() : std::chrono::steady_clock::now();
}

error_code parse_error(const std::exception& e, std::string& reason)
{
    reason = e.what();
    return to_error_code(error::invalid_argument);
}

monitor_event_type event_type(pattern::peer_event e)
{
    switch (e) {
    case pattern::peer_event::handshake_succeeded: return monitor_event_type::handshake_succeeded;
    case pattern::peer_event::handshake_failed: return monitor_event_type::handshake_failed;
    case pattern::peer_event::disconnected: return monitor_event_type::disconnected;
    case pattern::peer_event::message_dropped: break;
    }
    return monitor_event_type::message_dropped;
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

socket_impl::io_peer* socket_impl::find(peer_id p)
{
    if (last_io_ && last_id_ == p)
        return last_io_;
    auto it = io_.find(p);
    if (it == io_.end())
        return nullptr;
    last_id_ = p;
    return last_io_ = &it->second;
}

void socket_impl::notify(monitor_event e)
{
    if (monitor_)
        monitor_(e);
    if (!monitor_queued_)
        return;
    if (!monitor_waiters_.empty()) {
        monitor_handler h = std::move(monitor_waiters_.front().second);
        monitor_waiters_.pop_front();
        complete(strand_, std::move(h), error_code(), std::move(e));
    } else if (monitor_queue_.size() < monitor_queue_limit) {
        monitor_queue_.push_back(std::move(e));
    } else {
        ++monitor_missed_;
    }
}

void socket_impl::async_monitor(token t, monitor_handler h)
{
    if (!monitor_queue_.empty()) {
        monitor_event e = std::move(monitor_queue_.front());
        monitor_queue_.pop_front();
        complete(strand_, std::move(h), error_code(), std::move(e));
    } else if (core_.closed()) {
        complete(strand_, std::move(h), to_error_code(error::socket_closed),
                 monitor_event(monitor_event_type::closed));
    } else {
        monitor_waiters_.emplace_back(t, std::move(h));
    }
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

// ---------------------------------------------------------------- messages

error_code socket_impl::try_send(message& m)
{
    const auto ec = core_.try_send(m);
    run_actions();
    return to_error_code(ec);
}

error_code socket_impl::try_receive(message& m)
{
    const auto ec = core_.try_receive(m);
    run_actions();
    return to_error_code(ec);
}

void socket_impl::async_send(token t, message m, send_handler h)
{
    senders_.emplace_back(t, std::move(h));
    core_.send(t, std::move(m), now_if(core_.options().send_timeout));
    run_actions();
}

void socket_impl::async_receive(token t, receive_handler h)
{
    receivers_.emplace_back(t, std::move(h));
    core_.receive(t, now_if(core_.options().receive_timeout));
    run_actions();
}

void socket_impl::cancel(token t)
{
    if (core_.cancel(t)) {
        run_actions();
        return;
    }
    auto it = std::find_if(monitor_waiters_.begin(), monitor_waiters_.end(),
                           [t](const auto& w) { return w.first == t; });
    if (it == monitor_waiters_.end())
        return; // complete already
    monitor_handler h = std::move(it->second);
    monitor_waiters_.erase(it);
    complete(strand_, std::move(h), error_code(net::error::operation_aborted),
             monitor_event(monitor_event_type::closed));
}

void socket_impl::cancel_all()
{
    core_.cancel_all();
    run_actions();
    abort_monitor_waiters();
}

void op_canceller::operator()(net::cancellation_type type) const
{
    if (type == net::cancellation_type::none)
        return;
    if (auto self = impl.lock())
        net::post(self->executor(), [self, t = tok] { self->cancel(t); });
}

// ---------------------------------------------------------------- actions

// Carries out what the core decided. An action can lead to more (a
// resumed read delivers messages at once): they join the same list, which
// the outermost call works through.
void socket_impl::run_all_actions()
{
    running_ = true;
    auto& actions = core_.actions();
    for (std::size_t i = 0; i < actions.size(); ++i)
        execute(actions[i]); // a copy: the list may grow while it runs
    core_.clear_actions();
    running_ = false;
}

void socket_impl::execute(const action a)
{
    const peer_id p = a.peer;
    switch (a.what) {
    case action::kind::send_done: {
        auto it = std::find_if(senders_.begin(), senders_.end(), [&](const auto& s) { return s.first == a.tok; });
        send_handler h = std::move(it->second);
        senders_.erase(it);
        complete(strand_, std::move(h), as_error(a.ec));
        return;
    }
    case action::kind::receive_done: {
        auto it = std::find_if(receivers_.begin(), receivers_.end(), [&](const auto& r) { return r.first == a.tok; });
        receive_handler h = std::move(it->second);
        receivers_.erase(it);
        complete(strand_, std::move(h), as_error(a.ec), std::move(core_.payload(a)));
        return;
    }
    case action::kind::monitor: {
        auto& d = core_.details(a);
        monitor_event e(event_type(a.event), std::move(d.endpoint), std::move(d.address));
        e.routing_id = std::move(d.routing_id);
        e.reason = std::move(d.reason);
        if (a.ec)
            e.error = to_error_code(a.ec);
        else if (io_peer* io = find(p))
            e.error = io->closed_with;
        notify(std::move(e));
        return;
    }
    case action::kind::timer:
        arm_timer(a.at);
        return;
    case action::kind::close_done:
        close_finished();
        return;
    default:
        break;
    }
    io_peer* io = find(p);
    if (!io)
        return;
    switch (a.what) {
    case action::kind::write:
        pump(p, *io, false);
        break;
    case action::kind::write_subscription:
        if (io->conn)
            io->conn->write_subscription(core_.payload(a).front().bytes(), a.on);
        break;
    case action::kind::resume_reading:
        if (auto conn = io->conn)
            conn->resume_reading();
        break;
    case action::kind::abort:
        if (auto conn = std::exchange(io->conn, nullptr))
            core_.unsent_at_close(p, conn->abort());
        break;
    case action::kind::flush_and_close:
        pump(p, *io, true);
        if (io->conn)
            io->conn->flush_and_close([weak = weak_from_this(), p] {
                if (auto self = weak.lock()) {
                    self->core_.link_flushed(p);
                    self->run_actions();
                }
            });
        break;
    case action::kind::lost:
        if (io->origin)
            io->origin->connection_lost();
        break;
    case action::kind::release:
        if (io->origin) // a peer the close gave up: stop connecting for it
            stop_connecting(io->origin);
        if (last_io_ == io)
            last_io_ = nullptr;
        io_.erase(p);
        break;
    default:
        break;
    }
}

// Moves the peer's queued messages into its connection, while the
// connection holds less than pump_bytes (all of them when closing).
void socket_impl::pump(peer_id p, io_peer& io, bool all)
{
    if (link* conn = io.conn.get())
        core_.drain_output(p, [conn, all](const message& m) {
            // A failed connection will report why.
            return (all || conn->queued_bytes() < pump_bytes) && !conn->write(m);
        });
}

// The core's one timer, for the timeouts of waiting operations and the
// linger time. It keeps the socket alive until it fires or the core says
// it needs no timer: after close(), the linger aborts what has not
// flushed by then.
void socket_impl::arm_timer(pattern::socket_core::time_point at)
{
    if (!timer_)
        timer_.emplace(strand_);
    if (at == pattern::socket_core::time_point::max()) {
        timer_->cancel();
        return;
    }
    timer_->expires_at(at);
    timer_->async_wait([self = shared_from_this()](error_code ec) {
        if (ec)
            return;
        self->core_.timer(std::chrono::steady_clock::now());
        self->run_actions();
    });
}

// ---------------------------------------------------------------- links

void socket_impl::handshake_over(peer_id p, io_peer& io)
{
    if (auto l = std::exchange(io.accepted_by, {}).lock())
        l->handshake_finished(p);
}

void socket_impl::evict(peer_id p, std::string reason)
{
    io_peer* io = find(p);
    const pattern::peer_state* state = core_.state(p);
    if (!io || !io->conn || !state || *state != pattern::peer_state::handshaking)
        return;
    io->accepted_by.reset(); // the listener has taken its place back
    io->closed_with = to_error_code(error::handshake_timeout);
    io->conn->abort();
    io->conn.reset();
    core_.link_closed(p, std::move(reason));
    run_actions();
}

void socket_impl::link_ready(peer_id p)
{
    io_peer* io = find(p);
    if (!io || !io->conn)
        return;
    handshake_over(p, *io);
    const codec& c = io->conn->protocol();
    core_.handshake_done(p, std::string(c.peer_metadata().find("Identity").value_or("")));
    if (const auto* s = core_.state(p); s && *s == pattern::peer_state::ready && io->origin)
        io->origin->reset_backoff();
    run_actions();
}

bool socket_impl::link_event(peer_id p, event& e)
{
    bool more = true;
    if (auto* m = std::get_if<message>(&e))
        more = core_.message_read(p, *m);
    else if (auto* s = std::get_if<events::subscribe>(&e))
        core_.subscription_read(p, s->topic.bytes(), true);
    else if (auto* c = std::get_if<events::cancel>(&e))
        core_.subscription_read(p, c->topic.bytes(), false);
    run_actions();
    return more;
}

void socket_impl::link_written(peer_id p)
{
    core_.link_written(p);
    run_actions();
}

void socket_impl::link_closed(peer_id p, error_code ec)
{
    io_peer* io = find(p);
    if (!io)
        return;
    handshake_over(p, *io);
    std::string reason = io->conn && !io->conn->protocol().error_reason().empty()
                             ? std::string(io->conn->protocol().error_reason())
                             : ec.message();
    io->closed_with = ec;
    io->conn.reset();
    core_.link_closed(p, std::move(reason), refusal(ec));
    run_actions();
}

bool socket_impl::connect_failed(peer_id p, bool connection_refused)
{
    const bool stop = core_.connect_failed(p, connection_refused);
    run_actions();
    return stop;
}

void socket_impl::close()
{
    if (core_.closed())
        return;
    for (auto& l : listeners_) {
        l->close();
        notify(monitor_event(monitor_event_type::closed, l->bound()));
    }
    listeners_.clear();
    // Connectors stop with their peers (release), unless the peer lingers
    // for a connection to deliver what was queued for it.
    core_.close(std::chrono::steady_clock::now());
    run_actions();
    if (auto self = weak_from_this().lock(); self && core_.closing()) { // none in the destructor
        hold_.emplace(strand_, net::steady_timer::time_point::max());
        hold_->async_wait([self](error_code) {});
    }

    // Queued monitor events are still handed out; waiters learn it is over.
    abort_monitor_waiters();
}

void socket_impl::async_close(send_handler h)
{
    close();
    if (core_.closing())
        close_waiters_.push_back(std::move(h));
    else
        complete(strand_, std::move(h), error_code());
}

// The linger is over: what it gave up is reported, async_close completes.
void socket_impl::close_finished()
{
    if (const std::size_t n = core_.dropped_at_close()) {
        monitor_event e(monitor_event_type::dropped_at_close);
        e.dropped = n;
        notify(std::move(e));
    }
    for (auto& h : std::exchange(close_waiters_, {}))
        complete(strand_, std::move(h), error_code());
    if (hold_)
        hold_->cancel();
}

void socket_impl::stop_connecting(connector* c)
{
    auto it = std::find_if(connectors_.begin(), connectors_.end(),
                           [c](const auto& k) { return k.get() == c; });
    if (it == connectors_.end())
        return;
    (*it)->close();
    connectors_.erase(it);
}

void socket_impl::abort_monitor_waiters()
{
    for (auto& [t, h] : std::exchange(monitor_waiters_, {}))
        complete(strand_, std::move(h), error_code(net::error::operation_aborted),
                 monitor_event(monitor_event_type::closed));
}

} // namespace zmtp::asio::detail

namespace zmtp::asio {

std::string_view to_string(monitor_event_type t) noexcept
{
    switch (t) {
    case monitor_event_type::listening: return "listening";
    case monitor_event_type::bind_failed: return "bind_failed";
    case monitor_event_type::accepted: return "accepted";
    case monitor_event_type::connected: return "connected";
    case monitor_event_type::connect_delayed: return "connect_delayed";
    case monitor_event_type::connect_retried: return "connect_retried";
    case monitor_event_type::handshake_succeeded: return "handshake_succeeded";
    case monitor_event_type::handshake_failed: return "handshake_failed";
    case monitor_event_type::disconnected: return "disconnected";
    case monitor_event_type::closed: return "closed";
    case monitor_event_type::message_dropped: return "message_dropped";
    case monitor_event_type::dropped_at_close: return "dropped_at_close";
    }
    return "unknown";
}

} // namespace zmtp::asio
