// SPDX-License-Identifier: MPL-2.0
// socket_impl's message paths: sends, receives and their cancellation, the
// core's actions carried out, and what its connections report (links).
#include "socket_impl_internal.hpp"

#include "transport.hpp"

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

// A send or receive with a timeout needs the time; one without does not
// read the clock.
pattern::socket_core::time_point now_if(std::chrono::milliseconds timeout)
{
    return timeout.count() < 0 ? pattern::socket_core::time_point() : std::chrono::steady_clock::now();
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
        core_.drain_output(p, [conn, all](message& m) {
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

peer_id socket_impl::add_link_peer(peer_id p, std::string endpoint, std::string address)
{
    if (core_.closed() && (p == 0 || !core_.state(p)))
        return 0; // only a peer lingering for its connection goes on
    if (p == 0)
        p = core_.add_accepted(std::move(endpoint), std::move(address));
    else
        core_.link_started(p, std::move(endpoint), std::move(address));
    return core_.state(p) ? p : 0;
}

void socket_impl::start_link(std::shared_ptr<link> l, std::weak_ptr<listener> accepted_by)
{
    io_peer& io = io_[l->id()];
    io.accepted_by = std::move(accepted_by);
    io.conn = l;
    l->start();
    run_actions();
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
    core_.handshake_done(p, std::string(io->conn->peer_metadata().find("Identity").value_or("")));
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
    std::string reason = io->conn && !io->conn->error_reason().empty()
                             ? std::string(io->conn->error_reason())
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

} // namespace zmtp::asio::detail
