// SPDX-License-Identifier: MPL-2.0
// A publisher beside peers that stop reading: a PUB bound by zmtp, then by
// libzmq, each in a child process, publishes R messages a second to 10
// libzmq SUBs that read and to raw TCP subscribers that never do.
//
//   --scenario slow       one subscriber that never reads (nor closes) all
//                         run long; no heartbeats. The readers' rate and
//                         the publisher's memory must stay steady.
//   --scenario half-open  heartbeats on; every --every ms a new subscriber
//                         goes silent (never reads, never answers PING,
//                         never closes). The publisher must drop each at
//                         the heartbeat timeout, its memory stay bounded.
//
//   zmtp-pub-soak [--scenario slow|half-open] [--seconds S] [--rate R]
//                 [--size BYTES] [--heartbeat-ivl MS] [--heartbeat-timeout MS]
//                 [--every MS] [--silent-zmtp 3.0|3.1] [--target zmtp|libzmq|both]
//
// Memory is flat when the last RSS sample is within 10 % of the one after
// warm-up (the first fifth of the run, at least 1 s), and bounded when it
// grew by less than the queues' limit allows: 1 KiB (a generous size for
// a queued message of up to 256 B) times the send HWM (1000) per
// subscriber. A reader that falls behind on a loaded machine fills its
// queue, so that memory may grow without being unbounded. Exit status: 0
// when zmtp's memory stayed bounded, every reader received in every
// second, and (half-open) every silent subscriber was dropped; 1 otherwise
// (libzmq's figures are for comparison). Rates and flatness are reported,
// not asserted: the machine may be shared.
#include "soak.hpp"

#include "zmtp/socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <zmq.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

struct config {
    std::string scenario = "slow";
    long seconds = 60;
    long rate = 20'000;
    long size = 100;
    ms heartbeat_ivl{0}, heartbeat_timeout{0};
    ms every{1000};
    // ZMTP 3.<minor> for the silent subscribers: libzmq PINGs a 3.0 peer
    // too; zmtp sends it none (RFC 23 has no PING) and drops it when it
    // reads nothing of what waits for it for the heartbeat timeout.
    int silent_minor = 1;
    std::string target = "both";
    bool half_open() const { return scenario == "half-open"; }
};

config cfg; // set before the server is forked
constexpr int readers = 10;
constexpr ms tick{10};
constexpr double queue_limit_mib = (readers + 1) * 1000 / 1024.0;

// Messages due since `start` at the configured rate, less those sent.
long due(clock_type::time_point start, long sent)
{
    const auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    return static_cast<long>(elapsed * static_cast<double>(cfg.rate)) - sent;
}

// Run in the child: publishes at the rate; says 'h' for each peer that
// completed its handshake and 'd' for each that went away.
void serve_zmtp(int out)
{
    boost::asio::io_context io;
    zmtp::socket pub(io, zmtp::socket_type::pub);
    pub.options().heartbeat.interval = cfg.heartbeat_ivl;
    pub.options().heartbeat.timeout = cfg.heartbeat_timeout;
    pub.set_monitor([out](const zmtp::monitor_event& e) {
        if (e.type == zmtp::monitor_event_type::handshake_succeeded)
            soak::notify(out, 'h');
        else if (e.type == zmtp::monitor_event_type::disconnected)
            soak::notify(out, 'd');
    });
    soak::report_port(out, pub.bind("tcp://127.0.0.1:0"));
    const std::string body(static_cast<std::size_t>(cfg.size), 'm');
    const auto start = clock_type::now();
    long sent = 0;
    boost::asio::steady_timer timer(io);
    std::function<void()> publish = [&] {
        for (long n = due(start, sent); n > 0; --n, ++sent) {
            zmtp::message m{zmtp::frame(std::string_view(body))};
            (void)pub.try_send(m); // a PUB drops for a subscriber at its HWM
        }
        timer.expires_after(tick);
        timer.async_wait([&](zmtp::asio::error_code) { publish(); });
    };
    publish();
    io.run();
}

void serve_libzmq(int out)
{
    void* ctx = zmq_ctx_new();
    void* pub = zmq_socket(ctx, ZMQ_PUB);
    const int ivl = static_cast<int>(cfg.heartbeat_ivl.count());
    const int timeout = static_cast<int>(cfg.heartbeat_timeout.count());
    zmq_setsockopt(pub, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(pub, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    zmq_socket_monitor(pub, "inproc://monitor", ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED);
    void* monitor = zmq_socket(ctx, ZMQ_PAIR);
    zmq_connect(monitor, "inproc://monitor");
    if (zmq_bind(pub, "tcp://127.0.0.1:*") != 0)
        std::_Exit(2);
    char ep[256];
    size_t len = sizeof ep;
    zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, ep, &len);
    soak::report_port(out, ep);
    const std::string body(static_cast<std::size_t>(cfg.size), 'm');
    const auto start = clock_type::now();
    for (long sent = 0;;) {
        zmq_pollitem_t item{monitor, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, tick.count()) == 1) {
            unsigned char event[6];
            char address[256];
            if (zmq_recv(monitor, event, sizeof event, 0) == 6 && zmq_recv(monitor, address, sizeof address, 0) >= 0)
                soak::notify(out, (event[0] | event[1] << 8) == ZMQ_EVENT_DISCONNECTED ? 'd' : 'h');
        }
        for (long n = due(start, sent); n > 0; --n, ++sent)
            zmq_send(pub, body.data(), body.size(), ZMQ_DONTWAIT);
    }
}

