// SPDX-License-Identifier: MPL-2.0
// detail::message_pipe: what two inproc sockets pass between them. Events
// go across in order and as the same objects; each side is told to wake
// the other exactly when it sleeps or waits; a close ends the pipe for
// both sides without losing what the closing side wrote.
#include "zmtp/detail/message_pipe.hpp"

#include "alloc_hook.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using zmtp::event;
using zmtp::frame;
using zmtp::message;
using zmtp::detail::fifo;
using zmtp::detail::message_pipe;
using zmtp::detail::packed_messages;
using item = message_pipe::item;
using result = message_pipe::write_result;

namespace {

event text(const std::string& s)
{
    return event(std::in_place_type<message>, message{frame(s)});
}

// Writes one event as a batch of one.
result write(message_pipe& p, int side, event&& e)
{
    fifo<item> batch;
    const std::size_t cost = message_pipe::cost(e);
    batch.emplace_back(std::in_place_type<event>, std::move(e));
    const result r = p.write(side, batch, cost);
    CHECK(batch.empty() == (r != result::closed));
    if (r == result::closed)
        e = std::move(std::get<event>(batch.front())); // left as it was, for the caller to see
    return r;
}

const message& message_of(const item& i)
{
    return std::get<message>(std::get<event>(i));
}

std::string text_of(const event& e)
{
    return std::string(std::get<message>(e).front().view());
}

std::string text_of(const item& i)
{
    return text_of(std::get<event>(i));
}

std::vector<std::string> take_all(message_pipe& p, int side)
{
    fifo<item> got;
    p.read(side, got);
    std::vector<std::string> out;
    for (const item& e : got)
        out.push_back(text_of(e));
    return out;
}

} // namespace

TEST_CASE("message_pipe: each side reads what the other wrote, in order, as the same objects")
{
    message_pipe p(1 << 20);
    const frame big(std::string(4096, 'x')); // a frame with a heap block
    REQUIRE(big.shares_storage());
    CHECK(write(p, 0, event(std::in_place_type<message>, message{big})) == result::queued);
    CHECK(write(p, 0, text("a")) == result::queued);
    CHECK(write(p, 1, text("b")) == result::queued);
    CHECK(write(p, 0, event(zmtp::events::subscribe{frame("topic")})) == result::queued);

    fifo<item> to_one;
    p.read(1, to_one);
    REQUIRE(to_one.size() == 3);
    CHECK(message_of(to_one[0]).front().data() == big.data()); // not copied
    CHECK(text_of(to_one[1]) == "a");
    CHECK(std::get<zmtp::events::subscribe>(std::get<event>(to_one[2])).topic.view() == "topic");
    CHECK(take_all(p, 0) == std::vector<std::string>{"b"});
    CHECK(take_all(p, 1).empty());
}

TEST_CASE("message_pipe: a reader that found nothing is woken by the next write, once")
{
    message_pipe p(1 << 20);
    CHECK(write(p, 0, text("before")) == result::queued); // side 1 has not looked yet
    CHECK(take_all(p, 1) == std::vector<std::string>{"before"});
    CHECK(take_all(p, 1).empty()); // side 1 now sleeps
    CHECK(write(p, 1, text("other way")) == result::queued); // side 0 does not sleep
    CHECK(write(p, 0, text("1")) == result::wake_reader);
    CHECK(write(p, 0, text("2")) == result::queued); // the wakeup is on its way
    CHECK(take_all(p, 1) == std::vector<std::string>{"1", "2"});
    // A read that found something leaves the reader awake.
    CHECK(write(p, 0, text("3")) == result::queued);
}

TEST_CASE("message_pipe: a writer that filled the pipe is told, once, when the reader takes it")
{
    const std::size_t one = message_pipe::cost(text("m"));
    CHECK(one > sizeof(message)); // an event costs at least its object
    CHECK(message_pipe::cost(text(std::string(1000, 'm'))) == one + 999);
    message_pipe p(3 * one);

    write(p, 0, text("m"));
    CHECK(p.queued(0) == one);
    write(p, 0, text("m"));
    fifo<item> got;
    CHECK_FALSE(p.read(1, got).wake_writer); // below the capacity: the writer never stopped
    CHECK(p.queued(0) == 0);
    got.clear();

    for (int i = 0; i < 3; ++i)
        write(p, 0, text("m"));
    CHECK(p.queued(0) == 3 * one);
    CHECK(p.queued(1) == 0);
    const auto r = p.read(1, got);
    CHECK(r.wake_writer);
    CHECK(got.size() == 3);
    got.clear();
    CHECK_FALSE(p.read(1, got).wake_writer); // told once
}

TEST_CASE("message_pipe: a close ends the pipe; what the closing side wrote is still read")
{
    message_pipe p(1 << 20);
    write(p, 1, text("unread by 0"));
    CHECK(take_all(p, 1).empty()); // side 1 sleeps
    write(p, 0, text("last words"));
    CHECK(take_all(p, 1) == std::vector<std::string>{"last words"});
    CHECK(take_all(p, 1).empty());
    CHECK(write(p, 0, text("after")) == result::wake_reader);
    CHECK_FALSE(p.close(0)); // the wakeup for "after" is on its way already
    CHECK(p.queued(1) == 0); // what 0 will never read is dropped

    // Writes towards the closed side fail and leave the event as it was.
    event e = text("refused");
    CHECK(write(p, 1, std::move(e)) == result::closed);
    CHECK(text_of(e) == "refused"); // NOLINT(bugprone-use-after-move): not taken

    fifo<item> got;
    auto r = p.read(1, got);
    CHECK_FALSE(r.ended); // "after" first
    REQUIRE(got.size() == 1);
    CHECK(text_of(got.front()) == "after");
    got.clear();
    r = p.read(1, got);
    CHECK(r.ended);
    CHECK(got.empty());
    CHECK_FALSE(p.close(1)); // side 0 is gone: nobody to wake
}

