// SPDX-License-Identifier: MPL-2.0
// PUB/SUB: one publisher, two subscribers with different topic prefixes.
// Each subscriber receives only the messages that start with its prefix;
// the publisher filters, so the others never cross the wire.
//
// The slow-joiner problem: a subscription reaches the publisher some time
// after connect(), and a PUB drops what no subscriber asked for yet. So the
// publisher first repeats a "hello" on each topic until every subscriber
// has received one (then its subscription is known to be in place), and
// only then publishes the real messages.
//
//   build/examples/zmtp-pubsub
#include "example_support.hpp"

#include <zmtp/socket.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace net = boost::asio;
using namespace net::experimental::awaitable_operators;

namespace {

struct subscriber {
    std::string name;
    std::string topic;
    bool joined = false;                // has received a hello
    std::vector<std::string> received;  // the real messages
};

// Receives until the topic's "end" message; notes the first hello.
net::awaitable<void> listen(zmtp::socket& sub, subscriber& me)
{
    for (;;) {
        zmtp::message m = co_await sub.async_receive(net::use_awaitable);
        const std::string text = m.front().str();
        if (text == me.topic + "hello") {
            me.joined = true; // more hellos may follow until all have joined
        } else if (text == me.topic + "end") {
            co_return;
        } else {
            std::printf("%s (subscribed to '%s') got: %s\n", me.name.c_str(), me.topic.c_str(),
                        text.c_str());
            me.received.push_back(text);
        }
    }
}

net::awaitable<void> publish(zmtp::socket& pub, std::vector<subscriber>& subs)
{
    auto send = [&pub](std::string text) {
        return pub.async_send(zmtp::message{zmtp::frame(text)}, net::use_awaitable);
    };
    // Until every subscriber has heard from us, say hello on every topic
    // every 20 ms (PUB drops these while nobody is subscribed).
    net::steady_timer pause(co_await net::this_coro::executor);
    auto all_joined = [&subs] {
        for (const subscriber& s : subs)
            if (!s.joined)
                return false;
        return true;
    };
    while (!all_joined()) {
        for (const subscriber& s : subs)
            co_await send(s.topic + "hello");
        pause.expires_after(std::chrono::milliseconds(20));
        co_await pause.async_wait(net::use_awaitable);
    }
    // Now nothing is lost: each message reaches exactly the subscribers
    // whose prefix it starts with, here "weather." or "sports." or neither.
    for (const char* text : {"weather.paris 21C sunny", "sports.tennis 6-4 6-3",
                             "news.local nobody subscribed to this", "weather.oslo 4C snow",
                             "sports.chess draw in 41 moves"})
        co_await send(text);
    for (const subscriber& s : subs)
        co_await send(s.topic + "end");
}

net::awaitable<void> run()
{
    auto ex = co_await net::this_coro::executor;
    zmtp::socket pub(ex, zmtp::socket_type::pub);
    const std::string endpoint = pub.bind("tcp://127.0.0.1:0");
    std::printf("publisher bound at %s\n", endpoint.c_str());

    std::vector<subscriber> subs{{"sub A", "weather.", false, {}}, {"sub B", "sports.", false, {}}};
    zmtp::socket sub_a(ex, zmtp::socket_type::sub);
    zmtp::socket sub_b(ex, zmtp::socket_type::sub);
    sub_a.subscribe(subs[0].topic);
    sub_b.subscribe(subs[1].topic);
    sub_a.connect(endpoint);
    sub_b.connect(endpoint);

    // All three at once; done when each has finished.
    co_await (publish(pub, subs) && listen(sub_a, subs[0]) && listen(sub_b, subs[1]));

    for (const subscriber& s : subs)
        for (const std::string& text : s.received)
            if (!text.starts_with(s.topic))
                throw std::runtime_error(s.name + " got a message of another topic: " + text);
    if (subs[0].received.size() != 2 || subs[1].received.size() != 2)
        throw std::runtime_error("each subscriber should have got exactly its 2 messages");
}

} // namespace

int main()
{
    net::io_context io;
    const int status =
        examples::run_with_deadline(io, run(), std::chrono::seconds(10), "pubsub");
    if (status == 0)
        std::printf("done: each subscriber got only its own topic\n");
    return status;
}
