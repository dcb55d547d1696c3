// SPDX-License-Identifier: MPL-2.0
// socket_core's messages: the application's sends and receives, served
// at once or queued until the strategy has room or a message, and the
// drops the strategy counts along the way.
#include "zmtp/pattern/socket_core.hpp"

#include <algorithm>
#include <utility>

namespace zmtp::pattern {

void socket_core::count_drops(std::size_t before)
{
    announce_drops(strategy().dropped() - before);
}

void socket_core::announce_drops(std::size_t n)
{
    dropped_ += n;
    if (report_drops_)
        for (std::size_t i = 0; i < n; ++i) {
            action& a = emit(action::kind::monitor);
            a.event = peer_event::message_dropped;
            a.extra = static_cast<std::uint32_t>(details_.size());
            details_.emplace_back();
        }
}

std::error_code socket_core::try_send(message& m)
{
    if (closed_)
        return make_error_code(error::socket_closed);
    if (!senders_.empty())
        return make_error_code(error::would_block); // keep the order of waiting sends
    if (const auto ec = check_send(m))
        return ec;
    const std::size_t before = strategy().dropped();
    const auto ec = strategy().send(m, *this);
    count_drops(before);
    after_strategy();
    return ec;
}

std::error_code socket_core::try_receive(message& m)
{
    if (closed_)
        return make_error_code(error::socket_closed);
    if (!receivers_.empty())
        return make_error_code(error::would_block);
    const auto ec = strategy().receive(m, *this);
    after_strategy();
    return ec;
}

void socket_core::send(token t, message m, time_point now)
{
    if (closed_) {
        done(action::kind::send_done, t, make_error_code(error::socket_closed));
        return;
    }
    if (const auto ec = check_send(m)) {
        done(action::kind::send_done, t, ec);
        return;
    }
    senders_.push_back({t, std::move(m), deadline_of(now, options_.send_timeout)});
    serve_senders();
    if (!senders_.empty() && senders_.back().tok == t)
        arm(senders_.back().deadline);
}

void socket_core::receive(token t, time_point now)
{
    if (closed_) {
        done(action::kind::receive_done, t, make_error_code(error::socket_closed));
        return;
    }
    receivers_.push_back({t, deadline_of(now, options_.receive_timeout)});
    serve_receivers();
    if (!receivers_.empty() && receivers_.back().tok == t)
        arm(receivers_.back().deadline);
}

std::error_code socket_core::subscribe(std::span<const std::byte> topic, bool on)
{
    if (closed_)
        return make_error_code(error::socket_closed);
    const auto ec = strategy().subscribe(topic, on, *this);
    after_strategy();
    return ec;
}

bool socket_core::conflating() const noexcept
{
    switch (type_) {
    case socket_type::push:
    case socket_type::pull:
    case socket_type::dealer:
    case socket_type::pub:
    case socket_type::sub: return options_.conflate;
    default: return false;
    }
}

std::error_code socket_core::check_send(const message& m) const
{
    if (conflating() && m.size() > 1)
        return make_error_code(error::multipart_not_supported);
    return {};
}

// Completes waiting sends, in order, while the strategy accepts them.
void socket_core::serve_senders()
{
    if (serving_)
        return;
    serving_ = true;
    while (!senders_.empty() && !closed_) {
        const std::size_t before = strategy().dropped();
        const auto ec = strategy().send(senders_.front().msg, *this);
        count_drops(before);
        if (ec == error::would_block)
            break;
        done(action::kind::send_done, senders_.front().tok, ec);
        senders_.pop_front();
    }
    serving_ = false;
    after_strategy();
}

void socket_core::serve_receivers()
{
    if (serving_)
        return;
    serving_ = true;
    while (!receivers_.empty() && !closed_) {
        message m;
        const auto ec = strategy().receive(m, *this);
        if (ec == error::would_block)
            break;
        payload(done(action::kind::receive_done, receivers_.front().tok, ec)) = std::move(m);
        receivers_.pop_front();
    }
    serving_ = false;
    after_strategy();
}

// Work the strategy's calls into the queues made necessary, done once it
// has returned: retiring peers whose last message was read, and resuming
// reads that the receive HWM had paused.
void socket_core::run_deferred()
{
    while (!retiring_.empty() || !resuming_.empty()) {
        // retire() may come back here through the strategy: it works
        // through a list of its own.
        auto retiring = std::exchange(retiring_, {});
        for (peer_id p : retiring)
            if (peer* pr = find(p); pr && pr->state == peer_state::draining && pr->in.empty())
                retire(*pr);
        // Emitting comes back to nothing, so this list is swapped with a
        // spare that keeps its capacity: resuming allocates nothing.
        resuming_spare_.swap(resuming_);
        for (peer_id p : resuming_spare_)
            if (peer* pr = find(p); pr && pr->state == peer_state::ready && pr->read_paused) {
                pr->read_paused = false;
                emit(action::kind::resume_reading, p);
            }
        resuming_spare_.clear();
    }
}

} // namespace zmtp::pattern
