// SPDX-License-Identifier: MPL-2.0
// socket_core's close and linger: what close() keeps delivering, for how
// long, and what it counts as dropped; and the one timer that serves
// linger deadlines and waiting operations alike.
#include "zmtp/pattern/socket_core.hpp"

#include <algorithm>
#include <utility>

namespace zmtp::pattern {

void socket_core::close(time_point now)
{
    if (closed_)
        return;
    closed_ = true;
    // Linger: ready peers get what is queued for them, for up to `linger`;
    // a connect()'s peer with messages queued and no connection yet gets
    // them once it has one.
    const bool linger = options_.linger.count() != 0;
    std::vector<peer_id> going;
    for (auto& [id, pr] : peers_) {
        pr->attached = false; // the strategy is not used after close
        if (linger && pr->state == peer_state::ready) {
            enter(*pr, peer_state::lingering);
            emit(action::kind::flush_and_close, id);
            ++lingering_;
        } else if (linger && pr->persistent && !pr->out.empty() && pr->state != peer_state::ready) {
            if (pr->state == peer_state::draining)
                pr->state = peer_state::pending; // nobody reads any more
            pr->flush_when_ready = true;
            ++lingering_;
        } else {
            going.push_back(id);
        }
    }
    for (peer_id p : going)
        drop_at_close(*find(p));
    if (lingering_ != 0 && options_.linger.count() > 0)
        linger_until_ = now + options_.linger;
    cancel_all();
    rearm();
    if (lingering_ == 0)
        finish_close();
}

// A peer the close gives up: its connection is cut, its queue counted.
void socket_core::drop_at_close(peer& pr)
{
    if (pr.state == peer_state::handshaking || pr.state == peer_state::ready
        || pr.state == peer_state::lingering)
        emit(action::kind::abort, pr.id);
    dropped_at_close_ += pr.out.size();
    erase(pr);
}

void socket_core::finish_close()
{
    if (!std::exchange(close_done_, true))
        emit(action::kind::close_done);
}

void socket_core::link_flushed(peer_id p)
{
    peer* pr = find(p);
    if (!pr || pr->state != peer_state::lingering)
        return;
    erase(*pr);
    linger_ended_for_one();
}

// The core let go of the peer when it asked for the abort: only the
// close matters, and the close is announced after its aborts ran.
void socket_core::unsent_at_close(peer_id, std::size_t n) noexcept
{
    if (closed_)
        dropped_at_close_ += n;
}

void socket_core::linger_ended_for_one()
{
    if (--lingering_ != 0)
        return;
    if (linger_until_ != time_point::max()) {
        linger_until_ = time_point::max();
        rearm();
    }
    finish_close();
}

void socket_core::timer(time_point now)
{
    armed_ = time_point::max(); // the timer that called has fired
    expire_waits(now);
    if (now < linger_until_) {
        rearm();
        return;
    }
    linger_until_ = time_point::max();
    std::vector<peer_id> late;
    for (auto& [id, pr] : peers_)
        late.push_back(id); // after close, every peer left lingers
    for (peer_id p : late)
        drop_at_close(*find(p));
    lingering_ = 0;
    rearm();
    finish_close();
}

} // namespace zmtp::pattern
