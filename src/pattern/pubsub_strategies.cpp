// SPDX-License-Identifier: MPL-2.0
// PUB, XPUB, SUB and XSUB (RFC 29, subscriptions per RFC 37 and libzmq
// 4.3's observable behaviour), over a publisher and a subscriber part.
#include "strategy_parts.hpp"
#include "zmtp/pattern/subscription_trie.hpp"

#include <algorithm>
#include <deque>
#include <set>
#include <string>
#include <vector>

namespace zmtp::pattern {
namespace {

using parts::fair_queue;
using parts::not_supported;
using parts::would_block;

std::span<const std::byte> first_frame(const message& m)
{
    return m.empty() ? std::span<const std::byte>() : m.front().bytes();
}

// A one-frame message whose first octet is 1 or 0: a subscription or a
// cancel in the data-frame form (ZMTP 3.0 peers, XSUB).
bool is_subscription_message(const message& m)
{
    if (m.size() != 1 || m.front().empty())
        return false;
    const auto b = std::to_integer<unsigned>(m.front().data()[0]);
    return b == 0 || b == 1;
}

message subscription_message(std::span<const std::byte> topic, bool on)
{
    std::vector<std::byte> body;
    body.reserve(topic.size() + 1);
    body.push_back(std::byte{on ? std::uint8_t{1} : std::uint8_t{0}});
    body.insert(body.end(), topic.begin(), topic.end());
    return message{frame(std::span<const std::byte>(body))};
}

// ---------------------------------------------------------------- building blocks

// Publisher side: prefix filtering over every peer's subscriptions, a
// copy (sharing large bodies) to each matching peer with room; the others
// miss it (RFC 29), or with xpub_nodrop the send waits until all have room.
// With invert_matching the message goes to the peers it does not match.
class publisher : public strategy {
public:
    explicit publisher(const socket_options& o)
        : max_topic_(o.limits.max_command_size),
          nodrop_(o.xpub_nodrop),
          invert_(o.invert_matching),
          welcome_(o.xpub_welcome_msg)
    {
    }

    void attach(peer_id p, const peer_info& info, peer_queues& q) override
    {
        if (info.pending)
            return;
        peers_.push_back(p);
        // Ahead of anything else and whatever the HWM, as libzmq's
        // xpub_t::xattach_pipe does.
        if (!welcome_.empty())
            q.write(p, message{frame(std::string_view(welcome_))});
    }

    void detach(peer_id p, peer_queues&) override
    {
        std::erase(peers_, p);
        counts_.erase(p);
        trie_.remove_peer(p, [&](std::span<const std::byte> topic) { on_last_cancel(topic); });
    }

    std::error_code send(message& m, peer_queues& q) override
    {
        if (m.empty())
            return make_error_code(error::invalid_argument);
        matched_.clear();
        trie_.match(first_frame(m), matched_);
        if (invert_)
            invert_match();
        // Nodrop: all matching peers take it, or it waits (libzmq's
        // xpub_t::xsend checks every matching pipe's HWM first).
        if (nodrop_)
            for (peer_id p : matched_)
                if (!q.writable(p))
                    return would_block();
        for (std::size_t i = 0; i < matched_.size(); ++i) {
            const peer_id p = matched_[i];
            if (!q.writable(p)) {
                count_drop();
                continue;
            }
            if (i + 1 == matched_.size())
                q.write(p, std::move(m));
            else
                q.write(p, m);
        }
        return {};
    }

    std::error_code receive(message&, peer_queues&) override { return not_supported(); }

    // Peers send nothing but subscriptions; any other message is dropped
    // and leaves no state (libzmq CVE-2021-20237).
    bool incoming(peer_id p, message& m, peer_queues& q) override
    {
        if (is_subscription_message(m)) {
            const auto body = m.front().bytes();
            subscription(p, body.subspan(1), body[0] == std::byte{1}, q);
        } else {
            upstream(m);
        }
        return false;
    }

    void subscription(peer_id p, std::span<const std::byte> topic, bool on, peer_queues&) override
    {
        if (on) {
            // Bounded per peer, whatever it sends (docs/reliability.md, limits).
            if (topic.size() > max_topic_ || counts_[p] >= max_subscriptions_per_peer)
                return;
            ++counts_[p];
            on_subscribe(topic, trie_.add(topic, p));
            return;
        }
        // One CANCEL ends the peer's subscription to the topic, however many
        // SUBSCRIBEs came before, as in libzmq (one trie entry per peer):
        // libzmq's SUB, and ours, sends a SUBSCRIBE per subscribe call but a
        // CANCEL only when its last subscription to the topic goes. The
        // loop runs once per SUBSCRIBE the peer sent.
        auto r = subscription_trie::removal::not_subscribed;
        for (auto step = trie_.remove(topic, p); step != subscription_trie::removal::not_subscribed;
             step = trie_.remove(topic, p)) {
            r = step;
            --counts_[p];
        }
        if (r == subscription_trie::removal::not_subscribed)
            return;
        on_cancel(topic, r == subscription_trie::removal::last_removed);
    }

protected:
    static constexpr std::size_t max_subscriptions_per_peer = 65'536;

