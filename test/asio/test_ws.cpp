// SPDX-License-Identifier: MPL-2.0
// zmtp::socket to zmtp::socket over ws:// (ZWS 2.0, docs/websocket.md):
// every compatible pair with either side binding, a large multipart
// message, PLAIN and CURVE, the refusals (no common subprotocol, not a
// WebSocket, an upgrade that never comes), and heartbeats as WebSocket
// pings; wss:// with the socket's TLS settings (verification, client
// certificates and TLS-Subject, refusal).
#include "zmtp/socket.hpp"

#include "helpers.hpp"
#include "socket_ends.hpp"
#include "test_certificates.hpp"

#include <doctest/doctest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_type;
using tcp = net::ip::tcp;

std::string bind_ws(zmtp_end& e, const std::string& path = "/zmtp")
{
    return on(e.socket(), [&] { return e.socket().bind("ws://127.0.0.1:0" + path); });
}

std::uint16_t port_of(const std::string& endpoint)
{
    const auto colon = endpoint.rfind(':');
    return static_cast<std::uint16_t>(std::stoi(endpoint.substr(colon + 1)));
}

} // namespace

TEST_CASE("ws://: every compatible pair, both binding sides")
{
    for (const pattern_case& p : all_patterns())
        for (const bool a_binds : {true, false}) {
            const std::string name = std::string(p.name) + ": " +
                                     std::string(to_string(a_binds ? p.a : p.b)) + " binds" +
                                     (p.a != p.b ? "" : a_binds ? " (1st)" : " (2nd)");
            SUBCASE(name.c_str())
            {
                io_thread iot;
                zmtp_end a(iot.io, p.a, p.a_routing_id);
                zmtp_end b(iot.io, p.b, p.b_routing_id);
                if (a_binds)
                    b.connect(bind_ws(a));
                else
                    a.connect(bind_ws(b));
                p.talk(a, b);
            }
        }
}

TEST_CASE("ws://: the bound endpoint names the real port and the path; a 300 kB multipart message")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    zmtp_end push(iot.io, socket_type::push);
    const std::string ep = bind_ws(pull, "/a/b");
    CHECK(ep.starts_with("ws://127.0.0.1:"));
    CHECK(ep.ends_with("/a/b"));
    CHECK(port_of(ep.substr(0, ep.size() - 4)) != 0);
    push.connect(ep);
    const std::string big(300 * 1024, 'z');
    REQUIRE(push.send({"head", "", big}));
    CHECK(pull.recv() == frames{"head", "", big});
}

TEST_CASE("ws://: a frame above max_message_size fails the connection; the peer comes back")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([](zmtp::socket_options& o) { o.limits.max_message_size = 100 * 1024; });
    monitor_log log(pull);
    zmtp_end push(iot.io, socket_type::push);
    push.connect(bind_ws(pull));
    REQUIRE(push.send({std::string(200 * 1024, 'x')}));
    CHECK(eventually([&] {
        for (const auto& e : log.events())
            if (e.type == monitor_event_type::disconnected)
                return true;
        return false;
    }));
    // The PUSH reconnects; the large message is gone, small ones arrive (one
    // may go to the old connection before the PUSH sees it closed).
    std::optional<frames> got;
    CHECK(eventually([&] {
        REQUIRE(push.send({"small"}));
        got = pull.recv(100ms);
        return got.has_value();
    }));
    CHECK(got == frames{"small"});
}

TEST_CASE("ws://: PLAIN and CURVE run over the subprotocols of their names")
{
    io_thread iot;
    SUBCASE("PLAIN")
    {
        zmtp_end rep(iot.io, socket_type::rep);
        rep.configure([](zmtp::socket_options& o) {
            o.plain_server = true;
            o.authenticator = zmtp::security::authenticators::plain_credentials({{"admin", "secret"}});
        });
        zmtp_end req(iot.io, socket_type::req);
        req.configure([](zmtp::socket_options& o) {
            o.plain_username = "admin";
            o.plain_password = "secret";
        });
        req.connect(bind_ws(rep));
        REQUIRE(req.send({"hello"}));
        auto m = rep.recv_message();
        REQUIRE(m);
        CHECK(m->property("User-Id") == "admin");
        REQUIRE(rep.send({"world"}));
        CHECK(req.recv() == frames{"world"});
    }
    SUBCASE("CURVE")
    {
        const auto server_keys = zmtp::security::generate_curve_key_pair();
        zmtp_end rep(iot.io, socket_type::rep);
        rep.configure([&](zmtp::socket_options& o) {
            o.curve_server = true;
            o.curve_secretkey = server_keys.secret_key;
        });
        zmtp_end req(iot.io, socket_type::req);
        req.configure([&](zmtp::socket_options& o) { o.curve_serverkey = server_keys.public_key; });
        req.connect(bind_ws(rep));
        REQUIRE(req.send({"hello"}));
        CHECK(rep.recv() == frames{"hello"});
    }
}

TEST_CASE("ws://: a client whose mechanism the server does not speak is refused, with the reason")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    monitor_log server_log(pull);
    zmtp_end push(iot.io, socket_type::push);
    push.configure([](zmtp::socket_options& o) {
        o.plain_username = "u";
        o.plain_password = "p";
    });
    monitor_log client_log(push);
    push.connect(bind_ws(pull));
    const auto server_reason = server_log.failure();
    REQUIRE(server_reason);
    CHECK(server_reason->find("no ZWS 2.0 subprotocol for the NULL mechanism") != std::string::npos);
    CHECK(server_reason->find("ZWS2.0/PLAIN") != std::string::npos);
    const auto client_reason = client_log.failure();
    REQUIRE(client_reason);
    CHECK(client_reason->find("the server declined the upgrade (HTTP 400): no ZWS 2.0 subprotocol") !=
          std::string::npos);
}

