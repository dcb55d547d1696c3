// SPDX-License-Identifier: MPL-2.0
// The CURVE mechanism (RFC 25 ZMTP-CURVE, RFC 26 CurveZMQ), as libzmq 4.3.4
// speaks it (docs/libzmq-wire.md facts 2, 6, 10):
//
//   C: HELLO     C', box[64 zeros](C'->S)           short nonce 1
//   S: WELCOME   box[S' + cookie](S->C')            long nonce
//   C: INITIATE  cookie, box[C + vouch + metadata](C'->S')   short nonce 2
//   S: READY     box[metadata](S'->C')              short nonce 1
//   then MESSAGE both ways, each a DATA frame holding `07 MESSAGE`, a short
//   nonce above the previous one (client 3, 4, ...; server 2, 3, ...) and
//   box[flags + payload], the flags octet carrying MORE (1) and COMMAND (2).
//
// Randomness comes from the random_source, in this order, so that a fixed
// byte stream makes a handshake reproducible:
//   client: its transient secret key c' (32) at start(), the vouch long
//           nonce (16) on WELCOME;
//   server: on HELLO its transient secret key s' (32), the cookie key (32),
//           the cookie long nonce (16), the WELCOME long nonce (16).
//
// Every secret (transient keys, the cookie key, the precomputed box keys) is
// wiped as soon as it is no longer needed and on destruction.
#pragma once

#include "zmtp/security/curve_keys.hpp"
#include "zmtp/security/mechanism.hpp"
#include "zmtp/wire/command.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace zmtp::security {

// Fills a buffer with random bytes; empty means libsodium's randombytes_buf.
using random_source = std::function<void(std::span<std::byte>)>;

namespace detail {

// 32 secret octets, wiped by wipe() and on destruction.
class curve_secret {
public:
    curve_secret() = default;
    curve_secret(const curve_secret&) = delete;
    curve_secret& operator=(const curve_secret&) = delete;
    ~curve_secret() { wipe(); }

    void wipe() noexcept;
    std::byte* data() noexcept { return bytes_.data(); }
    const std::byte* data() const noexcept { return bytes_.data(); }

private:
    std::array<std::byte, 32> bytes_{};
};

// The boxes between the two transient keys, once both are known: INITIATE,
// READY and every MESSAGE. Short nonces count up per direction; a received
// one must be above the last one received (RFC 26 §The MESSAGE Command).
class curve_boxes {
public:
    // `prefix_out`/`prefix_in`: the 16-octet nonce prefixes of MESSAGE.
    curve_boxes(std::string_view message_prefix_out, std::string_view message_prefix_in) noexcept
        : prefix_out_(message_prefix_out), prefix_in_(message_prefix_in)
    {
    }

    // Precomputes the key from the peer's transient public key and our
    // transient secret key. False for a small-order peer key (all zeros,
    // say), which would make every box predictable.
    [[nodiscard]] bool derive(std::span<const std::byte, 32> peer_transient, const curve_secret& ours);
    // The short nonce of the next box we send.
    std::uint64_t next_nonce() noexcept { return ++sent_; }
    // region = [short nonce 8][MAC 16][plaintext]: writes next_nonce() and
    // seals the plaintext in place.
    void seal(std::string_view prefix, std::span<std::byte> region);
    enum class opened { ok, stale_nonce, forged };
    // region = [short nonce 8][MAC 16][ciphertext]: checks the nonce, then
    // opens the ciphertext in place.
    opened open(std::string_view prefix, std::span<std::byte> region);

    void message_seal(std::span<std::byte> region) { seal(prefix_out_, region); }
    opened message_open(std::span<std::byte> region) { return open(prefix_in_, region); }

    std::uint64_t last_received() const noexcept { return received_; }
    void wipe() noexcept { key_.wipe(); }

private:
    curve_secret key_;
    std::uint64_t sent_ = 0;
    std::uint64_t received_ = 0;
    bool received_any_ = false;
    std::string_view prefix_out_;
    std::string_view prefix_in_;
};

// What CURVE's client and server share: the long-term key pair, the
// transient secret, the boxes, MESSAGE traffic and failing with every
// secret wiped.
class curve_mechanism_base : public mechanism {
public:
    std::string_view name() const noexcept override { return "CURVE"; }
    bool seals_traffic() const noexcept override { return state() == status::ready; }
    // Seals nothing once failed (sealed_size 0): the keys are gone.
    std::size_t sealed_size(std::size_t body_size) const noexcept override;
    void seal(bool more, bool command, std::span<const std::byte> body,
              std::span<std::byte> out) override;
    std::error_code open(std::span<std::byte> wire_body, bool frame_was_command,
                         opened_frame& out) override;
    std::size_t seal_overhead() const noexcept override;

protected:
    curve_mechanism_base(const curve_key_pair& mine, std::size_t max_properties, random_source rng,
                         std::string_view message_prefix_out, std::string_view message_prefix_in);

    // The command in `body`, when it is named `expected` (empty: none is).
    // Otherwise fails (the peer's ERROR, a malformed or an unexpected
    // command) and returns false; once failed or ready it returns false and
    // changes nothing.
    bool expect(std::span<const std::byte> body, std::string_view expected, wire::command_view& cmd);
    // Wipes every secret, then fails.
    void refuse(std::error_code ec, std::string reason);
    virtual void wipe_secrets() noexcept;

    curve_public_key public_key_;           // ours, C or S
    curve_secret secret_key_;               // ours, until its last box is made
    std::size_t max_properties_;
    random_source rng_;
    curve_secret transient_secret_;         // c' or s', until its last box is made or opened
    std::vector<std::byte> local_;          // our metadata, encoded
    curve_boxes boxes_;
};

} // namespace detail

class curve_client_mechanism final : public detail::curve_mechanism_base {
public:
    curve_client_mechanism(curve_key_pair mine, curve_public_key server_key,
                           std::size_t max_properties = 256, random_source rng = {});

    bool as_server() const noexcept override { return false; }
    void start(const metadata& local, std::vector<std::byte>& out) override;
    void on_command(std::span<const std::byte> body, std::vector<std::byte>& out) override;

private:
    enum class step { before_start, expect_welcome, expect_ready };

    void on_welcome(std::span<const std::byte> data, std::vector<std::byte>& out);
    void on_ready(std::span<const std::byte> data);

    curve_public_key server_key_;         // S
    curve_public_key transient_public_{}; // C'
    step step_ = step::before_start;
};

class curve_server_mechanism final : public detail::curve_mechanism_base {
public:
    curve_server_mechanism(curve_key_pair mine, std::size_t max_properties = 256,
                           random_source rng = {});

    // RFC 23 says the server sets as-server; libzmq sends 0 and ignores it.
    bool as_server() const noexcept override { return true; }
    void start(const metadata& local, std::vector<std::byte>& out) override;
    void on_command(std::span<const std::byte> body, std::vector<std::byte>& out) override;
    void on_auth_result(const auth_result& result, std::vector<std::byte>& out) override;

private:
    enum class step { expect_hello, expect_initiate };

    void on_hello(std::span<const std::byte> data, std::vector<std::byte>& out);
    void on_initiate(std::span<const std::byte> data);
    void wipe_secrets() noexcept override;

    curve_public_key client_transient_{}; // C', from HELLO
    detail::curve_secret cookie_key_;     // until INITIATE
    step step_ = step::expect_hello;
};

} // namespace zmtp::security
