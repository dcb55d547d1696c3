// SPDX-License-Identifier: MPL-2.0
// ZMTP 1.0 / 2.0 peers at the codec: framing helpers, version reporting and
// refusals with reasons. The byte-level transcripts are spec-vectors/legacy.json.
#include "zmtp/wire/legacy.hpp"

#include "codec_pair.hpp"
#include "helpers.hpp"
#include "zmtp/codec/codec.hpp"
#include "zmtp/error.hpp"
#include "zmtp/security/plain_mechanism.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using zmtp::test::hex;
using zmtp::test::options_for;

TEST_CASE("1.0 and 2.0 frame headers round-trip at every size boundary")
{
    for (const std::uint64_t size : {0ull, 1ull, 253ull, 254ull, 255ull, 256ull, 70000ull}) {
        for (const bool more : {false, true}) {
            std::byte out[wire::max_v1_frame_header_size];
            const auto n1 = wire::encode_v1_frame_header(out, more, size);
            CHECK(n1 == (size < 254 ? 2u : 10u));
            const auto r1 = wire::parse_v1_frame_header({out, n1});
            REQUIRE(r1.state == wire::frame_header_result::status::complete);
            CHECK(r1.value == wire::frame_header{more, false, size, n1});
            CHECK(wire::parse_v1_frame_header({out, n1 - 1}).state ==
                  wire::frame_header_result::status::incomplete);

            const auto n2 = wire::encode_v2_frame_header(out, more, size);
            CHECK(n2 == (size <= 255 ? 2u : 9u));
            const auto r2 = wire::parse_v2_frame_header({out, n2});
            REQUIRE(r2.state == wire::frame_header_result::status::complete);
            CHECK(r2.value == wire::frame_header{more, false, size, n2});
        }
    }
    // No command bit in 2.0, no flags but MORE in 1.0, no room for flags.
    CHECK(wire::parse_v2_frame_header(hex("04 05")).state == wire::frame_header_result::status::invalid);
    CHECK(wire::parse_v1_frame_header(hex("02 02")).state == wire::frame_header_result::status::invalid);
    CHECK(wire::parse_v1_frame_header(hex("00")).state == wire::frame_header_result::status::invalid);
    CHECK(wire::parse_v1_frame_header(hex("ff 00 00 00 00 00 00 00 00")).state ==
          wire::frame_header_result::status::invalid);
}

TEST_CASE("the first octets tell 1.0 peers from versioned ones")
{
    using wire::signature_kind;
    CHECK(wire::classify_signature({}) == signature_kind::incomplete);
    CHECK(wire::classify_signature(hex("01")) == signature_kind::unversioned);
    CHECK(wire::classify_signature(hex("ff 00 00")) == signature_kind::incomplete);
    CHECK(wire::classify_signature(hex("ff 00 00 00 00 00 00 00 01 7e")) == signature_kind::unversioned);
    CHECK(wire::classify_signature(hex("ff 00 00 00 00 00 00 00 01 7f")) == signature_kind::versioned);
}

TEST_CASE("socket-type octets are libzmq's constants")
{
    CHECK(wire::v2_socket_type_octet(socket_type::pair) == 0);
    CHECK(wire::v2_socket_type_octet(socket_type::push) == 8);
    CHECK(wire::socket_type_from_v2(6) == socket_type::router);
    CHECK(wire::socket_type_from_v2(10) == socket_type::xsub);
    CHECK_FALSE(wire::socket_type_from_v2(11));
}

TEST_CASE("two zmtp codecs stage their greetings and still meet as 3.1")
{
    test::codec_pair p(options_for(socket_type::dealer), options_for(socket_type::router), 1);
    p.pump();
    REQUIRE(p.both_ready());
    CHECK(p.a.peer_zmtp_version() == zmtp_version::v3_1);
    CHECK(p.b.peer_zmtp_version() == zmtp_version::v3_1);
}

TEST_CASE("an old peer is refused with a reason that says why")
{
    test::fake_clock clock;
    const auto v2_greeting = hex("ff 00 00 00 00 00 00 00 01 7f 01 05 00 00");
    SUBCASE("PLAIN")
    {
        auto o = options_for(socket_type::dealer);
        o.mechanism = [] { return std::make_unique<security::plain_client_mechanism>("u", "p", 16); };
        codec c(o, clock.now());
        c.feed(v2_greeting, clock.now());
        CHECK(c.error() == error::unsupported_version);
        CHECK(c.error_reason() == "peer speaks ZMTP 2.0; refused: the PLAIN mechanism needs ZMTP 3");
    }
    SUBCASE("a checked client certificate")
    {
        auto o = options_for(socket_type::dealer);
        o.transport_authenticated = true;
        codec c(o, clock.now());
        c.feed(hex("01 00"), clock.now());
        CHECK(c.error() == error::not_zmtp);
        CHECK(c.error_reason().find("ZMTP 1.0 peers are refused: its certificate was checked") !=
              std::string::npos);
    }
    SUBCASE("a draft type")
    {
        codec c(options_for(socket_type::server), clock.now());
        c.feed(v2_greeting, clock.now());
        CHECK(c.error() == error::unsupported_version);
        CHECK(c.error_reason() == "peer speaks ZMTP 2.0; refused: SERVER has no ZMTP 2.0 form");
    }
    SUBCASE("min_zmtp_version")
    {
        auto o = options_for(socket_type::dealer);
        o.min_zmtp_version = zmtp_version::v3_0;
        codec c(o, clock.now());
        c.feed(v2_greeting, clock.now());
        CHECK(c.error_reason() == "peer speaks ZMTP 2.0; refused: min_zmtp_version is 3.0");
    }
}
