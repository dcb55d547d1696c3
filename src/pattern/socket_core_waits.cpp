// SPDX-License-Identifier: MPL-2.0
// socket_core's waiting sends and receives leaving early: cancelled by the
// application, or out of time (send_timeout, receive_timeout). Either way
// nothing was queued or taken: a waiting send's message is still the
// core's, and a receive waits only while there is nothing to take.
#include "zmtp/pattern/socket_core.hpp"

#include <algorithm>

namespace zmtp::pattern {

namespace {

// Removes the waits `gone` selects, in order, calling `complete` for each.
template <class Waits, class Gone, class Complete>
void remove_waits(Waits& waits, Gone gone, Complete complete)
{
    for (auto it = waits.begin(); it != waits.end();) {
        if (gone(*it)) {
            complete(it->tok);
            it = waits.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace

bool socket_core::cancel(token t)
{
    const auto aborted = std::make_error_code(std::errc::operation_canceled);
    bool found = false;
    auto is_t = [&](const auto& w) { return w.tok == t; };
    remove_waits(senders_, is_t, [&](token k) {
        done(action::kind::send_done, k, aborted);
        found = true;
    });
    if (found) {
        serve_senders(); // the next in line may fare better
        return true;
    }
    remove_waits(receivers_, is_t, [&](token k) {
        done(action::kind::receive_done, k, aborted);
        found = true;
    });
    return found;
}

void socket_core::cancel_all()
{
    const auto aborted = std::make_error_code(std::errc::operation_canceled);
    for (auto& s : senders_)
        done(action::kind::send_done, s.tok, aborted);
    senders_.clear();
    for (auto& r : receivers_)
        done(action::kind::receive_done, r.tok, aborted);
    receivers_.clear();
}

void socket_core::expire_waits(time_point now)
{
    const auto late = std::make_error_code(std::errc::timed_out);
    auto expired = [now](const auto& w) { return w.deadline <= now; };
    const std::size_t sending = senders_.size();
    remove_waits(senders_, expired, [&](token k) { done(action::kind::send_done, k, late); });
    remove_waits(receivers_, expired, [&](token k) { done(action::kind::receive_done, k, late); });
    if (senders_.size() != sending)
        serve_senders();
}

// Asks for the timer at `at` when that is sooner than the one asked for.
void socket_core::arm(time_point at)
{
    if (at < armed_) {
        armed_ = at;
        emit(action::kind::timer).at = at;
    }
}

// Asks for the timer at the next deadline (time_point::max(): none).
void socket_core::rearm()
{
    time_point next = linger_until_;
    for (const auto& s : senders_)
        next = std::min(next, s.deadline);
    for (const auto& r : receivers_)
        next = std::min(next, r.deadline);
    if (next != armed_) {
        armed_ = next;
        emit(action::kind::timer).at = next;
    }
}

} // namespace zmtp::pattern
