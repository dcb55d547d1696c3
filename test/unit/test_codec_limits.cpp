// SPDX-License-Identifier: MPL-2.0
// Codec: limits, malformed input, peer ERROR, sticky failure, local misuse.
#include "zmtp/codec/codec.hpp"

#include "alloc_hook.hpp"
#include "codec_pair.hpp"
#include "helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

using namespace zmtp;
using zmtp::test::hex;
using zmtp::test::options_for;

namespace {

// A ready codec with the given options whose peer is a raw PAIR.
struct ready_codec {
    test::fake_clock clock;
    codec c;
    std::vector<event> events;

    explicit ready_codec(codec_options o = options_for(socket_type::pair))
        : c(std::move(o), clock.now())
    {
        test::drain_output(c);
        const auto in = test::raw_peer_handshake(socket_type::pair);
        REQUIRE(test::feed_all(c, in, clock.now(), events) == in.size());
        REQUIRE(c.is_ready());
        test::drain_output(c);
        events.clear();
    }
    std::size_t feed(const std::vector<std::byte>& bytes)
    {
        return test::feed_all(c, bytes, clock.now(), events);
    }
    // The name of the single command c has queued, if any.
    std::string queued_command()
    {
        const auto out = test::drain_output(c);
        const auto h = wire::parse_frame_header(out);
        if (h.state != wire::frame_header_result::status::complete || !h.value.command)
            return {};
        wire::command_view cmd;
        if (wire::parse_command(std::span(out).subspan(h.value.header_size), cmd))
            return {};
        return std::string(cmd.name);
    }
};

codec_options with_limits(codec_limits l)
{
    auto o = options_for(socket_type::pair);
    o.limits = l;
    return o;
}

} // namespace

TEST_CASE("a frame announcing 2^62 bytes fails at its header and allocates nothing big")
{
    ready_codec r;
    const auto header = hex("02 40 00 00 00 00 00 00 00");
    test::reset_alloc_stats();
    CHECK(r.feed(header) == header.size());
    const auto stats = test::current_alloc_stats();
    CHECK(r.c.is_failed());
    CHECK(r.c.error() == error::message_too_large);
    CHECK(r.c.error() == condition::limit_exceeded);
    CHECK(stats.largest < 4096);
    CHECK(r.queued_command() == "ERROR");
}

TEST_CASE("an announced 1 GiB frame with 10 bytes sent allocates about max_preallocation")
{
    codec_limits l;
    l.max_message_size = std::size_t{4} << 30;
    ready_codec r(with_limits(l));
    auto bytes = hex("02 00 00 00 00 40 00 00 00"); // 1 GiB
    bytes.insert(bytes.end(), 10, std::byte{'z'});
    test::reset_alloc_stats();
    CHECK(r.feed(bytes) == bytes.size());
    const auto stats = test::current_alloc_stats();
    CHECK_FALSE(r.c.is_failed());
    CHECK(r.events.empty());
    CHECK(stats.largest <= l.max_preallocation + 256);
    CHECK(stats.bytes <= l.max_preallocation + 4096);

    // body_target() offers a bounded window, not the announced gigabyte.
    const auto target = r.c.body_target();
    CHECK_FALSE(target.empty());
    CHECK(target.size() <= l.max_preallocation);
    CHECK(test::current_alloc_stats().largest <= l.max_preallocation + 256);
}

TEST_CASE("a smaller max_preallocation is honoured")
{
    codec_limits l;
    l.max_preallocation = 4096;
    ready_codec r(with_limits(l));
    auto bytes = hex("02 00 00 00 00 00 10 00 00"); // 1 MiB
    bytes.insert(bytes.end(), 10, std::byte{'z'});
    test::reset_alloc_stats();
    r.feed(bytes);
    CHECK(test::current_alloc_stats().largest <= 4096 + 256);
}

TEST_CASE("max_message_size counts all frames of a message")
{
    codec_limits l;
    l.max_message_size = 100;
    ready_codec r(with_limits(l));
    // Exactly at the limit is fine.
    auto ok = test::data_frame(std::string(60, 'a'), true);
    const auto last = test::data_frame(std::string(40, 'b'));
    ok.insert(ok.end(), last.begin(), last.end());
    CHECK(r.feed(ok) == ok.size());
    REQUIRE(r.events.size() == 1);

    // One byte over, spread over two frames.
    auto over = test::data_frame(std::string(60, 'a'), true);
    const auto last2 = test::data_frame(std::string(41, 'b'));
    over.insert(over.end(), last2.begin(), last2.end());
    r.feed(over);
    CHECK(r.c.error() == error::message_too_large);
    CHECK(r.events.size() == 1); // the partial message is never delivered
}

