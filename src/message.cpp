// SPDX-License-Identifier: MPL-2.0
#include "zmtp/message.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace zmtp {

namespace {

// Storage for large frames is kept for reuse: freshly allocated pages
// fault in one by one as the first copy writes them, which costs more than
// the copy itself. Blocks of at least pool_min bytes are rounded up to a
// size class and, when freed, kept (up to pool_max_bytes in all) for the
// next frame of the same class, whichever thread frees or allocates it.
constexpr std::size_t pool_min = 64 * 1024;
constexpr std::size_t pool_max_bytes = 32 * 1024 * 1024;
constexpr std::size_t pool_max_blocks = 256;

// Storage for small frames (too large to live inline, up to small_max
// bytes) is kept per thread: a received frame of a few hundred bytes is
// made and freed once per message, and a list of freed blocks serves it
// without malloc's bookkeeping. Powers of two from 64 bytes, up to
// small_keep_bytes per thread (beyond, lists move to the depot below); a
// thread's blocks are freed when it ends.
constexpr std::size_t small_min = 64;
constexpr std::size_t small_max = 1024;
constexpr std::size_t small_classes = 5; // 64, 128, 256, 512, 1024
constexpr std::size_t small_keep_bytes = 64 * 1024;

std::size_t small_class_index(std::size_t capacity) noexcept
{
    return capacity <= small_min ? 0 : std::bit_width(capacity - 1) - std::bit_width(small_min - 1);
}

// Eight classes per power of two: at most 1/8 more than asked for, and a
// 64 KiB frame with its framing (a sealed one) stays below 128 KiB, where
// malloc would map and unmap fresh pages for every block the pool misses.
std::size_t size_class(std::size_t capacity) noexcept
{
    if (capacity <= small_max)
        return small_min << small_class_index(capacity);
    if (capacity < pool_min)
        return capacity;
    const std::size_t step = (std::size_t{1} << (std::bit_width(capacity) - 1)) / 8;
    return (capacity + step - 1) / step * step;
}

class block_pool {
public:
    // A kept block of exactly this size class, or null.
    void* take(std::size_t capacity) noexcept
    {
        std::lock_guard lock(mutex_);
        for (std::size_t i = count_; i-- > 0;) {
            if (kept_[i].capacity == capacity) {
                void* raw = kept_[i].raw;
                kept_[i] = kept_[--count_];
                bytes_ -= capacity;
                return raw;
            }
        }
        return nullptr;
    }
    // Keeps the block if there is room; false when the caller must free it.
    bool give(void* raw, std::size_t capacity) noexcept
    {
        std::lock_guard lock(mutex_);
        if (count_ == pool_max_blocks || bytes_ + capacity > pool_max_bytes)
            return false;
        kept_[count_++] = {raw, capacity};
        bytes_ += capacity;
        return true;
    }
    std::size_t bytes() noexcept
    {
        std::lock_guard lock(mutex_);
        return bytes_;
    }
    void release() noexcept
    {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < count_; ++i)
            ::operator delete(kept_[i].raw);
        count_ = 0;
        bytes_ = 0;
    }

private:
    struct entry {
        void* raw;
        std::size_t capacity;
    };
    std::mutex mutex_;
    std::array<entry, pool_max_blocks> kept_{};
    std::size_t count_ = 0;
    std::size_t bytes_ = 0;
};

// Never destroyed: frames in static storage may be freed after it would be.
block_pool& pool() noexcept
{
    static block_pool* const p = new block_pool;
    return *p;
}

// A freed small block, linked into a list of its class.
struct kept_block {
    kept_block* next;
};

// Where threads hand over lists of small blocks: a thread that frees more
// than it allocates (the receiving end of an inproc pipe, whose frames were
// made by the sender) passes its full list here, and a thread whose list
// ran dry takes one before asking malloc. Whole lists move under one lock,
// so the lock is taken once per list, not per block.
class small_block_depot {
public:
    // False when the depot is full: the caller keeps the list.
    bool put(std::size_t index, kept_block* head, std::size_t count) noexcept
    {
        const std::size_t bytes = count * (small_min << index);
        std::lock_guard lock(mutex_);
        auto& lists = lists_[index];
        if (bytes_ + bytes > depot_max_bytes || lists.size() == lists.capacity())
            return false;
        lists.push_back({head, count});
        bytes_ += bytes;
        return true;
    }
    // A list of class `index` and its length, or null.
    kept_block* take(std::size_t index, std::size_t& count) noexcept
    {
        std::lock_guard lock(mutex_);
        auto& lists = lists_[index];
        if (lists.empty())
            return nullptr;
        const list l = lists.back();
        lists.pop_back();
        bytes_ -= l.count * (small_min << index);
        count = l.count;
        return l.head;
    }
    std::size_t bytes() noexcept
    {
        std::lock_guard lock(mutex_);
        return bytes_;
    }
    void release() noexcept
    {
        std::lock_guard lock(mutex_);
        for (auto& lists : lists_) {
            for (list& l : lists)
                while (l.head)
                    ::operator delete(std::exchange(l.head, l.head->next));
            lists.clear();
        }
        bytes_ = 0;
    }

private:
    struct list {
        kept_block* head;
        std::size_t count;
    };
    // Capacity reserved up front: put() never allocates under the lock.
    struct list_vector : std::vector<list> {
        list_vector() { reserve(depot_max_lists); }
    };
    static constexpr std::size_t depot_max_bytes = 1024 * 1024;
    static constexpr std::size_t depot_max_lists = 64;
    std::mutex mutex_;
    std::array<list_vector, small_classes> lists_;
    std::size_t bytes_ = 0;
};

