// SPDX-License-Identifier: MPL-2.0
// Codec: heartbeats (RFC 37 §PING/PONG), TTL and the handshake deadline,
// all on a fake clock.
#include "zmtp/codec/codec.hpp"

#include "codec_pair.hpp"
#include "helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <optional>

using namespace zmtp;
using namespace std::chrono_literals;
using zmtp::test::codec_pair;
using zmtp::test::hex;
using zmtp::test::options_for;
using zmtp::test::to_hex;

namespace {

codec_options with_heartbeat(std::chrono::milliseconds interval, std::chrono::milliseconds ttl,
                                std::chrono::milliseconds timeout = 0ms)
{
    auto o = options_for(socket_type::dealer);
    o.heartbeat.interval = interval;
    o.heartbeat.ttl = ttl;
    o.heartbeat.timeout = timeout;
    return o;
}

void handshake(codec_pair& p)
{
    p.pump();
    REQUIRE(p.both_ready());
    p.a_events.clear();
    p.b_events.clear();
    p.a_to_b.clear();
    p.b_to_a.clear();
}

// A ready codec (no heartbeat of its own) whose peer is raw bytes.
struct ready_codec {
    test::fake_clock clock;
    codec c;
    std::vector<event> events;

    explicit ready_codec(codec_options o = options_for(socket_type::dealer), std::uint8_t minor = 1)
        : c(std::move(o), clock.now())
    {
        test::drain_output(c);
        const auto in = test::raw_peer_handshake(socket_type::router, minor);
        REQUIRE(test::feed_all(c, in, clock.now(), events) == in.size());
        REQUIRE(c.is_ready());
        test::drain_output(c);
        events.clear();
    }
    std::size_t feed(const std::vector<std::byte>& bytes)
    {
        return test::feed_all(c, bytes, clock.now(), events);
    }
};

} // namespace

TEST_CASE("PING every interval with TTL in deciseconds (docs/libzmq-wire.md fact 8)")
{
    codec_pair p(with_heartbeat(100ms, 2000ms), options_for(socket_type::router));
    p.clock.advance(5ms);
    const auto ready_time = p.clock.now();
    handshake(p);
    REQUIRE(p.a.next_timeout().has_value());
    CHECK(*p.a.next_timeout() == ready_time + 100ms);
    CHECK_FALSE(p.b.next_timeout().has_value()); // no heartbeat configured on b

    // Too early: nothing happens.
    p.a.handle_timeout(ready_time + 99ms);
    CHECK_FALSE(p.a.has_output());

    p.clock.advance(100ms);
    p.a.handle_timeout(p.clock.now());
    CHECK(to_hex(test::drain_output(p.a)) == "04070450494e470014");

    // The next PING one interval later; the reply resets the wait.
    CHECK(*p.a.next_timeout() == p.clock.now() + 100ms);
    p.a.handle_timeout(p.clock.now());
    CHECK_FALSE(p.a.has_output());
}

TEST_CASE("PING/PONG through a pair")
{
    codec_pair p(with_heartbeat(100ms, 2000ms), options_for(socket_type::router));
    handshake(p);
    for (int round = 0; round < 5; ++round) {
        CAPTURE(round);
        p.clock.set(*p.a.next_timeout());
        p.a.handle_timeout(p.clock.now());
        p.pump();
        REQUIRE(p.b_events.size() == 1);
        const auto* ping = test::as<events::ping>(p.b_events[0]);
        REQUIRE(ping);
        CHECK(ping->ttl == 2000ms);
        CHECK(ping->context.empty());
        REQUIRE(p.a_events.size() == 1);
        CHECK(test::as<events::pong>(p.a_events[0]));
        CHECK(to_hex(p.b_to_a) == "040504504f4e47"); // PONG, docs/libzmq-wire.md fact 8
        CHECK_FALSE(p.a.is_failed());
        p.a_events.clear();
        p.b_events.clear();
        p.b_to_a.clear();
    }
}

