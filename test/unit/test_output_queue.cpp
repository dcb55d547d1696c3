// SPDX-License-Identifier: MPL-2.0
#include "zmtp/codec/output_queue.hpp"

#include "alloc_hook.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <string>

using zmtp::frame;
using zmtp::output_queue;
using zmtp::test::as_span;
using zmtp::test::pattern;

namespace {

std::string flatten(std::span<const std::span<const std::byte>> spans)
{
    std::string out;
    for (auto s : spans)
        out.append(reinterpret_cast<const char*>(s.data()), s.size());
    return out;
}

std::string drain(output_queue& q)
{
    std::string out;
    while (!q.empty()) {
        auto spans = q.front_spans();
        std::string part = flatten(spans);
        out += part;
        q.consume(part.size());
    }
    return out;
}

} // namespace

TEST_CASE("empty queue")
{
    output_queue q;
    CHECK(q.empty());
    CHECK(q.size() == 0);
    CHECK(q.front_spans().empty());
    q.append_copy({});
    CHECK(q.empty());
    q.consume(10); // harmless
    CHECK(q.size() == 0);
}

TEST_CASE("small appends merge into one span")
{
    output_queue q;
    q.append_copy(as_span("ab"));
    q.append_copy(as_span("cd"));
    q.append_frame(frame("ef"));
    q.append_frame(frame(pattern(100)));
    CHECK(q.size() == 6 + 100);
    auto spans = q.front_spans();
    REQUIRE(spans.size() == 1);
    CHECK(flatten(spans) == "abcdef" + pattern(100));
}

TEST_CASE("large frames are referenced, not copied")
{
    output_queue q;
    const frame big(pattern(output_queue::reference_threshold));
    REQUIRE(big.shares_storage());
    q.append_copy(as_span("hdr"));
    q.append_frame(big);
    q.append_copy(as_span("tail"));
    auto spans = q.front_spans();
    REQUIRE(spans.size() == 3);
    CHECK(spans[1].data() == big.data());
    CHECK(spans[1].size() == big.size());
    CHECK(flatten(spans) == "hdr" + pattern(output_queue::reference_threshold) + "tail");

    // A frame just under the threshold is copied.
    output_queue small;
    const frame under(pattern(output_queue::reference_threshold - 1));
    small.append_frame(under);
    REQUIRE(small.front_spans().size() == 1);
    CHECK(small.front_spans()[0].data() != under.data());
}

