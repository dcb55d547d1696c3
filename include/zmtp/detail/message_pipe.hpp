// SPDX-License-Identifier: MPL-2.0
// message_pipe: two sockets of one process joined without a codec
// (inproc). Each side writes items (its hello, then messages and
// subscriptions) that the other side reads in order, as objects: a frame's
// storage is handed over, never copied, as libzmq's inproc hands over
// messages. Only messages of a few small frames are copied, packed
// together (packed_messages): for them a copy of a few bytes is cheaper
// than the object.
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
#include <variant>
#include <vector>

namespace zmtp::detail {

// Small messages packed one after the other into one buffer. A message
// object is about 200 bytes, most of them unused by a message of a few
// bytes; packed, such a message takes its bytes and a few more, so the
// reader's thread pulls a few cache lines per batch instead of several per
// message, and unpacks into inline frames without allocating.
class packed_messages {
public:
    // Up to message::inline_frames frames of up to frame::inline_capacity
    // bytes: what unpacks without allocating.
    static bool fits(const message& m) noexcept;
    // The largest message that fits, packed.
    static constexpr std::size_t max_packed =
        1 + message::inline_frames * (1 + frame::inline_capacity);
    static constexpr std::size_t capacity = 4096;

    packed_messages() { bytes_.reserve(capacity); }
    // Whether another message that fits has room.
    bool has_room() const noexcept { return bytes_.size() + max_packed <= capacity; }
    // Appends `m`, which fits().
    void pack(const message& m);
    // Makes `m` (its frames only) the next message; false when all were unpacked.
    bool unpack(message& m);

private:
    std::vector<std::byte> bytes_; // per message: frame count, then each frame's size and bytes
    std::size_t read_at_ = 0;
};

class message_pipe {
public:
    // What crosses: an event, or small messages packed.
    using item = std::variant<event, packed_messages>;

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
    // Queues the items of `batch`, which cost `cost` (the sum of cost()),
    // for the other side, and leaves `batch` empty; unless closed, when
    // `batch` is left as it was.
    write_result write(int side, fifo<item>& batch, std::size_t cost);

    struct read_result {
        bool wake_writer = false; // the other side's writer waits for room
        bool ended = false;       // the other side closed and all it wrote was read
    };
    // Moves every item the other side wrote into `into`, which must be
    // empty. When nothing is there, the reader sleeps (unless ended).
    read_result read(int side, fifo<item>& into);

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

    // What an event holds in memory, roughly: its bytes and its object. A
    // packed message costs what it would as an event: the pipe holds as
    // many messages either way.
    static std::size_t cost(const event& e) noexcept;
    static std::size_t cost(const message& m) noexcept { return m.byte_size() + sizeof(event); }

private:
    // What one side writes and the other reads.
    struct direction {
        fifo<item> items;
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
