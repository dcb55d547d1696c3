// SPDX-License-Identifier: MPL-2.0
// connection<Stream> over the in-memory test stream: the message set at
// every kind of split, each completion token, write coalescing, writes held
// until the handshake completes, and the zero-copy read path.
#include "zmtp/asio/connection.hpp"

#include "helpers.hpp"
#include "test_stream.hpp"

#include <doctest/doctest.h>

#include <boost/asio/deferred.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <thread>

using namespace zmtp;
using namespace zmtp::asio_test;
using zmtp::test::make_test_stream_pair;
using zmtp::test::test_stream;
using zmtp::test::test_stream_options;
using conn = zmtp::asio::connection<test_stream>;

namespace {

struct pair_fixture {
    explicit pair_fixture(test_stream_options o = {}, codec_options oa = options_for(),
                          codec_options ob = options_for())
    {
        auto sa_sb = make_test_stream_pair(io, o);
        auto& sa = sa_sb.first;
        auto& sb = sa_sb.second;
        a.emplace(std::move(oa), std::move(sa));
        b.emplace(std::move(ob), std::move(sb));
    }
    net::io_context io;
    std::optional<conn> a;
    std::optional<conn> b;

    // Both handshakes, with callbacks.
    void handshake()
    {
        std::optional<error_code> ra, rb;
        a->async_handshake([&](error_code ec) { ra = ec; });
        b->async_handshake([&](error_code ec) { rb = ec; });
        REQUIRE(run_until(io, [&] { return ra && rb; }));
        REQUIRE(!*ra);
        REQUIRE(!*rb);
    }
};

} // namespace

TEST_CASE("message set over the test stream, cut at random points")
{
    for (std::uint32_t seed : {1u, 2u, 3u, 4u}) {
        CAPTURE(seed);
        test_stream_options o;
        o.seed = seed;
        o.max_read = seed % 2 ? test_stream_options::unlimited : 700;
        o.max_write = seed % 2 ? 5000 : test_stream_options::unlimited;
        pair_fixture f(o);
        exchange_standard(f.io, *f.a, *f.b);
    }
}

TEST_CASE("message set over the test stream, one byte per read and per write")
{
    test_stream_options o;
    o.max_read = 1;
    o.max_write = 1;
    pair_fixture f(o);
    // 1 MiB one byte at a time is slow under sanitizers and load: what is
    // checked is that bytes keep moving, not how fast.
    exchange_standard(f.io, *f.a, *f.b, /*both_ways=*/false, 10'000ms, [&] {
        return f.b->next_layer().bytes_read() + f.a->next_layer().bytes_written();
    });
    // Every byte moved in its own operation.
    CHECK(f.b->next_layer().read_ops() >= f.b->next_layer().bytes_read());
    CHECK(f.a->next_layer().write_ops() == f.a->next_layer().bytes_written());
    CHECK(f.a->next_layer().bytes_written() > 1024 * 1024);
}

TEST_CASE("completion token: callback")
{
    pair_fixture f;
    f.handshake();
    std::optional<error_code> wrote;
    std::optional<error_code> read;
    message got;
    f.a->async_write(message{"hello", "world"}, [&](error_code ec) { wrote = ec; });
    f.b->async_read(got, [&](error_code ec) { read = ec; });
    // Nothing completes inside the initiating call.
    CHECK(!wrote);
    CHECK(!read);
    REQUIRE(run_until(f.io, [&] { return wrote && read; }));
    CHECK(!*wrote);
    CHECK(!*read);
    CHECK(got == message{"hello", "world"});
}

TEST_CASE("completion token: use_awaitable")
{
    pair_fixture f;
    outcome oa, ob;
    message got;
    net::co_spawn(
        f.io,
        [&]() -> net::awaitable<void> {
            co_await f.a->async_handshake(net::use_awaitable);
            message m{"ping"}; // (GCC 12: no braced temporaries inside co_await)
            co_await f.a->async_write(std::move(m), net::use_awaitable);
        },
        oa.handler());
    net::co_spawn(
        f.io,
        [&]() -> net::awaitable<void> {
            co_await f.b->async_read(got, net::use_awaitable); // handshakes first
            // An error surfaces as an exception carrying the zmtp code.
            f.a->close();
            try {
                message none;
                co_await f.b->async_read(none, net::use_awaitable);
                throw std::runtime_error("read after the peer closed succeeded");
            } catch (const boost::system::system_error& e) {
                if (e.code() != zmtp::error::connection_closed)
                    throw std::runtime_error("unexpected error " + e.code().message());
            }
        },
        ob.handler());
    REQUIRE(run_until(f.io, [&] { return oa.finished && ob.finished; }));
    CHECK_MESSAGE(oa.failure.empty(), oa.failure);
    CHECK_MESSAGE(ob.failure.empty(), ob.failure);
    CHECK(got == message{"ping"});
}

