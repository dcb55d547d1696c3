// SPDX-License-Identifier: MPL-2.0
#include "zmtp/codec/codec.hpp"

#include "zmtp/error.hpp"
#include "zmtp/printable.hpp"
#include "zmtp/security/null_mechanism.hpp"
#include "zmtp/wire/command.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <utility>

namespace zmtp {
namespace {

// libzmq 4.3.5 wraps TTLs above 655 deciseconds (docs/reliability.md).
constexpr std::uint16_t max_advertised_ttl_ds = 655;
// PONGs queued and not yet sent, at most (reliability invariant 4).
constexpr std::size_t max_waiting_pongs = 16;
// A body still to come is read into at most this much new storage at a time.
constexpr std::size_t body_read_step = 256 * 1024;
// Sealed frames at least this large are opened in their frame's storage.
constexpr std::size_t sealed_in_place_threshold = 2048;

} // namespace

codec::codec(codec_options options, time_point now)
    : options_(std::move(options)), now_(now), peer_metadata_(std::make_shared<const metadata>()),
      last_rx_(now)
{
    mechanism_ = options_.mechanism
                     ? options_.mechanism()
                     : std::make_unique<security::null_mechanism>(options_.limits.max_properties);
    handshake_deadline_ = now + options_.handshake_timeout;
    queue_greeting();
}

// ---------------------------------------------------------------- input

codec::~codec()
{
    release_inflight();
}

std::size_t codec::feed(std::span<const std::byte> bytes, time_point now)
{
    now_ = now;
    if (state_ == state::failed || pending_ || awaiting_auth_ || bytes.empty())
        return 0;
    note_activity(now);
    std::size_t used = 0;
    while (used < bytes.size() && state_ != state::failed && !pending_ && !awaiting_auth_) {
        const auto rest = bytes.subspan(used);
        used += state_ == state::greeting ? feed_greeting(rest) : feed_frames(rest);
    }
    return used;
}

std::size_t codec::feed_frames(std::span<const std::byte> bytes)
{
    std::size_t used = 0;
    while (used < bytes.size() && state_ != state::failed && !pending_ && !awaiting_auth_) {
        const auto rest = bytes.subspan(used);
        switch (phase_) {
        case phase::header:
            used += read_header(rest);
            break;
        case phase::command_body:
        case phase::sealed_body: {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(body_remaining_, rest.size()));
            command_body_.insert(command_body_.end(), rest.begin(), rest.begin() + n);
            used += n;
            body_remaining_ -= n;
            if (body_remaining_ == 0) {
                const bool sealed = phase_ == phase::sealed_body;
                phase_ = phase::header;
                if (sealed)
                    open_sealed(command_body_, frame());
                else
                    handle_command(command_body_);
            }
            break;
        }
        case phase::message_body: {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(body_remaining_, rest.size()));
            if (!builder_ && n == body_remaining_ && !sealed_) {
                // The whole body is here: one copy, straight into the frame.
                used += n;
                body_remaining_ = 0;
                phase_ = phase::header;
                finish_message_frame(frame(rest.first(n)));
                break;
            }
            body_builder().append(rest.first(n));
            used += n;
            body_received(n);
            break;
        }
        }
    }
    return used;
}

std::size_t codec::read_header(std::span<const std::byte> bytes)
{
    using status = wire::frame_header_result::status;
    std::size_t used = 0;
    wire::frame_header_result r;
    if (header_have_ == 0) {
        r = parse_header(bytes);
        if (r.state == status::complete)
            used = r.value.header_size;
    } else {
        // Continue a header split across feeds, one octet at a time (at most 8).
        while (used < bytes.size()) {
            header_in_[header_have_++] = bytes[used++];
            r = parse_header({header_in_.data(), header_have_});
            if (r.state != status::incomplete)
                break;
        }
    }
    if (r.state == status::invalid) {
        if (identity_pending_ && unversioned_)
            fail(make_error_code(error::not_zmtp), not_zmtp_reason());
        else
            fail(r.error, "malformed frame header", true);
        return used;
    }
    if (r.state == status::incomplete) {
        if (header_have_ == 0) {
            std::copy(bytes.begin(), bytes.end(), header_in_.begin());
            header_have_ = bytes.size();
        }
        return bytes.size();
    }
    header_have_ = 0;
    begin_frame(r.value);
    return used;
}

