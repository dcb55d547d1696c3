// SPDX-License-Identifier: MPL-2.0
// Socket options against libzmq 4.3 (C API, in process), both bind sides
// where it matters: the publish-subscribe options and the transport
// options read back from the connected socket.
#include "socket_libzmq_end.hpp"

#include <doctest/doctest.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_type;
using zmtp::test::zmq_context;

// A publisher and a subscriber, one zmtp and one libzmq, each given its
// option by `zmtp_set` / `zmq_set` (told whether it is the publisher).
struct pubsub_pair {
    std::unique_ptr<end> pub;
    std::unique_ptr<end> sub;
    std::vector<frames> early; // what the subscriber received while first_notice() waited

    // The XPUB's first subscription notice. A bound libzmq socket takes
    // in a new peer (sending it the subscriptions or the welcome) only when
    // its application calls it, so the subscriber is called too.
    std::optional<frames> first_notice()
    {
        const auto deadline = std::chrono::steady_clock::now() + wait_limit;
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto m = pub->recv(10ms))
                return m;
            if (auto m = sub->recv(1ms))
                early.push_back(*m);
        }
        return std::nullopt;
    }

    std::optional<frames> next(std::chrono::milliseconds limit = wait_limit)
    {
        if (early.empty())
            return sub->recv(limit);
        frames m = std::move(early.front());
        early.erase(early.begin());
        return m;
    }
};

pubsub_pair make_pair(zmq_context& ctx, io_thread& iot, bool zmtp_publishes, socket_type pub_type,
                      const std::function<void(zmtp::socket_options&, bool)>& zmtp_set,
                      const std::function<void(zmq_end&, bool)>& zmq_set)
{
    auto make_zmtp = [&](socket_type t, bool is_pub) {
        auto e = std::make_unique<zmtp_end>(iot.io, t);
        e->configure([&](zmtp::socket_options& o) { zmtp_set(o, is_pub); });
        return e;
    };
    auto make_zmq = [&](socket_type t, bool is_pub) {
        auto e = std::make_unique<zmq_end>(ctx, t);
        zmq_set(*e, is_pub);
        return e;
    };
    pubsub_pair p;
    if (zmtp_publishes) {
        p.pub = make_zmtp(pub_type, true);
        p.sub = make_zmq(socket_type::sub, false);
    } else {
        p.pub = make_zmq(pub_type, true);
        p.sub = make_zmtp(socket_type::sub, false);
    }
    return p;
}

void join(pubsub_pair& p, bool pub_binds)
{
    if (pub_binds)
        p.sub->connect(p.pub->bind("tcp"));
    else
        p.pub->connect(p.sub->bind("tcp"));
}

// Every case: zmtp publishing or subscribing, the publisher binding or connecting.
#define FOR_EACH_SIDE(zmtp_publishes, pub_binds)                                   \
    for (bool zmtp_publishes : {true, false})                                      \
        for (bool pub_binds : {true, false})

// ------------------------------------------------------------------ xpub_nodrop

TEST_CASE("zmtp PUB with xpub_nodrop blocks on a libzmq SUB that does not read, drops nothing, resumes")
{
    zmq_context ctx;
    io_thread iot;
    zmtp_end pub(iot.io, socket_type::pub);
    pub.configure([](zmtp::socket_options& o) {
        o.send_hwm = 1;
        o.xpub_nodrop = true;
    });
    zmq_end sub(ctx, socket_type::sub);
    sub.set(ZMQ_RCVHWM, 1);
    sub.subscribe("", true);
    sub.connect(pub.bind("tcp"));
    REQUIRE(sync_subscription(pub, sub, "x-probe"));

    const std::string big(1 << 20, 'n'); // shared by every copy
    const auto numbered = [&](int i) { return zmtp::message{zmtp::frame(std::to_string(i)), zmtp::frame(big)}; };
    // Full once try_send has given would_block for 200 ms on end.
    const int sent = fill_until_blocked([&](int i) { return pub.try_send(numbered(i)); });
    CHECK(pub.stats().dropped == 0);

    auto blocked = pub.socket().async_send(numbered(sent), net::use_future);
    CHECK(blocked.wait_for(300ms) == std::future_status::timeout);
    // Every message arrives, in order, the waiting one last.
    for (int i = 0; i <= sent; ++i) {
        const auto m = next_real(sub);
        REQUIRE(m);
        REQUIRE(m->at(0) == std::to_string(i));
    }
    REQUIRE(blocked.wait_for(wait_limit) == std::future_status::ready);
    CHECK_NOTHROW(blocked.get());
    CHECK(pub.stats().dropped == 0);
}

