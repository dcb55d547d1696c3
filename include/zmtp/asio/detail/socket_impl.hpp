// The state behind a zmtp::asio::socket: peers with their queues, the
// routing strategy, listeners and connectors, waiting operations. Lives on
// the socket's strand; shared with the handlers that need it alive.
#pragma once

#include "zmtp/asio/detail/attached_stream.hpp"
#include "zmtp/asio/detail/link.hpp"
#include "zmtp/asio/monitor.hpp"
#include "zmtp/pattern/strategy.hpp"
#include "zmtp/socket_options.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace zmtp::asio::detail {

using send_handler = net::any_completion_handler<void(error_code)>;
using receive_handler = net::any_completion_handler<void(error_code, message)>;
using monitor_handler = net::any_completion_handler<void(error_code, monitor_event)>;

class listener;
class connector;

// What a transport learnt of a peer before ZMTP began (TLS): properties for
// the peer's metadata and the authenticator (TLS-Subject), and when its own
// handshake began, so that it and ZMTP's share one deadline.
struct transport_facts {
    metadata properties;
    std::optional<std::chrono::steady_clock::time_point> handshake_started;
};

class socket_impl final : public std::enable_shared_from_this<socket_impl>,
                          public link_owner,
                          private pattern::peer_queues {
public:
    socket_impl(net::any_io_executor strand, socket_type type);
    ~socket_impl();

    const net::any_io_executor& executor() const noexcept { return strand_; }
    socket_type type() const noexcept { return type_; }
    socket_options& options() noexcept { return options_; }

    std::string bind(std::string_view endpoint, error_code& ec);
    void connect(std::string_view endpoint, error_code& ec);
    void unbind(std::string_view endpoint, error_code& ec);
    void disconnect(std::string_view endpoint, error_code& ec);
    error_code subscribe(std::span<const std::byte> topic, bool on);

    error_code try_send(message& m);
    error_code try_receive(message& m);
    // Completes `h` once the message is queued (or it fails).
    void async_send(message m, send_handler h);
    void async_receive(receive_handler h);

    void set_monitor(monitor_callback cb) { monitor_ = std::move(cb); }
    // Completes with the next monitor event. From the first call on, events
    // wait in a queue of up to `monitor_queue_limit` (older ones are kept,
    // newer ones counted as missed).
    void async_monitor(monitor_handler h);
    // Starts recording monitor events at once (any thread).
    void record_monitor_events() noexcept { monitor_queued_.store(true); }
    static constexpr std::size_t monitor_queue_limit = 1024;
    std::size_t monitor_events_missed() const noexcept { return monitor_missed_; }
    // Sees every greeting, command and frame header of every peer, with the
    // peer's address (or endpoint).
    using trace_callback = std::function<void(const std::string& peer, const trace_record&)>;
    void set_tracer(trace_callback cb) { tracer_ = std::move(cb); }
    std::size_t peer_count() const noexcept;
    std::size_t dropped() const noexcept;
    void close();

    // A stream the user connected becomes a new peer (socket::attach).
    // Returns the name monitor events give it: `name`, or "attached:N".
    template <class Stream>
    std::string attach(Stream stream, std::string name, error_code& ec);

    // ---- for listeners and connectors ----
    codec_options codec_config() const;
    error_code check_security(std::string& reason) const;
    // A connected stream becomes a link for peer `p`, or a new peer when
    // `p` is zero (accepted connections).
    template <class Stream>
    void adopt(Stream stream, peer_id p, std::string endpoint, std::string address,
               std::weak_ptr<listener> accepted_by = {}, transport_facts facts = {});
    void notify(monitor_event e);
    bool is_closed() const noexcept { return closed_; }

private:
    struct peer {
        peer_id id = 0;
        std::deque<message> out;
        std::deque<message> in;
        std::shared_ptr<link> conn;
        connector* origin = nullptr; // set for a connect()'s peer; it persists over reconnects
        bool ready = false;          // handshake done, attached to the strategy
        bool read_paused = false;
        bool going = false;          // connection gone; kept until `in` is delivered
        std::string endpoint;
        std::string address;
        std::string identity;
        std::weak_ptr<listener> accepted_by; // until the handshake is over
    };
    void handshake_over(peer& pr);

    // link_owner
    void link_ready(peer_id p) override;
    bool link_event(peer_id p, event& e) override;
    void link_written(peer_id p) override;
    void link_closed(peer_id p, error_code ec) override;

    // peer_queues
    bool writable(peer_id p) const override;
    void write(peer_id p, message m) override;
    bool readable(peer_id p) const override;
    message read(peer_id p) override;
    void send_subscription(peer_id p, std::span<const std::byte> topic, bool on) override;

    pattern::strategy& strategy();
    peer* find(peer_id p) const;
    void erase_peer(peer_id p);
    void after_strategy();
    void count_drops(std::size_t before);
    void pump(peer& pr);
    void serve_senders();
    void serve_receivers();
    void retire(peer& pr);
    void drop_link(peer& pr, error_code ec, bool was_ready);
    monitor_event event_for(monitor_event_type t, const peer& pr) const;

    net::any_io_executor strand_;
    socket_type type_;
    socket_options options_;
    std::unique_ptr<pattern::strategy> strategy_; // made on first use, from the options then
    std::vector<peer_id> retiring_;               // handled once the strategy call returns
    std::vector<peer_id> resuming_;
    std::unordered_map<peer_id, std::unique_ptr<peer>> peers_;
    mutable peer* last_found_ = nullptr;
    peer_id next_peer_ = 1;
    std::list<std::shared_ptr<listener>> listeners_;
    std::list<std::shared_ptr<connector>> connectors_;
    struct waiting_send {
        message msg;
        send_handler handler;
    };
    std::deque<waiting_send> senders_;
    std::deque<receive_handler> receivers_;
    monitor_callback monitor_;
    std::atomic<bool> monitor_queued_{false}; // set by the caller's thread
    std::deque<monitor_event> monitor_queue_;
    std::deque<monitor_handler> monitor_waiters_;
    std::size_t monitor_missed_ = 0;
    trace_callback tracer_;
    std::size_t dropped_ = 0;
    bool serving_ = false;
    bool closed_ = false;
};