void codec::begin_frame(const wire::frame_header& h)
{
    current_ = h;
    body_remaining_ = h.size;
    if (identity_pending_) {
        // RFC 13/15: one final frame of at most 255 octets. An unversioned
        // peer's is all that tells it from other protocols.
        if (h.more || h.size > wire::max_legacy_identity) {
            if (unversioned_)
                fail(make_error_code(error::not_zmtp), not_zmtp_reason());
            else
                fail(make_error_code(error::malformed_frame), "identity frame with MORE or over 255 octets");
            return;
        }
        command_body_.clear();
        if (h.size == 0) {
            legacy_identity({});
            return;
        }
        phase_ = phase::command_body;
        return;
    }
    if (sealed_) {
        // Every frame is sealed; what it holds is known once it is opened,
        // so it may be as large as the larger of the two limits allows.
        const std::uint64_t overhead = mechanism_->seal_overhead();
        const std::uint64_t most =
            std::max<std::uint64_t>(options_.limits.max_command_size,
                                    options_.limits.max_message_size - partial_bytes_) +
            overhead;
        if (h.size < overhead) {
            fail(make_error_code(error::malformed_frame),
                 "sealed frame of " + std::to_string(h.size) + " bytes is too short", true);
            return;
        }
        if (h.size > most) {
            fail(make_error_code(error::message_too_large),
                 "sealed frame of " + std::to_string(h.size) + " bytes exceeds the limit of " +
                     std::to_string(most),
                 true);
            return;
        }
        if (h.size >= sealed_in_place_threshold) {
            // Received into frame storage (read there directly when large)
            // and opened in place: the message body is not copied again.
            phase_ = phase::message_body;
            return;
        }
        command_body_.clear();
        command_body_.reserve(static_cast<std::size_t>(h.size));
        phase_ = phase::sealed_body;
        return;
    }
    if (h.command) {
        if (h.size == 0) {
            fail(make_error_code(error::malformed_command), "empty command frame", true);
            return;
        }
        if (h.size > options_.limits.max_command_size) {
            fail(make_error_code(error::command_too_large),
                 "command of " + std::to_string(h.size) + " bytes exceeds the limit of " +
                     std::to_string(options_.limits.max_command_size),
                 true);
            return;
        }
        command_body_.clear();
        command_body_.reserve(static_cast<std::size_t>(h.size));
        phase_ = phase::command_body;
        return;
    }
    if (state_ != state::ready) {
        fail(make_error_code(error::unexpected_message),
             "message frame before the handshake completed", true);
        return;
    }
    if (check_message_frame(h.size))
        return;
    if (options_.trace)
        trace_frame(trace_record::direction::in, h, {});
    if (h.size == 0) {
        finish_message_frame(frame());
        return;
    }
    phase_ = phase::message_body;
}

// Fails the codec when one more frame of `size` bytes would break a limit.
std::error_code codec::check_message_frame(std::uint64_t size)
{
    const codec_limits& lim = options_.limits;
    if (partial_.size() + 1 > lim.max_frames) {
        fail(make_error_code(error::too_many_frames),
             "message has more than " + std::to_string(lim.max_frames) + " frames", true);
        return error_;
    }
    if (size > lim.max_message_size - partial_bytes_) {
        fail(make_error_code(error::message_too_large),
             "message of at least " + std::to_string(partial_bytes_ + size) +
                 " bytes exceeds the limit of " + std::to_string(lim.max_message_size),
             true);
        return error_;
    }
    return {};
}

// A whole sealed frame is in `wire_body` (command_body_, or the storage of
// `storage` when large): open it in place and handle what it holds.
void codec::open_sealed(std::span<std::byte> wire_body, frame storage)
{
    security::mechanism::opened_frame inner;
    if (auto ec = mechanism_->open(wire_body, current_.command, inner)) {
        fail(ec, mechanism_->reason().empty() ? "sealed frame refused: " + ec.message() : mechanism_->reason(),
             true);
        return;
    }
    const wire::frame_header h{inner.more && !inner.command, inner.command, inner.body.size(),
                               current_.header_size};
    current_ = h;
    if (h.command) {
        if (h.size == 0 || h.size > options_.limits.max_command_size) {
            fail(make_error_code(h.size == 0 ? error::malformed_command : error::command_too_large),
                 "sealed command of " + std::to_string(h.size) + " bytes", true);
            return;
        }
        handle_command(inner.body);
        return;
    }
    if (check_message_frame(h.size))
        return;
    if (options_.trace)
        trace_frame(trace_record::direction::in, h, {});
    if (storage.empty()) {
        finish_message_frame(frame(inner.body));
        return;
    }
    // The plaintext stays where it was opened, inside the sealed frame.
    finish_message_frame(frame::borrow(inner.body, [keep = std::move(storage)]() mutable noexcept {
        keep = frame();
    }));
}

