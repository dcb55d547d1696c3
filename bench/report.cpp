// SPDX-License-Identifier: MPL-2.0
#include "report.hpp"

#include <sys/utsname.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <optional>

namespace bench {

std::size_t run_messages(const bench_case& c, impl i)
{
    constexpr std::size_t awaited_cap = 200'000;
    return i == impl::zmtp ? std::min(c.messages, awaited_cap) : c.messages;
}

const char* scenario_name(scenario s)
{
    switch (s) {
    case scenario::push_pull: return "push_pull";
    case scenario::multipart: return "push_pull_3frame";
    case scenario::req_rep: return "req_rep";
    case scenario::pub_sub: return "pub_sub_4";
    case scenario::idle_memory: return "idle_memory";
    case scenario::handshake: return "handshake";
    }
    return "?";
}

const char* transport_name(transport t)
{
    switch (t) {
    case transport::tcp: return "tcp";
    case transport::ipc: return "ipc";
    case transport::tls_tcp: return "tls+tcp";
    case transport::inproc: return "inproc";
    }
    return "?";
}

const char* impl_name(impl i)
{
    switch (i) {
    case impl::zmtp: return "zmtp";
    case impl::zmtp_try: return "zmtp-try";
    case impl::libzmq: return "libzmq";
    case impl::libzmq_procs: return "libzmq-procs";
    case impl::floor: return "floor";
    case impl::zmtp_tcp: return "zmtp-tcp";
    case impl::zmtp_null: return "zmtp-null";
    case impl::zmtp_ipc: return "zmtp-ipc";
    }
    return "?";
}

const char* mechanism_name(mechanism m)
{
    switch (m) {
    case mechanism::null: return "null";
    case mechanism::curve: return "curve";
    }
    return "?";
}

namespace {

// Medians over the repetitions that succeeded; -1 where none has a value.
struct summary {
    std::size_t ok = 0;
    double msgs_per_s = -1, mb_per_s = -1, p50_us = -1, p99_us = -1, peak_rss_kb = -1,
           delivered_fraction = -1;
    std::string error;
};

double median_of(const std::vector<sample>& samples, double sample::*field)
{
    std::vector<double> v;
    for (const auto& s : samples)
        if (s.ok && s.*field >= 0)
            v.push_back(s.*field);
    if (v.empty())
        return -1;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

summary summarize(const std::vector<sample>& samples)
{
    summary m;
    for (const auto& s : samples) {
        if (s.ok)
            ++m.ok;
        else if (m.error.empty())
            m.error = s.error;
    }
    m.msgs_per_s = median_of(samples, &sample::msgs_per_s);
    m.mb_per_s = median_of(samples, &sample::mb_per_s);
    m.p50_us = median_of(samples, &sample::p50_us);
    m.p99_us = median_of(samples, &sample::p99_us);
    m.peak_rss_kb = median_of(samples, &sample::peak_rss_kb);
    m.delivered_fraction = median_of(samples, &sample::delivered_fraction);
    return m;
}

std::string size_text(std::size_t n)
{
    if (n >= 1048576 && n % 1048576 == 0)
        return std::to_string(n / 1048576) + " MiB";
    if (n >= 1024 && n % 1024 == 0)
        return std::to_string(n / 1024) + " KiB";
    return std::to_string(n) + " B";
}

std::string case_text(const bench_case& c)
{
    std::string t = scenario_name(c.what);
    t += " ";
    t += transport_name(c.via);
    if (c.mech != mechanism::null || c.what == scenario::handshake) {
        t += ' ';
        t += mechanism_name(c.mech);
    }
    if (c.what != scenario::idle_memory && c.what != scenario::handshake) {
        t += ' ';
        t += size_text(c.size);
    }
    return t;
}

std::string number(double v, const char* format)
{
    if (v < 0)
        return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string json_number(double v, const char* format)
{
    return v < 0 ? "null" : number(v, format);
}

// The figure the targets speak of, and whether higher is better.
double headline(const bench_case& c, const summary& s)
{
    switch (c.what) {
    case scenario::req_rep: return s.p50_us;
    case scenario::idle_memory: return s.peak_rss_kb;
    default: return s.msgs_per_s;
    }
}

bool higher_is_better(const bench_case& c)
{
    return c.what != scenario::req_rep && c.what != scenario::idle_memory;
}

const char* headline_name(const bench_case& c)
{
    switch (c.what) {
    case scenario::req_rep: return "p50 latency";
    case scenario::idle_memory: return "KiB/conn";
    case scenario::handshake: return "handshakes/s";
    default: return "msgs/s";
    }
}

struct target {
    impl versus;
    double ratio; // zmtp / versus, at least (higher is better) or at most
};

// The project's performance targets (README, "Performance").
std::optional<target> target_for(const bench_case& c)
{
    if (c.via == transport::inproc)
        return std::nullopt; // inproc rows are for comparison only
    if (c.via == transport::tls_tcp)
        return c.size >= 4096 ? std::optional<target>(target{impl::zmtp_tcp, 0.8}) : std::nullopt;
    if (c.mech == mechanism::curve)
        return c.what == scenario::push_pull ? std::optional<target>(target{impl::libzmq, 1.5})
                                             : std::nullopt;
    switch (c.what) {
    case scenario::push_pull:
        if (c.size <= 4096)
            return target{impl::libzmq, 1.5};
        return target{impl::floor, 0.9};
    case scenario::req_rep: return target{impl::libzmq, 0.5};
    case scenario::pub_sub: return target{impl::libzmq, 1.5};
    case scenario::idle_memory: return target{impl::libzmq, 0.5};
    default: return std::nullopt;
    }
}

double headline(const bench_case& c, const sample& s)
{
    switch (c.what) {
    case scenario::req_rep: return s.p50_us;
    case scenario::idle_memory: return s.peak_rss_kb;
    default: return s.msgs_per_s;
    }
}

const std::vector<sample>* samples_of(const bench_case& c, impl i)
{
    for (std::size_t k = 0; k < c.impls.size(); ++k)
        if (c.impls[k] == i)
            return &c.samples[k];
    return nullptr;
}

// The faster of libzmq's two arrangements in this case (by median).
impl best_libzmq(const bench_case& c)
{
    const auto* one = samples_of(c, impl::libzmq);
    const auto* procs = samples_of(c, impl::libzmq_procs);
    if (!one || !procs)
        return procs ? impl::libzmq_procs : impl::libzmq;
    const double a = headline(c, summarize(*one));
    const double b = headline(c, summarize(*procs));
    if (a < 0 || b < 0)
        return a < 0 ? impl::libzmq_procs : impl::libzmq;
    return (higher_is_better(c) ? b > a : b < a) ? impl::libzmq_procs : impl::libzmq;
}

// a/b from the runs of the same repetition (run next to each other), so
// that load from elsewhere on the machine mostly cancels: the median of
// those ratios and their range. `field` picks the figure (default: the
// headline).
struct paired {
    double median = -1, low = -1, high = -1;
};

paired ratio(const bench_case& c, impl a, impl b, double sample::*field = nullptr)
{
    if (b == impl::libzmq)
        b = best_libzmq(c);
    const std::vector<sample>* xs = samples_of(c, a);
    const std::vector<sample>* ys = samples_of(c, b);
    paired p;
    if (!xs || !ys)
        return p;
    const auto value = [&](const sample& v) { return field ? v.*field : headline(c, v); };
    std::vector<double> r;
    for (std::size_t k = 0; k < std::min(xs->size(), ys->size()); ++k) {
        const sample& x = (*xs)[k];
        const sample& y = (*ys)[k];
        if (x.ok && y.ok && value(x) >= 0 && value(y) > 0)
            r.push_back(value(x) / value(y));
    }
    if (r.empty())
        return p;
    std::sort(r.begin(), r.end());
    const std::size_t n = r.size();
    p.median = n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
    p.low = r.front();
    p.high = r.back();
    return p;
}

std::string ratio_text(const paired& p)
{
    if (p.median < 0)
        return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f [%.2f-%.2f]", p.median, p.low, p.high);
    return buf;
}

std::string read_cpu_model()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "unknown";
}

std::string load_average()
{
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

} // namespace

void print_environment(std::FILE* out, int reps, bool quick, int busy)
{
    utsname u{};
    uname(&u);
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
    int major = 0, minor = 0, patch = 0;
    zmq_version(&major, &minor, &patch);
    std::fprintf(out,
                 "# zmtp-bench %s: %d repetition(s), medians; %ld CPU(s), %s; Linux %s; "
                 "libzmq %d.%d.%d; %s; %d busy thread(s) beside every run; load average %s\n",
                 quick ? "--quick" : "full", reps, sysconf(_SC_NPROCESSORS_ONLN),
                 read_cpu_model().c_str(), u.release, major, minor, patch, date, busy,
                 load_average().c_str());
}

void print_json(std::FILE* out, const bench_case& c, int busy)
{
    for (std::size_t i = 0; i < c.impls.size(); ++i) {
        const summary s = summarize(c.samples[i]);
        const bool sized = c.what != scenario::idle_memory && c.what != scenario::handshake;
        const std::string size = sized ? std::to_string(c.size) : "null";
        const bool no_bytes = c.what == scenario::req_rep || c.what == scenario::handshake;
        std::fprintf(out,
                     "{\"impl\":\"%s\",\"scenario\":\"%s\",\"transport\":\"%s\","
                     "\"mechanism\":\"%s\",\"size\":%s,"
                     "\"messages\":%zu,\"msgs_per_s\":%s,\"mb_per_s\":%s,\"p50_us\":%s,"
                     "\"p99_us\":%s,\"peak_rss_kb\":%s,\"delivered_fraction\":%s,"
                     "\"runs\":%zu,\"runs_ok\":%zu,\"busy\":%d}\n",
                     impl_name(c.impls[i]), scenario_name(c.what), transport_name(c.via),
                     mechanism_name(c.mech), size.c_str(), run_messages(c, c.impls[i]),
                     json_number(s.msgs_per_s, "%.0f").c_str(),
                     no_bytes ? "null" : json_number(s.mb_per_s, "%.2f").c_str(),
                     json_number(s.p50_us, "%.2f").c_str(), json_number(s.p99_us, "%.2f").c_str(),
                     json_number(s.peak_rss_kb, "%.2f").c_str(),
                     json_number(s.delivered_fraction, "%.4f").c_str(), c.samples[i].size(), s.ok,
                     busy);
    }
}

void print_table(std::FILE* out, const std::vector<bench_case>& cases)
{
    std::fprintf(out, "\n%-32s %-12s %12s %10s %9s %9s %12s  %s\n", "scenario", "impl", "msgs/s",
                 "MB/s", "p50 us", "p99 us", "peak RSS KiB", "note");
    for (const auto& c : cases)
        for (std::size_t i = 0; i < c.impls.size(); ++i) {
            const summary s = summarize(c.samples[i]);
            std::string note;
            if (c.what == scenario::idle_memory && s.peak_rss_kb >= 0)
                note = "RSS column: KiB per idle connection (" + std::to_string(c.messages) +
                       " connections)";
            if (c.what == scenario::req_rep)
                note = "msgs/s: round trips";
            if (c.what == scenario::handshake)
                note = "msgs/s: handshakes (connect, handshake, one message, close)";
            if (s.delivered_fraction >= 0)
                note = "delivered " + number(100 * s.delivered_fraction, "%.1f") +
                       " % of messages x subscribers";
            if (s.ok == 0)
                note = "FAILED: " + s.error;
            else if (s.ok < c.samples[i].size())
                note += " (" + std::to_string(c.samples[i].size() - s.ok) + " failed run(s))";
            std::fprintf(out, "%-32s %-12s %12s %10s %9s %9s %12s  %s\n", case_text(c).c_str(),
                         impl_name(c.impls[i]), number(s.msgs_per_s, "%.0f").c_str(),
                         c.what == scenario::req_rep || c.what == scenario::handshake
                             ? "-"
                             : number(s.mb_per_s, "%.1f").c_str(),
                         number(s.p50_us, "%.1f").c_str(), number(s.p99_us, "%.1f").c_str(),
                         number(s.peak_rss_kb, "%.1f").c_str(), note.c_str());
        }
}

void print_ratios(std::FILE* out, const std::vector<bench_case>& cases)
{
    std::fprintf(out, "\n%-32s %-8s %-12s %-18s %-13s %-18s %-18s %-18s %-18s %-18s %s\n",
                 "scenario", "impl", "metric", "x/libzmq", "libzmq", "x/floor", "x/zmtp-tcp",
                 "x/zmtp-null", "x/zmtp-ipc", "target", "verdict");
    for (const auto& c : cases)
        for (impl mine : {impl::zmtp, impl::zmtp_try}) {
            if (!samples_of(c, mine))
                continue;
            const paired vs_libzmq = ratio(c, mine, impl::libzmq);
            const paired vs_floor = ratio(c, mine, impl::floor);
            // zmtp-tcp, -null and -ipc take the fast path: they are the
            // zmtp-try row's baselines (the zmtp row's where it is alone).
            const bool baselines = mine == impl::zmtp_try || !samples_of(c, impl::zmtp_try);
            const auto versus = [&](impl base) {
                return baselines ? ratio_text(ratio(c, mine, base)) : std::string("-");
            };
            std::string goal = "-", verdict = "-";
            const auto t = target_for(c);
            const bool against_zmtp = t && (t->versus == impl::zmtp_tcp ||
                                            t->versus == impl::zmtp_null ||
                                            t->versus == impl::zmtp_ipc);
            if (t && (baselines || !against_zmtp)) {
                const bool up = higher_is_better(c);
                goal = std::string(up ? ">= " : "<= ") + number(t->ratio, "%.2f") + "x " +
                       impl_name(t->versus);
                const double got = ratio(c, mine, t->versus).median;
                if (got > 0) {
                    const bool met = up ? got >= t->ratio : got <= t->ratio;
                    verdict = met ? "met"
                                  : "below: needs " +
                                        number(up ? t->ratio / got : got / t->ratio, "%.2f") +
                                        "x better";
                }
            }
            if (c.what == scenario::req_rep) // the p99 target: <= 0.8x libzmq
                verdict += "; p99 " + ratio_text(ratio(c, mine, impl::libzmq, &sample::p99_us)) +
                           " (<= 0.80)";
            std::fprintf(out, "%-32s %-8s %-12s %-18s %-13s %-18s %-18s %-18s %-18s %-18s %s\n",
                         case_text(c).c_str(), impl_name(mine), headline_name(c),
                         ratio_text(vs_libzmq).c_str(),
                         samples_of(c, impl::libzmq) ? impl_name(best_libzmq(c)) : "-",
                         ratio_text(vs_floor).c_str(),
                         versus(impl::zmtp_tcp).c_str(), versus(impl::zmtp_null).c_str(),
                         versus(impl::zmtp_ipc).c_str(), goal.c_str(),
                         verdict.c_str());
        }
}

bool report_failures(std::FILE* out, const std::vector<bench_case>& cases)
{
    bool any = false;
    for (const auto& c : cases)
        for (std::size_t i = 0; i < c.impls.size(); ++i) {
            const summary s = summarize(c.samples[i]);
            if (s.ok == 0 || headline(c, s) < 0) {
                std::fprintf(out, "zmtp-bench: %s %s produced no number: %s\n",
                             case_text(c).c_str(), impl_name(c.impls[i]), s.error.c_str());
                any = true;
            }
        }
    return any;
}

} // namespace bench
