// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/curve_keys.hpp"

#include "zmtp/security/z85.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

namespace zmtp::security {

namespace {

void ensure_sodium()
{
    if (sodium_init() < 0)
        throw std::runtime_error("libsodium could not be initialised");
}

} // namespace

curve_secret_key::curve_secret_key(const std::array<std::byte, 32>& bytes) : bytes_(bytes), set_(true)
{
    ensure_sodium();
    crypto_scalarmult_base(reinterpret_cast<unsigned char*>(public_.data()),
                           reinterpret_cast<const unsigned char*>(bytes_.data()));
}

curve_secret_key& curve_secret_key::operator=(const curve_secret_key& other) noexcept
{
    if (this != &other) {
        bytes_ = other.bytes_;
        public_ = other.public_;
        set_ = other.set_;
    }
    return *this;
}

curve_secret_key::~curve_secret_key()
{
    sodium_memzero(bytes_.data(), bytes_.size());
}

curve_key_pair generate_curve_key_pair()
{
    ensure_sodium();
    std::array<std::byte, 32> secret;
    curve_key_pair pair;
    crypto_box_keypair(reinterpret_cast<unsigned char*>(pair.public_key.data()),
                       reinterpret_cast<unsigned char*>(secret.data()));
    pair.secret_key = curve_secret_key(secret);
    sodium_memzero(secret.data(), secret.size());
    return pair;
}

std::optional<std::array<std::byte, 32>> curve_key_from_z85(std::string_view text)
{
    if (text.size() != 40)
        return std::nullopt;
    auto bytes = z85_decode(text);
    if (!bytes)
        return std::nullopt;
    std::array<std::byte, 32> key{};
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return key;
}

std::string curve_key_to_z85(const std::array<std::byte, 32>& key)
{
    return *z85_encode(key);
}

} // namespace zmtp::security
