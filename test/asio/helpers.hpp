// SPDX-License-Identifier: MPL-2.0
// Shared pieces of the asio suite: bounded event-loop runs, message
// factories, temporary directories, and an exchange that drives two
// connected connections through the standard message set.
#pragma once

#include "zmtp/asio/connection.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace zmtp::asio_test {

namespace net = boost::asio;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

// How many times longer than usual a wait may take: sanitizer builds run
// several times slower, and ZMTP_TEST_TIME_SCALE (a factor, e.g. 4) covers
// a loaded machine. Deadlines in tests guard against hangs: scale them.
inline int time_scale()
{
    int scale = 1;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    scale = 4;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    scale = 4;
#endif
#endif
    if (const char* env = std::getenv("ZMTP_TEST_TIME_SCALE"); env && std::atoi(env) > 0)
        scale *= std::atoi(env);
    return scale;
}

inline std::chrono::milliseconds scaled(std::chrono::milliseconds d)
{
    return d * time_scale();
}

// Runs `io` until `done()` holds, the time limit (scaled) passes, or
// nothing is left to run. Returns done().
template <class Pred>
bool run_until(net::io_context& io, Pred done, std::chrono::milliseconds limit = 5000ms)
{
    const auto deadline = std::chrono::steady_clock::now() + scaled(limit);
    io.restart();
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        if (io.run_one_until(deadline) == 0 && io.stopped())
            return done(); // out of work: nothing can change any more
    }
    return true;
}

// Runs `io` until `done()` holds; fails only when `progress()` (a count
// that grows while work gets done) stands still for `stall` (scaled): a
// slow machine is no failure, a hang is.
template <class Pred, class Progress>
bool run_while_progressing(net::io_context& io, Pred done, Progress progress,
                           std::chrono::milliseconds stall)
{
    auto last = progress();
    while (!run_until(io, done, stall)) {
        const auto now = progress();
        if (now == last)
            return false;
        last = now;
    }
    return true;
}

// The 127.0.0.1 endpoint of a bound "tcp://127.0.0.1:PORT".
inline net::ip::tcp::endpoint loopback_endpoint(const std::string& bound)
{
    const auto colon = bound.rfind(':');
    return {net::ip::make_address("127.0.0.1"),
            static_cast<unsigned short>(std::stoi(bound.substr(colon + 1)))};
}

// Closes with RST instead of FIN.
inline void reset_close(net::ip::tcp::socket& s)
{
    s.set_option(net::socket_base::linger(true, 0));
    s.close();
}

// The first `n` bytes of `v` as text.
inline std::string text_of(const std::vector<char>& v, std::size_t n)
{
    return std::string(v.data(), n);
}

// Runs `io` for `d` (or until out of work).
inline void run_for(net::io_context& io, std::chrono::milliseconds d)
{
    io.restart();
    io.run_for(d);
}

inline codec_options options_for(socket_type t = socket_type::pair)
{
    codec_options o;
    o.type = t;
    return o;
}

// A frame of `size` bytes with a pattern that depends on `seed`.
inline frame patterned_frame(std::size_t size, unsigned seed = 0)
{
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>((i * 31 + seed * 7 + (i >> 8)) & 0xff);
    return frame(std::span<const std::byte>(bytes));
}

inline message single(std::size_t size, unsigned seed = 0)
{
    message m;
    m.push_back(patterned_frame(size, seed));
    return m;
}

// The standard set: empty, 1, 255 (longest short frame), 256 (shortest long
// frame), 70000, 1 MiB (read straight into the frame), and a multipart one.
inline std::vector<message> standard_messages()
{
    std::vector<message> out;
    unsigned seed = 0;
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{255}, std::size_t{256},
                          std::size_t{70000}, std::size_t{1024 * 1024}})
        out.push_back(single(n, ++seed));
    message multi;
    multi.push_back(frame(""));
    multi.push_back(frame("header"));
    multi.push_back(patterned_frame(300, 9));
    multi.push_back(patterned_frame(70000, 10));
    multi.push_back(frame("end"));
    out.push_back(std::move(multi));
    return out;
}

