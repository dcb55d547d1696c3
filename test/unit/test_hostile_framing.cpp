// SPDX-License-Identifier: MPL-2.0
// Hostile catalogue, framing after the greeting (items 7 and 26-36;
// docs/reliability.md maps every item to its test): a ready codec fed by
// a raw peer. Sizes announced by the peer never become allocations.
#include "alloc_hook.hpp"
#include "hostile_target.hpp"
#include "zmtp/security/curve_mechanism.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <optional>

using namespace zmtp;
using test::check_dropped;
using test::hex;
using test::hostile_target;

namespace {

// Feeds `in` to a ready codec; returns the largest allocation made meanwhile.
std::size_t largest_allocation_feeding(hostile_target& t, const std::vector<std::byte>& in)
{
    test::reset_alloc_stats();
    t.feed(in);
    return test::current_alloc_stats().largest;
}

std::vector<std::byte> repeated(const std::vector<std::byte>& unit, std::size_t n)
{
    std::vector<std::byte> out;
    out.reserve(unit.size() * n);
    for (std::size_t i = 0; i < n; ++i)
        out.insert(out.end(), unit.begin(), unit.end());
    return out;
}

} // namespace

TEST_CASE("hostile 7: a stream that ends mid-frame or mid-message delivers nothing of it")
{
    for (const char* tail : {"00", "02 00 00 00 00", "00 0a 61 62 63", "01 01 61"}) {
        CAPTURE(std::string(tail));
        hostile_target t;
        t.handshake();
        t.feed(hex(tail));
        REQUIRE_FALSE(t.c.is_failed());
        t.c.peer_closed();
        check_dropped(t, error::connection_closed);
        CHECK_FALSE(t.c.next_timeout());
    }
}

TEST_CASE("hostile 26: reserved flag bits are a malformed frame")
{
    for (const char* bad : {"f8 02 72 62", "08 00"}) {
        CAPTURE(std::string(bad));
        hostile_target t;
        t.handshake();
        t.feed(hex(bad));
        check_dropped(t, error::malformed_frame);
        CHECK(t.queued_command() == "ERROR");
    }
}

TEST_CASE("hostile 27: a long size of 2^63 is refused at its header, nothing allocated")
{
    hostile_target t;
    t.handshake();
    CHECK(largest_allocation_feeding(t, hex("02 80 00 00 00 00 00 00 00")) < 4096);
    check_dropped(t, error::malformed_frame);
}

TEST_CASE("hostile 28: a long size one octet over the 64 MiB limit is refused before any allocation")
{
    hostile_target t;
    t.handshake();
    REQUIRE(t.c.options().limits.max_message_size == 64 * 1024 * 1024);
    CHECK(largest_allocation_feeding(t, hex("02 00 00 00 00 04 00 00 01")) < 4096);
    check_dropped(t, error::message_too_large);
}

TEST_CASE("hostile 29: wrap-around sizes are refused, whatever follows")
{
    for (const char* header : {"02 ff ff ff ff ff ff ff da", "02 ff ff ff ff ff ff ff 00"}) {
        CAPTURE(std::string(header));
        hostile_target t;
        t.handshake();
        auto in = hex(header);
        in.insert(in.end(), 5000, std::byte{'A'});
        CHECK(largest_allocation_feeding(t, in) < 4096);
        check_dropped(t, error::malformed_frame);
    }
}

TEST_CASE("hostile 30: a 60 MiB frame announced and trickled holds max_preallocation, not 60 MiB")
{
    hostile_target t;
    t.handshake();
    auto in = hex("02 00 00 00 00 03 c0 00 00");
    in.insert(in.end(), 100, std::byte{'z'});
    const auto largest = largest_allocation_feeding(t, in);
    CHECK_FALSE(t.c.is_failed());
    CHECK(largest <= t.c.options().limits.max_preallocation + 256);
    CHECK(t.messages() == 0);
}

