// SPDX-License-Identifier: MPL-2.0
// PUB, XPUB, SUB and XSUB strategies (RFC 29, subscriptions per RFC 37 and
// libzmq 4.3) over in-memory peer queues.
#include "zmtp/pattern/strategy.hpp"

#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

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
using zmtp::test::topic;
using call = zmtp::test::fake_peer_queues::subscription_call;

namespace {

// A one-frame subscription (0x01) or cancel (0x00) message.
message sub_msg(std::string_view t, bool on = true)
{
    std::string body(1, on ? '\x01' : '\x00');
    body += t;
    return {zmtp::frame(std::string_view(body))};
}

} // namespace

// ---------------------------------------------------------------- PUB

TEST_CASE("pub: prefix filtering, one copy per matching peer")
{
    auto s = make(socket_type::pub);
    fake_peer_queues q;
    for (zmtp::pattern::peer_id p : {1, 2, 3})
        s->attach(p, ready_peer(), q);
    s->subscription(1, topic("weather"), true, q);
    s->subscription(2, topic("w"), true, q);
    s->subscription(2, topic("weather"), true, q); // overlapping: still one copy
    s->subscription(2, topic(""), true, q);

    REQUIRE_FALSE(send(*s, q, {"weather.paris", "sunny"}));
    REQUIRE_FALSE(send(*s, q, {"news", "none"}));
    REQUIRE_FALSE(send(*s, q, {"weathe"}));

    CHECK(q.sent_count(1) == 1);
    CHECK(q.take(1) == message{"weather.paris", "sunny"});
    CHECK(q.sent_count(2) == 3);
    CHECK(q.take(2) == message{"weather.paris", "sunny"});
    CHECK(q.take(2) == message{"news", "none"});
    CHECK(q.take(2) == message{"weathe"});
    CHECK(q.sent_count(3) == 0); // no subscription
    CHECK(s->dropped() == 0);
}

