// SPDX-License-Identifier: MPL-2.0
// Transcript vectors through a zmtp::codec: the peer's bytes go in, local
// calls (send, subscribe, cancel) and clock steps happen between them, and
// the events, the bytes written, the final state and the error must match.
// Every transcript is run whole, then ground: split at every offset of the
// peer's bytes and byte by byte (test/support/grind.hpp).
#include <doctest/doctest.h>

#include "grind.hpp"
#include "vectors.hpp"

#include "zmtp/codec/codec.hpp"
#include "zmtp/security/curve_keys.hpp"
#include "zmtp/security/curve_mechanism.hpp"
#include "zmtp/security/plain_mechanism.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

namespace zmtp::test {
namespace {

using namespace std::chrono_literals;

// A fixed, arbitrary instant: nothing may depend on the real clock.
const codec::time_point t0 = codec::time_point{} + 1000h;

struct recorded_event {
    std::string kind;
    std::vector<std::string> parts;
    std::int64_t ttl_ms = -1;
    friend bool operator==(const recorded_event&, const recorded_event&) = default;
};

std::string describe(const recorded_event& e)
{
    std::string s = e.kind + "(";
    for (std::size_t i = 0; i < e.parts.size(); ++i)
        s += (i ? ", " : "") + to_hex(e.parts[i], 24);
    if (e.ttl_ms >= 0)
        s += "; ttl " + std::to_string(e.ttl_ms) + " ms";
    return s + ")";
}

std::string describe(const std::vector<recorded_event>& events)
{
    std::string s = "[";
    for (const auto& e : events)
        s += " " + describe(e);
    return s + " ]";
}

struct step {
    enum class kind { peer, send, subscribe, cancel, advance, authenticate };
    kind what = kind::peer;
    std::string bytes;               // peer, subscribe, cancel
    std::vector<std::string> frames; // send
    std::chrono::milliseconds advance{0};
    std::string expected_result;     // error name of a local call; "" = success
    std::size_t offset = 0;          // peer: where these bytes start in all the peer's bytes
    std::string expected_request;    // authenticate: what the mechanism must have asked
    security::auth_result answer;    // authenticate
};

struct transcript {
    codec_options options;
    std::vector<step> steps;
    std::size_t peer_bytes = 0;
    // expected
    std::vector<recorded_event> events;
    std::string output;
    std::string state;
    std::string error;
    int peer_minor = -1; // -1: not checked
    std::string peer_version; // empty: not checked
};

struct outcome {
    std::vector<recorded_event> events;
    std::string output;
    std::string state;
    std::string error;
    int peer_minor = -1;
    std::string peer_version;
    std::vector<std::string> call_results; // one per local call step
    std::vector<std::string> auth_requests; // one per authenticate step ("" when none was asked)
    std::string trouble;                   // misbehaviour seen by the driver itself

