// SPDX-License-Identifier: MPL-2.0
// libzmq's C API as both libzmq arrangements of zmtp-bench use it: a
// context with its sockets, and whole-message send and receive. No socket
// has a send or receive timeout (libzmq's own perf tools set none); a run
// that hangs is killed by its parent process (zmtp_bench.cpp).
#pragma once

#include "bench.hpp"
#include "waiting.hpp"

#include <zmq.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

[[noreturn]] inline void zmq_failed(const char* what)
{
    throw std::runtime_error(std::string(what) + ": " + zmq_strerror(zmq_errno()));
}

inline void check(int rc, const char* what)
{
    if (rc < 0)
        zmq_failed(what);
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
        const int zero = 0;
        check(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero), "ZMQ_LINGER");
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

// Receives one whole message into the reused `part`; returns its total
// size and frame count.
inline std::pair<std::size_t, std::size_t> receive(void* s, zmq_msg_t& part)
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

inline void send(void* s, const std::byte* body, const std::vector<std::size_t>& sizes)
{
    std::size_t at = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const int flags = i + 1 < sizes.size() ? ZMQ_SNDMORE : 0;
        if (zmq_send(s, body + at, sizes[i], flags) < 0)
            zmq_failed("zmq_send");
        at += sizes[i];
    }
}

// A publisher that blocks at the HWM instead of dropping: every message
// reaches every subscriber (ZMQ_XPUB_NODROP, which PUB honours too).
inline void no_drop(void* pub)
{
    const int one = 1;
    check(zmq_setsockopt(pub, ZMQ_XPUB_NODROP, &one, sizeof one), "ZMQ_XPUB_NODROP");
}

// A reused zmq_msg_t, closed on scope exit.
class zmq_part {
public:
    zmq_part() { zmq_msg_init(&m_); }
    zmq_part(const zmq_part&) = delete;
    zmq_part& operator=(const zmq_part&) = delete;
    ~zmq_part() { zmq_msg_close(&m_); }
    zmq_msg_t& get() { return m_; }

private:
    zmq_msg_t m_;
};

// A subscriber of the fan-out runs, where a message's first byte says what
// it is: W(arm-up), D(ata), E(nd). Counts D; calls on_warm() at the first
// W; returns the count at E.
template <class F> std::size_t subscribe_loop(void* sub, F on_warm)
{
    zmq_part m;
    std::size_t count = 0;
    bool warm_seen = false;
    for (;;) {
        if (zmq_msg_recv(&m.get(), sub, 0) < 0)
            zmq_failed("zmq_msg_recv");
        const char kind = *static_cast<const char*>(zmq_msg_data(&m.get()));
        if (kind == 'D') {
            ++count;
        } else if (kind == 'W' && !warm_seen) {
            warm_seen = true;
            on_warm();
        } else if (kind == 'E') {
            return count;
        }
    }
}

// The fan-out runs' publisher: W every millisecond until warmed() says
// every subscriber saw one, then j.messages D, then E until finished().
// Returns when the first D went out.
template <class W, class E> clock::time_point publish_loop(void* pub, const job& j, W warmed, E finished)
{
    std::vector<std::byte> body(std::max<std::size_t>(j.size, 1), std::byte{0x5a});
    const std::vector<std::size_t> sizes{body.size()};
    const auto deadline = clock::now() + run_limit;
    const auto send_until = [&](auto done, char kind) {
        body.at(0) = static_cast<std::byte>(kind);
        while (!done()) {
            if (clock::now() > deadline)
                throw std::runtime_error("subscribers did not answer");
            send(pub, body.data(), sizes);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    };
    send_until(warmed, 'W');
    body.at(0) = static_cast<std::byte>('D');
    const auto start = clock::now();
    for (std::size_t i = 0; i < j.messages; ++i)
        send(pub, body.data(), sizes);
    send_until(finished, 'E');
    return start;
}

} // namespace bench
