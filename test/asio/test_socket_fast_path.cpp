// SPDX-License-Identifier: MPL-2.0
// socket::async_send / async_receive with use_awaitable in a coroutine on
// the socket's own executor: what needs no waiting completes without
// suspending, and the result is the one the queued path gives (order,
// errors, cancellation); the coroutine still yields now and then, so a
// loop that never waits (PUB) does not starve the socket's own I/O; and a
// message of a few small frames costs no allocation on its way through.
#include "helpers.hpp"
#include "zmtp/socket.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#ifdef ZMTP_TEST_ALLOC_HOOK
#include "alloc_hook.hpp"
#endif

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using zmtp::message;
using zmtp::socket_type;
using zmtp::asio::error_code;
using zmtp::asio_test::run_until;
using zmtp::asio_test::run_while_progressing;
using zmtp::asio_test::temp_dir;

namespace {

// Records how a coroutine ended: the text of what it threw, or "".
auto record(std::optional<std::string>& out)
{
    return [&out](std::exception_ptr e) {
        out = "";
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                out = x.what();
            }
        }
    };
}

// The error_code a coroutine's co_await threw, if it threw one.
template <class Op>
net::awaitable<std::optional<error_code>> thrown_by(Op op)
{
    try {
        co_await op();
    } catch (const boost::system::system_error& e) {
        co_return e.code();
    }
    co_return std::nullopt;
}

} // namespace

TEST_CASE("socket fast path: more messages than a streak, co_await'ed both ways, arrive in order")
{
    constexpr std::size_t count = 3 * zmtp::asio::detail::socket_impl::fast_streak_messages + 7;
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    zmtp::socket push(io, socket_type::push);
    push.connect(pull.bind("tcp://127.0.0.1:0"));
    std::optional<std::string> sent, received;
    std::size_t in_order = 0;
    net::co_spawn(pull.get_executor(), [&]() -> net::awaitable<void> {
        for (std::size_t i = 0; i < count; ++i) {
            message m = co_await pull.async_receive(net::use_awaitable);
            if (m.size() == 1 && m.front().str() == std::to_string(i))
                ++in_order;
        }
    }, record(received));
    bool suspended = false;
    net::co_spawn(push.get_executor(), [&]() -> net::awaitable<void> {
        // A handler queued before an accepted send runs only if the send
        // went through the queue.
        net::post(io, [&] { suspended = true; });
        for (std::size_t i = 0; i < count; ++i) {
            const std::string text = std::to_string(i);
            message m{zmtp::frame(std::string_view(text))};
            co_await push.async_send(std::move(m), net::use_awaitable);
            if (i == 0)
                CHECK_FALSE(suspended);
        }
    }, record(sent));
    REQUIRE(run_until(io, [&] { return sent && received; }, 20000ms));
    CHECK(*sent == "");
    CHECK(*received == "");
    CHECK(in_order == count);
}

TEST_CASE("socket fast path: a PUB that never waits still lets the I/O run")
{
    net::io_context io;
    zmtp::socket pub(io, socket_type::pub);
    zmtp::socket sub(io, socket_type::sub);
    sub.subscribe("");
    sub.connect(pub.bind("tcp://127.0.0.1:0"));
    std::size_t delivered = 0;
    std::function<void()> next = [&] {
        sub.async_receive([&](error_code ec, message) {
            if (ec)
                return;
            ++delivered;
            next();
        });
    };
    next();
    // The subscriber's handlers run only when the publisher's loop yields.
    // Bounded, so that a loop that starves the io_context fails rather
    // than hangs.
    constexpr std::size_t cap = 20'000'000;
    std::size_t sends = 0;
    std::optional<std::string> ended;
    net::co_spawn(pub.get_executor(), [&]() -> net::awaitable<void> {
        while (delivered < 100 && sends < cap) {
            message m{"x"};
            co_await pub.async_send(std::move(m), net::use_awaitable);
            ++sends;
        }
    }, record(ended));
    REQUIRE(run_until(io, [&] { return ended.has_value(); }, 60000ms));
    CHECK(*ended == "");
    CHECK(delivered >= 100);
    CHECK(sends < cap);
}

TEST_CASE("socket fast path: a closed socket throws socket_closed, as from any other executor")
{
    net::io_context io;
    zmtp::socket push(io, socket_type::push);
    zmtp::socket pull(io, socket_type::pull);
    push.connect(pull.bind("tcp://127.0.0.1:0"));
    std::optional<error_code> on_strand_send, on_strand_receive;
    std::optional<error_code> elsewhere_send, elsewhere_receive;
    auto send_x = [&] { return push.async_send(message{"x"}, net::use_awaitable); };
    auto receive = [&] { return pull.async_receive(net::use_awaitable); };
    std::optional<std::string> a, b;
    net::co_spawn(push.get_executor(), [&]() -> net::awaitable<void> {
        push.close(); // on the strand: at once
        pull.close();
        on_strand_send = co_await thrown_by(send_x);
        co_await net::co_spawn(pull.get_executor(), [&]() -> net::awaitable<void> {
            on_strand_receive = co_await thrown_by(receive);
        }, net::use_awaitable);
    }, record(a));
    REQUIRE(run_until(io, [&] { return a.has_value(); }));
    net::co_spawn(io, [&]() -> net::awaitable<void> {
        elsewhere_send = co_await thrown_by(send_x);
        elsewhere_receive = co_await thrown_by(receive);
    }, record(b));
    REQUIRE(run_until(io, [&] { return b.has_value(); }));
    CHECK(*a == "");
    CHECK(*b == "");
    REQUIRE(on_strand_send);
    REQUIRE(on_strand_receive);
    CHECK(*on_strand_send == zmtp::error::socket_closed);
    CHECK(*on_strand_receive == zmtp::error::socket_closed);
    CHECK(on_strand_send == elsewhere_send);
    CHECK(on_strand_receive == elsewhere_receive);
}

