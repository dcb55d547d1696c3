// SPDX-License-Identifier: MPL-2.0
// Socket tests written once for any two ends: an `end` sends and receives
// messages as lists of strings with bounded waits, whether it is a
// zmtp::socket (zmtp_end, here) or a libzmq socket (test/interop). The
// conversations below check one compatible socket pair each; the matrix
// tests run them over every transport, binding side and implementation.
//
// A zmtp_end's socket runs on an io_thread; the test thread reaches it
// through its strand (on()), so every wait has a deadline.
#pragma once

#include "zmtp/socket.hpp"

#include <doctest/doctest.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace zmtp::socket_test {

namespace net = boost::asio;
using namespace std::chrono_literals;
using frames = std::vector<std::string>;
using error_code = boost::system::error_code;

constexpr std::chrono::milliseconds wait_limit = 5000ms;

// A fresh ipc endpoint path for this process.
inline std::string ipc_endpoint()
{
    static std::atomic<int> n{0};
    return "ipc:///tmp/zmtp-socket-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".sock";
}

// A fresh inproc endpoint name for this process.
inline std::string inproc_endpoint()
{
    static std::atomic<int> n{0};
    return "inproc://socket-test-" + std::to_string(n++);
}

inline message to_message(const frames& f)
{
    message m;
    for (const std::string& s : f)
        m.emplace_back(std::string_view(s));
    return m;
}

inline frames to_frames(const message& m)
{
    frames f;
    for (const frame& fr : m)
        f.push_back(fr.str());
    return f;
}

// An io_context running on its own thread for as long as this lives. On
// destruction it lets closing sockets finish for up to a second.
class io_thread {
public:
    io_thread() : guard_(net::make_work_guard(io)), thread_([this] { io.run(); }) {}
    ~io_thread()
    {
        guard_.reset();
        const auto deadline = std::chrono::steady_clock::now() + 1s;
        while (!io.stopped() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
        io.stop();
        thread_.join();
    }
    io_thread(const io_thread&) = delete;
    io_thread& operator=(const io_thread&) = delete;

    net::io_context io;

private:
    net::executor_work_guard<net::io_context::executor_type> guard_;
    std::thread thread_;
};

// Runs `f` on the socket's strand and returns its result (bounded wait).
template <class F>
auto on(zmtp::socket& s, F f) -> decltype(f())
{
    // Not a std::packaged_task: Asio takes that for a completion token.
    auto task = std::make_shared<std::packaged_task<decltype(f())()>>(std::move(f));
    auto result = task->get_future();
    net::dispatch(s.get_executor(), [task] { (*task)(); });
    if (result.wait_for(wait_limit) != std::future_status::ready)
        throw std::runtime_error("the socket's strand did not run a call within 5 s");
    return result.get();
}

// Polls `done` for up to `limit`.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = wait_limit)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

class end {
public:
    virtual ~end() = default;
    // Binds to a fresh endpoint of `transport` ("tcp", "ipc" or "inproc") and
    // returns the endpoint to connect to.
    virtual std::string bind(const std::string& transport) = 0;
    virtual void connect(const std::string& endpoint) = 0;
    // True once the message is queued (false after 5 s or on error).
    virtual bool send(const frames& m) = 0;
    virtual std::optional<frames> recv(std::chrono::milliseconds limit = wait_limit) = 0;
    // SUB: (un)subscribe. XSUB: send the \x01topic / \x00topic message.
    virtual void subscribe(const std::string& topic, bool on) = 0;
};

class zmtp_end final : public end {
public:
    zmtp_end(net::io_context& io, socket_type t, std::string routing_id = {}) : sock_(io, t)
    {
        configure([&](socket_options& o) { o.routing_id = routing_id; });
    }
    ~zmtp_end() override { sock_.close(); }

    zmtp::socket& socket() noexcept { return sock_; }

    void configure(const std::function<void(socket_options&)>& f)
    {
        on(sock_, [&] { f(sock_.options()); });
    }

