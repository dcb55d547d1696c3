// SPDX-License-Identifier: MPL-2.0
// Drives a zmtp::codec with fuzzer bytes as the peer's stream. Shared by the
// codec harnesses, which differ only in limits and in what precedes the
// fuzzer's bytes.
//
// The first input octet picks the setup (socket type pair, heartbeat,
// ZMTP minor version of the prefix); the rest is the peer's stream. It runs:
//
//   1. three feeding strategies at a fixed time: one chunk, one octet at a
//      time, and small chunks with message bodies written through
//      body_target()/commit_body(). All three must report the same events,
//      the same error and the same output: a split point changes nothing.
//      Then the same timeout schedule is applied to each.
//   2. a live run: random chunks, advancing time, handle_timeout() whenever
//      next_timeout() is due, every message echoed back, a subscription
//      sent, and all output fed to a second codec of a compatible type,
//      which must never see a protocol error in what we wrote.
//
// Invariants everywhere: consumed <= given; no stall (nothing consumed, no
// event, not failed); errors only of the allowed conditions; a failed codec
// stays failed with the same error; events respect the configured limits.
#pragma once

#include "fuzz_check.hpp"

#include "zmtp/codec/codec.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/greeting.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace zmtp_fuzz {

using namespace std::chrono_literals;
using zmtp::codec;
using zmtp::socket_type;

// Our type and a compatible peer type, the pairs libzmq users deploy.
inline constexpr std::array<std::pair<socket_type, socket_type>, 10> type_pairs{{
    {socket_type::pair, socket_type::pair},
    {socket_type::dealer, socket_type::router},
    {socket_type::router, socket_type::dealer},
    {socket_type::req, socket_type::rep},
    {socket_type::rep, socket_type::req},
    {socket_type::pub, socket_type::sub},
    {socket_type::sub, socket_type::pub},
    {socket_type::xpub, socket_type::xsub},
    {socket_type::pull, socket_type::push},
    {socket_type::push, socket_type::pull},
}};

enum class limits_kind { production, small };
enum class prefix_kind { none, greeting_and_ready };

struct setup {
    socket_type self = socket_type::pair;
    socket_type peer = socket_type::pair;
    zmtp::codec_options options;
    int prefix_minor = 1;
};

// Limits small enough that the fuzzer hits every bound within a few bytes.
inline zmtp::codec_limits small_limits()
{
    zmtp::codec_limits l;
    l.max_message_size = 100;
    l.max_frames = 3;
    l.max_command_size = 64; // a libzmq ROUTER's READY is 43 octets
    l.max_properties = 3;
    l.max_preallocation = 8;
    return l;
}

//   bits 0-3  socket type pair (mod 10)
//   bits 4-5  heartbeat: none / 1 s / 1 s with TTL 3 s, timeout 2 s / 100 ms with TTL 70 s
//   bit  6    a routing id and an application property of our own
//   bit  7    prefix greeting announces ZMTP 3.0 instead of 3.1
inline setup make_setup(std::uint8_t b, limits_kind limits)
{
    setup s;
    const auto& [self, peer] = type_pairs[(b & 0x0f) % type_pairs.size()];
    s.self = self;
    s.peer = peer;
    s.options.type = self;
    if (limits == limits_kind::small)
        s.options.limits = small_limits();
    switch ((b >> 4) & 3) {
    case 0: break;
    case 1: s.options.heartbeat = {1000ms, 0ms, 0ms}; break;
    case 2: s.options.heartbeat = {1000ms, 3000ms, 2000ms}; break;
    case 3: s.options.heartbeat = {100ms, 70000ms, 0ms}; break;
    }
    if (b & 0x40) {
        s.options.routing_id = "fuzz-id";
        s.options.properties.add("X-Fuzz", "1");
    }
    s.prefix_minor = (b & 0x80) ? 0 : 1;
    return s;
}