TEST_CASE("completion token: use_future, io_context on another thread")
{
    pair_fixture f;
    auto guard = net::make_work_guard(f.io);
    std::thread runner([&] { f.io.run(); });
    struct stop_and_join {
        net::io_context& io;
        std::thread& t;
        ~stop_and_join()
        {
            io.stop();
            t.join();
        }
    } joiner{f.io, runner};

    // The connection is not thread-safe: initiate on the io thread and hand
    // the use_future future back.
    auto on_io = [&](auto initiate) {
        auto outer = net::post(f.io, net::use_future(std::move(initiate)));
        REQUIRE(outer.wait_for(2s) == std::future_status::ready);
        return outer.get();
    };
    auto ha = on_io([&] { return f.a->async_handshake(net::use_future); });
    auto hb = on_io([&] { return f.b->async_handshake(net::use_future); });
    REQUIRE(ha.wait_for(2s) == std::future_status::ready);
    REQUIRE(hb.wait_for(2s) == std::future_status::ready);
    CHECK_NOTHROW(ha.get());
    CHECK_NOTHROW(hb.get());

    message got;
    auto w = on_io([&] { return f.a->async_write(message{"future"}, net::use_future); });
    auto r = on_io([&] { return f.b->async_read(got, net::use_future); });
    REQUIRE(w.wait_for(2s) == std::future_status::ready);
    REQUIRE(r.wait_for(2s) == std::future_status::ready);
    CHECK_NOTHROW(w.get());
    CHECK_NOTHROW(r.get());
    CHECK(got == message{"future"});

    // An error is the future's exception.
    message none;
    auto failed = on_io([&] {
        f.a->close();
        return f.b->async_read(none, net::use_future);
    });
    REQUIRE(failed.wait_for(2s) == std::future_status::ready);
    try {
        failed.get();
        FAIL("read after the peer closed succeeded");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == zmtp::error::connection_closed);
    }

    auto closed = on_io([&] {
        f.a.reset();
        f.b.reset();
        return 0;
    });
    CHECK(closed == 0);
    guard.reset();
}

TEST_CASE("completion token: deferred")
{
    pair_fixture f;
    auto hs_a = f.a->async_handshake(net::deferred);
    auto hs_b = f.b->async_handshake(net::deferred);
    // A deferred operation does nothing until launched.
    run_for(f.io, 50ms);
    CHECK(f.a->next_layer().write_ops() == 0);
    CHECK(f.a->next_layer().read_ops() == 0);

    std::optional<error_code> ra, rb;
    std::move(hs_a)([&](error_code ec) { ra = ec; });
    std::move(hs_b)([&](error_code ec) { rb = ec; });
    REQUIRE(run_until(f.io, [&] { return ra && rb; }));
    CHECK(!*ra);
    CHECK(!*rb);

    // Deferred write, launched later as an awaitable; deferred read
    // launched with a callback.
    auto write_op = f.a->async_write(message{"later"}, net::deferred);
    message got;
    std::optional<error_code> read;
    auto read_op = f.b->async_read(got, net::deferred);
    std::move(read_op)([&](error_code ec) { read = ec; });
    run_for(f.io, 30ms);
    CHECK(!read); // nothing was sent yet

    outcome w;
    net::co_spawn(
        f.io, [&]() -> net::awaitable<void> { co_await std::move(write_op)(net::use_awaitable); },
        w.handler());
    REQUIRE(run_until(f.io, [&] { return w.finished && read; }));
    CHECK_MESSAGE(w.failure.empty(), w.failure);
    CHECK(!*read);
    CHECK(got == message{"later"});
}

TEST_CASE("writes issued together leave in few write operations, in order")
{
    test_stream_options o;
    o.random_cuts = false; // the stream takes whatever it is given
    pair_fixture f(o);
    f.handshake();

    constexpr int count = 100;
    const std::size_t writes_before = f.a->next_layer().write_ops();
    int completed = 0;
    int failed = 0;
    for (int i = 0; i < count; ++i)
        f.a->async_write(message{frame(std::to_string(i))}, [&](error_code ec) {
            ++completed;
            failed += ec ? 1 : 0;
        });

    std::vector<std::string> got;
    std::function<void()> read_next;
    message m;
    read_next = [&] {
        f.b->async_read(m, [&](error_code ec) {
            if (ec)
                return;
            got.push_back(m[0].str());
            if (got.size() < count)
                read_next();
        });
    };
    read_next();
    REQUIRE(run_until(f.io, [&] { return completed == count && got.size() == count; }));
    CHECK(failed == 0);
    const std::size_t writes = f.a->next_layer().write_ops() - writes_before;
    CHECK(writes >= 1);
    CHECK(writes <= 3);
    for (int i = 0; i < count; ++i)
        CHECK(got[static_cast<std::size_t>(i)] == std::to_string(i));
}

