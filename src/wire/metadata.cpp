// SPDX-License-Identifier: MPL-2.0
#include "zmtp/wire/metadata.hpp"

#include "zmtp/error.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace zmtp {

std::optional<std::string_view> metadata::find(std::string_view name) const noexcept
{
    auto same = [&](const std::string& candidate) {
        return std::equal(candidate.begin(), candidate.end(), name.begin(), name.end(),
                          [](char a, char b) {
                              return std::tolower(static_cast<unsigned char>(a)) ==
                                     std::tolower(static_cast<unsigned char>(b));
                          });
    };
    for (const property& p : properties_)
        if (same(p.name))
            return std::string_view(p.value);
    return std::nullopt;
}

namespace wire {
namespace {

bool name_char(char c) noexcept
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '+';
}

} // namespace

bool valid_property_name(std::string_view name) noexcept
{
    return !name.empty() && name.size() <= 255 && std::all_of(name.begin(), name.end(), name_char);
}

std::error_code parse_metadata(std::span<const std::byte> bytes, std::size_t max_properties,
                               metadata& out)
{
    auto chars = [](std::span<const std::byte> s) {
        return std::string(reinterpret_cast<const char*>(s.data()), s.size());
    };
    std::size_t count = 0;
    while (!bytes.empty()) {
        if (count == max_properties)
            return make_error_code(error::too_many_properties);
        const std::size_t name_size = std::to_integer<std::uint8_t>(bytes[0]);
        bytes = bytes.subspan(1);
        if (name_size == 0 || name_size > bytes.size())
            return make_error_code(error::malformed_metadata);
        std::string name = chars(bytes.first(name_size));
        if (!valid_property_name(name))
            return make_error_code(error::malformed_metadata);
        bytes = bytes.subspan(name_size);
        if (bytes.size() < 4)
            return make_error_code(error::malformed_metadata);
        std::uint32_t value_size = 0;
        for (std::size_t i = 0; i < 4; ++i)
            value_size = (value_size << 8) | std::to_integer<std::uint8_t>(bytes[i]);
        bytes = bytes.subspan(4);
        if (value_size > bytes.size())
            return make_error_code(error::malformed_metadata);
        out.add(std::move(name), chars(bytes.first(value_size)));
        bytes = bytes.subspan(value_size);
        ++count;
    }
    return {};
}

void encode_metadata(const metadata& m, std::vector<std::byte>& out)
{
    for (const metadata::property& p : m) {
        out.push_back(static_cast<std::byte>(p.name.size()));
        for (char c : p.name)
            out.push_back(static_cast<std::byte>(c));
        const auto size = static_cast<std::uint32_t>(p.value.size());
        for (int shift = 24; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::byte>((size >> shift) & 0xff));
        for (char c : p.value)
            out.push_back(static_cast<std::byte>(c));
    }
}

std::size_t encoded_metadata_size(const metadata& m) noexcept
{
    std::size_t n = 0;
    for (const metadata::property& p : m)
        n += 1 + p.name.size() + 4 + p.value.size();
    return n;
}

} // namespace wire
} // namespace zmtp
