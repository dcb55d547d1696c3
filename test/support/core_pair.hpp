// SPDX-License-Identifier: MPL-2.0
// Socket cores joined back to back in memory: each connection is a pair of
// message queues ("wires") between a peer of one core and a peer of the
// other, and the harness carries out the cores' actions (writes, pauses,
// closes, completions) the way the Asio shell does, with a fake clock.
// Nothing here sleeps; settle() runs until no core has anything left to do.
#pragma once

#include "fake_clock.hpp"
#include "zmtp/pattern/socket_core.hpp"

#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace zmtp::test {

using pattern::peer_event;
using pattern::peer_id;
using pattern::socket_core;

// One socket: its core and a record of what its actions asked for.
struct core_end {
    explicit core_end(socket_type t, std::string name) : core(t), name(std::move(name)) {}

    struct monitor_record {
        peer_event event;
        std::string endpoint;
        std::string routing_id;
        std::string reason;
        std::error_code ec;
    };

    socket_core core;
    std::string name;
    std::map<socket_core::token, std::error_code> sends_done;
    std::map<socket_core::token, std::pair<std::error_code, message>> receives_done;
    std::vector<monitor_record> events;
    std::vector<peer_id> lost;
    std::vector<peer_id> released;
    std::optional<fake_clock::time_point> timer_at;
    bool close_done = false;
    socket_core::token next_token = 1;
    const fake_clock* clock = nullptr; // the net's: sends and receives start at its now

    socket_core::token send(message m)
    {
        const auto t = next_token++;
        core.send(t, std::move(m), clock->now());
        return t;
    }
    socket_core::token receive()
    {
        const auto t = next_token++;
        core.receive(t, clock->now());
        return t;
    }
    // The next message the application can take, if any.
    std::optional<message> take()
    {
        message m;
        if (core.try_receive(m))
            return std::nullopt;
        return m;
    }
    std::size_t count(peer_event e) const
    {
        std::size_t n = 0;
        for (const auto& r : events)
            n += r.event == e;
        return n;
    }
};

// A connection between peer `id[0]` of `end[0]` and peer `id[1]` of `end[1]`.
struct wire_link {
    struct item {
        message msg;
        int kind = 0; // 0: message, 1: subscribe, 2: cancel
    };
    core_end* end[2];
    peer_id id[2];
    std::deque<item> wire[2]; // wire[d]: sent by side d, not yet read by the other
    bool paused[2] = {false, false}; // side d stopped reading
    std::size_t resumes[2] = {0, 0}; // times side d was told to read again
    bool flushing[2] = {false, false};
    bool open = true;
};

class core_net {
public:
    // Messages a connection holds in flight per direction (its socket buffers).
    std::size_t capacity = 4;
    fake_clock clock;

    core_end& make(socket_type t, std::string name)
    {
        core_end& e = ends_.emplace_back(t, std::move(name));
        e.clock = &clock;
        return e;
    }

    // A connection between a connect()'s peer `pa` of `a` and a new
    // accepted peer of `b`, still handshaking.
    wire_link& open(core_end& a, peer_id pa, core_end& b)
    {
        wire_link& l = links_.emplace_back();
        l.end[0] = &a;
        l.end[1] = &b;
        l.id[0] = pa;
        a.core.link_started(pa, "tcp://" + b.name, b.name);
        l.id[1] = b.core.add_accepted("tcp://" + b.name, a.name);
        return l;
    }

    // Both sides complete the handshake, each learning the other's Identity.
    void handshake(wire_link& l)
    {
        l.end[0]->core.handshake_done(l.id[0], l.end[1]->core.options().routing_id);
        l.end[1]->core.handshake_done(l.id[1], l.end[0]->core.options().routing_id);
        settle();
    }

    wire_link& join(core_end& a, peer_id pa, core_end& b)
    {
        wire_link& l = open(a, pa, b);
        handshake(l);
        return l;
    }

    // `a` connects to `b`: a pending peer, then a connection, then the
    // handshake.
    wire_link& connect(core_end& a, core_end& b)
    {
        return join(a, a.core.add_connect("tcp://" + b.name), b);
    }

    // The connection breaks under both sides.
    void cut(wire_link& l)
    {
        if (!l.open)
            return;
        l.open = false;
        for (int d = 0; d < 2; ++d)
            l.end[d]->core.link_closed(l.id[d], "connection reset");
        settle();
    }

