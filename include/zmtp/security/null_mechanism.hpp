// SPDX-License-Identifier: MPL-2.0
// The NULL mechanism (RFC 23 §The NULL Security Mechanism): each side sends
// READY with its properties; the handshake is done once the peer's READY is
// in. An ERROR from the peer ends it.
#pragma once

#include "zmtp/security/mechanism.hpp"

namespace zmtp::security {

class null_mechanism final : public mechanism {
public:
    explicit null_mechanism(std::size_t max_properties = 256) : max_properties_(max_properties) {}

    std::string_view name() const noexcept override { return "NULL"; }
    bool as_server() const noexcept override { return false; }
    void start(const metadata& local, std::vector<std::byte>& out) override;
    void on_command(std::span<const std::byte> body, std::vector<std::byte>& out) override;

private:
    std::size_t max_properties_;
};

} // namespace zmtp::security
