// SPDX-License-Identifier: MPL-2.0
// CURVE against libzmq 4.3.4's bytes (recorded, copied into curve_helpers.hpp,
// curve-handshake.json): what is reproducible is compared byte for byte.
#include "zmtp/security/curve_mechanism.hpp"

#include "curve_helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using namespace zmtp::test::curve;
using zmtp::test::as_span;
using zmtp::test::hex;
using zmtp::test::to_hex;

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
