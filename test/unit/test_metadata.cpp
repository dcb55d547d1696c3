// SPDX-License-Identifier: MPL-2.0
#include "zmtp/wire/metadata.hpp"

#include "helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using zmtp::test::hex;
using zmtp::test::to_hex;

TEST_CASE("find is case-insensitive and returns the first match")
{
    metadata m;
    m.add("Socket-Type", "DEALER");
    m.add("Identity", "client-1");
    m.add("identity", "second");
    CHECK(m.find("Socket-Type") == "DEALER");
    CHECK(m.find("socket-type") == "DEALER");
    CHECK(m.find("SOCKET-TYPE") == "DEALER");
    CHECK(m.find("IDENTITY") == "client-1");
    CHECK_FALSE(m.find("Socket").has_value());
    CHECK_FALSE(m.find("Socket-Type-").has_value());
    CHECK_FALSE(m.find("").has_value());
    CHECK(m.size() == 3);
}

TEST_CASE("encoding matches libzmq's READY properties (docs/libzmq-wire.md fact 5)")
{
    metadata m;
    m.add("Socket-Type", "REQ");
    m.add("Identity", "");
    std::vector<std::byte> out;
    wire::encode_metadata(m, out);
    CHECK(to_hex(out) == "0b536f636b65742d5479706500000003524551084964656e7469747900000000");
    CHECK(wire::encoded_metadata_size(m) == out.size());

    metadata parsed;
    REQUIRE_FALSE(wire::parse_metadata(out, 256, parsed));
    CHECK(parsed == m);
}

TEST_CASE("empty property list")
{
    metadata parsed;
    CHECK_FALSE(wire::parse_metadata({}, 256, parsed));
    CHECK(parsed.empty());
}

TEST_CASE("every length is checked against the bytes that remain")
{
    const auto good = hex("0b536f636b65742d5479706500000003524551");
    metadata m;
    REQUIRE_FALSE(wire::parse_metadata(good, 256, m));
    // Every truncation is refused, never read past.
    for (std::size_t n = 1; n < good.size(); ++n) {
        CAPTURE(n);
        metadata partial;
        CHECK(wire::parse_metadata(std::span(good).first(n), 256, partial) ==
              error::malformed_metadata);
    }
    metadata bad;
    // Value shorter than declared (zmq.rs, go zmq4 panicked on this).
    CHECK(wire::parse_metadata(hex("01 41 00 00 00 05 61 62"), 256, bad) ==
          error::malformed_metadata);
    // Value size near 2^32.
    CHECK(wire::parse_metadata(hex("01 41 ff ff ff ff 61"), 256, bad) ==
          error::malformed_metadata);
    // Name longer than what remains.
    CHECK(wire::parse_metadata(hex("ff 41 41"), 256, bad) == error::malformed_metadata);
    // Empty name.
    CHECK(wire::parse_metadata(hex("00 00 00 00 00"), 256, bad) == error::malformed_metadata);
}

TEST_CASE("property names must be valid")
{
    CHECK(wire::valid_property_name("Socket-Type"));
    CHECK(wire::valid_property_name("X-my_prop.1+"));
    CHECK(wire::valid_property_name(std::string(255, 'a')));
    CHECK_FALSE(wire::valid_property_name(std::string(256, 'a')));
    CHECK_FALSE(wire::valid_property_name(""));
    CHECK_FALSE(wire::valid_property_name("with space"));
    CHECK_FALSE(wire::valid_property_name("colon:"));
    CHECK_FALSE(wire::valid_property_name(std::string_view("a\0b", 3)));

    metadata bad;
    CHECK(wire::parse_metadata(hex("02 41 20 00 00 00 00"), 256, bad) ==
          error::malformed_metadata);
}

TEST_CASE("max_properties is enforced")
{
    metadata m;
    for (int i = 0; i < 5; ++i)
        m.add("P" + std::to_string(i), "v");
    std::vector<std::byte> out;
    wire::encode_metadata(m, out);

    metadata parsed;
    CHECK_FALSE(wire::parse_metadata(out, 5, parsed));
    CHECK(parsed.size() == 5);

    metadata limited;
    CHECK(wire::parse_metadata(out, 4, limited) == error::too_many_properties);
    CHECK(wire::parse_metadata(out, 0, limited) == error::too_many_properties);
}

TEST_CASE("values are opaque bytes")
{
    metadata m;
    m.add("X-Bin", std::string("\0\xff\x01", 3));
    std::vector<std::byte> out;
    wire::encode_metadata(m, out);
    metadata parsed;
    REQUIRE_FALSE(wire::parse_metadata(out, 256, parsed));
    REQUIRE(parsed.find("x-bin").has_value());
    CHECK(parsed.find("x-bin")->size() == 3);
    CHECK(parsed[0].value == std::string("\0\xff\x01", 3));
}