TEST_CASE("too_many_frames")
{
    codec_limits l;
    l.max_frames = 3;
    ready_codec r(with_limits(l));
    std::vector<std::byte> three;
    for (int i = 0; i < 3; ++i) {
        const auto f = test::data_frame("x", i != 2);
        three.insert(three.end(), f.begin(), f.end());
    }
    CHECK(r.feed(three) == three.size());
    REQUIRE(r.events.size() == 1);
    CHECK(test::as<message>(r.events[0])->size() == 3);

    std::vector<std::byte> four;
    for (int i = 0; i < 4; ++i) {
        const auto f = test::data_frame("x", i != 3);
        four.insert(four.end(), f.begin(), f.end());
    }
    r.feed(four);
    CHECK(r.c.error() == error::too_many_frames);
    CHECK(r.c.error() == condition::limit_exceeded);
    CHECK(r.events.size() == 1);
}

TEST_CASE("command_too_large")
{
    codec_limits l;
    l.max_command_size = 100;
    SUBCASE("just over")
    {
        ready_codec r(with_limits(l));
        r.feed(hex("04 65")); // 101
        CHECK(r.c.error() == error::command_too_large);
    }
    SUBCASE("a huge long command, before any body byte, nothing allocated")
    {
        ready_codec r(with_limits(l));
        test::reset_alloc_stats();
        r.feed(hex("06 00 00 01 00 00 00 00 00"));
        CHECK(r.c.error() == error::command_too_large);
        CHECK(test::current_alloc_stats().largest < 4096);
    }
    SUBCASE("at the limit is fine")
    {
        ready_codec r(with_limits(l));
        auto cmd = test::command_frame("X-PAD", std::vector<std::byte>(100 - 6, std::byte{0}));
        CHECK(r.feed(cmd) == cmd.size());
        CHECK_FALSE(r.c.is_failed());
    }
    SUBCASE("during the handshake too")
    {
        test::fake_clock clock;
        codec c(with_limits(l), clock.now());
        const auto g = wire::encode_greeting({});
        std::vector<std::byte> in(g.begin(), g.end());
        const auto h = hex("06 00 00 00 00 7f ff ff ff");
        in.insert(in.end(), h.begin(), h.end());
        std::vector<event> events;
        test::feed_all(c, in, clock.now(), events);
        CHECK(c.error() == error::command_too_large);
    }
}

TEST_CASE("malformed frames: MORE on a command, reserved bits, size >= 2^63")
{
    for (const char* bad : {"05 05", "0c 05", "08 00", "80 00", "07 00 00 00 00 00 00 01 00",
                            "02 80 00 00 00 00 00 00 00"}) {
        CAPTURE(bad);
        ready_codec r;
        r.feed(hex(bad));
        CHECK(r.c.error() == error::malformed_frame);
        CHECK(r.c.error() == condition::protocol_violation);
        CHECK(r.queued_command() == "ERROR");
    }
}

TEST_CASE("empty and malformed commands after the handshake")
{
    SUBCASE("zero-length command")
    {
        ready_codec r;
        r.feed(hex("04 00"));
        CHECK(r.c.error() == error::malformed_command);
    }
    SUBCASE("name longer than the body")
    {
        ready_codec r;
        r.feed(hex("04 03 09 41 42"));
        CHECK(r.c.error() == error::malformed_command);
    }
    SUBCASE("libzmq's malformed ERROR (docs/libzmq-wire.md fact 9)")
    {
        ready_codec r;
        r.feed(hex("04 09 5e 52 52 4f 52 03 34 30 30"));
        CHECK(r.c.error() == error::malformed_command);
    }
    SUBCASE("truncated PING")
    {
        ready_codec r;
        r.feed(hex("04 05 04 50 49 4e 47"));
        CHECK(r.c.error() == error::malformed_command);
        // No PONG with stale bytes, only the ERROR.
        CHECK(r.queued_command() == "ERROR");
    }
}

TEST_CASE("unknown commands are ignored")
{
    ready_codec r;
    auto in = test::command_frame("XYZZY", test::as_span("data"));
    const auto ready_again = test::command_frame("READY");
    const auto msg = test::data_frame("after");
    in.insert(in.end(), ready_again.begin(), ready_again.end());
    in.insert(in.end(), msg.begin(), msg.end());
    CHECK(r.feed(in) == in.size());
    CHECK_FALSE(r.c.is_failed());
    REQUIRE(r.events.size() == 1);
    CHECK(*test::as<message>(r.events[0]) == message{"after"});
    CHECK_FALSE(r.c.has_output());
}