std::span<std::byte> codec::body_target()
{
    if (phase_ != phase::message_body || pending_ || state_ == state::failed)
        return {};
    frame_builder& b = body_builder();
    b.reserve_more(std::min<std::size_t>(b.remaining(), body_read_step));
    return b.writable();
}

void codec::commit_body(std::size_t n, time_point now)
{
    now_ = now;
    if (n == 0 || !builder_)
        return;
    note_activity(now);
    n = std::min<std::size_t>(n, builder_->writable().size());
    builder_->commit(n);
    body_received(n);
}

// The storage of the body being received, made on first use: no larger
// than max_preallocation (plus a sealed frame's overhead, so that a sealed
// message of that size needs no regrowth) until the bytes arrive.
frame_builder& codec::body_builder()
{
    if (!builder_) {
        const std::uint64_t most =
            options_.limits.max_preallocation + (sealed_ ? mechanism_->seal_overhead() : 0);
        builder_.emplace(current_.size, std::min<std::uint64_t>(current_.size, most));
    }
    return *builder_;
}

// `n` more body bytes are in the builder; the frame is done when none remain.
void codec::body_received(std::size_t n)
{
    body_remaining_ -= n;
    if (body_remaining_ != 0) {
        charge_inflight();
        return;
    }
    phase_ = phase::header;
    const std::span<std::byte> bytes = builder_->written();
    frame f = std::move(*builder_).finish(); // beyond inline_capacity when sealed: bytes stay put
    builder_.reset();
    if (sealed_)
        open_sealed(bytes, std::move(f));
    else
        finish_message_frame(std::move(f));
}

void codec::finish_message_frame(frame f)
{
    partial_bytes_ += f.size();
    partial_.push_back(std::move(f));
    if (current_.more) {
        charge_inflight();
        return;
    }
    partial_.set_properties(peer_metadata_);
    pending_.emplace(std::move(partial_));
    partial_ = message();
    partial_bytes_ = 0;
    release_inflight(); // the whole message is the socket's now, under its HWMs
}

bool codec::charge_inflight()
{
    byte_budget* budget = options_.inflight_budget.get();
    if (!budget)
        return true;
    const std::size_t held = partial_bytes_ + (builder_ ? builder_->written().size() : 0);
    const std::size_t want = held > byte_budget::free_share ? held - byte_budget::free_share : 0;
    if (want <= inflight_taken_) {
        budget->give(inflight_taken_ - want);
        inflight_taken_ = want;
        return true;
    }
    if (!budget->take(want - inflight_taken_)) {
        fail(make_error_code(error::message_too_large),
             "message in progress: the socket's budget of " + std::to_string(budget->limit()) +
                 " bytes for unfinished messages is spent",
             true);
        return false;
    }
    inflight_taken_ = want;
    return true;
}

void codec::release_inflight() noexcept
{
    if (inflight_taken_ != 0)
        options_.inflight_budget->give(std::exchange(inflight_taken_, 0));
}

std::optional<event> codec::next_event()
{
    std::optional<event> e = std::move(pending_);
    pending_.reset();
    if (subscribe_all_ && e && std::holds_alternative<events::handshake_complete>(*e)) {
        // A ZMTP 1.0 subscriber filters for itself and sends no
        // subscriptions: it gets everything, as from libzmq.
        subscribe_all_ = false;
        message m;
        m.push_back(frame(std::string_view("\x01", 1)));
        m.set_properties(peer_metadata_);
        pending_.emplace(std::move(m));
    }
    return e;
}

void codec::handle_command(std::span<const std::byte> body)
{
    if (identity_pending_) {
        legacy_identity(body);
        return;
    }
    if (options_.trace)
        trace_frame(trace_record::direction::in, current_, body);
    if (state_ == state::ready) {
        handle_traffic_command(body);
        return;
    }
    scratch_.clear();
    mechanism_->on_command(body, scratch_);
    after_mechanism();
}

