// SPDX-License-Identifier: MPL-2.0
// Small helpers shared by the unit tests: hex and string conversions, codec
// options, raw peer bytes.
#pragma once

#include "zmtp/codec/codec.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/greeting.hpp"

#include <cctype>
#include <cstddef>
#include <ostream> // doctest prints std::error_code through it
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace zmtp::test {

// "ff 00 7f" or "ff007f" -> bytes. Whitespace is ignored.
inline std::vector<std::byte> hex(std::string_view text)
{
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        throw std::invalid_argument("bad hex digit");
    };
    std::vector<std::byte> out;
    int high = -1;
    for (char c : text) {
        if (std::isspace(static_cast<unsigned char>(c)))
            continue;
        const int v = nibble(c);
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::byte>(high * 16 + v));
            high = -1;
        }
    }
    if (high >= 0)
        throw std::invalid_argument("odd number of hex digits");
    return out;
}

inline std::string to_hex(std::span<const std::byte> bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (std::byte b : bytes) {
        const auto v = std::to_integer<unsigned>(b);
        out.push_back(digits[v >> 4]);
        out.push_back(digits[v & 15]);
    }
    return out;
}

inline std::vector<std::byte> bytes_of(std::string_view s)
{
    const auto b = std::as_bytes(std::span<const char>(s.data(), s.size()));
    return {b.begin(), b.end()};
}

inline std::span<const std::byte> as_span(std::string_view s)
{
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

inline std::vector<std::byte> concat(std::initializer_list<std::span<const std::byte>> parts)
{
    std::vector<std::byte> out;
    for (auto p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

// A frame body of `n` bytes with a recognisable pattern.
inline std::string pattern(std::size_t n, unsigned seed = 0)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>((i * 31 + seed * 7 + (i >> 8)) & 0xff);
    return s;
}

inline codec_options options_for(socket_type t, std::string routing_id = {})
{
    codec_options o;
    o.type = t;
    o.routing_id = std::move(routing_id);
    return o;
}

// What a raw peer of type `t` sends to complete a NULL handshake: its
// greeting (ZMTP 3.minor) and READY.
inline std::vector<std::byte> raw_peer_handshake(socket_type t, std::uint8_t minor = 1)
{
    wire::greeting g;
    g.minor = minor;
    const auto greeting = wire::encode_greeting(g);
    std::vector<std::byte> out(greeting.begin(), greeting.end());
    metadata m;
    m.add("Socket-Type", std::string(to_string(t)));
    if (announces_identity(t))
        m.add("Identity", "");
    wire::append_ready(out, m);
    return out;
}

inline std::vector<std::byte> command_frame(std::string_view name, std::span<const std::byte> data = {})
{
    std::vector<std::byte> out;
    wire::append_command(out, name, data);
    return out;
}

// A data frame (header + body).
inline std::vector<std::byte> data_frame(std::string_view body, bool more = false)
{
    std::byte header[wire::max_frame_header_size];
    const std::size_t n = wire::encode_frame_header(header, more, false, body.size());
    std::vector<std::byte> out(header, header + n);
    const auto b = as_span(body);
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

template <class T> const T* as(const event& e) { return std::get_if<T>(&e); }

} // namespace zmtp::test
