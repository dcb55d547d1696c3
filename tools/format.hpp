// SPDX-License-Identifier: MPL-2.0
// zmtp-cat's line formats (docs/zmtp-cat.md, "Messages on stdin and
// stdout"): one message per line, as TAB-separated frames (text) or as a
// JSON array of frames (json), where a frame is a string when its bytes are
// valid UTF-8 and {"base64": "..."} otherwise.
#pragma once

#include "zmtp/codec/trace.hpp"
#include "zmtp/message.hpp"
#include "zmtp/socket_type.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace zmtp::cat {

enum class line_format { text, json };

// A stdin line that is not a message in the chosen format; what() is one line.
class format_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// Parses one line (without its newline) into a message. Throws format_error.
message parse_line(std::string_view line, line_format f);

// Formats a message as one line, without the newline.
std::string format_line(const message& m, line_format f);

// The draft types' lines (docs/zmtp-cat.md, "Draft socket types"): one
// frame, except SERVER and PEER, whose lines are ID<TAB>body (JSON: [ID,
// body], ID a number) with ID the decimal routing id, and RADIO and DISH,
// whose lines are GROUP<TAB>body (RADIO: or the body alone, sent to
// `group`). Throws format_error.
message parse_draft_line(std::string_view line, line_format f, socket_type t,
                         const std::optional<std::string>& group);
std::string format_draft_line(const message& m, line_format f, socket_type t);

// One --trace line (JSON, no newline) for a unit that crossed the wire:
// {"dir":"in","peer":"127.0.0.1:5555","unit":"command","name":"READY","size":25}
std::string format_trace(const std::string& peer, const trace_record& t);

// Helpers, exposed for tests.
bool is_valid_utf8(std::string_view bytes) noexcept;
std::string base64_encode(std::string_view bytes);
// Standard alphabet with padding; nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace zmtp::cat
