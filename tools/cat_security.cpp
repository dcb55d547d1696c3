// SPDX-License-Identifier: MPL-2.0
#include "cat_security.hpp"

#include "zmtp/security/curve_keys.hpp"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace zmtp::cat {

namespace {

constexpr std::size_t max_credential_size = 255; // PLAIN's one-octet lengths

std::string bad_key(const char* option)
{
    return std::string(option) + " is not a CURVE key (40 Z85 characters)";
}

std::optional<std::string> apply_plain_server(const security_flags& f, socket_options& o)
{
    if (f.plain_credentials.empty())
        return "--plain-server needs at least one --plain-credentials USERNAME:PASSWORD";
    std::map<std::string, std::string> users;
    for (const std::string& entry : f.plain_credentials) {
        // The username ends at the first ':'; the password may hold more.
        const auto colon = entry.find(':');
        if (colon == std::string::npos)
            return "--plain-credentials takes USERNAME:PASSWORD (no ':' found)";
        std::string user = entry.substr(0, colon);
        if (user.empty())
            return "--plain-credentials: the username must not be empty";
        if (user.size() > max_credential_size || entry.size() - colon - 1 > max_credential_size)
            return "--plain-credentials: username and password are at most 255 octets each";
        if (users.contains(user))
            return "--plain-credentials: username '" + user + "' given twice";
        users.emplace(std::move(user), entry.substr(colon + 1));
    }
    o.plain_server = true;
    o.authenticator = security::authenticators::plain_credentials(std::move(users));
    return std::nullopt;
}

std::optional<std::string> apply_curve_server(const security_flags& f, socket_options& o)
{
    if (!f.curve_secret_key)
        return "--curve-server needs --curve-secret-key";
    auto secret = security::curve_key_from_z85(*f.curve_secret_key);
    if (!secret)
        return bad_key("--curve-secret-key");
    std::set<security::curve_public_key> allowed;
    for (const std::string& k : f.curve_allow) {
        const auto key = security::curve_key_from_z85(k);
        if (!key)
            return bad_key("--curve-allow");
        allowed.insert(*key);
    }
    o.curve_server = true;
    o.curve_secretkey = security::curve_secret_key(*secret);
    sodium_memzero(secret->data(), secret->size());
    if (!allowed.empty())
        o.authenticator = security::authenticators::curve_keys(std::move(allowed));
    return std::nullopt;
}

std::optional<std::string> apply_curve_client(const security_flags& f, socket_options& o)
{
    const auto server_key = security::curve_key_from_z85(*f.curve_server_key);
    if (!server_key)
        return bad_key("--curve-server-key");
    o.curve_serverkey = *server_key;
    if (f.curve_secret_key) {
        auto secret = security::curve_key_from_z85(*f.curve_secret_key);
        if (!secret)
            return bad_key("--curve-secret-key");
        o.curve_secretkey = security::curve_secret_key(*secret);
        sodium_memzero(secret->data(), secret->size());
        o.curve_publickey = o.curve_secretkey.public_key();
    }
    return std::nullopt;
}

// A secret given once, as `option` itself, `option`-file or `option`-env:
// into `value`. A file's one trailing newline is not part of it.
std::optional<std::string> load_secret(std::optional<std::string>& value,
                                       const std::optional<std::string>& file,
                                       const std::optional<std::string>& env, const std::string& option)
{
    if (value.has_value() + file.has_value() + env.has_value() > 1)
        return "give only one of " + option + ", " + option + "-file and " + option + "-env";
    if (file) {
        std::ifstream in(*file, std::ios::binary);
        std::ostringstream text;
        if (!in || !(text << in.rdbuf()))
            return option + "-file: cannot read '" + *file + "'";
        value = text.str();
        if (value->ends_with('\n'))
            value->pop_back();
        if (value->ends_with('\r'))
            value->pop_back();
    }
    if (env) {
        const char* v = std::getenv(env->c_str());
        if (v == nullptr)
            return option + "-env: the environment variable '" + *env + "' is not set";
        value = v;
    }
    return std::nullopt;
}

} // namespace

