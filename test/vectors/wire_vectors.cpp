// SPDX-License-Identifier: MPL-2.0
// Greeting, frame, command and metadata vectors through the wire parsers
// (include/zmtp/wire). The parsers look at a prefix of the input, so every
// prefix is tried: too short must say "incomplete", long enough must decide.
#include <doctest/doctest.h>

#include "vectors.hpp"

#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"
#include "zmtp/wire/greeting.hpp"
#include "zmtp/wire/metadata.hpp"

#include <algorithm>

namespace zmtp::test {
namespace {

const char* status_name(int s)
{
    switch (s) {
    case 0: return "incomplete";
    case 1: return "complete";
    default: return "invalid";
    }
}

std::string text_or_hex(const std::string& s)
{
    const bool printable = std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    return printable ? "\"" + s + "\"" : "0x" + to_hex(s);
}

// A property list from JSON: [{"name":..., "value": text | "value_hex": hex}].
metadata metadata_of(const json& list)
{
    metadata m;
    for (const json& p : list) {
        std::string value = p.contains("value_hex") ? from_hex(p["value_hex"].get<std::string>())
                                                    : p.at("value").get<std::string>();
        m.add(p.at("name").get<std::string>(), std::move(value));
    }
    return m;
}

std::string describe(const metadata& m)
{
    std::string s = "{";
    for (const auto& p : m)
        s += " " + p.name + "=" + text_or_hex(p.value);
    return s + " }";
}

void check_metadata(const metadata& got, const json& expected)
{
    const metadata want = metadata_of(expected);
    CHECK_MESSAGE(got == want, "metadata " << describe(got) << " != expected " << describe(want));
}

// "lookup": {"name": "text value" | {"hex": ...} | null}
void check_lookups(const metadata& m, const json& lookups)
{
    for (const auto& item : lookups.items()) {
        const std::string name = item.key();
        const json& want = item.value();
        const auto got = m.find(name);
        if (want.is_null()) {
            CHECK_MESSAGE(!got, "find(\"" << name << "\") should find nothing");
            continue;
        }
        const std::string value = want.is_string() ? want.get<std::string>() : bytes_of(want);
        CHECK_MESSAGE((got && *got == value), "find(\"" << name << "\") should give " << text_or_hex(value));
    }
}

void check_bytes(const std::string& got, const std::string& want, const char* what)
{
    CHECK_MESSAGE(got == want, what << ": got " << to_hex(got) << ", expected " << to_hex(want));
}

} // namespace

// ---------------------------------------------------------------- greetings

void run_greeting_vector(const json& v)
{
    const std::string input = bytes_of(v.at("input"));
    const json& e = v.at("expect");
    const std::string result = e.at("result").get<std::string>();
    const std::size_t decided_at =
        result == "incomplete" ? input.size() + 1 : e.value("decided_at", wire::greeting_size);
    if (result != "incomplete")
        REQUIRE_MESSAGE(input.size() >= decided_at, "input shorter than decided_at");
    const std::string want_error = result == "invalid" ? expected_error_name(e.at("error")) : "";

    using status = wire::greeting_result::status;
    for (std::size_t n = 0; n <= input.size(); ++n) {
        const auto r = wire::parse_greeting(as_span(input).first(n));
        const status want = n < decided_at          ? status::incomplete
                            : result == "complete" ? status::complete
                                                   : status::invalid;
        if (r.state != want) {
            FAIL_CHECK("prefix of " << n << " octets: " << status_name(static_cast<int>(r.state))
                                    << ", expected " << status_name(static_cast<int>(want))
                                    << (r.error ? " (" + error_name(r.error) + ")" : ""));
            return;
        }
        if (want == status::invalid && error_name(r.error) != want_error) {
            FAIL_CHECK("prefix of " << n << " octets: error " << error_name(r.error) << ", expected " << want_error);
            return;
        }
        if (want == status::complete) {
            const wire::greeting& g = r.value;
            CHECK(int{g.major} == e.at("major").get<int>());
            CHECK(int{g.minor} == e.at("minor").get<int>());
            CHECK(g.mechanism == e.at("mechanism").get<std::string>());
            CHECK(g.as_server == e.at("as_server").get<bool>());
        }
    }
    if (result != "complete")
        return;
    // Our encoder must reproduce any greeting in the form we send ourselves:
    // padding 00..01, octet 9 0x7f, zero filler.
    const auto head = as_span(input).first(wire::greeting_size);
    const std::string canonical_sig = from_hex("ff00000000000000017f");
    const bool zero_filler = std::all_of(head.begin() + 33, head.end(), [](std::byte b) { return b == std::byte{0}; });
    if (input.compare(0, 10, canonical_sig) == 0 && zero_filler) {
        const auto r = wire::parse_greeting(head);
        const auto encoded = wire::encode_greeting(r.value);
        CHECK_MESSAGE(std::equal(encoded.begin(), encoded.end(), head.begin()),
                      "encode_greeting does not reproduce the input: " << to_hex(as_string(encoded)));
    }
}

// ---------------------------------------------------------------- frames

void run_frame_vector(const json& v)
{
    const std::string input = bytes_of(v.at("input"));
    const json& e = v.at("expect");
    const std::string result = e.at("result").get<std::string>();
    using status = wire::frame_header_result::status;

    std::size_t decided_at = input.size() + 1;
    if (result == "invalid")
        decided_at = e.at("decided_at").get<std::size_t>();
    else if (result == "complete")
        decided_at = e.at("header_size").get<std::size_t>();
    if (result != "incomplete")
        REQUIRE_MESSAGE(input.size() >= decided_at, "input shorter than the header");

    for (std::size_t n = 0; n <= std::min(input.size(), wire::max_frame_header_size + 1); ++n) {
        const auto r = wire::parse_frame_header(as_span(input).first(n));
        const status want = n < decided_at          ? status::incomplete
                            : result == "complete" ? status::complete
                                                   : status::invalid;
        if (r.state != want) {
            FAIL_CHECK("prefix of " << n << " octets: " << status_name(static_cast<int>(r.state))
                                    << ", expected " << status_name(static_cast<int>(want)));
            return;
        }
        if (want == status::invalid)
            CHECK(error_name(r.error) == expected_error_name(e.at("error")));
        if (want == status::complete) {
            CHECK(r.value.more == e.at("more").get<bool>());
            CHECK(r.value.command == e.at("command").get<bool>());
            CHECK(r.value.size == e.at("size").get<std::uint64_t>());
            CHECK(r.value.header_size == e.at("header_size").get<std::size_t>());
        }
    }
    if (result != "complete")
        return;
    const auto h = wire::parse_frame_header(as_span(input)).value;
    if (e.contains("body")) {
        const std::string body = bytes_of(e["body"]);
        CHECK(h.size == body.size());
        check_bytes(input.substr(h.header_size), body, "body after the header");
    }
    // The encoder picks the short form up to 255 octets; re-encode when the
    // vector uses that form.
    if ((h.header_size == 2) == (h.size <= 255)) {
        std::byte out[wire::max_frame_header_size];
        const std::size_t n = wire::encode_frame_header(out, h.more, h.command, h.size);
        check_bytes(as_string({out, n}), input.substr(0, h.header_size), "encode_frame_header");
    }
}

// ---------------------------------------------------------------- commands

void run_command_vector(const json& v)
{
    const std::string input = bytes_of(v.at("input"));
    const json& e = v.at("expect");
    const auto hr = wire::parse_frame_header(as_span(input));
    REQUIRE_MESSAGE(hr.state == wire::frame_header_result::status::complete, "not a whole frame header");
    REQUIRE_MESSAGE(hr.value.command, "not a command frame");
    REQUIRE_MESSAGE(hr.value.header_size + hr.value.size == input.size(), "frame size does not match the input");
    const auto body = as_span(input).subspan(hr.value.header_size);

    wire::command_view cmd;
    const auto ec = wire::parse_command(body, cmd);
    if (e.at("result").get<std::string>() == "invalid") {
        CHECK(error_name(ec) == expected_error_name(e.at("error")));
        return;
    }
    REQUIRE_MESSAGE(!ec, "parse_command failed: " << error_name(ec));
    CHECK(std::string(cmd.name) == e.at("name").get<std::string>());
    const std::string data = bytes_of(e.at("data"));
    check_bytes(as_string(cmd.data), data, "command data");

    if (e.contains("ping")) {
        const json& p = e["ping"];
        wire::ping_view ping;
        const auto pec = wire::parse_ping(cmd.data, ping);
        if (p.contains("error")) {
            CHECK(error_name(pec) == expected_error_name(p["error"]));
        } else {
            REQUIRE_MESSAGE(!pec, "parse_ping failed: " << error_name(pec));
            CHECK(ping.ttl_deciseconds == p.at("ttl_deciseconds").get<unsigned>());
            check_bytes(as_string(ping.context), bytes_of(p.at("context")), "PING context");
        }
    }
    if (e.contains("error_reason")) {
        const json& want = e["error_reason"];
        std::string_view reason;
        const auto rec = wire::parse_error_reason(cmd.data, reason);
        if (want.is_object()) {
            CHECK(error_name(rec) == expected_error_name(want.at("error")));
        } else {
            REQUIRE_MESSAGE(!rec, "parse_error_reason failed: " << error_name(rec));
            CHECK(std::string(reason) == want.get<std::string>());
        }
    }
    if (e.contains("metadata")) {
        metadata m;
        const auto mec = wire::parse_metadata(cmd.data, 256, m);
        REQUIRE_MESSAGE(!mec, "parse_metadata failed: " << error_name(mec));
        check_metadata(m, e["metadata"]);
    }
    // Our encoder must give the same frame when the vector uses the short
    // form exactly up to 255 octets.
    if ((hr.value.header_size == 2) == (hr.value.size <= 255)) {
        std::vector<std::byte> out;
        wire::append_command(out, cmd.name, cmd.data);
        check_bytes(as_string(out), input, "append_command");
    }
}

// ---------------------------------------------------------------- metadata

void run_metadata_vector(const json& v)
{
    const std::string input = bytes_of(v.at("input"));
    const json& e = v.at("expect");
    const std::size_t max_properties = v.value("max_properties", std::size_t{256});
    metadata m;
    const auto ec = wire::parse_metadata(as_span(input), max_properties, m);
    if (e.at("result").get<std::string>() == "invalid") {
        CHECK(error_name(ec) == expected_error_name(e.at("error")));
        return;
    }
    REQUIRE_MESSAGE(!ec, "parse_metadata failed: " << error_name(ec));
    check_metadata(m, e.at("properties"));
    if (e.contains("lookup"))
        check_lookups(m, e["lookup"]);
    std::vector<std::byte> out;
    wire::encode_metadata(m, out);
    check_bytes(as_string(out), input, "encode_metadata");
    CHECK(wire::encoded_metadata_size(m) == input.size());
}

} // namespace zmtp::test
