// SPDX-License-Identifier: MPL-2.0
// A clock that only moves when a test moves it. The codec takes time as an
// argument, so timeouts are tested deterministically, without sleeping.
#pragma once

#include <chrono>

namespace zmtp::test {

class fake_clock {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;
    using duration = clock::duration;

    // Starts well away from the epoch so that "now - something" never
    // underflows in a test.
    fake_clock() noexcept : now_(time_point{} + std::chrono::hours(1)) {}
    explicit fake_clock(time_point start) noexcept : now_(start) {}

    time_point now() const noexcept { return now_; }
    void advance(duration d) noexcept { now_ += d; }
    void set(time_point t) noexcept { now_ = t; }

private:
    time_point now_;
};

} // namespace zmtp::test
