// SPDX-License-Identifier: MPL-2.0
// The peers load-balancing rotates over, in the order they were added,
// with the turn kept across additions and removals. A ring linked through
// a hash map: adding, removing and looking up a peer cost O(1), so
// attaching thousands of peers is not quadratic.
#pragma once

#include "zmtp/pattern/peer_queues.hpp"

#include <cstddef>
#include <optional>
#include <unordered_map>

namespace zmtp::pattern {

class round_robin {
public:
    // Joins last in the order: after every peer already there.
    void add(peer_id p)
    {
        if (!first_) {
            links_.emplace(p, link{p, p});
            first_ = next_ = p;
            return;
        }
        link& first = links_.at(*first_);
        const peer_id last = first.prev;
        links_.emplace(p, link{last, *first_});
        links_.at(last).next = p;
        first.prev = p;
    }

    void remove(peer_id p)
    {
        auto it = links_.find(p);
        if (it == links_.end())
            return;
        const link gone = it->second;
        links_.erase(it);
        if (links_.empty()) {
            first_.reset();
            next_.reset();
            return;
        }
        links_.at(gone.prev).next = gone.next;
        links_.at(gone.next).prev = gone.prev;
        if (first_ == p)
            first_ = gone.next;
        if (next_ == p) // its turn passes to the one after it
            next_ = gone.next;
    }

    bool contains(peer_id p) const { return links_.contains(p); }
    bool empty() const noexcept { return links_.empty(); }
    std::size_t size() const noexcept { return links_.size(); }

    // The next peer, in turn, for which `ok(peer)` holds; the turn moves past it.
    template <class Predicate>
    std::optional<peer_id> next(Predicate ok)
    {
        if (!next_)
            return std::nullopt;
        peer_id at = *next_;
        for (std::size_t i = 0; i < links_.size(); ++i) {
            const peer_id after = links_.at(at).next;
            if (ok(at)) {
                next_ = after;
                return at;
            }
            at = after;
        }
        return std::nullopt;
    }

private:
    struct link {
        peer_id prev;
        peer_id next;
    };
    std::unordered_map<peer_id, link> links_;
    std::optional<peer_id> first_; // first in the order
    std::optional<peer_id> next_;  // whose turn it is
};

} // namespace zmtp::pattern
