// SPDX-License-Identifier: MPL-2.0
#include "format.hpp"

#include "zmtp/printable.hpp"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <array>
#include <cstdint>

namespace zmtp::cat {

namespace {

frame parse_json_frame(const nlohmann::json& j)
{
    if (j.is_string())
        return frame(std::string_view(j.get_ref<const std::string&>()));
    if (j.is_object() && j.size() == 1 && j.contains("base64") && j["base64"].is_string()) {
        auto bytes = base64_decode(j["base64"].get_ref<const std::string&>());
        if (!bytes)
            throw format_error("bad JSON line: \"base64\" is not valid base64");
        return frame(std::string_view(*bytes));
    }
    throw format_error(
        "bad JSON line: a frame must be a string or an object {\"base64\": \"...\"}");
}

nlohmann::json json_frame(const frame& fr)
{
    if (is_valid_utf8(fr.view()))
        return fr.str();
    return {{"base64", base64_encode(fr.view())}};
}

bool addressed(socket_type t)
{
    return t == socket_type::server || t == socket_type::peer;
}

std::string lower_name(socket_type t)
{
    std::string s(to_string(t));
    for (char& c : s)
        c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::uint32_t parse_routing_id(std::string_view s)
{
    std::uint64_t v = 0;
    bool ok = !s.empty() && s.size() <= 10;
    for (char c : s) {
        ok = ok && c >= '0' && c <= '9';
        if (ok)
            v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || v == 0 || v > UINT32_MAX)
        throw format_error("bad routing id '" + printable(s) + "': a number from 1 to 4294967295");
    return static_cast<std::uint32_t>(v);
}

// A server's or peer's JSON line: [ID, body] with ID a number.
message parse_addressed_json(std::string_view line)
{
    const auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    if (j.is_discarded() || !j.is_array() || j.size() != 2 || !j[0].is_number_unsigned())
        throw format_error("bad JSON line: expected [ID, body] with ID a number");
    return message{frame(std::to_string(j[0].get<std::uint64_t>())), parse_json_frame(j[1])};
}

} // namespace

bool is_valid_utf8(std::string_view s) noexcept
{
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (s.size() - i < len)
            return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        constexpr std::array<std::uint32_t, 5> min_for_len{0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false; // overlong, out of range, or a surrogate
        i += len;
    }
    return true;
}

std::string base64_encode(std::string_view bytes)
{
    constexpr int variant = sodium_base64_VARIANT_ORIGINAL;
    std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                      bytes.size(), variant);
    out.pop_back(); // the terminating NUL
    return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
    std::string out(text.size() / 4 * 3 + 3, '\0');
    std::size_t length = 0;
    const char* end = nullptr;
    // Padded standard base64, nothing ignored, every character used.
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                          text.size(), nullptr, &length, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size())
        return std::nullopt;
    out.resize(length);
    return out;
}

message parse_line(std::string_view line, line_format f)
{
    message m;
    if (f == line_format::text) {
        for (;;) {
            const auto tab = line.find('\t');
            m.emplace_back(line.substr(0, tab));
            if (tab == std::string_view::npos)
                break;
            line.remove_prefix(tab + 1);
        }
        return m;
    }
    const auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    if (j.is_discarded())
        throw format_error("bad JSON line: not valid JSON");
    if (!j.is_array())
        throw format_error("bad JSON line: expected an array of frames");
    if (j.empty())
        throw format_error("bad JSON line: a message needs at least one frame");
    m.reserve(j.size());
    for (const auto& item : j)
        m.push_back(parse_json_frame(item));
    return m;
}

std::string format_line(const message& m, line_format f)
{
    if (f == line_format::text) {
        std::string out;
        for (std::size_t i = 0; i < m.size(); ++i) {
            if (i > 0)
                out += '\t';
            out += m[i].view();
        }
        return out;
    }
    auto j = nlohmann::json::array();
    for (const frame& fr : m)
        j.push_back(json_frame(fr));
    return j.dump();
}

message parse_draft_line(std::string_view line, line_format f, socket_type t,
                         const std::optional<std::string>& group)
{
    message frames = f == line_format::json && addressed(t) ? parse_addressed_json(line)
                                                            : parse_line(line, f);
    if (addressed(t)) {
        if (frames.size() != 2)
            throw format_error("a " + lower_name(t) + " line is ID<TAB>body");
        message m{frames[1]};
        m.set_routing_id(parse_routing_id(frames[0].view()));
        return m;
    }
    if (t == socket_type::radio) {
        if (frames.size() != 2 && !(frames.size() == 1 && group))
            throw format_error("a radio line is GROUP<TAB>body, or a body with --group");
        message m{frames.back()};
        m.set_group(frames.size() == 2 ? frames[0].str() : *group);
        if (m.group().size() > message::max_group_size)
            throw format_error("a group is at most 255 bytes");
        return m;
    }
    if (frames.size() != 1)
        throw format_error(lower_name(t) + " sends single-part messages only (no TAB in a line)");
    return frames;
}

std::string format_draft_line(const message& m, line_format f, socket_type t)
{
    if (addressed(t)) {
        if (f == line_format::text)
            return std::to_string(m.routing_id()) + "\t" + std::string(m.front().view());
        return nlohmann::json::array({m.routing_id(), json_frame(m.front())}).dump();
    }
    if (t == socket_type::dish)
        return format_line(message{frame(m.group()), m.front()}, f);
    return format_line(m, f);
}

} // namespace zmtp::cat

namespace zmtp::cat {

std::string format_trace(const std::string& peer, const trace_record& t)
{
    nlohmann::json j;
    j["dir"] = t.dir == trace_record::direction::in ? "in" : "out";
    j["peer"] = peer;
    switch (t.what) {
    case trace_record::unit::greeting:
        j["unit"] = "greeting";
        j["version"] = std::to_string(t.major) + "." + std::to_string(t.minor);
        j["mechanism"] = printable(t.name);
        break;
    case trace_record::unit::command:
        j["unit"] = "command";
        j["name"] = printable(t.name); // the peer's bytes: escaped, and valid UTF-8 for JSON
        j["size"] = t.size;
        break;
    case trace_record::unit::frame:
        j["unit"] = "frame";
        j["size"] = t.size;
        j["more"] = t.more;
        break;
    }
    return j.dump();
}

} // namespace zmtp::cat