TEST_CASE("hostile 30 and 120: peers trickling large frames share one budget; the one that would pass it is "
          "dropped, small messages never touch it, and a message finished or dropped gives its share back")
{
    constexpr std::size_t kib = 1024;
    constexpr std::size_t free_share = byte_budget::free_share;
    auto budget = std::make_shared<byte_budget>(1024 * kib);
    const auto with_budget = [&] {
        auto o = test::options_for(socket_type::pull);
        o.inflight_budget = budget;
        return o;
    };
    std::optional<hostile_target> a(std::in_place, with_budget());
    hostile_target b(with_budget());
    hostile_target small(with_budget());
    for (hostile_target* t : {&*a, &b, &small})
        t->handshake();
    const auto sixty_mib = hex("02 00 00 00 00 03 c0 00 00");
    const std::vector<std::byte> chunk(256 * kib, std::byte{'z'});

    // a holds 768 KiB of its 60 MiB frame: 704 KiB of them from the budget.
    CHECK(a->feed(sixty_mib) == sixty_mib.size());
    for (int i = 0; i < 3; ++i)
        CHECK(a->feed(chunk) == chunk.size());
    CHECK(budget->held() == 3 * chunk.size() - free_share);
    // b's second chunk would take the budget past its 1 MiB: b is dropped.
    b.feed(sixty_mib);
    b.feed(chunk);
    CHECK_FALSE(b.c.is_failed());
    CHECK(budget->held() == 3 * chunk.size() + chunk.size() - 2 * free_share);
    b.feed(chunk);
    check_dropped(b, error::message_too_large);
    CHECK(b.c.error_reason().find("budget") != std::string::npos);
    CHECK(budget->held() == 3 * chunk.size() - free_share); // b's share came back
    CHECK_FALSE(a->c.is_failed());

    // Messages up to the free share flow whatever is left.
    std::vector<std::byte> messages;
    for (int i = 0; i < 100; ++i) {
        messages.push_back(std::byte{0x00});
        messages.push_back(std::byte{200});
        messages.insert(messages.end(), 200, std::byte{'s'});
    }
    CHECK(small.feed(messages) == messages.size());
    CHECK(small.messages() == 100);
    CHECK(budget->held() == 3 * chunk.size() - free_share);
    // A 300 KiB message takes its share while it arrives and gives it back
    // once whole.
    const auto large = hex("02 00 00 00 00 00 04 b0 00");
    const std::vector<std::byte> half(150 * kib, std::byte{'h'});
    small.feed(large);
    small.feed(half);
    CHECK(budget->held() == 3 * chunk.size() - free_share + half.size() - free_share);
    small.feed(half);
    CHECK(small.messages() == 101);
    CHECK(budget->held() == 3 * chunk.size() - free_share);

    a.reset(); // a connection that goes gives its share back
    CHECK(budget->held() == 0);
    CHECK_FALSE(small.c.is_failed());
}

TEST_CASE("hostile 31: non-minimal long sizes are accepted, for messages and commands")
{
    hostile_target t;
    t.handshake();
    auto in = hex("02 00 00 00 00 00 00 00 02 6c 67");
    const auto ping = hex("06 00 00 00 00 00 00 00 07 04 50 49 4e 47 00 00");
    in.insert(in.end(), ping.begin(), ping.end());
    CHECK(t.feed(in) == in.size());
    CHECK_FALSE(t.c.is_failed());
    REQUIRE(t.messages() == 1);
    CHECK(*test::as<message>(t.events[0]) == message{"lg"});
    CHECK(t.queued_command() == "PONG");
}

TEST_CASE("hostile 32: empty frames are delivered as empty messages")
{
    hostile_target t;
    t.handshake();
    const auto in = hex("00 00 01 00 00 00");
    CHECK(t.feed(in) == in.size());
    REQUIRE(t.messages() == 2);
    const auto& single = *test::as<message>(t.events[0]);
    const auto& pair = *test::as<message>(t.events[1]);
    CHECK(single.size() == 1);
    CHECK(single.front().size() == 0);
    CHECK(pair.size() == 2);
    CHECK(pair.front().size() == 0);
}

