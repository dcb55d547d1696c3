// SPDX-License-Identifier: MPL-2.0
// Codec: greeting and NULL handshake, version and type negotiation.
#include "zmtp/codec/codec.hpp"

#include "codec_pair.hpp"
#include "helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using zmtp::test::codec_pair;
using zmtp::test::hex;
using zmtp::test::options_for;
using zmtp::test::to_hex;

namespace {

constexpr socket_type all_types[] = {
    socket_type::pair, socket_type::pub,  socket_type::sub,    socket_type::req,
    socket_type::rep,  socket_type::dealer, socket_type::router, socket_type::pull,
    socket_type::push, socket_type::xpub, socket_type::xsub,
};

const std::string libzmq_null_greeting_hex =
    "ff00000000000000017f03014e554c4c" + std::string(96, '0');

// captures/null-req-rep.json: READY of the REQ (c2s) and of the REP (s2c).
const std::string req_ready_hex =
    "04260552454144590b536f636b65742d5479706500000003524551084964656e7469747900000000";
const std::string rep_ready_hex = "04190552454144590b536f636b65742d5479706500000003524550";

void check_handshake(socket_type ta, socket_type tb, std::size_t chunk)
{
    CAPTURE(to_string(ta));
    CAPTURE(to_string(tb));
    CAPTURE(chunk);
    codec_pair p(options_for(ta), options_for(tb), chunk);
    p.pump();
    REQUIRE(p.both_ready());
    CHECK(p.a.current_state() == codec::state::ready);
    REQUIRE(p.a_events.size() == 1);
    REQUIRE(p.b_events.size() == 1);
    const auto* ea = test::as<events::handshake_complete>(p.a_events[0]);
    const auto* eb = test::as<events::handshake_complete>(p.b_events[0]);
    REQUIRE(ea);
    REQUIRE(eb);
    CHECK(ea->peer.find("Socket-Type") == to_string(tb));
    CHECK(eb->peer.find("Socket-Type") == to_string(ta));
    // Identity only from REQ, DEALER and ROUTER, empty when unset (fact 5).
    CHECK(ea->peer.find("Identity").has_value() == announces_identity(tb));
    CHECK(eb->peer.find("Identity").has_value() == announces_identity(ta));
    if (announces_identity(tb))
        CHECK(ea->peer.find("Identity")->empty());
    CHECK(ea->peer.size() == (announces_identity(tb) ? 2u : 1u));
    CHECK(p.a.peer_metadata() == ea->peer);
    CHECK(p.a.peer_socket_type() == tb);
    CHECK(p.b.peer_socket_type() == ta);
    CHECK(p.a.peer_minor_version() == 1);
    REQUIRE(p.a.peer_greeting().has_value());
    CHECK(p.a.peer_greeting()->mechanism == "NULL");
    CHECK_FALSE(p.a.has_output());
    CHECK_FALSE(p.b.has_output());
}

} // namespace

TEST_CASE("the greeting is queued in libzmq's stages, or whole when old peers are refused")
{
    test::fake_clock clock;
    codec c(options_for(socket_type::dealer), clock.now());
    CHECK(c.current_state() == codec::state::greeting);
    // The signature only, until the peer's shows it is no ZMTP 1.0 peer.
    CHECK(to_hex(test::drain_output(c)) == libzmq_null_greeting_hex.substr(0, 20));
    const auto g = wire::encode_greeting(wire::greeting{});
    c.feed(std::span(g).first(10), clock.now());
    CHECK(to_hex(test::drain_output(c)) == "03");
    c.feed(std::span(g).subspan(10, 1), clock.now());
    CHECK(to_hex(test::drain_output(c)) == libzmq_null_greeting_hex.substr(22));

    auto o = options_for(socket_type::dealer);
    o.min_zmtp_version = zmtp_version::v3_0;
    codec whole(o, clock.now());
    CHECK(whole.pending_output_size() == 64);
    CHECK(to_hex(test::drain_output(whole)) == libzmq_null_greeting_hex);
}

TEST_CASE("handshake for every compatible pair, both directions")
{
    int pairs = 0;
    for (socket_type ta : all_types)
        for (socket_type tb : all_types)
            if (compatible(ta, tb)) {
                check_handshake(ta, tb, 0);
                ++pairs;
            }
    CHECK(pairs == 21);
}

TEST_CASE("handshake byte by byte and in odd chunks")
{
    for (std::size_t chunk : {1u, 2u, 7u, 10u, 11u, 63u, 65u})
        check_handshake(socket_type::req, socket_type::router, chunk);
    check_handshake(socket_type::pub, socket_type::sub, 1);
}