// A libzmq-like peer's greeting and READY, so the fuzzer starts in framing.
inline std::vector<std::byte> greeting_and_ready(const setup& s)
{
    zmtp::wire::greeting g;
    g.minor = static_cast<std::uint8_t>(s.prefix_minor);
    const auto greet = zmtp::wire::encode_greeting(g);
    std::vector<std::byte> out(greet.begin(), greet.end());
    zmtp::metadata m;
    m.add("Socket-Type", std::string(zmtp::to_string(s.peer)));
    if (zmtp::announces_identity(s.peer))
        m.add("Identity", "");
    zmtp::wire::append_ready(out, m);
    return out;
}

// A canonical text for an event, to compare runs; checks it on the way.
inline std::string describe(const zmtp::event& e, const codec& c)
{
    const zmtp::codec_options& o = c.options();
    std::string d;
    auto put = [&](std::span<const std::byte> b) {
        d += std::to_string(b.size()) + ':';
        d.append(reinterpret_cast<const char*>(b.data()), b.size());
    };
    std::visit(
        [&](const auto& ev) {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, zmtp::events::handshake_complete>) {
                d = "ready";
                FUZZ_CHECK(ev.peer.size() <= o.limits.max_properties);
                // Only a ZMTP 1.0 peer goes without a type.
                const auto type = ev.peer.find("Socket-Type");
                FUZZ_CHECK(type.has_value() || c.peer_zmtp_version() == zmtp::zmtp_version::v1_0);
                if (type) {
                    const auto t = zmtp::socket_type_from_wire(*type);
                    FUZZ_CHECK(t && zmtp::compatible(o.type, *t));
                }
                for (const auto& p : ev.peer)
                    d += ' ' + p.name + '=' + std::to_string(p.value.size()) + ':' + p.value;
            } else if constexpr (std::is_same_v<T, zmtp::message>) {
                d = "message";
                FUZZ_CHECK(!ev.empty());
                FUZZ_CHECK(ev.size() <= o.limits.max_frames);
                FUZZ_CHECK(ev.byte_size() <= o.limits.max_message_size);
                for (const auto& f : ev) {
                    d += ' ';
                    put(f.bytes());
                }
            } else if constexpr (std::is_same_v<T, zmtp::events::subscribe>) {
                FUZZ_CHECK(ev.topic.size() < o.limits.max_command_size);
                d = "subscribe ";
                put(ev.topic.bytes());
            } else if constexpr (std::is_same_v<T, zmtp::events::cancel>) {
                FUZZ_CHECK(ev.topic.size() < o.limits.max_command_size);
                d = "cancel ";
                put(ev.topic.bytes());
            } else if constexpr (std::is_same_v<T, zmtp::events::ping>) {
                FUZZ_CHECK(ev.context.size() <= zmtp::wire::max_ping_context);
                FUZZ_CHECK(ev.ttl.count() >= 0 && ev.ttl.count() <= 65535 * 100);
                d = "ping " + std::to_string(ev.ttl.count()) + ' ';
                put(ev.context.bytes());
            } else if constexpr (std::is_same_v<T, zmtp::events::authenticate>) {
                d = "authenticate " + ev.request.mechanism + ' ';
                put(std::as_bytes(std::span<const char>(ev.request.username)));
                put(std::as_bytes(std::span<const char>(ev.request.password)));
                if (ev.request.client_key)
                    put(*ev.request.client_key);
            } else {
                static_assert(std::is_same_v<T, zmtp::events::pong>);
                FUZZ_CHECK(ev.context.size() <= zmtp::wire::max_ping_context);
                d = "pong ";
                put(ev.context.bytes());
            }
        },
        e);
    return d;
}

// What one run observed, for comparing feeding strategies.
struct transcript {
    std::vector<std::string> events;
    std::error_code error;
    std::vector<std::byte> output;
    codec::state state = codec::state::greeting;
};

// Checks that hold for a codec after any call, and moves its events and
// output into `t`.
class observer {
public:
    observer(codec& c, unsigned allowed, transcript& t) : c_(c), allowed_(allowed), t_(t) {}

