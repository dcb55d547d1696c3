#include "zmtp/security/curve_mechanism.hpp"

#include "alloc_hook.hpp"
#include "helpers.hpp"
#include "zmtp/error.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"
#include "zmtp/wire/metadata.hpp"

#include <doctest/doctest.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <memory>
#include <optional>

using namespace zmtp;
using namespace zmtp::security;
using status = mechanism::status;
using zmtp::test::as_span;
using zmtp::test::hex;
using zmtp::test::to_hex;
using namespace std::string_view_literals;

namespace {

using key = std::array<std::byte, 32>;
using bytes = std::vector<std::byte>;

key key_of(std::string_view hex_text)
{
    const auto b = hex(hex_text);
    REQUIRE(b.size() == 32);
    key k;
    std::copy(b.begin(), b.end(), k.begin());
    return k;
}

key filled(unsigned char v)
{
    key k;
    k.fill(std::byte{v});
    return k;
}

bytes cat(std::initializer_list<std::span<const std::byte>> parts)
{
    return zmtp::test::concat(parts);
}

// ---- ../captures/curve-raw-client.json: libzmq 4.3.4 as the CURVE server,
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
// ../captures/curve-handshake.json: a libzmq client's HELLO (random C').
constexpr std::string_view libzmq_client_hello =
    "04c80548454c4c4f01000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000e7d184c6c53fa70b7a93c9d7fe94"
    "68252663b35b2188fcabae4c8d3c1715977b0000000000000001e42a888be3f55fcb7e80e5f5a9455443cf67fcd489a8"
    "b4f076d1b491cf351fe396e3edafa43d4d88ace6a7956eb7e9603142b9ee234bad460e04f545e8fabfc91a20c595ec41"
    "a3943c46b6decdbf5af6";
} // namespace capture

curve_key_pair pair_of(const key& secret)
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

nonce24 nonce_of(std::string_view prefix, std::span<const std::byte> rest)
{
    REQUIRE(prefix.size() + rest.size() == 24);
    nonce24 n;
    std::memcpy(n.data(), prefix.data(), prefix.size());
    std::memcpy(n.data() + prefix.size(), rest.data(), rest.size());
    return n;
}

bytes be64(std::uint64_t v)
{
    bytes out(8);
    for (int i = 7; i >= 0; --i, v >>= 8)
        out[static_cast<std::size_t>(i)] = static_cast<std::byte>(v & 0xff);
    return out;
}

std::uint64_t read_be64(std::span<const std::byte> p)
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i)
        v = v << 8 | std::to_integer<std::uint64_t>(p[i]);
    return v;
}

