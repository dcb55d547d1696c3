// SPDX-License-Identifier: MPL-2.0
// Socket options against libzmq 4.3 (C API, in process), both bind sides
// where it matters: the publish-subscribe options and the transport
// options read back from the connected socket.
#include "socket_libzmq_end.hpp"

#include <doctest/doctest.h>

#include <string>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_type;
using zmtp::test::zmq_context;

// ------------------------------------------------------------------ xpub_nodrop

TEST_CASE("zmtp PUB with xpub_nodrop blocks on a libzmq SUB that does not read, drops nothing, resumes")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end pub(iot.io, socket_type::pub);
    pub.configure([](zmtp::socket_options& o) {
        o.send_hwm = 1;
        o.xpub_nodrop = true;
    });
    zmq_end sub(ctx, socket_type::sub);
    sub.set(ZMQ_RCVHWM, 1);
    sub.subscribe("", true);
    sub.connect(pub.bind("tcp"));
    REQUIRE(sync_subscription(pub, sub, "x-probe"));

    const std::string big(1 << 20, 'n'); // shared by every copy
    const auto numbered = [&](int i) { return zmtp::message{zmtp::frame(std::to_string(i)), zmtp::frame(big)}; };
    // Full once try_send has given would_block for 200 ms on end.
    int sent = 0;
    int blocked_tries = 0;
    for (int tries = 0; tries < 2000 && blocked_tries < 10; ++tries) {
        const error_code ec = pub.try_send(numbered(sent));
        if (!ec) {
            ++sent;
            blocked_tries = 0;
            std::this_thread::sleep_for(2ms);
        } else {
            REQUIRE(ec == zmtp::error::would_block);
            ++blocked_tries;
            std::this_thread::sleep_for(20ms);
        }
    }
    REQUIRE(blocked_tries == 10);
    CHECK(pub.stats().dropped == 0);

    auto blocked = pub.socket().async_send(numbered(sent), net::use_future);
    CHECK(blocked.wait_for(300ms) == std::future_status::timeout);
    // Every message arrives, in order, the waiting one last.
    for (int i = 0; i <= sent; ++i) {
        const auto m = next_real(sub);
        REQUIRE(m);
        REQUIRE(m->at(0) == std::to_string(i));
    }
    REQUIRE(blocked.wait_for(wait_limit) == std::future_status::ready);
    CHECK_NOTHROW(blocked.get());
    CHECK(pub.stats().dropped == 0);
}

} // namespace