// A subscriber to everything that reads nothing after the server's
// greeting: a NULL SUB whose subscription is the data frame 0x01, with a
// small receive buffer.
int silent_subscriber(int port)
{
    const int fd = soak::tcp_connect(port, 4096);
    if (fd >= 0)
        soak::null_handshake(fd, "SUB", cfg.silent_minor, soak::data_frame("\x01"), false);
    return fd;
}

struct result {
    double warm = 0, peak = 0, last = 0; // publisher RSS, MiB
    std::vector<double> rates;           // per reader, one a second after warm-up
    bool every_second = true;            // every reader received in every second
    long silent = 0, dropped = 0;        // half-open: subscribers gone silent, dropped
    std::vector<double> drop_after;      // half-open: seconds from silence to drop
    bool flat() const { return last <= warm * 1.10; }
    bool bounded() const { return last - warm <= queue_limit_mib; }
    bool ok() const { return bounded() && every_second && dropped == silent; }
};

result run(bool zmtp_side)
{
    soak::child s = soak::spawn(zmtp_side ? serve_zmtp : serve_libzmq);
    result r;
    std::vector<clock_type::time_point> silent_since, dropped_at;
    std::mutex m;
    std::atomic<bool> running{true}, listening{true};
    // The server's notices, timed as they come.
    std::thread notices([&] {
        while (listening)
            if (soak::next_notice(s, 100ms) == 'd') {
                const std::lock_guard lock(m);
                dropped_at.push_back(clock_type::now());
            }
    });
    void* ctx = zmq_ctx_new();
    std::vector<std::atomic<long>> received(readers);
    std::vector<std::thread> reader_threads;
    const std::string ep = "tcp://127.0.0.1:" + std::to_string(s.port);
    for (int i = 0; i < readers; ++i)
        reader_threads.emplace_back([&, i] {
            void* sub = zmq_socket(ctx, ZMQ_SUB);
            const int wait = 100, linger = 0;
            zmq_setsockopt(sub, ZMQ_RCVTIMEO, &wait, sizeof wait);
            zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
            zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
            zmq_connect(sub, ep.c_str());
            char buf[256];
            while (running)
                if (zmq_recv(sub, buf, sizeof buf, 0) >= 0)
                    ++received[static_cast<std::size_t>(i)];
            zmq_close(sub);
        });
    std::vector<int> silent_fds;
    const auto add_silent = [&] {
        silent_fds.push_back(silent_subscriber(s.port));
        const std::lock_guard lock(m);
        silent_since.push_back(clock_type::now());
    };
    if (!cfg.half_open())
        add_silent();

    const auto start = clock_type::now();
    const auto warm_up = std::max(1s, std::chrono::seconds(cfg.seconds) / 5);
    auto next_silent = start;
    auto next_second = start + warm_up;
    std::vector<long> last_counts(readers);
    bool warmed = false;
    while (clock_type::now() < start + std::chrono::seconds(cfg.seconds)) {
        std::this_thread::sleep_for(50ms);
        const auto now = clock_type::now();
        if (cfg.half_open() && now >= next_silent) {
            add_silent();
            next_silent += cfg.every;
        }
        r.peak = std::max(r.peak, soak::rss_mib(s.pid));
        if (now < next_second)
            continue;
        if (!warmed)
            r.warm = soak::rss_mib(s.pid);
        for (int i = 0; i < readers; ++i) {
            const long count = received[static_cast<std::size_t>(i)];
            if (warmed) {
                r.rates.push_back(static_cast<double>(count - last_counts[static_cast<std::size_t>(i)]));
                r.every_second = r.every_second && count > last_counts[static_cast<std::size_t>(i)];
            }
            last_counts[static_cast<std::size_t>(i)] = count;
        }
        warmed = true;
        next_second += 1s;
    }
    r.last = soak::rss_mib(s.pid);
    r.peak = std::max(r.peak, r.last);
    if (cfg.half_open()) {
        // A guard for the last silent subscribers' heartbeat timeouts.
        const auto guard = clock_type::now() + 10 * (cfg.heartbeat_ivl + cfg.heartbeat_timeout) + 2s;
        for (;;) {
            {
                const std::lock_guard lock(m);
                if (dropped_at.size() >= silent_since.size() || clock_type::now() > guard)
                    break;
            }
            std::this_thread::sleep_for(50ms);
        }
    }
    listening = false; // before the readers leave, which the server reports too
    notices.join();
    running = false;
    for (auto& t : reader_threads)
        t.join();
    zmq_ctx_term(ctx);
    soak::stop(s);
    for (const int fd : silent_fds)
        if (fd >= 0)
            ::close(fd);
    if (!cfg.half_open())
        return r; // the slow subscriber is meant to stay
    r.silent = static_cast<long>(silent_since.size());
    r.dropped = static_cast<long>(dropped_at.size());
    // Silent subscribers come one at a time, far apart next to the timeout:
    // the k-th drop is the k-th subscriber's.
    for (std::size_t k = 0; k < std::min(silent_since.size(), dropped_at.size()); ++k)
        r.drop_after.push_back(std::chrono::duration<double>(dropped_at[k] - silent_since[k]).count());
    return r;
}

