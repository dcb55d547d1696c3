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
    // Nothing reads what a PULL sends: dropped at once, as a queue that
    // filled up would stop reading the connection, and its close unseen.
    bool incoming(peer_id, message&, peer_queues&) override { return false; }

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

} // namespace

std::unique_ptr<strategy> make_strategy(socket_type type, const socket_options& options)
{
    switch (type) {
    case socket_type::push: return std::make_unique<push_strategy>();
    case socket_type::pull: return std::make_unique<pull_strategy>();
    case socket_type::pair: return std::make_unique<pair_strategy>();
    case socket_type::dealer: return std::make_unique<dealer_strategy>();
    case socket_type::req:
    case socket_type::rep:
    case socket_type::router: return parts::make_reqrep_strategy(type, options);
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
