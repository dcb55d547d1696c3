// SPDX-License-Identifier: MPL-2.0
// A libzmq socket (C API, in process) as an `end` of the socket tests in
// ../support/socket_ends.hpp. Every call is bounded by ZMQ_RCVTIMEO /
// ZMQ_SNDTIMEO.
#pragma once

#include "libzmq_peer.hpp"
#include "socket_ends.hpp"

#include <zmq.h>

namespace zmtp::socket_test {

inline int zmq_type(socket_type t)
{
    switch (t) {
    case socket_type::pair: return ZMQ_PAIR;
    case socket_type::pub: return ZMQ_PUB;
    case socket_type::sub: return ZMQ_SUB;
    case socket_type::req: return ZMQ_REQ;
    case socket_type::rep: return ZMQ_REP;
    case socket_type::dealer: return ZMQ_DEALER;
    case socket_type::router: return ZMQ_ROUTER;
    case socket_type::pull: return ZMQ_PULL;
    case socket_type::push: return ZMQ_PUSH;
    case socket_type::xpub: return ZMQ_XPUB;
    case socket_type::xsub: return ZMQ_XSUB;
    default: return -1; // a draft type: Debian's libzmq has no draft API
    }
}

class zmq_end final : public end {
public:
    zmq_end(test::zmq_context& ctx, socket_type t, const std::string& routing_id = {})
        : type_(t), sock_(zmq_socket(ctx.get(), zmq_type(t)))
    {
        if (!sock_)
            throw std::runtime_error(std::string("zmq_socket: ") + zmq_strerror(zmq_errno()));
        set(ZMQ_LINGER, 0);
        set(ZMQ_SNDTIMEO, static_cast<int>(wait_limit.count()));
        if (!routing_id.empty())
            set(ZMQ_ROUTING_ID, routing_id);
    }
    ~zmq_end() override { close(); }
    zmq_end(const zmq_end&) = delete;
    zmq_end& operator=(const zmq_end&) = delete;

    void* handle() const noexcept { return sock_; }

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
    void set(int option, const std::string& value)
    {
        if (zmq_setsockopt(sock_, option, value.data(), value.size()) != 0)
            throw std::runtime_error(std::string("zmq_setsockopt: ") + zmq_strerror(zmq_errno()));
    }

    std::string bind(const std::string& transport) override
    {
        return bind_exactly(transport == "tcp" ? std::string("tcp://127.0.0.1:*") : ipc_endpoint());
    }

    std::string bind_exactly(const std::string& endpoint)
    {
        if (zmq_bind(sock_, endpoint.c_str()) != 0)
            throw std::runtime_error("zmq_bind " + endpoint + ": " + zmq_strerror(zmq_errno()));
        char buf[256];
        std::size_t len = sizeof buf;
        zmq_getsockopt(sock_, ZMQ_LAST_ENDPOINT, buf, &len);
        return std::string(buf);
    }

    void connect(const std::string& endpoint) override
    {
        if (zmq_connect(sock_, endpoint.c_str()) != 0)
            throw std::runtime_error("zmq_connect " + endpoint + ": " + zmq_strerror(zmq_errno()));
    }

    bool send(const frames& m) override
    {
        for (std::size_t i = 0; i < m.size(); ++i) {
            const int flags = i + 1 < m.size() ? ZMQ_SNDMORE : 0;
            if (zmq_send(sock_, m[i].data(), m[i].size(), flags) < 0)
                return false;
        }
        return true;
    }

    std::optional<frames> recv(std::chrono::milliseconds limit = wait_limit) override
    {
        set(ZMQ_RCVTIMEO, static_cast<int>(limit.count()));
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

    void subscribe(const std::string& topic, bool on) override
    {
        if (type_ == socket_type::xsub)
            REQUIRE(send({std::string(1, on ? '\x01' : '\x00') + topic}));
        else
            set(on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, topic);
    }

private:
    socket_type type_;
    void* sock_;
};

} // namespace zmtp::socket_test
