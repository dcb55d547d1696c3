// SPDX-License-Identifier: MPL-2.0
// The peers a strategy rotates over: load-balancing picks the next peer
// that can take a message, fair-queueing the next that has one.
#pragma once

#include "zmtp/pattern/peer_queues.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <vector>

namespace zmtp::pattern {

class round_robin {
public:
    void add(peer_id p) { peers_.push_back(p); }
    void remove(peer_id p)
    {
        auto it = std::find(peers_.begin(), peers_.end(), p);
        if (it == peers_.end())
            return;
        const auto index = static_cast<std::size_t>(it - peers_.begin());
        peers_.erase(it);
        if (index < next_)
            --next_;
        if (next_ >= peers_.size())
            next_ = 0;
    }
    bool contains(peer_id p) const { return std::find(peers_.begin(), peers_.end(), p) != peers_.end(); }
    bool empty() const noexcept { return peers_.empty(); }
    std::size_t size() const noexcept { return peers_.size(); }
    const std::vector<peer_id>& peers() const noexcept { return peers_; }

    // The next peer, in turn, for which `ok(peer)` holds; the turn moves past it.
    template <class Predicate>
    std::optional<peer_id> next(Predicate ok)
    {
        for (std::size_t i = 0; i < peers_.size(); ++i) {
            const std::size_t at = (next_ + i) % peers_.size();
            if (ok(peers_[at])) {
                next_ = (at + 1) % peers_.size();
                return peers_[at];
            }
        }
        return std::nullopt;
    }

private:
    std::vector<peer_id> peers_;
    std::size_t next_ = 0;
};

} // namespace zmtp::pattern
