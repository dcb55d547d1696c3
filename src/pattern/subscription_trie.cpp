// SPDX-License-Identifier: MPL-2.0
#include "zmtp/pattern/subscription_trie.hpp"

#include <algorithm>

namespace zmtp::pattern {

subscription_trie::subscription_trie()
{
    nodes_.emplace_back();
    nodes_[0].in_use = true;
}

std::uint32_t subscription_trie::child(std::uint32_t n, std::byte key) const noexcept
{
    const auto& c = nodes_[n].children;
    auto it = std::lower_bound(c.begin(), c.end(), key,
                               [](const auto& entry, std::byte k) { return entry.first < k; });
    return (it != c.end() && it->first == key) ? it->second : none;
}

std::uint32_t subscription_trie::find(std::span<const std::byte> topic) const noexcept
{
    std::uint32_t n = 0;
    for (std::byte b : topic) {
        n = child(n, b);
        if (n == none)
            return none;
    }
    return n;
}

std::uint32_t subscription_trie::allocate(std::uint32_t parent, std::byte key)
{
    std::uint32_t index;
    if (!free_.empty()) {
        index = free_.back();
        free_.pop_back();
    } else {
        index = static_cast<std::uint32_t>(nodes_.size());
        nodes_.emplace_back();
    }
    node& fresh = nodes_[index];
    fresh.parent = parent;
    fresh.key = key;
    fresh.in_use = true;
    auto& c = nodes_[parent].children;
    auto it = std::lower_bound(c.begin(), c.end(), key,
                               [](const auto& entry, std::byte k) { return entry.first < k; });
    c.insert(it, {key, index});
    return index;
}

bool subscription_trie::add(std::span<const std::byte> topic, peer_id peer)
{
    std::uint32_t n = 0;
    for (std::byte b : topic) {
        std::uint32_t next = child(n, b);
        n = next != none ? next : allocate(n, b);
    }
    node& target = nodes_[n];
    auto it = std::find_if(target.subscribers.begin(), target.subscribers.end(),
                           [&](const auto& s) { return s.first == peer; });
    if (it == target.subscribers.end())
        target.subscribers.emplace_back(peer, 1);
    else
        ++it->second;
    if (target.total++ == 0) {
        ++topics_;
        return true;
    }
    return false;
}

subscription_trie::removal subscription_trie::remove(std::span<const std::byte> topic, peer_id peer)
{
    const std::uint32_t n = find(topic);
    if (n == none)
        return removal::not_subscribed;
    node& target = nodes_[n];
    auto it = std::find_if(target.subscribers.begin(), target.subscribers.end(),
                           [&](const auto& s) { return s.first == peer; });
    if (it == target.subscribers.end())
        return removal::not_subscribed;
    if (--it->second == 0)
        target.subscribers.erase(it);
    if (--target.total != 0)
        return removal::removed;
    --topics_;
    prune(n);
    return removal::last_removed;
}

void subscription_trie::remove_peer(peer_id peer,
                                    const std::function<void(std::span<const std::byte>)>& on_last)
{
    std::vector<std::uint32_t> emptied;
    for (std::uint32_t n = 0; n < nodes_.size(); ++n) {
        node& candidate = nodes_[n];
        if (!candidate.in_use)
            continue;
        auto it = std::find_if(candidate.subscribers.begin(), candidate.subscribers.end(),
                               [&](const auto& s) { return s.first == peer; });
        if (it == candidate.subscribers.end())
            continue;
        candidate.total -= it->second;
        candidate.subscribers.erase(it);
        if (candidate.total == 0) {
            --topics_;
            if (on_last)
                on_last(topic_of(n));
            emptied.push_back(n);
        }
    }
    for (std::uint32_t n : emptied)
        if (nodes_[n].in_use)
            prune(n);
}

// Frees `n` and each ancestor left with neither subscribers nor children.
void subscription_trie::prune(std::uint32_t n)
{
    while (n != 0 && nodes_[n].total == 0 && nodes_[n].children.empty()) {
        node& dead = nodes_[n];
        const std::uint32_t parent = dead.parent;
        auto& siblings = nodes_[parent].children;
        siblings.erase(std::find_if(siblings.begin(), siblings.end(),
                                    [&](const auto& entry) { return entry.second == n; }));
        dead = node();
        free_.push_back(n);
        n = parent;
    }
}

std::vector<std::byte> subscription_trie::topic_of(std::uint32_t n) const
{
    std::vector<std::byte> topic;
    for (; n != 0; n = nodes_[n].parent)
        topic.push_back(nodes_[n].key);
    std::reverse(topic.begin(), topic.end());
    return topic;
}

void subscription_trie::match(std::span<const std::byte> data, std::vector<peer_id>& out) const
{
    const std::size_t first = out.size();
    std::uint32_t n = 0;
    for (std::size_t depth = 0;; ++depth) {
        for (const auto& s : nodes_[n].subscribers)
            out.push_back(s.first);
        if (depth == data.size())
            break;
        n = child(n, data[depth]);
        if (n == none)
            break;
    }
    // A peer subscribed to several matching prefixes gets the message once.
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
    out.erase(std::unique(out.begin() + static_cast<std::ptrdiff_t>(first), out.end()), out.end());
}

bool subscription_trie::matches_any(std::span<const std::byte> data) const
{
    std::uint32_t n = 0;
    for (std::size_t depth = 0;; ++depth) {
        if (nodes_[n].total != 0)
            return true;
        if (depth == data.size())
            return false;
        n = child(n, data[depth]);
        if (n == none)
            return false;
    }
}

void subscription_trie::for_each_topic(
    const std::function<void(std::span<const std::byte>, std::uint32_t)>& f) const
{
    for (std::uint32_t n = 0; n < nodes_.size(); ++n)
        if (nodes_[n].in_use && nodes_[n].total != 0)
            f(topic_of(n), nodes_[n].total);
}

} // namespace zmtp::pattern
