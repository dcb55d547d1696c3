// SPDX-License-Identifier: MPL-2.0
// REQ, REP and ROUTER strategies (RFC 28) over in-memory peer queues.
#include "zmtp/pattern/strategy.hpp"

#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using zmtp::error;
using zmtp::message;
using zmtp::socket_type;
using zmtp::test::deliver;
using zmtp::test::fake_peer_queues;
using zmtp::test::make;
using zmtp::test::pending_peer;
using zmtp::test::ready_peer;
using zmtp::test::receive;
using zmtp::test::send;

// ---------------------------------------------------------------- REQ

TEST_CASE("req: a request goes out behind an empty delimiter; the reply comes back without it")
{
    auto s = make(socket_type::req);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);

    REQUIRE_FALSE(send(*s, q, {"hello", "world"}));
    CHECK(q.take(1) == message{"", "hello", "world"});

    CHECK(deliver(*s, q, 1, {"", "reply", "two"}));
    CHECK(receive(*s, q) == message{"reply", "two"});
}

TEST_CASE("req: strict alternation of send and receive")
{
    auto s = make(socket_type::req);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);

    message m;
    CHECK(s->receive(m, q) == error::invalid_state); // nothing asked yet

    REQUIRE_FALSE(send(*s, q, {"one"}));
    CHECK(send(*s, q, {"two"}) == error::invalid_state);
    CHECK(q.sent_count(1) == 1);
    CHECK(s->receive(m, q) == error::would_block); // asked, no reply yet

    REQUIRE(deliver(*s, q, 1, {"", "answer"}));
    CHECK(receive(*s, q) == message{"answer"});
    CHECK(s->receive(m, q) == error::invalid_state); // the reply was taken
    CHECK_FALSE(send(*s, q, {"three"}));              // and a new request may go
}

TEST_CASE("req: requests rotate over the peers; only the asked peer's reply counts")
{
    auto s = make(socket_type::req);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);

    REQUIRE_FALSE(send(*s, q, {"first"}));
    REQUIRE(q.sent_count(1) == 1);
    CHECK(q.sent_count(2) == 0);

    CHECK_FALSE(deliver(*s, q, 2, {"", "not asked"}));
    CHECK(q.unread(2) == 0);
    message m;
    CHECK(s->receive(m, q) == error::would_block);

    CHECK(deliver(*s, q, 1, {"", "from 1"}));
    CHECK(receive(*s, q) == message{"from 1"});

    // With no request outstanding, every reply is stale.
    CHECK_FALSE(deliver(*s, q, 1, {"", "late"}));
    CHECK_FALSE(deliver(*s, q, 2, {"", "late"}));

    REQUIRE_FALSE(send(*s, q, {"second"}));
    CHECK(q.take(2) == message{"", "second"});
    CHECK_FALSE(deliver(*s, q, 1, {"", "from 1 again"}));
    CHECK(deliver(*s, q, 2, {"", "from 2"}));
    CHECK(receive(*s, q) == message{"from 2"});
}

TEST_CASE("req: a reply without the empty delimiter is dropped")
{
    auto s = make(socket_type::req);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    REQUIRE_FALSE(send(*s, q, {"ask"}));

    REQUIRE(deliver(*s, q, 1, {"no", "delimiter"}));
    REQUIRE(deliver(*s, q, 1, {""})); // a delimiter and no body
    REQUIRE(deliver(*s, q, 1, {"x", "", "routed"}));
    message m;
    CHECK(s->receive(m, q) == error::would_block);
    CHECK(q.unread(1) == 0);

    REQUIRE(deliver(*s, q, 1, {"", "good"}));
    CHECK(receive(*s, q) == message{"good"});
}

TEST_CASE("req: would_block gives the message back intact, and the retry goes through")
{
    auto s = make(socket_type::req);
    fake_peer_queues q;
    message m{"a", "b", "c"};
    CHECK(s->send(m, q) == error::would_block); // no peer
    CHECK(m == message{"a", "b", "c"});

    s->attach(1, ready_peer(), q);
    q.set_hwm(1, 1);
    q.write(1, {"already queued"});
    CHECK(s->send(m, q) == error::would_block); // peer full
    CHECK(m == message{"a", "b", "c"});
    message in;
    CHECK(s->receive(in, q) == error::invalid_state); // nothing was sent

    q.take(1);
    REQUIRE_FALSE(s->send(m, q));
    CHECK(q.take(1) == message{"", "a", "b", "c"});
}

TEST_CASE("req: a pending peer takes requests")
{
    auto s = make(socket_type::req);
    fake_peer_queues q;
    s->attach(1, pending_peer(), q);
    REQUIRE_FALSE(send(*s, q, {"early"}));
    CHECK(q.take(1) == message{"", "early"});
}

// ---------------------------------------------------------------- REP

