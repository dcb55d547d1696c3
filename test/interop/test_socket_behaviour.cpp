// SPDX-License-Identifier: MPL-2.0
// zmtp::socket against libzmq beyond one pair: several peers per socket
// (load-balancing, fair-queuing, fan-out), high-water marks, reconnection,
// heartbeats, monitor events, and raw TCP peers that play a frozen peer or
// a ZMTP 3.0 publisher by hand.
#include "socket_libzmq_end.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <mutex>
#include <set>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_type;
using zmtp::test::zmq_context;
using mon = zmtp::monitor_event_type;

// Monitor events collected from the socket's strand.
class event_log {
public:
    void attach(zmtp_end& e)
    {
        on(e.socket(), [&] {
            e.socket().set_monitor([this](const zmtp::monitor_event& ev) {
                std::lock_guard lock(mutex_);
                events_.push_back(ev);
            });
        });
    }
    std::size_t count(mon t)
    {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(
            std::count_if(events_.begin(), events_.end(), [t](const auto& e) { return e.type == t; }));
    }
    std::optional<zmtp::monitor_event> first(mon t)
    {
        std::lock_guard lock(mutex_);
        for (const auto& e : events_)
            if (e.type == t)
                return e;
        return std::nullopt;
    }

private:
    std::mutex mutex_;
    std::vector<zmtp::monitor_event> events_;
};

bool wait_peers(zmtp_end& e, std::size_t n)
{
    return eventually([&] { return e.stats().peers == n; });
}

// ---- a raw TCP peer, plain POSIX, every wait bounded by poll()

