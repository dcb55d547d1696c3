// SPDX-License-Identifier: MPL-2.0
// ZeroMQ through a command's stdin and stdout, as through an ssh tunnel:
//
//   exec:ssh gateway socat - tcp:10.0.0.5:5555
//
// runs the command for each connection and speaks ZMTP over its pipes; the
// command relays the bytes to the service (here a libzmq REP). Nothing
// listens on the gateway but sshd, and the service needs no change.
// Locally, `socat - TCP:127.0.0.1:PORT` stands in for the ssh command.
//
//   build/examples/zmtp-exec-pipe 'socat - TCP:127.0.0.1:PORT'
#include "example_support.hpp"

#include <zmtp/socket.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <cstdio>
#include <string>

namespace net = boost::asio;

namespace {

// Each reply proves the request went through the pipe and back.
net::awaitable<void> ask(zmtp::socket& req, int count)
{
    for (int i = 1; i <= count; ++i) {
        zmtp::message request{zmtp::frame("through the pipe " + std::to_string(i))};
        co_await req.async_send(std::move(request), net::use_awaitable);
        zmtp::message reply = co_await req.async_receive(net::use_awaitable);
        std::printf("reply: %s\n", reply.back().str().c_str());
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s 'COMMAND relaying to a ZeroMQ service'\n", argv[0]);
        return 2;
    }
    // A child that exits while we write to its stdin raises SIGPIPE; the
    // socket sees the write fail instead, and starts the command again.
    std::signal(SIGPIPE, SIG_IGN);

    net::io_context io;
    zmtp::socket req(io, zmtp::socket_type::req);
    const auto last_failure = examples::record_failures(req);
    req.connect(std::string("exec:") + argv[1]);
    // The command's stderr is ours: a relay that cannot connect says why.
    return examples::run_with_deadline(io, ask(req, 3), std::chrono::seconds(10), "exec_pipe",
                                       last_failure.get());
}
