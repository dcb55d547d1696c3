// SPDX-License-Identifier: MPL-2.0
// Heartbeats in real time over TCP loopback (RFC 37 PING/PONG): a
// responsive idle peer stays connected, a frozen one is dropped with
// heartbeat_timeout, and a peer that asked for a TTL and went silent is
// dropped with ttl_expired; a ZMTP 3.0 peer, which gets no PING, is
// dropped when it stops reading. A peer dropped for its silence gets a
// reset. Intervals are tens of milliseconds.
#include "zmtp/asio/connection.hpp"

#include "helpers.hpp"

#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <functional>

using namespace zmtp;
using namespace zmtp::asio_test;
using tcp = net::ip::tcp;
using tcp_conn = asio::connection<tcp::socket>;
using clock_type = std::chrono::steady_clock;

namespace {

std::pair<tcp::socket, tcp::socket> tcp_pair(net::io_context& io)
{
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    return {acceptor.accept(), std::move(client)};
}

codec_options heartbeating(std::chrono::milliseconds interval, std::chrono::milliseconds timeout)
{
    codec_options o = options_for();
    o.heartbeat.interval = interval;
    o.heartbeat.timeout = timeout;
    return o;
}

// Everything a raw socket receives until eof or error, bounded in time,
// and how the stream ended (eof: closed in order; connection_reset: what
// the peer had not read was discarded).
struct drained {
    std::string bytes;
    error_code end;
};

drained drain(net::io_context& io, tcp::socket& s, std::chrono::milliseconds limit)
{
    drained all;
    std::vector<char> buf(4096);
    bool ended = false;
    std::function<void()> next = [&] {
        s.async_read_some(net::buffer(buf), [&](error_code ec, std::size_t n) {
            all.bytes.append(buf.data(), n);
            if (ec) {
                all.end = ec;
                ended = true;
            } else {
                next();
            }
        });
    };
    next();
    run_until(io, [&] { return ended; }, limit);
    if (!ended) {
        s.cancel();
        run_until(io, [&] { return ended; }, 500ms);
    }
    return all;
}

std::size_t count_of(const std::string& hay, const std::string& needle)
{
    std::size_t n = 0;
    for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1))
        ++n;
    return n;
}

void handshake_by_hand(tcp::socket& raw)
{
    std::vector<std::byte> hello = raw::greeting();
    raw::append(hello, raw::ready("PAIR"));
    net::write(raw, net::buffer(hello));
}

} // namespace

TEST_CASE("heartbeats keep an idle, responsive connection alive")
{
    net::io_context io;
    auto sa_sb = tcp_pair(io);
    auto& sa = sa_sb.first;
    auto& sb = sa_sb.second;
    tcp_conn a(heartbeating(50ms, 150ms), std::move(sa));
    tcp_conn b(heartbeating(50ms, 150ms), std::move(sb));

    // a watches every event; b keeps a plain read outstanding.
    int pings = 0, pongs = 0;
    std::optional<error_code> a_error, b_result;
    message b_msg;
    event ev;
    std::function<void()> watch = [&] {
        a.async_read_event(ev, [&](error_code ec) {
            if (ec) {
                a_error = ec;
                return;
            }
            pings += std::holds_alternative<events::ping>(ev) ? 1 : 0;
            pongs += std::holds_alternative<events::pong>(ev) ? 1 : 0;
            watch();
        });
    };
    watch();
    b.async_read(b_msg, [&](error_code ec) { b_result = ec; });

    // Ten intervals, three heartbeat timeouts, of silence from the application.
    run_until(io, [&] { return a_error || b_result; }, 500ms);
    CHECK_MESSAGE(!a_error, a_error->message());
    CHECK_MESSAGE(!b_result, b_result->message());
    CHECK(a.is_open());
    CHECK(b.is_open());
    CHECK(pings >= 3); // b's PINGs, seen by a
    CHECK(pongs >= 3); // b's answers to a's PINGs

    // Still a working connection.
    std::optional<error_code> wrote;
    a.async_write(message{"still here"}, [&](error_code ec) { wrote = ec; });
    REQUIRE(run_until(io, [&] { return wrote && b_result; }, 1000ms));
    CHECK(!*wrote);
    CHECK(!*b_result);
    CHECK(b_msg == message{"still here"});
}

TEST_CASE("a peer that stops answering is dropped with heartbeat_timeout")
{
    net::io_context io;
    auto sa_raw = tcp_pair(io);
    auto& sa = sa_raw.first;
    auto& raw = sa_raw.second;
    tcp_conn a(heartbeating(50ms, 150ms), std::move(sa));
    handshake_by_hand(raw); // then it freezes: never reads, never writes

    std::optional<error_code> hs, r;
    a.async_handshake([&](error_code ec) { hs = ec; });
    REQUIRE(run_until(io, [&] { return hs.has_value(); }, 1000ms));
    REQUIRE(!*hs);
    const auto t0 = clock_type::now();
    message m;
    a.async_read(m, [&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }, 2000ms));
    const auto elapsed = clock_type::now() - t0;
    CHECK(*r == zmtp::error::heartbeat_timeout);
    CHECK(*r == zmtp::condition::timed_out);
    // First PING after 50 ms, given up 150 ms later.
    CHECK(elapsed >= 180ms);
    CHECK(elapsed < scaled(1000ms)); // fired by its timer, not a later one

    // What the frozen peer was sent: our greeting, READY, then PINGs; and
    // the connection hung up.
    const drained got = drain(io, raw, 1000ms);
    CHECK(got.bytes.size() > 64);
    CHECK(count_of(got.bytes, "\x04PING") >= 1);
    CHECK(count_of(got.bytes, "READY") == 1);
    // Presumed gone, the peer gets a reset, not an orderly close.
    CHECK(got.end == net::error::connection_reset);
}

