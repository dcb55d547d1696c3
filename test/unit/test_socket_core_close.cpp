// SPDX-License-Identifier: MPL-2.0
// The socket core's close with linger, in memory with a fake clock: a
// connect()'s peer not reached yet still gets what was queued for it when
// it comes (linger -1, or within linger N), and what the close gives up is
// counted.
#include "zmtp/pattern/socket_core.hpp"

#include "core_pair.hpp"
#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using zmtp::message;
using zmtp::socket_type;
using zmtp::pattern::peer_state;
using zmtp::test::core_end;
using zmtp::test::core_net;
using namespace std::chrono_literals;

namespace {

// A PUSH connecting to a peer not there yet, "1" and "2" queued for it,
// then closed. Returns the connect()'s peer.
zmtp::pattern::peer_id closed_with_queue(core_net& net, core_end& push)
{
    const auto p = push.core.add_connect("tcp://pull");
    for (const char* s : {"1", "2"}) {
        message m{s};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    push.core.close(net.clock.now());
    net.settle();
    return p;
}

} // namespace

TEST_CASE("core close: linger -1 keeps a peer not reached yet until it comes and takes its messages")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    const auto p = closed_with_queue(net, push);
    CHECK(push.core.closing());
    CHECK_FALSE(push.close_done);
    CHECK_FALSE(push.timer_at);
    REQUIRE(push.core.state(p));
    CHECK(*push.core.state(p) == peer_state::pending);
    net.advance(std::chrono::hours(1));
    CHECK_FALSE(push.close_done);

    // A connection that fails its handshake: the peer waits for the next.
    auto& failed = net.open(push, p, pull);
    net.cut(failed);
    CHECK(*push.core.state(p) == peer_state::pending);
    CHECK(push.lost.size() == 1); // the I/O side connects again

    net.join(push, p, pull);
    CHECK(pull.take() == message{"1"});
    CHECK(pull.take() == message{"2"});
    CHECK(push.close_done);
    CHECK_FALSE(push.core.closing());
    CHECK(push.core.dropped_at_close() == 0);
    CHECK_FALSE(push.core.state(p));
}

TEST_CASE("core close: linger N gives up a peer that never comes after N, counting its messages")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    push.core.options().linger = 200ms;
    const auto p = closed_with_queue(net, push);
    REQUIRE(push.timer_at);
    CHECK(*push.timer_at == net.clock.now() + 200ms);
    net.advance(199ms);
    CHECK_FALSE(push.close_done);
    net.advance(1ms);
    CHECK(push.close_done);
    CHECK(push.core.dropped_at_close() == 2);
    CHECK_FALSE(push.core.state(p));
    CHECK(push.released.size() == 1);
}

TEST_CASE("core close: linger 0 gives up at once; a close with nothing queued is over at once")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    push.core.options().linger = 0ms;
    closed_with_queue(net, push);
    CHECK(push.close_done);
    CHECK(push.core.dropped_at_close() == 2);

    auto& idle = net.make(socket_type::push, "idle");
    idle.core.add_connect("tcp://pull");
    idle.core.close(net.clock.now());
    net.settle();
    CHECK(idle.close_done);
    CHECK(idle.core.dropped_at_close() == 0);
}

TEST_CASE("core close: a lingering peer removed (disconnect) is given up; the close is over")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    push.core.options().linger = 1000ms;
    const auto p = closed_with_queue(net, push);
    CHECK_FALSE(push.close_done);
    push.core.remove(p);
    net.settle();
    CHECK(push.close_done);
    CHECK(push.core.dropped_at_close() == 2);
    CHECK_FALSE(push.timer_at);
}

TEST_CASE("core close: linger N gives up a connection that holds messages; they count as dropped")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    push.core.options().linger = 100ms;
    pull.core.options().receive_hwm = 2; // then the pull stops reading
    net.connect(push, pull);
    constexpr std::size_t sent = 10;
    for (std::size_t i = 0; i < sent; ++i) {
        message m{zmtp::frame(std::to_string(i))};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    net.settle();
    push.core.close(net.clock.now());
    net.settle();
    CHECK_FALSE(push.close_done); // the lingering connection holds all the rest
    net.advance(100ms);
    CHECK(push.close_done);
    std::size_t received = 0;
    while (auto m = pull.take()) {
        CHECK(*m == message{zmtp::frame(std::to_string(received))});
        ++received;
    }
    CHECK(received == 2);
    CHECK(push.core.dropped_at_close() == sent - received);
}
