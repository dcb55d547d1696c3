// SPDX-License-Identifier: MPL-2.0
#include "zmtp/message.hpp"

#include "alloc_hook.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>
#include <utility>

using zmtp::frame;
using zmtp::frame_builder;
using zmtp::message;
using zmtp::test::reset_alloc_stats;

namespace {

std::string text(std::size_t n, char base = 'a')
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>(base + static_cast<char>(i % 26));
    return s;
}

// A frame holding a copy of text(n, base), in storage of its own.
frame copied(std::size_t n, char base = 'a')
{
    const std::string s = text(n, base);
    return frame(std::string_view(s));
}

// A frame of `first` bytes is freed and its storage kept (`kept` reports
// `class_bytes`); the next frame, of `second` bytes in the same class,
// takes that storage without allocating.
void check_storage_reused(std::size_t first, std::size_t second, std::size_t class_bytes,
                          std::size_t (*kept)() noexcept)
{
    frame a = copied(first);
    const std::byte* storage = a.data();
    a = frame();
    CHECK(kept() == class_bytes);
    const std::string next = text(second, 'C');
    reset_alloc_stats();
    frame b{std::string_view(next)};
    CHECK(zmtp::test::current_alloc_stats().count == 0);
    CHECK(b.data() == storage);
    CHECK(b.view() == next);
    CHECK(kept() == 0);
}

} // namespace

TEST_CASE("empty frame")
{
    frame f;
    CHECK(f.empty());
    CHECK(f.size() == 0);
    CHECK(f.view().empty());
    CHECK_FALSE(f.shares_storage());
    CHECK(f == frame(""));
}

TEST_CASE("frames up to inline_capacity live inline and copy by value")
{
    for (std::size_t n : {std::size_t{1}, std::size_t{5}, frame::inline_capacity}) {
        CAPTURE(n);
        const std::string body = text(n);
        reset_alloc_stats();
        const frame f(body);
        CHECK(zmtp::test::current_alloc_stats().count == 0);
        CHECK_FALSE(f.shares_storage());
        frame copy = f;
        CHECK_FALSE(copy.shares_storage());
        CHECK(copy.data() != f.data());
        CHECK(copy == f);
        CHECK(copy.view() == body);
    }
}

TEST_CASE("frames above inline_capacity share storage on copy")
{
    const std::string body = text(frame::inline_capacity + 1);
    const frame f(body);
    CHECK(f.shares_storage());
    CHECK(f.view() == body);

    reset_alloc_stats();
    frame copy = f;
    frame assigned;
    assigned = f;
    CHECK(zmtp::test::current_alloc_stats().count == 0);
    CHECK(copy.shares_storage());
    CHECK(copy.data() == f.data());
    CHECK(assigned.data() == f.data());
    CHECK(copy == f);

    // The source going away leaves the copies intact.
    {
        frame temp(body);
        frame keep = temp;
        temp = frame("x");
        CHECK(keep.view() == body);
    }
}

TEST_CASE("moves transfer the bytes and leave the source empty")
{
    SUBCASE("inline")
    {
        frame a("hello");
        frame b(std::move(a));
        CHECK(b.view() == "hello");
        CHECK(a.empty()); // NOLINT(bugprone-use-after-move): the moved-from state is specified
        frame c;
        c = std::move(b);
        CHECK(c.view() == "hello");
        CHECK(b.empty()); // NOLINT(bugprone-use-after-move)
    }
    SUBCASE("shared")
    {
        const std::string body = text(1000);
        frame a(body);
        const std::byte* p = a.data();
        frame b(std::move(a));
        CHECK(b.data() == p);
        CHECK(a.empty()); // NOLINT(bugprone-use-after-move)
        CHECK_FALSE(a.shares_storage());
        frame c("short");
        c = std::move(b);
        CHECK(c.data() == p);
        CHECK(c.view() == body);
    }
    SUBCASE("self assignment")
    {
        frame a(text(100));
        const frame& same = a;
        a = same;
        CHECK(a.view() == text(100));
    }
}

TEST_CASE("frame equality compares bytes, not storage")
{
    CHECK(frame("abc") == frame("abc"));
    CHECK_FALSE(frame("abc") == frame("abd"));
    CHECK_FALSE(frame("abc") == frame("ab"));
    const std::string big = text(500);
    CHECK(frame(big) == frame(big));
    std::string other = big;
    other[499] = '!';
    CHECK_FALSE(frame(big) == frame(other));
    CHECK(frame(std::string_view("a\0b", 3)).size() == 3);
}

