// SPDX-License-Identifier: MPL-2.0
// What the examples share: run a coroutine with a deadline, so that an
// example that cannot reach its peer fails with one line instead of hanging,
// and remember why the last connection attempt failed, for that line.
#pragma once

#include <zmtp/socket.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>

namespace examples {

namespace net = boost::asio;

// Runs `task` on `io` for at most `limit`, then stops everything else still
// running there (such as a service that loops forever). Returns the exit
// status: 0 when the task finished, 1 with a message on stderr otherwise.
template <class Task>
int run_with_deadline(net::io_context& io, Task task, std::chrono::seconds limit, const char* name,
                      const std::string* last_failure = nullptr)
{
    std::optional<std::exception_ptr> outcome;
    net::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
        outcome = e;
        io.stop();
    });
    io.run_for(limit);
    if (!outcome) {
        std::fprintf(stderr, "%s: no answer within %lld s%s%s\n", name,
                     static_cast<long long>(limit.count()),
                     last_failure && !last_failure->empty() ? "; last failure: " : "",
                     last_failure ? last_failure->c_str() : "");
        return 1;
    }
    if (*outcome) {
        try {
            std::rethrow_exception(*outcome);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", name, e.what());
        }
        return 1;
    }
    return 0;
}

// Keeps the reason of the latest failed connection attempt or handshake
// (a refused port, a TLS certificate that does not verify, a command that
// exited): the socket itself retries quietly, as libzmq does.
inline std::shared_ptr<std::string> record_failures(zmtp::socket& s)
{
    auto last = std::make_shared<std::string>();
    s.set_monitor([last](const zmtp::monitor_event& e) {
        if (e.type == zmtp::monitor_event_type::connect_retried ||
            e.type == zmtp::monitor_event_type::handshake_failed ||
            e.type == zmtp::monitor_event_type::disconnected)
            *last = e.reason.empty() ? e.error.message() : e.reason;
    });
    return last;
}

} // namespace examples
