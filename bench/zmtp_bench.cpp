// SPDX-License-Identifier: MPL-2.0
// zmtp-bench: zmtp against libzmq and against the physical floor (plain
// blocking sockets), in the same run, interleaved, medians of several
// repetitions.
//
//   zmtp-bench [--reps N] [--quick] [--only SCENARIO] [--impl NAME]
//              [--size BYTES] [--transport tcp|ipc|tls+tcp|inproc] [--mechanism null|curve]
//              [--busy N] [--no-fork]
//
// --busy N runs N CPU-bound threads (in a process of their own) beside
// every run: the machines zmtp runs on are rarely idle. --no-fork runs
// everything in this process (for profilers; libzmq-procs still forks its
// peers); then nothing bounds a run that hangs.
//
// Each run executes in a child process (fork) so that its peak RSS is its
// own and a run that hangs is killed after its time limit. Prints one JSON
// line per result, then a table of medians and a table of ratios. Exits
// non-zero when a scenario produced no number.
#include "bench.hpp"
#include "peer_process.hpp"
#include "report.hpp"
#include "tls.hpp"
#include "waiting.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace bench {
namespace {

sample run_here(impl which, const job& j)
{
    sample s;
    try {
        switch (which) {
        case impl::zmtp: s = run_zmtp(j); break;
        case impl::zmtp_try: {
            job fast = j;
            fast.try_first = true;
            s = run_zmtp(fast);
            break;
        }
        case impl::libzmq: s = run_libzmq(j); break;
        case impl::libzmq_procs: s = run_libzmq_procs(j); break;
        case impl::floor: s = run_floor(j); break;
        // The baselines of the zmtp-try rows, on the same fast path.
        case impl::zmtp_tcp: {
            job plain = j;
            plain.try_first = true;
            plain.via = transport::tcp;
            s = run_zmtp(plain);
            break;
        }
        case impl::zmtp_null: {
            job plain = j;
            plain.try_first = true;
            plain.mech = mechanism::null;
            s = run_zmtp(plain);
            break;
        }
        case impl::zmtp_ipc: {
            job over_ipc = j;
            over_ipc.try_first = true;
            over_ipc.via = transport::ipc;
            s = run_zmtp(over_ipc);
            break;
        }
        }
    } catch (const std::exception& e) {
        fail(s, e.what());
    }
    if (s.ok && j.what != scenario::idle_memory)
        s.peak_rss_kb = static_cast<double>(peak_rss_kb(which == impl::libzmq_procs));
    return s;
}

// Runs one job in a child process; kills it once the run limit is past.
sample run_child(impl which, const job& j)
{
    int fds[2];
    if (pipe(fds) < 0)
        throw std::runtime_error("pipe failed");
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        close(fds[0]);
        const sample s = run_here(which, j);
        const char* p = reinterpret_cast<const char*>(&s);
        std::size_t left = sizeof s;
        while (left > 0) {
            const ssize_t n = write(fds[1], p, left);
            if (n <= 0)
                _exit(2);
            p += n;
            left -= static_cast<std::size_t>(n);
        }
        _exit(0);
    }
    close(fds[1]);

