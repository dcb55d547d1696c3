// SPDX-License-Identifier: MPL-2.0
// PUSH, PULL, DEALER and PAIR strategies (RFC 30 pipeline, RFC 28 DEALER,
// RFC 31 PAIR) over in-memory peer queues.
#include "zmtp/pattern/strategy.hpp"

#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

using zmtp::error;
using zmtp::message;
using zmtp::socket_type;
using zmtp::test::fake_peer_queues;
using zmtp::test::make;
using zmtp::test::pending_peer;
using zmtp::test::ready_peer;
using zmtp::test::receive;
using zmtp::test::send;

// ---------------------------------------------------------------- PUSH

TEST_CASE("push: round-robin over the peers, in the order they attached")
{
    auto s = make(socket_type::push);
    fake_peer_queues q;
    for (zmtp::pattern::peer_id p : {1, 2, 3})
        s->attach(p, ready_peer(), q);

    for (int i = 0; i < 6; ++i)
        REQUIRE_FALSE(send(*s, q, {zmtp::frame(std::to_string(i))}));

    CHECK(q.take(1) == message{"0"});
    CHECK(q.take(2) == message{"1"});
    CHECK(q.take(3) == message{"2"});
    CHECK(q.take(1) == message{"3"});
    CHECK(q.take(2) == message{"4"});
    CHECK(q.take(3) == message{"5"});
    CHECK(s->dropped() == 0);
}

TEST_CASE("push: a full peer is skipped; when every peer is full, would_block")
{
    auto s = make(socket_type::push);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    q.set_hwm(1, 1);
    q.set_hwm(2, 3);

    for (int i = 0; i < 4; ++i)
        REQUIRE_FALSE(send(*s, q, {zmtp::frame(std::to_string(i))}));
    CHECK(q.sent_count(1) == 1);
    CHECK(q.sent_count(2) == 3);

    message m{"multi", "part"};
    CHECK(s->send(m, q) == error::would_block);
    CHECK(m == message{"multi", "part"}); // not consumed: the caller may retry
    CHECK(s->dropped() == 0);

    // Room again on peer 1 only: the retry goes there.
    q.take(1);
    REQUIRE_FALSE(s->send(m, q));
    CHECK(q.take(1) == message{"multi", "part"});
}

TEST_CASE("push: no peer at all is would_block")
{
    auto s = make(socket_type::push);
    fake_peer_queues q;
    CHECK(send(*s, q, {"x"}) == error::would_block);
}

TEST_CASE("push: receive is not supported")
{
    auto s = make(socket_type::push);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    q.arrive(1, {"stray"});
    message m;
    CHECK(s->receive(m, q) == error::operation_not_supported);
    CHECK(q.unread(1) == 1);
}

TEST_CASE("push and scatter drop what a peer sends instead of queuing it for nobody")
{
    for (socket_type t : {socket_type::push, socket_type::scatter}) {
        auto s = make(t);
        fake_peer_queues q;
        s->attach(1, ready_peer(), q);
        for (int i = 0; i < 2000; ++i)
            CHECK_FALSE(zmtp::test::deliver(*s, q, 1, {"stray"}));
        CHECK(q.unread(1) == 0);
    }
}

TEST_CASE("push: a pending (connecting) peer is queued for, like libzmq without ZMQ_IMMEDIATE")
{
    auto s = make(socket_type::push);
    fake_peer_queues q;
    s->attach(1, pending_peer(), q);
    REQUIRE_FALSE(send(*s, q, {"early"}));
    CHECK(q.take(1) == message{"early"});

    // Becoming ready does not add it to the rotation a second time.
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    for (int i = 0; i < 4; ++i)
        REQUIRE_FALSE(send(*s, q, {zmtp::frame(std::to_string(i))}));
    CHECK(q.sent_count(1) == 2);
    CHECK(q.sent_count(2) == 2);
}

TEST_CASE("push: a detached peer gets nothing more")
{
    auto s = make(socket_type::push);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    s->detach(1, q);
    for (int i = 0; i < 3; ++i)
        REQUIRE_FALSE(send(*s, q, {"m"}));
    CHECK(q.sent_count(1) == 0);
    CHECK(q.sent_count(2) == 3);
    s->detach(2, q);
    CHECK(send(*s, q, {"m"}) == error::would_block);
}

