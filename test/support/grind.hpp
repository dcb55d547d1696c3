// SPDX-License-Identifier: MPL-2.0
// "Grinding": feeding the same input to a parser cut up in every way that
// matters: whole, in two chunks at every offset, and one byte at a time. An
// incremental parser must give the same result for all of them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace zmtp::test {

struct split_plan {
    enum class mode { whole, two_chunks, byte_by_byte };
    mode how = mode::whole;
    std::size_t cut = 0;    // two_chunks: offset of the cut in the whole input
    bool zero_copy = false; // hand message bodies over through the parser's own buffer

    std::string describe() const
    {
        std::string s;
        switch (how) {
        case mode::whole: s = "whole"; break;
        case mode::two_chunks: s = "split at " + std::to_string(cut); break;
        case mode::byte_by_byte: s = "byte by byte"; break;
        }
        return zero_copy ? s + " (zero-copy bodies)" : s;
    }

    // Chunk sizes for one stretch of input that starts at offset `begin` of
    // the whole input and holds `size` bytes. The input may be given in
    // several stretches (with other actions in between); cuts apply to the
    // offsets of the whole.
    std::vector<std::size_t> chunks(std::size_t begin, std::size_t size) const
    {
        std::vector<std::size_t> out;
        if (size == 0)
            return out;
        switch (how) {
        case mode::whole:
            out.push_back(size);
            break;
        case mode::two_chunks:
            if (cut > begin && cut < begin + size) {
                out.push_back(cut - begin);
                out.push_back(begin + size - cut);
            } else {
                out.push_back(size);
            }
            break;
        case mode::byte_by_byte:
            out.assign(size, 1);
            break;
        }
        return out;
    }
};

// Calls f(plan) for every way of feeding `total` bytes: whole, every
// two-chunk cut (1 .. total-1), and byte by byte; odd cuts and one
// byte-by-byte pass also exercise the zero-copy path. Stops at the first
// plan for which f returns false (one report per failing input is enough).
template <class F>
void grind(std::size_t total, F&& f)
{
    if (!f(split_plan{}))
        return;
    for (std::size_t cut = 1; cut < total; ++cut) {
        split_plan p;
        p.how = split_plan::mode::two_chunks;
        p.cut = cut;
        p.zero_copy = cut % 2 == 1;
        if (!f(p))
            return;
    }
    if (total < 2)
        return;
    for (bool zero_copy : {false, true}) {
        split_plan p;
        p.how = split_plan::mode::byte_by_byte;
        p.zero_copy = zero_copy;
        if (!f(p))
            return;
    }
}

} // namespace zmtp::test
