// Peer-supplied text in a failure reason (an ERROR's reason, a command
// name): reasons end up on one line of a log or a terminal, so control
// octets, non-ASCII octets and the backslash are written as \xNN.
#pragma once

#include <string>
#include <string_view>

namespace zmtp::security {

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

} // namespace zmtp::security
