// SPDX-License-Identifier: MPL-2.0
// What the soak programs (churn_soak.cpp, conns_soak.cpp, pub_soak.cpp)
// share: a server in a child process whose memory is sampled, raw TCP
// peers that speak as much ZMTP as a scenario needs, and flag parsing.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace soak {

// A server forked off: `serve(out)` binds, writes its port to `out` with
// report_port(), may write one-byte notices to it afterwards, and serves
// until killed. `notices` is the parent's end of that pipe.
struct child {
    pid_t pid = -1;
    int port = 0;
    int notices = -1;
};
child spawn(const std::function<void(int out)>& serve);
void stop(child& c); // SIGKILL, reaped; closes `notices`
void report_port(int out, const std::string& bound_endpoint);
void notify(int out, char what);
// The next notice, or 0 when none came within `wait`.
char next_notice(const child& c, std::chrono::milliseconds wait);

double rss_mib(pid_t pid);
// The 1-minute load average, as /proc/loadavg prints it.
std::string load_average();
// Raises the open-file limit to its hard limit; returns the new soft limit.
long raise_open_files();

// Raw TCP to 127.0.0.1:port; -1 when refused. Reads time out after two
// seconds, so that a server that never answers stalls no caller. A
// receive buffer (bytes, 0: the system's) set before connecting bounds
// what a peer that never reads takes in.
int tcp_connect(int port, int receive_buffer = 0);
void send_all(int fd, std::string_view bytes);
// Reads exactly n bytes; false on end of stream, error or timeout.
bool read_exact(int fd, std::size_t n, std::string& out);

// A ZMTP 3.<minor> greeting naming `mechanism`, as a client.
std::string greeting(std::string_view mechanism, int minor = 1);
// A NULL client's handshake as Socket-Type `type` over ZMTP 3.<minor>:
// our greeting, the server's, then our READY and `then` (frames to send
// straight after it); with `await_ready`, the server's READY is read too.
// READY waits for the server's greeting: libzmq 4.3.4 fails a handshake
// whose READY came in with the greeting (ZMTP_UNEXPECTED_COMMAND).
bool null_handshake(int fd, std::string_view type, int minor, std::string_view then, bool await_ready);
// One data frame.
std::string data_frame(std::string_view body);

double median(std::vector<double> v);

// --name value pairs; anything else is a usage error.
class flags {
public:
    flags(int argc, char** argv, std::string usage);
    long number(std::string_view name, long fallback);
    std::string text(std::string_view name, std::string fallback);
    // After every lookup: false (usage printed) when a flag was unknown.
    bool all_known() const;

private:
    std::vector<std::pair<std::string, std::string>> given_;
    std::vector<std::string> known_;
    std::string usage_;
    bool well_formed_ = true;
};

} // namespace soak
