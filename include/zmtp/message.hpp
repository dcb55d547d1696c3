// SPDX-License-Identifier: MPL-2.0
// Frames and messages.
//
// A frame is an immutable byte string. Up to inline_capacity bytes live in
// the frame object itself (no heap allocation); larger bodies live in one
// reference-counted block, so copying a frame (PUB fan-out, queues) shares
// the bytes instead of duplicating them. A frame can also hold bytes it
// does not own, without copying them (frame::borrow, or a std::string or
// std::vector<std::byte> moved in), and give a moved-in container back.
// The storage of large frames (64 KiB and up) is recycled: a freed block is
// kept, up to 32 MiB in all, for the next frame of its size class. Small
// blocks (up to 1 KiB) are recycled per thread, up to 64 KiB each.
#pragma once

#include "zmtp/detail/small_vector.hpp"
#include "zmtp/wire/metadata.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace zmtp {

class frame_builder;

class frame {
public:
    static constexpr std::size_t inline_capacity = 32;

    frame() noexcept : size_(0), block_(nullptr) {}
    explicit frame(std::span<const std::byte> bytes);
    explicit frame(std::string_view text)
        : frame(std::as_bytes(std::span<const char>(text.data(), text.size())))
    {
    }
    frame(const char* text) : frame(std::string_view(text)) {}
    // Takes the container's bytes without copying them (frames of up to
    // inline_capacity bytes copy them inline and allocate nothing).
    explicit frame(std::string&& text);
    explicit frame(std::vector<std::byte>&& bytes);

    // The caller's bytes, not copied (libzmq's zmq_msg_init_data): they
    // must stay valid and unchanged until `release` runs. It runs exactly
    // once, when the last copy of the frame is gone (queued for several
    // peers, written, dropped: whichever ends last), on the thread that
    // drops that copy, and must not throw. One allocation, for the
    // bookkeeping.
    template <class Release>
        requires std::is_invocable_v<Release&>
    static frame borrow(std::span<const std::byte> bytes, Release release);
    // The same, kept alive by `owner` until the last copy is gone.
    static frame borrow(std::span<const std::byte> bytes, std::shared_ptr<const void> owner)
    {
        return borrow(bytes, [owner = std::move(owner)]() mutable noexcept { owner.reset(); });
    }

    frame(const frame& other) noexcept;
    frame& operator=(const frame& other) noexcept;
    // Moves are inline: a message's frames move with it through every queue.
    frame(frame&& other) noexcept : frame() { take_from(other); }
    frame& operator=(frame&& other) noexcept
    {
        if (this != &other) {
            release();
            take_from(other);
        }
        return *this;
    }
    ~frame() { release(); }

