// SPDX-License-Identifier: MPL-2.0
#include "zmtp/wire/command.hpp"

#include "helpers.hpp"
#include "zmtp/error.hpp"
#include "zmtp/wire/frame.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using zmtp::test::bytes_of;
using zmtp::test::hex;
using zmtp::test::to_hex;

namespace {

// The body of a whole command frame (the frame header stripped).
std::vector<std::byte> body_of(const std::vector<std::byte>& whole)
{
    auto h = wire::parse_frame_header(whole);
    REQUIRE(h.state == wire::frame_header_result::status::complete);
    REQUIRE(h.value.command);
    REQUIRE(h.value.size == whole.size() - h.value.header_size);
    return {whole.begin() + static_cast<std::ptrdiff_t>(h.value.header_size), whole.end()};
}

} // namespace

TEST_CASE("parse_command splits name and data")
{
    wire::command_view cmd;
    const auto body = hex("04 50 49 4e 47 00 14"); // PING ttl 20
    REQUIRE_FALSE(wire::parse_command(body, cmd));
    CHECK(cmd.name == "PING");
    CHECK(to_hex(cmd.data) == "0014");

    const auto name_only = hex("05 52 45 41 44 59"); // READY, no properties
    REQUIRE_FALSE(wire::parse_command(name_only, cmd));
    CHECK(cmd.name == "READY");
    CHECK(cmd.data.empty());
}

TEST_CASE("parse_command refuses empty bodies, empty names and overlong names")
{
    wire::command_view cmd;
    CHECK(wire::parse_command({}, cmd) == error::malformed_command);
    CHECK(wire::parse_command(hex("00"), cmd) == error::malformed_command);
    CHECK(wire::parse_command(hex("00 41"), cmd) == error::malformed_command);
    CHECK(wire::parse_command(hex("05 52 45 41 44"), cmd) == error::malformed_command);
    CHECK(wire::parse_command(hex("ff 41"), cmd) == error::malformed_command);
}

TEST_CASE("libzmq's malformed PLAIN ERROR is not an ERROR (docs/libzmq-wire.md fact 9)")
{
    // 04 09 5e 'RROR' 03 '400': the name length octet is 0x5E (94), far
    // more than the 8 octets that follow it.
    const auto whole = hex("04 09 5e 52 52 4f 52 03 34 30 30");
    const auto body = body_of(whole);
    wire::command_view cmd;
    CHECK(wire::parse_command(body, cmd) == error::malformed_command);
}

TEST_CASE("PING: TTL and context")
{
    wire::ping_view p;
    const auto empty_ctx = hex("00 14");
    REQUIRE_FALSE(wire::parse_ping(empty_ctx, p));
    CHECK(p.ttl_deciseconds == 20);
    CHECK(p.context.empty());

    const auto abc = hex("01 02 61 62 63");
    REQUIRE_FALSE(wire::parse_ping(abc, p));
    CHECK(p.ttl_deciseconds == 0x0102);
    CHECK(to_hex(p.context) == "616263");

    // A 20-byte context is cut to 16, as libzmq does (docs/libzmq-wire.md fact 8).
    auto long_ctx = hex("00 03");
    for (int i = 0; i < 20; ++i)
        long_ctx.push_back(std::byte(static_cast<unsigned char>(i)));
    REQUIRE_FALSE(wire::parse_ping(long_ctx, p));
    CHECK(p.ttl_deciseconds == 3);
    REQUIRE(p.context.size() == wire::max_ping_context);
    CHECK(p.context.data() == long_ctx.data() + 2);
    CHECK(p.context.back() == std::byte{15});
}

TEST_CASE("a truncated PING is malformed (docs/reliability.md: libzmq echoes stale bytes)")
{
    wire::ping_view p;
    CHECK(wire::parse_ping({}, p) == error::malformed_command);
    CHECK(wire::parse_ping(hex("00"), p) == error::malformed_command);

    // The whole frame libzmq mishandles: 04 05 04 'PING'.
    const auto body = body_of(hex("04 05 04 50 49 4e 47"));
    wire::command_view cmd;
    REQUIRE_FALSE(wire::parse_command(body, cmd));
    CHECK(cmd.name == "PING");
    CHECK(wire::parse_ping(cmd.data, p) == error::malformed_command);
}

TEST_CASE("ERROR reason")
{
    std::string_view reason;
    const auto four_hundred = hex("03 34 30 30");
    REQUIRE_FALSE(wire::parse_error_reason(four_hundred, reason));
    CHECK(reason == "400");
    const auto empty = hex("00");
    REQUIRE_FALSE(wire::parse_error_reason(empty, reason));
    CHECK(reason.empty());
    CHECK(wire::parse_error_reason({}, reason) == error::malformed_command);
    CHECK(wire::parse_error_reason(hex("04 34 30 30"), reason) == error::malformed_command);
}

TEST_CASE("encoders produce the captured frames")
{
    std::vector<std::byte> out;
    wire::append_ping(out, 20, {});
    CHECK(to_hex(out) == "04070450494e470014"); // docs/libzmq-wire.md fact 8

    out.clear();
    wire::append_pong(out, {});
    CHECK(to_hex(out) == "040504504f4e47");

    out.clear();
    const auto weather = bytes_of("weather");
    wire::append_command(out, "SUBSCRIBE", weather);
    CHECK(to_hex(out) == "04110953554253435249424577656174686572"); // docs/libzmq-wire.md fact 7
    out.clear();
    wire::append_command(out, "CANCEL", {});
    CHECK(to_hex(out) == "040706" + to_hex(bytes_of("CANCEL")));

    out.clear();
    metadata m;
    m.add("Socket-Type", "REP");
    wire::append_ready(out, m);
    CHECK(to_hex(out) == "04190552454144590b536f636b65742d5479706500000003524550"); // fact 5

    out.clear();
    wire::append_error(out, "400");
    CHECK(to_hex(out) == "040a054552524f5203343030");
}

TEST_CASE("PONG and PING contexts are cut to 16 octets")
{
    std::vector<std::byte> ctx(20, std::byte{0xab});
    std::vector<std::byte> out;
    wire::append_pong(out, ctx);
    CHECK(out.size() == 2 + 1 + 4 + 16);
    CHECK(out[1] == std::byte{21});
    out.clear();
    wire::append_ping(out, 1, ctx);
    CHECK(out.size() == 2 + 1 + 4 + 2 + 16);
}

TEST_CASE("ERROR reasons longer than 255 octets are cut")
{
    std::vector<std::byte> out;
    wire::append_error(out, std::string(400, 'x'));
    const auto body = body_of(out);
    wire::command_view cmd;
    REQUIRE_FALSE(wire::parse_command(body, cmd));
    CHECK(cmd.name == "ERROR");
    std::string_view reason;
    REQUIRE_FALSE(wire::parse_error_reason(cmd.data, reason));
    CHECK(reason == std::string(255, 'x'));
}

TEST_CASE("large commands use the long header")
{
    std::vector<std::byte> out;
    const std::vector<std::byte> topic(300, std::byte{'t'});
    wire::append_command(out, "SUBSCRIBE", topic);
    CHECK(out[0] == std::byte{0x06});
    const auto body = body_of(out);
    wire::command_view cmd;
    REQUIRE_FALSE(wire::parse_command(body, cmd));
    CHECK(cmd.name == "SUBSCRIBE");
    CHECK(cmd.data.size() == 300);
}