    bool topic_allowed(std::span<const std::byte> topic) const { return topic.size() <= max_topic_; }

    virtual void on_subscribe(std::span<const std::byte>, bool /*first*/) {}
    virtual void on_cancel(std::span<const std::byte>, bool /*last*/) {}
    virtual void on_last_cancel(std::span<const std::byte>) {}
    virtual void upstream(message&) {}

private:
    // The peers no subscription matched, in place of those it did.
    void invert_match()
    {
        std::sort(matched_.begin(), matched_.end());
        unmatched_.clear();
        for (peer_id p : peers_)
            if (!std::binary_search(matched_.begin(), matched_.end(), p))
                unmatched_.push_back(p);
        matched_.swap(unmatched_);
    }

    subscription_trie trie_;
    std::vector<peer_id> peers_;
    std::unordered_map<peer_id, std::size_t> counts_;
    std::vector<peer_id> matched_;
    std::vector<peer_id> unmatched_;
    std::size_t max_topic_;
    bool nodrop_;
    bool invert_;
    std::string welcome_;
};

// Subscriber side: the application's subscriptions, sent to every peer
// (again to each new peer), and used to filter what arrives: what matches
// one is kept, or with invert_matching what matches none.
class subscriber : public strategy {
public:
    explicit subscriber(const socket_options& o) : invert_(o.invert_matching) {}

    void attach(peer_id p, const peer_info& info, peer_queues& q) override
    {
        if (info.pending)
            return;
        fq_.add(p);
        peers_.push_back(p);
        // A (re)connected peer learns every subscription; this is not
        // subject to the HWM.
        mine_.for_each_topic([&](std::span<const std::byte> topic, std::uint32_t) {
            q.send_subscription(p, topic, true);
        });
    }

    void detach(peer_id p, peer_queues&) override
    {
        fq_.remove(p);
        std::erase(peers_, p);
    }

    std::error_code receive(message& m, peer_queues& q) override
    {
        return fq_.receive(m, q) ? std::error_code() : would_block();
    }

    bool incoming(peer_id, message& m, peer_queues&) override
    {
        return mine_.matches_any(first_frame(m)) != invert_;
    }

    std::error_code subscribe(std::span<const std::byte> topic, bool on, peer_queues& q) override
    {
        constexpr peer_id self = 0;
        if (on) {
            mine_.add(topic, self);
        } else {
            // Upstream learns of a cancel only when no subscription is left.
            if (mine_.remove(topic, self) != subscription_trie::removal::last_removed)
                return {};
        }
        for (peer_id p : peers_)
            q.send_subscription(p, topic, on);
        return {};
    }

    std::error_code send(message&, peer_queues&) override { return not_supported(); }

protected:
    std::vector<peer_id> peers_;

private:
    subscription_trie mine_;
    fair_queue fq_;
    bool invert_;
};

// ---------------------------------------------------------------- socket types

class pub_strategy final : public publisher {
public:
    using publisher::publisher;
};

// XPUB: a PUB that also hands the application the subscriptions
// (0x01topic / 0x00topic), each new topic only unless verbose, and any
// other message its peers send.
//
// xpub_manual: every subscription and cancel is handed up and none is
// applied; the application's subscribe()/unsubscribe() applies a topic to
// the peer whose subscription it received last, as libzmq applies
// ZMQ_SUBSCRIBE on a manual XPUB (xpub_t::xsetsockopt). When a peer
// leaves, each topic it asked for is handed up as a cancel.
class xpub_strategy final : public publisher {
public:
    explicit xpub_strategy(const socket_options& o)
        : publisher(o), verbose_(o.xpub_verbose), manual_(o.xpub_manual), max_upstream_(o.receive_hwm)
    {
    }

    std::error_code receive(message& m, peer_queues&) override
    {
        if (pending_.empty())
            return would_block();
        item& next = pending_.front();
        m = std::move(next.msg);
        if (next.upstream)
            --upstream_waiting_;
        else if (manual_)
            last_peer_ = next.from;
        pending_.pop_front();
        return {};
    }

    void detach(peer_id p, peer_queues& q) override
    {
        if (manual_) {
            if (auto it = asked_.find(p); it != asked_.end()) {
                for (const std::string& topic : it->second)
                    notice(subscription_message(as_bytes(topic), false), none);
                asked_.erase(it);
            }
            // Subscribing a peer that left does nothing.
            if (last_peer_ == p)
                last_peer_ = none;
            for (item& i : pending_)
                if (i.from == p)
                    i.from = none;
        }
        publisher::detach(p, q);
    }