    friend bool operator==(const outcome&, const outcome&) = default;
};

// ---------------------------------------------------------------- reading

void require_keys(const json& obj, std::initializer_list<std::string_view> allowed, const char* where)
{
    for (const auto& [key, value] : obj.items()) {
        (void)value;
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            throw vector_error(std::string("unknown key \"") + key + "\" in " + where);
    }
}

// "mechanism": {"name": "PLAIN", "role": "client"|"server", ...}
std::function<std::unique_ptr<security::mechanism>()> mechanism_of(const json& m, std::size_t max_properties)
{
    const std::string name = m.at("name").get<std::string>();
    const std::string role = m.at("role").get<std::string>();
    if (role != "client" && role != "server")
        throw vector_error("mechanism role must be client or server, not " + role);
    if (name == "PLAIN") {
        require_keys(m, {"name", "role", "username", "password"}, "PLAIN mechanism");
        if (role == "server")
            return [max_properties] { return std::make_unique<security::plain_server_mechanism>(max_properties); };
        const std::string username = m.value("username", std::string());
        const std::string password = m.value("password", std::string());
        return [=] { return std::make_unique<security::plain_client_mechanism>(username, password, max_properties); };
    }
    if (name == "CURVE") {
        require_keys(m, {"name", "role", "public_key", "secret_key", "server_key", "random"}, "CURVE mechanism");
        auto key = [&](const char* field) {
            const auto k = security::curve_key_from_z85(m.at(field).get<std::string>());
            if (!k)
                throw vector_error(std::string("CURVE ") + field + " is not 40 Z85 characters");
            return *k;
        };
        security::curve_key_pair pair;
        pair.secret_key = security::curve_secret_key(key("secret_key"));
        pair.public_key = key("public_key");
        if (pair.secret_key.public_key() != pair.public_key)
            throw vector_error("CURVE public_key does not belong to secret_key");
        // The mechanism's randomness, served in order: the vector gives all it takes.
        const std::string random = m.contains("random") ? bytes_of(m["random"]) : std::string();
        auto rng = [random] {
            return security::random_source([random, used = std::size_t{0}](std::span<std::byte> out) mutable {
                if (out.size() > random.size() - used)
                    throw vector_error("CURVE \"random\" holds too few octets");
                std::memcpy(out.data(), random.data() + used, out.size());
                used += out.size();
            });
        };
        if (role == "server") {
            if (m.contains("server_key"))
                throw vector_error("a CURVE server takes no server_key");
            return [=] { return std::make_unique<security::curve_server_mechanism>(pair, max_properties, rng()); };
        }
        const auto server_key = key("server_key");
        return [=] {
            return std::make_unique<security::curve_client_mechanism>(pair, server_key, max_properties, rng());
        };
    }
    throw vector_error("unknown mechanism " + name);
}

// What an authentication request carried, as compared with an authenticate step's "expect".
std::string describe(const security::auth_request& r)
{
    std::string s = r.mechanism + " username '" + r.username + "' password '" + r.password + "'";
    if (r.client_key)
        s += " client_key " + security::curve_key_to_z85(*r.client_key);
    for (const auto& p : r.peer)
        s += " peer " + p.name + "=" + to_hex(p.value);
    return s;
}

constexpr zmtp_version all_versions[] = {zmtp_version::v1_0, zmtp_version::v2_0, zmtp_version::v3_0,
                                         zmtp_version::v3_1};

std::string version_text(zmtp_version v)
{
    const int n = static_cast<int>(v);
    return n <= 2 ? std::to_string(n) + ".0" : "3." + std::to_string(n - 3);
}

std::optional<zmtp_version> version_of(const std::string& text)
{
    for (const auto v : all_versions)
        if (version_text(v) == text)
            return v;
    return std::nullopt;
}

codec_options options_of(const json& local)
{
    require_keys(local,
                 {"socket_type", "routing_id", "properties", "limits", "heartbeat", "handshake_timeout_ms",
                  "mechanism", "min_zmtp_version", "transport_authenticated"},
                 "local");
    codec_options o;
    const auto type = socket_type_from_name(local.at("socket_type").get<std::string>());
    if (!type)
        throw vector_error("unknown socket type " + local["socket_type"].dump());
    o.type = *type;
    o.routing_id = local.value("routing_id", std::string());
    if (local.contains("properties"))
        for (const json& p : local["properties"])
            o.properties.add(p.at("name").get<std::string>(), p.at("value").get<std::string>());
    if (local.contains("limits")) {
        const json& l = local["limits"];
        require_keys(l, {"max_message_size", "max_frames", "max_command_size", "max_properties", "max_preallocation"},
                     "limits");
        o.limits.max_message_size = l.value("max_message_size", o.limits.max_message_size);
        o.limits.max_frames = l.value("max_frames", o.limits.max_frames);
        o.limits.max_command_size = l.value("max_command_size", o.limits.max_command_size);
        o.limits.max_properties = l.value("max_properties", o.limits.max_properties);
        o.limits.max_preallocation = l.value("max_preallocation", o.limits.max_preallocation);
    }
    if (local.contains("heartbeat")) {
        const json& h = local["heartbeat"];
        require_keys(h, {"interval_ms", "ttl_ms", "timeout_ms"}, "heartbeat");
        o.heartbeat.interval = std::chrono::milliseconds(h.value("interval_ms", 0));
        o.heartbeat.ttl = std::chrono::milliseconds(h.value("ttl_ms", 0));
        o.heartbeat.timeout = std::chrono::milliseconds(h.value("timeout_ms", 0));
    }
    if (local.contains("handshake_timeout_ms"))
        o.handshake_timeout = std::chrono::milliseconds(local["handshake_timeout_ms"].get<std::int64_t>());
    if (local.contains("mechanism"))
        o.mechanism = mechanism_of(local["mechanism"], o.limits.max_properties);
    if (local.contains("min_zmtp_version")) {
        const auto text = local["min_zmtp_version"].get<std::string>();
        const auto v = version_of(text);
        if (!v)
            throw vector_error("unknown ZMTP version " + text);
        o.min_zmtp_version = *v;
    }
    o.transport_authenticated = local.value("transport_authenticated", false);
    return o;
}

recorded_event expected_event(const json& e)
{
    if (!e.is_object() || e.size() != 1)
        throw vector_error("an event is an object with one key: " + e.dump());
    const auto first = e.begin();
    const std::string kind = first.key();
    const json& body = first.value();
    recorded_event r;
    r.kind = kind;
    if (kind == "handshake_complete") {
        for (const json& p : body) {
            r.parts.push_back(p.at("name").get<std::string>());
            r.parts.push_back(p.contains("value_hex") ? from_hex(p["value_hex"].get<std::string>())
                                                      : p.at("value").get<std::string>());
        }
    } else if (kind == "message") {
        for (const json& f : body)
            r.parts.push_back(bytes_of(f));
    } else if (kind == "subscribe" || kind == "cancel" || kind == "pong") {
        r.parts.push_back(bytes_of(body));
    } else if (kind == "ping") {
        r.parts.push_back(bytes_of(body.at("context")));
        r.ttl_ms = body.at("ttl_ms").get<std::int64_t>();
    } else {
        throw vector_error("unknown event " + kind);
    }
    return r;
}

transcript transcript_of(const json& v)
{
    transcript t;
    t.options = options_of(v.at("local"));
    for (const json& s : v.at("steps")) {
        step st;
        if (s.contains("peer")) {
            require_keys(s, {"peer"}, "peer step");
            st.what = step::kind::peer;
            st.bytes = bytes_of(s["peer"]);
            st.offset = t.peer_bytes;
            t.peer_bytes += st.bytes.size();
        } else if (s.contains("send")) {
            require_keys(s, {"send", "result"}, "send step");
            st.what = step::kind::send;
            for (const json& f : s["send"])
                st.frames.push_back(bytes_of(f));
        } else if (s.contains("subscribe") || s.contains("cancel")) {
            const bool sub = s.contains("subscribe");
            require_keys(s, {sub ? "subscribe" : "cancel", "result"}, "subscription step");
            st.what = sub ? step::kind::subscribe : step::kind::cancel;
            st.bytes = bytes_of(s[sub ? "subscribe" : "cancel"]);
        } else if (s.contains("advance_ms")) {
            require_keys(s, {"advance_ms"}, "clock step");
            st.what = step::kind::advance;
            st.advance = std::chrono::milliseconds(s["advance_ms"].get<std::int64_t>());
        } else if (s.contains("authenticate")) {
            require_keys(s, {"authenticate"}, "authenticate step");
            const json& a = s["authenticate"];
            require_keys(a, {"expect", "answer"}, "authenticate");
            st.what = step::kind::authenticate;
            const json& ex = a.at("expect");
            require_keys(ex, {"mechanism", "username", "password", "client_key", "peer"}, "authenticate expect");
            security::auth_request r;
            r.mechanism = ex.value("mechanism", std::string("PLAIN"));
            r.username = ex.value("username", std::string());
            r.password = ex.value("password", std::string());
            if (ex.contains("client_key")) {
                r.client_key = security::curve_key_from_z85(ex["client_key"].get<std::string>());
                if (!r.client_key)
                    throw vector_error("authenticate client_key is not 40 Z85 characters");
            }
            if (ex.contains("peer"))
                for (const json& p : ex["peer"])
                    r.peer.add(p.at("name").get<std::string>(), p.contains("value_hex")
                                                                    ? from_hex(p["value_hex"].get<std::string>())
                                                                    : p.at("value").get<std::string>());
            st.expected_request = describe(r);
            const json& an = a.at("answer");
            require_keys(an, {"status", "text", "user_id"}, "authenticate answer");
            st.answer.status = an.at("status").get<int>();
            st.answer.text = an.value("text", std::string());
            st.answer.user_id = an.value("user_id", std::string());
        } else {
            throw vector_error("unknown step " + s.dump());
        }
        if (s.contains("result"))
            st.expected_result = expected_error_name(s["result"]);
        t.steps.push_back(std::move(st));
    }
    const json& e = v.at("expect");
    require_keys(e, {"events", "output", "state", "error", "peer_minor", "peer_version"}, "expect");
    for (const json& ev : e.at("events"))
        t.events.push_back(expected_event(ev));
    t.output = bytes_of(e.at("output"));
    t.state = e.at("state").get<std::string>();
    static const std::set<std::string> states{"greeting", "handshake", "ready", "failed"};
    if (!states.count(t.state))
        throw vector_error("unknown state " + t.state);
    t.error = expected_error_name(e.at("error"));
    if (e.contains("peer_minor"))
        t.peer_minor = e["peer_minor"].get<int>();
    t.peer_version = e.value("peer_version", std::string());
    return t;
}

// ---------------------------------------------------------------- running

const char* state_name(codec::state s)
{
    switch (s) {
    case codec::state::greeting: return "greeting";
    case codec::state::handshake: return "handshake";
    case codec::state::ready: return "ready";
    case codec::state::failed: return "failed";
    }
    return "?";
}

recorded_event record(const event& e)
{
    recorded_event r;
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, events::handshake_complete>) {
                r.kind = "handshake_complete";
                for (const auto& p : x.peer) {
                    r.parts.push_back(p.name);
                    r.parts.push_back(p.value);
                }
            } else if constexpr (std::is_same_v<T, message>) {
                r.kind = "message";
                for (const frame& f : x)
                    r.parts.push_back(f.str());
            } else if constexpr (std::is_same_v<T, events::subscribe>) {
                r.kind = "subscribe";
                r.parts.push_back(x.topic.str());
            } else if constexpr (std::is_same_v<T, events::cancel>) {
                r.kind = "cancel";
                r.parts.push_back(x.topic.str());
            } else if constexpr (std::is_same_v<T, events::ping>) {
                r.kind = "ping";
                r.parts.push_back(x.context.str());
                r.ttl_ms = x.ttl.count();
            } else if constexpr (std::is_same_v<T, events::pong>) {
                r.kind = "pong";
                r.parts.push_back(x.context.str());
            }
        },
        e);
    return r;
}

