// SPDX-License-Identifier: MPL-2.0
// Loading spec-vectors/*.json and decoding their byte notation
// (spec-vectors/README.md, "Bytes"). Header-only; throws vector_error on any
// malformed vector so that a broken file fails loudly instead of passing.
#pragma once

#include "zmtp/error.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace zmtp::test {

using json = nlohmann::json;

struct vector_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct vector_file {
    std::filesystem::path path;
    std::string kind;
    json vectors; // array
};

// The spec-vectors directory: $ZMTP_SPEC_VECTORS, else ./spec-vectors (meson
// runs the suite from the source root).
inline std::filesystem::path vectors_dir()
{
    if (const char* env = std::getenv("ZMTP_SPEC_VECTORS"); env && *env)
        return env;
    return "spec-vectors";
}

// Every *.json in `dir`, in name order.
inline std::vector<vector_file> load_vector_files(const std::filesystem::path& dir = vectors_dir())
{
    if (!std::filesystem::is_directory(dir))
        throw vector_error("no spec-vectors directory at " + std::filesystem::absolute(dir).string());
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().extension() == ".json")
            paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());
    std::vector<vector_file> files;
    for (const auto& p : paths) {
        std::ifstream in(p);
        json doc;
        try {
            doc = json::parse(in);
        } catch (const json::exception& e) {
            throw vector_error(p.string() + ": " + e.what());
        }
        if (!doc.contains("kind") || !doc.contains("vectors") || !doc["vectors"].is_array())
            throw vector_error(p.string() + ": needs \"kind\" and a \"vectors\" array");
        files.push_back({p, doc["kind"].get<std::string>(), doc["vectors"]});
    }
    return files;
}

// ---------------------------------------------------------------- bytes

inline int hex_digit(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Hex digits in pairs; whitespace anywhere is ignored.
inline std::string from_hex(std::string_view hex)
{
    std::string out;
    int high = -1;
    for (char c : hex) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        const int d = hex_digit(c);
        if (d < 0)
            throw vector_error("bad hex digit '" + std::string(1, c) + "' in \"" + std::string(hex) + "\"");
        if (high < 0) {
            high = d;
        } else {
            out.push_back(static_cast<char>(high << 4 | d));
            high = -1;
        }
    }
    if (high >= 0)
        throw vector_error("odd number of hex digits in \"" + std::string(hex) + "\"");
    return out;
}

inline std::string to_hex(std::string_view bytes, std::size_t max_bytes = 96)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    const std::size_t n = std::min(bytes.size(), max_bytes);
    for (std::size_t i = 0; i < n; ++i) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    if (n < bytes.size())
        out += "...(" + std::to_string(bytes.size()) + " bytes)";
    return out;
}

inline std::size_t count_of(const json& part)
{
    if (!part.contains("count") || !part["count"].is_number_unsigned())
        throw vector_error("byte part needs an unsigned \"count\": " + part.dump());
    return part["count"].get<std::size_t>();
}

// Expands the byte notation: a hex string, a part object, or an array of
// those (concatenated). Bytes are returned in a std::string.
inline std::string bytes_of(const json& j)
{
    if (j.is_string())
        return from_hex(j.get<std::string>());
    if (j.is_array()) {
        std::string out;
        for (const auto& part : j)
            out += bytes_of(part);
        return out;
    }
    if (!j.is_object() || j.size() < 1)
        throw vector_error("not a byte string: " + j.dump());
    if (j.contains("hex"))
        return from_hex(j["hex"].get<std::string>());
    if (j.contains("text"))
        return j["text"].get<std::string>();
    if (j.contains("repeat")) {
        const auto unit = j["repeat"].get<std::string>();
        std::string out;
        const std::size_t n = count_of(j);
        out.reserve(unit.size() * n);
        for (std::size_t i = 0; i < n; ++i)
            out += unit;
        return out;
    }
    if (j.contains("repeat_hex")) {
        const auto unit = from_hex(j["repeat_hex"].get<std::string>());
        std::string out;
        const std::size_t n = count_of(j);
        for (std::size_t i = 0; i < n; ++i)
            out += unit;
        return out;
    }
    if (j.contains("affine")) {
        // byte i = (start + step * i) mod 256: the bodies of captures/msg-*.json
        const auto start = j["affine"].at("start").get<std::uint64_t>();
        const auto step = j["affine"].at("step").get<std::uint64_t>();
        const std::size_t n = count_of(j);
        std::string out(n, '\0');
        for (std::size_t i = 0; i < n; ++i)
            out[i] = static_cast<char>((start + step * i) & 0xff);
        return out;
    }
    throw vector_error("unknown byte part: " + j.dump());
}

inline std::span<const std::byte> as_span(const std::string& s) noexcept
{
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

inline std::string as_string(std::span<const std::byte> s)
{
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

// ---------------------------------------------------------------- errors

inline constexpr std::pair<error, std::string_view> error_names[] = {
    {error::not_zmtp, "not_zmtp"},
    {error::unsupported_version, "unsupported_version"},
    {error::malformed_greeting, "malformed_greeting"},
    {error::mechanism_mismatch, "mechanism_mismatch"},
    {error::malformed_frame, "malformed_frame"},
    {error::malformed_command, "malformed_command"},
    {error::malformed_metadata, "malformed_metadata"},
    {error::unexpected_command, "unexpected_command"},
    {error::unexpected_message, "unexpected_message"},
    {error::missing_socket_type, "missing_socket_type"},
    {error::invalid_socket_type, "invalid_socket_type"},
    {error::incompatible_socket_type, "incompatible_socket_type"},
    {error::message_too_large, "message_too_large"},
    {error::too_many_frames, "too_many_frames"},
    {error::command_too_large, "command_too_large"},
    {error::too_many_properties, "too_many_properties"},
    {error::handshake_timeout, "handshake_timeout"},
    {error::heartbeat_timeout, "heartbeat_timeout"},
    {error::ttl_expired, "ttl_expired"},
    {error::peer_error, "peer_error"},
    {error::connection_closed, "connection_closed"},
    {error::authentication_failed, "authentication_failed"},
    {error::not_ready, "not_ready"},
    {error::invalid_argument, "invalid_argument"},
};

// "" for no error; the enumerator name for a zmtp error; else category:value.
inline std::string error_name(std::error_code ec)
{
    if (!ec)
        return "";
    if (ec.category() == error_category())
        for (const auto& [e, name] : error_names)
            if (static_cast<int>(e) == ec.value())
                return std::string(name);
    return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}

// Expected error from JSON: null or a known name ("" for null). Unknown
// names throw, so that a typo in a vector cannot match nothing silently.
inline std::string expected_error_name(const json& j)
{
    if (j.is_null())
        return "";
    const auto name = j.get<std::string>();
    for (const auto& entry : error_names)
        if (entry.second == name)
            return name;
    throw vector_error("unknown error name \"" + name + "\"");
}

inline std::string vector_name(const json& v)
{
    return v.value("name", std::string("(unnamed)"));
}

} // namespace zmtp::test
