// SPDX-License-Identifier: MPL-2.0
// PLAIN and CURVE between zmtp sockets: the options pick the mechanism,
// the authenticator decides (synchronously or later, from another thread),
// the User-Id reaches received messages, and refusals are reported on both
// sides with their reason while the socket goes on serving other peers.
#include "zmtp/security/curve_keys.hpp"
#include "zmtp/socket.hpp"

#include "socket_ends.hpp"

#include <doctest/doctest.h>

#include <thread>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_options;
using zmtp::socket_type;
namespace security = zmtp::security;

void plain_server(socket_options& o)
{
    o.plain_server = true;
    o.authenticator = security::authenticators::plain_credentials({{"admin", "secret"}});
}

TEST_CASE("PLAIN between zmtp sockets: accepted credentials carry the User-Id to each message")
{
    for (const std::string transport : {"tcp", "ipc"}) {
        CAPTURE(transport);
        io_thread iot;
        zmtp_end pull(iot.io, socket_type::pull);
        zmtp_end push(iot.io, socket_type::push);
        pull.configure(plain_server);
        push.configure([](socket_options& o) {
            o.plain_username = "admin";
            o.plain_password = "secret";
        });
        push.connect(pull.bind(transport));
        one_way(push, pull);
        REQUIRE(push.send({"who"}));
        const auto m = pull.recv_message();
        REQUIRE(m);
        CHECK(m->property("User-Id") == "admin");
        CHECK(m->property("Socket-Type") == "PUSH");
    }
}

TEST_CASE("PLAIN: a wrong password is refused with the reason on both sides; others still served")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure(plain_server);
    monitor_log server_log(pull);
    const std::string ep = pull.bind("tcp");

    zmtp_end intruder(iot.io, socket_type::push);
    intruder.configure([](socket_options& o) {
        o.plain_username = "admin";
        o.plain_password = "guess";
    });
    monitor_log client_log(intruder);
    intruder.connect(ep);
    REQUIRE(intruder.send({"must not arrive"}));

    const auto server_reason = server_log.failure();
    REQUIRE(server_reason);
    CHECK(server_reason->find("invalid username or password") != std::string::npos);
    const auto client_reason = client_log.failure();
    REQUIRE(client_reason);
    CHECK(client_reason->find("400") != std::string::npos);
    CHECK(client_reason->find("invalid username or password") != std::string::npos);

    zmtp_end good(iot.io, socket_type::push);
    good.configure([](socket_options& o) {
        o.plain_username = "admin";
        o.plain_password = "secret";
    });
    good.connect(ep);
    REQUIRE(good.send({"welcome"}));
    CHECK(pull.recv() == frames{"welcome"});
    CHECK_FALSE(pull.recv(200ms));
}

TEST_CASE("CURVE between zmtp sockets: allowed client keys only; traffic and User-Id")
{
    const auto server_keys = security::generate_curve_key_pair();
    const auto client_keys = security::generate_curve_key_pair();
    io_thread iot;
    zmtp_end rep(iot.io, socket_type::rep);
    rep.configure([&](socket_options& o) {
        o.curve_server = true;
        o.curve_secretkey = server_keys.secret_key;
        o.authenticator = security::authenticators::curve_keys({client_keys.public_key});
    });
    monitor_log server_log(rep);
    const std::string ep = rep.bind("tcp");

    zmtp_end req(iot.io, socket_type::req);
    req.configure([&](socket_options& o) {
        o.curve_serverkey = server_keys.public_key;
        o.curve_secretkey = client_keys.secret_key;
    });
    req.connect(ep);
    for (int i = 0; i < 20; ++i) {
        const std::string body = "request-" + std::to_string(i) + std::string(static_cast<std::size_t>(i) * 500, 'x');
        REQUIRE(req.send({body}));
        const auto got = rep.recv_message();
        REQUIRE(got);
        CHECK((*got)[0].str() == body);
        CHECK(got->property("User-Id") == security::curve_key_to_z85(client_keys.public_key));
        REQUIRE(rep.send({"reply-" + std::to_string(i)}));
        CHECK(req.recv() == frames{"reply-" + std::to_string(i)});
    }

    // Another client key is refused, with the reason.
    zmtp_end stranger(iot.io, socket_type::req);
    stranger.configure([&](socket_options& o) { o.curve_serverkey = server_keys.public_key; });
    monitor_log stranger_log(stranger);
    stranger.connect(ep);
    REQUIRE(stranger.send({"let me in"}));
    const auto reason = stranger_log.failure();
    REQUIRE(reason);
    CHECK(reason->find("client key not allowed") != std::string::npos);
    const auto server_reason = server_log.failure();
    REQUIRE(server_reason);
    CHECK(server_reason->find("client key not allowed") != std::string::npos);
    CHECK_FALSE(rep.recv(200ms));
}

