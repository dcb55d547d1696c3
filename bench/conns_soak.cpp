// SPDX-License-Identifier: MPL-2.0
// Many concurrent connections through one socket: a PULL bound by zmtp,
// then by libzmq, each in a child process, takes N raw TCP peers (a NULL
// PUSH handshake and one message each, K at a time), all held open until
// every message has arrived. Memory per connection is the server's RSS
// with all N open, less its RSS before the first, over N.
//
//   zmtp-conns-soak [--connections N] [--in-flight K] [--target zmtp|libzmq|both]
//
// The open-file limit is raised to its hard limit (N is cut to fit it).
// Exit status: 0 when zmtp received every peer's message, 1 otherwise
// (libzmq's figures are for comparison).
#include "soak.hpp"

#include "zmtp/socket.hpp"

#include <boost/asio/io_context.hpp>

#include <zmq.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

long expected = 0; // set before the server is forked

// Run in the child: counts messages and says 'a' once all have come.
void serve_zmtp(int out)
{
    boost::asio::io_context io;
    zmtp::socket pull(io, zmtp::socket_type::pull);
    soak::report_port(out, pull.bind("tcp://127.0.0.1:0"));
    long received = 0;
    std::function<void()> next = [&] {
        pull.async_receive([&](zmtp::asio::error_code ec, zmtp::message) {
            if (!ec && ++received == expected)
                soak::notify(out, 'a');
            next();
        });
    };
    next();
    io.run();
}

void serve_libzmq(int out)
{
    void* ctx = zmq_ctx_new();
    void* pull = zmq_socket(ctx, ZMQ_PULL);
    if (zmq_bind(pull, "tcp://127.0.0.1:*") != 0)
        std::_Exit(2);
    char ep[256];
    size_t len = sizeof ep;
    zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, ep, &len);
    soak::report_port(out, ep);
    char buf[64];
    for (long received = 0;;)
        if (zmq_recv(pull, buf, sizeof buf, 0) >= 0 && ++received == expected)
            soak::notify(out, 'a');
}

struct result {
    double base = 0, all_open = 0; // MiB
    double connect_s = 0;          // until every handshake was answered
    double delivered_s = 0;        // until every message had arrived
    long refused = 0;
    bool delivered = false;
    double kib_per_connection(long n) const { return (all_open - base) * 1024 / static_cast<double>(n); }
};

result run(bool zmtp_side, long n, int in_flight)
{
    soak::child s = soak::spawn(zmtp_side ? serve_zmtp : serve_libzmq);
    std::this_thread::sleep_for(200ms);
    result r;
    r.base = soak::rss_mib(s.pid);

    std::vector<int> fds(static_cast<std::size_t>(n), -1);
    std::atomic<long> next{0}, refused{0};
    const auto t0 = clock_type::now();
    std::vector<std::thread> workers;
    for (int i = 0; i < in_flight; ++i)
        workers.emplace_back([&] {
            for (long k; (k = next.fetch_add(1)) < n;) {
                const int fd = soak::tcp_connect(s.port);
                fds[static_cast<std::size_t>(k)] = fd;
                if (fd < 0) {
                    ++refused;
                    continue;
                }
                // Waiting for the server's side of the handshake keeps at
                // most K handshakes in progress.
                if (!soak::null_handshake(fd, "PUSH", 1, soak::data_frame("message " + std::to_string(k)), true))
                    ++refused;
            }
        });
    for (auto& w : workers)
        w.join();
    r.connect_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    r.refused = refused;
    // A guard against a hang, far above what delivery takes.
    r.delivered = soak::next_notice(s, 60s + std::chrono::milliseconds(n * 5)) == 'a';
    r.delivered_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::this_thread::sleep_for(300ms);
    r.all_open = soak::rss_mib(s.pid);
    soak::stop(s);
    for (const int fd : fds)
        if (fd >= 0)
            ::close(fd);
    return r;
}

void print(const char* name, long n, const result& r)
{
    std::printf("%-7s %ld connections: every message delivered: %s (%.1f s; handshakes answered in %.1f s, "
                "%ld failed); RSS %.1f -> %.1f MiB, %.1f KiB per connection\n",
                name, n, r.delivered ? "yes" : "NO", r.delivered_s, r.connect_s, r.refused, r.base,
                r.all_open, r.kib_per_connection(n));
}

} // namespace

int main(int argc, char** argv)
{
    soak::flags f(argc, argv, "zmtp-conns-soak [--connections N] [--in-flight K] [--target zmtp|libzmq|both]");
    long n = f.number("connections", 10'000);
    const int in_flight = static_cast<int>(f.number("in-flight", 32));
    const std::string target = f.text("target", "both");
    if (!f.all_known() || n <= 0 || in_flight <= 0)
        return 2;
    // Each process holds N sockets, and a few files of its own.
    const long limit = soak::raise_open_files();
    if (n > limit - 64) {
        std::printf("open-file limit %ld: %ld connections instead of %ld\n", limit, limit - 64, n);
        n = limit - 64;
    }
    expected = n;
    std::printf("connections: %ld raw NULL PUSH peers, %d handshakes at a time, one message each, into one "
                "PULL; load average %s\n",
                n, in_flight, soak::load_average().c_str());
    bool ok = true;
    if (target != "libzmq") {
        const result z = run(true, n, in_flight);
        print("zmtp", n, z);
        ok = z.delivered && z.refused == 0;
    }
    if (target != "zmtp")
        print("libzmq", n, run(false, n, in_flight));
    return ok ? 0 : 1;
}
