// SPDX-License-Identifier: MPL-2.0
// Peer-supplied text reaches reasons only through zmtp::printable: a
// hostile peer cannot put terminal control sequences (colours, an OSC
// window title) into a log line or a monitor event.
#include "zmtp/printable.hpp"

#include "helpers.hpp"
#include "zmtp/codec/codec.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace zmtp;
using zmtp::test::bytes_of;
using zmtp::test::hex;
using zmtp::test::options_for;

namespace {

// CSI "red" and an OSC window title ended by BEL: what an attacker sends.
const std::string hostile = "\x1b[31mred\x1b]0;owned\x07 done\\";

bool on_one_printable_line(const std::string& s)
{
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

struct failure {
    bool failed = false;
    std::error_code error;
    std::string reason;
};

// How a codec fails that took a NULL greeting, then `command`, from the peer.
failure after_greeting_and(std::span<const std::byte> command, socket_type type = socket_type::dealer)
{
    const auto t0 = codec::clock::now();
    codec c(options_for(type), t0);
    const auto greeting = hex("ff00000000000000017f03014e554c4c" + std::string(96, '0'));
    c.feed(greeting, t0);
    while (c.next_event()) {
    }
    c.feed(command, t0);
    while (c.next_event()) {
    }
    return {c.is_failed(), c.error(), c.error_reason()};
}

std::vector<std::byte> short_command(std::string_view name, std::string_view body)
{
    std::string frame;
    frame += '\x04';
    frame += static_cast<char>(1 + name.size() + body.size());
    frame += static_cast<char>(name.size());
    frame += name;
    frame += body;
    return bytes_of(frame);
}

} // namespace

TEST_CASE("printable: control octets, non-ASCII and the backslash as \\xNN, the rest as is")
{
    CHECK(printable(hostile) == "\\x1b[31mred\\x1b]0;owned\\x07 done\\x5c");
    CHECK(printable("caf\xc3\xa9") == "caf\\xc3\\xa9");
    CHECK(printable("plain text: 1-2_3") == "plain text: 1-2_3");
    CHECK(printable(std::string_view("\0\n", 2)) == "\\x00\\x0a");
}

TEST_CASE("an ERROR reason with ESC[31m and an OSC title is reported escaped")
{
    std::string body;
    body += static_cast<char>(hostile.size());
    body += hostile;
    const failure c = after_greeting_and(short_command("ERROR", body));
    REQUIRE(c.failed);
    CHECK(c.error == error::peer_error);
    CHECK(on_one_printable_line(c.reason));
    CHECK(c.reason == "peer refused: \\x1b[31mred\\x1b]0;owned\\x07 done\\x5c");
}

TEST_CASE("a Socket-Type value with control sequences is reported escaped")
{
    std::string body = "\x0bSocket-Type";
    body += std::string("\0\0\0", 3) + static_cast<char>(hostile.size()) + hostile;
    const failure c = after_greeting_and(short_command("READY", body));
    REQUIRE(c.failed);
    CHECK(c.error == error::invalid_socket_type);
    CHECK(on_one_printable_line(c.reason));
    CHECK(c.reason.find("\\x1b[31mred") != std::string::npos);
}

TEST_CASE("an unexpected command's name with control sequences is reported escaped")
{
    const std::string name = "\x1b]0;t\x07";
    const failure c = after_greeting_and(short_command(name, ""));
    REQUIRE(c.failed);
    CHECK(on_one_printable_line(c.reason));
    CHECK(c.reason.find("\\x1b]0;t\\x07") != std::string::npos);
}
