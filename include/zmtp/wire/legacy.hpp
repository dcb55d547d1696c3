// SPDX-License-Identifier: MPL-2.0
// What ZMTP 1.0 (RFC 13) and 2.0 (RFC 15) peers send, and how to tell them
// from ZMTP 3 peers by their first octets (RFC 23 §Backwards
// Interoperability; docs/legacy-zmtp.md).
//
//   2.0 greeting  ff 8*padding 7f  revision(01)  socket-type   12 octets
//   2.0 frame     flags (01 MORE, 02 LONG)  size: 1 or 8 octets  body
//   1.0 frame     length: 1 octet, or ff + 8 octets (counts the flags)
//                 flags (01 MORE)  body
//
// Both begin with an identity frame. A 1.0 peer has no greeting at all: its
// identity frame comes first.
#pragma once

#include "zmtp/socket_type.hpp"
#include "zmtp/wire/frame.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace zmtp::wire {

// A ZMTP 1.0 frame header: up to 9 length octets and the flags octet.
inline constexpr std::size_t max_v1_frame_header_size = 10;
// The ZMTP 2.0 greeting: signature, revision, socket type.
inline constexpr std::size_t v2_greeting_size = 12;
// Identities of 1.0/2.0 peers are at most 255 octets (RFC 13, RFC 15).
inline constexpr std::size_t max_legacy_identity = 255;

// What the first octets say about the peer.
enum class signature_kind {
    incomplete, // fewer octets than needed to tell
    unversioned, // ZMTP 1.0: no signature, this is an identity frame
    versioned,  // a signature: the revision octet follows
};

// Looks at up to the first 10 octets. A first octet other than ff, or bit 0
// of octet 9 clear (a 1.0 long frame's flags), is a ZMTP 1.0 peer.
signature_kind classify_signature(std::span<const std::byte> bytes) noexcept;

// ZMTP 2.0 frame header. Refuses reserved flag bits 2-7 and sizes above
// 2^63-1 (malformed_frame). `command` is always false.
frame_header_result parse_v2_frame_header(std::span<const std::byte> bytes) noexcept;
// Writes a 2.0 header (short form up to 255 octets) into `out`, at least
// max_frame_header_size octets; returns its size.
std::size_t encode_v2_frame_header(std::byte* out, bool more, std::uint64_t size) noexcept;

// ZMTP 1.0 frame header; `size` is the body's, without the flags octet.
// Refuses a length of 0 (no room for the flags), flag bits other than MORE
// and sizes above 2^63-1 (malformed_frame).
frame_header_result parse_v1_frame_header(std::span<const std::byte> bytes) noexcept;
// Writes a 1.0 header into `out`, at least max_v1_frame_header_size
// octets; returns its size.
std::size_t encode_v1_frame_header(std::byte* out, bool more, std::uint64_t size) noexcept;

// The 2.0 socket-type octet (libzmq's ZMQ_PAIR .. ZMQ_XSUB), if the type
// has one.
std::optional<std::uint8_t> v2_socket_type_octet(socket_type t) noexcept;
std::optional<socket_type> socket_type_from_v2(std::uint8_t octet) noexcept;

} // namespace zmtp::wire
