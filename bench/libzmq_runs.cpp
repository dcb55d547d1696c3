// SPDX-License-Identifier: MPL-2.0
// The scenarios over libzmq's C API with both peers in one process and one
// context: one application thread per socket calling zmq_send /
// zmq_msg_recv (into a reused zmq_msg_t), libzmq's I/O thread behind them.
// The arrangement with a process per peer is libzmq_procs.cpp.
#include "bench.hpp"
#include "curve.hpp"
#include "tls.hpp"
#include "waiting.hpp"
#include "zmq_env.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bench {
namespace {

// Runs `f` on a thread; its exception, if any, is kept in `done`.
template <class F> std::thread spawn(countdown& done, F f)
{
    return std::thread([&done, f = std::move(f)]() mutable {
        try {
            f();
            done.finish();
        } catch (...) {
            done.finish(std::current_exception());
        }
    });
}

sample join_all(countdown& done, std::vector<std::thread>& threads)
{
    sample s;
    // A thread that never returns is ended with the run's process.
    for (auto& t : threads)
        t.join();
    if (auto e = done.error(); !e.empty())
        fail(s, e);
    else
        s.ok = true;
    return s;
}

sample throughput(const job& j)
{
    zmq_env env;
    void* pull = env.make(ZMQ_PULL);
    void* push = env.make(ZMQ_PUSH);
    if (j.mech == mechanism::curve) {
        const curve_keys keys;
        curve_server(pull, keys);
        curve_client(push, keys);
    }
    const bool tls = j.via == transport::tls_tcp;
    const std::string bound = zmq_env::bind(pull, tls ? "tcp://127.0.0.1:0" : endpoint(j, "zmq"));
    // Declared after env, so the stunnels end before libzmq does.
    std::optional<stunnel_pair> tunnel;
    if (tls)
        tunnel.emplace(j, bound);
    check(zmq_connect(push, (tunnel ? tunnel->entry() : bound).c_str()), "zmq_connect");

    const auto sizes = frame_sizes(j);
    const std::vector<std::byte> body(j.size, std::byte{0x5a});
    const std::size_t total = j.messages + 1; // the first message starts the clock
    clock::time_point first{}, last{};
    countdown done(2);
    std::vector<std::thread> threads;

    threads.push_back(spawn(done, [&] {
        zmq_part part;
        for (std::size_t i = 0; i < total; ++i) {
            if (receive(pull, part.get()).second != sizes.size())
                throw std::runtime_error("wrong frame count");
            if (i == 0)
                first = clock::now();
        }
        last = clock::now();
    }));
    threads.push_back(spawn(done, [&] {
        for (std::size_t i = 0; i < total; ++i)
            send(push, body.data(), sizes);
    }));

    sample s = join_all(done, threads);
    if (s.ok)
        set_rate(s, j.messages, j.size, last - first);
    return s;
}

sample latency(const job& j)
{
    zmq_env env;
    void* rep = env.make(ZMQ_REP);
    void* req = env.make(ZMQ_REQ);
    check(zmq_connect(req, zmq_env::bind(rep, endpoint(j, "zmq-rep")).c_str()), "zmq_connect");

    const std::vector<std::byte> body(j.size, std::byte{0x5a});
    const std::vector<std::size_t> sizes{j.size};
    const std::size_t warm = std::max<std::size_t>(j.messages / 10, 10);
    const std::size_t total = warm + j.messages;
    std::vector<double> rtt;
    rtt.reserve(j.messages);
    countdown done(2);
    std::vector<std::thread> threads;

    threads.push_back(spawn(done, [&] {
        zmq_msg_t m;
        zmq_msg_init(&m);
        for (std::size_t i = 0; i < total; ++i) {
            if (zmq_msg_recv(&m, rep, 0) < 0)
                zmq_failed("zmq_msg_recv");
            if (zmq_msg_send(&m, rep, 0) < 0) // hands the bytes back without a copy
                zmq_failed("zmq_msg_send");
        }
        zmq_msg_close(&m);
    }));
    threads.push_back(spawn(done, [&] {
        zmq_msg_t reply;
        zmq_msg_init(&reply);
        for (std::size_t i = 0; i < total; ++i) {
            const auto t0 = clock::now();
            send(req, body.data(), sizes);
            const std::size_t got = receive(req, reply).first;
            const auto t1 = clock::now();
            if (got != j.size)
                throw std::runtime_error("wrong reply size");
            if (i >= warm)
                rtt.push_back(seconds(t1 - t0) * 1e6);
        }
        zmq_msg_close(&reply);
    }));

    sample s = join_all(done, threads);
    if (s.ok)
        set_latency(s, rtt);
    return s;
}

sample fan_out(const job& j)
{
    zmq_env env;
    void* pub = env.make(ZMQ_PUB);
    no_drop(pub);
    const std::string ep = zmq_env::bind(pub, endpoint(j, "zmq-pub"));
    std::array<void*, subscribers> subs{};
    for (auto& sub : subs) {
        sub = env.make(ZMQ_SUB);
        check(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), "ZMQ_SUBSCRIBE");
        check(zmq_connect(sub, ep.c_str()), "zmq_connect");
    }

