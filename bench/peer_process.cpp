// SPDX-License-Identifier: MPL-2.0
#include "peer_process.hpp"

#include "waiting.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace bench {
namespace {

[[noreturn]] void sys_failed(const char* what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

// Waits for `fd` to become readable by `deadline`; false when it did not.
bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline)
{
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        const int r = poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0)));
        if (r > 0)
            return true;
        if (r == 0)
            return false;
        if (errno != EINTR)
            sys_failed("poll");
    }
}

} // namespace

peer_process::peer_process(const std::function<void(int)>& body)
{
    int pair[2], err[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
        sys_failed("socketpair");
    if (pipe2(err, O_CLOEXEC) < 0)
        sys_failed("pipe");
    const pid_t parent = getpid();
    std::fflush(stdout);
    std::fflush(stderr);
    pid_ = fork();
    if (pid_ < 0)
        sys_failed("fork");
    if (pid_ == 0) {
        close(pair[0]);
        close(err[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(3);
        int code = 0;
        try {
            body(pair[1]);
        } catch (const std::exception& e) {
            const std::size_t n = std::strlen(e.what());
            [[maybe_unused]] const ssize_t w = write(err[1], e.what(), n);
            code = 1;
        }
        _exit(code);
    }
    close(pair[1]);
    close(err[1]);
    fd_ = pair[0];
    error_fd_ = err[0];
}

peer_process::~peer_process()
{
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    close(fd_);
    close(error_fd_);
}

void peer_process::finish()
{
    const auto deadline = std::chrono::steady_clock::now() + run_limit;
    int status = 0;
    for (;;) {
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_)
            break;
        if (r < 0 && errno != EINTR)
            sys_failed("waitpid");
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("peer process did not finish");
        usleep(1000);
    }
    pid_ = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    char why[160] = {};
    const ssize_t n = read(error_fd_, why, sizeof why - 1);
    throw std::runtime_error(std::string("peer process: ") +
                             (n > 0 ? why : "exited abnormally"));
}

void write_all(int fd, const void* data, std::size_t n)
{
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            sys_failed("write to peer");
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

void read_all(int fd, void* data, std::size_t n)
{
    const auto deadline = std::chrono::steady_clock::now() + run_limit;
    char* p = static_cast<char*>(data);
    while (n > 0) {
        if (!wait_readable(fd, deadline))
            throw std::runtime_error("peer did not answer");
        const ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            throw std::runtime_error("peer gone");
        p += r;
        n -= static_cast<std::size_t>(r);
    }
}

void write_line(int fd, const std::string& line)
{
    write_all(fd, (line + "\n").data(), line.size() + 1);
}

std::string read_line(int fd)
{
    std::string line;
    for (char c = 0;;) {
        read_all(fd, &c, 1);
        if (c == '\n')
            return line;
        line += c;
    }
}

bool readable(int fd)
{
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

} // namespace bench
