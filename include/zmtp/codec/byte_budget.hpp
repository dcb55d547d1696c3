// SPDX-License-Identifier: MPL-2.0
// The bytes of unfinished messages that the connections of a socket hold
// together (hostile items 30 and 120, docs/reliability.md). A connection's
// first `free_share` bytes of the message it is receiving are its own; what
// it holds beyond that comes from this budget, shared through
// codec_options::inflight_budget, and a codec that finds it spent fails
// with message_too_large. So peers trickling large frames hold `limit`
// between them, however many they are, while peers sending messages up to
// `free_share` never touch it. Thread-safe; no I/O.
#pragma once

#include <atomic>
#include <cstddef>

namespace zmtp {

class byte_budget {
public:
    static constexpr std::size_t free_share = 64 * 1024;

    explicit byte_budget(std::size_t limit) noexcept : limit_(limit) {}
    byte_budget(const byte_budget&) = delete;
    byte_budget& operator=(const byte_budget&) = delete;

    // Takes `n` bytes; false, taking nothing, when fewer are left.
    bool take(std::size_t n) noexcept
    {
        std::size_t held = held_.load(std::memory_order_relaxed);
        do {
            if (n > limit_ - held)
                return false;
        } while (!held_.compare_exchange_weak(held, held + n, std::memory_order_relaxed));
        return true;
    }
    void give(std::size_t n) noexcept { held_.fetch_sub(n, std::memory_order_relaxed); }

    std::size_t held() const noexcept { return held_.load(std::memory_order_relaxed); }
    std::size_t limit() const noexcept { return limit_; }

private:
    const std::size_t limit_;
    std::atomic<std::size_t> held_{0};
};

} // namespace zmtp
