// SPDX-License-Identifier: MPL-2.0
// The 64-octet ZMTP 3.x greeting (RFC 23 §Greeting, RFC 37 §Greeting).
//
//   signature  ff 8*padding 7f     10 octets
//   version    major minor          2 octets
//   mechanism  20 octets, zero-padded
//   as-server  1 octet
//   filler     31 octets
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace zmtp::wire {

inline constexpr std::size_t greeting_size = 64;
inline constexpr std::size_t signature_size = 10;
inline constexpr std::size_t mechanism_size = 20;

struct greeting {
    std::uint8_t major = 3;
    std::uint8_t minor = 1;
    std::string mechanism = "NULL";
    bool as_server = false;

    friend bool operator==(const greeting&, const greeting&) = default;
};

// Encodes a greeting. The signature padding is `padding` big-endian; libzmq
// sends 1 + the length of its routing id, which makes the signature a ZMTP
// 1.0 identity-frame header too. `g.mechanism` must be 1..20 valid
// mechanism chars.
std::array<std::byte, greeting_size> encode_greeting(const greeting& g, std::uint64_t padding = 1);

// Result of looking at the first bytes of a peer's greeting.
struct greeting_result {
    enum class status { incomplete, complete, invalid };
    status state = status::incomplete;
    greeting value;      // set when complete
    std::error_code error; // set when invalid
};

// Examines up to the first 64 bytes received. Fails as early as the bytes
// allow: a first octet other than 0xFF (ZMTP 1.0, HTTP, scanners) fails at
// once; a ZMTP 1.0-style signature fails at 10 octets; a major version below
// 3 (ZMTP 2.0) fails at 11 octets. The padding is not checked, nor is which
// of 0 and 1 as-server is, for the caller to decide (docs/libzmq-wire.md
// facts 2 and 4); any other as-server octet is malformed_greeting.
greeting_result parse_greeting(std::span<const std::byte> bytes);

// Whether `name` is a valid mechanism name (1..20 of A-Z 0-9 - _ . +).
bool valid_mechanism_name(std::string_view name) noexcept;

} // namespace zmtp::wire
