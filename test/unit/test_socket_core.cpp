// SPDX-License-Identifier: MPL-2.0
// The sans-I/O socket core, two (or more) cores joined back to back in
// memory with a fake clock: every classic socket-type pair, reconnection,
// high-water marks, linger and monitor events, without sockets or sleeps.
#include "zmtp/pattern/socket_core.hpp"

#include "core_pair.hpp"
#include "strategy_helpers.hpp"

#include <doctest/doctest.h>

#include <chrono>

using zmtp::error;
using zmtp::message;
using zmtp::socket_type;
using zmtp::pattern::peer_state;
using zmtp::test::core_end;
using zmtp::test::core_net;
using zmtp::test::peer_event;
using zmtp::test::topic;
using namespace std::chrono_literals;

namespace {

std::optional<message> take(core_end& e)
{
    return e.take();
}

// Sends the messages "from" … "to - 1" (their numbers as text).
void send_numbered(core_end& push, int from, int to)
{
    for (int i = from; i < to; ++i) {
        message m{zmtp::frame(std::to_string(i))};
        REQUIRE_FALSE(push.core.try_send(m));
    }
}

// Takes the numbered messages "from" … "to - 1" in order, one at a time,
// letting the net settle after each as an application reading slowly would.
void take_numbered(core_net& net, core_end& pull, int from, int to)
{
    for (int i = from; i < to; ++i) {
        CHECK(take(pull) == message{zmtp::frame(std::to_string(i))});
        net.settle();
    }
}

} // namespace

// ---------------------------------------------------------------- pairs

TEST_CASE("core: PUSH to PULL, in order, and a waiting receive completes when a message arrives")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    net.connect(push, pull);

    const auto r = pull.receive();
    CHECK(pull.receives_done.empty());
    for (const char* s : {"1", "2", "3"}) {
        message m{s};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    net.settle();
    REQUIRE(pull.receives_done.count(r) == 1);
    CHECK_FALSE(pull.receives_done[r].first);
    CHECK(pull.receives_done[r].second == message{"1"});
    CHECK(take(pull) == message{"2"});
    CHECK(take(pull) == message{"3"});
    CHECK(take(pull) == std::nullopt);
    CHECK(push.core.peer_count() == 1);
    CHECK(pull.core.peer_count() == 1);
}

TEST_CASE("core: REQ and REP alternate; the reply reaches the requester")
{
    core_net net;
    auto& req = net.make(socket_type::req, "req");
    auto& rep = net.make(socket_type::rep, "rep");
    net.connect(req, rep);

    message q{"question"};
    REQUIRE_FALSE(req.core.try_send(q));
    message again{"again"};
    CHECK(req.core.try_send(again) == error::invalid_state);
    net.settle();
    CHECK(take(rep) == message{"question"});
    message a{"answer"};
    REQUIRE_FALSE(rep.core.try_send(a));
    net.settle();
    CHECK(take(req) == message{"answer"});
}

TEST_CASE("core: DEALER and ROUTER: the Identity is the routing id both ways")
{
    core_net net;
    auto& dealer = net.make(socket_type::dealer, "dealer");
    auto& router = net.make(socket_type::router, "router");
    dealer.core.options().routing_id = "D1";
    net.connect(dealer, router);

    message m{"hi"};
    REQUIRE_FALSE(dealer.core.try_send(m));
    net.settle();
    CHECK(take(router) == message{"D1", "hi"});
    message back{"D1", "hello"};
    REQUIRE_FALSE(router.core.try_send(back));
    net.settle();
    CHECK(take(dealer) == message{"hello"});
    REQUIRE(router.count(peer_event::handshake_succeeded) == 1);
    CHECK(router.events[0].routing_id == "D1");
}

