// SPDX-License-Identifier: MPL-2.0
// The sans-I/O ZMTP codec: greeting, security handshake, framing and the
// ZMTP 3.1 commands, for one connection; ZMTP 1.0 and 2.0 peers are served
// in their own framing when the options allow (docs/legacy-zmtp.md). It never does I/O, never reads a
// clock and never blocks: bytes and time go in, events and bytes come out.
//
//   feed(bytes, now) -> bytes consumed      next_event() -> event
//   send(message)                           pending_output() / consume_output(n)
//   next_timeout()                          handle_timeout(now)
//
// State: greeting -> handshake -> ready, or failed from anywhere. A failed
// codec stays failed and says why (error(), error_reason()); it may still
// have an ERROR command in its output for the peer.
//
// Input holds at most one event: feed() stops consuming as soon as an event
// is ready and consumes nothing until next_event() took it. That is the
// backpressure point for the layers above.
//
// A server mechanism (PLAIN, CURVE) reports events::authenticate; input
// then waits for resolve_authentication(). After the handshake, a mechanism
// that protects traffic (CURVE) seals every frame sent and opens every
// frame received; above the codec nothing changes.
#pragma once

#include "zmtp/codec/event.hpp"
#include "zmtp/codec/options.hpp"
#include "zmtp/codec/output_queue.hpp"
#include "zmtp/detail/fifo.hpp"
#include "zmtp/error.hpp"
#include "zmtp/message.hpp"
#include "zmtp/wire/frame.hpp"
#include "zmtp/wire/greeting.hpp"
#include "zmtp/wire/legacy.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace zmtp {

class codec {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    enum class state { greeting, handshake, ready, failed };

    // Queues our greeting: its 10-octet signature only, the rest following
    // as the peer's greeting arrives (as libzmq does), unless
    // min_zmtp_version is 3.0 or later. The handshake deadline starts now.
    codec(codec_options options, time_point now);

    codec(const codec&) = delete;
    codec& operator=(const codec&) = delete;
    ~codec();

    // ---- input ----

    // Consumes bytes from the peer; returns how many were used. Stops early
    // when an event is ready or the codec failed.
    std::size_t feed(std::span<const std::byte> bytes, time_point now);

    // While a message frame's body is being received: where the rest of it
    // may be read directly (zero copy), else empty. Bytes written there are
    // handed over with commit_body().
    std::span<std::byte> body_target();
    void commit_body(std::size_t n, time_point now);

    bool has_event() const noexcept { return pending_.has_value(); }
    std::optional<event> next_event();
    // The same, moved into `out` (one move, where the optional costs two or
    // three on its way to a caller's event); false, `out` untouched, when
    // no event waits.
    bool next_event(event& out);

    // The answer to events::authenticate. Ignored unless one is awaited.
    void resolve_authentication(const security::auth_result& result);
    bool awaiting_authentication() const noexcept { return awaiting_auth_; }

    // ---- output ----

    // Queues a message (one or more frames). Only once ready. Moves none
    // of the deadlines next_timeout() gives.
    std::error_code send(const message& m);
    // Subscriptions in the form the peer understands: SUBSCRIBE/CANCEL
    // commands to ZMTP 3.1 peers, 0x01/0x00 data frames to 3.0 peers
    // (docs/libzmq-wire.md fact 7); a DISH's codec sends JOIN/LEAVE of
    // the group instead (RFC 48).
    std::error_code send_subscribe(std::span<const std::byte> topic);
    std::error_code send_cancel(std::span<const std::byte> topic);

    bool has_output() const noexcept { return !out_.empty(); }
    std::size_t pending_output_size() const noexcept { return out_.size(); }
    // Messages send() queued that are not yet consumed to their last byte.
    std::size_t unsent_messages() const noexcept { return out_.unfinished_messages(); }
    // Front of the output as spans for one gather write; they stay valid
    // until consume_output(), even if more is queued meanwhile.
    std::span<const std::span<const std::byte>> pending_output() { return out_.front_spans(); }
    void consume_output(std::size_t n) noexcept
    {
        out_.consume(n);
        sent_ += n;
    }

