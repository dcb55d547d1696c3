// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/plain_mechanism.hpp"

#include "zmtp/printable.hpp"
#include "zmtp/error.hpp"
#include "zmtp/wire/command.hpp"

#include <sodium.h>

#include <string>
#include <utility>

namespace zmtp::security {
namespace {

constexpr std::size_t max_credential_size = 255; // RFC 24: a one-octet length

void wipe(std::string& s) noexcept
{
    sodium_memzero(s.data(), s.size());
    s.clear();
}

// Splits one handshake command. A non-zero result ends the handshake, with
// `why` saying how: the peer's ERROR (either form) or a malformed body.
std::error_code split(std::span<const std::byte> body, wire::command_view& cmd, std::string& why)
{
    std::string_view peer_reason;
    if (wire::parse_handshake_error(body, peer_reason)) {
        why = "peer refused: " + printable(peer_reason);
        return make_error_code(error::peer_error);
    }
    if (auto ec = wire::parse_command(body, cmd)) {
        why = "malformed command during the PLAIN handshake";
        return ec;
    }
    return {};
}

std::string unexpected(std::string_view got, std::string_view expected)
{
    return "unexpected " + printable(got) + " command during the PLAIN handshake (expected " +
           std::string(expected) + ")";
}

void append_short_string(std::vector<std::byte>& out, std::string_view s)
{
    out.push_back(static_cast<std::byte>(s.size()));
    const auto b = std::as_bytes(std::span<const char>(s.data(), s.size()));
    out.insert(out.end(), b.begin(), b.end());
}

// Reads one short string (a length octet and that many octets) from the
// front of `data` and advances past it; false when it runs past the end.
bool take_short_string(std::span<const std::byte>& data, std::string& out)
{
    if (data.empty())
        return false;
    const std::size_t n = std::to_integer<std::uint8_t>(data[0]);
    if (n > data.size() - 1)
        return false;
    out.assign(reinterpret_cast<const char*>(data.data() + 1), n);
    data = data.subspan(1 + n);
    return true;
}

} // namespace

// ---- client ----

plain_client_mechanism::plain_client_mechanism(std::string username, std::string password,
                                               std::size_t max_properties)
    : username_(std::move(username)), password_(std::move(password)), max_properties_(max_properties)
{
}

plain_client_mechanism::~plain_client_mechanism()
{
    wipe(password_);
}

void plain_client_mechanism::start(const metadata& local, std::vector<std::byte>& out)
{
    step_ = step::done;
    if (username_.size() > max_credential_size || password_.size() > max_credential_size) {
        wipe(password_);
        fail(make_error_code(error::invalid_argument),
             "PLAIN username and password are at most 255 octets each");
        return;
    }
    local_ = local;
    std::vector<std::byte> hello;
    hello.reserve(2 + username_.size() + password_.size()); // no reallocation leaves a copy behind
    append_short_string(hello, username_);
    append_short_string(hello, password_);
    wire::append_command(out, "HELLO", hello);
    sodium_memzero(hello.data(), hello.size());
    wipe(password_);
    step_ = step::expect_welcome;
}

void plain_client_mechanism::on_command(std::span<const std::byte> body, std::vector<std::byte>& out)
{
    wire::command_view cmd;
    std::string why;
    if (auto ec = split(body, cmd, why)) {
        step_ = step::done;
        fail(ec, std::move(why));
        return;
    }
    switch (step_) {
    case step::expect_welcome: {
        if (cmd.name != "WELCOME")
            break;
        if (!cmd.data.empty()) {
            step_ = step::done;
            fail(make_error_code(error::malformed_command), "PLAIN WELCOME carries data");
            return;
        }
        std::vector<std::byte> properties;
        wire::encode_metadata(local_, properties);
        wire::append_command(out, "INITIATE", properties);
        step_ = step::expect_ready;
        return;
    }
    case step::expect_ready: {
        if (cmd.name != "READY")
            break;
        step_ = step::done;
        metadata peer;
        if (auto ec = wire::parse_metadata(cmd.data, max_properties_, peer)) {
            fail(ec, "bad READY metadata: " + ec.message());
            return;
        }
        succeed(std::move(peer));
        return;
    }
    case step::not_started:
    case step::done:
        break;
    }
    const char* expected = step_ == step::expect_welcome ? "WELCOME"
                           : step_ == step::expect_ready ? "READY"
                                                         : "nothing";
    step_ = step::done;
    fail(make_error_code(error::unexpected_command), unexpected(cmd.name, expected));
}

// ---- server ----

void plain_server_mechanism::start(const metadata& local, std::vector<std::byte>&)
{
    local_ = local;
    step_ = step::expect_hello;
}

void plain_server_mechanism::on_command(std::span<const std::byte> body, std::vector<std::byte>& out)
{
    wire::command_view cmd;
    std::string why;
    if (auto ec = split(body, cmd, why)) {
        step_ = step::done;
        fail(ec, std::move(why));
        return;
    }
    if (step_ == step::expect_hello && cmd.name == "HELLO") {
        on_hello(cmd.data);
        return;
    }
    if (step_ == step::expect_initiate && cmd.name == "INITIATE") {
        on_initiate(cmd.data, out);
        return;
    }
    const char* expected = step_ == step::expect_hello      ? "HELLO"
                           : step_ == step::expect_initiate ? "INITIATE"
                           : step_ == step::expect_answer   ? "nothing while authenticating"
                                                            : "nothing";
    step_ = step::done;
    fail(make_error_code(error::unexpected_command), unexpected(cmd.name, expected));
}

void plain_server_mechanism::on_hello(std::span<const std::byte> data)
{
    auth_request request;
    request.mechanism = "PLAIN";
    const char* malformed = nullptr;
    if (!take_short_string(data, request.username) || !take_short_string(data, request.password))
        malformed = "PLAIN HELLO: username or password runs past the command";
    else if (!data.empty())
        malformed = "PLAIN HELLO: bytes after the password";
    if (malformed) {
        wipe(request.password);
        step_ = step::done;
        fail(make_error_code(error::malformed_command), malformed);
        return;
    }
    step_ = step::expect_answer;
    authenticate(std::move(request));
}

void plain_server_mechanism::on_auth_result(const auth_result& result, std::vector<std::byte>& out)
{
    if (step_ != step::expect_answer) {
        mechanism::on_auth_result(result, out);
        return;
    }
    wipe_pending_password();
    if (result.accepted()) {
        wire::append_command(out, "WELCOME", {});
        step_ = step::expect_initiate;
        resume();
        return;
    }
    const std::string reason = error_reason(result);
    wire::append_error(out, reason);
    step_ = step::done;
    fail(make_error_code(error::authentication_failed), "authentication refused: " + reason);
}

void plain_server_mechanism::on_initiate(std::span<const std::byte> data, std::vector<std::byte>& out)
{
    step_ = step::done;
    metadata peer;
    if (auto ec = wire::parse_metadata(data, max_properties_, peer)) {
        fail(ec, "bad INITIATE metadata: " + ec.message());
        return;
    }
    wire::append_ready(out, local_);
    succeed(std::move(peer));
}

} // namespace zmtp::security
