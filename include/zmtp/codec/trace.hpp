// SPDX-License-Identifier: MPL-2.0
// What crossed the wire, unit by unit, for diagnostics (zmtp-cat --trace):
// greetings, commands and frame headers, in both directions. The codec
// reports them to an optional callback; when none is set it costs one
// branch per frame.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace zmtp {

struct trace_record {
    enum class direction { in, out };
    enum class unit { greeting, command, frame };

    direction dir = direction::in;
    unit what = unit::frame;
    std::uint64_t size = 0;  // body size (frames, commands); 64 for a greeting
    bool more = false;       // frames: MORE flag
    std::string name;        // commands: the name; greetings: the mechanism
    int major = 0;           // greetings: version
    int minor = 0;
};

using tracer = std::function<void(const trace_record&)>;

} // namespace zmtp
