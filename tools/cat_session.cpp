// SPDX-License-Identifier: MPL-2.0
#include "cat_session.hpp"

#include "zmtp/printable.hpp"

#include <boost/asio/post.hpp>

#include <cstdio>
#include <string_view>
#include <thread>

namespace zmtp::cat {

namespace {

bool is_subscription(const message& m)
{
    if (m.size() != 1 || m.front().size() == 0)
        return false;
    const auto b = m.front().bytes()[0];
    return b == std::byte{1} || b == std::byte{0};
}

// The library's detail ("bind tcp://...: reason", or a reason that names
// the endpoint) as a "cannot ..." line.
std::string cannot(const std::string& detail)
{
    return detail.starts_with("cannot ") ? detail : "cannot " + detail;
}

} // namespace

session::session(net::io_context& io, settings s)
    : io_(io),
      cfg_(std::move(s)),
      role_(role_for(cfg_)),
      sock_(io, cfg_.type),
      stdin_(io.get_executor(), cfg_.options.send_hwm == 0 ? std::size_t{1} << 20
                                                           : cfg_.options.send_hwm),
      grace_timer_(io),
      work_(io.get_executor())
{
}

session::role session::role_for(const settings& s) noexcept
{
    if (s.echo)
        return role::echo;
    switch (s.type) {
    case socket_type::push:
    case socket_type::pub:
    case socket_type::scatter:
    case socket_type::radio: return role::send_only;
    case socket_type::pull:
    case socket_type::sub:
    case socket_type::gather:
    case socket_type::dish: return role::receive_only;
    case socket_type::req: return role::request;
    case socket_type::rep: return role::reply;
    default: return role::duplex;
    }
}

void session::start()
{
    sock_.options() = cfg_.options;
    sock_.set_monitor([this](const asio::monitor_event& e) { on_monitor(e); });
    if (cfg_.trace)
        sock_.set_tracer([](const std::string& peer, const trace_record& t) {
            std::fprintf(stderr, "%s\n", format_trace(peer, t).c_str());
            std::fflush(stderr);
        });
    if (!cfg_.wait_peers || *cfg_.wait_peers == 0)
        gate_ = true;

    for (const std::string& b : cfg_.binds) {
        error_code ec;
        std::string detail;
        const std::string bound = sock_.bind(b, ec, &detail);
        if (ec) {
            note(cannot(detail));
            finish(1);
        }
        // ipc:// and tls+ipc:// socket files; not Linux abstract names (@NAME).
        std::string_view local = bound;
        if (local.starts_with("tls+"))
            local.remove_prefix(4);
        if (local.starts_with("ipc://") && local.size() > 6 && local[6] != '@')
            remove_at_exit(std::string(local.substr(6)));
        std::fprintf(stderr, "bound %s\n", bound.c_str());
        std::fflush(stderr);
    }
    for (const std::string& c : cfg_.connects) {
        connect_up_.emplace(c, 0);
        error_code ec;
        std::string detail;
        sock_.connect(c, ec, &detail);
        if (ec) {
            note(cannot(detail));
            finish(1);
        }
    }

    if (cfg_.type == socket_type::sub) {
        if (cfg_.subscribe.empty())
            sock_.subscribe("");
        for (const std::string& topic : cfg_.subscribe)
            sock_.subscribe(topic);
    } else if (cfg_.type == socket_type::dish) {
        for (const std::string& g : cfg_.join)
            if (const error_code ec = sock_.join(g)) {
                note("cannot join '" + g + "': " + ec.message());
                finish(2);
            }
    } else if (cfg_.type == socket_type::xsub) {
        // XSUB subscribes by sending 0x01 PREFIX; the socket remembers it
        // for every peer, present and future.
        for (const std::string& topic : cfg_.subscribe) {
            message m{frame("\x01" + topic)};
            if (const error_code ec = sock_.try_send(m)) {
                note("cannot subscribe to '" + topic + "': " + ec.message());
                finish(1);
            }
        }
    }

    const bool reads_stdin = role_ == role::send_only || role_ == role::duplex ||
                             role_ == role::request || role_ == role::reply;
    if (reads_stdin)
        stdin_.start([this](std::vector<std::string> lines) { on_lines(std::move(lines)); },
                     [this] { on_stdin_eof(); });
    if (role_ != role::send_only && role_ != role::request)
        receive_next();
}

// ---------------------------------------------------------------- monitor

std::string session::name_of(const asio::monitor_event& e) const
{
    if (connect_up_.contains(e.endpoint) || e.peer.empty())
        return e.endpoint;
    return e.peer + " (on " + e.endpoint + ")";
}

void session::on_monitor(const asio::monitor_event& e)
{
    using t = asio::monitor_event_type;
    switch (e.type) {
    case t::accepted:
    case t::connected:
        if (cfg_.verbose)
            note("connected to " + name_of(e));
        break;
    case t::handshake_succeeded: {
        ++live_peers_;
        if (auto it = connect_up_.find(e.endpoint); it != connect_up_.end())
            ++it->second;
        if (cfg_.verbose)
            note("handshake with " + name_of(e) + " complete" +
                 (e.routing_id.empty() ? std::string() : " (routing id " + printable(e.routing_id) + ")"));
        // The monitor runs inside the socket's own calls: act afterwards.
        net::post(io_, [this] {
            if (exiting_)
                try_close();
            else
                pump_sends();
        });
        break;
    }
    case t::handshake_failed:
        note("handshake with " + name_of(e) + " failed: " + e.reason);
        break;
    case t::connect_retried:
        // exec: a command the shell cannot find or run (or no child at
        // all) would fail the same way on every retry.
        if (e.endpoint.starts_with("exec:") && e.error != zmtp::error::connection_closed) {
            note("cannot start a command for " + e.endpoint + ": " + e.reason);
            finish(1);
        }
        if (cfg_.verbose)
            note("connect to " + e.endpoint + " failed: " +
                 (e.reason.empty() ? e.error.message() : e.reason) + "; retrying in " +
                 std::to_string(e.retry_in.count()) + " ms");
        break;
    case t::disconnected:
        if (live_peers_ > 0)
            --live_peers_;
        if (auto it = connect_up_.find(e.endpoint); it != connect_up_.end() && it->second > 0)
            --it->second;
        if (cfg_.verbose)
            note("disconnected from " + name_of(e) + ": " + e.reason);
        break;
    default:
        break;
    }
}

// ---------------------------------------------------------------- stdin

void session::on_lines(std::vector<std::string> lines)
{
    if (stdin_done_ || exiting_) {
        stdin_.release(lines.size());
        return;
    }
    for (const std::string& l : lines) {
        ++line_number_;
        try {
            pending_.push_back(is_draft(cfg_.type)
                                   ? parse_draft_line(l, cfg_.format, cfg_.type, cfg_.group)
                                   : parse_line(l, cfg_.format));
        } catch (const format_error& e) {
            note("stdin line " + std::to_string(line_number_) + ": " + e.what());
            finish(2);
        }
    }
    pump_sends();
}

void session::on_stdin_eof()
{
    stdin_done_ = true;
    pump_sends();
}

// ---------------------------------------------------------------- sending

// --wait-peers: N handshaken peers; for pub and xpub also time for their
// subscriptions (xpub: at least one seen) to arrive.
bool session::gate_open()
{
    if (gate_)
        return true;
    if (live_peers_ < *cfg_.wait_peers)
        return false;
    if (cfg_.type != socket_type::pub && cfg_.type != socket_type::xpub &&
        cfg_.type != socket_type::radio) {
        gate_ = true;
        return true;
    }
    if (cfg_.type == socket_type::xpub && subscriptions_seen_ == 0)
        return false;
    if (!grace_started_) {
        grace_started_ = true;
        grace_timer_.expires_after(subscription_grace);
        grace_timer_.async_wait([this](error_code ec) {
            if (ec)
                return;
            gate_ = true;
            pump_sends();
        });
    }
    return false;
}

void session::pump_sends()
{
    if (closed_)
        return;
    while (!sending_ && !exiting_ && !pending_.empty()) {
        if (role_ == role::request) {
            if (awaiting_reply_ || !gate_open())
                break;
            awaiting_reply_ = true;
        } else if (role_ == role::reply) {
            if (!have_request_)
                break;
            have_request_ = false;
        } else if (role_ != role::echo && !gate_open()) {
            break;
        }
        message m = std::move(pending_.front());
        pending_.pop_front();
        send_one(std::move(m));
    }
    check_done();
}

// Hands `m` to the socket now if it takes it, or waits for it; returns
// false while a send is outstanding.
bool session::send_one(message m)
{
    const error_code ec = sock_.try_send(m);
    if (ec != zmtp::error::would_block) {
        on_sent(ec);
        return true;
    }
    sending_ = true;
    sock_.async_send(std::move(m), [this](error_code e) {
        sending_ = false;
        on_sent(e);
        pump_sends();
    });
    return false;
}

void session::on_sent(error_code ec)
{
    if (closed_)
        return;
    if (ec == zmtp::error::host_unreachable) {
        // server, peer: that peer is gone (or never was); the others stay.
        note("cannot send: " + ec.message());
    } else if (ec) {
        note("cannot send: " + ec.message());
        finish(1);
    }
    ++sent_;
    if (role_ != role::echo)
        stdin_.release(1);
    if (role_ == role::request || role_ == role::reply || role_ == role::echo)
        receive_next();
}

// ---------------------------------------------------------------- receiving

void session::receive_next()
{
    if (receiving_ || exiting_ || closed_)
        return;
    if (role_ == role::reply && (have_request_ || sending_))
        return; // answer first
    if (role_ == role::echo && (sending_ || !pending_.empty()))
        return;
    if (role_ == role::request && !awaiting_reply_)
        return;
    receiving_ = true;
    sock_.async_receive([this](error_code ec, message m) {
        receiving_ = false;
        if (ec) {
            if (closed_ || exiting_ || ec == net::error::operation_aborted)
                return;
            note("cannot receive: " + ec.message());
            finish(1);
        }
        on_message(std::move(m));
    });
}

void session::print(const message& m)
{
    const std::string line = (is_draft(cfg_.type) ? format_draft_line(m, cfg_.format, cfg_.type)
                                                  : format_line(m, cfg_.format)) +
                             "\n";
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0)
        finish(1);
}

