// SPDX-License-Identifier: MPL-2.0
// A libzmq socket driven through the C API, with bounded waits, for tests
// that put zmtp on one end of a connection and libzmq on the other.
#pragma once

#include <zmq.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace zmtp::test {

using frames = std::vector<std::string>;

class zmq_context {
public:
    zmq_context() : ctx_(zmq_ctx_new()) {}
    ~zmq_context() { zmq_ctx_term(ctx_); }
    zmq_context(const zmq_context&) = delete;
    zmq_context& operator=(const zmq_context&) = delete;
    void* get() const noexcept { return ctx_; }

private:
    void* ctx_;
};

class zmq_peer {
public:
    zmq_peer(zmq_context& ctx, int type, int timeout_ms = 5000)
        : sock_(zmq_socket(ctx.get(), type))
    {
        if (!sock_)
            throw std::runtime_error(std::string("zmq_socket: ") + zmq_strerror(zmq_errno()));
        set(ZMQ_LINGER, 0);
        set(ZMQ_RCVTIMEO, timeout_ms);
        set(ZMQ_SNDTIMEO, timeout_ms);
    }
    ~zmq_peer() { close(); }
    zmq_peer(const zmq_peer&) = delete;
    zmq_peer& operator=(const zmq_peer&) = delete;

    void close()
    {
        if (sock_)
            zmq_close(sock_);
        sock_ = nullptr;
    }

    void set(int option, int value)
    {
        if (zmq_setsockopt(sock_, option, &value, sizeof value) != 0)
            throw std::runtime_error(std::string("zmq_setsockopt: ") + zmq_strerror(zmq_errno()));
    }

    // Binds and returns the real endpoint (port 0 / * resolved).
    std::string bind(const std::string& endpoint)
    {
        if (zmq_bind(sock_, endpoint.c_str()) != 0)
            throw std::runtime_error("zmq_bind " + endpoint + ": " + zmq_strerror(zmq_errno()));
        char buf[256];
        std::size_t len = sizeof buf;
        zmq_getsockopt(sock_, ZMQ_LAST_ENDPOINT, buf, &len);
        return std::string(buf);
    }

    void connect(const std::string& endpoint)
    {
        if (zmq_connect(sock_, endpoint.c_str()) != 0)
            throw std::runtime_error("zmq_connect " + endpoint + ": " + zmq_strerror(zmq_errno()));
    }

    bool send(const frames& m)
    {
        for (std::size_t i = 0; i < m.size(); ++i) {
            const int flags = i + 1 < m.size() ? ZMQ_SNDMORE : 0;
            if (zmq_send(sock_, m[i].data(), m[i].size(), flags) < 0)
                return false;
        }
        return true;
    }

    // nullopt on timeout.
    std::optional<frames> recv()
    {
        frames out;
        for (;;) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, sock_, 0) < 0) {
                zmq_msg_close(&part);
                return std::nullopt;
            }
            out.emplace_back(static_cast<const char*>(zmq_msg_data(&part)), zmq_msg_size(&part));
            const bool more = zmq_msg_more(&part) != 0;
            zmq_msg_close(&part);
            if (!more)
                return out;
        }
    }

private:
    void* sock_;
};

} // namespace zmtp::test
