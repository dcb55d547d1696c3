// SPDX-License-Identifier: MPL-2.0
// Connection churn soak: a storm of connections that end before or during
// their handshake, of every kind a scanner or a hostile peer produces,
// against a bound REP socket of zmtp and then of libzmq, each in a child
// process whose resident memory is sampled. Memory is flat when the last
// sample (taken after the storm, once the server had a moment) is within
// 10 % of the one taken after warm-up.
//
//   zmtp-churn-soak [--cycles N] [--in-flight N] [--target zmtp|libzmq|both]
//                   [--kind 0..4]  (only connect/close, HTTP request, half
//                   greeting + FIN, partial greeting + RST, wrong mechanism)
//
// Exit status: 0 when zmtp's memory stayed flat and a good peer was served
// after the storm, 1 otherwise (libzmq's figures are for comparison).
#include "zmtp/socket.hpp"
#include "zmtp/wire/greeting.hpp"

#include <boost/asio/io_context.hpp>

#include <zmq.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct config {
    long cycles = 20'000;
    int in_flight = 32;
    std::string target = "both";
    int kind = -1; // one kind of cycle only (0..4), or all in turn
};

// ---------------------------------------------------------------- servers

// Runs in the child: binds an echoing REP on loopback, writes the port to
// `out`, then serves until killed.
[[noreturn]] void serve_zmtp(int out)
{
    boost::asio::io_context io;
    zmtp::socket rep(io, zmtp::socket_type::rep);
    const std::string bound = rep.bind("tcp://127.0.0.1:0");
    const int port = std::stoi(bound.substr(bound.rfind(':') + 1));
    if (::write(out, &port, sizeof port) != sizeof port)
        std::_Exit(2);
    std::function<void()> echo = [&] {
        rep.async_receive([&](zmtp::asio::error_code ec, zmtp::message m) {
            if (ec)
                return echo();
            rep.async_send(std::move(m), [&](zmtp::asio::error_code) { echo(); });
        });
    };
    echo();
    io.run();
    std::_Exit(0);
}

[[noreturn]] void serve_libzmq(int out)
{
    void* ctx = zmq_ctx_new();
    void* rep = zmq_socket(ctx, ZMQ_REP);
    if (zmq_bind(rep, "tcp://127.0.0.1:*") != 0)
        std::_Exit(2);
    char ep[256];
    size_t len = sizeof ep;
    zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, ep, &len);
    const std::string bound(ep);
    const int port = std::stoi(bound.substr(bound.rfind(':') + 1));
    if (::write(out, &port, sizeof port) != sizeof port)
        std::_Exit(2);
    char buf[256];
    for (;;) {
        const int n = zmq_recv(rep, buf, sizeof buf, 0);
        if (n >= 0)
            zmq_send(rep, buf, static_cast<size_t>(std::min<int>(n, sizeof buf)), 0);
    }
}

struct server {
    pid_t pid = -1;
    int port = 0;
};

server start_server(bool zmtp_side)
{
    int fds[2];
    if (::pipe(fds) != 0)
        std::exit(2);
    server s;
    s.pid = ::fork();
    if (s.pid == 0) {
        ::close(fds[0]);
        zmtp_side ? serve_zmtp(fds[1]) : serve_libzmq(fds[1]);
    }
    ::close(fds[1]);
    if (::read(fds[0], &s.port, sizeof s.port) != sizeof s.port)
        std::exit(2);
    ::close(fds[0]);
    return s;
}

void stop_server(const server& s)
{
    ::kill(s.pid, SIGKILL);
    int status = 0;
    ::waitpid(s.pid, &status, 0);
}

double rss_mib(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("VmRSS:"))
            return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

// ---------------------------------------------------------------- storm