// The mechanism took a step and wrote its commands to scratch_.
void codec::after_mechanism()
{
    queue_frames(scratch_);
    switch (mechanism_->state()) {
    case security::mechanism::status::in_progress:
        break;
    case security::mechanism::status::authenticating: {
        security::auth_request request = mechanism_->pending_auth();
        request.address = options_.peer_address;
        request.transport = options_.transport_properties;
        awaiting_auth_ = true;
        pending_.emplace(events::authenticate{std::move(request)});
        break;
    }
    case security::mechanism::status::failed:
        // A refusal carries its own ERROR (with the status code); the peer's
        // ERROR needs no answer; anything else is the peer's fault: tell it.
        fail(mechanism_->error(), mechanism_->reason(),
             mechanism_->error() != error::peer_error &&
                 mechanism_->error() != error::authentication_failed);
        break;
    case security::mechanism::status::ready:
        complete_handshake(mechanism_->peer_metadata());
        break;
    }
}

void codec::resolve_authentication(const security::auth_result& result)
{
    if (!awaiting_auth_ || state_ == state::failed)
        return;
    awaiting_auth_ = false;
    auth_result_ = result;
    scratch_.clear();
    mechanism_->on_auth_result(result, scratch_);
    after_mechanism();
}

namespace {

// Names the local side sets: a peer announcing them is not believed.
bool locally_set(std::string_view name, const metadata& transport)
{
    auto same = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                   return std::tolower(static_cast<unsigned char>(x)) ==
                          std::tolower(static_cast<unsigned char>(y));
               });
    };
    if (same(name, "User-Id") || same(name, "Peer-Address"))
        return true;
    return std::any_of(transport.begin(), transport.end(),
                       [&](const metadata::property& p) { return same(name, p.name); });
}

} // namespace

void codec::complete_handshake(const metadata& announced)
{
    metadata peer;
    for (const auto& p : announced)
        if (!locally_set(p.name, options_.transport_properties))
            peer.add(p.name, p.value);
    if (!options_.peer_address.empty())
        peer.add("Peer-Address", options_.peer_address);
    for (const auto& p : options_.transport_properties)
        peer.add(p.name, p.value);
    if (!auth_result_.user_id.empty())
        peer.add("User-Id", auth_result_.user_id);
    for (const auto& p : auth_result_.properties)
        peer.add(p.name, p.value);
    peer_metadata_ = std::make_shared<const metadata>(std::move(peer));
    // A ZMTP 1.0 peer does not say what it is.
    if (const auto type_name = peer_metadata_->find("Socket-Type")) {
        peer_type_ = socket_type_from_wire(*type_name);
        if (!peer_type_) {
            fail(make_error_code(error::invalid_socket_type),
                 "unknown Socket-Type '" + printable(*type_name) + "'", true);
            return;
        }
        if (!compatible(options_.type, *peer_type_)) {
            fail(make_error_code(error::incompatible_socket_type),
                 std::string(to_string(options_.type)) + " cannot talk to " +
                     std::string(*type_name),
                 true);
            return;
        }
    } else if (!unversioned_) {
        fail(make_error_code(error::missing_socket_type), "peer sent no Socket-Type", true);
        return;
    }
    state_ = state::ready;
    sealed_ = mechanism_->seals_traffic();
    // PING is ZMTP 3.1; a 3.0 (or older) peer would not understand it, so
    // its liveness is judged by whether it reads what we send.
    if (options_.heartbeat.interval.count() > 0) {
        if (peer_minor_ >= 1)
            next_ping_ = now_ + options_.heartbeat.interval;
        else
            next_stall_check_ = now_ + options_.heartbeat.interval;
    }
    pending_.emplace(events::handshake_complete{*peer_metadata_});
}

void codec::handle_traffic_command(std::span<const std::byte> body)
{
    wire::command_view cmd;
    if (auto ec = wire::parse_command(body, cmd)) {
        fail(ec, "malformed command", true);
        return;
    }
    if (cmd.name == "PING") {
        wire::ping_view ping;
        if (auto ec = wire::parse_ping(cmd.data, ping)) {
            fail(ec, "PING shorter than its TTL field", true);
            return;
        }
        // A few PONGs wait at most: PINGs flooding in while the peer does not
        // read must not grow the output (the waiting PONGs answer them all).
        while (!pong_ends_.empty() && pong_ends_.front() <= sent_)
            pong_ends_.pop_front();
        if (pong_ends_.size() < max_waiting_pongs) {
            scratch_.clear();
            wire::append_pong(scratch_, ping.context);
            queue_frames(scratch_);
            pong_ends_.push_back(sent_ + out_.size());
        }
        peer_ttl_ = std::chrono::milliseconds(std::uint32_t{ping.ttl_deciseconds} * 100);
        pending_.emplace(events::ping{peer_ttl_, frame(ping.context)});
    } else if (cmd.name == "PONG") {
        pending_.emplace(events::pong{
            frame(cmd.data.first(std::min(cmd.data.size(), wire::max_ping_context)))});
    } else if (cmd.name == "SUBSCRIBE" || cmd.name == "JOIN") {
        pending_.emplace(events::subscribe{frame(cmd.data)});
    } else if (cmd.name == "CANCEL" || cmd.name == "LEAVE") {
        pending_.emplace(events::cancel{frame(cmd.data)});
    } else if (cmd.name == "ERROR") {
        std::string_view reason;
        if (wire::parse_error_reason(cmd.data, reason))
            reason = "(unreadable reason)";
        fail(make_error_code(error::peer_error), "peer sent ERROR: " + printable(reason));
    }
    // Any other command is ignored (RFC 37: commands are extensible).
}