TEST_CASE("hostile 33: a multipart bomb is refused at the frames-per-message or size limit")
{
    SUBCASE("empty MORE frames for ever: too_many_frames at frame 1025")
    {
        hostile_target t;
        t.handshake();
        const auto in = repeated(hex("01 00"), 100'000);
        test::reset_alloc_stats();
        const auto used = t.feed(in);
        CHECK(test::current_alloc_stats().bytes < 256 * 1024);
        check_dropped(t, error::too_many_frames);
        CHECK(used <= 2 * (t.c.options().limits.max_frames + 1));
    }
    SUBCASE("255-octet MORE frames: message_too_large at the message limit")
    {
        codec_limits l;
        l.max_message_size = 64 * 1024;
        l.max_frames = 100'000;
        auto o = test::options_for(socket_type::pull);
        o.limits = l;
        hostile_target t(o);
        t.handshake();
        auto unit = hex("01 ff");
        unit.insert(unit.end(), 255, std::byte{'x'});
        const auto in = repeated(unit, 1000);
        const auto used = t.feed(in);
        check_dropped(t, error::message_too_large);
        CHECK(used <= l.max_message_size + 3 * unit.size());
    }
}

TEST_CASE("hostile 34: MORE on a command frame is a malformed frame")
{
    hostile_target t;
    t.handshake();
    t.feed(hex("05 06 04 58 59 5a 57 00"));
    check_dropped(t, error::malformed_frame);
}

TEST_CASE("hostile 35: a PING between the frames of a message is answered and the message arrives whole")
{
    // The catalogue allows this or a drop: the command is handled on its
    // own and the frames around it still make one message.
    hostile_target t;
    t.handshake();
    const auto in = hex("01 01 61  04 07 04 50 49 4e 47 00 00  00 01 62");
    CHECK(t.feed(in) == in.size());
    CHECK_FALSE(t.c.is_failed());
    REQUIRE(t.messages() == 1);
    CHECK(*test::as<message>(t.events.back()) == message{"a", "b"});
    CHECK(t.queued_command() == "PONG");
}

TEST_CASE("hostile 36: data before READY is an unexpected message, never delivered")
{
    hostile_target t;
    const auto g = wire::encode_greeting({});
    auto in = std::vector<std::byte>(g.begin(), g.end());
    const auto pre = test::data_frame("pre");
    in.insert(in.end(), pre.begin(), pre.end());
    metadata m;
    m.add("Socket-Type", "PUSH");
    wire::append_ready(in, m);
    t.feed(in);
    check_dropped(t, error::unexpected_message);
    CHECK_FALSE(t.handshake_completed());
}

TEST_CASE("hostile 37: a plaintext message on a CURVE connection is refused, never delivered")
{
    const auto client_keys = security::generate_curve_key_pair();
    const auto server_keys = security::generate_curve_key_pair();
    auto client = test::options_for(socket_type::push);
    client.mechanism = [&] {
        return std::make_unique<security::curve_client_mechanism>(client_keys, server_keys.public_key);
    };
    auto server = test::options_for(socket_type::pull);
    server.mechanism = [&] { return std::make_unique<security::curve_server_mechanism>(server_keys); };
    test::codec_pair p(client, server);
    p.pump();
    // The server asks the (absent) authenticator; accept.
    REQUIRE(p.b.awaiting_authentication());
    p.b.resolve_authentication({});
    p.pump();
    REQUIRE(p.both_ready());
    p.b_events.clear();

    const auto plain = test::data_frame("plain");
    test::feed_all(p.b, plain, p.clock.now(), p.b_events);
    CHECK(p.b.is_failed());
    CHECK(p.b.error() == condition::protocol_violation);
    CHECK_FALSE(p.b.error_reason().empty());
    for (const auto& e : p.b_events)
        CHECK_FALSE(test::as<message>(e));
}
