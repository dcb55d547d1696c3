// SPDX-License-Identifier: MPL-2.0
// CURVE's client handshake: HELLO, WELCOME opened, INITIATE with the vouch,
// READY opened.
#include "curve_internal.hpp"

#include "zmtp/error.hpp"
#include "zmtp/wire/command.hpp"

#include <cstring>
#include <string>

namespace zmtp::security {

using namespace detail; // curve_internal.hpp

curve_client_mechanism::curve_client_mechanism(curve_key_pair mine, curve_public_key server_key,
                                               std::size_t max_properties, random_source rng)
    : curve_mechanism_base(mine, max_properties, std::move(rng), client_message_prefix,
                           server_message_prefix),
      server_key_(server_key)
{
}

// HELLO: version 1.0, 72 octets of padding, C', short nonce, Box[64 zeros](C'->S).
void curve_client_mechanism::start(const metadata& local, std::vector<std::byte>& out)
{
    wire::encode_metadata(local, local_);
    random_secret(rng_, transient_secret_);
    transient_public_ = public_of(transient_secret_);

    std::array<std::byte, hello_body_size - 6> data{}; // after `05 HELLO`
    data[0] = std::byte{1};
    std::byte* p = data.data() + 2 + 72;
    std::memcpy(p, transient_public_.data(), key_size);
    p += key_size;
    put_u64(p, boxes_.next_nonce());
    const std::array<std::byte, 64> zeros{};
    box(p + short_nonce_size, zeros, make_nonce("CurveZMQHELLO---", {p, short_nonce_size}),
        server_key_, transient_secret_);
    wire::append_command(out, "HELLO", data);
    step_ = step::expect_welcome;
}

void curve_client_mechanism::on_command(std::span<const std::byte> body, std::vector<std::byte>& out)
{
    wire::command_view cmd;
    switch (step_) {
    case step::before_start:
        expect(body, {}, cmd);
        return;
    case step::expect_welcome:
        if (expect(body, "WELCOME", cmd))
            on_welcome(cmd.data, out);
        return;
    case step::expect_ready:
        if (expect(body, "READY", cmd))
            on_ready(cmd.data);
        return;
    }
}

// WELCOME: long nonce, Box[S' + cookie](S->C'). Answered by INITIATE:
// cookie, short nonce, Box[C + vouch + metadata](C'->S'), where the vouch is
// a long nonce and Box[C' + S](C->S').
void curve_client_mechanism::on_welcome(std::span<const std::byte> data, std::vector<std::byte>& out)
{
    if (data.size() != welcome_body_size - 8) {
        refuse(make_error_code(error::malformed_command),
               size_reason("WELCOME", data.size() + 8, "168"));
        return;
    }
    std::array<std::byte, key_size + cookie_size> welcome; // S' + cookie
    if (!unbox(welcome.data(), data.subspan(long_nonce_size),
               make_nonce("WELCOME-", data.first(long_nonce_size)), server_key_,
               transient_secret_)) {
        refuse(make_error_code(error::authentication_failed),
               "WELCOME box does not open: the server does not hold the secret key of the "
               "server key we were given");
        return;
    }
    curve_public_key server_transient;
    std::memcpy(server_transient.data(), welcome.data(), key_size);
    if (!boxes_.derive(server_transient, transient_secret_)) {
        refuse(make_error_code(error::authentication_failed),
               "WELCOME names a degenerate transient key (a small-order point)");
        return;
    }
    transient_secret_.wipe();

    // The INITIATE body after its name: cookie, then the sealed region.
    std::vector<std::byte> initiate(cookie_size + box_header + key_size + vouch_size + local_.size());
    std::memcpy(initiate.data(), welcome.data() + key_size, cookie_size);
    std::byte* plain = initiate.data() + cookie_size + box_header;
    std::memcpy(plain, public_key_.data(), key_size);
    std::byte* vouch = plain + key_size;
    rng_(std::span<std::byte>(vouch, long_nonce_size));
    std::array<std::byte, 2 * key_size> vouched; // C' + S
    std::memcpy(vouched.data(), transient_public_.data(), key_size);
    std::memcpy(vouched.data() + key_size, server_key_.data(), key_size);
    box(vouch + long_nonce_size, vouched, make_nonce("VOUCH---", {vouch, long_nonce_size}),
        server_transient, secret_key_);
    secret_key_.wipe();
    if (!local_.empty())
        std::memcpy(vouch + vouch_size, local_.data(), local_.size());
    boxes_.seal("CurveZMQINITIATE", std::span<std::byte>(initiate).subspan(cookie_size));
    wire::append_command(out, "INITIATE", initiate);
    step_ = step::expect_ready;
}

// READY: short nonce, Box[metadata](S'->C').
void curve_client_mechanism::on_ready(std::span<const std::byte> data)
{
    if (data.size() < ready_min_body - 6) {
        refuse(make_error_code(error::malformed_command),
               size_reason("READY", data.size() + 6, "at least 30"));
        return;
    }
    std::vector<std::byte> region(data.begin(), data.end());
    if (boxes_.open("CurveZMQREADY---", region) != detail::curve_boxes::opened::ok) {
        refuse(make_error_code(error::authentication_failed),
               "READY box does not open: forged or altered");
        return;
    }
    metadata peer;
    if (auto ec = wire::parse_metadata(std::span<const std::byte>(region).subspan(box_header),
                                       max_properties_, peer)) {
        refuse(ec, "bad READY metadata: " + ec.message());
        return;
    }
    succeed(std::move(peer));
}

} // namespace zmtp::security
