#include "zmtp/asio/detail/socket_impl.hpp"

#include "transport.hpp"

#include "zmtp/security/mechanism_factory.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace zmtp::asio::detail {
namespace {

// A peer's connection takes messages from its queue while less than this
// is waiting to be written: enough for large gather writes, little enough
// that the HWM, not the connection, holds the backlog.
constexpr std::size_t pump_bytes = 256 * 1024;

error_code as_error(std::error_code ec)
{
    return to_error_code(ec);
}

error_code parse_error(const std::exception& e, std::string& reason)
{
    reason = e.what();
    return to_error_code(error::invalid_argument);
}

} // namespace

socket_impl::socket_impl(net::any_io_executor strand, socket_type type)
    : strand_(std::move(strand)), type_(type)
{
}

// Reached without close() having run only when the io_context went away
// first (the close posted by ~socket never ran): nothing can linger then.
socket_impl::~socket_impl()
{
    if (!closed_) {
        options_.linger = std::chrono::milliseconds(0);
        close();
    }
}

codec_options socket_impl::codec_config() const
{
    codec_options c;
    c.type = type_;
    c.routing_id = options_.routing_id;
    c.limits = options_.limits;
    c.heartbeat = options_.heartbeat;
    c.handshake_timeout = options_.handshake_timeout;
    c.min_zmtp_version = options_.min_zmtp_version;
    c.mechanism = security::mechanism_factory_for(options_);
    c.authenticator = options_.authenticator;
    return c;
}

// Security options that cannot make a mechanism fail bind() and connect().
error_code socket_impl::check_security(std::string& reason) const
{
    security::mechanism_factory unused;
    return to_error_code(security::make_mechanism_factory(options_, unused, reason));
}

pattern::strategy& socket_impl::strategy()
{
    if (!strategy_)
        strategy_ = pattern::make_strategy(type_, options_);
    return *strategy_;
}

// A message touches the same peer several times in a row (writable,
// write; readable, read), so the last peer found is kept at hand.
socket_impl::peer* socket_impl::find(peer_id p) const
{
    if (last_found_ && last_found_->id == p)
        return last_found_;
    auto it = peers_.find(p);
    if (it == peers_.end())
        return nullptr;
    last_found_ = it->second.get();
    return last_found_;
}

void socket_impl::erase_peer(peer_id p)
{
    if (last_found_ && last_found_->id == p)
        last_found_ = nullptr;
    peers_.erase(p);
}

void socket_impl::notify(monitor_event e)
{
    if (monitor_)
        monitor_(e);
    if (!monitor_queued_)
        return;
    if (!monitor_waiters_.empty()) {
        monitor_handler h = std::move(monitor_waiters_.front());
        monitor_waiters_.pop_front();
        net::post(strand_, net::append(std::move(h), error_code(), std::move(e)));
    } else if (monitor_queue_.size() < monitor_queue_limit) {
        monitor_queue_.push_back(std::move(e));
    } else {
        ++monitor_missed_;
    }
}

void socket_impl::async_monitor(monitor_handler h)
{
    if (!monitor_queue_.empty()) {
        monitor_event e = std::move(monitor_queue_.front());
        monitor_queue_.pop_front();
        net::post(strand_, net::append(std::move(h), error_code(), std::move(e)));
    } else if (closed_) {
        net::post(strand_, net::append(std::move(h), to_error_code(error::socket_closed),
                                       monitor_event(monitor_event_type::closed)));
    } else {
        monitor_waiters_.push_back(std::move(h));
    }
}

monitor_event socket_impl::event_for(monitor_event_type t, const peer& pr) const
{
    monitor_event e{t, pr.endpoint, pr.address};
    e.routing_id = strategy_ ? strategy_->routing_id_of(pr.id) : std::string();
    if (e.routing_id.empty())
        e.routing_id = pr.identity;
    return e;
}

// ---------------------------------------------------------------- endpoints

std::string socket_impl::bind(std::string_view text, error_code& ec)
{
    ec = {};
    if (closed_) {
        ec = to_error_code(error::socket_closed);
        return {};
    }
    monitor_event failed{monitor_event_type::bind_failed, std::string(text)};
    if (auto e = check_security(failed.reason)) {
        ec = failed.error = e;
        notify(std::move(failed));
        return {};
    }
    try {
        auto l = make_listener(*this, parse_endpoint(text), std::string(text));
        listeners_.push_back(l);
        notify(monitor_event(monitor_event_type::listening, l->bound()));
        return l->bound();
    } catch (const endpoint_error& e) {
        ec = parse_error(e, failed.reason);
    } catch (const boost::system::system_error& e) {
        ec = e.code();
        failed.reason = e.what();
    }
    failed.error = ec;
    notify(std::move(failed));
    return {};
}

