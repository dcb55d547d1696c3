// SPDX-License-Identifier: MPL-2.0
// The pattern-level options against libzmq 4.3.4: conflate, req_relaxed
// and req_correlate (the request-id frame of docs/libzmq-wire.md fact 13),
// probe_router, router_handover and connect_routing_id, each with libzmq
// on the side where the option shows.
#include "socket_libzmq_end.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_type;
using zmtp::test::zmq_context;

std::uint32_t host_order(const std::string& s)
{
    REQUIRE(s.size() == 4);
    std::uint32_t id = 0;
    std::memcpy(&id, s.data(), sizeof id);
    return id;
}

std::string id_bytes(std::uint32_t id)
{
    std::string s(4, '\0');
    std::memcpy(s.data(), &id, sizeof id);
    return s;
}

bool disconnected(monitor_log& log)
{
    return eventually([&] {
        for (const auto& ev : log.events())
            if (ev.type == monitor_event_type::disconnected)
                return true;
        return false;
    });
}

} // namespace

TEST_CASE("conflate: a zmtp PULL keeps only the last of what a libzmq PUSH sent")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([](zmtp::socket_options& o) { o.conflate = true; });
    monitor_log log(pull);
    auto push = std::make_unique<zmq_end>(ctx, socket_type::push);
    push->set(ZMQ_LINGER, 5000);
    push->connect(pull.bind("tcp"));
    for (int i = 0; i < 10; ++i)
        REQUIRE(push->send({std::to_string(i)}));
    push.reset(); // linger: all ten leave before the connection ends
    REQUIRE(disconnected(log)); // so all ten were read
    CHECK(pull.recv() == frames{"9"});
    CHECK_FALSE(pull.recv(50ms));
}

TEST_CASE("conflate: a zmtp SUB keeps the last message a libzmq PUB published")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end sub(iot.io, socket_type::sub);
    sub.configure([](zmtp::socket_options& o) { o.conflate = true; });
    monitor_log log(sub);
    auto pub = std::make_unique<zmq_end>(ctx, socket_type::pub);
    pub->set(ZMQ_LINGER, 5000);
    sub.subscribe("t", true);
    sub.connect(pub->bind("tcp"));
    REQUIRE(sync_subscription(*pub, sub, "t-probe"));
    for (int i = 0; i < 10; ++i)
        REQUIRE(pub->send({"t" + std::to_string(i)}));
    pub.reset();
    REQUIRE(disconnected(log));
    CHECK(sub.recv() == frames{"t9"});
    CHECK_FALSE(sub.recv(50ms));
}

TEST_CASE("conflate: a zmtp PUSH whose libzmq PULL comes late delivers only the last message")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end push(iot.io, socket_type::push);
    push.configure([](zmtp::socket_options& o) {
        o.conflate = true;
        o.send_hwm = 1; // ignored with conflate
        o.reconnect_ivl_max = std::chrono::milliseconds(0);
    });
    const std::string ep = ipc_endpoint();
    push.connect(ep);
    for (int i = 0; i < 5; ++i)
        REQUIRE(push.try_send(frames{std::to_string(i)}) == error_code());
    CHECK(push.try_send(frames{"two", "frames"}) == zmtp::error::multipart_not_supported);
    zmq_end pull(ctx, socket_type::pull);
    pull.bind_exactly(ep);
    CHECK(pull.recv() == frames{"4"});
    CHECK_FALSE(pull.recv(100ms));
}

TEST_CASE("req_correlate: a libzmq REQ's request-id frame, read by a zmtp ROUTER; only the reply with it counts")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end router(iot.io, socket_type::router);
    zmq_end req(ctx, socket_type::req, "lz-req");
    req.set(ZMQ_REQ_CORRELATE, 1);
    req.connect(router.bind("tcp"));

    REQUIRE(req.send({"q1"}));
    auto in = router.recv();
    REQUIRE(in);
    REQUIRE(in->size() == 4);
    CHECK(in->at(0) == "lz-req");
    const std::uint32_t id = host_order(in->at(1));
    CHECK(in->at(2).empty());
    CHECK(in->at(3) == "q1");
    REQUIRE(router.send({"lz-req", id_bytes(id + 1), "", "wrong id"}));
    REQUIRE(router.send({"lz-req", id_bytes(id), "", "a1"}));
    CHECK(req.recv() == frames{"a1"});

    REQUIRE(req.send({"q2"}));
    in = router.recv();
    REQUIRE(in);
    CHECK(host_order(in->at(1)) == id + 1);
}

