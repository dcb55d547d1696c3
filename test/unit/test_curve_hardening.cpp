// SPDX-License-Identifier: MPL-2.0
// CURVE handshakes from broken or hostile peers: every command out of order,
// of a wrong size or with a box that does not open, fails with a reason.
#include "zmtp/security/curve_mechanism.hpp"

#include "curve_helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using namespace zmtp::test::curve;
using zmtp::test::as_span;
using zmtp::test::hex;
using zmtp::test::to_hex;

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
        check_failed(server, error::unexpected_command, "unexpected INITIATE command, expected none now");
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

TEST_CASE("the peer's text in a reason is printable: control, non-ASCII and backslash as \\xNN")
{
    world w;
    auto client = w.client();
    bytes hello;
    client.start(w.client_md, hello);
    CHECK(feed(client, hex("054552524f52 06 34 30 30 0a 5c ff")).empty());
    check_failed(client, error::peer_error, "peer refused: 400\\x0a\\x5c\\xff");

    auto server = w.server();
    CHECK(feed(server, hex("03 48 0d 49")).empty());
    check_failed(server, error::unexpected_command, "unexpected H\\x0dI command, expected HELLO");
}
