// SPDX-License-Identifier: MPL-2.0
#include "zmtp/wire/command.hpp"

#include "zmtp/error.hpp"
#include "zmtp/wire/frame.hpp"

#include <algorithm>
#include <cctype>

namespace zmtp::wire {
namespace {

std::span<const std::byte> as_bytes(std::string_view s) noexcept
{
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

void append_bytes(std::vector<std::byte>& out, std::span<const std::byte> bytes)
{
    out.insert(out.end(), bytes.begin(), bytes.end());
}

// Appends a command frame header for a body of `body_size` octets.
void append_command_header(std::vector<std::byte>& out, std::size_t body_size)
{
    std::byte header[max_frame_header_size];
    const std::size_t n = encode_frame_header(header, false, true, body_size);
    out.insert(out.end(), header, header + n);
}

} // namespace

std::error_code parse_command(std::span<const std::byte> body, command_view& out) noexcept
{
    if (body.empty())
        return make_error_code(error::malformed_command);
    const std::size_t name_size = std::to_integer<std::uint8_t>(body[0]);
    if (name_size == 0 || name_size > body.size() - 1)
        return make_error_code(error::malformed_command);
    out.name = std::string_view(reinterpret_cast<const char*>(body.data() + 1), name_size);
    out.data = body.subspan(1 + name_size);
    return {};
}

std::error_code parse_ping(std::span<const std::byte> data, ping_view& out) noexcept
{
    if (data.size() < 2)
        return make_error_code(error::malformed_command);
    out.ttl_deciseconds = static_cast<std::uint16_t>(
        (std::to_integer<unsigned>(data[0]) << 8) | std::to_integer<unsigned>(data[1]));
    out.context = data.subspan(2, std::min(data.size() - 2, max_ping_context));
    return {};
}

std::error_code parse_error_reason(std::span<const std::byte> data, std::string_view& reason) noexcept
{
    if (data.empty())
        return make_error_code(error::malformed_command);
    const std::size_t n = std::to_integer<std::uint8_t>(data[0]);
    if (n > data.size() - 1)
        return make_error_code(error::malformed_command);
    reason = std::string_view(reinterpret_cast<const char*>(data.data() + 1), n);
    return {};
}

bool parse_handshake_error(std::span<const std::byte> body, std::string_view& reason) noexcept
{
    static constexpr std::string_view libzmq_garbled = "\x5eRROR";
    std::span<const std::byte> data;
    command_view cmd;
    if (!parse_command(body, cmd) && cmd.name == "ERROR") {
        data = cmd.data;
    } else if (body.size() >= libzmq_garbled.size() &&
               std::string_view(reinterpret_cast<const char*>(body.data()), libzmq_garbled.size()) ==
                   libzmq_garbled) {
        data = body.subspan(libzmq_garbled.size());
    } else {
        return false;
    }
    if (parse_error_reason(data, reason))
        reason = "(unreadable reason)";
    return true;
}

void append_command(std::vector<std::byte>& out, std::string_view name,
                    std::span<const std::byte> data)
{
    append_command_header(out, 1 + name.size() + data.size());
    out.push_back(static_cast<std::byte>(name.size()));
    append_bytes(out, as_bytes(name));
    append_bytes(out, data);
}

void append_ready(std::vector<std::byte>& out, const metadata& properties)
{
    constexpr std::string_view name = "READY";
    append_command_header(out, 1 + name.size() + encoded_metadata_size(properties));
    out.push_back(static_cast<std::byte>(name.size()));
    append_bytes(out, as_bytes(name));
    encode_metadata(properties, out);
}

void append_error(std::vector<std::byte>& out, std::string_view reason)
{
    reason = reason.substr(0, 255);
    constexpr std::string_view name = "ERROR";
    append_command_header(out, 1 + name.size() + 1 + reason.size());
    out.push_back(static_cast<std::byte>(name.size()));
    append_bytes(out, as_bytes(name));
    out.push_back(static_cast<std::byte>(reason.size()));
    append_bytes(out, as_bytes(reason));
}

void append_ping(std::vector<std::byte>& out, std::uint16_t ttl_deciseconds,
                 std::span<const std::byte> context)
{
    context = context.first(std::min(context.size(), max_ping_context));
    constexpr std::string_view name = "PING";
    append_command_header(out, 1 + name.size() + 2 + context.size());
    out.push_back(static_cast<std::byte>(name.size()));
    append_bytes(out, as_bytes(name));
    out.push_back(static_cast<std::byte>(ttl_deciseconds >> 8));
    out.push_back(static_cast<std::byte>(ttl_deciseconds & 0xff));
    append_bytes(out, context);
}

void append_pong(std::vector<std::byte>& out, std::span<const std::byte> context)
{
    append_command(out, "PONG", context.first(std::min(context.size(), max_ping_context)));
}

} // namespace zmtp::wire