const unsigned char* uc(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* uc(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

key public_of(const key& secret)
{
    key pub;
    crypto_scalarmult_base(uc(pub.data()), uc(secret.data()));
    return pub;
}

bytes box(std::span<const std::byte> plain, const nonce24& n, const key& to, const key& from_secret)
{
    bytes out(plain.size() + crypto_box_MACBYTES);
    REQUIRE(crypto_box_easy(uc(out.data()), uc(plain.data()), plain.size(), n.data(), uc(to.data()),
                            uc(from_secret.data())) == 0);
    return out;
}

std::optional<bytes> unbox(std::span<const std::byte> boxed, const nonce24& n, const key& from,
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

bytes secretbox(std::span<const std::byte> plain, const nonce24& n, const key& k)
{
    bytes out(plain.size() + crypto_secretbox_MACBYTES);
    crypto_secretbox_easy(uc(out.data()), uc(plain.data()), plain.size(), n.data(), uc(k.data()));
    return out;
}

std::optional<bytes> secretbox_open(std::span<const std::byte> boxed, const nonce24& n, const key& k)
{
    bytes out(boxed.size() - crypto_secretbox_MACBYTES);
    if (crypto_secretbox_open_easy(uc(out.data()), uc(boxed.data()), boxed.size(), n.data(),
                                   uc(k.data())) != 0)
        return std::nullopt;
    return out;
}

bytes encoded(const metadata& m)
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

std::vector<frame> frames_of(std::span<const std::byte> data)
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
bytes command_body(std::span<const std::byte> data)
{
    const auto f = frames_of(data);
    REQUIRE(f.size() == 1);
    REQUIRE(f[0].command);
    return f[0].body;
}

std::string name_of(std::span<const std::byte> body)
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
transcript handshake(world& w, curve_client_mechanism& client, curve_server_mechanism& server,
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
bytes feed(mechanism& m, std::span<const std::byte> body)
{
    bytes out;
    m.on_command(body, out);
    return out;
}

void check_failed(const mechanism& m, zmtp::error e, std::string_view reason_part)
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

initiate_parts honest_initiate(const world& w, std::span<const std::byte> welcome_frame)
{
    const auto body = command_body(welcome_frame);
    const auto plain = unbox(std::span<const std::byte>(body).subspan(8 + 16),
                             nonce_of("WELCOME-", std::span<const std::byte>(body).subspan(8, 16)), w.S,
                             w.ct);
    REQUIRE(plain);
    return {bytes(plain->begin() + 32, plain->end()), w.C, w.c, w.Ct, w.S, w.ct, encoded(w.client_md)};
}

bytes initiate_body(const world& w, const initiate_parts& p)
{
    const auto vouch = box(cat({p.vouch_transient, p.vouch_server}), nonce_of("VOUCH---", w.vouch_nonce),
                           w.St, p.vouch_signer);
    const auto plain = cat({p.client_key, w.vouch_nonce, vouch, p.metadata_bytes});
    const auto boxed = box(plain, w.short_nonce("CurveZMQINITIATE", p.nonce), w.St, p.box_secret);
    return cat({as_span("\x08INITIATE"), p.cookie, be64(p.nonce), boxed});
}

// A server READY or MESSAGE body, boxed from S' to C'.
bytes server_box_body(const world& w, std::string_view name, std::string_view prefix, std::uint64_t n,
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
opened_copy open_frame(mechanism& m, const frame& f)
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

bytes sealed(mechanism& m, bool more, bool command, std::string_view payload)
{
    bytes out;
    m.seal(more, command, as_span(payload), out);
    return out;
}

} // namespace

// ==================================================================== handshake

TEST_CASE("CURVE names itself; only the server sets as-server (RFC 23)")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    CHECK(client.name() == "CURVE");
    CHECK(server.name() == "CURVE");
    CHECK_FALSE(client.as_server());
    CHECK(server.as_server());
    CHECK(client.seal_overhead() == 33);
    CHECK(server.seal_overhead() == 33);
    CHECK_FALSE(client.seals_traffic());
    CHECK_FALSE(server.seals_traffic());
}

TEST_CASE("client and server complete the handshake and learn each other's properties")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    const auto t = handshake(w, client, server);

    REQUIRE(client.state() == status::ready);
    REQUIRE(server.state() == status::ready);
    CHECK(client.peer_metadata() == w.server_md);
    CHECK(server.peer_metadata() == w.client_md);
    CHECK(client.seals_traffic());
    CHECK(server.seals_traffic());

    // What the authenticator was asked.
    const auto& req = server.pending_auth();
    CHECK(req.mechanism == "CURVE");
    REQUIRE(req.client_key);
    CHECK(*req.client_key == w.C);
    CHECK(req.peer == w.client_md);
    CHECK(req.username.empty());

    // Sizes and frame forms (RFC 26 grammar, ../captures fact 6).
    CHECK(t.hello.size() == 202);
    CHECK(to_hex(t.hello).substr(0, 20) == "04c80548454c4c4f0100");
    CHECK(t.welcome.size() == 170);
    CHECK(to_hex(t.welcome).substr(0, 20) == "04a80757454c434f4d45");
    const auto md = encoded(w.client_md).size();
    CHECK(t.initiate.size() == 9 + 257 + md);
    CHECK(to_hex(t.initiate).substr(0, 2) == "06"); // long command frame
    CHECK(t.ready.size() == 2 + 30 + encoded(w.server_md).size());

    // Randomness taken exactly as documented: c' and the vouch nonce;
    // s', the cookie key and two long nonces.
    CHECK(w.client_random.used() == 48);
    CHECK(w.server_random.used() == 96);
}

TEST_CASE("the same keys and randomness give the same bytes")
{
    world w1, w2;
    auto c1 = w1.client();
    auto s1 = w1.server();
    auto c2 = w2.client();
    auto s2 = w2.server();
    const auto a = handshake(w1, c1, s1);
    const auto b = handshake(w2, c2, s2);
    CHECK(a.hello == b.hello);
    CHECK(a.welcome == b.welcome);
    CHECK(a.initiate == b.initiate);
    CHECK(a.ready == b.ready);
    CHECK(sealed(c1, true, false, "x") == sealed(c2, true, false, "x"));
}

TEST_CASE("every handshake box opens with RFC 26 written out independently")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    const auto t = handshake(w, client, server);

    // HELLO: version 1.0, 72 zero octets, C', short nonce 1, Box[64 zeros](C'->S).
    const auto hello = command_body(t.hello);
    const std::span<const std::byte> h(hello);
    CHECK(to_hex(h.subspan(6, 2)) == "0100");
    CHECK(to_hex(h.subspan(8, 72)) == std::string(144, '0'));
    CHECK(to_hex(h.subspan(80, 32)) == to_hex(w.Ct));
    CHECK(read_be64(h.subspan(112, 8)) == 1);
    const auto signature = unbox(h.subspan(120), nonce_of("CurveZMQHELLO---", h.subspan(112, 8)), w.Ct, w.s);
    REQUIRE(signature);
    CHECK(*signature == bytes(64));

    // WELCOME: the scripted long nonce, Box[S' + cookie](S->C').
    const auto welcome = command_body(t.welcome);
    const std::span<const std::byte> wl(welcome);
    CHECK(bytes(wl.begin() + 8, wl.begin() + 24) == w.welcome_nonce);
    const auto wplain = unbox(wl.subspan(24), nonce_of("WELCOME-", wl.subspan(8, 16)), w.S, w.ct);
    REQUIRE(wplain);
    REQUIRE(wplain->size() == 128);
    CHECK(bytes(wplain->begin(), wplain->begin() + 32) == bytes(w.St.begin(), w.St.end()));
    // The cookie: the scripted nonce, Box[C' + s'](cookie key).
    const std::span<const std::byte> cookie(wplain->data() + 32, 96);
    CHECK(bytes(cookie.begin(), cookie.begin() + 16) == w.cookie_nonce);
    const auto cplain = secretbox_open(cookie.subspan(16), nonce_of("COOKIE--", cookie.first(16)), w.cookie_key);
    REQUIRE(cplain);
    CHECK(*cplain == cat({w.Ct, w.st}));

    // INITIATE: the cookie unchanged, short nonce 2, Box[C + vouch + metadata](C'->S').
    const auto initiate = command_body(t.initiate);
    const std::span<const std::byte> in(initiate);
    CHECK(name_of(in) == "INITIATE");
    CHECK(to_hex(in.subspan(9, 96)) == to_hex(cookie));
    CHECK(read_be64(in.subspan(105, 8)) == 2);
    const auto iplain = unbox(in.subspan(113), nonce_of("CurveZMQINITIATE", in.subspan(105, 8)), w.St, w.ct);
    REQUIRE(iplain);
    const std::span<const std::byte> ip(*iplain);
    CHECK(to_hex(ip.first(32)) == to_hex(w.C));
    CHECK(bytes(ip.begin() + 32, ip.begin() + 48) == w.vouch_nonce);
    const auto vouch = unbox(ip.subspan(48, 80), nonce_of("VOUCH---", ip.subspan(32, 16)), w.C, w.st);
    REQUIRE(vouch);
    CHECK(*vouch == cat({w.Ct, w.S}));
    CHECK(bytes(ip.begin() + 128, ip.end()) == encoded(w.client_md));

    // READY: short nonce 1, Box[metadata](S'->C').
    const auto ready = command_body(t.ready);
    const std::span<const std::byte> rd(ready);
    CHECK(name_of(rd) == "READY");
    CHECK(read_be64(rd.subspan(6, 8)) == 1);
    const auto rplain = unbox(rd.subspan(14), nonce_of("CurveZMQREADY---", rd.subspan(6, 8)), w.Ct, w.st);
    REQUIRE(rplain);
    CHECK(*rplain == encoded(w.server_md));
}

TEST_CASE("an INITIATE written independently is accepted")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    bytes hello, welcome, unused;
    client.start(w.client_md, hello);
    server.on_command(command_body(hello), welcome);
    client.on_command(command_body(welcome), unused);
    const auto body = initiate_body(w, honest_initiate(w, welcome));
    CHECK(feed(server, body).empty());
    REQUIRE(server.state() == status::authenticating);
    CHECK(server.pending_auth().client_key == w.C);
    CHECK(server.pending_auth().peer == w.client_md);
}

