// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/authenticator.hpp"

#include "zmtp/security/curve_keys.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <vector>

using namespace zmtp;
using security::auth_request;
using security::auth_result;

namespace {

// Asks `a` and returns its answer, requiring exactly one.
auth_result ask(const security::authenticator& a, const auth_request& r)
{
    int answers = 0;
    auth_result result;
    a(r, [&](auth_result got) {
        ++answers;
        result = std::move(got);
    });
    REQUIRE(answers == 1);
    return result;
}

auth_request plain(std::string username, std::string password)
{
    auth_request r;
    r.mechanism = "PLAIN";
    r.username = std::move(username);
    r.password = std::move(password);
    return r;
}

auth_request curve(const security::curve_public_key& key)
{
    auth_request r;
    r.mechanism = "CURVE";
    r.client_key = key;
    return r;
}

security::curve_public_key key_of(unsigned char seed)
{
    security::curve_public_key k;
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<std::byte>(seed + i);
    return k;
}

} // namespace

TEST_CASE("auth_result: accept and refuse")
{
    const auto yes = auth_result::accept("alice");
    CHECK(yes.accepted());
    CHECK(yes.status == 200);
    CHECK(yes.user_id == "alice");
    for (int code : {300, 400, 500}) {
        const auto no = auth_result::refuse(code, "why");
        CHECK_FALSE(no.accepted());
        CHECK(no.status == code);
        CHECK(no.text == "why");
    }
}

TEST_CASE("error_reason is \"CODE TEXT\", at most 255 octets")
{
    CHECK(security::error_reason(auth_result::refuse(400, "invalid username or password")) ==
          "400 invalid username or password");
    CHECK(security::error_reason(auth_result::refuse(500, "")) == "500");
    CHECK(security::error_reason(auth_result::refuse(300, "later")) == "300 later");
    const auto long_reason = security::error_reason(auth_result::refuse(400, std::string(300, 'x')));
    CHECK(long_reason.size() == 255);
    CHECK(long_reason.starts_with("400 xxx"));
}

TEST_CASE("hostile 59: no authenticator fails closed for PLAIN and lets CURVE clients in, as libzmq without ZAP")
{
    const security::authenticator none;
    CHECK_FALSE(none);
    const auto plain_answer = ask(none, plain("anyone", "anything"));
    CHECK(plain_answer.status == 400);
    CHECK(plain_answer.text == "no authenticator");
    CHECK(ask(none, curve(key_of(1))).accepted());
    const security::authenticator empty_function{security::authenticator::sync_function{}};
    CHECK_FALSE(empty_function);
    CHECK_FALSE(ask(empty_function, plain("x", "y")).accepted());
}

TEST_CASE("a synchronous authenticator answers at once with what the function returns")
{
    std::vector<std::string> seen;
    const security::authenticator a([&](const auth_request& r) {
        seen.push_back(r.username);
        return r.username == "ok" ? auth_result::accept("ok-id") : auth_result::refuse(400, "nope");
    });
    CHECK(a);
    const auto yes = ask(a, plain("ok", ""));
    CHECK(yes.accepted());
    CHECK(yes.user_id == "ok-id");
    const auto no = ask(a, plain("other", ""));
    CHECK(no.status == 400);
    CHECK(no.text == "nope");
    CHECK(seen == std::vector<std::string>{"ok", "other"});
}

TEST_CASE("an asynchronous authenticator answers through the completion, later")
{
    security::auth_completion pending;
    auth_request asked;
    const auto a = security::authenticator::async([&](const auth_request& r, security::auth_completion done) {
        asked = r;
        pending = std::move(done);
    });
    CHECK(a);
    std::optional<auth_result> result;
    a(plain("bob", "pw"), [&](auth_result r) { result = std::move(r); });
    CHECK_FALSE(result); // not answered yet
    CHECK(asked.username == "bob");
    CHECK(asked.password == "pw");
    REQUIRE(pending);
    pending(auth_result::refuse(300, "try later"));
    REQUIRE(result);
    CHECK(result->status == 300);
    CHECK(result->text == "try later");
}

