// SPDX-License-Identifier: MPL-2.0
// The codec's output: messages and subscriptions framed (or sealed) into
// the output queue, frames traced, and failing with an ERROR for the peer.
#include "zmtp/codec/codec.hpp"

#include "zmtp/error.hpp"
#include "zmtp/wire/command.hpp"

#include <string>
#include <utility>

namespace zmtp {

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

} // namespace zmtp