TEST_CASE("core: PUB and SUB: the subscription made before the connection is sent on it and filters")
{
    core_net net;
    auto& pub = net.make(socket_type::pub, "pub");
    auto& sub = net.make(socket_type::sub, "sub");
    REQUIRE_FALSE(sub.core.subscribe(topic("a"), true));
    net.connect(sub, pub);

    for (const char* s : {"b1", "a1", "a2"}) {
        message m{s};
        REQUIRE_FALSE(pub.core.try_send(m));
    }
    net.settle();
    CHECK(take(sub) == message{"a1"});
    CHECK(take(sub) == message{"a2"});
    CHECK(take(sub) == std::nullopt);

    REQUIRE_FALSE(sub.core.subscribe(topic("a"), false));
    net.settle();
    message m{"a3"};
    REQUIRE_FALSE(pub.core.try_send(m));
    net.settle();
    CHECK(take(sub) == std::nullopt);
}

TEST_CASE("core: XPUB sees XSUB's subscriptions as messages; XSUB's data goes up")
{
    core_net net;
    auto& xpub = net.make(socket_type::xpub, "xpub");
    auto& xsub = net.make(socket_type::xsub, "xsub");
    net.connect(xsub, xpub);

    message s{zmtp::frame("\x01" "news")};
    REQUIRE_FALSE(xsub.core.try_send(s));
    net.settle();
    CHECK(take(xpub) == message{zmtp::frame("\x01" "news")});
    message m{"news!"};
    REQUIRE_FALSE(xpub.core.try_send(m));
    message other{"other"};
    REQUIRE_FALSE(xpub.core.try_send(other));
    net.settle();
    CHECK(take(xsub) == message{"news!"});
    CHECK(take(xsub) == std::nullopt);
}

TEST_CASE("core: PAIR talks to one PAIR; a second is refused with a reason")
{
    core_net net;
    auto& a = net.make(socket_type::pair, "a");
    auto& b = net.make(socket_type::pair, "b");
    auto& c = net.make(socket_type::pair, "c");
    net.connect(a, b);
    net.connect(c, b);

    CHECK(b.count(peer_event::handshake_failed) == 1);
    CHECK(b.events.back().reason == "refused: the PAIR socket already has a peer");
    CHECK(b.events.back().ec == error::invalid_state);
    CHECK(b.core.peer_count() == 1);
    message m{"ping"};
    REQUIRE_FALSE(a.core.try_send(m));
    net.settle();
    CHECK(take(b) == message{"ping"});
    // c's connection was closed under it: it will reconnect.
    CHECK(c.lost.size() == 1);
    CHECK(*c.core.state(c.lost[0]) == peer_state::pending);
}

// ---------------------------------------------------------------- reconnection

TEST_CASE("core: messages for a peer still connecting wait for it (not with immediate)")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    const auto p = push.core.add_connect("tcp://pull");
    CHECK(*push.core.state(p) == peer_state::pending);
    message m{"early"};
    REQUIRE_FALSE(push.core.try_send(m));
    int written = 0;
    push.core.drain_output(p, [&](const message&) {
        ++written;
        return true;
    });
    CHECK(written == 0); // nothing goes out before the handshake

    auto& l = net.open(push, p, pull);
    CHECK(*push.core.state(p) == peer_state::handshaking);
    net.handshake(l);
    CHECK(*push.core.state(p) == peer_state::ready);
    CHECK(take(pull) == message{"early"});

    auto& quick = net.make(socket_type::push, "quick");
    quick.core.options().immediate = true;
    quick.core.add_connect("tcp://pull");
    message n{"nobody"};
    CHECK(quick.core.try_send(n) == error::would_block);
}

TEST_CASE("core: a connect()'s peer survives its connection; what it sent is still read")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    const auto pp = pull.core.add_connect("tcp://push");
    auto& first = net.join(pull, pp, push);

    message m{"before"};
    REQUIRE_FALSE(push.core.try_send(m));
    net.settle();
    net.cut(first);
    CHECK(pull.lost == std::vector<zmtp::pattern::peer_id>{pp});
    CHECK(*pull.core.state(pp) == peer_state::draining);
    CHECK(pull.count(peer_event::disconnected) == 1);
    CHECK(pull.events.back().reason == "connection reset");
    CHECK(take(pull) == message{"before"});
    CHECK(*pull.core.state(pp) == peer_state::pending);
    // push's accepted peer went with its connection.
    CHECK(push.released.size() == 1);
    CHECK(push.core.peer_count() == 0);

    net.join(pull, pp, push);
    message n{"after"};
    REQUIRE_FALSE(push.core.try_send(n));
    net.settle();
    CHECK(take(pull) == message{"after"});
    CHECK(pull.count(peer_event::handshake_succeeded) == 2);
}