TEST_CASE("empty metadata both ways")
{
    world w;
    w.client_md = {};
    w.server_md = {};
    auto client = w.client();
    auto server = w.server();
    const auto t = handshake(w, client, server);
    CHECK(client.state() == status::ready);
    CHECK(server.state() == status::ready);
    CHECK(client.peer_metadata().empty());
    CHECK(server.peer_metadata().empty());
    CHECK(t.initiate.size() == 9 + 257);
    CHECK(t.ready.size() == 2 + 30);
}

TEST_CASE("authentication refused: the server sends ERROR with the reason, the client reports it")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    const auto t = handshake(w, client, server, auth_result::refuse(400, "client key not allowed"));
    check_failed(server, error::authentication_failed, "authentication refused: 400 client key not allowed");
    const auto error_body = command_body(t.ready);
    wire::command_view cmd;
    REQUIRE_FALSE(wire::parse_command(error_body, cmd));
    CHECK(cmd.name == "ERROR");
    std::string_view reason;
    REQUIRE_FALSE(wire::parse_error_reason(cmd.data, reason));
    CHECK(reason == "400 client key not allowed");

    CHECK(feed(client, command_body(t.ready)).empty());
    check_failed(client, error::peer_error, "peer refused: 400 client key not allowed");
}

TEST_CASE("an authenticator's 300 and 500 are refusals too")
{
    for (int code : {300, 500}) {
        CAPTURE(code);
        world w;
        auto client = w.client();
        auto server = w.server();
        const auto t = handshake(w, client, server, auth_result::refuse(code, "later"));
        check_failed(server, error::authentication_failed, std::to_string(code) + " later");
        CHECK(name_of(command_body(t.ready)) == "ERROR");
    }
}

TEST_CASE("an answer the server did not ask for fails it")
{
    world w;
    auto server = w.server();
    bytes out;
    server.on_auth_result(auth_result::accept(), out);
    CHECK(out.empty());
    CHECK(server.state() == status::failed);
    CHECK(server.error() == error::authentication_failed);
}

TEST_CASE("ERROR from the server ends the client's handshake, in either form")
{
    for (bool garbled : {false, true}) {
        for (bool at_welcome : {true, false}) {
            CAPTURE(garbled);
            CAPTURE(at_welcome);
            world w;
            auto client = w.client();
            auto server = w.server();
            bytes hello, welcome, initiate;
            client.start(w.client_md, hello);
            if (!at_welcome) {
                server.on_command(command_body(hello), welcome);
                client.on_command(command_body(welcome), initiate);
            }
            // libzmq 4.3.4 writes `5e 'RROR'` (../captures fact 9).
            const auto err = garbled ? hex("5e52524f5203343030") : hex("054552524f5203343030");
            CHECK(feed(client, err).empty());
            check_failed(client, error::peer_error, "peer refused: 400");
        }
    }
}

// ==================================================================== traffic

