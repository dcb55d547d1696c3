// SPDX-License-Identifier: MPL-2.0
#include "zmtp/detail/message_pipe.hpp"

#include <utility>
#include <variant>

namespace zmtp::detail {

bool packed_messages::fits(const message& m) noexcept
{
    if (m.size() > message::inline_frames)
        return false;
    for (const frame& f : m)
        if (f.size() > frame::inline_capacity)
            return false;
    return true;
}

void packed_messages::pack(const message& m)
{
    bytes_.push_back(static_cast<std::byte>(m.size()));
    for (const frame& f : m) {
        bytes_.push_back(static_cast<std::byte>(f.size()));
        bytes_.insert(bytes_.end(), f.bytes().begin(), f.bytes().end());
    }
}

bool packed_messages::unpack(message& m)
{
    if (read_at_ == bytes_.size())
        return false;
    m.clear();
    const auto frames = static_cast<std::size_t>(bytes_[read_at_++]);
    for (std::size_t i = 0; i < frames; ++i) {
        const auto size = static_cast<std::size_t>(bytes_[read_at_++]);
        m.emplace_back(std::span<const std::byte>(bytes_.data() + read_at_, size));
        read_at_ += size;
    }
    return true;
}

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

message_pipe::write_result message_pipe::write(int side, fifo<item>& batch, std::size_t cost)
{
    direction& d = dir_[side];
    std::lock_guard lock(mutex_);
    if (d.reader_closed)
        return write_result::closed;
    if (d.items.empty()) {
        d.items.swap(batch); // the writer keeps the empty storage for its next batch
    } else {
        for (item& i : batch)
            d.items.push_back(std::move(i));
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

message_pipe::read_result message_pipe::read(int side, fifo<item>& into)
{
    direction& d = dir_[1 - side];
    read_result r;
    std::lock_guard lock(mutex_);
    if (d.items.empty()) {
        r.ended = d.writer_closed;
        d.reader_sleeping = !r.ended;
        return r;
    }
    into.swap(d.items); // `into` was empty: its storage serves the next writes
    d.queued.store(0, std::memory_order_relaxed);
    r.wake_writer = std::exchange(d.writer_waiting, false);
    return r;
}

bool message_pipe::close(int side)
{
    fifo<item> unread; // destroyed after the lock is released
    std::lock_guard lock(mutex_);
    direction& mine = dir_[side];
    direction& theirs = dir_[1 - side];
    theirs.reader_closed = true;
    theirs.writer_waiting = false;
    unread.swap(theirs.items);
    theirs.queued.store(0, std::memory_order_relaxed);
    mine.writer_closed = true;
    return std::exchange(mine.reader_sleeping, false);
}

} // namespace zmtp::detail