TEST_CASE("core: a peer gone during its handshake is a handshake failure; disconnect removes it")
{
    core_net net;
    auto& dealer = net.make(socket_type::dealer, "dealer");
    auto& router = net.make(socket_type::router, "router");
    const auto p = dealer.core.add_connect("tcp://router");
    auto& l = net.open(dealer, p, router);
    net.cut(l);
    CHECK(dealer.count(peer_event::handshake_failed) == 1);
    CHECK(router.count(peer_event::handshake_failed) == 1);
    CHECK(router.released.size() == 1);
    CHECK(*dealer.core.state(p) == peer_state::pending);

    message m{"queued"};
    REQUIRE_FALSE(dealer.core.try_send(m));
    dealer.core.remove(p);
    net.settle();
    CHECK(dealer.core.state(p) == nullptr);
    CHECK(dealer.released == std::vector<zmtp::pattern::peer_id>{p});
    message n{"no peer"};
    CHECK(dealer.core.try_send(n) == error::would_block);
}

// ---------------------------------------------------------------- high-water marks

TEST_CASE("core: PUSH blocks at the send HWM; a waiting send completes when the peer takes more")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    push.core.options().send_hwm = 2;
    const auto p = push.core.add_connect("tcp://pull");
    for (const char* s : {"1", "2"}) {
        message m{s};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    message third{"3"};
    CHECK(push.core.try_send(third) == error::would_block);
    const auto t = push.send(message{"3"});
    net.settle();
    CHECK(push.sends_done.empty());

    net.join(push, p, pull);
    REQUIRE(push.sends_done.count(t) == 1);
    CHECK_FALSE(push.sends_done[t]);
    for (const char* s : {"1", "2", "3"})
        CHECK(take(pull) == message{s});
}

TEST_CASE("core: PUB drops at the send HWM, counts it and reports it")
{
    core_net net;
    auto& pub = net.make(socket_type::pub, "pub");
    auto& sub = net.make(socket_type::sub, "sub");
    pub.core.options().send_hwm = 1;
    pub.core.report_drops(true);
    REQUIRE_FALSE(sub.core.subscribe(topic(""), true));
    auto& l = net.connect(sub, pub);
    net.capacity = 0; // the connection takes nothing more
    l.paused[1] = true;
    for (const char* s : {"1", "2", "3"}) {
        message m{s};
        CHECK_FALSE(pub.core.try_send(m));
    }
    net.settle();
    CHECK(pub.core.dropped() == 2);
    CHECK(pub.count(peer_event::message_dropped) == 2);
}

TEST_CASE("core: the receive HWM pauses reading; reading resumes as the application takes messages")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    pull.core.options().receive_hwm = 2;
    auto& l = net.connect(push, pull);
    send_numbered(push, 0, 6);
    net.settle();
    CHECK(l.paused[1]);
    CHECK(l.wire[0].size() == 4); // 2 read into the queue, the rest in flight
    take_numbered(net, pull, 0, 6);
    CHECK_FALSE(l.paused[1]);
}

TEST_CASE("core: a paused peer resumes reading once its queue is down to half the HWM, not at every message read")
{
    // Resuming below the HWM would pause and resume the connection once
    // per message while the application is the slower side.
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    pull.core.options().receive_hwm = 10;
    auto& l = net.connect(push, pull);
    send_numbered(push, 0, 60);
    net.settle();
    REQUIRE(l.paused[1]);
    take_numbered(net, pull, 0, 4); // 9, 8, 7, 6 left: above the low-water mark
    CHECK(l.resumes[1] == 0);
    take_numbered(net, pull, 4, 5); // 5 left: half the HWM
    CHECK(l.resumes[1] == 1);
    CHECK(l.paused[1]); // filled up again, in one go
    take_numbered(net, pull, 5, 60);
    CHECK_FALSE(l.paused[1]);
    CHECK(l.resumes[1] <= 60 / 5); // once per 5 messages read at most
}