TEST_CASE("MESSAGE round trips both ways: data frames, inner flags, counting nonces")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    handshake(w, client, server);

    struct item {
        bool more;
        bool command;
        std::string payload;
    };
    const std::vector<item> items{{true, false, "first"},      {false, false, ""},
                                  {false, true, std::string("\x05PING\x00\x0a", 7)}, {true, false, std::string(300, 'L')},
                                  {false, false, std::string(222, 's')}, {false, true, std::string(255, 'c')}};
    for (int dir = 0; dir < 2; ++dir) {
        mechanism& from = dir == 0 ? static_cast<mechanism&>(client) : server;
        mechanism& to = dir == 0 ? static_cast<mechanism&>(server) : client;
        // libzmq: client MESSAGE nonces from 3, server from 2 (../captures fact 10).
        std::uint64_t expected_nonce = dir == 0 ? 3 : 2;
        for (const auto& it : items) {
            CAPTURE(dir);
            CAPTURE(it.payload.size());
            const auto wire_bytes = sealed(from, it.more, it.command, it.payload);
            const auto f = frames_of(wire_bytes);
            REQUIRE(f.size() == 1);
            // A data frame, never MORE or COMMAND outside (../captures fact 10).
            CHECK_FALSE(f[0].more);
            CHECK_FALSE(f[0].command);
            CHECK(f[0].body.size() == 33 + it.payload.size());
            CHECK(f[0].long_size == (f[0].body.size() > 255));
            CHECK(name_of(f[0].body) == "MESSAGE");
            CHECK(read_be64(std::span<const std::byte>(f[0].body).subspan(8, 8)) == expected_nonce++);

            const auto r = open_frame(to, f[0]);
            REQUIRE_FALSE(r.ec);
            CHECK(r.more == it.more);
            CHECK(r.command == it.command);
            CHECK(r.body == it.payload);
        }
    }
    CHECK(client.state() == status::ready);
    CHECK(server.state() == status::ready);
}

TEST_CASE("a MESSAGE opens whether or not its wire frame had the command flag (RFC 26 form)")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    handshake(w, client, server);
    auto f = frames_of(sealed(client, false, false, "rfc form"))[0];
    f.command = true;
    const auto r = open_frame(server, f);
    REQUIRE_FALSE(r.ec);
    CHECK(r.body == "rfc form");
}

TEST_CASE("the server's MESSAGE boxes independently: prefix CurveZMQMESSAGES, S' to C'")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    handshake(w, client, server);
    const auto f = frames_of(sealed(server, true, false, "payload"))[0];
    const std::span<const std::byte> b(f.body);
    const auto plain = unbox(b.subspan(16), nonce_of("CurveZMQMESSAGES", b.subspan(8, 8)), w.St, w.ct);
    REQUIRE(plain);
    CHECK(to_hex(*plain) == "01" + to_hex(as_span("payload")));

    const auto g = frames_of(sealed(client, false, true, "cmd"))[0];
    const std::span<const std::byte> c(g.body);
    const auto cplain = unbox(c.subspan(16), nonce_of("CurveZMQMESSAGEC", c.subspan(8, 8)), w.Ct, w.st);
    REQUIRE(cplain);
    CHECK(to_hex(*cplain) == "02" + to_hex(as_span("cmd")));
}

TEST_CASE("opening a MESSAGE allocates nothing")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    handshake(w, client, server);
    auto body = frames_of(sealed(client, false, false, std::string(100000, 'x')))[0].body;
    mechanism::opened_frame out;
    zmtp::test::reset_alloc_stats();
    const auto ec = server.open(body, false, out);
    const auto stats = zmtp::test::current_alloc_stats();
    REQUIRE_FALSE(ec);
    CHECK(out.body.size() == 100000);
    CHECK(stats.count == 0);
}

TEST_CASE("replayed and reordered MESSAGEs are refused (CVE-2014-7203)")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    handshake(w, client, server);
    const auto first = frames_of(sealed(client, false, false, "one"))[0];
    const auto second = frames_of(sealed(client, false, false, "two"))[0];

    SUBCASE("replay")
    {
        REQUIRE_FALSE(open_frame(server, first).ec);
        CHECK(open_frame(server, first).ec == error::authentication_failed);
        check_failed(server, error::authentication_failed, "replayed or reordered");
    }
    SUBCASE("reordered")
    {
        REQUIRE_FALSE(open_frame(server, second).ec);
        CHECK(open_frame(server, first).ec == error::authentication_failed);
        check_failed(server, error::authentication_failed, "MESSAGE nonce 3 is not above the last one received (4)");
    }
    SUBCASE("nonce equal to INITIATE's")
    {
        // Client INITIATE used 2: a MESSAGE must come after it.
        const auto forged = cat({as_span("\x07MESSAGE"), be64(2), box(as_span("\x00x"sv), w.short_nonce("CurveZMQMESSAGEC", 2), w.St, w.ct)});
        CHECK(open_frame(server, {false, false, false, forged}).ec == error::authentication_failed);
    }
    SUBCASE("a gap is fine")
    {
        const auto skipped = cat({as_span("\x07MESSAGE"), be64(1000), box(as_span("\x01gap"), w.short_nonce("CurveZMQMESSAGEC", 1000), w.St, w.ct)});
        const auto r = open_frame(server, {false, false, false, skipped});
        REQUIRE_FALSE(r.ec);
        CHECK(r.more);
        CHECK(r.body == "gap");
        CHECK(open_frame(server, second).ec == error::authentication_failed);
    }
}