    sample s;
    const auto deadline = clock::now() + run_limit + std::chrono::seconds(5);
    std::size_t got = 0;
    char* to = reinterpret_cast<char*>(&s);
    while (got < sizeof s) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0)
            break;
        pollfd pfd{fds[0], POLLIN, 0};
        const int r = poll(&pfd, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        const ssize_t n = read(fds[0], to + got, sizeof s - got);
        if (n <= 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    close(fds[0]);

    // Reap the child; kill it if it does not leave by the deadline.
    int status = 0;
    for (;;) {
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            break;
        if (clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        usleep(1000);
    }
    if (got < sizeof s) {
        s = sample{};
        fail(s, got == 0 && clock::now() > deadline ? "killed after the time limit"
                                                    : "child process failed");
    }
    return s;
}

// N threads that only compute, until `fd` reads (or reaches its end).
void spin(int n, int fd)
{
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
        threads.emplace_back([&stop] {
            volatile std::uint64_t x = 1;
            while (!stop.load(std::memory_order_relaxed))
                x = x * 6364136223846793005u + 1442695040888963407u;
        });
    char c = 0;
    while (read(fd, &c, 1) < 0 && errno == EINTR) {
    }
    stop = true;
    for (auto& t : threads)
        t.join();
}

struct options {
    int reps = 5;
    bool quick = false;
    bool fork = true;
    std::string only;
    std::string impl_name;
    long size = -1;
    std::string via;
    std::string mech;
    int busy = 0;
};

[[noreturn]] void usage(int code)
{
    std::fprintf(code ? stderr : stdout,
                 "usage: zmtp-bench [--reps N] [--quick] [--only SCENARIO] "
                 "[--impl zmtp|zmtp-try|libzmq|libzmq-procs|floor|zmtp-tcp|zmtp-null|zmtp-ipc]\n"
                 "       [--size BYTES] "
                 "[--transport tcp|ipc|tls+tcp|inproc] [--mechanism null|curve] "
                 "[--busy N] [--no-fork]\n"
                 "scenarios: push_pull push_pull_3frame req_rep pub_sub_4 idle_memory "
                 "handshake\n");
    std::exit(code);
}

options parse(int argc, char** argv)
{
    options o;
    bool reps_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usage(2);
            return argv[++i];
        };
        if (a == "--reps") {
            o.reps = std::atoi(value().c_str());
            reps_given = true;
            if (o.reps < 1)
                usage(2);
        } else if (a == "--quick") {
            o.quick = true;
        } else if (a == "--only") {
            o.only = value();
        } else if (a == "--impl") {
            o.impl_name = value();
        } else if (a == "--size") {
            o.size = std::atol(value().c_str());
        } else if (a == "--transport") {
            o.via = value();
        } else if (a == "--mechanism") {
            o.mech = value();
        } else if (a == "--busy") {
            o.busy = std::atoi(value().c_str());
            if (o.busy < 0)
                usage(2);
        } else if (a == "--no-fork") {
            o.fork = false;
        } else if (a == "--help" || a == "-h") {
            usage(0);
        } else {
            usage(2);
        }
    }
    if (o.quick && !reps_given)
        o.reps = 1;
    return o;
}

