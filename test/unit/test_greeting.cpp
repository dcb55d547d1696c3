// SPDX-License-Identifier: MPL-2.0
#include "zmtp/wire/greeting.hpp"

#include "helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using status = wire::greeting_result::status;
using zmtp::test::hex;

namespace {

// libzmq 4.3.4's NULL greeting, both roles (docs/libzmq-wire.md fact 1).
const std::vector<std::byte> libzmq_null_greeting =
    hex("ff 00 00 00 00 00 00 00 01 7f 03 01 4e 55 4c 4c" + std::string(96, '0'));

std::span<const std::byte> first(const std::vector<std::byte>& v, std::size_t n)
{
    return std::span<const std::byte>(v).first(n);
}

} // namespace

TEST_CASE("NULL greeting encodes to libzmq's bytes")
{
    REQUIRE(libzmq_null_greeting.size() == 64);
    const auto ours = wire::encode_greeting(wire::greeting{});
    CHECK(test::to_hex(ours) == test::to_hex(libzmq_null_greeting));
}

TEST_CASE("greeting fields encode where RFC 23 puts them")
{
    wire::greeting g;
    g.major = 3;
    g.minor = 0;
    g.mechanism = "CURVE";
    g.as_server = true;
    const auto b = wire::encode_greeting(g);
    CHECK(b[10] == std::byte{3});
    CHECK(b[11] == std::byte{0});
    CHECK(test::to_hex(std::span(b).subspan(12, 20)) ==
          "4355525645" + std::string(30, '0'));
    CHECK(b[32] == std::byte{1});
    for (std::size_t i = 33; i < 64; ++i)
        CHECK(b[i] == std::byte{0});
}

TEST_CASE("libzmq's greeting parses at 64 bytes and not before")
{
    for (std::size_t n = 0; n < 64; ++n) {
        CAPTURE(n);
        CHECK(wire::parse_greeting(first(libzmq_null_greeting, n)).state == status::incomplete);
    }
    auto r = wire::parse_greeting(libzmq_null_greeting);
    REQUIRE(r.state == status::complete);
    CHECK(r.value.major == 3);
    CHECK(r.value.minor == 1);
    CHECK(r.value.mechanism == "NULL");
    CHECK_FALSE(r.value.as_server);
    CHECK(r.value == wire::greeting{});
}

TEST_CASE("a first octet other than 0xFF fails at one byte")
{
    const auto http = test::bytes_of("GET / HTTP/1.1\r\n");
    auto r = wire::parse_greeting(first(http, 1));
    CHECK(r.state == status::invalid);
    CHECK(r.error == error::not_zmtp);
    // ZMTP 1.0 short frame: length then flags.
    r = wire::parse_greeting(hex("06 00"));
    CHECK(r.error == error::not_zmtp);
    CHECK(wire::parse_greeting(hex("00")).error == error::not_zmtp);
}

TEST_CASE("a ZMTP 1.0 long-length header fails at octet 9 (10 bytes)")
{
    // 0xFF, 8-octet length, then a flags octet with bit 0 clear.
    const auto v10 = hex("ff 00 00 00 00 00 00 00 06 00 41 41");
    for (std::size_t n = 1; n < 10; ++n)
        CHECK(wire::parse_greeting(first(v10, n)).state == status::incomplete);
    auto r = wire::parse_greeting(first(v10, 10));
    CHECK(r.state == status::invalid);
    CHECK(r.error == error::not_zmtp);
}

TEST_CASE("a major version below 3 fails at 11 bytes")
{
    for (std::uint8_t major : {0, 1, 2}) {
        CAPTURE(int(major));
        auto v = hex("ff 00 00 00 00 00 00 00 01 7f");
        v.push_back(std::byte{major});
        CHECK(wire::parse_greeting(first(v, 10)).state == status::incomplete);
        auto r = wire::parse_greeting(v);
        CHECK(r.state == status::invalid);
        CHECK(r.error == error::unsupported_version);
    }
}

TEST_CASE("padding and as-server are not checked (docs/libzmq-wire.md facts 2 and 4)")
{
    auto v = libzmq_null_greeting;
    v[8] = std::byte{0x09}; // routing id 'client-1': 1 + 8
    v[3] = std::byte{0x55};
    v[32] = std::byte{1};
    v[40] = std::byte{0xaa}; // filler
    auto r = wire::parse_greeting(v);
    REQUIRE(r.state == status::complete);
    CHECK(r.value.as_server);
    CHECK(r.value.mechanism == "NULL");
}

TEST_CASE("newer versions are accepted; the caller negotiates")
{
    auto v = libzmq_null_greeting;
    v[11] = std::byte{0};
    auto r = wire::parse_greeting(v);
    REQUIRE(r.state == status::complete);
    CHECK(r.value.minor == 0);
    v[10] = std::byte{4};
    v[11] = std::byte{2};
    r = wire::parse_greeting(v);
    REQUIRE(r.state == status::complete);
    CHECK(r.value.major == 4);
}

TEST_CASE("mechanism names")
{
    CHECK(wire::valid_mechanism_name("NULL"));
    CHECK(wire::valid_mechanism_name("PLAIN"));
    CHECK(wire::valid_mechanism_name("X-MY_MECH.2+"));
    CHECK(wire::valid_mechanism_name(std::string(20, 'A')));
    CHECK_FALSE(wire::valid_mechanism_name(std::string(21, 'A')));
    CHECK_FALSE(wire::valid_mechanism_name(""));
    CHECK_FALSE(wire::valid_mechanism_name("null"));
    CHECK_FALSE(wire::valid_mechanism_name("NU LL"));

    auto v = libzmq_null_greeting;
    v[12] = std::byte{'n'}; // lower case
    auto r = wire::parse_greeting(v);
    CHECK(r.state == status::invalid);
    CHECK(r.error == error::malformed_greeting);

    v = libzmq_null_greeting;
    for (std::size_t i = 12; i < 16; ++i)
        v[i] = std::byte{0}; // empty name
    CHECK(wire::parse_greeting(v).error == error::malformed_greeting);

    v = libzmq_null_greeting;
    for (std::size_t i = 12; i < 32; ++i)
        v[i] = std::byte{'Z'}; // 20 characters, no terminator
    r = wire::parse_greeting(v);
    REQUIRE(r.state == status::complete);
    CHECK(r.value.mechanism == std::string(20, 'Z'));
}

TEST_CASE("bytes past the greeting are ignored by the greeting parser")
{
    auto v = libzmq_null_greeting;
    v.push_back(std::byte{0x04});
    CHECK(wire::parse_greeting(v).state == status::complete);
}
