// SPDX-License-Identifier: MPL-2.0
// Peers that end their stream mid-handshake or flood a listener with
// partial greetings, over loopback: a connection's resources go as soon as
// its stream ends, newcomers keep being served, and every failure names
// the peer (docs/reliability.md invariants 2, 3 and 8).
#include "helpers.hpp"
#include "zmtp/asio/connection.hpp"
#include "zmtp/socket.hpp"
#include "zmtp/wire/greeting.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using zmtp::asio_test::run_until;
using zmtp::asio_test::scaled;
using event_type = zmtp::asio::monitor_event_type;

namespace {

// A TCP socket that counts how many exist: the connection's state (and
// with it the stream) is gone once the count is back to zero.
struct counted_socket : tcp::socket {
    static inline int live = 0;
    explicit counted_socket(tcp::socket s) : tcp::socket(std::move(s)) { ++live; }
    counted_socket(const counted_socket&) = delete;
    ~counted_socket() { --live; }
};

const std::string null_greeting = [] {
    const auto bytes = zmtp::wire::encode_greeting({});
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}();

enum class ending { fin_before_a_byte, fin_mid_greeting, rst_mid_greeting };

} // namespace

TEST_CASE("a connection whose peer ends its stream mid-handshake releases everything at once")
{
    for (const ending how : {ending::fin_before_a_byte, ending::fin_mid_greeting, ending::rst_mid_greeting}) {
        CAPTURE(static_cast<int>(how));
        net::io_context io;
        tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
        tcp::socket client(io);
        client.connect(acceptor.local_endpoint());
        zmtp::codec_options o = zmtp::asio_test::options_for(zmtp::socket_type::pull);
        o.handshake_timeout = 60s; // far beyond any wait here: only the stream's end may free it
        std::optional<zmtp::asio::connection<counted_socket>> server;
        server.emplace(o, acceptor.accept());
        REQUIRE(counted_socket::live == 1);

        std::optional<zmtp::asio::error_code> result;
        zmtp::event ev;
        server->async_read_event(ev, [&](zmtp::asio::error_code ec) { result = ec; });
        if (how != ending::fin_before_a_byte)
            net::write(client, net::buffer(null_greeting.data(), 11));
        if (how == ending::rst_mid_greeting)
            zmtp::asio_test::reset_close(client);
        else
            client.close();
        REQUIRE(run_until(io, [&] { return result.has_value(); }, 10'000ms));
        CHECK(*result == zmtp::error::connection_closed);

        // What the socket layer does next: drop the connection. Nothing may
        // hold its state now, not even a timer: once the handlers that are
        // ready have run, it is gone.
        server.reset();
        io.restart();
        while (io.poll() > 0) {
        }
        CHECK(counted_socket::live == 0);
    }
}

TEST_CASE("a flood of 2,000 partial greetings from one client does not lock out a good peer")
{
    // The bound socket runs on a thread of its own, as a server would: the
    // flood's connections must be accepted while they arrive (the backlog
    // is 128).
    net::io_context io;
    zmtp::socket pull(io, zmtp::socket_type::pull);
    pull.options().handshake_timeout = 60s; // no place comes back by a deadline during this test
    std::atomic<std::size_t> failed{0};
    std::atomic<std::size_t> cut_short{0};
    pull.set_monitor([&](const zmtp::monitor_event& e) {
        if (e.type != event_type::handshake_failed)
            return;
        ++failed;
        if (e.reason.starts_with("handshake cut short"))
            ++cut_short;
    });
    const std::string bound = pull.bind("tcp://127.0.0.1:0");
    std::atomic<bool> served{false};
    std::string got;
    pull.async_receive([&](zmtp::asio::error_code ec, zmtp::message in) {
        if (!ec)
            got = std::string(in.front().str());
        served = true;
    });
    auto work = net::make_work_guard(io);
    std::thread server([&] { io.run(); });

    // The flood: one connection after the other, each sending 1 to 20
    // octets of a greeting and then nothing.
    net::io_context client_io;
    std::vector<tcp::socket> flood;
    flood.reserve(2000);
    std::size_t flooded = 0;
    zmtp::asio::error_code flood_error;
    std::function<void()> next = [&] {
        if (flooded == 2000)
            return;
        flood.emplace_back(client_io);
        flood.back().async_connect(zmtp::asio_test::loopback_endpoint(bound), [&](zmtp::asio::error_code ec) {
            if (ec)
                return void(flood_error = ec);
            net::async_write(flood.back(), net::buffer(null_greeting.data(), 1 + flooded % 20),
                             [&](zmtp::asio::error_code wec, std::size_t) {
                                 if (wec)
                                     return void(flood_error = wec);
                                 ++flooded;
                                 next();
                             });
        });
    };
    next();
    const bool flood_done = run_until(client_io, [&] { return flooded == 2000 || flood_error; }, 30'000ms);

    std::optional<std::chrono::steady_clock::time_point> t0;
    if (flood_done && !flood_error) {
        zmtp::socket push(client_io, zmtp::socket_type::push);
        push.connect(bound);
        zmtp::message m;
        m.push_back(zmtp::frame("through the flood"));
        REQUIRE_FALSE(push.try_send(m));
        t0 = std::chrono::steady_clock::now();
        // Generous: a guard against a lockout, not a speed test. `served`
        // is set on the server's thread: look at it often.
        const auto deadline = *t0 + scaled(20'000ms);
        while (!served && std::chrono::steady_clock::now() < deadline) {
            client_io.restart();
            client_io.run_for(5ms);
        }
    }
    work.reset();
    io.stop();
    server.join();

    REQUIRE_MESSAGE(flood_done, "the listener stopped accepting: " << flooded << " of 2000 connected");
    REQUIRE_MESSAGE(!flood_error, flood_error.message());
    REQUIRE(served.load());
    MESSAGE("good peer served " << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - *t0).count()
                                << " ms after the flood; " << cut_short.load() << " flood handshakes cut short");
    CHECK(got == "through the flood");
    CHECK(cut_short.load() >= 2000 - pull.options().max_handshakes_per_listener);
    CHECK(failed.load() == cut_short.load()); // the good peer's handshake was not among them
}

TEST_CASE("every failed handshake names the peer's address, also after a reset")
{
    net::io_context io;
    zmtp::socket pull(io, zmtp::socket_type::pull);
    std::vector<zmtp::monitor_event> failures;
    pull.set_monitor([&](const zmtp::monitor_event& e) {
        if (e.type == event_type::handshake_failed)
            failures.push_back(e);
    });
    const std::string bound = pull.bind("tcp://127.0.0.1:0");
    // Reset before the listener even accepts: the address must come from
    // the accept itself.
    std::vector<std::string> sent_from;
    for (int i = 0; i < 4; ++i) {
        tcp::socket s(io);
        s.connect(zmtp::asio_test::loopback_endpoint(bound));
        const auto local = s.local_endpoint();
        sent_from.push_back("tcp://127.0.0.1:" + std::to_string(local.port()));
        if (i % 2)
            net::write(s, net::buffer(null_greeting.data(), 5));
        zmtp::asio_test::reset_close(s);
    }
    REQUIRE(run_until(io, [&] { return failures.size() == 4; }, 10'000ms));
    for (const auto& e : failures) {
        CAPTURE(e.peer);
        CHECK(std::find(sent_from.begin(), sent_from.end(), e.peer) != sent_from.end());
    }
}

TEST_CASE("a greeting naming NULL followed by other octets is refused over TCP")
{
    net::io_context io;
    zmtp::socket pull(io, zmtp::socket_type::pull);
    std::optional<zmtp::monitor_event> failure;
    pull.set_monitor([&](const zmtp::monitor_event& e) {
        if (e.type == event_type::handshake_failed)
            failure = e;
    });
    const std::string bound = pull.bind("tcp://127.0.0.1:0");
    tcp::socket s(io);
    s.connect(zmtp::asio_test::loopback_endpoint(bound));
    std::string g = null_greeting;
    g.replace(17, 3, "XYZ"); // NULL \0 XYZ
    net::write(s, net::buffer(g));
    REQUIRE(run_until(io, [&] { return failure.has_value(); }, 10'000ms));
    CHECK(failure->error == zmtp::error::malformed_greeting);
}

TEST_CASE("hostile 14: an io_context destroyed while a linger flush waits on a peer that never reads "
          "leaves no connection open")
{
    net::io_context peer_io;
    tcp::acceptor acceptor(peer_io, {net::ip::make_address("127.0.0.1"), 0});
    tcp::socket mute(peer_io);
    {
        net::io_context io;
        zmtp::socket push(io, zmtp::socket_type::push);
        push.options().linger = -1ms; // wait for ever: only the io_context's end stops it
        bool up = false;
        push.set_monitor([&](const zmtp::monitor_event& e) { up |= e.type == event_type::handshake_succeeded; });
        push.connect("tcp://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
        acceptor.async_accept(mute, [](boost::system::error_code) {});
        REQUIRE(run_until(io, [&] {
            peer_io.poll();
            return mute.is_open();
        }));
        // A PULL's greeting and READY; then it never reads.
        auto hello = zmtp::asio_test::raw::greeting();
        zmtp::asio_test::raw::append(hello, zmtp::asio_test::raw::ready("PULL"));
        net::write(mute, net::buffer(hello));
        REQUIRE(run_until(io, [&] { return up; }));
        for (int i = 0; i < 256; ++i) { // far more than the socket buffers take
            zmtp::message m;
            m.push_back(zmtp::frame(std::string(64 * 1024, 'x')));
            REQUIRE_FALSE(push.try_send(m));
        }
        zmtp::asio_test::run_for(io, 100ms);
        bool closed = false;
        push.async_close([&](boost::system::error_code) { closed = true; });
        zmtp::asio_test::run_for(io, 100ms);
        REQUIRE_FALSE(closed); // still lingering: the flush cannot finish
    }
    // Everything of that connection went with the io_context: its stream
    // closed, so the peer reads what was sent and then the end.
    mute.non_blocking(true);
    std::vector<char> sink(1 << 16);
    boost::system::error_code ec;
    const auto deadline = std::chrono::steady_clock::now() + scaled(10'000ms);
    while (!ec && std::chrono::steady_clock::now() < deadline) {
        mute.read_some(net::buffer(sink), ec);
        if (ec == net::error::would_block) {
            ec = {};
            std::this_thread::sleep_for(1ms);
        }
    }
    CHECK((ec == net::error::eof || ec == net::error::connection_reset));
}
