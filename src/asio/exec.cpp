// SPDX-License-Identifier: MPL-2.0
#include "exec.hpp"

#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

extern char** environ;

namespace zmtp::asio::detail {
namespace {

// waitpid found nothing to collect: SIGCHLD is ignored (the kernel reaped
// the child) or someone else collected it. Never a real wait status.
constexpr int status_unknown = -1;

constexpr std::chrono::milliseconds longest_poll{20};

[[noreturn]] void fail(int err, const char* what)
{
    throw boost::system::system_error(error_code(err, boost::system::system_category()), what);
}

void check(int err, const char* what)
{
    if (err != 0)
        fail(err, what);
}

// Above stdin, stdout and stderr: the child's dup2 onto 0 and 1 must never
// be a dup2 onto itself, which would leave the descriptor close-on-exec.
unique_fd above_stdio(unique_fd fd)
{
    if (fd.get() > STDERR_FILENO)
        return fd;
    unique_fd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
    if (moved.get() < 0)
        fail(errno, "cannot move a pipe above stderr");
    return moved;
}

struct pipe_ends {
    unique_fd read;
    unique_fd write;
};

pipe_ends make_pipe()
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        fail(errno, "cannot make a pipe");
    pipe_ends p{unique_fd(fds[0]), unique_fd(fds[1])};
    p.read = above_stdio(std::move(p.read));
    p.write = above_stdio(std::move(p.write));
    return p;
}

struct spawn_actions {
    spawn_actions() { check(::posix_spawn_file_actions_init(&actions), "posix_spawn"); }
    ~spawn_actions() { ::posix_spawn_file_actions_destroy(&actions); }
    spawn_actions(const spawn_actions&) = delete;
    spawn_actions& operator=(const spawn_actions&) = delete;
    posix_spawn_file_actions_t actions;
};

struct spawn_attributes {
    spawn_attributes() { check(::posix_spawnattr_init(&attributes), "posix_spawn"); }
    ~spawn_attributes() { ::posix_spawnattr_destroy(&attributes); }
    spawn_attributes(const spawn_attributes&) = delete;
    spawn_attributes& operator=(const spawn_attributes&) = delete;
    posix_spawnattr_t attributes;
};

pid_t spawn_shell(const std::string& command, int child_stdin, int child_stdout)
{
    spawn_actions a;
    check(::posix_spawn_file_actions_adddup2(&a.actions, child_stdin, STDIN_FILENO), "posix_spawn");
    check(::posix_spawn_file_actions_adddup2(&a.actions, child_stdout, STDOUT_FILENO), "posix_spawn");
    // Whatever else the program has open (sockets, listeners, other
    // children's pipes, descriptors without O_CLOEXEC) stays out of it.
    check(::posix_spawn_file_actions_addclosefrom_np(&a.actions, STDERR_FILENO + 1), "posix_spawn");

    // The child starts with no signal blocked, so that SIGTERM reaches it,
    // and SIGPIPE at its default even if this program ignores it.
    spawn_attributes s;
    sigset_t none;
    sigset_t pipe_signal;
    ::sigemptyset(&none);
    ::sigemptyset(&pipe_signal);
    ::sigaddset(&pipe_signal, SIGPIPE);
    check(::posix_spawnattr_setsigmask(&s.attributes, &none), "posix_spawn");
    check(::posix_spawnattr_setsigdefault(&s.attributes, &pipe_signal), "posix_spawn");
    check(::posix_spawnattr_setflags(&s.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
          "posix_spawn");

    std::string name = "sh";
    std::string flag = "-c";
    std::string text = command;
    char* argv[] = {name.data(), flag.data(), text.data(), nullptr};
    pid_t pid = 0;
    check(::posix_spawn(&pid, "/bin/sh", &a.actions, &s.attributes, argv, environ),
          "cannot start /bin/sh");
    return pid;
}

net::posix::stream_descriptor watched(const net::any_io_executor& ex, unique_fd& fd)
{
    net::posix::stream_descriptor d(ex);
    error_code ec;
    d.assign(fd.get(), ec);
    if (ec)
        throw boost::system::system_error(ec, "cannot watch a pipe");
    fd.release();
    return d;
}

} // namespace

void unique_fd::reset() noexcept
{
    if (fd_ >= 0)
        ::close(std::exchange(fd_, -1));
}

child_process::child_process(const net::any_io_executor& ex, pid_t pid) : timer_(ex), pid_(pid) {}

child_process::~child_process()
{
    if (status_)
        return;
    ::kill(pid_, SIGKILL);
    int ignored = 0;
    while (::waitpid(pid_, &ignored, 0) < 0 && errno == EINTR) {
    }
}

bool child_process::try_reap()
{
    if (status_)
        return true;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return false;
    status_ = r == pid_ ? status : status_unknown;
    return true;
}

void child_process::end()
{
    if (std::exchange(ending_, true))
        return;
    if (try_reap())
        return tell_waiters();
    next_signal_ = std::chrono::steady_clock::now() + grace;
    watch();
}

void child_process::watch()
{
    timer_.expires_after(interval_);
    interval_ = std::min(interval_ * 2, longest_poll);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (ec)
            return;
        if (self->try_reap())
            return self->tell_waiters();
        // Until reaped, pid_ is still this child's: no other process can
        // have been given it.
        if (self->signals_sent_ < 2 && std::chrono::steady_clock::now() >= self->next_signal_) {
            ::kill(self->pid_, self->signals_sent_++ == 0 ? SIGTERM : SIGKILL);
            self->next_signal_ = std::chrono::steady_clock::now() + grace;
        }
        self->watch();
    });
}

void child_process::on_reaped(std::function<void(int)> f)
{
    waiters_.push_back(std::move(f));
    if (status_)
        tell_waiters();
}

void child_process::tell_waiters()
{
    for (auto& f : std::exchange(waiters_, {}))
        net::post(timer_.get_executor(), [f = std::move(f), s = *status_] { f(s); });
}

exec_stream start_command(const net::any_io_executor& ex, const std::string& command)
{
    pipe_ends in = make_pipe();
    pipe_ends out = make_pipe();
    auto child = std::make_shared<child_process>(ex, spawn_shell(command, in.read.get(), out.write.get()));
    // From here on an exception ends the child through ~child_process.
    out.write.reset(); // its stdout ends when the child's copies close
    auto from_child = watched(ex, out.read);
    auto to_child = watched(ex, in.write);
    return exec_stream(exec_stream::base(std::move(from_child), std::move(to_child)), std::move(in.read),
                       std::move(child));
}

std::string describe_exit(int wait_status)
{
    if (WIFEXITED(wait_status)) {
        const int code = WEXITSTATUS(wait_status);
        std::string text = "exited with status " + std::to_string(code);
        if (code == 127)
            text += " (command not found)";
        else if (code == 126)
            text += " (command cannot be executed)";
        return text;
    }
    if (WIFSIGNALED(wait_status)) {
        const int sig = WTERMSIG(wait_status);
        const char* name = ::sigabbrev_np(sig);
        return "was killed by signal " + std::to_string(sig) +
               (name ? " (SIG" + std::string(name) + ")" : std::string());
    }
    return "ended (its exit status was collected elsewhere)";
}

error_code exit_error(int wait_status)
{
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 127)
        return make_error_code(boost::system::errc::no_such_file_or_directory);
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 126)
        return make_error_code(boost::system::errc::permission_denied);
    return to_error_code(error::connection_closed);
}

} // namespace zmtp::asio::detail
