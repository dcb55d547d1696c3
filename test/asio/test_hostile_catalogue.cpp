// SPDX-License-Identifier: MPL-2.0
// Hostile catalogue, the items only a real socket can show (docs/
// reliability.md maps every item to its test): raw TCP peers on loopback
// against a bound zmtp socket. Each attack ends that connection with a
// reason naming the peer, and a well-behaved peer on the same socket is
// served afterwards (the canary, reliability invariant 3). Item 124 turns it
// round: a raw listener against a connecting zmtp socket.
#include "helpers.hpp"
#include "zmtp/socket.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/greeting.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using zmtp::asio_test::run_until;
using event_type = zmtp::asio::monitor_event_type;

namespace {

std::vector<std::byte> hex_bytes(std::initializer_list<unsigned> octets)
{
    std::vector<std::byte> out;
    for (unsigned o : octets)
        out.push_back(static_cast<std::byte>(o));
    return out;
}

// A PUSH peer's greeting and READY, from the wire encoders.
std::vector<std::byte> push_handshake()
{
    const auto g = zmtp::wire::encode_greeting({});
    std::vector<std::byte> out(g.begin(), g.end());
    zmtp::metadata m;
    m.add("Socket-Type", "PUSH");
    zmtp::wire::append_ready(out, m);
    return out;
}

// A bound socket of `type` under attack, with what its monitor reported.
struct target {
    net::io_context io;
    zmtp::socket sock;
    std::vector<zmtp::monitor_event> ended; // handshake_failed and disconnected
    std::size_t handshakes = 0;
    std::string bound;
    std::list<zmtp::socket> canaries; // alive to the end: their leaving is no attack

    explicit target(zmtp::socket_type type = zmtp::socket_type::pull,
                    std::chrono::milliseconds handshake_timeout = 10s)
        : sock(io, type)
    {
        sock.options().handshake_timeout = handshake_timeout;
        sock.set_monitor([this](const zmtp::monitor_event& e) {
            if (e.type == event_type::handshake_failed || e.type == event_type::disconnected)
                ended.push_back(e);
            handshakes += e.type == event_type::handshake_succeeded;
        });
        bound = sock.bind("tcp://127.0.0.1:0");
    }

    tcp::endpoint endpoint() const
    {
        return {net::ip::make_address("127.0.0.1"),
                static_cast<unsigned short>(std::stoi(bound.substr(bound.rfind(':') + 1)))};
    }

    // A raw TCP connection to the socket.
    tcp::socket raw()
    {
        tcp::socket s(io);
        s.connect(endpoint());
        return s;
    }

