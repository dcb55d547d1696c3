// SPDX-License-Identifier: MPL-2.0
// The command parsers: parse_command over the input as a command body, and
// parse_ping / parse_error_reason over both the raw input and the parsed
// command's data. libzmq echoed stale bytes for a PING cut short
// (`04 'PING'`): every field must be checked against the length first.
//
// Checks: success or malformed_command; every view lies inside the input
// and has the size the wire says; encoders round-trip what was parsed.
#include "fuzz_check.hpp"

#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

namespace {

using zmtp_fuzz::within;

bool same(std::span<const std::byte> a, std::span<const std::byte> b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

std::span<const std::byte> bytes_of(std::string_view s)
{
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

// The body of a single command frame produced by an encoder.
std::span<const std::byte> body_of(const std::vector<std::byte>& frame)
{
    const auto h = zmtp::wire::parse_frame_header(frame);
    FUZZ_CHECK(h.state == zmtp::wire::frame_header_result::status::complete);
    FUZZ_CHECK(h.value.command && !h.value.more);
    FUZZ_CHECK(h.value.header_size + h.value.size == frame.size());
    return std::span<const std::byte>(frame).subspan(h.value.header_size);
}

void check_error(std::error_code ec)
{
    FUZZ_CHECK(ec == zmtp::error::malformed_command);
    FUZZ_CHECK_ERROR(ec, zmtp_fuzz::allow::protocol);
}

void check_ping(std::span<const std::byte> data)
{
    zmtp::wire::ping_view ping;
    if (auto ec = zmtp::wire::parse_ping(data, ping)) {
        check_error(ec);
        FUZZ_CHECK(data.size() < 2);
        return;
    }
    FUZZ_CHECK(data.size() >= 2);
    FUZZ_CHECK(within(ping.context, data));
    FUZZ_CHECK(ping.context.size() == std::min(data.size() - 2, zmtp::wire::max_ping_context));
    FUZZ_CHECK(ping.context.empty() || ping.context.data() == data.data() + 2);

    std::vector<std::byte> frame;
    zmtp::wire::append_ping(frame, ping.ttl_deciseconds, ping.context);
    zmtp::wire::command_view cmd;
    FUZZ_CHECK(!zmtp::wire::parse_command(body_of(frame), cmd));
    FUZZ_CHECK(cmd.name == "PING");
    zmtp::wire::ping_view back;
    FUZZ_CHECK(!zmtp::wire::parse_ping(cmd.data, back));
    FUZZ_CHECK(back.ttl_deciseconds == ping.ttl_deciseconds && same(back.context, ping.context));

    // The PONG we answer with carries the (cut) context back.
    std::vector<std::byte> pong;
    zmtp::wire::append_pong(pong, ping.context);
    FUZZ_CHECK(!zmtp::wire::parse_command(body_of(pong), cmd));
    FUZZ_CHECK(cmd.name == "PONG" && same(cmd.data, ping.context));
}

void check_error_reason(std::span<const std::byte> data)
{
    std::string_view reason;
    if (auto ec = zmtp::wire::parse_error_reason(data, reason)) {
        check_error(ec);
        return;
    }
    FUZZ_CHECK(!data.empty());
    FUZZ_CHECK(reason.size() == std::to_integer<std::size_t>(data[0]));
    FUZZ_CHECK(within(bytes_of(reason), data));

    std::vector<std::byte> frame;
    zmtp::wire::append_error(frame, reason);
    zmtp::wire::command_view cmd;
    FUZZ_CHECK(!zmtp::wire::parse_command(body_of(frame), cmd));
    FUZZ_CHECK(cmd.name == "ERROR");
    std::string_view back;
    FUZZ_CHECK(!zmtp::wire::parse_error_reason(cmd.data, back));
    FUZZ_CHECK(back == reason);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = zmtp_fuzz::as_span(data, size);

    zmtp::wire::command_view cmd;
    if (auto ec = zmtp::wire::parse_command(input, cmd)) {
        check_error(ec);
    } else {
        FUZZ_CHECK(!cmd.name.empty() && cmd.name.size() <= 255);
        FUZZ_CHECK(cmd.name.size() == std::to_integer<std::size_t>(input[0]));
        FUZZ_CHECK(within(bytes_of(cmd.name), input) && within(cmd.data, input));
        FUZZ_CHECK(1 + cmd.name.size() + cmd.data.size() == input.size());

        std::vector<std::byte> frame;
        zmtp::wire::append_command(frame, cmd.name, cmd.data);
        FUZZ_CHECK(same(body_of(frame), input));

        check_ping(cmd.data);
        check_error_reason(cmd.data);
    }
    check_ping(input);
    check_error_reason(input);
    return 0;
}
