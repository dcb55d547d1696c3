// SPDX-License-Identifier: MPL-2.0
// Codec: messages, multipart, zero-copy bodies, subscriptions, and the
// one-pending-event backpressure rule.
#include "zmtp/codec/codec.hpp"

#include "codec_pair.hpp"
#include "helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace zmtp;
using zmtp::test::codec_pair;
using zmtp::test::hex;
using zmtp::test::options_for;
using zmtp::test::pattern;
using zmtp::test::to_hex;

namespace {

// Completes the handshake and forgets what it produced.
void handshake(codec_pair& p)
{
    p.pump();
    REQUIRE(p.both_ready());
    p.a_events.clear();
    p.b_events.clear();
    p.a_to_b.clear();
    p.b_to_a.clear();
}

std::vector<message> messages_in(const std::vector<event>& events)
{
    std::vector<message> out;
    for (const auto& e : events)
        if (const auto* m = test::as<message>(e))
            out.push_back(*m);
    return out;
}

// A ready codec of type `self` whose peer is a raw ZMTP 3.`minor` `peer`.
struct raw_peer {
    test::fake_clock clock;
    codec c;
    std::vector<event> events;

    raw_peer(socket_type self, socket_type peer, std::uint8_t minor = 1)
        : c(options_for(self), clock.now())
    {
        test::drain_output(c);
        const auto in = test::raw_peer_handshake(peer, minor);
        REQUIRE(test::feed_all(c, in, clock.now(), events) == in.size());
        REQUIRE(c.is_ready());
        test::drain_output(c); // our READY
        events.clear();
    }
    std::size_t feed(const std::vector<std::byte>& bytes, std::size_t chunk = 0)
    {
        return test::feed_all(c, bytes, clock.now(), events, chunk);
    }
};

} // namespace

TEST_CASE("single-frame messages of the captured sizes, both directions")
{
    for (std::size_t chunk : {0u, 1u}) {
        for (std::size_t size : {0u, 1u, 255u, 256u, 70000u}) {
            CAPTURE(chunk);
            CAPTURE(size);
            codec_pair p(options_for(socket_type::pair), options_for(socket_type::pair), chunk);
            handshake(p);
            const message ab{frame(pattern(size, 1))};
            const message ba{frame(pattern(size, 2))};
            REQUIRE_FALSE(p.a.send(ab));
            REQUIRE_FALSE(p.b.send(ba));
            p.pump();
            REQUIRE(p.b_events.size() == 1);
            REQUIRE(p.a_events.size() == 1);
            CHECK(messages_in(p.b_events).at(0) == ab);
            CHECK(messages_in(p.a_events).at(0) == ba);
            // Header as libzmq writes it (docs/libzmq-wire.md fact 6).
            const std::string expected_header = size == 0     ? "0000"
                                                : size == 1   ? "0001"
                                                : size == 255 ? "00ff"
                                                : size == 256 ? "020000000000000100"
                                                              : "020000000000011170";
            CHECK(to_hex(std::span(p.a_to_b).first(expected_header.size() / 2)) ==
                  expected_header);
            CHECK(p.a_to_b.size() == expected_header.size() / 2 + size);
        }
    }
}

TEST_CASE("multipart messages keep their frames, both directions")
{
    for (std::size_t chunk : {0u, 1u, 3u}) {
        CAPTURE(chunk);
        codec_pair p(options_for(socket_type::pair), options_for(socket_type::pair), chunk);
            handshake(p);
        const message three{"part-one", "", "part-three"};
        const message mixed{frame(pattern(300)), "", frame(pattern(5000, 4)), "x"};
        REQUIRE_FALSE(p.a.send(three));
        REQUIRE_FALSE(p.a.send(mixed));
        REQUIRE_FALSE(p.b.send(mixed));
        REQUIRE_FALSE(p.b.send(three));
        p.pump();
        const auto at_b = messages_in(p.b_events);
        const auto at_a = messages_in(p.a_events);
        REQUIRE(at_b.size() == 2);
        REQUIRE(at_a.size() == 2);
        CHECK(at_b[0] == three);
        CHECK(at_b[1] == mixed);
        CHECK(at_a[0] == mixed);
        CHECK(at_a[1] == three);
        // captures msg-multipart-3: 01 08 part-one, 01 00, 00 0a part-three
        CHECK(to_hex(std::span(p.a_to_b).first(2 + 8 + 2 + 2)) ==
              "0108" + to_hex(test::as_span("part-one")) + "0100" + "000a");
    }
}

