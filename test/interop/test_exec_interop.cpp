// SPDX-License-Identifier: MPL-2.0
// exec: against libzmq: a zmtp socket speaks through socat, run as its
// exec: child, to a libzmq socket, in both roles (zmtp PUSH to libzmq
// PULL, libzmq PUSH to zmtp PULL), with libzmq binding (socat connects
// over tcp or ipc) and with libzmq connecting (socat listens on ipc).
// This program does not ignore SIGPIPE: a child's pipe must not raise it.
#include "socket_libzmq_end.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_type;
using zmtp::test::zmq_context;

std::string socat_to(const std::string& endpoint)
{
    if (endpoint.starts_with("tcp://"))
        return "exec:socat - TCP:" + endpoint.substr(6);
    return "exec:socat - UNIX-CONNECT:" + endpoint.substr(6);
}

// libzmq's ipc listener and a socat ended by a signal leave their socket
// files behind.
void remove_socket_file(const std::string& endpoint)
{
    if (endpoint.starts_with("ipc://"))
        ::unlink(endpoint.substr(6).c_str());
}

// The pids of the exec: children a socket started, from its monitor.
class children {
public:
    explicit children(zmtp_end& e)
    {
        on(e.socket(), [&] {
            e.socket().set_monitor([shared = shared_](const zmtp::monitor_event& ev) {
                if (ev.type != zmtp::monitor_event_type::connected)
                    return;
                const auto at = ev.peer.rfind("(pid ");
                if (at == std::string::npos)
                    return;
                std::lock_guard lock(shared->mutex);
                shared->pids.push_back(static_cast<pid_t>(std::stol(ev.peer.substr(at + 5))));
            });
        });
    }

    std::vector<pid_t> pids()
    {
        std::lock_guard lock(shared_->mutex);
        return shared_->pids;
    }

    // Every child reaped (kill(pid, 0) fails only once the zombie is gone).
    bool all_reaped()
    {
        return eventually([&] {
            for (pid_t p : pids())
                if (!(::kill(p, 0) == -1 && errno == ESRCH))
                    return false;
            return true;
        });
    }

private:
    struct state {
        std::mutex mutex;
        std::vector<pid_t> pids;
    };
    std::shared_ptr<state> shared_ = std::make_shared<state>();
};

TEST_CASE("exec: zmtp PUSH through socat to a bound libzmq PULL, over tcp and ipc")
{
    for (const std::string transport : {"tcp", "ipc"}) {
        CAPTURE(transport);
        zmq_context ctx;
        zmq_end pull(ctx, socket_type::pull);
        const std::string endpoint = pull.bind(transport);
        io_thread iot;
        {
            zmtp_end push(iot.io, socket_type::push);
            children started(push);
            push.connect(socat_to(endpoint));
            one_way(push, pull);
            CHECK(started.pids().size() == 1);
            push.socket().close();
            CHECK(started.all_reaped());
        }
        remove_socket_file(endpoint);
    }
}

TEST_CASE("exec: libzmq PUSH, bound, through socat to a zmtp PULL, over tcp and ipc")
{
    for (const std::string transport : {"tcp", "ipc"}) {
        CAPTURE(transport);
        zmq_context ctx;
        zmq_end push(ctx, socket_type::push);
        io_thread iot;
        zmtp_end pull(iot.io, socket_type::pull);
        children started(pull);
        const std::string endpoint = push.bind(transport);
        pull.connect(socat_to(endpoint));
        one_way(push, pull);
        pull.socket().close();
        CHECK(started.all_reaped());
        remove_socket_file(endpoint);
    }
}

TEST_CASE("exec: socat listens for a connecting libzmq peer, in both roles")
{
    for (const bool zmtp_sends : {true, false}) {
        CAPTURE(zmtp_sends);
        zmq_context ctx;
        zmq_end libzmq(ctx, zmtp_sends ? socket_type::pull : socket_type::push);
        io_thread iot;
        zmtp_end ours(iot.io, zmtp_sends ? socket_type::push : socket_type::pull);
        children started(ours);
        const std::string endpoint = ipc_endpoint();
        // unlink-early: a socket file some earlier process left at this path
        // must not stop socat from listening.
        ours.connect("exec:socat - UNIX-LISTEN:" + endpoint.substr(6) + ",unlink-early");
        libzmq.connect(endpoint); // libzmq retries until socat listens
        if (zmtp_sends)
            one_way(ours, libzmq);
        else
            one_way(libzmq, ours);
        ours.socket().close();
        CHECK(started.all_reaped());
        remove_socket_file(endpoint);
    }
}

} // namespace