TEST_CASE("rep: the envelope is stripped from the request and restored on the reply")
{
    auto s = make(socket_type::rep);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);

    REQUIRE(deliver(*s, q, 2, {"hop-b", "hop-a", "", "body", "part"}));
    CHECK(receive(*s, q) == message{"body", "part"});
    REQUIRE_FALSE(send(*s, q, {"answer", "too"}));
    CHECK(q.sent_count(1) == 0);
    CHECK(q.take(2) == message{"hop-b", "hop-a", "", "answer", "too"});

    // A plain REQ peer: the envelope is the delimiter alone.
    REQUIRE(deliver(*s, q, 1, {"", "q"}));
    CHECK(receive(*s, q) == message{"q"});
    REQUIRE_FALSE(send(*s, q, {"a"}));
    CHECK(q.take(1) == message{"", "a"});
    CHECK(s->dropped() == 0);
}

TEST_CASE("rep: requests are fair-queued across the peers")
{
    auto s = make(socket_type::rep);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    REQUIRE(deliver(*s, q, 1, {"", "1a"}));
    REQUIRE(deliver(*s, q, 1, {"", "1b"}));
    REQUIRE(deliver(*s, q, 2, {"", "2a"}));

    CHECK(receive(*s, q) == message{"1a"});
    REQUIRE_FALSE(send(*s, q, {"r"}));
    CHECK(receive(*s, q) == message{"2a"});
    REQUIRE_FALSE(send(*s, q, {"r"}));
    CHECK(receive(*s, q) == message{"1b"});
    REQUIRE_FALSE(send(*s, q, {"r"}));
    CHECK(q.sent_count(1) == 2);
    CHECK(q.sent_count(2) == 1);
}

TEST_CASE("rep: strict alternation of receive and send")
{
    auto s = make(socket_type::rep);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);

    CHECK(send(*s, q, {"unasked"}) == error::invalid_state);
    CHECK(q.sent_count(1) == 0);
    message m;
    CHECK(s->receive(m, q) == error::would_block);

    REQUIRE(deliver(*s, q, 1, {"", "one"}));
    REQUIRE(deliver(*s, q, 1, {"", "two"}));
    REQUIRE(receive(*s, q) == message{"one"});
    CHECK(s->receive(m, q) == error::invalid_state);
    CHECK(q.unread(1) == 1); // "two" waits for the reply
    REQUIRE_FALSE(send(*s, q, {"r1"}));
    CHECK(send(*s, q, {"r1 again"}) == error::invalid_state);
    CHECK(receive(*s, q) == message{"two"});
}

TEST_CASE("rep: a request without an empty delimiter (or without a body) is dropped")
{
    auto s = make(socket_type::rep);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    REQUIRE(deliver(*s, q, 1, {"no", "delimiter"}));
    REQUIRE(deliver(*s, q, 1, {"id", ""}));
    REQUIRE(deliver(*s, q, 1, {"", "fine"}));

    CHECK(receive(*s, q) == message{"fine"});
    REQUIRE_FALSE(send(*s, q, {"ok"}));
    CHECK(q.take(1) == message{"", "ok"});
    CHECK(q.sent_count(1) == 0);
}

TEST_CASE("rep: the reply to a requester that left is dropped and counted")
{
    auto s = make(socket_type::rep);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    REQUIRE(deliver(*s, q, 1, {"", "ask"}));
    REQUIRE(receive(*s, q) == message{"ask"});
    s->detach(1, q);

    CHECK_FALSE(send(*s, q, {"nobody listens"}));
    CHECK(s->dropped() == 1);
    CHECK(q.sent_count(1) == 0);
    CHECK(q.sent_count(2) == 0);

    // The socket is ready for the next request.
    REQUIRE(deliver(*s, q, 2, {"", "next"}));
    CHECK(receive(*s, q) == message{"next"});
    REQUIRE_FALSE(send(*s, q, {"answer"}));
    CHECK(q.take(2) == message{"", "answer"});
    CHECK(s->dropped() == 1);
}

TEST_CASE("rep: a pending peer is not read")
{
    auto s = make(socket_type::rep);
    fake_peer_queues q;
    s->attach(1, pending_peer(), q);
    q.arrive(1, {"", "early"});
    message m;
    CHECK(s->receive(m, q) == error::would_block);
    s->attach(1, ready_peer(), q);
    CHECK(receive(*s, q) == message{"early"});
}

// ---------------------------------------------------------------- ROUTER

