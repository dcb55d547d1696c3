// SPDX-License-Identifier: MPL-2.0
#include "spec_runner.hpp"

#include "zmtp/codec/zws.hpp"
#include "zmtp/security/mechanism_factory.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"
#include "zmtp/wire/legacy.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <thread>

namespace zmtp::spec {

std::string_view to_string(verdict v) noexcept
{
    switch (v) {
    case verdict::pass: return "PASS";
    case verdict::fail: return "FAIL";
    case verdict::na: return "N/A";
    }
    return "?";
}

namespace {

using ms = std::chrono::milliseconds;

std::vector<std::byte> vector_bytes(const nlohmann::json& j)
{
    if (j.is_string())
        return from_hex(j.get<std::string>());
    if (j.is_array()) {
        std::vector<std::byte> out;
        for (const auto& part : j) {
            const auto b = vector_bytes(part);
            out.insert(out.end(), b.begin(), b.end());
        }
        return out;
    }
    if (j.contains("hex"))
        return from_hex(j.at("hex").get<std::string>());
    if (j.contains("text"))
        return from_text(j.at("text").get<std::string>());
    throw catalogue_error("unsupported byte form in a vector: " + j.dump());
}

} // namespace

std::string not_applicable(const test_case& c, const config& cfg)
{
    if (c.mode != "any" && (c.mode == "bind") != cfg.bind)
        return c.mode == "bind" ? "tests clients (--bind)" : "tests servers (--connect)";
    if (c.ws_only && !cfg.endpoint.websocket)
        return "a ZWS case: for ws:// and wss:// endpoints";
    if (cfg.endpoint.websocket && !c.ws.empty())
        return "over ZWS: " + c.ws;
    if (cfg.zmtp2 && !c.zmtp2)
        return "a ZMTP 3 case: the peer speaks ZMTP 2.0 only (RFC 15)";
    if (!c.mechanisms.empty() &&
        std::find(c.mechanisms.begin(), c.mechanisms.end(), cfg.mechanism) == c.mechanisms.end())
        return "not for mechanism " + cfg.mechanism;
    if (!c.peers.empty() || !c.not_peers.empty()) {
        if (!cfg.peer_type)
            return "peer type unknown (give --type)";
        const auto name = std::string(to_string(*cfg.peer_type));
        if ((!c.peers.empty() && std::find(c.peers.begin(), c.peers.end(), name) == c.peers.end()) ||
            std::find(c.not_peers.begin(), c.not_peers.end(), name) != c.not_peers.end())
            return "not for a " + name + " peer";
    }
    return {};
}

runner::runner(const config& cfg, net::io_context& io, listener* l) : cfg_(cfg), io_(io), listener_(l) {}
runner::~runner() = default;

clock::time_point runner::deadline(const step& s) const
{
    return clock::now() + ms(s.number("ms", cfg_.timeout.count()));
}

std::vector<std::byte> runner::bytes_of(const step& s, const std::string& prefix) const
{
    std::vector<std::byte> out;
    if (s.has(prefix + "hex"))
        out = from_hex(s.get(prefix + "hex"));
    if (s.has(prefix + "text")) {
        const auto t = from_text(s.get(prefix + "text"));
        out.insert(out.end(), t.begin(), t.end());
    }
    if (s.has(prefix + "fill"))
        out.resize(out.size() + static_cast<std::size_t>(s.number(prefix + "fill", 0)), std::byte{'x'});
    return out;
}

session& runner::conn(const step& s)
{
    const auto name = s.get("on", "a");
    const auto it = conns_.find(name);
    if (it == conns_.end())
        throw catalogue_error("step '" + s.text + "': no connection '" + name + "' (open it first)");
    return *it->second;
}

runner::outcome runner::open(const std::string& name)
{
    const auto until = clock::now() + cfg_.timeout * 4;
    std::unique_ptr<raw_stream> stream;
    if (cfg_.bind) {
        std::string why;
        stream = listener_->accept(until, why);
        if (!stream)
            return outcome::fail(why + " (waited " + std::to_string((cfg_.timeout * 4).count()) + " ms)");
    } else {
        stream = std::make_unique<raw_stream>(io_);
        if (const auto ec = stream->connect(cfg_.endpoint, until, cfg_.tls))
            return outcome::fail("cannot connect: " + ec.message());
    }
    auto s = std::make_unique<session>(std::move(stream));
    if (const auto factory = security::mechanism_factory_for(cfg_.security))
        s->mechanism = factory();
    if (cfg_.endpoint.websocket) {
        const bool peer_as_server = s->mechanism && !s->mechanism->as_server();
        if (const auto why = s->stream().upgrade(cfg_.bind, cfg_.endpoint, zws_offer(cfg_.mechanism),
                                                 cfg_.mechanism, peer_as_server, until);
            !why.empty())
            return outcome::fail(why);
    }
    conns_[name] = std::move(s);
    return outcome::next();
}

probe_result runner::probe()
{
    probe_result p;
    conns_.clear();
    const auto fail = [&](std::string why) {
        conns_.clear();
        p.why = std::move(why);
        return p;
    };
    if (auto o = open("a"); o.state != outcome::kind::next)
        return fail(o.evidence);
    auto& a = *conns_["a"];
    // The signature and major version first, as libzmq sends them: a ZMTP
    // 2.0 peer answers with its revision and type before it could misread
    // the rest of a ZMTP 3 greeting.
    exec(parse_step("greeting(length=11)"));
    std::vector<std::byte> head;
    if (a.peek(11, head, clock::now() + cfg_.timeout).state != read_result::status::ok)
        return fail("no greeting from the peer");
    if (wire::classify_signature(head) == wire::signature_kind::versioned && std::to_integer<int>(head[10]) < 3) {
        if (a.peek(wire::v2_greeting_size, head, clock::now() + cfg_.timeout).state != read_result::status::ok)
            return fail("the peer's ZMTP 2.0 greeting was cut short");
        p.zmtp2 = true;
        p.type = wire::socket_type_from_v2(std::to_integer<std::uint8_t>(head[11]));
        conns_.clear();
        return p;
    }
    for (const auto* text : {"greeting(skip=11)", "expect_greeting()"})
        if (auto o = exec(parse_step(text)); o.state != outcome::kind::next)
            return fail(o.evidence);
    if (a.mechanism) {
        if (!cfg_.bind)
            return fail("a PLAIN or CURVE client cannot learn the server's type (give --type)");
        if (auto o = run_mechanism(a, parse_step("handshake()")); o.state != outcome::kind::next)
            return fail(o.evidence);
    } else {
        frame f;
        wire::command_view cmd;
        if (const auto r = a.read_frame(f, clock::now() + cfg_.timeout); r.state != read_result::status::ok ||
            !f.command || wire::parse_command(f.body, cmd) || cmd.name != "READY")
            return fail("the peer sent no READY before ours (give --type)");
        if (wire::parse_metadata(cmd.data, 256, a.peer_properties))
            return fail("the peer's READY does not parse");
    }
    const auto type = a.peer_properties.find("Socket-Type");
    if (!type || !socket_type_from_wire(*type))
        return fail("the peer's READY names no known Socket-Type");
    p.type = socket_type_from_wire(*type);
    conns_.clear();
    return p;
}

result runner::run(const test_case& c)
{
    const auto start = clock::now();
    result r{&c, verdict::pass, {}, {}, 0};
    conns_.clear();
    const auto finish = [&](verdict v, std::string evidence) {
        r.outcome = v;
        r.evidence = std::move(evidence);
        if (std::any_of(conns_.begin(), conns_.end(), [](const auto& c) { return c.second->stream().not_zws(); })) {
            r.outcome = verdict::na;
            r.evidence = "the case sends bytes that are not ZMTP frames: ZWS cannot carry them";
        }
        if (conns_.contains("a"))
            r.transcript = conns_["a"]->stream().transcript();
        conns_.clear();
        r.seconds = std::chrono::duration<double>(clock::now() - start).count();
        return r;
    };
    if (auto o = open("a"); o.state != outcome::kind::next)
        return finish(verdict::fail, o.evidence);
    std::string last;
    for (const auto& s : c.steps) {
        outcome o;
        try {
            o = exec(s);
        } catch (const catalogue_error&) {
            throw;
        } catch (const std::exception& e) {
            // A bad value in a step (hex, number) is the catalogue's fault.
            throw catalogue_error("case " + c.id + ", step '" + s.text + "': " + e.what());
        }
        if (o.state == outcome::kind::fail)
            return finish(verdict::fail, s.op + ": " + o.evidence);
        if (o.state == outcome::kind::na)
            return finish(verdict::na, o.evidence);
        if (!o.evidence.empty())
            last = o.evidence;
    }
    if (std::any_of(conns_.begin(), conns_.end(), [](const auto& n) { return n.second->stream().not_zws(); }))
        return finish(verdict::na, {});
    if (c.recheck && !cfg_.bind) {
        auto transcript = conns_.contains("a") ? conns_["a"]->stream().transcript() : std::vector<chunk>{};
        conns_.clear();
        outcome o = open("a");
        static const std::vector<std::string> legacy{"legacy_greeting()", "expect_legacy_greeting()"}, zmtp3{"handshake()"};
        for (const auto& text : cfg_.zmtp2 ? legacy : zmtp3)
            if (o.state == outcome::kind::next)
                o = exec(parse_step(text));
        if (o.state != outcome::kind::next)
            return finish(verdict::fail, last + "; then a second connection failed: " + o.evidence);
        last += "; a second connection was served";
        conns_.clear();
        r.transcript = std::move(transcript);
        r.outcome = verdict::pass;
        r.evidence = last;
        r.seconds = std::chrono::duration<double>(clock::now() - start).count();
        return r;
    }
    return finish(verdict::pass, last.empty() ? "all steps done" : last);
}

runner::outcome runner::exec(const step& s)
{
    if (s.op == "open")
        return open(s.get("on", "b"));
    if (s.op == "close") {
        conns_.erase(s.get("on", "a"));
        return outcome::next();
    }
    if (s.op == "wait") {
        std::this_thread::sleep_for(ms(s.number("ms", 100)));
        return outcome::next();
    }
    if (s.op == "send") {
        send_pieces(conn(s), bytes_of(s), s);
        return outcome::next();
    }
    if (s.op == "ws_message") {
        conn(s).stream().send_message(bytes_of(s), s.get("text") == "1", deadline(s));
        return outcome::next();
    }
    if (s.op == "expect_upgrade_refused")
        return op_expect_upgrade_refused(s);
    if (s.op == "replay_message") {
        auto& c = conn(s);
        c.send(c.last_frame, deadline(s));
        return outcome::next();
    }
    if (s.op == "send_vector") {
        std::ifstream in(cfg_.vectors + "/" + s.get("file") + ".json");
        const auto doc = nlohmann::json::parse(in, nullptr, false);
        if (doc.is_discarded())
            throw catalogue_error("step '" + s.text + "': cannot read the vector file");
        for (const auto& v : doc.at("vectors"))
            if (v.at("name") == s.get("name")) {
                conn(s).send(vector_bytes(v.at("input")), deadline(s));
                return outcome::next();
            }
        throw catalogue_error("step '" + s.text + "': no such vector");
    }
    if (s.op == "command") {
        std::vector<std::byte> out;
        wire::append_command(out, s.get("name"), bytes_of(s));
        conn(s).send(out, deadline(s));
        return outcome::next();
    }
    if (s.op == "ping" || s.op == "pong" || s.op == "subscribe" || s.op == "cancel" || s.op == "join" ||
        s.op == "leave") {
        auto& c = conn(s);
        const auto data = bytes_of(s);
        std::vector<std::byte> out;
        if (s.op == "ping")
            wire::append_ping(out, static_cast<std::uint16_t>(s.number("ttl", 0)), data);
        else if (s.get("form") == "data") {
            std::vector<std::byte> body{std::byte{s.op == "subscribe" ? std::uint8_t{1} : std::uint8_t{0}}};
            body.insert(body.end(), data.begin(), data.end());
            c.send_frame(false, false, body, deadline(s));
            return outcome::next();
        } else {
            static const std::map<std::string, std::string, std::less<>> names = {
                {"pong", "PONG"}, {"subscribe", "SUBSCRIBE"}, {"cancel", "CANCEL"},
                {"join", "JOIN"}, {"leave", "LEAVE"}};
            wire::append_command(out, names.at(s.op), data);
        }
        // The command's body, sealed when CURVE protects the traffic.
        const auto header = wire::parse_frame_header(out).value.header_size;
        c.send_frame(false, true, std::span(out).subspan(header), deadline(s));
        return outcome::next();
    }
    using handler = outcome (runner::*)(const step&);
    static const std::map<std::string, handler, std::less<>> ops = {
        {"greeting", &runner::op_greeting},
        {"expect_greeting", &runner::op_expect_greeting},
        {"expect_bytes", &runner::op_expect_bytes},
        {"ready", &runner::op_ready},
        {"expect_ready", &runner::op_expect_ready},
        {"handshake", &runner::op_handshake},
        {"legacy_greeting", &runner::op_legacy_greeting},
        {"expect_legacy_greeting", &runner::op_expect_legacy_greeting},
        {"mechanism", &runner::op_mechanism},
        {"frame", &runner::op_frame},
        {"message", &runner::op_message},
        {"expect_close", &runner::op_expect_close},
        {"expect_open", &runner::op_expect_open},
        {"expect_command", &runner::op_expect_command},
        {"expect_message", &runner::op_expect_message},
        {"expect_no_message", &runner::op_expect_no_message},
        {"expect_messages", &runner::op_expect_messages},
        {"drain", &runner::op_drain},
    };
    const auto it = ops.find(s.op);
    if (it == ops.end())
        throw catalogue_error("unknown step op '" + s.op + "'");
    return (this->*(it->second))(s);
}

} // namespace zmtp::spec

namespace zmtp::spec {

// A request offering `offer` (no ZWS subprotocol): the server must not
// upgrade it, as it could not tell which mechanism runs.
runner::outcome runner::op_expect_upgrade_refused(const step& s)
{
    raw_stream stream(io_);
    const auto until = deadline(s);
    if (const auto ec = stream.connect(cfg_.endpoint, until, cfg_.tls))
        return outcome::fail("cannot connect: " + ec.message());
    const auto offer = s.get("offer");
    const auto why = stream.upgrade(false, cfg_.endpoint, offer, cfg_.mechanism, false, until);
    if (stream.upgraded())
        return outcome::fail("the server upgraded a request offering '" + offer + "'" +
                             (why.empty() ? std::string() : ": " + why));
    return outcome::next(why);
}

} // namespace zmtp::spec
