// SPDX-License-Identifier: MPL-2.0
// Bounded waiting for the threads of one run.
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>

namespace bench {

// Counts finished parts of a run; the first failure is kept.
class countdown {
public:
    explicit countdown(int parts) : left_(parts) {}

    void finish(std::exception_ptr e = nullptr)
    {
        std::lock_guard lock(mutex_);
        if (e && error_.empty()) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                error_ = x.what();
            } catch (...) {
                error_ = "unknown exception";
            }
        }
        --left_;
        cv_.notify_all();
    }

    // False when the parts did not all finish within `limit`.
    bool wait_for(std::chrono::milliseconds limit)
    {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [&] { return left_ <= 0; });
    }

    std::string error()
    {
        std::lock_guard lock(mutex_);
        return error_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int left_;
    std::string error_;
};

// How long one run may take before it is abandoned (set by main).
inline std::chrono::milliseconds run_limit{60'000};

} // namespace bench
