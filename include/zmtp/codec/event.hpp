// SPDX-License-Identifier: MPL-2.0
// What the codec reports from the bytes it was fed.
#pragma once

#include "zmtp/message.hpp"
#include "zmtp/security/authenticator.hpp"
#include "zmtp/wire/metadata.hpp"

#include <chrono>
#include <cstdint>
#include <variant>

namespace zmtp {

namespace events {

// Both greetings and the security handshake are done; the peer's
// properties (Socket-Type, Identity, ...) are attached.
struct handshake_complete {
    metadata peer;
};
// A SUBSCRIBE or CANCEL command (ZMTP 3.1 peers), or a DISH's JOIN or
// LEAVE of the group `topic` (RFC 48). ZMTP 3.0 peers send
// subscriptions as ordinary messages whose first octet is 1 or 0.
struct subscribe {
    frame topic;
};
struct cancel {
    frame topic;
};
// The peer pinged us; the codec has already queued the PONG (unless 16
// it queued before are still waiting to go out).
struct ping {
    std::chrono::milliseconds ttl;
    frame context;
};
struct pong {
    frame context;
};
// A server mechanism needs a decision about its client: answer with
// codec::resolve_authentication(). Input waits until then.
struct authenticate {
    security::auth_request request;
};

} // namespace events

using event = std::variant<events::handshake_complete, message, events::subscribe,
                           events::cancel, events::ping, events::pong, events::authenticate>;

} // namespace zmtp
