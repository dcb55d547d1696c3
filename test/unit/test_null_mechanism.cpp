// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/null_mechanism.hpp"

#include "helpers.hpp"
#include "zmtp/error.hpp"
#include "zmtp/wire/frame.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using status = security::mechanism::status;
using zmtp::test::hex;
using zmtp::test::to_hex;

namespace {

// Strips the frame header of one command frame.
std::vector<std::byte> body_of(const std::vector<std::byte>& whole)
{
    auto h = wire::parse_frame_header(whole);
    REQUIRE(h.state == wire::frame_header_result::status::complete);
    return {whole.begin() + static_cast<std::ptrdiff_t>(h.value.header_size), whole.end()};
}

} // namespace

TEST_CASE("NULL announces itself and is never the server")
{
    security::null_mechanism m;
    CHECK(m.name() == "NULL");
    CHECK_FALSE(m.as_server());
    CHECK(m.state() == status::in_progress);
}

TEST_CASE("start sends READY with the local properties (docs/libzmq-wire.md fact 5)")
{
    security::null_mechanism m;
    metadata local;
    local.add("Socket-Type", "REQ");
    local.add("Identity", "");
    std::vector<std::byte> out;
    m.start(local, out);
    CHECK(to_hex(out) ==
          "04260552454144590b536f636b65742d5479706500000003524551084964656e7469747900000000");
    CHECK(m.state() == status::in_progress);
}

TEST_CASE("the peer's READY completes the handshake")
{
    security::null_mechanism m;
    std::vector<std::byte> out;
    m.start({}, out);
    out.clear();
    m.on_command(body_of(hex("04190552454144590b536f636b65742d5479706500000003524550")), out);
    CHECK(out.empty());
    REQUIRE(m.state() == status::ready);
    CHECK(m.peer_metadata().find("socket-type") == "REP");
    CHECK(m.peer_metadata().size() == 1);
    CHECK_FALSE(m.error());
}

TEST_CASE("READY with broken metadata fails")
{
    security::null_mechanism m;
    std::vector<std::byte> out;
    m.on_command(hex("05 52 45 41 44 59 0b 53 6f 63"), out);
    CHECK(m.state() == status::failed);
    CHECK(m.error() == error::malformed_metadata);
    CHECK_FALSE(m.reason().empty());
}

TEST_CASE("READY with too many properties fails")
{
    security::null_mechanism m(2);
    metadata props;
    props.add("A", "1");
    props.add("B", "2");
    props.add("C", "3");
    std::vector<std::byte> whole;
    wire::append_ready(whole, props);
    std::vector<std::byte> out;
    m.on_command(body_of(whole), out);
    CHECK(m.state() == status::failed);
    CHECK(m.error() == error::too_many_properties);
}

TEST_CASE("ERROR during the handshake is the peer's refusal, with its reason")
{
    security::null_mechanism m;
    std::vector<std::byte> whole;
    wire::append_error(whole, "go away");
    std::vector<std::byte> out;
    m.on_command(body_of(whole), out);
    CHECK(m.state() == status::failed);
    CHECK(m.error() == error::peer_error);
    CHECK(m.reason().find("go away") != std::string::npos);
}

TEST_CASE("any other command during the handshake is unexpected")
{
    for (const char* name : {"PING", "HELLO", "SUBSCRIBE", "ready"}) {
        CAPTURE(name);
        security::null_mechanism m;
        std::vector<std::byte> out;
        m.on_command(body_of(test::command_frame(name, hex("00 00"))), out);
        CHECK(m.state() == status::failed);
        CHECK(m.error() == error::unexpected_command);
    }
}

TEST_CASE("a malformed command body fails")
{
    security::null_mechanism m;
    std::vector<std::byte> out;
    m.on_command(hex("09 52 45"), out);
    CHECK(m.state() == status::failed);
    CHECK(m.error() == error::malformed_command);
}
