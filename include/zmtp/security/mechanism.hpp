// A security mechanism runs the handshake that follows the greeting
// (RFC 23 §Authentication and Confidentiality). It is driven by the codec
// with command bodies and writes its own commands as whole frames; it does
// no I/O and reads no clock.
#pragma once

#include "zmtp/wire/metadata.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace zmtp::security {

class mechanism {
public:
    enum class status { in_progress, ready, failed };

    virtual ~mechanism() = default;

    // The name announced in the greeting ("NULL", "PLAIN", "CURVE").
    virtual std::string_view name() const noexcept = 0;
    // The as-server octet of our greeting.
    virtual bool as_server() const noexcept = 0;

    // The peer's greeting has arrived: send the first commands, if any.
    // `local` holds the properties to announce (Socket-Type, Identity, ...).
    virtual void start(const metadata& local, std::vector<std::byte>& out) = 0;
    // The body of one command frame received during the handshake.
    virtual void on_command(std::span<const std::byte> body, std::vector<std::byte>& out) = 0;

    status state() const noexcept { return state_; }
    // Why the handshake failed, when state() is failed.
    std::error_code error() const noexcept { return error_; }
    const std::string& reason() const noexcept { return reason_; }
    // The peer's properties, once state() is ready.
    const metadata& peer_metadata() const noexcept { return peer_; }

protected:
    void succeed(metadata peer)
    {
        peer_ = std::move(peer);
        state_ = status::ready;
    }
    void fail(std::error_code ec, std::string reason)
    {
        error_ = ec;
        reason_ = std::move(reason);
        state_ = status::failed;
    }

private:
    status state_ = status::in_progress;
    std::error_code error_;
    std::string reason_;
    metadata peer_;
};

} // namespace zmtp::security
