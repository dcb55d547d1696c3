// SPDX-License-Identifier: MPL-2.0
// The bytes of a memory_stream: copies between buffer sequences, and the
// bounded ring buffer each direction keeps. For memory_stream.cpp alone: its
// names stay internal to that file, as its read and write paths were compiled.
#pragma once

#include "zmtp/asio/memory_stream.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

namespace zmtp::asio::detail {
namespace {

// Copies from `src` (after its first `src_skip` bytes) to `dst` (after its
// first `dst_skip` bytes) as much as both have; returns the count.
std::size_t copy_buffers(std::span<const net::mutable_buffer> dst, std::size_t dst_skip,
                         std::span<const net::const_buffer> src, std::size_t src_skip)
{
    std::size_t d = 0;
    std::size_t s = 0;
    // Find where each side starts.
    while (d < dst.size() && dst_skip >= dst[d].size())
        dst_skip -= dst[d++].size();
    while (s < src.size() && src_skip >= src[s].size())
        src_skip -= src[s++].size();
    std::size_t copied = 0;
    while (d < dst.size() && s < src.size()) {
        const std::size_t n = std::min(dst[d].size() - dst_skip, src[s].size() - src_skip);
        if (n > 0) // an empty buffer's data may be null
            std::memcpy(static_cast<std::byte*>(dst[d].data()) + dst_skip,
                        static_cast<const std::byte*>(src[s].data()) + src_skip, n);
        copied += n;
        dst_skip += n;
        src_skip += n;
        if (dst_skip == dst[d].size()) {
            ++d;
            dst_skip = 0;
        }
        if (src_skip == src[s].size()) {
            ++s;
            src_skip = 0;
        }
    }
    return copied;
}

template <class Buffer>
std::size_t total_size(std::span<const Buffer> buffers) noexcept
{
    std::size_t n = 0;
    for (const Buffer& b : buffers)
        n += b.size();
    return n;
}

// A circular byte buffer holding at most `limit` bytes. Its storage starts
// small and doubles as needed: an idle stream costs little.
class byte_ring {
public:
    explicit byte_ring(std::size_t limit) noexcept : limit_(limit) {}

    std::size_t size() const noexcept { return size_; }
    std::size_t space() const noexcept { return limit_ - size_; }

    // Appends what fits of `src` after its first `skip` bytes.
    std::size_t put(std::span<const net::const_buffer> src, std::size_t skip)
    {
        const std::size_t offered = total_size(src);
        const std::size_t want = std::min(offered - std::min(skip, offered), space());
        if (want == 0)
            return 0;
        grow(size_ + want);
        const std::size_t tail = (head_ + size_) % capacity_;
        const std::size_t first = std::min(want, capacity_ - tail);
        const std::array<net::mutable_buffer, 2> free{
            net::mutable_buffer(data_.get() + tail, first),
            net::mutable_buffer(data_.get(), want - first)};
        const std::size_t n = copy_buffers(free, 0, src, skip);
        size_ += n;
        return n;
    }

    // Moves bytes from the front into `dst` after its first `skip` bytes.
    std::size_t take(std::span<const net::mutable_buffer> dst, std::size_t skip)
    {
        if (size_ == 0)
            return 0;
        const std::size_t first = std::min(size_, capacity_ - head_);
        const std::array<net::const_buffer, 2> held{
            net::const_buffer(data_.get() + head_, first),
            net::const_buffer(data_.get(), size_ - first)};
        const std::size_t n = copy_buffers(dst, skip, held, 0);
        head_ = (head_ + n) % capacity_;
        size_ -= n;
        if (size_ == 0)
            head_ = 0;
        return n;
    }

    void release() noexcept
    {
        data_.reset();
        capacity_ = head_ = size_ = 0;
    }

private:
    static constexpr std::size_t first_capacity = 4096;

    void grow(std::size_t needed)
    {
        if (needed <= capacity_)
            return;
        std::size_t c = std::max(capacity_, std::min(first_capacity, limit_));
        while (c < needed)
            c = std::min(c * 2, limit_);
        auto fresh = std::make_unique_for_overwrite<std::byte[]>(c);
        const std::array<net::mutable_buffer, 1> whole{net::mutable_buffer(fresh.get(), c)};
        const std::size_t held = size_;
        take(whole, 0); // moves the bytes to the front of the new storage
        data_ = std::move(fresh);
        capacity_ = c;
        head_ = 0;
        size_ = held;
    }

    std::unique_ptr<std::byte[]> data_;
    std::size_t limit_;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

} // namespace
} // namespace zmtp::asio::detail
