// SPDX-License-Identifier: MPL-2.0
// The codec's timers: the handshake deadline, heartbeats (PING and the
// peer's TTL), and the stall check for peers older than ZMTP 3.1.
#include "zmtp/codec/codec.hpp"

#include "zmtp/error.hpp"
#include "zmtp/wire/command.hpp"

#include <algorithm>
#include <string>

namespace zmtp {
namespace {

// libzmq 4.3.5 wraps TTLs above 655 deciseconds (docs/reliability.md).
constexpr std::uint16_t max_advertised_ttl_ds = 655;

} // namespace

std::optional<codec::time_point> codec::next_timeout() const noexcept
{
    if (state_ == state::failed)
        return std::nullopt;
    if (state_ != state::ready)
        return handshake_deadline_;
    std::optional<time_point> t = next_ping_;
    auto earliest = [&](time_point candidate) {
        if (!t || candidate < *t)
            t = candidate;
    };
    if (peer_ttl_.count() > 0)
        earliest(last_rx_ + peer_ttl_);
    if (awaiting_since_)
        earliest(*awaiting_since_ + heartbeat_timeout());
    if (next_stall_check_)
        earliest(*next_stall_check_);
    if (stalled_since_)
        earliest(*stalled_since_ + heartbeat_timeout());
    return t;
}

void codec::handle_timeout(time_point now)
{
    now_ = now;
    ++deadline_version_;
    if (state_ == state::failed)
        return;
    if (state_ != state::ready) {
        if (now >= handshake_deadline_)
            fail(make_error_code(error::handshake_timeout),
                 "handshake not complete after " +
                     std::to_string(options_.handshake_timeout.count()) + " ms",
                 true);
        return;
    }
    // A silent peer is presumed gone: no ERROR for it (as libzmq), and
    // nothing left in the output is worth waiting for.
    if (peer_ttl_.count() > 0 && now >= last_rx_ + peer_ttl_) {
        fail(make_error_code(error::ttl_expired),
             "no traffic within the peer's TTL of " + std::to_string(peer_ttl_.count()) + " ms");
        return;
    }
    const auto timeout = heartbeat_timeout();
    if (awaiting_since_ && now >= *awaiting_since_ + timeout) {
        fail(make_error_code(error::heartbeat_timeout),
             "no traffic for " + std::to_string(timeout.count()) + " ms after PING");
        return;
    }
    if (stalled_since_ && now >= *stalled_since_ + timeout) {
        if (sent_ == stall_mark_ && has_output()) {
            fail(make_error_code(error::heartbeat_timeout),
                 "a ZMTP 3.0 or older peer (no PING) read nothing for " + std::to_string(timeout.count()) +
                     " ms while " + std::to_string(out_.size()) + " octets waited for it");
            return;
        }
        stalled_since_.reset();
    }
    if (next_stall_check_ && now >= *next_stall_check_) {
        // Output waiting and none written since the last look: the stall
        // starts now; any progress or an empty output ends it.
        if (!has_output())
            stalled_since_.reset();
        else if (!stalled_since_ || sent_ != stall_mark_) {
            stalled_since_ = now;
            stall_mark_ = sent_;
        }
        next_stall_check_ = now + options_.heartbeat.interval;
    }
    if (next_ping_ && now >= *next_ping_) {
        const auto ttl_ds = std::min<std::int64_t>(options_.heartbeat.ttl.count() / 100,
                                                   max_advertised_ttl_ds);
        scratch_.clear();
        wire::append_ping(scratch_, static_cast<std::uint16_t>(ttl_ds), {});
        queue_frames(scratch_);
        next_ping_ = now + options_.heartbeat.interval;
        if (!awaiting_since_)
            awaiting_since_ = now;
    }
}

} // namespace zmtp
