// SPDX-License-Identifier: MPL-2.0
// Hostile catalogue, reconnection (items 125, 126, 129; docs/reliability.md)
// on socket cores joined in memory: a connect()'s peer stops reconnecting
// only for the failures socket_options::reconnect_stop names, and a peer
// that comes back with its Identity while its old connection is half-open
// is refused until that one is reaped.
#include "zmtp/pattern/socket_core.hpp"

#include "core_pair.hpp"
#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using zmtp::message;
using zmtp::socket_type;
using zmtp::pattern::peer_id;
using zmtp::pattern::peer_state;
using zmtp::pattern::socket_core;
using zmtp::test::core_end;
using zmtp::test::core_net;
using zmtp::test::peer_event;

namespace {

bool ends_not_reconnecting(const std::string& reason)
{
    return reason.ends_with(socket_core::not_reconnecting);
}

} // namespace

TEST_CASE("hostile 125: with reconnect_stop.handshake_failed a refused handshake ends a connect()'s peer; "
          "a stream that ends does not")
{
    for (const bool stop : {false, true}) {
        CAPTURE(stop);
        core_net net;
        auto& push = net.make(socket_type::push, "push");
        auto& pull = net.make(socket_type::pull, "pull");
        push.core.options().reconnect_stop.handshake_failed = stop;
        const peer_id p = push.core.add_connect("tcp://pull");
        message queued{"queued"};
        REQUIRE_FALSE(push.core.try_send(queued));

        // The stream ends mid-handshake: retried whatever the option.
        net.cut(net.open(push, p, pull));
        REQUIRE(push.core.state(p));
        CHECK(*push.core.state(p) == peer_state::pending);
        CHECK(push.lost == std::vector<peer_id>{p});

        // The peer refuses the handshake (an ERROR, a refused authentication).
        auto& refused = net.open(push, p, pull);
        refused.open = false;
        push.core.link_closed(p, "ERROR: invalid username or password", true);
        pull.core.link_closed(refused.id[1], "connection reset by peer");
        net.settle();
        REQUIRE(push.count(peer_event::handshake_failed) == 2);
        CHECK(ends_not_reconnecting(push.events.back().reason) == stop);
        CHECK(push.events.back().reason.starts_with("ERROR: invalid username or password"));
        if (stop) {
            CHECK_FALSE(push.core.state(p));                     // gone, as after disconnect()
            CHECK(push.released == std::vector<peer_id>{p});   // the I/O side stops connecting
            CHECK(push.lost.size() == 1);                      // and is not asked to reconnect
            message later{"later"};
            CHECK(push.core.try_send(later) == zmtp::error::would_block); // no peer left
            CHECK(pull.core.peer_count() == 0);
        } else {
            REQUIRE(push.core.state(p));
            CHECK(*push.core.state(p) == peer_state::pending);
            CHECK(push.lost.size() == 2);
            net.join(push, p, pull); // and the queued message still goes
            CHECK(pull.take() == message{"queued"});
        }
    }
}

TEST_CASE("hostile 125 and 126: a failed connect attempt stops a connect()'s peer only as reconnect_stop says")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    const peer_id p = push.core.add_connect("tcp://pull");
    // By default every failure is retried.
    CHECK_FALSE(push.core.connect_failed(p, true));
    CHECK_FALSE(push.core.connect_failed(p, false));
    REQUIRE(push.core.state(p));

    push.core.options().reconnect_stop.conn_refused = true;
    CHECK_FALSE(push.core.connect_failed(p, false)); // a TLS handshake failure: still retried
    REQUIRE(push.core.state(p));
    CHECK(push.core.connect_failed(p, true));
    net.settle();
    CHECK_FALSE(push.core.state(p));
    CHECK(push.released == std::vector<peer_id>{p});

    push.core.options().reconnect_stop = {false, true};
    const peer_id q = push.core.add_connect("tcp://pull");
    CHECK_FALSE(push.core.connect_failed(q, true));
    CHECK(push.core.connect_failed(q, false));
    CHECK_FALSE(push.core.state(q));

    // An accepted peer has nothing to reconnect: never "stopped".
    pull.core.options().reconnect_stop = {true, true};
    const peer_id a = pull.core.add_accepted("tcp://pull", "push");
    CHECK_FALSE(pull.core.connect_failed(a, true));
    CHECK(pull.core.state(a));
}

TEST_CASE("hostile 129: a peer back with its Identity while its old connection is half-open is refused until "
          "that one is reaped")
{
    core_net net;
    auto& router = net.make(socket_type::router, "router");
    auto& before = net.make(socket_type::dealer, "before");
    auto& after = net.make(socket_type::dealer, "after"); // the same program, restarted
    before.core.options().routing_id = "A";
    after.core.options().routing_id = "A";
    auto& old = net.connect(before, router);

    // The old connection is half-open: the router still holds it.
    const peer_id p = after.core.add_connect("tcp://router");
    net.join(after, p, router);
    REQUIRE(router.count(peer_event::handshake_failed) == 1);
    CHECK(router.events.back().reason == "refused: routing id already in use");
    CHECK(after.lost == std::vector<peer_id>{p}); // it will try again
    CHECK(router.core.peer_count() == 1);

    // Heartbeats (hostile 102) or an RST reap the old connection.
    net.cut(old);
    CHECK(router.count(peer_event::disconnected) == 1);
    net.join(after, p, router);
    CHECK(router.count(peer_event::handshake_succeeded) == 2);
    message reply{"A", "welcome back"};
    REQUIRE_FALSE(router.core.try_send(reply));
    net.settle();
    CHECK(after.take() == message{"welcome back"});
    CHECK_FALSE(before.take());
}
