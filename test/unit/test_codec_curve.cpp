// SPDX-License-Identifier: MPL-2.0
// Codec over CURVE: sealed messages of every size, the large ones received
// into their frame's storage and opened there, and sealed straight into the
// output queue.
#include "zmtp/codec/codec.hpp"
#include "zmtp/security/curve_mechanism.hpp"

#include "alloc_hook.hpp"
#include "codec_pair.hpp"
#include "curve_helpers.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace zmtp;
using zmtp::test::codec_pair;
using zmtp::test::options_for;
using zmtp::test::pattern;

namespace {

codec_pair curve_pair(std::size_t chunk = 0)
{
    const auto server_keys = test::curve::pair_of(test::curve::filled(1));
    const auto client_keys = test::curve::pair_of(test::curve::filled(2));
    codec_options server = options_for(socket_type::pair);
    server.mechanism = [server_keys] { return std::make_unique<security::curve_server_mechanism>(server_keys); };
    codec_options client = options_for(socket_type::pair);
    client.mechanism = [client_keys, s = server_keys.public_key] {
        return std::make_unique<security::curve_client_mechanism>(client_keys, s);
    };
    return codec_pair(std::move(server), std::move(client), chunk);
}

// Completes the handshake, the server (a) accepting the client.
void handshake(codec_pair& p)
{
    p.pump();
    REQUIRE(p.a.awaiting_authentication());
    p.a.resolve_authentication(security::auth_result::accept());
    p.pump();
    REQUIRE(p.both_ready());
    p.a_events.clear();
    p.b_events.clear();
}

std::vector<message> messages_in(const std::vector<event>& events)
{
    std::vector<message> out;
    for (const auto& e : events)
        if (const auto* m = test::as<message>(e))
            out.push_back(*m);
    return out;
}

} // namespace

TEST_CASE("CURVE messages of every size, both directions, whole and split")
{
    for (const std::size_t chunk : {std::size_t{0}, std::size_t{1000}}) {
        CAPTURE(chunk);
        codec_pair p = curve_pair(chunk);
        handshake(p);
        message m;
        for (const std::size_t n : {0, 1, 40, 2000, 2100, 70'000, 300'000})
            m.push_back(frame(pattern(n, static_cast<unsigned>(n))));
        REQUIRE_FALSE(p.a.send(m));
        REQUIRE_FALSE(p.b.send(m));
        REQUIRE_FALSE(p.a.send(message{frame("after")}));
        p.pump();
        for (const auto* events : {&p.a_events, &p.b_events}) {
            const auto got = messages_in(*events);
            REQUIRE(got.size() == (events == &p.b_events ? 2u : 1u));
            CHECK(got[0] == m);
        }
        CHECK(messages_in(p.b_events)[1] == message{frame("after")});
    }
}

TEST_CASE("a large CURVE frame is read into its frame's storage and opened there")
{
    codec_pair p = curve_pair();
    handshake(p);
    const std::string body = pattern(1024 * 1024, 9);
    REQUIRE_FALSE(p.a.send(message{frame(body)}));
    const auto wire_bytes = test::drain_output(p.a);
    codec& c = p.b;
    const auto now = p.clock.now();
    CHECK(c.feed(std::span(wire_bytes).first(100), now) == 100); // header and the start
    std::size_t at = 100;
    std::span<std::byte> first_target;
    while (at < wire_bytes.size()) {
        const auto target = c.body_target();
        REQUIRE_FALSE(target.empty());
        if (first_target.empty())
            first_target = target;
        const std::size_t n = std::min(target.size(), wire_bytes.size() - at);
        std::memcpy(target.data(), wire_bytes.data() + at, n);
        c.commit_body(n, now);
        at += n;
    }
    auto e = c.next_event();
    REQUIRE(e);
    const auto* m = test::as<message>(*e);
    REQUIRE(m);
    REQUIRE(m->size() == 1);
    CHECK((*m)[0].view() == body);
    // The plaintext lies where the sealed bytes were read: not copied again.
    const std::byte* storage_begin = first_target.data() - (100 - 9);
    CHECK((*m)[0].data() > storage_begin);
    CHECK((*m)[0].data() + body.size() <= first_target.data() + first_target.size());
}

TEST_CASE("a large CURVE frame is sealed into the output once, in recycled storage")
{
    frame::release_pooled(); // other tests may have filled the pool
    codec_pair p = curve_pair();
    handshake(p);
    const frame big(pattern(1024 * 1024, 3));
    for (int round = 0; round < 3; ++round) {
        CAPTURE(round);
        test::reset_alloc_stats();
        REQUIRE_FALSE(p.a.send(message{big}));
        // After the first round the storage of the last sealed frame is reused.
        if (round > 0)
            CHECK(test::current_alloc_stats().largest < 64 * 1024);
        const auto spans = p.a.pending_output();
        REQUIRE(spans.size() == 1); // header, MESSAGE and box in one piece
        CHECK(spans[0].size() == 9 + 33 + big.size());
        p.pump();
        REQUIRE(messages_in(p.b_events).size() == 1);
        CHECK(messages_in(p.b_events)[0][0] == big);
        p.b_events.clear();
    }
}