int connect_to(int port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const timeval two_seconds{2, 0}; // a server that never answers stalls no worker
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::string greeting(std::string_view mechanism)
{
    zmtp::wire::greeting g;
    g.mechanism = std::string(mechanism);
    const auto bytes = zmtp::wire::encode_greeting(g);
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void send_all(int fd, std::string_view bytes)
{
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0)
            return;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

// One cycle of kind `k`: the connection ends before the handshake does.
void one_cycle(int port, long k, int only)
{
    const int fd = connect_to(port);
    if (fd < 0)
        return;
    static const std::string null_greeting = greeting("NULL");
    static const std::string plain_greeting = greeting("PLAIN");
    bool reset = false;
    switch (only >= 0 ? only : k % 5) {
    case 0: // connect and close
        break;
    case 1: // garbage: an HTTP request
        send_all(fd, "GET / HTTP/1.1\r\nHost: zmtp\r\n\r\n");
        break;
    case 2: // half a greeting, then FIN
        send_all(fd, std::string_view(null_greeting).substr(0, 32));
        break;
    case 3: // part of a greeting, then RST
        send_all(fd, std::string_view(null_greeting).substr(0, 11));
        reset = true;
        break;
    case 4: { // the wrong mechanism: the server refuses it
        send_all(fd, plain_greeting);
        char buf[64];
        (void)::recv(fd, buf, sizeof buf, 0);
        break;
    }
    }
    if (reset) {
        const linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd);
}

void storm(int port, long cycles, int in_flight, int only)
{
    std::atomic<long> next{0};
    std::vector<std::thread> workers;
    for (int i = 0; i < in_flight; ++i)
        workers.emplace_back([&] {
            for (long k; (k = next.fetch_add(1)) < cycles;)
                one_cycle(port, k, only);
        });
    for (auto& w : workers)
        w.join();
}

// A good peer after the storm: a libzmq REQ gets its echo within 10 s.
bool good_peer_served(int port)
{
    void* ctx = zmq_ctx_new();
    void* req = zmq_socket(ctx, ZMQ_REQ);
    const int wait_ms = 10'000, linger = 0;
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &wait_ms, sizeof wait_ms);
    zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
    const std::string ep = "tcp://127.0.0.1:" + std::to_string(port);
    zmq_connect(req, ep.c_str());
    char buf[32];
    const bool served = zmq_send(req, "after the storm", 15, 0) == 15 && zmq_recv(req, buf, sizeof buf, 0) == 15;
    zmq_close(req);
    zmq_ctx_term(ctx);
    return served;
}

struct result {
    double start = 0, warm = 0, peak = 0, last = 0;
    double cycles_per_s = 0;
    bool served = false;
    bool flat() const { return last <= warm * 1.10; }
};

result run(bool zmtp_side, const config& c)
{
    const server s = start_server(zmtp_side);
    std::this_thread::sleep_for(100ms);
    result r;
    r.start = rss_mib(s.pid);
    const long warm_up = std::max<long>(c.cycles / 10, 1);
    storm(s.port, warm_up, c.in_flight, c.kind);
    std::this_thread::sleep_for(200ms);
    r.warm = rss_mib(s.pid);

    std::atomic<bool> storming{true};
    std::thread sampler([&] {
        while (storming) {
            r.peak = std::max(r.peak, rss_mib(s.pid));
            std::this_thread::sleep_for(50ms);
        }
    });
    const auto t0 = std::chrono::steady_clock::now();
    storm(s.port, c.cycles - warm_up, c.in_flight, c.kind);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
    storming = false;
    sampler.join();
    r.cycles_per_s = static_cast<double>(c.cycles - warm_up) / std::max(took.count(), 1e-6);
    // A moment for connections that ended to be released (far below the
    // 10 s handshake deadline: what is still held then is held until it).
    std::this_thread::sleep_for(500ms);
    r.last = rss_mib(s.pid);
    r.peak = std::max(r.peak, r.last);
    r.served = good_peer_served(s.port);
    stop_server(s);
    return r;
}

void print(const char* name, const result& r)
{
    std::printf("%-7s RSS MiB: start %.1f, after warm-up %.1f, peak %.1f, last %.1f (%+.0f %%) "
                "%s; %.0f cycles/s; good peer after the storm: %s\n",
                name, r.start, r.warm, r.peak, r.last, (r.last / r.warm - 1) * 100,
                r.flat() ? "flat" : "NOT FLAT", r.cycles_per_s, r.served ? "served" : "NOT SERVED");
}

} // namespace

int main(int argc, char** argv)
{
    config c;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        if (flag == "--cycles")
            c.cycles = std::atol(argv[i + 1]);
        else if (flag == "--in-flight")
            c.in_flight = std::atoi(argv[i + 1]);
        else if (flag == "--kind")
            c.kind = std::atoi(argv[i + 1]);
        else if (flag == "--target")
            c.target = argv[i + 1];
        else {
            std::fprintf(stderr, "usage: %s [--cycles N] [--in-flight N] [--target zmtp|libzmq|both] [--kind 0..4]\n", argv[0]);
            return 2;
        }
    }
    std::printf("churn: %ld cycles, %d in flight, kinds: connect/close, HTTP request, half greeting + FIN, "
                "partial greeting + RST, wrong mechanism\n",
                c.cycles, c.in_flight);
    bool ok = true;
    if (c.target != "libzmq") {
        const result z = run(true, c);
        print("zmtp", z);
        ok = z.flat() && z.served;
    }
    if (c.target != "zmtp")
        print("libzmq", run(false, c));
    return ok ? 0 : 1;
}
