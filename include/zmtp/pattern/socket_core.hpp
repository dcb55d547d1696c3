// SPDX-License-Identifier: MPL-2.0
// The socket layer without I/O: what the codec is to a connection, this is
// to a socket. It owns the peers, each in one explicit state, their queues
// and high-water marks, the routing strategy's attach/detach, the waiting
// sends and receives (as opaque tokens), linger and the monitor events it
// decides on. Events come in as calls; what the I/O side must do comes out
// as actions(). It knows no Asio and no clock: time comes in as `now`.
//
// Peer states (one per peer, changed only in socket_core::enter):
//   pending      a connect()'s peer with no connection; attached to the
//                strategy as pending (libzmq queues for it) unless immediate
//   handshaking  a connection exists, its handshake is not over
//   ready        attached to the strategy; messages flow
//   draining     the connection is gone, received messages are still read
//   lingering    the socket closed; what was queued is being flushed
//
// A close with linger keeps a connect()'s peer that has messages queued but
// no connection yet (pending or handshaking): it lingers once it has one.
#pragma once

#include "zmtp/detail/fifo.hpp"
#include "zmtp/message.hpp"
#include "zmtp/pattern/strategy.hpp"
#include "zmtp/socket_options.hpp"
#include "zmtp/socket_type.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace zmtp::pattern {

enum class peer_state : std::uint8_t { pending, handshaking, ready, draining, lingering };

// The monitor events the core decides on (the I/O side reports the others:
// listening, accepted, connected, retries).
enum class peer_event : std::uint8_t { handshake_succeeded, handshake_failed, disconnected, message_dropped };

class socket_core final : private peer_queues {
public:
    using time_point = std::chrono::steady_clock::time_point;
    // Names a waiting send or receive for the I/O side.
    using token = std::uint64_t;

    // What the monitor event of an action says, beside its type.
    struct event_details {
        std::string endpoint;
        std::string address;
        std::string routing_id;
        std::string reason;
    };

    // Small and trivially destructible: one is made per message sent.
    // Messages and monitor details are held beside the list (payload(),
    // details()).
    struct action {
        enum class kind : std::uint8_t {
            write,              // the peer has output: take it with drain_output()
            write_subscription, // send SUBSCRIBE/CANCEL, the topic in payload() (on: subscribe)
            resume_reading,     // the peer's receive queue has room again
            abort,              // close the peer's connection at once
            flush_and_close,    // drain_output() all, then close; report link_flushed()
            lost,               // the peer's connection is gone: a connect()'s peer reconnects
            release,            // the peer is gone from the core: drop what is held for it
            send_done,          // complete send `tok` with `ec`
            receive_done,       // complete receive `tok` with `ec` and payload()
            monitor,            // report `event` with details(); an empty `ec` on handshake_failed
                                // or disconnected: the error the connection reported
            timer,              // call timer() at `at`; time_point::max(): no timer needed
            close_done,         // the close is over: linger satisfied or given up
                                // (dropped_at_close() counts what was lost)
        };
        kind what;
        bool on = false;
        peer_event event = peer_event::message_dropped;
        std::uint32_t extra = 0; // index of the payload or the details
        peer_id peer = 0;
        token tok = 0;
        std::error_code ec;
        time_point at{};
    };

    // Ends the reason of the event after which a connect()'s peer stops
    // reconnecting (socket_options::reconnect_stop).
    static constexpr std::string_view not_reconnecting = " (reconnect_stop: not reconnecting)";

    socket_core(socket_type type);
    ~socket_core() override;
    socket_core(const socket_core&) = delete;
    socket_core& operator=(const socket_core&) = delete;

    socket_type type() const noexcept { return type_; }
    // Read when the strategy is made (first use) and at each decision.
    socket_options& options() noexcept { return options_; }
    const socket_options& options() const noexcept { return options_; }
    // Whether message_dropped events are reported (a monitor listens).
    void report_drops(bool on) noexcept { report_drops_ = on; }