    // Waits until `n` connections have ended; each with an error, a reason
    // and the peer's address.
    bool wait_ended(std::size_t n, std::chrono::milliseconds limit = 10'000ms)
    {
        if (!run_until(io, [&] { return ended.size() >= n; }, limit))
            return false;
        for (const auto& e : ended) {
            CAPTURE(e.reason);
            CHECK(e.error);
            CHECK_FALSE(e.reason.empty());
            CHECK(e.peer.starts_with("tcp://127.0.0.1:"));
        }
        return true;
    }

    // A well-behaved PUSH peer delivers `text` to this PULL socket.
    std::string canary(const std::string& text = "canary")
    {
        auto& push = canaries.emplace_back(io, zmtp::socket_type::push);
        push.connect(bound);
        zmtp::message m;
        m.push_back(zmtp::frame(text));
        if (push.try_send(m))
            return "try_send failed";
        std::optional<std::string> got;
        sock.async_receive([&](zmtp::asio::error_code ec, zmtp::message in) {
            got = ec ? "error: " + ec.message() : std::string(in.front().str());
        });
        if (!run_until(io, [&] { return got.has_value(); }, 10'000ms))
            return "not served";
        return *got;
    }
};

void write_all(tcp::socket& s, const std::vector<std::byte>& bytes)
{
    net::write(s, net::buffer(bytes.data(), bytes.size()));
}

} // namespace

TEST_CASE("hostile 1: a silent connection is dropped at the handshake deadline; a good peer is served meanwhile and after")
{
    target t(zmtp::socket_type::pull, 500ms);
    auto silent = t.raw();
    CHECK(t.canary("during") == "during");
    REQUIRE(t.wait_ended(1));
    CHECK(t.ended[0].type == event_type::handshake_failed);
    CHECK(t.ended[0].error == zmtp::error::handshake_timeout);
    CHECK(t.canary("after") == "after");
}

TEST_CASE("hostile 5 and 6: 200 connections reset or closed before or during the greeting each end cleanly")
{
    target t;
    constexpr std::size_t cycles = 200;
    const auto g = zmtp::wire::encode_greeting({});
    for (std::size_t i = 0; i < cycles; ++i) {
        auto s = t.raw();
        if (i % 3 == 1)
            net::write(s, net::buffer(g.data(), 10)); // hostile 6: the signature, then FIN
        if (i % 2)
            zmtp::asio_test::reset_close(s);
        else
            s.close();
        t.io.restart();
        t.io.poll();
    }
    REQUIRE(t.wait_ended(cycles));
    CHECK(t.ended.size() == cycles);
    CHECK(t.canary() == "canary");
}

TEST_CASE("hostile 7: a message cut short by the stream's end is never delivered, over TCP")
{
    target t;
    for (const auto& tail : {hex_bytes({0x00}), hex_bytes({0x02, 0, 0, 0, 0}),
                             hex_bytes({0x00, 0x0a, 'a', 'b', 'c'}), hex_bytes({0x01, 0x01, 'a'})}) {
        auto s = t.raw();
        auto in = push_handshake();
        in.insert(in.end(), tail.begin(), tail.end());
        write_all(s, in);
        s.close();
    }
    REQUIRE(t.wait_ended(4));
    for (const auto& e : t.ended)
        CHECK(e.error == zmtp::error::connection_closed);
    // The first message the socket delivers is the canary's.
    CHECK(t.canary() == "canary");
}

TEST_CASE("hostile 13: an HTTP request to a bound PUSH never becomes a peer: the good PULL gets every message")
{
    target t(zmtp::socket_type::push);
    auto http = t.raw();
    const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    net::write(http, net::buffer(request));
    REQUIRE(t.wait_ended(1));
    CHECK(t.ended[0].error == zmtp::error::not_zmtp);

    zmtp::socket pull(t.io, zmtp::socket_type::pull);
    pull.connect(t.bound);
    REQUIRE(run_until(t.io, [&] { return t.handshakes == 1; }, 10'000ms));
    for (int i = 0; i < 10; ++i) {
        zmtp::message m;
        m.push_back(zmtp::frame(std::to_string(i)));
        REQUIRE_FALSE(t.sock.try_send(m));
    }
    std::vector<std::string> got;
    std::function<void()> next = [&] {
        pull.async_receive([&](zmtp::asio::error_code ec, zmtp::message in) {
            if (ec)
                return;
            got.emplace_back(in.front().str());
            if (got.size() < 10)
                next();
        });
    };
    next();
    REQUIRE(run_until(t.io, [&] { return got.size() == 10; }, 10'000ms));
    for (int i = 0; i < 10; ++i)
        CHECK(got[static_cast<std::size_t>(i)] == std::to_string(i));
}

TEST_CASE("hostile 16, 26, 27, 29, 34, 38 and 96 over TCP: each malformed input ends only its own connection")
{
    target t;
    const std::vector<std::pair<zmtp::error, std::vector<std::byte>>> attacks = {
        {zmtp::error::not_zmtp, hex_bytes({0xff, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0x85, 0x85})},
        {zmtp::error::malformed_frame, hex_bytes({0xf8, 0x02, 'r', 'b'})},
        {zmtp::error::malformed_frame, hex_bytes({0x02, 0x80, 0, 0, 0, 0, 0, 0, 0})},
        {zmtp::error::malformed_frame, hex_bytes({0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xda})},
        {zmtp::error::malformed_frame, hex_bytes({0x05, 0x06, 0x04, 'X', 'Y', 'Z', 'W', 0})},
        {zmtp::error::malformed_command, hex_bytes({0x04, 0x00})},
        {zmtp::error::malformed_command, hex_bytes({0x04, 0x05, 0x04, 'P', 'I', 'N', 'G'})},
    };
    std::vector<tcp::socket> peers;
    for (std::size_t i = 0; i < attacks.size(); ++i) {
        peers.push_back(t.raw());
        auto in = i == 0 ? std::vector<std::byte>{} : push_handshake();
        in.insert(in.end(), attacks[i].second.begin(), attacks[i].second.end());
        write_all(peers.back(), in);
        REQUIRE(t.wait_ended(i + 1));
        CAPTURE(i);
        CHECK(t.ended[i].error == attacks[i].first);
    }
    CHECK(t.canary() == "canary");
}

TEST_CASE("hostile 9: a peer that resets while 4 MiB wait for it costs no SIGPIPE and only its connection")
{
    target t(zmtp::socket_type::push);
    auto s = t.raw();
    const auto g = zmtp::wire::encode_greeting({});
    std::vector<std::byte> in(g.begin(), g.end());
    zmtp::metadata m;
    m.add("Socket-Type", "PULL");
    zmtp::wire::append_ready(in, m);
    write_all(s, in);
    REQUIRE(run_until(t.io, [&] { return t.handshakes == 1; }, 10'000ms));
    for (unsigned i = 0; i < 4; ++i) {
        auto big = zmtp::asio_test::single(1024 * 1024, i);
        REQUIRE_FALSE(t.sock.try_send(big));
    }
    zmtp::asio_test::run_for(t.io, 50ms);
    zmtp::asio_test::reset_close(s);
    REQUIRE(t.wait_ended(1));

    zmtp::socket pull(t.io, zmtp::socket_type::pull);
    pull.connect(t.bound);
    REQUIRE(run_until(t.io, [&] { return t.handshakes == 2; }, 10'000ms));
    zmtp::message last;
    last.push_back(zmtp::frame("after the reset"));
    REQUIRE_FALSE(t.sock.try_send(last));
    std::optional<std::string> got;
    std::function<void()> next = [&] {
        pull.async_receive([&](zmtp::asio::error_code ec, zmtp::message msg) {
            if (ec)
                return;
            if (msg.front().str() == "after the reset")
                got = std::string(msg.front().str());
            else
                next();
        });
    };
    next();
    REQUIRE(run_until(t.io, [&] { return got.has_value(); }, 10'000ms));
}

TEST_CASE("hostile 118: an unfinished handshake does not occupy a PAIR's slot")
{
    target t(zmtp::socket_type::pair);
    auto squatter = t.raw();
    const auto g = zmtp::wire::encode_greeting({});
    net::write(squatter, net::buffer(g.data(), g.size())); // greeting, never READY

    zmtp::socket good(t.io, zmtp::socket_type::pair);
    good.connect(t.bound);
    zmtp::message m;
    m.push_back(zmtp::frame("paired"));
    REQUIRE_FALSE(good.try_send(m));
    std::optional<std::string> got;
    t.sock.async_receive([&](zmtp::asio::error_code ec, zmtp::message in) {
        got = ec ? "error" : std::string(in.front().str());
    });
    REQUIRE(run_until(t.io, [&] { return got.has_value(); }, 10'000ms));
    CHECK(*got == "paired");
}

TEST_CASE("hostile 124: a listener that accepts and closes at once is retried after doubling, capped, "
          "jittered delays")
{
    net::io_context io;
    tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
    std::size_t accepted = 0;
    std::function<void()> accept_next = [&] {
        acceptor.async_accept([&](zmtp::asio::error_code ec, tcp::socket s) {
            if (ec)
                return;
            ++accepted;
            s.close();
            accept_next();
        });
    };
    accept_next();

    zmtp::socket push(io, zmtp::socket_type::push);
    push.options().reconnect_ivl = 10ms;
    push.options().reconnect_ivl_max = 80ms;
    std::vector<std::chrono::milliseconds> delays;
    push.set_monitor([&](const zmtp::monitor_event& e) {
        if (e.type == event_type::connect_retried)
            delays.push_back(e.retry_in);
    });
    push.connect("tcp://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
    REQUIRE(run_until(io, [&] { return delays.size() >= 8; }, 20'000ms));

    for (std::size_t i = 0; i < delays.size(); ++i) {
        const auto base = std::min(10ms * (1 << std::min<std::size_t>(i, 10)), 80ms); // ±50 % around it
        CAPTURE(i);
        CHECK(delays[i] >= base / 2);
        CHECK(delays[i] <= base + base / 2);
    }
    CHECK(accepted <= delays.size() + 1); // one connection per delay: no storm
}

namespace {

// The monitor events of a connecting socket, by type.
struct event_record {
    std::vector<zmtp::monitor_event> events;
    std::size_t count(event_type t) const
    {
        return static_cast<std::size_t>(
            std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.type == t; }));
    }
};

bool says_not_reconnecting(const zmtp::monitor_event& e)
{
    return e.reason.ends_with("(reconnect_stop: not reconnecting)");
}

} // namespace

TEST_CASE("hostile 126: with reconnect_stop.conn_refused, a connect() where nothing listens stops at the "
          "first refusal; without it, it retries")
{
    net::io_context io;
    tcp::acceptor gone(io, {net::ip::make_address("127.0.0.1"), 0});
    const auto port = gone.local_endpoint().port();
    gone.close();
    for (const bool stop : {false, true}) {
        CAPTURE(stop);
        event_record log;
        zmtp::socket push(io, zmtp::socket_type::push);
        push.options().reconnect_ivl = 10ms;
        push.options().reconnect_stop.conn_refused = stop;
        push.set_monitor([&](const zmtp::monitor_event& e) { log.events.push_back(e); });
        push.connect("tcp://127.0.0.1:" + std::to_string(port));
        if (!stop) {
            CHECK(run_until(io, [&] { return log.count(event_type::connect_retried) >= 3; }, 10'000ms));
            continue;
        }
        REQUIRE(run_until(io, [&] { return log.count(event_type::closed) == 1; }, 10'000ms));
        zmtp::asio_test::run_for(io, 200ms); // twenty reconnect intervals
        CHECK(log.count(event_type::connect_retried) == 0);
        CHECK(log.count(event_type::closed) == 1);
        CHECK(log.events.back().error == net::error::connection_refused);
        CHECK(says_not_reconnecting(log.events.back()));
        zmtp::message m;
        m.push_back(zmtp::frame("nowhere"));
        CHECK(push.try_send(m) == zmtp::error::would_block); // the peer is gone
    }
}

TEST_CASE("hostile 125: with reconnect_stop.handshake_failed a PLAIN client the server refuses stops "
          "reconnecting; the server goes on serving")
{
    net::io_context io;
    zmtp::socket pull(io, zmtp::socket_type::pull);
    pull.options().plain_server = true;
    pull.options().authenticator = zmtp::security::authenticators::plain_credentials({{"admin", "secret"}});
    event_record server_log;
    pull.set_monitor([&](const zmtp::monitor_event& e) { server_log.events.push_back(e); });
    const std::string bound = pull.bind("tcp://127.0.0.1:0");

    event_record client_log;
    zmtp::socket intruder(io, zmtp::socket_type::push);
    intruder.options().plain_username = "admin";
    intruder.options().plain_password = "guess";
    intruder.options().reconnect_ivl = 10ms;
    intruder.options().reconnect_stop.handshake_failed = true;
    intruder.set_monitor([&](const zmtp::monitor_event& e) { client_log.events.push_back(e); });
    intruder.connect(bound);
    REQUIRE(run_until(io, [&] { return client_log.count(event_type::handshake_failed) == 1; }, 10'000ms));
    zmtp::asio_test::run_for(io, 200ms); // twenty reconnect intervals
    CHECK(client_log.count(event_type::handshake_failed) == 1);
    CHECK(client_log.count(event_type::connected) == 1);
    CHECK(client_log.count(event_type::connect_retried) == 0);
    const auto& failed = *std::find_if(client_log.events.begin(), client_log.events.end(),
                                       [](const auto& e) { return e.type == event_type::handshake_failed; });
    CAPTURE(failed.reason);
    CHECK(failed.reason.find("invalid username or password") != std::string::npos);
    CHECK(says_not_reconnecting(failed));
    CHECK(server_log.count(event_type::handshake_failed) == 1);

    zmtp::socket good(io, zmtp::socket_type::push);
    good.options().plain_username = "admin";
    good.options().plain_password = "secret";
    good.connect(bound);
    zmtp::message m;
    m.push_back(zmtp::frame("let in"));
    REQUIRE_FALSE(good.try_send(m));
    std::optional<std::string> got;
    pull.async_receive([&](zmtp::asio::error_code ec, zmtp::message in) {
        got = ec ? "error" : std::string(in.front().str());
    });
    REQUIRE(run_until(io, [&] { return got.has_value(); }, 10'000ms));
    CHECK(*got == "let in");
}

TEST_CASE("hostile 127: clients that all lose their server at once come back spread by jitter, and every one "
          "is served by the restarted server")
{
    net::io_context io;
    std::optional<zmtp::socket> server(std::in_place, io, zmtp::socket_type::pull);
    const std::string bound = server->bind("tcp://127.0.0.1:0");
    struct client {
        zmtp::socket sock;
        std::optional<std::chrono::milliseconds> first_retry;
        int ups = 0;
    };
    constexpr int n = 40;
    std::list<client> clients;
    for (int i = 0; i < n; ++i) {
        auto& c = clients.emplace_back(client{zmtp::socket(io, zmtp::socket_type::push), {}, 0});
        c.sock.options().reconnect_ivl = 50ms;
        c.sock.set_monitor([&c](const zmtp::monitor_event& e) {
            c.ups += e.type == event_type::handshake_succeeded;
            if (e.type == event_type::connect_retried && !c.first_retry)
                c.first_retry = e.retry_in;
        });
        c.sock.connect(bound);
    }
    const auto all = [&](auto pred) { return std::all_of(clients.begin(), clients.end(), pred); };
    REQUIRE(run_until(io, [&] { return all([](const client& c) { return c.ups == 1; }); }, 10'000ms));

    // The server restarts on the same port once its listener is closed.
    server.emplace(io, zmtp::socket_type::pull);
    REQUIRE(run_until(io, [&] {
        zmtp::asio::error_code ec;
        server->bind(bound, ec);
        return !ec;
    }));
    REQUIRE(run_until(io, [&] { return all([](const client& c) { return c.ups == 2; }); }, 10'000ms));
    std::chrono::milliseconds lo = 1h, hi = 0ms;
    for (const auto& c : clients) {
        REQUIRE(c.first_retry);
        CHECK(*c.first_retry >= 25ms); // reconnect_ivl ±50 %
        CHECK(*c.first_retry <= 75ms);
        lo = std::min(lo, *c.first_retry);
        hi = std::max(hi, *c.first_retry);
    }
    CHECK(hi - lo >= 10ms); // spread, not one instant (40 draws over 50 ms)

    int i = 0;
    for (auto& c : clients) {
        zmtp::message m;
        m.push_back(zmtp::frame(std::to_string(i++)));
        REQUIRE_FALSE(c.sock.try_send(m));
    }
    std::vector<std::string> got;
    std::function<void()> next = [&] {
        server->async_receive([&](zmtp::asio::error_code ec, zmtp::message in) {
            if (ec)
                return;
            got.emplace_back(in.front().str());
            next();
        });
    };
    next();
    REQUIRE(run_until(io, [&] { return got.size() == n; }, 10'000ms));
    std::sort(got.begin(), got.end());
    CHECK(std::adjacent_find(got.begin(), got.end()) == got.end()); // one each
}

TEST_CASE("hostile 120 over TCP: a peer whose unfinished message would pass the socket's budget is dropped; "
          "a good peer is served")
{
    target t;
    t.sock.options().inflight_bytes = 512 * 1024;
    auto s = t.raw();
    auto in = push_handshake();
    const auto sixty_mib = hex_bytes({0x02, 0, 0, 0, 0, 0x03, 0xc0, 0, 0});
    in.insert(in.end(), sixty_mib.begin(), sixty_mib.end());
    in.insert(in.end(), 1024 * 1024, std::byte{'z'});
    net::async_write(s, net::buffer(in), [](zmtp::asio::error_code, std::size_t) {});
    REQUIRE(t.wait_ended(1));
    CAPTURE(t.ended[0].reason);
    CHECK(t.ended[0].error == zmtp::error::message_too_large);
    CHECK(t.ended[0].reason.find("budget") != std::string::npos);
    CHECK(t.canary() == "canary");
}
