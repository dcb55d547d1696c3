// SPDX-License-Identifier: MPL-2.0
// What the mechanism harnesses share: cutting the peer's byte stream into
// the command bodies a codec would hand a mechanism, and checking that what
// a mechanism writes is whole, well-formed command frames.
#pragma once

#include "fuzz_check.hpp"

#include "zmtp/codec/options.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"

#include <algorithm>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace zmtp_fuzz {

// The bodies of the command frames at the start of `stream`, each in its
// own allocation (so that ASan sees an overread). Stops where a codec would
// stop handing commands to the mechanism: an incomplete or invalid frame, a
// message frame, a command over the production size limit.
inline std::vector<std::vector<std::byte>> command_bodies(std::span<const std::byte> stream)
{
    const std::size_t limit = zmtp::codec_limits{}.max_command_size;
    std::vector<std::vector<std::byte>> bodies;
    for (;;) {
        const auto h = zmtp::wire::parse_frame_header(stream);
        if (h.state != zmtp::wire::frame_header_result::status::complete || !h.value.command ||
            h.value.size > limit || h.value.size > stream.size() - h.value.header_size)
            return bodies;
        const auto body = stream.subspan(h.value.header_size, static_cast<std::size_t>(h.value.size));
        bodies.emplace_back(body.begin(), body.end());
        stream = stream.subspan(h.value.header_size + body.size());
    }
}

struct written_command {
    std::string name;
    std::vector<std::byte> data;
};

// Splits what a mechanism wrote into commands: every frame complete, a
// command, without MORE, with a well-formed name among `allowed`.
inline std::vector<written_command> written_commands(std::span<const std::byte> out,
                                                     std::initializer_list<std::string_view> allowed)
{
    std::vector<written_command> commands;
    while (!out.empty()) {
        const auto h = zmtp::wire::parse_frame_header(out);
        FUZZ_CHECK(h.state == zmtp::wire::frame_header_result::status::complete);
        FUZZ_CHECK(h.value.command && !h.value.more);
        FUZZ_CHECK(h.value.size <= out.size() - h.value.header_size);
        const auto body = out.subspan(h.value.header_size, static_cast<std::size_t>(h.value.size));
        zmtp::wire::command_view cmd;
        FUZZ_CHECK(!zmtp::wire::parse_command(body, cmd));
        FUZZ_CHECK(std::find(allowed.begin(), allowed.end(), cmd.name) != allowed.end());
        commands.push_back({std::string(cmd.name), {cmd.data.begin(), cmd.data.end()}});
        out = out.subspan(h.value.header_size + body.size());
    }
    return commands;
}

// A failure reason: not empty, printable ASCII only (the peer's text included).
inline bool printable_line(std::string_view reason)
{
    return !reason.empty() && std::all_of(reason.begin(), reason.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
}

inline bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

} // namespace zmtp_fuzz
