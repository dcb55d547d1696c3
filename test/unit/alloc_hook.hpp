// SPDX-License-Identifier: MPL-2.0
// Counts heap allocations made through the global operator new of the unit
// test binary (alloc_hook.cpp replaces it), so tests can prove that a
// peer-announced size is never allocated up front.
#pragma once

#include <cstddef>

namespace zmtp::test {

struct alloc_stats {
    std::size_t count = 0;   // allocations since reset
    std::size_t bytes = 0;   // bytes requested since reset
    std::size_t largest = 0; // largest single request since reset
};

// Starts counting from zero; returns the counts up to now.
alloc_stats reset_alloc_stats() noexcept;
alloc_stats current_alloc_stats() noexcept;

// While `size` is non-zero, allocations of exactly `size` bytes are carved
// one right after the other from a fixed arena, with no gap between them,
// as a headerless allocator (a bump allocator, jemalloc's size classes) may
// place them. Lets a test check that code never assumes two blocks are
// distinct because their addresses are not adjacent. Up to 4 blocks of at
// most 64 KiB; 0 turns it off (arena blocks are never reused).
void set_adjacent_allocations(std::size_t size) noexcept;

} // namespace zmtp::test
