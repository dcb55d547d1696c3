// SPDX-License-Identifier: MPL-2.0
// Invariant checks shared by the fuzz harnesses. A broken invariant prints
// what broke and aborts, which both libFuzzer and the corpus replay report
// as a failure (the replay builds without sanitizers and without NDEBUG
// tricks, so assert() is not used).
#pragma once

#include "zmtp/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <span>
#include <system_error>

namespace zmtp_fuzz {

[[noreturn]] inline void violated(const char* what, const char* file, int line)
{
    std::fprintf(stderr, "fuzz invariant violated: %s (%s:%d)\n", what, file, line);
    std::abort();
}

#define FUZZ_CHECK(cond) ((cond) ? void(0) : ::zmtp_fuzz::violated(#cond, __FILE__, __LINE__))

inline std::span<const std::byte> as_span(const std::uint8_t* data, std::size_t size) noexcept
{
    // libFuzzer may pass a null pointer with size 0.
    if (size == 0)
        return {};
    return {reinterpret_cast<const std::byte*>(data), size};
}

// Which error conditions a hostile input may legitimately lead to.
namespace allow {
inline constexpr unsigned protocol = 1;   // condition::protocol_violation
inline constexpr unsigned limits = 2;     // condition::limit_exceeded
inline constexpr unsigned timeouts = 4;   // condition::timed_out (only when the harness drives time)
inline constexpr unsigned peer_error = 8; // error::peer_error: the input holds an ERROR command
inline constexpr unsigned security = 16;  // condition::security_failure (CURVE: a box that does not open)
} // namespace allow

// An error that the peer's bytes (or the clock the harness drives) caused:
// a known zmtp error whose condition is one of `allowed`. Anything else
// (local_misuse, an unknown value or category) is a bug in the core.
inline void check_remote_error(std::error_code ec, unsigned allowed, const char* file, int line)
{
    auto bad = [&](const char* why) {
        std::fprintf(stderr, "unexpected error %s:%d '%s': %s\n", ec.category().name(), ec.value(),
                     ec.message().c_str(), why);
        violated("error outside the allowed conditions", file, line);
    };
    if (!ec)
        bad("no error code");
    if (ec.category() != zmtp::error_category())
        bad("foreign category");
    if (ec.value() < static_cast<int>(zmtp::error::not_zmtp) ||
        ec.value() > static_cast<int>(zmtp::error::invalid_argument))
        bad("value outside the error enum");
    if ((allowed & allow::protocol) && ec == zmtp::condition::protocol_violation)
        return;
    if ((allowed & allow::limits) && ec == zmtp::condition::limit_exceeded)
        return;
    if ((allowed & allow::timeouts) && ec == zmtp::condition::timed_out)
        return;
    if ((allowed & allow::peer_error) && ec == zmtp::error::peer_error)
        return;
    if ((allowed & allow::security) && ec == zmtp::condition::security_failure)
        return;
    bad("condition not allowed here");
}

#define FUZZ_CHECK_ERROR(ec, allowed) ::zmtp_fuzz::check_remote_error((ec), (allowed), __FILE__, __LINE__)

// Whether `inner` lies entirely within `outer` (views must never escape the input).
inline bool within(std::span<const std::byte> inner, std::span<const std::byte> outer) noexcept
{
    if (inner.empty())
        return true;
    // std::less gives a total order even for pointers into different objects.
    const std::less<const std::byte*> before;
    return !before(inner.data(), outer.data()) &&
           !before(outer.data() + outer.size(), inner.data() + inner.size());
}

} // namespace zmtp_fuzz
