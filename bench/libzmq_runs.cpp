// SPDX-License-Identifier: MPL-2.0
// The scenarios over libzmq's C API, the usual way: one application
// thread per socket calling zmq_send / zmq_msg_recv, libzmq's I/O thread
// behind them. Every receive and send has a timeout, so no wait is
// unbounded.
#include "bench.hpp"
#include "curve.hpp"
#include "tls.hpp"
#include "waiting.hpp"

#include <zmq.h>

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

[[noreturn]] void zmq_failed(const char* what)
{
    throw std::runtime_error(std::string(what) + ": " + zmq_strerror(zmq_errno()));
}

void check(int rc, const char* what)
{
    if (rc < 0)
        zmq_failed(what);
}

int limit_ms()
{
    return static_cast<int>(run_limit.count());
}

// A context and its sockets, closed (linger 0) and terminated on scope exit.
class zmq_env {
public:
    zmq_env() : ctx_(zmq_ctx_new())
    {
        if (!ctx_)
            zmq_failed("zmq_ctx_new");
    }
    zmq_env(const zmq_env&) = delete;
    zmq_env& operator=(const zmq_env&) = delete;
    ~zmq_env()
    {
        for (void* s : sockets_)
            zmq_close(s);
        zmq_ctx_term(ctx_);
    }

    void* context() const { return ctx_; }

    void* make(int type)
    {
        void* s = zmq_socket(ctx_, type);
        if (!s)
            zmq_failed("zmq_socket");
        sockets_.push_back(s);
        const int zero = 0, ms = limit_ms();
        check(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero), "ZMQ_LINGER");
        check(zmq_setsockopt(s, ZMQ_RCVTIMEO, &ms, sizeof ms), "ZMQ_RCVTIMEO");
        check(zmq_setsockopt(s, ZMQ_SNDTIMEO, &ms, sizeof ms), "ZMQ_SNDTIMEO");
        return s;
    }

    // Closes one socket before the others (linger 0).
    void close(void* s)
    {
        sockets_.erase(std::find(sockets_.begin(), sockets_.end(), s));
        zmq_close(s);
    }

    // Binds and returns the endpoint really bound (with its port).
    static std::string bind(void* s, const std::string& ep)
    {
        check(zmq_bind(s, ep.c_str()), "zmq_bind");
        char buf[256];
        std::size_t len = sizeof buf;
        check(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, buf, &len), "ZMQ_LAST_ENDPOINT");
        return std::string(buf);
    }

private:
    void* ctx_;
    std::vector<void*> sockets_;
};

// Receives one whole message; returns its total size and frame count.
std::pair<std::size_t, std::size_t> receive(void* s, zmq_msg_t& part)
{
    std::size_t bytes = 0, frames = 0;
    for (;;) {
        if (zmq_msg_recv(&part, s, 0) < 0)
            zmq_failed("zmq_msg_recv");
        bytes += zmq_msg_size(&part);
        ++frames;
        if (!zmq_msg_more(&part))
            return {bytes, frames};
    }
}

void send(void* s, const std::byte* body, const std::vector<std::size_t>& sizes)
{
    std::size_t at = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const int flags = i + 1 < sizes.size() ? ZMQ_SNDMORE : 0;
        if (zmq_send(s, body + at, sizes[i], flags) < 0)
            zmq_failed("zmq_send");
        at += sizes[i];
    }
}

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
    // Every thread's calls time out after run_limit, so joining is bounded.
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
        zmq_msg_t part;
        zmq_msg_init(&part);
        for (std::size_t i = 0; i < total; ++i) {
            if (receive(pull, part).second != sizes.size())
                throw std::runtime_error("wrong frame count");
            if (i == 0)
                first = clock::now();
        }
        last = clock::now();
        zmq_msg_close(&part);
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

    for (std::size_t k = 0; k < subscribers; ++k) {
        threads.push_back(spawn(done, [&, k] {
            zmq_msg_t m;
            zmq_msg_init(&m);
            bool warm_seen = false;
            for (;;) {
                if (zmq_msg_recv(&m, subs[k], 0) < 0)
                    zmq_failed("zmq_msg_recv");
                const char kind = *static_cast<const char*>(zmq_msg_data(&m));
                if (kind == 'D') {
                    ++counts[k];
                } else if (kind == 'W' && !warm_seen) {
                    warm_seen = true;
                    ++warmed;
                } else if (kind == 'E') {
                    ends[k] = clock::now();
                    ++finished;
                    break;
                }
            }
            zmq_msg_close(&m);
        }));
    }

    threads.push_back(spawn(done, [&] {
        std::vector<std::byte> body(j.size, std::byte{0x5a});
        const std::vector<std::size_t> sizes{j.size};
        const auto deadline = clock::now() + run_limit;
        const auto send_until = [&](const std::atomic<std::size_t>& count, char kind) {
            body.at(0) = static_cast<std::byte>(kind);
            while (count < subscribers) {
                if (clock::now() > deadline)
                    throw std::runtime_error("subscribers did not answer");
                send(pub, body.data(), sizes);
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        };
        send_until(warmed, 'W');
        body.at(0) = static_cast<std::byte>('D');
        start = clock::now();
        for (std::size_t i = 0; i < j.messages; ++i)
            send(pub, body.data(), sizes);
        send_until(finished, 'E');
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
    set_rate(s, delivered, j.size, end - start);
    s.delivered_fraction = static_cast<double>(delivered) /
                           static_cast<double>(j.messages * subscribers);
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