void session::on_message(message m)
{
    if (exiting_)
        return;
    print(m);
    ++received_;
    switch (role_) {
    case role::send_only:
        break;
    case role::receive_only:
        if (count_reached())
            finish(0);
        receive_next();
        break;
    case role::duplex:
        if (cfg_.type == socket_type::xpub && is_subscription(m) &&
            m.front().bytes()[0] == std::byte{1})
            ++subscriptions_seen_;
        if (count_reached()) {
            stdin_done_ = true; // deliver what was read, take no more
            pump_sends();
            return;
        }
        receive_next();
        pump_sends(); // xpub: a subscription may open --wait-peers
        break;
    case role::echo:
        pending_.push_back(std::move(m));
        pump_sends();
        break;
    case role::request:
        awaiting_reply_ = false;
        pump_sends();
        break;
    case role::reply:
        have_request_ = true;
        pump_sends();
        break;
    }
}

// ---------------------------------------------------------------- the end

void session::check_done()
{
    if (exiting_)
        return;
    const bool delivered = pending_.empty() && !sending_;
    bool done = false;
    switch (role_) {
    case role::send_only: done = stdin_done_ && delivered; break;
    case role::receive_only: break;
    case role::duplex: done = (cfg_.count ? count_reached() : stdin_done_) && delivered; break;
    case role::echo: done = count_reached() && delivered; break;
    case role::request:
        done = (count_reached() && !awaiting_reply_) ||
               (stdin_done_ && delivered && !awaiting_reply_);
        break;
    case role::reply:
        done = (count_reached() && !have_request_ && !sending_) || (stdin_done_ && delivered);
        break;
    }
    if (done)
        begin_exit();
}

