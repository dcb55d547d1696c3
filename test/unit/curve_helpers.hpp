// SPDX-License-Identifier: MPL-2.0
// Shared by the CURVE mechanism tests: the keys and bytes of
// libzmq's CURVE capture (spec-vectors/curve.json), RFC 26 written out again with libsodium
// (independently of the mechanism, to read and forge boxes), one connection
// with every key and random byte fixed, and a driver for the handshake.
#pragma once

#include "helpers.hpp"
#include "zmtp/error.hpp"
#include "zmtp/security/curve_mechanism.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"
#include "zmtp/wire/metadata.hpp"

#include <doctest/doctest.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zmtp::test::curve {

using namespace zmtp::security;
using status = mechanism::status;
using namespace std::string_view_literals;


using key = std::array<std::byte, 32>;
using bytes = std::vector<std::byte>;

inline key key_of(std::string_view hex_text)
{
    const auto b = hex(hex_text);
    REQUIRE(b.size() == 32);
    key k;
    std::copy(b.begin(), b.end(), k.begin());
    return k;
}

inline key filled(unsigned char v)
{
    key k;
    k.fill(std::byte{v});
    return k;
}

inline bytes cat(std::initializer_list<std::span<const std::byte>> parts)
{
    return zmtp::test::concat(parts);
}

// ---- A recording (curve-raw-client): libzmq 4.3.4 as the CURVE server,
// a scripted client with fixed long-term and transient keys.
namespace capture {
constexpr std::string_view server_public = "4f5df7780fdebbe9042101e0a8d95c8d4c50a5853d84ed61f9af7171e141fa78";
constexpr std::string_view server_secret = "5eb01325d43ae856226014cc1498e0074bf66331bac292c1e4ddfdc405fc0b0b";
constexpr std::string_view client_public = "c72cfd64aa00492fa319ab19049debea18ad5dbfca3f62f1ca38df1b8c1bbd4f";
constexpr std::string_view client_secret = "cc88b8a0266c898dea6299120073c48a78894bcb3be7a8fff4f9b03d959d3ccb";
constexpr std::string_view client_transient_public =
    "7186478dd40dcbc57f503b9cddfe2509691a1d568af5b416e9e29eec8c46c57a";
constexpr std::string_view client_transient_secret =
    "89840fa18beee337d7720833309cda9be025731bfd91a89162c9c36ff228c361";
constexpr std::string_view vouch_nonce = "1c497417fc74a52b4fa453ffe1f646e2";
// What libzmq's WELCOME box held.
constexpr std::string_view server_transient_public =
    "3e66b3c1277aef42bf5bb235cad45459845ace734aac0315b06d181c58ee152d";
constexpr std::string_view initiate_plaintext =
    "c72cfd64aa00492fa319ab19049debea18ad5dbfca3f62f1ca38df1b8c1bbd4f1c497417fc74a52b4fa453ffe1f646e2"
    "de1f225e7bee2ff0f33c942efceb39a2e28f1ac22258216d6125ca898925a9862aaf907d2765ce1c6e2a349cc18c2674"
    "3168a7ce5693ec850c56a264f97f73c6ea20d2c11c3bfbd10a3e40a0e212114c0b536f636b65742d5479706500000006"
    "4445414c4552";

constexpr std::string_view hello =
    "04c80548454c4c4f01000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000007186478dd40dcbc57f503b9cddfe"
    "2509691a1d568af5b416e9e29eec8c46c57a0000000000000001c9931d41ec29962b687b662317c27b8eab6bb49e2e05"
    "b8707292d2b20f116a473b9048bc128f2ae1eb2e4db08b3e39dd6985a7d9920cd3341c7bfd95fe0c46cc91a8eb41567e"
    "b9c892e4f934908cc799";
constexpr std::string_view welcome =
    "04a80757454c434f4d4582247f3670521321b115c69ee7e1d21bc27e79553292a2b82421a83c49a179371a5a4809fb9b"
    "f9a687af4a7dfeb7f350dfabd85a234d5f8ef3924101d22b5aeaffbd88fec818ea34ef7145f2c6512dd6631a2b8ba89e"
    "cfe510a9f1126e553cd3db37bb00423b261fde6e8380ecd140a09181df8d2b6ce225dddc6d36903e9dd8413853d150c4"
    "813cf799f42ad1ca153ba285998f3fcb88c38309c96970d5a17a";
// The scripted client's INITIATE, short nonce 1 (libzmq's own client uses 2).
constexpr std::string_view initiate =
    "06000000000000011708494e495449415445f936f0d9597965db09ca3a7fa4f5b82446387998f845cce8479e421c9ba4"
    "5722f8fd699861b0e0e57ec1cd1ad62384d08ae96d4b49b6321cc91e55254cb572a9405541e83b0df0c715816c2b3a53"
    "326b4ae8a64eefbd49ec593cb9054d02d698000000000000000106ac6e1440a8bb4416f102023d9fa484384f1f0d3c5e"
    "0f1a9bf1d3a0e553a57be1c967eb82922a1c3e4477e3b5452200c159f50e3c53d6c3e8f68a9b50cdb756eb3b738977db"
    "1581601d32fb4618ba5965b4b32135b8c572c0fe8e776eff6e21b49c360bdad97c672775780cb95e87c8192888a2a0fc"
    "9aa76ba0bd8c3fe184d78e716e817bd41f80d81c2efc2f5899c87700f860e059f3e227d56750c1c2196f3e835a60838f";
constexpr std::string_view ready =
    "044105524541445900000000000000014a991780ddca36f65c21105308728b4bf736620513992fdaa4350a7620a3f1f2"
    "058db7fe2a9d459703d07eea40941e71732e7d";
// Client MESSAGE 'hello over curve' (nonce 3), as a data frame.
constexpr std::string_view client_message =
    "0031074d455353414745000000000000000333d174156827687f4b81570729e56026c56cfc69b1878489a8b929a90f02"
    "e54ee2";
// libzmq's reply ['reply over curve', 'part 2'] (nonces 2 and 3).
constexpr std::string_view server_message_1 =
    "0031074d4553534147450000000000000002ba7c9ab96580aab2aabd4f7d1e3bc247c8c3786f8f82c16a49b89d1038ed"
    "f1b10a";
constexpr std::string_view server_message_2 =
    "0027074d4553534147450000000000000003fcd3c55fdb9446d32ef172f0e625771c8f22f52dd98571";
// A recording (curve-handshake): a libzmq client's HELLO (random C').
constexpr std::string_view libzmq_client_hello =
    "04c80548454c4c4f01000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000e7d184c6c53fa70b7a93c9d7fe94"
    "68252663b35b2188fcabae4c8d3c1715977b0000000000000001e42a888be3f55fcb7e80e5f5a9455443cf67fcd489a8"
    "b4f076d1b491cf351fe396e3edafa43d4d88ace6a7956eb7e9603142b9ee234bad460e04f545e8fabfc91a20c595ec41"
    "a3943c46b6decdbf5af6";
} // namespace capture