TEST_CASE("writes before the handshake are held and sent after it")
{
    test_stream_options o;
    o.max_read = 7;
    pair_fixture f(o);
    std::vector<bool> ready_when_done;
    int ok = 0;
    for (int i = 0; i < 3; ++i)
        f.a->async_write(message{frame("early " + std::to_string(i))}, [&](error_code ec) {
            ready_when_done.push_back(f.a->protocol().is_ready());
            ok += ec ? 0 : 1;
        });
    run_for(f.io, 20ms);
    // Nothing but the greeting may have left: no handshake yet on a.
    CHECK(ready_when_done.empty());
    CHECK(!f.a->protocol().is_ready());

    std::optional<error_code> hs;
    f.a->async_handshake([&](error_code ec) { hs = ec; });
    std::vector<std::string> got;
    std::function<void()> read_next;
    message m;
    read_next = [&] {
        f.b->async_read(m, [&](error_code ec) {
            if (ec)
                return;
            got.push_back(m[0].str());
            if (got.size() < 3)
                read_next();
        });
    };
    read_next();
    REQUIRE(run_until(f.io, [&] { return hs && ok == 3 && got.size() == 3; }));
    CHECK(!*hs);
    CHECK(ready_when_done == std::vector<bool>{true, true, true});
    CHECK(got == std::vector<std::string>{"early 0", "early 1", "early 2"});
}

TEST_CASE("a large body is read straight into the frame")
{
    test_stream_options o;
    o.random_cuts = false;
    pair_fixture f(o);
    f.handshake();
    const message big = single(1024 * 1024, 5);
    std::optional<error_code> wrote, read;
    message got;
    const std::size_t reads_before = f.b->next_layer().read_ops();
    f.a->async_write(big, [&](error_code ec) { wrote = ec; });
    f.b->async_read(got, [&](error_code ec) { read = ec; });
    REQUIRE(run_until(f.io, [&] { return wrote && read; }));
    CHECK(!*wrote);
    CHECK(!*read);
    CHECK(got == big);
    CHECK(got[0].shares_storage());
    // Through the 64 KiB read buffer it would take at least 16 reads.
    CHECK(f.b->next_layer().read_ops() - reads_before <= 3);
}

TEST_CASE("async_read_event reports a message as an event")
{
    pair_fixture f;
    f.handshake();
    event ev;
    std::optional<error_code> read, wrote;
    f.b->async_read_event(ev, [&](error_code ec) { read = ec; });
    f.a->async_write(message{"x"}, [&](error_code ec) { wrote = ec; });
    REQUIRE(run_until(f.io, [&] { return read && wrote; }));
    CHECK(!*read);
    REQUIRE(std::holds_alternative<message>(ev));
    CHECK(std::get<message>(ev) == message{"x"});
}

TEST_CASE("a second read while one is outstanding fails; the first is unharmed")
{
    pair_fixture f;
    f.handshake();
    message m1, m2;
    std::optional<error_code> r1, r2, w;
    f.b->async_read(m1, [&](error_code ec) { r1 = ec; });
    f.b->async_read(m2, [&](error_code ec) { r2 = ec; });
    REQUIRE(run_until(f.io, [&] { return r2.has_value(); }));
    CHECK(*r2 == net::error::in_progress);
    CHECK(!r1);
    f.a->async_write(message{"one"}, [&](error_code ec) { w = ec; });
    REQUIRE(run_until(f.io, [&] { return r1 && w; }));
    CHECK(!*r1);
    CHECK(m1 == message{"one"});
}

TEST_CASE("async_close flushes queued messages, then the peer sees connection_closed")
{
    test_stream_options o;
    o.max_write = 3;
    pair_fixture f(o);
    f.handshake();
    for (int i = 0; i < 5; ++i)
        f.a->async_write(message{frame(std::to_string(i))}, [](error_code) {});
    std::optional<error_code> closed;
    f.a->async_close([&](error_code ec) { closed = ec; });
    std::vector<std::string> got;
    std::optional<error_code> last;
    std::function<void()> read_next;
    message m;
    read_next = [&] {
        f.b->async_read(m, [&](error_code ec) {
            if (ec) {
                last = ec;
                return;
            }
            got.push_back(m[0].str());
            read_next();
        });
    };
    read_next();
    REQUIRE(run_until(f.io, [&] { return closed && last; }));
    CHECK(!*closed);
    CHECK(!f.a->is_open());
    CHECK(got == std::vector<std::string>{"0", "1", "2", "3", "4"});
    CHECK(*last == zmtp::error::connection_closed);
    CHECK(*last == zmtp::condition::peer_closed);
}