class driver {
public:
    driver(const transcript& t, const split_plan& plan) : plan_(plan), now_(t0), codec_(t.options, t0) {}

    outcome run(const transcript& t)
    {
        for (const step& s : t.steps) {
            switch (s.what) {
            case step::kind::peer: {
                std::size_t pos = 0;
                for (std::size_t len : plan_.chunks(s.offset, s.bytes.size())) {
                    feed(as_span(s.bytes).subspan(pos, len));
                    pos += len;
                    // Writing out while reading in must not change a thing.
                    if (plan_.how == split_plan::mode::byte_by_byte)
                        drain();
                }
                break;
            }
            case step::kind::send: {
                message m;
                for (const std::string& f : s.frames)
                    m.push_back(frame(as_span(f)));
                result_.call_results.push_back(error_name(codec_.send(m)));
                break;
            }
            case step::kind::subscribe:
                result_.call_results.push_back(error_name(codec_.send_subscribe(as_span(s.bytes))));
                break;
            case step::kind::cancel:
                result_.call_results.push_back(error_name(codec_.send_cancel(as_span(s.bytes))));
                break;
            case step::kind::advance:
                drain(); // time passes for a peer that reads what was written
                now_ += s.advance;
                codec_.handle_timeout(now_);
                take_events();
                break;
            case step::kind::authenticate: {
                result_.auth_requests.push_back(asked_ ? describe(*asked_) : std::string());
                asked_.reset();
                codec_.resolve_authentication(s.answer);
                take_events();
                // What arrived while the answer was awaited is read now.
                const std::string held = std::exchange(held_, {});
                feed(as_span(held));
                break;
            }
            }
        }
        drain();
        result_.state = state_name(codec_.current_state());
        result_.error = error_name(codec_.error());
        if (codec_.peer_greeting())
            result_.peer_minor = codec_.peer_minor_version();
        if (codec_.current_state() != codec::state::greeting)
            result_.peer_version = version_text(codec_.peer_zmtp_version());
        return std::move(result_);
    }

private:
    bool take_events()
    {
        bool any = false;
        while (auto e = codec_.next_event()) {
            any = true;
            // Answered by an authenticate step, not listed among the events.
            if (auto* a = std::get_if<events::authenticate>(&*e)) {
                if (asked_)
                    result_.trouble = "a second authentication request before the first was answered";
                asked_ = std::move(a->request);
                continue;
            }
            result_.events.push_back(record(*e));
        }
        return any;
    }