TEST_CASE("REQ and REP READY bytes equal libzmq's (captures/null-req-rep.json)")
{
    codec_pair p(options_for(socket_type::req), options_for(socket_type::rep));
    p.pump();
    REQUIRE(p.both_ready());
    CHECK(to_hex(p.a_to_b) == libzmq_null_greeting_hex + req_ready_hex);
    CHECK(to_hex(p.b_to_a) == libzmq_null_greeting_hex + rep_ready_hex);

    // The request that follows: empty delimiter with MORE, then 'Hello'.
    p.a_to_b.clear();
    REQUIRE_FALSE(p.a.send(message{"", "Hello"}));
    p.pump();
    CHECK(to_hex(p.a_to_b) == "0100" "000548656c6c6f");
    REQUIRE(p.b_events.size() == 2);
    const auto* m = test::as<message>(p.b_events[1]);
    REQUIRE(m);
    CHECK(*m == message{"", "Hello"});
}

TEST_CASE("Identity carries the routing id (docs/libzmq-wire.md fact 5)")
{
    codec_pair p(options_for(socket_type::dealer, "client-1"),
                 options_for(socket_type::router, "router-A"));
    p.pump();
    REQUIRE(p.both_ready());
    CHECK(p.b.peer_metadata().find("Identity") == "client-1");
    CHECK(p.a.peer_metadata().find("Identity") == "router-A");
    // READY of the DEALER: 04 31 05 READY ... 08 Identity 00000008 client-1
    const std::string dealer_ready = "0431" "055245414459" "0b536f636b65742d54797065"
                                     "00000006" + to_hex(test::as_span("DEALER")) +
                                     "084964656e74697479" "00000008" +
                                     to_hex(test::as_span("client-1"));
    CHECK(to_hex(std::span(p.a_to_b).subspan(64)) == dealer_ready);
}

TEST_CASE("a PUB ignores a routing id: it never announces Identity")
{
    codec_pair p(options_for(socket_type::pub, "ignored"), options_for(socket_type::sub));
    p.pump();
    REQUIRE(p.both_ready());
    CHECK_FALSE(p.b.peer_metadata().find("Identity").has_value());
}

TEST_CASE("extra properties are announced after Socket-Type")
{
    auto o = options_for(socket_type::pair);
    o.properties.add("X-App", "demo");
    codec_pair p(std::move(o), options_for(socket_type::pair));
    p.pump();
    REQUIRE(p.both_ready());
    CHECK(p.b.peer_metadata()[0].name == "Socket-Type");
    CHECK(p.b.peer_metadata().find("x-app") == "demo");
}

TEST_CASE("incompatible socket types fail and queue an ERROR")
{
    for (socket_type ta : all_types) {
        for (socket_type tb : all_types) {
            if (compatible(ta, tb))
                continue;
            CAPTURE(to_string(ta));
            CAPTURE(to_string(tb));
            codec_pair p(options_for(ta), options_for(tb));
            p.pump();
            CHECK(p.a.is_failed());
            CHECK(p.b.is_failed());
            CHECK(p.a.error() == error::incompatible_socket_type);
            CHECK(p.b.error() == error::incompatible_socket_type);
            CHECK(p.a.error() == condition::protocol_violation);
            CHECK(p.a_events.empty());
            CHECK(p.b_events.empty());
            // The ERROR command is left for the transport to flush.
            const auto out = test::drain_output(p.a);
            const auto h = wire::parse_frame_header(out);
            REQUIRE(h.state == wire::frame_header_result::status::complete);
            CHECK(h.value.command);
            REQUIRE(out.size() == h.value.header_size + h.value.size);
            wire::command_view cmd;
            REQUIRE_FALSE(wire::parse_command(std::span(out).subspan(h.value.header_size), cmd));
            CHECK(cmd.name == "ERROR");
        }
    }
}

TEST_CASE("mechanism mismatch")
{
    test::fake_clock clock;
    codec c(options_for(socket_type::dealer), clock.now());
    wire::greeting plain;
    plain.mechanism = "PLAIN";
    const auto g = wire::encode_greeting(plain);
    std::vector<event> events;
    test::feed_all(c, g, clock.now(), events);
    CHECK(c.is_failed());
    CHECK(c.error() == error::mechanism_mismatch);
    CHECK(c.error_reason().find("PLAIN") != std::string::npos);
    CHECK(events.empty());
}

