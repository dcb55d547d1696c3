// SPDX-License-Identifier: MPL-2.0
// Connection metadata: the property list carried by READY (RFC 23 §The NULL
// Security Mechanism, "metadata"), also used by PLAIN and CURVE.
//
//   property = name-size(1) name(1..255) value-size(4, big-endian) value
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace zmtp {

// An ordered list of properties. Names compare case-insensitively
// (RFC 37 §Connection Metadata); values are opaque bytes.
class metadata {
public:
    struct property {
        std::string name;
        std::string value;
        friend bool operator==(const property&, const property&) = default;
    };

    void add(std::string name, std::string value)
    {
        properties_.push_back({std::move(name), std::move(value)});
    }
    // The value of the first property named `name`, any case.
    std::optional<std::string_view> find(std::string_view name) const noexcept;

    std::size_t size() const noexcept { return properties_.size(); }
    bool empty() const noexcept { return properties_.empty(); }
    auto begin() const noexcept { return properties_.begin(); }
    auto end() const noexcept { return properties_.end(); }
    const property& operator[](std::size_t i) const noexcept { return properties_[i]; }

    friend bool operator==(const metadata&, const metadata&) = default;

private:
    std::vector<property> properties_;
};

namespace wire {

// Whether `name` is a valid property name: 1..255 of ALPHA DIGIT - _ . +
bool valid_property_name(std::string_view name) noexcept;

// Parses a property list that fills `bytes` exactly. Never trusts a length:
// every size is checked against the bytes that remain. Fails with
// malformed_metadata or, past `max_properties`, too_many_properties.
std::error_code parse_metadata(std::span<const std::byte> bytes, std::size_t max_properties,
                               metadata& out);

// Appends the encoding of `m` to `out`. Names must be valid.
void encode_metadata(const metadata& m, std::vector<std::byte>& out);

std::size_t encoded_metadata_size(const metadata& m) noexcept;

} // namespace wire
} // namespace zmtp
