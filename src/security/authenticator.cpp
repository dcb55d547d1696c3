#include "zmtp/security/authenticator.hpp"

#include "zmtp/security/curve_keys.hpp"

#include <algorithm>

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

authenticator plain_credentials(std::map<std::string, std::string> users)
{
    return authenticator([users = std::move(users)](const auth_request& r) {
        if (r.mechanism != "PLAIN")
            return auth_result::refuse(400, "PLAIN credentials required");
        const auto it = users.find(r.username);
        if (it == users.end() || it->second != r.password)
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