// ------------------------------------------------------------------ invert_matching

TEST_CASE("invert_matching on XPUB and SUB, zmtp and libzmq both ways: the SUB gets what does not match")
{
    FOR_EACH_SIDE(zmtp_publishes, pub_binds)
    {
        CAPTURE(zmtp_publishes);
        CAPTURE(pub_binds);
        zmq_context ctx;
        io_thread iot;
        auto p = make_pair(
            ctx, iot, zmtp_publishes, socket_type::xpub,
            [](zmtp::socket_options& o, bool) { o.invert_matching = true; },
            [](zmq_end& e, bool) { e.set(ZMQ_INVERT_MATCHING, 1); });
        p.sub->subscribe("a", true);
        join(p, pub_binds);
        REQUIRE(p.first_notice() == frames{"\x01" "a"}); // in force at the publisher from now on
        for (const char* t : {"a1", "b1", "ab", "c1"})
            REQUIRE(p.pub->send({t}));
        CHECK(p.next() == frames{"b1"});
        CHECK(p.next() == frames{"c1"});
        CHECK_FALSE(p.next(50ms));
    }
}

// ------------------------------------------------------------------ xpub_welcome_msg

TEST_CASE("xpub_welcome_msg: a zmtp or libzmq XPUB greets each SUB of the other, either side binding")
{
    FOR_EACH_SIDE(zmtp_publishes, pub_binds)
    {
        CAPTURE(zmtp_publishes);
        CAPTURE(pub_binds);
        zmq_context ctx;
        io_thread iot;
        auto p = make_pair(
            ctx, iot, zmtp_publishes, socket_type::xpub,
            [](zmtp::socket_options& o, bool is_pub) {
                if (is_pub)
                    o.xpub_welcome_msg = std::string("W-hello");
            },
            [](zmq_end& e, bool is_pub) {
                if (is_pub)
                    e.set(ZMQ_XPUB_WELCOME_MSG, std::string("W-hello"));
            });
        p.sub->subscribe("W", true);
        join(p, pub_binds);
        CHECK(p.first_notice() == frames{"\x01" "W"});
        CHECK(p.next() == frames{"W-hello"});
        REQUIRE(p.pub->send({"W-next"}));
        CHECK(p.next() == frames{"W-next"});
    }
}

// ------------------------------------------------------------------ xpub_manual

TEST_CASE("xpub_manual: the XPUB subscribes its SUB peer itself, zmtp and libzmq both ways")
{
    FOR_EACH_SIDE(zmtp_publishes, pub_binds)
    {
        CAPTURE(zmtp_publishes);
        CAPTURE(pub_binds);
        zmq_context ctx;
        io_thread iot;
        auto p = make_pair(
            ctx, iot, zmtp_publishes, socket_type::xpub,
            [](zmtp::socket_options& o, bool is_pub) { o.xpub_manual = is_pub; },
            [](zmq_end& e, bool is_pub) {
                if (is_pub)
                    e.set(ZMQ_XPUB_MANUAL, 1);
            });
        p.sub->subscribe("", true);
        join(p, pub_binds);
        REQUIRE(p.first_notice() == frames{"\x01"});
        p.pub->subscribe("a", true); // for the peer just heard from, instead of ""
        for (const char* t : {"b1", "a1", "c1", "a2"})
            REQUIRE(p.pub->send({t}));
        CHECK(p.next() == frames{"a1"});
        CHECK(p.next() == frames{"a2"});
        CHECK_FALSE(p.next(50ms));

        p.sub->subscribe("", false);
        REQUIRE(p.pub->recv() == frames{std::string(1, '\0')}); // handed up, not applied
        p.pub->subscribe("a", false);
        REQUIRE(p.pub->send({"a3"}));
        CHECK_FALSE(p.sub->recv(50ms));
    }
}

// ------------------------------------------------------------------ TCP options