template <class Stream>
void socket_impl::adopt(Stream stream, peer_id p, std::string endpoint, std::string address,
                        std::weak_ptr<listener> accepted_by, transport_facts facts)
{
    if (closed_)
        return;
    if (p == 0) {
        auto fresh = std::make_unique<peer>();
        p = fresh->id = next_peer_++;
        peers_.emplace(p, std::move(fresh));
    }
    peer& pr = *peers_.at(p);
    pr.accepted_by = std::move(accepted_by);
    pr.endpoint = std::move(endpoint);
    pr.address = std::move(address);
    if (pr.going)
        retire(pr); // the previous connection's messages were not all read yet
    codec_options config = codec_config();
    config.peer_address = pr.address;
    config.transport_properties = std::move(facts.properties);
    // A bound side that verified a client certificate: ZMTP 3 only.
    config.transport_authenticated =
        !pr.accepted_by.expired() && config.transport_properties.find("TLS-Subject").has_value();
    if (facts.handshake_started) {
        const auto used = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - *facts.handshake_started);
        config.handshake_timeout =
            std::max(config.handshake_timeout - used, std::chrono::milliseconds(1));
    }
    if (tracer_)
        config.trace = [weak = weak_from_this(), who = pr.address.empty() ? pr.endpoint : pr.address](
                           const trace_record& t) {
            if (auto self = weak.lock(); self && self->tracer_)
                self->tracer_(who, t);
        };
    auto l = std::make_shared<basic_link<Stream>>(this, p, std::move(config), std::move(stream));
    pr.conn = l;
    l->start();
}

template <class Stream>
std::string socket_impl::attach(Stream stream, std::string name, error_code& ec)
{
    ec = {};
    if (closed_) {
        ec = to_error_code(error::socket_closed);
        return {};
    }
    std::string why;
    if ((ec = check_security(why)))
        return {};
    if (name.empty())
        name = "attached:" + std::to_string(next_peer_); // the id adopt() gives it
    notify(monitor_event(monitor_event_type::connected, name));
    // Like an accepted connection: no reconnection, the peer goes with it.
    adopt(attached_stream<Stream>(std::move(stream), strand_), 0, name, {});
    return name;
}

} // namespace zmtp::asio::detail
