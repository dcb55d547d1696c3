// SPDX-License-Identifier: MPL-2.0
// The standard ZeroMQ socket types and which may talk to which (RFC 37,
// "The Socket-Type Property"), and the draft types of libzmq 4.3 (RFC 41
// CLIENT/SERVER, 48 RADIO/DISH, 49 SCATTER/GATHER, 51 PEER, 52 CHANNEL).
#pragma once

#include <optional>
#include <string_view>

namespace zmtp {

// The classic types come first, in the order of their ZMTP 2.0 octets
// (src/wire/legacy.cpp checks it); the draft types, which have no ZMTP 2.0
// form, follow.
enum class socket_type {
    pair, pub, sub, req, rep, dealer, router, pull, push, xpub, xsub,
    server, client, radio, dish, gather, scatter, peer, channel
};

// The upper-case name used in the Socket-Type property ("DEALER").
std::string_view to_string(socket_type t) noexcept;

// Parses a Socket-Type value exactly as sent on the wire (upper case).
std::optional<socket_type> socket_type_from_wire(std::string_view name) noexcept;

// Parses a user-supplied name in any case ("dealer", "DEALER").
std::optional<socket_type> socket_type_from_name(std::string_view name) noexcept;

// Whether a socket of type `self` accepts a peer of type `peer`.
bool compatible(socket_type self, socket_type peer) noexcept;

// The draft types: single-part messages only, ZMTP 3 peers only.
bool is_draft(socket_type t) noexcept;

// libzmq REQ, DEALER and ROUTER always announce Identity (possibly empty);
// the other types never do (docs/libzmq-wire.md fact 5).
bool announces_identity(socket_type t) noexcept;

} // namespace zmtp