TEST_CASE("router: the routing id is the peer's Identity, or generated (5 bytes, first 0)")
{
    auto s = make(socket_type::router);
    fake_peer_queues q;
    s->attach(1, ready_peer("client-1"), q);
    s->attach(2, ready_peer(), q);
    s->attach(3, ready_peer(), q);

    CHECK(s->routing_id_of(1) == "client-1");
    const std::string id2 = s->routing_id_of(2);
    const std::string id3 = s->routing_id_of(3);
    CHECK(id2.size() == 5);
    CHECK(id3.size() == 5);
    CHECK(id2.front() == '\0');
    CHECK(id3.front() == '\0');
    CHECK(id2 != id3);
    CHECK(s->routing_id_of(99).empty());

    s->detach(1, q);
    CHECK(s->routing_id_of(1).empty());
}

TEST_CASE("router: a pending peer has no routing id until it is ready")
{
    auto s = make(socket_type::router);
    fake_peer_queues q;
    s->attach(1, pending_peer(), q);
    CHECK(s->routing_id_of(1).empty());
    s->attach(1, ready_peer("late"), q);
    CHECK(s->routing_id_of(1) == "late");
}

TEST_CASE("router: an Identity already in use is refused; free again after detach")
{
    auto s = make(socket_type::router);
    fake_peer_queues q;
    CHECK(s->accepts(ready_peer("dup")));
    s->attach(1, ready_peer("dup"), q);
    CHECK_FALSE(s->accepts(ready_peer("dup")));
    CHECK(s->accepts(ready_peer("other")));
    CHECK(s->accepts(ready_peer())); // empty: one is generated

    s->detach(1, q);
    CHECK(s->accepts(ready_peer("dup")));
}

TEST_CASE("router: receive prepends the sender's routing id")
{
    auto s = make(socket_type::router);
    fake_peer_queues q;
    s->attach(1, ready_peer("A"), q);
    s->attach(2, ready_peer(), q);
    REQUIRE(deliver(*s, q, 2, {"", "from two"}));
    REQUIRE(deliver(*s, q, 1, {"from", "one"}));

    std::set<std::string> seen;
    for (int i = 0; i < 2; ++i) {
        const auto m = receive(*s, q);
        REQUIRE(m.has_value());
        seen.insert(zmtp::test::describe(*m));
    }
    const message two{zmtp::frame(s->routing_id_of(2)), "", "from two"};
    CHECK(seen == std::set<std::string>{zmtp::test::describe({"A", "from", "one"}),
                                        zmtp::test::describe(two)});
    message m;
    CHECK(s->receive(m, q) == error::would_block);
}

TEST_CASE("router: send routes by the first frame, which does not go on the wire")
{
    auto s = make(socket_type::router);
    fake_peer_queues q;
    s->attach(1, ready_peer("A"), q);
    s->attach(2, ready_peer(), q);

    REQUIRE_FALSE(send(*s, q, {"A", "", "for A"}));
    REQUIRE_FALSE(send(*s, q, {zmtp::frame(s->routing_id_of(2)), "for 2"}));
    CHECK(q.take(1) == message{"", "for A"});
    CHECK(q.take(2) == message{"for 2"});
    CHECK(q.sent_count(1) == 0);
    CHECK(s->dropped() == 0);

    // A routing id and nothing to route is refused.
    CHECK(send(*s, q, {"A"}) == error::invalid_argument);
    CHECK(q.sent_count(1) == 0);
}

TEST_CASE("router: unknown routing id or full peer: dropped and counted")
{
    auto s = make(socket_type::router);
    fake_peer_queues q;
    s->attach(1, ready_peer("A"), q);
    q.set_hwm(1, 1);

    CHECK_FALSE(send(*s, q, {"nobody", "x"}));
    CHECK(s->dropped() == 1);

    REQUIRE_FALSE(send(*s, q, {"A", "fits"}));
    CHECK_FALSE(send(*s, q, {"A", "overflows"}));
    CHECK(s->dropped() == 2);
    CHECK(q.sent_count(1) == 1);
    CHECK(q.take(1) == message{"fits"});
}

TEST_CASE("router: with router_mandatory, unknown id is host_unreachable and full is would_block")
{
    zmtp::socket_options o;
    o.router_mandatory = true;
    auto s = make(socket_type::router, o);
    fake_peer_queues q;
    s->attach(1, ready_peer("A"), q);
    q.set_hwm(1, 1);

    message m{"nobody", "x"};
    CHECK(s->send(m, q) == error::host_unreachable);
    CHECK(m == message{"nobody", "x"});

    REQUIRE_FALSE(send(*s, q, {"A", "fits"}));
    message full{"A", "waits"};
    CHECK(s->send(full, q) == error::would_block);
    CHECK(full == message{"A", "waits"}); // intact, for a retry
    CHECK(s->dropped() == 0);

    q.take(1);
    REQUIRE_FALSE(s->send(full, q));
    CHECK(q.take(1) == message{"waits"});

    s->detach(1, q);
    CHECK(send(*s, q, {"A", "gone"}) == error::host_unreachable);
}