TEST_CASE("allow_all: User-Id is the PLAIN username or the Z85 client key")
{
    const auto a = security::authenticators::allow_all();
    const auto p = ask(a, plain("carol", "whatever"));
    CHECK(p.accepted());
    CHECK(p.user_id == "carol");
    const auto c = ask(a, curve(key_of(7)));
    CHECK(c.accepted());
    CHECK(c.user_id == security::curve_key_to_z85(key_of(7)));
    CHECK(c.user_id.size() == 40);
}

TEST_CASE("plain_credentials accepts exactly the configured pairs")
{
    const auto a = security::authenticators::plain_credentials(
        {{"admin", "secret"}, {"guest", ""}, {"", "anonymous"}});

    const auto ok = ask(a, plain("admin", "secret"));
    CHECK(ok.accepted());
    CHECK(ok.user_id == "admin");
    CHECK(ask(a, plain("guest", "")).accepted());
    CHECK(ask(a, plain("", "anonymous")).accepted());

    struct refused_case {
        const char* what;
        auth_request request;
    };
    for (const auto& c : {
             refused_case{"wrong password", plain("admin", "wrong")},
             refused_case{"prefix of the password", plain("admin", "secre")},
             refused_case{"password with more", plain("admin", "secret!")},
             refused_case{"another user's password", plain("guest", "secret")},
             refused_case{"empty password", plain("admin", "")},
             refused_case{"unknown user", plain("mallory", "secret")},
             refused_case{"username differs in case", plain("Admin", "secret")},
         }) {
        CAPTURE(c.what);
        const auto r = ask(a, c.request);
        CHECK(r.status == 400);
        CHECK(r.text == "invalid username or password");
        CHECK(r.user_id.empty());
    }

    const auto other = ask(a, curve(key_of(1)));
    CHECK(other.status == 400);
    CHECK(other.text == "PLAIN credentials required");
}

TEST_CASE("plain_credentials: copies of the authenticator answer alike")
{
    security::authenticator copy;
    {
        const auto a = security::authenticators::plain_credentials({{"admin", "secret"}});
        copy = a;
    }
    CHECK(ask(copy, plain("admin", "secret")).accepted());
    CHECK_FALSE(ask(copy, plain("admin", "other")).accepted());
}

TEST_CASE("plain_credentials with no users refuses everyone")
{
    const auto a = security::authenticators::plain_credentials({});
    CHECK(ask(a, plain("", "")).status == 400);
    CHECK(ask(a, plain("admin", "secret")).status == 400);
}

TEST_CASE("curve_keys accepts exactly the allowed client keys")
{
    const auto a = security::authenticators::curve_keys({key_of(1), key_of(2)});
    for (unsigned char seed : {1, 2}) {
        const auto r = ask(a, curve(key_of(seed)));
        CHECK(r.accepted());
        CHECK(r.user_id == security::curve_key_to_z85(key_of(seed)));
    }
    const auto stranger = ask(a, curve(key_of(3)));
    CHECK(stranger.status == 400);
    CHECK(stranger.text == "client key not allowed");

    auth_request no_key;
    no_key.mechanism = "CURVE";
    CHECK(ask(a, no_key).status == 400);
    const auto p = ask(a, plain("admin", "secret"));
    CHECK(p.status == 400);
    CHECK(p.text == "CURVE client key required");
}

TEST_CASE("curve_keys with a generated key pair")
{
    const auto pair = security::generate_curve_key_pair();
    CHECK(pair.secret_key.public_key() == pair.public_key);
    const auto a = security::authenticators::curve_keys({pair.public_key});
    CHECK(ask(a, curve(pair.public_key)).accepted());
    CHECK_FALSE(ask(a, curve(security::generate_curve_key_pair().public_key)).accepted());
}
