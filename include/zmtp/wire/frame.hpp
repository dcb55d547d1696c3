// SPDX-License-Identifier: MPL-2.0
// ZMTP 3.x frame headers (RFC 23 §Framing): a flags octet, then a 1-octet
// (short) or 8-octet big-endian (long) body size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace zmtp::wire {

namespace flag {
inline constexpr std::uint8_t more = 0x01;
inline constexpr std::uint8_t long_size = 0x02;
inline constexpr std::uint8_t command = 0x04;
inline constexpr std::uint8_t reserved = 0xf8;
} // namespace flag

inline constexpr std::size_t max_frame_header_size = 9;
inline constexpr std::uint64_t max_frame_size = (std::uint64_t{1} << 63) - 1;

struct frame_header {
    bool more = false;
    bool command = false;
    std::uint64_t size = 0;
    std::size_t header_size = 0; // 2 or 9

    friend bool operator==(const frame_header&, const frame_header&) = default;
};

struct frame_header_result {
    enum class status { incomplete, complete, invalid };
    status state = status::incomplete;
    frame_header value;
    std::error_code error;
};

// Parses a frame header from the start of `bytes`. Refuses reserved flag
// bits, MORE on a command, and sizes above 2^63-1 (malformed_frame). A long
// size that would fit a short frame is accepted (RFC says SHOULD).
frame_header_result parse_frame_header(std::span<const std::byte> bytes) noexcept;

// Writes a frame header into `out` (at least max_frame_header_size bytes)
// using the short form up to 255 octets; returns the header size.
std::size_t encode_frame_header(std::byte* out, bool more, bool command, std::uint64_t size) noexcept;

} // namespace zmtp::wire