TEST_CASE("ws://: a plain HTTP request gets 400; a silent connection is cut at the handshake deadline")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([](zmtp::socket_options& o) { o.handshake_timeout = 300ms; });
    monitor_log log(pull);
    const std::uint16_t port = port_of(bind_ws(pull, ""));

    net::io_context io;
    tcp::socket http(io);
    http.connect({net::ip::make_address("127.0.0.1"), port});
    net::write(http, net::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
    std::string reply;
    error_code ec;
    net::read(http, net::dynamic_buffer(reply), ec); // until the server closes
    CHECK(reply.starts_with("HTTP/1.1 400"));
    CHECK(reply.find("not a WebSocket upgrade request") != std::string::npos);

    tcp::socket silent(io);
    silent.connect({net::ip::make_address("127.0.0.1"), port});
    std::string nothing;
    const auto start = std::chrono::steady_clock::now();
    net::read(silent, net::dynamic_buffer(nothing), ec);
    CHECK(ec == net::error::eof);
    CHECK(std::chrono::steady_clock::now() - start < 5s); // bounded by the deadline
    CHECK(eventually([&] {
        for (const auto& e : log.events())
            if (e.type == monitor_event_type::handshake_failed &&
                e.reason.find("upgrade did not complete in") != std::string::npos)
                return true;
        return false;
    }));
}

// Sends an upgrade request offering `protocols` and returns the response head.
std::string upgrade_reply(std::uint16_t port, const std::string& protocols)
{
    net::io_context io;
    tcp::socket s(io);
    s.connect({net::ip::make_address("127.0.0.1"), port});
    net::write(s, net::buffer("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " +
                              protocols + "\r\n\r\n"));
    std::string reply;
    error_code ec;
    net::read_until(s, net::dynamic_buffer(reply), "\r\n\r\n", ec);
    return reply;
}

TEST_CASE("ws://: the bare ZWS2.0 (jszmq) is chosen only when the socket serves ZMTP 2.0 peers")
{
    io_thread iot;
    zmtp_end open(iot.io, socket_type::pull);
    const std::uint16_t open_port = port_of(bind_ws(open, ""));
    const std::string yes = upgrade_reply(open_port, "ZWS2.0");
    CHECK(yes.starts_with("HTTP/1.1 101"));
    CHECK(yes.find("Sec-WebSocket-Protocol: ZWS2.0\r\n") != std::string::npos);
    // libzmq's offer: the mechanism's protocol wins.
    CHECK(upgrade_reply(open_port, "ZWS2.0/NULL,ZWS2.0").find("Sec-WebSocket-Protocol: ZWS2.0/NULL\r\n") !=
          std::string::npos);

    zmtp_end strict(iot.io, socket_type::pull);
    strict.configure([](zmtp::socket_options& o) { o.min_zmtp_version = zmtp::zmtp_version::v3_0; });
    const std::string no = upgrade_reply(port_of(bind_ws(strict, "")), "ZWS2.0");
    CHECK(no.starts_with("HTTP/1.1 400"));
}

TEST_CASE("ws://: heartbeats go as WebSocket pings and keep the connection")
{
    io_thread iot;
    zmtp_end a(iot.io, socket_type::pair);
    zmtp_end b(iot.io, socket_type::pair);
    for (auto* e : {&a, &b})
        e->configure([](zmtp::socket_options& o) {
            o.heartbeat.interval = 20ms;
            o.heartbeat.timeout = 200ms;
        });
    monitor_log log(a);
    b.connect(bind_ws(a));
    REQUIRE(b.send({"one"}));
    CHECK(a.recv() == frames{"one"});
    std::this_thread::sleep_for(400ms); // many heartbeat intervals, twice the timeout
    REQUIRE(b.send({"two"}));
    CHECK(a.recv() == frames{"two"});
    for (const auto& e : log.events())
        CHECK(e.type != monitor_event_type::disconnected);
}

TEST_CASE("wss://: TLS as for tls+tcp://: the client's certificate gives TLS-Subject; an untrusted server is refused")
{
    zmtp::asio_test::temp_dir dir;
    zmtp::test_tls::make_test_certificates(dir.path());
    const auto file = [&](const char* name) { return (dir.path() / name).string(); };
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([&](zmtp::socket_options& o) {
        o.tls.certificate_chain_file = file("server.pem");
        o.tls.private_key_file = file("server-key.pem");
        o.tls.ca_file = file("ca.pem");
    });
    const std::string ep = on(pull.socket(), [&] { return pull.socket().bind("wss://127.0.0.1:0/secure"); });
    CHECK(ep.starts_with("wss://127.0.0.1:"));
    CHECK(ep.ends_with("/secure"));

    zmtp_end push(iot.io, socket_type::push);
    push.configure([&](zmtp::socket_options& o) {
        o.tls.ca_file = file("ca.pem");
        o.tls.certificate_chain_file = file("client.pem");
        o.tls.private_key_file = file("client-key.pem");
    });
    push.connect(ep);
    const std::string big(100 * 1024, 'w');
    REQUIRE(push.send({"over", big}));
    const auto got = pull.recv_message();
    REQUIRE(got);
    CHECK(to_frames(*got) == frames{"over", big});
    CHECK(got->property("TLS-Subject") == std::string_view(zmtp::test_tls::client_subject));

    zmtp_end stranger(iot.io, socket_type::push); // trusts the system's CAs only
    monitor_log log(stranger);
    stranger.connect(ep);
    const auto reason = log.failure();
    REQUIRE(reason);
    CHECK(reason->find("TLS: certificate verify failed") != std::string::npos);
}
