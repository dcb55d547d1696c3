// SPDX-License-Identifier: MPL-2.0
// inproc:// without security: the sockets pass message objects through a
// message_pipe. A message crosses uncopied, with the properties the codec
// would give it; the socket types are checked as in a handshake; the
// receiver's size limits hold; a binder given security after its bind
// never takes a connection that skipped it; nothing queued is lost when
// the sender closes.
#include "zmtp/security/curve_keys.hpp"
#include "zmtp/socket.hpp"

#include "helpers.hpp"
#include "socket_ends.hpp"

#include <doctest/doctest.h>

#include <boost/asio/use_future.hpp>

#include <memory>
#include <string>

using namespace zmtp;
using namespace zmtp::asio_test;
using namespace zmtp::socket_test;

namespace {

bool has_event_with(const monitor_log& log, monitor_event_type type, const std::string& words)
{
    for (const auto& e : log.events())
        if (e.type == type && e.reason.find(words) != std::string::npos)
            return true;
    return false;
}

} // namespace

TEST_CASE("inproc without security: a message crosses as the same object, with its peer's properties")
{
    io_thread iot_a, iot_b;
    zmtp_end dealer(iot_a.io, socket_type::dealer, "the-dealer");
    zmtp_end router(iot_b.io, socket_type::router);
    dealer.connect(router.bind("inproc"));

    message m;
    m.emplace_back(std::string(1 << 20, 'x'));
    m.emplace_back(std::string("small"));
    const std::byte* storage = m.front().data();
    REQUIRE(m.front().shares_storage());
    auto sent = dealer.socket().async_send(std::move(m), net::use_future);
    REQUIRE(sent.wait_for(wait_limit) == std::future_status::ready);
    sent.get();

    const auto got = router.recv_message();
    REQUIRE(got);
    REQUIRE(got->size() == 3); // the routing id first
    CHECK((*got)[0].view() == "the-dealer");
    CHECK((*got)[1].data() == storage); // the same block: not copied on the way
    CHECK((*got)[1].size() == std::size_t{1} << 20);
    CHECK((*got)[2].view() == "small");
    CHECK(got->property("Socket-Type") == "DEALER");
    CHECK(got->property("Identity") == "the-dealer");
    CHECK_FALSE(got->property("Peer-Address")); // inproc has no address

    // And back, through the routing id.
    REQUIRE(router.send({"the-dealer", "reply"}));
    const auto back = dealer.recv_message();
    REQUIRE(back);
    CHECK(to_frames(*back) == frames{"reply"});
    CHECK(back->property("Socket-Type") == "ROUTER");
}

TEST_CASE("inproc without security: incompatible socket types fail the handshake on both sides")
{
    io_thread iot;
    zmtp_end binder(iot.io, socket_type::push);
    zmtp_end other(iot.io, socket_type::push);
    monitor_log binder_log(binder), other_log(other);
    other.connect(binder.bind("inproc"));
    const auto reason = other_log.failure();
    REQUIRE(reason);
    CHECK(*reason == "PUSH cannot talk to PUSH");
    CHECK(binder_log.failure() == "PUSH cannot talk to PUSH");
    CHECK(binder.stats().peers == 0);
    CHECK(other.stats().peers == 0);
}

TEST_CASE("inproc without security: a message above the receiver's max_message_size ends the connection")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([](socket_options& o) { o.limits.max_message_size = 100 * 1024; });
    monitor_log log(pull);
    zmtp_end push(iot.io, socket_type::push);
    push.configure([](socket_options& o) { o.reconnect_ivl = std::chrono::milliseconds(10); });
    push.connect(pull.bind("inproc"));
    REQUIRE(push.send({std::string(200 * 1024, 'x')}));
    CHECK(eventually([&] {
        return has_event_with(log, monitor_event_type::disconnected,
                              "message of 204800 bytes exceeds the limit of 102400");
    }));
    // The PUSH reconnects; the large message is gone, small ones arrive.
    std::optional<frames> got;
    CHECK(eventually([&] {
        REQUIRE(push.send({"small"}));
        got = pull.recv(std::chrono::milliseconds(100));
        return got.has_value();
    }));
    CHECK(got == frames{"small"});
}

TEST_CASE("inproc: a binder given security after its bind never takes a connection without it")
{
    const auto server_keys = security::generate_curve_key_pair();
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    const std::string ep = pull.bind("inproc"); // bound without security
    pull.configure([&](socket_options& o) {
        o.curve_server = true;
        o.curve_secretkey = server_keys.secret_key;
    });

    // A connector without security: its first connection skipped the
    // handshake and is refused; the next runs ZMTP and fails in it.
    zmtp_end plain(iot.io, socket_type::push);
    plain.configure([](socket_options& o) { o.reconnect_ivl = std::chrono::milliseconds(10); });
    monitor_log plain_log(plain);
    plain.connect(ep);
    REQUIRE(plain.send({"unauthenticated"}));
    CHECK(eventually([&] {
        return has_event_with(plain_log, monitor_event_type::handshake_failed,
                              "peer uses mechanism CURVE, we use NULL");
    }));
    CHECK_FALSE(pull.recv(std::chrono::milliseconds(200)));
    CHECK(pull.stats().peers == 0);

    // A CURVE client gets through.
    zmtp_end client(iot.io, socket_type::push);
    client.configure([&](socket_options& o) { o.curve_serverkey = server_keys.public_key; });
    client.connect(ep);
    REQUIRE(client.send({"sealed"}));
    CHECK(pull.recv() == frames{"sealed"});
}

TEST_CASE("inproc without security: what a socket sent before it closed is all delivered")
{
    constexpr int count = 5'000;
    io_thread iot_a, iot_b;
    zmtp_end pull(iot_b.io, socket_type::pull);
    const std::string ep = pull.bind("inproc");
    {
        zmtp_end push(iot_a.io, socket_type::push);
        push.configure([](socket_options& o) { o.send_hwm = count; });
        push.connect(ep);
        for (int i = 0; i < count; ++i)
            REQUIRE(push.try_send({std::to_string(i)}) == error_code());
    } // closed with the default linger: everything is flushed to the pipe
    int in_order = 0;
    for (int i = 0; i < count; ++i) {
        const auto got = pull.recv();
        REQUIRE(got);
        in_order += *got == frames{std::to_string(i)};
    }
    CHECK(in_order == count);
}

// The pipe holds each side's strand; a strand must not outlive its
// io_context. Here the PULL's link keeps the pipe (it is paused, its queue
// full) after the PUSH and its io_context are gone; ASan and UBSan (CI)
// catch a strand destroyed after its context.
TEST_CASE("inproc without security: a peer outlives the other side's io_context")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([](socket_options& o) { o.receive_hwm = 2; });
    const std::string ep = pull.bind("inproc");
    auto other = std::make_unique<io_thread>();
    auto push = std::make_unique<zmtp_end>(other->io, socket_type::push);
    push->connect(ep);
    for (int i = 0; i < 10; ++i)
        REQUIRE(push->send({std::to_string(i)}));
    push.reset();
    other.reset(); // the PUSH's io_context is destroyed
    for (int i = 0; i < 10; ++i)
        CHECK(pull.recv() == frames{std::to_string(i)});
    CHECK(eventually([&] { return pull.stats().peers == 0; }));
}
