// SPDX-License-Identifier: MPL-2.0
// The state behind a zmtp::asio::socket: the socket core (peers, queues,
// routing, waiting operations, linger) and the I/O that feeds it
// (listeners, connectors, links). Lives on the socket's strand; shared
// with the handlers that need it alive.
#pragma once

#include "zmtp/asio/detail/attached_stream.hpp"
#include "zmtp/asio/detail/link.hpp"
#include "zmtp/asio/monitor.hpp"
#include "zmtp/detail/fifo.hpp"
#include "zmtp/pattern/socket_core.hpp"
#include "zmtp/socket_options.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace zmtp::asio::detail {

using send_handler = net::any_completion_handler<void(error_code)>;
using receive_handler = net::any_completion_handler<void(error_code, message)>;
using monitor_handler = net::any_completion_handler<void(error_code, monitor_event)>;

class listener;
class connector;
class socket_impl;

// A token the socket serves with its coroutine fast path (socket.hpp).
template <class Token>
struct is_use_awaitable : std::false_type {};
template <class Executor>
struct is_use_awaitable<net::use_awaitable_t<Executor>> : std::true_type {};

// Installed in an operation's cancellation slot: the cancellation (any
// type: a cancelled operation has done nothing) is posted to the socket's
// strand, never run inline, so that completing the operation there may
// clear the slot that is calling.
struct op_canceller {
    op_canceller(std::weak_ptr<socket_impl> i, std::uint64_t t) : impl(std::move(i)), tok(t) {}
    void operator()(net::cancellation_type type) const;

    std::weak_ptr<socket_impl> impl;
    std::uint64_t tok;
};

// What a transport learnt of a peer before ZMTP began (TLS): properties for
// the peer's metadata and the authenticator (TLS-Subject), and when its own
// handshake began, so that it and ZMTP's share one deadline.
struct transport_facts {
    metadata properties;
    std::optional<std::chrono::steady_clock::time_point> handshake_started;
};

// The Asio shell around a pattern::socket_core: it feeds the core with
// what listeners, connectors and links report, and carries out the
// actions the core returns (writes, pauses, closes, completions, monitor
// events, the linger timer).
class socket_impl final : public std::enable_shared_from_this<socket_impl>, public link_owner {
public:
    using strand_type = net::strand<net::any_io_executor>;
    socket_impl(strand_type strand, socket_type type);
    ~socket_impl();

    const net::any_io_executor& executor() const noexcept { return strand_; }

    // Whether the caller, running on the socket's strand, may take a send
    // (of `bytes`) or a receive (0) that needs no waiting at once, without
    // the completion's trip through the executor's queue (socket::async_send
    // and async_receive with use_awaitable). After fast_streak_messages such
    // calls in a row, or pump_bytes sent, it says no once: the caller
    // then suspends, and the connections' writes and reads, and any other
    // handler, get their turn. A PUB, which never waits, would otherwise
    // starve its own writer; the byte limit is pump_bytes, so a streak
    // fits in the connection and a PUB drops nothing for its sake.
    bool may_complete_now(std::size_t bytes) noexcept
    {
        if (!home_.running_in_this_thread())
            return false;
        streak_bytes_ += bytes;
        if (++streak_messages_ < fast_streak_messages && streak_bytes_ < pump_bytes)
            return true;
        streak_messages_ = 0;
        streak_bytes_ = 0;
        return false;
    }
    static constexpr unsigned fast_streak_messages = 4096;
    // A peer's connection takes messages from its queue while less than
    // this is waiting to be written: enough for large gather writes, little
    // enough that the HWM, not the connection, holds the backlog.
    static constexpr std::size_t pump_bytes = 256 * 1024;
    socket_type type() const noexcept { return core_.type(); }
    socket_options& options() noexcept { return core_.options(); }

    // On failure `reason` says why (as the monitor does).
    std::string bind(std::string_view endpoint, error_code& ec, std::string& reason);
    void connect(std::string_view endpoint, error_code& ec, std::string& reason);
    void unbind(std::string_view endpoint, error_code& ec);
    void disconnect(std::string_view endpoint, error_code& ec);
    error_code subscribe(std::span<const std::byte> topic, bool on);

    error_code try_send(message& m);
    error_code try_receive(message& m);

