// SPDX-License-Identifier: MPL-2.0
// What a routing strategy sees of a socket's peers: per-peer queues, named
// by peer_id. The socket layer implements it over its connections; tests
// implement it in memory.
#pragma once

#include "zmtp/message.hpp"

#include <cstdint>
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
    // Sends a subscription change to the peer, in the form it understands
    // (SUBSCRIBE/CANCEL or a data frame), never limited by the HWM.
    virtual void send_subscription(peer_id p, std::span<const std::byte> topic, bool subscribe) = 0;
};

} // namespace zmtp::pattern