    void feed(std::span<const std::byte> bytes)
    {
        while (!bytes.empty() && !codec_.is_failed()) {
            if (codec_.awaiting_authentication()) {
                // The codec reads nothing until the answer; a connection would hold these bytes.
                held_ += as_string(bytes);
                return;
            }
            if (plan_.zero_copy) {
                // Where the codec offers its own buffer for a body, read into it.
                const auto target = codec_.body_target();
                if (!target.empty()) {
                    const std::size_t n = std::min(target.size(), bytes.size());
                    std::memcpy(target.data(), bytes.data(), n);
                    codec_.commit_body(n, now_);
                    bytes = bytes.subspan(n);
                    take_events();
                    continue;
                }
            }
            const std::size_t n = codec_.feed(bytes, now_);
            bytes = bytes.subspan(n);
            // feed() stops while an event is pending; taking it lets it go on.
            if (!take_events() && n == 0 && !codec_.is_failed()) {
                result_.trouble = "feed() consumed nothing, with no event and no failure";
                return;
            }
        }
    }

    void drain()
    {
        while (codec_.has_output()) {
            std::size_t n = 0;
            for (const auto span : codec_.pending_output()) {
                result_.output += as_string(span);
                n += span.size();
            }
            codec_.consume_output(n);
        }
    }