    // Asynchronous operations are named by a token taken, with the
    // handler's cancellation slot, where they are initiated (any thread):
    // a cancellation emitted before the operation reaches the strand
    // follows it there. The slot is the any_completion_handler's (it puts
    // its own handler in the one it was given).
    using token = pattern::socket_core::token;
    token watch(net::cancellation_slot slot)
    {
        const token t = next_token_.fetch_add(1, std::memory_order_relaxed);
        if (slot.is_connected())
            slot.template emplace<op_canceller>(weak_from_this(), t);
        return t;
    }
    // Completes `h` once the message is queued (or it fails).
    void async_send(token t, message m, send_handler h);
    void async_receive(token t, receive_handler h);
    // Completes operation `t` with operation_aborted if it still waits.
    void cancel(token t);
    // Completes every waiting operation with operation_aborted.
    void cancel_all();

    void set_monitor(monitor_callback cb)
    {
        core_.report_drops(static_cast<bool>(cb));
        monitor_ = std::move(cb);
    }
    // Completes with the next monitor event. From the first call on, events
    // wait in a queue of up to `monitor_queue_limit` (older ones are kept,
    // newer ones counted as missed).
    void async_monitor(token t, monitor_handler h);
    // Starts recording monitor events at once (any thread).
    void record_monitor_events() noexcept { monitor_queued_.store(true); }
    static constexpr std::size_t monitor_queue_limit = 1024;
    std::size_t monitor_events_missed() const noexcept { return monitor_missed_; }
    // Sees every greeting, command and frame header of every peer, with the
    // peer's address (or endpoint).
    using trace_callback = std::function<void(const std::string& peer, const trace_record&)>;
    void set_tracer(trace_callback cb) { tracer_ = std::move(cb); }
    std::size_t peer_count() const noexcept { return core_.peer_count(); }
    std::size_t dropped() const noexcept { return core_.dropped(); }
    // For socket::connect_peer: the peer the next connect() adds, and the
    // routing id a PEER gave it.
    pattern::peer_id next_peer() const noexcept { return core_.next_id(); }
    std::uint32_t numeric_routing_id(pattern::peer_id p) { return core_.numeric_routing_id(p); }
    std::size_t dropped_at_close() const noexcept { return core_.dropped_at_close(); }
    void close();
    // close(), completing `h` once the linger is over.
    void async_close(send_handler h);

    // A stream the user connected becomes a new peer (socket::attach).
    // Returns the name monitor events give it: `name`, or "attached:N".
    template <class Stream>
    std::string attach(Stream stream, std::string name, error_code& ec, std::string& reason);

    // ---- for listeners and connectors ----
    codec_options codec_config() const;
    error_code check_security(std::string& reason) const;
    // A connected stream becomes a link for peer `p`, or a new peer when
    // `p` is zero (accepted connections). Returns the peer (0: closed).
    template <class Stream>
    peer_id adopt(Stream stream, peer_id p, std::string endpoint, std::string address,
                  std::weak_ptr<listener> accepted_by = {}, transport_facts facts = {});
    // adopt() in two steps, for a link of another kind (inproc): the peer a
    // new link serves, `p` or a new one when `p` is zero, or 0 when the
    // socket closed or disconnect() came first; then the link, for the
    // peer it was made for.
    peer_id add_link_peer(peer_id p, std::string endpoint, std::string address);
    void start_link(std::shared_ptr<link> l, std::weak_ptr<listener> accepted_by = {});
    // An attempt of connect()'s peer `p` failed before ZMTP began
    // (socket_core::connect_failed). True: it stops reconnecting, and its
    // connector is closed.
    bool connect_failed(peer_id p, bool connection_refused);
    // Cuts short the handshake of peer `p` (a listener needs its place).
    void evict(peer_id p, std::string reason);
    void notify(monitor_event e);
    bool is_closed() const noexcept { return core_.closed(); }

private:
    // What the shell holds for a peer of the core: its I/O.
    struct io_peer {
        std::shared_ptr<link> conn;
        connector* origin = nullptr;         // set for a connect()'s peer; it persists over reconnects
        std::weak_ptr<listener> accepted_by; // until the handshake is over
        error_code closed_with;              // what the connection reported last
    };
    io_peer* find(peer_id p);
    void handshake_over(peer_id p, io_peer& io);
    void run_actions()
    {
        if (!running_ && !core_.actions().empty())
            run_all_actions();
    }
    void run_all_actions();
    void execute(pattern::socket_core::action a);
    void pump(peer_id p, io_peer& io, bool all);
    void arm_timer(pattern::socket_core::time_point at);
    void abort_monitor_waiters();
    void close_finished();
    void stop_connecting(connector* c);

