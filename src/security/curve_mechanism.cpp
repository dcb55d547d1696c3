// SPDX-License-Identifier: MPL-2.0
// CURVE's parts common to client and server: the secrets, the boxes between
// the transient keys, failing, and MESSAGE traffic sealed and opened.
#include "curve_internal.hpp"

#include "zmtp/printable.hpp"
#include "zmtp/error.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace zmtp::security {
namespace {

constexpr std::string_view message_name = "\x07MESSAGE";

constexpr std::uint8_t inner_more = 0x01;
constexpr std::uint8_t inner_command = 0x02;

void ensure_sodium()
{
    if (sodium_init() < 0)
        throw std::runtime_error("libsodium could not be initialised");
}

random_source or_system(random_source rng)
{
    if (rng)
        return rng;
    return [](std::span<std::byte> out) { randombytes_buf(out.data(), out.size()); };
}

std::uint64_t get_u64(const std::byte* p) noexcept
{
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v = v << 8 | std::to_integer<std::uint64_t>(p[i]);
    return v;
}

} // namespace

namespace detail {

void curve_secret::wipe() noexcept
{
    sodium_memzero(bytes_.data(), bytes_.size());
}

bool curve_boxes::derive(std::span<const std::byte, 32> peer_transient, const curve_secret& ours)
{
    return crypto_box_beforenm(uc(key_.data()), uc(peer_transient.data()), uc(ours.data())) == 0;
}

void curve_boxes::seal(std::string_view prefix, std::span<std::byte> region)
{
    put_u64(region.data(), next_nonce());
    const nonce n = make_nonce(prefix, region.first(short_nonce_size));
    std::byte* text = region.data() + box_header;
    crypto_box_detached_afternm(uc(text), uc(region.data() + short_nonce_size), uc(text),
                                region.size() - box_header, n.data(), uc(key_.data()));
}

// The nonce is checked before anything is decrypted, and recorded only once
// the box has opened.
curve_boxes::opened curve_boxes::open(std::string_view prefix, std::span<std::byte> region)
{
    const std::uint64_t number = get_u64(region.data());
    if (received_any_ && number <= received_)
        return opened::stale_nonce;
    const nonce n = make_nonce(prefix, region.first(short_nonce_size));
    std::byte* text = region.data() + box_header;
    if (crypto_box_open_detached_afternm(uc(text), uc(text), uc(region.data() + short_nonce_size),
                                         region.size() - box_header, n.data(),
                                         uc(key_.data())) != 0)
        return opened::forged;
    received_ = number;
    received_any_ = true;
    return opened::ok;
}

// ---------------------------------------------------------------- shared

curve_mechanism_base::curve_mechanism_base(const curve_key_pair& mine, std::size_t max_properties,
                                           random_source rng, std::string_view message_prefix_out,
                                           std::string_view message_prefix_in)
    : public_key_(mine.public_key), max_properties_(max_properties), rng_(or_system(std::move(rng))),
      boxes_(message_prefix_out, message_prefix_in)
{
    ensure_sodium();
    std::memcpy(secret_key_.data(), mine.secret_key.bytes().data(), key_size);
}

std::size_t curve_mechanism_base::seal_overhead() const noexcept
{
    return message_overhead;
}

void curve_mechanism_base::wipe_secrets() noexcept
{
    secret_key_.wipe();
    transient_secret_.wipe();
    boxes_.wipe();
}

void curve_mechanism_base::refuse(std::error_code ec, std::string reason)
{
    wipe_secrets();
    fail(ec, std::move(reason));
}

// An ERROR (also libzmq's garbled form, docs/libzmq-wire.md fact 9) ends the
// handshake with the peer's reason.
bool curve_mechanism_base::expect(std::span<const std::byte> body, std::string_view expected,
                                  wire::command_view& cmd)
{
    if (state() == status::failed || state() == status::ready)
        return false;
    std::string_view peer_reason;
    if (wire::parse_handshake_error(body, peer_reason)) {
        refuse(make_error_code(error::peer_error), "peer refused: " + printable(peer_reason));
        return false;
    }
    if (wire::parse_command(body, cmd)) {
        refuse(make_error_code(error::malformed_command), "malformed command during the CURVE handshake");
        return false;
    }
    if (cmd.name != expected) { // never empty: parse_command refuses empty names
        refuse(make_error_code(error::unexpected_command),
               "unexpected " + printable(cmd.name) + " command, expected " +
                   (expected.empty() ? std::string("none now") : std::string(expected)));
        return false;
    }
    return true;
}

// One whole MESSAGE data frame (docs/libzmq-wire.md fact 10): flags 0x00 (0x02 when
// long), then `07 MESSAGE`, short nonce, box[inner flags + body].
// Once failed, the keys are wiped: nothing more goes out (RFC 26: no ERROR
// in answer to a bad MESSAGE).
std::size_t curve_mechanism_base::sealed_size(std::size_t body_size) const noexcept
{
    if (state() == status::failed)
        return 0;
    const std::size_t size = message_overhead + body_size;
    return (size > 255 ? 9 : 2) + size;
}

void curve_mechanism_base::seal(bool more, bool command, std::span<const std::byte> body,
                                std::span<std::byte> out)
{
    if (out.size() != sealed_size(body.size()) || out.empty())
        return; // failed (size 0), or not the room the frame needs
    const std::size_t size = message_overhead + body.size();
    const std::size_t header = wire::encode_frame_header(out.data(), false, false, size);
    std::byte* p = out.data() + header;
    std::memcpy(p, message_name.data(), message_name.size());
    std::byte* plain = p + message_name.size() + box_header;
    plain[0] = static_cast<std::byte>((more ? inner_more : 0) | (command ? inner_command : 0));
    if (!body.empty())
        std::memcpy(plain + 1, body.data(), body.size());
    boxes_.message_seal(std::span<std::byte>(p + message_name.size(), size - message_name.size()));
}

// Accepts a MESSAGE whether or not its wire frame had the command flag
// (RFC 26 sends it as a command, libzmq as data).
std::error_code curve_mechanism_base::open(std::span<std::byte> wire_body, bool, opened_frame& out)
{
    auto refused = [this](zmtp::error e, std::string reason) {
        refuse(make_error_code(e), std::move(reason));
        return make_error_code(e);
    };
    if (wire_body.size() < message_overhead)
        return refused(error::malformed_command, size_reason("MESSAGE", wire_body.size(), "at least 33"));
    if (!std::equal(message_name.begin(), message_name.end(), wire_body.begin(),
                    [](char c, std::byte b) { return static_cast<std::byte>(c) == b; }))
        return refused(error::unexpected_command, "sealed traffic holds a frame that is not a MESSAGE");
    const auto region = wire_body.subspan(message_name.size());
    switch (boxes_.message_open(region)) {
    case curve_boxes::opened::stale_nonce:
        return refused(error::authentication_failed,
                       "MESSAGE nonce " + std::to_string(get_u64(region.data())) +
                           " is not above the last one received (" +
                           std::to_string(boxes_.last_received()) + "): replayed or reordered");
    case curve_boxes::opened::forged:
        return refused(error::authentication_failed, "MESSAGE box does not open: forged or altered");
    case curve_boxes::opened::ok:
        break;
    }
    const auto flags = std::to_integer<std::uint8_t>(region[box_header]);
    // Reserved bits (RFC 26), and MORE on a command (as for frames, RFC 23).
    if ((flags & ~(inner_more | inner_command)) != 0 || flags == (inner_more | inner_command))
        return refused(error::malformed_frame, "MESSAGE with invalid inner flags " + std::to_string(flags));
    out.more = (flags & inner_more) != 0;
    out.command = (flags & inner_command) != 0;
    out.body = region.subspan(box_header + 1);
    return {};
}

} // namespace detail

} // namespace zmtp::security