TEST_CASE("large frames are sent without copying")
{
    codec_pair p(options_for(socket_type::pair), options_for(socket_type::pair));
    handshake(p);
    const frame big(pattern(100'000));
    REQUIRE_FALSE(p.a.send(message{big}));
    bool referenced = false;
    for (auto s : p.a.pending_output())
        referenced = referenced || s.data() == big.data();
    CHECK(referenced);
    p.pump();
    REQUIRE(p.b_events.size() == 1);
    CHECK(messages_in(p.b_events).at(0)[0] == big);
}

TEST_CASE("zero-copy receive of a 1 MiB frame through body_target/commit_body")
{
    codec_pair p(options_for(socket_type::pair), options_for(socket_type::pair));
    handshake(p);
    const std::size_t size = 1024 * 1024;
    const std::string body = pattern(size, 5);
    REQUIRE_FALSE(p.a.send(message{frame(body)}));
    const auto wire_bytes = test::drain_output(p.a);
    REQUIRE(wire_bytes.size() == 9 + size);
    CHECK(to_hex(std::span(wire_bytes).first(9)) == "020000000000100000");

    auto& c = p.b;
    const auto now = p.clock.now();
    CHECK(c.body_target().empty()); // no body being received yet
    // Header plus the first few body bytes through feed().
    CHECK(c.feed(std::span(wire_bytes).first(9 + 100), now) == 9 + 100);
    std::size_t at = 9 + 100;
    const std::byte* first_target = nullptr;
    std::size_t rounds = 0;
    while (at < wire_bytes.size()) {
        auto target = c.body_target();
        REQUIRE_FALSE(target.empty());
        if (!first_target)
            first_target = target.data();
        const std::size_t n = std::min({target.size(), wire_bytes.size() - at, std::size_t{300'000}});
        std::memcpy(target.data(), wire_bytes.data() + at, n);
        c.commit_body(n, now);
        at += n;
        ++rounds;
    }
    CHECK(rounds >= 4);
    REQUIRE(c.has_event());
    CHECK(c.body_target().empty());
    auto e = c.next_event();
    REQUIRE(e);
    const auto* m = test::as<message>(*e);
    REQUIRE(m);
    REQUIRE(m->size() == 1);
    CHECK((*m)[0].view() == body);
    // The bytes were read into the frame's own storage: no copy afterwards.
    CHECK((*m)[0].data() + 100 == first_target);
}

TEST_CASE("feed stops at a pending event until next_event() takes it")
{
    codec_pair p(options_for(socket_type::pair), options_for(socket_type::pair));
    handshake(p);
    REQUIRE_FALSE(p.a.send(message{"one"}));
    REQUIRE_FALSE(p.a.send(message{"two"}));
    const auto bytes = test::drain_output(p.a);
    REQUIRE(bytes.size() == 10);
    auto& c = p.b;
    const auto now = p.clock.now();
    CHECK(c.feed(bytes, now) == 5);
    CHECK(c.has_event());
    CHECK(c.feed(std::span(bytes).subspan(5), now) == 0); // blocked
    auto e = c.next_event();
    REQUIRE(e);
    CHECK(*test::as<message>(*e) == message{"one"});
    CHECK_FALSE(c.next_event().has_value());
    CHECK(c.feed(std::span(bytes).subspan(5), now) == 5);
    e = c.next_event();
    REQUIRE(e);
    CHECK(*test::as<message>(*e) == message{"two"});
}

TEST_CASE("next_event(event&) moves the waiting event into the caller's and leaves it untouched when none waits")
{
    codec_pair p(options_for(socket_type::pair), options_for(socket_type::pair));
    handshake(p);
    REQUIRE_FALSE(p.a.send(message{"one", "two"}));
    const auto bytes = test::drain_output(p.a);
    auto& c = p.b;
    event out = message{"kept"};
    CHECK_FALSE(c.next_event(out));
    CHECK(*test::as<message>(out) == message{"kept"});
    CHECK(c.feed(bytes, p.clock.now()) == bytes.size());
    REQUIRE(c.next_event(out));
    CHECK(*test::as<message>(out) == message{"one", "two"});
    CHECK(test::as<message>(out)->property("Socket-Type") == "PAIR");
    CHECK_FALSE(c.has_event());
    CHECK_FALSE(c.next_event(out));
    CHECK(*test::as<message>(out) == message{"one", "two"});
}

TEST_CASE("subscriptions to a ZMTP 3.1 peer are commands (docs/libzmq-wire.md fact 7)")
{
    raw_peer r(socket_type::sub, socket_type::pub, 1);
    REQUIRE_FALSE(r.c.send_subscribe(test::as_span("weather")));
    REQUIRE_FALSE(r.c.send_subscribe({}));
    REQUIRE_FALSE(r.c.send_cancel(test::as_span("weather")));
    REQUIRE_FALSE(r.c.send_cancel({}));
    CHECK(to_hex(test::drain_output(r.c)) ==
          "041109" + to_hex(test::as_span("SUBSCRIBEweather")) + "040a09" +
              to_hex(test::as_span("SUBSCRIBE")) + "040e06" +
              to_hex(test::as_span("CANCELweather")) + "040706" +
              to_hex(test::as_span("CANCEL")));
}

TEST_CASE("subscriptions to a ZMTP 3.0 peer are data frames (docs/libzmq-wire.md fact 7)")
{
    raw_peer r(socket_type::sub, socket_type::pub, 0);
    REQUIRE_FALSE(r.c.send_subscribe(test::as_span("weather")));
    REQUIRE_FALSE(r.c.send_subscribe({}));
    REQUIRE_FALSE(r.c.send_cancel(test::as_span("weather")));
    REQUIRE_FALSE(r.c.send_cancel({}));
    CHECK(to_hex(test::drain_output(r.c)) == "000801" + to_hex(test::as_span("weather")) +
                                                 "000101" + "000800" +
                                                 to_hex(test::as_span("weather")) + "000100");
}

TEST_CASE("SUBSCRIBE and CANCEL commands arrive as events")
{
    codec_pair p(options_for(socket_type::sub), options_for(socket_type::pub));
    handshake(p);
    REQUIRE_FALSE(p.a.send_subscribe(test::as_span("weather")));
    REQUIRE_FALSE(p.a.send_cancel(test::as_span("weather")));
    REQUIRE_FALSE(p.a.send_subscribe({}));
    p.pump();
    REQUIRE(p.b_events.size() == 3);
    const auto* s = test::as<events::subscribe>(p.b_events[0]);
    const auto* c = test::as<events::cancel>(p.b_events[1]);
    const auto* all = test::as<events::subscribe>(p.b_events[2]);
    REQUIRE(s);
    REQUIRE(c);
    REQUIRE(all);
    CHECK(s->topic.view() == "weather");
    CHECK(c->topic.view() == "weather");
    CHECK(all->topic.empty());
}

TEST_CASE("XSUB's own \\x01topic messages go out as data frames (docs/libzmq-wire.md fact 7)")
{
    raw_peer r(socket_type::xsub, socket_type::xpub, 1);
    REQUIRE_FALSE(r.c.send(message{"\x01topic"}));
    CHECK(to_hex(test::drain_output(r.c)) == "000601746f706963");
}

TEST_CASE("a 3.0 peer's subscription data frames arrive as messages")
{
    raw_peer r(socket_type::pub, socket_type::sub, 0);
    CHECK(r.feed(hex("00 08 01 77 65 61 74 68 65 72")) == 10);
    REQUIRE(r.events.size() == 1);
    const auto* m = test::as<message>(r.events[0]);
    REQUIRE(m);
    CHECK((*m)[0].view() == "\x01weather");
}

TEST_CASE("a frame header split across feeds")
{
    raw_peer r(socket_type::pair, socket_type::pair);
    const auto bytes = test::data_frame(pattern(70000));
    for (std::size_t split = 1; split <= 9; ++split) {
        CAPTURE(split);
        r.events.clear();
        CHECK(r.c.feed(std::span(bytes).first(split), r.clock.now()) == split);
        CHECK(r.feed({bytes.begin() + static_cast<std::ptrdiff_t>(split), bytes.end()}) ==
              bytes.size() - split);
        REQUIRE(r.events.size() == 1);
        CHECK((*test::as<message>(r.events[0]))[0].size() == 70000);
    }
}

TEST_CASE("libzmq REP's transcript, split at every offset, into our REQ")
{
    // captures/null-req-rep.json, s2c: greeting, READY, reply ['', 'World'].
    const auto transcript =
        hex("ff00000000000000017f03014e554c4c" + std::string(96, '0') +
            "04190552454144590b536f636b65742d5479706500000003524550"
            "0100" "0005576f726c64");
    for (std::size_t split = 0; split <= transcript.size(); ++split) {
        CAPTURE(split);
        test::fake_clock clock;
        codec c(options_for(socket_type::req), clock.now());
        std::vector<event> events;
        const std::span<const std::byte> all(transcript);
        CHECK(test::feed_all(c, all.first(split), clock.now(), events) == split);
        CHECK(test::feed_all(c, all.subspan(split), clock.now(), events) == all.size() - split);
        REQUIRE(events.size() == 2);
        CHECK(test::as<events::handshake_complete>(events[0]));
        const auto* m = test::as<message>(events[1]);
        REQUIRE(m);
        CHECK(*m == message{"", "World"});
    }
}

TEST_CASE("body_target for small frames and within a multipart message")
{
    codec_pair p(options_for(socket_type::pair), options_for(socket_type::pair));
    handshake(p);
    const message sent{frame(pattern(10)), frame(pattern(5000, 1)), frame(pattern(33, 2))};
    REQUIRE_FALSE(p.a.send(sent));
    const auto bytes = test::drain_output(p.a);
    auto& c = p.b;
    const auto now = p.clock.now();
    std::size_t at = 0;
    // Headers (and nothing more) through feed(), bodies through body_target().
    for (const auto& f : sent) {
        const std::size_t header = f.size() <= 255 ? 2 : 9;
        CHECK(c.feed(std::span(bytes).subspan(at, header), now) == header);
        at += header;
        std::size_t left = f.size();
        while (left != 0) {
            auto target = c.body_target();
            REQUIRE(target.size() >= 1);
            const std::size_t n = std::min<std::size_t>({target.size(), left, 1000});
            std::memcpy(target.data(), bytes.data() + at, n);
            c.commit_body(n, now);
            at += n;
            left -= n;
        }
        CHECK(c.has_event() == (&f == &sent.back()));
    }
    CHECK(at == bytes.size());
    auto e = c.next_event();
    REQUIRE(e);
    CHECK(*test::as<message>(*e) == sent);
}

TEST_CASE("a DISH's group membership is JOIN and LEAVE, to 3.1 and 3.0 peers alike (RFC 48)")
{
    for (const std::uint8_t minor : {std::uint8_t{1}, std::uint8_t{0}}) {
        CAPTURE(minor);
        raw_peer r(socket_type::dish, socket_type::radio, minor);
        REQUIRE_FALSE(r.c.send_subscribe(test::as_span("g")));
        REQUIRE_FALSE(r.c.send_cancel(test::as_span("g")));
        CHECK(to_hex(test::drain_output(r.c)) ==
              "040604" + to_hex(test::as_span("JOINg")) + "040705" + to_hex(test::as_span("LEAVEg")));
    }
}

TEST_CASE("JOIN and LEAVE commands arrive as subscription events")
{
    codec_pair p(options_for(socket_type::dish), options_for(socket_type::radio));
    handshake(p);
    REQUIRE_FALSE(p.a.send_subscribe(test::as_span("news")));
    REQUIRE_FALSE(p.a.send_cancel(test::as_span("news")));
    p.pump();
    REQUIRE(p.b_events.size() == 2);
    const auto* join = test::as<events::subscribe>(p.b_events[0]);
    const auto* leave = test::as<events::cancel>(p.b_events[1]);
    REQUIRE(join);
    REQUIRE(leave);
    CHECK(join->topic.view() == "news");
    CHECK(leave->topic.view() == "news");
}
