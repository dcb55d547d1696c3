// SPDX-License-Identifier: MPL-2.0
// The parts routing strategies are built from, shared by the classic
// types (strategies.cpp, pubsub_strategies.cpp) and the draft types
// (draft_strategies.cpp).
#pragma once

#include "zmtp/error.hpp"
#include "zmtp/pattern/round_robin.hpp"
#include "zmtp/pattern/strategy.hpp"

#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace zmtp::pattern::parts {

inline std::error_code would_block()
{
    return make_error_code(error::would_block);
}

inline std::error_code not_supported()
{
    return make_error_code(error::operation_not_supported);
}

// Sends each message to the next peer, in turn, that has room (RFC 30).
class load_balancer {
public:
    void add(peer_id p)
    {
        if (!peers_.contains(p))
            peers_.add(p);
    }
    void remove(peer_id p) { peers_.remove(p); }
    bool empty() const noexcept { return peers_.empty(); }

    // Inlined into each strategy, as receive() is: returned from a call,
    // the std::optional goes through the stack and its flag byte is read
    // back as a whole word, a store-forwarding stall on every message.
    [[gnu::always_inline]] std::optional<peer_id> send(message& m, peer_queues& q)
    {
        auto p = peers_.next([&](peer_id id) { return q.writable(id); });
        if (p)
            q.write(*p, std::move(m));
        return p;
    }

private:
    round_robin peers_;
};

// Takes each message from the member peer whose turn it is among those
// that have one: the first in peer_queues' readable order, which rotates
// the peers with messages round-robin (RFC 30). Peers with nothing to read
// are never looked at, so a receive does not cost one look per peer.
class fair_queue {
public:
    void add(peer_id p) { members_.insert(p); }
    void remove(peer_id p) { members_.erase(p); }

    [[gnu::always_inline]] std::optional<peer_id> receive(message& m, peer_queues& q)
    {
        // Skips only listed non-members: a pending or detached peer that
        // still holds messages, which is rare and short-lived.
        for (auto p = q.first_readable(); p; p = q.readable_after(*p))
            if (members_.contains(*p)) {
                m = q.read(*p);
                return p;
            }
        return std::nullopt;
    }

private:
    std::unordered_set<peer_id> members_;
};

// Routing ids both ways (ROUTER's octet strings, SERVER's and PEER's
// numbers), with fresh ids from a 32-bit counter that skips those in use
// and those `make` refuses (returns nullopt for).
template <class Id>
class routing_table {
public:
    bool contains(const Id& id) const { return by_id_.contains(id); }
    bool has_peer(peer_id p) const { return by_peer_.contains(p); }

    void add(peer_id p, Id id)
    {
        by_id_[id] = p;
        by_peer_[p] = std::move(id);
    }

    void remove(peer_id p)
    {
        auto it = by_peer_.find(p);
        if (it == by_peer_.end())
            return;
        by_id_.erase(it->second);
        by_peer_.erase(it);
    }

    std::optional<peer_id> find(const Id& id) const
    {
        auto it = by_id_.find(id);
        return it == by_id_.end() ? std::nullopt : std::optional<peer_id>(it->second);
    }

    const Id* id_of(peer_id p) const
    {
        auto it = by_peer_.find(p);
        return it == by_peer_.end() ? nullptr : &it->second;
    }

    template <class Make>
    Id fresh(Make make)
    {
        for (;;) {
            std::optional<Id> id = make(next_++);
            if (id && !by_id_.contains(*id))
                return std::move(*id);
        }
    }

private:
    std::map<Id, peer_id> by_id_;
    std::unordered_map<peer_id, Id> by_peer_;
    std::uint32_t next_ = 0x6b8b4567; // any start; ids only need to be unique
};

// A draft type over the strategy of a classic one (SCATTER over PUSH,
// CLIENT over DEALER, ...): single-part messages only. Sending several
// frames is an error; a peer's multipart message is dropped, as libzmq
// does.
template <class Base>
class single_part final : public Base {
public:
    using Base::Base;

    std::error_code send(message& m, peer_queues& q) override
    {
        if (m.size() != 1)
            return make_error_code(m.empty() ? error::invalid_argument : error::multipart_not_supported);
        return Base::send(m, q);
    }

    bool incoming(peer_id p, message& m, peer_queues& q) override
    {
        if (m.size() != 1) {
            this->count_drop();
            return false;
        }
        return Base::incoming(p, m, q);
    }
};

// REQ, REP and ROUTER (reqrep_strategies.cpp).
std::unique_ptr<strategy> make_reqrep_strategy(socket_type type, const socket_options& options);
// PUB, XPUB, SUB and XSUB (pubsub_strategies.cpp).
std::unique_ptr<strategy> make_pubsub_strategy(socket_type type, const socket_options& options);

// SERVER, PEER, RADIO and DISH (draft_strategies.cpp).
std::unique_ptr<strategy> make_draft_strategy(socket_type type, const socket_options& options);

} // namespace zmtp::pattern::parts
