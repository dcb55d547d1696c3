// SPDX-License-Identifier: MPL-2.0
// zmtp::socket to zmtp::socket: every compatible pair over tcp and ipc with
// either side binding (the conversations of ../support/socket_ends.hpp),
// then several peers, ROUTER routing, reconnection, async_receive and
// close().
#include "zmtp/socket.hpp"

#include "socket_ends.hpp"

#include <doctest/doctest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <set>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_type;

TEST_CASE("zmtp::socket pairs: every compatible pair, both binding sides, tcp and ipc")
{
    for (const pattern_case& p : all_patterns())
        for (const std::string transport : {"tcp", "ipc"})
            for (const bool a_binds : {true, false}) {
                const std::string name = std::string(p.name) + " " + transport + ": " +
                                         std::string(to_string(a_binds ? p.a : p.b)) + " binds" +
                                         (p.a != p.b ? "" : a_binds ? " (1st)" : " (2nd)");
                SUBCASE(name.c_str())
                {
                    io_thread iot;
                    zmtp_end a(iot.io, p.a, p.a_routing_id);
                    zmtp_end b(iot.io, p.b, p.b_routing_id);
                    if (a_binds)
                        b.connect(a.bind(transport));
                    else
                        a.connect(b.bind(transport));
                    p.talk(a, b);
                }
            }
}

TEST_CASE("zmtp::socket: a ROUTER routes replies to each of several DEALERs by routing id")
{
    io_thread iot;
    zmtp_end router(iot.io, socket_type::router);
    const std::string ep = router.bind("tcp");
    std::vector<std::unique_ptr<zmtp_end>> dealers;
    for (int i = 0; i < 3; ++i) {
        dealers.push_back(std::make_unique<zmtp_end>(iot.io, socket_type::dealer, "d" + std::to_string(i)));
        dealers.back()->connect(ep);
    }
    for (int i = 0; i < 3; ++i)
        REQUIRE(dealers[static_cast<std::size_t>(i)]->send({"hello"}));
    std::set<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        auto m = router.recv();
        REQUIRE(m);
        CHECK(m->at(1) == "hello");
        ids.insert(m->at(0));
    }
    CHECK(ids == std::set<std::string>{"d0", "d1", "d2"});
    for (int i = 2; i >= 0; --i)
        REQUIRE(router.send({"d" + std::to_string(i), "for-d" + std::to_string(i)}));
    for (int i = 0; i < 3; ++i)
        CHECK(dealers[static_cast<std::size_t>(i)]->recv() == frames{"for-d" + std::to_string(i)});
    // An unknown routing id is dropped (no router_mandatory).
    REQUIRE(router.send({"nobody", "lost"}));
    CHECK(router.stats().dropped == 1);
}

TEST_CASE("zmtp::socket: PUSH round-robins over PULLs; PUB fans out to SUBs")
{
    io_thread iot;
    zmtp_end push(iot.io, socket_type::push);
    zmtp_end pub(iot.io, socket_type::pub);
    const std::string push_ep = push.bind("ipc");
    const std::string pub_ep = pub.bind("tcp");
    std::vector<std::unique_ptr<zmtp_end>> pulls, subs;
    for (int i = 0; i < 3; ++i) {
        pulls.push_back(std::make_unique<zmtp_end>(iot.io, socket_type::pull));
        pulls.back()->connect(push_ep);
        subs.push_back(std::make_unique<zmtp_end>(iot.io, socket_type::sub));
        subs.back()->subscribe("t", true);
        subs.back()->connect(pub_ep);
    }
    REQUIRE(eventually([&] { return push.stats().peers == 3; }));
    for (int i = 0; i < 30; ++i)
        REQUIRE(push.send({std::to_string(i)}));
    for (auto& pull : pulls) {
        std::vector<int> got;
        for (int i = 0; i < 10; ++i) {
            auto m = pull->recv();
            REQUIRE(m);
            got.push_back(std::stoi(m->at(0)));
        }
        for (std::size_t i = 1; i < got.size(); ++i)
            CHECK(got[i] == got[i - 1] + 3);
    }
    for (auto& sub : subs)
        REQUIRE(sync_subscription(pub, *sub, "t-probe"));
    for (int i = 0; i < 5; ++i) {
        REQUIRE(pub.send({"u"}));
        REQUIRE(pub.send({"t" + std::to_string(i)}));
    }
    for (auto& sub : subs)
        for (int i = 0; i < 5; ++i)
            CHECK(next_real(*sub) == frames{"t" + std::to_string(i)});
}

TEST_CASE("zmtp::socket: a SUB resubscribes after its PUB comes back on the same endpoint")
{
    io_thread iot;
    zmtp_end sub(iot.io, socket_type::sub);
    sub.configure([](zmtp::socket_options& o) {
        o.reconnect_ivl = 20ms;
        o.reconnect_ivl_max = 100ms;
    });
    const std::string ep = ipc_endpoint();
    auto pub = std::make_unique<zmtp_end>(iot.io, socket_type::pub);
    on(pub->socket(), [&] { return pub->socket().bind(ep); });
    sub.subscribe("k", true);
    sub.connect(ep);
    REQUIRE(sync_subscription(*pub, sub, "k-probe"));
    pub.reset();
    REQUIRE(eventually([&] { return sub.stats().peers == 0; }));
    pub = std::make_unique<zmtp_end>(iot.io, socket_type::pub);
    on(pub->socket(), [&] { return pub->socket().bind(ep); });
    REQUIRE(sync_subscription(*pub, sub, "k-probe"));
    REQUIRE(pub->send({"z"}));
    REQUIRE(pub->send({"k-after"}));
    CHECK(next_real(sub) == frames{"k-after"});
}

TEST_CASE("zmtp::socket: async_receive in a coroutine; close() aborts a waiting receive")
{
    std::promise<frames> first;
    std::promise<error_code> second;
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    zmtp_end push(iot.io, socket_type::push);
    push.connect(pull.bind("tcp"));

    net::co_spawn(
        pull.socket().get_executor(),
        [&]() -> net::awaitable<void> {
            auto [ec, m] = co_await pull.socket().async_receive(net::as_tuple(net::use_awaitable));
            first.set_value(ec ? frames{"error: " + ec.message()} : to_frames(m));
            auto [ec2, m2] = co_await pull.socket().async_receive(net::as_tuple(net::use_awaitable));
            second.set_value(ec2);
        },
        net::detached);
    REQUIRE(push.send({"one", "two"}));
    auto f1 = first.get_future();
    REQUIRE(f1.wait_for(wait_limit) == std::future_status::ready);
    CHECK(f1.get() == frames{"one", "two"});
    on(pull.socket(), [&] { pull.socket().close(); });
    auto f2 = second.get_future();
    REQUIRE(f2.wait_for(wait_limit) == std::future_status::ready);
    CHECK(f2.get() == net::error::operation_aborted);
}

} // namespace
