// SPDX-License-Identifier: MPL-2.0
// Two codecs joined by an in-memory link, in the manner of h11's and
// quinn-proto's test pairs: bytes one side wants to send are fed to the
// other, events are collected per side, and time comes from a fake clock.
//
// The link honours the codec contract: it takes the sender's output through
// pending_output()/consume_output(), consumes only what the receiver's
// feed() accepted, and drains next_event() whenever feed() stops because an
// event is pending. `chunk` limits how many bytes one feed() call sees
// (1 = byte by byte), so every split of the stream can be exercised.
#pragma once

#include "fake_clock.hpp"

#include "zmtp/codec/codec.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace zmtp::test {

// Everything `c` wants to send, flattened; the output is consumed.
inline std::vector<std::byte> drain_output(codec& c)
{
    std::vector<std::byte> out;
    while (c.has_output()) {
        std::size_t n = 0;
        for (const auto& s : c.pending_output()) {
            out.insert(out.end(), s.begin(), s.end());
            n += s.size();
        }
        c.consume_output(n);
    }
    return out;
}

// Takes every event `c` has ready.
inline void drain_events(codec& c, std::vector<event>& into)
{
    while (auto e = c.next_event())
        into.push_back(std::move(*e));
}

// Feeds `bytes` to `c` completely (unless it fails), draining events as
// they come; `chunk` = 0 feeds as much as the codec takes at once.
// Returns how many bytes were consumed.
inline std::size_t feed_all(codec& c, std::span<const std::byte> bytes, codec::time_point now,
                            std::vector<event>& events, std::size_t chunk = 0)
{
    std::size_t used = 0;
    while (used < bytes.size()) {
        auto piece = bytes.subspan(used);
        if (chunk != 0 && piece.size() > chunk)
            piece = piece.first(chunk);
        const std::size_t n = c.feed(piece, now);
        used += n;
        const bool had_event = c.has_event();
        drain_events(c, events);
        if (n == 0 && !had_event)
            break; // failed: the codec takes nothing more
    }
    drain_events(c, events);
    return used;
}

class codec_pair {
public:
    codec_pair(codec_options a_options, codec_options b_options, std::size_t chunk_size = 0)
        : chunk(chunk_size), a(std::move(a_options), clock.now()), b(std::move(b_options), clock.now())
    {
    }

    fake_clock clock;
    std::size_t chunk; // bytes per feed(); 0 = no limit
    codec a;
    codec b;
    std::vector<event> a_events; // events a reported (from b's bytes)
    std::vector<event> b_events; // events b reported (from a's bytes)
    std::vector<std::byte> a_to_b; // every byte moved from a to b
    std::vector<std::byte> b_to_a;

    // Moves bytes both ways until neither side can make progress.
    // Returns the number of bytes moved.
    std::size_t pump()
    {
        std::size_t total = 0;
        for (;;) {
            const std::size_t moved = transfer(a, b, b_events, a_to_b) +
                                      transfer(b, a, a_events, b_to_a);
            if (moved == 0)
                return total;
            total += moved;
        }
    }

    // Moves what a has queued to b (one way only).
    std::size_t pump_a_to_b() { return transfer(a, b, b_events, a_to_b); }
    std::size_t pump_b_to_a() { return transfer(b, a, a_events, b_to_a); }

    bool both_ready() const noexcept { return a.is_ready() && b.is_ready(); }

private:
    std::size_t transfer(codec& from, codec& to, std::vector<event>& events,
                         std::vector<std::byte>& log)
    {
        std::size_t moved = 0;
        std::vector<std::byte> buffer;
        while (from.has_output()) {
            // Gather up to `chunk` bytes from the front of the sender's output.
            buffer.clear();
            for (const auto& s : from.pending_output()) {
                const std::size_t room = chunk == 0 ? s.size() : chunk - buffer.size();
                const std::size_t n = std::min(room, s.size());
                buffer.insert(buffer.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
                if (chunk != 0 && buffer.size() == chunk)
                    break;
            }
            const std::size_t used = feed_all(to, buffer, clock.now(), events, chunk);
            if (used == 0)
                break;
            log.insert(log.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(used));
            from.consume_output(used);
            moved += used;
            if (used < buffer.size())
                break; // the receiver stopped (failed)
        }
        return moved;
    }
};

} // namespace zmtp::test