void print(const char* name, const result& r)
{
    const auto [lo, hi] = std::minmax_element(r.rates.begin(), r.rates.end());
    std::printf("%-7s reader msg/s: median %.0f, min %.0f, max %.0f over %zu reader-seconds, %s; "
                "publisher RSS MiB: after warm-up %.1f, peak %.1f, last %.1f (%+.0f %%) %s, %s\n",
                name, soak::median(r.rates), r.rates.empty() ? 0 : *lo, r.rates.empty() ? 0 : *hi,
                r.rates.size(), r.every_second ? "every reader every second" : "SOME SECOND WITHOUT A MESSAGE",
                r.warm, r.peak, r.last, (r.last / r.warm - 1) * 100, r.flat() ? "flat" : "not flat",
                r.bounded() ? "bounded" : "NOT BOUNDED");
    if (cfg.half_open()) {
        const double worst = r.drop_after.empty() ? 0 : *std::max_element(r.drop_after.begin(), r.drop_after.end());
        std::printf("%-7s silent subscribers: %ld, dropped %ld, after median %.2f s, max %.2f s "
                    "(heartbeat interval + timeout: %.2f s)\n",
                    name, r.silent, r.dropped, soak::median(r.drop_after), worst,
                    std::chrono::duration<double>(cfg.heartbeat_ivl + cfg.heartbeat_timeout).count());
    }
}

} // namespace

int main(int argc, char** argv)
{
    soak::flags f(argc, argv,
                  "zmtp-pub-soak [--scenario slow|half-open] [--seconds S] [--rate R] [--size BYTES] "
                  "[--heartbeat-ivl MS] [--heartbeat-timeout MS] [--every MS] [--silent-zmtp 3.0|3.1] "
                  "[--target zmtp|libzmq|both]");
    cfg.scenario = f.text("scenario", cfg.scenario);
    cfg.seconds = f.number("seconds", cfg.seconds);
    cfg.rate = f.number("rate", cfg.rate);
    cfg.size = f.number("size", cfg.size);
    const long hb_default = cfg.half_open() ? 1000 : 0;
    cfg.heartbeat_ivl = ms(f.number("heartbeat-ivl", hb_default));
    cfg.heartbeat_timeout = ms(f.number("heartbeat-timeout", 3 * hb_default));
    cfg.every = ms(f.number("every", cfg.every.count()));
    cfg.silent_minor = f.text("silent-zmtp", "3.1") == "3.0" ? 0 : 1;
    cfg.target = f.text("target", cfg.target);
    if (!f.all_known() || (cfg.scenario != "slow" && !cfg.half_open()) || cfg.seconds < 2 || cfg.rate <= 0 ||
        cfg.size < 0 || cfg.size > 256 || cfg.every <= ms(0))
        return 2;
    if (cfg.half_open() && cfg.heartbeat_ivl <= ms(0)) {
        std::fprintf(stderr, "zmtp-pub-soak: half-open needs heartbeats (--heartbeat-ivl)\n");
        return 2;
    }
    std::printf("pub %s: %ld s, %ld msg/s of %ld B to %d reading SUBs and %s; heartbeats %lld/%lld ms; "
                "load average %s\n",
                cfg.scenario.c_str(), cfg.seconds, cfg.rate, cfg.size, readers,
                cfg.half_open() ? "a new silent subscriber every --every ms" : "one that never reads",
                static_cast<long long>(cfg.heartbeat_ivl.count()),
                static_cast<long long>(cfg.heartbeat_timeout.count()), soak::load_average().c_str());
    bool ok = true;
    if (cfg.target != "libzmq") {
        const result z = run(true);
        print("zmtp", z);
        ok = z.ok();
    }
    if (cfg.target != "zmtp")
        print("libzmq", run(false));
    return ok ? 0 : 1;
}