// This process's connected TCP socket whose local port (or, with
// `remote`, peer port) is `port`: a connection's end, found without a hook
// into either library.
int connected_fd(int port, bool remote)
{
    for (int fd = 0; fd < 4096; ++fd) {
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        const int rc = remote ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                              : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        if (rc != 0 || a.ss_family != AF_INET)
            continue;
        sockaddr_storage peer{};
        len = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0)
            continue; // a listener
        if (ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port) == port)
            return fd;
    }
    return -1;
}

int int_option(int fd, int level, int name)
{
    int value = -1;
    socklen_t len = sizeof value;
    REQUIRE(::getsockopt(fd, level, name, &value, &len) == 0);
    return value;
}

int port_of(const std::string& endpoint)
{
    return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

TEST_CASE("tos and tcp_maxrt are set on zmtp's connection as ZMQ_TOS and ZMQ_TCP_MAXRT on libzmq's, either side binding")
{
    for (bool zmtp_binds : {true, false}) {
        CAPTURE(zmtp_binds);
        zmq_context ctx;
        io_thread iot;
        zmtp_end ours(iot.io, socket_type::pair);
        ours.configure([](zmtp::socket_options& o) {
            o.tos = 0x28;
            o.tcp_maxrt = 1234ms;
        });
        zmq_end theirs(ctx, socket_type::pair);
        theirs.set(ZMQ_TOS, 0x48);
        theirs.set(ZMQ_TCP_MAXRT, 2345);
        std::string ep;
        if (zmtp_binds) {
            ep = ours.bind("tcp");
            theirs.connect(ep);
        } else {
            ep = theirs.bind("tcp");
            ours.connect(ep);
        }
        REQUIRE(ours.send({"up"}));
        REQUIRE(theirs.recv() == frames{"up"});

        const int port = port_of(ep);
        const int zmtp_fd = connected_fd(port, !zmtp_binds);
        const int zmq_fd = connected_fd(port, zmtp_binds);
        REQUIRE(zmtp_fd >= 0);
        REQUIRE(zmq_fd >= 0);
        REQUIRE(zmtp_fd != zmq_fd);
        CHECK(int_option(zmtp_fd, IPPROTO_IP, IP_TOS) == 0x28);
        CHECK(int_option(zmtp_fd, IPPROTO_TCP, TCP_USER_TIMEOUT) == 1234);
        CHECK(int_option(zmq_fd, IPPROTO_IP, IP_TOS) == 0x48);
        CHECK(int_option(zmq_fd, IPPROTO_TCP, TCP_USER_TIMEOUT) == 2345);
    }
}

TEST_CASE("without tos and tcp_maxrt, zmtp leaves the system defaults")
{
    io_thread iot;
    zmtp_end a(iot.io, socket_type::pair);
    zmtp_end b(iot.io, socket_type::pair);
    const std::string ep = a.bind("tcp");
    b.connect(ep);
    REQUIRE(b.send({"up"}));
    REQUIRE(a.recv() == frames{"up"});
    const int fd = connected_fd(port_of(ep), true);
    REQUIRE(fd >= 0);
    CHECK(int_option(fd, IPPROTO_IP, IP_TOS) == 0);
    CHECK(int_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT) == 0);
}

// ------------------------------------------------------------------ ipv6

// Fails the test, with the reason, on a machine without an IPv6 loopback:
// the ipv6 cases below cannot run there.
void require_ipv6_loopback()
{
    const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0)
        ::close(fd);
    REQUIRE_MESSAGE(ok, "this machine has no IPv6 loopback (::1): the ipv6 option cannot be tested here");
}

// Whether a plain TCP connect to `address`:`port` is accepted.
bool tcp_connects(int family, const char* address, int port)
{
    const int fd = ::socket(family, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_storage a{};
    socklen_t len = 0;
    if (family == AF_INET6) {
        auto& a6 = reinterpret_cast<sockaddr_in6&>(a);
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET6, address, &a6.sin6_addr);
        len = sizeof a6;
    } else {
        auto& a4 = reinterpret_cast<sockaddr_in&>(a);
        a4.sin_family = AF_INET;
        a4.sin_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET, address, &a4.sin_addr);
        len = sizeof a4;
    }
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), len) == 0;
    ::close(fd);
    return ok;
}

