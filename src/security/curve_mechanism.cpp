// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/curve_mechanism.hpp"

#include "zmtp/printable.hpp"
#include "zmtp/error.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace zmtp::security {
namespace {

// Field sizes (RFC 26 §High-level Grammar).
constexpr std::size_t key_size = 32;
constexpr std::size_t mac_size = crypto_box_MACBYTES;      // 16
constexpr std::size_t short_nonce_size = 8;
constexpr std::size_t long_nonce_size = 16;
constexpr std::size_t hello_body_size = 200;
constexpr std::size_t welcome_body_size = 168;
constexpr std::size_t cookie_size = long_nonce_size + mac_size + 2 * key_size;        // 96
constexpr std::size_t vouch_size = long_nonce_size + mac_size + 2 * key_size;         // 96
constexpr std::size_t initiate_min_body = 9 + cookie_size + short_nonce_size + mac_size
                                          + key_size + vouch_size;                    // 257
constexpr std::size_t ready_min_body = 6 + short_nonce_size + mac_size;               // 30
constexpr std::size_t message_overhead = 8 + short_nonce_size + mac_size + 1;         // 33
constexpr std::size_t box_header = short_nonce_size + mac_size; // nonce + MAC before a plaintext

constexpr std::string_view message_name = "\x07MESSAGE";
constexpr std::string_view client_message_prefix = "CurveZMQMESSAGEC";
constexpr std::string_view server_message_prefix = "CurveZMQMESSAGES";

constexpr std::uint8_t inner_more = 0x01;
constexpr std::uint8_t inner_command = 0x02;

using nonce = std::array<unsigned char, crypto_box_NONCEBYTES>;

unsigned char* uc(std::byte* p) noexcept { return reinterpret_cast<unsigned char*>(p); }
const unsigned char* uc(const std::byte* p) noexcept { return reinterpret_cast<const unsigned char*>(p); }

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

// An 8-octet prefix and a 16-octet long nonce, or a 16-octet prefix and an
// 8-octet short nonce.
nonce make_nonce(std::string_view prefix, std::span<const std::byte> rest) noexcept
{
    nonce n;
    std::memcpy(n.data(), prefix.data(), prefix.size());
    std::memcpy(n.data() + prefix.size(), rest.data(), rest.size());
    return n;
}

void put_u64(std::byte* p, std::uint64_t v) noexcept
{
    for (int i = 7; i >= 0; --i, v >>= 8)
        p[i] = static_cast<std::byte>(v & 0xff);
}

std::uint64_t get_u64(const std::byte* p) noexcept
{
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v = v << 8 | std::to_integer<std::uint64_t>(p[i]);
    return v;
}

// Box[plain](from -> to) into `boxed` (plain.size() + 16 octets).
void box(std::byte* boxed, std::span<const std::byte> plain, const nonce& n,
         const curve_public_key& to, const detail::curve_secret& from)
{
    if (crypto_box_easy(uc(boxed), uc(plain.data()), plain.size(), n.data(), uc(to.data()),
                        uc(from.data())) != 0)
        throw std::runtime_error("crypto_box_easy failed");
}

bool unbox(std::byte* plain, std::span<const std::byte> boxed, const nonce& n,
           std::span<const std::byte, key_size> from, const detail::curve_secret& to)
{
    return crypto_box_open_easy(uc(plain), uc(boxed.data()), boxed.size(), n.data(),
                                uc(from.data()), uc(to.data())) == 0;
}

void random_secret(const random_source& rng, detail::curve_secret& s)
{
    rng(std::span<std::byte>(s.data(), key_size));
}

curve_public_key public_of(const detail::curve_secret& s)
{
    curve_public_key pub;
    crypto_scalarmult_base(uc(pub.data()), uc(s.data()));
    return pub;
}

std::string size_reason(std::string_view command, std::size_t got, std::string_view expected)
{
    return std::string(command) + " of " + std::to_string(got) + " octets, expected " +
           std::string(expected);
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

// ================================================================== client

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

// ================================================================== server

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
