// SPDX-License-Identifier: MPL-2.0
// CURVE's server handshake: HELLO opened, WELCOME with the cookie, INITIATE's
// cookie and vouch checked, the authenticator asked, READY or ERROR.
#include "curve_internal.hpp"

#include "zmtp/error.hpp"
#include "zmtp/wire/command.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace zmtp::security {

using namespace detail; // curve_internal.hpp

curve_server_mechanism::curve_server_mechanism(curve_key_pair mine, std::size_t max_properties,
                                               random_source rng)
    : curve_mechanism_base(mine, max_properties, std::move(rng), server_message_prefix,
                           client_message_prefix)
{
}

void curve_server_mechanism::wipe_secrets() noexcept
{
    curve_mechanism_base::wipe_secrets();
    cookie_key_.wipe();
}

// The server speaks second: READY carries `local` once the client is in.
void curve_server_mechanism::start(const metadata& local, std::vector<std::byte>&)
{
    wire::encode_metadata(local, local_);
}

void curve_server_mechanism::on_command(std::span<const std::byte> body, std::vector<std::byte>& out)
{
    wire::command_view cmd;
    if (state() == status::authenticating)
        expect(body, {}, cmd);
    else if (step_ == step::expect_hello && expect(body, "HELLO", cmd))
        on_hello(cmd.data, out);
    else if (step_ == step::expect_initiate && expect(body, "INITIATE", cmd))
        on_initiate(cmd.data);
}

// HELLO (see the client's start()); answered by WELCOME: long nonce,
// Box[S' + cookie](S->C'), the cookie being a long nonce and
// Box[C' + s'](cookie key).
void curve_server_mechanism::on_hello(std::span<const std::byte> data, std::vector<std::byte>& out)
{
    if (data.size() != hello_body_size - 6) {
        refuse(make_error_code(error::malformed_command),
               size_reason("HELLO", data.size() + 6, "200"));
        return;
    }
    const auto major = std::to_integer<int>(data[0]);
    const auto minor = std::to_integer<int>(data[1]);
    if (major != 1 || minor != 0) {
        refuse(make_error_code(error::malformed_command),
               "HELLO announces CurveZMQ " + std::to_string(major) + "." + std::to_string(minor) +
                   ", expected 1.0");
        return;
    }
    // The padding only makes HELLO larger than WELCOME (RFC 26); libzmq
    // does not check it either.
    const auto fields = data.subspan(2 + 72);
    std::memcpy(client_transient_.data(), fields.data(), key_size);
    const auto short_nonce = fields.subspan(key_size, short_nonce_size);
    std::array<std::byte, 64> signature;
    if (!unbox(signature.data(), fields.subspan(key_size + short_nonce_size),
               make_nonce("CurveZMQHELLO---", short_nonce),
               std::span<const std::byte, key_size>(client_transient_), secret_key_)) {
        refuse(make_error_code(error::authentication_failed),
               "HELLO signature box does not open: the client probably uses another server key");
        return;
    }
    if (!sodium_is_zero(uc(signature.data()), signature.size())) {
        refuse(make_error_code(error::authentication_failed),
               "HELLO signature box does not hold 64 zero octets");
        return;
    }

    random_secret(rng_, transient_secret_);
    random_secret(rng_, cookie_key_);
    // welcome = S' + cookie nonce + Box[C' + s'](K).
    std::array<std::byte, key_size + cookie_size> welcome;
    const curve_public_key server_transient = public_of(transient_secret_);
    std::memcpy(welcome.data(), server_transient.data(), key_size);
    std::byte* cookie = welcome.data() + key_size;
    rng_(std::span<std::byte>(cookie, long_nonce_size));
    std::array<std::byte, 2 * key_size> keys; // C' + s'
    std::memcpy(keys.data(), client_transient_.data(), key_size);
    std::memcpy(keys.data() + key_size, transient_secret_.data(), key_size);
    const nonce cookie_nonce = make_nonce("COOKIE--", {cookie, long_nonce_size});
    crypto_secretbox_easy(uc(cookie + long_nonce_size), uc(keys.data()), keys.size(),
                          cookie_nonce.data(), uc(cookie_key_.data()));
    sodium_memzero(keys.data(), keys.size());

    std::array<std::byte, welcome_body_size - 8> reply; // after `07 WELCOME`
    rng_(std::span<std::byte>(reply.data(), long_nonce_size));
    box(reply.data() + long_nonce_size, welcome, make_nonce("WELCOME-", {reply.data(), long_nonce_size}),
        client_transient_, secret_key_);
    secret_key_.wipe();
    wire::append_command(out, "WELCOME", reply);
    step_ = step::expect_initiate;
}

