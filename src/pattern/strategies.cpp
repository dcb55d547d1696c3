// SPDX-License-Identifier: MPL-2.0
#include "strategy_parts.hpp"
#include "zmtp/pattern/subscription_trie.hpp"

#include <deque>
#include <vector>

namespace zmtp::pattern {
namespace {

using parts::fair_queue;
using parts::load_balancer;
using parts::not_supported;
using parts::single_part;
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
// miss it (RFC 29).
class publisher : public strategy {
public:
    explicit publisher(const socket_options& o) : max_topic_(o.limits.max_command_size) {}

    void attach(peer_id p, const peer_info& info, peer_queues&) override
    {
        if (!info.pending)
            peers_.push_back(p);
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

    virtual void on_subscribe(std::span<const std::byte>, bool /*first*/) {}
    virtual void on_cancel(std::span<const std::byte>, bool /*last*/) {}
    virtual void on_last_cancel(std::span<const std::byte>) {}
    virtual void upstream(message&) {}

private:
    subscription_trie trie_;
    std::vector<peer_id> peers_;
    std::unordered_map<peer_id, std::size_t> counts_;
    std::vector<peer_id> matched_;
    std::size_t max_topic_;
};

// Subscriber side: the application's subscriptions, sent to every peer
// (again to each new peer), and used to filter what arrives.
class subscriber : public strategy {
public:
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
        return mine_.matches_any(first_frame(m));
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
};

// ---------------------------------------------------------------- socket types

class push_strategy : public strategy {
public:
    void attach(peer_id p, const peer_info&, peer_queues&) override { lb_.add(p); }
    void detach(peer_id p, peer_queues&) override { lb_.remove(p); }
    std::error_code send(message& m, peer_queues& q) override
    {
        return lb_.send(m, q) ? std::error_code() : would_block();
    }
    std::error_code receive(message&, peer_queues&) override { return not_supported(); }

private:
    load_balancer lb_;
};

class pull_strategy : public strategy {
public:
    void attach(peer_id p, const peer_info& info, peer_queues&) override
    {
        if (!info.pending)
            fq_.add(p);
    }
    void detach(peer_id p, peer_queues&) override { fq_.remove(p); }
    std::error_code send(message&, peer_queues&) override { return not_supported(); }
    std::error_code receive(message& m, peer_queues& q) override
    {
        return fq_.receive(m, q) ? std::error_code() : would_block();
    }

private:
    fair_queue fq_;
};

class dealer_strategy : public strategy {
public:
    void attach(peer_id p, const peer_info& info, peer_queues&) override
    {
        lb_.add(p);
        if (!info.pending)
            fq_.add(p);
    }
    void detach(peer_id p, peer_queues&) override
    {
        lb_.remove(p);
        fq_.remove(p);
    }
    std::error_code send(message& m, peer_queues& q) override
    {
        return lb_.send(m, q) ? std::error_code() : would_block();
    }
    std::error_code receive(message& m, peer_queues& q) override
    {
        return fq_.receive(m, q) ? std::error_code() : would_block();
    }

private:
    load_balancer lb_;
    fair_queue fq_;
};

// One peer at a time (RFC 31); a second is refused while the first is there.
class pair_strategy : public strategy {
public:
    bool accepts(const peer_info&) const override { return !ready_; }
    void attach(peer_id p, const peer_info& info, peer_queues&) override
    {
        if (peer_ && *peer_ != p && (ready_ || info.pending))
            return; // already bound to another (pending) peer
        peer_ = p;
        ready_ = !info.pending;
    }
    void detach(peer_id p, peer_queues&) override
    {
        if (peer_ == p) {
            peer_.reset();
            ready_ = false;
        }
    }
    std::error_code send(message& m, peer_queues& q) override
    {
        if (!peer_ || !q.writable(*peer_))
            return would_block();
        q.write(*peer_, std::move(m));
        return {};
    }
    std::error_code receive(message& m, peer_queues& q) override
    {
        if (!peer_ || !ready_ || !q.readable(*peer_))
            return would_block();
        m = q.read(*peer_);
        return {};
    }

private:
    std::optional<peer_id> peer_;
    bool ready_ = false;
};

// REQ: strict send/receive alternation; a request goes to the next peer
// in turn behind an empty delimiter, and only that peer's reply counts
// (RFC 28).
class req_strategy final : public strategy {
public:
    void attach(peer_id p, const peer_info&, peer_queues&) override { lb_.add(p); }
    void detach(peer_id p, peer_queues&) override { lb_.remove(p); }

