// SPDX-License-Identifier: MPL-2.0
// ZMTP over WebSocket (ZWS 2.0, RFC 45; docs/websocket.md), without I/O.
//
// A ZWS peer sends no greeting: the WebSocket subprotocol says which
// mechanism runs ("ZWS2.0/NULL", "ZWS2.0/PLAIN", "ZWS2.0/CURVE"), or that
// none does ("ZWS2.0": an identity message, then messages, as ZMTP 2.0).
// Each ZMTP frame is one binary WebSocket message: a flags octet (01 MORE,
// 02 COMMAND) and the body. These translators let the codec run unchanged:
//
//   zws_decoder  WebSocket messages in -> the ZMTP byte stream the codec
//                reads, starting with a greeting made up for the peer from
//                the subprotocol (ZMTP 3.1, or 2.0 for "ZWS2.0")
//   zws_encoder  the codec's output -> one WebSocket message per frame; our
//                own greeting is dropped
//
// As libzmq 4.3.5 does over ws://: subscriptions travel as messages whose
// first octet is 1 (subscribe) or 0 (cancel), and PING and PONG are
// WebSocket ping and pong control frames.
#pragma once

#include "zmtp/socket_type.hpp"
#include "zmtp/wire/frame.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace zmtp {

// A ZWS 2.0 subprotocol.
struct zws_protocol {
    // "NULL", "PLAIN" or "CURVE"; empty for the bare "ZWS2.0".
    std::string mechanism;

    bool legacy() const noexcept { return mechanism.empty(); }
    // "ZWS2.0/NULL", or "ZWS2.0".
    std::string name() const;
    // The subprotocol of that name, if it is one.
    static std::optional<zws_protocol> parse(std::string_view name);

    friend bool operator==(const zws_protocol&, const zws_protocol&) = default;
};

// What a client offers in Sec-WebSocket-Protocol for our mechanism.
std::string zws_offer(std::string_view mechanism);

// What a server answers to `offered` (the client's Sec-WebSocket-Protocol
// values, comma-separated): the subprotocol of our mechanism, or for NULL
// the bare "ZWS2.0" when that is all the client knows (jszmq) and `bare`
// allows it (the codec serves ZMTP 2.0 peers). Nothing otherwise.
std::optional<zws_protocol> zws_select(std::string_view offered, std::string_view mechanism,
                                       bool bare = true);

// The peer's side of the connection, as the codec is to see it.
class zws_decoder {
public:
    // `peer_as_server`: the peer's mechanism role (the opposite of ours).
    // `ours`: our socket type; for "ZWS2.0", where the peer names none, the
    // made-up greeting names a type ours can talk to.
    zws_decoder(const zws_protocol& protocol, bool peer_as_server, socket_type ours);

    // One whole binary WebSocket message from the peer. Its bytes are read
    // in place: they must stay valid until body_pending() is false. Fails
    // with malformed_frame for an empty message, flag bits other than MORE
    // and COMMAND (MORE alone for "ZWS2.0"), or MORE on a command; the
    // decoder is unusable after that.
    std::error_code message(std::span<const std::byte> payload);
    // The peer answered our ping: a PONG command for the codec (ZMTP 3 only).
    void pong();

    // The next bytes for the codec; empty when all have been taken.
    std::span<const std::byte> pending() const noexcept;
    void consume(std::size_t n) noexcept;
    // A message's body is still being taken (its bytes are still needed).
    bool body_pending() const noexcept { return !body_.empty(); }

private:
    void append_header(bool more, bool command, std::uint64_t size);

    bool legacy_;
    std::vector<std::byte> head_; // made-up greeting, frame headers, PONGs
    std::size_t head_taken_ = 0;
    std::span<const std::byte> body_;
    bool failed_ = false;
};

// Our side: the codec's output cut into WebSocket messages.
class zws_encoder {
public:
    enum class kind { binary, ping, pong };

    // A WebSocket message: `prefix` (the flags octet, and for a
    // subscription its 1 or 0 octet), then `held` (bytes the encoder keeps:
    // command bodies and bodies given to keep()), then any body bytes
    // take() has returned since.
    struct message {
        kind type = kind::binary;
        std::array<std::byte, 2> prefix_bytes{};
        std::size_t prefix_size = 0;
        std::span<const std::byte> held;

        std::span<const std::byte> prefix() const noexcept { return {prefix_bytes.data(), prefix_size}; }
    };

    struct step {
        std::size_t used = 0;            // bytes of the input taken
        std::span<const std::byte> body; // of those, message body (a part of the input)
        bool finished = false;           // they complete a message: see finished()
    };

    explicit zws_encoder(const zws_protocol& protocol);

    // Takes codec output, up to the end of one WebSocket message. Greeting
    // and frame headers are consumed here, command bodies copied; the body
    // of a message frame is returned, not copied. Fails with
    // malformed_frame on output that is not ZMTP framing.
    step take(std::span<const std::byte> bytes, std::error_code& ec);
    // Keeps a copy of body bytes take() returned, when the message cannot
    // be finished before they go away.
    void keep(std::span<const std::byte> body);
    // The message the last take() finished; valid until next().
    const message& finished() const noexcept { return out_; }
    void next();

private:
    void finish_command();

    bool legacy_;
    std::size_t greeting_left_;
    std::array<std::byte, wire::max_frame_header_size> header_{};
    std::size_t header_have_ = 0;
    bool in_body_ = false;
    bool command_ = false;
    std::uint64_t body_left_ = 0;
    std::vector<std::byte> held_;
    message out_;
};

} // namespace zmtp
