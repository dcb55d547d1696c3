// SPDX-License-Identifier: MPL-2.0
// Command bodies (RFC 23 §Commands, RFC 37): a short-string name followed by
// command data. Parsers work on the body of one command frame; encoders
// produce whole frames (header included).
#pragma once

#include "zmtp/wire/metadata.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace zmtp::wire {

inline constexpr std::size_t max_ping_context = 16;

struct command_view {
    std::string_view name;
    std::span<const std::byte> data;
};

// Splits a command body into name and data. Refuses an empty body, an empty
// name, and a name that runs past the body (malformed_command).
std::error_code parse_command(std::span<const std::byte> body, command_view& out) noexcept;

struct ping_view {
    std::uint16_t ttl_deciseconds = 0;
    std::span<const std::byte> context; // at most max_ping_context octets
};

// PING data: a 16-bit TTL then up to 16 octets of context. A longer context
// is cut to 16 octets, as libzmq does; fewer than 2 octets is malformed.
std::error_code parse_ping(std::span<const std::byte> data, ping_view& out) noexcept;

// ERROR data: a short string (0..255 octets).
std::error_code parse_error_reason(std::span<const std::byte> data, std::string_view& reason) noexcept;

// Whether a command body received during a handshake is an ERROR, and its
// reason. Accepts libzmq 4.3.4's PLAIN/CURVE ERROR whose name octets read
// `5e 'RROR'` (docs/libzmq-wire.md fact 9) as well as the well-formed command.
bool parse_handshake_error(std::span<const std::byte> body, std::string_view& reason) noexcept;

// Appends one whole command frame (header, name, data) to `out`.
void append_command(std::vector<std::byte>& out, std::string_view name,
                    std::span<const std::byte> data);
void append_ready(std::vector<std::byte>& out, const metadata& properties);
void append_error(std::vector<std::byte>& out, std::string_view reason);
void append_ping(std::vector<std::byte>& out, std::uint16_t ttl_deciseconds,
                 std::span<const std::byte> context);
void append_pong(std::vector<std::byte>& out, std::span<const std::byte> context);

} // namespace zmtp::wire
