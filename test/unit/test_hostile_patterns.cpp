// SPDX-License-Identifier: MPL-2.0
// Hostile catalogue, pattern layer (items 109, 114 and 115;
// docs/reliability.md): the strategies over in-memory peer queues.
#include "zmtp/pattern/strategy.hpp"

#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <string>

using zmtp::error;
using zmtp::message;
using zmtp::socket_type;
using zmtp::test::deliver;
using zmtp::test::fake_peer_queues;
using zmtp::test::make;
using zmtp::test::ready_peer;
using zmtp::test::receive;
using zmtp::test::topic;

TEST_CASE("hostile 109: SUBSCRIBE sent to a PULL, DEALER or REP changes nothing; a 3.0-style '01 A' is data")
{
    for (auto t : {socket_type::pull, socket_type::dealer, socket_type::rep}) {
        CAPTURE(static_cast<int>(t));
        auto s = make(t);
        fake_peer_queues q;
        s->attach(1, ready_peer(), q);
        s->attach(2, ready_peer(), q);
        for (int i = 0; i < 1000; ++i)
            s->subscription(1, topic("A" + std::to_string(i)), true, q);
        s->subscription(1, topic("A1"), false, q);
        CHECK(q.subscriptions().empty()); // nothing forwarded anywhere
        CHECK(s->dropped() == 0);
        CHECK_FALSE(receive(*s, q).has_value());

        // The other peer is served as before.
        const message from_2 = t == socket_type::rep ? message{"", "request"} : message{"request"};
        q.arrive(2, from_2);
        CHECK(receive(*s, q) == message{"request"});
        if (t != socket_type::rep) {
            // libzmq delivers it as data too (docs/reliability.md, item 109).
            REQUIRE(deliver(*s, q, 1, {"\x01" "A"}));
            CHECK(receive(*s, q) == message{"\x01" "A"});
        }
    }
}

TEST_CASE("hostile 114 (b) and (c): an Identity led by a zero octet or over 255 octets is ignored, "
          "the peer gets a generated id")
{
    auto s = make(socket_type::router);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    const std::string generated = s->routing_id_of(1);
    REQUIRE(generated.size() == 5);

    const std::string zero_led = std::string(1, '\0') + "spoof";
    const std::string overlong(256, 'x');
    for (const std::string& id : {zero_led, overlong, generated}) {
        CAPTURE(id.size());
        CHECK(s->accepts(ready_peer(id))); // served, under another id
    }
    s->attach(2, ready_peer(zero_led), q);
    s->attach(3, ready_peer(overlong), q);
    s->attach(4, ready_peer(generated), q); // the id of peer 1: never taken over
    s->attach(5, ready_peer(std::string(255, 'y')), q);
    for (zmtp::pattern::peer_id p : {2, 3, 4}) {
        CAPTURE(p);
        const std::string id = s->routing_id_of(p);
        CHECK(id.size() == 5);
        CHECK(id.front() == '\0');
        CHECK(id != generated);
    }
    CHECK(s->routing_id_of(1) == generated);
    CHECK(s->routing_id_of(5) == std::string(255, 'y')); // the longest allowed is kept

    // Replies reach the right peer by the id the ROUTER gave it.
    message reply{zmtp::frame(s->routing_id_of(2)), "to 2"};
    REQUIRE_FALSE(s->send(reply, q));
    REQUIRE(q.sent_count(2) == 1);
    CHECK(q.take(2) == message{"to 2"});
    CHECK(q.sent_count(1) == 0);
}

TEST_CASE("hostile 115: 100,000 peers with random identities that leave at once leave no routing entry")
{
    zmtp::socket_options o;
    o.router_mandatory = true;
    auto s = make(socket_type::router, o);
    fake_peer_queues q;
    s->attach(1, ready_peer("stays"), q);
    std::uint64_t x = 0x9e3779b97f4a7c15; // xorshift: identities vary without a seeded engine
    std::string last;
    for (zmtp::pattern::peer_id p = 2; p < 100'002; ++p) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        last = "id-" + std::to_string(x);
        s->attach(p, ready_peer(last), q);
        REQUIRE(s->routing_id_of(p) == last);
        s->detach(p, q);
    }
    CHECK(s->routing_id_of(100'001).empty());
    CHECK(s->accepts(ready_peer(last))); // its entry is gone: free again
    message to_gone{zmtp::frame(last), "x"};
    CHECK(s->send(to_gone, q) == error::host_unreachable);
    message to_stays{"stays", "y"};
    CHECK_FALSE(s->send(to_stays, q));
    CHECK(q.take(1) == message{"y"});
}
