// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/mechanism_factory.hpp"

#include "zmtp/error.hpp"
#include "zmtp/security/curve_mechanism.hpp"
#include "zmtp/security/plain_mechanism.hpp"

namespace zmtp::security {
namespace {

// Stands in for the mechanism that unusable options failed to describe.
class refusing_mechanism final : public mechanism {
public:
    explicit refusing_mechanism(std::string reason) : reason_(std::move(reason)) {}
    std::string_view name() const noexcept override { return "NULL"; }
    bool as_server() const noexcept override { return false; }
    void start(const metadata&, std::vector<std::byte>&) override
    {
        fail(make_error_code(error::invalid_argument), reason_);
    }
    void on_command(std::span<const std::byte>, std::vector<std::byte>&) override {}

private:
    std::string reason_;
};

} // namespace

std::error_code make_mechanism_factory(const socket_options& o, mechanism_factory& out,
                                       std::string& reason)
{
    out = {};
    const bool plain_client = !o.plain_username.empty() || !o.plain_password.empty();
    const bool curve_client = o.curve_serverkey.has_value() && !o.curve_server;
    const int wanted = int{plain_client} + int{o.plain_server} + int{o.curve_server} + int{curve_client};
    auto invalid = [&](std::string why) {
        reason = std::move(why);
        return make_error_code(error::invalid_argument);
    };
    if (wanted > 1)
        return invalid("security options ask for more than one mechanism "
                       "(set only one of PLAIN client, PLAIN server, CURVE client, CURVE server)");
    const std::size_t max_properties = o.limits.max_properties;
    if (plain_client) {
        if (o.plain_username.empty())
            return invalid("PLAIN client: a password without a username");
        if (o.plain_username.size() > 255 || o.plain_password.size() > 255)
            return invalid("PLAIN client: username and password are at most 255 octets each");
        out = [user = o.plain_username, password = o.plain_password, max_properties] {
            return std::make_unique<plain_client_mechanism>(user, password, max_properties);
        };
        return {};
    }
    if (o.plain_server) {
        // libzmq refuses every PLAIN client when no ZAP handler answers;
        // refusing them all here would only hide the missing piece.
        if (!o.authenticator)
            return invalid("PLAIN server without an authenticator would refuse every client (set "
                           "authenticator, e.g. security::authenticators::plain_credentials)");
        out = [max_properties] { return std::make_unique<plain_server_mechanism>(max_properties); };
        return {};
    }
    if (!o.curve_server && !curve_client) {
        if (!o.curve_secretkey.empty() || o.curve_publickey)
            return invalid("CURVE keys are set, but neither curve_server nor curve_serverkey");
        return {};
    }
    std::optional<curve_key_pair> mine;
    if (!o.curve_secretkey.empty()) {
        mine.emplace();
        mine->secret_key = o.curve_secretkey;
        mine->public_key = o.curve_secretkey.public_key();
        if (o.curve_publickey && *o.curve_publickey != mine->public_key)
            return invalid("CURVE: curve_publickey does not belong to curve_secretkey");
    } else if (o.curve_publickey) {
        return invalid("CURVE: curve_publickey without curve_secretkey");
    }
    if (o.curve_server) {
        if (!mine)
            return invalid("CURVE server: curve_secretkey is required");
        out = [pair = *mine, max_properties] {
            return std::make_unique<curve_server_mechanism>(pair, max_properties);
        };
        return {};
    }
    // A client without its own key pair makes a fresh one per connection.
    out = [pair = mine, server = *o.curve_serverkey, max_properties] {
        return std::make_unique<curve_client_mechanism>(pair ? *pair : generate_curve_key_pair(),
                                                        server, max_properties);
    };
    return {};
}

mechanism_factory mechanism_factory_for(const socket_options& options)
{
    mechanism_factory f;
    std::string reason;
    if (make_mechanism_factory(options, f, reason))
        return [reason] { return std::make_unique<refusing_mechanism>(reason); };
    return f;
}

} // namespace zmtp::security
