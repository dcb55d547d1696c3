// SPDX-License-Identifier: MPL-2.0
// CURVE long-term keys (Curve25519, as CurveZMQ uses them) and their Z85
// text form (RFC 32), as libzmq's zmq_curve_keypair and ZMQ_CURVE_*KEY use
// them: 32 octets, or 40 Z85 characters.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace zmtp::security {

using curve_public_key = std::array<std::byte, 32>;

// A secret key; its bytes are wiped when it is destroyed or overwritten.
// Its public key is derived once, when it is made, not per connection.
class curve_secret_key {
public:
    curve_secret_key() = default;
    explicit curve_secret_key(const std::array<std::byte, 32>& bytes);
    curve_secret_key(const curve_secret_key& other) noexcept = default;
    curve_secret_key& operator=(const curve_secret_key& other) noexcept;
    ~curve_secret_key();

    bool empty() const noexcept { return !set_; }
    const std::array<std::byte, 32>& bytes() const noexcept { return bytes_; }
    // The matching public key.
    const curve_public_key& public_key() const noexcept { return public_; }

private:
    std::array<std::byte, 32> bytes_{};
    curve_public_key public_{};
    bool set_ = false;
};

struct curve_key_pair {
    curve_public_key public_key{};
    curve_secret_key secret_key;
};

// A fresh key pair from the system's secure random source.
curve_key_pair generate_curve_key_pair();

// 40 Z85 characters <-> 32 octets; nullopt when the text is not exactly
// 40 valid Z85 characters.
std::optional<std::array<std::byte, 32>> curve_key_from_z85(std::string_view text);
std::string curve_key_to_z85(const std::array<std::byte, 32>& key);

} // namespace zmtp::security