TEST_CASE("malformed MESSAGEs are refused with a reason")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    handshake(w, client, server);
    const auto good = frames_of(sealed(server, false, false, "abc"))[0];

    SUBCASE("too short")
    {
        auto f = good;
        f.body.resize(32);
        CHECK(open_frame(client, f).ec == error::malformed_command);
        check_failed(client, error::malformed_command, "MESSAGE of 32 octets");
    }
    SUBCASE("empty")
    {
        CHECK(open_frame(client, {false, false, false, {}}).ec == error::malformed_command);
    }
    SUBCASE("not named MESSAGE")
    {
        auto f = good;
        f.body[1] = std::byte{'m'};
        CHECK(open_frame(client, f).ec == error::unexpected_command);
        check_failed(client, error::unexpected_command, "not a MESSAGE");
    }
    SUBCASE("a plain command after the handshake")
    {
        bytes ping;
        wire::append_ping(ping, 10, {});
        auto f = frames_of(ping)[0];
        f.body.resize(40); // long enough to be looked at
        CHECK(open_frame(client, f).ec == error::unexpected_command);
    }
    SUBCASE("altered box, MAC or nonce")
    {
        for (std::size_t at : {16u, 20u, 31u, 32u, 35u}) {
            CAPTURE(at);
            world w2;
            auto c2 = w2.client();
            auto s2 = w2.server();
            handshake(w2, c2, s2);
            auto f = frames_of(sealed(s2, false, false, "abc"))[0];
            f.body[at] ^= std::byte{0x01};
            CHECK(open_frame(c2, f).ec == error::authentication_failed);
            check_failed(c2, error::authentication_failed, "MESSAGE box does not open");
        }
        auto f = good;
        f.body[15] ^= std::byte{0x01}; // the nonce: 2 -> 3, box made for 2
        CHECK(open_frame(client, f).ec == error::authentication_failed);
    }
    SUBCASE("reserved inner flags, or MORE on a command")
    {
        for (unsigned flags : {0x04u, 0x80u, 0x03u}) {
            CAPTURE(flags);
            world w2;
            auto c2 = w2.client();
            auto s2 = w2.server();
            handshake(w2, c2, s2);
            const bytes plain{static_cast<std::byte>(flags), std::byte{'x'}};
            const auto body = server_box_body(w2, "MESSAGE", "CurveZMQMESSAGES", 2, plain);
            CHECK(open_frame(c2, {false, false, false, body}).ec == error::malformed_frame);
            check_failed(c2, error::malformed_frame, "inner flags");
        }
    }
    SUBCASE("a box made by the server for itself (wrong direction prefix)")
    {
        const auto body = server_box_body(w, "MESSAGE", "CurveZMQMESSAGEC", 2, as_span("\x00x"sv));
        CHECK(open_frame(client, {false, false, false, body}).ec == error::authentication_failed);
    }
    SUBCASE("a failed connection opens nothing more")
    {
        auto f = good;
        f.body[33] ^= std::byte{1};
        CHECK(open_frame(client, f).ec);
        CHECK(open_frame(client, good).ec); // even the good one
        CHECK(client.state() == status::failed);
    }
}

// ==================================================================== hardening: handshake

TEST_CASE("commands out of order are refused")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    bytes hello, welcome, initiate, ready;
    client.start(w.client_md, hello);

    SUBCASE("server: INITIATE first")
    {
        CHECK(feed(server, hex("08494e4954494154450000")).empty());
        check_failed(server, error::unexpected_command, "unexpected INITIATE command, expected HELLO");
    }
    SUBCASE("server: READY, MESSAGE, anything else first")
    {
        for (std::string_view body : {"\x05READY", "\x07MESSAGE", "\x07WELCOME", "\x04PING"}) {
            world w2;
            auto s2 = w2.server();
            CHECK(feed(s2, as_span(body)).empty());
            check_failed(s2, error::unexpected_command, "expected HELLO");
        }
    }
    SUBCASE("server: a second HELLO")
    {
        server.on_command(command_body(hello), welcome);
        CHECK(feed(server, command_body(hello)).empty());
        check_failed(server, error::unexpected_command, "unexpected HELLO command, expected INITIATE");
    }
    SUBCASE("server: anything while authenticating")
    {
        server.on_command(command_body(hello), welcome);
        client.on_command(command_body(welcome), initiate);
        server.on_command(command_body(initiate), ready);
        REQUIRE(server.state() == status::authenticating);
        CHECK(feed(server, command_body(initiate)).empty());
        check_failed(server, error::unexpected_command, "during authentication");
    }
    SUBCASE("client: READY before WELCOME")
    {
        CHECK(feed(client, hex("0552454144590000000000000001")).empty());
        check_failed(client, error::unexpected_command, "unexpected READY command, expected WELCOME");
    }
    SUBCASE("client: HELLO or INITIATE from the server")
    {
        CHECK(feed(client, command_body(hello)).empty());
        check_failed(client, error::unexpected_command, "expected WELCOME");
    }
    SUBCASE("client: a second WELCOME")
    {
        server.on_command(command_body(hello), welcome);
        client.on_command(command_body(welcome), initiate);
        CHECK(feed(client, command_body(welcome)).empty());
        check_failed(client, error::unexpected_command, "unexpected WELCOME command, expected READY");
    }
    SUBCASE("client: a command before start()")
    {
        world w2;
        auto c2 = w2.client();
        CHECK(feed(c2, command_body(hello)).empty());
        CHECK(c2.state() == status::failed);
    }
    SUBCASE("malformed command bodies")
    {
        for (std::string_view body : {std::string_view("", 0), std::string_view("\x00", 1), std::string_view("\x09HELLO")}) {
            world w2;
            auto c2 = w2.client();
            auto s2 = w2.server();
            bytes unused;
            c2.start(w2.client_md, unused);
            CHECK(feed(c2, as_span(body)).empty());
            check_failed(c2, error::malformed_command, "malformed command");
            CHECK(feed(s2, as_span(body)).empty());
            check_failed(s2, error::malformed_command, "malformed command");
        }
    }
    SUBCASE("a failed mechanism ignores what follows and keeps its first reason")
    {
        feed(server, hex("05524541445900"));
        const std::string first = server.reason();
        CHECK(feed(server, command_body(hello)).empty());
        CHECK(server.reason() == first);
        CHECK(server.state() == status::failed);
    }
}