class raw_fd {
public:
    explicit raw_fd(int fd = -1) : fd_(fd) {}
    ~raw_fd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    raw_fd(raw_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    raw_fd& operator=(raw_fd&&) = delete;
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

bool wait_fd(int fd, short what, std::chrono::milliseconds limit = wait_limit)
{
    pollfd p{fd, what, 0};
    return ::poll(&p, 1, static_cast<int>(limit.count())) == 1;
}

// Listens on 127.0.0.1 and an ephemeral port; returns the fd and port.
std::pair<raw_fd, int> raw_listen()
{
    raw_fd fd(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd.get(), 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    return {std::move(fd), ntohs(a.sin_port)};
}

raw_fd raw_accept(const raw_fd& listener)
{
    REQUIRE(wait_fd(listener.get(), POLLIN));
    return raw_fd(::accept(listener.get(), nullptr, nullptr));
}

void raw_write(const raw_fd& fd, const std::string& bytes)
{
    REQUIRE(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

std::string raw_read(const raw_fd& fd, std::size_t n)
{
    std::string out;
    while (out.size() < n) {
        REQUIRE(wait_fd(fd.get(), POLLIN));
        char buf[512];
        const ssize_t got = ::recv(fd.get(), buf, std::min(sizeof buf, n - out.size()), 0);
        REQUIRE(got > 0);
        out.append(buf, static_cast<std::size_t>(got));
    }
    return out;
}

// A NULL greeting announcing ZMTP 3.<minor>, then READY with Socket-Type.
std::string raw_handshake(int minor, const std::string& type)
{
    std::string g("\xff\0\0\0\0\0\0\0\x01\x7f", 10);
    g += '\x03';
    g += static_cast<char>(minor);
    std::string mech("NULL");
    mech.resize(20, '\0');
    g += mech;
    g += std::string(32, '\0'); // as-server 0, filler
    std::string body = std::string("\x05READY\x0bSocket-Type", 18);
    body += std::string("\0\0\0", 3) + static_cast<char>(type.size()) + type;
    return g + '\x04' + static_cast<char>(body.size()) + body;
}

// ------------------------------------------------------------------ several peers

TEST_CASE("zmtp PUSH load-balances round-robin over 3 libzmq PULLs")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end push(iot.io, socket_type::push);
    const std::string ep = push.bind("tcp");
    std::vector<std::unique_ptr<zmq_end>> pulls;
    for (int i = 0; i < 3; ++i) {
        pulls.push_back(std::make_unique<zmq_end>(ctx, socket_type::pull));
        pulls.back()->connect(ep);
    }
    REQUIRE(wait_peers(push, 3));
    for (int i = 0; i < 30; ++i)
        REQUIRE(push.send({std::to_string(i)}));
    std::set<int> residues;
    for (auto& pull : pulls) {
        std::vector<int> got;
        for (int i = 0; i < 10; ++i) {
            auto m = pull->recv();
            REQUIRE(m);
            got.push_back(std::stoi(m->at(0)));
        }
        CHECK_FALSE(pull->recv(50ms)); // exactly a third each
        for (std::size_t i = 1; i < got.size(); ++i)
            CHECK(got[i] == got[i - 1] + 3); // every third message, in order
        residues.insert(got[0] % 3);
    }
    CHECK(residues.size() == 3);
}

TEST_CASE("zmtp PULL fair-queues 3 libzmq PUSHes")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    const std::string ep = pull.bind("ipc");
    std::vector<std::unique_ptr<zmq_end>> pushes;
    for (int i = 0; i < 3; ++i) {
        pushes.push_back(std::make_unique<zmq_end>(ctx, socket_type::push));
        pushes.back()->connect(ep);
    }
    REQUIRE(wait_peers(pull, 3));
    for (int k = 0; k < 3; ++k)
        for (int i = 0; i < 10; ++i)
            REQUIRE(pushes[static_cast<std::size_t>(k)]->send({std::to_string(k), std::to_string(i)}));
    std::this_thread::sleep_for(200ms); // all 30 queued at the PULL before the first is read
    std::vector<int> next(3, 0);
    std::vector<int> senders;
    for (int n = 0; n < 30; ++n) {
        auto m = pull.recv();
        REQUIRE(m);
        const int k = std::stoi(m->at(0));
        CHECK(std::stoi(m->at(1)) == next[static_cast<std::size_t>(k)]++); // per-sender order
        senders.push_back(k);
    }
    // Interleaved: every run of three comes from the three senders.
    for (std::size_t i = 0; i + 3 <= senders.size(); i += 3)
        CHECK(std::set<int>(senders.begin() + static_cast<long>(i), senders.begin() + static_cast<long>(i + 3)).size() == 3);
}

TEST_CASE("zmtp PUB fans out to 3 libzmq SUBs, each filtering")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end pub(iot.io, socket_type::pub);
    const std::string ep = pub.bind("tcp");
    std::vector<std::unique_ptr<zmq_end>> subs;
    for (int i = 0; i < 3; ++i) {
        subs.push_back(std::make_unique<zmq_end>(ctx, socket_type::sub));
        subs.back()->subscribe("t", true);
        subs.back()->connect(ep);
    }
    for (auto& sub : subs)
        REQUIRE(sync_subscription(pub, *sub, "t-probe"));
    for (int i = 0; i < 10; ++i) {
        REQUIRE(pub.send({"t-" + std::to_string(i), "body"}));
        REQUIRE(pub.send({"u-" + std::to_string(i)}));
    }
    for (auto& sub : subs)
        for (int i = 0; i < 10; ++i)
            CHECK(next_real(*sub) == frames{"t-" + std::to_string(i), "body"});
    for (auto& sub : subs)
        CHECK_FALSE(next_real(*sub, 50ms));
}

TEST_CASE("zmtp XPUB receives \\x01topic and \\x00topic from a libzmq SUB")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end xpub(iot.io, socket_type::xpub);
    zmq_end sub(ctx, socket_type::sub);
    sub.connect(xpub.bind("tcp"));
    sub.subscribe("topic", true);
    CHECK(xpub.recv() == frames{"\x01topic"});
    REQUIRE(sync_subscription(xpub, sub, "topic-probe"));
    sub.subscribe("topic", false);
    CHECK(xpub.recv() == frames{std::string(1, '\0') + "topic"});
}

// ------------------------------------------------------------------ high-water marks

TEST_CASE("zmtp PUB drops for a libzmq SUB that does not read, once the HWM is reached")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end pub(iot.io, socket_type::pub);
    pub.configure([](zmtp::socket_options& o) { o.send_hwm = 10; });
    zmq_end sub(ctx, socket_type::sub);
    sub.set(ZMQ_RCVHWM, 10);
    sub.subscribe("", true);
    sub.connect(pub.bind("tcp"));
    REQUIRE(sync_subscription(pub, sub, "x-probe"));
    CHECK(pub.stats().dropped == 0);

