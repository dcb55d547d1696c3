// SPDX-License-Identifier: MPL-2.0
// zmtp::socket's async_close keeps linger's word against a libzmq peer that
// binds only after the close started: linger -1 delivers every queued
// message; linger N gives up after N, counting what it dropped in stats()
// and a dropped_at_close monitor event.
#include "socket_libzmq_end.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <future>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_type;
using zmtp::test::zmq_context;

// A PUSH connecting to `ep`, where nobody listens yet, with `n` messages queued.
void queue_for_absent_peer(zmtp_end& push, const std::string& ep, std::chrono::milliseconds linger, int n)
{
    push.configure([linger](zmtp::socket_options& o) {
        o.linger = linger;
        o.reconnect_ivl = 20ms;
        o.reconnect_ivl_max = 20ms;
    });
    push.connect(ep);
    for (int i = 0; i < n; ++i)
        REQUIRE(push.send({"queued-" + std::to_string(i)}));
}

} // namespace

TEST_CASE("async_close with linger -1 waits for a libzmq PULL that binds later and delivers everything")
{
    zmq_context ctx;
    io_thread iot;
    const std::string ep = ipc_endpoint();
    zmtp_end push(iot.io, socket_type::push);
    queue_for_absent_peer(push, ep, -1ms, 5);
    std::promise<error_code> closed;
    auto done = closed.get_future();
    push.socket().async_close([&](error_code ec) { closed.set_value(ec); });
    CHECK(done.wait_for(150ms) == std::future_status::timeout); // nobody to deliver to yet

    zmq_end pull(ctx, socket_type::pull);
    pull.bind_exactly(ep);
    for (int i = 0; i < 5; ++i)
        CHECK(pull.recv() == frames{"queued-" + std::to_string(i)});
    REQUIRE(done.wait_for(wait_limit) == std::future_status::ready);
    CHECK_FALSE(done.get());
    CHECK(push.stats().dropped_at_close == 0);
}

TEST_CASE("async_close with linger 200 ms gives up a peer that never comes and counts the drops")
{
    io_thread iot;
    zmtp_end push(iot.io, socket_type::push);
    std::atomic<std::size_t> reported{0};
    on(push.socket(), [&] {
        push.socket().set_monitor([&](const zmtp::monitor_event& e) {
            if (e.type == zmtp::monitor_event_type::dropped_at_close)
                reported = e.dropped;
        });
    });
    queue_for_absent_peer(push, ipc_endpoint(), 200ms, 3);
    std::promise<error_code> closed;
    auto done = closed.get_future();
    const auto started = std::chrono::steady_clock::now();
    push.socket().async_close([&](error_code ec) { closed.set_value(ec); });
    REQUIRE(done.wait_for(wait_limit) == std::future_status::ready);
    CHECK(std::chrono::steady_clock::now() - started >= 200ms);
    CHECK_FALSE(done.get());
    CHECK(push.stats().dropped_at_close == 3);
    CHECK(reported == 3);
}
