// SPDX-License-Identifier: MPL-2.0
// Server-side authentication, in the spirit of ZAP (RFC 27) without the
// extra socket: a server mechanism asks an authenticator about what the
// client presented and accepts or refuses the peer from its answer.
//
// An authenticator answers synchronously (a function returning the result)
// or asynchronously (it is handed a completion to call exactly once, from
// any thread, possibly later). With no authenticator, as libzmq without a
// ZAP handler: PLAIN clients are refused, CURVE clients that know the
// server's key are accepted (encryption without authentication).
#pragma once

#include "zmtp/wire/metadata.hpp"

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace zmtp::security {

// What the client presented. An authenticator gets it for the duration of
// its call: an asynchronous one copies what it needs later.
struct auth_request {
    std::string mechanism; // "NULL", "PLAIN" or "CURVE"
    std::string address;   // the peer's address, when the transport knows it
    std::string username;  // PLAIN
    std::string password;  // PLAIN
    std::optional<std::array<std::byte, 32>> client_key; // CURVE: the client's long-term public key
    metadata peer;         // the properties the client announced (Socket-Type, Identity, ...)
    metadata transport;    // what the transport knows of the peer (e.g. TLS-Subject)
};

// The answer. Status codes are ZAP's: 200 accepted, 300 try again later,
// 400 refused, 500 the authenticator failed.
struct auth_result {
    int status = 200;
    std::string text;    // on refusal: sent to the client in the ERROR reason
    std::string user_id; // on acceptance: the peer's User-Id property
    metadata properties; // on acceptance: further properties of the peer

    bool accepted() const noexcept { return status == 200; }

    static auth_result accept(std::string user_id = {})
    {
        auth_result r;
        r.user_id = std::move(user_id);
        return r;
    }
    static auth_result refuse(int status, std::string text)
    {
        auth_result r;
        r.status = status;
        r.text = std::move(text);
        return r;
    }
};

// "CODE TEXT", the reason a refusal sends in its ERROR command (at most 255
// octets); just "CODE" when the text is empty. libzmq peers report an ERROR
// as an authentication failure (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) only when
// its reason is exactly the three-digit code: refuse with an empty text for
// that.
std::string error_reason(const auth_result& r);

// Overwrites the request's password before it is dropped.
void wipe_password(auth_request& r) noexcept;

using auth_completion = std::function<void(auth_result)>;

class authenticator {
public:
    using sync_function = std::function<auth_result(const auth_request&)>;
    using async_function = std::function<void(const auth_request&, auth_completion)>;

    // None: PLAIN clients are refused (400 "no authenticator"), others accepted.
    authenticator() = default;
    // Answers at once.
    authenticator(sync_function f);
    // Answers through the completion, exactly once.
    static authenticator async(async_function f);

    explicit operator bool() const noexcept { return static_cast<bool>(fn_); }

    void operator()(const auth_request& r, auth_completion done) const;

private:
    async_function fn_;
};

namespace authenticators {

// Accepts everyone; the User-Id is the PLAIN username or the Z85 client key.
authenticator allow_all();
// PLAIN: accepts exactly these username -> password pairs (User-Id: the
// username); refuses others, and any other mechanism, with 400.
authenticator plain_credentials(std::map<std::string, std::string> users);
// CURVE: accepts exactly these client public keys (User-Id: the Z85 key);
// refuses others, and any other mechanism, with 400.
authenticator curve_keys(std::set<std::array<std::byte, 32>> allowed);

} // namespace authenticators
} // namespace zmtp::security
