// SPDX-License-Identifier: MPL-2.0
// connection<Stream> over real streams: TCP on IPv4 and IPv6 loopback, a
// Unix domain socket, two pipes joined by duplex_stream, and TLS with a CA
// and server certificate made at run time.
#include "zmtp/asio/connection.hpp"

#include "zmtp/asio/duplex_stream.hpp"

#include "helpers.hpp"
#include "test_certificates.hpp"

#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <memory>

using namespace zmtp;
using namespace zmtp::asio_test;
namespace ip = net::ip;
namespace ssl = net::ssl;
using tcp = ip::tcp;

namespace {

// A connected pair of sockets: the acceptor listens on port 0 / a fresh
// path and is read back, so tests never collide.
template <class Protocol>
std::pair<typename Protocol::socket, typename Protocol::socket>
connected_pair(net::io_context& io, const typename Protocol::endpoint& where)
{
    typename Protocol::acceptor acceptor(io, where);
    typename Protocol::socket client(io);
    client.connect(acceptor.local_endpoint());
    typename Protocol::socket server = acceptor.accept();
    return {std::move(server), std::move(client)};
}

bool ipv6_loopback_available()
{
    net::io_context io;
    tcp::acceptor a(io);
    error_code ec;
    a.open(tcp::v6(), ec);
    if (!ec)
        a.bind(tcp::endpoint(ip::address_v6::loopback(), 0), ec);
    return !ec;
}

using tls_stream = ssl::stream<tcp::socket>;

// TLS handshakes on both next layers; returns the two results.
std::pair<std::optional<error_code>, std::optional<error_code>>
tls_handshake(net::io_context& io, asio::connection<tls_stream>& server,
              asio::connection<tls_stream>& client)
{
    std::optional<error_code> rs, rc;
    server.next_layer().async_handshake(ssl::stream_base::server, [&](error_code ec) { rs = ec; });
    client.next_layer().async_handshake(ssl::stream_base::client, [&](error_code ec) { rc = ec; });
    run_until(io, [&] { return rs && rc; });
    return {rs, rc};
}

} // namespace

TEST_CASE("message set over TCP, IPv4 loopback")
{
    net::io_context io;
    auto server_client = connected_pair<tcp>(io, tcp::endpoint(ip::address_v4::loopback(), 0));
    auto& server = server_client.first;
    auto& client = server_client.second;
    CHECK(server.local_endpoint().port() != 0);
    asio::connection<tcp::socket> a(options_for(socket_type::dealer), std::move(client));
    asio::connection<tcp::socket> b(options_for(socket_type::router), std::move(server));
    exchange_standard(io, a, b);
}

TEST_CASE("message set over TCP, IPv6 loopback")
{
    if (!ipv6_loopback_available()) {
        MESSAGE("skipped: no IPv6 loopback on this machine");
        return;
    }
    net::io_context io;
    auto server_client = connected_pair<tcp>(io, tcp::endpoint(ip::address_v6::loopback(), 0));
    auto& server = server_client.first;
    auto& client = server_client.second;
    CHECK(server.local_endpoint().address().is_v6());
    asio::connection<tcp::socket> a(options_for(socket_type::req), std::move(client));
    asio::connection<tcp::socket> b(options_for(socket_type::rep), std::move(server));
    exchange_standard(io, a, b);
}

TEST_CASE("message set over a Unix domain socket")
{
    temp_dir dir;
    net::io_context io;
    using local = net::local::stream_protocol;
    const auto path = (dir.path() / "zmtp.sock").string();
    auto server_client = connected_pair<local>(io, local::endpoint(path));
    auto& server = server_client.first;
    auto& client = server_client.second;
    asio::connection<local::socket> a(options_for(socket_type::push), std::move(client));
    asio::connection<local::socket> b(options_for(socket_type::pull), std::move(server));
    // PUSH -> PULL: one way only.
    exchange_standard(io, a, b, /*both_ways=*/false);
}