void socket_impl::connect(std::string_view text, error_code& ec)
{
    ec = {};
    if (closed_) {
        ec = to_error_code(error::socket_closed);
        return;
    }
    std::string why;
    if ((ec = check_security(why)))
        return;
    std::shared_ptr<connector> c;
    try {
        const endpoint ep = parse_endpoint(text);
        if (ep.any_host() || ep.any_port()) {
            ec = to_error_code(error::invalid_argument);
            return;
        }
        c = std::make_shared<connector>(*this, ep, std::string(text));
    } catch (const endpoint_error&) {
        ec = to_error_code(error::invalid_argument);
        return;
    } catch (const boost::system::system_error& e) {
        ec = e.code(); // tls+: a certificate, key or CA file that cannot be used
        return;
    }
    auto slot = std::make_unique<peer>();
    slot->id = next_peer_++;
    slot->origin = c.get();
    slot->endpoint = std::string(text);
    const peer_id p = slot->id;
    peers_.emplace(p, std::move(slot));
    c->set_slot(p);
    connectors_.push_back(c);
    // libzmq queues messages for a peer it is still connecting to.
    if (!options_.immediate)
        strategy().attach(p, {true, {}}, *this);
    notify(monitor_event(monitor_event_type::connect_delayed, std::string(text)));
    c->start();
    serve_senders();
}

void socket_impl::unbind(std::string_view text, error_code& ec)
{
    ec = {};
    auto it = std::find_if(listeners_.begin(), listeners_.end(), [&](const auto& l) {
        return l->requested() == text || l->bound() == text;
    });
    if (it == listeners_.end()) {
        ec = to_error_code(error::invalid_argument);
        return;
    }
    (*it)->close();
    notify(monitor_event(monitor_event_type::closed, (*it)->bound()));
    listeners_.erase(it);
}

void socket_impl::disconnect(std::string_view text, error_code& ec)
{
    ec = {};
    auto it = std::find_if(connectors_.begin(), connectors_.end(),
                           [&](const auto& c) { return c->text() == text; });
    if (it == connectors_.end()) {
        ec = to_error_code(error::invalid_argument);
        return;
    }
    (*it)->close();
    if (peer* pr = find((*it)->slot())) {
        if (pr->conn)
            pr->conn->abort();
        strategy().detach(pr->id, *this);
        erase_peer(pr->id);
    }
    connectors_.erase(it);
    after_strategy();
}

error_code socket_impl::subscribe(std::span<const std::byte> topic, bool on)
{
    if (closed_)
        return to_error_code(error::socket_closed);
    const auto ec = strategy().subscribe(topic, on, *this);
    after_strategy();
    return as_error(ec);
}

// ---------------------------------------------------------------- messages

void socket_impl::count_drops(std::size_t before)
{
    const std::size_t now = strategy().dropped();
    if (now == before)
        return;
    dropped_ += now - before;
    if (monitor_)
        for (std::size_t i = before; i < now; ++i)
            notify(monitor_event(monitor_event_type::message_dropped));
}

error_code socket_impl::try_send(message& m)
{
    if (closed_)
        return to_error_code(error::socket_closed);
    if (!senders_.empty())
        return to_error_code(error::would_block); // keep the order of waiting sends
    const std::size_t before = strategy().dropped();
    const auto ec = strategy().send(m, *this);
    count_drops(before);
    after_strategy();
    return as_error(ec);
}

error_code socket_impl::try_receive(message& m)
{
    if (closed_)
        return to_error_code(error::socket_closed);
    if (!receivers_.empty())
        return to_error_code(error::would_block);
    const auto ec = strategy().receive(m, *this);
    after_strategy();
    return as_error(ec);
}

void socket_impl::async_send(message m, send_handler h)
{
    if (closed_) {
        net::post(strand_, net::append(std::move(h), to_error_code(error::socket_closed)));
        return;
    }
    senders_.push_back({std::move(m), std::move(h)});
    serve_senders();
}

void socket_impl::async_receive(receive_handler h)
{
    if (closed_) {
        net::post(strand_, net::append(std::move(h), to_error_code(error::socket_closed), message()));
        return;
    }
    receivers_.push_back(std::move(h));
    serve_receivers();
}

// Completes waiting sends, in order, while the strategy accepts them.
// Completions are posted: never run inside an initiating function.
void socket_impl::serve_senders()
{
    if (serving_)
        return;
    serving_ = true;
    while (!senders_.empty() && !closed_) {
        const std::size_t before = strategy().dropped();
        const auto ec = strategy().send(senders_.front().msg, *this);
        count_drops(before);
        if (ec == error::would_block)
            break;
        send_handler h = std::move(senders_.front().handler);
        senders_.pop_front();
        net::post(strand_, net::append(std::move(h), as_error(ec)));
    }
    serving_ = false;
    after_strategy();
}