TEST_CASE("req_correlate: a zmtp REQ's request-id frame as a libzmq ROUTER sees it")
{
    zmq_context ctx;
    io_thread iot;
    zmq_end router(ctx, socket_type::router);
    zmtp_end req(iot.io, socket_type::req, "zr");
    req.configure([](zmtp::socket_options& o) { o.req_correlate = true; });
    req.connect(router.bind("tcp"));

    REQUIRE(req.send({"q1"}));
    auto in = router.recv();
    REQUIRE(in);
    REQUIRE(in->size() == 4);
    const std::uint32_t id = host_order(in->at(1));
    CHECK(in->at(2).empty());
    REQUIRE(router.send({"zr", id_bytes(id - 1), "", "stale"}));
    REQUIRE(router.send({"zr", "", "no id"}));
    REQUIRE(router.send({"zr", id_bytes(id), "", "a1"}));
    CHECK(req.recv() == frames{"a1"});
    CHECK_FALSE(req.recv(50ms));
}

TEST_CASE("req_relaxed + req_correlate: a zmtp REQ sends again before the reply; a libzmq REP's late reply is dropped")
{
    zmq_context ctx;
    io_thread iot;
    zmq_end rep(ctx, socket_type::rep);
    zmtp_end req(iot.io, socket_type::req);
    req.configure([](zmtp::socket_options& o) {
        o.req_relaxed = true;
        o.req_correlate = true;
    });
    req.connect(rep.bind("ipc"));
    REQUIRE(req.send({"q1"}));
    REQUIRE(req.send({"q2"}));
    for (const char* q : {"q1", "q2"}) {
        CHECK(rep.recv() == frames{q});
        REQUIRE(rep.send({std::string("re:") + q}));
    }
    CHECK(req.recv() == frames{"re:q2"});
    CHECK_FALSE(req.recv(50ms));
}

TEST_CASE("probe_router: zmtp and libzmq probe each other's ROUTER with an empty message")
{
    zmq_context ctx;
    io_thread iot;
    SUBCASE("a zmtp DEALER to a libzmq ROUTER")
    {
        zmq_end router(ctx, socket_type::router);
        zmtp_end dealer(iot.io, socket_type::dealer, "zd");
        dealer.configure([](zmtp::socket_options& o) { o.probe_router = true; });
        dealer.connect(router.bind("tcp"));
        CHECK(router.recv() == frames{"zd", ""});
    }
    SUBCASE("a libzmq DEALER to a zmtp ROUTER")
    {
        zmtp_end router(iot.io, socket_type::router);
        zmq_end dealer(ctx, socket_type::dealer, "ld");
        dealer.set(ZMQ_PROBE_ROUTER, 1);
        dealer.connect(router.bind("tcp"));
        CHECK(router.recv() == frames{"ld", ""});
    }
    SUBCASE("a zmtp ROUTER probes the libzmq DEALER it accepts")
    {
        zmtp_end router(iot.io, socket_type::router);
        router.configure([](zmtp::socket_options& o) { o.probe_router = true; });
        zmq_end dealer(ctx, socket_type::dealer);
        dealer.connect(router.bind("ipc"));
        CHECK(dealer.recv() == frames{""});
    }
}

TEST_CASE("router_handover: a second libzmq DEALER with the same Identity takes it over at a zmtp ROUTER")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end router(iot.io, socket_type::router);
    router.configure([](zmtp::socket_options& o) { o.router_handover = true; });
    const std::string ep = router.bind("tcp");
    zmq_end first(ctx, socket_type::dealer, "X");
    first.set(ZMQ_RECONNECT_IVL, -1); // taken over, it stays away
    first.connect(ep);
    REQUIRE(first.send({"from first"}));
    CHECK(router.recv() == frames{"X", "from first"});

    zmq_end second(ctx, socket_type::dealer, "X");
    second.connect(ep);
    REQUIRE(second.send({"from second"}));
    CHECK(router.recv() == frames{"X", "from second"});
    REQUIRE(router.send({"X", "to X"}));
    CHECK(second.recv() == frames{"to X"});
    CHECK_FALSE(first.recv(50ms));
}

TEST_CASE("connect_routing_id: a zmtp ROUTER names the libzmq ROUTER it connects to")
{
    zmq_context ctx;
    io_thread iot;
    zmq_end server(ctx, socket_type::router);
    zmtp_end router(iot.io, socket_type::router, "zr");
    router.configure([](zmtp::socket_options& o) {
        o.connect_routing_id = "server";
        o.router_mandatory = true;
    });
    router.connect(server.bind("tcp"));
    CHECK(on(router.socket(), [&] { return router.socket().options().connect_routing_id; }).empty());
    // Mandatory: unroutable until the connection is up.
    REQUIRE(eventually([&] { return router.try_send(frames{"server", "hello"}) == error_code(); }));
    CHECK(server.recv() == frames{"zr", "hello"});
    REQUIRE(server.send({"zr", "back"}));
    CHECK(router.recv() == frames{"server", "back"});

    zmtp_end dealer(iot.io, socket_type::dealer);
    dealer.configure([](zmtp::socket_options& o) { o.connect_routing_id = "x"; });
    const std::string other = server.bind("tcp");
    const auto ec = on(dealer.socket(), [&] {
        error_code e;
        dealer.socket().connect(other, e);
        return e;
    });
    CHECK(ec == zmtp::error::invalid_argument);
}
