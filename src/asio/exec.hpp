// SPDX-License-Identifier: MPL-2.0
// exec:COMMAND endpoints: `/bin/sh -c COMMAND` as a child process whose
// stdin and stdout carry the connection, and whose stderr is ours.
//
// The child lives exactly as long as the connection: closing or destroying
// its exec_stream ends it (child_process::end) and reaps it, so that no
// zombie is left whichever way the connection went.
#pragma once

#include "zmtp/asio/duplex_stream.hpp"
#include "zmtp/asio/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace zmtp::asio::detail {

namespace net = boost::asio;

// A started child. Its end is asked for politely first: once our ends of
// its pipes are closed it has `grace` to exit on its own (a relay such as
// socat or ssh forwards what it still holds and exits on EOF), then gets
// SIGTERM, and SIGKILL after another `grace`.
class child_process : public std::enable_shared_from_this<child_process> {
public:
    static constexpr std::chrono::milliseconds grace{500};

    child_process(const net::any_io_executor& ex, pid_t pid);
    // Not reaped yet (the io_context went away first): SIGKILL and reap.
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const noexcept { return pid_; }

    // Starts ending the child, if it is not already over; idempotent.
    void end();
    // Calls `f` with how the child ended once it is reaped (posted at once
    // if it already is). On the executor given at construction.
    void on_reaped(std::function<void(int wait_status)> f);

private:
    // Collects the child's status if it has ended; true once it has.
    bool try_reap();
    // While the child runs: polls for its end, with SIGTERM and SIGKILL
    // at their times.
    void watch();
    void tell_waiters();

    net::steady_timer timer_;
    pid_t pid_;
    std::optional<int> status_; // once reaped
    std::chrono::steady_clock::time_point next_signal_;
    int signals_sent_ = 0; // SIGTERM, then SIGKILL
    std::chrono::milliseconds interval_{1};
    bool ending_ = false;
    std::vector<std::function<void(int)>> waiters_;
};

// A descriptor closed when this goes.
class unique_fd {
public:
    explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
    unique_fd& operator=(unique_fd&& other) noexcept
    {
        if (this != &other) {
            reset();
            fd_ = other.release();
        }
        return *this;
    }
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset() noexcept;

private:
    int fd_;
};

// The connection's stream: the child's stdout to read, its stdin to write.
class exec_stream
    : public duplex_stream<net::posix::stream_descriptor, net::posix::stream_descriptor> {
public:
    using base = duplex_stream<net::posix::stream_descriptor, net::posix::stream_descriptor>;

    exec_stream(base pipes, unique_fd stdin_reader, std::shared_ptr<child_process> child)
        : base(std::move(pipes)), stdin_reader_(std::move(stdin_reader)), child_(std::move(child))
    {
    }
    exec_stream(exec_stream&&) = default;
    exec_stream& operator=(exec_stream&&) = delete;
    ~exec_stream()
    {
        if (child_)
            child_->end();
    }

    const std::shared_ptr<child_process>& child() const noexcept { return child_; }

    void close(error_code& ec)
    {
        base::close(ec);
        stdin_reader_.reset();
        if (child_)
            child_->end();
    }

private:
    // Our own copy of the read end of the child's stdin: a write after the
    // child has gone lands in the pipe's buffer instead of raising SIGPIPE
    // (which ends a program that does not ignore it). That the child has
    // gone shows as the end of its stdout.
    unique_fd stdin_reader_;
    std::shared_ptr<child_process> child_;
};

// Runs `/bin/sh -c command` with pipes for its stdin and stdout, every
// other descriptor but stderr closed, and SIGPIPE at its default. The
// stream's descriptors and the child's timer use `ex`.
// Throws boost::system::system_error when the child cannot be started.
exec_stream start_command(const net::any_io_executor& ex, const std::string& command);

// How a child ended, for monitor reasons: "exited with status 1",
// "was killed by signal 15 (Terminated)"; status 127 and 126 (the shell's
// "not found" and "cannot execute") say so.
std::string describe_exit(int wait_status);
// The error a child's end is reported with: the shell could not find or
// run the command (127, 126: no_such_file_or_directory, permission_denied),
// or else the connection simply closed.
error_code exit_error(int wait_status);

} // namespace zmtp::asio::detail
