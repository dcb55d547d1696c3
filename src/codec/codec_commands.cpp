// SPDX-License-Identifier: MPL-2.0
// The codec's commands: the security mechanism's handshake up to the peer's
// metadata, then PING, PONG, SUBSCRIBE/CANCEL, JOIN/LEAVE and ERROR in the
// ready state.
#include "zmtp/codec/codec.hpp"

#include "zmtp/error.hpp"
#include "zmtp/printable.hpp"
#include "zmtp/wire/command.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

namespace zmtp {
namespace {

// PONGs queued and not yet sent, at most (reliability invariant 4).
constexpr std::size_t max_waiting_pongs = 16;

} // namespace

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
    ++deadline_version_; // the heartbeat deadlines replace the handshake's
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
        ++deadline_version_;
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

} // namespace zmtp
