// SPDX-License-Identifier: MPL-2.0
// The draft types zmtp to zmtp over tcp and ipc, either side binding: PEER
// and CHANNEL (which no external peer we test against has), connect_peer,
// RADIO/DISH join and leave through the socket API, and a refused pair.
#include "zmtp/socket.hpp"

#include "socket_ends.hpp"

#include <doctest/doctest.h>

namespace {

using namespace zmtp::socket_test;
using zmtp::message;
using zmtp::socket_type;

message to(std::uint32_t routing_id, const char* body)
{
    message m{body};
    m.set_routing_id(routing_id);
    return m;
}

} // namespace

TEST_CASE("zmtp::socket: PEER to PEER by connect_peer's routing id, and the reply back, tcp and ipc")
{
    for (const std::string transport : {"tcp", "ipc"}) {
        CAPTURE(transport);
        io_thread iot;
        zmtp_end a(iot.io, socket_type::peer);
        zmtp_end b(iot.io, socket_type::peer);
        const std::string ep = b.bind(transport);
        const std::uint32_t id = on(a.socket(), [&] { return a.socket().connect_peer(ep); });
        REQUIRE(id != 0);
        // Queued for the peer before its connection is up.
        REQUIRE_FALSE(a.try_send(to(id, "hello")));
        auto in = b.recv_message();
        REQUIRE(in);
        CHECK(in->front().view() == "hello");
        REQUIRE(in->routing_id() != 0);
        REQUIRE_FALSE(b.try_send(to(in->routing_id(), "back")));
        auto back = a.recv_message();
        REQUIRE(back);
        CHECK(back->front().view() == "back");
        CHECK(back->routing_id() == id);
        CHECK(a.try_send(message{"x", "y"}) == zmtp::error::multipart_not_supported);
        CHECK(a.try_send(to(id + 1, "nobody")) == zmtp::error::host_unreachable);
    }
}

TEST_CASE("zmtp::socket: CHANNEL to CHANNEL both ways, either side binding, tcp and ipc")
{
    for (const std::string transport : {"tcp", "ipc"})
        for (const bool first_binds : {true, false}) {
            CAPTURE(transport);
            CAPTURE(first_binds);
            io_thread iot;
            zmtp_end a(iot.io, socket_type::channel);
            zmtp_end b(iot.io, socket_type::channel);
            if (first_binds)
                b.connect(a.bind(transport));
            else
                a.connect(b.bind(transport));
            REQUIRE(a.send({"ping"}));
            CHECK(b.recv() == frames{"ping"});
            REQUIRE(b.send({"pong"}));
            CHECK(a.recv() == frames{"pong"});
        }
}

TEST_CASE("zmtp::socket: RADIO reaches a DISH in the groups it joined; connect_peer and join only where they apply")
{
    io_thread iot;
    zmtp_end radio(iot.io, socket_type::radio);
    zmtp_end dish(iot.io, socket_type::dish);
    REQUIRE_FALSE(on(dish.socket(), [&] { return dish.socket().join("g"); }));
    CHECK(on(dish.socket(), [&] { return dish.socket().join("g"); }) == zmtp::error::invalid_argument);
    dish.connect(radio.bind("tcp"));
    // The JOIN follows the handshake: send until the first one arrives.
    std::optional<message> got;
    for (int i = 0; i < 200 && !got; ++i) {
        message other{"other"};
        other.set_group("h");
        REQUIRE_FALSE(radio.try_send(other));
        message m{"tick"};
        m.set_group("g");
        REQUIRE_FALSE(radio.try_send(m));
        got = dish.recv_message(std::chrono::milliseconds(20));
    }
    REQUIRE(got);
    CHECK(got->group() == "g");
    CHECK(got->front().view() == "tick");
    CHECK(on(radio.socket(), [&] { return radio.socket().join("g"); }) ==
          zmtp::error::operation_not_supported);
    boost::system::error_code ec;
    on(radio.socket(), [&] { return radio.socket().connect_peer("tcp://127.0.0.1:1", ec); });
    CHECK(ec == zmtp::error::operation_not_supported);
}

TEST_CASE("zmtp::socket: a CLIENT and a DEALER are refused; a CLIENT and a SERVER talk")
{
    io_thread iot;
    zmtp_end server(iot.io, socket_type::server);
    const std::string ep = server.bind("tcp");
    monitor_log log(server);
    zmtp_end dealer(iot.io, socket_type::dealer);
    dealer.connect(ep);
    CHECK(log.failure());
    zmtp_end client(iot.io, socket_type::client);
    client.connect(ep);
    REQUIRE(client.send({"hi"}));
    auto in = server.recv_message();
    REQUIRE(in);
    REQUIRE_FALSE(server.try_send(to(in->routing_id(), "there")));
    CHECK(client.recv() == frames{"there"});
}