// Raw ZMTP 3.1 bytes, written by hand (not by the codec), for peers that
// misbehave or freeze. RFC 23: greeting, frames, commands.
namespace raw {

inline std::vector<std::byte> bytes(std::string_view s)
{
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

inline void append(std::vector<std::byte>& out, const std::vector<std::byte>& more)
{
    out.insert(out.end(), more.begin(), more.end());
}

// Signature, version 3.1, mechanism NULL, as-server 0, filler.
inline std::vector<std::byte> greeting()
{
    std::vector<std::byte> g(64, std::byte{0});
    g[0] = std::byte{0xff};
    g[8] = std::byte{0x01};
    g[9] = std::byte{0x7f};
    g[10] = std::byte{3};
    g[11] = std::byte{1};
    g[12] = std::byte{'N'};
    g[13] = std::byte{'U'};
    g[14] = std::byte{'L'};
    g[15] = std::byte{'L'};
    return g;
}

// One frame; flags: 0x01 MORE, 0x04 COMMAND (LONG is added as needed).
inline std::vector<std::byte> frame_bytes(std::uint8_t flags, const std::vector<std::byte>& body)
{
    std::vector<std::byte> out;
    if (body.size() > 255) {
        out.push_back(std::byte{static_cast<std::uint8_t>(flags | 0x02)});
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::byte>((body.size() >> shift) & 0xff));
    } else {
        out.push_back(std::byte{flags});
        out.push_back(static_cast<std::byte>(body.size()));
    }
    append(out, body);
    return out;
}

inline std::vector<std::byte> command(std::string_view name, const std::vector<std::byte>& data)
{
    std::vector<std::byte> body;
    body.push_back(static_cast<std::byte>(name.size()));
    append(body, bytes(name));
    append(body, data);
    return frame_bytes(0x04, body);
}

inline std::vector<std::byte> ready(std::string_view socket_type)
{
    std::vector<std::byte> data;
    const std::string_view name = "Socket-Type";
    data.push_back(static_cast<std::byte>(name.size()));
    append(data, bytes(name));
    for (int shift = 24; shift >= 0; shift -= 8)
        data.push_back(static_cast<std::byte>((socket_type.size() >> shift) & 0xff));
    append(data, bytes(socket_type));
    return command("READY", data);
}

inline std::vector<std::byte> ping(std::uint16_t ttl_deciseconds, std::string_view context)
{
    std::vector<std::byte> data;
    data.push_back(static_cast<std::byte>(ttl_deciseconds >> 8));
    data.push_back(static_cast<std::byte>(ttl_deciseconds & 0xff));
    append(data, bytes(context));
    return command("PING", data);
}

inline std::vector<std::byte> message_frame(std::string_view text, bool more = false)
{
    return frame_bytes(more ? 0x01 : 0x00, bytes(text));
}

} // namespace raw

// A fresh directory under the system temp dir, removed with its contents.
class temp_dir {
public:
    temp_dir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "zmtp-asio-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

// Records how a co_spawned coroutine ended.
struct outcome {
    bool finished = false;
    std::string failure; // empty on success

    auto handler()
    {
        return [this](std::exception_ptr e) {
            finished = true;
            if (!e)
                return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                failure = x.what();
                if (failure.empty())
                    failure = "exception";
            }
        };
    }
};

template <class Stream>
net::awaitable<void> send_all(asio::connection<Stream>& c, std::vector<message> msgs)
{
    for (auto& m : msgs)
        co_await c.async_write(std::move(m), net::use_awaitable);
}

// Reads msgs.size() messages and checks each against the expected one.
template <class Stream>
net::awaitable<void> expect_all(asio::connection<Stream>& c, std::vector<message> msgs)
{
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        message got;
        co_await c.async_read(got, net::use_awaitable);
        if (!(got == msgs[i]))
            throw std::runtime_error("message " + std::to_string(i) + " differs: " +
                                     std::to_string(got.size()) + " frames, " +
                                     std::to_string(got.byte_size()) + " bytes");
    }
}

// Echoes msgs.size() messages back.
template <class Stream>
net::awaitable<void> echo(asio::connection<Stream>& c, std::size_t count)
{
    for (std::size_t i = 0; i < count; ++i) {
        message got;
        co_await c.async_read(got, net::use_awaitable);
        co_await c.async_write(std::move(got), net::use_awaitable);
    }
}

// Handshakes a with b, sends the standard set a -> b, which echoes it back;
// a checks every echo (and so checks both directions). With `both_ways`
// false, b only checks what it receives.
// `progress`, when given, counts work done (bytes moved): the exchange then
// fails only if it stands still for `limit`.
template <class StreamA, class StreamB>
void exchange_standard(net::io_context& io, asio::connection<StreamA>& a,
                       asio::connection<StreamB>& b, bool both_ways = true,
                       std::chrono::milliseconds limit = 20'000ms,
                       std::function<std::uint64_t()> progress = {})
{
    const auto msgs = standard_messages();
    outcome side_a, side_b;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            co_await a.async_handshake(net::use_awaitable);
            if (both_ways) {
                // Interleave: keep a read outstanding while writing.
                outcome writer;
                net::co_spawn(io, send_all(a, msgs), writer.handler());
                co_await expect_all(a, msgs);
                if (!writer.failure.empty())
                    throw std::runtime_error("writer: " + writer.failure);
            } else {
                co_await send_all(a, msgs);
            }
        },
        side_a.handler());
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            co_await b.async_handshake(net::use_awaitable);
            if (both_ways)
                co_await echo(b, msgs.size());
            else
                co_await expect_all(b, msgs);
        },
        side_b.handler());
    auto finished = [&] { return side_a.finished && side_b.finished; };
    const bool done = progress ? run_while_progressing(io, finished, progress, limit)
                               : run_until(io, finished, limit);
    CHECK_MESSAGE(done, "exchange did not finish in time");
    CHECK_MESSAGE(side_a.failure.empty(), side_a.failure);
    CHECK_MESSAGE(side_b.failure.empty(), side_b.failure);
    CHECK(a.protocol().is_ready());
    CHECK(b.protocol().is_ready());
    CHECK(a.peer_metadata().find("Socket-Type") == to_string(b.protocol().options().type));
    CHECK(b.peer_metadata().find("Socket-Type") == to_string(a.protocol().options().type));
}

} // namespace zmtp::asio_test