    const std::byte* data() const noexcept { return block_ ? block_->bytes() : inline_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::span<const std::byte> bytes() const noexcept { return {data(), size_}; }
    std::string_view view() const noexcept
    {
        return {reinterpret_cast<const char*>(data()), size_};
    }
    std::string str() const { return std::string(view()); }

    // Take the bytes out, leaving the frame empty. No copy when the frame
    // was made from that container type and no other copy of it exists;
    // otherwise (received frames, borrowed bytes, shared frames) a copy.
    std::string take_str() &&;
    std::vector<std::byte> take_bytes() &&;

    // True when the bytes live in a shared heap block (for tests and stats).
    bool shares_storage() const noexcept { return block_ != nullptr; }
    // Bytes of freed frame storage any thread may reuse: large frames (at
    // most 32 MiB) and lists of small blocks that threads handed over (at
    // most 1 MiB); for tests and stats.
    static std::size_t pooled_bytes() noexcept;
    // Bytes of freed small-frame storage (up to 1 KiB a block) the calling
    // thread keeps for reuse (at most 64 KiB per thread, beyond which it
    // hands lists over; for tests and stats).
    static std::size_t cached_bytes() noexcept;
    // Frees the storage kept for reuse: the shared pool, the handed-over
    // lists and the calling thread's small blocks (as malloc_trim would).
    static void release_pooled() noexcept;

    friend bool operator==(const frame& a, const frame& b) noexcept
    {
        return a.view() == b.view();
    }

private:
    friend class frame_builder;

    // What holds a block's bytes: its own trailing storage, or an owner.
    enum class holder : std::uint8_t { storage, string, vector, callback };
    struct block {
        std::atomic<std::uint32_t> refs;
        holder kind;
        std::size_t capacity;
        std::byte* data;                        // trailing storage, or the owner's bytes
        void (*free_owner)(block*) noexcept;    // frees a block with an owner
        std::byte* bytes() noexcept { return data; }
        static block* allocate(std::size_t capacity);
        static void destroy(block* b) noexcept;
    };
    template <class Owner>
    struct owned_block : block {
        explicit owned_block(Owner o) : owner(std::move(o)) {}
        Owner owner;
    };
    template <class Owner>
    static block* adopt(Owner owner, holder kind, std::span<const std::byte> bytes);
    template <class Container>
    Container take(holder kind) &&;

    frame(block* b, std::size_t size) noexcept : size_(size), block_(b) {}
    void release() noexcept
    {
        if (block_)
            drop_block();
    }
    void drop_block() noexcept; // the last reference frees the block
    // Takes other's bytes, leaving it empty; this frame holds no block.
    void take_from(frame& other) noexcept
    {
        size_ = std::exchange(other.size_, 0);
        block_ = std::exchange(other.block_, nullptr);
        // The whole inline buffer: a fixed size copies in two moves, no call.
        std::memcpy(inline_, other.inline_, inline_capacity);
    }

    std::size_t size_;
    block* block_;
    std::byte inline_[inline_capacity]{}; // all of it copied by a move
};

template <class Owner>
frame::block* frame::adopt(Owner owner, holder kind, std::span<const std::byte> bytes)
{
    auto* b = new owned_block<Owner>(std::move(owner));
    b->refs.store(1, std::memory_order_relaxed);
    b->kind = kind;
    b->capacity = bytes.size();
    // Borrowed bytes, or a moved-in container's heap buffer (it did not move).
    b->data = const_cast<std::byte*>(bytes.data());
    if constexpr (std::is_same_v<Owner, std::string> || std::is_same_v<Owner, std::vector<std::byte>>)
        b->data = reinterpret_cast<std::byte*>(b->owner.data());
    b->free_owner = [](block* self) noexcept -> void {
        auto* owned = static_cast<owned_block<Owner>*>(self);
        if constexpr (std::is_same_v<Owner, std::string> || std::is_same_v<Owner, std::vector<std::byte>>) {
            delete owned;
        } else {
            Owner release = std::move(owned->owner); // our bookkeeping goes first
            delete owned;
            release();
        }
    };
    return b;
}

template <class Release>
    requires std::is_invocable_v<Release&>
frame frame::borrow(std::span<const std::byte> bytes, Release release)
{
    return frame(adopt(std::move(release), holder::callback, bytes), bytes.size());
}

// A frame holds no pointer into itself: a message moves its inline frames
// by copying their bytes.
template <>
inline constexpr bool detail::relocatable<frame> = true;

// Fills a frame of a known final size, possibly in several steps, without
// allocating the whole announced size up front: storage grows with the
// bytes actually written, so a peer announcing a huge frame costs nothing
// until the bytes arrive. Used by the codec's decoder.
class frame_builder {
public:
    // size: the final frame size. initial: how much to allocate now.
    frame_builder(std::size_t size, std::size_t initial);
    frame_builder(const frame_builder&) = delete;
    frame_builder& operator=(const frame_builder&) = delete;
    frame_builder(frame_builder&& other) noexcept;
    frame_builder& operator=(frame_builder&& other) noexcept;
    ~frame_builder();

    std::size_t size() const noexcept { return size_; }
    std::size_t filled() const noexcept { return filled_; }
    std::size_t remaining() const noexcept { return size_ - filled_; }

