// SPDX-License-Identifier: MPL-2.0
// The draft socket types (RFC 41, 48, 49, 51, 52) in memory: socket cores
// joined back to back, as in test_socket_core.cpp.
#include "zmtp/pattern/socket_core.hpp"
#include "zmtp/wire/legacy.hpp"

#include "core_pair.hpp"
#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <string>

using zmtp::error;
using zmtp::message;
using zmtp::socket_type;
using zmtp::test::core_end;
using zmtp::test::core_net;

namespace {

message grouped(std::string group, const char* body)
{
    message m{body};
    m.set_group(std::move(group));
    return m;
}

constexpr socket_type draft_types[] = {socket_type::server, socket_type::client, socket_type::radio,
                                       socket_type::dish,   socket_type::gather, socket_type::scatter,
                                       socket_type::peer,   socket_type::channel};

} // namespace

TEST_CASE("draft types: names, partners, and no ZMTP 2.0 form")
{
    using enum socket_type;
    const std::pair<socket_type, socket_type> partners[] = {
        {client, server}, {radio, dish}, {scatter, gather}, {peer, peer}, {channel, channel}};
    for (socket_type t : draft_types) {
        CAPTURE(zmtp::to_string(t));
        CHECK(zmtp::is_draft(t));
        CHECK(zmtp::socket_type_from_wire(zmtp::to_string(t)) == t);
        CHECK_FALSE(zmtp::wire::v2_socket_type_octet(t));
        CHECK_FALSE(zmtp::announces_identity(t));
        for (int o = 0; o <= static_cast<int>(channel); ++o) {
            const auto other = static_cast<socket_type>(o);
            bool expected = false;
            for (auto [a, b] : partners)
                expected |= (t == a && other == b) || (t == b && other == a);
            CAPTURE(zmtp::to_string(other));
            CHECK(zmtp::compatible(t, other) == expected);
            CHECK(zmtp::compatible(other, t) == expected);
        }
    }
    CHECK(zmtp::socket_type_from_name("scatter") == scatter);
    CHECK_FALSE(zmtp::is_draft(xsub));
}

TEST_CASE("draft types: sending several frames (or none) is an error, nothing is queued")
{
    for (socket_type t : {socket_type::client, socket_type::server, socket_type::radio,
                          socket_type::scatter, socket_type::peer, socket_type::channel}) {
        CAPTURE(zmtp::to_string(t));
        zmtp::pattern::socket_core core(t);
        message two{"a", "b"};
        CHECK(core.try_send(two) == error::multipart_not_supported);
        CHECK(two.size() == 2);
        message none;
        CHECK(core.try_send(none) == error::invalid_argument);
    }
}

TEST_CASE("core: SCATTER deals messages round-robin to its GATHERs, which fair-queue them")
{
    core_net net;
    auto& scatter = net.make(socket_type::scatter, "scatter");
    auto& g1 = net.make(socket_type::gather, "g1");
    auto& g2 = net.make(socket_type::gather, "g2");
    net.connect(scatter, g1);
    net.connect(scatter, g2);
    for (const char* s : {"1", "2", "3", "4"}) {
        message m{s};
        REQUIRE_FALSE(scatter.core.try_send(m));
    }
    net.settle();
    CHECK(g1.take() == message{"1"});
    CHECK(g1.take() == message{"3"});
    CHECK(g2.take() == message{"2"});
    CHECK(g2.take() == message{"4"});
    CHECK(g1.take() == std::nullopt);
    message m{"x"};
    CHECK(g1.core.try_send(m) == error::operation_not_supported);
    CHECK(scatter.core.try_receive(m) == error::operation_not_supported);
}

TEST_CASE("core: CLIENT and SERVER: each message in names its client; the reply goes back by that id")
{
    core_net net;
    auto& server = net.make(socket_type::server, "server");
    auto& c1 = net.make(socket_type::client, "c1");
    auto& c2 = net.make(socket_type::client, "c2");
    net.connect(c1, server);
    net.connect(c2, server);
    message a{"from c1"};
    REQUIRE_FALSE(c1.core.try_send(a));
    message b{"from c2"};
    REQUIRE_FALSE(c2.core.try_send(b));
    net.settle();
    auto first = server.take();
    auto second = server.take();
    REQUIRE(first);
    REQUIRE(second);
    CHECK(*first == message{"from c1"});
    CHECK(*second == message{"from c2"});
    CHECK(first->routing_id() != 0);
    CHECK(second->routing_id() != 0);
    CHECK(first->routing_id() != second->routing_id());

    message reply{"to c2"};
    reply.set_routing_id(second->routing_id());
    REQUIRE_FALSE(server.core.try_send(reply));
    net.settle();
    CHECK(c2.take() == message{"to c2"});
    CHECK(c1.take() == std::nullopt);

    message nowhere{"lost"};
    nowhere.set_routing_id(first->routing_id() + second->routing_id());
    CHECK(server.core.try_send(nowhere) == error::host_unreachable);
    message unset{"lost"};
    CHECK(server.core.try_send(unset) == error::host_unreachable);
}