void codec::queue_frames(const std::vector<std::byte>& frames)
{
    if (!sealed_)
        out_.append_copy(frames);
    if (!sealed_ && !options_.trace)
        return;
    std::span<const std::byte> rest(frames);
    while (!rest.empty()) {
        const auto r = parse_header(rest);
        if (r.state != wire::frame_header_result::status::complete)
            return;
        const auto body = rest.subspan(r.value.header_size, r.value.size);
        if (options_.trace)
            trace_frame(trace_record::direction::out, r.value, body);
        if (sealed_)
            seal_frame(r.value.more, r.value.command, body);
        rest = rest.subspan(r.value.header_size + r.value.size);
    }
}

// Seals straight into the output: the body's one copy.
void codec::seal_frame(bool more, bool command, std::span<const std::byte> body)
{
    if (const std::size_t n = mechanism_->sealed_size(body.size()))
        mechanism_->seal(more, command, body, out_.append_uninitialized(n));
}

void codec::trace_frame(trace_record::direction dir, const wire::frame_header& h,
                        std::span<const std::byte> body)
{
    trace_record t;
    t.dir = dir;
    t.what = h.command ? trace_record::unit::command : trace_record::unit::frame;
    t.size = h.size;
    t.more = h.more;
    wire::command_view cmd;
    if (h.command && !wire::parse_command(body, cmd))
        t.name = std::string(cmd.name);
    options_.trace(t);
}

void codec::note_activity(time_point now) noexcept
{
    last_rx_ = now;
    awaiting_since_.reset();
}

// ---------------------------------------------------------------- output

std::error_code codec::check_can_send() const noexcept
{
    if (state_ == state::failed)
        return error_;
    if (state_ != state::ready)
        return make_error_code(error::not_ready);
    return {};
}

std::error_code codec::send(const message& m)
{
    if (auto ec = check_can_send())
        return ec;
    if (m.empty())
        return make_error_code(error::invalid_argument);
    std::byte header[wire::max_v1_frame_header_size];
    const std::size_t last = m.size() - 1;
    for (std::size_t i = 0; i <= last; ++i) {
        const frame& f = m[i];
        if (sealed_) {
            seal_frame(i != last, false, f.bytes());
            if (options_.trace)
                trace_frame(trace_record::direction::out,
                            {i != last, false, f.size(), f.size() > 255 ? 9u : 2u}, {});
            continue;
        }
        const std::size_t n = encode_header(header, i != last, f.size());
        out_.append_copy({header, n});
        out_.append_frame(f);
        if (options_.trace)
            trace_frame(trace_record::direction::out, {i != last, false, f.size(), n}, {});
    }
    out_.mark_message_end();
    return {};
}

std::error_code codec::send_subscribe(std::span<const std::byte> topic)
{
    return send_subscription(topic, true);
}

std::error_code codec::send_cancel(std::span<const std::byte> topic)
{
    return send_subscription(topic, false);
}

std::error_code codec::send_subscription(std::span<const std::byte> topic, bool subscribe)
{
    if (auto ec = check_can_send())
        return ec;
    scratch_.clear();
    if (options_.type == socket_type::dish) {
        // RFC 48: a DISH's group membership, whatever the peer's revision.
        wire::append_command(scratch_, subscribe ? "JOIN" : "LEAVE", topic);
    } else if (peer_minor_ >= 1) {
        wire::append_command(scratch_, subscribe ? "SUBSCRIBE" : "CANCEL", topic);
    } else {
        std::byte header[wire::max_v1_frame_header_size];
        const std::size_t n = encode_header(header, false, topic.size() + 1);
        scratch_.insert(scratch_.end(), header, header + n);
        scratch_.push_back(std::byte{subscribe ? std::uint8_t{1} : std::uint8_t{0}});
        scratch_.insert(scratch_.end(), topic.begin(), topic.end());
    }
    queue_frames(scratch_);
    return {};
}

