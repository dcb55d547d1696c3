// SPDX-License-Identifier: MPL-2.0
// Failure paths of connection<Stream>, over the in-memory test stream:
// injected stream errors at every operation, a peer that closes, hostile
// bytes, incompatible sockets, the handshake deadline, and destruction with
// operations outstanding. Also the test stream's own contract.
#include "zmtp/asio/connection.hpp"

#include "helpers.hpp"
#include "test_stream.hpp"

#include <doctest/doctest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <functional>

using namespace zmtp;
using namespace zmtp::asio_test;
using zmtp::test::injected_error;
using zmtp::test::make_test_stream_pair;
using zmtp::test::test_stream;
using zmtp::test::test_stream_options;
using conn = zmtp::asio::connection<test_stream>;

namespace {

// Reads messages until an error; collects their first frames.
struct reader {
    std::vector<std::string> got;
    std::optional<error_code> last;
    message m;

    void start(conn& c)
    {
        c.async_read(m, [this, &c](error_code ec) {
            if (ec) {
                last = ec;
                return;
            }
            got.push_back(m.empty() ? std::string() : m[0].str());
            start(c);
        });
    }
};

} // namespace

// ---------------------------------------------------------------- the test stream itself

TEST_CASE("test stream: bytes arrive in order, cut at most at max_read")
{
    net::io_context io;
    test_stream_options o;
    o.max_read = 3;
    auto a_b = make_test_stream_pair(io, o);
    auto& a = a_b.first;
    auto& b = a_b.second;
    std::optional<error_code> wrote;
    net::async_write(a, net::buffer(std::string_view("abcdefghij")),
                     [&](error_code ec, std::size_t) { wrote = ec; });
    std::vector<char> buf(64);
    std::string got;
    std::size_t largest = 0;
    std::function<void()> next = [&] {
        b.async_read_some(net::buffer(buf), [&](error_code ec, std::size_t n) {
            if (ec)
                return;
            largest = std::max(largest, n);
            got += text_of(buf, n);
            if (got.size() < 10)
                next();
        });
    };
    bool completed_inline = true;
    next();
    completed_inline = !got.empty();
    CHECK(!completed_inline);
    REQUIRE(run_until(io, [&] { return wrote && got.size() == 10; }));
    CHECK(!*wrote);
    CHECK(got == "abcdefghij");
    CHECK(largest <= 3);
    CHECK(b.read_ops() >= 4);
    CHECK(a.write_ops() >= 1);
    CHECK(a.bytes_written() == 10);
    CHECK(b.bytes_read() == 10);
}

TEST_CASE("test stream: the peer reads buffered bytes, then eof; writes to it fail")
{
    net::io_context io;
    auto a_b = make_test_stream_pair(io);
    auto& a = a_b.first;
    auto& b = a_b.second;
    std::optional<error_code> wrote;
    net::async_write(a, net::buffer(std::string_view("tail")),
                     [&](error_code ec, std::size_t) { wrote = ec; });
    REQUIRE(run_until(io, [&] { return wrote.has_value(); }));
    error_code ignored;
    a.close(ignored);
    CHECK(!a.is_open());
    std::vector<char> buf(4);
    std::optional<error_code> read;
    net::async_read(b, net::buffer(buf), [&](error_code ec, std::size_t) { read = ec; });
    REQUIRE(run_until(io, [&] { return read.has_value(); }));
    CHECK(!*read);
    CHECK(text_of(buf, 4) == "tail");
    read.reset();
    b.async_read_some(net::buffer(buf), [&](error_code ec, std::size_t) { read = ec; });
    REQUIRE(run_until(io, [&] { return read.has_value(); }));
    CHECK(*read == net::error::eof);
    std::optional<error_code> second;
    b.async_write_some(net::buffer(buf), [&](error_code ec, std::size_t) { second = ec; });
    REQUIRE(run_until(io, [&] { return second.has_value(); }));
    CHECK(*second == net::error::broken_pipe);
}

TEST_CASE("test stream: closing an end aborts its pending read")
{
    net::io_context io;
    auto a_b = make_test_stream_pair(io);
    auto& a = a_b.first;
    std::vector<char> buf(4);
    std::optional<error_code> read;
    a.async_read_some(net::buffer(buf), [&](error_code ec, std::size_t) { read = ec; });
    run_for(io, 10ms);
    CHECK(!read); // a pending read keeps the io_context busy
    a.close();
    REQUIRE(run_until(io, [&] { return read.has_value(); }));
    CHECK(*read == net::error::operation_aborted);
}