std::vector<bench_case> plan(const options& o)
{
    // Both zmtp styles, both libzmq arrangements, the floor.
    const std::vector<impl> all{impl::zmtp, impl::zmtp_try, impl::libzmq, impl::libzmq_procs,
                                impl::floor};
    const std::vector<impl> no_floor{impl::zmtp, impl::zmtp_try, impl::libzmq,
                                     impl::libzmq_procs};
    const std::vector<impl> one_process{impl::zmtp, impl::libzmq};
    std::vector<bench_case> cases;
    // Message counts for runs of roughly 0.3-1 s each.
    const std::pair<std::size_t, std::size_t> sizes[] = {
        {1, 2'000'000}, {16, 2'000'000}, {256, 1'000'000},
        {4096, 200'000}, {65536, 20'000}, {1048576, 1'000}};
    for (transport via : {transport::tcp, transport::ipc})
        for (const auto& sz : sizes)
            cases.push_back({scenario::push_pull, via, sz.first, 1, sz.second, all, {}});
    // inproc: zmtp against libzmq's inproc, which hands over message
    // pointers, and against zmtp over ipc (what leaving out the kernel gains).
    const std::vector<impl> inproc{impl::zmtp, impl::zmtp_try, impl::libzmq, impl::zmtp_ipc};
    for (const auto& sz : sizes)
        cases.push_back({scenario::push_pull, transport::inproc, sz.first, 1, sz.second, inproc, {}});
    cases.push_back({scenario::multipart, transport::tcp, 3 * 64, 3, 1'000'000, all, {}});
    cases.push_back({scenario::req_rep, transport::tcp, 1, 1, 40'000, all, {}});
    cases.push_back({scenario::req_rep, transport::tcp, 1024, 1, 40'000, all, {}});
    cases.push_back({scenario::pub_sub, transport::tcp, 64, 1, 1'000'000, no_floor, {}});
    cases.push_back({scenario::idle_memory, transport::tcp, 0, 1, 1000, one_process, {}});
    // TLS: zmtp over tls+tcp against libzmq through two stunnels, and
    // against zmtp over plain tcp (what TLS costs).
    const std::vector<impl> tls{impl::zmtp, impl::zmtp_try, impl::libzmq, impl::zmtp_tcp};
    const std::pair<std::size_t, std::size_t> tls_sizes[] = {
        {16, 1'000'000}, {256, 500'000}, {4096, 100'000}, {65536, 10'000}, {1048576, 500}};
    for (const auto& sz : tls_sizes)
        cases.push_back({scenario::push_pull, transport::tls_tcp, sz.first, 1, sz.second, tls, {}});
    // CURVE: zmtp against libzmq, both with CURVE, and against zmtp with
    // NULL (what the encryption costs); then connections per second.
    const std::vector<impl> curve{impl::zmtp, impl::zmtp_try, impl::libzmq, impl::zmtp_null};
    for (const auto& sz : {std::pair<std::size_t, std::size_t>{64, 500'000}, {65536, 10'000}})
        cases.push_back({scenario::push_pull, transport::tcp, sz.first, 1, sz.second, curve, {},
                         mechanism::curve});
    const std::chrono::milliseconds connecting{2000};
    cases.push_back({scenario::handshake, transport::tcp, 0, 1, 0, one_process, {}, mechanism::null,
                     connecting});
    cases.push_back({scenario::handshake, transport::tcp, 0, 1, 0, curve, {}, mechanism::curve,
                     connecting});

    std::vector<bench_case> chosen;
    for (auto c : cases) {
        if (!o.only.empty() && o.only != scenario_name(c.what))
            continue;
        if (o.size >= 0 && static_cast<std::size_t>(o.size) != c.size)
            continue;
        if (!o.via.empty() && o.via != transport_name(c.via))
            continue;
        if (!o.mech.empty() && o.mech != mechanism_name(c.mech))
            continue;
        if (!o.impl_name.empty()) {
            std::vector<impl> keep;
            for (impl i : c.impls)
                if (o.impl_name == impl_name(i))
                    keep.push_back(i);
            c.impls = keep;
        }
        if (c.impls.empty())
            continue;
        if (o.quick && c.what == scenario::handshake)
            c.duration /= 8;
        else if (o.quick && c.what != scenario::idle_memory)
            c.messages = std::max<std::size_t>(c.messages / 100, 10);
        chosen.push_back(c);
    }
    return chosen;
}

int main_(int argc, char** argv)
{
    const options o = parse(argc, argv);
    run_limit = o.quick ? std::chrono::milliseconds(10'000) : std::chrono::milliseconds(60'000);
    signal(SIGPIPE, SIG_IGN);

    char tmpl[] = "/tmp/zmtp-bench-XXXXXX";
    if (!mkdtemp(tmpl))
        throw std::runtime_error("mkdtemp failed");
    const std::string dir = tmpl;

    std::vector<bench_case> cases = plan(o);
    if (std::any_of(cases.begin(), cases.end(),
                    [](const bench_case& c) { return c.via == transport::tls_tcp; }))
        make_tls_certificates(dir);
    // The CPU-bound neighbours, for the whole run; they end with it.
    std::unique_ptr<peer_process> busy;
    if (o.busy > 0)
        busy = std::make_unique<peer_process>([&](int fd) { spin(o.busy, fd); });
    print_environment(stdout, o.reps, o.quick, o.busy);
    int seq = 0;
    for (auto& c : cases) {
        c.samples.resize(c.impls.size());
        for (int rep = 0; rep < o.reps; ++rep) {
            // Interleaved, starting with a different implementation each time.
            for (std::size_t k = 0; k < c.impls.size(); ++k) {
                const std::size_t at = (k + static_cast<std::size_t>(rep)) % c.impls.size();
                job j{c.what, c.via,  c.size, c.frames, run_messages(c, c.impls[at]),
                      dir,    ++seq, c.mech, c.duration};
                c.samples[at].push_back(o.fork ? run_child(c.impls[at], j) : run_here(c.impls[at], j));
            }
        }
        print_json(stdout, c, o.busy);
        std::fflush(stdout);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);

    print_table(stdout, cases);
    print_ratios(stdout, cases);
    return report_failures(stderr, cases) ? 1 : 0;
}

} // namespace
} // namespace bench

int main(int argc, char** argv)
{
    try {
        return bench::main_(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "zmtp-bench: %s\n", e.what());
        return 1;
    }
}