TEST_CASE("message set over two pipes joined by duplex_stream")
{
    using descriptor = net::posix::stream_descriptor;
    using pipe_stream = asio::duplex_stream<descriptor, descriptor>;
    int a_to_b[2];
    int b_to_a[2];
    REQUIRE(::pipe2(a_to_b, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(b_to_a, O_CLOEXEC) == 0);
    net::io_context io;
    asio::connection<pipe_stream> a(options_for(), descriptor(io, b_to_a[0]),
                                    descriptor(io, a_to_b[1]));
    asio::connection<pipe_stream> b(options_for(), descriptor(io, a_to_b[0]),
                                    descriptor(io, b_to_a[1]));
    exchange_standard(io, a, b);

    // Closing one side: the other reads connection_closed.
    a.close();
    std::optional<error_code> r;
    message m;
    b.async_read(m, [&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }));
    CHECK(*r == zmtp::error::connection_closed);
}

TEST_CASE("message set over TLS, the client verifying the server against a test CA")
{
    temp_dir dir;
    test_tls::make_test_certificates(dir.path());

    ssl::context server_ctx(ssl::context::tls_server);
    server_ctx.use_certificate_chain_file((dir.path() / "server.pem").string());
    server_ctx.use_private_key_file((dir.path() / "server-key.pem").string(), ssl::context::pem);
    server_ctx.set_verify_mode(ssl::verify_none);

    ssl::context client_ctx(ssl::context::tls_client);
    client_ctx.load_verify_file((dir.path() / "ca.pem").string());
    client_ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);

    net::io_context io;
    auto server_sock_client_sock =
        connected_pair<tcp>(io, tcp::endpoint(ip::address_v4::loopback(), 0));
    auto& server_sock = server_sock_client_sock.first;
    auto& client_sock = server_sock_client_sock.second;

    SUBCASE("trusted certificate")
    {
        asio::connection<tls_stream> server(options_for(), std::move(server_sock), server_ctx);
        asio::connection<tls_stream> client(options_for(), std::move(client_sock), client_ctx);
        client.next_layer().set_verify_callback(ssl::host_name_verification("localhost"));
        auto rs_rc = tls_handshake(io, server, client);
        auto& rs = rs_rc.first;
        auto& rc = rs_rc.second;
        REQUIRE(rs.has_value());
        REQUIRE(rc.has_value());
        REQUIRE_MESSAGE(!*rs, rs->message());
        REQUIRE_MESSAGE(!*rc, rc->message());
        exchange_standard(io, client, server);
    }
    SUBCASE("wrong host name: the client refuses")
    {
        asio::connection<tls_stream> server(options_for(), std::move(server_sock), server_ctx);
        asio::connection<tls_stream> client(options_for(), std::move(client_sock), client_ctx);
        client.next_layer().set_verify_callback(ssl::host_name_verification("example.org"));
        auto rs_rc = tls_handshake(io, server, client);
        auto& rc = rs_rc.second;
        REQUIRE(rc.has_value());
        CHECK(*rc); // verification failed
    }
}

TEST_CASE("destroying a TCP connection with a read outstanding")
{
    net::io_context io;
    auto server_client = connected_pair<tcp>(io, tcp::endpoint(ip::address_v4::loopback(), 0));
    auto& server = server_client.first;
    auto& client = server_client.second;
    auto a = std::make_unique<asio::connection<tcp::socket>>(options_for(), std::move(client));
    asio::connection<tcp::socket> b(options_for(), std::move(server));
    std::optional<error_code> ra, rb;
    message ma, mb;
    a->async_read(ma, [&](error_code ec) { ra = ec; });
    b.async_read(mb, [&](error_code ec) { rb = ec; });
    REQUIRE(run_until(io, [&] { return a->protocol().is_ready() && b.protocol().is_ready(); }));
    a.reset();
    REQUIRE(run_until(io, [&] { return ra && rb; }));
    CHECK(*ra == net::error::operation_aborted);
    CHECK(*rb == zmtp::error::connection_closed);
}
