// SPDX-License-Identifier: MPL-2.0
// The one way peer-supplied text (an ERROR's reason, a command name, a
// metadata value, a routing id) is written into a reason, a log line or a
// trace: such text ends up on a terminal, so control octets (ESC, BEL),
// non-ASCII octets and the backslash are written as \xNN. The result is
// printable ASCII on one line, and valid UTF-8 for JSON.
#pragma once

#include <string>
#include <string_view>

namespace zmtp {

inline std::string printable(std::string_view text)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e || c == '\\') {
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 0x0f];
        } else {
            out += c;
        }
    }
    return out;
}

} // namespace zmtp
