// SPDX-License-Identifier: MPL-2.0
// Routing strategies: how a socket type spreads outgoing messages over its
// peers and gathers incoming ones (RFC 28 REQ/REP, 29 PUB/SUB, 30
// PUSH/PULL, 31 PAIR, the draft types of RFC 41, 48, 49, 51 and 52, and
// libzmq 4.3's observable behaviour).
//
// A strategy decides; it does no I/O and owns no queues. It sees the
// socket's per-peer queues through peer_queues and learns of peers through
// attach()/detach(). The socket layer calls it from one thread.
#pragma once

#include "zmtp/error.hpp"
#include "zmtp/pattern/peer_queues.hpp"
#include "zmtp/socket_options.hpp"
#include "zmtp/socket_type.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

namespace zmtp::pattern {

struct peer_info {
    // True for a connecting side's peer whose connection is not (yet) up:
    // libzmq already queues messages for it unless ZMQ_IMMEDIATE is set.
    bool pending = false;
    // The Identity the peer announced (empty: none).
    std::string identity;
};

class strategy {
public:
    virtual ~strategy() = default;

    // Whether a peer that completed its handshake may join (PAIR takes
    // one; ROUTER refuses an Identity already in use).
    virtual bool accepts(const peer_info&) const { return true; }
    // A peer joins, pending (not yet connected) or ready. A pending peer
    // becomes ready with a second attach().
    virtual void attach(peer_id p, const peer_info& info, peer_queues& q) = 0;
    virtual void detach(peer_id p, peer_queues& q) = 0;

    // App -> peers. {} when queued (or dropped, counted in dropped());
    // would_block when it may succeed later; other errors are final.
    virtual std::error_code send(message& m, peer_queues& q) = 0;
    // Peers -> app. {} and `m` filled; would_block when nothing is there.
    virtual std::error_code receive(message& m, peer_queues& q) = 0;

    // A message from `p`, before it is queued: false drops it (SUB
    // filtering, PUB turning 0x01/0x00 messages into subscriptions).
    virtual bool incoming(peer_id, message&, peer_queues&) { return true; }
    // A SUBSCRIBE (on) or CANCEL (off) command from `p`.
    virtual void subscription(peer_id, std::span<const std::byte>, bool, peer_queues&) {}
    // The application's own subscriptions (SUB, XSUB).
    virtual std::error_code subscribe(std::span<const std::byte>, bool, peer_queues&)
    {
        return make_error_code(error::operation_not_supported);
    }

    // The routing id assigned to `p` (ROUTER; SERVER and PEER in
    // decimal), empty otherwise.
    virtual std::string routing_id_of(peer_id) const { return {}; }
    // SERVER's and PEER's routing id of `p`; 0 for none.
    virtual std::uint32_t numeric_routing_id_of(peer_id) const { return 0; }

    // Messages dropped because a peer was full or unroutable.
    std::size_t dropped() const noexcept { return dropped_; }

protected:
    void count_drop() noexcept { ++dropped_; }

private:
    std::size_t dropped_ = 0;
};

std::unique_ptr<strategy> make_strategy(socket_type type, const socket_options& options);

} // namespace zmtp::pattern