TEST_CASE("wrong lengths of every handshake command are refused")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    bytes hello, welcome, initiate, ready;
    client.start(w.client_md, hello);
    const auto hello_body = command_body(hello);

    SUBCASE("HELLO one octet short or long")
    {
        for (int delta : {-1, 1, -194}) {
            world w2;
            auto s2 = w2.server();
            auto body = hello_body;
            body.resize(static_cast<std::size_t>(static_cast<int>(body.size()) + delta));
            CHECK(feed(s2, body).empty());
            check_failed(s2, error::malformed_command, "HELLO of " + std::to_string(body.size()) + " octets, expected 200");
        }
    }
    server.on_command(hello_body, welcome);
    const auto welcome_body = command_body(welcome);
    SUBCASE("WELCOME one octet short or long")
    {
        for (int delta : {-1, 1}) {
            world w2;
            auto c2 = w2.client();
            bytes unused;
            c2.start(w2.client_md, unused);
            auto body = welcome_body;
            body.resize(static_cast<std::size_t>(static_cast<int>(body.size()) + delta));
            CHECK(feed(c2, body).empty());
            check_failed(c2, error::malformed_command, "expected 168");
        }
    }
    client.on_command(welcome_body, initiate);
    SUBCASE("INITIATE below 257 octets")
    {
        auto body = command_body(initiate);
        body.resize(256);
        CHECK(feed(server, body).empty());
        check_failed(server, error::malformed_command, "INITIATE of 256 octets, expected at least 257");
    }
    SUBCASE("INITIATE cut inside its metadata")
    {
        auto body = command_body(initiate);
        body.pop_back();
        CHECK(feed(server, body).empty());
        check_failed(server, error::authentication_failed, "INITIATE box does not open");
    }
    SUBCASE("READY below 30 octets")
    {
        server.on_command(command_body(initiate), ready);
        server.on_auth_result(auth_result::accept(), ready);
        auto body = command_body(ready);
        body.resize(29);
        CHECK(feed(client, body).empty());
        check_failed(client, error::malformed_command, "READY of 29 octets, expected at least 30");
    }
}

TEST_CASE("HELLO with another CurveZMQ version is refused")
{
    for (std::string_view version : {"0200", "0101", "0000"}) {
        CAPTURE(version);
        world w;
        auto client = w.client();
        auto server = w.server();
        bytes hello;
        client.start(w.client_md, hello);
        auto body = command_body(hello);
        const auto v = hex(version);
        body[6] = v[0];
        body[7] = v[1];
        CHECK(feed(server, body).empty());
        check_failed(server, error::malformed_command, "expected 1.0");
    }
}

TEST_CASE("HELLO for another server key: the server says the key is probably wrong")
{
    world w;
    auto server = w.server();
    curve_client_mechanism client(pair_of(w.c), public_of(filled(0x77)), 256, w.client_random.source());
    bytes hello;
    client.start(w.client_md, hello);
    CHECK(feed(server, command_body(hello)).empty());
    check_failed(server, error::authentication_failed, "the client probably uses another server key");
    CHECK(w.server_random.used() == 0); // nothing drawn for a client that is not ours
}

TEST_CASE("HELLO: an altered C', nonce or box does not open; a box of non-zeros is refused")
{
    world w;
    bytes hello;
    auto client = w.client();
    client.start(w.client_md, hello);
    for (std::size_t at : {80u, 111u, 119u, 120u, 199u}) {
        CAPTURE(at);
        world w2;
        auto server = w2.server();
        auto body = command_body(hello);
        body[at] ^= std::byte{0x01};
        CHECK(feed(server, body).empty());
        check_failed(server, error::authentication_failed, "HELLO signature box does not open");
    }
    // The padding is not checked (libzmq does not either).
    {
        world w2;
        auto server = w2.server();
        auto body = command_body(hello);
        body[20] = std::byte{0xff};
        CHECK_FALSE(feed(server, body).empty());
        CHECK(server.state() == status::in_progress);
    }
    // A box that opens but holds something else than 64 zeros.
    {
        world w2;
        auto server = w2.server();
        auto body = command_body(hello);
        const auto signature = box(bytes(64, std::byte{1}), w.short_nonce("CurveZMQHELLO---", 1), w.S, w.ct);
        std::copy(signature.begin(), signature.end(), body.begin() + 120);
        CHECK(feed(server, body).empty());
        check_failed(server, error::authentication_failed, "64 zero octets");
    }
}

TEST_CASE("WELCOME that does not open: altered, or from a server with another key")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    bytes hello, welcome;
    client.start(w.client_md, hello);
    server.on_command(command_body(hello), welcome);

    SUBCASE("altered")
    {
        for (std::size_t at : {8u, 23u, 24u, 100u, 167u}) {
            CAPTURE(at);
            world w2;
            auto c2 = w2.client();
            bytes unused;
            c2.start(w2.client_md, unused);
            auto body = command_body(welcome);
            body[at] ^= std::byte{0x01};
            CHECK(feed(c2, body).empty());
            check_failed(c2, error::authentication_failed, "WELCOME box does not open");
        }
    }
    SUBCASE("another server, boxing to our C'")
    {
        const key other = filled(0x99);
        const auto boxed = box(bytes(128, std::byte{7}), nonce_of("WELCOME-", w.welcome_nonce), w.Ct, other);
        const auto body = cat({as_span("\x07WELCOME"), w.welcome_nonce, boxed});
        CHECK(feed(client, body).empty());
        check_failed(client, error::authentication_failed,
                     "the server does not hold the secret key of the server key we were given");
    }
}

