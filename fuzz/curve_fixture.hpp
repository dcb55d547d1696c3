// SPDX-License-Identifier: MPL-2.0
// What the CURVE harnesses share. The harness holds every key: both
// long-term key pairs are fixed, and each side's randomness is a fixed
// stream, so the harness can build boxes that open (docs/reliability.md: "the
// fuzzer holding the keys so that fuzzed plaintext gets through the boxes")
// and check that what should open does, with exactly what was boxed.
#pragma once

#include "handshake_frames.hpp"

#include "zmtp/security/curve_mechanism.hpp"
#include "zmtp/wire/metadata.hpp"

#include <sodium.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace zmtp_fuzz::curve {

using key = std::array<std::byte, 32>;
using bytes = std::vector<std::byte>;
using zmtp::security::curve_client_mechanism;
using zmtp::security::curve_server_mechanism;
using status = zmtp::security::mechanism::status;

inline const unsigned char* uc(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }
inline unsigned char* uc(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

// 32 octets counting up from `first`.
inline key counting(unsigned first)
{
    key k;
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<std::byte>(first + i);
    return k;
}

inline key key_of(std::string_view hex)
{
    key k;
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<std::byte>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
    return k;
}

inline key public_of(const key& secret)
{
    key pub;
    crypto_scalarmult_base(uc(pub.data()), uc(secret.data()));
    return pub;
}

// The fixed keys and random streams of one connection: those of
// spec-vectors/make_curve_vectors.py (the captures' long-term keys; each
// side's stream counts up, the client's from 0x40, the server's from 0x80),
// so the peer bytes of spec-vectors/curve.json are valid input here.
struct fixture {
    key client_secret = key_of("cc88b8a0266c898dea6299120073c48a78894bcb3be7a8fff4f9b03d959d3ccb");
    key server_secret = key_of("5eb01325d43ae856226014cc1498e0074bf66331bac292c1e4ddfdc405fc0b0b");
    static constexpr unsigned client_stream = 0x40; // c' (32), vouch nonce (16)
    static constexpr unsigned server_stream = 0x80; // s' (32), cookie key (32), two long nonces (16 each)
    key client_transient = counting(client_stream);
    key server_transient = counting(server_stream);

    key client_public = public_of(client_secret);
    key server_public = public_of(server_secret);
    key client_transient_public = public_of(client_transient);
    key server_transient_public = public_of(server_transient);

    static zmtp::security::random_source stream(unsigned first)
    {
        return [next = first](std::span<std::byte> out) mutable {
            for (auto& b : out)
                b = static_cast<std::byte>(next++);
        };
    }

    zmtp::security::curve_key_pair pair(const key& secret) const
    {
        zmtp::security::curve_key_pair p;
        p.secret_key = zmtp::security::curve_secret_key(secret);
        p.public_key = public_of(secret);
        return p;
    }

    std::unique_ptr<curve_client_mechanism> client(std::size_t limit) const
    {
        return std::make_unique<curve_client_mechanism>(pair(client_secret), server_public, limit,
                                                        stream(client_stream));
    }
    std::unique_ptr<curve_server_mechanism> server(std::size_t limit) const
    {
        return std::make_unique<curve_server_mechanism>(pair(server_secret), limit, stream(server_stream));
    }

    // Box[plain](from -> to) with a 16-octet prefix and a short nonce, as
    // `name`'s body: name, short nonce, box.
    static bytes boxed_command(std::string_view name, std::string_view prefix, std::uint64_t n,
                               std::span<const std::byte> plain, const key& to, const key& from_secret)
    {
        bytes body(1 + name.size() + 8 + crypto_box_MACBYTES + plain.size());
        body[0] = static_cast<std::byte>(name.size());
        std::memcpy(body.data() + 1, name.data(), name.size());
        std::byte* p = body.data() + 1 + name.size();
        for (int i = 7; i >= 0; --i)
            p[7 - i] = static_cast<std::byte>(n >> (8 * i));
        std::array<unsigned char, 24> nonce;
        std::memcpy(nonce.data(), prefix.data(), 16);
        std::memcpy(nonce.data() + 16, p, 8);
        FUZZ_CHECK(crypto_box_easy(uc(p + 8), uc(plain.data()), plain.size(), nonce.data(), uc(to.data()),
                                   uc(from_secret.data())) == 0);
        return body;
    }

    // What a WELCOME body holds, opened as the client: S' then the cookie.
    bytes open_welcome(std::span<const std::byte> welcome) const
    {
        FUZZ_CHECK(welcome.size() == 168);
        std::array<unsigned char, 24> nonce;
        std::memcpy(nonce.data(), "WELCOME-", 8);
        std::memcpy(nonce.data() + 8, welcome.data() + 8, 16);
        bytes plain(128);
        FUZZ_CHECK(crypto_box_open_easy(uc(plain.data()), uc(welcome.data() + 24), 144, nonce.data(),
                                        uc(server_public.data()), uc(client_transient.data())) == 0);
        return plain;
    }

    // The vouch a client makes: a long nonce and Box[C' + S](C->S').
    bytes vouch() const
    {
        bytes v(16 + crypto_box_MACBYTES + 64, std::byte{0x5a});
        std::array<std::byte, 64> plain;
        std::memcpy(plain.data(), client_transient_public.data(), 32);
        std::memcpy(plain.data() + 32, server_public.data(), 32);
        std::array<unsigned char, 24> nonce;
        std::memcpy(nonce.data(), "VOUCH---", 8);
        std::memcpy(nonce.data() + 8, v.data(), 16);
        FUZZ_CHECK(crypto_box_easy(uc(v.data() + 16), uc(plain.data()), plain.size(), nonce.data(),
                                   uc(server_transient_public.data()), uc(client_secret.data())) == 0);
        return v;
    }
};

// The body of the single command frame a mechanism wrote.
inline bytes only_command(std::span<const std::byte> out, std::string_view name)
{
    FUZZ_CHECK(written_commands(out, {name}).size() == 1);
    const auto h = zmtp::wire::parse_frame_header(out);
    return {out.begin() + static_cast<std::ptrdiff_t>(h.value.header_size), out.end()};
}

// The body of the single data frame seal() wrote: never MORE or COMMAND
// outside (docs/libzmq-wire.md fact 10), 33 octets more than the payload.
inline bytes sealed_body(std::span<const std::byte> out, std::size_t payload_size)
{
    const auto h = zmtp::wire::parse_frame_header(out);
    FUZZ_CHECK(h.state == zmtp::wire::frame_header_result::status::complete);
    FUZZ_CHECK(!h.value.more && !h.value.command);
    FUZZ_CHECK(h.value.size == payload_size + 33 && h.value.header_size + h.value.size == out.size());
    return {out.begin() + static_cast<std::ptrdiff_t>(h.value.header_size), out.end()};
}

// A failure: a reason on one printable line, an error a peer may cause, no
// traffic sealed, and it stays so: later input changes nothing.
inline void check_failed(zmtp::security::mechanism& m)
{
    FUZZ_CHECK(m.state() == status::failed);
    FUZZ_CHECK(printable_line(m.reason()));
    FUZZ_CHECK_ERROR(m.error(), allow::protocol | allow::limits | allow::security | allow::peer_error);
    FUZZ_CHECK(!m.seals_traffic());
    const auto error = m.error();
    const std::string reason = m.reason();
    bytes out;
    m.on_command(std::vector<std::byte>{std::byte{5}, std::byte{'R'}, std::byte{'E'}, std::byte{'A'},
                                        std::byte{'D'}, std::byte{'Y'}},
                 out);
    FUZZ_CHECK(m.sealed_size(0) == 0);
    FUZZ_CHECK(out.empty() && m.error() == error && m.reason() == reason);
}

// Seals a payload on one side and opens it on the other: it must come back
// exactly, in place, with its flags.
inline void round_trip(zmtp::security::mechanism& from, zmtp::security::mechanism& to,
                       std::span<const std::byte> payload, bool more, bool command)
{
    bytes out(from.sealed_size(payload.size()));
    from.seal(more, command, payload, out);
    bytes body = sealed_body(out, payload.size());
    zmtp::security::mechanism::opened_frame opened;
    FUZZ_CHECK(!to.open(body, false, opened));
    FUZZ_CHECK(opened.more == more && opened.command == command);
    FUZZ_CHECK(same_bytes(opened.body, payload) && within(opened.body, body));
}

// Opens one received frame body; a success is a well-formed frame inside
// it, a failure ends the mechanism for good.
inline bool open_checked(zmtp::security::mechanism& m, std::span<const std::byte> wire_body, bool command)
{
    bytes body(wire_body.begin(), wire_body.end());
    zmtp::security::mechanism::opened_frame opened;
    if (const auto ec = m.open(body, command, opened)) {
        FUZZ_CHECK(ec == m.error());
        check_failed(m);
        return false;
    }
    FUZZ_CHECK(m.state() == status::ready);
    FUZZ_CHECK(!(opened.more && opened.command));
    FUZZ_CHECK(within(opened.body, body) && opened.body.size() + 33 == body.size());
    return true;
}

// Chunks of the fuzzer's bytes: a length octet, then that many octets.
struct chunks {
    std::span<const std::byte> rest;

    bool next(std::span<const std::byte>& chunk)
    {
        if (rest.empty())
            return false;
        const std::size_t n = std::min<std::size_t>(std::to_integer<std::size_t>(rest[0]), rest.size() - 1);
        chunk = rest.subspan(1, n);
        rest = rest.subspan(1 + n);
        return true;
    }
};

} // namespace zmtp_fuzz::curve
