// SPDX-License-Identifier: MPL-2.0
// memory_stream on its own (partial reads and writes, a full buffer,
// close and eof, cancellation, two threads, an io_context destroyed under
// a waiting read), connection<memory_stream>, then sockets over
// inproc://: every pair with either side binding, bind before and after
// connect, four threads, names taken, unbound, rebound, CURVE.
#include "zmtp/asio/memory_stream.hpp"

#include "zmtp/asio/connection.hpp"
#include "zmtp/asio/endpoint.hpp"
#include "zmtp/security/curve_keys.hpp"
#include "zmtp/socket.hpp"

#include "helpers.hpp"
#include "socket_ends.hpp"

#include <doctest/doctest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace zmtp;
using namespace zmtp::asio_test;
using asio::make_memory_stream_pair;
using asio::memory_stream;

namespace {

struct io_result {
    std::optional<error_code> ec;
    std::size_t n = 0;

    auto handler()
    {
        return [this](error_code e, std::size_t count) {
            ec = e;
            n = count;
        };
    }
    bool done() const { return ec.has_value(); }
};

std::vector<char> patterned(std::size_t size, unsigned seed)
{
    std::vector<char> v(size);
    for (std::size_t i = 0; i < size; ++i)
        v[i] = static_cast<char>((i * 131 + seed + (i >> 12)) & 0xff);
    return v;
}

} // namespace

TEST_CASE("memory_stream: a read takes what is there, in pieces as small as its buffer")
{
    net::io_context io;
    auto [a, b] = make_memory_stream_pair(io.get_executor());
    io_result w;
    a.async_write_some(net::buffer(std::string_view("0123456789")), w.handler());
    REQUIRE(run_until(io, [&] { return w.done(); }));
    CHECK(!*w.ec);
    CHECK(w.n == 10);
    CHECK(b.available() == 10);

    std::vector<char> small(4);
    for (const std::string expected : {"0123", "4567", "89"}) {
        io_result r;
        b.async_read_some(net::buffer(small), r.handler());
        REQUIRE(run_until(io, [&] { return r.done(); }));
        CHECK(!*r.ec);
        CHECK(text_of(small, r.n) == expected);
    }
    CHECK(b.available() == 0);

    // Scatter and gather: three buffers out, two in.
    const std::array<net::const_buffer, 3> out{net::buffer("ab", 2), net::buffer("", 0),
                                               net::buffer("cdefg", 5)};
    io_result w2;
    a.async_write_some(out, w2.handler());
    std::vector<char> first(3), second(10);
    const std::array<net::mutable_buffer, 2> in{net::buffer(first), net::buffer(second)};
    io_result r2;
    b.async_read_some(in, r2.handler());
    REQUIRE(run_until(io, [&] { return w2.done() && r2.done(); }));
    CHECK(w2.n == 7);
    CHECK(r2.n == 7);
    CHECK(text_of(first, 3) == "abc");
    CHECK(text_of(second, 4) == "defg");
}

TEST_CASE("memory_stream: a waiting read gets the next write directly; empty operations complete at once")
{
    net::io_context io;
    auto [a, b] = make_memory_stream_pair(io.get_executor());
    std::vector<char> buf(16);
    io_result r;
    b.async_read_some(net::buffer(buf), r.handler());
    run_for(io, 20ms);
    CHECK_FALSE(r.done()); // nothing to read yet

    io_result empty_write, empty_read;
    a.async_write_some(net::const_buffer(), empty_write.handler());
    b.async_read_some(net::mutable_buffer(), empty_read.handler());
    REQUIRE(run_until(io, [&] { return empty_write.done() && empty_read.done(); }));
    CHECK(empty_write.n == 0);
    CHECK(empty_read.n == 0);
    CHECK_FALSE(r.done());

    io_result w;
    a.async_write_some(net::buffer(std::string_view("hello")), w.handler());
    REQUIRE(run_until(io, [&] { return w.done() && r.done(); }));
    CHECK(text_of(buf, r.n) == "hello");
    CHECK(b.available() == 0);

    // A second read while one waits is refused.
    io_result r1, r2;
    b.async_read_some(net::buffer(buf), r1.handler());
    b.async_read_some(net::buffer(buf), r2.handler());
    REQUIRE(run_until(io, [&] { return r2.done(); }));
    CHECK(*r2.ec == net::error::in_progress);
    CHECK_FALSE(r1.done());
    b.cancel();
    REQUIRE(run_until(io, [&] { return r1.done(); }));
    CHECK(*r1.ec == net::error::operation_aborted);
}

