// SPDX-License-Identifier: MPL-2.0
#include "zmtp/codec/output_queue.hpp"

#include <algorithm>
#include <cstring>

namespace zmtp {

std::byte* output_queue::stage(std::size_t n)
{
    if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < n) {
        // An empty chunk (the only one, rewound) that is too small goes: left
        // in front, it would never see its bytes consumed and hold every
        // chunk behind it forever.
        if (!chunks_.empty() && chunks_.back().used == 0) {
            if (chunks_.back().capacity == chunk_capacity)
                spare_ = std::move(chunks_.back().bytes);
            chunks_.pop_back();
        }
        chunk c;
        c.capacity = std::max(n, next_capacity_);
        next_capacity_ = std::min(next_capacity_ * 8, chunk_capacity);
        if (c.capacity == chunk_capacity && spare_)
            c.bytes = std::move(spare_);
        else
            c.bytes = std::make_unique_for_overwrite<std::byte[]>(c.capacity);
        chunks_.push_back(std::move(c));
    }
    chunk& c = chunks_.back();
    std::byte* p = c.bytes.get() + c.used;
    c.used += n;
    return p;
}

void output_queue::append_copy(std::span<const std::byte> bytes)
{
    if (bytes.empty())
        return;
    const std::span<std::byte> space = append_uninitialized(bytes.size());
    std::memcpy(space.data(), bytes.data(), bytes.size());
}

std::span<std::byte> output_queue::append_uninitialized(std::size_t n)
{
    if (n == 0)
        return {};
    total_ += n;
    if (n >= reference_threshold) {
        frame_builder b(n, n);
        const std::span<std::byte> space = b.writable(); // all n: beyond inline_capacity
        b.commit(n);
        frame f = std::move(b).finish(); // the bytes stay where they are
        segments_.push_back({space.data(), n, std::move(f), false});
        return space;
    }
    std::byte* p = stage(n);
    // Merge with the previous staged segment when the bytes are adjacent in
    // the same chunk (two chunks may sit back to back in memory, but are
    // consumed and recycled separately).
    if (!segments_.empty() && p != chunks_.back().bytes.get()) {
        segment& last = segments_.back();
        if (last.staged && last.data + last.size == p) {
            last.size += n;
            return {p, n};
        }
    }
    segments_.push_back({p, n, frame(), true});
    return {p, n};
}

void output_queue::append_frame(const frame& f)
{
    if (f.size() < reference_threshold || !f.shares_storage()) {
        append_copy(f.bytes());
        return;
    }
    total_ += f.size();
    segments_.push_back({f.data(), f.size(), f, false});
}

std::span<const std::span<const std::byte>> output_queue::front_spans()
{
    spans_.clear();
    for (const segment& s : segments_) {
        if (spans_.size() == max_spans)
            break;
        spans_.emplace_back(s.data, s.size);
    }
    return spans_;
}

void output_queue::consume(std::size_t n) noexcept
{
    n = std::min(n, total_);
    total_ -= n;
    consumed_ += n;
    while (!message_ends_.empty() && message_ends_.front() <= consumed_)
        message_ends_.pop_front();
    while (n != 0) {
        segment& s = segments_.front();
        const std::size_t take = std::min(n, s.size);
        if (s.staged)
            chunks_.front().consumed += take; // staged bytes leave in chunk order
        n -= take;
        if (take == s.size) {
            segments_.pop_front();
        } else {
            s.data += take;
            s.size -= take;
        }
        release_consumed_chunks();
    }
}

void output_queue::release_consumed_chunks() noexcept
{
    while (!chunks_.empty() && chunks_.front().consumed == chunks_.front().used) {
        if (chunks_.size() == 1) {
            // The only chunk: rewind it so it is reused in place.
            chunks_.front().used = chunks_.front().consumed = 0;
            return;
        }
        if (chunks_.front().capacity == chunk_capacity)
            spare_ = std::move(chunks_.front().bytes);
        chunks_.pop_front();
    }
}

void output_queue::clear() noexcept
{
    segments_.clear();
    chunks_.clear();
    message_ends_.clear();
    total_ = 0;
}

} // namespace zmtp
