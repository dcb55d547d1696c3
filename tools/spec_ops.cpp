// SPDX-License-Identifier: MPL-2.0
// The step language's greeting and handshake ops (spec-vectors/conformance/
// README.md): what the tool sends before and during the handshake, and what
// it expects of the peer's greeting and READY.
#include "spec_runner.hpp"

#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"
#include "zmtp/wire/legacy.hpp"

#include <algorithm>
#include <cctype>
#include <thread>

namespace zmtp::spec {

namespace {

using ms = std::chrono::milliseconds;

// The type the tool announces to a peer of type `peer` when a case does
// not say: one that may talk to it and lets the tool see its behaviour.
socket_type partner(socket_type peer)
{
    switch (peer) {
    case socket_type::req: return socket_type::router;
    case socket_type::pub:
    case socket_type::xpub: return socket_type::sub;
    case socket_type::sub:
    case socket_type::xsub: return socket_type::pub;
    case socket_type::push: return socket_type::pull;
    case socket_type::pull: return socket_type::push;
    case socket_type::pair: return socket_type::pair;
    case socket_type::server: return socket_type::client;
    case socket_type::client: return socket_type::server;
    case socket_type::radio: return socket_type::dish;
    case socket_type::dish: return socket_type::radio;
    case socket_type::gather: return socket_type::scatter;
    case socket_type::scatter: return socket_type::gather;
    case socket_type::peer: return socket_type::peer;
    case socket_type::channel: return socket_type::channel;
    default: return socket_type::dealer;
    }
}

// A step that carries only the connection name of `s`.
step on_same(const step& s, std::string op)
{
    step t;
    t.op = std::move(op);
    t.text = t.op + "()";
    if (s.has("on"))
        t.args["on"] = s.get("on");
    if (s.has("ms"))
        t.args["ms"] = s.get("ms");
    return t;
}

} // namespace

// Sends `bytes` whole or, with pieces=N, in N writes pause_ms apart (a
// peer must not depend on how the transport cuts the stream).
void runner::send_pieces(session& c, std::span<const std::byte> bytes, const step& s)
{
    const auto pieces = static_cast<std::size_t>(std::max<long long>(1, s.number("pieces", 1)));
    const auto pause = ms(s.number("pause_ms", 5));
    const std::size_t step_size = std::max<std::size_t>(1, (bytes.size() + pieces - 1) / pieces);
    for (std::size_t at = 0; at < bytes.size(); at += step_size) {
        if (at > 0)
            std::this_thread::sleep_for(pause);
        if (c.send(bytes.subspan(at, std::min(step_size, bytes.size() - at)), deadline(s)) != raw_stream::status::ok)
            return;
    }
}

runner::outcome runner::op_greeting(const step& s)
{
    auto& c = conn(s);
    wire::greeting g;
    g.major = static_cast<std::uint8_t>(s.number("major", 3));
    g.minor = static_cast<std::uint8_t>(s.number("minor", 1));
    if (c.mechanism) {
        g.mechanism = std::string(c.mechanism->name());
        g.as_server = c.mechanism->as_server();
    }
    auto bytes = wire::encode_greeting(g);
    if (s.has("mechanism")) {
        const auto name = s.get("mechanism");
        std::fill(bytes.begin() + 12, bytes.begin() + 32, std::byte{0});
        std::transform(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(name.size(), 20)),
                       bytes.begin() + 12, [](char ch) { return static_cast<std::byte>(ch); });
    }
    if (s.has("server"))
        bytes[32] = static_cast<std::byte>(s.number("server", 0));
    if (s.has("padding_hex")) {
        const auto pad = from_hex(s.get("padding_hex"));
        std::copy_n(pad.begin(), std::min<std::size_t>(pad.size(), 8), bytes.begin() + 1);
    }
    const auto length = std::min(static_cast<std::size_t>(s.number("length", 64)), bytes.size());
    const auto skip = std::min(static_cast<std::size_t>(s.number("skip", 0)), length);
    send_pieces(c, std::span(bytes).subspan(skip, length - skip), s);
    return outcome::next();
}