TEST_CASE("INITIATE with a cookie from another connection or server is refused")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    bytes hello, welcome, initiate;
    client.start(w.client_md, hello);
    server.on_command(command_body(hello), welcome);

    // A second connection of the same server (other randomness) welcomes the same HELLO.
    scripted_random other_random(bytes(96, std::byte{0xab}));
    curve_server_mechanism other(pair_of(w.s), 256, other_random.source());
    bytes other_welcome;
    other.on_command(command_body(hello), other_welcome);
    REQUIRE(other.state() == status::in_progress);

    client.on_command(command_body(other_welcome), initiate);
    REQUIRE(client.state() == status::in_progress);
    CHECK(feed(server, command_body(initiate)).empty());
    check_failed(server, error::authentication_failed,
                 "INITIATE cookie does not open: it is not from this server and connection");
}

TEST_CASE("INITIATE whose cookie opens but names another transient key is refused")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    bytes hello, welcome;
    client.start(w.client_md, hello);
    server.on_command(command_body(hello), welcome);
    auto parts = honest_initiate(w, welcome);

    SUBCASE("another C'")
    {
        const auto cookie_box = secretbox(cat({public_of(filled(0x12)), w.st}), nonce_of("COOKIE--", w.cookie_nonce), w.cookie_key);
        parts.cookie = cat({w.cookie_nonce, cookie_box});
    }
    SUBCASE("another s'")
    {
        const auto cookie_box = secretbox(cat({w.Ct, filled(0x13)}), nonce_of("COOKIE--", w.cookie_nonce), w.cookie_key);
        parts.cookie = cat({w.cookie_nonce, cookie_box});
    }
    CHECK(feed(server, initiate_body(w, parts)).empty());
    check_failed(server, error::authentication_failed, "INITIATE cookie names another transient key");
}

TEST_CASE("INITIATE: box, vouch and metadata are checked")
{
    world w;
    auto client = w.client();
    auto server = w.server(2);
    bytes hello, welcome;
    client.start(w.client_md, hello);
    server.on_command(command_body(hello), welcome);
    auto parts = honest_initiate(w, welcome);

    std::string expected;
    auto expected_error = error::authentication_failed;
    SUBCASE("box from another transient key")
    {
        parts.box_secret = filled(0x21);
        expected = "INITIATE box does not open";
    }
    SUBCASE("vouch signed by another long-term key than the one named")
    {
        parts.vouch_signer = filled(0x23);
        expected = "INITIATE vouch does not open with the client key it names";
    }
    SUBCASE("vouch for another transient key")
    {
        parts.vouch_transient = public_of(filled(0x24));
        expected = "INITIATE vouch is for another transient key";
    }
    SUBCASE("vouch for another server key")
    {
        parts.vouch_server = public_of(filled(0x25));
        expected = "INITIATE vouch is for another server key";
    }
    SUBCASE("a whole other client: key, signer and vouch agree but the vouch is not for us")
    {
        const key other = filled(0x26);
        parts.client_key = public_of(other);
        parts.vouch_signer = other;
        parts.vouch_server = public_of(filled(0x27));
        expected = "another server key";
    }
    SUBCASE("malformed metadata")
    {
        parts.metadata_bytes = hex("0b536f636b65742d5479706500000010444541"); // value runs past the end
        expected = "bad INITIATE metadata";
        expected_error = error::malformed_metadata;
    }
    SUBCASE("more properties than allowed")
    {
        metadata three;
        three.add("A", "1");
        three.add("B", "2");
        three.add("C", "3");
        parts.metadata_bytes = encoded(three);
        expected = "bad INITIATE metadata";
        expected_error = error::too_many_properties;
    }
    CHECK(feed(server, initiate_body(w, parts)).empty());
    check_failed(server, expected_error, expected);
    CHECK(server.pending_auth().mechanism.empty()); // the authenticator is never asked
}

TEST_CASE("READY: an altered box or bad metadata is refused")
{
    world w;
    auto client = w.client(2);
    auto server = w.server();
    bytes hello, welcome, initiate, unused;
    client.start(w.client_md, hello);
    server.on_command(command_body(hello), welcome);
    client.on_command(command_body(welcome), initiate);
    server.on_command(command_body(initiate), unused);
    bytes ready;
    server.on_auth_result(auth_result::accept(), ready);

    std::string expected;
    auto expected_error = error::authentication_failed;
    bytes body = command_body(ready);
    SUBCASE("altered")
    {
        body.back() ^= std::byte{0x40};
        expected = "READY box does not open";
    }
    SUBCASE("boxed under the INITIATE prefix")
    {
        body = server_box_body(w, "READY", "CurveZMQINITIATE", 1, encoded(w.server_md));
        expected = "READY box does not open";
    }
    SUBCASE("malformed metadata")
    {
        body = server_box_body(w, "READY", "CurveZMQREADY---", 1, hex("00"));
        expected = "bad READY metadata";
        expected_error = error::malformed_metadata;
    }
    SUBCASE("more properties than allowed")
    {
        metadata three;
        three.add("A", "1");
        three.add("B", "2");
        three.add("C", "3");
        body = server_box_body(w, "READY", "CurveZMQREADY---", 1, encoded(three));
        expected = "bad READY metadata";
        expected_error = error::too_many_properties;
    }
    CHECK(feed(client, body).empty());
    check_failed(client, expected_error, expected);
}

// ==================================================================== libzmq 4.3.4

