// SPDX-License-Identifier: MPL-2.0
// zmtp::socket to zmtp::socket over tls+tcp:// and tls+ipc://, with
// certificates made at run time (../support/test_certificates.hpp): server
// verification by name and address, mutual TLS and TLS-Subject, and every
// refusal with the TLS error in its reason (unknown CA, expired, wrong name,
// no client certificate, TLS below 1.2, a peer that never speaks TLS).
#include "zmtp/socket.hpp"

#include "helpers.hpp"
#include "test_certificates.hpp"

#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace zmtp;
using namespace zmtp::asio_test;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using event_type = zmtp::monitor_event_type;

namespace {

// A directory with the test certificates and the settings each side uses.
class certificates {
public:
    certificates() { test_tls::make_test_certificates(dir_.path()); }

    std::string file(const std::string& name) const { return (dir_.path() / name).string(); }
    std::string ipc(const std::string& name) const { return "tls+ipc://" + file(name); }

    // A server presenting NAME.pem.
    tls_options server(const std::string& name = "server") const
    {
        tls_options o;
        o.certificate_chain_file = file(name + ".pem");
        o.private_key_file = file(name + "-key.pem");
        return o;
    }
    // The same, asking for client certificates from the test CA.
    tls_options mutual_server() const
    {
        tls_options o = server();
        o.ca_file = file("ca.pem");
        return o;
    }
    // A client trusting the test CA, presenting client.pem when `with_cert`.
    tls_options client(bool with_cert = false) const
    {
        tls_options o;
        o.ca_file = file("ca.pem");
        if (with_cert) {
            o.certificate_chain_file = file("client.pem");
            o.private_key_file = file("client-key.pem");
        }
        return o;
    }

private:
    temp_dir dir_;
};

// Every monitor event a socket reported.
struct event_log {
    std::vector<zmtp::monitor_event> events;

    zmtp::asio::monitor_callback callback()
    {
        return [this](const zmtp::monitor_event& e) { events.push_back(e); };
    }
    std::size_t count(event_type t) const
    {
        return static_cast<std::size_t>(std::count_if(
            events.begin(), events.end(), [&](const zmtp::monitor_event& e) { return e.type == t; }));
    }
    const zmtp::monitor_event* first(event_type t) const
    {
        auto it = std::find_if(events.begin(), events.end(),
                               [&](const zmtp::monitor_event& e) { return e.type == t; });
        return it == events.end() ? nullptr : &*it;
    }
    std::vector<zmtp::monitor_event> all(event_type t) const
    {
        std::vector<zmtp::monitor_event> out;
        std::copy_if(events.begin(), events.end(), std::back_inserter(out),
                     [&](const zmtp::monitor_event& e) { return e.type == t; });
        return out;
    }
};

message text(const std::string& s)
{
    message m;
    m.push_back(frame(s));
    return m;
}

// Sends `m` from `from` and returns what `to` receives (nothing after 5 s).
std::optional<message> pass(net::io_context& io, zmtp::socket& from, zmtp::socket& to, message m)
{
    std::optional<message> got;
    from.async_send(std::move(m), [](error_code) {});
    to.async_receive([&](error_code ec, message in) {
        if (!ec)
            got = std::move(in);
    });
    run_until(io, [&] { return got.has_value(); });
    return got;
}

// A PUSH connecting with `client` to a PULL bound with `server`, where the
// PUSH should fail its TLS handshake: returns the PUSH's first
// handshake_failed reason, once it has also retried twice.
struct refusal {
    std::string client_reason;
    std::string server_reason; // empty when the server saw no failure
    std::vector<zmtp::monitor_event> retries;
};

refusal refused(const std::string& endpoint, const tls_options& server, const tls_options& client)
{
    // The logs outlive the io_context: sockets it still holds report their
    // closing to them when it is destroyed.
    event_log server_log;
    event_log client_log;
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    pull.options().tls = server;
    pull.set_monitor(server_log.callback());
    zmtp::socket push(io, socket_type::push);
    push.options().tls = client;
    push.options().reconnect_ivl = 20ms;
    push.options().reconnect_ivl_max = 1000ms;
    push.set_monitor(client_log.callback());
    push.connect(pull.bind(endpoint));
    message m = text("never delivered");
    REQUIRE_FALSE(push.try_send(m));
    std::optional<message> got;
    pull.async_receive([&](error_code ec, message in) {
        if (!ec)
            got = std::move(in);
    });
    CHECK(run_until(io, [&] { return client_log.count(event_type::connect_retried) >= 3; }));
    run_for(io, 50ms); // the server's side of the last failure
    CHECK_FALSE(got.has_value());
    CHECK(client_log.count(event_type::handshake_succeeded) == 0);
    CHECK(server_log.count(event_type::handshake_succeeded) == 0);
    refusal r;
    if (auto* e = client_log.first(event_type::handshake_failed))
        r.client_reason = e->reason;
    if (auto* e = server_log.first(event_type::handshake_failed))
        r.server_reason = e->reason;
    r.retries = client_log.all(event_type::connect_retried);
    return r;
}

} // namespace