    // Writable space for the next bytes: at most remaining(), possibly
    // fewer if storage must grow first (call reserve_more()).
    std::span<std::byte> writable() noexcept;
    void commit(std::size_t n) noexcept { filled_ += n; }
    // The bytes written so far, still writable (a sealed frame is opened in
    // place); they do not move when finish() hands them to a frame larger
    // than inline_capacity.
    std::span<std::byte> written() noexcept
    {
        return {block_ ? block_->bytes() : inline_, filled_};
    }
    // Grow storage to hold at least `at_least` more bytes (bounded by remaining()).
    void reserve_more(std::size_t at_least);
    void append(std::span<const std::byte> bytes);

    frame finish() &&;

private:
    std::size_t size_;
    std::size_t filled_ = 0;
    frame::block* block_ = nullptr; // null while the frame fits inline
    std::byte inline_[frame::inline_capacity];
};

// A message: one or more frames, delivered and sent atomically. The first
// inline_frames frames live in the message object itself, so a message of
// a few small frames allocates nothing.
class message {
public:
    static constexpr std::size_t inline_frames = 3;

    message() = default;
    message(std::initializer_list<frame> frames) : frames_(frames) {}

    void push_back(frame f) { frames_.push_back(std::move(f)); }
    template <class... Args> frame& emplace_back(Args&&... args)
    {
        return frames_.emplace_back(std::forward<Args>(args)...);
    }
    void reserve(std::size_t n) { frames_.reserve(n); }
    void clear() noexcept { frames_.clear(); }

    std::size_t size() const noexcept { return frames_.size(); }
    bool empty() const noexcept { return frames_.empty(); }
    frame& operator[](std::size_t i) noexcept { return frames_[i]; }
    const frame& operator[](std::size_t i) const noexcept { return frames_[i]; }
    frame& front() noexcept { return frames_.front(); }
    const frame& front() const noexcept { return frames_.front(); }
    frame& back() noexcept { return frames_.back(); }
    const frame& back() const noexcept { return frames_.back(); }
    auto begin() noexcept { return frames_.begin(); }
    auto end() noexcept { return frames_.end(); }
    auto begin() const noexcept { return frames_.begin(); }
    auto end() const noexcept { return frames_.end(); }
    void erase_front() noexcept { frames_.erase(frames_.begin()); }

    // Sum of the frame sizes.
    std::size_t byte_size() const noexcept;

    // A received message carries the properties of the peer it came from
    // (Socket-Type, Identity, User-Id, Peer-Address, ...), as libzmq's
    // zmq_msg_gets gives them; null for a message made locally.
    const std::shared_ptr<const metadata>& properties() const noexcept { return properties_; }
    void set_properties(std::shared_ptr<const metadata> p) noexcept { properties_ = std::move(p); }
    std::optional<std::string_view> property(std::string_view name) const noexcept
    {
        return properties_ ? properties_->find(name) : std::nullopt;
    }

    // The draft types' per-message fields (RFC 41, 48, 51). A message a
    // SERVER or PEER receives names its peer by a routing id (never 0);
    // a message sent on them goes to the peer it names. A message a DISH
    // receives, or a RADIO sends, belongs to a group of up to
    // max_group_size octets. Other socket types ignore both.
    static constexpr std::size_t max_group_size = 255;
    std::uint32_t routing_id() const noexcept { return routing_id_; }
    void set_routing_id(std::uint32_t id) noexcept { routing_id_ = id; }
    const std::string& group() const noexcept { return group_; }
    void set_group(std::string group) { group_ = std::move(group); }

    // Equal frames; the properties, routing id and group are not compared.
    friend bool operator==(const message& a, const message& b) noexcept
    {
        return a.frames_ == b.frames_;
    }

private:
    detail::small_vector<frame, inline_frames> frames_;
    std::shared_ptr<const metadata> properties_;
    std::string group_;
    std::uint32_t routing_id_ = 0;
};

} // namespace zmtp
