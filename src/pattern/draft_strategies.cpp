// SPDX-License-Identifier: MPL-2.0
// The draft types that are more than a classic strategy made single-part:
// SERVER and PEER (RFC 41, 51), RADIO and DISH (RFC 48).
#include "strategy_parts.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace zmtp::pattern::parts {
namespace {

std::string to_string(std::span<const std::byte> bytes)
{
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// SERVER and PEER: every peer gets a 32-bit routing id (never 0) as soon
// as it is attached, a connect()'s peer too, so that a PEER can address
// it before it is up (libzmq's zmq_connect_peer). Each message in carries
// its peer's id; each message out goes to the peer its id names, and
// fails, as libzmq's does, when that peer is gone (host_unreachable) or
// full (would_block).
class server_strategy : public strategy {
public:
    explicit server_strategy(const socket_options&) {}

    void attach(peer_id p, const peer_info& info, peer_queues&) override
    {
        if (!ids_.has_peer(p))
            ids_.add(p, ids_.fresh([](std::uint32_t n) {
                return n == 0 ? std::nullopt : std::optional<std::uint32_t>(n);
            }));
        if (!info.pending)
            fq_.add(p);
    }

    void detach(peer_id p, peer_queues&) override
    {
        ids_.remove(p);
        fq_.remove(p);
    }

    std::string routing_id_of(peer_id p) const override
    {
        const std::uint32_t* id = ids_.id_of(p);
        return id ? std::to_string(*id) : std::string();
    }

    std::uint32_t numeric_routing_id_of(peer_id p) const override
    {
        const std::uint32_t* id = ids_.id_of(p);
        return id ? *id : 0;
    }

    std::error_code receive(message& m, peer_queues& q) override
    {
        auto p = fq_.receive(m, q);
        if (!p)
            return would_block();
        m.set_routing_id(*ids_.id_of(*p));
        return {};
    }

    std::error_code send(message& m, peer_queues& q) override
    {
        auto p = ids_.find(m.routing_id());
        if (!p)
            return make_error_code(error::host_unreachable);
        if (!q.writable(*p))
            return would_block();
        q.write(*p, std::move(m));
        return {};
    }

private:
    fair_queue fq_;
    routing_table<std::uint32_t> ids_;
};

// RADIO: each message goes, as a group frame and a body frame, to the
// peers that joined its group (exact match); a full peer misses it.
class radio_strategy final : public strategy {
public:
    void attach(peer_id, const peer_info&, peer_queues&) override {}

    void detach(peer_id p, peer_queues&) override
    {
        for (auto it = groups_.begin(); it != groups_.end();) {
            std::erase(it->second, p);
            it = it->second.empty() ? groups_.erase(it) : std::next(it);
        }
        counts_.erase(p);
    }

    std::error_code send(message& m, peer_queues& q) override
    {
        if (m.size() != 1)
            return make_error_code(m.empty() ? error::invalid_argument : error::multipart_not_supported);
        if (m.group().size() > message::max_group_size)
            return make_error_code(error::invalid_argument);
        auto it = groups_.find(m.group());
        if (it == groups_.end())
            return {};
        const message wire{frame(m.group()), std::move(m.front())};
        for (peer_id p : it->second) {
            if (q.writable(p))
                q.write(p, wire);
            else
                count_drop();
        }
        return {};
    }

    std::error_code receive(message&, peer_queues&) override { return not_supported(); }

    // A DISH sends nothing but JOIN and LEAVE.
    bool incoming(peer_id, message&, peer_queues&) override { return false; }

    void subscription(peer_id p, std::span<const std::byte> group, bool join, peer_queues&) override
    {
        if (group.size() > message::max_group_size)
            return;
        auto& members = groups_[to_string(group)];
        const bool member = std::find(members.begin(), members.end(), p) != members.end();
        if (join && !member && counts_[p] < max_groups_per_peer) {
            members.push_back(p);
            ++counts_[p];
        } else if (!join && member) {
            std::erase(members, p);
            --counts_[p];
        }
        if (members.empty())
            groups_.erase(to_string(group));
    }

private:
    // Bounded per peer, whatever it sends (docs/reliability.md, limits).
    static constexpr std::size_t max_groups_per_peer = 65'536;

    std::unordered_map<std::string, std::vector<peer_id>> groups_;
    std::unordered_map<peer_id, std::size_t> counts_;
};

// DISH: the groups the application joined, sent to every peer (again to
// each new one) as JOIN and LEAVE; a message of another group, or not
// made of a group frame and a body, is dropped.
class dish_strategy final : public strategy {
public:
    void attach(peer_id p, const peer_info& info, peer_queues& q) override
    {
        if (info.pending)
            return;
        fq_.add(p);
        peers_.push_back(p);
        for (const std::string& g : joined_)
            q.send_subscription(p, std::as_bytes(std::span<const char>(g.data(), g.size())), true);
    }

    void detach(peer_id p, peer_queues&) override
    {
        fq_.remove(p);
        std::erase(peers_, p);
    }

    // join (on) or leave: like libzmq, joining a group twice or leaving
    // one not joined is an error.
    std::error_code subscribe(std::span<const std::byte> group, bool join, peer_queues& q) override
    {
        if (group.size() > message::max_group_size)
            return make_error_code(error::invalid_argument);
        const bool changed = join ? joined_.insert(to_string(group)).second
                                  : joined_.erase(to_string(group)) != 0;
        if (!changed)
            return make_error_code(error::invalid_argument);
        for (peer_id p : peers_)
            q.send_subscription(p, group, join);
        return {};
    }

    bool incoming(peer_id, message& m, peer_queues&) override
    {
        if (m.size() != 2) {
            count_drop();
            return false;
        }
        if (!joined_.contains(std::string(m.front().view())))
            return false;
        message body{std::move(m[1])};
        body.set_group(m.front().str());
        body.set_properties(m.properties());
        m = std::move(body);
        return true;
    }

    std::error_code receive(message& m, peer_queues& q) override
    {
        return fq_.receive(m, q) ? std::error_code() : would_block();
    }

    std::error_code send(message&, peer_queues&) override { return not_supported(); }

private:
    fair_queue fq_;
    std::vector<peer_id> peers_;
    std::set<std::string, std::less<>> joined_;
};

} // namespace

std::unique_ptr<strategy> make_draft_strategy(socket_type type, const socket_options& options)
{
    switch (type) {
    case socket_type::server:
    case socket_type::peer: return std::make_unique<single_part<server_strategy>>(options);
    case socket_type::radio: return std::make_unique<radio_strategy>();
    case socket_type::dish: return std::make_unique<dish_strategy>();
    default: return nullptr;
    }
}

} // namespace zmtp::pattern::parts