TEST_CASE("ipv6: zmtp bound to tcp://*:0 takes libzmq peers over ::1 and 127.0.0.1; without it, IPv4 only")
{
    require_ipv6_loopback();
    zmq_context ctx;
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([](zmtp::socket_options& o) { o.ipv6 = true; });
    const int port = port_of(on(pull.socket(), [&] { return pull.socket().bind("tcp://*:0"); }));
    for (const std::string host : {"[::1]", "127.0.0.1"}) {
        CAPTURE(host);
        zmq_end push(ctx, socket_type::push);
        push.set(ZMQ_IPV6, 1);
        push.connect("tcp://" + host + ":" + std::to_string(port));
        REQUIRE(push.send({"via " + host}));
        CHECK(pull.recv() == frames{"via " + host});
    }

    zmtp_end v4(iot.io, socket_type::pull);
    const int v4_port = port_of(on(v4.socket(), [&] { return v4.socket().bind("tcp://*:0"); }));
    CHECK(tcp_connects(AF_INET, "127.0.0.1", v4_port));
    CHECK_FALSE(tcp_connects(AF_INET6, "::1", v4_port));
}

TEST_CASE("ipv6: zmtp connects to a libzmq bound on tcp://[::1], with or without the option (the address is written out)")
{
    require_ipv6_loopback();
    for (bool ipv6 : {true, false}) {
        CAPTURE(ipv6);
        zmq_context ctx;
        io_thread iot;
        zmq_end pull(ctx, socket_type::pull);
        pull.set(ZMQ_IPV6, 1);
        const std::string ep = pull.bind_exactly("tcp://[::1]:*");
        zmtp_end push(iot.io, socket_type::push);
        push.configure([&](zmtp::socket_options& o) { o.ipv6 = ipv6; });
        push.connect(ep);
        REQUIRE(push.send({"over ::1"}));
        CHECK(pull.recv() == frames{"over ::1"});
    }
}

// Host names. This machine's /etc/hosts names no IPv6 address, so these
// cases are skipped in the ordinary run and run by the meson test "ipv6
// host names", which gives them a private /etc/hosts (test/interop/
// with_hosts.sh) where `v6only.test` names ::1 alone. glibc answers an
// IPv4-only query for that name with 127.0.0.1, so without the option the
// name means 127.0.0.1 and with it ::1.
const char* const v6_only_name = "v6only.test";

void require_private_hosts()
{
    addrinfo hints{};
    hints.ai_family = AF_INET6;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const bool ok = ::getaddrinfo(v6_only_name, nullptr, &hints, &found) == 0;
    if (found)
        ::freeaddrinfo(found);
    REQUIRE_MESSAGE(ok, "v6only.test has no IPv6 address: run these cases through test/interop/with_hosts.sh");
}

std::string by_name(int port)
{
    return std::string("tcp://") + v6_only_name + ":" + std::to_string(port);
}

TEST_CASE("ipv6 names: a name whose only address is ::1 reaches a libzmq bound on [::1] with ipv6; without "
          "it, zmtp tries 127.0.0.1 and keeps retrying" * doctest::skip())
{
    require_ipv6_loopback();
    require_private_hosts();
    zmq_context ctx;
    io_thread iot;
    zmq_end pull(ctx, socket_type::pull);
    pull.set(ZMQ_IPV6, 1);
    const int port = port_of(pull.bind_exactly("tcp://[::1]:*"));

    zmtp_end v4_only(iot.io, socket_type::push);
    monitor_log log(v4_only);
    v4_only.connect(by_name(port));
    CHECK(eventually([&] {
        for (const auto& e : log.events())
            if (e.type == monitor_event_type::connect_retried)
                return true;
        return false;
    }));
    CHECK(v4_only.stats().peers == 0);

    zmtp_end push(iot.io, socket_type::push);
    push.configure([](zmtp::socket_options& o) { o.ipv6 = true; });
    push.connect(by_name(port));
    REQUIRE(push.send({"by name over ::1"}));
    CHECK(pull.recv() == frames{"by name over ::1"});
}

