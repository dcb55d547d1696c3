// SPDX-License-Identifier: MPL-2.0
// Bytes waiting to go out, as a sequence ready for one gather write.
//
// Small pieces (frame headers, small bodies, commands) are copied into
// fixed-capacity chunks, and consecutive pieces merge into one span, so many
// small messages leave in one write. Large bodies are not copied: the queue
// holds a reference to the frame. Nothing already queued ever moves, so the
// spans handed to a write in flight stay valid while more is queued.
#pragma once

#include "zmtp/detail/fifo.hpp"
#include "zmtp/message.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace zmtp {

class output_queue {
public:
    // Bodies at least this large are referenced rather than copied.
    static constexpr std::size_t reference_threshold = 2048;
    // Staging chunks start small and grow 8x per chunk up to this: an idle
    // connection keeps a few hundred bytes, a busy one 64 KiB chunks.
    static constexpr std::size_t first_chunk_capacity = 512;
    static constexpr std::size_t chunk_capacity = 64 * 1024;
    // At most this many spans are offered to one write (writev's sweet spot).
    static constexpr std::size_t max_spans = 64;

    void append_copy(std::span<const std::byte> bytes);
    // Queues `n` bytes the caller writes into the span returned, before the
    // next front_spans(): small ones staged in a chunk, large ones in a
    // frame's own (recycled) storage, so they are written there once.
    std::span<std::byte> append_uninitialized(std::size_t n);
    void append_frame(const frame& f); // copies or references per reference_threshold

    // The application message whose bytes were appended last ends here.
    // unfinished_messages() counts those not yet consumed to their end: what
    // an aborted connection loses (commands and greeting are not counted).
    void mark_message_end() { message_ends_.push_back(consumed_ + total_); }
    std::size_t unfinished_messages() const noexcept { return message_ends_.size(); }

    bool empty() const noexcept { return segments_.empty(); }
    std::size_t size() const noexcept { return total_; }

    // Up to max_spans spans from the front; valid until consume() or the
    // queue is destroyed (appending does not invalidate them).
    std::span<const std::span<const std::byte>> front_spans();
    void consume(std::size_t n) noexcept;
    void clear() noexcept;

private:
    struct chunk {
        std::unique_ptr<std::byte[]> bytes;
        std::size_t capacity = 0;
        std::size_t used = 0;
        std::size_t consumed = 0;
    };
    struct segment {
        const std::byte* data;
        std::size_t size;
        frame hold;       // keeps a referenced body alive; empty for staged bytes
        bool staged;      // bytes live in chunks_
    };

    std::byte* stage(std::size_t n);
    void release_consumed_chunks() noexcept;

    detail::fifo<chunk> chunks_;
    detail::fifo<segment> segments_;
    std::vector<std::span<const std::byte>> spans_;
    std::unique_ptr<std::byte[]> spare_; // one fully consumed chunk_capacity chunk kept for reuse
    std::size_t next_capacity_ = first_chunk_capacity;
    std::size_t total_ = 0;
    std::uint64_t consumed_ = 0;              // bytes consumed since construction
    detail::fifo<std::uint64_t> message_ends_; // as consumed_ counts, ascending
};

} // namespace zmtp
