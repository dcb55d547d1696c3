// SPDX-License-Identifier: MPL-2.0
// zmtp::socket against peers that connect and never speak: a bound
// endpoint keeps serving good peers (docs/reliability.md invariant 8 and the
// handshakes-in-progress limit, src/asio/handshake_slots.hpp).
#include "../../src/asio/handshake_slots.hpp"
#include "helpers.hpp"
#include "zmtp/socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using zmtp::asio_test::run_until;

namespace {

// A PULL bound with `limit` handshakes in progress, `silent` raw TCP
// connections that never send a byte, then a PUSH that sends one message.
// Returns the handshake failures seen by the time the message arrived
// (nullopt: it did not arrive). The handshake deadline is far away: no
// place comes back by a timeout here.
std::optional<std::vector<std::string>> failures_until_delivery(std::size_t limit, int silent)
{
    net::io_context io;
    zmtp::socket pull(io, zmtp::socket_type::pull);
    pull.options().max_handshakes_per_listener = limit;
    pull.options().handshake_timeout = 60s;
    std::vector<std::string> failures;
    pull.set_monitor([&](const zmtp::monitor_event& e) {
        if (e.type == zmtp::asio::monitor_event_type::handshake_failed)
            failures.push_back(e.reason);
    });
    const std::string bound = pull.bind("tcp://127.0.0.1:0");

    std::vector<tcp::socket> mute;
    for (int i = 0; i < silent; ++i) {
        mute.emplace_back(io);
        mute.back().connect(zmtp::asio_test::loopback_endpoint(bound));
    }
    run_until(io, [] { return false; }, 50ms); // let the listener accept them

    zmtp::socket push(io, zmtp::socket_type::push);
    push.connect(bound);
    zmtp::message m;
    m.push_back(zmtp::frame("through"));
    REQUIRE_FALSE(push.try_send(m));

    std::optional<zmtp::message> got;
    pull.async_receive([&](zmtp::asio::error_code ec, zmtp::message in) {
        if (!ec)
            got = std::move(in);
    });
    if (!run_until(io, [&] { return got.has_value(); }, 20'000ms))
        return std::nullopt;
    CHECK(got->front().str() == "through");
    return failures;
}

} // namespace

TEST_CASE("silent connections do not delay a good peer while under the handshake limit")
{
    const auto failures = failures_until_delivery(256, 2);
    REQUIRE(failures.has_value());
    CHECK(failures->empty()); // delivered while both silent ones still wait
}

TEST_CASE("beyond its address's share, a newcomer is served and that address's oldest silent connection is cut short")
{
    // 8 places, 2 per address: all of these come from 127.0.0.1.
    const auto failures = failures_until_delivery(8, 2);
    REQUIRE(failures.has_value());
    REQUIRE(failures->size() == 1);
    CHECK(failures->front().starts_with("handshake cut short for a newer connection: at most 8 handshakes"));
}

TEST_CASE("handshake slots: the oldest handshake of the busiest address gives way, never a quieter one")
{
    using zmtp::asio::detail::handshake_slots;
    handshake_slots slots(4, 2);
    CHECK_FALSE(slots.admit(1, "good"));
    CHECK_FALSE(slots.admit(2, "flood"));
    CHECK_FALSE(slots.admit(3, "flood"));
    CHECK(slots.admit(4, "flood") == 2u); // over its share: its own oldest goes
    CHECK_FALSE(slots.admit(5, "other"));
    CHECK(slots.size() == 4);
    CHECK(slots.admit(6, "third") == 3u); // full: the busiest address ("flood") gives way
    CHECK(slots.holds(1));                // the good peer, older than all of them, stays
    slots.release(1);
    slots.release(1); // twice, or unknown: nothing happens
    CHECK(slots.size() == 3);
    slots.rename(6, 60);
    CHECK(slots.holds(60));
    CHECK_FALSE(slots.holds(6));
}