runner::outcome runner::op_expect_greeting(const step& s)
{
    auto& c = conn(s);
    std::vector<std::byte> bytes;
    const auto r = c.read_exact(wire::greeting_size, bytes, deadline(s));
    if (r.state == read_result::status::closed)
        return outcome::fail("the peer closed before its greeting was complete " + r.evidence);
    if (r.state == read_result::status::timeout)
        return outcome::fail("no complete greeting within " + s.get("ms", std::to_string(cfg_.timeout.count())) + " ms");
    const auto parsed = wire::parse_greeting(bytes);
    if (parsed.state != wire::greeting_result::status::complete)
        return outcome::fail("invalid greeting " + hex(bytes, 16) + ": " + parsed.error.message());
    const auto& g = parsed.value;
    c.peer_greeting = g;
    const std::string seen = "greeting " + std::to_string(g.major) + "." + std::to_string(g.minor) + " " +
                             g.mechanism + " as-server=" + (g.as_server ? "1" : "0");
    if (s.has("major") && g.major != s.number("major", 3))
        return outcome::fail(seen + ", expected major " + s.get("major"));
    if (s.has("minor") && g.minor != s.number("minor", 0))
        return outcome::fail(seen + ", expected minor " + s.get("minor"));
    if (s.has("minor_min") && g.major == 3 && g.minor < s.number("minor_min", 0))
        return outcome::fail(seen + ", expected minor " + s.get("minor_min") + " or above");
    if (s.has("mechanism")) {
        // `own`: the mechanism the tool itself speaks.
        const auto expected = s.get("mechanism") != "own" ? s.get("mechanism")
                              : c.mechanism ? std::string(c.mechanism->name()) : std::string("NULL");
        if (g.mechanism != expected)
            return outcome::fail(seen + ", expected " + expected);
    }
    if (s.has("server") && g.as_server != (s.number("server", 0) != 0))
        return outcome::fail(seen + ", expected as-server=" + s.get("server"));
    if (s.has("filler_zero") && std::any_of(bytes.begin() + 33, bytes.end(), [](std::byte b) { return b != std::byte{0}; }))
        return outcome::fail(seen + ", filler not zero: " + hex(std::span(bytes).subspan(33)));
    if (s.has("padding_zero") && std::any_of(bytes.begin() + 12 + static_cast<std::ptrdiff_t>(g.mechanism.size()),
                                             bytes.begin() + 32, [](std::byte b) { return b != std::byte{0}; }))
        return outcome::fail(seen + ", mechanism not zero-padded");
    return outcome::next(seen);
}

runner::outcome runner::op_expect_bytes(const step& s)
{
    auto& c = conn(s);
    const auto expected = bytes_of(s);
    std::vector<std::byte> bytes;
    const auto count = static_cast<std::size_t>(s.number("count", static_cast<long long>(expected.size())));
    const auto r = c.read_exact(count, bytes, deadline(s));
    if (r.state != read_result::status::ok)
        return outcome::fail(std::string(r.state == read_result::status::closed ? "closed" : "timed out") +
                             " before " + std::to_string(count) + " octets arrived");
    if (!expected.empty() && !std::equal(expected.begin(), expected.end(), bytes.begin()))
        return outcome::fail("got " + hex(bytes) + ", expected " + hex(expected));
    return outcome::next("got " + hex(bytes, 16));
}

namespace {

std::optional<socket_type> peer_or_config(const session& c, const config& cfg)
{
    if (const auto t = c.peer_properties.find("Socket-Type"))
        if (const auto parsed = socket_type_from_wire(*t))
            return parsed;
    return cfg.peer_type;
}

} // namespace

