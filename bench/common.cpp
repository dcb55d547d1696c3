// SPDX-License-Identifier: MPL-2.0
#include "bench.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace bench {

void set_rate(sample& s, std::size_t messages, std::size_t size, clock::duration elapsed)
{
    const double secs = std::max(seconds(elapsed), 1e-9);
    s.msgs_per_s = static_cast<double>(messages) / secs;
    s.mb_per_s = static_cast<double>(messages) * static_cast<double>(size) / secs / 1e6;
    s.ok = true;
}

void set_fan_out(sample& s, const job& j, std::size_t delivered, clock::duration elapsed)
{
    set_rate(s, delivered, j.size, elapsed);
    s.delivered_fraction = static_cast<double>(delivered) /
                           static_cast<double>(j.messages * subscribers);
}

void set_latency(sample& s, std::vector<double>& us)
{
    if (us.empty())
        return fail(s, "no round trips");
    std::sort(us.begin(), us.end());
    auto at = [&](double q) {
        const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(us.size()))) - 1;
        return us[std::min(i, us.size() - 1)];
    };
    s.p50_us = at(0.50);
    s.p99_us = at(0.99);
    double total = 0;
    for (double v : us)
        total += v;
    s.msgs_per_s = static_cast<double>(us.size()) / (total / 1e6); // round trips per second
    s.ok = true;
}

long peak_rss_kb(bool children)
{
    rusage self{}, kids{};
    getrusage(RUSAGE_SELF, &self);
    if (children)
        getrusage(RUSAGE_CHILDREN, &kids);
    return self.ru_maxrss + kids.ru_maxrss;
}

std::string endpoint(const job& j, const char* name)
{
    if (j.via == transport::tcp)
        return "tcp://127.0.0.1:0";
    if (j.via == transport::tls_tcp)
        return "tls+tcp://127.0.0.1:0";
    if (j.via == transport::inproc)
        return std::string("inproc://") + name + "-" + std::to_string(j.seq);
    return "ipc://" + j.dir + "/" + name + "-" + std::to_string(j.seq);
}

void fail(sample& s, const std::string& why)
{
    s.ok = false;
    std::snprintf(s.error, sizeof s.error, "%s", why.c_str());
}

std::vector<std::size_t> frame_sizes(const job& j)
{
    const std::size_t n = std::max<std::size_t>(j.frames, 1);
    std::vector<std::size_t> sizes(n, j.size / n);
    sizes.back() += j.size % n;
    return sizes;
}

} // namespace bench
