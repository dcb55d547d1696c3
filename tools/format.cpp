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
    for (const frame& fr : m) {
        if (is_valid_utf8(fr.view()))
            j.push_back(fr.str());
        else
            j.push_back({{"base64", base64_encode(fr.view())}});
    }
    return j.dump();
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
