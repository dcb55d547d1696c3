// SPDX-License-Identifier: MPL-2.0
// An in-memory peer_queues for strategy tests: per-peer outgoing and
// incoming deques, the readable order the socket core keeps, a settable
// outgoing high-water mark per peer, and a record of every
// send_subscription call.
#pragma once

#include "zmtp/message.hpp"
#include "zmtp/pattern/peer_queues.hpp"

#include <cstddef>
#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace zmtp::test {

class fake_peer_queues final : public pattern::peer_queues {
public:
    struct subscription_call {
        pattern::peer_id peer;
        std::string topic;
        bool subscribe;
        friend bool operator==(const subscription_call&, const subscription_call&) = default;
    };

    // Outgoing high-water mark of `p`; 0 means no limit (the default).
    void set_hwm(pattern::peer_id p, std::size_t hwm) { peers_[p].hwm = hwm; }

    // What the strategy queued for `p`, oldest first.
    std::deque<message>& sent(pattern::peer_id p) { return peers_[p].out; }
    std::size_t sent_count(pattern::peer_id p) const
    {
        auto it = peers_.find(p);
        return it == peers_.end() ? 0 : it->second.out.size();
    }
    // Removes and returns the oldest message queued for `p`.
    message take(pattern::peer_id p)
    {
        auto& out = peers_[p].out;
        if (out.empty())
            throw std::logic_error("fake_peer_queues::take: nothing queued for this peer");
        message m = std::move(out.front());
        out.pop_front();
        return m;
    }

    // Queues a message as if `p` had sent it (after the strategy's incoming()).
    void arrive(pattern::peer_id p, message m)
    {
        auto& in = peers_[p].in;
        if (in.empty())
            readable_order_.push_back(p);
        in.push_back(std::move(m));
    }
    std::size_t unread(pattern::peer_id p) const
    {
        auto it = peers_.find(p);
        return it == peers_.end() ? 0 : it->second.in.size();
    }

    const std::vector<subscription_call>& subscriptions() const noexcept { return subscriptions_; }
    void clear_subscriptions() { subscriptions_.clear(); }

    // peer_queues
    bool writable(pattern::peer_id p) const override
    {
        auto it = peers_.find(p);
        if (it == peers_.end())
            return true;
        return it->second.hwm == 0 || it->second.out.size() < it->second.hwm;
    }
    void write(pattern::peer_id p, message m) override { peers_[p].out.push_back(std::move(m)); }
    bool readable(pattern::peer_id p) const override { return unread(p) != 0; }
    message read(pattern::peer_id p) override
    {
        auto& in = peers_[p].in;
        if (in.empty())
            throw std::logic_error("fake_peer_queues::read: the peer has nothing to read");
        message m = std::move(in.front());
        in.pop_front();
        std::erase(readable_order_, p);
        if (!in.empty())
            readable_order_.push_back(p);
        return m;
    }
    std::optional<pattern::peer_id> first_readable() const override
    {
        if (readable_order_.empty())
            return std::nullopt;
        return readable_order_.front();
    }
    std::optional<pattern::peer_id> readable_after(pattern::peer_id p) const override
    {
        auto it = std::find(readable_order_.begin(), readable_order_.end(), p);
        if (it == readable_order_.end() || ++it == readable_order_.end())
            return std::nullopt;
        return *it;
    }
    void send_subscription(pattern::peer_id p, std::span<const std::byte> topic, bool subscribe) override
    {
        subscriptions_.push_back(
            {p, std::string(reinterpret_cast<const char*>(topic.data()), topic.size()), subscribe});
    }

private:
    struct peer {
        std::size_t hwm = 0;
        std::deque<message> out;
        std::deque<message> in;
    };
    std::map<pattern::peer_id, peer> peers_;
    std::vector<pattern::peer_id> readable_order_; // peers with unread messages, in turn order
    std::vector<subscription_call> subscriptions_;
};

} // namespace zmtp::test