TEST_CASE("memory_stream: writes beyond the capacity wait for the reader; nothing is lost or reordered")
{
    net::io_context io;
    auto [a, b] = make_memory_stream_pair(io.get_executor(), 1000);

    // No reader: a write takes what fits, the next one waits.
    const auto big = patterned(5000, 1);
    io_result w1;
    a.async_write_some(net::buffer(big), w1.handler());
    REQUIRE(run_until(io, [&] { return w1.done(); }));
    CHECK(w1.n == 1000);
    CHECK(b.available() == 1000);
    io_result w2;
    a.async_write_some(net::buffer(big.data() + 1000, 4000), w2.handler());
    run_for(io, 20ms);
    CHECK_FALSE(w2.done());

    // A read makes room: the waiting write moves on (partly into the
    // reader's buffer, the rest into the freed space).
    std::vector<char> got(1500);
    io_result r;
    b.async_read_some(net::buffer(got), r.handler());
    REQUIRE(run_until(io, [&] { return r.done() && w2.done(); }));
    CHECK(r.n == 1500);
    CHECK(w2.n == 1500); // 500 into the read, 1000 into the buffer
    CHECK(b.available() == 1000);
    CHECK(std::equal(got.begin(), got.end(), big.begin()));

    // 4 MiB through a 1000-byte buffer with composed operations, both ways.
    const auto there = patterned(4 << 20, 2);
    const auto back = patterned(3 << 20, 3);
    std::vector<char> rest(1000); // what is buffered: 2500 written, 1500 read
    io_result drain;
    net::async_read(b, net::buffer(rest), drain.handler());
    REQUIRE(run_until(io, [&] { return drain.done(); }));
    REQUIRE(!*drain.ec);
    CHECK(std::equal(rest.begin(), rest.end(), big.begin() + 1500));

    std::vector<char> got_there(there.size()), got_back(back.size());
    io_result wa, wb, ra, rb;
    net::async_write(a, net::buffer(there), wa.handler());
    net::async_write(b, net::buffer(back), wb.handler());
    net::async_read(b, net::buffer(got_there), rb.handler());
    net::async_read(a, net::buffer(got_back), ra.handler());
    REQUIRE(run_until(io, [&] { return wa.done() && wb.done() && ra.done() && rb.done(); }, 20s));
    CHECK(!*wa.ec);
    CHECK(!*rb.ec);
    CHECK(got_there == there);
    CHECK(got_back == back);
}