TEST_CASE("test stream: fail_after fails exactly the n-th operation")
{
    net::io_context io;
    auto a_b = make_test_stream_pair(io);
    auto& a = a_b.first;
    auto& b = a_b.second;
    a.fail_after(2);
    std::vector<error_code> results;
    for (int i = 0; i < 3; ++i)
        a.async_write_some(net::buffer(std::string_view("x")),
                           [&](error_code ec, std::size_t) { results.push_back(ec); });
    REQUIRE(run_until(io, [&] { return results.size() == 3; }));
    CHECK(!results[0]);
    CHECK(results[1] == injected_error());
    CHECK(!results[2]);
    CHECK(b.buffered() == 2);
}

// ---------------------------------------------------------------- connection failures

namespace {

// One side of the exchange the failure-injection test runs: a handshake,
// three writes (one with a long frame), then three reads one after another.
struct scripted_side {
    explicit scripted_side(conn& connection) : c(connection) {}

    conn& c;
    std::vector<error_code> results;
    int pending = 0;
    message in[3];

    static message nth(int i) { return single(i == 1 ? 300 : 5, static_cast<unsigned>(i)); }

    void start()
    {
        pending = 5;
        c.async_handshake([this](error_code ec) {
            record(ec);
            read(0);
        });
        for (int i = 0; i < 3; ++i)
            c.async_write(nth(i), [this](error_code ec) { record(ec); });
    }
    void read(int i)
    {
        c.async_read(in[i], [this, i](error_code ec) {
            if (ec || i == 2)
                return record(ec);
            read(i + 1);
        });
    }
    void record(error_code ec)
    {
        results.push_back(ec);
        --pending;
    }
};

} // namespace

TEST_CASE("an injected stream failure at any operation fails cleanly and stays failed")
{
    std::size_t triggered = 0;
    bool ran_past_the_end = false;
    for (std::size_t n = 1; n <= 400 && !ran_past_the_end; ++n) {
        CAPTURE(n);
        test_stream_options o;
        o.seed = static_cast<std::uint32_t>(n);
        o.max_read = 40;
        o.max_write = 40;
        net::io_context io;
        auto sa_sb = make_test_stream_pair(io, o);
        auto& sa = sa_sb.first;
        auto& sb = sa_sb.second;
        conn a(options_for(), std::move(sa));
        conn b(options_for(), std::move(sb));
        a.next_layer().fail_after(n);

        scripted_side side_a(a), side_b(b);
        side_a.start();
        side_b.start();
        REQUIRE(run_until(io, [&] { return side_a.pending == 0 && side_b.pending == 0; }));

        const bool failed = std::any_of(side_a.results.begin(), side_a.results.end(),
                                        [](error_code ec) { return ec == injected_error(); });
        if (!failed) {
            // n is past the last operation the exchange needs.
            ran_past_the_end = true;
            for (auto ec : side_a.results)
                CHECK_MESSAGE(!ec, ec.message());
            for (auto ec : side_b.results)
                CHECK_MESSAGE(!ec, ec.message());
            for (int i = 0; i < 3; ++i) {
                CHECK(side_a.in[i] == scripted_side::nth(i));
                CHECK(side_b.in[i] == scripted_side::nth(i));
            }
            break;
        }
        ++triggered;
        for (auto ec : side_a.results)
            CHECK_MESSAGE((!ec || ec == injected_error()), ec.message());
        // The peer sees the stream end.
        for (auto ec : side_b.results)
            CHECK_MESSAGE((!ec || ec == zmtp::error::connection_closed), ec.message());
        std::optional<error_code> rb;
        message none;
        b.async_read(none, [&](error_code ec) { rb = ec; });
        REQUIRE(run_until(io, [&] { return rb.has_value(); }, 1000ms));
        CHECK(*rb == zmtp::error::connection_closed);
        // Sticky: what comes later fails the same way.
        std::optional<error_code> w, r;
        message later;
        a.async_write(message{"late"}, [&](error_code ec) { w = ec; });
        a.async_read(later, [&](error_code ec) { r = ec; });
        REQUIRE(run_until(io, [&] { return w && r; }, 1000ms));
        CHECK(*w == injected_error());
        CHECK(*r == injected_error());
        CHECK(!a.is_open());
    }
    CHECK(ran_past_the_end);
    CHECK(triggered >= 10);
}

TEST_CASE("a reset stream reads as connection_closed")
{
    net::io_context io;
    auto sa_sb = make_test_stream_pair(io);
    auto& sa = sa_sb.first;
    auto& sb = sa_sb.second;
    conn a(options_for(), std::move(sa));
    conn b(options_for(), std::move(sb));
    a.next_layer().fail_after(1, net::error::connection_reset);
    std::optional<error_code> r;
    message m;
    a.async_read(m, [&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }));
    // The first operation is the read (the greeting goes out with it).
    CHECK(*r == zmtp::error::connection_closed);
    CHECK(*r == zmtp::condition::peer_closed);
}