    std::error_code send(message& m, peer_queues& q) override
    {
        if (target_)
            return make_error_code(error::invalid_state);
        message request;
        request.reserve(m.size() + 1);
        request.push_back(frame());
        for (frame& f : m)
            request.push_back(std::move(f));
        auto p = lb_.send(request, q);
        if (!p) {
            // Give the frames back so a blocking send can retry.
            request.erase_front();
            m = std::move(request);
            return would_block();
        }
        target_ = p;
        return {};
    }

    std::error_code receive(message& m, peer_queues& q) override
    {
        if (!target_)
            return make_error_code(error::invalid_state);
        while (q.readable(*target_)) {
            message reply = q.read(*target_);
            if (reply.size() < 2 || !reply.front().empty())
                continue; // not a reply envelope: dropped, as libzmq does
            reply.erase_front();
            m = std::move(reply);
            target_.reset();
            return {};
        }
        return would_block();
    }

    // Replies from any other peer, or when no request is outstanding, are stale.
    bool incoming(peer_id p, message&, peer_queues&) override { return target_ && *target_ == p; }

private:
    load_balancer lb_;
    std::optional<peer_id> target_;
};

// REP: takes requests in turn, remembers the envelope (every frame up to
// the empty delimiter) and sends the reply back along it (RFC 28).
class rep_strategy final : public strategy {
public:
    void attach(peer_id p, const peer_info& info, peer_queues&) override
    {
        if (!info.pending)
            fq_.add(p);
    }
    void detach(peer_id p, peer_queues&) override
    {
        fq_.remove(p);
        if (from_ == p)
            from_.reset(); // the reply will have nowhere to go
    }

    std::error_code receive(message& m, peer_queues& q) override
    {
        if (awaiting_reply_)
            return make_error_code(error::invalid_state);
        message request;
        while (auto p = fq_.receive(request, q)) {
            std::size_t delimiter = 0;
            while (delimiter < request.size() && !request[delimiter].empty())
                ++delimiter;
            if (delimiter + 1 >= request.size())
                continue; // no envelope or no body: dropped
            envelope_.clear();
            message body;
            for (std::size_t i = 0; i < request.size(); ++i)
                (i <= delimiter ? envelope_ : body).push_back(std::move(request[i]));
            body.set_properties(request.properties());
            from_ = p;
            awaiting_reply_ = true;
            m = std::move(body);
            return {};
        }
        return would_block();
    }

    std::error_code send(message& m, peer_queues& q) override
    {
        if (!awaiting_reply_)
            return make_error_code(error::invalid_state);
        awaiting_reply_ = false;
        if (!from_ || !q.writable(*from_)) {
            count_drop(); // the requester left or is full: libzmq drops the reply
            return {};
        }
        message reply = std::move(envelope_);
        envelope_ = message();
        for (frame& f : m)
            reply.push_back(std::move(f));
        q.write(*from_, std::move(reply));
        return {};
    }

private:
    fair_queue fq_;
    std::optional<peer_id> from_;
    message envelope_;
    bool awaiting_reply_ = false;
};

// ROUTER: each message in carries its peer's routing id as first frame;
// each message out is routed by its first frame (RFC 28).
class router_strategy final : public strategy {
public:
    explicit router_strategy(const socket_options& o) : mandatory_(o.router_mandatory) {}

    bool accepts(const peer_info& info) const override
    {
        return !usable(info.identity) || !ids_.contains(info.identity);
    }

    void attach(peer_id p, const peer_info& info, peer_queues&) override
    {
        if (info.pending || ids_.has_peer(p))
            return;
        std::string id = info.identity;
        if (!usable(id) || ids_.contains(id))
            id = ids_.fresh(generated_id);
        ids_.add(p, std::move(id));
        fq_.add(p);
    }

    void detach(peer_id p, peer_queues&) override
    {
        ids_.remove(p);
        fq_.remove(p);
    }

    std::string routing_id_of(peer_id p) const override
    {
        const std::string* id = ids_.id_of(p);
        return id ? *id : std::string();
    }

    std::error_code receive(message& m, peer_queues& q) override
    {
        message in;
        auto p = fq_.receive(in, q);
        if (!p)
            return would_block();
        m = message();
        m.reserve(in.size() + 1);
        m.push_back(frame(*ids_.id_of(*p)));
        for (frame& f : in)
            m.push_back(std::move(f));
        m.set_properties(in.properties());
        return {};
    }

