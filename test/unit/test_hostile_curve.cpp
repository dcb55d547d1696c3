// SPDX-License-Identifier: MPL-2.0
// Hostile catalogue items on CURVE (docs/reliability.md): degenerate keys,
// the end of the nonce space and amplification, against the mechanism alone.
#include "zmtp/security/curve_mechanism.hpp"

#include "curve_helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

using namespace zmtp;
using namespace zmtp::test::curve;
using zmtp::test::as_span;
using namespace std::string_view_literals;

namespace {

// Points of small order on Curve25519: the shared secret with any scalar is
// zero, so boxes made with them would be predictable.
const char* const small_order_points[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
};

} // namespace

TEST_CASE("hostile 68: a HELLO naming a small-order transient key is refused, no WELCOME made")
{
    for (const char* point : small_order_points) {
        CAPTURE(point);
        world w;
        auto client = w.client();
        auto server = w.server();
        bytes hello;
        client.start(w.client_md, hello);
        auto body = command_body(hello);
        const key degenerate = key_of(point);
        std::copy(degenerate.begin(), degenerate.end(), body.begin() + 80); // C'
        CHECK(feed(server, body).empty());
        check_failed(server, error::authentication_failed, "HELLO signature box does not open");
        CHECK(w.server_random.used() == 0); // no cookie, no transient key made for it
    }
}

TEST_CASE("hostile 68: a WELCOME naming a small-order transient key is refused, no INITIATE sent")
{
    for (const char* point : small_order_points) {
        CAPTURE(point);
        world w;
        auto client = w.client();
        bytes hello;
        client.start(w.client_md, hello);
        // A server holding the right key, boxing a degenerate S' and a cookie.
        const bytes long_nonce(16, std::byte{0x66});
        const auto boxed = box(cat({key_of(point), bytes(96, std::byte{0x44})}),
                               nonce_of("WELCOME-", long_nonce), w.Ct, w.s);
        const auto welcome = cat({as_span("\x07WELCOME"), long_nonce, boxed});
        REQUIRE(welcome.size() == 168);
        CHECK(feed(client, welcome).empty());
        check_failed(client, error::authentication_failed, "degenerate transient key");
    }
}

TEST_CASE("hostile 79: after a MESSAGE of nonce 2^64-1 no MESSAGE opens any more")
{
    constexpr auto last = std::numeric_limits<std::uint64_t>::max();
    world w;
    auto client = w.client();
    auto server = w.server();
    handshake(w, client, server);
    const auto final_message = cat({as_span("\x07MESSAGE"), be64(last),
                                    box(as_span("\x00last"sv), w.short_nonce("CurveZMQMESSAGEC", last), w.St, w.ct)});
    const auto r = open_frame(server, {false, false, false, final_message});
    REQUIRE_FALSE(r.ec);
    CHECK(r.body == "last");

    SUBCASE("the same nonce again")
    {
        CHECK(open_frame(server, {false, false, false, final_message}).ec == error::authentication_failed);
        check_failed(server, error::authentication_failed, "replayed or reordered");
    }
    SUBCASE("a nonce that wrapped round to the client's next one")
    {
        const auto next = frames_of(sealed(client, false, false, "after"))[0];
        CHECK(open_frame(server, next).ec == error::authentication_failed);
        check_failed(server, error::authentication_failed, "not above the last one received (18446744073709551615)");
    }
}

TEST_CASE("hostile 69: a HELLO flood amplifies nothing: each WELCOME is smaller than its HELLO")
{
    world w;
    auto client = w.client();
    auto server = w.server();
    bytes hello;
    client.start(w.client_md, hello);
    const auto welcome = feed(server, command_body(hello));
    CHECK(command_body(hello).size() == 200);
    CHECK(command_body(welcome).size() == 168);
    CHECK(welcome.size() < hello.size());
    // The server's state for it is one connection's, ended by the handshake
    // deadline (hostile 1); a HELLO that does not open costs none (hostile 67).
}