TEST_CASE("a peer that sends N messages and closes: all N are read, then connection_closed")
{
    constexpr int n = 50;
    SUBCASE("the peer is a connection that closes right after queueing")
    {
        test_stream_options o;
        o.max_read = 100;
        o.max_write = 100;
        net::io_context io;
        auto sa_sb = make_test_stream_pair(io, o);
        auto& sa = sa_sb.first;
        auto& sb = sa_sb.second;
        conn a(options_for(), std::move(sa));
        conn b(options_for(), std::move(sb));
        std::optional<error_code> hs;
        b.async_handshake([&](error_code ec) { hs = ec; });
        reader r;
        r.start(a);
        REQUIRE(run_until(io, [&] { return hs.has_value(); }));
        REQUIRE(!*hs);
        for (int i = 0; i < n; ++i)
            b.async_write(message{frame(std::to_string(i))}, [](error_code) {});
        std::optional<error_code> closed;
        b.async_close([&](error_code ec) { closed = ec; });
        REQUIRE(run_until(io, [&] { return closed && r.last; }));
        CHECK(!*closed);
        REQUIRE(r.got.size() == n);
        for (int i = 0; i < n; ++i)
            CHECK(r.got[static_cast<std::size_t>(i)] == std::to_string(i));
        CHECK(*r.last == zmtp::error::connection_closed);
    }
    SUBCASE("the peer writes the whole conversation at once and hangs up")
    {
        test_stream_options o;
        o.max_read = 33;
        net::io_context io;
        auto sa_raw_peer = make_test_stream_pair(io, o);
        auto& sa = sa_raw_peer.first;
        auto& raw_peer = sa_raw_peer.second;
        conn a(options_for(), std::move(sa));
        std::vector<std::byte> all = raw::greeting();
        raw::append(all, raw::ready("PAIR"));
        for (int i = 0; i < n; ++i)
            raw::append(all, raw::message_frame(std::to_string(i)));
        net::async_write(raw_peer, net::buffer(all), [&](error_code, std::size_t) {
            raw_peer.close(); // with the bytes still unread by a
        });
        reader r;
        r.start(a);
        REQUIRE(run_until(io, [&] { return r.last.has_value(); }));
        INFO("read ended with: ", r.last->message(), " (", a.protocol().error_reason(), ")");
        REQUIRE(r.got.size() == n);
        for (int i = 0; i < n; ++i)
            CHECK(r.got[static_cast<std::size_t>(i)] == std::to_string(i));
        CHECK(*r.last == zmtp::error::connection_closed);
        CHECK(a.protocol().is_failed());
    }
}

TEST_CASE("hostile bytes from the peer")
{
    std::vector<std::byte> hostile;
    zmtp::error expected{};
    codec_options options = options_for();
    SUBCASE("an HTTP request")
    {
        hostile = raw::bytes("GET / HTTP/1.1\r\n\r\n");
        expected = zmtp::error::not_zmtp;
    }
    SUBCASE("a ZMTP 2.0 greeting, with min_zmtp_version 3.0")
    {
        options.min_zmtp_version = zmtp::zmtp_version::v3_0;
        // RFC 15: signature, revision 1, socket type, identity frame.
        hostile.assign(14, std::byte{0});
        hostile[0] = std::byte{0xff};
        hostile[8] = std::byte{0x01};
        hostile[9] = std::byte{0x7f};
        hostile[10] = std::byte{0x01}; // revision 1
        hostile[11] = std::byte{0x05}; // socket type
        expected = zmtp::error::unsupported_version;
    }
    net::io_context io;
    auto sa_raw_peer = make_test_stream_pair(io);
    auto& sa = sa_raw_peer.first;
    auto& raw_peer = sa_raw_peer.second;
    conn a(options, std::move(sa));
    net::async_write(raw_peer, net::buffer(hostile), [](error_code, std::size_t) {});
    std::optional<error_code> r;
    message m;
    a.async_read(m, [&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }));
    CHECK(*r == expected);
    CHECK(*r == zmtp::condition::protocol_violation);
    CHECK(!a.protocol().error_reason().empty());
    // The failed connection hangs up: the raw peer reads to eof.
    std::vector<char> sink(256);
    std::optional<error_code> end;
    std::function<void()> drain = [&] {
        raw_peer.async_read_some(net::buffer(sink), [&](error_code ec, std::size_t) {
            if (ec)
                end = ec;
            else
                drain();
        });
    };
    drain();
    REQUIRE(run_until(io, [&] { return end.has_value(); }, 2000ms));
    CHECK(*end == net::error::eof);
    // Sticky.
    std::optional<error_code> w;
    a.async_write(message{"x"}, [&](error_code ec) { w = ec; });
    REQUIRE(run_until(io, [&] { return w.has_value(); }));
    CHECK(*w == expected);
}