    std::string bind(const std::string& transport) override
    {
        const std::string ep = transport == "tcp"      ? std::string("tcp://127.0.0.1:0")
                               : transport == "inproc" ? inproc_endpoint()
                                                       : ipc_endpoint();
        return on(sock_, [&] { return sock_.bind(ep); });
    }

    void connect(const std::string& endpoint) override
    {
        on(sock_, [&] { sock_.connect(endpoint); });
    }

    bool send(const frames& f) override
    {
        auto done = sock_.async_send(to_message(f), net::use_future);
        if (done.wait_for(wait_limit) != std::future_status::ready)
            return false;
        try {
            done.get();
            return true;
        } catch (const std::exception&) {
            return false;
        }
    }

    error_code try_send(const frames& f) { return try_send(to_message(f)); }
    error_code try_send(message m)
    {
        return on(sock_, [&] { return sock_.try_send(m); });
    }

    std::optional<frames> recv(std::chrono::milliseconds limit = wait_limit) override
    {
        auto m = recv_message(limit);
        if (!m)
            return std::nullopt;
        return to_frames(*m);
    }

    // The message itself, with the sender's properties.
    std::optional<message> recv_message(std::chrono::milliseconds limit = wait_limit)
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            message m;
            const error_code ec = on(sock_, [&] { return sock_.try_receive(m); });
            if (!ec)
                return m;
            if (ec != zmtp::error::would_block || std::chrono::steady_clock::now() >= deadline)
                return std::nullopt;
            std::this_thread::sleep_for(1ms);
        }
    }

    void subscribe(const std::string& topic, bool subscribe_on) override
    {
        if (sock_.type() == socket_type::xsub) {
            REQUIRE(send({std::string(1, subscribe_on ? '\x01' : '\x00') + topic}));
            return;
        }
        const error_code ec =
            on(sock_, [&] { return subscribe_on ? sock_.subscribe(topic) : sock_.unsubscribe(topic); });
        REQUIRE_FALSE(ec);
    }

    socket_stats stats() { return on(sock_, [&] { return sock_.stats(); }); }

private:
    zmtp::socket sock_;
};

// Monitor events of one socket, readable from the test thread. The events
// live as long as the socket's monitor needs them (it reports its closing).
using zmtp::asio::monitor_event;
using zmtp::asio::monitor_event_type;

class monitor_log {
public:
    explicit monitor_log(zmtp_end& e)
    {
        on(e.socket(), [&] {
            e.socket().set_monitor([shared = shared_](const monitor_event& ev) {
                std::lock_guard lock(shared->mutex);
                shared->events.push_back(ev);
            });
        });
    }
    // The reason of the first handshake failure, once there is one.
    std::optional<std::string> failure(std::chrono::milliseconds limit = wait_limit)
    {
        std::optional<std::string> reason;
        eventually(
            [&] {
                std::lock_guard lock(shared_->mutex);
                for (const auto& ev : shared_->events)
                    if (ev.type == monitor_event_type::handshake_failed) {
                        reason = ev.reason;
                        return true;
                    }
                return false;
            },
            limit);
        return reason;
    }
    // The events so far.
    std::vector<monitor_event> events() const
    {
        std::lock_guard lock(shared_->mutex);
        return shared_->events;
    }

private:
    struct state {
        std::mutex mutex;
        std::vector<monitor_event> events;
    };
    std::shared_ptr<state> shared_ = std::make_shared<state>();
};

// ------------------------------------------------------------------ conversations

