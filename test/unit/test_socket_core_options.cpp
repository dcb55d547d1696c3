// SPDX-License-Identifier: MPL-2.0
// The pattern-level options of libzmq in the sans-I/O core, cores back to
// back in memory: conflate, req_relaxed and req_correlate, probe_router,
// router_handover and connect_routing_id.
#include "zmtp/pattern/socket_core.hpp"

#include "core_pair.hpp"
#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using zmtp::error;
using zmtp::frame;
using zmtp::message;
using zmtp::socket_type;
using zmtp::pattern::peer_state;
using zmtp::test::core_end;
using zmtp::test::core_net;
using zmtp::test::peer_event;

namespace {

std::uint32_t host_order(const frame& f)
{
    REQUIRE(f.size() == 4);
    std::uint32_t id = 0;
    std::memcpy(&id, f.data(), sizeof id);
    return id;
}

frame id_frame(std::uint32_t id)
{
    std::byte b[4];
    std::memcpy(b, &id, sizeof id);
    return frame(std::span<const std::byte>(b));
}

} // namespace

// ---------------------------------------------------------------- conflate

TEST_CASE("conflate: a PULL keeps only the last message of each peer; multipart ones are dropped")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    pull.core.options().conflate = true;
    pull.core.options().receive_hwm = 2; // ignored: nothing pauses
    auto& l = net.connect(push, pull);
    for (int i = 0; i < 10; ++i) {
        message m{frame(std::to_string(i))};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    net.settle();
    CHECK_FALSE(l.paused[1]);
    CHECK(pull.take() == message{"9"});
    CHECK(pull.take() == std::nullopt);

    message two{"a", "b"};
    REQUIRE_FALSE(push.core.try_send(two));
    net.settle();
    CHECK(pull.take() == std::nullopt);
    CHECK(pull.core.dropped() == 1);
}

TEST_CASE("conflate: a PUSH never blocks, its peer gets the last message; several frames are refused")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    push.core.options().conflate = true;
    push.core.options().send_hwm = 1;
    const auto p = push.core.add_connect("tcp://pull");
    for (int i = 0; i < 5; ++i) {
        message m{frame(std::to_string(i))};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    message two{"a", "b"};
    CHECK(push.core.try_send(two) == error::multipart_not_supported);
    const auto t = push.send(message{"x", "y"});
    net.settle();
    CHECK(push.sends_done.at(t) == error::multipart_not_supported);

    net.join(push, p, pull);
    CHECK(pull.take() == message{"4"});
    CHECK(pull.take() == std::nullopt);
}

TEST_CASE("conflate: a SUB keeps the last matching message; a DEALER the last of each peer")
{
    core_net net;
    auto& pub = net.make(socket_type::pub, "pub");
    auto& sub = net.make(socket_type::sub, "sub");
    sub.core.options().conflate = true;
    REQUIRE_FALSE(sub.core.subscribe(zmtp::test::topic("a"), true));
    net.connect(sub, pub);
    for (const char* s : {"a1", "a2", "a3", "b4"}) {
        message m{s};
        REQUIRE_FALSE(pub.core.try_send(m));
    }
    net.settle();
    CHECK(sub.take() == message{"a3"});
    CHECK(sub.take() == std::nullopt);

    auto& dealer = net.make(socket_type::dealer, "dealer");
    auto& router = net.make(socket_type::router, "router");
    dealer.core.options().conflate = true;
    dealer.core.options().routing_id = "D";
    net.connect(dealer, router);
    for (const char* s : {"r1", "r2"}) {
        message m{"D", s};
        REQUIRE_FALSE(router.core.try_send(m));
    }
    net.settle();
    CHECK(dealer.take() == message{"r2"});
    CHECK(dealer.take() == std::nullopt);
}

TEST_CASE("conflate: ignored by the types libzmq ignores it on (PAIR blocks at its HWM)")
{
    core_net net;
    auto& a = net.make(socket_type::pair, "a");
    a.core.options().conflate = true;
    a.core.options().send_hwm = 1;
    a.core.add_connect("tcp://b");
    message one{"1"};
    REQUIRE_FALSE(a.core.try_send(one));
    message two{"2", "parts"};
    CHECK(a.core.try_send(two) == error::would_block);
}

// ---------------------------------------------------------------- REQ

