// SPDX-License-Identifier: MPL-2.0
// message_pipe: two sockets of one process joined without bytes (inproc).
// Each side writes events (its hello, then messages and subscriptions)
// that the other side reads in order, as objects: nothing is encoded,
// copied or parsed on the way, as libzmq's inproc hands over messages.
//
// No I/O and no thread of its own: it says when a side must be woken and
// the caller posts the wakeup. The two sides may run on different threads:
// each call takes the pipe's lock, so each side moves events in batches (a
// write hands over everything its side gathered; a read takes everything
// there), and the lock is taken once per batch, not per message.
//
// - A side's reader sleeps when a read finds nothing; the next write to
//   it says wake_reader, once.
// - The writer decides how much it queues (queued() against its own
//   bound); once a write takes queued() to `capacity` or beyond, the next
//   read that takes its events says wake_writer, once.
// - close(side): writes towards that side fail from then on, and what it
//   had not read is dropped; what it wrote stays readable, then the other
//   side reads the end.
#pragma once

#include "zmtp/codec/event.hpp"
#include "zmtp/detail/fifo.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace zmtp::detail {

class message_pipe {
public:
    // The two sides: which connected and which was bound do not matter.
    static constexpr int sides = 2;

    explicit message_pipe(std::size_t capacity) noexcept : capacity_(capacity) {}
    message_pipe(const message_pipe&) = delete;
    message_pipe& operator=(const message_pipe&) = delete;

    enum class write_result : std::uint8_t {
        queued,
        wake_reader, // queued; the other side's reader sleeps: wake it
        closed,      // the other side closed: nothing was queued
    };
    // Queues the events of `batch`, which cost `cost` (the sum of cost()),
    // for the other side, and leaves `batch` empty; unless closed, when
    // `batch` is left as it was.
    write_result write(int side, fifo<event>& batch, std::size_t cost);

    struct read_result {
        bool wake_writer = false; // the other side's writer waits for room
        bool ended = false;       // the other side closed and all it wrote was read
    };
    // Moves everything the other side wrote into `into`, which must be
    // empty. When nothing is there, the reader sleeps (unless ended).
    read_result read(int side, fifo<event>& into);

    std::size_t capacity() const noexcept { return capacity_; }

    // What `side` wrote and the other side has not read, in cost() units.
    // Read without the lock, by the writer deciding whether to write more.
    std::size_t queued(int side) const noexcept
    {
        return dir_[side].queued.load(std::memory_order_relaxed);
    }

    // `side` goes. True: the other side's reader sleeps; wake it, and it
    // reads the end once it has read the rest.
    bool close(int side);

    // What an event holds in memory, roughly: its bytes and its object.
    static std::size_t cost(const event& e) noexcept;

private:
    // What one side writes and the other reads.
    struct direction {
        fifo<event> events;
        std::atomic<std::size_t> queued{0};
        bool writer_closed = false;
        bool reader_closed = false;
        bool reader_sleeping = false;
        bool writer_waiting = false; // queued reached capacity_
    };

    std::mutex mutex_;
    const std::size_t capacity_;
    direction dir_[sides]; // dir_[s]: what side s writes
};

} // namespace zmtp::detail
