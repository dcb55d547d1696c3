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

namespace {

zmtp::test::wire_link& connect(core_net& net, core_end& a, core_end& b)
{
    return net.join(a, a.core.add_connect("tcp://" + b.name), b);
}

} // namespace

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
    auto& l = connect(net, slow, pub);
    auto& lo = connect(net, other, pub);
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
    auto& l = connect(net, sub, xpub);
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
    connect(net, sub, pub);
    net.capacity = 0;
    for (const char* s : {"1", "2"}) {
        message m{s};
        REQUIRE_FALSE(pub.core.try_send(m));
    }
    CHECK(pub.core.dropped() == 1);
}