// Never destroyed, as the pool.
small_block_depot& depot() noexcept
{
    static small_block_depot* const d = new small_block_depot;
    return *d;
}

// One thread's freed small blocks, a list per size class.
class small_block_cache {
public:
    small_block_cache() = default;
    small_block_cache(const small_block_cache&) = delete;
    small_block_cache& operator=(const small_block_cache&) = delete;
    ~small_block_cache();

    void* take(std::size_t index) noexcept
    {
        kept_block* k = heads_[index];
        if (!k) {
            k = depot().take(index, counts_[index]);
            if (!k)
                return nullptr;
            bytes_ += counts_[index] * (small_min << index);
        }
        heads_[index] = k->next;
        --counts_[index];
        bytes_ -= small_min << index;
        return k;
    }
    // False when the caller must free the block. A thread at its bound
    // hands the class's list to the depot first, for the threads that
    // allocate what this one frees.
    bool give(void* raw, std::size_t index) noexcept
    {
        const std::size_t capacity = small_min << index;
        if (bytes_ + capacity > small_keep_bytes) {
            if (!heads_[index] || !depot().put(index, heads_[index], counts_[index]))
                return false;
            bytes_ -= counts_[index] * capacity;
            heads_[index] = nullptr;
            counts_[index] = 0;
        }
        heads_[index] = ::new (raw) kept_block{heads_[index]};
        ++counts_[index];
        bytes_ += capacity;
        return true;
    }
    std::size_t bytes() const noexcept { return bytes_; }
    void release() noexcept
    {
        for (kept_block*& head : heads_)
            while (head)
                ::operator delete(std::exchange(head, head->next));
        counts_ = {};
        bytes_ = 0;
    }

private:
    std::array<kept_block*, small_classes> heads_{};
    std::array<std::size_t, small_classes> counts_{};
    // The capacities of the blocks kept; above small_keep_bytes only
    // after taking a list from the depot, until the next give().
    std::size_t bytes_ = 0;
};

// Set once this thread's cache is destroyed: frames a later destructor
// frees go straight back to the heap.
thread_local bool small_cache_gone = false;

small_block_cache::~small_block_cache()
{
    release();
    small_cache_gone = true;
}

small_block_cache* small_cache() noexcept
{
    if (small_cache_gone)
        return nullptr;
    thread_local small_block_cache cache;
    return &cache;
}

} // namespace

std::size_t frame::pooled_bytes() noexcept
{
    return pool().bytes() + depot().bytes();
}

void frame::release_pooled() noexcept
{
    pool().release();
    depot().release();
    if (small_block_cache* cache = small_cache())
        cache->release();
}

std::size_t frame::cached_bytes() noexcept
{
    const small_block_cache* cache = small_cache();
    return cache ? cache->bytes() : 0;
}

frame::block* frame::block::allocate(std::size_t capacity)
{
    capacity = size_class(capacity);
    void* raw = nullptr;
    if (capacity <= small_max) {
        if (small_block_cache* cache = small_cache())
            raw = cache->take(small_class_index(capacity));
    } else if (capacity >= pool_min) {
        raw = pool().take(capacity);
    }
    if (!raw)
        raw = ::operator new(sizeof(block) + capacity);
    auto* b = static_cast<block*>(raw);
    b->refs.store(1, std::memory_order_relaxed);
    b->kind = holder::storage;
    b->capacity = capacity;
    b->data = reinterpret_cast<std::byte*>(b + 1);
    b->free_owner = nullptr;
    return b;
}

void frame::block::destroy(block* b) noexcept
{
    if (b->free_owner) {
        b->free_owner(b);
        return;
    }
    const std::size_t capacity = b->capacity;
    b->~block();
    if (capacity <= small_max) {
        small_block_cache* cache = small_cache();
        if (cache && cache->give(b, small_class_index(capacity)))
            return;
    } else if (capacity >= pool_min && pool().give(b, capacity)) {
        return;
    }
    ::operator delete(static_cast<void*>(b));
}