void add_security_options(CLI::App& app, security_flags& f)
{
    app.add_option("--plain-username", f.plain_username, "PLAIN client: username")->type_name("U");
    app.add_option("--plain-password", f.plain_password, "PLAIN client: password")->type_name("P");
    app.add_flag("--plain-server", f.plain_server, "PLAIN server");
    app.add_option("--plain-credentials", f.plain_credentials,
                   "PLAIN server: accept this USERNAME:PASSWORD (repeatable)")
        ->type_name("U:P");
    app.add_flag("--curve-server", f.curve_server, "CURVE server (needs --curve-secret-key)");
    app.add_option("--curve-secret-key", f.curve_secret_key, "CURVE: our long-term secret key")
        ->type_name("Z85");
    app.add_option("--curve-allow", f.curve_allow,
                   "CURVE server: accept only these client public keys (repeatable)")
        ->type_name("Z85");
    app.add_option("--curve-server-key", f.curve_server_key, "CURVE client: the server's public key")
        ->type_name("Z85");
    app.add_option("--plain-password-file", f.plain_password_file,
                   "PLAIN client: the password is this file's content (one trailing newline dropped)")
        ->type_name("FILE");
    app.add_option("--plain-password-env", f.plain_password_env,
                   "PLAIN client: the password is this environment variable's value")
        ->type_name("VAR");
    app.add_option("--curve-secret-key-file", f.curve_secret_key_file,
                   "CURVE: our secret key is this file's content (Z85, one trailing newline dropped)")
        ->type_name("FILE");
    app.add_option("--curve-secret-key-env", f.curve_secret_key_env,
                   "CURVE: our secret key is this environment variable's value (Z85)")
        ->type_name("VAR");
}

std::optional<std::string> apply_security(security_flags f, socket_options& o)
{
    if (auto bad = load_secret(f.plain_password, f.plain_password_file, f.plain_password_env,
                               "--plain-password"))
        return bad;
    if (auto bad = load_secret(f.curve_secret_key, f.curve_secret_key_file, f.curve_secret_key_env,
                               "--curve-secret-key"))
        return bad;
    const bool plain_client = f.plain_username || f.plain_password;
    const bool plain_server = f.plain_server || !f.plain_credentials.empty();
    const bool curve_server = f.curve_server || !f.curve_allow.empty();
    const bool curve_client = f.curve_server_key.has_value();
    if (plain_client + plain_server + curve_server + curve_client > 1)
        return "choose one of: PLAIN client (--plain-username), PLAIN server (--plain-server), "
               "CURVE server (--curve-server), CURVE client (--curve-server-key)";
    if (f.curve_secret_key && !curve_server && !curve_client)
        return "--curve-secret-key needs --curve-server or --curve-server-key";

    if (plain_client) {
        if (!f.plain_username)
            return "--plain-password needs --plain-username";
        if (f.plain_username->empty())
            return "--plain-username must not be empty";
        const std::string password = f.plain_password.value_or("");
        if (f.plain_username->size() > max_credential_size || password.size() > max_credential_size)
            return "--plain-username and --plain-password are at most 255 octets each";
        o.plain_username = *f.plain_username;
        o.plain_password = password;
        return std::nullopt;
    }
    if (plain_server) {
        if (!f.plain_server)
            return "--plain-credentials needs --plain-server";
        return apply_plain_server(f, o);
    }
    if (curve_server) {
        if (!f.curve_server)
            return "--curve-allow needs --curve-server";
        return apply_curve_server(f, o);
    }
    if (curve_client)
        return apply_curve_client(f, o);
    return std::nullopt;
}

std::string keygen_json()
{
    const auto pair = security::generate_curve_key_pair();
    nlohmann::json j;
    j["public"] = security::curve_key_to_z85(pair.public_key);
    j["secret"] = security::curve_key_to_z85(pair.secret_key.bytes());
    return j.dump();
}

} // namespace zmtp::cat