TEST_CASE("req_correlate: the request-id frame, in host byte order, one more per request; only its reply counts")
{
    core_net net;
    auto& req = net.make(socket_type::req, "req");
    auto& router = net.make(socket_type::router, "router");
    req.core.options().req_correlate = true;
    req.core.options().routing_id = "R";
    net.connect(req, router);

    message q{"q1"};
    REQUIRE_FALSE(req.core.try_send(q));
    net.settle();
    auto in = router.take();
    REQUIRE(in);
    REQUIRE(in->size() == 4);
    CHECK((*in)[0].str() == "R");
    const std::uint32_t id = host_order((*in)[1]);
    CHECK((*in)[2].empty());
    CHECK((*in)[3].str() == "q1");

    // A wrong id, no id, then the right one.
    std::vector<message> replies{message{frame("R"), id_frame(id + 1), frame(), frame("wrong")},
                                 message{"R", "", "no id"},
                                 message{frame("R"), id_frame(id), frame(), frame("a1")}};
    for (message& reply : replies)
        REQUIRE_FALSE(router.core.try_send(reply));
    net.settle();
    CHECK(req.take() == message{"a1"});
    CHECK(req.take() == std::nullopt);

    message q2{"q2"};
    REQUIRE_FALSE(req.core.try_send(q2));
    net.settle();
    in = router.take();
    REQUIRE(in);
    CHECK(host_order((*in)[1]) == id + 1);
}

TEST_CASE("req_relaxed: a new request while one waits; with req_correlate only the new one's reply counts")
{
    core_net net;
    auto& strict = net.make(socket_type::req, "strict");
    auto& req = net.make(socket_type::req, "req");
    auto& rep = net.make(socket_type::rep, "rep");
    req.core.options().req_relaxed = true;
    req.core.options().req_correlate = true;
    net.connect(strict, rep);
    net.connect(req, rep);

    message s1{"s1"};
    REQUIRE_FALSE(strict.core.try_send(s1));
    message s2{"s2"};
    CHECK(strict.core.try_send(s2) == error::invalid_state);

    message q1{"q1"};
    REQUIRE_FALSE(req.core.try_send(q1));
    message q2{"q2"};
    REQUIRE_FALSE(req.core.try_send(q2));
    message early;
    CHECK(req.core.try_receive(early) == error::would_block);
    net.settle();
    // REP answers each request in turn, along its envelope.
    for (int i = 0; i < 3; ++i) {
        auto got = rep.take();
        REQUIRE(got);
        message reply{frame("re:" + got->front().str())};
        REQUIRE_FALSE(rep.core.try_send(reply));
        net.settle();
    }
    CHECK(strict.take() == message{"re:s1"});
    CHECK(req.take() == message{"re:q2"});
    CHECK(req.take() == std::nullopt);
}

TEST_CASE("req_relaxed without req_correlate: a new request drops a reply already queued")
{
    core_net net;
    auto& req = net.make(socket_type::req, "req");
    auto& rep = net.make(socket_type::rep, "rep");
    req.core.options().req_relaxed = true;
    net.connect(req, rep);

    message q1{"q1"};
    REQUIRE_FALSE(req.core.try_send(q1));
    net.settle();
    REQUIRE(rep.take() == message{"q1"});
    message a1{"a1"};
    REQUIRE_FALSE(rep.core.try_send(a1));
    net.settle(); // a1 is queued at the REQ, not taken
    message q2{"q2"};
    REQUIRE_FALSE(req.core.try_send(q2));
    net.settle();
    CHECK(req.take() == std::nullopt);
    REQUIRE(rep.take() == message{"q2"});
    message a2{"a2"};
    REQUIRE_FALSE(rep.core.try_send(a2));
    net.settle();
    CHECK(req.take() == message{"a2"});
}

// ---------------------------------------------------------------- ROUTER

TEST_CASE("probe_router: a DEALER's empty message comes first, before what was queued while connecting")
{
    core_net net;
    auto& dealer = net.make(socket_type::dealer, "dealer");
    auto& router = net.make(socket_type::router, "router");
    dealer.core.options().probe_router = true;
    dealer.core.options().routing_id = "D";
    const auto p = dealer.core.add_connect("tcp://router");
    message early{"early"};
    REQUIRE_FALSE(dealer.core.try_send(early));
    net.join(dealer, p, router);
    CHECK(router.take() == message{"D", ""});
    CHECK(router.take() == message{"D", "early"});
}

