// SPDX-License-Identifier: MPL-2.0
#include "strategy_parts.hpp"

#include <optional>

namespace zmtp::pattern {
namespace {

using parts::fair_queue;
using parts::load_balancer;
using parts::not_supported;
using parts::single_part;
using parts::would_block;

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
        return info.identity.empty() || !ids_.contains(info.identity);
    }

    void attach(peer_id p, const peer_info& info, peer_queues&) override
    {
        if (info.pending || ids_.has_peer(p))
            return;
        std::string id = info.identity;
        if (id.empty() || ids_.contains(id))
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
    case socket_type::pub:
    case socket_type::xpub:
    case socket_type::sub:
    case socket_type::xsub: return parts::make_pubsub_strategy(type, options);
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