void session::begin_exit()
{
    if (exiting_)
        return;
    exiting_ = true;
    grace_timer_.cancel();
    if (cfg_.linger)
        std::thread([d = *cfg_.linger] {
            std::this_thread::sleep_for(d);
            finish(0);
        }).detach();
    try_close();
}

// Types that queue messages for a peer still connecting lose them if
// closed before it is there: wait (within --linger) for the connections.
bool session::waits_for_connectors() const noexcept
{
    if (sent_ == 0 || connect_up_.empty())
        return false;
    switch (cfg_.type) {
    case socket_type::pair:
    case socket_type::channel:
        for (const auto& e : connect_up_)
            if (e.second > 0)
                return false;
        return live_peers_ == 0;
    case socket_type::push:
    case socket_type::dealer:
    case socket_type::xsub:
    case socket_type::scatter:
    case socket_type::client:
    case socket_type::peer:
        for (const auto& e : connect_up_)
            if (e.second == 0)
                return true;
        return false;
    default: return false;
    }
}

void session::try_close()
{
    if (closed_ || waits_for_connectors())
        return;
    closed_ = true;
    // Writes what is queued, closes each connection once written; the
    // io_context then runs out of work and main() exits.
    sock_.close();
    work_.reset();
}

} // namespace zmtp::cat