TEST_CASE("tls+tcp: PUSH to PULL, the client verifying the server's certificate for 127.0.0.1")
{
    certificates certs;
    event_log server_log;
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    pull.options().tls = certs.server();
    pull.set_monitor(server_log.callback());
    const std::string bound = pull.bind("tls+tcp://127.0.0.1:0");
    CHECK(bound.starts_with("tls+tcp://127.0.0.1:"));
    CHECK(!bound.ends_with(":0"));
    zmtp::socket push(io, socket_type::push);
    push.options().tls = certs.client();
    push.connect(bound);

    for (const message& m : standard_messages()) {
        auto got = pass(io, push, pull, m);
        REQUIRE(got.has_value());
        CHECK(*got == m);
        CHECK_FALSE(got->property("TLS-Subject")); // the client showed no certificate
    }
    CHECK(server_log.count(event_type::handshake_succeeded) == 1);
    CHECK(server_log.first(event_type::listening)->endpoint == bound);
}

TEST_CASE("tls+tcp: the name checked is the endpoint's host unless server_name says otherwise")
{
    certificates certs;
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    pull.options().tls = certs.server();
    const std::string bound = pull.bind("tls+tcp://127.0.0.1:0");
    const std::string port = bound.substr(bound.rfind(':') + 1);
    zmtp::socket push(io, socket_type::push);
    push.options().tls = certs.client();
    push.connect("tls+tcp://localhost:" + port); // SNI and check: localhost
    auto got = pass(io, push, pull, text("by name"));
    REQUIRE(got.has_value());
    CHECK(got->front().str() == "by name");
}

TEST_CASE("tls+ipc: PAIR to PAIR both ways; each side sees the other's verified subject")
{
    certificates certs;
    net::io_context io;
    zmtp::socket a(io, socket_type::pair);
    a.options().tls = certs.mutual_server();
    const std::string bound = a.bind(certs.ipc("tls.sock"));
    CHECK(bound == certs.ipc("tls.sock"));
    zmtp::socket b(io, socket_type::pair);
    b.options().tls = certs.client(true);
    b.options().tls.server_name = "localhost";
    b.connect(bound);

    auto at_a = pass(io, b, a, text("b to a"));
    REQUIRE(at_a.has_value());
    CHECK(at_a->front().str() == "b to a");
    CHECK(at_a->property("TLS-Subject") == std::optional<std::string_view>(test_tls::client_subject));
    auto at_b = pass(io, a, b, text("a to b"));
    REQUIRE(at_b.has_value());
    CHECK(at_b->front().str() == "a to b");
    CHECK(at_b->property("TLS-Subject") == std::optional<std::string_view>("CN=localhost"));
}

TEST_CASE("mutual TLS over tls+tcp: the client's certificate subject is the peer's TLS-Subject")
{
    certificates certs;
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    pull.options().tls = certs.mutual_server();
    zmtp::socket push(io, socket_type::push);
    push.options().tls = certs.client(true);
    push.connect(pull.bind("tls+tcp://127.0.0.1:0"));
    auto got = pass(io, push, pull, text("signed"));
    REQUIRE(got.has_value());
    CHECK(got->property("TLS-Subject") == std::optional<std::string_view>(test_tls::client_subject));
}

TEST_CASE("mutual TLS: the authenticator sees the client's TLS-Subject, with PLAIN inside TLS")
{
    certificates certs;
    std::optional<std::string> seen;
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    pull.options().tls = certs.mutual_server();
    pull.options().plain_server = true;
    pull.options().authenticator = security::authenticator([&](const security::auth_request& r) {
        seen = std::string(r.transport.find("TLS-Subject").value_or("none"));
        return r.username == "admin" ? security::auth_result::accept("admin")
                                     : security::auth_result::refuse(400, "unknown user");
    });
    zmtp::socket push(io, socket_type::push);
    push.options().tls = certs.client(true);
    push.options().plain_username = "admin";
    push.options().plain_password = "secret";
    push.connect(pull.bind("tls+tcp://127.0.0.1:0"));
    auto got = pass(io, push, pull, text("authenticated twice"));
    REQUIRE(got.has_value());
    CHECK(seen == std::optional<std::string>(test_tls::client_subject));
    CHECK(got->property("User-Id") == std::optional<std::string_view>("admin"));
    CHECK(got->property("TLS-Subject") == std::optional<std::string_view>(test_tls::client_subject));
}