TEST_CASE("the queue keeps a referenced frame alive")
{
    output_queue q;
    const std::string body = pattern(10'000, 3);
    {
        frame f(body);
        q.append_frame(f);
    }
    CHECK(drain(q) == body);
}

TEST_CASE("spans stay valid while more is appended")
{
    output_queue q;
    q.append_copy(as_span("first-"));
    q.append_frame(frame(pattern(5000, 1)));
    q.append_copy(as_span("second"));
    auto spans = q.front_spans();
    // Copy the span descriptors: front_spans() may reuse its own storage.
    std::vector<std::span<const std::byte>> taken(spans.begin(), spans.end());
    const std::string before = flatten(taken);

    // Enough appends to need new chunks, plus more references.
    for (int i = 0; i < 200; ++i) {
        q.append_copy(as_span(pattern(1000, static_cast<unsigned>(i))));
        if (i % 50 == 0)
            q.append_frame(frame(pattern(4096, 9)));
    }
    CHECK(flatten(taken) == before);
    CHECK(before == "first-" + pattern(5000, 1) + "second");

    // Consuming exactly what was taken leaves the rest intact.
    q.consume(before.size());
    std::string expected;
    for (int i = 0; i < 200; ++i) {
        expected += pattern(1000, static_cast<unsigned>(i));
        if (i % 50 == 0)
            expected += pattern(4096, 9);
    }
    CHECK(drain(q) == expected);
}

TEST_CASE("partial consume")
{
    output_queue q;
    q.append_copy(as_span("0123456789"));
    q.append_frame(frame(pattern(3000)));
    q.append_copy(as_span("abc"));
    const std::string all = "0123456789" + pattern(3000) + "abc";
    CHECK(q.size() == all.size());

    q.consume(4);
    CHECK(q.size() == all.size() - 4);
    CHECK(flatten(q.front_spans()) == all.substr(4));

    q.consume(6 + 1000); // ends inside the referenced frame
    auto spans = q.front_spans();
    REQUIRE(spans.size() == 2);
    CHECK(spans[0].size() == 2000);
    CHECK(flatten(spans) == all.substr(1010));

    q.consume(2001);
    CHECK(flatten(q.front_spans()) == "bc");
    q.consume(100); // more than queued: clamps
    CHECK(q.empty());
    CHECK(q.size() == 0);
}

TEST_CASE("at most max_spans spans per write")
{
    output_queue q;
    std::string expected;
    // Alternate copies and references so nothing merges.
    const std::size_t pieces = output_queue::max_spans * 2 + 3;
    for (std::size_t i = 0; i < pieces; ++i) {
        const auto body = pattern(output_queue::reference_threshold, static_cast<unsigned>(i));
        q.append_frame(frame(body));
        q.append_copy(as_span("|"));
        expected += body + "|";
    }
    auto spans = q.front_spans();
    CHECK(spans.size() == output_queue::max_spans);
    std::string got;
    std::size_t rounds = 0;
    while (!q.empty()) {
        auto s = q.front_spans();
        CHECK(s.size() <= output_queue::max_spans);
        const std::string part = flatten(s);
        got += part;
        q.consume(part.size());
        ++rounds;
    }
    CHECK(got == expected);
    CHECK(rounds == (pieces * 2 + output_queue::max_spans - 1) / output_queue::max_spans);
}

TEST_CASE("chunks are reused once consumed")
{
    output_queue q;
    q.append_copy(as_span("hello"));
    const std::byte* first = q.front_spans()[0].data();
    q.consume(5);
    CHECK(q.empty());
    q.append_copy(as_span("again"));
    CHECK(q.front_spans()[0].data() == first);
    q.consume(5);

    // Stage enough pieces (each below reference_threshold, so copied) to
    // grow the chunks to chunk_capacity and fill several, drain, and check
    // that two full chunks' worth come from the rewound chunk and the spare
    // rather than from new allocations.
    const std::string piece = pattern(2000);
    REQUIRE(piece.size() < output_queue::reference_threshold);
    std::string all;
    for (int i = 0; i < 200; ++i) {
        q.append_copy(as_span(piece));
        all += piece;
    }
    CHECK(drain(q) == all);
    const std::size_t per_chunk = output_queue::chunk_capacity / piece.size();
    zmtp::test::reset_alloc_stats();
    for (std::size_t i = 0; i < 2 * per_chunk; ++i)
        q.append_copy(as_span(piece));
    CHECK(zmtp::test::current_alloc_stats().largest < output_queue::chunk_capacity);
    CHECK(q.size() == 2 * per_chunk * piece.size());
    q.clear();
}

TEST_CASE("adjacent chunks never merge into one span")
{
    // Two chunks placed back to back in memory: the bytes at the end of the
    // first and the start of the second look contiguous, but belong to two
    // chunks that are consumed and recycled separately. Chunks reach
    // chunk_capacity after 1000 B, 4 KiB and 32 KiB ones; the arena places
    // the chunk_capacity ones next to each other.
    output_queue q;
    zmtp::test::set_adjacent_allocations(output_queue::chunk_capacity);
    std::string all;
    auto stage = [&](const std::string& piece) {
        q.append_copy(as_span(piece));
        all += piece;
    };
    const std::string piece = pattern(1000, 1);
    stage(piece);                     // a 1000 B chunk
    for (int i = 0; i < 4; ++i)
        stage(piece);                 // a 4 KiB one
    for (int i = 0; i < 32; ++i)
        stage(piece);                 // a 32 KiB one
    for (int i = 0; i < 65; ++i)
        stage(piece);                 // the first chunk_capacity one...
    stage(pattern(output_queue::chunk_capacity - 65 * 1000, 2)); // ...filled exactly
    stage("next");                    // opens the second, right behind it
    zmtp::test::set_adjacent_allocations(0);
    CHECK(q.front_spans().size() == 5);
    CHECK(drain(q) == all);

    // Both chunks were fully consumed and must be recycled: a long run of
    // small writes needs no new chunk.
    zmtp::test::reset_alloc_stats();
    for (int i = 0; i < 500; ++i) {
        q.append_copy(as_span(pattern(1000, static_cast<unsigned>(i))));
        CHECK(drain(q) == pattern(1000, static_cast<unsigned>(i)));
    }
    CHECK(zmtp::test::current_alloc_stats().largest < output_queue::chunk_capacity);
}

TEST_CASE("a copy of reference_threshold bytes or more goes to frame storage, in order with staged bytes")
{
    output_queue q;
    q.append_copy(as_span("x"));
    const std::string big = pattern(output_queue::chunk_capacity + 10);
    q.append_copy(as_span(big));
    q.append_copy(as_span("y"));
    CHECK(drain(q) == "x" + big + "y");
}

TEST_CASE("clear drops everything")
{
    output_queue q;
    q.append_copy(as_span("abc"));
    q.append_frame(frame(pattern(4000)));
    q.clear();
    CHECK(q.empty());
    CHECK(q.size() == 0);
    CHECK(q.front_spans().empty());
    q.append_copy(as_span("z"));
    CHECK(drain(q) == "z");
}

TEST_CASE("a piece larger than the emptied only chunk replaces it")
{
    // Once drained, the queue's only chunk is empty and rewound; a staged
    // piece too large for it must replace it, not be staged behind it: an
    // empty chunk in front would never count as consumed and hold every
    // chunk behind it forever, so each round would allocate anew.
    output_queue q;
    q.append_copy(as_span("x"));
    q.consume(1); // the only chunk: first_chunk_capacity, empty
    const std::string piece = pattern(1500);
    REQUIRE(piece.size() > output_queue::first_chunk_capacity);
    REQUIRE(piece.size() < output_queue::reference_threshold);
    auto send_all = [&] {
        while (!q.empty()) {
            std::size_t n = 0;
            for (auto part : q.front_spans())
                n += part.size();
            q.consume(n);
        }
    };
    for (int i = 0; i < 3; ++i) { // the chunk and the span list settle
        q.append_copy(as_span(piece));
        q.append_copy(as_span(piece));
        send_all();
    }
    zmtp::test::reset_alloc_stats();
    for (int i = 0; i < 100; ++i) {
        q.append_copy(as_span(piece));
        q.append_copy(as_span(piece));
        send_all();
    }
    CHECK(zmtp::test::current_alloc_stats().count == 0);
    CHECK(q.empty());
}

TEST_CASE("a message counts as unfinished until its last byte is consumed")
{
    output_queue q;
    CHECK(q.unfinished_messages() == 0);
    q.append_copy(as_span("greeting")); // not a message: never counted
    q.append_copy(as_span("ab"));
    q.mark_message_end();
    q.append_copy(as_span("cd"));
    q.append_frame(frame(pattern(4000))); // a referenced body ends the second one
    q.mark_message_end();
    CHECK(q.unfinished_messages() == 2);
    q.consume(9); // greeting and half of the first
    CHECK(q.unfinished_messages() == 2);
    q.consume(1); // the first, to its last byte
    CHECK(q.unfinished_messages() == 1);
    q.consume(4001); // all but the last byte of the second
    CHECK(q.unfinished_messages() == 1);
    q.consume(1);
    CHECK(q.unfinished_messages() == 0);
    CHECK(q.empty());
    // Ends are counted from the start of the stream, not of the queue.
    q.append_copy(as_span("e"));
    q.mark_message_end();
    q.append_copy(as_span("f"));
    q.mark_message_end();
    q.consume(1);
    CHECK(q.unfinished_messages() == 1);
    q.clear();
    CHECK(q.unfinished_messages() == 0);
}

TEST_CASE("a queue that stays small keeps a small chunk; a busy one's chunks grow to chunk_capacity")
{
    // An idle connection holds its queue for as long as it lives: the
    // greeting and a handshake must not cost it a 64 KiB chunk.
    output_queue q;
    zmtp::test::reset_alloc_stats();
    for (int i = 0; i < 20; ++i) {
        q.append_copy(as_span(pattern(100, static_cast<unsigned>(i))));
        CHECK(drain(q) == pattern(100, static_cast<unsigned>(i)));
    }
    CHECK(zmtp::test::current_alloc_stats().largest <= output_queue::first_chunk_capacity);

    // Many small pieces queued at once: the chunks grow until they reach
    // chunk_capacity, in a few steps.
    std::string all;
    for (int i = 0; i < 2000; ++i)
        all += pattern(100, static_cast<unsigned>(i));
    zmtp::test::reset_alloc_stats();
    for (std::size_t at = 0; at < all.size(); at += 100)
        q.append_copy(as_span(all).subspan(at, 100));
    CHECK(zmtp::test::current_alloc_stats().largest == output_queue::chunk_capacity);
    CHECK(q.front_spans().size() == 6); // one span per chunk: 512 B, 4 KiB, 32 KiB, 3 x 64 KiB
    CHECK(drain(q) == all);
}