inline curve_key_pair pair_of(const key& secret)
{
    curve_key_pair p;
    p.secret_key = curve_secret_key(secret);
    p.public_key = p.secret_key.public_key();
    return p;
}

// Serves fixed bytes in order; asking for more than it holds fails the test.
struct scripted_random {
    struct state {
        bytes data;
        std::size_t used = 0;
    };
    std::shared_ptr<state> s = std::make_shared<state>();

    explicit scripted_random(bytes data) { s->data = std::move(data); }
    random_source source() const
    {
        return [s = s](std::span<std::byte> out) {
            REQUIRE(s->used + out.size() <= s->data.size());
            std::memcpy(out.data(), s->data.data() + s->used, out.size());
            s->used += out.size();
        };
    }
    std::size_t used() const { return s->used; }
};

// ---- RFC 26 written out again with libsodium, independently of the
// mechanism, to read and forge the boxes.
using nonce24 = std::array<unsigned char, 24>;

inline nonce24 nonce_of(std::string_view prefix, std::span<const std::byte> rest)
{
    REQUIRE(prefix.size() + rest.size() == 24);
    nonce24 n;
    std::memcpy(n.data(), prefix.data(), prefix.size());
    std::memcpy(n.data() + prefix.size(), rest.data(), rest.size());
    return n;
}

inline bytes be64(std::uint64_t v)
{
    bytes out(8);
    for (int i = 7; i >= 0; --i, v >>= 8)
        out[static_cast<std::size_t>(i)] = static_cast<std::byte>(v & 0xff);
    return out;
}

inline std::uint64_t read_be64(std::span<const std::byte> p)
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i)
        v = v << 8 | std::to_integer<std::uint64_t>(p[i]);
    return v;
}

