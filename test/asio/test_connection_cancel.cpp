// SPDX-License-Identifier: MPL-2.0
// connection<Stream>: a read cancelled through its cancellation slot, or
// by losing an `||` to a timer, completes with operation_aborted and loses
// nothing: the bytes it already took from the stream are the start of the
// next read's message. The peer is a raw memory_stream end, so that a
// message can stop halfway.
#include "zmtp/asio/connection.hpp"
#include "zmtp/asio/memory_stream.hpp"

#include "helpers.hpp"

#include <doctest/doctest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <optional>
#include <vector>

using namespace zmtp;
using namespace zmtp::asio_test;
using zmtp::asio::memory_stream;
using conn = zmtp::asio::connection<memory_stream>;

namespace {

struct raw_peer {
    net::io_context io;
    std::optional<memory_stream> peer;
    std::optional<conn> c;

    raw_peer()
    {
        auto [mine, theirs] = zmtp::asio::make_memory_stream_pair(io.get_executor());
        peer.emplace(std::move(mine));
        c.emplace(options_for(), std::move(theirs));
        std::vector<std::byte> hello = raw::greeting();
        raw::append(hello, raw::ready("PAIR"));
        write(hello);
        std::optional<error_code> hs;
        c->async_handshake([&](error_code ec) { hs = ec; });
        REQUIRE(run_until(io, [&] { return hs.has_value(); }));
        REQUIRE_FALSE(*hs);
    }

    void write(const std::vector<std::byte>& bytes)
    {
        std::optional<error_code> done;
        net::async_write(*peer, net::buffer(bytes), [&](error_code ec, std::size_t) { done = ec; });
        REQUIRE(run_until(io, [&] { return done.has_value(); }));
        REQUIRE_FALSE(*done);
    }

    message read()
    {
        std::optional<error_code> r;
        message m;
        c->async_read(m, [&](error_code ec) { r = ec; });
        REQUIRE(run_until(io, [&] { return r.has_value(); }));
        REQUIRE_FALSE(*r);
        return m;
    }
};

std::vector<std::byte> wire_of(const frame& f)
{
    return raw::frame_bytes(0, std::vector<std::byte>(f.bytes().begin(), f.bytes().end()));
}

} // namespace

TEST_CASE("connection cancel: a read cancelled halfway through a message completes with operation_aborted; "
          "the message then arrives whole")
{
    // 100 octets go through the read buffer; 40 000 are read into the frame.
    for (const std::size_t size : {std::size_t{100}, std::size_t{40'000}}) {
        CAPTURE(size);
        raw_peer t;
        const frame body = patterned_frame(size);
        const std::vector<std::byte> wire = wire_of(body);
        const auto half = static_cast<std::ptrdiff_t>(wire.size() / 2);
        t.write({wire.begin(), wire.begin() + half});

        net::cancellation_signal signal;
        std::optional<error_code> r;
        message m;
        t.c->async_read(m, net::bind_cancellation_slot(signal.slot(), [&](error_code ec) { r = ec; }));
        t.io.restart();
        t.io.poll();
        REQUIRE_FALSE(r); // half a message: still reading
        CHECK(t.peer->is_open());
        signal.emit(net::cancellation_type::terminal);
        REQUIRE(run_until(t.io, [&] { return r.has_value(); }));
        CHECK(*r == net::error::operation_aborted);

        std::vector<std::byte> rest(wire.begin() + half, wire.end());
        raw::append(rest, raw::message_frame("after"));
        t.write(rest);
        CHECK(t.read() == message{body});
        CHECK(t.read() == message{"after"});
    }
}

TEST_CASE("connection cancel: read || timer: the timer wins, the message sent later is read whole")
{
    using namespace net::experimental::awaitable_operators;
    raw_peer t;
    std::optional<std::size_t> winner;
    std::optional<message> next;
    net::co_spawn(
        t.io,
        [&]() -> net::awaitable<void> {
            message m;
            net::steady_timer timer(t.io, std::chrono::milliseconds(20));
            auto r = co_await (t.c->async_read(m, net::use_awaitable) || timer.async_wait(net::use_awaitable));
            winner = r.index();
            message later;
            co_await t.c->async_read(later, net::use_awaitable);
            next = std::move(later);
        },
        net::detached);
    REQUIRE(run_until(t.io, [&] { return winner.has_value(); }));
    CHECK(winner == 1u);
    t.write(raw::message_frame("late"));
    REQUIRE(run_until(t.io, [&] { return next.has_value(); }));
    CHECK(next == message{"late"});
}
