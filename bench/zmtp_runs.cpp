// SPDX-License-Identifier: MPL-2.0
// The scenarios over zmtp::socket. Every socket runs on an io_context of
// its own thread; application loops run as coroutines on the socket's
// executor and co_await async_send / async_receive, as the README shows;
// with j.try_first (the zmtp-try rows) they take the non-blocking path
// (try_send / try_receive) first and wait only when it would block.
#include "bench.hpp"
#include "curve.hpp"
#include "tls.hpp"
#include "waiting.hpp"

#include <zmtp/socket.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <span>
#include <stdexcept>
#include <thread>

namespace bench {
namespace {

namespace net = boost::asio;
using zmtp::asio::error_code;
using net::use_awaitable;

// io_contexts, each run by a thread of its own until stop().
class io_threads {
public:
    io_threads() = default;
    io_threads(const io_threads&) = delete;
    io_threads& operator=(const io_threads&) = delete;
    ~io_threads() { stop(); }

    net::io_context& add()
    {
        ios_.push_back(std::make_unique<net::io_context>(1));
        return *ios_.back();
    }
    void start()
    {
        for (auto& io : ios_)
            threads_.emplace_back([&ctx = *io] {
                auto guard = net::make_work_guard(ctx);
                ctx.run();
            });
    }
    void stop()
    {
        for (auto& io : ios_)
            io->stop();
        for (auto& t : threads_)
            t.join();
        threads_.clear();
    }

private:
    std::vector<std::unique_ptr<net::io_context>> ios_;
    std::vector<std::thread> threads_;
};

// True when the operation completed now; false when it would block.
bool done_now(error_code ec)
{
    if (!ec)
        return true;
    if (ec == zmtp::error::would_block)
        return false;
    throw boost::system::system_error(ec);
}

zmtp::message make_message(std::span<const std::byte> body, const std::vector<std::size_t>& sizes)
{
    zmtp::message m;
    m.reserve(sizes.size());
    std::size_t at = 0;
    for (std::size_t n : sizes) {
        m.emplace_back(body.subspan(at, n));
        at += n;
    }
    return m;
}

auto finisher(countdown& c)
{
    return [&c](std::exception_ptr e) { c.finish(e); };
}

sample wait_and_stop(countdown& done, io_threads& threads)
{
    sample s;
    const bool finished = done.wait_for(run_limit);
    threads.stop();
    if (!finished)
        fail(s, "timed out");
    else if (auto e = done.error(); !e.empty())
        fail(s, e);
    else
        s.ok = true;
    return s;
}

// The job's TLS and CURVE settings on a bound server and a client.
void secure(const job& j, zmtp::socket_options& server, zmtp::socket_options& client)
{
    if (j.via == transport::tls_tcp) {
        server.tls = tls_server(j);
        client.tls = tls_client(j);
    }
    if (j.mech == mechanism::curve) {
        const curve_keys keys;
        curve_server(server, keys);
        curve_client(client, keys);
    }
}

sample throughput(const job& j)
{
    io_threads threads;
    auto& rx_io = threads.add();
    auto& tx_io = threads.add();
    zmtp::socket pull(rx_io, zmtp::socket_type::pull);
    zmtp::socket push(tx_io, zmtp::socket_type::push);
    secure(j, pull.options(), push.options());
    push.connect(pull.bind(endpoint(j, "zmtp")));

    const auto sizes = frame_sizes(j);
    const std::vector<std::byte> body(j.size, std::byte{0x5a});
    const std::size_t total = j.messages + 1; // the first message starts the clock
    clock::time_point first{}, last{};
    countdown done(2);

    net::co_spawn(pull.get_executor(), [&]() -> net::awaitable<void> {
        zmtp::message m;
        for (std::size_t i = 0; i < total; ++i) {
            if (!j.try_first || !done_now(pull.try_receive(m)))
                m = co_await pull.async_receive(use_awaitable);
            if (m.size() != sizes.size())
                throw std::runtime_error("wrong frame count");
            if (i == 0)
                first = clock::now();
        }
        last = clock::now();
    }, finisher(done));

    net::co_spawn(push.get_executor(), [&]() -> net::awaitable<void> {
        for (std::size_t i = 0; i < total; ++i) {
            zmtp::message m = make_message(body, sizes);
            if (!j.try_first || !done_now(push.try_send(m)))
                co_await push.async_send(std::move(m), use_awaitable);
        }
    }, finisher(done));

    threads.start();
    sample s = wait_and_stop(done, threads);
    if (s.ok)
        set_rate(s, j.messages, j.size, last - first);
    return s;
}

sample latency(const job& j)
{
    io_threads threads;
    auto& server_io = threads.add();
    auto& client_io = threads.add();
    zmtp::socket rep(server_io, zmtp::socket_type::rep);
    zmtp::socket req(client_io, zmtp::socket_type::req);
    req.connect(rep.bind(endpoint(j, "zmtp-rep")));

    const std::vector<std::byte> body(j.size, std::byte{0x5a});
    const std::vector<std::size_t> sizes{j.size};
    const std::size_t warm = std::max<std::size_t>(j.messages / 10, 10);
    const std::size_t total = warm + j.messages;
    std::vector<double> rtt;
    rtt.reserve(j.messages);
    countdown done(2);

    net::co_spawn(rep.get_executor(), [&]() -> net::awaitable<void> {
        zmtp::message m;
        for (std::size_t i = 0; i < total; ++i) {
            if (!j.try_first || !done_now(rep.try_receive(m)))
                m = co_await rep.async_receive(use_awaitable);
            if (!j.try_first || !done_now(rep.try_send(m)))
                co_await rep.async_send(std::move(m), use_awaitable);
        }
    }, finisher(done));

    net::co_spawn(req.get_executor(), [&]() -> net::awaitable<void> {
        zmtp::message reply;
        for (std::size_t i = 0; i < total; ++i) {
            zmtp::message m = make_message(body, sizes);
            const auto t0 = clock::now();
            if (!j.try_first || !done_now(req.try_send(m)))
                co_await req.async_send(std::move(m), use_awaitable);
            if (!j.try_first || !done_now(req.try_receive(reply)))
                reply = co_await req.async_receive(use_awaitable);
            const auto t1 = clock::now();
            if (reply.byte_size() != j.size)
                throw std::runtime_error("wrong reply size");
            if (i >= warm)
                rtt.push_back(seconds(t1 - t0) * 1e6);
        }
    }, finisher(done));

    threads.start();
    sample s = wait_and_stop(done, threads);
    if (s.ok)
        set_latency(s, rtt);
    return s;
}

// A message whose first byte says what it is: W(arm-up), D(ata), E(nd).
zmtp::message marked(char kind, std::size_t size)
{
    std::vector<std::byte> body(size, std::byte{0x5a});
    body.at(0) = static_cast<std::byte>(kind);
    zmtp::message m;
    m.emplace_back(std::span<const std::byte>(body));
    return m;
}

sample fan_out(const job& j)
{
    io_threads threads;
    auto& pub_io = threads.add();
    zmtp::socket pub(pub_io, zmtp::socket_type::pub);
    pub.options().xpub_nodrop = true; // every message to every subscriber, as libzmq's
    const std::string ep = pub.bind(endpoint(j, "zmtp-pub"));
    std::vector<zmtp::socket> subs;
    for (std::size_t k = 0; k < subscribers; ++k) {
        subs.emplace_back(threads.add(), zmtp::socket_type::sub);
        subs.back().subscribe("");
        subs.back().connect(ep);
    }

    std::atomic<std::size_t> warmed{0}, finished{0};
    std::array<std::size_t, subscribers> counts{};
    std::array<clock::time_point, subscribers> ends{};
    clock::time_point start{};
    countdown done(static_cast<int>(subscribers) + 1);

    for (std::size_t k = 0; k < subscribers; ++k) {
        net::co_spawn(subs[k].get_executor(), [&, k]() -> net::awaitable<void> {
            zmtp::socket& sub = subs[k];
            bool warm_seen = false;
            zmtp::message m;
            for (;;) {
                if (!j.try_first || !done_now(sub.try_receive(m)))
                    m = co_await sub.async_receive(use_awaitable);
                const char kind = static_cast<char>(m.front().data()[0]);
                if (kind == 'D') {
                    ++counts[k];
                } else if (kind == 'W' && !warm_seen) {
                    warm_seen = true;
                    ++warmed;
                } else if (kind == 'E') {
                    ends[k] = clock::now();
                    ++finished;
                    co_return;
                }
            }
        }, finisher(done));
    }

    net::co_spawn(pub.get_executor(), [&]() -> net::awaitable<void> {
        net::steady_timer timer(pub.get_executor());
        const auto deadline = clock::now() + run_limit;
        const auto send_until = [&](const std::atomic<std::size_t>& count,
                                    char kind) -> net::awaitable<void> {
            while (count < subscribers) {
                if (clock::now() > deadline)
                    throw std::runtime_error("subscribers did not answer");
                zmtp::message m = marked(kind, j.size);
                if (!j.try_first || !done_now(pub.try_send(m)))
                    co_await pub.async_send(std::move(m), use_awaitable);
                timer.expires_after(std::chrono::milliseconds(1));
                co_await timer.async_wait(use_awaitable);
            }
        };
        co_await send_until(warmed, 'W');
        const zmtp::message data = marked('D', j.size);
        start = clock::now();
        for (std::size_t i = 0; i < j.messages; ++i) {
            zmtp::message m = data; // shares the body, as PUB shares it with every peer
            if (!j.try_first || !done_now(pub.try_send(m)))
                co_await pub.async_send(std::move(m), use_awaitable);
        }
        co_await send_until(finished, 'E');
    }, finisher(done));

    threads.start();
    sample s = wait_and_stop(done, threads);
    if (!s.ok)
        return s;
    std::size_t delivered = 0;
    clock::time_point end = start;
    for (std::size_t k = 0; k < subscribers; ++k) {
        delivered += counts[k];
        end = std::max(end, ends[k]);
    }
    set_fan_out(s, j, delivered, end - start);
    return s;
}

sample idle_memory(const job& j)
{
    io_threads threads;
    auto& io = threads.add();
    zmtp::socket pull(io, zmtp::socket_type::pull);
    const std::string ep = pull.bind(endpoint(j, "zmtp-idle"));
    countdown done(1);
    const long before = peak_rss_kb();

    std::vector<zmtp::socket> pushes;
    pushes.reserve(j.messages);
    for (std::size_t i = 0; i < j.messages; ++i) {
        pushes.emplace_back(io, zmtp::socket_type::push);
        pushes.back().connect(ep);
        // One message each, so that every connection is seen to be up.
        pushes.back().async_send(marked('W', 1), [](error_code) {});
    }
    net::co_spawn(pull.get_executor(), [&]() -> net::awaitable<void> {
        zmtp::message m;
        for (std::size_t i = 0; i < j.messages; ++i)
            if (!j.try_first || !done_now(pull.try_receive(m)))
                m = co_await pull.async_receive(use_awaitable);
    }, finisher(done));

    threads.start();
    const bool finished = done.wait_for(run_limit);
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // let the connections go idle
    const long after = peak_rss_kb();
    threads.stop();
    sample s;
    if (!finished)
        fail(s, "timed out");
    else if (auto e = done.error(); !e.empty())
        fail(s, e);
    else {
        s.ok = true;
        s.peak_rss_kb = static_cast<double>(after - before) / static_cast<double>(j.messages);
    }
    return s;
}

// A fresh PUSH socket connects to the PULL server, completes its handshake
// and delivers one message, then closes; again and again for j.duration.
// The server and the clients run on threads of their own.
sample handshakes(const job& j)
{
    io_threads threads;
    auto& server_io = threads.add();
    auto& client_io = threads.add();
    zmtp::socket pull(server_io, zmtp::socket_type::pull);
    zmtp::socket_options client_options;
    client_options.linger = std::chrono::milliseconds(0);
    secure(j, pull.options(), client_options);
    const std::string ep = pull.bind(endpoint(j, "zmtp-hs"));
    std::size_t count = 0;
    clock::time_point start{}, end{};
    countdown done(1);

    net::co_spawn(pull.get_executor(), [&]() -> net::awaitable<void> {
        start = clock::now();
        zmtp::message m;
        do {
            zmtp::socket push(client_io, zmtp::socket_type::push);
            // Options and connect belong on the client's own executor.
            co_await net::co_spawn(push.get_executor(), [&]() -> net::awaitable<void> {
                push.options() = client_options;
                push.connect(ep);
                zmtp::message hello = marked('H', 1);
                if (!j.try_first || !done_now(push.try_send(hello)))
                    co_await push.async_send(std::move(hello), use_awaitable);
            }, use_awaitable);
            if (!j.try_first || !done_now(pull.try_receive(m)))
                m = co_await pull.async_receive(use_awaitable);
            ++count;
            end = clock::now();
        } while (end - start < j.duration);
    }, finisher(done));

    threads.start();
    sample s = wait_and_stop(done, threads);
    if (s.ok)
        set_rate(s, count, 0, end - start);
    return s;
}

} // namespace

sample run_zmtp(const job& j)
{
    switch (j.what) {
    case scenario::push_pull:
    case scenario::multipart: return throughput(j);
    case scenario::req_rep: return latency(j);
    case scenario::pub_sub: return fan_out(j);
    case scenario::idle_memory: return idle_memory(j);
    case scenario::handshake: return handshakes(j);
    }
    throw std::logic_error("unknown scenario");
}

} // namespace bench