    std::error_code send(message& m, peer_queues& q) override
    {
        if (m.size() < 2)
            return make_error_code(error::invalid_argument);
        auto p = ids_.find(std::string(m.front().view()));
        if (!p) {
            if (mandatory_)
                return make_error_code(error::host_unreachable);
            count_drop();
            return {};
        }
        if (!q.writable(*p)) {
            if (mandatory_)
                return would_block();
            count_drop();
            return {};
        }
        m.erase_front();
        q.write(*p, std::move(m));
        return {};
    }

private:
    // RFC 37: an Identity is at most 255 octets and its first is not zero
    // (those are ours to generate). Any other is ignored: the peer gets a
    // generated id, as with none.
    static bool usable(const std::string& id)
    {
        return !id.empty() && id.size() <= 255 && id.front() != '\0';
    }

    // Like libzmq: a zero octet (reserved for generated ids, RFC 37) and
    // a 32-bit counter.
    static std::optional<std::string> generated_id(std::uint32_t n)
    {
        std::string id(5, '\0');
        for (int i = 0; i < 4; ++i)
            id[static_cast<std::size_t>(1 + i)] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
        return id;
    }

    bool mandatory_;
    fair_queue fq_;
    parts::routing_table<std::string> ids_;
};

class pub_strategy final : public publisher {
public:
    using publisher::publisher;
};

// XPUB: a PUB that also hands the application the subscriptions
// (0x01topic / 0x00topic), each new topic only unless verbose, and any
// other message its peers send.
class xpub_strategy final : public publisher {
public:
    explicit xpub_strategy(const socket_options& o)
        : publisher(o), verbose_(o.xpub_verbose), max_upstream_(o.receive_hwm)
    {
    }

    std::error_code receive(message& m, peer_queues&) override
    {
        if (pending_.empty())
            return would_block();
        m = std::move(pending_.front());
        pending_.pop_front();
        if (pending_is_upstream_.front())
            --upstream_waiting_;
        pending_is_upstream_.pop_front();
        return {};
    }

private:
    void on_subscribe(std::span<const std::byte> topic, bool first) override
    {
        if (first || verbose_)
            notice(subscription_message(topic, true));
    }
    void on_cancel(std::span<const std::byte> topic, bool last) override
    {
        if (last)
            notice(subscription_message(topic, false));
    }
    void on_last_cancel(std::span<const std::byte> topic) override
    {
        notice(subscription_message(topic, false));
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
        pending_.push_back(std::move(m));
        pending_is_upstream_.push_back(true);
    }

    void notice(message m)
    {
        pending_.push_back(std::move(m));
        pending_is_upstream_.push_back(false);
    }

    bool verbose_;
    std::size_t max_upstream_;
    std::size_t upstream_waiting_ = 0;
    std::deque<message> pending_;
    std::deque<bool> pending_is_upstream_;
};

class sub_strategy final : public subscriber {
};

// XSUB: subscriptions are messages the application sends (0x01topic /
// 0x00topic), passed to every peer as data frames (docs/libzmq-wire.md fact 7);
// other messages go to every peer too.
class xsub_strategy final : public subscriber {
public:
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
        void send_subscription(peer_id p, std::span<const std::byte>, bool) override { q_.write(p, m_); }

    private:
        peer_queues& q_;
        const message& m_;
    };
};

} // namespace

std::unique_ptr<strategy> make_strategy(socket_type type, const socket_options& options)
{
    switch (type) {
    case socket_type::push: return std::make_unique<push_strategy>();
    case socket_type::pull: return std::make_unique<pull_strategy>();
    case socket_type::pair: return std::make_unique<pair_strategy>();
    case socket_type::dealer: return std::make_unique<dealer_strategy>();
    case socket_type::req: return std::make_unique<req_strategy>();
    case socket_type::rep: return std::make_unique<rep_strategy>();
    case socket_type::router: return std::make_unique<router_strategy>(options);
    case socket_type::pub: return std::make_unique<pub_strategy>(options);
    case socket_type::xpub: return std::make_unique<xpub_strategy>(options);
    case socket_type::sub: return std::make_unique<sub_strategy>();
    case socket_type::xsub: return std::make_unique<xsub_strategy>();
    case socket_type::scatter: return std::make_unique<single_part<push_strategy>>();
    case socket_type::gather: return std::make_unique<single_part<pull_strategy>>();
    case socket_type::client: return std::make_unique<single_part<dealer_strategy>>();
    case socket_type::channel: return std::make_unique<single_part<pair_strategy>>();
    case socket_type::server:
    case socket_type::peer:
    case socket_type::radio:
    case socket_type::dish: return parts::make_draft_strategy(type, options);
    }
    return nullptr;
}

} // namespace zmtp::pattern