    // ---- time ----

    // The next instant handle_timeout() must be called, if any.
    std::optional<time_point> next_timeout() const noexcept;
    // Changes whenever next_timeout() may have come earlier (the handshake
    // completing, a PING with a TTL, handle_timeout()). While it stays the
    // same, next_timeout() comes no earlier than it was: data from the peer
    // only moves deadlines later, and send() moves none. A caller that
    // armed a timer for next_timeout() need not ask again until it changes.
    std::uint64_t deadline_version() const noexcept { return deadline_version_; }
    // Handshake deadline, heartbeat PINGs, heartbeat timeout, peer TTL, and
    // whether a peer without PING (ZMTP 3.0 and older) reads its output.
    void handle_timeout(time_point now);

    // ---- state ----

    state current_state() const noexcept { return state_; }
    bool is_ready() const noexcept { return state_ == state::ready; }
    bool is_failed() const noexcept { return state_ == state::failed; }
    std::error_code error() const noexcept { return error_; }
    const std::string& error_reason() const noexcept { return reason_; }

    // The failure is the peer's silence (heartbeat timeout, TTL expiry):
    // nothing still queued for it will be read.
    bool peer_presumed_gone() const noexcept
    {
        return error_ == zmtp::error::heartbeat_timeout || error_ == zmtp::error::ttl_expired;
    }
    // Fails the codec locally (e.g. the stream ended); tells the peer with
    // an ERROR command when `notify_peer` and the framing allows it.
    void fail(std::error_code ec, std::string reason, bool notify_peer = false);
    // The stream ended: fails with connection_closed and a reason that says
    // how far the conversation had got.
    void peer_closed();

    const codec_options& options() const noexcept { return options_; }
    // The peer's greeting, once received.
    const std::optional<wire::greeting>& peer_greeting() const noexcept { return peer_greeting_; }
    // Negotiated ZMTP 3 minor version: 1 for 3.1 (and newer) peers, 0 for
    // 3.0 and for 1.0/2.0 peers (subscriptions as data frames, no PING).
    int peer_minor_version() const noexcept { return peer_minor_; }
    // What the peer speaks, once its greeting is in.
    zmtp_version peer_zmtp_version() const noexcept { return peer_version_; }
    // The peer's properties once ready: what it announced, then Peer-Address,
    // the transport's properties and what authentication added (User-Id).
    const metadata& peer_metadata() const noexcept { return *peer_metadata_; }
    std::optional<socket_type> peer_socket_type() const noexcept { return peer_type_; }

private:
    enum class phase { header, command_body, message_body, sealed_body };
    enum class framing { zmtp3, zmtp2, zmtp1 };

    // greeting and version negotiation (codec_greeting.cpp)
    void queue_greeting();
    std::size_t feed_greeting(std::span<const std::byte> bytes);
    std::size_t greeting_wanted() const noexcept;
    void greeting_step();
    void finish_zmtp3_greeting();
    void start_unversioned();
    void start_versioned_legacy();
    std::string legacy_refusal(zmtp_version v) const;
    std::string not_zmtp_reason() const;
    void legacy_identity(std::span<const std::byte> body);
    wire::frame_header_result parse_header(std::span<const std::byte> bytes) const noexcept;
    std::size_t encode_header(std::byte* out, bool more, std::uint64_t size) const noexcept;