frame::frame(std::span<const std::byte> bytes) : size_(bytes.size()), block_(nullptr)
{
    std::byte* dst = inline_;
    if (size_ > inline_capacity) {
        block_ = block::allocate(size_);
        dst = block_->bytes();
    }
    if (size_ != 0)
        std::memcpy(dst, bytes.data(), size_);
}

frame::frame(std::string&& text) : size_(text.size()), block_(nullptr)
{
    const auto bytes = std::as_bytes(std::span<const char>(text.data(), text.size()));
    if (size_ > inline_capacity)
        block_ = adopt(std::move(text), holder::string, bytes);
    else if (size_ != 0)
        std::memcpy(inline_, bytes.data(), size_);
}

frame::frame(std::vector<std::byte>&& bytes) : size_(bytes.size()), block_(nullptr)
{
    const std::span<const std::byte> view(bytes); // before the vector moves
    if (size_ > inline_capacity)
        block_ = adopt(std::move(bytes), holder::vector, view);
    else if (size_ != 0)
        std::memcpy(inline_, bytes.data(), size_);
}

template <class Container>
Container frame::take(holder kind) &&
{
    Container out;
    if (block_ && block_->kind == kind && block_->refs.load(std::memory_order_acquire) == 1) {
        auto* owned = static_cast<owned_block<Container>*>(block_);
        out = std::move(owned->owner);
    } else {
        const auto* first = reinterpret_cast<const typename Container::value_type*>(data());
        out.assign(first, first + size_);
    }
    release();
    size_ = 0;
    return out;
}

std::string frame::take_str() &&
{
    return std::move(*this).take<std::string>(holder::string);
}

std::vector<std::byte> frame::take_bytes() &&
{
    return std::move(*this).take<std::vector<std::byte>>(holder::vector);
}

frame::frame(const frame& other) noexcept : size_(other.size_), block_(other.block_)
{
    if (block_)
        block_->refs.fetch_add(1, std::memory_order_relaxed);
    else
        std::memcpy(inline_, other.inline_, size_);
}

frame& frame::operator=(const frame& other) noexcept
{
    if (this != &other) {
        frame copy(other);
        *this = std::move(copy);
    }
    return *this;
}

void frame::drop_block() noexcept
{
    // The only reference: no other copy exists to add or drop one, so
    // the block goes without an atomic read-modify-write.
    if (block_->refs.load(std::memory_order_acquire) == 1
        || block_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
        block::destroy(block_);
    block_ = nullptr;
}

frame_builder::frame_builder(std::size_t size, std::size_t initial) : size_(size)
{
    if (size_ > frame::inline_capacity)
        block_ = frame::block::allocate(std::clamp(initial, std::size_t{1}, size_));
}

frame_builder::frame_builder(frame_builder&& other) noexcept
    : size_(other.size_), filled_(other.filled_), block_(std::exchange(other.block_, nullptr))
{
    if (!block_)
        std::memcpy(inline_, other.inline_, filled_);
}

frame_builder& frame_builder::operator=(frame_builder&& other) noexcept
{
    if (this != &other) {
        if (block_)
            frame::block::destroy(block_);
        size_ = other.size_;
        filled_ = other.filled_;
        block_ = std::exchange(other.block_, nullptr);
        if (!block_)
            std::memcpy(inline_, other.inline_, filled_);
    }
    return *this;
}

frame_builder::~frame_builder()
{
    if (block_)
        frame::block::destroy(block_);
}

std::span<std::byte> frame_builder::writable() noexcept
{
    if (!block_)
        return {inline_ + filled_, size_ - filled_};
    return {block_->bytes() + filled_, std::min(block_->capacity, size_) - filled_};
}

void frame_builder::reserve_more(std::size_t at_least)
{
    if (!block_)
        return; // inline storage always holds the whole frame
    const std::size_t needed = std::min(size_, filled_ + at_least);
    if (needed <= block_->capacity)
        return;
    // Grow geometrically, never past the final size.
    const std::size_t capacity = std::min(size_, std::max(needed, block_->capacity * 2));
    frame::block* grown = frame::block::allocate(capacity);
    if (filled_ != 0)
        std::memcpy(grown->bytes(), block_->bytes(), filled_);
    frame::block::destroy(block_);
    block_ = grown;
}

void frame_builder::append(std::span<const std::byte> bytes)
{
    reserve_more(bytes.size());
    std::span<std::byte> dst = writable();
    const std::size_t n = std::min(dst.size(), bytes.size());
    if (n != 0)
        std::memcpy(dst.data(), bytes.data(), n);
    filled_ += n;
}

frame frame_builder::finish() &&
{
    if (block_)
        return frame(std::exchange(block_, nullptr), filled_);
    return frame(std::span<const std::byte>(inline_, filled_));
}

std::size_t message::byte_size() const noexcept
{
    std::size_t total = 0;
    for (const frame& f : frames_)
        total += f.size();
    return total;
}

} // namespace zmtp
