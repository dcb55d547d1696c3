// SPDX-License-Identifier: MPL-2.0
// zmtp-bench: what one measured run is asked to do and what it reports.
//
// Every run (one implementation, one scenario, one repetition) executes in
// a child process of its own, so that its peak RSS is its own and a hung
// run can be killed; a run's result travels back as a plain `sample`.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace bench {

enum class scenario {
    push_pull,   // one-way throughput, single-frame messages
    multipart,   // one-way throughput, three-frame messages
    req_rep,     // round-trip latency
    pub_sub,     // one publisher, four subscribers
    idle_memory, // memory held per idle connection
    handshake,   // connections per second: connect, handshake, one message, close
};

// tls_tcp: zmtp over tls+tcp://; libzmq through a pair of stunnels.
// inproc: both sockets in one process (zmtp: a memory_stream pair; libzmq:
// its own inproc pipes, in one context).
enum class transport { tcp, ipc, tls_tcp, inproc };

// The security mechanism of both ends.
enum class mechanism { null, curve };

// zmtp: application loops as users write them (co_await async_send /
// async_receive); zmtp_try: the same taking try_send / try_receive first.
// libzmq: both peers in one process and context; libzmq_procs: a process
// and context per peer, as libzmq's perf tools run; ratios use the faster.
// zmtp_tcp: zmtp over plain tcp, what zmtp over TLS is compared with;
// zmtp_null: zmtp with the NULL mechanism, what zmtp with CURVE is;
// zmtp_ipc: zmtp over ipc, what zmtp over inproc is.
enum class impl { zmtp, zmtp_try, libzmq, libzmq_procs, floor, zmtp_tcp, zmtp_null, zmtp_ipc };

struct job {
    scenario what = scenario::push_pull;
    transport via = transport::tcp;
    std::size_t size = 0;     // bytes per message (all frames together)
    std::size_t frames = 1;   // frames per message
    std::size_t messages = 0; // messages (round trips, connections) to measure
    std::string dir;          // fresh directory for ipc endpoints (and tls/: certificates)
    int seq = 0;              // makes endpoint names unique
    mechanism mech = mechanism::null;
    std::chrono::milliseconds duration{0}; // handshake: how long to keep connecting
    bool try_first = false;   // zmtp: try_send / try_receive before waiting
};

// Plain data: written through a pipe by the child process.
struct sample {
    bool ok = false;
    double msgs_per_s = -1;
    double mb_per_s = -1;
    double p50_us = -1;
    double p99_us = -1;
    double peak_rss_kb = -1;       // idle_memory: peak RSS growth per connection
    double delivered_fraction = -1; // pub_sub: delivered / (messages * subscribers)
    char error[160] = {};
};

inline constexpr std::size_t subscribers = 4;

// One run, inside the current process.
sample run_zmtp(const job& j);
sample run_libzmq(const job& j);
sample run_libzmq_procs(const job& j);
sample run_floor(const job& j);

// ---- helpers shared by the implementations (common.cpp) ----

using clock = std::chrono::steady_clock;

inline double seconds(clock::duration d)
{
    return std::chrono::duration<double>(d).count();
}

// Fills msgs_per_s and mb_per_s for `messages` of `size` bytes in `elapsed`.
void set_rate(sample& s, std::size_t messages, std::size_t size, clock::duration elapsed);
// Fills the rate and delivered_fraction of a fan-out run: `delivered`
// messages summed over the subscribers, of j.messages to each.
void set_fan_out(sample& s, const job& j, std::size_t delivered, clock::duration elapsed);
// Fills p50_us and p99_us from round-trip times (sorted in place).
void set_latency(sample& s, std::vector<double>& round_trips_us);
// The process's peak resident set so far, in KiB (with `children`: plus
// that of its largest waited-for child, the other peer of a run).
long peak_rss_kb(bool children = false);
// The endpoint of a job's listener: tcp://127.0.0.1:0, ipc://DIR/NAME,
// tls+tcp://127.0.0.1:0 or inproc://NAME.
std::string endpoint(const job& j, const char* name);
void fail(sample& s, const std::string& why);
// The body of frame `i` of a message of job `j` (frames split the size).
std::vector<std::size_t> frame_sizes(const job& j);

} // namespace bench