TEST_CASE("a ZMTP 3.0 peer is accepted and recorded as minor 0")
{
    test::fake_clock clock;
    codec c(options_for(socket_type::sub), clock.now());
    std::vector<event> events;
    const auto peer = test::raw_peer_handshake(socket_type::pub, 0);
    CHECK(test::feed_all(c, peer, clock.now(), events) == peer.size());
    REQUIRE(c.is_ready());
    CHECK(c.peer_minor_version() == 0);
    REQUIRE(events.size() == 1);
    CHECK(test::as<events::handshake_complete>(events[0]));
}

TEST_CASE("an HTTP request is refused after its second byte: no ZMTP 1.0 identity frame")
{
    test::fake_clock clock;
    codec c(options_for(socket_type::rep), clock.now());
    const auto http = test::bytes_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(c.feed(std::span(http).first(1), clock.now()) == 1);
    CHECK_FALSE(c.is_failed());
    CHECK(c.feed(std::span(http).subspan(1, 1), clock.now()) == 1);
    CHECK(c.is_failed());
    CHECK(c.error() == error::not_zmtp);
    CHECK(c.error_reason().find("0x47") != std::string::npos);
    // Sticky: nothing more is consumed.
    CHECK(c.feed(std::span(http).subspan(2), clock.now()) == 0);
    // No ERROR: the peer does not frame ZMTP 3; only our signature is queued.
    CHECK(c.pending_output_size() == 10);
}

TEST_CASE("with min_zmtp_version 3.0 a ZMTP 2.0 greeting is refused at its revision octet")
{
    test::fake_clock clock;
    auto o = options_for(socket_type::dealer);
    o.min_zmtp_version = zmtp_version::v3_0;
    codec c(o, clock.now());
    // Signature, revision 01, socket type 05 (DEALER), identity frame.
    const auto v2 = hex("ff 00 00 00 00 00 00 00 01 7f 01 05 00 00");
    for (std::size_t i = 0; i < 10; ++i) {
        CHECK(c.feed(std::span(v2).subspan(i, 1), clock.now()) == 1);
        CHECK_FALSE(c.is_failed());
    }
    CHECK(c.feed(std::span(v2).subspan(10, 1), clock.now()) == 1);
    CHECK(c.is_failed());
    CHECK(c.error() == error::unsupported_version);
    CHECK(c.error_reason().find("2.0") != std::string::npos);
}

TEST_CASE("with min_zmtp_version 2.0 a ZMTP 1.0 peer is refused")
{
    test::fake_clock clock;
    auto o = options_for(socket_type::dealer);
    o.min_zmtp_version = zmtp_version::v2_0;
    codec c(o, clock.now());
    // ZMTP 1.0 identity frame: length 1, flags 0.
    const auto v1 = hex("01 00");
    c.feed(v1, clock.now());
    CHECK(c.error() == error::not_zmtp);
}

TEST_CASE("READY problems")
{
    test::fake_clock clock;
    const auto g = wire::encode_greeting(wire::greeting{});

    SUBCASE("no Socket-Type")
    {
        codec c(options_for(socket_type::pair), clock.now());
        std::vector<std::byte> in(g.begin(), g.end());
        metadata m;
        m.add("Identity", "x");
        wire::append_ready(in, m);
        std::vector<event> events;
        test::feed_all(c, in, clock.now(), events);
        CHECK(c.error() == error::missing_socket_type);
    }
    SUBCASE("unknown Socket-Type")
    {
        codec c(options_for(socket_type::pair), clock.now());
        std::vector<std::byte> in(g.begin(), g.end());
        metadata m;
        m.add("Socket-Type", "pair"); // wire names are upper case
        wire::append_ready(in, m);
        std::vector<event> events;
        test::feed_all(c, in, clock.now(), events);
        CHECK(c.error() == error::invalid_socket_type);
    }
    SUBCASE("a message frame before READY")
    {
        codec c(options_for(socket_type::pair), clock.now());
        auto in = std::vector<std::byte>(g.begin(), g.end());
        const auto data = test::data_frame("early");
        in.insert(in.end(), data.begin(), data.end());
        std::vector<event> events;
        test::feed_all(c, in, clock.now(), events);
        CHECK(c.error() == error::unexpected_message);
        CHECK(events.empty());
    }
    SUBCASE("ERROR instead of READY")
    {
        codec c(options_for(socket_type::pair), clock.now());
        auto in = std::vector<std::byte>(g.begin(), g.end());
        wire::append_error(in, "no thanks");
        std::vector<event> events;
        test::feed_all(c, in, clock.now(), events);
        CHECK(c.error() == error::peer_error);
        CHECK(c.error_reason().find("no thanks") != std::string::npos);
    }
}
