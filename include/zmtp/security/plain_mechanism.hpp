// SPDX-License-Identifier: MPL-2.0
// The PLAIN mechanism (RFC 24): the client presents a username and a
// password in clear text, the server asks its authenticator about them.
//
//   client                          server
//   HELLO username password   →
//                                   (authenticating)
//                             ←     WELCOME            or ERROR "400 ..."
//   INITIATE metadata         →
//                             ←     READY metadata
//
// Either side ends the handshake on an ERROR from the peer, including
// libzmq 4.3.4's garbled `5e 'RROR'` form (docs/libzmq-wire.md fact 9).
//
// Both roles announce as-server 0 in the greeting, as libzmq does (captures
// fact 2): roles come from configuration, and libzmq ignores the octet.
#pragma once

#include "zmtp/security/mechanism.hpp"

#include <cstddef>
#include <string>

namespace zmtp::security {

class plain_client_mechanism final : public mechanism {
public:
    // Username and password are 0..255 octets each; a longer one fails the
    // handshake at start() with invalid_argument, before anything is sent.
    plain_client_mechanism(std::string username, std::string password,
                           std::size_t max_properties = 256);
    ~plain_client_mechanism() override;
    plain_client_mechanism(const plain_client_mechanism&) = delete;
    plain_client_mechanism& operator=(const plain_client_mechanism&) = delete;

    std::string_view name() const noexcept override { return "PLAIN"; }
    bool as_server() const noexcept override { return false; }
    void start(const metadata& local, std::vector<std::byte>& out) override;
    void on_command(std::span<const std::byte> body, std::vector<std::byte>& out) override;

private:
    enum class step { not_started, expect_welcome, expect_ready, done };

    std::string username_;
    std::string password_; // wiped once HELLO is out
    std::size_t max_properties_;
    metadata local_;
    step step_ = step::not_started;
};

class plain_server_mechanism final : public mechanism {
public:
    explicit plain_server_mechanism(std::size_t max_properties = 256)
        : max_properties_(max_properties) {}

    std::string_view name() const noexcept override { return "PLAIN"; }
    bool as_server() const noexcept override { return false; }
    void start(const metadata& local, std::vector<std::byte>& out) override;
    void on_command(std::span<const std::byte> body, std::vector<std::byte>& out) override;
    void on_auth_result(const auth_result& result, std::vector<std::byte>& out) override;

private:
    enum class step { not_started, expect_hello, expect_answer, expect_initiate, done };

    void on_hello(std::span<const std::byte> data);
    void on_initiate(std::span<const std::byte> data, std::vector<std::byte>& out);

    std::size_t max_properties_;
    metadata local_;
    step step_ = step::not_started;
};

} // namespace zmtp::security