// Sizes around the short/long frame boundary, a large frame, empty frames,
// a multi-frame message, then numbered messages whose order is checked.
inline std::vector<frames> corpus()
{
    std::string big(70000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>(i * 7 % 256);
    std::vector<frames> out = {{""}, {"A"}, {std::string(255, 'b')}, {std::string(256, 'c')}, {big},
                               {"part-one", "", "part-three"}};
    for (int i = 0; i < 20; ++i)
        out.push_back({"msg-" + std::to_string(i)});
    return out;
}

inline void one_way(end& from, end& to)
{
    const auto all = corpus();
    for (const frames& m : all)
        REQUIRE(from.send(m));
    for (std::size_t i = 0; i < all.size(); ++i) {
        INFO("message " << i);
        const auto got = to.recv();
        REQUIRE(got);
        CHECK(*got == all[i]);
    }
}

inline bool is_probe(const frames& m)
{
    return !m.empty() && m[0].size() >= 6 && m[0].compare(m[0].size() - 6, 6, "-probe") == 0;
}

// The next message that is not a synchronisation probe.
inline std::optional<frames> next_real(end& sub, std::chrono::milliseconds limit = wait_limit)
{
    for (;;) {
        auto m = sub.recv(limit);
        if (!m || !is_probe(*m))
            return m;
    }
}

// Publishes `probe` until the subscriber receives it: the subscriptions
// sent before it are then in force at the publisher.
inline bool sync_subscription(end& pub, end& sub, const std::string& probe)
{
    const auto deadline = std::chrono::steady_clock::now() + wait_limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!pub.send({probe}))
            return false;
        if (auto m = sub.recv(20ms); m && m->at(0) == probe)
            return true;
    }
    return false;
}

// PUB/SUB and XPUB/XSUB: two subscriptions filter, multi-frame messages,
// order; after an unsubscribe, its messages stop. An XPUB sees the
// subscriptions as \x01topic / \x00topic messages.
inline void publish_subscribe(end& pub, end& sub, bool xpub)
{
    sub.subscribe("a", true);
    sub.subscribe("b", true);
    REQUIRE(sync_subscription(pub, sub, "b-probe"));
    const std::vector<frames> sent = {{"a1"}, {"x1"}, {"b1", "two", "three"}, {"ab"}, {"c"}, {"a-end"}};
    for (const frames& m : sent)
        REQUIRE(pub.send(m));
    CHECK(next_real(sub) == frames{"a1"});
    CHECK(next_real(sub) == frames{"b1", "two", "three"});
    CHECK(next_real(sub) == frames{"ab"});
    CHECK(next_real(sub) == frames{"a-end"});

    sub.subscribe("a", false);
    sub.subscribe("c", true);
    REQUIRE(sync_subscription(pub, sub, "c-probe"));
    if (xpub) {
        // Read only now: a bound libzmq XSUB passes the subscriptions it
        // replays to a new peer on with its next send, not at once.
        CHECK(pub.recv() == frames{"\x01" "a"});
        CHECK(pub.recv() == frames{"\x01" "b"});
        CHECK(pub.recv() == frames{std::string(1, '\0') + "a"});
        CHECK(pub.recv() == frames{"\x01" "c"});
    }
    REQUIRE(pub.send({"a-late"}));
    REQUIRE(pub.send({"b-final"}));
    CHECK(next_real(sub) == frames{"b-final"});
}

// REQ/REP: requests and replies in lock step; REP sees only the body.
inline void request_reply(end& req, end& rep)
{
    for (int i = 0; i < 5; ++i) {
        const frames request = i == 2 ? frames{"req-2", "", "more"} : frames{"req-" + std::to_string(i)};
        REQUIRE(req.send(request));
        CHECK(rep.recv() == request);
        const frames reply{"rep-" + std::to_string(i), "tail"};
        REQUIRE(rep.send(reply));
        CHECK(req.recv() == reply);
    }
}

// DEALER/ROUTER: the ROUTER sees the DEALER's routing id first and routes
// replies by it.
inline void dealer_router(end& dealer, end& router)
{
    for (int i = 0; i < 5; ++i) {
        const std::string n = std::to_string(i);
        REQUIRE(dealer.send({"d-" + n, "x"}));
        CHECK(router.recv() == frames{"dealer-1", "d-" + n, "x"});
        REQUIRE(router.send({"dealer-1", "r-" + n}));
        CHECK(dealer.recv() == frames{"r-" + n});
    }
}

