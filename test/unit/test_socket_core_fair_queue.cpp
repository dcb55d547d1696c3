// SPDX-License-Identifier: MPL-2.0
// Fair-queueing in the sans-I/O core, cores back to back in memory: the
// readable order the core keeps (peer_queues::first_readable()) across
// many peers, peers that close or are removed while listed, reconnects
// and conflation.
#include "zmtp/pattern/socket_core.hpp"

#include "core_pair.hpp"
#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using zmtp::frame;
using zmtp::message;
using zmtp::socket_type;
using zmtp::pattern::peer_state;
using zmtp::test::core_end;
using zmtp::test::core_net;
using zmtp::test::wire_link;

namespace {

// `n` PUSH sockets, each connected to `pull`.
std::vector<core_end*> pushers(core_net& net, core_end& pull, int n)
{
    std::vector<core_end*> out;
    for (int i = 0; i < n; ++i) {
        core_end& push = net.make(socket_type::push, "push" + std::to_string(i));
        net.connect(push, pull);
        out.push_back(&push);
    }
    return out;
}

// `from` sends each of `bodies`; they arrive before anything sent later.
void send_all(core_net& net, core_end& from, std::vector<std::string> bodies)
{
    for (const std::string& b : bodies) {
        message m{frame(b)};
        REQUIRE_FALSE(from.core.try_send(m));
    }
    net.settle();
}

// Everything `e` can take now, in order.
std::vector<std::string> take_all(core_end& e)
{
    std::vector<std::string> out;
    while (auto m = e.take())
        out.push_back(m->front().str());
    return out;
}

using bodies = std::vector<std::string>;

} // namespace

TEST_CASE("fair queue: a PULL with 200 peers, 3 of them sending, gets every message, one per peer per turn")
{
    core_net net;
    auto& pull = net.make(socket_type::pull, "pull");
    const auto push = pushers(net, pull, 200);
    CHECK(pull.core.peer_count() == 200);

    const auto waiting = pull.receive();
    send_all(net, *push[150], {"x1", "x2"});
    REQUIRE(pull.receives_done.count(waiting) == 1);
    CHECK(pull.receives_done[waiting].second == message{"x1"});
    send_all(net, *push[20], {"y1", "y2", "y3"});
    send_all(net, *push[199], {"z1"});
    send_all(net, *push[150], {"x3"});

    // x is listed first (x1 went to the waiting receive), then y, then z.
    CHECK(take_all(pull) == bodies{"x2", "y1", "z1", "x3", "y2", "y3"});
    send_all(net, *push[0], {"w1"});
    CHECK(take_all(pull) == bodies{"w1"});
}

TEST_CASE("fair queue: a peer whose connection closes while listed is still read in turn, then released")
{
    core_net net;
    auto& pull = net.make(socket_type::pull, "pull");
    auto& a = net.make(socket_type::push, "a");
    auto& b = net.make(socket_type::push, "b");
    auto& la = net.connect(a, pull);
    net.connect(b, pull);
    const auto pa = la.id[1];

    send_all(net, a, {"a1", "a2"});
    send_all(net, b, {"b1", "b2"});
    net.cut(la);
    CHECK(*pull.core.state(pa) == peer_state::draining);
    CHECK(take_all(pull) == bodies{"a1", "b1", "a2", "b2"});
    net.settle();
    CHECK(pull.core.state(pa) == nullptr);
    CHECK(pull.released == std::vector<zmtp::pattern::peer_id>{pa});
    send_all(net, b, {"b3"});
    CHECK(take_all(pull) == bodies{"b3"});
}

TEST_CASE("fair queue: a listed peer removed (disconnect) takes its messages along; the others are served")
{
    core_net net;
    auto& pull = net.make(socket_type::pull, "pull");
    std::vector<core_end*> push;
    std::vector<zmtp::pattern::peer_id> ids;
    for (const char* name : {"a", "b", "c"}) {
        push.push_back(&net.make(socket_type::push, name));
        ids.push_back(pull.core.add_connect(std::string("tcp://") + name));
        net.join(pull, ids.back(), *push.back());
    }
    send_all(net, *push[0], {"a1", "a2"});
    send_all(net, *push[1], {"b1", "b2"});
    send_all(net, *push[2], {"c1"});
    pull.core.remove(ids[1]);
    net.settle();
    CHECK(take_all(pull) == bodies{"a1", "c1", "a2"});
    pull.core.remove(ids[0]);
    pull.core.remove(ids[2]);
    net.settle();
    CHECK(take_all(pull).empty());
}

TEST_CASE("fair queue: a reconnecting peer's unread messages wait for its handshake; the others go on")
{
    core_net net;
    auto& pull = net.make(socket_type::pull, "pull");
    auto& a = net.make(socket_type::push, "a");
    auto& b = net.make(socket_type::push, "b");
    const auto pa = pull.core.add_connect("tcp://a");
    auto& first = net.join(pull, pa, a);
    net.connect(b, pull);

    send_all(net, a, {"old1", "old2"});
    net.cut(first);
    wire_link& second = net.open(pull, pa, a); // listed, but not served until it is ready
    send_all(net, b, {"b1"});
    CHECK(take_all(pull) == bodies{"b1"});
    net.handshake(second);
    send_all(net, b, {"b2"});
    CHECK(take_all(pull) == bodies{"old1", "b2", "old2"});
}

TEST_CASE("fair queue: conflation replaces a listed peer's message and the peer keeps its turn")
{
    core_net net;
    auto& pull = net.make(socket_type::pull, "pull");
    pull.core.options().conflate = true;
    auto& a = net.make(socket_type::push, "a");
    auto& b = net.make(socket_type::push, "b");
    net.connect(a, pull);
    net.connect(b, pull);

    send_all(net, a, {"a1"});
    send_all(net, b, {"b1"});
    send_all(net, a, {"a2", "a3"});
    CHECK(take_all(pull) == bodies{"a3", "b1"});
    send_all(net, b, {"b2"});
    send_all(net, a, {"a4"});
    CHECK(take_all(pull) == bodies{"b2", "a4"});
}

TEST_CASE("fair queue: a ROUTER with many DEALERs serves those with messages in turn, each under its id")
{
    core_net net;
    auto& router = net.make(socket_type::router, "router");
    std::vector<core_end*> dealers;
    for (int i = 0; i < 100; ++i) {
        auto& d = net.make(socket_type::dealer, "d" + std::to_string(i));
        d.core.options().routing_id = "id" + std::to_string(i);
        net.connect(d, router);
        dealers.push_back(&d);
    }
    send_all(net, *dealers[70], {"p", "q"});
    send_all(net, *dealers[3], {"r"});
    std::vector<std::string> got;
    while (auto m = router.take()) {
        REQUIRE(m->size() == 2);
        got.push_back((*m)[0].str() + ":" + (*m)[1].str());
    }
    CHECK(got == bodies{"id70:p", "id3:r", "id70:q"});
}