// ---------------------------------------------------------------- PULL

TEST_CASE("pull: fair-queues across the peers in turn")
{
    auto s = make(socket_type::pull);
    fake_peer_queues q;
    for (zmtp::pattern::peer_id p : {1, 2, 3})
        s->attach(p, ready_peer(), q);
    q.arrive(1, {"a1"});
    q.arrive(1, {"a2"});
    q.arrive(1, {"a3"});
    q.arrive(2, {"b1"});
    q.arrive(3, {"c1"});
    q.arrive(3, {"c2"});

    CHECK(receive(*s, q) == message{"a1"});
    CHECK(receive(*s, q) == message{"b1"});
    CHECK(receive(*s, q) == message{"c1"});
    CHECK(receive(*s, q) == message{"a2"});
    CHECK(receive(*s, q) == message{"c2"}); // peer 2 is empty: skipped
    CHECK(receive(*s, q) == message{"a3"});
    message m;
    CHECK(s->receive(m, q) == error::would_block);
}

// Libzmq serves the peers with messages round-robin in the order they
// became readable, not in the order they attached: a peer that had
// nothing waits behind those that were waiting already.
TEST_CASE("pull: over many peers, those with messages are served in the order they became readable")
{
    auto s = make(socket_type::pull);
    fake_peer_queues q;
    for (zmtp::pattern::peer_id p = 1; p <= 1000; ++p)
        s->attach(p, ready_peer(), q);
    q.arrive(999, {"z1"});
    q.arrive(7, {"a1"});
    q.arrive(999, {"z2"});
    q.arrive(500, {"m1"});
    q.arrive(7, {"a2"});
    q.arrive(999, {"z3"});

    CHECK(receive(*s, q) == message{"z1"});
    CHECK(receive(*s, q) == message{"a1"});
    q.arrive(3, {"late"}); // behind 500 and the peers already served once
    CHECK(receive(*s, q) == message{"m1"});
    CHECK(receive(*s, q) == message{"z2"});
    CHECK(receive(*s, q) == message{"a2"});
    CHECK(receive(*s, q) == message{"late"});
    CHECK(receive(*s, q) == message{"z3"});
    message m;
    CHECK(s->receive(m, q) == error::would_block);
}

TEST_CASE("pull: a detached peer holding messages is passed over and the others served")
{
    auto s = make(socket_type::pull);
    fake_peer_queues q;
    for (zmtp::pattern::peer_id p : {1, 2, 3})
        s->attach(p, ready_peer(), q);
    q.arrive(1, {"a1"});
    q.arrive(2, {"b1"});
    q.arrive(3, {"c1"});
    q.arrive(2, {"b2"});
    s->detach(1, q);
    CHECK(receive(*s, q) == message{"b1"});
    CHECK(receive(*s, q) == message{"c1"});
    CHECK(receive(*s, q) == message{"b2"});
    message m;
    CHECK(s->receive(m, q) == error::would_block);
    CHECK(q.unread(1) == 1);

    s->attach(1, ready_peer(), q); // back: it kept its turn
    CHECK(receive(*s, q) == message{"a1"});
}

TEST_CASE("pull: would_block when nothing is there, also without peers")
{
    auto s = make(socket_type::pull);
    fake_peer_queues q;
    message m;
    CHECK(s->receive(m, q) == error::would_block);
    s->attach(1, ready_peer(), q);
    CHECK(s->receive(m, q) == error::would_block);
}

TEST_CASE("pull: a pending peer is not read until it is ready")
{
    auto s = make(socket_type::pull);
    fake_peer_queues q;
    s->attach(1, pending_peer(), q);
    q.arrive(1, {"too early"});
    message m;
    CHECK(s->receive(m, q) == error::would_block);
    CHECK(q.unread(1) == 1);

    s->attach(1, ready_peer(), q);
    CHECK(receive(*s, q) == message{"too early"});
}

TEST_CASE("pull: send is not supported; a detached peer is not read")
{
    auto s = make(socket_type::pull);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    CHECK(send(*s, q, {"x"}) == error::operation_not_supported);
    CHECK(q.sent_count(1) == 0);

    q.arrive(1, {"left behind"});
    s->detach(1, q);
    message m;
    CHECK(s->receive(m, q) == error::would_block);
}