TEST_CASE("ERROR from the peer ends the connection with its reason")
{
    ready_codec r;
    std::vector<std::byte> in;
    wire::append_error(in, "Invalid socket type");
    r.feed(in);
    CHECK(r.c.is_failed());
    CHECK(r.c.error() == error::peer_error);
    CHECK(r.c.error() == condition::peer_closed);
    CHECK(r.c.error_reason().find("Invalid socket type") != std::string::npos);
    CHECK_FALSE(r.c.has_output()); // no ERROR in answer to an ERROR
}

TEST_CASE("a failed codec stays failed")
{
    ready_codec r;
    auto in = hex("80 00");
    const auto msg = test::data_frame("late");
    in.insert(in.end(), msg.begin(), msg.end());
    r.feed(in);
    REQUIRE(r.c.is_failed());
    const auto ec = r.c.error();
    const auto reason = r.c.error_reason();
    CHECK(ec == error::malformed_frame);

    CHECK(r.c.feed(msg, r.clock.now()) == 0);
    CHECK(r.c.send(message{"x"}) == ec);
    CHECK(r.c.send_subscribe(test::as_span("t")) == ec);
    CHECK(r.c.send_cancel(test::as_span("t")) == ec);
    CHECK_FALSE(r.c.next_event().has_value());
    CHECK_FALSE(r.c.next_timeout().has_value());
    r.c.handle_timeout(r.clock.now() + std::chrono::hours(1));
    // A later failure does not overwrite the first.
    r.c.fail(make_error_code(error::connection_closed), "closed");
    CHECK(r.c.error() == ec);
    CHECK(r.c.error_reason() == reason);
    CHECK(r.c.body_target().empty());
    CHECK(r.events.empty());
}

TEST_CASE("local failure: connection_closed, with and without ERROR")
{
    ready_codec quiet;
    quiet.c.fail(make_error_code(error::connection_closed), "stream ended");
    CHECK(quiet.c.error() == error::connection_closed);
    CHECK(quiet.c.error_reason() == "stream ended");
    CHECK_FALSE(quiet.c.has_output());

    ready_codec loud;
    loud.c.fail(make_error_code(error::invalid_argument), "bye", true);
    CHECK(loud.queued_command() == "ERROR");
}

TEST_CASE("a partial message is dropped when the codec fails")
{
    ready_codec r;
    auto in = test::data_frame("first", true);
    const auto bad = hex("80");
    in.insert(in.end(), bad.begin(), bad.end());
    r.feed(in);
    CHECK(r.c.is_failed());
    CHECK(r.events.empty());
}

TEST_CASE("local misuse: send before ready, empty message")
{
    test::fake_clock clock;
    codec c(options_for(socket_type::pair), clock.now());
    CHECK(c.send(message{"early"}) == error::not_ready);
    CHECK(c.send(message{"early"}) == condition::local_misuse);
    CHECK(c.send_subscribe({}) == error::not_ready);
    CHECK(c.send_cancel({}) == error::not_ready);
    CHECK_FALSE(c.is_failed()); // misuse does not break the connection
    CHECK(c.pending_output_size() == wire::signature_size); // nothing but our signature

    ready_codec r;
    CHECK(r.c.send(message{}) == error::invalid_argument);
    CHECK(r.c.send(message{}) == condition::local_misuse);
    CHECK_FALSE(r.c.is_failed());
    CHECK_FALSE(r.c.has_output());
    CHECK_FALSE(r.c.send(message{""})); // one empty frame is a valid message
    CHECK(test::to_hex(test::drain_output(r.c)) == "0000");
}

TEST_CASE("too many READY properties")
{
    codec_limits l;
    l.max_properties = 2;
    test::fake_clock clock;
    codec c(with_limits(l), clock.now());
    const auto g = wire::encode_greeting({});
    std::vector<std::byte> in(g.begin(), g.end());
    metadata m;
    m.add("Socket-Type", "PAIR");
    m.add("X-A", "1");
    m.add("X-B", "2");
    wire::append_ready(in, m);
    std::vector<event> events;
    test::feed_all(c, in, clock.now(), events);
    CHECK(c.error() == error::too_many_properties);
}