void socket_impl::serve_receivers()
{
    if (serving_)
        return;
    serving_ = true;
    while (!receivers_.empty() && !closed_) {
        message m;
        const auto ec = strategy().receive(m, *this);
        if (ec == error::would_block)
            break;
        receive_handler h = std::move(receivers_.front());
        receivers_.pop_front();
        net::post(strand_, net::append(std::move(h), as_error(ec), std::move(m)));
    }
    serving_ = false;
    after_strategy();
}

// Work the strategy's calls into the queues made necessary, done once it
// has returned: retiring peers whose last message was read, and resuming
// reads that the receive HWM had paused.
void socket_impl::after_strategy()
{
    while (!retiring_.empty() || !resuming_.empty()) {
        auto retiring = std::exchange(retiring_, {});
        for (peer_id p : retiring)
            if (peer* pr = find(p); pr && pr->going && pr->in.empty())
                retire(*pr);
        auto resuming = std::exchange(resuming_, {});
        for (peer_id p : resuming)
            if (peer* pr = find(p); pr && pr->conn && pr->read_paused) {
                pr->read_paused = false;
                pr->conn->resume_reading();
            }
    }
}

// ---------------------------------------------------------------- peer_queues

bool socket_impl::writable(peer_id p) const
{
    const peer* pr = find(p);
    if (!pr || pr->going)
        return false;
    return options_.send_hwm == 0 || pr->out.size() < options_.send_hwm;
}

void socket_impl::write(peer_id p, message m)
{
    peer* pr = find(p);
    if (!pr)
        return;
    pr->out.push_back(std::move(m));
    pump(*pr);
}

bool socket_impl::readable(peer_id p) const
{
    const peer* pr = find(p);
    return pr && !pr->in.empty();
}

message socket_impl::read(peer_id p)
{
    peer* pr = find(p);
    message m = std::move(pr->in.front());
    pr->in.pop_front();
    if (pr->read_paused && (options_.receive_hwm == 0 || pr->in.size() < options_.receive_hwm))
        resuming_.push_back(p);
    if (pr->going && pr->in.empty())
        retiring_.push_back(p);
    return m;
}

void socket_impl::send_subscription(peer_id p, std::span<const std::byte> topic, bool on)
{
    if (peer* pr = find(p); pr && pr->ready && pr->conn)
        pr->conn->write_subscription(topic, on);
}

void socket_impl::pump(peer& pr)
{
    if (!pr.ready || !pr.conn)
        return;
    while (!pr.out.empty() && pr.conn->queued_bytes() < pump_bytes) {
        if (pr.conn->write(pr.out.front()))
            return; // the connection failed; it will report why
        pr.out.pop_front();
    }
}

// ---------------------------------------------------------------- links

void socket_impl::handshake_over(peer& pr)
{
    if (auto l = std::exchange(pr.accepted_by, {}).lock())
        l->handshake_finished();
}

void socket_impl::link_ready(peer_id p)
{
    peer* pr = find(p);
    if (!pr)
        return;
    handshake_over(*pr);
    const codec& c = pr->conn->protocol();
    pattern::peer_info info{false, std::string(c.peer_metadata().find("Identity").value_or(""))};
    pr->identity = info.identity;
    if (!strategy().accepts(info)) {
        monitor_event e = event_for(monitor_event_type::handshake_failed, *pr);
        e.error = to_error_code(error::invalid_state);
        e.reason = type_ == socket_type::pair ? "refused: the PAIR socket already has a peer"
                                              : "refused: routing id already in use";
        notify(std::move(e));
        pr->conn->abort();
        pr->conn.reset();
        if (pr->origin)
            pr->origin->connection_lost();
        else
            erase_peer(p);
        return;
    }
    pr->ready = true;
    if (pr->origin)
        pr->origin->reset_backoff();
    strategy().attach(p, info, *this);
    notify(event_for(monitor_event_type::handshake_succeeded, *pr));
    pump(*pr);
    serve_senders();
    serve_receivers();
}

bool socket_impl::link_event(peer_id p, event& e)
{
    peer* pr = find(p);
    if (!pr)
        return false;
    if (auto* m = std::get_if<message>(&e)) {
        if (!strategy().incoming(p, *m, *this)) {
            serve_receivers(); // XPUB may have turned it into something to read
            return true;
        }
        pr->in.push_back(std::move(*m));
        serve_receivers();
        if (options_.receive_hwm != 0 && pr->in.size() >= options_.receive_hwm) {
            pr->read_paused = true; // TCP backpressure from here on
            return false;
        }
        return true;
    }
    if (auto* s = std::get_if<events::subscribe>(&e))
        strategy().subscription(p, s->topic.bytes(), true, *this);
    else if (auto* c = std::get_if<events::cancel>(&e))
        strategy().subscription(p, c->topic.bytes(), false, *this);
    serve_receivers();
    return true;
}