TEST_CASE("frame_builder does not allocate the announced size up front")
{
    constexpr std::size_t one_gib = std::size_t{1} << 30;
    constexpr std::size_t initial = 64 * 1024;
    reset_alloc_stats();
    frame_builder b(one_gib, initial);
    const auto stats = zmtp::test::current_alloc_stats();
    CHECK(stats.largest <= initial + 64);
    CHECK(b.size() == one_gib);
    CHECK(b.filled() == 0);
    CHECK(b.remaining() == one_gib);
    CHECK(b.writable().size() == initial);

    // Writing grows storage with the bytes written, not to the final size.
    const std::string chunk = text(initial);
    b.append(zmtp::frame(chunk).bytes());
    b.append(zmtp::frame(chunk).bytes());
    CHECK(b.filled() == 2 * initial);
    CHECK(zmtp::test::current_alloc_stats().largest <= 4 * initial + 64);
    CHECK(b.writable().size() <= 2 * initial);
}

TEST_CASE("frame_builder fills a frame through writable/commit")
{
    const std::string body = text(10'000);
    frame_builder b(body.size(), 100);
    std::size_t at = 0;
    while (b.remaining() != 0) {
        b.reserve_more(std::min<std::size_t>(b.remaining(), 1500));
        auto w = b.writable();
        REQUIRE(!w.empty());
        CHECK(w.size() <= b.remaining());
        const std::size_t n = std::min<std::size_t>(w.size(), 777);
        std::memcpy(w.data(), body.data() + at, n);
        b.commit(n);
        at += n;
    }
    frame f = std::move(b).finish();
    CHECK(f.size() == body.size());
    CHECK(f.view() == body);
    CHECK(f.shares_storage());
}

TEST_CASE("frame_builder for a small frame stays inline")
{
    reset_alloc_stats();
    frame_builder b(10, 4096);
    b.append(zmtp::frame("01234").bytes());
    b.append(zmtp::frame("56789").bytes());
    CHECK(b.remaining() == 0);
    frame f = std::move(b).finish();
    CHECK(zmtp::test::current_alloc_stats().count == 0);
    CHECK(f.view() == "0123456789");
    CHECK_FALSE(f.shares_storage());
}

TEST_CASE("frame_builder append never writes past the final size")
{
    frame_builder b(40, 8);
    b.append(zmtp::frame(text(30)).bytes());
    b.append(zmtp::frame(text(30)).bytes()); // only 10 of these fit
    CHECK(b.filled() == 40);
    CHECK(b.remaining() == 0);
    CHECK(b.writable().empty());
    frame f = std::move(b).finish();
    CHECK(f.view() == text(30) + text(10));
}

TEST_CASE("frame_builder moves")
{
    frame_builder a(100, 50);
    a.append(zmtp::frame(text(60)).bytes());
    frame_builder b(std::move(a));
    CHECK(b.filled() == 60);
    b.append(zmtp::frame(text(40)).bytes());
    frame_builder c(5, 5);
    c = std::move(b);
    CHECK(c.remaining() == 0);
    CHECK(std::move(c).finish().view() == text(60) + text(40));

    frame_builder small(6, 6);
    small.append(zmtp::frame("abc").bytes());
    frame_builder small2(std::move(small));
    small2.append(zmtp::frame("def").bytes());
    CHECK(std::move(small2).finish().view() == "abcdef");
}

TEST_CASE("messages")
{
    message m{"one", "", frame(text(100))};
    CHECK(m.size() == 3);
    CHECK(m.byte_size() == 103);
    CHECK(m[1].empty());
    CHECK(m.front().view() == "one");
    CHECK(m.back().size() == 100);

    message copy = m;
    CHECK(copy == m);
    CHECK(copy[2].data() == m[2].data()); // large frame shared, not copied
    copy.erase_front();
    CHECK(copy.size() == 2);
    CHECK_FALSE(copy == m);

    message built;
    built.push_back(frame("one"));
    built.emplace_back("");
    built.emplace_back(text(100));
    CHECK(built == m);
    built.clear();
    CHECK(built.empty());
    CHECK(built.byte_size() == 0);
}

TEST_CASE("a message of up to inline_frames small frames allocates nothing, made, moved or copied")
{
    static_assert(message::inline_frames >= 3);
    reset_alloc_stats();
    message m{"routing id", "", "body"}; // a ROUTER envelope
    message moved(std::move(m));
    message copy = moved;
    message assigned;
    assigned = std::move(copy);
    assigned.erase_front();
    assigned.push_back(frame("tail"));
    CHECK(zmtp::test::current_alloc_stats().count == 0);
    CHECK(moved == message{"routing id", "", "body"});
    CHECK(assigned == message{"", "body", "tail"});

    assigned.push_back(frame("fourth")); // past inline_frames: the frames move to the heap
    CHECK(zmtp::test::current_alloc_stats().count == 1);
    message big(std::move(assigned));
    CHECK(zmtp::test::current_alloc_stats().count == 1); // stolen, not copied
    CHECK(big == message{"", "body", "tail", "fourth"});
}

TEST_CASE("frame::borrow: the caller's bytes, released once when the last copy is gone")
{
    const std::string buffer = text(4096);
    const auto bytes = std::as_bytes(std::span<const char>(buffer.data(), buffer.size()));
    int released = 0;
    {
        frame f = frame::borrow(bytes, [&released]() noexcept { ++released; });
        CHECK(f.data() == bytes.data()); // not copied
        CHECK(f.view() == buffer);
        CHECK(f.shares_storage());
        message to_a{f};
        message to_b{f}; // as PUB fan-out queues it for two peers
        frame moved = std::move(f);
        CHECK(released == 0);
        to_a.clear();
        moved = frame("x");
        CHECK(released == 0);
        CHECK(to_b.front().view() == buffer);
    }
    CHECK(released == 1);

    // Small borrowed frames are not copied either.
    int small_released = 0;
    {
        const frame f = frame::borrow(bytes.first(3), [&]() noexcept { ++small_released; });
        CHECK(f.data() == bytes.data());
    }
    CHECK(small_released == 1);
}

TEST_CASE("frame::borrow with a shared owner keeps it alive while a copy exists")
{
    auto owner = std::make_shared<std::vector<std::byte>>(1000, std::byte{7});
    std::weak_ptr<std::vector<std::byte>> watch = owner;
    const std::span<const std::byte> bytes(*owner); // before the owner moves
    frame f = frame::borrow(bytes, std::move(owner));
    frame copy = f;
    f = frame();
    CHECK_FALSE(watch.expired());
    CHECK(copy.size() == 1000);
    CHECK(copy.data()[999] == std::byte{7});
    copy = frame();
    CHECK(watch.expired());
}

TEST_CASE("frames from a moved std::string or std::vector, taken back without a copy")
{
    SUBCASE("std::string")
    {
        std::string s = text(1000);
        const char* p = s.data();
        frame f(std::move(s));
        CHECK(reinterpret_cast<const char*>(f.data()) == p);
        CHECK(f.view() == text(1000));
        std::string back = std::move(f).take_str();
        CHECK(back.data() == p);
        CHECK(back == text(1000));
        CHECK(f.empty()); // NOLINT(bugprone-use-after-move): specified as empty
    }
    SUBCASE("std::vector<std::byte>")
    {
        std::vector<std::byte> v(5000, std::byte{3});
        const std::byte* p = v.data();
        frame f(std::move(v));
        CHECK(f.data() == p);
        std::vector<std::byte> back = std::move(f).take_bytes();
        CHECK(back.data() == p);
        CHECK(back.size() == 5000);
    }
    SUBCASE("shared, another container type, received: a copy, the frame's copies intact")
    {
        frame f(text(100));
        frame other = f;
        std::string taken = std::move(f).take_str();
        CHECK(taken == text(100));
        CHECK(other.view() == text(100));
        std::vector<std::byte> bytes = std::move(other).take_bytes();
        CHECK(bytes.size() == 100);
        CHECK(static_cast<char>(bytes[1]) == text(100)[1]);

        frame_builder b(50, 50);
        b.append(frame(text(50)).bytes());
        CHECK(std::move(b).finish().take_str() == text(50));
    }
    SUBCASE("small ones live inline and allocate nothing")
    {
        std::string s = "short";
        std::vector<std::byte> v(4, std::byte{1});
        reset_alloc_stats();
        frame a(std::move(s));
        frame b(std::move(v));
        CHECK(zmtp::test::current_alloc_stats().count == 0);
        CHECK_FALSE(a.shares_storage());
        CHECK(a.view() == "short");
        CHECK(b.size() == 4);
    }
}

TEST_CASE("the storage of small frames is reused by the thread, within a bound")
{
    frame::release_pooled();
    REQUIRE(frame::cached_bytes() == 0);
    SUBCASE("a freed block serves the next frame of its class on the thread")
    {
        check_storage_reused(100, 70, 128, &frame::cached_bytes);
    }
    SUBCASE("a block of another class is not used")
    {
        frame a = copied(100);
        a = frame();
        const std::string third = text(300);
        reset_alloc_stats();
        const frame b{std::string_view(third)};
        CHECK(zmtp::test::current_alloc_stats().count == 1);
        CHECK(b.view() == third);
        CHECK(frame::cached_bytes() == 128);
    }
    SUBCASE("inline frames and frames past 1 KiB are not kept")
    {
        frame a = copied(frame::inline_capacity);
        frame b = copied(1025);
        a = frame();
        b = frame();
        CHECK(frame::cached_bytes() == 0);
    }
    SUBCASE("at most 64 KiB is kept per thread; a full list goes where other threads find it")
    {
        std::vector<frame> many;
        for (int i = 0; i < 100; ++i)
            many.push_back(copied(1000));
        std::set<const std::byte*> freed;
        for (const frame& f : many)
            freed.insert(f.data());
        many.clear();
        // The 65th block found the thread's 64 KiB full: its 64 went to
        // the depot, and the last 36 stayed.
        CHECK(frame::cached_bytes() == 36 * 1024);
        CHECK(frame::pooled_bytes() == 64 * 1024);
        // A thread that allocates what this one freed (an inproc sender)
        // takes that list: 64 frames without malloc.
        const std::string body = text(1000);
        std::size_t allocations = 0, reused = 0;
        std::thread([&] {
            std::vector<frame> made;
            made.reserve(64);
            reset_alloc_stats();
            for (int i = 0; i < 64; ++i)
                made.emplace_back(std::string_view(body));
            allocations = zmtp::test::current_alloc_stats().count;
            for (const frame& f : made)
                reused += freed.count(f.data());
        }).join();
        CHECK(allocations == 0);
        CHECK(reused == 64);
        CHECK(frame::pooled_bytes() == 0);
    }
    SUBCASE("the lists handed between threads hold at most 1 MiB")
    {
        std::vector<frame> many;
        for (int i = 0; i < 2000; ++i)
            many.push_back(copied(1000));
        many.clear();
        CHECK(frame::pooled_bytes() == 1024 * 1024);
        CHECK(frame::cached_bytes() <= 64 * 1024);
    }
    SUBCASE("a block freed on another thread is kept by that thread")
    {
        frame a = copied(100);
        std::size_t kept_there = 0;
        std::thread([&] {
            a = frame();
            kept_there = frame::cached_bytes();
        }).join(); // its cache is freed as it ends (a leak would show under ASan)
        CHECK(kept_there == 128);
        CHECK(frame::cached_bytes() == 0);
    }
    SUBCASE("a shared block is kept once its last copy is gone")
    {
        frame a = copied(100);
        frame b = a;
        a = frame();
        CHECK(frame::cached_bytes() == 0);
        CHECK(b.view() == text(100));
        b = frame();
        CHECK(frame::cached_bytes() == 128);
    }
    frame::release_pooled();
    CHECK(frame::cached_bytes() == 0);
}

TEST_CASE("the storage of large frames is reused, within a bound")
{
    constexpr std::size_t mib = 1024 * 1024;
    frame::release_pooled();
    REQUIRE(frame::pooled_bytes() == 0);
    SUBCASE("a freed block serves the next frame of its size class")
    {
        check_storage_reused(mib, mib - 100, mib, &frame::pooled_bytes);
    }
    SUBCASE("a block of another size class is not used")
    {
        frame a = copied(mib);
        a = frame();
        const frame b = copied(200 * 1024);
        CHECK(b.view() == text(200 * 1024));
        CHECK(frame::pooled_bytes() == mib);
    }
    SUBCASE("frames under 64 KiB are not kept in the pool")
    {
        frame a = copied(1000);
        frame b = copied(60 * 1024);
        a = frame();
        b = frame();
        CHECK(frame::pooled_bytes() == 0);
    }
    SUBCASE("at most 32 MiB is kept")
    {
        std::vector<frame> many;
        for (int i = 0; i < 40; ++i)
            many.push_back(copied(mib));
        many.clear();
        CHECK(frame::pooled_bytes() == 32 * mib);
    }
    SUBCASE("a received frame's builder draws from the pool")
    {
        frame a = copied(mib);
        const std::byte* storage = a.data();
        a = frame();
        frame_builder b(mib, mib);
        b.append(frame(text(mib, 'B')).bytes());
        frame f = std::move(b).finish();
        CHECK(f.data() == storage);
        CHECK(f.view() == text(mib, 'B'));
    }
    frame::release_pooled();
    CHECK(frame::pooled_bytes() == 0);
}