TEST_CASE("core: with the message HWM off, the byte HWM alone sets when reading resumes")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    pull.core.options().receive_hwm = 0;
    pull.core.options().receive_hwm_bytes = 16;
    auto& l = net.connect(push, pull);
    for (int i = 0; i < 8; ++i) {
        message m{zmtp::frame(std::string(4, static_cast<char>('a' + i)))};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    net.settle();
    REQUIRE(l.paused[1]); // 16 bytes queued
    CHECK(take(pull) == message{"aaaa"}); // 12 bytes left
    net.settle();
    CHECK(l.resumes[1] == 0);
    CHECK(take(pull) == message{"bbbb"}); // 8: half
    net.settle();
    CHECK(l.resumes[1] == 1);
    for (const char* s : {"cccc", "dddd", "eeee", "ffff", "gggg", "hhhh"}) {
        CHECK(take(pull) == message{s});
        net.settle();
    }
    CHECK_FALSE(l.paused[1]);
}

TEST_CASE("core: the send HWM in bytes blocks like the count; a large message passes an empty queue")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    push.core.options().send_hwm_bytes = 10;
    const auto p = push.core.add_connect("tcp://pull");
    for (const char* s : {"abcd", "efgh", "ijkl"}) { // 0, 4, 8 bytes queued: room
        message m{s};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    message full{"mnop"};
    CHECK(push.core.try_send(full) == error::would_block);

    net.join(push, p, pull);
    for (const char* s : {"abcd", "efgh", "ijkl"})
        CHECK(take(pull) == message{s});
    net.capacity = 0; // nothing leaves from now on
    message big{zmtp::frame(std::string(100, 'x'))};
    REQUIRE_FALSE(push.core.try_send(big)); // an empty queue takes any size
    net.settle();
    message next{"q"};
    CHECK(push.core.try_send(next) == error::would_block); // behind 100 bytes
}

TEST_CASE("core: by default 1000 messages of 16 KiB queue as with libzmq; 1 MiB messages stop at 16 MiB")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    push.core.add_connect("tcp://pull"); // never connected: everything stays queued
    const zmtp::frame body16k(std::string(16 * 1024, 'x'));
    for (int i = 0; i < 1000; ++i) {
        message m{body16k};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    message one_more{body16k};
    CHECK(push.core.try_send(one_more) == error::would_block); // the message HWM, as libzmq's

    core_net net2;
    auto& push2 = net2.make(socket_type::push, "push");
    push2.core.add_connect("tcp://pull");
    const zmtp::frame body1m(std::string(1024 * 1024, 'y'));
    for (int i = 0; i < 16; ++i) {
        message m{body1m};
        REQUIRE_FALSE(push2.core.try_send(m));
    }
    message past_bytes{body1m};
    CHECK(push2.core.try_send(past_bytes) == error::would_block); // 16 MiB queued
}

TEST_CASE("core: the receive HWM in bytes pauses reading until the application takes bytes")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    pull.core.options().receive_hwm_bytes = 8;
    auto& l = net.connect(push, pull);
    for (const char* s : {"1111", "2222", "3333", "4444"}) {
        message m{s};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    net.settle();
    CHECK(l.paused[1]);
    CHECK(l.wire[0].size() == 2);
    CHECK(take(pull) == message{"1111"});
    net.settle();
    CHECK(l.paused[1]);
    CHECK(l.wire[0].size() == 1);
    for (const char* s : {"2222", "3333", "4444"}) {
        CHECK(take(pull) == message{s});
        net.settle();
    }
    CHECK_FALSE(l.paused[1]);
}

// ---------------------------------------------------------------- linger