TEST_CASE("core: a peer's multipart message to a draft socket is dropped; the next one passes")
{
    // The codec refuses a DEALER peer for a SERVER; the core alone lets a
    // peer send what it likes.
    core_net net;
    auto& server = net.make(socket_type::server, "server");
    auto& dealer = net.make(socket_type::dealer, "dealer");
    net.connect(dealer, server);
    message two{"a", "b"};
    REQUIRE_FALSE(dealer.core.try_send(two));
    message one{"c"};
    REQUIRE_FALSE(dealer.core.try_send(one));
    net.settle();
    CHECK(server.take() == message{"c"});
    CHECK(server.take() == std::nullopt);
    CHECK(server.core.dropped() == 1);
}

TEST_CASE("core: RADIO sends a group only to the DISHes that joined it, sent before and after connecting")
{
    core_net net;
    auto& radio = net.make(socket_type::radio, "radio");
    auto& d1 = net.make(socket_type::dish, "d1");
    auto& d2 = net.make(socket_type::dish, "d2");
    REQUIRE_FALSE(d1.core.subscribe(zmtp::test::topic("weather"), true));
    net.connect(d1, radio);
    net.connect(d2, radio);
    REQUIRE_FALSE(d2.core.subscribe(zmtp::test::topic("news"), true));
    net.settle();
    for (const char* g : {"weather", "news", "weathe", "sport"}) {
        message m = grouped(g, g);
        REQUIRE_FALSE(radio.core.try_send(m));
    }
    net.settle();
    auto w = d1.take();
    REQUIRE(w);
    CHECK(*w == message{"weather"});
    CHECK(w->group() == "weather");
    CHECK(d1.take() == std::nullopt);
    auto n = d2.take();
    REQUIRE(n);
    CHECK(n->group() == "news");
    CHECK(d2.take() == std::nullopt);

    REQUIRE_FALSE(d1.core.subscribe(zmtp::test::topic("weather"), false));
    net.settle();
    message m = grouped("weather", "again");
    REQUIRE_FALSE(radio.core.try_send(m));
    net.settle();
    CHECK(d1.take() == std::nullopt);
}

TEST_CASE("core: DISH join and leave errors, and RADIO's group limit")
{
    zmtp::pattern::socket_core dish(socket_type::dish);
    CHECK_FALSE(dish.subscribe(zmtp::test::topic("g"), true));
    CHECK(dish.subscribe(zmtp::test::topic("g"), true) == error::invalid_argument);
    CHECK_FALSE(dish.subscribe(zmtp::test::topic("g"), false));
    CHECK(dish.subscribe(zmtp::test::topic("g"), false) == error::invalid_argument);
    const std::string longest(message::max_group_size, 'x');
    CHECK_FALSE(dish.subscribe(zmtp::test::topic(longest), true));
    CHECK(dish.subscribe(zmtp::test::topic(longest + "x"), true) == error::invalid_argument);
    message m;
    CHECK(dish.try_send(m) == error::operation_not_supported);

    zmtp::pattern::socket_core radio(socket_type::radio);
    message too_long = grouped(longest + "x", "body");
    CHECK(radio.try_send(too_long) == error::invalid_argument);
    message fine = grouped(longest, "body");
    CHECK_FALSE(radio.try_send(fine));
    CHECK(radio.try_receive(m) == error::operation_not_supported);
}

TEST_CASE("core: PEER to PEER both ways by routing id; CHANNEL to CHANNEL")
{
    core_net net;
    auto& a = net.make(socket_type::peer, "a");
    auto& b = net.make(socket_type::peer, "b");
    // a's routing id of b is known before the connection is up.
    const auto p = a.core.add_connect("tcp://b");
    const std::uint32_t id = a.core.numeric_routing_id(p);
    REQUIRE(id != 0);
    message hello{"hello"};
    hello.set_routing_id(id);
    REQUIRE_FALSE(a.core.try_send(hello));
    net.join(a, p, b);
    net.settle();
    auto in = b.take();
    REQUIRE(in);
    CHECK(*in == message{"hello"});
    message back{"back"};
    back.set_routing_id(in->routing_id());
    REQUIRE_FALSE(b.core.try_send(back));
    net.settle();
    auto out = a.take();
    REQUIRE(out);
    CHECK(out->routing_id() == id);

    auto& c1 = net.make(socket_type::channel, "c1");
    auto& c2 = net.make(socket_type::channel, "c2");
    net.connect(c1, c2);
    message x{"x"};
    REQUIRE_FALSE(c1.core.try_send(x));
    net.settle();
    CHECK(c2.take() == message{"x"});
}
