// SPDX-License-Identifier: MPL-2.0
// A peer of a run in a process of its own, as libzmq's perf tools run
// each end (local_thr / remote_thr): forked before the run makes any
// context or thread, killed with its parent, and talking to it over a
// socketpair for set-up only (endpoints, "ready", "done", results).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>

namespace bench {

class peer_process {
public:
    // Runs `body(fd)` in a child process; `fd` is the child's end of the pair.
    explicit peer_process(const std::function<void(int)>& body);
    peer_process(const peer_process&) = delete;
    peer_process& operator=(const peer_process&) = delete;
    ~peer_process(); // kills the child if finish() was not called

    int fd() const { return fd_; }

    // Waits (within the run limit) for the child to exit; throws with its
    // error if it failed.
    void finish();

private:
    pid_t pid_ = -1;
    int fd_ = -1;
    int error_fd_ = -1; // the child's error text, if any
};

// Set-up messages over a peer's socketpair; every read is bounded by the
// run limit and throws when it is past or the other side is gone.
void write_all(int fd, const void* data, std::size_t n);
void read_all(int fd, void* data, std::size_t n);
void write_line(int fd, const std::string& line);
std::string read_line(int fd);
// True when `fd` has something to read now.
bool readable(int fd);

} // namespace bench
