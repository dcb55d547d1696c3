// SPDX-License-Identifier: MPL-2.0
// Prefix subscriptions of many peers, for PUB/XPUB filtering and SUB/XSUB
// local matching (RFC 29).
//
// Subscriptions count: subscribing twice to "A" needs two cancels
// (RFC 37 §The Publish-Subscribe Pattern). Matching a message costs
// O(message prefix length + peers matched), however many subscriptions
// exist. Nodes live in one pool addressed by index, so nothing recurses —
// neither matching, nor removal, nor destruction — whatever the topic
// length a peer sends (libzmq CVE-2021-20236).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace zmtp::pattern {

using peer_id = std::uint64_t;

class subscription_trie {
public:
    subscription_trie();

    // Adds one subscription of `peer` to `topic`. Returns true when the topic
    // had no subscriber at all before (XPUB reports only those unless verbose).
    bool add(std::span<const std::byte> topic, peer_id peer);

    enum class removal { not_subscribed, removed, last_removed };
    // Removes one subscription; last_removed when no peer is left on `topic`.
    removal remove(std::span<const std::byte> topic, peer_id peer);

    // Removes every subscription of `peer`; `on_last` sees each topic that
    // lost its last subscriber.
    void remove_peer(peer_id peer,
                     const std::function<void(std::span<const std::byte>)>& on_last = {});

    // Appends to `out` each peer, once, that has a subscription which is a
    // prefix of `data` (the empty subscription matches everything).
    void match(std::span<const std::byte> data, std::vector<peer_id>& out) const;

    // Whether any subscription is a prefix of `data`.
    bool matches_any(std::span<const std::byte> data) const;

    // Every topic with at least one subscriber, with its total count
    // (for a SUB that re-sends its subscriptions after reconnecting).
    void for_each_topic(const std::function<void(std::span<const std::byte>, std::uint32_t)>& f) const;

    std::size_t topic_count() const noexcept { return topics_; }
    bool empty() const noexcept { return topics_ == 0; }

private:
    static constexpr std::uint32_t none = 0xffffffff;

    struct node {
        std::uint32_t parent = none;
        std::byte key{};
        bool in_use = false;
        std::uint32_t total = 0; // subscriptions on exactly this prefix, all peers
        std::vector<std::pair<std::byte, std::uint32_t>> children; // sorted by key
        std::vector<std::pair<peer_id, std::uint32_t>> subscribers; // peer, count
    };

    std::uint32_t child(std::uint32_t n, std::byte key) const noexcept;
    std::uint32_t find(std::span<const std::byte> topic) const noexcept;
    std::uint32_t allocate(std::uint32_t parent, std::byte key);
    void prune(std::uint32_t n);
    std::vector<std::byte> topic_of(std::uint32_t n) const;

    std::vector<node> nodes_; // nodes_[0] is the root (empty prefix)
    std::vector<std::uint32_t> free_;
    std::size_t topics_ = 0;
};

} // namespace zmtp::pattern