TEST_CASE("memory_stream: close — the other end reads what was written, then eof; its writes fail")
{
    net::io_context io;
    auto [a, b] = make_memory_stream_pair(io.get_executor(), 8);
    std::vector<char> buf(64);
    io_result a_read;
    a.async_read_some(net::buffer(buf), a_read.handler());
    io_result w1, w2;
    a.async_write_some(net::buffer(std::string_view("last words")), w1.handler());
    REQUIRE(run_until(io, [&] { return w1.done(); }));
    CHECK(w1.n == 8);
    a.async_write_some(net::buffer(std::string_view("ds")), w2.handler());
    run_for(io, 10ms);
    CHECK_FALSE(w2.done()); // waiting for room
    a.close();
    CHECK_FALSE(a.is_open());
    CHECK(b.is_open());
    REQUIRE(run_until(io, [&] { return a_read.done() && w2.done(); }));
    CHECK(*a_read.ec == net::error::operation_aborted);
    CHECK(*w2.ec == net::error::operation_aborted);

    io_result r1;
    b.async_read_some(net::buffer(buf), r1.handler());
    REQUIRE(run_until(io, [&] { return r1.done(); }));
    CHECK(!*r1.ec);
    CHECK(text_of(buf, r1.n) == "last wor");
    io_result r2;
    b.async_read_some(net::buffer(buf), r2.handler());
    REQUIRE(run_until(io, [&] { return r2.done(); }));
    CHECK(*r2.ec == net::error::eof);

    io_result bw;
    b.async_write_some(net::buffer(std::string_view("anyone?")), bw.handler());
    REQUIRE(run_until(io, [&] { return bw.done(); }));
    CHECK(*bw.ec == net::error::broken_pipe);

    io_result after;
    a.async_read_some(net::buffer(buf), after.handler());
    REQUIRE(run_until(io, [&] { return after.done(); }));
    CHECK(*after.ec == net::error::bad_descriptor);

    // A read waiting when the other end closes ends with eof; a write
    // waiting for room ends with broken_pipe.
    auto [c, d] = make_memory_stream_pair(io.get_executor(), 4);
    io_result c_read, d_fill, d_wait;
    c.async_read_some(net::buffer(buf), c_read.handler());
    d.async_write_some(net::buffer(std::string_view("abcd")), d_fill.handler());
    REQUIRE(run_until(io, [&] { return c_read.done() && d_fill.done(); }));
    d.async_write_some(net::buffer(std::string_view("abcd")), d_fill.handler());
    REQUIRE(run_until(io, [&] { return d_fill.n == 4; }));
    d.async_write_some(net::buffer(std::string_view("e")), d_wait.handler());
    io_result d_read;
    d.async_read_some(net::buffer(buf), d_read.handler());
    run_for(io, 10ms);
    CHECK_FALSE(d_wait.done());
    { memory_stream gone = std::move(c); } // destroying an end closes it
    REQUIRE(run_until(io, [&] { return d_wait.done() && d_read.done(); }));
    CHECK(*d_wait.ec == net::error::broken_pipe);
    CHECK(*d_read.ec == net::error::eof);
}

TEST_CASE("memory_stream: cancellation through cancel() and through a cancellation slot")
{
    net::io_context io;
    auto [a, b] = make_memory_stream_pair(io.get_executor(), 4);
    std::vector<char> buf(16);

    net::cancellation_signal signal;
    io_result r;
    b.async_read_some(net::buffer(buf), net::bind_cancellation_slot(signal.slot(), r.handler()));
    run_for(io, 10ms);
    CHECK_FALSE(r.done());
    signal.emit(net::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return r.done(); }));
    CHECK(*r.ec == net::error::operation_aborted);

    // The stream goes on; a late signal for the finished read does nothing.
    io_result r2, w;
    b.async_read_some(net::buffer(buf), r2.handler());
    signal.emit(net::cancellation_type::terminal);
    a.async_write_some(net::buffer(std::string_view("ok")), w.handler());
    REQUIRE(run_until(io, [&] { return r2.done() && w.done(); }));
    CHECK(!*r2.ec);
    CHECK(text_of(buf, r2.n) == "ok");

    // A write waiting for room, cancelled: none of its bytes arrive.
    io_result fill, waiting;
    a.async_write_some(net::buffer(std::string_view("1234")), fill.handler());
    REQUIRE(run_until(io, [&] { return fill.done(); }));
    net::cancellation_signal wsignal;
    a.async_write_some(net::buffer(std::string_view("5678")),
                       net::bind_cancellation_slot(wsignal.slot(), waiting.handler()));
    run_for(io, 10ms);
    CHECK_FALSE(waiting.done());
    wsignal.emit(net::cancellation_type::partial);
    REQUIRE(run_until(io, [&] { return waiting.done(); }));
    CHECK(*waiting.ec == net::error::operation_aborted);
    CHECK(waiting.n == 0);
    io_result r3;
    b.async_read_some(net::buffer(buf), r3.handler());
    REQUIRE(run_until(io, [&] { return r3.done(); }));
    CHECK(text_of(buf, r3.n) == "1234");
    CHECK(b.available() == 0);
}