    const zmtp::message m{zmtp::frame(std::string(1024, 'd'))};
    for (int round = 0; round < 200 && pub.stats().dropped == 0; ++round) {
        on(pub.socket(), [&] {
            for (int i = 0; i < 100; ++i) {
                zmtp::message copy = m;
                REQUIRE_FALSE(pub.socket().try_send(copy)); // PUB never blocks
            }
        });
        std::this_thread::sleep_for(1ms);
    }
    CHECK(pub.stats().dropped > 0);
    CHECK(next_real(sub)); // what was queued still arrives
}

TEST_CASE("zmtp PUSH blocks when its only libzmq PULL is full, and resumes when it reads")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end push(iot.io, socket_type::push);
    push.configure([](zmtp::socket_options& o) { o.send_hwm = 1; });
    zmq_end pull(ctx, socket_type::pull);
    pull.set(ZMQ_RCVHWM, 1);
    push.connect(pull.bind("tcp"));
    REQUIRE(wait_peers(push, 1));

    const zmtp::message big{zmtp::frame(std::string(1 << 20, 'p'))}; // shared by every copy
    // Full: try_send has given would_block for 200 ms on end, while the
    // connection had time to move whatever the stream still took.
    const int sent = fill_until_blocked([&](int) {
        return on(push.socket(), [&] {
            zmtp::message copy = big;
            return push.socket().try_send(copy);
        });
    });
    MESSAGE(sent << " MiB queued before try_send gave would_block");

    auto blocked = push.socket().async_send(big, net::use_future);
    CHECK(blocked.wait_for(300ms) == std::future_status::timeout);
    // The PULL reads; the waiting send completes.
    int read = 0;
    while (blocked.wait_for(0ms) != std::future_status::ready && read <= sent + 2) {
        REQUIRE(pull.recv());
        ++read;
    }
    REQUIRE(blocked.wait_for(wait_limit) == std::future_status::ready);
    CHECK_NOTHROW(blocked.get());
}

// ------------------------------------------------------------------ connection life

TEST_CASE("zmtp SUB gets messages again from a libzmq PUB re-bound on the same port, subscriptions restored")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end sub(iot.io, socket_type::sub);
    sub.configure([](zmtp::socket_options& o) {
        o.reconnect_ivl = 50ms;
        o.reconnect_ivl_max = 200ms;
    });
    auto pub = std::make_unique<zmq_end>(ctx, socket_type::pub);
    const std::string ep = pub->bind("tcp");
    sub.subscribe("w", true);
    sub.connect(ep);
    REQUIRE(sync_subscription(*pub, sub, "w-probe"));
    REQUIRE(pub->send({"w1"}));
    CHECK(next_real(sub) == frames{"w1"});

    pub.reset();
    pub = std::make_unique<zmq_end>(ctx, socket_type::pub);
    REQUIRE(eventually([&] {
        try {
            pub->bind_exactly(ep);
            return true;
        } catch (const std::exception&) {
            return false;
        }
    }));
    REQUIRE(sync_subscription(*pub, sub, "w-probe"));
    REQUIRE(pub->send({"x-not-subscribed"}));
    REQUIRE(pub->send({"w2"}));
    CHECK(next_real(sub) == frames{"w2"});
}

TEST_CASE("zmtp PUSH connects before libzmq PULL binds: queued messages arrive once it is up")
{
    zmq_context ctx;
    io_thread iot;
    int port = 0;
    {
        auto [fd, p] = raw_listen(); // a free port, released at once
        port = p;
    }
    const std::string ep = "tcp://127.0.0.1:" + std::to_string(port);
    zmtp_end push(iot.io, socket_type::push);
    push.configure([](zmtp::socket_options& o) { o.reconnect_ivl = 50ms; });
    push.connect(ep);
    for (int i = 0; i < 3; ++i)
        CHECK_FALSE(push.try_send({"early-" + std::to_string(i)}));
    std::this_thread::sleep_for(200ms); // a few refused attempts
    zmq_end pull(ctx, socket_type::pull);
    pull.bind_exactly(ep);
    for (int i = 0; i < 3; ++i)
        CHECK(pull.recv() == frames{"early-" + std::to_string(i)});
}

