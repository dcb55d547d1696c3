// SPDX-License-Identifier: MPL-2.0
// zmtp-cat's line formats: text (TAB between frames) and JSON.
#include "format.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>

using zmtp::frame;
using zmtp::message;
using zmtp::cat::format_error;
using zmtp::cat::format_line;
using zmtp::cat::line_format;
using zmtp::cat::parse_line;

TEST_CASE("text: TAB separates frames, an empty line is one empty frame")
{
    CHECK(parse_line("a\tb", line_format::text) == message{"a", "b"});
    CHECK(parse_line("", line_format::text) == message{""});
    CHECK(parse_line("\t", line_format::text) == message{"", ""});
    CHECK(parse_line("hello world", line_format::text) == message{"hello world"});
    CHECK(format_line(message{"a", "", "c"}, line_format::text) == "a\t\tc");
    CHECK(format_line(message{""}, line_format::text) == "");
}

TEST_CASE("json: strings and base64 objects in, strings whenever valid UTF-8 out")
{
    CHECK(parse_line(R"(["a","","b"])", line_format::json) == message{"a", "", "b"});
    CHECK(parse_line(R"([{"base64":"AP8="}])", line_format::json) ==
          message{frame(std::string_view("\x00\xff", 2))});
    CHECK(parse_line(R"([{"base64":""}])", line_format::json) == message{""});
    CHECK(format_line(message{"a", ""}, line_format::json) == R"(["a",""])");
    CHECK(format_line(message{frame(std::string_view("\x00\xff", 2))}, line_format::json) ==
          R"([{"base64":"AP8="}])");
    CHECK(format_line(message{"tab\there \"q\""}, line_format::json) ==
          R"(["tab\there \"q\""])");
    CHECK(format_line(message{"caf\xc3\xa9"}, line_format::json) == "[\"caf\xc3\xa9\"]");
    // NUL is valid UTF-8: it stays a string, escaped.
    CHECK(format_line(message{frame(std::string_view("\0", 1))}, line_format::json) ==
          R"(["\u0000"])");
}

TEST_CASE("json: round trip of every byte value")
{
    std::string all;
    for (int i = 0; i < 256; ++i)
        all += static_cast<char>(i);
    const message m{frame(std::string_view(all)), "text"};
    const std::string line = format_line(m, line_format::json);
    CHECK(line.find("base64") != std::string::npos);
    CHECK(parse_line(line, line_format::json) == m);
}

TEST_CASE("json: anything but an array of frames is refused")
{
    for (const char* bad : {"", "not json", "{}", "\"a\"", "[]", "[1]", "[null]", "[[\"a\"]]",
                            R"([{"base64":"!!"}])", R"([{"base64":"AP8"}])",
                            R"([{"base64":"AP8=","x":1}])", R"([{"hex":"00"}])", "[\"a\"",
                            "[\"\xff\"]"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_line(bad, line_format::json), format_error);
    }
}

TEST_CASE("UTF-8 validation")
{
    using zmtp::cat::is_valid_utf8;
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain"));
    CHECK(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
    CHECK_FALSE(is_valid_utf8("\xff"));
    CHECK_FALSE(is_valid_utf8("\xc3"));           // truncated
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));       // overlong
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));   // surrogate
    CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
    CHECK_FALSE(is_valid_utf8("\x80"));
}

TEST_CASE("base64")
{
    using zmtp::cat::base64_decode;
    using zmtp::cat::base64_encode;
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_decode("Zm9vYmFy") == "foobar");
    CHECK(base64_decode("Zg==") == "f");
    CHECK(base64_decode("Zm8=") == "fo");
    CHECK_FALSE(base64_decode("Zg=").has_value());
    CHECK_FALSE(base64_decode("Z===").has_value());
    CHECK_FALSE(base64_decode("Zg==Zg==").has_value());
    CHECK_FALSE(base64_decode("Zm9v YmFy").has_value());
}

TEST_CASE("--trace: a command name from the peer is escaped, also when it is not UTF-8")
{
    zmtp::trace_record t{zmtp::trace_record::direction::in, zmtp::trace_record::unit::command, 9, false,
                         "\x1b]0;title\x07\xff", 0, 0};
    const std::string line = zmtp::cat::format_trace("tcp://127.0.0.1:5555", t);
    CHECK(line.find('\x1b') == std::string::npos);
    CHECK(line.find(R"("name":"\\x1b]0;title\\x07\\xff")") != std::string::npos);
}

TEST_CASE("draft types: ID<TAB>body for server and peer, GROUP<TAB>body for radio and dish, one frame otherwise")
{
    using zmtp::socket_type;
    using zmtp::cat::format_draft_line;
    using zmtp::cat::parse_draft_line;
    const std::optional<std::string> none;

    message m = parse_draft_line("42\thello", line_format::text, socket_type::server, none);
    CHECK(m == message{"hello"});
    CHECK(m.routing_id() == 42);
    CHECK(format_draft_line(m, line_format::text, socket_type::peer) == "42\thello");
    m = parse_draft_line(R"([4294967295,"x"])", line_format::json, socket_type::peer, none);
    CHECK(m.routing_id() == 4294967295u);
    CHECK(format_draft_line(m, line_format::json, socket_type::server) == R"([4294967295,"x"])");
    for (const char* bad : {"0\tx", "4294967296\tx", "-1\tx", "\tx", "12", "1\t2\t3", "1a\tx"})
        CHECK_THROWS_AS(parse_draft_line(bad, line_format::text, socket_type::server, none), format_error);
    CHECK_THROWS_AS(parse_draft_line(R"(["1","x"])", line_format::json, socket_type::server, none),
                    format_error);

    m = parse_draft_line("g\tbody", line_format::text, socket_type::radio, none);
    CHECK(m == message{"body"});
    CHECK(m.group() == "g");
    CHECK(parse_draft_line("body", line_format::text, socket_type::radio, std::string("d")).group() == "d");
    CHECK_THROWS_AS(parse_draft_line("body", line_format::text, socket_type::radio, none), format_error);
    CHECK_THROWS_AS(parse_draft_line(std::string(256, 'g') + "\tb", line_format::text, socket_type::radio, none),
                    format_error);
    CHECK(format_draft_line(m, line_format::text, socket_type::dish) == "g\tbody");
    CHECK(format_draft_line(m, line_format::json, socket_type::dish) == R"(["g","body"])");

    CHECK(parse_draft_line("one", line_format::text, socket_type::client, none) == message{"one"});
    CHECK_THROWS_AS(parse_draft_line("a\tb", line_format::text, socket_type::scatter, none), format_error);
    CHECK_THROWS_AS(parse_draft_line(R"(["a","b"])", line_format::json, socket_type::channel, none),
                    format_error);
}
