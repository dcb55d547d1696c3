// SPDX-License-Identifier: MPL-2.0
// The step language's traffic ops (spec-vectors/conformance/README.md):
// frames and messages the tool sends after the handshake, and what it
// expects of the peer (a close, silence, a command, messages).
#include "spec_runner.hpp"

#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"

#include <algorithm>

namespace zmtp::spec {

namespace {

using ms = std::chrono::milliseconds;

long long elapsed_ms(clock::time_point since)
{
    return std::chrono::duration_cast<ms>(clock::now() - since).count();
}

} // namespace

runner::outcome runner::op_frame(const step& s)
{
    auto& c = conn(s);
    std::uint64_t size = 0;
    const auto size_arg = s.get("size");
    if (size_arg.starts_with("limit")) {
        if (cfg_.max_msg_size == 0)
            return outcome::na("needs --max-msg-size");
        size = cfg_.max_msg_size + (size_arg == "limit+1" ? 1 : 0);
    }
    std::vector<std::byte> body;
    if (s.get("fill") == "size")
        body.resize(static_cast<std::size_t>(size), std::byte{'x'});
    else
        body = bytes_of(s);
    if (!size_arg.starts_with("limit"))
        size = s.has("size") ? std::stoull(size_arg, nullptr, 0) : body.size();
    auto flags = s.has("flags") ? from_hex(s.get("flags")).at(0) : std::byte{0};
    const bool long_form = s.number("long", 0) != 0 || size > 255;
    std::vector<std::byte> out{long_form ? (flags | std::byte{0x02}) : flags};
    if (long_form)
        for (int i = 7; i >= 0; --i)
            out.push_back(static_cast<std::byte>(size >> (8 * i)));
    else
        out.push_back(static_cast<std::byte>(size));
    out.insert(out.end(), body.begin(), body.end());
    send_pieces(c, out, s);
    return outcome::next();
}

runner::outcome runner::op_message(const step& s)
{
    auto& c = conn(s);
    std::vector<std::vector<std::byte>> frames;
    if (s.has("hex_frames"))
        for (const auto& f : split(s.get("hex_frames"), '|'))
            frames.push_back(from_hex(f));
    else
        for (const auto& f : split(s.get("frames"), '|'))
            frames.push_back(from_text(f));
    for (long long n = s.number("count", 1); n > 0; --n)
        for (std::size_t i = 0; i < frames.size(); ++i) {
            auto out = c.encode_frame(i + 1 < frames.size(), false, frames[i]);
            c.last_frame = out;
            if (s.has("flip") && !out.empty())
                out[std::min<std::size_t>(static_cast<std::size_t>(s.number("flip", 0)), out.size() - 1)] ^= std::byte{0x01};
            c.send(out, deadline(s));
        }
    return outcome::next();
}

runner::outcome runner::op_expect_close(const step& s)
{
    const auto start = clock::now();
    const auto r = conn(s).wait_close(deadline(s));
    const auto took = elapsed_ms(start);
    if (r.state == read_result::status::timeout)
        return outcome::fail("the connection is still open after " + std::to_string(took) + " ms");
    if (s.has("min_ms") && took < s.number("min_ms", 0))
        return outcome::fail("closed after " + std::to_string(took) + " ms, before " + s.get("min_ms") + " ms");
    return outcome::next("the peer closed the connection " + (r.evidence.empty() ? "" : r.evidence + " ") +
                         "after " + std::to_string(took) + " ms");
}

runner::outcome runner::op_expect_open(const step& s)
{
    const auto start = clock::now();
    const auto r = conn(s).idle(clock::now() + ms(s.number("ms", 300)));
    const auto took = std::to_string(elapsed_ms(start));
    if (r.state == read_result::status::closed)
        return outcome::fail("the peer closed the connection " + (r.evidence.empty() ? "" : r.evidence + " ") +
                             "after " + took + " ms");
    return outcome::next("the connection is open after " + took + " ms");
}

runner::outcome runner::op_expect_command(const step& s)
{
    auto& c = conn(s);
    const auto name = s.get("name");
    frame f;
    const auto r = c.read_command(name, f, deadline(s));
    if (r.state == read_result::status::closed)
        return outcome::fail("the peer closed instead of sending " + name + " " + r.evidence);
    if (r.state == read_result::status::timeout) {
        const auto why = "no " + name + " within " + s.get("ms", std::to_string(cfg_.timeout.count())) + " ms";
        return s.get("on_timeout") == "na" ? outcome::na(why + " (the case needs a peer that sends it)")
                                           : outcome::fail(why);
    }
    if (r.state == read_result::status::invalid)
        return outcome::fail(r.evidence);
    wire::command_view cmd;
    (void)wire::parse_command(f.body, cmd);
    const std::string seen = name + " data=" + (cmd.data.empty() ? "(empty)" : hex(cmd.data, 24));
    const auto expected = bytes_of(s, "data_");
    if ((s.has("data_hex") || s.has("data_text")) &&
        !std::equal(cmd.data.begin(), cmd.data.end(), expected.begin(), expected.end()))
        return outcome::fail(seen + ", expected " + (expected.empty() ? "(empty)" : hex(expected, 24)));
    return outcome::next(seen);
}

runner::outcome runner::op_expect_message(const step& s)
{
    auto& c = conn(s);
    message m;
    const auto r = c.read_message(m, deadline(s));
    const auto wait = s.get("ms", std::to_string(cfg_.timeout.count()));
    if (r.state == read_result::status::timeout) {
        const auto why = "no message within " + wait + " ms";
        return s.get("on_timeout") == "na" ? outcome::na(why + " (the case needs a peer that sends)")
                                           : outcome::fail(why);
    }
    // closed_ok: the rule lets the peer disconnect instead (RFC 41 MAY).
    if (r.state == read_result::status::closed)
        return s.has("closed_ok") ? outcome::next("the peer closed the connection " + r.evidence)
                                  : outcome::fail("the peer closed instead of sending a message " + r.evidence);
    if (r.state == read_result::status::invalid)
        return outcome::fail(r.evidence);
    const auto seen = "message " + describe(m);
    if (s.has("frames")) {
        message expected;
        for (const auto& f : split(s.get("frames"), '|'))
            expected.push_back(from_text(f));
        if (m != expected)
            return outcome::fail(seen + ", expected " + describe(expected));
    }
    if (s.has("starts")) {
        message expected;
        for (const auto& f : split(s.get("starts"), '|'))
            expected.push_back(from_text(f));
        if (m.size() < expected.size() || !std::equal(expected.begin(), expected.end(), m.begin()))
            return outcome::fail(seen + ", expected it to start with " + describe(expected));
    }
    if (s.has("count") && static_cast<long long>(m.size()) != s.number("count", 0))
        return outcome::fail(seen + ": " + std::to_string(m.size()) + " frames, expected " + s.get("count"));
    if (s.has("prefix")) {
        const auto p = from_text(s.get("prefix"));
        if (m.empty() || !std::equal(p.begin(), p.end(), m[0].begin(), m[0].begin() + static_cast<std::ptrdiff_t>(std::min(p.size(), m[0].size()))) || m[0].size() < p.size())
            return outcome::fail(seen + ": does not start with '" + s.get("prefix") + "'");
    }
    return outcome::next(seen);
}

runner::outcome runner::op_expect_no_message(const step& s)
{
    message m;
    const auto until = clock::now() + ms(s.number("ms", 300));
    auto r = conn(s).read_message(m, until);
    // subscriptions_ok: a subscriber's subscriptions in the ZMTP 3.0 form
    // (one frame, 01 or 00 first; RFC 37 §Publish-Subscribe) are not messages.
    while (r.state == read_result::status::ok && s.has("subscriptions_ok") && m.size() == 1 && !m[0].empty() &&
           std::to_integer<int>(m[0][0]) <= 1)
        r = conn(s).read_message(m, until);
    if (r.state == read_result::status::ok)
        return outcome::fail("got " + describe(m));
    if (r.state == read_result::status::closed)
        return s.has("closed_ok") ? outcome::next("the peer closed the connection without sending a message")
                                  : outcome::fail("the peer closed the connection " + r.evidence);
    if (r.state == read_result::status::invalid)
        return outcome::fail(r.evidence);
    return outcome::next("no message within " + s.get("ms", "300") + " ms");
}

runner::outcome runner::op_drain(const step& s)
{
    auto& c = conn(s);
    const auto until = clock::now() + ms(s.number("ms", 200));
    message m;
    while (c.read_message(m, until).state == read_result::status::ok) {
    }
    return outcome::next();
}

runner::outcome runner::op_expect_messages(const step& s)
{
    auto& c = conn(s);
    const auto until = clock::now() + ms(s.number("ms", 500));
    const auto prefix = from_text(s.get("prefix"));
    long long count = 0;
    for (;;) {
        message m;
        const auto r = c.read_message(m, until);
        if (r.state == read_result::status::timeout)
            break;
        if (r.state != read_result::status::ok)
            return outcome::fail("after " + std::to_string(count) + " messages: " +
                                 (r.evidence.empty() ? "the peer closed" : r.evidence));
        if (m.empty() || m[0].size() < prefix.size() || !std::equal(prefix.begin(), prefix.end(), m[0].begin()))
            return outcome::fail("got " + describe(m) + ", which does not start with '" + s.get("prefix") + "'");
        // group: a RADIO's message, a group frame (MORE) and a body (RFC 37
        // §The Radio-Dish Pattern), of exactly that group.
        if (s.has("group") && (m.size() != 2 || m[0] != from_text(s.get("group"))))
            return outcome::fail("got " + describe(m) + ", not a message of group '" + s.get("group") + "'");
        ++count;
    }
    if (count < s.number("min", 1) && s.get("on_none") == "fail")
        return outcome::fail(std::to_string(count) + " messages within " + s.get("ms", "500") + " ms");
    if (count < s.number("min", 1))
        return outcome::na(std::to_string(count) + " messages within " + s.get("ms", "500") +
                           " ms (the case needs a peer that sends)");
    if (s.has("group"))
        return outcome::next(std::to_string(count) + " messages, each of group '" + s.get("group") + "'");
    return outcome::next(std::to_string(count) + " messages, each starting with '" + s.get("prefix") + "'");
}

} // namespace zmtp::spec
