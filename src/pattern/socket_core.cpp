// SPDX-License-Identifier: MPL-2.0
#include "zmtp/pattern/socket_core.hpp"

#include <algorithm>
#include <utility>

namespace zmtp::pattern {

socket_core::socket_core(socket_type type) : type_(type) {}

socket_core::~socket_core() = default;

pattern::strategy& socket_core::strategy()
{
    if (!strategy_)
        strategy_ = make_strategy(type_, options_);
    return *strategy_;
}

// A message touches the same peer several times in a row (writable,
// write; readable, read), so the last peer found is kept at hand.
socket_core::peer* socket_core::find_slow(peer_id p) const
{
    auto it = peers_.find(p);
    if (it == peers_.end())
        return nullptr;
    last_found_ = it->second.get();
    return last_found_;
}

const peer_state* socket_core::state(peer_id p) const
{
    const peer* pr = find(p);
    return pr ? &pr->state : nullptr;
}

std::size_t socket_core::peer_count() const noexcept
{
    return static_cast<std::size_t>(std::count_if(peers_.begin(), peers_.end(), [](const auto& e) {
        return e.second->state == peer_state::ready || e.second->state == peer_state::draining;
    }));
}

socket_core::action& socket_core::emit(action::kind k, peer_id p)
{
    action& a = actions_.emplace_back();
    a.what = k;
    a.peer = p;
    return a;
}

socket_core::action& socket_core::with_payload(action& a, message m)
{
    a.extra = static_cast<std::uint32_t>(payloads_.size());
    payloads_.push_back(std::move(m));
    return a;
}

socket_core::action& socket_core::done(action::kind k, token t, std::error_code ec)
{
    action& a = emit(k);
    a.tok = t;
    a.ec = ec;
    if (k == action::kind::receive_done)
        with_payload(a, message());
    return a;
}

// Several messages for one peer in a row need one write action.
void socket_core::emit_write(peer_id p)
{
    if (!actions_.empty() && actions_.back().what == action::kind::write && actions_.back().peer == p)
        return;
    emit(action::kind::write, p);
}

void socket_core::monitor(peer_event e, const peer& pr, std::error_code ec, std::string reason)
{
    action& a = emit(action::kind::monitor, pr.id);
    a.event = e;
    a.ec = ec;
    a.extra = static_cast<std::uint32_t>(details_.size());
    event_details& d = details_.emplace_back();
    d.reason = std::move(reason);
    d.endpoint = pr.endpoint;
    d.address = pr.address;
    d.routing_id = strategy_ ? strategy_->routing_id_of(pr.id) : std::string();
    if (d.routing_id.empty())
        d.routing_id = pr.identity;
}

// ---------------------------------------------------------------- states

socket_core::peer& socket_core::add(std::string endpoint)
{
    auto fresh = std::make_unique<peer>();
    peer& pr = *fresh;
    pr.id = next_peer_++;
    pr.endpoint = std::move(endpoint);
    peers_.emplace(pr.id, std::move(fresh));
    return pr;
}

void socket_core::attach(peer& pr, bool pending)
{
    strategy().attach(pr.id, {pending, pending ? std::string() : routing_identity(pr)}, *this);
    pr.attached = true;
}

void socket_core::detach(peer& pr)
{
    if (std::exchange(pr.attached, false))
        strategy().detach(pr.id, *this);
}

// The one place where a peer changes state, and so where the strategy
// learns of it: a pending attach for a connect()'s peer (unless
// immediate), a ready attach after the handshake, a detach when the
// connection's messages are all read.
void socket_core::enter(peer& pr, peer_state to)
{
    const peer_state from = std::exchange(pr.state, to);
    switch (to) {
    case peer_state::pending:
    case peer_state::handshaking:
        if (from == peer_state::draining)
            detach(pr);
        if (pr.persistent && !pr.attached && !options_.immediate && !closed_)
            attach(pr, true);
        break;
    case peer_state::ready:
        attach(pr, false);
        break;
    case peer_state::draining:
        break;
    case peer_state::lingering:
        pr.attached = false; // the strategy is not used after close
        break;
    }
}

// A peer whose connection is gone and whose messages were all read leaves
// the strategy; a connect()'s peer waits, pending, for the next connection.
void socket_core::retire(peer& pr)
{
    if (pr.persistent)
        enter(pr, peer_state::pending);
    else
        erase(pr);
}

void socket_core::erase(peer& pr)
{
    const peer_id p = pr.id;
    detach(pr);
    unlist_readable(pr);
    emit(action::kind::release, p);
    if (last_found_ == &pr)
        last_found_ = nullptr;
    peers_.erase(p);
}

// ---------------------------------------------------------------- peers

peer_id socket_core::add_connect(std::string endpoint)
{
    peer& pr = add(std::move(endpoint));
    pr.persistent = true;
    if (type_ == socket_type::router)
        pr.assigned_id = std::exchange(options_.connect_routing_id, {});
    enter(pr, peer_state::pending);
    serve_senders();
    return pr.id;
}

peer_id socket_core::add_accepted(std::string endpoint, std::string address)
{
    peer& pr = add(std::move(endpoint));
    pr.address = std::move(address);
    enter(pr, peer_state::handshaking);
    return pr.id;
}

void socket_core::link_started(peer_id p, std::string endpoint, std::string address)
{
    peer* pr = find(p);
    if (!pr || (closed_ && !pr->flush_when_ready))
        return;
    pr->endpoint = std::move(endpoint);
    pr->address = std::move(address);
    // The previous connection's messages, if not all read, stay readable
    // once this one is ready.
    enter(*pr, peer_state::handshaking);
    after_strategy();
}

void socket_core::handshake_done(peer_id p, std::string identity)
{
    peer* pr = find(p);
    if (!pr || pr->state != peer_state::handshaking)
        return;
    pr->identity = std::move(identity);
    if (closed_) { // a peer kept for linger: it gets what was queued for it
        enter(*pr, peer_state::lingering);
        monitor(peer_event::handshake_succeeded, *pr);
        emit(action::kind::flush_and_close, p);
        return;
    }
    if (!strategy().accepts({false, routing_identity(*pr)})) {
        monitor(peer_event::handshake_failed, *pr, make_error_code(error::invalid_state),
                type_ == socket_type::pair ? "refused: the PAIR socket already has a peer"
                                           : "refused: routing id already in use");
        emit(action::kind::abort, p);
        emit(action::kind::lost, p);
        if (pr->persistent)
            enter(*pr, peer_state::pending);
        else
            erase(*pr);
        return;
    }
    if (type_ == socket_type::router && options_.router_handover)
        hand_over(*pr);
    enter(*pr, peer_state::ready);
    monitor(peer_event::handshake_succeeded, *pr);
    // The probe goes before anything queued while the peer was not up.
    if (options_.probe_router && (type_ == socket_type::router || type_ == socket_type::dealer))
        pr->out.push_front(message{frame()});
    if (!pr->out.empty())
        emit_write(p);
    serve_senders();
    serve_receivers();
}

bool socket_core::message_read(peer_id p, message& m)
{
    peer* pr = find(p);
    if (!pr || pr->state != peer_state::ready)
        return false;
    if (conflating() && m.size() != 1) {
        announce_drops(1); // conflation keeps single-part messages only
        return true;
    }
    const std::size_t before = strategy().dropped();
    if (!strategy().incoming(p, m, *this)) {
        count_drops(before); // a draft type's multipart message, XPUB's overflow
        serve_receivers(); // XPUB may have turned it into something to read
        return true;
    }
    if (conflating()) { // the last message replaces what was not taken
        pr->in.clear();
        pr->in_bytes = 0;
    }
    pr->in_bytes += bytes_of(m);
    pr->in.push_back(std::move(m));
    list_readable(*pr); // a conflated peer that was listed keeps its turn
    serve_receivers();
    if ((pr = find(p)) && in_full(*pr)) {
        pr->read_paused = true; // the connection's backpressure from here on
        return false;
    }
    return true;
}

void socket_core::subscription_read(peer_id p, std::span<const std::byte> topic, bool on)
{
    if (!find(p))
        return;
    strategy().subscription(p, topic, on, *this);
    serve_receivers();
}

void socket_core::link_written(peer_id p)
{
    peer* pr = find(p);
    if (!pr || pr->state != peer_state::ready)
        return;
    if (!pr->out.empty())
        emit_write(p);
    serve_senders();
}

void socket_core::link_closed(peer_id p, std::string reason, bool refused)
{
    peer* pr = find(p);
    if (!pr || (pr->state != peer_state::handshaking && pr->state != peer_state::ready))
        return;
    const bool was_ready = pr->state == peer_state::ready;
    if (!was_ready && refused && pr->persistent && options_.reconnect_stop.handshake_failed) {
        monitor(peer_event::handshake_failed, *pr, {}, std::move(reason.append(not_reconnecting)));
        enter(*pr, peer_state::pending); // no connection any more
        remove(p);
        return;
    }
    monitor(was_ready ? peer_event::disconnected : peer_event::handshake_failed, *pr, {}, std::move(reason));
    emit(action::kind::lost, p);
    if (was_ready) {
        // What the peer sent before it went is still delivered.
        pr->read_paused = false;
        enter(*pr, peer_state::draining);
        if (pr->in.empty())
            retire(*pr);
    } else {
        retire(*pr);
    }
    serve_senders();
    serve_receivers();
}

bool socket_core::connect_failed(peer_id p, bool connection_refused)
{
    const peer* pr = find(p);
    const auto& stop = options_.reconnect_stop;
    if (!pr || !pr->persistent || !(connection_refused ? stop.conn_refused : stop.handshake_failed))
        return false;
    remove(p);
    return true;
}

// ROUTER_HANDOVER: the ready peer that holds the newcomer's routing id
// loses its connection, as if it had closed; what it sent is still read
// (the strategy gives it a generated id when the newcomer is attached).
void socket_core::hand_over(const peer& newcomer)
{
    const std::string& id = routing_identity(newcomer);
    if (id.empty())
        return;
    for (auto& [p, pr] : peers_) {
        if (pr->state != peer_state::ready || strategy().routing_id_of(p) != id)
            continue;
        monitor(peer_event::disconnected, *pr, {}, "routing id taken over by a new connection");
        emit(action::kind::abort, p);
        emit(action::kind::lost, p);
        pr->read_paused = false;
        enter(*pr, peer_state::draining);
        if (pr->in.empty())
            retire(*pr);
        return;
    }
}

void socket_core::remove(peer_id p)
{
    peer* pr = find(p);
    if (!pr)
        return;
    if (closed_) { // after close, every peer left lingers: it is given up
        drop_at_close(*pr);
        linger_ended_for_one();
        return;
    }
    if (pr->state == peer_state::handshaking || pr->state == peer_state::ready)
        emit(action::kind::abort, p);
    erase(*pr);
    after_strategy();
}

// ---------------------------------------------------------------- peer_queues

bool socket_core::writable(peer_id p) const
{
    const peer* pr = find(p);
    if (!pr || pr->state == peer_state::draining)
        return false;
    if (conflating())
        return true;
    return (options_.send_hwm == 0 || pr->out.size() < options_.send_hwm)
        && (options_.send_hwm_bytes == 0 || pr->out_bytes < options_.send_hwm_bytes);
}

void socket_core::write(peer_id p, message m)
{
    peer* pr = find(p);
    if (!pr)
        return;
    if (conflating()) { // the last message replaces what was not sent
        pr->out.clear();
        pr->out_bytes = 0;
    }
    pr->out_bytes += bytes_of(m);
    pr->out.push_back(std::move(m));
    if (pr->state == peer_state::ready)
        emit_write(p);
}

bool socket_core::readable(peer_id p) const
{
    const peer* pr = find(p);
    return pr && !pr->in.empty();
}

message socket_core::read(peer_id p)
{
    peer* pr = find(p);
    message m = std::move(pr->in.front());
    pr->in.pop_front();
    pr->in_bytes -= bytes_of(m);
    unlist_readable(*pr);
    if (!pr->in.empty())
        list_readable(*pr); // its next message waits for its next turn
    if (pr->read_paused && in_low(*pr))
        resuming_.push_back(p);
    if (pr->state == peer_state::draining && pr->in.empty())
        retiring_.push_back(p);
    return m;
}

std::optional<peer_id> socket_core::first_readable() const
{
    if (!readable_front_)
        return std::nullopt;
    last_found_ = readable_front_; // read() usually follows
    return readable_front_->id;
}

std::optional<peer_id> socket_core::readable_after(peer_id p) const
{
    const peer* pr = find(p);
    if (!pr || !pr->listed || !pr->readable_next)
        return std::nullopt;
    last_found_ = pr->readable_next;
    return pr->readable_next->id;
}

// Appends the peer to the readable order, unless it is there already.
void socket_core::list_readable(peer& pr) noexcept
{
    if (std::exchange(pr.listed, true))
        return;
    pr.readable_prev = readable_back_;
    pr.readable_next = nullptr;
    (readable_back_ ? readable_back_->readable_next : readable_front_) = &pr;
    readable_back_ = &pr;
}

void socket_core::unlist_readable(peer& pr) noexcept
{
    if (!std::exchange(pr.listed, false))
        return;
    (pr.readable_prev ? pr.readable_prev->readable_next : readable_front_) = pr.readable_next;
    (pr.readable_next ? pr.readable_next->readable_prev : readable_back_) = pr.readable_prev;
    pr.readable_prev = nullptr;
    pr.readable_next = nullptr;
}

std::uint32_t socket_core::numeric_routing_id(peer_id p)
{
    return strategy().numeric_routing_id_of(p);
}

void socket_core::send_subscription(peer_id p, std::span<const std::byte> topic, bool on)
{
    const peer* pr = find(p);
    if (!pr || pr->state != peer_state::ready)
        return;
    with_payload(emit(action::kind::write_subscription, p), message{frame(topic)}).on = on;
}

} // namespace zmtp::pattern