TEST_CASE("probe_router: a ROUTER probes each accepted peer; a reconnected peer is probed again")
{
    core_net net;
    auto& router = net.make(socket_type::router, "router");
    auto& dealer = net.make(socket_type::dealer, "dealer");
    router.core.options().probe_router = true;
    const auto p = dealer.core.add_connect("tcp://router");
    auto& l = net.join(dealer, p, router);
    CHECK(dealer.take() == message{""});
    CHECK(dealer.take() == std::nullopt);
    net.cut(l);
    net.join(dealer, p, router);
    CHECK(dealer.take() == message{""});

    auto& pull = net.make(socket_type::pull, "pull");
    pull.core.options().probe_router = true; // not a ROUTER or DEALER: no probe
    auto& push = net.make(socket_type::push, "push");
    net.connect(pull, push);
    message m{"m"};
    REQUIRE_FALSE(push.core.try_send(m));
    net.settle();
    CHECK(pull.take() == message{"m"});
}

TEST_CASE("router_handover: a newcomer with an Identity in use takes it over; the old peer's messages are still read")
{
    core_net net;
    auto& router = net.make(socket_type::router, "router");
    auto& first = net.make(socket_type::dealer, "first");
    auto& second = net.make(socket_type::dealer, "second");
    router.core.options().router_handover = true;
    first.core.options().routing_id = "X";
    second.core.options().routing_id = "X";
    const auto p1 = first.core.add_connect("tcp://router");
    auto& l1 = net.join(first, p1, router);
    message before{"from first"};
    REQUIRE_FALSE(first.core.try_send(before));
    net.settle();

    net.connect(second, router);
    CHECK_FALSE(l1.open); // the router closed the first's connection
    CHECK(first.lost == std::vector<zmtp::pattern::peer_id>{p1});
    CHECK(router.count(peer_event::disconnected) == 1);
    CHECK(router.events[router.events.size() - 2].reason == "routing id taken over by a new connection");
    CHECK(router.count(peer_event::handshake_succeeded) == 2);

    auto old = router.take();
    REQUIRE(old);
    CHECK(old->size() == 2);
    CHECK((*old)[0].size() == 5); // a generated id
    CHECK((*old)[0].data()[0] == std::byte{0});
    CHECK((*old)[1].str() == "from first");

    message to_x{"X", "to the second"};
    REQUIRE_FALSE(router.core.try_send(to_x));
    net.settle();
    CHECK(second.take() == message{"to the second"});
    CHECK(first.take() == std::nullopt);
}

TEST_CASE("router_handover off: the newcomer is refused and the first keeps the Identity")
{
    core_net net;
    auto& router = net.make(socket_type::router, "router");
    auto& first = net.make(socket_type::dealer, "first");
    auto& second = net.make(socket_type::dealer, "second");
    first.core.options().routing_id = "X";
    second.core.options().routing_id = "X";
    net.connect(first, router);
    net.connect(second, router);
    CHECK(router.count(peer_event::handshake_failed) == 1);
    message to_x{"X", "hi"};
    REQUIRE_FALSE(router.core.try_send(to_x));
    net.settle();
    CHECK(first.take() == message{"hi"});
}

TEST_CASE("connect_routing_id: the next connect()'s peer gets it, across reconnects; the option is taken")
{
    core_net net;
    auto& router = net.make(socket_type::router, "router");
    auto& other = net.make(socket_type::router, "other");
    auto& dealer = net.make(socket_type::dealer, "dealer");
    router.core.options().connect_routing_id = "peer-1";
    other.core.options().routing_id = "announced";
    const auto p = router.core.add_connect("tcp://other");
    CHECK(router.core.options().connect_routing_id.empty());
    auto& l = net.join(router, p, other);
    CHECK(router.events.back().routing_id == "peer-1");

    message out{"peer-1", "hello"};
    REQUIRE_FALSE(router.core.try_send(out));
    net.settle();
    auto got = other.take();
    REQUIRE(got);
    CHECK((*got)[1].str() == "hello");
    message announced{"announced", "dropped"};
    REQUIRE_FALSE(router.core.try_send(announced));
    CHECK(router.core.dropped() == 1);

    net.cut(l);
    net.join(router, p, other);
    message again{"peer-1", "again"};
    REQUIRE_FALSE(router.core.try_send(again));
    net.settle();
    got = other.take();
    REQUIRE(got);
    CHECK((*got)[1].str() == "again");

    // The option is consumed: the next connect()'s peer gets its Identity.
    dealer.core.options().routing_id = "D";
    const auto q = router.core.add_connect("tcp://dealer");
    net.join(router, q, dealer);
    CHECK(router.events.back().routing_id == "D");
}