TEST_CASE("message_pipe: a close wakes the other side only if it sleeps")
{
    message_pipe p(1 << 20);
    CHECK_FALSE(p.close(1)); // side 0 never slept
    fifo<item> got;
    CHECK(p.read(0, got).ended);

    message_pipe q(1 << 20);
    CHECK_FALSE(q.read(0, got).ended); // side 0 sleeps
    CHECK(q.close(1));
    CHECK(q.read(0, got).ended);
}

// The wakeup protocol under two threads: the reader sleeps on a condition
// until told, the writer stops at the capacity until told. A lost wakeup
// hangs one of them, which the bounded waits turn into a failure.
TEST_CASE("message_pipe: 200,000 messages in batches between two threads, every wakeup delivered")
{
    constexpr int count = 200'000;
    message_pipe p(64 * message_pipe::cost(text("0")));
    std::mutex m;
    std::condition_variable cv;
    bool reader_woken = false, writer_woken = false, stuck = false;
    auto wait_for = [&](bool& flag) {
        std::unique_lock lock(m);
        if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return flag; }))
            stuck = true;
        flag = false;
        return !stuck;
    };
    auto tell = [&](bool& flag) {
        {
            std::lock_guard lock(m);
            flag = true;
        }
        cv.notify_all();
    };
    const std::size_t capacity = 64 * message_pipe::cost(text("0"));

    // Batches of 1 to 7 events, as a link's outbox gathers them.
    std::thread writer([&] {
        fifo<item> batch;
        for (int i = 0; i < count;) {
            while (p.queued(0) >= capacity) // as the socket's pump: looks again when woken
                if (!wait_for(writer_woken))
                    return;
            std::size_t cost = 0;
            for (int k = i % 7; k >= 0 && i < count; --k)
            {
                event e = text(std::to_string(i++));
                cost += message_pipe::cost(e);
                batch.emplace_back(std::in_place_type<event>, std::move(e));
            }
            if (p.write(0, batch, cost) == result::wake_reader)
                tell(reader_woken);
        }
    });
    int next = 0, out_of_order = 0;
    std::size_t most_queued = 0;
    fifo<item> got;
    while (next < count && !stuck) {
        most_queued = std::max(most_queued, p.queued(0));
        const auto r = p.read(1, got);
        if (r.wake_writer)
            tell(writer_woken);
        if (got.empty()) {
            wait_for(reader_woken);
            continue;
        }
        for (const item& e : got)
            out_of_order += text_of(e) != std::to_string(next++);
        got.clear();
    }
    writer.join();
    CHECK_FALSE(stuck);
    CHECK(next == count);
    CHECK(out_of_order == 0);
    // The writer stops at the capacity: at most one batch beyond it.
    CHECK(most_queued < capacity + 7 * message_pipe::cost(text(std::to_string(count))));
}

TEST_CASE("packed_messages: small messages of up to three inline frames pack and unpack as they were")
{
    const std::string full(frame::inline_capacity, 'f');
    CHECK(packed_messages::fits(message{}));
    CHECK(packed_messages::fits(message{frame(full), frame(""), frame("x")}));
    CHECK_FALSE(packed_messages::fits(message{frame("a"), frame("b"), frame("c"), frame("d")}));
    CHECK_FALSE(packed_messages::fits(message{frame(full + "!")}));

    const std::vector<message> sent{
        message{frame("1")},
        message{frame("routing id"), frame(""), frame(full)},
        message{},
        message{frame("")},
    };
    packed_messages pack;
    for (const message& m : sent)
        pack.pack(m);
    message got{frame("left over"), frame("from before")}; // as a moved-from message may be
    std::vector<message> unpacked;
    zmtp::test::reset_alloc_stats();
    while (pack.unpack(got)) {
        CHECK(zmtp::test::current_alloc_stats().count == 0); // inline frames only
        unpacked.push_back(got);
        zmtp::test::reset_alloc_stats();
    }
    CHECK(unpacked == sent);
    CHECK_FALSE(pack.unpack(got));
}

TEST_CASE("packed_messages: a pack holds what fits in its capacity, however small the messages")
{
    packed_messages pack;
    const message largest{frame(std::string(frame::inline_capacity, 'a')),
                          frame(std::string(frame::inline_capacity, 'b')),
                          frame(std::string(frame::inline_capacity, 'c'))};
    int packed = 0;
    while (pack.has_room()) {
        pack.pack(largest);
        ++packed;
    }
    CHECK(packed == static_cast<int>(packed_messages::capacity / packed_messages::max_packed));
    message got;
    int unpacked = 0;
    while (pack.unpack(got))
        unpacked += got == largest;
    CHECK(unpacked == packed);
}
