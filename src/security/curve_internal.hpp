// SPDX-License-Identifier: MPL-2.0
// What CURVE's files share (curve_mechanism.cpp, curve_client.cpp,
// curve_server.cpp): RFC 26's field sizes, nonces, and boxes between keys.
#pragma once

#include "zmtp/security/curve_mechanism.hpp"

#include <sodium.h>

#include <array>
#include <cstring>
#include <stdexcept>
#include <string>

namespace zmtp::security::detail {

// Field sizes (RFC 26 §High-level Grammar).
inline constexpr std::size_t key_size = 32;
inline constexpr std::size_t mac_size = crypto_box_MACBYTES; // 16
inline constexpr std::size_t short_nonce_size = 8;
inline constexpr std::size_t long_nonce_size = 16;
inline constexpr std::size_t hello_body_size = 200;
inline constexpr std::size_t welcome_body_size = 168;
inline constexpr std::size_t cookie_size = long_nonce_size + mac_size + 2 * key_size; // 96
inline constexpr std::size_t vouch_size = long_nonce_size + mac_size + 2 * key_size;  // 96
inline constexpr std::size_t initiate_min_body = 9 + cookie_size + short_nonce_size + mac_size
                                                 + key_size + vouch_size;     // 257
inline constexpr std::size_t ready_min_body = 6 + short_nonce_size + mac_size;       // 30
inline constexpr std::size_t message_overhead = 8 + short_nonce_size + mac_size + 1; // 33
inline constexpr std::size_t box_header = short_nonce_size + mac_size; // nonce + MAC before a plaintext

inline constexpr std::string_view client_message_prefix = "CurveZMQMESSAGEC";
inline constexpr std::string_view server_message_prefix = "CurveZMQMESSAGES";

using nonce = std::array<unsigned char, crypto_box_NONCEBYTES>;

inline unsigned char* uc(std::byte* p) noexcept { return reinterpret_cast<unsigned char*>(p); }
inline const unsigned char* uc(const std::byte* p) noexcept
{
    return reinterpret_cast<const unsigned char*>(p);
}

// An 8-octet prefix and a 16-octet long nonce, or a 16-octet prefix and an
// 8-octet short nonce.
inline nonce make_nonce(std::string_view prefix, std::span<const std::byte> rest) noexcept
{
    nonce n;
    std::memcpy(n.data(), prefix.data(), prefix.size());
    std::memcpy(n.data() + prefix.size(), rest.data(), rest.size());
    return n;
}

inline void put_u64(std::byte* p, std::uint64_t v) noexcept
{
    for (int i = 7; i >= 0; --i, v >>= 8)
        p[i] = static_cast<std::byte>(v & 0xff);
}

// Box[plain](from -> to) into `boxed` (plain.size() + 16 octets).
inline void box(std::byte* boxed, std::span<const std::byte> plain, const nonce& n,
                const curve_public_key& to, const curve_secret& from)
{
    if (crypto_box_easy(uc(boxed), uc(plain.data()), plain.size(), n.data(), uc(to.data()),
                        uc(from.data())) != 0)
        throw std::runtime_error("crypto_box_easy failed");
}

inline bool unbox(std::byte* plain, std::span<const std::byte> boxed, const nonce& n,
                  std::span<const std::byte, key_size> from, const curve_secret& to)
{
    return crypto_box_open_easy(uc(plain), uc(boxed.data()), boxed.size(), n.data(),
                                uc(from.data()), uc(to.data())) == 0;
}

inline void random_secret(const random_source& rng, curve_secret& s)
{
    rng(std::span<std::byte>(s.data(), key_size));
}

inline curve_public_key public_of(const curve_secret& s)
{
    curve_public_key pub;
    crypto_scalarmult_base(uc(pub.data()), uc(s.data()));
    return pub;
}

inline std::string size_reason(std::string_view command, std::size_t got, std::string_view expected)
{
    return std::string(command) + " of " + std::to_string(got) + " octets, expected " +
           std::string(expected);
}

} // namespace zmtp::security::detail
