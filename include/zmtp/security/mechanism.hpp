// SPDX-License-Identifier: MPL-2.0
// A security mechanism runs the handshake that follows the greeting
// (RFC 23 §Authentication and Confidentiality). It is driven by the codec
// with command bodies and writes its own commands as whole frames; it does
// no I/O, reads no clock and takes its randomness from what it is given.
//
// A server mechanism that must authenticate its client stops in
// `authenticating` with auth_request() filled in; the codec reports that
// and hands the answer back through on_auth_result().
//
// A mechanism that protects traffic (CURVE) seals every frame sent after
// the handshake and opens every frame received.
#pragma once

#include "zmtp/security/authenticator.hpp"
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
    enum class status { in_progress, authenticating, ready, failed };

    // Wipes the password of a request that was never answered.
    virtual ~mechanism();

    // The name announced in the greeting ("NULL", "PLAIN", "CURVE").
    virtual std::string_view name() const noexcept = 0;
    // The as-server octet of our greeting.
    virtual bool as_server() const noexcept = 0;

    // The peer's greeting has arrived: send the first commands, if any.
    // `local` holds the properties to announce (Socket-Type, Identity, ...).
    virtual void start(const metadata& local, std::vector<std::byte>& out) = 0;
    // The body of one command frame received during the handshake.
    virtual void on_command(std::span<const std::byte> body, std::vector<std::byte>& out) = 0;

    // Server side, in `authenticating`: the authenticator's answer. Sends
    // the next command (accepted) or an ERROR (refused).
    virtual void on_auth_result(const auth_result& result, std::vector<std::byte>& out);

    // ---- traffic after the handshake ----

    // Whether frames after the handshake are sealed (seal() / open()).
    virtual bool seals_traffic() const noexcept { return false; }
    // The size of the whole wire frame that carries a body of `body_size`
    // octets; 0 when nothing can be sealed (the mechanism failed).
    virtual std::size_t sealed_size(std::size_t body_size) const noexcept;
    // Writes that wire frame, carrying `body` with the given inner flags,
    // into `out` (exactly sealed_size(body.size()) octets): the body is
    // copied once, into its place in the output, and sealed there.
    virtual void seal(bool more, bool command, std::span<const std::byte> body,
                      std::span<std::byte> out);
    struct opened_frame {
        bool more = false;
        bool command = false;
        std::span<const std::byte> body; // points into the buffer given to open()
    };
    // Opens the body of one received wire frame (`frame_was_command`: the
    // wire frame's command flag), in place.
    virtual std::error_code open(std::span<std::byte> wire_body, bool frame_was_command,
                                 opened_frame& out);
    // Bytes a sealed frame adds to its body.
    virtual std::size_t seal_overhead() const noexcept { return 0; }

    status state() const noexcept { return state_; }
    // Why the handshake failed, when state() is failed.
    std::error_code error() const noexcept { return error_; }
    const std::string& reason() const noexcept { return reason_; }
    // The peer's properties, once state() is ready.
    const metadata& peer_metadata() const noexcept { return peer_; }
    // In `authenticating`: what the client presented.
    const auth_request& pending_auth() const noexcept { return auth_; }

protected:
    void authenticate(auth_request request)
    {
        auth_ = std::move(request);
        state_ = status::authenticating;
    }
    void resume() noexcept { state_ = status::in_progress; }
    // Wipes pending_auth()'s password once it is no longer needed.
    void wipe_pending_password() noexcept;
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
    auth_request auth_;
};

} // namespace zmtp::security
