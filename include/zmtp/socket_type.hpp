// SPDX-License-Identifier: MPL-2.0
// The standard ZeroMQ socket types and which may talk to which (RFC 37,
// "The Socket-Type Property").
#pragma once

#include <optional>
#include <string_view>

namespace zmtp {

enum class socket_type { pair, pub, sub, req, rep, dealer, router, pull, push, xpub, xsub };

// The upper-case name used in the Socket-Type property ("DEALER").
std::string_view to_string(socket_type t) noexcept;

// Parses a Socket-Type value exactly as sent on the wire (upper case).
std::optional<socket_type> socket_type_from_wire(std::string_view name) noexcept;

// Parses a user-supplied name in any case ("dealer", "DEALER").
std::optional<socket_type> socket_type_from_name(std::string_view name) noexcept;

// Whether a socket of type `self` accepts a peer of type `peer`.
bool compatible(socket_type self, socket_type peer) noexcept;

// libzmq REQ, DEALER and ROUTER always announce Identity (possibly empty);
// the other types never do (docs/libzmq-wire.md fact 5).
bool announces_identity(socket_type t) noexcept;

} // namespace zmtp
