// SPDX-License-Identifier: MPL-2.0
// What a routing strategy sees of a socket's peers: per-peer queues, named
// by peer_id. The socket layer implements it over its connections; tests
// implement it in memory.
#pragma once

#include "zmtp/message.hpp"

#include <cstdint>
#include <optional>
#include <span>

namespace zmtp::pattern {

using peer_id = std::uint64_t;

class peer_queues {
public:
    virtual ~peer_queues() = default;

    // Whether the peer's outgoing queue has room (below its high-water mark).
    virtual bool writable(peer_id p) const = 0;
    // Appends a message to the peer's outgoing queue (the strategy checked
    // writable() first, or chose to go over it).
    virtual void write(peer_id p, message m) = 0;
    // Whether the peer's incoming queue holds a message.
    virtual bool readable(peer_id p) const = 0;
    // Takes the oldest incoming message of the peer.
    virtual message read(peer_id p) = 0;
    // The peers whose incoming queue holds a message, in the order their
    // turn comes: a peer joins at the back when a message arrives into its
    // empty queue, and read() sends it to the back again if it still has
    // one. Fair-queueing walks this from the front, so a receive costs
    // what it skips, not one look per peer. Nullopt: none (after `p`).
    virtual std::optional<peer_id> first_readable() const = 0;
    virtual std::optional<peer_id> readable_after(peer_id p) const = 0;
    // Sends a subscription change to the peer, in the form it understands
    // (SUBSCRIBE/CANCEL or a data frame), never limited by the HWM.
    virtual void send_subscription(peer_id p, std::span<const std::byte> topic, bool subscribe) = 0;
};

} // namespace zmtp::pattern
