// SPDX-License-Identifier: MPL-2.0
// Hostile catalogue, connection lifecycle and greeting (items 1-25 that a
// codec can show, and 92; docs/reliability.md maps every item to its test): a
// codec fed by a raw peer, with a fake clock.
#include "alloc_hook.hpp"
#include "hostile_target.hpp"
#include "zmtp/security/plain_mechanism.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace zmtp;
using namespace std::chrono_literals;
using test::check_dropped;
using test::hex;
using test::hostile_target;

namespace {

std::vector<std::byte> greeting_bytes(const wire::greeting& g)
{
    const auto bytes = wire::encode_greeting(g);
    return {bytes.begin(), bytes.end()};
}

// A PUSH peer's READY after a greeting of the caller's.
std::vector<std::byte> with_ready(std::vector<std::byte> greeting)
{
    metadata m;
    m.add("Socket-Type", "PUSH");
    wire::append_ready(greeting, m);
    return greeting;
}

codec_options plain_server_options()
{
    auto o = test::options_for(socket_type::pull);
    o.mechanism = [] { return std::make_unique<security::plain_server_mechanism>(); };
    return o;
}

} // namespace

TEST_CASE("hostile 1: a silent connection is dropped at the handshake deadline")
{
    hostile_target t;
    REQUIRE(t.c.next_timeout() == t.clock.now() + 10s);
    t.clock.advance(10s - 1ms);
    t.c.handle_timeout(t.clock.now());
    CHECK_FALSE(t.c.is_failed());
    t.clock.advance(1ms);
    t.c.handle_timeout(t.clock.now());
    check_dropped(t, error::handshake_timeout);
    CHECK_FALSE(t.handshake_completed());
}

TEST_CASE("hostile 2: a greeting sent one octet per second does not extend the deadline")
{
    hostile_target t;
    const auto g = greeting_bytes({});
    for (std::size_t i = 0; i < 9; ++i) {
        t.feed(std::span(g).subspan(i, 1));
        t.clock.advance(1s);
        t.c.handle_timeout(t.clock.now());
        REQUIRE_FALSE(t.c.is_failed());
    }
    t.feed(std::span(g).subspan(9, 1));
    t.clock.advance(1s); // 10 s since the connection began
    t.c.handle_timeout(t.clock.now());
    check_dropped(t, error::handshake_timeout);
}

TEST_CASE("hostile 3: READY or a PLAIN HELLO sent one octet per second ends at the same deadline")
{
    SUBCASE("NULL READY")
    {
        hostile_target t;
        const auto in = with_ready(greeting_bytes({}));
        std::size_t sent = 0;
        for (; sent < in.size() - 1; ++sent) {
            t.feed(std::span(in).subspan(sent, 1));
            t.clock.advance(sent < wire::greeting_size ? 1ms : 1s);
            t.c.handle_timeout(t.clock.now());
            if (t.c.is_failed())
                break;
        }
        check_dropped(t, error::handshake_timeout);
        CHECK(sent < in.size() - 1);
    }
    SUBCASE("PLAIN HELLO: the authenticator is never asked")
    {
        hostile_target t(plain_server_options());
        wire::greeting plain;
        plain.mechanism = "PLAIN";
        auto in = greeting_bytes(plain);
        const auto hello = hex("05 61 64 6d 69 6e 06 73 65 63 72 65 74"); // "admin" "secret"
        wire::append_command(in, "HELLO", hello);
        t.feed(std::span(in).first(wire::greeting_size));
        for (std::size_t i = wire::greeting_size; i < in.size() - 1 && !t.c.is_failed(); ++i) {
            t.feed(std::span(in).subspan(i, 1));
            t.clock.advance(1s);
            t.c.handle_timeout(t.clock.now());
        }
        check_dropped(t, error::handshake_timeout);
        CHECK_FALSE(t.c.awaiting_authentication());
        CHECK(t.events.empty());
    }
}

TEST_CASE("hostile 6: a stream that ends mid-greeting is dropped and keeps nothing")
{
    hostile_target t;
    t.feed(hex("ff 00 00 00 00 00 00 00 00 7f"));
    REQUIRE_FALSE(t.c.is_failed());
    t.c.peer_closed();
    check_dropped(t, error::connection_closed);
    CHECK(t.c.error_reason().find("greeting") != std::string::npos);
    CHECK_FALSE(t.c.next_timeout()); // no timer left to hold it
}