TEST_CASE("memory_stream: ends on two io_contexts, each on its own thread, complete there")
{
    net::io_context io_a, io_b;
    auto work_a = net::make_work_guard(io_a);
    auto work_b = net::make_work_guard(io_b);
    auto strand_a = net::make_strand(io_a);
    auto [a, b] = make_memory_stream_pair(strand_a, io_b.get_executor(), 64 * 1024);

    const auto a_to_b = patterned(16 << 20, 4);
    const auto b_to_a = patterned(16 << 20, 5);
    std::vector<char> got_b(a_to_b.size()), got_a(b_to_a.size());
    std::atomic<int> finished{0};
    std::atomic<bool> wrong_thread{false};
    std::atomic<bool> failed{false};
    // A completion handler that checks it runs on its end's executor.
    auto on = [&](auto executor) {
        return [&, executor](error_code ec, std::size_t) {
            if (ec)
                failed = true;
            if (!executor.running_in_this_thread())
                wrong_thread = true;
            ++finished;
        };
    };
    std::thread ta([&] { io_a.run(); });
    std::thread tb([&] { io_b.run(); });
    net::post(strand_a, [&, &a = a] {
        net::async_write(a, net::buffer(a_to_b), on(strand_a));
        net::async_read(a, net::buffer(got_a), on(strand_a));
    });
    net::post(io_b, [&, &b = b] {
        net::async_write(b, net::buffer(b_to_a), on(io_b.get_executor()));
        net::async_read(b, net::buffer(got_b), on(io_b.get_executor()));
    });
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (finished < 4 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    work_a.reset();
    work_b.reset();
    io_a.stop();
    io_b.stop();
    ta.join();
    tb.join();
    REQUIRE(finished == 4);
    CHECK_FALSE(failed);
    CHECK_FALSE(wrong_thread);
    CHECK(got_b == a_to_b);
    CHECK(got_a == b_to_a);
}

TEST_CASE("memory_stream: a waiting read is work; destroying its io_context destroys the handler")
{
    auto token = std::make_shared<int>(0);
    net::io_context other;
    std::optional<memory_stream> a_end, b_end;
    std::vector<char> buf(8);
    {
        net::io_context io;
        auto [a, b] = make_memory_stream_pair(io.get_executor(), other.get_executor());
        a.async_read_some(net::buffer(buf), [token](error_code, std::size_t) {});
        // run_for() returns for lack of work only: the read holds it.
        io.run_for(20ms);
        CHECK_FALSE(io.stopped());
        CHECK(token.use_count() == 2);
        // Both ends outlive io: its handler can only go with io.
        a_end.emplace(std::move(a));
        b_end.emplace(std::move(b));
    }
    CHECK(token.use_count() == 1);
    CHECK_FALSE(a_end->is_open());
    io_result r;
    b_end->async_read_some(net::buffer(buf), r.handler());
    REQUIRE(run_until(other, [&] { return r.done(); }));
    CHECK(*r.ec == net::error::eof);
}

TEST_CASE("connection<memory_stream>: the standard message set both ways, then a close")
{
    net::io_context io;
    // A small buffer: large frames cross it in many pieces.
    auto [x, y] = make_memory_stream_pair(io.get_executor(), 4096);
    asio::connection<memory_stream> a(options_for(socket_type::dealer), std::move(x));
    asio::connection<memory_stream> b(options_for(socket_type::router), std::move(y));
    exchange_standard(io, a, b);

    a.close();
    std::optional<error_code> r;
    message m;
    b.async_read(m, [&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }));
    CHECK(*r == zmtp::error::connection_closed);
}

// ------------------------------------------------------------------ sockets

namespace {

using namespace zmtp::socket_test;

bool has_event(const std::vector<monitor_event>& events, monitor_event_type t, const std::string& endpoint)
{
    return std::any_of(events.begin(), events.end(), [&](const monitor_event& e) {
        return e.type == t && e.endpoint == endpoint;
    });
}

} // namespace

