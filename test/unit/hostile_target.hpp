// SPDX-License-Identifier: MPL-2.0
// A codec facing one raw, possibly hostile, peer, for the hostile-catalogue
// tests (docs/reliability.md, "Hostile catalogue"): feed it the peer's
// bytes, then check that it dropped the peer with a reason and delivered
// nothing the peer sent after the attack began.
#pragma once

#include "codec_pair.hpp"
#include "helpers.hpp"
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <span>
#include <vector>

namespace zmtp::test {

struct hostile_target {
    fake_clock clock;
    codec c;
    std::vector<event> events;

    explicit hostile_target(codec_options o = options_for(socket_type::pull))
        : c(std::move(o), clock.now())
    {
    }

    std::size_t feed(std::span<const std::byte> bytes, std::size_t chunk = 0)
    {
        return feed_all(c, bytes, clock.now(), events, chunk);
    }

    // A PUSH peer's greeting and READY; the codec is then ready and its
    // events and output so far are discarded.
    void handshake(std::uint8_t minor = 1)
    {
        const auto in = raw_peer_handshake(socket_type::push, minor);
        REQUIRE(feed(in) == in.size());
        REQUIRE(c.is_ready());
        events.clear();
        drain_output(c);
    }

    std::size_t messages() const
    {
        std::size_t n = 0;
        for (const auto& e : events)
            n += as<message>(e) != nullptr;
        return n;
    }

    bool handshake_completed() const
    {
        for (const auto& e : events)
            if (as<events::handshake_complete>(e))
                return true;
        return false;
    }

    // The name of the first command c has queued for the peer, if any.
    std::string queued_command()
    {
        const auto out = drain_output(c);
        const auto h = wire::parse_frame_header(out);
        if (h.state != wire::frame_header_result::status::complete || !h.value.command)
            return {};
        wire::command_view cmd;
        if (wire::parse_command(std::span(out).subspan(h.value.header_size), cmd))
            return {};
        return std::string(cmd.name);
    }
};

// The peer is dropped with `e` and a reason, and none of its messages got
// through.
inline void check_dropped(const hostile_target& t, error e)
{
    CHECK(t.c.is_failed());
    CHECK(t.c.error() == e);
    CHECK_FALSE(t.c.error_reason().empty());
    CHECK(t.messages() == 0);
}

} // namespace zmtp::test