TEST_CASE("hostile 12: a whole conversation in one read or one octet per read gives the same events")
{
    auto in = test::raw_peer_handshake(socket_type::push);
    for (const char* body : {"one", "two", "three"}) {
        const auto f = test::data_frame(body);
        in.insert(in.end(), f.begin(), f.end());
    }
    hostile_target whole;
    hostile_target by_octet;
    CHECK(whole.feed(in) == in.size());
    CHECK(by_octet.feed(in, 1) == in.size());
    REQUIRE(whole.events.size() == 4);
    REQUIRE(by_octet.events.size() == whole.events.size());
    CHECK(test::as<events::handshake_complete>(by_octet.events[0]));
    for (std::size_t i = 1; i < whole.events.size(); ++i)
        CHECK(*test::as<message>(by_octet.events[i]) == *test::as<message>(whole.events[i]));
    CHECK(test::drain_output(whole.c) == test::drain_output(by_octet.c));
}

TEST_CASE("hostile 13: an HTTP request or a TLS ClientHello never becomes a peer")
{
    for (const auto& in : {test::bytes_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                           hex("16 03 01 02 00 01 00 01 fc 03 03")}) {
        CAPTURE(test::to_hex(in));
        hostile_target t;
        t.feed(in);
        check_dropped(t, error::not_zmtp);
        CHECK_FALSE(t.handshake_completed());
        CHECK_FALSE(t.c.next_timeout());
    }
}

TEST_CASE("hostile 15: a ZMTP 1.0 identity then 'sneaky' is served only where 1.0 peers are allowed")
{
    const auto in = hex("01 00 08 00 73 6e 65 61 6b 79 00");
    SUBCASE("refused at its first octet with min_zmtp_version 3.0")
    {
        auto o = test::options_for(socket_type::pull);
        o.min_zmtp_version = zmtp_version::v3_0;
        hostile_target t(o);
        t.feed(in);
        check_dropped(t, error::not_zmtp);
    }
    SUBCASE("refused with PLAIN: a configured mechanism is never bypassed")
    {
        hostile_target t(plain_server_options());
        t.feed(in);
        check_dropped(t, error::not_zmtp);
        CHECK_FALSE(t.c.awaiting_authentication());
    }
    SUBCASE("served as a ZMTP 1.0 peer by default (docs/legacy-zmtp.md), as libzmq does")
    {
        hostile_target t;
        CHECK(t.feed(in) == in.size());
        CHECK(t.handshake_completed());
        CHECK(t.c.peer_zmtp_version() == zmtp_version::v1_0);
    }
}

TEST_CASE("hostile 16: signature octet 9 with LSB 0 (a 128 GiB 1.0 length) is refused, nothing allocated")
{
    hostile_target t;
    auto in = hex("ff 00 00 00 20 00 00 00 00 00 00");
    in.insert(in.end(), 64, std::byte{0x85});
    test::reset_alloc_stats();
    t.feed(in);
    CHECK(test::current_alloc_stats().largest < 4096);
    check_dropped(t, error::not_zmtp);
}

TEST_CASE("hostile 17 and 24: non-zero padding and filler are accepted")
{
    auto in = with_ready(greeting_bytes({}));
    const auto padding = hex("ff 01 02 03 04 05 06 07 08 7f");
    std::copy(padding.begin(), padding.end(), in.begin());
    std::fill(in.begin() + 33, in.begin() + wire::greeting_size, std::byte{0xa5});
    hostile_target t;
    CHECK(t.feed(in) == in.size());
    CHECK(t.c.is_ready());
}

TEST_CASE("hostile 18: major version 1 or 2 never bypasses PLAIN; revision 2 is refused always")
{
    for (const std::uint8_t major : {0, 1}) {
        CAPTURE(major);
        hostile_target t(plain_server_options());
        auto in = hex("ff 00 00 00 00 00 00 00 01 7f");
        in.push_back(std::byte{major});
        in.push_back(std::byte{0x07}); // PUSH in ZMTP 2.0
        in.insert(in.end(), {std::byte{0x01}, std::byte{0x00}});
        t.feed(in);
        check_dropped(t, error::unsupported_version);
        CHECK_FALSE(t.handshake_completed());
    }
    hostile_target t;
    t.feed(hex("ff 00 00 00 00 00 00 00 01 7f 02"));
    check_dropped(t, error::unsupported_version);
}