TEST_CASE("inproc endpoints: any non-empty name")
{
    const auto e = asio::parse_endpoint("inproc://a name/with:anything");
    CHECK(e.kind == asio::endpoint::transport::inproc);
    CHECK(e.name == "a name/with:anything");
    CHECK(e.to_string() == "inproc://a name/with:anything");
    CHECK_THROWS_AS(asio::parse_endpoint("inproc://"), asio::endpoint_error);
    CHECK_THROWS_AS(asio::parse_endpoint("tls+inproc://x"), asio::endpoint_error);
}

TEST_CASE("inproc: every compatible pair, either side binding, the bind before or after the connect")
{
    for (const pattern_case& p : all_patterns())
        for (const bool a_binds : {true, false})
            for (const bool bind_first : {true, false}) {
                const std::string name = std::string(p.name) + ": " +
                                         std::string(to_string(a_binds ? p.a : p.b)) + " binds" +
                                         (p.a != p.b ? "" : a_binds ? " (1st)" : " (2nd)") +
                                         (bind_first ? ", first" : ", after the connect");
                SUBCASE(name.c_str())
                {
                    // Each socket on its own io_context and thread.
                    io_thread iot_a, iot_b;
                    zmtp_end a(iot_a.io, p.a, p.a_routing_id);
                    zmtp_end b(iot_b.io, p.b, p.b_routing_id);
                    zmtp_end& binder = a_binds ? a : b;
                    zmtp_end& other = a_binds ? b : a;
                    if (bind_first) {
                        other.connect(binder.bind("inproc"));
                    } else {
                        const std::string ep = inproc_endpoint();
                        other.connect(ep);
                        std::this_thread::sleep_for(10ms); // the connect waits meanwhile
                        on(binder.socket(), [&] { return binder.socket().bind(ep); });
                    }
                    p.talk(a, b);
                }
            }
}

TEST_CASE("inproc: messages sent before the bind are delivered once it comes")
{
    io_thread iot;
    zmtp_end push(iot.io, socket_type::push);
    monitor_log push_log(push);
    const std::string ep = inproc_endpoint();
    push.connect(ep);
    for (int i = 0; i < 3; ++i)
        REQUIRE(push.send({"early-" + std::to_string(i)}));
    zmtp_end pull(iot.io, socket_type::pull);
    monitor_log pull_log(pull);
    CHECK(on(pull.socket(), [&] { return pull.socket().bind(ep); }) == ep);
    for (int i = 0; i < 3; ++i)
        CHECK(pull.recv() == frames{"early-" + std::to_string(i)});

    // The monitors report as over tcp, with the inproc endpoint.
    const auto pushed = push_log.events();
    CHECK(has_event(pushed, monitor_event_type::connect_delayed, ep));
    CHECK(has_event(pushed, monitor_event_type::connected, ep));
    CHECK(has_event(pushed, monitor_event_type::handshake_succeeded, ep));
    REQUIRE(eventually([&] {
        return has_event(pull_log.events(), monitor_event_type::handshake_succeeded, ep);
    }));
    const auto pulled = pull_log.events();
    CHECK(has_event(pulled, monitor_event_type::listening, ep));
    CHECK(has_event(pulled, monitor_event_type::accepted, ep));
}

// An io_context run by `n` threads for as long as this lives.
class io_pool {
public:
    explicit io_pool(int n) : work_(net::make_work_guard(io))
    {
        for (int i = 0; i < n; ++i)
            threads_.emplace_back([this] { io.run(); });
    }
    ~io_pool()
    {
        drained(1s);
        io.stop();
        for (auto& t : threads_)
            t.join();
    }
    io_pool(const io_pool&) = delete;
    io_pool& operator=(const io_pool&) = delete;

    // Lets the io_context run out of work; true if it did within `limit`.
    bool drained(std::chrono::milliseconds limit)
    {
        work_.reset();
        return eventually([&] { return io.stopped(); }, limit);
    }

