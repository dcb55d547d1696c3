// SPDX-License-Identifier: MPL-2.0
// The codec's construction and its input after the greeting: frame headers,
// bodies (read in place when large), sealed frames opened, messages assembled
// under the limits. Commands, output and timers: codec_commands/output/time.cpp.
#include "zmtp/codec/codec.hpp"

#include "zmtp/error.hpp"
#include "zmtp/security/null_mechanism.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace zmtp {
namespace {

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
    std::optional<event> e;
    if (pending_)
        next_event(e.emplace());
    return e;
}

bool codec::next_event(event& out)
{
    if (!pending_)
        return false;
    out = std::move(*pending_);
    pending_.reset();
    if (subscribe_all_ && std::holds_alternative<events::handshake_complete>(out)) {
        // A ZMTP 1.0 subscriber filters for itself and sends no
        // subscriptions: it gets everything, as from libzmq.
        subscribe_all_ = false;
        message m;
        m.push_back(frame(std::string_view("\x01", 1)));
        m.set_properties(peer_metadata_);
        pending_.emplace(std::move(m));
    }
    return true;
}

void codec::note_activity(time_point now) noexcept
{
    last_rx_ = now;
    awaiting_since_.reset();
}

} // namespace zmtp
