// SPDX-License-Identifier: MPL-2.0
// socket_impl's monitor (the callback and async_monitor's queue) and its
// close: listeners closed, the linger, and what it gave up reported.
#include "socket_impl_internal.hpp"

#include "transport.hpp"

#include <algorithm>

namespace zmtp::asio::detail {

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
