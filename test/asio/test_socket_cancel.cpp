// SPDX-License-Identifier: MPL-2.0
// zmtp::socket's operations cancelled (awaitable operators, cancellation
// slots, a timer that emits, socket::cancel()) and timed out (send_timeout,
// receive_timeout): they complete with operation_aborted or timed_out and
// lose nothing, a cancelled send having queued none of its message.
#include "helpers.hpp"
#include "zmtp/socket.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using zmtp::message;
using zmtp::socket_type;
using zmtp::asio::error_code;
using zmtp::asio_test::run_until;
using zmtp::asio_test::scaled;
using zmtp::asio_test::temp_dir;

namespace {

// What a callback-style operation completed with.
struct result {
    std::optional<error_code> ec;
    message msg;
};

auto on_receive(result& r)
{
    return [&r](error_code ec, message m) {
        r.ec = ec;
        r.msg = std::move(m);
    };
}

auto on_send(std::optional<error_code>& r)
{
    return [&r](error_code ec) { r = ec; };
}

// A socket connected to an ipc endpoint nobody listens at yet, retrying
// every `retry`, with send_hwm 1 and "1" already queued for the pending
// peer: its next send waits.
std::string blocked_sender(zmtp::socket& s, const temp_dir& dir,
                           std::chrono::milliseconds retry = 10ms)
{
    const std::string where = "ipc://" + (dir.path() / "later").string();
    s.options().send_hwm = 1;
    s.options().reconnect_ivl = retry;
    s.options().reconnect_ivl_max = retry;
    s.connect(where);
    message first{"1"};
    REQUIRE_FALSE(s.try_send(first));
    return where;
}

} // namespace

TEST_CASE("socket cancel: receive || timer completes with the timer; the late message is the next receive's")
{
    using namespace net::experimental::awaitable_operators;
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    zmtp::socket push(io, socket_type::push);
    push.connect(pull.bind("tcp://127.0.0.1:0"));
    std::optional<std::size_t> first_winner;
    std::string next;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            net::steady_timer timer(io, 50ms);
            auto r = co_await (pull.async_receive(net::use_awaitable) || timer.async_wait(net::use_awaitable));
            first_winner = r.index();
            message late{"late"}; // named: g++ 12 rejects a braced temporary in co_await
            co_await push.async_send(std::move(late), net::use_awaitable);
            message m = co_await pull.async_receive(net::use_awaitable);
            next = m.front().str();
        },
        net::detached);
    REQUIRE(run_until(io, [&] { return !next.empty(); }));
    CHECK(first_winner == 1u);
    CHECK(next == "late");
}

TEST_CASE("socket cancel: a cancellation slot's emit(terminal), before or after the operation reached the socket")
{
    net::cancellation_signal early, late; // outlive the operations they reach
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    zmtp::socket push(io, socket_type::push);
    push.connect(pull.bind("tcp://127.0.0.1:0"));
    result a, b, c;
    pull.async_receive(net::bind_cancellation_slot(early.slot(), on_receive(a)));
    early.emit(net::cancellation_type::terminal); // the io_context has not run yet
    pull.async_receive(net::bind_cancellation_slot(late.slot(), on_receive(b)));
    REQUIRE(run_until(io, [&] { return a.ec.has_value(); }));
    CHECK(*a.ec == net::error::operation_aborted);
    zmtp::asio_test::run_for(io, 20ms);
    CHECK_FALSE(b.ec);
    late.emit(net::cancellation_type::total);
    REQUIRE(run_until(io, [&] { return b.ec.has_value(); }));
    CHECK(*b.ec == net::error::operation_aborted);

    // The slot was cleared: emitting again reaches no operation.
    late.emit(net::cancellation_type::terminal);
    pull.async_receive(on_receive(c));
    message m{"kept"};
    REQUIRE_FALSE(push.try_send(m));
    REQUIRE(run_until(io, [&] { return c.ec.has_value(); }));
    CHECK_FALSE(*c.ec);
    CHECK(c.msg == message{"kept"});
}

TEST_CASE("socket cancel: a timer that emits cancels a receive after a while (cancel_after)")
{
    net::cancellation_signal sig;
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    zmtp::socket push(io, socket_type::push);
    push.connect(pull.bind("tcp://127.0.0.1:0"));
    net::steady_timer after(io, 30ms);
    after.async_wait([&](error_code) { sig.emit(net::cancellation_type::terminal); });
    result r, again;
    pull.async_receive(net::bind_cancellation_slot(sig.slot(), on_receive(r)));
    REQUIRE(run_until(io, [&] { return r.ec.has_value(); }));
    CHECK(*r.ec == net::error::operation_aborted);
    message m{"after"};
    REQUIRE_FALSE(push.try_send(m));
    pull.async_receive(on_receive(again));
    REQUIRE(run_until(io, [&] { return again.ec.has_value(); }));
    CHECK(again.msg == message{"after"});
}

