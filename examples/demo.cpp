// SPDX-License-Identifier: MPL-2.0
// zmtp talking to a real libzmq peer, printing every unit that crosses the
// wire. libzmq runs a PAIR socket in this process through its C API; zmtp
// connects to it over TCP with connection<Stream> and no libzmq code.
#include "wire_tap.hpp"

#include "zmtp/asio/connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <zmq.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// The libzmq side: echo every message back with " (echoed by libzmq)" appended.
void run_libzmq_echo(void* socket, int messages)
{
    for (int i = 0; i < messages; ++i) {
        zmq_msg_t part;
        int more = 1;
        while (more) {
            zmq_msg_init(&part);
            zmq_msg_recv(&part, socket, 0);
            more = zmq_msg_more(&part);
            std::string body(static_cast<const char*>(zmq_msg_data(&part)), zmq_msg_size(&part));
            if (!more)
                body += " (echoed by libzmq)";
            zmq_send(socket, body.data(), body.size(), more ? ZMQ_SNDMORE : 0);
            zmq_msg_close(&part);
        }
    }
}

net::awaitable<void> talk(zmtp::asio::connection<demo::wire_tap<tcp::socket>>& conn,
                          tcp::endpoint peer)
{
    co_await conn.next_layer().next_layer().async_connect(peer, net::use_awaitable);
    co_await conn.async_handshake(net::use_awaitable);
    std::printf("\nhandshake done; libzmq says it is a %s socket\n\n",
                std::string(conn.peer_metadata().find("Socket-Type").value_or("?")).c_str());

    const zmtp::message requests[] = {
        {zmtp::frame("Hello from zmtp")},
        {zmtp::frame("multi"), zmtp::frame(""), zmtp::frame("part")},
        {zmtp::frame(std::string(300, 'z'))},
    };
    for (const zmtp::message& m : requests) {
        co_await conn.async_write(m, net::use_awaitable);
        zmtp::message reply;
        co_await conn.async_read(reply, net::use_awaitable);
        std::printf("  zmtp received %zu frame(s), last: \"%.60s\"\n\n", reply.size(),
                    reply.back().str().c_str());
    }
    co_await conn.async_close(net::use_awaitable);
}

} // namespace

int main()
{
    void* ctx = zmq_ctx_new();
    void* pair = zmq_socket(ctx, ZMQ_PAIR);
    int linger = 0;
    zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(pair, "tcp://127.0.0.1:*") != 0) {
        std::fprintf(stderr, "demo: libzmq bind failed: %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    char endpoint[256];
    size_t size = sizeof endpoint;
    zmq_getsockopt(pair, ZMQ_LAST_ENDPOINT, endpoint, &size);
    const int port = std::atoi(std::strrchr(endpoint, ':') + 1);
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    std::printf("libzmq %d.%d.%d PAIR bound at %s; zmtp PAIR connects:\n\n", major, minor, patch,
                endpoint);

    std::thread peer(run_libzmq_echo, pair, 3);

    net::io_context io;
    zmtp::codec_options options;
    options.type = zmtp::socket_type::pair;
    zmtp::asio::connection<demo::wire_tap<tcp::socket>> conn(options, io);
    bool ok = false;
    net::co_spawn(io, talk(conn, {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}),
                  [&](std::exception_ptr e) {
                      ok = !e;
                      if (e) {
                          try {
                              std::rethrow_exception(e);
                          } catch (const std::exception& ex) {
                              std::fprintf(stderr, "demo failed: %s\n", ex.what());
                          }
                      }
                  });
    io.run_for(std::chrono::seconds(10));
    peer.join();
    zmq_close(pair);
    zmq_ctx_term(ctx);
    std::printf(ok ? "demo finished: zmtp and libzmq exchanged 3 messages\n" : "demo FAILED\n");
    return ok ? 0 : 1;
}
