// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/authenticator.hpp"

#include "zmtp/security/curve_keys.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>

namespace zmtp::security {

std::string error_reason(const auth_result& r)
{
    std::string reason = std::to_string(r.status);
    if (!r.text.empty())
        reason += " " + r.text;
    if (reason.size() > 255)
        reason.resize(255);
    return reason;
}

void wipe_password(auth_request& r) noexcept
{
    sodium_memzero(r.password.data(), r.password.size());
    r.password.clear();
}

authenticator::authenticator(sync_function f)
{
    if (f)
        fn_ = [f = std::move(f)](const auth_request& r, auth_completion done) { done(f(r)); };
}

authenticator authenticator::async(async_function f)
{
    authenticator a;
    a.fn_ = std::move(f);
    return a;
}

void authenticator::operator()(const auth_request& r, auth_completion done) const
{
    if (fn_)
        fn_(r, std::move(done));
    else if (r.mechanism == "PLAIN")
        done(auth_result::refuse(400, "no authenticator")); // fails closed, as libzmq without ZAP
    else
        done(auth_result::accept());
}

namespace authenticators {

namespace {

std::string user_id_of(const auth_request& r)
{
    if (r.client_key)
        return curve_key_to_z85(*r.client_key);
    return r.username;
}

} // namespace

authenticator allow_all()
{
    return authenticator([](const auth_request& r) { return auth_result::accept(user_id_of(r)); });
}

// Passwords are kept only as keyed hashes, and a presented password is
// compared with a hash in constant time: how long a refusal takes says
// nothing about the stored password's content or length, nor whether the
// username exists.
class password_table {
public:
    explicit password_table(std::map<std::string, std::string>& users)
    {
        if (sodium_init() < 0)
            throw std::runtime_error("libsodium could not be initialised");
        randombytes_buf(key_.data(), key_.size());
        randombytes_buf(nobody_.data(), nobody_.size());
        for (auto& [name, password] : users) {
            digests_.emplace(name, digest_of(password));
            sodium_memzero(password.data(), password.size());
        }
    }
    ~password_table() { sodium_memzero(key_.data(), key_.size()); }
    password_table(const password_table&) = delete;
    password_table& operator=(const password_table&) = delete;

    bool matches(const std::string& username, std::string_view password) const
    {
        const digest presented = digest_of(password);
        const auto it = digests_.find(username);
        const digest& expected = it != digests_.end() ? it->second : nobody_;
        const bool equal = sodium_memcmp(presented.data(), expected.data(), presented.size()) == 0;
        return equal && it != digests_.end();
    }

private:
    using digest = std::array<unsigned char, crypto_generichash_BYTES>;

    digest digest_of(std::string_view password) const
    {
        digest d;
        crypto_generichash(d.data(), d.size(), reinterpret_cast<const unsigned char*>(password.data()),
                           password.size(), key_.data(), key_.size());
        return d;
    }

    std::array<unsigned char, crypto_generichash_KEYBYTES> key_;
    digest nobody_; // compared against for unknown usernames; matches nothing
    std::map<std::string, digest> digests_;
};

authenticator plain_credentials(std::map<std::string, std::string> users)
{
    auto table = std::make_shared<const password_table>(users);
    return authenticator([table = std::move(table)](const auth_request& r) {
        if (r.mechanism != "PLAIN")
            return auth_result::refuse(400, "PLAIN credentials required");
        if (!table->matches(r.username, r.password))
            return auth_result::refuse(400, "invalid username or password");
        return auth_result::accept(r.username);
    });
}

authenticator curve_keys(std::set<std::array<std::byte, 32>> allowed)
{
    return authenticator([allowed = std::move(allowed)](const auth_request& r) {
        if (r.mechanism != "CURVE" || !r.client_key)
            return auth_result::refuse(400, "CURVE client key required");
        if (!allowed.contains(*r.client_key))
            return auth_result::refuse(400, "client key not allowed");
        return auth_result::accept(curve_key_to_z85(*r.client_key));
    });
}

} // namespace authenticators
} // namespace zmtp::security
