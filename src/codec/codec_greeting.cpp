// SPDX-License-Identifier: MPL-2.0
// The codec's greeting: sent in stages while an older peer may still be
// served, version detection from the peer's first octets (RFC 23
// §Backwards Interoperability), and the ZMTP 1.0 / 2.0 identity exchange
// and framing (docs/legacy-zmtp.md).
#include "zmtp/codec/codec.hpp"

#include "zmtp/error.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace zmtp {
namespace {

constexpr std::size_t revision_offset = wire::signature_size; // the major version in 3.x
constexpr std::size_t as_server_offset = 32;                   // RFC 23 greeting layout

std::string version_name(zmtp_version v)
{
    switch (v) {
    case zmtp_version::v1_0: return "1.0";
    case zmtp_version::v2_0: return "2.0";
    case zmtp_version::v3_0: return "3.0";
    case zmtp_version::v3_1: return "3.1";
    }
    return "?";
}

} // namespace

void codec::queue_greeting()
{
    wire::greeting ours;
    ours.mechanism = std::string(mechanism_->name());
    ours.as_server = mechanism_->as_server();
    // The signature doubles as a ZMTP 1.0 identity-frame header (captures fact 4).
    greeting_out_ = wire::encode_greeting(ours, options_.routing_id.size() + 1);

    if (ours.mechanism != "NULL")
        legacy_refused_ = "the " + ours.mechanism + " mechanism needs ZMTP 3";
    else if (options_.authenticator)
        legacy_refused_ = "an authenticator needs the ZMTP 3 handshake";
    else if (options_.transport_authenticated)
        legacy_refused_ = "its certificate was checked, so it must speak ZMTP 3";
    else if (!wire::v2_socket_type_octet(options_.type))
        legacy_refused_ = std::string(to_string(options_.type)) + " has no ZMTP 2.0 form";

    // Staged as libzmq does, so that an older peer never reads the rest of a
    // 3.x greeting as frames: even one to be refused then shows what it is
    // (JeroMQ closes at once on frames it cannot read). All at once when
    // only ZMTP 3 is wanted.
    const bool staged = options_.min_zmtp_version < zmtp_version::v3_0;
    greeting_queued_ = staged ? wire::signature_size : wire::greeting_size;
    out_.append_copy(std::span<const std::byte>(greeting_out_).first(greeting_queued_));
    if (options_.trace)
        options_.trace({trace_record::direction::out, trace_record::unit::greeting,
                        wire::greeting_size, false, ours.mechanism, ours.major, ours.minor});
}

std::string codec::legacy_refusal(zmtp_version v) const
{
    if (!legacy_refused_.empty())
        return legacy_refused_;
    if (v < options_.min_zmtp_version)
        return "min_zmtp_version is " + version_name(options_.min_zmtp_version);
    return {};
}

std::string codec::not_zmtp_reason() const
{
    const auto first = std::to_integer<unsigned char>(greeting_in_[0]);
    if (first == 0xff)
        return "not a ZMTP greeting: ZMTP 1.0 signature with a long identity frame";
    const bool text = std::isprint(first) || std::isspace(first);
    char buf[128];
    std::snprintf(buf, sizeof buf, "not a ZMTP greeting: first octet 0x%02x%s", first,
                  text ? " (text, e.g. an HTTP request)" : " (not a ZMTP 1.0 identity frame)");
    std::string reason = buf;
    if (const auto why = legacy_refusal(zmtp_version::v1_0); !why.empty())
        reason = "not a ZMTP 3 greeting: first octet " + reason.substr(reason.find("0x")) +
                 "; ZMTP 1.0 peers are refused: " + why;
    return reason;
}

std::size_t codec::feed_greeting(std::span<const std::byte> bytes)
{
    std::size_t used = 0;
    while (used < bytes.size() && state_ == state::greeting) {
        const std::size_t want = greeting_wanted();
        const std::size_t n = std::min(bytes.size() - used, want - greeting_have_);
        std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(used), n,
                    greeting_in_.begin() + static_cast<std::ptrdiff_t>(greeting_have_));
        greeting_have_ += n;
        used += n;
        if (greeting_have_ < want)
            break;
        greeting_step();
    }
    return used;
}

