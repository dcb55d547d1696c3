// SPDX-License-Identifier: MPL-2.0
// Replaces the global allocation functions of the test binary (unit, asio) with
// counting versions backed by malloc. Single-threaded tests; the counters
// are atomics anyway so a stray thread cannot tear them.
#include "alloc_hook.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<std::size_t> g_count{0};
std::atomic<std::size_t> g_bytes{0};
std::atomic<std::size_t> g_largest{0};

constexpr std::size_t arena_size = 4 * 64 * 1024;
alignas(64) std::byte g_arena[arena_size];
std::size_t g_arena_used = 0;
std::size_t g_adjacent_size = 0;

bool in_arena(void* p) noexcept
{
    auto* b = static_cast<std::byte*>(p);
    return b >= g_arena && b < g_arena + arena_size;
}

void release(void* p) noexcept
{
    if (!in_arena(p))
        std::free(p);
}

void* counted_alloc(std::size_t n) noexcept
{
    g_count.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(n, std::memory_order_relaxed);
    std::size_t seen = g_largest.load(std::memory_order_relaxed);
    while (n > seen && !g_largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
    }
    if (g_adjacent_size != 0 && n == g_adjacent_size && arena_size - g_arena_used >= n) {
        void* p = g_arena + g_arena_used;
        g_arena_used += n;
        return p;
    }
    return std::malloc(n == 0 ? 1 : n);
}

void* counted_alloc_or_throw(std::size_t n)
{
    if (void* p = counted_alloc(n))
        return p;
    throw std::bad_alloc();
}

} // namespace

namespace zmtp::test {

alloc_stats current_alloc_stats() noexcept
{
    return {g_count.load(), g_bytes.load(), g_largest.load()};
}

void set_adjacent_allocations(std::size_t size) noexcept
{
    g_adjacent_size = size;
}

alloc_stats reset_alloc_stats() noexcept
{
    alloc_stats s{g_count.exchange(0), g_bytes.exchange(0), g_largest.exchange(0)};
    return s;
}

} // namespace zmtp::test

void* operator new(std::size_t n) { return counted_alloc_or_throw(n); }
void* operator new[](std::size_t n) { return counted_alloc_or_throw(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
