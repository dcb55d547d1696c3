// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/z85.hpp"

#include <array>
#include <cstdint>

namespace zmtp::security {
namespace {

constexpr std::string_view alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

// Character -> digit, or -1.
constexpr std::array<std::int8_t, 256> make_digits()
{
    std::array<std::int8_t, 256> d{};
    for (auto& x : d)
        x = -1;
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        d[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return d;
}
constexpr auto digits = make_digits();

} // namespace

std::optional<std::string> z85_encode(std::span<const std::byte> data)
{
    if (data.size() % 4 != 0)
        return std::nullopt;
    std::string out;
    out.reserve(data.size() / 4 * 5);
    for (std::size_t i = 0; i < data.size(); i += 4) {
        std::uint32_t v = 0;
        for (std::size_t j = 0; j < 4; ++j)
            v = v << 8 | std::to_integer<std::uint32_t>(data[i + j]);
        char group[5];
        for (int j = 4; j >= 0; --j) {
            group[j] = alphabet[v % 85];
            v /= 85;
        }
        out.append(group, 5);
    }
    return out;
}

std::optional<std::vector<std::byte>> z85_decode(std::string_view text)
{
    if (text.size() % 5 != 0)
        return std::nullopt;
    std::vector<std::byte> out;
    out.reserve(text.size() / 5 * 4);
    for (std::size_t i = 0; i < text.size(); i += 5) {
        std::uint64_t v = 0;
        for (std::size_t j = 0; j < 5; ++j) {
            const int d = digits[static_cast<unsigned char>(text[i + j])];
            if (d < 0)
                return std::nullopt;
            v = v * 85 + static_cast<std::uint64_t>(d);
        }
        if (v > 0xffff'ffffu)
            return std::nullopt;
        for (int shift = 24; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::byte>(v >> shift));
    }
    return out;
}

} // namespace zmtp::security
