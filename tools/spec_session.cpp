// SPDX-License-Identifier: MPL-2.0
#include "spec_session.hpp"

#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"

#include <algorithm>
#include <cctype>

namespace zmtp::spec {

std::string hex(std::span<const std::byte> bytes, std::size_t limit)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
        const auto b = static_cast<unsigned>(bytes[i]);
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    if (bytes.size() > limit)
        out += "...";
    return out;
}

std::vector<std::byte> from_hex(std::string_view text)
{
    std::vector<std::byte> out;
    int high = -1;
    for (const char c : text) {
        if (std::isspace(static_cast<unsigned char>(c)))
            continue;
        if (!std::isxdigit(static_cast<unsigned char>(c)))
            throw std::invalid_argument("not hex: " + std::string(text));
        const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::byte>(high * 16 + v));
            high = -1;
        }
    }
    if (high >= 0)
        throw std::invalid_argument("odd number of hex digits: " + std::string(text));
    return out;
}

std::vector<std::byte> from_text(std::string_view text)
{
    std::vector<std::byte> out(text.size());
    std::transform(text.begin(), text.end(), out.begin(), [](char c) { return static_cast<std::byte>(c); });
    return out;
}

std::string printable(std::span<const std::byte> bytes, std::size_t limit)
{
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        out += std::isprint(c) ? static_cast<char>(c) : '.';
    }
    if (bytes.size() > limit)
        out += "...";
    return out;
}

std::vector<std::string> split(const std::string& text, char sep)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const auto at = text.find(sep, start);
        out.push_back(text.substr(start, at - start));
        if (at == std::string::npos)
            return out;
        start = at + 1;
    }
}

std::string describe(const message& m)
{
    std::string out = "[";
    for (std::size_t i = 0; i < m.size() && i < 4; ++i)
        out += (i ? "|" : "") + std::string("'") + printable(m[i], 16) + "'";
    return out + (m.size() > 4 ? "|...]" : "]");
}

std::string error_in(std::span<const std::byte> bytes)
{
    static constexpr std::string_view names[] = {"\x05" "ERROR", "\x5e" "RROR"};
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    for (const auto name : names) {
        const auto at = text.find(name);
        if (at == std::string_view::npos || at + name.size() >= text.size())
            continue;
        const auto size = static_cast<unsigned char>(text[at + name.size()]);
        const auto reason = text.substr(at + name.size() + 1, size);
        return "ERROR '" + std::string(reason) + "'";
    }
    return {};
}

raw_stream::status session::send(std::span<const std::byte> bytes, clock::time_point deadline)
{
    return stream_->send(bytes, deadline);
}

read_result session::fill(clock::time_point deadline)
{
    switch (stream_->read_some(in_, deadline)) {
    case raw_stream::status::ok: return {};
    case raw_stream::status::closed: {
        const auto reason = error_in(in_);
        return {read_result::status::closed, reason.empty() ? "" : "after " + reason};
    }
    case raw_stream::status::timeout: return {read_result::status::timeout, {}};
    }
    return {};
}

read_result session::peek(std::size_t n, std::vector<std::byte>& out, clock::time_point deadline)
{
    while (in_.size() < n) {
        if (auto r = fill(deadline); r.state != read_result::status::ok)
            return r;
    }
    out.assign(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(n));
    return {};
}

read_result session::read_exact(std::size_t n, std::vector<std::byte>& out, clock::time_point deadline)
{
    auto r = peek(n, out, deadline);
    if (r.state == read_result::status::ok)
        in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(n));
    return r;
}

read_result session::read_frame(frame& out, clock::time_point deadline)
{
    if (!aside_.empty()) {
        out = std::move(aside_.front());
        aside_.pop_front();
        return {};
    }
    for (;;) {
        const auto header = wire::parse_frame_header(in_);
        if (header.state == wire::frame_header_result::status::invalid)
            return {read_result::status::invalid, "invalid frame header " + hex(std::span(in_).first(std::min<std::size_t>(in_.size(), 9)))};
        if (header.state == wire::frame_header_result::status::complete &&
            in_.size() - header.value.header_size >= header.value.size) {
            const auto begin = in_.begin() + static_cast<std::ptrdiff_t>(header.value.header_size);
            const auto end = begin + static_cast<std::ptrdiff_t>(header.value.size);
            out.more = header.value.more;
            out.command = header.value.command;
            out.body.assign(begin, end);
            in_.erase(in_.begin(), end);
            break;
        }
        if (auto r = fill(deadline); r.state != read_result::status::ok)
            return r;
    }
    if (sealed && mechanism) {
        security::mechanism::opened_frame opened;
        if (const auto ec = mechanism->open(out.body, out.command, opened))
            return {read_result::status::invalid, "a MESSAGE box does not open: " + ec.message()};
        std::vector<std::byte> body(opened.body.begin(), opened.body.end());
        out.more = opened.more;
        out.command = opened.command;
        out.body = std::move(body);
    }
    if (out.command) {
        wire::command_view cmd;
        std::string_view reason;
        if (!wire::parse_command(out.body, cmd) && cmd.name == "ERROR" &&
            !wire::parse_error_reason(cmd.data, reason))
            error_reason = std::string(reason);
    }
    return {};
}

read_result session::read_message(message& out, clock::time_point deadline)
{
    out.clear();
    std::vector<frame> commands;
    read_result r;
    for (;;) {
        frame f;
        r = read_frame(f, deadline);
        if (r.state != read_result::status::ok)
            break;
        if (f.command) {
            commands.push_back(std::move(f));
            continue;
        }
        out.push_back(std::move(f.body));
        if (!f.more)
            break;
    }
    aside_.insert(aside_.begin(), std::make_move_iterator(commands.begin()),
                  std::make_move_iterator(commands.end()));
    return r;
}

read_result session::read_command(std::string_view name, frame& out, clock::time_point deadline)
{
    std::vector<frame> messages;
    read_result r;
    for (;;) {
        r = read_frame(out, deadline);
        if (r.state != read_result::status::ok)
            break;
        wire::command_view cmd;
        if (out.command && !wire::parse_command(out.body, cmd) && cmd.name == name)
            break;
        if (!out.command)
            messages.push_back(std::move(out));
    }
    aside_.insert(aside_.begin(), std::make_move_iterator(messages.begin()),
                  std::make_move_iterator(messages.end()));
    return r;
}

read_result session::idle(clock::time_point deadline)
{
    for (;;) {
        if (auto r = fill(deadline); r.state != read_result::status::ok)
            return r;
    }
}

read_result session::wait_close(clock::time_point deadline)
{
    for (;;) {
        auto r = fill(deadline);
        if (r.state != read_result::status::ok)
            return r;
        // Keep the tail only: enough to find an ERROR command.
        if (in_.size() > 4096)
            in_.erase(in_.begin(), in_.end() - 512);
    }
}

void session::send_frame(bool more, bool command, std::span<const std::byte> body,
                         clock::time_point deadline)
{
    send(encode_frame(more, command, body), deadline);
}

std::vector<std::byte> session::encode_frame(bool more, bool command, std::span<const std::byte> body)
{
    std::vector<std::byte> out;
    if (sealed && mechanism) {
        out.resize(mechanism->sealed_size(body.size()));
        mechanism->seal(more, command, body, out);
    } else {
        std::byte header[wire::max_frame_header_size];
        const auto n = wire::encode_frame_header(header, more, command, body.size());
        out.assign(header, header + n);
        out.insert(out.end(), body.begin(), body.end());
    }
    return out;
}

} // namespace zmtp::spec