    // link_owner
    void link_ready(peer_id p) override;
    bool link_event(peer_id p, event& e) override;
    void link_written(peer_id p) override;
    void link_closed(peer_id p, error_code ec) override;

    strand_type home_;            // strand_, typed: it knows whether it runs here
    net::any_io_executor strand_;
    unsigned streak_messages_ = 0; // see may_complete_now()
    std::size_t streak_bytes_ = 0;
    pattern::socket_core core_;
    std::unordered_map<peer_id, io_peer> io_;
    peer_id last_id_ = 0; // io_'s last hit: a message touches one peer several times
    io_peer* last_io_ = nullptr;
    std::list<std::shared_ptr<listener>> listeners_;
    std::list<std::shared_ptr<connector>> connectors_;
    std::atomic<token> next_token_{1};
    zmtp::detail::fifo<std::pair<token, send_handler>> senders_;
    zmtp::detail::fifo<std::pair<token, receive_handler>> receivers_;
    std::optional<net::steady_timer> timer_; // the core's: timeouts and linger
    monitor_callback monitor_;
    std::atomic<bool> monitor_queued_{false}; // set by the caller's thread
    zmtp::detail::fifo<monitor_event> monitor_queue_;
    zmtp::detail::fifo<std::pair<token, monitor_handler>> monitor_waiters_;
    std::size_t monitor_missed_ = 0;
    trace_callback tracer_;
    // Shared by the peers' codecs (socket_options::inflight_bytes); made
    // with the first connection that needs it.
    mutable std::shared_ptr<byte_budget> inflight_budget_;
    zmtp::detail::fifo<send_handler> close_waiters_;
    // While closing, a wait that never ends holds the socket alive (peers
    // still linger, maybe with no timer): a handler, so that an io_context
    // destroyed first still frees the socket.
    std::optional<net::steady_timer> hold_;
    bool running_ = false; // run_actions() is on the stack
};

template <class Stream>
peer_id socket_impl::adopt(Stream stream, peer_id p, std::string endpoint, std::string address,
                           std::weak_ptr<listener> accepted_by, transport_facts facts)
{
    if (core_.closed() && (p == 0 || !core_.state(p)))
        return 0; // only a peer lingering for its connection goes on
    codec_options config = codec_config();
    config.peer_address = address;
    config.transport_properties = std::move(facts.properties);
    // A bound side that verified a client certificate: ZMTP 3 only.
    config.transport_authenticated =
        !accepted_by.expired() && config.transport_properties.find("TLS-Subject").has_value();
    if (facts.handshake_started) {
        const auto used = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - *facts.handshake_started);
        config.handshake_timeout =
            std::max(config.handshake_timeout - used, std::chrono::milliseconds(1));
    }
    if (tracer_)
        config.trace = [weak = weak_from_this(), who = address.empty() ? endpoint : address](
                           const trace_record& t) {
            if (auto self = weak.lock(); self && self->tracer_)
                self->tracer_(who, t);
        };
    if (!(p = add_link_peer(p, std::move(endpoint), std::move(address))))
        return 0;
    start_link(std::make_shared<basic_link<Stream>>(this, p, std::move(config), std::move(stream)),
               std::move(accepted_by));
    return p;
}

template <class Stream>
std::string socket_impl::attach(Stream stream, std::string name, error_code& ec,
                                std::string& reason)
{
    ec = {};
    if (core_.closed()) {
        ec = to_error_code(error::socket_closed);
        return {};
    }
    if ((ec = check_security(reason)))
        return {};
    if (name.empty())
        name = "attached:" + std::to_string(core_.next_id()); // the id adopt() gives it
    notify(monitor_event(monitor_event_type::connected, name));
    // Like an accepted connection: no reconnection, the peer goes with it.
    adopt(attached_stream<Stream>(std::move(stream), strand_), 0, name, {});
    return name;
}

} // namespace zmtp::asio::detail