void codec::fail(std::error_code ec, std::string reason, bool notify_peer)
{
    if (state_ == state::failed)
        return;
    // An ERROR command only makes sense once both sides frame in ZMTP 3.
    if (notify_peer && state_ != state::greeting && framing_ == framing::zmtp3) {
        scratch_.clear();
        wire::append_error(scratch_, reason);
        queue_frames(scratch_);
    }
    state_ = state::failed;
    awaiting_auth_ = false;
    error_ = ec;
    reason_ = std::move(reason);
    partial_ = message();
    builder_.reset();
    release_inflight();
    command_body_ = {};
    pending_.reset();
    next_ping_.reset();
    next_stall_check_.reset();
    stalled_since_.reset();
}

void codec::peer_closed()
{
    std::string reason = "peer closed the connection";
    if (state_ == state::greeting)
        // libzmq closes like this when our mechanism is not the one it wants.
        reason += " before its greeting named a mechanism (ours: " + std::string(mechanism_->name()) + ")";
    else if (state_ == state::handshake)
        reason += " during the " + std::string(mechanism_->name()) + " handshake";
    fail(make_error_code(error::connection_closed), std::move(reason));
}

// ---------------------------------------------------------------- time

std::optional<codec::time_point> codec::next_timeout() const noexcept
{
    if (state_ == state::failed)
        return std::nullopt;
    if (state_ != state::ready)
        return handshake_deadline_;
    std::optional<time_point> t = next_ping_;
    auto earliest = [&](time_point candidate) {
        if (!t || candidate < *t)
            t = candidate;
    };
    if (peer_ttl_.count() > 0)
        earliest(last_rx_ + peer_ttl_);
    if (awaiting_since_)
        earliest(*awaiting_since_ + heartbeat_timeout());
    if (next_stall_check_)
        earliest(*next_stall_check_);
    if (stalled_since_)
        earliest(*stalled_since_ + heartbeat_timeout());
    return t;
}

void codec::handle_timeout(time_point now)
{
    now_ = now;
    if (state_ == state::failed)
        return;
    if (state_ != state::ready) {
        if (now >= handshake_deadline_)
            fail(make_error_code(error::handshake_timeout),
                 "handshake not complete after " +
                     std::to_string(options_.handshake_timeout.count()) + " ms",
                 true);
        return;
    }
    // A silent peer is presumed gone: no ERROR for it (as libzmq), and
    // nothing left in the output is worth waiting for.
    if (peer_ttl_.count() > 0 && now >= last_rx_ + peer_ttl_) {
        fail(make_error_code(error::ttl_expired),
             "no traffic within the peer's TTL of " + std::to_string(peer_ttl_.count()) + " ms");
        return;
    }
    const auto timeout = heartbeat_timeout();
    if (awaiting_since_ && now >= *awaiting_since_ + timeout) {
        fail(make_error_code(error::heartbeat_timeout),
             "no traffic for " + std::to_string(timeout.count()) + " ms after PING");
        return;
    }
    if (stalled_since_ && now >= *stalled_since_ + timeout) {
        if (sent_ == stall_mark_ && has_output()) {
            fail(make_error_code(error::heartbeat_timeout),
                 "a ZMTP 3.0 or older peer (no PING) read nothing for " + std::to_string(timeout.count()) +
                     " ms while " + std::to_string(out_.size()) + " octets waited for it");
            return;
        }
        stalled_since_.reset();
    }
    if (next_stall_check_ && now >= *next_stall_check_) {
        // Output waiting and none written since the last look: the stall
        // starts now; any progress or an empty output ends it.
        if (!has_output())
            stalled_since_.reset();
        else if (!stalled_since_ || sent_ != stall_mark_) {
            stalled_since_ = now;
            stall_mark_ = sent_;
        }
        next_stall_check_ = now + options_.heartbeat.interval;
    }
    if (next_ping_ && now >= *next_ping_) {
        const auto ttl_ds = std::min<std::int64_t>(options_.heartbeat.ttl.count() / 100,
                                                   max_advertised_ttl_ds);
        scratch_.clear();
        wire::append_ping(scratch_, static_cast<std::uint16_t>(ttl_ds), {});
        queue_frames(scratch_);
        next_ping_ = now + options_.heartbeat.interval;
        if (!awaiting_since_)
            awaiting_since_ = now;
    }
}

} // namespace zmtp