TEST_CASE("hostile 19: a ZMTP 3.0 peer is served with subscriptions as data frames")
{
    hostile_target t(test::options_for(socket_type::sub));
    const auto in = test::raw_peer_handshake(socket_type::pub, 0);
    CHECK(t.feed(in) == in.size());
    REQUIRE(t.c.is_ready());
    CHECK(t.c.peer_zmtp_version() == zmtp_version::v3_0);
    test::drain_output(t.c);
    REQUIRE_FALSE(t.c.send_subscribe(test::as_span("A")));
    CHECK(test::drain_output(t.c) == hex("00 02 01 41"));
}

TEST_CASE("hostile 20: ZMTP 3.2..3.255 and 4..255 are answered as 3.1")
{
    for (const auto& [major, minor] : {std::pair<int, int>{3, 2}, {3, 255}, {4, 0}, {255, 255}}) {
        const int captured_major = major; // a lambda in CAPTURE cannot name a binding (clang 14)
        const int captured_minor = minor;
        CAPTURE(captured_major);
        CAPTURE(captured_minor);
        wire::greeting g;
        g.major = static_cast<std::uint8_t>(major);
        g.minor = static_cast<std::uint8_t>(minor);
        const auto in = with_ready(greeting_bytes(g));
        hostile_target t;
        CHECK(t.feed(in) == in.size());
        CHECK(t.c.is_ready());
        CHECK(t.c.peer_zmtp_version() == zmtp_version::v3_1);
    }
}

TEST_CASE("hostile 21: another mechanism in the greeting is a mechanism mismatch")
{
    wire::greeting curve;
    curve.mechanism = "CURVE";
    hostile_target t(plain_server_options());
    t.feed(greeting_bytes(curve));
    check_dropped(t, error::mechanism_mismatch);
    CHECK_FALSE(t.c.awaiting_authentication());
}

TEST_CASE("hostile 23: as-server octets other than 0 and 1 are refused (0 and 1 are not checked: docs/libzmq-wire.md fact 2)")
{
    for (const std::uint8_t srv : {0x02, 0x80, 0xff}) {
        CAPTURE(srv);
        auto in = with_ready(greeting_bytes({}));
        in[32] = std::byte{srv}; // as-server
        hostile_target t;
        t.feed(in);
        check_dropped(t, error::malformed_greeting);
        CHECK(t.c.error_reason().find("as-server") != std::string::npos);
    }
}

TEST_CASE("hostile 25: a peer that sends 11 octets and waits gets our whole greeting")
{
    hostile_target t;
    t.feed(hex("ff 00 00 00 00 00 00 00 00 7f 03"));
    CHECK_FALSE(t.c.is_failed());
    const auto out = test::drain_output(t.c);
    REQUIRE(out.size() == wire::greeting_size);
    const auto ours = wire::parse_greeting(out);
    CHECK(ours.state == wire::greeting_result::status::complete);
}

TEST_CASE("hostile 92: an authenticator that never answers fails the handshake at its deadline; a late yes "
          "changes nothing")
{
    hostile_target t(plain_server_options());
    wire::greeting plain;
    plain.mechanism = "PLAIN";
    auto in = greeting_bytes(plain);
    wire::append_command(in, "HELLO", hex("05 61 64 6d 69 6e 06 73 65 63 72 65 74")); // "admin" "secret"
    REQUIRE(t.feed(in) == in.size());
    REQUIRE(t.c.awaiting_authentication());
    const auto deadline = t.c.options().handshake_timeout;

    t.clock.advance(deadline - 1ms);
    t.c.handle_timeout(t.clock.now());
    REQUIRE_FALSE(t.c.is_failed());
    t.clock.advance(1ms);
    t.c.handle_timeout(t.clock.now());
    check_dropped(t, error::handshake_timeout);

    t.c.resolve_authentication(security::auth_result::accept("admin"));
    CHECK(t.c.is_failed());
    CHECK_FALSE(t.handshake_completed());
    CHECK_FALSE(t.c.next_timeout());
}