// INITIATE (see the client's on_welcome()). The cookie must be this
// connection's; the vouch must name C' and our long-term key S.
void curve_server_mechanism::on_initiate(std::span<const std::byte> data)
{
    if (data.size() < initiate_min_body - 9) {
        refuse(make_error_code(error::malformed_command),
               size_reason("INITIATE", data.size() + 9, "at least 257"));
        return;
    }
    std::array<std::byte, 2 * key_size> cookie; // C' + s'
    const nonce cookie_nonce = make_nonce("COOKIE--", data.first(long_nonce_size));
    const bool opened = crypto_secretbox_open_easy(
                            uc(cookie.data()), uc(data.data() + long_nonce_size),
                            cookie_size - long_nonce_size, cookie_nonce.data(),
                            uc(cookie_key_.data())) == 0;
    cookie_key_.wipe(); // one INITIATE per cookie (RFC 26)
    const bool ours = opened &&
                      sodium_memcmp(cookie.data(), client_transient_.data(), key_size) == 0 &&
                      sodium_memcmp(cookie.data() + key_size, transient_secret_.data(), key_size) == 0;
    sodium_memzero(cookie.data(), cookie.size());
    if (!ours) {
        refuse(make_error_code(error::authentication_failed),
               opened ? "INITIATE cookie names another transient key"
                      : "INITIATE cookie does not open: it is not from this server and connection");
        return;
    }
    // Cannot fail once HELLO's box opened with the same C'; checked all the same.
    if (!boxes_.derive(client_transient_, transient_secret_)) {
        refuse(make_error_code(error::authentication_failed),
               "HELLO named a degenerate transient key (a small-order point)");
        return;
    }

    std::vector<std::byte> region(data.begin() + cookie_size, data.end());
    if (boxes_.open("CurveZMQINITIATE", region) != detail::curve_boxes::opened::ok) {
        refuse(make_error_code(error::authentication_failed),
               "INITIATE box does not open: forged or altered");
        return;
    }
    const auto plain = std::span<const std::byte>(region).subspan(box_header);
    const auto client_key = plain.first<key_size>();
    const auto vouch = plain.subspan(key_size, vouch_size);
    std::array<std::byte, 2 * key_size> vouched; // C' + S
    const bool vouch_opens = unbox(vouched.data(), vouch.subspan(long_nonce_size),
                                   make_nonce("VOUCH---", vouch.first(long_nonce_size)), client_key,
                                   transient_secret_);
    transient_secret_.wipe();
    if (!vouch_opens) {
        refuse(make_error_code(error::authentication_failed),
               "INITIATE vouch does not open with the client key it names");
        return;
    }
    if (sodium_memcmp(vouched.data(), client_transient_.data(), key_size) != 0) {
        refuse(make_error_code(error::authentication_failed),
               "INITIATE vouch is for another transient key");
        return;
    }
    if (sodium_memcmp(vouched.data() + key_size, public_key_.data(), key_size) != 0) {
        refuse(make_error_code(error::authentication_failed),
               "INITIATE vouch is for another server key");
        return;
    }
    auth_request request;
    request.mechanism = "CURVE";
    request.client_key.emplace();
    std::copy(client_key.begin(), client_key.end(), request.client_key->begin());
    if (auto ec = wire::parse_metadata(plain.subspan(key_size + vouch_size), max_properties_,
                                       request.peer)) {
        refuse(ec, "bad INITIATE metadata: " + ec.message());
        return;
    }
    authenticate(std::move(request));
}

// Accepted: READY, short nonce, Box[metadata](S'->C'). Refused: ERROR.
void curve_server_mechanism::on_auth_result(const auth_result& result, std::vector<std::byte>& out)
{
    if (state() != status::authenticating) {
        mechanism::on_auth_result(result, out);
        return;
    }
    if (!result.accepted()) {
        const std::string reason = error_reason(result);
        wire::append_error(out, reason);
        refuse(make_error_code(error::authentication_failed), "authentication refused: " + reason);
        return;
    }
    std::vector<std::byte> ready(box_header + local_.size());
    if (!local_.empty())
        std::memcpy(ready.data() + box_header, local_.data(), local_.size());
    boxes_.seal("CurveZMQREADY---", ready);
    wire::append_command(out, "READY", ready);
    succeed(pending_auth().peer);
}

} // namespace zmtp::security