TEST_CASE("ipv6 names: bound by that name, zmtp listens on ::1 with ipv6 (libzmq reaches it there) and on "
          "127.0.0.1 without" * doctest::skip())
{
    require_ipv6_loopback();
    require_private_hosts();
    io_thread iot;
    zmtp_end v4_only(iot.io, socket_type::pull);
    const int v4_port = port_of(on(v4_only.socket(), [&] { return v4_only.socket().bind(by_name(0)); }));
    CHECK(tcp_connects(AF_INET, "127.0.0.1", v4_port));
    CHECK_FALSE(tcp_connects(AF_INET6, "::1", v4_port));

    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([](zmtp::socket_options& o) { o.ipv6 = true; });
    const int port = port_of(on(pull.socket(), [&] { return pull.socket().bind(by_name(0)); }));
    CHECK_FALSE(tcp_connects(AF_INET, "127.0.0.1", port));
    zmq_context ctx;
    zmq_end push(ctx, socket_type::push);
    push.set(ZMQ_IPV6, 1);
    push.connect("tcp://[::1]:" + std::to_string(port));
    REQUIRE(push.send({"to a name bound on ::1"}));
    CHECK(pull.recv() == frames{"to a name bound on ::1"});
}

// ------------------------------------------------------------------ bind_to_device

// SO_BINDTODEVICE of `fd`, empty when none.
std::string device_of(int fd)
{
    char name[64] = {};
    socklen_t len = sizeof name;
    REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &len) == 0);
    return std::string(name, ::strnlen(name, len));
}

// This process's listening TCP socket on `port`.
int listener_fd(int port)
{
    for (int fd = 0; fd < 4096; ++fd) {
        sockaddr_in a{};
        socklen_t len = sizeof a;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || a.sin_family != AF_INET)
            continue;
        sockaddr_storage peer{};
        len = sizeof peer;
        if (ntohs(a.sin_port) == port && ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0)
            return fd;
    }
    return -1;
}

TEST_CASE("bind_to_device: a listener and a connection on \"lo\" talk to libzmq, each socket bound to it")
{
    const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    const bool permitted = ::setsockopt(probe, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2) == 0;
    ::close(probe);
    zmq_context ctx;
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([](zmtp::socket_options& o) { o.bind_to_device = "lo"; });
    if (!permitted) {
        // Refused here (no CAP_NET_RAW): bind says so.
        CHECK_THROWS_WITH(pull.bind("tcp"), doctest::Contains("network interface 'lo'"));
        return;
    }
    const std::string ep = pull.bind("tcp");
    const int lfd = listener_fd(port_of(ep));
    REQUIRE(lfd >= 0);
    CHECK(device_of(lfd) == "lo");
    zmq_end push(ctx, socket_type::push);
    push.connect(ep);
    REQUIRE(push.send({"on lo"}));
    CHECK(pull.recv() == frames{"on lo"});

    zmq_end theirs(ctx, socket_type::pull);
    const std::string their_ep = theirs.bind("tcp");
    zmtp_end ours(iot.io, socket_type::push);
    ours.configure([](zmtp::socket_options& o) { o.bind_to_device = "lo"; });
    ours.connect(their_ep);
    REQUIRE(ours.send({"from lo"}));
    CHECK(theirs.recv() == frames{"from lo"});
    const int cfd = connected_fd(port_of(their_ep), true);
    REQUIRE(cfd >= 0);
    CHECK(device_of(cfd) == "lo");
}

TEST_CASE("bind_to_device: an interface that does not exist fails bind, and connect retries, with the reason")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([](zmtp::socket_options& o) { o.bind_to_device = "zmtp-nodev0"; });
    CHECK_THROWS_WITH(pull.bind("tcp"), doctest::Contains("network interface 'zmtp-nodev0'"));

    zmtp_end other(iot.io, socket_type::pull);
    const std::string ep = other.bind("tcp");
    zmtp_end push(iot.io, socket_type::push);
    push.configure([](zmtp::socket_options& o) { o.bind_to_device = "zmtp-nodev0"; });
    monitor_log log(push);
    push.connect(ep);
    CHECK(eventually([&] {
        for (const auto& e : log.events())
            if (e.type == monitor_event_type::connect_retried
                && e.reason.find("network interface 'zmtp-nodev0'") != std::string::npos)
                return true;
        return false;
    }));
    CHECK(other.stats().peers == 0);
}

} // namespace