// DEALER/REP: the DEALER writes the envelope itself; REP strips it,
// including extra hops, and puts it back on the reply.
inline void dealer_rep(end& dealer, end& rep)
{
    for (int i = 0; i < 3; ++i) {
        const std::string n = std::to_string(i);
        REQUIRE(dealer.send({"", "q-" + n}));
        CHECK(rep.recv() == frames{"q-" + n});
        REQUIRE(rep.send({"a-" + n}));
        CHECK(dealer.recv() == frames{"", "a-" + n});
    }
    REQUIRE(dealer.send({"hop-1", "hop-2", "", "q", "q2"}));
    CHECK(rep.recv() == frames{"q", "q2"});
    REQUIRE(rep.send({"a"}));
    CHECK(dealer.recv() == frames{"hop-1", "hop-2", "", "a"});
}

// REQ/ROUTER: the ROUTER sees [id, "", body] and replies the same way.
inline void req_router(end& req, end& router)
{
    for (int i = 0; i < 5; ++i) {
        const std::string n = std::to_string(i);
        REQUIRE(req.send({"q-" + n}));
        CHECK(router.recv() == frames{"req-7", "", "q-" + n});
        REQUIRE(router.send({"req-7", "", "a-" + n, "more"}));
        CHECK(req.recv() == frames{"a-" + n, "more"});
    }
}

// DEALER/DEALER and PAIR/PAIR: the corpus one way, then messages back.
inline void both_ways(end& a, end& b)
{
    one_way(a, b);
    for (int i = 0; i < 5; ++i)
        REQUIRE(b.send({"back-" + std::to_string(i), "x"}));
    for (int i = 0; i < 5; ++i)
        CHECK(a.recv() == frames{"back-" + std::to_string(i), "x"});
}

struct pattern_case {
    const char* name;
    socket_type a;
    socket_type b;
    std::string a_routing_id;
    std::string b_routing_id;
    std::function<void(end& a, end& b)> talk;
};

// Calls `try_send(i)` (one try_send of message number i, returning its
// error) until it has given would_block ten times in a row, 20 ms apart:
// the connection had 200 ms to move whatever the stream still took.
// Returns how many were sent.
template <class TrySend>
int fill_until_blocked(TrySend try_send)
{
    using namespace std::chrono_literals;
    int sent = 0;
    int blocked_tries = 0;
    for (int tries = 0; tries < 2000 && blocked_tries < 10; ++tries) {
        const error_code ec = try_send(sent);
        if (!ec) {
            ++sent;
            blocked_tries = 0;
            std::this_thread::sleep_for(2ms);
        } else {
            REQUIRE(ec == zmtp::error::would_block);
            ++blocked_tries;
            std::this_thread::sleep_for(20ms);
        }
    }
    REQUIRE(blocked_tries == 10);
    return sent;
}

inline std::vector<pattern_case> all_patterns()
{
    using st = socket_type;
    return {
        {"push/pull", st::push, st::pull, {}, {}, [](end& a, end& b) { one_way(a, b); }},
        {"pub/sub", st::pub, st::sub, {}, {}, [](end& a, end& b) { publish_subscribe(a, b, false); }},
        {"xpub/xsub", st::xpub, st::xsub, {}, {}, [](end& a, end& b) { publish_subscribe(a, b, true); }},
        {"req/rep", st::req, st::rep, {}, {}, request_reply},
        {"dealer/router", st::dealer, st::router, "dealer-1", {}, dealer_router},
        {"dealer/rep", st::dealer, st::rep, {}, {}, dealer_rep},
        {"req/router", st::req, st::router, "req-7", {}, req_router},
        {"dealer/dealer", st::dealer, st::dealer, {}, {}, both_ways},
        {"pair/pair", st::pair, st::pair, {}, {}, both_ways},
    };
}

} // namespace zmtp::socket_test
