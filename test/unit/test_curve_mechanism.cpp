// SPDX-License-Identifier: MPL-2.0
// CURVE client and server against each other and against RFC 26 written
// out independently (curve_helpers.hpp): the handshake, authentication, and
// MESSAGE traffic after it.
#include "zmtp/security/curve_mechanism.hpp"

#include "curve_helpers.hpp"
#include "alloc_hook.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using namespace zmtp::test::curve;
using zmtp::test::as_span;
using zmtp::test::hex;
using zmtp::test::to_hex;

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

    // Sizes and frame forms (RFC 26 grammar, docs/libzmq-wire.md fact 6).
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
            // libzmq 4.3.4 writes `5e 'RROR'` (docs/libzmq-wire.md fact 9).
            const auto err = garbled ? hex("5e52524f5203343030") : hex("054552524f5203343030");
            CHECK(feed(client, err).empty());
            check_failed(client, error::peer_error, "peer refused: 400");
        }
    }
}

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
        // libzmq: client MESSAGE nonces from 3, server from 2 (docs/libzmq-wire.md fact 10).
        std::uint64_t expected_nonce = dir == 0 ? 3 : 2;
        for (const auto& it : items) {
            CAPTURE(dir);
            CAPTURE(it.payload.size());
            const auto wire_bytes = sealed(from, it.more, it.command, it.payload);
            const auto f = frames_of(wire_bytes);
            REQUIRE(f.size() == 1);
            // A data frame, never MORE or COMMAND outside (docs/libzmq-wire.md fact 10).
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
        // Its keys are wiped: nothing is sealed any more, not even an ERROR.
        CHECK(sealed(client, false, true, "\x05ERROR\x03bye").empty());
    }
}