    void advance(fake_clock::duration d)
    {
        clock.advance(d);
        for (auto& e : ends_)
            if (e.timer_at && *e.timer_at <= clock.now()) {
                e.timer_at.reset();
                e.core.timer(clock.now());
            }
        settle();
    }

    // Carries out actions and moves messages until nothing changes.
    void settle()
    {
        for (int rounds = 0; rounds < 10000; ++rounds) {
            bool busy = false;
            for (auto& e : ends_)
                busy |= run(e);
            for (auto& l : links_)
                for (int d = 0; d < 2; ++d)
                    busy |= deliver(l, d);
            if (!busy)
                return;
        }
        throw std::logic_error("core_net::settle: the cores never went quiet");
    }

private:
    wire_link* link_of(core_end& e, peer_id p, int& side)
    {
        for (auto& l : links_)
            for (int d = 0; d < 2; ++d)
                if (l.open && l.end[d] == &e && l.id[d] == p) {
                    side = d;
                    return &l;
                }
        return nullptr;
    }

    void pull(core_end& e, wire_link& l, int d, bool all)
    {
        e.core.drain_output(l.id[d], [&](const message& m) {
            if (!all && l.wire[d].size() >= capacity)
                return false;
            l.wire[d].push_back({m, 0});
            return true;
        });
    }

    bool run(core_end& e)
    {
        if (e.core.actions().empty())
            return false;
        using kind = socket_core::action::kind;
        // Like the shell: the list may grow while it is worked through.
        for (std::size_t i = 0; i < e.core.actions().size(); ++i) {
            const socket_core::action a = e.core.actions()[i];
            int d = 0;
            wire_link* l = link_of(e, a.peer, d);
            switch (a.what) {
            case kind::write:
                if (l && !l->flushing[d])
                    pull(e, *l, d, false);
                break;
            case kind::write_subscription:
                if (l)
                    l->wire[d].push_back({e.core.payload(a), a.on ? 1 : 2});
                break;
            case kind::resume_reading:
                if (l) {
                    l->paused[d] = false;
                    ++l->resumes[d];
                }
                break;
            case kind::abort:
                if (l) {
                    // Like a connection: what it holds unread is lost, and said so.
                    e.core.unsent_at_close(a.peer, l->wire[d].size());
                    l->wire[d].clear();
                    l->open = false;
                    l->end[1 - d]->core.link_closed(l->id[1 - d], "connection reset by peer");
                }
                break;
            case kind::flush_and_close:
                if (l) {
                    pull(e, *l, d, true);
                    l->flushing[d] = true;
                }
                break;
            case kind::lost: e.lost.push_back(a.peer); break;
            case kind::release: e.released.push_back(a.peer); break;
            case kind::send_done: e.sends_done[a.tok] = a.ec; break;
            case kind::receive_done: e.receives_done[a.tok] = {a.ec, e.core.payload(a)}; break;
            case kind::monitor: {
                const auto& m = e.core.details(a);
                e.events.push_back({a.event, m.endpoint, m.routing_id, m.reason, a.ec});
                break;
            }
            case kind::close_done: e.close_done = true; break;
            case kind::timer:
                if (a.at == fake_clock::time_point::max())
                    e.timer_at.reset();
                else
                    e.timer_at = a.at;
                break;
            }
        }
        e.core.clear_actions();
        return true;
    }

    // Side 1-d reads what side d wrote, while it reads.
    bool deliver(wire_link& l, int d)
    {
        if (!l.open)
            return false;
        core_end& to = *l.end[1 - d];
        bool moved = false;
        while (!l.wire[d].empty() && !l.paused[1 - d]) {
            auto it = std::move(l.wire[d].front());
            l.wire[d].pop_front();
            moved = true;
            if (it.kind != 0)
                to.core.subscription_read(l.id[1 - d], it.msg.front().bytes(), it.kind == 1);
            else if (!to.core.message_read(l.id[1 - d], it.msg))
                l.paused[1 - d] = true;
        }
        if (l.flushing[d] && l.wire[d].empty()) {
            l.open = false;
            to.core.link_closed(l.id[1 - d], "closed by peer");
            l.end[d]->core.link_flushed(l.id[d]);
            return true;
        }
        if (moved && !l.flushing[d])
            l.end[d]->core.link_written(l.id[d]);
        return moved;
    }

    std::list<core_end> ends_;
    std::list<wire_link> links_;
};

} // namespace zmtp::test
