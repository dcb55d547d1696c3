// SPDX-License-Identifier: MPL-2.0
// The publish-subscribe options (xpub_nodrop, invert_matching, xpub_manual,
// xpub_welcome_msg), two or more socket cores back to back in memory with a
// fake clock, as libzmq 4.3 behaves.
#include "zmtp/pattern/socket_core.hpp"

#include "core_pair.hpp"
#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <string>

using zmtp::error;
using zmtp::message;
using zmtp::socket_type;
using zmtp::test::core_end;
using zmtp::test::core_net;
using zmtp::test::topic;

// ---------------------------------------------------------------- xpub_nodrop

TEST_CASE("core: PUB with xpub_nodrop waits while a matching SUB is at its HWM, and loses nothing")
{
    core_net net;
    auto& pub = net.make(socket_type::pub, "pub");
    auto& slow = net.make(socket_type::sub, "slow");
    auto& other = net.make(socket_type::sub, "other");
    pub.core.options().xpub_nodrop = true;
    pub.core.options().send_hwm = 2;
    REQUIRE_FALSE(slow.core.subscribe(topic("a"), true));
    REQUIRE_FALSE(other.core.subscribe(topic("b"), true));
    auto& l = net.connect(slow, pub);
    auto& lo = net.connect(other, pub);
    net.capacity = 0; // the connections take nothing more: the queues fill

    for (const char* s : {"a1", "a2"}) {
        message m{s};
        REQUIRE_FALSE(pub.core.try_send(m));
    }
    message a3{"a3"};
    CHECK(pub.core.try_send(a3) == error::would_block);
    CHECK(a3 == message{"a3"}); // given back whole
    // A message slow does not match is not held up by it.
    message b1{"b1"};
    REQUIRE_FALSE(pub.core.try_send(b1));
    const auto t = pub.send(message{"a3"});
    net.settle();
    CHECK(pub.sends_done.empty());
    CHECK(pub.core.dropped() == 0);

    net.capacity = 4; // the connections can take more
    pub.core.link_written(l.id[1]);
    pub.core.link_written(lo.id[1]);
    net.settle();
    REQUIRE(pub.sends_done.count(t) == 1);
    CHECK_FALSE(pub.sends_done[t]);
    for (const char* s : {"a1", "a2", "a3"})
        CHECK(slow.take() == message{s});
    CHECK(other.take() == message{"b1"});
    CHECK(pub.core.dropped() == 0);
}

TEST_CASE("core: XPUB with xpub_nodrop: a waiting send completes when the full subscriber leaves")
{
    core_net net;
    auto& xpub = net.make(socket_type::xpub, "xpub");
    auto& sub = net.make(socket_type::sub, "sub");
    xpub.core.options().xpub_nodrop = true;
    xpub.core.options().send_hwm = 1;
    REQUIRE_FALSE(sub.core.subscribe(topic(""), true));
    auto& l = net.connect(sub, xpub);
    net.capacity = 0;
    message first{"1"};
    REQUIRE_FALSE(xpub.core.try_send(first));
    const auto t = xpub.send(message{"2"});
    net.settle();
    CHECK(xpub.sends_done.empty());
    net.cut(l);
    REQUIRE(xpub.sends_done.count(t) == 1);
    CHECK_FALSE(xpub.sends_done[t]); // no subscriber left: sent to nobody
}

TEST_CASE("core: without xpub_nodrop PUB drops for the full subscriber and never waits")
{
    core_net net;
    auto& pub = net.make(socket_type::pub, "pub");
    auto& sub = net.make(socket_type::sub, "sub");
    pub.core.options().send_hwm = 1;
    REQUIRE_FALSE(sub.core.subscribe(topic(""), true));
    net.connect(sub, pub);
    net.capacity = 0;
    for (const char* s : {"1", "2"}) {
        message m{s};
        REQUIRE_FALSE(pub.core.try_send(m));
    }
    CHECK(pub.core.dropped() == 1);
}

// ---------------------------------------------------------------- invert_matching

TEST_CASE("core: invert_matching on PUB and SUB: the SUB gets what its subscriptions do not match")
{
    core_net net;
    auto& pub = net.make(socket_type::pub, "pub");
    auto& sub = net.make(socket_type::sub, "sub");
    pub.core.options().invert_matching = true;
    sub.core.options().invert_matching = true;
    REQUIRE_FALSE(sub.core.subscribe(topic("a"), true));
    net.connect(sub, pub);
    for (const char* s : {"a1", "b1", "ab", "c1"}) {
        message m{s};
        REQUIRE_FALSE(pub.core.try_send(m));
    }
    net.settle();
    CHECK(sub.take() == message{"b1"});
    CHECK(sub.take() == message{"c1"});
    CHECK(sub.take() == std::nullopt);
}

TEST_CASE("core: invert_matching on one end only: the two filters cancel out and nothing arrives")
{
    for (bool on_pub : {true, false}) {
        CAPTURE(on_pub);
        core_net net;
        auto& pub = net.make(socket_type::xpub, "pub");
        auto& sub = net.make(socket_type::xsub, "sub");
        (on_pub ? pub : sub).core.options().invert_matching = true;
        message s{zmtp::frame("\x01" "a")};
        REQUIRE_FALSE(sub.core.try_send(s));
        net.connect(sub, pub);
        for (const char* t : {"a1", "b1"}) {
            message m{t};
            REQUIRE_FALSE(pub.core.try_send(m));
        }
        net.settle();
        CHECK(sub.take() == std::nullopt);
    }
}