// How many octets of the peer's greeting the next decision needs.
std::size_t codec::greeting_wanted() const noexcept
{
    if (greeting_have_ == 0 || std::to_integer<std::uint8_t>(greeting_in_[0]) != 0xff)
        return 1;
    if (greeting_have_ < wire::signature_size + 1)
        return greeting_have_ < wire::signature_size ? wire::signature_size : wire::signature_size + 1;
    return std::to_integer<std::uint8_t>(greeting_in_[revision_offset]) < 3 ? wire::v2_greeting_size
                                                                             : wire::greeting_size;
}

void codec::greeting_step()
{
    const auto seen = std::span<const std::byte>(greeting_in_.data(), greeting_have_);
    const auto kind = wire::classify_signature(seen);
    if (kind == wire::signature_kind::incomplete)
        return;
    if (kind == wire::signature_kind::unversioned) {
        if (greeting_have_ == 1 && legacy_refusal(zmtp_version::v1_0).empty())
            start_unversioned();
        else
            fail(make_error_code(error::not_zmtp), not_zmtp_reason());
        return;
    }
    const auto revision = std::to_integer<std::uint8_t>(greeting_in_[revision_offset]);
    if (greeting_have_ == wire::signature_size) {
        if (greeting_queued_ == wire::signature_size)
            out_.append_copy(std::span<const std::byte>(greeting_out_).subspan(greeting_queued_++, 1));
        return;
    }
    if (greeting_have_ == wire::signature_size + 1) {
        if (revision >= 3) {
            if (greeting_queued_ < wire::greeting_size)
                out_.append_copy(std::span<const std::byte>(greeting_out_).subspan(greeting_queued_));
            greeting_queued_ = wire::greeting_size;
            return;
        }
        // libzmq reads revision 2 as 3.x and RFC 23 as 2.0; nothing sends it.
        const zmtp_version v = revision == 0 ? zmtp_version::v1_0 : zmtp_version::v2_0;
        const std::string why = revision == 2 ? "no ZMTP revision 2 exists" : legacy_refusal(v);
        if (!why.empty())
            fail(make_error_code(error::unsupported_version),
                 "peer speaks ZMTP " + (revision == 2 ? std::string("2.x") : version_name(v)) +
                     "; refused: " + why);
        return;
    }
    if (revision < 3) {
        start_versioned_legacy();
        return;
    }
    finish_zmtp3_greeting();
}

void codec::finish_zmtp3_greeting()
{
    const auto r = wire::parse_greeting(std::span<const std::byte>(greeting_in_.data(), greeting_have_));
    if (r.state != wire::greeting_result::status::complete) {
        const auto srv = std::to_integer<unsigned>(greeting_in_[as_server_offset]);
        fail(r.error, srv > 1 ? "malformed greeting: as-server octet " + std::to_string(srv) + " is neither 0 nor 1"
                              : std::string("malformed greeting: invalid mechanism name"));
        return;
    }
    peer_greeting_ = r.value;
    if (options_.trace)
        options_.trace({trace_record::direction::in, trace_record::unit::greeting,
                        wire::greeting_size, false, r.value.mechanism, r.value.major,
                        r.value.minor});
    peer_minor_ = (r.value.major > 3 || r.value.minor >= 1) ? 1 : 0;
    peer_version_ = peer_minor_ ? zmtp_version::v3_1 : zmtp_version::v3_0;
    state_ = state::handshake;
    if (peer_version_ < options_.min_zmtp_version) {
        fail(make_error_code(error::unsupported_version),
             "peer speaks ZMTP 3.0; refused: min_zmtp_version is 3.1", true);
        return;
    }
    if (r.value.mechanism != mechanism_->name()) {
        fail(make_error_code(error::mechanism_mismatch),
             "peer uses mechanism " + r.value.mechanism + ", we use " +
                 std::string(mechanism_->name()),
             true);
        return;
    }
    metadata local;
    local.add("Socket-Type", std::string(to_string(options_.type)));
    if (announces_identity(options_.type))
        local.add("Identity", options_.routing_id);
    for (const auto& p : options_.properties)
        local.add(p.name, p.value);
    scratch_.clear();
    mechanism_->start(local, scratch_);
    after_mechanism();
}