void socket_impl::link_written(peer_id p)
{
    if (peer* pr = find(p)) {
        pump(*pr);
        serve_senders();
    }
}

void socket_impl::link_closed(peer_id p, error_code ec)
{
    peer* pr = find(p);
    if (!pr)
        return;
    const bool was_ready = pr->ready;
    handshake_over(*pr);
    monitor_event e =
        event_for(was_ready ? monitor_event_type::disconnected : monitor_event_type::handshake_failed, *pr);
    e.error = ec;
    e.reason = pr->conn && !pr->conn->protocol().error_reason().empty()
                   ? pr->conn->protocol().error_reason()
                   : ec.message();
    notify(std::move(e));
    pr->conn.reset();
    connector* origin = pr->origin;
    if (was_ready) {
        // What the peer sent before it went is still delivered.
        pr->going = true;
        if (pr->in.empty())
            retire(*pr);
    } else if (!origin) {
        erase_peer(p);
    }
    if (origin)
        origin->connection_lost();
    serve_senders();
    serve_receivers();
}

// A peer whose connection is gone leaves the strategy; a connect()'s peer
// stays as a pending peer (unless immediate) for the next connection.
void socket_impl::retire(peer& pr)
{
    const peer_id p = pr.id;
    strategy().detach(p, *this);
    if (!pr.origin) {
        erase_peer(p);
        return;
    }
    pr.ready = false;
    pr.going = false;
    if (!options_.immediate)
        strategy().attach(p, {true, {}}, *this);
}

std::size_t socket_impl::peer_count() const noexcept
{
    return static_cast<std::size_t>(
        std::count_if(peers_.begin(), peers_.end(), [](const auto& e) { return e.second->ready; }));
}

std::size_t socket_impl::dropped() const noexcept
{
    return dropped_;
}

void socket_impl::close()
{
    if (closed_)
        return;
    closed_ = true;
    for (auto& l : listeners_) {
        l->close();
        notify(monitor_event(monitor_event_type::closed, l->bound()));
    }
    listeners_.clear();
    for (auto& c : connectors_)
        c->close();
    connectors_.clear();

    // Linger: ready peers get what is queued for them, for up to `linger`.
    struct lingering {
        explicit lingering(const net::any_io_executor& ex) : timer(ex) {}
        net::steady_timer timer;
        std::vector<std::shared_ptr<link>> links;
        std::size_t left = 0;
    };
    auto linger = std::make_shared<lingering>(strand_);
    for (auto& [id, pr] : peers_) {
        if (!pr->conn)
            continue;
        if (!pr->ready || options_.linger.count() == 0) {
            pr->conn->abort();
            continue;
        }
        while (!pr->out.empty() && !pr->conn->write(pr->out.front()))
            pr->out.pop_front();
        linger->links.push_back(pr->conn);
    }
    linger->left = linger->links.size();
    for (auto& l : linger->links)
        l->flush_and_close([linger] {
            if (--linger->left == 0)
                linger->timer.cancel();
        });
    if (!linger->links.empty() && options_.linger.count() > 0) {
        linger->timer.expires_after(options_.linger);
        linger->timer.async_wait([linger](error_code) {
            for (auto& l : linger->links)
                l->abort();
        });
    }
    peers_.clear();
    last_found_ = nullptr;

    const error_code aborted = net::error::operation_aborted;
    for (auto& s : senders_)
        net::post(strand_, net::append(std::move(s.handler), aborted));
    senders_.clear();
    for (auto& r : receivers_)
        net::post(strand_, net::append(std::move(r), aborted, message()));
    receivers_.clear();
    // Queued monitor events are still handed out; waiters learn it is over.
    for (auto& m : monitor_waiters_)
        net::post(strand_, net::append(std::move(m), aborted, monitor_event(monitor_event_type::closed)));
    monitor_waiters_.clear();
}

} // namespace zmtp::asio::detail

namespace zmtp::asio {

std::string_view to_string(monitor_event_type t) noexcept
{
    switch (t) {
    case monitor_event_type::listening: return "listening";
    case monitor_event_type::bind_failed: return "bind_failed";
    case monitor_event_type::accepted: return "accepted";
    case monitor_event_type::connected: return "connected";
    case monitor_event_type::connect_delayed: return "connect_delayed";
    case monitor_event_type::connect_retried: return "connect_retried";
    case monitor_event_type::handshake_succeeded: return "handshake_succeeded";
    case monitor_event_type::handshake_failed: return "handshake_failed";
    case monitor_event_type::disconnected: return "disconnected";
    case monitor_event_type::closed: return "closed";
    case monitor_event_type::message_dropped: return "message_dropped";
    }
    return "unknown";
}

} // namespace zmtp::asio