TEST_CASE("mutual TLS: a client without a certificate is refused, and keeps retrying")
{
    certificates certs;
    const refusal r = refused("tls+tcp://127.0.0.1:0", certs.mutual_server(), certs.client(false));
    INFO("client: " << r.client_reason << " / server: " << r.server_reason);
    CHECK(r.server_reason.starts_with("TLS: "));
    CHECK(r.server_reason.find("certificate") != std::string::npos);
    // With TLS 1.3 the client's handshake is over before the server has
    // judged its certificate: it learns of the refusal by the alert that
    // ends its first read.
    CHECK(r.client_reason.find("certificate required") != std::string::npos);
}

TEST_CASE("a server certificate from an unknown CA is refused with the reason, retried with back-off")
{
    certificates certs;
    const refusal r = refused("tls+tcp://127.0.0.1:0", certs.server("stranger"), certs.client());
    CHECK(r.client_reason == "TLS: certificate verify failed (unable to get local issuer certificate)");
    CHECK(r.server_reason.starts_with("TLS: "));
    CHECK(r.server_reason.find("unknown ca") != std::string::npos);
    REQUIRE(r.retries.size() >= 3);
    // 20, 40, 80 ms, each ±50 %: the third wait is longer than the first.
    CHECK(r.retries[2].retry_in > r.retries[0].retry_in);
}

TEST_CASE("an expired server certificate is refused with the reason")
{
    certificates certs;
    const refusal r = refused("tls+tcp://127.0.0.1:0", certs.server("expired"), certs.client());
    CHECK(r.client_reason == "TLS: certificate verify failed (certificate has expired)");
}

TEST_CASE("a certificate for another name is refused with the reason")
{
    certificates certs;
    tls_options client = certs.client();
    client.server_name = "elsewhere.example";
    const refusal by_name = refused("tls+tcp://127.0.0.1:0", certs.server(), client);
    CHECK(by_name.client_reason == "TLS: certificate verify failed (hostname mismatch)");

    // By address: the certificate names 127.0.0.1, not 127.0.0.2.
    tls_options by_ip = certs.client();
    by_ip.server_name = "127.0.0.2";
    const refusal r = refused("tls+tcp://127.0.0.1:0", certs.server(), by_ip);
    CHECK(r.client_reason == "TLS: certificate verify failed (IP address mismatch)");
}

TEST_CASE("tls+ipc: a server certificate from an unknown CA is refused there too")
{
    certificates certs;
    const refusal r = refused(certs.ipc("stranger.sock"), certs.server("stranger"), certs.client());
    CHECK(r.client_reason == "TLS: certificate verify failed (unable to get local issuer certificate)");
}

TEST_CASE("verify_peer = false accepts an unknown certificate, and reports no subject")
{
    certificates certs;
    net::io_context io;
    zmtp::socket a(io, socket_type::pair);
    a.options().tls = certs.server("stranger");
    zmtp::socket b(io, socket_type::pair);
    b.options().tls = certs.client();
    b.options().tls.verify_peer = false;
    b.connect(a.bind("tls+tcp://127.0.0.1:0"));
    auto got = pass(io, a, b, text("unverified"));
    REQUIRE(got.has_value());
    CHECK_FALSE(got->property("TLS-Subject"));
}

TEST_CASE("contexts of the application's own are used as given")
{
    certificates certs;
    auto server_ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    server_ctx->use_certificate_chain_file(certs.file("server.pem"));
    server_ctx->use_private_key_file(certs.file("server-key.pem"), ssl::context::pem);
    auto client_ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    client_ctx->load_verify_file(certs.file("ca.pem"));
    client_ctx->set_verify_mode(ssl::verify_peer);

    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    pull.options().tls.server_context = server_ctx;
    zmtp::socket push(io, socket_type::push);
    push.options().tls.client_context = client_ctx;
    push.connect(pull.bind("tls+tcp://127.0.0.1:0"));
    auto got = pass(io, push, pull, text("own contexts"));
    REQUIRE(got.has_value());
    CHECK(got->front().str() == "own contexts");

    // The name check still applies to the application's client context.
    tls_options wrong;
    wrong.client_context = client_ctx;
    wrong.server_name = "elsewhere.example";
    tls_options server;
    server.server_context = server_ctx;
    const refusal r = refused("tls+tcp://127.0.0.1:0", server, wrong);
    CHECK(r.client_reason == "TLS: certificate verify failed (hostname mismatch)");
}

