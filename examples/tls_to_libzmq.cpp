// SPDX-License-Identifier: MPL-2.0
// ZeroMQ over TLS to a libzmq service. libzmq has no TLS; a TLS terminator
// in front of it (stunnel, HAProxy, nginx's stream module) accepts TLS and
// forwards the plain ZMTP bytes to the libzmq socket:
//
//   this REQ --tls+tcp--> stunnel (TLS) --tcp--> libzmq REP
//
// zmtp runs TLS itself (OpenSSL): the endpoint is tls+tcp://HOST:PORT, and
// socket_options::tls says which CA to trust and, for mutual TLS, which
// certificate to present. The server's certificate must name HOST.
//
//   build/examples/zmtp-tls-to-libzmq tls+tcp://HOST:PORT CA.pem [CERT.pem KEY.pem]
#include "example_support.hpp"

#include <zmtp/socket.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <string>

namespace net = boost::asio;

namespace {

net::awaitable<void> ask(zmtp::socket& req, int count)
{
    for (int i = 1; i <= count; ++i) {
        zmtp::message request{zmtp::frame("hello over TLS " + std::to_string(i))};
        co_await req.async_send(std::move(request), net::use_awaitable);
        zmtp::message reply = co_await req.async_receive(net::use_awaitable);
        std::printf("reply: %s\n", reply.back().str().c_str());
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 3 && argc != 5) {
        std::fprintf(stderr, "usage: %s tls+tcp://HOST:PORT CA.pem [CERT.pem KEY.pem]\n", argv[0]);
        return 2;
    }
    net::io_context io;
    zmtp::socket req(io, zmtp::socket_type::req);
    req.options().tls.ca_file = argv[2]; // verify the server against this CA
    if (argc == 5) {
        // Mutual TLS: also prove who we are, to a server that asks.
        req.options().tls.certificate_chain_file = argv[3];
        req.options().tls.private_key_file = argv[4];
    }
    const auto last_failure = examples::record_failures(req);
    // A bad endpoint or unreadable file throws here, with the reason.
    try {
        req.connect(argv[1]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tls_to_libzmq: %s\n", e.what());
        return 1;
    }
    // A certificate that does not verify is not fatal to a connecting
    // socket: it retries, so the deadline ends the wait and the monitor's
    // last failure says why.
    return examples::run_with_deadline(io, ask(req, 3), std::chrono::seconds(10), "tls_to_libzmq",
                                       last_failure.get());
}