inline const unsigned char* uc(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }
inline unsigned char* uc(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

inline key public_of(const key& secret)
{
    key pub;
    crypto_scalarmult_base(uc(pub.data()), uc(secret.data()));
    return pub;
}

inline bytes box(std::span<const std::byte> plain, const nonce24& n, const key& to, const key& from_secret)
{
    bytes out(plain.size() + crypto_box_MACBYTES);
    REQUIRE(crypto_box_easy(uc(out.data()), uc(plain.data()), plain.size(), n.data(), uc(to.data()),
                            uc(from_secret.data())) == 0);
    return out;
}

inline std::optional<bytes> unbox(std::span<const std::byte> boxed, const nonce24& n, const key& from,
                           const key& to_secret)
{
    if (boxed.size() < crypto_box_MACBYTES)
        return std::nullopt;
    bytes out(boxed.size() - crypto_box_MACBYTES);
    if (crypto_box_open_easy(uc(out.data()), uc(boxed.data()), boxed.size(), n.data(), uc(from.data()),
                             uc(to_secret.data())) != 0)
        return std::nullopt;
    return out;
}

inline bytes secretbox(std::span<const std::byte> plain, const nonce24& n, const key& k)
{
    bytes out(plain.size() + crypto_secretbox_MACBYTES);
    crypto_secretbox_easy(uc(out.data()), uc(plain.data()), plain.size(), n.data(), uc(k.data()));
    return out;
}

inline std::optional<bytes> secretbox_open(std::span<const std::byte> boxed, const nonce24& n, const key& k)
{
    bytes out(boxed.size() - crypto_secretbox_MACBYTES);
    if (crypto_secretbox_open_easy(uc(out.data()), uc(boxed.data()), boxed.size(), n.data(),
                                   uc(k.data())) != 0)
        return std::nullopt;
    return out;
}

inline bytes encoded(const metadata& m)
{
    bytes out;
    wire::encode_metadata(m, out);
    return out;
}

// ---- frames

struct frame {
    bool more = false;
    bool command = false;
    bool long_size = false;
    bytes body;
};

inline std::vector<frame> frames_of(std::span<const std::byte> data)
{
    std::vector<frame> out;
    while (!data.empty()) {
        const auto h = wire::parse_frame_header(data);
        REQUIRE(h.state == wire::frame_header_result::status::complete);
        REQUIRE(data.size() >= h.value.header_size + h.value.size);
        const auto body = data.subspan(h.value.header_size, h.value.size);
        out.push_back({h.value.more, h.value.command, h.value.header_size == 9, {body.begin(), body.end()}});
        data = data.subspan(h.value.header_size + h.value.size);
    }
    return out;
}

// The body of the single command frame in `data`.
inline bytes command_body(std::span<const std::byte> data)
{
    const auto f = frames_of(data);
    REQUIRE(f.size() == 1);
    REQUIRE(f[0].command);
    return f[0].body;
}

inline std::string name_of(std::span<const std::byte> body)
{
    wire::command_view cmd;
    REQUIRE_FALSE(wire::parse_command(body, cmd));
    return std::string(cmd.name);
}

// ---- one connection with every key and random byte fixed

struct world {
    key c = key_of(capture::client_secret);
    key s = key_of(capture::server_secret);
    key C = public_of(c);
    key S = public_of(s);
    // client randomness: c', vouch nonce
    key ct = filled(0x11);
    bytes vouch_nonce = bytes(16, std::byte{0x22});
    // server randomness: s', cookie key, cookie nonce, WELCOME nonce
    key st = filled(0x33);
    key cookie_key = filled(0x44);
    bytes cookie_nonce = bytes(16, std::byte{0x55});
    bytes welcome_nonce = bytes(16, std::byte{0x66});
    key Ct = public_of(ct);
    key St = public_of(st);

    scripted_random client_random{cat({ct, vouch_nonce})};
    scripted_random server_random{cat({st, cookie_key, cookie_nonce, welcome_nonce})};

    metadata client_md;
    metadata server_md;

    world()
    {
        client_md.add("Socket-Type", "DEALER");
        client_md.add("Identity", "me");
        server_md.add("Socket-Type", "ROUTER");
    }

    curve_client_mechanism client(std::size_t max_properties = 256)
    {
        return curve_client_mechanism(pair_of(c), S, max_properties, client_random.source());
    }
    curve_server_mechanism server(std::size_t max_properties = 256)
    {
        return curve_server_mechanism(pair_of(s), max_properties, server_random.source());
    }
    // The box key of the two transient keys (the same both ways).
    nonce24 short_nonce(std::string_view prefix, std::uint64_t n) const { return nonce_of(prefix, be64(n)); }
};

// The handshake's four commands, whole frames.
struct transcript {
    bytes hello, welcome, initiate, ready;
};

// Drives both sides up to the authenticator's answer, and through it.
inline transcript handshake(world& w, curve_client_mechanism& client, curve_server_mechanism& server,
                     const auth_result& answer = auth_result::accept("someone"))
{
    transcript t;
    bytes none;
    client.start(w.client_md, t.hello);
    server.start(w.server_md, none);
    REQUIRE(none.empty());
    server.on_command(command_body(t.hello), t.welcome);
    REQUIRE(server.state() == status::in_progress);
    client.on_command(command_body(t.welcome), t.initiate);
    REQUIRE(client.state() == status::in_progress);
    server.on_command(command_body(t.initiate), none);
    REQUIRE(none.empty());
    REQUIRE(server.state() == status::authenticating);
    server.on_auth_result(answer, t.ready);
    if (answer.accepted()) {
        client.on_command(command_body(t.ready), none);
        REQUIRE(none.empty());
    }
    return t;
}

// Feeds one command body and returns what the mechanism wrote.
inline bytes feed(mechanism& m, std::span<const std::byte> body)
{
    bytes out;
    m.on_command(body, out);
    return out;
}

inline void check_failed(const mechanism& m, zmtp::error e, std::string_view reason_part)
{
    CHECK(m.state() == status::failed);
    CHECK(m.error() == e);
    CAPTURE(m.reason());
    CHECK(m.reason().find(reason_part) != std::string::npos);
    CHECK_FALSE(m.seals_traffic());
}

// A client INITIATE body written from RFC 26, with every part replaceable.
struct initiate_parts {
    bytes cookie;                 // 96 octets from WELCOME
    key client_key;               // C named in the box
    key vouch_signer;             // whose secret makes the vouch box
    key vouch_transient;          // C' inside the vouch
    key vouch_server;             // S inside the vouch
    key box_secret;               // the transient secret sealing the box
    bytes metadata_bytes;
    std::uint64_t nonce = 2;
};

inline initiate_parts honest_initiate(const world& w, std::span<const std::byte> welcome_frame)
{
    const auto body = command_body(welcome_frame);
    const auto plain = unbox(std::span<const std::byte>(body).subspan(8 + 16),
                             nonce_of("WELCOME-", std::span<const std::byte>(body).subspan(8, 16)), w.S,
                             w.ct);
    REQUIRE(plain);
    return {bytes(plain->begin() + 32, plain->end()), w.C, w.c, w.Ct, w.S, w.ct, encoded(w.client_md)};
}

inline bytes initiate_body(const world& w, const initiate_parts& p)
{
    const auto vouch = box(cat({p.vouch_transient, p.vouch_server}), nonce_of("VOUCH---", w.vouch_nonce),
                           w.St, p.vouch_signer);
    const auto plain = cat({p.client_key, w.vouch_nonce, vouch, p.metadata_bytes});
    const auto boxed = box(plain, w.short_nonce("CurveZMQINITIATE", p.nonce), w.St, p.box_secret);
    return cat({as_span("\x08INITIATE"), p.cookie, be64(p.nonce), boxed});
}

// A server READY or MESSAGE body, boxed from S' to C'.
inline bytes server_box_body(const world& w, std::string_view name, std::string_view prefix, std::uint64_t n,
                      std::span<const std::byte> plain)
{
    const auto boxed = box(plain, w.short_nonce(prefix, n), w.Ct, w.st);
    bytes out{static_cast<std::byte>(name.size())};
    const auto nm = as_span(name);
    out.insert(out.end(), nm.begin(), nm.end());
    return cat({out, be64(n), boxed});
}

struct opened_copy {
    std::error_code ec;
    bool more = false;
    bool command = false;
    std::string body;
};

// Opens a copy of one wire frame's body.
inline opened_copy open_frame(mechanism& m, const frame& f)
{
    bytes body = f.body;
    mechanism::opened_frame out;
    opened_copy r;
    r.ec = m.open(body, f.command, out);
    if (!r.ec) {
        r.more = out.more;
        r.command = out.command;
        r.body.assign(reinterpret_cast<const char*>(out.body.data()), out.body.size());
        // In place: the payload lies in the buffer given.
        CHECK((out.body.empty() || (out.body.data() >= body.data() &&
                                    out.body.data() + out.body.size() <= body.data() + body.size())));
    }
    return r;
}

inline bytes sealed(mechanism& m, bool more, bool command, std::string_view payload)
{
    bytes out(m.sealed_size(payload.size()));
    m.seal(more, command, as_span(payload), out);
    return out;
}

} // namespace zmtp::test::curve
