// zmtp::socket against peers that connect and never speak: a bound
// endpoint keeps serving good peers (docs/reliability.md invariant 8 and the
// handshakes-in-progress limit).
#include "zmtp/socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

tcp::endpoint endpoint_of(const std::string& bound)
{
    const auto colon = bound.rfind(':');
    return {net::ip::make_address("127.0.0.1"),
            static_cast<unsigned short>(std::stoi(bound.substr(colon + 1)))};
}

// Runs `io` until `done` or the deadline; true if done.
template <class Done>
bool run_until(net::io_context& io, Done done, std::chrono::milliseconds limit)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(5ms);
    }
    return done();
}

// A PULL bound with `limit` handshakes in progress, `silent` raw TCP
// connections that never send a byte, then a PUSH that sends one message.
// Returns how long the message took to arrive.
std::optional<std::chrono::milliseconds> delivery_time(std::size_t limit, int silent)
{
    net::io_context io;
    zmtp::socket pull(io, zmtp::socket_type::pull);
    pull.options().max_handshakes_per_listener = limit;
    pull.options().handshake_timeout = 400ms;
    const std::string bound = pull.bind("tcp://127.0.0.1:0");

    std::vector<tcp::socket> mute;
    for (int i = 0; i < silent; ++i) {
        mute.emplace_back(io);
        mute.back().connect(endpoint_of(bound));
    }
    run_until(io, [] { return false; }, 50ms); // let the listener accept them

    zmtp::socket push(io, zmtp::socket_type::push);
    push.connect(bound);
    zmtp::message m;
    m.push_back(zmtp::frame("through"));
    REQUIRE_FALSE(push.try_send(m));

    const auto t0 = std::chrono::steady_clock::now();
    std::optional<zmtp::message> got;
    pull.async_receive([&](zmtp::asio::error_code ec, zmtp::message in) {
        if (!ec)
            got = std::move(in);
    });
    if (!run_until(io, [&] { return got.has_value(); }, 3000ms))
        return std::nullopt;
    CHECK(got->front().str() == "through");
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

} // namespace

TEST_CASE("silent connections do not delay a good peer while under the handshake limit")
{
    const auto t = delivery_time(256, 2);
    REQUIRE(t.has_value());
    CHECK(*t < 300ms); // well before the silent ones time out at 400 ms
}

TEST_CASE("at the handshake limit, accepting resumes once a silent connection times out")
{
    const auto t = delivery_time(2, 2);
    REQUIRE(t.has_value());
    CHECK(*t >= 250ms); // had to wait for a silent connection's handshake deadline
}