    void subscription(peer_id p, std::span<const std::byte> topic, bool on, peer_queues& q) override
    {
        if (!manual_) {
            publisher::subscription(p, topic, on, q);
            return;
        }
        // Bounded as the automatic subscriptions are; a cancel of a topic
        // the peer never asked for is not handed up.
        auto& asked = asked_[p];
        const std::string t(reinterpret_cast<const char*>(topic.data()), topic.size());
        if (on) {
            if (!topic_allowed(topic) || (asked.size() >= max_subscriptions_per_peer && !asked.contains(t)))
                return;
            asked.insert(t);
        } else if (asked.erase(t) == 0) {
            return;
        }
        notice(subscription_message(topic, on), p);
    }

    std::error_code subscribe(std::span<const std::byte> topic, bool on, peer_queues& q) override
    {
        if (!manual_)
            return not_supported();
        if (last_peer_ != none)
            publisher::subscription(last_peer_, topic, on, q);
        return {};
    }

private:
    static constexpr peer_id none = 0;

    struct item {
        message msg;
        peer_id from = none; // manual: the peer whose subscription this is
        bool upstream = false;
    };

    static std::span<const std::byte> as_bytes(const std::string& s)
    {
        return std::as_bytes(std::span<const char>(s.data(), s.size()));
    }

    void on_subscribe(std::span<const std::byte> topic, bool first) override
    {
        if (!manual_ && (first || verbose_))
            notice(subscription_message(topic, true), none);
    }
    void on_cancel(std::span<const std::byte> topic, bool last) override
    {
        if (!manual_ && last)
            notice(subscription_message(topic, false), none);
    }
    void on_last_cancel(std::span<const std::byte> topic) override
    {
        if (!manual_)
            notice(subscription_message(topic, false), none);
    }
    // Other messages from peers wait for the application too, but no more
    // than the receive HWM of them: a peer cannot grow the queue at will.
    // (Subscription notices are bounded by the per-peer subscription cap.)
    void upstream(message& m) override
    {
        if (max_upstream_ != 0 && upstream_waiting_ >= max_upstream_) {
            count_drop();
            return;
        }
        ++upstream_waiting_;
        pending_.push_back({std::move(m), none, true});
    }

    void notice(message m, peer_id from) { pending_.push_back({std::move(m), from, false}); }

    bool verbose_;
    bool manual_;
    std::size_t max_upstream_;
    std::size_t upstream_waiting_ = 0;
    std::deque<item> pending_;
    std::unordered_map<peer_id, std::set<std::string>> asked_; // manual: what each peer asked for
    peer_id last_peer_ = none;
};

class sub_strategy final : public subscriber {
public:
    using subscriber::subscriber;
};

// XSUB: subscriptions are messages the application sends (0x01topic /
// 0x00topic), passed to every peer as data frames (docs/libzmq-wire.md fact 7);
// other messages go to every peer too.
class xsub_strategy final : public subscriber {
public:
    using subscriber::subscriber;

    std::error_code send(message& m, peer_queues& q) override
    {
        if (m.empty())
            return make_error_code(error::invalid_argument);
        if (is_subscription_message(m)) {
            // Like libzmq: every subscription goes to the peers, a cancel
            // only when the last local subscription to the topic goes (what
            // subscriber::subscribe passes on), as this data frame and
            // whatever the HWM.
            const auto body = m.front().bytes();
            forward_as_data up(q, m);
            subscriber::subscribe(body.subspan(1), body[0] == std::byte{1}, up);
            return {};
        }
        for (peer_id p : peers_) {
            if (q.writable(p))
                q.write(p, m);
            else
                count_drop();
        }
        return {};
    }

    std::error_code subscribe(std::span<const std::byte>, bool, peer_queues&) override
    {
        return not_supported(); // XSUB subscribes by sending messages
    }

private:
    // Turns the subscriber's send_subscription calls into writes of the
    // application's own 0x01/0x00 message (docs/libzmq-wire.md fact 7).
    class forward_as_data final : public peer_queues {
    public:
        forward_as_data(peer_queues& q, const message& m) : q_(q), m_(m) {}
        bool writable(peer_id p) const override { return q_.writable(p); }
        void write(peer_id p, message m) override { q_.write(p, std::move(m)); }
        bool readable(peer_id p) const override { return q_.readable(p); }
        message read(peer_id p) override { return q_.read(p); }
        std::optional<peer_id> first_readable() const override { return q_.first_readable(); }
        std::optional<peer_id> readable_after(peer_id p) const override { return q_.readable_after(p); }
        void send_subscription(peer_id p, std::span<const std::byte>, bool) override { q_.write(p, m_); }

    private:
        peer_queues& q_;
        const message& m_;
    };
};

} // namespace

std::unique_ptr<strategy> parts::make_pubsub_strategy(socket_type type, const socket_options& options)
{
    switch (type) {
    case socket_type::pub: return std::make_unique<pub_strategy>(options);
    case socket_type::xpub: return std::make_unique<xpub_strategy>(options);
    case socket_type::sub: return std::make_unique<sub_strategy>(options);
    case socket_type::xsub: return std::make_unique<xsub_strategy>(options);
    default: return nullptr;
    }
}

} // namespace zmtp::pattern