    // ---- events from the I/O side ----
    // A connect()'s peer: pending until link_started(), kept across
    // reconnects. A ROUTER's takes options().connect_routing_id (and
    // clears it) as its routing id.
    peer_id add_connect(std::string endpoint);
    // An accepted (or attached) connection: a new peer, handshaking.
    peer_id add_accepted(std::string endpoint, std::string address);
    // A connect()'s peer got a connection.
    void link_started(peer_id p, std::string endpoint, std::string address);
    // The handshake is over; `identity` is the peer's Identity property.
    void handshake_done(peer_id p, std::string identity);
    // A message from the peer. False: stop reading until resume_reading.
    bool message_read(peer_id p, message& m);
    // A SUBSCRIBE (on) or CANCEL command from the peer.
    void subscription_read(peer_id p, std::span<const std::byte> topic, bool on);
    // The peer's connection wrote what it had: it can take more.
    void link_written(peer_id p);
    // The peer's connection ended; `reason` says why, in words. `refused`:
    // its handshake failed on the peer's or the protocol's word (an ERROR, a
    // refused authentication, a protocol error), not by the stream's end
    // or a deadline; a connect()'s peer then stops reconnecting when
    // options().reconnect_stop.handshake_failed is set.
    void link_closed(peer_id p, std::string reason, bool refused = false);
    // An attempt of connect()'s peer `p` failed before its stream reached
    // ZMTP: the connection was refused (`connection_refused`) or its TLS
    // or WebSocket handshake failed. True when options().reconnect_stop
    // says to stop: the peer is then gone, as after remove().
    bool connect_failed(peer_id p, bool connection_refused);
    // A lingering peer's connection flushed and closed.
    void link_flushed(peer_id p);
    // The connection an abort action cut held `n` messages it had not
    // completely written; after close() they count as dropped_at_close().
    void unsent_at_close(peer_id p, std::size_t n) noexcept;
    // disconnect(): the peer goes, whatever its state.
    void remove(peer_id p);
    void timer(time_point now);

    // ---- the application ----
    std::error_code try_send(message& m);
    std::error_code try_receive(message& m);
    // Completed by a send_done / receive_done action, in order. With a
    // send_timeout / receive_timeout, one still waiting at `now` + timeout
    // completes with std::errc::timed_out, having queued or taken nothing.
    // `now` is read only when the timeout is set.
    void send(token t, message m, time_point now);
    void receive(token t, time_point now);
    // A waiting send or receive completes at once with
    // std::errc::operation_canceled, having queued or taken nothing. False:
    // `t` is not waiting (it completed, maybe among the actions).
    bool cancel(token t);
    // Cancels every waiting send and receive.
    void cancel_all();
    std::error_code subscribe(std::span<const std::byte> topic, bool on);
    void close(time_point now);
    bool closed() const noexcept { return closed_; }
    // Closed, and still delivering for linger.
    bool closing() const noexcept { return closed_ && !close_done_; }

    // ---- output ----
    // Actions decided since the last clear_actions(), in order. Calls made
    // while carrying them out append to the same list.
    std::vector<action>& actions() noexcept { return actions_; }
    message& payload(const action& a) noexcept { return payloads_[a.extra]; }
    event_details& details(const action& a) noexcept { return details_[a.extra]; }
    void clear_actions() noexcept
    {
        actions_.clear();
        payloads_.clear();
        details_.clear();
    }
    // Hands a ready (or lingering) peer's queued messages, oldest first, to
    // `write`, which returns false to stop before taking the one it was
    // given (and leaves it as it was); one it takes, it may move from.
    template <class Write>
    void drain_output(peer_id p, Write&& write)
    {
        peer* pr = find(p);
        if (!pr || (pr->state != peer_state::ready && pr->state != peer_state::lingering))
            return;
        bool took = false;
        while (!pr->out.empty()) {
            message& m = pr->out.front();
            const std::size_t n = bytes_of(m);
            if (!write(m))
                break;
            pr->out_bytes -= n;
            pr->out.pop_front();
            took = true;
        }
        // The queue has room again: a send waiting for it goes on now, not
        // only once the connection reports its write.
        if (took && !senders_.empty())
            serve_senders();
    }

    // ---- state ----
    const peer_state* state(peer_id p) const;
    std::size_t peer_count() const noexcept; // ready and draining peers
    std::size_t dropped() const noexcept { return dropped_; }
    // SERVER's and PEER's routing id of a peer, from when it is added
    // (a connect()'s peer too); 0 for other types.
    std::uint32_t numeric_routing_id(peer_id p);
    // Messages still queued for peers when the close gave them up, in the
    // core or (unsent_at_close()) in their connections.
    std::size_t dropped_at_close() const noexcept { return dropped_at_close_; }
    // The id the next new peer gets.
    peer_id next_id() const noexcept { return next_peer_; }

private:
    struct peer {
        peer_id id = 0;
        peer_state state = peer_state::pending;
        bool persistent = false; // a connect()'s peer: survives its connections
        bool attached = false;   // the strategy knows it
        bool read_paused = false;
        bool flush_when_ready = false; // closed while not connected: lingers once it is
        detail::fifo<message> out;
        detail::fifo<message> in;
        std::size_t out_bytes = 0; // for the byte high-water marks
        std::size_t in_bytes = 0;
        std::string endpoint;
        std::string address;
        std::string identity;
        std::string assigned_id; // ROUTER: from connect_routing_id, used instead of identity
        // Linked into the readable order (first_readable()) while `in` holds a message.
        bool listed = false;
        peer* readable_prev = nullptr;
        peer* readable_next = nullptr;
    };

