// SPDX-License-Identifier: MPL-2.0
// Which of a listener's handshakes in progress gives way to a newcomer.
//
// A listener holds at most `limit` accepted connections in their handshake
// (TLS + greeting + mechanism). It never stops accepting: a newcomer always
// gets a place, and when there is none, or when its source (the peer's IP
// address) already holds its share of the places, the oldest handshake of
// the source holding the most places is cut short. So a flood of partial
// greetings, however fast, only ever evicts the flood's own connections
// first, and a well-behaved peer, whose handshake takes a few round trips,
// is evicted only if `limit` newer connections (`share` from its own
// address) arrive within those round trips (docs/design.md, "Handshakes in
// progress"). No Asio here: the listener does the closing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace zmtp::asio::detail {

class handshake_slots {
public:
    using key = std::uint64_t;

    // `limit` places in all, at most `share` of them for one source.
    handshake_slots(std::size_t limit, std::size_t share)
        : limit_(std::max<std::size_t>(limit, 1)), share_(std::clamp<std::size_t>(share, 1, limit_))
    {
    }

    // The place for a newcomer; if making it needs a place back, the key of
    // the handshake to cut short (already released here).
    std::optional<key> admit(key k, const std::string& source)
    {
        std::optional<key> victim;
        if (held_by(source) >= share_)
            victim = oldest_of(source);
        else if (order_.size() >= limit_)
            victim = oldest_of(busiest());
        if (victim)
            release(*victim);
        order_.push_back({k, source});
        ++per_source_[source];
        return victim;
    }

    // The handshake is over (done, failed, closed or evicted); unknown keys
    // are ignored.
    void release(key k)
    {
        const auto it = std::find_if(order_.begin(), order_.end(), [k](const entry& e) { return e.k == k; });
        if (it == order_.end())
            return;
        if (auto s = per_source_.find(it->source); s != per_source_.end() && --s->second == 0)
            per_source_.erase(s);
        order_.erase(it);
    }

    // The handshake `from` goes on as `to` (a TLS handshake becomes a peer).
    void rename(key from, key to)
    {
        for (entry& e : order_)
            if (e.k == from)
                e.k = to;
    }

    bool holds(key k) const
    {
        return std::any_of(order_.begin(), order_.end(), [k](const entry& e) { return e.k == k; });
    }
    std::size_t size() const noexcept { return order_.size(); }
    std::size_t limit() const noexcept { return limit_; }
    std::size_t share() const noexcept { return share_; }

private:
    struct entry {
        key k;
        std::string source;
    };

    std::size_t held_by(const std::string& source) const
    {
        const auto it = per_source_.find(source);
        return it == per_source_.end() ? 0 : it->second;
    }

    const std::string& busiest() const
    {
        auto best = per_source_.begin();
        for (auto it = per_source_.begin(); it != per_source_.end(); ++it)
            if (it->second > best->second)
                best = it;
        return best->first;
    }

    key oldest_of(const std::string& source) const
    {
        return std::find_if(order_.begin(), order_.end(), [&](const entry& e) { return e.source == source; })->k;
    }

    std::size_t limit_;
    std::size_t share_;
    std::list<entry> order_; // oldest first
    std::unordered_map<std::string, std::size_t> per_source_;
};

} // namespace zmtp::asio::detail