TEST_CASE("socket fast path: a send that has to wait is still cancelled by ||, queuing nothing")
{
    using namespace net::experimental::awaitable_operators;
    const temp_dir dir;
    net::io_context io;
    zmtp::socket push(io, socket_type::push);
    const std::string where = "ipc://" + (dir.path() / "later").string();
    push.options().send_hwm = 1;
    push.options().reconnect_ivl = 10ms;
    push.options().reconnect_ivl_max = 10ms;
    push.connect(where);
    std::optional<std::size_t> winner;
    std::optional<std::string> ended;
    net::co_spawn(push.get_executor(), [&]() -> net::awaitable<void> {
        message first{"1"};
        co_await push.async_send(std::move(first), net::use_awaitable); // room for one
        net::steady_timer timer(push.get_executor(), 30ms);
        message held{"2"};
        auto r = co_await (push.async_send(std::move(held), net::use_awaitable) ||
                           timer.async_wait(net::use_awaitable));
        winner = r.index();
        message after{"3"};
        co_await push.async_send(std::move(after), net::use_awaitable);
    }, record(ended));
    REQUIRE(run_until(io, [&] { return winner.has_value(); }));
    CHECK(*winner == 1u);

    zmtp::socket pull(io, socket_type::pull);
    pull.options().receive_timeout = 200ms;
    pull.bind(where);
    std::vector<std::string> got;
    std::optional<error_code> last;
    net::co_spawn(pull.get_executor(), [&]() -> net::awaitable<void> {
        for (;;) {
            try {
                message m = co_await pull.async_receive(net::use_awaitable);
                got.push_back(m.front().str());
            } catch (const boost::system::system_error& e) {
                last = e.code();
                co_return;
            }
        }
    }, net::detached);
    REQUIRE(run_until(io, [&] { return last.has_value() && ended.has_value(); }));
    CHECK(*ended == "");
    CHECK(*last == net::error::timed_out); // nothing after "3"
    CHECK(got == std::vector<std::string>{"1", "3"});
}

#ifdef ZMTP_TEST_ALLOC_HOOK
TEST_CASE("socket fast path: a message of up to three small frames allocates nothing on its way through")
{
    // One frame, and a ROUTER-style envelope of three: both fit the
    // message's inline frames and the frames' inline bytes.
    const message one{"12345678"};
    const message three{"routing id", "", "body"};
    for (const std::string endpoint : {"inproc://fast-path-allocations", "tcp://127.0.0.1:0"}) {
        CAPTURE(endpoint);
        net::io_context io;
        zmtp::socket pull(io, socket_type::pull);
        zmtp::socket push(io, socket_type::push);
        push.connect(pull.bind(endpoint));
        std::size_t received = 0, wrong = 0;
        auto exchange = [&](std::size_t count) {
            std::optional<std::string> sender_end, receiver_end;
            received = 0;
            net::co_spawn(pull.get_executor(), [&, count]() -> net::awaitable<void> {
                for (std::size_t i = 0; i < count; ++i) {
                    message m = co_await pull.async_receive(net::use_awaitable);
                    if (!(m == (i % 2 ? three : one)))
                        ++wrong;
                    ++received;
                }
            }, record(receiver_end));
            net::co_spawn(push.get_executor(), [&, count]() -> net::awaitable<void> {
                for (std::size_t i = 0; i < count; ++i)
                    co_await push.async_send(i % 2 ? three : one, net::use_awaitable);
            }, record(sender_end));
            REQUIRE(run_while_progressing(io, [&] { return sender_end && receiver_end; },
                                          [&] { return received; }, 5s));
            CHECK(*sender_end == "");
            CHECK(*receiver_end == "");
        };
        // The queues, copy chunks and read buffer grow to their working
        // size first; from then on a message costs no allocation.
        exchange(20'000);
        constexpr std::size_t measured = 50'000;
        zmtp::test::reset_alloc_stats();
        exchange(measured);
        const std::size_t allocations = zmtp::test::current_alloc_stats().count;
        MESSAGE(allocations << " allocations for " << measured << " messages");
        CHECK(wrong == 0);
        // What is left is Asio's, for each wait of the two coroutines (its
        // executors and handlers): about one per hundred messages here,
        // where they share a thread. One per message would be 50,000.
        CHECK(allocations < measured / 20);
    }
}
#endif // ZMTP_TEST_ALLOC_HOOK