    net::io_context io;

private:
    net::executor_work_guard<net::io_context::executor_type> work_;
    std::vector<std::thread> threads_;
};

TEST_CASE("inproc: 10,000 messages each way between two sockets on an io_context run by 4 threads")
{
    constexpr int count = 10'000;
    std::promise<std::string> results[4];
    io_pool pool(4);
    {
        zmtp::socket a(pool.io, socket_type::dealer);
        zmtp::socket b(pool.io, socket_type::dealer);
        const std::string ep = inproc_endpoint();
        on(a, [&] { return a.bind(ep); });
        on(b, [&] { b.connect(ep); });

        // Every 500th message is large, so that the stream's buffer fills.
        auto sender = [](zmtp::socket& s, std::string tag) -> net::awaitable<std::string> {
            for (int i = 0; i < count; ++i) {
                message m;
                m.emplace_back(tag + std::to_string(i));
                if (i % 500 == 0)
                    m.emplace_back(std::string(300'000, 'L'));
                co_await s.async_send(std::move(m), net::use_awaitable);
            }
            co_return std::string();
        };
        auto receiver = [](zmtp::socket& s, std::string tag) -> net::awaitable<std::string> {
            for (int i = 0; i < count; ++i) {
                message m = co_await s.async_receive(net::use_awaitable);
                const std::string want = tag + std::to_string(i);
                if (m.empty() || m[0].str() != want)
                    co_return "expected " + want + ", got " + (m.empty() ? std::string("nothing") : m[0].str());
                if ((i % 500 == 0) != (m.size() == 2))
                    co_return "message " + want + " has " + std::to_string(m.size()) + " frames";
            }
            co_return std::string();
        };
        auto report = [](std::promise<std::string>& p) {
            return [&p](std::exception_ptr e, std::string failure) {
                if (e)
                    failure = "exception";
                p.set_value(std::move(failure));
            };
        };
        net::co_spawn(a.get_executor(), sender(a, "a"), report(results[0]));
        net::co_spawn(b.get_executor(), sender(b, "b"), report(results[1]));
        net::co_spawn(a.get_executor(), receiver(a, "b"), report(results[2]));
        net::co_spawn(b.get_executor(), receiver(b, "a"), report(results[3]));
        for (auto& r : results) {
            auto f = r.get_future();
            REQUIRE(f.wait_for(60s) == std::future_status::ready);
            CHECK(f.get() == "");
        }
    }
    // The sockets' closes run on the threads; then nothing is left to run
    // (no stream operation is left waiting).
    CHECK(pool.drained(5s));
}

TEST_CASE("inproc: a name is bound once; unbound, it can be bound again")
{
    io_thread iot;
    zmtp_end pull1(iot.io, socket_type::pull);
    zmtp_end pull2(iot.io, socket_type::pull);
    monitor_log log2(pull2);
    const std::string ep = pull1.bind("inproc");

    auto bind = [](zmtp_end& e, const std::string& where) {
        error_code ec;
        on(e.socket(), [&] { e.socket().bind(where, ec); });
        return ec;
    };
    CHECK(bind(pull2, ep) == net::error::address_in_use);
    CHECK(bind(pull1, ep) == net::error::address_in_use);
    const auto events = log2.events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == monitor_event_type::bind_failed);
    CHECK(events[0].reason.find("bound already") != std::string::npos);
    CHECK(bind(pull2, "inproc://") == zmtp::error::invalid_argument);

    zmtp_end push1(iot.io, socket_type::push);
    push1.connect(ep);
    REQUIRE(push1.send({"one"}));
    CHECK(pull1.recv() == frames{"one"});

    error_code ec;
    on(pull1.socket(), [&] { pull1.socket().unbind(ep, ec); });
    REQUIRE_FALSE(ec);
    CHECK_FALSE(bind(pull2, ep));
    zmtp_end push2(iot.io, socket_type::push);
    push2.connect(ep);
    REQUIRE(push2.send({"two"}));
    CHECK(pull2.recv() == frames{"two"});
    // As over tcp, unbinding keeps the connections made.
    REQUIRE(push1.send({"three"}));
    CHECK(pull1.recv() == frames{"three"});
    CHECK_FALSE(pull2.recv(50ms));

    on(pull2.socket(), [&] { pull2.socket().unbind(ep, ec); });
    REQUIRE_FALSE(ec);
    CHECK_FALSE(bind(pull1, ep));
}

TEST_CASE("inproc: a connector whose binder closed waits for the next bind of the name")
{
    io_thread iot;
    zmtp_end push(iot.io, socket_type::push);
    push.configure([](socket_options& o) { o.reconnect_ivl = 10ms; });
    const std::string ep = inproc_endpoint();
    auto pull = std::make_unique<zmtp_end>(iot.io, socket_type::pull);
    on(pull->socket(), [&] { return pull->socket().bind(ep); });
    push.connect(ep);
    REQUIRE(push.send({"first"}));
    CHECK(pull->recv() == frames{"first"});
    pull.reset();
    REQUIRE(eventually([&] { return push.stats().peers == 0; }));
    // Sent while no one is bound: queued for the next binder.
    REQUIRE(push.send({"second"}));
    pull = std::make_unique<zmtp_end>(iot.io, socket_type::pull);
    on(pull->socket(), [&] { return pull->socket().bind(ep); });
    CHECK(pull->recv() == frames{"second"});
}

TEST_CASE("inproc: a connect closed before the bind leaves nothing behind")
{
    io_thread iot;
    const std::string ep = inproc_endpoint();
    {
        zmtp_end gone(iot.io, socket_type::push);
        gone.connect(ep);
        error_code ec;
        on(gone.socket(), [&] { gone.socket().disconnect(ep, ec); });
        CHECK_FALSE(ec);
        zmtp_end closed(iot.io, socket_type::push);
        closed.connect(ep);
    }
    zmtp_end pull(iot.io, socket_type::pull);
    on(pull.socket(), [&] { return pull.socket().bind(ep); });
    CHECK_FALSE(eventually([&] { return pull.stats().peers > 0; }, 200ms));
}

TEST_CASE("inproc: CURVE, with the client key checked and the User-Id on messages")
{
    const auto server_keys = security::generate_curve_key_pair();
    const auto client_keys = security::generate_curve_key_pair();
    io_thread iot;
    zmtp_end rep(iot.io, socket_type::rep);
    rep.configure([&](socket_options& o) {
        o.curve_server = true;
        o.curve_secretkey = server_keys.secret_key;
        o.authenticator = security::authenticators::curve_keys({client_keys.public_key});
    });
    monitor_log server_log(rep);
    const std::string ep = rep.bind("inproc");
    zmtp_end req(iot.io, socket_type::req);
    req.configure([&](socket_options& o) {
        o.curve_serverkey = server_keys.public_key;
        o.curve_secretkey = client_keys.secret_key;
    });
    req.connect(ep);
    for (int i = 0; i < 10; ++i) {
        const std::string body = "request-" + std::to_string(i) + std::string(static_cast<std::size_t>(i) * 30'000, 'x');
        REQUIRE(req.send({body}));
        const auto got = rep.recv_message();
        REQUIRE(got);
        CHECK((*got)[0].str() == body);
        CHECK(got->property("User-Id") == security::curve_key_to_z85(client_keys.public_key));
        REQUIRE(rep.send({"reply-" + std::to_string(i)}));
        CHECK(req.recv() == frames{"reply-" + std::to_string(i)});
    }

    zmtp_end stranger(iot.io, socket_type::req);
    stranger.configure([&](socket_options& o) { o.curve_serverkey = server_keys.public_key; });
    monitor_log stranger_log(stranger);
    stranger.connect(ep);
    REQUIRE(stranger.send({"let me in"}));
    const auto reason = stranger_log.failure();
    REQUIRE(reason);
    CHECK(reason->find("client key not allowed") != std::string::npos);
    CHECK_FALSE(rep.recv(200ms));
}