TEST_CASE("advertised TTL is capped at 655 deciseconds")
{
    for (const auto& [configured, wire_ttl] : {std::pair{100'000ms, std::string("028f")},
                                 std::pair{65'500ms, std::string("028f")},
                                 std::pair{65'400ms, std::string("028e")},
                                 std::pair{0ms, std::string("0000")},
                                 std::pair{250ms, std::string("0002")}}) {
        const std::chrono::milliseconds ttl = configured; // clang 14: no captured bindings
        CAPTURE(ttl.count());
        codec_pair p(with_heartbeat(1000ms, ttl), options_for(socket_type::router));
        handshake(p);
        p.clock.advance(1000ms);
        p.a.handle_timeout(p.clock.now());
        CHECK(to_hex(test::drain_output(p.a)) == "04070450494e47" + wire_ttl);
    }
}

TEST_CASE("PING from the peer gets a PONG echoing its context, cut to 16")
{
    ready_codec r;
    SUBCASE("abc")
    {
        r.feed(hex("04 0a 04 50 49 4e 47 00 00 61 62 63"));
        CHECK(to_hex(test::drain_output(r.c)) == "040804504f4e47616263");
        REQUIRE(r.events.size() == 1);
        CHECK(test::as<events::ping>(r.events[0])->context.view() == "abc");
    }
    SUBCASE("20 bytes")
    {
        std::vector<std::byte> ctx;
        for (int i = 0; i < 20; ++i)
            ctx.push_back(std::byte(static_cast<unsigned char>('a' + i)));
        std::vector<std::byte> data = hex("00 00");
        data.insert(data.end(), ctx.begin(), ctx.end());
        r.feed(test::command_frame("PING", data));
        CHECK(to_hex(test::drain_output(r.c)) ==
              "041504504f4e47" + to_hex(std::span(ctx).first(16)));
        REQUIRE(r.events.size() == 1);
        CHECK(test::as<events::ping>(r.events[0])->context.size() == 16);
    }
}

TEST_CASE("no traffic after our PING: heartbeat_timeout, exactly at the timeout")
{
    codec_pair p(with_heartbeat(100ms, 0ms, 300ms), options_for(socket_type::router));
    const auto t0 = p.clock.now();
    handshake(p);
    // Drive a's timers without ever delivering anything from b.
    std::vector<codec::time_point> pings;
    while (!p.a.is_failed()) {
        const auto next = p.a.next_timeout();
        REQUIRE(next.has_value());
        REQUIRE(*next <= t0 + 10s);
        p.clock.set(*next);
        p.a.handle_timeout(p.clock.now());
        if (p.a.has_output()) {
            pings.push_back(p.clock.now());
            test::drain_output(p.a);
        }
    }
    CHECK(p.a.error() == error::heartbeat_timeout);
    CHECK(p.a.error() == condition::timed_out);
    REQUIRE(pings.size() >= 1);
    CHECK(pings.front() == t0 + 100ms);
    CHECK(p.clock.now() == t0 + 100ms + 300ms);
}

TEST_CASE("heartbeat timeout defaults to the interval")
{
    codec_pair p(with_heartbeat(100ms, 0ms), options_for(socket_type::router));
    const auto t0 = p.clock.now();
    handshake(p);
    p.a.handle_timeout(t0 + 100ms); // PING
    p.a.handle_timeout(t0 + 199ms);
    CHECK_FALSE(p.a.is_failed());
    p.a.handle_timeout(t0 + 200ms);
    CHECK(p.a.error() == error::heartbeat_timeout);
}

TEST_CASE("traffic from the peer resets the heartbeat timeout")
{
    codec_pair p(with_heartbeat(100ms, 0ms, 300ms), options_for(socket_type::router));
    const auto t0 = p.clock.now();
    handshake(p);
    p.clock.set(t0 + 100ms);
    p.a.handle_timeout(p.clock.now()); // PING at +100
    test::drain_output(p.a);           // lost: b never sees it
    p.clock.set(t0 + 350ms);
    REQUIRE_FALSE(p.b.send(message{"alive"}));
    p.pump(); // a hears from b at +350
    CHECK(p.a_events.size() == 1);
    // +400 would have been the deadline of the PING at +100.
    p.a.handle_timeout(t0 + 400ms);
    CHECK_FALSE(p.a.is_failed());
    // PINGs continue; the next one without an answer starts a new wait.
    p.a.handle_timeout(t0 + 410ms);
    CHECK_FALSE(p.a.is_failed());
    while (!p.a.is_failed()) {
        p.clock.set(*p.a.next_timeout());
        p.a.handle_timeout(p.clock.now());
        test::drain_output(p.a);
        REQUIRE(p.clock.now() < t0 + 10s);
    }
    CHECK(p.a.error() == error::heartbeat_timeout);
    CHECK(p.clock.now() > t0 + 400ms);
}

TEST_CASE("peer PING with TTL 3 then silence: ttl_expired at +300 ms, not before")
{
    ready_codec r;
    r.clock.advance(1s);
    const auto t = r.clock.now();
    r.feed(hex("04 07 04 50 49 4e 47 00 03"));
    REQUIRE(r.events.size() == 1);
    CHECK(test::as<events::ping>(r.events[0])->ttl == 300ms);
    test::drain_output(r.c); // PONG
    REQUIRE(r.c.next_timeout().has_value());
    CHECK(*r.c.next_timeout() == t + 300ms);
    r.c.handle_timeout(t + 299ms);
    CHECK_FALSE(r.c.is_failed());
    r.c.handle_timeout(t + 300ms);
    CHECK(r.c.is_failed());
    CHECK(r.c.error() == error::ttl_expired);
    CHECK(r.c.error() == condition::timed_out);
}

TEST_CASE("traffic within the peer's TTL keeps the connection")
{
    ready_codec r;
    const auto t = r.clock.now();
    r.feed(hex("04 07 04 50 49 4e 47 00 03"));
    r.clock.set(t + 250ms);
    r.feed(test::data_frame("still here"));
    r.c.handle_timeout(t + 300ms);
    CHECK_FALSE(r.c.is_failed());
    CHECK(*r.c.next_timeout() == t + 550ms);
    r.c.handle_timeout(t + 550ms);
    CHECK(r.c.error() == error::ttl_expired);
}

TEST_CASE("a ZMTP 3.0 peer gets no PINGs, and an idle one is never dropped")
{
    ready_codec r(with_heartbeat(100ms, 2000ms), 0);
    const auto t0 = r.clock.now();
    while (r.clock.now() < t0 + 10s) {
        REQUIRE(r.c.next_timeout().has_value());
        r.clock.set(*r.c.next_timeout());
        r.c.handle_timeout(r.clock.now());
        REQUIRE_FALSE(r.c.has_output());
    }
    CHECK_FALSE(r.c.is_failed());
}

namespace {

// Drives the codec's timers until it fails or `until`; returns when it failed.
std::optional<codec::time_point> run_timers(ready_codec& r, codec::time_point until,
                                            const std::function<void()>& each_tick = {})
{
    while (!r.c.is_failed()) {
        const auto next = r.c.next_timeout();
        if (!next || *next > until)
            return std::nullopt;
        r.clock.set(*next);
        r.c.handle_timeout(r.clock.now());
        if (each_tick)
            each_tick();
    }
    return r.clock.now();
}

} // namespace

TEST_CASE("hostile: a ZMTP 3.0 peer that reads nothing while output waits is dropped at the heartbeat timeout")
{
    ready_codec r(with_heartbeat(100ms, 0ms, 300ms), 0);
    const auto t0 = r.clock.now();
    r.clock.advance(50ms);
    REQUIRE_FALSE(r.c.send(message{"unread"}));
    const std::size_t queued = r.c.pending_output_size();
    const auto failed_at = run_timers(r, t0 + 10s);
    REQUIRE(failed_at.has_value());
    CHECK(r.c.error() == error::heartbeat_timeout);
    CHECK(r.c.peer_presumed_gone());
    CHECK(r.c.error_reason().find("ZMTP 3.0") != std::string::npos);
    // The stall is seen at the first check after the output queued (+100)
    // and lasts the timeout: no sooner, and at most an interval later.
    CHECK(*failed_at == t0 + 100ms + 300ms);
    CHECK(r.c.pending_output_size() == queued); // no ERROR for a peer that reads nothing
}

TEST_CASE("a ZMTP 3.0 peer that reads slowly is kept; one that stops later is dropped")
{
    ready_codec r(with_heartbeat(100ms, 0ms, 300ms), 0);
    const auto t0 = r.clock.now();
    for (int i = 0; i < 100; ++i)
        REQUIRE_FALSE(r.c.send(message{"queued for a slow reader"}));
    // One octet read every 250 ms: progress within every timeout.
    auto last_read = r.clock.now();
    CHECK_FALSE(run_timers(r, t0 + 5s, [&] {
        if (r.clock.now() - last_read >= 250ms) {
            r.c.consume_output(1);
            last_read = r.clock.now();
        }
    }));
    CHECK_FALSE(r.c.is_failed());
    // It stops reading: dropped within an interval plus the timeout of
    // its last read.
    const auto failed_at = run_timers(r, t0 + 20s);
    REQUIRE(failed_at.has_value());
    CHECK(r.c.error() == error::heartbeat_timeout);
    CHECK(*failed_at >= last_read + 300ms);
    CHECK(*failed_at <= last_read + 400ms);
}

TEST_CASE("hostile: a silent peer is presumed gone: no ERROR after a heartbeat timeout or a TTL expiry")
{
    codec_pair p(with_heartbeat(100ms, 0ms, 300ms), options_for(socket_type::router));
    const auto t0 = p.clock.now();
    handshake(p);
    while (!p.a.is_failed()) {
        REQUIRE(p.clock.now() < t0 + 10s);
        p.clock.set(*p.a.next_timeout());
        test::drain_output(p.a); // the PINGs leave
        p.a.handle_timeout(p.clock.now());
    }
    CHECK(p.a.error() == error::heartbeat_timeout);
    CHECK(p.a.peer_presumed_gone());
    CHECK_FALSE(p.a.has_output());

    ready_codec r;
    r.feed(hex("04 07 04 50 49 4e 47 00 03"));
    test::drain_output(r.c); // PONG
    r.c.handle_timeout(r.clock.now() + 300ms);
    CHECK(r.c.error() == error::ttl_expired);
    CHECK(r.c.peer_presumed_gone());
    CHECK_FALSE(r.c.has_output());
}

TEST_CASE("handshake_timeout when the greeting never comes")
{
    auto o = options_for(socket_type::dealer);
    o.handshake_timeout = 500ms;
    test::fake_clock clock;
    const auto t0 = clock.now();
    codec c(std::move(o), t0);
    REQUIRE(c.next_timeout().has_value());
    CHECK(*c.next_timeout() == t0 + 500ms);
    // Some of a greeting does not extend the deadline.
    c.feed(hex("ff 00 00"), t0 + 100ms);
    CHECK(*c.next_timeout() == t0 + 500ms);
    c.handle_timeout(t0 + 499ms);
    CHECK_FALSE(c.is_failed());
    c.handle_timeout(t0 + 500ms);
    CHECK(c.error() == error::handshake_timeout);
    CHECK(c.error() == condition::timed_out);
    CHECK_FALSE(c.next_timeout().has_value());
}

TEST_CASE("handshake_timeout when READY never comes")
{
    auto o = options_for(socket_type::dealer);
    o.handshake_timeout = 10s;
    test::fake_clock clock;
    const auto t0 = clock.now();
    codec c(std::move(o), t0);
    test::drain_output(c);
    const auto g = wire::encode_greeting({});
    CHECK(c.feed(g, t0 + 1s) == g.size());
    CHECK(c.current_state() == codec::state::handshake);
    test::drain_output(c); // our READY
    c.handle_timeout(t0 + 9999ms);
    CHECK_FALSE(c.is_failed());
    c.handle_timeout(t0 + 10s);
    CHECK(c.error() == error::handshake_timeout);
}

TEST_CASE("the handshake deadline no longer applies once ready")
{
    auto o = options_for(socket_type::dealer);
    o.handshake_timeout = 500ms;
    ready_codec r(std::move(o));
    CHECK_FALSE(r.c.next_timeout().has_value());
    r.c.handle_timeout(r.clock.now() + 1h);
    CHECK_FALSE(r.c.is_failed());
}

TEST_CASE("sending a message moves no deadline, at any point of the heartbeat cycle")
{
    // The connection leaves its timer alone after each message sent on the
    // strength of this (connection_state::rearm_timer).
    for (const std::uint8_t minor : {std::uint8_t{0}, std::uint8_t{1}}) {
        CAPTURE(int{minor});
        ready_codec r(with_heartbeat(100ms, 2000ms, 5000ms), minor); // no timeout within the loop
        const auto t0 = r.clock.now();
        while (r.clock.now() < t0 + 1s) {
            const auto before = r.c.next_timeout();
            REQUIRE(before.has_value());
            r.clock.advance(7ms);
            REQUIRE_FALSE(r.c.send(message{"payload", "second frame"}));
            CHECK(r.c.next_timeout() == before);
            if (r.clock.now() >= *before)
                r.c.handle_timeout(r.clock.now());
            r.c.consume_output(r.c.pending_output_size() / 2); // a slow reader
            REQUIRE_FALSE(r.c.is_failed());
        }
    }
}

TEST_CASE("a deadline comes earlier only with a new deadline_version; data from the peer moves none earlier")
{
    // The connection re-reads next_timeout() only when the version
    // changed (connection_state::rearm_timer).
    codec_pair p(with_heartbeat(100ms, 2000ms, 5000ms), with_heartbeat(100ms, 300ms));
    const auto before_ready = p.a.deadline_version();
    handshake(p);
    CHECK(p.a.deadline_version() != before_ready); // the handshake deadline gave way to PINGs

    ready_codec r(with_heartbeat(100ms, 2000ms, 5000ms));
    auto version = r.c.deadline_version();
    auto deadline = r.c.next_timeout();
    REQUIRE(deadline.has_value());
    auto step = [&](const char* what, bool expect_new_version) {
        CAPTURE(what);
        CHECK((r.c.deadline_version() != version) == expect_new_version);
        if (r.c.deadline_version() == version) {
            REQUIRE(r.c.next_timeout().has_value());
            CHECK(*r.c.next_timeout() >= *deadline);
        }
        version = r.c.deadline_version();
        deadline = r.c.next_timeout();
        test::drain_output(r.c);
    };
    for (int round = 0; round < 20; ++round) {
        r.clock.advance(30ms);
        r.feed(test::data_frame("data"));
        step("a message", false);
        r.clock.advance(30ms);
        r.feed(hex("04 07 04 50 49 4e 47 00 03")); // PING, TTL 300 ms: earlier than our 5 s timeout
        step("a PING with a TTL", true);
        r.clock.advance(30ms);
        r.feed(test::command_frame("PONG"));
        step("a PONG", false);
        r.c.handle_timeout(r.clock.now());
        step("handle_timeout", true);
        REQUIRE_FALSE(r.c.is_failed());
    }
}