TEST_CASE("incompatible socket types fail on both sides")
{
    net::io_context io;
    auto sa_sb = make_test_stream_pair(io);
    auto& sa = sa_sb.first;
    auto& sb = sa_sb.second;
    conn a(options_for(socket_type::push), std::move(sa));
    conn b(options_for(socket_type::push), std::move(sb));
    std::optional<error_code> ra, rb;
    a.async_handshake([&](error_code ec) { ra = ec; });
    b.async_handshake([&](error_code ec) { rb = ec; });
    REQUIRE(run_until(io, [&] { return ra && rb; }));
    CHECK(*ra == zmtp::error::incompatible_socket_type);
    CHECK(*rb == zmtp::error::incompatible_socket_type);
}

TEST_CASE("a peer that never speaks fails the handshake after handshake_timeout")
{
    net::io_context io;
    auto sa_silent = make_test_stream_pair(io);
    auto& sa = sa_silent.first;
    auto& silent = sa_silent.second;
    codec_options o = options_for();
    o.handshake_timeout = 200ms;
    const auto t0 = std::chrono::steady_clock::now();
    conn a(o, std::move(sa));
    std::optional<error_code> r;
    a.async_handshake([&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }, 2000ms));
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    CHECK(*r == zmtp::error::handshake_timeout);
    CHECK(*r == zmtp::condition::timed_out);
    CHECK(elapsed >= 190ms);
    CHECK(elapsed < scaled(1500ms)); // fired at its deadline, not a later one
    // Our signature, nothing else: the rest of the greeting waits for the
    // peer's (staged as libzmq stages it).
    CHECK(silent.buffered() == zmtp::wire::signature_size);
}

TEST_CASE("a write before any read sends the greeting and fails at the handshake deadline")
{
    // With no read outstanding the peer's greeting is never processed, so
    // the held message cannot go out; the write must not wait forever.
    net::io_context io;
    auto sa_silent = make_test_stream_pair(io);
    auto& sa = sa_silent.first;
    auto& silent = sa_silent.second;
    codec_options o = options_for();
    o.handshake_timeout = 200ms;
    conn a(o, std::move(sa));
    std::optional<error_code> r;
    a.async_write(message{frame("held")}, [&](error_code ec) { r = ec; });
    REQUIRE(run_until(io, [&] { return r.has_value(); }, 2000ms));
    CHECK(*r == zmtp::error::handshake_timeout);
    CHECK(silent.buffered() == zmtp::wire::signature_size); // our signature left at once
}

TEST_CASE("destroying a connection completes its outstanding operations with an error")
{
    net::io_context io;
    auto sa_sb = make_test_stream_pair(io);
    auto& sa = sa_sb.first;
    auto& sb = sa_sb.second;
    std::optional<conn> a(std::in_place, options_for(), std::move(sa));
    std::optional<conn> b(std::in_place, options_for(), std::move(sb));
    int calls = 0;
    int expected_calls = 0;
    std::vector<error_code> results;
    auto record = [&](error_code ec) {
        ++calls;
        results.push_back(ec);
    };

    SUBCASE("during the handshake, with a held write")
    {
        message m;
        a->async_read(m, record);
        a->async_write(message{"held"}, record);
        expected_calls = 2;
        run_for(io, 10ms);
        CHECK(calls == 0);
        a.reset();
    }
    SUBCASE("after the handshake, with a read and writes in flight")
    {
        std::optional<error_code> ha, hb;
        a->async_handshake([&](error_code ec) { ha = ec; });
        b->async_handshake([&](error_code ec) { hb = ec; });
        REQUIRE(run_until(io, [&] { return ha && hb; }));
        message m;
        a->async_read(m, record);
        a->async_write(single(100000), record);
        a->async_write(message{"second"}, record);
        expected_calls = 3;
        a.reset();
    }
    REQUIRE(run_until(io, [&] { return calls == expected_calls; }, 2000ms));
    run_for(io, 20ms);
    CHECK(calls == expected_calls); // each exactly once
    for (auto ec : results)
        CHECK_MESSAGE(ec, "an outstanding operation succeeded after destruction");
    // The peer learns that the connection is gone.
    std::optional<error_code> rb;
    message none;
    b->async_read(none, [&](error_code ec) { rb = ec; });
    REQUIRE(run_until(io, [&] { return rb.has_value(); }));
    CHECK(*rb == zmtp::error::connection_closed);
}