TEST_CASE("hostile: a ZMTP 3.0 peer (no PING) that stops reading is dropped with heartbeat_timeout, its unread output discarded")
{
    net::io_context io;
    auto sa_raw = tcp_pair(io);
    auto& sa = sa_raw.first;
    auto& raw = sa_raw.second;
    tcp_conn a(heartbeating(50ms, 150ms), std::move(sa));
    std::vector<std::byte> hello = raw::greeting();
    hello[11] = std::byte{0}; // ZMTP 3.0: it would not understand a PING
    raw::append(hello, raw::ready("PAIR"));
    net::write(raw, net::buffer(hello)); // then it never reads

    std::optional<error_code> hs;
    a.async_handshake([&](error_code ec) { hs = ec; });
    REQUIRE(run_until(io, [&] { return hs.has_value(); }, 1000ms));
    REQUIRE(!*hs);
    REQUIRE(a.protocol().peer_minor_version() == 0);
    // Messages until the socket buffers are full and one waits for good.
    std::size_t written = 0;
    std::optional<error_code> last;
    std::function<void()> write_one = [&] {
        a.async_write(message{frame(std::string(64 * 1024, 'x'))}, [&](error_code ec) {
            if (ec) {
                last = ec;
                return;
            }
            ++written;
            write_one();
        });
    };
    write_one();
    REQUIRE(run_until(io, [&] { return last.has_value(); }, scaled(10000ms)));
    CHECK(*last == zmtp::error::heartbeat_timeout);
    CHECK(a.protocol().error_reason().find("ZMTP 3.0") != std::string::npos);
    CHECK(written > 0);
    // No PING ever went to it.
    const drained got = drain(io, raw, scaled(5000ms));
    CHECK(count_of(got.bytes, "\x04PING") == 0);
    // What it had not read was discarded with a reset, so the kernel does
    // not keep it (up to the send buffer) for a peer that reads nothing.
    CHECK(got.end == net::error::connection_reset);
}

TEST_CASE("a peer that sent a PING with a TTL and went silent: ttl_expired")
{
    net::io_context io;
    auto sa_raw = tcp_pair(io);
    auto& sa = sa_raw.first;
    auto& raw = sa_raw.second;
    tcp_conn a(options_for(), std::move(sa)); // no heartbeats of our own
    std::vector<std::byte> hello = raw::greeting();
    raw::append(hello, raw::ready("PAIR"));
    raw::append(hello, raw::ping(2, "ctx")); // TTL 200 ms
    net::write(raw, net::buffer(hello));

    // The first event is the handshake, the second the PING.
    event ev;
    std::optional<error_code> r;
    a.async_read_event(ev, [&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }, 1000ms));
    REQUIRE(!*r);
    REQUIRE(std::holds_alternative<events::handshake_complete>(ev));
    CHECK(std::get<events::handshake_complete>(ev).peer.find("Socket-Type") == "PAIR");
    r.reset();
    a.async_read_event(ev, [&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }, 1000ms));
    REQUIRE(!*r);
    const auto t0 = clock_type::now();
    REQUIRE(std::holds_alternative<events::ping>(ev));
    CHECK(std::get<events::ping>(ev).ttl == 200ms);
    CHECK(std::get<events::ping>(ev).context == frame("ctx"));

    r.reset();
    a.async_read_event(ev, [&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }, 2000ms));
    const auto elapsed = clock_type::now() - t0;
    CHECK(*r == zmtp::error::ttl_expired);
    CHECK(*r == zmtp::condition::timed_out);
    CHECK(elapsed >= 150ms);
    CHECK(elapsed < scaled(1000ms)); // fired by its timer, not a later one

    // The PING was answered with a PONG carrying its context.
    const drained got = drain(io, raw, 1000ms);
    CHECK(count_of(got.bytes, "\x04PONG" "ctx") == 1);
    CHECK(got.end == net::error::connection_reset);
}

TEST_CASE("a TCP peer that never speaks fails the handshake after handshake_timeout")
{
    net::io_context io;
    auto sa_silent = tcp_pair(io); // .second stays open and never speaks
    auto& sa = sa_silent.first;
    codec_options o = options_for();
    o.handshake_timeout = 200ms;
    const auto t0 = clock_type::now();
    tcp_conn a(o, std::move(sa));
    std::optional<error_code> r;
    a.async_handshake([&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }, 2000ms));
    const auto elapsed = clock_type::now() - t0;
    CHECK(*r == zmtp::error::handshake_timeout);
    CHECK(elapsed >= 190ms);
    CHECK(elapsed < scaled(1500ms)); // fired at its deadline, not a later one
}