TEST_CASE("heartbeats from zmtp keep an idle link to libzmq alive")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([](zmtp::socket_options& o) {
        o.heartbeat.interval = 100ms;
        o.heartbeat.timeout = 300ms;
        o.heartbeat.ttl = 400ms; // libzmq drops the link after 400 ms without traffic
    });
    event_log log;
    log.attach(pull);
    zmq_end push(ctx, socket_type::push);
    pull.connect(push.bind("tcp"));
    REQUIRE(push.send({"before"}));
    CHECK(pull.recv() == frames{"before"});
    std::this_thread::sleep_for(1500ms); // idle, but for PING/PONG
    REQUIRE(push.send({"after"}));
    CHECK(pull.recv() == frames{"after"});
    CHECK(log.count(mon::handshake_succeeded) == 1);
    CHECK(log.count(mon::disconnected) == 0);
}

TEST_CASE("a frozen peer that completed the handshake is dropped on heartbeat timeout")
{
    io_thread iot;
    auto [listener, port] = raw_listen();
    zmtp_end push(iot.io, socket_type::push);
    push.configure([](zmtp::socket_options& o) {
        o.heartbeat.interval = 100ms;
        o.heartbeat.timeout = 300ms;
        o.reconnect_ivl = 1000ms;
    });
    event_log log;
    log.attach(push);
    push.connect("tcp://127.0.0.1:" + std::to_string(port));
    raw_fd peer = raw_accept(listener);
    raw_write(peer, raw_handshake(1, "PULL")); // then never reads or writes again
    REQUIRE(eventually([&] { return log.count(mon::handshake_succeeded) == 1; }));
    REQUIRE(eventually([&] { return log.count(mon::disconnected) == 1; }, 2000ms));
    const auto e = log.first(mon::disconnected);
    CHECK(e->error == zmtp::error::heartbeat_timeout);
    MESSAGE("reason: " << e->reason);
}

TEST_CASE("monitor: handshake_failed with incompatible_socket_type against a libzmq PUSH")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end push(iot.io, socket_type::push);
    push.configure([](zmtp::socket_options& o) {
        o.reconnect_ivl = 1000ms;
        // Whole greeting: libzmq's READY then always precedes its hang-up
        // (docs/legacy-zmtp.md, "Incompatible libzmq peers").
        o.min_zmtp_version = zmtp::zmtp_version::v3_0;
    });
    event_log log;
    log.attach(push);
    zmq_end other(ctx, socket_type::push);
    push.connect(other.bind("tcp"));
    REQUIRE(eventually([&] { return log.count(mon::handshake_failed) >= 1; }));
    const auto e = log.first(mon::handshake_failed);
    CHECK(e->error == zmtp::error::incompatible_socket_type);
    CHECK_FALSE(e->reason.empty());
    MESSAGE("reason: " << e->reason);
    CHECK(log.count(mon::connected) >= 1);
    CHECK(log.count(mon::handshake_succeeded) == 0);
    CHECK(push.stats().peers == 0);
}

TEST_CASE("zmtp SUB sends a ZMTP 3.0 PUB its subscription as a data frame (00 08 01 weather)")
{
    io_thread iot;
    auto [listener, port] = raw_listen();
    zmtp_end sub(iot.io, socket_type::sub);
    sub.subscribe("weather", true);
    sub.connect("tcp://127.0.0.1:" + std::to_string(port));
    raw_fd peer = raw_accept(listener);
    raw_write(peer, raw_handshake(0, "PUB"));
    const std::string greeting = raw_read(peer, 64);
    CHECK(greeting.substr(0, 11) == std::string("\xff\0\0\0\0\0\0\0\x01\x7f\x03", 11));
    const std::string ready_header = raw_read(peer, 2);
    REQUIRE(ready_header[0] == '\x04');
    const std::string ready = raw_read(peer, static_cast<unsigned char>(ready_header[1]));
    CHECK(ready.substr(0, 6) == "\x05READY");
    CHECK(raw_read(peer, 10) == std::string("\x00\x08\x01weather", 10));
    // And messages from the 3.0 PUB arrive.
    raw_write(peer, std::string("\x00\x09weather-1", 11));
    CHECK(sub.recv() == frames{"weather-1"});
}

} // namespace
