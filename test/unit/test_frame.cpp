// SPDX-License-Identifier: MPL-2.0
#include "zmtp/wire/frame.hpp"

#include "helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using status = wire::frame_header_result::status;
using zmtp::test::hex;
using zmtp::test::to_hex;

namespace {

std::string encode(bool more, bool command, std::uint64_t size)
{
    std::byte out[wire::max_frame_header_size];
    const std::size_t n = wire::encode_frame_header(out, more, command, size);
    return to_hex({out, n});
}

} // namespace

TEST_CASE("short/long boundary and the captured encodings (docs/libzmq-wire.md fact 6)")
{
    CHECK(encode(false, false, 0) == "0000");
    CHECK(encode(true, false, 0) == "0100");
    CHECK(encode(false, false, 1) == "0001");
    CHECK(encode(false, false, 255) == "00ff");
    CHECK(encode(false, false, 256) == "020000000000000100");
    CHECK(encode(false, false, 70000) == "020000000000011170");
    CHECK(encode(true, false, 256) == "030000000000000100");
    CHECK(encode(false, true, 292) == "060000000000000124");
    CHECK(encode(false, true, 25) == "0419");
    CHECK(encode(false, false, wire::max_frame_size) == "027fffffffffffffff");
}

TEST_CASE("parse the captured headers")
{
    auto r = wire::parse_frame_header(hex("02 00 00 00 00 00 01 11 70"));
    REQUIRE(r.state == status::complete);
    CHECK(r.value == wire::frame_header{false, false, 70000, 9});

    r = wire::parse_frame_header(hex("00 ff"));
    REQUIRE(r.state == status::complete);
    CHECK(r.value == wire::frame_header{false, false, 255, 2});

    r = wire::parse_frame_header(hex("02 00 00 00 00 00 00 01 00"));
    REQUIRE(r.state == status::complete);
    CHECK(r.value == wire::frame_header{false, false, 256, 9});

    r = wire::parse_frame_header(hex("01 00"));
    REQUIRE(r.state == status::complete);
    CHECK(r.value == wire::frame_header{true, false, 0, 2});

    r = wire::parse_frame_header(hex("04 07 04 50"));
    REQUIRE(r.state == status::complete);
    CHECK(r.value == wire::frame_header{false, true, 7, 2});

    r = wire::parse_frame_header(hex("06 00 00 00 00 00 00 01 24"));
    REQUIRE(r.state == status::complete);
    CHECK(r.value == wire::frame_header{false, true, 292, 9});
}

TEST_CASE("round trip around the boundaries")
{
    for (std::uint64_t size : {0ull, 1ull, 254ull, 255ull, 256ull, 257ull, 65535ull, 70000ull,
                               (1ull << 32) + 5, (1ull << 63) - 1}) {
        for (int kind = 0; kind < 3; ++kind) {
            const bool more = kind == 1;
            const bool command = kind == 2;
            CAPTURE(size);
            CAPTURE(kind);
            std::byte out[wire::max_frame_header_size];
            const std::size_t n = wire::encode_frame_header(out, more, command, size);
            CHECK(n == (size <= 255 ? 2u : 9u));
            auto r = wire::parse_frame_header({out, n});
            REQUIRE(r.state == status::complete);
            CHECK(r.value == wire::frame_header{more, command, size, n});
        }
    }
}

TEST_CASE("incomplete headers")
{
    CHECK(wire::parse_frame_header({}).state == status::incomplete);
    CHECK(wire::parse_frame_header(hex("00")).state == status::incomplete);
    const auto lng = hex("02 00 00 00 00 00 01 11 70");
    for (std::size_t n = 1; n < 9; ++n)
        CHECK(wire::parse_frame_header(std::span(lng).first(n)).state == status::incomplete);
}

TEST_CASE("a long size that would fit a short frame is accepted")
{
    auto r = wire::parse_frame_header(hex("02 00 00 00 00 00 00 00 05"));
    REQUIRE(r.state == status::complete);
    CHECK(r.value.size == 5);
    CHECK(r.value.header_size == 9);
}

TEST_CASE("reserved flag bits are refused at the first octet")
{
    for (unsigned bit = 3; bit < 8; ++bit) {
        CAPTURE(bit);
        const std::byte flags{static_cast<unsigned char>(1u << bit)};
        auto r = wire::parse_frame_header(std::span(&flags, 1));
        CHECK(r.state == status::invalid);
        CHECK(r.error == error::malformed_frame);
    }
    CHECK(wire::parse_frame_header(hex("ff")).error == error::malformed_frame);
}

TEST_CASE("MORE on a command is refused")
{
    auto r = wire::parse_frame_header(hex("05"));
    CHECK(r.state == status::invalid);
    CHECK(r.error == error::malformed_frame);
    CHECK(wire::parse_frame_header(hex("07 00 00 00 00 00 00 01 00")).error ==
          error::malformed_frame);
}

TEST_CASE("sizes of 2^63 and above are refused")
{
    auto r = wire::parse_frame_header(hex("02 80 00 00 00 00 00 00 00"));
    CHECK(r.state == status::invalid);
    CHECK(r.error == error::malformed_frame);
    r = wire::parse_frame_header(hex("02 ff ff ff ff ff ff ff ff"));
    CHECK(r.state == status::invalid);
    CHECK(r.error == error::malformed_frame);
    r = wire::parse_frame_header(hex("02 7f ff ff ff ff ff ff ff"));
    REQUIRE(r.state == status::complete);
    CHECK(r.value.size == wire::max_frame_size);
}