    pattern::strategy& strategy();
    peer* find(peer_id p) const
    {
        return last_found_ && last_found_->id == p ? last_found_ : find_slow(p);
    }
    peer* find_slow(peer_id p) const;
    peer& add(std::string endpoint);
    void enter(peer& pr, peer_state to);
    void attach(peer& pr, bool pending);
    void detach(peer& pr);
    void hand_over(const peer& newcomer);
    static const std::string& routing_identity(const peer& pr) noexcept
    {
        return pr.assigned_id.empty() ? pr.identity : pr.assigned_id;
    }
    // ZMQ_CONFLATE applies to this type: queues keep only the last message.
    bool conflating() const noexcept;
    std::error_code check_send(const message& m) const;
    void announce_drops(std::size_t n);
    void list_readable(peer& pr) noexcept;
    void unlist_readable(peer& pr) noexcept;
    void retire(peer& pr);
    void erase(peer& pr);
    action& emit(action::kind k, peer_id p = 0);
    void emit_write(peer_id p);
    action& done(action::kind k, token t, std::error_code ec);
    void monitor(peer_event e, const peer& pr, std::error_code ec = {}, std::string reason = {});
    void count_drops(std::size_t before);
    void after_strategy()
    {
        if (!retiring_.empty() || !resuming_.empty())
            run_deferred();
    }
    void run_deferred();
    void drop_at_close(peer& pr);
    void linger_ended_for_one();
    void finish_close();
    // Timeouts of waiting operations and the linger deadline share one timer.
    static time_point deadline_of(time_point now, std::chrono::milliseconds timeout) noexcept
    {
        return timeout.count() < 0 ? time_point::max() : now + timeout;
    }
    void arm(time_point at);
    void rearm();
    void expire_waits(time_point now);
    action& with_payload(action& a, message m);
    void serve_senders();
    void serve_receivers();
    static std::size_t bytes_of(const message& m) noexcept
    {
        std::size_t n = 0;
        for (const frame& f : m)
            n += f.size();
        return n;
    }
    bool in_full(const peer& pr) const noexcept
    {
        return !conflating()
            && ((options_.receive_hwm != 0 && pr.in.size() >= options_.receive_hwm)
            || (options_.receive_hwm_bytes != 0 && pr.in_bytes >= options_.receive_hwm_bytes));
    }
    // A paused peer's reading resumes once its queue has drained to half
    // of each HWM (the low-water mark), not as soon as it is below them:
    // one pause and resume per half a queue of messages read, not one per
    // message while the application is the slower side.
    bool in_low(const peer& pr) const noexcept
    {
        return (options_.receive_hwm == 0 || pr.in.size() <= options_.receive_hwm / 2)
            && (options_.receive_hwm_bytes == 0 || pr.in_bytes <= options_.receive_hwm_bytes / 2);
    }

    // peer_queues
    bool writable(peer_id p) const override;
    void write(peer_id p, message m) override;
    bool readable(peer_id p) const override;
    message read(peer_id p) override;
    std::optional<peer_id> first_readable() const override;
    std::optional<peer_id> readable_after(peer_id p) const override;
    void send_subscription(peer_id p, std::span<const std::byte> topic, bool on) override;

    socket_type type_;
    socket_options options_;
    std::unique_ptr<pattern::strategy> strategy_; // made on first use, from the options then
    std::unordered_map<peer_id, std::unique_ptr<peer>> peers_;
    mutable peer* last_found_ = nullptr;
    peer* readable_front_ = nullptr; // the readable order, linked through the peers
    peer* readable_back_ = nullptr;
    peer_id next_peer_ = 1;
    std::vector<peer_id> retiring_; // handled once the strategy call returns
    std::vector<peer_id> resuming_;
    std::vector<peer_id> resuming_spare_; // swapped with resuming_ by run_deferred()
    struct waiting_send {
        token tok;
        message msg;
        time_point deadline;
    };
    struct waiting_receive {
        token tok;
        time_point deadline;
    };
    detail::fifo<waiting_send> senders_;
    detail::fifo<waiting_receive> receivers_;
    time_point armed_ = time_point::max(); // the timer last asked of the I/O side
    std::vector<action> actions_;
    std::vector<message> payloads_;
    std::vector<event_details> details_;
    std::size_t lingering_ = 0;
    time_point linger_until_ = time_point::max();
    std::size_t dropped_ = 0;
    std::size_t dropped_at_close_ = 0;
    bool close_done_ = false;
    bool report_drops_ = false;
    bool serving_ = false;
    bool closed_ = false;
};

} // namespace zmtp::pattern
