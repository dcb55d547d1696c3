// SPDX-License-Identifier: MPL-2.0
// REQ, REP and ROUTER (RFC 28), with libzmq's ZMQ_REQ_RELAXED,
// ZMQ_REQ_CORRELATE and ZMQ_ROUTER_HANDOVER.
#include "strategy_parts.hpp"

#include <cstring>
#include <random>

namespace zmtp::pattern::parts {
namespace {

// REQ: a request goes to the next peer in turn behind an empty delimiter,
// and only that peer's reply counts. Strict: send and receive alternate.
// Relaxed: a new request may be sent at any time; the last one's reply
// will not count. Correlated: the request-id frame goes first
// (docs/libzmq-wire.md, REQ_CORRELATE), and a reply counts only with it.
class req_strategy final : public strategy {
public:
    explicit req_strategy(const socket_options& o)
        : relaxed_(o.req_relaxed), correlate_(o.req_correlate), request_id_(std::random_device{}())
    {
    }

    void attach(peer_id p, const peer_info&, peer_queues&) override { lb_.add(p); }
    void detach(peer_id p, peer_queues&) override { lb_.remove(p); }

    std::error_code send(message& m, peer_queues& q) override
    {
        if (awaiting_ && !relaxed_)
            return make_error_code(error::invalid_state);
        message request;
        request.reserve(m.size() + 2);
        const std::uint32_t id = request_id_ + 1;
        if (correlate_)
            request.push_back(id_frame(id));
        request.push_back(frame());
        for (frame& f : m)
            request.push_back(std::move(f));
        auto p = lb_.send(request, q);
        if (!p) {
            // Give the frames back so a blocking send can retry.
            request.erase_front();
            if (correlate_)
                request.erase_front();
            m = std::move(request);
            return would_block();
        }
        // What the last target sent and was not taken is no reply to this
        // request (libzmq drops what is queued when a request goes).
        if (target_)
            while (q.readable(*target_))
                q.read(*target_);
        request_id_ = id;
        target_ = p;
        awaiting_ = true;
        return {};
    }

    std::error_code receive(message& m, peer_queues& q) override
    {
        if (!awaiting_)
            return make_error_code(error::invalid_state);
        while (q.readable(*target_)) {
            message reply = q.read(*target_);
            if (!is_reply(reply))
                continue; // another request's reply or no envelope: dropped, as libzmq does
            reply.erase_front();
            if (correlate_)
                reply.erase_front();
            m = std::move(reply);
            awaiting_ = false;
            return {};
        }
        return would_block();
    }

    // Replies from any other peer, or when no request is outstanding, are stale.
    bool incoming(peer_id p, message&, peer_queues&) override { return awaiting_ && target_ == p; }

private:
    // The request id in host byte order, as libzmq copies it.
    static frame id_frame(std::uint32_t id)
    {
        std::byte bytes[sizeof id];
        std::memcpy(bytes, &id, sizeof id);
        return frame(std::span<const std::byte>(bytes));
    }

    bool is_reply(const message& r) const
    {
        if (!correlate_)
            return r.size() >= 2 && r.front().empty();
        if (r.size() < 3 || r[0].size() != sizeof request_id_ || !r[1].empty())
            return false;
        std::uint32_t id = 0;
        std::memcpy(&id, r[0].data(), sizeof id);
        return id == request_id_;
    }

    bool relaxed_;
    bool correlate_;
    std::uint32_t request_id_; // the last request's; a random start, as libzmq
    load_balancer lb_;
    std::optional<peer_id> target_;
    bool awaiting_ = false;
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
// each message out is routed by its first frame (RFC 28). A routing id in
// use is refused to a newcomer, or with handover given to it: the old
// peer (its connection closed by the core) keeps a generated id for what
// it sent, as libzmq does.
class router_strategy final : public strategy {
public:
    explicit router_strategy(const socket_options& o)
        : mandatory_(o.router_mandatory), handover_(o.router_handover)
    {
    }

    bool accepts(const peer_info& info) const override
    {
        return !usable(info.identity) || handover_ || !ids_.contains(info.identity);
    }

    void attach(peer_id p, const peer_info& info, peer_queues&) override
    {
        if (info.pending || ids_.has_peer(p))
            return;
        std::string id = info.identity;
        if (auto old = usable(id) ? ids_.find(id) : std::nullopt; old && handover_) {
            ids_.remove(*old);
            ids_.add(*old, ids_.fresh(generated_id));
        }
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
    bool handover_;
    fair_queue fq_;
    routing_table<std::string> ids_;
};

} // namespace

std::unique_ptr<strategy> make_reqrep_strategy(socket_type type, const socket_options& options)
{
    switch (type) {
    case socket_type::req: return std::make_unique<req_strategy>(options);
    case socket_type::rep: return std::make_unique<rep_strategy>();
    case socket_type::router: return std::make_unique<router_strategy>(options);
    default: return nullptr;
    }
}

} // namespace zmtp::pattern::parts