TEST_CASE("CURVE: a client with the wrong server key fails the handshake and names it")
{
    const auto server_keys = security::generate_curve_key_pair();
    const auto other = security::generate_curve_key_pair();
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([&](socket_options& o) {
        o.curve_server = true;
        o.curve_secretkey = server_keys.secret_key;
    });
    monitor_log server_log(pull);
    zmtp_end push(iot.io, socket_type::push);
    push.configure([&](socket_options& o) { o.curve_serverkey = other.public_key; });
    push.connect(pull.bind("ipc"));
    REQUIRE(push.send({"lost"}));
    const auto reason = server_log.failure();
    REQUIRE(reason);
    CHECK(reason->find("HELLO") != std::string::npos);
    CHECK_FALSE(pull.recv(200ms));
}

TEST_CASE("An asynchronous authenticator answers later from another thread")
{
    io_thread iot;
    std::vector<std::thread> deciders;
    std::mutex mutex;
    std::vector<security::auth_request> seen;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([&](socket_options& o) {
        o.plain_server = true;
        o.authenticator = security::authenticator::async(
            [&](const security::auth_request& r, security::auth_completion done) {
                std::lock_guard lock(mutex);
                seen.push_back(r);
                deciders.emplace_back([r, done = std::move(done)] {
                    std::this_thread::sleep_for(50ms);
                    done(r.password == "late-but-right" ? security::auth_result::accept("u-" + r.username)
                                                        : security::auth_result::refuse(400, "no"));
                });
            });
    });
    const std::string ep = pull.bind("tcp");
    zmtp_end push(iot.io, socket_type::push);
    push.configure([](socket_options& o) {
        o.plain_username = "carol";
        o.plain_password = "late-but-right";
    });
    push.connect(ep);
    REQUIRE(push.send({"hi"}));
    const auto m = pull.recv_message();
    REQUIRE(m);
    CHECK(m->property("User-Id") == "u-carol");
    {
        std::lock_guard lock(mutex);
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].mechanism == "PLAIN");
        CHECK(seen[0].username == "carol");
        CHECK(seen[0].address.find("127.0.0.1") != std::string::npos);
        CHECK(seen[0].peer.find("Socket-Type") == std::nullopt); // PLAIN's HELLO carries no properties
    }
    for (auto& t : deciders)
        t.join();
}

TEST_CASE("Security options that contradict each other fail bind and connect with the reason")
{
    io_thread iot;
    zmtp_end a(iot.io, socket_type::pull);
    a.configure([](socket_options& o) {
        o.plain_server = true;
        o.curve_server = true;
    });
    error_code ec;
    on(a.socket(), [&] { a.socket().bind("tcp://127.0.0.1:0", ec); });
    CHECK(ec == zmtp::error::invalid_argument);

    zmtp_end b(iot.io, socket_type::push);
    b.configure([](socket_options& o) { o.curve_server = true; }); // no secret key
    on(b.socket(), [&] { b.socket().connect("tcp://127.0.0.1:1", ec); });
    CHECK(ec == zmtp::error::invalid_argument);

    zmtp_end c(iot.io, socket_type::push);
    c.configure([](socket_options& o) { o.plain_password = "no user"; });
    on(c.socket(), [&] { c.socket().connect("tcp://127.0.0.1:1", ec); });
    CHECK(ec == zmtp::error::invalid_argument);
}

TEST_CASE("hostile 59: a PLAIN server without an authenticator fails bind and connect, saying so")
{
    io_thread iot;
    zmtp_end a(iot.io, socket_type::rep);
    a.configure([](socket_options& o) { o.plain_server = true; });
    error_code ec;
    std::string detail;
    on(a.socket(), [&] { a.socket().bind("tcp://127.0.0.1:0", ec, &detail); });
    CHECK(ec == zmtp::error::invalid_argument);
    CHECK(detail.find("without an authenticator") != std::string::npos);
    on(a.socket(), [&] { a.socket().connect("tcp://127.0.0.1:1", ec, &detail); });
    CHECK(ec == zmtp::error::invalid_argument);
    a.configure([](socket_options& o) { o.authenticator = security::authenticators::allow_all(); });
    on(a.socket(), [&] { a.socket().bind("tcp://127.0.0.1:0", ec); });
    CHECK_FALSE(ec);
}

} // namespace
