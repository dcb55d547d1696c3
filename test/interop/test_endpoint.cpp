// SPDX-License-Identifier: MPL-2.0
// Endpoint strings: what parses, what does not, and what bind reports.
#include "zmtp/asio/endpoint.hpp"

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>

using zmtp::asio::endpoint;
using zmtp::asio::endpoint_error;
using zmtp::asio::parse_endpoint;
namespace net = boost::asio;

TEST_CASE("tcp endpoints")
{
    auto e = parse_endpoint("tcp://127.0.0.1:5555");
    CHECK(e.kind == endpoint::transport::tcp);
    CHECK(e.host == "127.0.0.1");
    CHECK(e.port == 5555);
    CHECK(e.to_string() == "tcp://127.0.0.1:5555");

    e = parse_endpoint("tcp://*:*");
    CHECK(e.any_host());
    CHECK(e.any_port());
    CHECK(parse_endpoint("tcp://*:0").any_port());

    e = parse_endpoint("tcp://[::1]:80");
    CHECK(e.host == "::1");
    CHECK(e.to_string() == "tcp://[::1]:80");
    CHECK(parse_endpoint("tcp://localhost:1").host == "localhost");
}

TEST_CASE("ipc endpoints")
{
    const auto e = parse_endpoint("ipc:///tmp/a.sock");
    CHECK(e.kind == endpoint::transport::ipc);
    CHECK(e.path == "/tmp/a.sock");
    CHECK(e.to_string() == "ipc:///tmp/a.sock");
    CHECK(parse_endpoint("ipc://@abstract").path == "@abstract");
}

TEST_CASE("tls+ endpoints: tcp or ipc with TLS inside")
{
    auto e = parse_endpoint("tls+tcp://localhost:5555");
    CHECK(e.tls);
    CHECK(e.kind == endpoint::transport::tcp);
    CHECK(e.host == "localhost");
    CHECK(e.port == 5555);
    CHECK(e.to_string() == "tls+tcp://localhost:5555");
    CHECK(parse_endpoint("tls+tcp://[::1]:0").to_string() == "tls+tcp://[::1]:*");

    e = parse_endpoint("tls+ipc:///tmp/a.sock");
    CHECK(e.tls);
    CHECK(e.kind == endpoint::transport::ipc);
    CHECK(e.path == "/tmp/a.sock");
    CHECK(e.to_string() == "tls+ipc:///tmp/a.sock");
    CHECK_FALSE(parse_endpoint("tcp://h:1").tls);
}

TEST_CASE("ws:// and wss:// endpoints: tcp with a WebSocket on top, and a path")
{
    auto e = parse_endpoint("ws://127.0.0.1:5555");
    CHECK(e.kind == endpoint::transport::tcp);
    CHECK(e.websocket);
    CHECK_FALSE(e.tls);
    CHECK(e.path == "/");
    CHECK(e.to_string() == "ws://127.0.0.1:5555/");

    e = parse_endpoint("wss://example.com:443/zmq/feed");
    CHECK(e.websocket);
    CHECK(e.tls);
    CHECK(e.host == "example.com");
    CHECK(e.port == 443);
    CHECK(e.path == "/zmq/feed");
    CHECK(e.to_string() == "wss://example.com:443/zmq/feed");

    e = parse_endpoint("ws://[::1]:*/a");
    CHECK(e.host == "::1");
    CHECK(e.any_port());
    CHECK(e.to_string() == "ws://[::1]:*/a");
    CHECK(parse_endpoint("ws://*:0/").any_host());

    CHECK_THROWS_AS(parse_endpoint("ws://host/path"), endpoint_error);
    CHECK_THROWS_AS(parse_endpoint("ws://host:1/a b"), endpoint_error);
    CHECK_THROWS_AS(parse_endpoint("wss://:1/"), endpoint_error);
}

TEST_CASE("exec: endpoints: the rest is the command, as it is")
{
    const auto e = parse_endpoint("exec:ssh host socat - tcp:127.0.0.1:5555");
    CHECK(e.kind == endpoint::transport::exec);
    CHECK(e.command == "ssh host socat - tcp:127.0.0.1:5555");
    CHECK(e.to_string() == "exec:ssh host socat - tcp:127.0.0.1:5555");
    CHECK_FALSE(e.tls);
    CHECK_FALSE(e.any_host());
    CHECK_FALSE(e.any_port());
    CHECK(parse_endpoint("exec:echo 'tcp://a:1' \"$X\"").command == "echo 'tcp://a:1' \"$X\"");
    for (const char* bad : {"exec:", "exec: \t ", "tls+exec:cat"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_endpoint(bad), endpoint_error);
    }
    CHECK_THROWS_AS(parse_endpoint(std::string("exec:a\0b", 8)), endpoint_error);
}

TEST_CASE("malformed endpoints say what is wrong")
{
    for (const char* bad :
         {"", "tcp://", "tcp://host", "tcp://host:", "tcp://:5", "tcp://h:65536", "tcp://h:x",
          "tcp://h:-1", "tcp://::1:5", "tcp://[::1:5", "tcp://[::1]5", "tcp://[nope]:5",
          "ipc://", "udp://h:5", "5555", "tcp://a b:5", "tls+udp://h:5", "tls+://h:5",
          "tls+tcp://h", "tls+ipc://", "tls+tls+tcp://h:5"}) {
        CAPTURE(bad);
        try {
            parse_endpoint(bad);
            FAIL("parsed");
        } catch (const endpoint_error& e) {
            const std::string what = e.what();
            CHECK(what.find("malformed endpoint") == 0);
            CHECK(what.find('\n') == std::string::npos);
        }
    }
}

TEST_CASE("bind reports the real port and path")
{
    net::io_context io;
    net::ip::tcp::acceptor a(io);
    zmtp::asio::bind(a, parse_endpoint("tcp://127.0.0.1:0"));
    const std::string bound = zmtp::asio::bound_endpoint(a);
    CHECK(bound.starts_with("tcp://127.0.0.1:"));
    CHECK(bound != "tcp://127.0.0.1:0");

    const std::string path = "/tmp/zmtp-endpoint-test-" + std::to_string(::getpid()) + ".sock";
    {
        net::local::stream_protocol::acceptor l(io);
        zmtp::asio::bind(l, parse_endpoint("ipc://" + path));
        CHECK(zmtp::asio::bound_endpoint(l) == "ipc://" + path);
    }
    // A stale socket file is replaced, as libzmq does.
    net::local::stream_protocol::acceptor again(io);
    zmtp::asio::bind(again, parse_endpoint("ipc://" + path));
    again.close();
    ::unlink(path.c_str());
}

TEST_CASE("reconnect interval grows to its maximum")
{
    using std::chrono::milliseconds;
    zmtp::asio::reconnect_options r;
    CHECK(r.next(milliseconds{0}) == milliseconds{100});
    CHECK(r.next(milliseconds{100}) == milliseconds{100});
    r.interval_max = milliseconds{350};
    CHECK(r.next(milliseconds{0}) == milliseconds{100});
    CHECK(r.next(milliseconds{100}) == milliseconds{200});
    CHECK(r.next(milliseconds{200}) == milliseconds{350});
    CHECK(r.next(milliseconds{350}) == milliseconds{350});
}
