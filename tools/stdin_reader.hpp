// SPDX-License-Identifier: MPL-2.0
// Reads stdin on its own thread and posts complete lines to an executor,
// in order, the end of input last, so nothing read is lost at EOF. A thread
// rather than posix::stream_descriptor, because stdin may be a regular file
// (epoll refuses those). Back-pressure: at most `window` lines are posted
// and not yet released; the thread waits for release() beyond that.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zmtp::cat {

class stdin_reader {
public:
    using lines_handler = std::function<void(std::vector<std::string>)>;
    using eof_handler = std::function<void()>;

    stdin_reader(boost::asio::any_io_executor ex, std::size_t window)
        : shared_(std::make_shared<shared>())
    {
        shared_->ex = std::move(ex);
        shared_->window = window == 0 ? 1 : window;
    }

    // Starts the thread. It is detached: it may sit in read(2) until the
    // process exits, and touches only state it shares ownership of.
    void start(lines_handler on_lines, eof_handler on_eof)
    {
        std::thread([s = shared_, on_lines = std::move(on_lines),
                     on_eof = std::move(on_eof)]() mutable {
            run(*s, std::move(on_lines), std::move(on_eof));
        }).detach();
    }

    // The executor's side: `n` lines are done with.
    void release(std::size_t n)
    {
        {
            std::lock_guard lock(shared_->mutex);
            shared_->outstanding -= std::min(n, shared_->outstanding);
        }
        shared_->cv.notify_one();
    }

private:
    struct shared {
        boost::asio::any_io_executor ex;
        std::size_t window = 1;
        std::mutex mutex;
        std::condition_variable cv;
        std::size_t outstanding = 0;
    };

    static void run(shared& s, lines_handler on_lines, eof_handler on_eof)
    {
        std::string partial;
        std::vector<char> buf(64 * 1024);
        for (;;) {
            const ssize_t n = ::read(0, buf.data(), buf.size());
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            std::vector<std::string> lines;
            std::size_t start = 0;
            for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
                if (buf[i] != '\n')
                    continue;
                partial.append(buf.data() + start, i - start);
                lines.push_back(std::move(partial));
                partial.clear();
                start = i + 1;
            }
            partial.append(buf.data() + start, static_cast<std::size_t>(n) - start);
            post_lines(s, on_lines, std::move(lines));
        }
        // A last line without a newline is still a message.
        if (!partial.empty()) {
            std::vector<std::string> last;
            last.push_back(std::move(partial));
            post_lines(s, on_lines, std::move(last));
        }
        boost::asio::post(s.ex, std::move(on_eof));
    }

    static void post_lines(shared& s, const lines_handler& on_lines, std::vector<std::string> lines)
    {
        if (lines.empty())
            return;
        {
            std::unique_lock lock(s.mutex);
            s.cv.wait(lock, [&] { return s.outstanding < s.window; });
            s.outstanding += lines.size();
        }
        boost::asio::post(s.ex, [on_lines, lines = std::move(lines)]() mutable {
            on_lines(std::move(lines));
        });
    }

    std::shared_ptr<shared> shared_;
};

} // namespace zmtp::cat