TEST_CASE("core: invert_matching PUB sends to a SUB without subscriptions and not to one subscribed to all")
{
    core_net net;
    auto& pub = net.make(socket_type::pub, "pub");
    auto& none = net.make(socket_type::sub, "none");
    auto& all = net.make(socket_type::sub, "all");
    pub.core.options().invert_matching = true;
    none.core.options().invert_matching = true;
    all.core.options().invert_matching = true;
    REQUIRE_FALSE(all.core.subscribe(topic(""), true));
    net.connect(none, pub);
    net.connect(all, pub);
    message m{"x"};
    REQUIRE_FALSE(pub.core.try_send(m));
    net.settle();
    CHECK(none.take() == message{"x"});
    CHECK(all.take() == std::nullopt);
}

// ---------------------------------------------------------------- xpub_welcome_msg

TEST_CASE("core: XPUB's welcome message reaches each new subscriber first, and again after a reconnect")
{
    core_net net;
    auto& xpub = net.make(socket_type::xpub, "xpub");
    auto& s1 = net.make(socket_type::sub, "s1");
    auto& s2 = net.make(socket_type::sub, "s2");
    auto& deaf = net.make(socket_type::sub, "deaf");
    xpub.core.options().xpub_welcome_msg = std::string(1, 'W');
    xpub.core.options().send_hwm = 1;
    for (auto* s : {&s1, &s2})
        REQUIRE_FALSE(s->core.subscribe(topic("W"), true));
    auto& l1 = net.connect(s1, xpub);
    net.connect(s2, xpub);
    net.connect(deaf, xpub);
    CHECK(s1.take() == message{"W"});
    CHECK(s2.take() == message{"W"});
    CHECK(deaf.take() == std::nullopt); // not subscribed to it: filtered out

    net.cut(l1);
    REQUIRE(s1.lost.size() == 1);
    net.join(s1, s1.lost[0], xpub);
    CHECK(s1.take() == message{"W"});
    CHECK(xpub.core.dropped() == 0);
}

// ---------------------------------------------------------------- xpub_manual

TEST_CASE("core: manual XPUB hands up every subscription and subscribes the peer it heard from last")
{
    core_net net;
    auto& xpub = net.make(socket_type::xpub, "xpub");
    auto& s1 = net.make(socket_type::sub, "s1");
    auto& s2 = net.make(socket_type::sub, "s2");
    auto& s3 = net.make(socket_type::sub, "s3");
    xpub.core.options().xpub_manual = true;
    const message all_on{zmtp::frame("\x01")};
    const message all_off{zmtp::frame(std::string_view("\x00", 1))};
    // Each SUB asks for everything; the application decides what it gets.
    for (auto* s : {&s1, &s2, &s3})
        REQUIRE_FALSE(s->core.subscribe(topic(""), true));
    net.connect(s1, xpub);
    CHECK(xpub.take() == all_on);
    REQUIRE_FALSE(xpub.core.subscribe(topic("a"), true)); // for s1
    auto& l2 = net.connect(s2, xpub);
    CHECK(xpub.take() == all_on); // not new, handed up all the same
    REQUIRE_FALSE(xpub.core.subscribe(topic("b"), true)); // for s2
    net.connect(s3, xpub);
    CHECK(xpub.take() == all_on); // and s3 is given nothing

    for (const char* t : {"a1", "b1", "c1"}) {
        message m{t};
        REQUIRE_FALSE(xpub.core.try_send(m));
    }
    net.settle();
    CHECK(s1.take() == message{"a1"});
    CHECK(s1.take() == std::nullopt);
    CHECK(s2.take() == message{"b1"});
    CHECK(s2.take() == std::nullopt);
    CHECK(s3.take() == std::nullopt);

    // s2 leaves: what it asked for comes up as a cancel, and a subscribe
    // after it (there is no peer to apply it to) does nothing.
    net.cut(l2);
    CHECK(xpub.take() == all_off);
    REQUIRE_FALSE(xpub.core.subscribe(topic("c"), true));
    message c2{"c2"};
    REQUIRE_FALSE(xpub.core.try_send(c2));
    net.settle();
    CHECK(s1.take() == std::nullopt);
    CHECK(s3.take() == std::nullopt);
    CHECK(xpub.take() == std::nullopt);

    // A cancel is handed up and applies nothing by itself; unsubscribe()
    // then takes s1's "a" away.
    REQUIRE_FALSE(s1.core.subscribe(topic("a"), true));
    net.settle();
    CHECK(xpub.take() == message{zmtp::frame("\x01" "a")});
    REQUIRE_FALSE(xpub.core.subscribe(topic("a"), false));
    message a2{"a2"};
    REQUIRE_FALSE(xpub.core.try_send(a2));
    net.settle();
    CHECK(s1.take() == std::nullopt);
}

TEST_CASE("core: without xpub_manual, subscribe() on an XPUB is not supported")
{
    core_net net;
    auto& xpub = net.make(socket_type::xpub, "xpub");
    CHECK(xpub.core.subscribe(topic("a"), true) == error::operation_not_supported);
}