    // Once the harness drives the clock, timeouts become legitimate.
    void allow_also(unsigned more) noexcept { allowed_ |= more; }

    void after_call()
    {
        if (c_.is_failed())
            check_failed();
        while (c_.has_event()) {
            auto e = c_.next_event();
            FUZZ_CHECK(e.has_value());
            FUZZ_CHECK(!c_.is_failed());
            t_.events.push_back(describe(*e, c_));
            if (std::holds_alternative<zmtp::events::authenticate>(*e)) {
                // Asked once, during the handshake; accepted, so the run goes on.
                FUZZ_CHECK(!c_.is_ready() && c_.awaiting_authentication());
                FUZZ_CHECK(!authenticated_);
                authenticated_ = true;
                c_.resolve_authentication(zmtp::security::auth_result::accept("fuzz"));
                continue;
            }
            const bool handshake = std::holds_alternative<zmtp::events::handshake_complete>(*e);
            // The handshake is reported once, and before anything else.
            FUZZ_CHECK(handshake == !ready_seen_);
            ready_seen_ = true;
            FUZZ_CHECK(c_.is_ready());
        }
        FUZZ_CHECK(!c_.next_event().has_value());
        t_.state = c_.current_state();
    }

    // Takes output in uneven pieces through the gather-write interface.
    void drain_output(std::size_t piece)
    {
        while (c_.has_output()) {
            const auto spans = c_.pending_output();
            FUZZ_CHECK(!spans.empty());
            std::size_t offered = 0;
            for (const auto& s : spans)
                offered += s.size();
            FUZZ_CHECK(offered > 0 && offered <= c_.pending_output_size());
            std::size_t take = std::min(offered, piece);
            for (const auto& s : spans) {
                const std::size_t n = std::min(take, s.size());
                t_.output.insert(t_.output.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
                take -= n;
                if (take == 0)
                    break;
            }
            const std::size_t before = c_.pending_output_size();
            const std::size_t n = std::min(offered, piece);
            c_.consume_output(n);
            FUZZ_CHECK(c_.pending_output_size() == before - n);
        }
    }

private:
    void check_failed()
    {
        const std::error_code ec = c_.error();
        FUZZ_CHECK_ERROR(ec, allowed_);
        FUZZ_CHECK(!c_.error_reason().empty());
        if (t_.error)
            FUZZ_CHECK(t_.error == ec); // sticky: the first error stays
        t_.error = ec;
        // A failed codec consumes nothing, reports nothing, schedules nothing.
        FUZZ_CHECK(!c_.has_event());
        FUZZ_CHECK(c_.body_target().empty());
        FUZZ_CHECK(!c_.next_timeout().has_value());
        const std::byte probe[1] = {std::byte{0}};
        FUZZ_CHECK(c_.feed(probe, codec::time_point{}) == 0);
        FUZZ_CHECK(c_.send(zmtp::message{"x"}) == ec);
        FUZZ_CHECK(c_.is_failed() && c_.error() == ec);
    }

    codec& c_;
    unsigned allowed_;
    transcript& t_;
    bool authenticated_ = false;
    bool ready_seen_ = false;
};

enum class strategy { one_chunk, octets, zero_copy };

inline const codec::time_point t0{std::chrono::hours(1)};

// The timeout schedule applied after the input, identical for every run.
inline constexpr std::array<std::chrono::milliseconds, 6> timeout_schedule{
    500ms, 1500ms, 3500ms, 9999ms, 10000ms, 80000ms};

inline transcript run_fixed_time(const setup& s, std::span<const std::byte> in, strategy how)
{
    transcript t;
    codec c(s.options, t0);
    observer obs(c, allow::protocol | allow::limits | allow::peer_error, t);
    std::size_t pos = 0;
    while (pos < in.size() && !c.is_failed()) {
        if (how == strategy::zero_copy) {
            // Bodies straight into the frame's storage, as connection<Stream> reads them.
            const auto target = c.body_target();
            if (!target.empty()) {
                const std::size_t n = std::min(target.size(), in.size() - pos);
                std::memcpy(target.data(), in.data() + pos, n);
                c.commit_body(n, t0);
                pos += n;
                obs.after_call();
                continue;
            }
        }
        const std::size_t want = how == strategy::one_chunk ? in.size() - pos
                                 : how == strategy::octets  ? 1
                                                            : std::min<std::size_t>(7, in.size() - pos);
        const std::size_t used = c.feed(in.subspan(pos, want), t0);
        FUZZ_CHECK(used <= want);
        // Nothing consumed is only allowed when something stops the codec.
        FUZZ_CHECK(used > 0 || c.has_event() || c.is_failed());
        pos += used;
        obs.after_call();
        obs.drain_output(how == strategy::octets ? 3 : 4096);
    }
    obs.drain_output(4096);
    t.events.push_back("-- input done");
    obs.allow_also(allow::timeouts);

    for (const auto step : timeout_schedule) {
        const auto before = c.next_timeout();
        const auto now = t0 + step;
        c.handle_timeout(now);
        obs.after_call();
        if (const auto next = c.next_timeout())
            FUZZ_CHECK(*next > now); // a handled deadline is never due again at once
        if (!before && !c.is_failed())
            FUZZ_CHECK(!c.has_output()); // nothing happens without a reported deadline
        obs.drain_output(4096);
    }
    return t;
}

inline bool same_transcript(const transcript& a, const transcript& b)
{
    return a.events == b.events && a.error == b.error && a.output == b.output && a.state == b.state;
}

// Small deterministic generator for chunk sizes and time steps.
class rng {
public:
    explicit rng(std::uint64_t seed) : x_(seed | 1) {}
    std::uint64_t next() noexcept
    {
        x_ ^= x_ << 13;
        x_ ^= x_ >> 7;
        x_ ^= x_ << 17;
        return x_;
    }
    std::size_t below(std::size_t n) noexcept { return n ? static_cast<std::size_t>(next() % n) : 0; }

private:
    std::uint64_t x_;
};

inline void run_live(const setup& s, std::span<const std::byte> in, std::uint64_t seed)
{
    rng r(seed);
    auto now = t0;
    codec c(s.options, now);
    zmtp::codec_options peer_options;
    peer_options.type = s.peer;
    codec peer(peer_options, now);

    transcript t;
    transcript seen_by_peer;
    observer obs(c, allow::protocol | allow::limits | allow::peer_error | allow::timeouts, t);
    // Our bytes are well-formed ZMTP: the only way the peer fails is our ERROR.
    observer peer_obs(peer, allow::peer_error, seen_by_peer);

    // Our peer speaks ZMTP 3: once we frame for a 1.0/2.0 peer, our bytes
    // are only taken (the vectors check what they are).
    auto legacy = [&] {
        return c.current_state() != codec::state::greeting &&
               c.peer_zmtp_version() < zmtp::zmtp_version::v3_0;
    };
    auto pump_to_peer = [&] {
        while (c.has_output() && legacy())
            c.consume_output(c.pending_output().front().size());
        while (c.has_output()) {
            const auto spans = c.pending_output();
            // A short write: part of the first span only, sometimes.
            std::size_t n = spans.front().size();
            if (r.below(2))
                n = 1 + r.below(n);
            const std::size_t used = peer.feed(spans.front().first(n), now);
            FUZZ_CHECK(used <= n);
            c.consume_output(used);
            peer_obs.after_call();
            while (peer.has_output()) {
                const auto ps = peer.pending_output();
                peer.consume_output(ps.front().size());
            }
            if (used == 0) {
                if (peer.is_failed())
                    break;
                FUZZ_CHECK(peer.has_event());
            }
        }
    };

    auto react = [&](std::size_t events_before) {
        for (std::size_t i = events_before; i < t.events.size(); ++i) {
            if (!c.is_ready())
                break;
            const std::string& e = t.events[i];
            std::error_code ec;
            if (e.rfind("ready", 0) == 0) {
                ec = c.send(zmtp::message{"hello", ""});
                if (!ec)
                    ec = c.send_subscribe(std::as_bytes(std::span<const char>("topic", 5)));
            } else if (e.rfind("message", 0) == 0) {
                ec = c.send(zmtp::message{zmtp::frame(std::string_view(e))});
            } else if (e.rfind("subscribe", 0) == 0) {
                ec = c.send_cancel(std::as_bytes(std::span<const char>(e.data(), e.size())));
            }
            FUZZ_CHECK(!ec); // ready: sending never fails
        }
    };

    std::size_t pos = 0;
    while (pos < in.size() && !c.is_failed()) {
        // 0 ms to 1.2 s between reads, so every deadline comes due somewhere.
        static constexpr std::array<std::chrono::milliseconds, 4> steps{0ms, 7ms, 250ms, 1200ms};
        now += steps[r.below(steps.size())];
        if (const auto due = c.next_timeout(); due && *due <= now) {
            c.handle_timeout(now);
            obs.after_call();
            if (const auto next = c.next_timeout())
                FUZZ_CHECK(*next > now);
            if (c.is_failed())
                break;
        }
        const std::size_t want = std::min(in.size() - pos, 1 + r.below(r.below(2) ? 3 : 64));
        const std::size_t used = c.feed(in.subspan(pos, want), now);
        FUZZ_CHECK(used <= want);
        FUZZ_CHECK(used > 0 || c.has_event() || c.is_failed());
        pos += used;
        const std::size_t before = t.events.size();
        obs.after_call();
        react(before);
        pump_to_peer();
    }
    // Then let the clock run out: only timeouts may end it now.
    for (int i = 0; i < 40 && !c.is_failed(); ++i) {
        const auto due = c.next_timeout();
        if (!due)
            break;
        now = std::max(now, *due);
        c.handle_timeout(now);
        obs.after_call();
        pump_to_peer();
    }
    pump_to_peer();
    // Once past the greeting, every failure of ours is announced with an
    // ERROR command, which the peer must have seen; except the peer's own
    // ERROR and its silence (no one reads an ERROR then).
    if (c.is_failed() && c.peer_greeting() && c.error() != zmtp::error::peer_error && !c.peer_presumed_gone())
        FUZZ_CHECK(peer.is_failed() && peer.error() == zmtp::error::peer_error);
}

// The harness body: setup from the first octet, prefix, then both passes.
inline int run_codec_input(const std::uint8_t* data, std::size_t size, limits_kind limits,
                           prefix_kind prefix)
{
    if (size == 0)
        return 0;
    const setup s = make_setup(data[0], limits);
    std::vector<std::byte> stream;
    if (prefix == prefix_kind::greeting_and_ready)
        stream = greeting_and_ready(s);
    const auto rest = as_span(data + 1, size - 1);
    stream.insert(stream.end(), rest.begin(), rest.end());

    const transcript whole = run_fixed_time(s, stream, strategy::one_chunk);
    const transcript octets = run_fixed_time(s, stream, strategy::octets);
    const transcript zero_copy = run_fixed_time(s, stream, strategy::zero_copy);
    FUZZ_CHECK(same_transcript(whole, octets));
    FUZZ_CHECK(same_transcript(whole, zero_copy));
    if (prefix == prefix_kind::greeting_and_ready)
        FUZZ_CHECK(whole.events.size() > 0 && whole.events[0].rfind("ready", 0) == 0);

    std::uint64_t seed = 0x9e3779b97f4a7c15ull ^ size;
    for (std::size_t i = 0; i < std::min<std::size_t>(size, 16); ++i)
        seed = seed * 131 + data[i];
    run_live(s, stream, seed);
    return 0;
}

} // namespace zmtp_fuzz