TEST_CASE("socket cancel: a send held back by the HWM, cancelled, is never delivered; later sends are")
{
    temp_dir dir;
    net::cancellation_signal sig;
    net::io_context io;
    zmtp::socket push(io, socket_type::push);
    const std::string where = blocked_sender(push, dir);
    std::optional<error_code> held, after;
    push.async_send(message{"2"}, net::bind_cancellation_slot(sig.slot(), on_send(held)));
    zmtp::asio_test::run_for(io, 20ms);
    REQUIRE_FALSE(held);
    sig.emit(net::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return held.has_value(); }));
    CHECK(*held == net::error::operation_aborted);

    zmtp::socket pull(io, socket_type::pull);
    pull.options().receive_timeout = 200ms;
    pull.bind(where);
    push.async_send(message{"3"}, on_send(after));
    std::vector<std::string> got;
    std::optional<error_code> last;
    std::function<void()> next = [&] {
        pull.async_receive([&](error_code ec, message m) {
            if (ec) {
                last = ec;
                return;
            }
            got.push_back(m.front().str());
            next();
        });
    };
    next();
    REQUIRE(run_until(io, [&] { return last.has_value(); }));
    CHECK(*last == net::error::timed_out); // nothing after "3"
    CHECK(got == std::vector<std::string>{"1", "3"});
    CHECK(after == error_code());
}

TEST_CASE("socket cancel: socket::cancel() ends every waiting operation; the socket goes on")
{
    temp_dir dir;
    net::io_context io;
    zmtp::socket dealer(io, socket_type::dealer);
    // Retries (monitor events) 150 ms apart at the soonest.
    const std::string where = blocked_sender(dealer, dir, 300ms);
    std::optional<error_code> s2, s3;
    result r1, r2;
    std::optional<error_code> mon;
    dealer.async_send(message{"2"}, on_send(s2));
    dealer.async_send(message{"3"}, on_send(s3));
    dealer.async_receive(on_receive(r1));
    dealer.async_receive(on_receive(r2));
    std::function<void()> watch = [&] {
        dealer.async_monitor([&](error_code ec, const zmtp::monitor_event&) {
            if (ec)
                mon = ec;
            else
                watch(); // the first retry's event
        });
    };
    watch();
    zmtp::asio_test::run_for(io, 20ms);
    REQUIRE_FALSE(s2);
    dealer.cancel();
    REQUIRE(run_until(io, [&] { return s2 && s3 && r1.ec && r2.ec && mon; }));
    for (const error_code& ec : {*s2, *s3, *r1.ec, *r2.ec, *mon})
        CHECK(ec == net::error::operation_aborted);

    zmtp::socket router(io, socket_type::router);
    router.bind(where);
    std::vector<std::string> got;
    std::function<void()> next = [&] {
        router.async_receive([&](error_code ec, message m) {
            if (ec)
                return;
            got.push_back(m.back().str());
            next();
        });
    };
    next();
    std::optional<error_code> s4;
    dealer.async_send(message{"4"}, on_send(s4));
    REQUIRE(run_until(io, [&] { return got.size() == 2; }));
    CHECK(got == std::vector<std::string>{"1", "4"});
    CHECK(s4 == error_code());
}

TEST_CASE("socket cancel: send_timeout and receive_timeout complete with timed_out, losing nothing")
{
    temp_dir dir;
    net::io_context io;
    zmtp::socket push(io, socket_type::push);
    const std::string where = blocked_sender(push, dir);
    push.options().send_timeout = 30ms;
    std::optional<error_code> held;
    const auto started = std::chrono::steady_clock::now();
    push.async_send(message{"2"}, on_send(held));
    REQUIRE(run_until(io, [&] { return held.has_value(); }));
    CHECK(*held == net::error::timed_out);
    CHECK(std::chrono::steady_clock::now() - started >= 30ms);

    zmtp::socket pull(io, socket_type::pull);
    pull.options().receive_timeout = 0ms;
    result none;
    pull.async_receive(on_receive(none));
    REQUIRE(run_until(io, [&] { return none.ec.has_value(); }));
    CHECK(*none.ec == net::error::timed_out);
    pull.options().receive_timeout = scaled(5000ms);
    pull.bind(where);
    result first;
    pull.async_receive(on_receive(first));
    REQUIRE(run_until(io, [&] { return first.ec.has_value(); }));
    CHECK_FALSE(*first.ec);
    CHECK(first.msg == message{"1"});
}
