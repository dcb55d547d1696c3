// SPDX-License-Identifier: MPL-2.0
#include "zmtp/detail/message_pipe.hpp"

#include <utility>
#include <variant>

namespace zmtp::detail {

std::size_t message_pipe::cost(const event& e) noexcept
{
    std::size_t bytes = 0;
    if (const auto* m = std::get_if<message>(&e))
        bytes = m->byte_size();
    else if (const auto* s = std::get_if<events::subscribe>(&e))
        bytes = s->topic.size();
    else if (const auto* c = std::get_if<events::cancel>(&e))
        bytes = c->topic.size();
    return bytes + sizeof(event);
}

message_pipe::write_result message_pipe::write(int side, fifo<event>& batch, std::size_t cost)
{
    direction& d = dir_[side];
    std::lock_guard lock(mutex_);
    if (d.reader_closed)
        return write_result::closed;
    if (d.events.empty()) {
        d.events.swap(batch); // the writer keeps the empty storage for its next batch
    } else {
        for (event& e : batch)
            d.events.push_back(std::move(e));
        batch.clear();
    }
    const std::size_t queued = d.queued.load(std::memory_order_relaxed) + cost;
    d.queued.store(queued, std::memory_order_relaxed);
    if (queued >= capacity_)
        d.writer_waiting = true;
    if (!d.reader_sleeping)
        return write_result::queued;
    d.reader_sleeping = false;
    return write_result::wake_reader;
}

message_pipe::read_result message_pipe::read(int side, fifo<event>& into)
{
    direction& d = dir_[1 - side];
    read_result r;
    std::lock_guard lock(mutex_);
    if (d.events.empty()) {
        r.ended = d.writer_closed;
        d.reader_sleeping = !r.ended;
        return r;
    }
    into.swap(d.events); // `into` was empty: its storage serves the next writes
    d.queued.store(0, std::memory_order_relaxed);
    r.wake_writer = std::exchange(d.writer_waiting, false);
    return r;
}

bool message_pipe::close(int side)
{
    fifo<event> unread; // destroyed after the lock is released
    std::lock_guard lock(mutex_);
    direction& mine = dir_[side];
    direction& theirs = dir_[1 - side];
    theirs.reader_closed = true;
    theirs.writer_waiting = false;
    unread.swap(theirs.events);
    theirs.queued.store(0, std::memory_order_relaxed);
    mine.writer_closed = true;
    return std::exchange(mine.reader_sleeping, false);
}

} // namespace zmtp::detail
