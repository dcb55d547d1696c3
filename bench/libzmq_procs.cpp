// SPDX-License-Identifier: MPL-2.0
// The scenarios over libzmq's C API the way libzmq's own perf tools run
// them (local_thr / remote_thr, local_lat / remote_lat): every peer in a
// process of its own with a context of its own, zmq_msg_t reused on
// receive, no timeouts. The measuring peer is this process; the others
// are peer_processes, forked before this process makes its context.
#include "bench.hpp"
#include "peer_process.hpp"
#include "zmq_env.hpp"

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

// Waits for the measuring side's "done" (or its end), so that linger 0
// does not cut off what is still queued.
void until_done(int fd)
{
    char c = 0;
    read_all(fd, &c, 1);
}

sample throughput(const job& j)
{
    const auto sizes = frame_sizes(j);
    const std::size_t total = j.messages + 1; // the first message starts the clock
    peer_process sender([&](int fd) {
        zmq_env env;
        void* push = env.make(ZMQ_PUSH);
        check(zmq_connect(push, read_line(fd).c_str()), "zmq_connect");
        const std::vector<std::byte> body(j.size, std::byte{0x5a});
        for (std::size_t i = 0; i < total; ++i)
            send(push, body.data(), sizes);
        until_done(fd);
    });

    zmq_env env;
    void* pull = env.make(ZMQ_PULL);
    write_line(sender.fd(), zmq_env::bind(pull, endpoint(j, "zmq")));
    zmq_part part;
    clock::time_point first{};
    for (std::size_t i = 0; i < total; ++i) {
        if (receive(pull, part.get()).second != sizes.size())
            throw std::runtime_error("wrong frame count");
        if (i == 0)
            first = clock::now();
    }
    const auto last = clock::now();
    write_all(sender.fd(), "d", 1);
    sender.finish();
    sample s;
    set_rate(s, j.messages, j.size, last - first);
    return s;
}

sample latency(const job& j)
{
    const std::size_t warm = std::max<std::size_t>(j.messages / 10, 10);
    const std::size_t total = warm + j.messages;
    peer_process echo([&](int fd) {
        zmq_env env;
        void* rep = env.make(ZMQ_REP);
        write_line(fd, zmq_env::bind(rep, endpoint(j, "zmq-rep")));
        zmq_part m;
        for (std::size_t i = 0; i < total; ++i) {
            if (zmq_msg_recv(&m.get(), rep, 0) < 0)
                zmq_failed("zmq_msg_recv");
            if (zmq_msg_send(&m.get(), rep, 0) < 0) // hands the bytes back without a copy
                zmq_failed("zmq_msg_send");
        }
        until_done(fd);
    });

    zmq_env env;
    void* req = env.make(ZMQ_REQ);
    check(zmq_connect(req, read_line(echo.fd()).c_str()), "zmq_connect");
    const std::vector<std::byte> body(j.size, std::byte{0x5a});
    const std::vector<std::size_t> sizes{j.size};
    std::vector<double> rtt;
    rtt.reserve(j.messages);
    zmq_part reply;
    for (std::size_t i = 0; i < total; ++i) {
        const auto t0 = clock::now();
        send(req, body.data(), sizes);
        const std::size_t got = receive(req, reply.get()).first;
        const auto t1 = clock::now();
        if (got != j.size)
            throw std::runtime_error("wrong reply size");
        if (i >= warm)
            rtt.push_back(seconds(t1 - t0) * 1e6);
    }
    write_all(echo.fd(), "d", 1);
    echo.finish();
    sample s;
    set_latency(s, rtt);
    return s;
}

// What a subscriber process reports at the end.
struct sub_result {
    std::size_t count = 0;
    clock::rep end = 0; // steady_clock is CLOCK_MONOTONIC: the same in every process
};

sample fan_out(const job& j)
{
    std::array<std::unique_ptr<peer_process>, subscribers> subs;
    for (auto& p : subs)
        p = std::make_unique<peer_process>([&](int fd) {
            zmq_env env;
            void* sub = env.make(ZMQ_SUB);
            check(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), "ZMQ_SUBSCRIBE");
            check(zmq_connect(sub, read_line(fd).c_str()), "zmq_connect");
            sub_result r;
            r.count = subscribe_loop(sub, [&] { write_all(fd, "w", 1); });
            r.end = clock::now().time_since_epoch().count();
            write_all(fd, &r, sizeof r);
            until_done(fd);
        });

    zmq_env env;
    void* pub = env.make(ZMQ_PUB);
    no_drop(pub);
    const std::string ep = zmq_env::bind(pub, endpoint(j, "zmq-pub"));
    for (auto& p : subs)
        write_line(p->fd(), ep);

    std::array<bool, subscribers> warm{}, ended{};
    std::array<sub_result, subscribers> results{};
    // True once every subscriber has sent what `seen` marks.
    const auto all = [&](std::array<bool, subscribers>& seen, auto take) {
        bool every = true;
        for (std::size_t k = 0; k < subscribers; ++k) {
            if (!seen[k] && readable(subs[k]->fd())) {
                take(k);
                seen[k] = true;
            }
            every = every && seen[k];
        }
        return every;
    };
    const auto start = publish_loop(
        pub, j,
        [&] {
            return all(warm, [&](std::size_t k) {
                char c = 0;
                read_all(subs[k]->fd(), &c, 1);
            });
        },
        [&] {
            return all(ended, [&](std::size_t k) {
                read_all(subs[k]->fd(), &results[k], sizeof results[k]);
            });
        });

    std::size_t delivered = 0;
    clock::time_point end = start;
    for (std::size_t k = 0; k < subscribers; ++k) {
        write_all(subs[k]->fd(), "d", 1);
        subs[k]->finish();
        delivered += results[k].count;
        end = std::max(end, clock::time_point(clock::duration(results[k].end)));
    }
    sample s;
    set_fan_out(s, j, delivered, end - start);
    return s;
}

} // namespace

sample run_libzmq_procs(const job& j)
{
    switch (j.what) {
    case scenario::push_pull:
    case scenario::multipart: return throughput(j);
    case scenario::req_rep: return latency(j);
    case scenario::pub_sub: return fan_out(j);
    case scenario::idle_memory:
    case scenario::handshake: break;
    }
    throw std::logic_error("no process-per-peer run for this scenario");
}

} // namespace bench