    std::size_t feed_frames(std::span<const std::byte> bytes);
    std::size_t read_header(std::span<const std::byte> bytes);
    void begin_frame(const wire::frame_header& h);
    void finish_message_frame(frame f);
    frame_builder& body_builder();
    void body_received(std::size_t n);
    // Takes from (or gives back to) options_.inflight_budget what the message
    // in progress holds beyond its free share; fails the codec when the
    // budget is spent (false).
    bool charge_inflight();
    void release_inflight() noexcept;
    void handle_command(std::span<const std::byte> body);
    void after_mechanism();
    std::error_code check_message_frame(std::uint64_t size);
    void open_sealed(std::span<std::byte> wire_body, frame storage);
    void seal_frame(bool more, bool command, std::span<const std::byte> body);
    void handle_traffic_command(std::span<const std::byte> body);
    void complete_handshake(const metadata& announced);
    // Queues whole frames built in scratch_ (commands), tracing them.
    void queue_frames(const std::vector<std::byte>& frames);
    void trace_frame(trace_record::direction dir, const wire::frame_header& h,
                     std::span<const std::byte> body);
    void note_activity(time_point now) noexcept;
    // How long a PING may go unanswered, or output unread by a peer without PING.
    std::chrono::milliseconds heartbeat_timeout() const noexcept
    {
        return options_.heartbeat.timeout.count() > 0 ? options_.heartbeat.timeout : options_.heartbeat.interval;
    }
    std::error_code check_can_send() const noexcept;
    std::error_code send_subscription(std::span<const std::byte> topic, bool subscribe);

    codec_options options_;
    std::unique_ptr<security::mechanism> mechanism_;
    state state_ = state::greeting;
    std::error_code error_;
    std::string reason_;
    time_point now_;

    // greeting
    std::array<std::byte, wire::greeting_size> greeting_in_{};
    std::size_t greeting_have_ = 0;
    std::optional<wire::greeting> peer_greeting_;
    int peer_minor_ = 0;
    zmtp_version peer_version_ = zmtp_version::v3_1;
    std::array<std::byte, wire::greeting_size> greeting_out_{};
    std::size_t greeting_queued_ = 0; // octets of greeting_out_ queued so far
    std::string legacy_refused_;      // why no 1.0/2.0 peer is served; empty: they are

    // ZMTP 1.0 / 2.0 peers
    framing framing_ = framing::zmtp3;
    bool unversioned_ = false;     // a 1.0 peer without signature
    bool identity_pending_ = false; // its identity frame comes next
    bool subscribe_all_ = false;   // report a subscription to everything once ready

    // framing
    phase phase_ = phase::header;
    std::array<std::byte, wire::max_v1_frame_header_size> header_in_{};
    std::size_t header_have_ = 0;
    wire::frame_header current_;
    std::uint64_t body_remaining_ = 0;
    std::vector<std::byte> command_body_; // also the body of a small sealed frame
    std::optional<frame_builder> builder_;
    message partial_;
    std::size_t partial_bytes_ = 0;
    std::size_t inflight_taken_ = 0; // from options_.inflight_budget
    std::optional<event> pending_;

    // security
    bool awaiting_auth_ = false;
    bool sealed_ = false; // traffic goes through mechanism_->seal() / open()
    security::auth_result auth_result_;

    // peer
    std::shared_ptr<const metadata> peer_metadata_;
    std::optional<socket_type> peer_type_;

    // output
    output_queue out_;
    std::vector<std::byte> scratch_;
    std::uint64_t sent_ = 0;              // output octets consumed so far
    detail::fifo<std::uint64_t> pong_ends_; // where each PONG not yet sent ends, counted as sent_

    // time
    time_point handshake_deadline_;
    time_point last_rx_;
    std::optional<time_point> next_ping_;
    std::optional<time_point> awaiting_since_; // first unanswered PING since last traffic
    // Peers without PING (ZMTP 3.0 and older): output checked every
    // heartbeat interval; a stall is output waiting with sent_ still at
    // stall_mark_.
    std::optional<time_point> next_stall_check_;
    std::optional<time_point> stalled_since_;
    std::uint64_t stall_mark_ = 0;
    std::chrono::milliseconds peer_ttl_{0};
    std::uint64_t deadline_version_ = 0;
};

} // namespace zmtp
