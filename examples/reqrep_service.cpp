// SPDX-License-Identifier: MPL-2.0
// A REQ/REP service written with coroutines: a REP socket serves requests
// in one coroutine while a REQ client in another sends it a few, both in
// one process over TCP on a port the system picks.
//
//   build/examples/zmtp-reqrep-service [REQUESTS]
#include "example_support.hpp"

#include <zmtp/socket.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace net = boost::asio;

namespace {

// The service: answers every request, one at a time (REP's rule: receive,
// then send). It owns its socket and runs until the io_context stops.
net::awaitable<void> serve(zmtp::socket rep)
{
    for (int served = 1;; ++served) {
        zmtp::message request = co_await rep.async_receive(net::use_awaitable);
        // REP keeps the REQ's envelope and puts it back on the reply: we
        // see, and answer, only the body.
        zmtp::message reply;
        reply.push_back(zmtp::frame("reply #" + std::to_string(served) + " to '" +
                                    request.back().str() + "'"));
        co_await rep.async_send(std::move(reply), net::use_awaitable);
    }
}

// The client: sends `count` requests and prints each reply.
net::awaitable<void> client(std::string endpoint, int count)
{
    zmtp::socket req(co_await net::this_coro::executor, zmtp::socket_type::req);
    // connect() returns at once and connects in the background; a message
    // sent meanwhile waits for the connection.
    req.connect(endpoint);
    for (int i = 1; i <= count; ++i) {
        zmtp::message request{zmtp::frame("request " + std::to_string(i))};
        co_await req.async_send(std::move(request), net::use_awaitable);
        zmtp::message reply = co_await req.async_receive(net::use_awaitable);
        std::printf("client got: %s\n", reply.back().str().c_str());
    }
}

} // namespace

int main(int argc, char** argv)
{
    const int count = argc > 1 ? std::atoi(argv[1]) : 5;
    if (count < 1) {
        std::fprintf(stderr, "usage: %s [REQUESTS (at least 1)]\n", argv[0]);
        return 2;
    }
    net::io_context io;

    // Port 0: the system picks a free port; bind() returns the endpoint
    // really bound, e.g. tcp://127.0.0.1:40123, for the client to use.
    zmtp::socket rep(io, zmtp::socket_type::rep);
    const std::string endpoint = rep.bind("tcp://127.0.0.1:0");
    std::printf("service bound at %s\n", endpoint.c_str());
    net::co_spawn(io, serve(std::move(rep)), net::detached);

    const int status = examples::run_with_deadline(io, client(endpoint, count),
                                                   std::chrono::seconds(10), "reqrep_service");
    if (status == 0)
        std::printf("done: %d requests answered\n", count);
    return status;
}
