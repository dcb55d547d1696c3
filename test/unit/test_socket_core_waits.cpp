// SPDX-License-Identifier: MPL-2.0
// The socket core's waiting sends and receives leaving early, cancelled or
// out of time, in memory with a fake clock: nothing queued or taken is lost.
#include "zmtp/pattern/socket_core.hpp"

#include "core_pair.hpp"
#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <vector>
#include <system_error>

using zmtp::message;
using zmtp::socket_type;
using zmtp::test::core_end;
using zmtp::test::core_net;
using namespace std::chrono_literals;

namespace {

const std::error_code aborted = std::make_error_code(std::errc::operation_canceled);
const std::error_code late = std::make_error_code(std::errc::timed_out);

// A PUSH whose peer is still connecting, holding "1" with send_hwm 1: the
// next send waits. Returns the connect()'s peer.
zmtp::pattern::peer_id blocked_push(core_end& push)
{
    push.core.options().send_hwm = 1;
    const auto p = push.core.add_connect("tcp://pull");
    message m{"1"};
    REQUIRE_FALSE(push.core.try_send(m));
    return p;
}

} // namespace

TEST_CASE("core waits: a cancelled receive takes nothing; the message goes to the next receive")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    const auto p = push.core.add_connect("tcp://pull");
    net.join(push, p, pull);
    const auto r1 = pull.receive();
    const auto r2 = pull.receive();
    const auto r3 = pull.receive();
    CHECK(pull.core.cancel(r1));
    CHECK(pull.core.cancel(r3));
    net.settle();
    CHECK(pull.receives_done.at(r1).first == aborted);
    CHECK(pull.receives_done.at(r3).first == aborted);
    CHECK_FALSE(pull.core.cancel(r1)); // already complete

    message m{"a"};
    REQUIRE_FALSE(push.core.try_send(m));
    message n{"b"};
    REQUIRE_FALSE(push.core.try_send(n));
    net.settle();
    CHECK_FALSE(pull.receives_done.at(r2).first);
    CHECK(pull.receives_done.at(r2).second == message{"a"});
    CHECK(pull.take() == message{"b"});
    CHECK_FALSE(pull.core.cancel(r2));
}

TEST_CASE("core waits: a cancelled send queued none of its message; later sends go through")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    const auto p = blocked_push(push);
    const auto t2 = push.send(message{"2"});
    const auto t3 = push.send(message{"3"});
    net.settle();
    CHECK(push.sends_done.empty());
    CHECK(push.core.cancel(t2));
    net.settle();
    CHECK(push.sends_done.at(t2) == aborted);
    CHECK(push.sends_done.count(t3) == 0); // still waiting, still in order

    net.join(push, p, pull);
    CHECK_FALSE(push.sends_done.at(t3));
    CHECK(pull.take() == message{"1"});
    CHECK(pull.take() == message{"3"});
    CHECK_FALSE(pull.take());
    const auto t4 = push.send(message{"4"});
    net.settle();
    CHECK_FALSE(push.sends_done.at(t4));
    CHECK(pull.take() == message{"4"});
}

TEST_CASE("core waits: cancel_all completes every waiting send and receive, and only those")
{
    core_net net;
    auto& dealer = net.make(socket_type::dealer, "dealer");
    dealer.core.options().send_hwm = 1;
    dealer.core.add_connect("tcp://router");
    const auto s1 = dealer.send(message{"queued"});
    const auto s2 = dealer.send(message{"waits"});
    const auto r1 = dealer.receive();
    const auto r2 = dealer.receive();
    net.settle();
    CHECK_FALSE(dealer.sends_done.at(s1));
    dealer.core.cancel_all();
    net.settle();
    CHECK(dealer.sends_done.at(s2) == aborted);
    CHECK(dealer.receives_done.at(r1).first == aborted);
    CHECK(dealer.receives_done.at(r2).first == aborted);
    CHECK_FALSE(dealer.core.closed());
    const auto r3 = dealer.receive();
    net.settle();
    CHECK(dealer.receives_done.count(r3) == 0);
}

TEST_CASE("core waits: receive_timeout completes a receive with timed_out; the later message waits")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    pull.core.options().receive_timeout = 50ms;
    const auto p = push.core.add_connect("tcp://pull");
    net.join(push, p, pull);
    const auto r = pull.receive();
    net.settle();
    REQUIRE(pull.timer_at);
    CHECK(*pull.timer_at == net.clock.now() + 50ms);
    net.advance(49ms);
    CHECK(pull.receives_done.empty());
    net.advance(1ms);
    CHECK(pull.receives_done.at(r).first == late);
    CHECK_FALSE(pull.timer_at);

    message m{"later"};
    REQUIRE_FALSE(push.core.try_send(m));
    net.settle();
    CHECK(pull.take() == message{"later"});

    // One that completes in time leaves the timer nothing to do.
    const auto in_time = pull.receive();
    net.settle();
    message n{"soon"};
    REQUIRE_FALSE(push.core.try_send(n));
    net.settle();
    CHECK(pull.receives_done.at(in_time).second == message{"soon"});
    net.advance(50ms);
    CHECK(pull.receives_done.size() == 2);
    CHECK_FALSE(pull.timer_at);
}

TEST_CASE("core waits: send_timeout gives up on a blocked send without queueing it; 0 gives up at once")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    const auto p = blocked_push(push);
    push.core.options().send_timeout = 30ms;
    const auto t = push.send(message{"2"});
    net.advance(10ms);
    push.core.options().send_timeout = 0ms;
    const auto now = push.send(message{"3"});
    net.settle();
    REQUIRE(push.timer_at);
    CHECK(*push.timer_at == net.clock.now()); // the sooner deadline
    net.advance(0ms);
    CHECK(push.sends_done.at(now) == late);
    CHECK(push.sends_done.count(t) == 0);
    REQUIRE(push.timer_at);
    net.advance(20ms);
    CHECK(push.sends_done.at(t) == late);
    CHECK_FALSE(push.timer_at);

    push.core.options().send_timeout = -1ms;
    net.join(push, p, pull);
    CHECK(pull.take() == message{"1"});
    CHECK_FALSE(pull.take());
}

TEST_CASE("core waits: a close cancels what waits and the timer keeps only the linger deadline")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    push.core.options().linger = 100ms;
    pull.core.options().receive_hwm = 1;
    net.capacity = 1;
    push.core.options().send_hwm = 1;
    const auto p = push.core.add_connect("tcp://pull");
    net.join(push, p, pull);
    push.core.options().send_timeout = 10s;
    std::vector<zmtp::pattern::socket_core::token> sent;
    for (int i = 0; i < 20; ++i)
        sent.push_back(push.send(message{"m"}));
    net.settle();
    REQUIRE(push.sends_done.size() < sent.size()); // some wait
    push.core.close(net.clock.now());
    net.settle();
    CHECK(push.sends_done.at(sent.back()) == aborted);
    REQUIRE(push.timer_at);
    CHECK(*push.timer_at == net.clock.now() + 100ms);
}