runner::outcome runner::op_ready(const step& s)
{
    auto& c = conn(s);
    const auto peer = peer_or_config(c, cfg_);
    std::string type = s.get("type", "auto");
    if (type == "auto" || type == "peer") {
        if (!peer)
            return outcome::na("the peer's socket type is unknown (give --type)");
        type = std::string(to_string(type == "auto" ? partner(*peer) : *peer));
    }
    metadata m;
    c.announced = socket_type_from_wire(type);
    if (s.get("case") == "lower")
        std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (type != "none")
        m.add(s.get("type_name", "Socket-Type"), type);
    if (s.has("identity"))
        m.add("Identity", s.get("identity"));
    else if (c.announced && announces_identity(*c.announced))
        m.add("Identity", "");
    if (s.has("props"))
        for (const auto& kv : split(s.get("props"), ';')) {
            const auto eq = kv.find('=');
            m.add(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
        }
    std::vector<std::byte> data;
    wire::encode_metadata(m, data);
    const auto raw = bytes_of(s, "extra_");
    data.insert(data.end(), raw.begin(), raw.end());
    std::vector<std::byte> out;
    wire::append_command(out, s.get("name", "READY"), data);
    if (s.number("long", 0) != 0) {
        // The same command with an 8-octet size (RFC 37 says SHOULD use the
        // short form, so a receiver must accept both).
        const auto h = wire::parse_frame_header(out).value;
        std::vector<std::byte> body(out.begin() + static_cast<std::ptrdiff_t>(h.header_size), out.end());
        out = {std::byte{0x06}};
        for (int i = 7; i >= 0; --i)
            out.push_back(static_cast<std::byte>(body.size() >> (8 * i)));
        out.insert(out.end(), body.begin(), body.end());
    }
    if (s.has("flags"))
        out[0] = from_hex(s.get("flags")).at(0);
    send_pieces(c, out, s);
    return outcome::next();
}

runner::outcome runner::op_expect_ready(const step& s)
{
    auto& c = conn(s);
    frame f;
    const auto r = c.read_frame(f, deadline(s));
    if (r.state == read_result::status::closed)
        return outcome::fail("the peer closed instead of sending READY " + r.evidence);
    if (r.state == read_result::status::timeout)
        return outcome::fail("no READY within " + s.get("ms", std::to_string(cfg_.timeout.count())) + " ms");
    if (r.state == read_result::status::invalid)
        return outcome::fail(r.evidence);
    wire::command_view cmd;
    if (!f.command || wire::parse_command(f.body, cmd))
        return outcome::fail("expected READY, got a " + std::string(f.command ? "malformed command " : "data frame ") + hex(f.body, 16));
    if (cmd.name != "READY")
        return outcome::fail("expected READY, got " + std::string(cmd.name) +
                             (c.error_reason.empty() ? "" : " '" + c.error_reason + "'"));
    metadata props;
    if (const auto ec = wire::parse_metadata(cmd.data, 256, props))
        return outcome::fail("READY metadata does not parse: " + hex(cmd.data));
    c.peer_properties = props;
    const auto type = props.find("Socket-Type");
    if (!type)
        return outcome::fail("READY has no Socket-Type");
    std::string seen = "READY Socket-Type=" + std::string(*type);
    if (const auto id = props.find("Identity"))
        seen += " Identity='" + std::string(*id) + "'";
    if (!socket_type_from_wire(*type))
        return outcome::fail(seen + ": not a socket type");
    if (s.has("type") && *type != s.get("type"))
        return outcome::fail(seen + ", expected " + s.get("type"));
    if (s.has("no_identity") && props.find("Identity"))
        return outcome::fail(seen + ": Identity from a type that has no routing id");
    return outcome::next(seen);
}

runner::outcome runner::op_handshake(const step& s)
{
    auto& c = conn(s);
    if (auto o = op_greeting(s); o.state != outcome::kind::next)
        return o;
    if (auto o = op_expect_greeting(on_same(s, "expect_greeting")); o.state != outcome::kind::next)
        return o;
    if (!c.mechanism) {
        if (auto o = op_ready(s); o.state != outcome::kind::next)
            return o;
        return op_expect_ready(on_same(s, "expect_ready"));
    }
    return run_mechanism(c, s);
}

// The PLAIN or CURVE handshake after the greetings.
runner::outcome runner::run_mechanism(session& c, const step& s)
{
    const auto peer = peer_or_config(c, cfg_);
    // A server announces its type after the client's, which the probe
    // learns this way (the connection ends before the type matters).
    if (!peer && !cfg_.bind)
        return outcome::na("the peer's socket type is unknown (give --type)");
    const auto mine = peer ? partner(*peer) : socket_type::dealer;
    metadata local;
    local.add("Socket-Type", std::string(to_string(mine)));
    if (announces_identity(mine))
        local.add("Identity", s.get("identity"));
    c.announced = mine;
    std::vector<std::byte> out;
    c.mechanism->start(local, out);
    c.send(out, deadline(s));
    using status = security::mechanism::status;
    while (c.mechanism->state() == status::in_progress || c.mechanism->state() == status::authenticating) {
        out.clear();
        if (c.mechanism->state() == status::authenticating) {
            c.mechanism->on_auth_result(security::auth_result::accept(), out);
        } else {
            frame f;
            const auto r = c.read_frame(f, deadline(s));
            if (r.state != read_result::status::ok)
                return outcome::fail(std::string(c.mechanism->name()) + " handshake: " +
                                     (r.state == read_result::status::closed ? "the peer closed " + r.evidence
                                      : r.state == read_result::status::timeout ? "timed out" : r.evidence));
            if (!f.command)
                return outcome::fail("a data frame during the handshake");
            c.mechanism->on_command(f.body, out);
        }
        c.send(out, deadline(s));
    }
    if (c.mechanism->state() != status::ready)
        return outcome::fail(std::string(c.mechanism->name()) + " handshake failed: " + c.mechanism->reason());
    c.sealed = c.mechanism->seals_traffic();
    c.peer_properties = c.mechanism->peer_metadata();
    const auto type = c.peer_properties.find("Socket-Type");
    return outcome::next(std::string(c.mechanism->name()) + " handshake done, Socket-Type=" +
                         std::string(type.value_or("(none)")));
}

runner::outcome runner::op_mechanism(const step& s)
{
    auto& c = conn(s);
    if (!c.mechanism)
        return outcome::na("needs a security mechanism (--plain-* or --curve-*)");
    const auto action = s.get("action", "start");
    std::vector<std::byte> out;
    if (action == "start") {
        const auto peer = peer_or_config(c, cfg_);
        metadata local;
        local.add("Socket-Type", std::string(to_string(peer ? partner(*peer) : socket_type::dealer)));
        c.mechanism->start(local, out);
    } else if (action == "reply") {
        frame f;
        const auto r = c.read_frame(f, deadline(s));
        if (r.state != read_result::status::ok)
            return outcome::fail("no handshake command from the peer " + r.evidence);
        c.mechanism->on_command(f.body, out);
        if (c.mechanism->state() == security::mechanism::status::failed)
            return outcome::fail("the peer's handshake command was refused: " + c.mechanism->reason());
    } else if (action == "replay") {
        out = c.last_sent;
    } else {
        throw catalogue_error("step '" + s.text + "': action is start, reply or replay");
    }
    c.last_sent = out;
    if (s.has("flip")) {
        const auto at = static_cast<std::size_t>(s.number("flip", 0));
        if (at < out.size())
            out[at] ^= std::byte{0x01};
    }
    if (s.has("cut") && !out.empty()) {
        const auto h = wire::parse_frame_header(out).value;
        const auto cut = std::min<std::size_t>(static_cast<std::size_t>(s.number("cut", 0)), h.size);
        std::vector<std::byte> body(out.begin() + static_cast<std::ptrdiff_t>(h.header_size),
                                    out.begin() + static_cast<std::ptrdiff_t>(h.header_size + h.size - cut));
        out.resize(wire::max_frame_header_size);
        out.resize(wire::encode_frame_header(out.data(), false, true, body.size()));
        out.insert(out.end(), body.begin(), body.end());
    }
    c.send(out, deadline(s));
    return outcome::next();
}

// A ZMTP 2.0 greeting (RFC 15): signature, revision 01, our socket-type
// octet, and an empty identity frame.
runner::outcome runner::op_legacy_greeting(const step& s)
{
    auto& c = conn(s);
    const auto peer = peer_or_config(c, cfg_);
    const auto octet = wire::v2_socket_type_octet(peer ? partner(*peer) : socket_type::dealer);
    if (!octet)
        return outcome::na("the peer's type has no ZMTP 2.0 form");
    // The padding octets are 1 + the identity's length, as libzmq sends them.
    std::vector<std::byte> bytes{std::byte{0xff}, {}, {}, {}, {}, {}, {}, {}, std::byte{0x01}, std::byte{0x7f},
                                 std::byte{0x01}, std::byte{*octet}, std::byte{0x00}, std::byte{0x00}};
    send_pieces(c, bytes, s);
    return outcome::next();
}

// The peer's ZMTP 2.0 greeting and identity frame. A ZMTP 3 peer that
// serves 2.0 peers sends its own major version in the revision octet.
runner::outcome runner::op_expect_legacy_greeting(const step& s)
{
    auto& c = conn(s);
    std::vector<std::byte> g, header, identity;
    auto r = c.read_exact(wire::v2_greeting_size, g, deadline(s));
    if (r.state == read_result::status::ok)
        r = c.read_exact(2, header, deadline(s));
    if (r.state != read_result::status::ok)
        return outcome::fail(std::string(r.state == read_result::status::closed ? "the peer closed" : "timed out") +
                             " before its ZMTP 2.0 greeting and identity arrived");
    if (wire::classify_signature(g) != wire::signature_kind::versioned || g[10] == std::byte{0})
        return outcome::fail("not a ZMTP 2.0 greeting: " + hex(g));
    const auto type = wire::socket_type_from_v2(std::to_integer<std::uint8_t>(g[11]));
    if (!type)
        return outcome::fail("unknown ZMTP 2.0 socket-type octet in " + hex(g));
    if (header[0] != std::byte{0})
        return outcome::fail("the identity frame's flags are " + hex(header) + ", expected 00 (final, short)");
    if (c.read_exact(std::to_integer<std::size_t>(header[1]), identity, deadline(s)).state != read_result::status::ok)
        return outcome::fail("the identity frame was cut short");
    c.peer_properties.add("Socket-Type", std::string(to_string(*type)));
    return outcome::next("ZMTP 2.0 greeting, revision " + std::to_string(std::to_integer<int>(g[10])) + ", " +
                         std::string(to_string(*type)) + ", identity '" + printable(identity) + "'");
}

} // namespace zmtp::spec