// ---------------------------------------------------------------- DEALER

TEST_CASE("dealer: load-balances out and fair-queues in")
{
    auto s = make(socket_type::dealer);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    q.set_hwm(2, 1);

    REQUIRE_FALSE(send(*s, q, {"", "r1"}));
    REQUIRE_FALSE(send(*s, q, {"", "r2"}));
    REQUIRE_FALSE(send(*s, q, {"", "r3"})); // peer 2 is full: peer 1
    CHECK(q.take(1) == message{"", "r1"});
    CHECK(q.take(2) == message{"", "r2"});
    CHECK(q.take(1) == message{"", "r3"});

    q.set_hwm(1, 1);
    REQUIRE_FALSE(send(*s, q, {"x"}));
    REQUIRE_FALSE(send(*s, q, {"y"}));
    CHECK(send(*s, q, {"z"}) == error::would_block);

    q.arrive(2, {"from 2"});
    q.arrive(1, {"from 1"});
    q.arrive(2, {"again 2"});
    const auto first = receive(*s, q);
    const auto second = receive(*s, q);
    const auto third = receive(*s, q);
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    REQUIRE(third.has_value());
    // In turn: one from each peer before the second from peer 2.
    CHECK(*first != *second);
    CHECK(*third == message{"again 2"});
    message m;
    CHECK(s->receive(m, q) == error::would_block);
}

TEST_CASE("dealer: a pending peer is sent to but not read from")
{
    auto s = make(socket_type::dealer);
    fake_peer_queues q;
    s->attach(1, pending_peer(), q);
    REQUIRE_FALSE(send(*s, q, {"queued"}));
    CHECK(q.take(1) == message{"queued"});
    q.arrive(1, {"in"});
    message m;
    CHECK(s->receive(m, q) == error::would_block);
    s->attach(1, ready_peer(), q);
    CHECK(receive(*s, q) == message{"in"});
    s->detach(1, q);
    CHECK(send(*s, q, {"gone"}) == error::would_block);
}

// ---------------------------------------------------------------- PAIR

TEST_CASE("pair: the first peer is used; a second is refused while it is ready")
{
    auto s = make(socket_type::pair);
    fake_peer_queues q;
    CHECK(s->accepts(ready_peer()));
    s->attach(1, ready_peer(), q);
    CHECK_FALSE(s->accepts(ready_peer()));

    // Even if the socket layer attached another, the first keeps the slot.
    s->attach(2, ready_peer(), q);
    REQUIRE_FALSE(send(*s, q, {"hello"}));
    CHECK(q.take(1) == message{"hello"});
    CHECK(q.sent_count(2) == 0);

    q.arrive(2, {"intruder"});
    q.arrive(1, {"reply"});
    CHECK(receive(*s, q) == message{"reply"});
    message m;
    CHECK(s->receive(m, q) == error::would_block);
}

TEST_CASE("pair: after the peer detaches, a new one is accepted and used")
{
    auto s = make(socket_type::pair);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->detach(1, q);
    CHECK(send(*s, q, {"nobody"}) == error::would_block);
    CHECK(s->accepts(ready_peer()));

    s->attach(2, ready_peer(), q);
    REQUIRE_FALSE(send(*s, q, {"second"}));
    CHECK(q.take(2) == message{"second"});
    CHECK(q.sent_count(1) == 0);
    q.arrive(2, {"back"});
    CHECK(receive(*s, q) == message{"back"});
}

TEST_CASE("pair: full peer is would_block, message kept; pending peer is sent to, not read")
{
    auto s = make(socket_type::pair);
    fake_peer_queues q;
    s->attach(1, pending_peer(), q);
    q.set_hwm(1, 1);
    REQUIRE_FALSE(send(*s, q, {"queued"}));
    message m{"more"};
    CHECK(s->send(m, q) == error::would_block);
    CHECK(m == message{"more"});

    q.arrive(1, {"early"});
    message in;
    CHECK(s->receive(in, q) == error::would_block);
    s->attach(1, ready_peer(), q);
    CHECK(receive(*s, q) == message{"early"});
    CHECK_FALSE(s->accepts(ready_peer()));
}
