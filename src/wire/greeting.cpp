// SPDX-License-Identifier: MPL-2.0
#include "zmtp/wire/greeting.hpp"

#include "zmtp/error.hpp"

#include <algorithm>

namespace zmtp::wire {
namespace {

constexpr std::size_t major_offset = 10;
constexpr std::size_t minor_offset = 11;
constexpr std::size_t mechanism_offset = 12;
constexpr std::size_t as_server_offset = 32;

bool mechanism_char(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '+';
}

greeting_result fail(error e)
{
    greeting_result r;
    r.state = greeting_result::status::invalid;
    r.error = make_error_code(e);
    return r;
}

} // namespace

bool valid_mechanism_name(std::string_view name) noexcept
{
    return !name.empty() && name.size() <= mechanism_size &&
           std::all_of(name.begin(), name.end(), mechanism_char);
}

std::array<std::byte, greeting_size> encode_greeting(const greeting& g, std::uint64_t padding)
{
    std::array<std::byte, greeting_size> out{};
    out[0] = std::byte{0xff};
    for (std::size_t i = 8; i >= 1; --i) {
        out[i] = static_cast<std::byte>(padding & 0xff);
        padding >>= 8;
    }
    out[9] = std::byte{0x7f};
    out[major_offset] = std::byte{g.major};
    out[minor_offset] = std::byte{g.minor};
    const std::size_t n = std::min(g.mechanism.size(), mechanism_size);
    for (std::size_t i = 0; i < n; ++i)
        out[mechanism_offset + i] = static_cast<std::byte>(g.mechanism[i]);
    out[as_server_offset] = std::byte{g.as_server ? std::uint8_t{1} : std::uint8_t{0}};
    return out;
}

greeting_result parse_greeting(std::span<const std::byte> bytes)
{
    const std::size_t n = std::min(bytes.size(), greeting_size);
    auto at = [&](std::size_t i) { return std::to_integer<std::uint8_t>(bytes[i]); };

    if (n >= 1 && at(0) != 0xff)
        return fail(error::not_zmtp);
    // Bit 0 of octet 9 is what tells a ZMTP 2.0+ signature from a ZMTP 1.0
    // long-length frame header (RFC 23 §Backwards Interoperability).
    if (n >= signature_size && (at(9) & 0x01) == 0)
        return fail(error::not_zmtp);
    if (n > major_offset && at(major_offset) < 3)
        return fail(error::unsupported_version);
    if (n < greeting_size)
        return {};

    greeting g;
    g.major = at(major_offset);
    g.minor = at(minor_offset);
    // The grammar allows 0 and 1 only; libzmq never sends anything else.
    if (at(as_server_offset) > 1)
        return fail(error::malformed_greeting);
    // The mechanism is zero-padded (RFC 23): all 20 octets are the name, so
    // anything but zeros after it names another mechanism. libzmq compares
    // the whole field too, and closes.
    std::string name;
    std::size_t end = 0;
    while (end < mechanism_size && at(mechanism_offset + end) != 0)
        name.push_back(static_cast<char>(at(mechanism_offset + end++)));
    bool padded = true;
    for (std::size_t i = end; i < mechanism_size; ++i)
        padded = padded && at(mechanism_offset + i) == 0;
    if (!padded || !valid_mechanism_name(name))
        return fail(error::malformed_greeting);
    g.mechanism = std::move(name);
    g.as_server = at(as_server_offset) == 1;

    greeting_result r;
    r.state = greeting_result::status::complete;
    r.value = std::move(g);
    return r;
}

} // namespace zmtp::wire