TEST_CASE("core: linger 0 aborts every connection at close; waiting operations are cancelled")
{
    core_net net;
    auto& dealer = net.make(socket_type::dealer, "dealer");
    auto& router = net.make(socket_type::router, "router");
    dealer.core.options().linger = 0ms;
    net.connect(dealer, router);
    const auto r = dealer.receive();
    dealer.core.close(net.clock.now());
    net.settle();
    CHECK(dealer.receives_done[r].first == std::errc::operation_canceled);
    CHECK(dealer.released.size() == 1);
    CHECK(router.count(peer_event::disconnected) == 1);
    CHECK(router.events.back().reason == "connection reset by peer");
    CHECK_FALSE(dealer.timer_at);
    message m{"late"};
    CHECK(dealer.core.try_send(m) == error::socket_closed);
    const auto t = dealer.send(message{"late"});
    net.settle();
    CHECK(dealer.sends_done[t] == error::socket_closed);
}

TEST_CASE("core: linger N flushes for up to N of (fake) time, then aborts")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    push.core.options().linger = 100ms;
    pull.core.options().receive_hwm = 1;
    auto& l = net.connect(push, pull);
    for (const char* s : {"1", "2", "3"}) {
        message m{s};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    net.settle();
    push.core.close(net.clock.now());
    net.settle();
    REQUIRE(push.timer_at);
    CHECK(*push.timer_at == net.clock.now() + 100ms);
    CHECK(push.released.empty()); // still flushing: pull reads no more
    net.advance(99ms);
    CHECK(push.released.empty());
    CHECK(l.open);
    net.advance(1ms);
    CHECK(push.released.size() == 1);
    CHECK_FALSE(l.open);
    CHECK(pull.count(peer_event::disconnected) == 1);
}

TEST_CASE("core: linger -1 waits as long as it takes, without a timer")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    pull.core.options().receive_hwm = 1;
    auto& l = net.connect(push, pull);
    for (const char* s : {"1", "2", "3"}) {
        message m{s};
        REQUIRE_FALSE(push.core.try_send(m));
    }
    net.settle();
    push.core.close(net.clock.now());
    net.advance(std::chrono::hours(1));
    CHECK_FALSE(push.timer_at);
    CHECK(push.released.empty());
    for (const char* s : {"1", "2", "3"}) {
        CHECK(take(pull) == message{s});
        net.settle();
    }
    CHECK(push.released.size() == 1);
    CHECK_FALSE(l.open);
}

TEST_CASE("core: a flush that ends before the linger time cancels the timer")
{
    core_net net;
    auto& push = net.make(socket_type::push, "push");
    auto& pull = net.make(socket_type::pull, "pull");
    push.core.options().linger = 1000ms;
    net.connect(push, pull);
    message m{"last"};
    REQUIRE_FALSE(push.core.try_send(m));
    push.core.close(net.clock.now());
    net.settle();
    CHECK_FALSE(push.timer_at);
    CHECK(push.released.size() == 1);
    CHECK(take(pull) == message{"last"});
}

// ---------------------------------------------------------------- monitor

TEST_CASE("core: monitor events name the endpoint and the peer's Identity")
{
    core_net net;
    auto& dealer = net.make(socket_type::dealer, "dealer");
    auto& router = net.make(socket_type::router, "router");
    router.core.options().routing_id = "R";
    auto& l = net.connect(dealer, router);
    REQUIRE(dealer.events.size() == 1);
    CHECK(dealer.events[0].event == peer_event::handshake_succeeded);
    CHECK(dealer.events[0].endpoint == "tcp://router");
    CHECK(dealer.events[0].routing_id == "R");
    net.cut(l);
    REQUIRE(dealer.events.size() == 2);
    CHECK(dealer.events[1].event == peer_event::disconnected);
    CHECK_FALSE(dealer.events[1].ec); // the connection's own error, which the shell holds
    CHECK(router.events.back().event == peer_event::disconnected);
    CHECK(router.events.back().routing_id.size() == 5); // generated by the ROUTER
}