    std::atomic<std::size_t> warmed{0}, finished{0};
    std::array<std::size_t, subscribers> counts{};
    std::array<clock::time_point, subscribers> ends{};
    clock::time_point start{};
    countdown done(static_cast<int>(subscribers) + 1);
    std::vector<std::thread> threads;

    for (std::size_t k = 0; k < subscribers; ++k)
        threads.push_back(spawn(done, [&, k] {
            counts[k] = subscribe_loop(subs[k], [&] { ++warmed; });
            ends[k] = clock::now();
            ++finished;
        }));
    threads.push_back(spawn(done, [&] {
        start = publish_loop(
            pub, j, [&] { return warmed == subscribers; },
            [&] { return finished == subscribers; });
    }));

    sample s = join_all(done, threads);
    if (!s.ok)
        return s;
    std::size_t delivered = 0;
    clock::time_point end = start;
    for (std::size_t k = 0; k < subscribers; ++k) {
        delivered += counts[k];
        end = std::max(end, ends[k]);
    }
    set_fan_out(s, j, delivered, end - start);
    return s;
}

sample idle_memory(const job& j)
{
    zmq_env env;
    const int max_sockets = static_cast<int>(j.messages) + 64;
    check(zmq_ctx_set(env.context(), ZMQ_MAX_SOCKETS, max_sockets), "ZMQ_MAX_SOCKETS");
    void* pull = env.make(ZMQ_PULL);
    // libzmq's listen backlog is 100 by default: 1000 connections at once
    // then wait seconds for SYN retransmissions. This run is about memory.
    const int backlog = static_cast<int>(j.messages);
    check(zmq_setsockopt(pull, ZMQ_BACKLOG, &backlog, sizeof backlog), "ZMQ_BACKLOG");
    const std::string ep = zmq_env::bind(pull, endpoint(j, "zmq-idle"));
    const long before = peak_rss_kb();

    const char one = 'W';
    for (std::size_t i = 0; i < j.messages; ++i) {
        void* push = env.make(ZMQ_PUSH);
        check(zmq_connect(push, ep.c_str()), "zmq_connect");
        // One message each, so that every connection is seen to be up.
        if (zmq_send(push, &one, 1, 0) < 0)
            zmq_failed("zmq_send");
    }
    zmq_msg_t m;
    zmq_msg_init(&m);
    for (std::size_t i = 0; i < j.messages; ++i)
        if (zmq_msg_recv(&m, pull, 0) < 0)
            zmq_failed("zmq_msg_recv");
    zmq_msg_close(&m);
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // let the connections go idle
    const long after = peak_rss_kb();

    sample s;
    s.ok = true;
    s.peak_rss_kb = static_cast<double>(after - before) / static_cast<double>(j.messages);
    return s;
}

// A fresh PUSH socket connects to the PULL server, completes its handshake
// and delivers one message, then closes; again and again for j.duration.
sample handshakes(const job& j)
{
    zmq_env env;
    void* pull = env.make(ZMQ_PULL);
    const curve_keys keys;
    if (j.mech == mechanism::curve)
        curve_server(pull, keys);
    const std::string ep = zmq_env::bind(pull, endpoint(j, "zmq-hs"));

    zmq_msg_t m;
    zmq_msg_init(&m);
    std::size_t count = 0;
    const auto start = clock::now();
    clock::time_point end;
    do {
        void* push = env.make(ZMQ_PUSH);
        if (j.mech == mechanism::curve)
            curve_client(push, keys);
        check(zmq_connect(push, ep.c_str()), "zmq_connect");
        if (zmq_send(push, "H", 1, 0) < 0)
            zmq_failed("zmq_send");
        if (zmq_msg_recv(&m, pull, 0) < 0)
            zmq_failed("zmq_msg_recv");
        env.close(push);
        ++count;
        end = clock::now();
    } while (end - start < j.duration);
    zmq_msg_close(&m);

    sample s;
    set_rate(s, count, 0, end - start);
    return s;
}

} // namespace

sample run_libzmq(const job& j)
{
    switch (j.what) {
    case scenario::push_pull:
    case scenario::multipart: return throughput(j);
    case scenario::req_rep: return latency(j);
    case scenario::pub_sub: return fan_out(j);
    case scenario::idle_memory: return idle_memory(j);
    case scenario::handshake: return handshakes(j);
    }
    throw std::logic_error("unknown scenario");
}

} // namespace bench
