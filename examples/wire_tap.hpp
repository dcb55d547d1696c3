// SPDX-License-Identifier: MPL-2.0
// A stream adapter for the demo: forwards every read and write to the
// stream below and prints what crossed, decoded with zmtp's wire parsers.
#pragma once

#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"
#include "zmtp/wire/greeting.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace demo {

// Splits one direction's byte stream into greeting and frames and prints
// each unit once it is complete.
class wire_printer {
public:
    explicit wire_printer(const char* arrow) : arrow_(arrow) {}

    void add(const std::byte* p, std::size_t n)
    {
        pending_.insert(pending_.end(), p, p + n);
        for (;;) {
            if (!greeting_done_) {
                if (pending_.size() < zmtp::wire::greeting_size)
                    return;
                auto g = zmtp::wire::parse_greeting({pending_.data(), zmtp::wire::greeting_size});
                print_unit(zmtp::wire::greeting_size,
                           "greeting ZMTP " + std::to_string(g.value.major) + "." +
                               std::to_string(g.value.minor) + " " + g.value.mechanism);
                greeting_done_ = true;
                continue;
            }
            auto h = zmtp::wire::parse_frame_header(pending_);
            if (h.state != zmtp::wire::frame_header_result::status::complete)
                return;
            const std::size_t total = h.value.header_size + h.value.size;
            if (pending_.size() < total)
                return;
            print_unit(total, describe(h.value));
        }
    }

private:
    std::string describe(const zmtp::wire::frame_header& h) const
    {
        const std::span<const std::byte> body(pending_.data() + h.header_size, h.size);
        if (h.command) {
            zmtp::wire::command_view cmd;
            if (zmtp::wire::parse_command(body, cmd))
                return "malformed command";
            return "command " + std::string(cmd.name);
        }
        std::string text(reinterpret_cast<const char*>(body.data()), std::min<std::size_t>(body.size(), 40));
        return std::string(h.more ? "frame (more) " : "frame (last) ") + std::to_string(h.size) +
               " bytes \"" + text + "\"";
    }

    void print_unit(std::size_t n, const std::string& what)
    {
        std::string hex;
        for (std::size_t i = 0; i < n && i < 24; ++i) {
            char b[4];
            std::snprintf(b, sizeof b, "%02x ", std::to_integer<unsigned>(pending_[i]));
            hex += b;
        }
        if (n > 24)
            hex += "...";
        std::printf("  %s %-44s %4zu B  %s\n", arrow_, what.c_str(), n, hex.c_str());
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    }

    const char* arrow_;
    bool greeting_done_ = false;
    std::vector<std::byte> pending_;
};

template <class Stream>
class wire_tap {
public:
    using executor_type = typename Stream::executor_type;

    template <class... Args>
    explicit wire_tap(Args&&... args) : next_(std::forward<Args>(args)...) {}

    executor_type get_executor() { return next_.get_executor(); }
    Stream& next_layer() { return next_; }
    auto& lowest_layer() { return next_.lowest_layer(); }

    template <class Buffers, class Handler>
    void async_read_some(const Buffers& buffers, Handler&& handler)
    {
        next_.async_read_some(buffers, [this, buffers, h = std::forward<Handler>(handler)](
                                           boost::system::error_code ec, std::size_t n) mutable {
            copy_into(in_, buffers, n);
            std::move(h)(ec, n);
        });
    }

    template <class Buffers, class Handler>
    void async_write_some(const Buffers& buffers, Handler&& handler)
    {
        next_.async_write_some(buffers, [this, buffers, h = std::forward<Handler>(handler)](
                                            boost::system::error_code ec, std::size_t n) mutable {
            copy_into(out_, buffers, n);
            std::move(h)(ec, n);
        });
    }

private:
    template <class Buffers>
    static void copy_into(wire_printer& printer, const Buffers& buffers, std::size_t n)
    {
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             n != 0 && it != boost::asio::buffer_sequence_end(buffers); ++it) {
            boost::asio::const_buffer b(*it);
            const std::size_t k = std::min(n, b.size());
            printer.add(static_cast<const std::byte*>(b.data()), k);
            n -= k;
        }
    }

    Stream next_;
    wire_printer out_{"zmtp -> libzmq"};
    wire_printer in_{"libzmq -> zmtp"};
};

} // namespace demo