TEST_CASE("TLS below 1.2 is refused, even when the application's context allows it")
{
    certificates certs;
    // Both contexts would agree on TLS 1.1; each connection insists on 1.2.
    auto server_ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    server_ctx->use_certificate_chain_file(certs.file("server.pem"));
    server_ctx->use_private_key_file(certs.file("server-key.pem"), ssl::context::pem);
    SSL_CTX_set_min_proto_version(server_ctx->native_handle(), TLS1_VERSION);
    SSL_CTX_set_security_level(server_ctx->native_handle(), 0);
    auto client_ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    client_ctx->set_verify_mode(ssl::verify_none);
    SSL_CTX_set_min_proto_version(client_ctx->native_handle(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(client_ctx->native_handle(), TLS1_1_VERSION);
    SSL_CTX_set_security_level(client_ctx->native_handle(), 0);

    tls_options server;
    server.server_context = server_ctx;
    tls_options client;
    client.client_context = client_ctx;
    const refusal r = refused("tls+tcp://127.0.0.1:0", server, client);
    INFO("client: " << r.client_reason << " / server: " << r.server_reason);
    CHECK(r.client_reason.starts_with("TLS: "));
    CHECK(r.client_reason.find("protocol") != std::string::npos);
}

TEST_CASE("a bound tls+ endpoint needs a certificate and a key; unusable files fail at once")
{
    certificates certs;
    event_log log;
    net::io_context io;
    zmtp::socket s(io, socket_type::pull);
    s.set_monitor(log.callback());
    error_code ec;
    s.bind("tls+tcp://127.0.0.1:0", ec);
    CHECK(ec);
    REQUIRE(log.first(event_type::bind_failed));
    CHECK(log.first(event_type::bind_failed)->reason.find("needs a certificate chain and a private key") !=
          std::string::npos);

    // A tls+ipc bind that fails leaves no socket file behind.
    s.bind(certs.ipc("nothing.sock"), ec);
    CHECK(ec);
    CHECK_FALSE(std::filesystem::exists(certs.file("nothing.sock")));

    s.options().tls = certs.server();
    s.options().tls.private_key_file = certs.file("client-key.pem"); // not server.pem's key
    s.bind("tls+tcp://127.0.0.1:0", ec);
    CHECK(ec);
    CHECK(log.all(event_type::bind_failed).back().reason.find("key values mismatch") != std::string::npos);

    zmtp::socket c(io, socket_type::push);
    c.options().tls.ca_file = certs.file("missing-ca.pem");
    c.connect("tls+tcp://127.0.0.1:5555", ec);
    CHECK(ec);
}

TEST_CASE("a peer that never speaks TLS is dropped at the handshake deadline, with the reason")
{
    certificates certs;
    event_log log;
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    pull.options().tls = certs.server();
    pull.options().handshake_timeout = 300ms;
    pull.set_monitor(log.callback());
    const std::string bound = pull.bind("tls+tcp://127.0.0.1:0");
    const auto port = static_cast<unsigned short>(std::stoi(bound.substr(bound.rfind(':') + 1)));

    tcp::socket mute(io);
    mute.connect({net::ip::make_address("127.0.0.1"), port});
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(run_until(io, [&] { return log.count(event_type::handshake_failed) == 1; }, 3000ms));
    CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
    CHECK(log.first(event_type::handshake_failed)->reason == "TLS: handshake did not complete in 300 ms");
    CHECK(log.first(event_type::handshake_failed)->error == zmtp::error::handshake_timeout);

    // A plain ZMTP peer on the TLS endpoint: refused, with a TLS reason.
    zmtp::socket plain(io, socket_type::push);
    plain.connect("tcp://127.0.0.1:" + std::to_string(port));
    REQUIRE(run_until(io, [&] { return log.count(event_type::handshake_failed) == 2; }, 3000ms));
    CHECK(log.all(event_type::handshake_failed)[1].reason.starts_with("TLS: "));
}

TEST_CASE("a TLS handshake holds a place under the listener's handshake limit, and gives it to a newcomer")
{
    certificates certs;
    net::io_context io;
    zmtp::socket pull(io, socket_type::pull);
    pull.options().tls = certs.server();
    pull.options().handshake_timeout = 60s; // no place comes back by a deadline here
    pull.options().max_handshakes_per_listener = 1;
    event_log log;
    pull.set_monitor(log.callback());
    const std::string bound = pull.bind("tls+tcp://127.0.0.1:0");
    const auto port = static_cast<unsigned short>(std::stoi(bound.substr(bound.rfind(':') + 1)));
    tcp::socket mute(io);
    mute.connect({net::ip::make_address("127.0.0.1"), port});
    run_for(io, 50ms); // accepted: the one place is taken

    zmtp::socket push(io, socket_type::push);
    push.options().tls = certs.client();
    push.connect(bound);
    auto got = pass(io, push, pull, text("after the silent one"));
    REQUIRE(got.has_value());
    // The silent TLS connection was cut short to make room.
    REQUIRE(log.count(event_type::handshake_failed) == 1);
    CHECK(log.first(event_type::handshake_failed)->reason.starts_with("handshake cut short"));
}