TEST_CASE("pub: a full peer misses the message and it is counted; the others get it")
{
    auto s = make(socket_type::pub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    s->subscription(1, topic(""), true, q);
    s->subscription(2, topic(""), true, q);
    q.set_hwm(1, 1);

    CHECK_FALSE(send(*s, q, {"one"}));
    CHECK_FALSE(send(*s, q, {"two"}));
    CHECK(s->dropped() == 1);
    CHECK(q.sent_count(1) == 1);
    CHECK(q.sent_count(2) == 2);
    CHECK(q.take(1) == message{"one"});
}

TEST_CASE("pub: send without subscribers succeeds and queues nothing; receive is not supported")
{
    auto s = make(socket_type::pub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    CHECK_FALSE(send(*s, q, {"into the void"}));
    CHECK(q.sent_count(1) == 0);
    message m;
    CHECK(s->receive(m, q) == error::operation_not_supported);
}

TEST_CASE("pub: 0x01/0x00 data frames from 3.0 peers are subscriptions, never queued")
{
    auto s = make(socket_type::pub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    CHECK_FALSE(deliver(*s, q, 1, sub_msg("A")));
    CHECK(q.unread(1) == 0);

    REQUIRE_FALSE(send(*s, q, {"Apple"}));
    REQUIRE_FALSE(send(*s, q, {"Banana"}));
    CHECK(q.sent_count(1) == 1);
    CHECK(q.take(1) == message{"Apple"});

    CHECK_FALSE(deliver(*s, q, 1, sub_msg("A", false)));
    REQUIRE_FALSE(send(*s, q, {"Apple"}));
    CHECK(q.sent_count(1) == 0);
}

TEST_CASE("pub: ordinary messages from a peer are dropped and leave no state")
{
    auto s = make(socket_type::pub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    // Multi-frame, empty, and a first octet other than 0/1: none subscribes.
    CHECK_FALSE(deliver(*s, q, 1, {"\x01topic", "more"}));
    CHECK_FALSE(deliver(*s, q, 1, {""}));
    CHECK_FALSE(deliver(*s, q, 1, {"\x02topic"}));
    CHECK_FALSE(deliver(*s, q, 1, {"hello"}));
    CHECK(q.unread(1) == 0);

    REQUIRE_FALSE(send(*s, q, {"topic"}));
    REQUIRE_FALSE(send(*s, q, {"hello"}));
    CHECK(q.sent_count(1) == 0);
}

TEST_CASE("pub: detach removes the peer's subscriptions")
{
    auto s = make(socket_type::pub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    s->subscription(1, topic("x"), true, q);
    s->subscription(2, topic("x"), true, q);
    s->detach(1, q);

    REQUIRE_FALSE(send(*s, q, {"x1"}));
    CHECK(q.sent_count(1) == 0);
    CHECK(q.sent_count(2) == 1);

    // The same peer id, back again, starts with no subscription.
    s->attach(1, ready_peer(), q);
    REQUIRE_FALSE(send(*s, q, {"x2"}));
    CHECK(q.sent_count(1) == 0);
}

TEST_CASE("pub: one CANCEL ends a peer's subscription to a topic, after any number of SUBSCRIBEs")
{
    auto s = make(socket_type::pub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    // libzmq's SUB sends one SUBSCRIBE per subscribe call, and one CANCEL
    // when its last subscription to the topic goes.
    s->subscription(1, topic("A"), true, q);
    s->subscription(1, topic("A"), true, q);
    s->subscription(2, topic("A"), true, q);
    s->subscription(1, topic("A"), false, q);
    REQUIRE_FALSE(send(*s, q, {"A1"}));
    CHECK(q.sent_count(1) == 0);
    CHECK(q.sent_count(2) == 1);

    // A CANCEL for a topic never subscribed changes nothing.
    s->subscription(2, topic("B"), false, q);
    s->subscription(2, topic(""), false, q);
    REQUIRE_FALSE(send(*s, q, {"A2"}));
    CHECK(q.sent_count(2) == 2);
}

TEST_CASE("pub: topics longer than limits.max_command_size are ignored")
{
    zmtp::socket_options o;
    o.limits.max_command_size = 8;
    auto s = make(socket_type::pub, o);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->subscription(1, topic("123456789"), true, q);
    CHECK_FALSE(deliver(*s, q, 1, sub_msg("abcdefghi")));
    REQUIRE_FALSE(send(*s, q, {"123456789"}));
    REQUIRE_FALSE(send(*s, q, {"abcdefghi"}));
    CHECK(q.sent_count(1) == 0);

    s->subscription(1, topic("12345678"), true, q); // exactly at the cap
    REQUIRE_FALSE(send(*s, q, {"123456789"}));
    CHECK(q.sent_count(1) == 1);
}

TEST_CASE("pub: at most 65,536 subscriptions per peer")
{
    auto s = make(socket_type::pub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    for (int i = 0; i < 65'536; ++i)
        s->subscription(1, topic("A"), true, q);
    s->subscription(1, topic("B"), true, q); // over the cap: ignored
    s->subscription(2, topic("B"), true, q); // another peer has its own

    REQUIRE_FALSE(send(*s, q, {"B"}));
    CHECK(q.sent_count(1) == 0);
    CHECK(q.sent_count(2) == 1);
    REQUIRE_FALSE(send(*s, q, {"A"}));
    CHECK(q.sent_count(1) == 1);

    // Cancelling frees room for new subscriptions.
    s->subscription(1, topic("A"), false, q);
    s->subscription(1, topic("B"), true, q);
    REQUIRE_FALSE(send(*s, q, {"B"}));
    CHECK(q.sent_count(1) == 2);
}

TEST_CASE("pub: a large frame is shared, not copied, across the copies")
{
    auto s = make(socket_type::pub);
    fake_peer_queues q;
    for (zmtp::pattern::peer_id p : {1, 2, 3}) {
        s->attach(p, ready_peer(), q);
        s->subscription(p, topic(""), true, q);
    }
    const std::string body(4096, 'z');
    message m{"topic", zmtp::frame(std::string_view(body))};
    const std::byte* original = m[1].data();
    REQUIRE(m[1].shares_storage());
    REQUIRE_FALSE(s->send(m, q));

    for (zmtp::pattern::peer_id p : {1, 2, 3}) {
        REQUIRE(q.sent_count(p) == 1);
        const message& copy = q.sent(p).front();
        REQUIRE(copy.size() == 2);
        CHECK(copy[1].shares_storage());
        CHECK(copy[1].data() == original);
        CHECK(copy[1].view() == body);
    }
}

// ---------------------------------------------------------------- XPUB

TEST_CASE("xpub: the first subscription to a topic is reported, and the last cancel")
{
    auto s = make(socket_type::xpub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    message m;
    CHECK(s->receive(m, q) == error::would_block);

    s->subscription(1, topic("A"), true, q);
    CHECK_FALSE(deliver(*s, q, 2, sub_msg("A"))); // 3.0 peer: a data frame
    s->subscription(2, topic("B"), true, q);
    CHECK(receive(*s, q) == sub_msg("A"));
    CHECK(receive(*s, q) == sub_msg("B"));
    CHECK(s->receive(m, q) == error::would_block);

    s->subscription(1, topic("A"), false, q); // peer 2 still wants A
    CHECK(s->receive(m, q) == error::would_block);
    s->subscription(2, topic("A"), false, q);
    CHECK(receive(*s, q) == sub_msg("A", false));

    // Filtering works as for PUB.
    REQUIRE_FALSE(send(*s, q, {"B!"}));
    REQUIRE_FALSE(send(*s, q, {"A!"}));
    CHECK(q.sent_count(1) == 0);
    CHECK(q.take(2) == message{"B!"});
    CHECK(q.sent_count(2) == 0);
}

TEST_CASE("xpub: with xpub_verbose every subscription is reported")
{
    zmtp::socket_options o;
    o.xpub_verbose = true;
    auto s = make(socket_type::xpub, o);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    s->subscription(1, topic("A"), true, q);
    s->subscription(2, topic("A"), true, q);
    s->subscription(1, topic("A"), true, q);
    CHECK(receive(*s, q) == sub_msg("A"));
    CHECK(receive(*s, q) == sub_msg("A"));
    CHECK(receive(*s, q) == sub_msg("A"));
    message m;
    CHECK(s->receive(m, q) == error::would_block);
}

TEST_CASE("xpub: a detaching peer cancels the topics it alone held")
{
    auto s = make(socket_type::xpub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    s->subscription(1, topic("mine"), true, q);
    s->subscription(1, topic("shared"), true, q);
    s->subscription(2, topic("shared"), true, q);
    REQUIRE(receive(*s, q) == sub_msg("mine"));
    REQUIRE(receive(*s, q) == sub_msg("shared"));

    s->detach(1, q);
    CHECK(receive(*s, q) == sub_msg("mine", false));
    message m;
    CHECK(s->receive(m, q) == error::would_block);
    s->detach(2, q);
    CHECK(receive(*s, q) == sub_msg("shared", false));
}

TEST_CASE("xpub: other messages from peers are delivered upstream")
{
    auto s = make(socket_type::xpub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    CHECK_FALSE(deliver(*s, q, 1, {"hello", "upstream"}));
    CHECK_FALSE(deliver(*s, q, 1, sub_msg("T")));
    CHECK(q.unread(1) == 0);
    CHECK(receive(*s, q) == message{"hello", "upstream"});
    CHECK(receive(*s, q) == sub_msg("T"));
    // The data-frame subscription is in force.
    REQUIRE_FALSE(send(*s, q, {"Topic"}));
    CHECK(q.sent_count(1) == 1);
}

TEST_CASE("xpub: messages from peers waiting upstream are bounded by the receive HWM")
{
    zmtp::socket_options o;
    o.receive_hwm = 3;
    auto s = make(socket_type::xpub, o);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    for (int i = 0; i < 10; ++i)
        deliver(*s, q, 1, {"chatter"});
    // Subscription notices are not counted against it.
    deliver(*s, q, 1, sub_msg("T"));
    CHECK(s->dropped() == 7);
    for (int i = 0; i < 3; ++i)
        CHECK(receive(*s, q) == message{"chatter"});
    CHECK(receive(*s, q) == sub_msg("T"));
    message m;
    CHECK(s->receive(m, q) == error::would_block);
    // Reading made room again.
    deliver(*s, q, 1, {"again"});
    CHECK(receive(*s, q) == message{"again"});
    CHECK(s->dropped() == 7);
}

// ---------------------------------------------------------------- SUB

TEST_CASE("sub: subscribe sends SUBSCRIBE to every ready peer, and all topics to a new one")
{
    auto s = make(socket_type::sub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    s->attach(3, pending_peer(), q);
    CHECK(q.subscriptions().empty());

    CHECK_FALSE(s->subscribe(topic("A"), true, q));
    CHECK(q.subscriptions() == std::vector<call>{{1, "A", true}, {2, "A", true}});

    q.clear_subscriptions();
    CHECK_FALSE(s->subscribe(topic("A"), true, q));
    CHECK_FALSE(s->subscribe(topic("B"), true, q));
    CHECK(q.subscriptions().size() == 4); // like libzmq: one per call

    q.clear_subscriptions();
    s->attach(3, ready_peer(), q);
    std::vector<call> got = q.subscriptions();
    std::sort(got.begin(), got.end(), [](const call& a, const call& b) { return a.topic < b.topic; });
    CHECK(got == std::vector<call>{{3, "A", true}, {3, "B", true}});

    q.clear_subscriptions();
    s->detach(1, q);
    CHECK_FALSE(s->subscribe(topic("C"), true, q));
    CHECK(q.subscriptions() == std::vector<call>{{2, "C", true}, {3, "C", true}});
}

TEST_CASE("sub: CANCEL goes out only when the last subscription to the topic goes")
{
    auto s = make(socket_type::sub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    REQUIRE_FALSE(s->subscribe(topic("A"), true, q));
    REQUIRE_FALSE(s->subscribe(topic("A"), true, q));
    q.clear_subscriptions();

    CHECK_FALSE(s->subscribe(topic("A"), false, q));
    CHECK(q.subscriptions().empty());
    CHECK_FALSE(s->subscribe(topic("A"), false, q));
    CHECK(q.subscriptions() == std::vector<call>{{1, "A", false}});

    q.clear_subscriptions();
    CHECK_FALSE(s->subscribe(topic("never"), false, q));
    CHECK(q.subscriptions().empty());
}

TEST_CASE("sub: incoming messages are filtered by prefix; send is not supported")
{
    auto s = make(socket_type::sub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    CHECK_FALSE(deliver(*s, q, 1, {"anything"}));
    REQUIRE_FALSE(s->subscribe(topic("news"), true, q));
    CHECK(deliver(*s, q, 1, {"news.today", "body"}));
    CHECK_FALSE(deliver(*s, q, 1, {"new"}));
    CHECK_FALSE(deliver(*s, q, 1, {"weather"}));
    CHECK(receive(*s, q) == message{"news.today", "body"});
    message m;
    CHECK(s->receive(m, q) == error::would_block);

    REQUIRE_FALSE(s->subscribe(topic("news"), false, q));
    CHECK_FALSE(deliver(*s, q, 1, {"news.tomorrow"}));

    CHECK(send(*s, q, {"news"}) == error::operation_not_supported);
    CHECK(q.sent_count(1) == 0);
}

TEST_CASE("sub: messages are fair-queued; a pending peer is not read")
{
    auto s = make(socket_type::sub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    s->attach(3, pending_peer(), q);
    REQUIRE_FALSE(s->subscribe(topic(""), true, q));
    q.arrive(3, {"pending"});
    REQUIRE(deliver(*s, q, 1, {"1a"}));
    REQUIRE(deliver(*s, q, 1, {"1b"}));
    REQUIRE(deliver(*s, q, 2, {"2a"}));
    CHECK(receive(*s, q) == message{"1a"});
    CHECK(receive(*s, q) == message{"2a"});
    CHECK(receive(*s, q) == message{"1b"});
    message m;
    CHECK(s->receive(m, q) == error::would_block);
}

// ---------------------------------------------------------------- XSUB

TEST_CASE("xsub: 0x01/0x00 messages update the filter and reach every peer, past the HWM")
{
    auto s = make(socket_type::xsub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    q.set_hwm(1, 1);
    q.write(1, {"fills peer 1"});

    CHECK_FALSE(send(*s, q, sub_msg("T")));
    CHECK(q.sent_count(1) == 2);
    CHECK(q.sent(1).back() == sub_msg("T"));
    CHECK(q.take(2) == sub_msg("T"));
    CHECK(q.subscriptions().empty()); // data frames, not commands (docs/libzmq-wire.md fact 7)

    CHECK(deliver(*s, q, 2, {"Tea"}));
    CHECK_FALSE(deliver(*s, q, 2, {"Coffee"}));
    CHECK(receive(*s, q) == message{"Tea"});

    CHECK_FALSE(send(*s, q, sub_msg("T", false)));
    CHECK(q.take(2) == sub_msg("T", false));
    CHECK_FALSE(deliver(*s, q, 2, {"Tea"}));
}

TEST_CASE("xsub: a cancel is passed on only when the last subscription to the topic goes")
{
    auto s = make(socket_type::xsub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    REQUIRE_FALSE(send(*s, q, sub_msg("A")));
    REQUIRE_FALSE(send(*s, q, sub_msg("A")));
    CHECK(q.sent_count(1) == 2); // like libzmq: every subscription goes up

    CHECK_FALSE(send(*s, q, sub_msg("A", false)));
    CHECK(q.sent_count(1) == 2); // one subscription to A is left
    CHECK(deliver(*s, q, 1, {"A1"}));

    CHECK_FALSE(send(*s, q, sub_msg("A", false)));
    CHECK(q.sent_count(1) == 3);
    CHECK(q.sent(1).back() == sub_msg("A", false));
    CHECK_FALSE(deliver(*s, q, 1, {"A2"}));

    CHECK_FALSE(send(*s, q, sub_msg("never", false)));
    CHECK(q.sent_count(1) == 3);
}

TEST_CASE("xsub: other messages go to every peer with room; the full ones are counted")
{
    auto s = make(socket_type::xsub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    s->attach(2, ready_peer(), q);
    s->attach(3, ready_peer(), q);
    q.set_hwm(2, 1);
    q.write(2, {"fills peer 2"});

    CHECK_FALSE(send(*s, q, {"upstream", "data"}));
    CHECK(q.take(1) == message{"upstream", "data"});
    CHECK(q.sent_count(2) == 1);
    CHECK(q.take(3) == message{"upstream", "data"});
    CHECK(s->dropped() == 1);
}

TEST_CASE("xsub: a new peer learns the subscriptions; subscribe() is not supported")
{
    auto s = make(socket_type::xsub);
    fake_peer_queues q;
    s->attach(1, ready_peer(), q);
    REQUIRE_FALSE(send(*s, q, sub_msg("X")));
    s->attach(2, ready_peer(), q);
    CHECK(q.subscriptions() == std::vector<call>{{2, "X", true}});

    q.clear_subscriptions();
    CHECK(s->subscribe(topic("Y"), true, q) == error::operation_not_supported);
    CHECK(q.subscriptions().empty());
    CHECK_FALSE(deliver(*s, q, 1, {"Y"}));
}
