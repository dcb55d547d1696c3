// SPDX-License-Identifier: MPL-2.0
// zmtp-bench's output: JSON lines, the table of medians, the ratios
// against libzmq and the floor, and the project's targets.
#pragma once

#include "bench.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace bench {

// One scenario at one size over one transport, run by several
// implementations; samples[i] are the repetitions of impls[i].
struct bench_case {
    scenario what = scenario::push_pull;
    transport via = transport::tcp;
    std::size_t size = 0;
    std::size_t frames = 1;
    std::size_t messages = 0;
    std::vector<impl> impls;
    std::vector<std::vector<sample>> samples;
    mechanism mech = mechanism::null;
    std::chrono::milliseconds duration{0};
};

// Messages one run of `i` in case `c` sends: zmtp's co_await rows run at
// about 100 k/s with small messages, so they send at most 200,000 (rates
// are per second; runs stay within a few seconds).
std::size_t run_messages(const bench_case& c, impl i);

const char* scenario_name(scenario s);
const char* transport_name(transport t);
const char* impl_name(impl i);
const char* mechanism_name(mechanism m);

void print_environment(std::FILE* out, int reps, bool quick, int busy);
void print_json(std::FILE* out, const bench_case& c, int busy);
void print_table(std::FILE* out, const std::vector<bench_case>& cases);
void print_ratios(std::FILE* out, const std::vector<bench_case>& cases);
// Names every implementation that produced no number; true if any.
bool report_failures(std::FILE* out, const std::vector<bench_case>& cases);

} // namespace bench