TEST_CASE("libzmq capture: our client's HELLO is the captured one, byte for byte")
{
    scripted_random rng(cat({hex(capture::client_transient_secret), hex(capture::vouch_nonce)}));
    curve_client_mechanism client(pair_of(key_of(capture::client_secret)), key_of(capture::server_public),
                                  256, rng.source());
    CHECK(public_of(key_of(capture::client_transient_secret)) == key_of(capture::client_transient_public));
    metadata md;
    md.add("Socket-Type", "DEALER");
    bytes hello;
    client.start(md, hello);
    CHECK(to_hex(hello) == capture::hello);
}

TEST_CASE("libzmq capture: our client completes the handshake with libzmq's server bytes")
{
    scripted_random rng(cat({hex(capture::client_transient_secret), hex(capture::vouch_nonce)}));
    curve_client_mechanism client(pair_of(key_of(capture::client_secret)), key_of(capture::server_public),
                                  256, rng.source());
    metadata md;
    md.add("Socket-Type", "DEALER");
    bytes hello, initiate;
    client.start(md, hello);
    client.on_command(command_body(hex(capture::welcome)), initiate);
    REQUIRE(client.state() == status::in_progress);
    CHECK(rng.used() == 48);

    // Our INITIATE and the captured one share the cookie and the plaintext;
    // only the short nonce differs: ours is libzmq's 2, the scripted
    // client's was 1. Both open under the same transient keys.
    const auto ours = command_body(initiate);
    const auto theirs = command_body(hex(capture::initiate));
    REQUIRE(ours.size() == theirs.size());
    CHECK(to_hex(std::span<const std::byte>(ours).first(105)) ==
          to_hex(std::span<const std::byte>(theirs).first(105)));
    CHECK(read_be64(std::span<const std::byte>(ours).subspan(105, 8)) == 2);
    CHECK(read_be64(std::span<const std::byte>(theirs).subspan(105, 8)) == 1);
    const key St = key_of(capture::server_transient_public);
    const key ct = key_of(capture::client_transient_secret);
    for (const auto* body : {&ours, &theirs}) {
        const std::span<const std::byte> b(*body);
        const auto plain = unbox(b.subspan(113), nonce_of("CurveZMQINITIATE", b.subspan(105, 8)), St, ct);
        REQUIRE(plain);
        CHECK(to_hex(*plain) == capture::initiate_plaintext);
    }

    // libzmq's READY and its two-part reply.
    bytes none;
    client.on_command(command_body(hex(capture::ready)), none);
    REQUIRE(client.state() == status::ready);
    metadata expected;
    expected.add("Socket-Type", "DEALER");
    expected.add("Identity", "");
    CHECK(client.peer_metadata() == expected);

    // Our first MESSAGE (nonce 3) is the captured one, byte for byte.
    CHECK(to_hex(sealed(client, false, false, "hello over curve")) == capture::client_message);

    const auto r1 = open_frame(client, frames_of(hex(capture::server_message_1))[0]);
    REQUIRE_FALSE(r1.ec);
    CHECK(r1.more);
    CHECK_FALSE(r1.command);
    CHECK(r1.body == "reply over curve");
    const auto r2 = open_frame(client, frames_of(hex(capture::server_message_2))[0]);
    REQUIRE_FALSE(r2.ec);
    CHECK_FALSE(r2.more);
    CHECK(r2.body == "part 2");
    // Replaying libzmq's first part is refused.
    CHECK(open_frame(client, frames_of(hex(capture::server_message_1))[0]).ec == error::authentication_failed);
}

TEST_CASE("libzmq capture: our server accepts libzmq's HELLOs and refuses a cookie it did not make")
{
    for (const auto hello : {capture::hello, capture::libzmq_client_hello}) {
        world w; // the captures' server key pair
        auto server = w.server();
        bytes welcome;
        server.on_command(command_body(hex(hello)), welcome);
        REQUIRE(server.state() == status::in_progress);
        CHECK(welcome.size() == 170);
    }

    // The scripted client's own INITIATE holds libzmq's cookie.
    world w;
    auto server = w.server();
    bytes welcome;
    server.on_command(command_body(hex(capture::hello)), welcome);
    CHECK(feed(server, command_body(hex(capture::initiate))).empty());
    check_failed(server, error::authentication_failed, "INITIATE cookie does not open");
}

TEST_CASE("libzmq capture: our server and a client with the capture's keys")
{
    // The capture's client randomness; our server's WELCOME differs from
    // libzmq's, so INITIATE carries our cookie but the same plaintext.
    world w;
    scripted_random rng(cat({hex(capture::client_transient_secret), hex(capture::vouch_nonce)}));
    curve_client_mechanism client(pair_of(key_of(capture::client_secret)), key_of(capture::server_public),
                                  256, rng.source());
    auto server = w.server();
    w.client_md = {};
    w.client_md.add("Socket-Type", "DEALER");
    const auto t = handshake(w, client, server);
    REQUIRE(server.state() == status::ready);
    REQUIRE(client.state() == status::ready);
    CHECK(to_hex(t.hello) == capture::hello);
    CHECK(server.pending_auth().client_key == key_of(capture::client_public));

    const auto body = command_body(t.initiate);
    const std::span<const std::byte> in(body);
    const auto plain = unbox(in.subspan(113), nonce_of("CurveZMQINITIATE", in.subspan(105, 8)), w.St,
                             key_of(capture::client_transient_secret));
    REQUIRE(plain);
    // C and the vouch nonce, then the metadata; the vouch box is for our S'.
    CHECK(to_hex(*plain).substr(0, 96) == capture::initiate_plaintext.substr(0, 96));
    CHECK(to_hex(*plain).substr(256) == capture::initiate_plaintext.substr(256));
}