    split_plan plan_;
    codec::time_point now_;
    codec codec_;
    outcome result_;
    std::optional<security::auth_request> asked_; // awaiting an authenticate step
    std::string held_;                            // peer bytes that arrived meanwhile
};

// What is wrong with `got`, or "" if it is what the transcript expects.
std::string mismatch(const transcript& t, const outcome& got)
{
    std::ostringstream s;
    if (!got.trouble.empty())
        return got.trouble;
    if (got.events != t.events)
        s << "events " << describe(got.events) << " != expected " << describe(t.events) << "; ";
    if (got.state != t.state)
        s << "state " << got.state << " != expected " << t.state << "; ";
    if (got.error != t.error)
        s << "error '" << got.error << "' != expected '" << t.error << "'; ";
    if (t.peer_minor >= 0 && got.peer_minor != t.peer_minor)
        s << "peer minor version " << got.peer_minor << " != expected " << t.peer_minor << "; ";
    if (!t.peer_version.empty() && got.peer_version != t.peer_version)
        s << "peer version '" << got.peer_version << "' != expected " << t.peer_version << "; ";
    std::size_t asked = 0;
    for (const step& st : t.steps) {
        if (st.what != step::kind::authenticate)
            continue;
        const std::string r = asked < got.auth_requests.size() ? got.auth_requests[asked] : "(not reached)";
        if (r != st.expected_request)
            s << "authenticate step " << asked << ": asked " << (r.empty() ? "nothing" : r) << ", expected "
              << st.expected_request << "; ";
        ++asked;
    }
    std::size_t call = 0;
    for (const step& st : t.steps) {
        if (st.what != step::kind::send && st.what != step::kind::subscribe && st.what != step::kind::cancel)
            continue;
        const std::string r = call < got.call_results.size() ? got.call_results[call] : "(not called)";
        if (r != st.expected_result)
            s << "local call " << call << " gave '" << r << "', expected '" << st.expected_result << "'; ";
        ++call;
    }
    // Output: exactly as expected; a transcript that ends in an error may
    // add one ERROR command (its reason text is ours to choose).
    const bool prefix_ok = got.output.compare(0, t.output.size(), t.output) == 0 && got.output.size() >= t.output.size();
    if (!prefix_ok) {
        std::size_t at = 0;
        while (at < got.output.size() && at < t.output.size() && got.output[at] == t.output[at])
            ++at;
        s << "output differs at octet " << at << ": got " << to_hex(got.output.substr(at), 48) << ", expected "
          << to_hex(t.output.substr(at), 48) << "; ";
    } else if (got.output.size() > t.output.size()) {
        const std::string rest = got.output.substr(t.output.size());
        bool is_error_command = false;
        if (!t.error.empty()) {
            const auto h = wire::parse_frame_header(as_span(rest));
            wire::command_view cmd;
            std::string_view reason;
            is_error_command = h.state == wire::frame_header_result::status::complete && h.value.command &&
                               h.value.header_size + h.value.size == rest.size() &&
                               !wire::parse_command(as_span(rest).subspan(h.value.header_size), cmd) &&
                               cmd.name == "ERROR" && !wire::parse_error_reason(cmd.data, reason);
        }
        if (!is_error_command)
            s << "unexpected output after the expected bytes: " << to_hex(rest, 48) << "; ";
    }
    return s.str();
}

} // namespace

std::size_t& codec_runs() noexcept
{
    static std::size_t n = 0;
    return n;
}

void run_transcript_vector(const json& v)
{
    const transcript t = transcript_of(v);
    const outcome whole = driver(t, split_plan{}).run(t);
    ++codec_runs();
    const std::string problem = mismatch(t, whole);
    if (!problem.empty()) {
        FAIL_CHECK("fed whole: " << problem);
        return;
    }
    // The same bytes cut up any other way must give exactly the same outcome.
    grind(t.peer_bytes, [&](const split_plan& plan) {
        if (plan.how == split_plan::mode::whole && !plan.zero_copy)
            return true;
        const outcome got = driver(t, plan).run(t);
        ++codec_runs();
        if (got == whole)
            return true;
        const std::string why = mismatch(t, got);
        FAIL_CHECK(plan.describe() << ": " << (why.empty() ? "outcome differs from the whole feed" : why));
        return false;
    });
}

} // namespace zmtp::test