// A ZMTP 1.0 peer: its first octet starts its identity frame, and the
// signature we sent was the header of ours.
void codec::start_unversioned()
{
    unversioned_ = true;
    framing_ = framing::zmtp1;
    peer_version_ = zmtp_version::v1_0;
    identity_pending_ = true;
    state_ = state::handshake;
    header_in_[0] = greeting_in_[0];
    header_have_ = 1;
    if (parse_header({header_in_.data(), 1}).state == wire::frame_header_result::status::invalid) {
        fail(make_error_code(error::not_zmtp), not_zmtp_reason());
        return;
    }
    if (options_.trace)
        options_.trace({trace_record::direction::in, trace_record::unit::greeting, 0, false, {}, 1, 0});
}

// A 2.0 greeting (revision 1), or a 1.0 peer that sent one (revision 0):
// answer with our socket type and identity frame in its framing.
void codec::start_versioned_legacy()
{
    const auto revision = std::to_integer<std::uint8_t>(greeting_in_[revision_offset]);
    const auto type_octet = std::to_integer<std::uint8_t>(greeting_in_[revision_offset + 1]);
    framing_ = revision == 0 ? framing::zmtp1 : framing::zmtp2;
    peer_version_ = revision == 0 ? zmtp_version::v1_0 : zmtp_version::v2_0;
    state_ = state::handshake;
    if (options_.trace)
        options_.trace({trace_record::direction::in, trace_record::unit::greeting, wire::v2_greeting_size,
                        false, {}, revision + 1, 0});
    peer_type_ = wire::socket_type_from_v2(type_octet);
    if (!peer_type_) {
        fail(make_error_code(error::invalid_socket_type),
             "unknown ZMTP 2.0 socket type " + std::to_string(type_octet));
        return;
    }
    if (!compatible(options_.type, *peer_type_)) {
        fail(make_error_code(error::incompatible_socket_type),
             std::string(to_string(options_.type)) + " cannot talk to " +
                 std::string(to_string(*peer_type_)));
        return;
    }
    scratch_.clear();
    scratch_.push_back(std::byte{*wire::v2_socket_type_octet(options_.type)});
    out_.append_copy(scratch_);
    scratch_.clear();
    std::byte header[wire::max_v1_frame_header_size];
    const auto& id = options_.routing_id;
    scratch_.insert(scratch_.end(), header, header + encode_header(header, false, id.size()));
    const auto* p = reinterpret_cast<const std::byte*>(id.data());
    scratch_.insert(scratch_.end(), p, p + id.size());
    queue_frames(scratch_);
    identity_pending_ = true;
}

// The peer's identity frame is in: the handshake is done.
void codec::legacy_identity(std::span<const std::byte> body)
{
    identity_pending_ = false;
    if (options_.trace)
        trace_frame(trace_record::direction::in, current_, {});
    if (unversioned_) {
        // The rest of our identity frame, whose header was the signature.
        const auto* p = reinterpret_cast<const std::byte*>(options_.routing_id.data());
        out_.append_copy({p, options_.routing_id.size()});
        subscribe_all_ = options_.type == socket_type::pub || options_.type == socket_type::xpub;
    }
    metadata announced;
    if (peer_type_)
        announced.add("Socket-Type", std::string(to_string(*peer_type_)));
    announced.add("Identity", std::string(reinterpret_cast<const char*>(body.data()), body.size()));
    complete_handshake(announced);
}

wire::frame_header_result codec::parse_header(std::span<const std::byte> bytes) const noexcept
{
    switch (framing_) {
    case framing::zmtp3: break;
    case framing::zmtp2: return wire::parse_v2_frame_header(bytes);
    case framing::zmtp1: return wire::parse_v1_frame_header(bytes);
    }
    return wire::parse_frame_header(bytes);
}

std::size_t codec::encode_header(std::byte* out, bool more, std::uint64_t size) const noexcept
{
    switch (framing_) {
    case framing::zmtp3: break;
    case framing::zmtp2: return wire::encode_v2_frame_header(out, more, size);
    case framing::zmtp1: return wire::encode_v1_frame_header(out, more, size);
    }
    return wire::encode_frame_header(out, more, false, size);
}

} // namespace zmtp
